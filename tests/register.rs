//! The exception register across runs. The main test has three runs: between
//! them a fault is fixed, another appears, a team edits the register by hand,
//! and an exception is granted and later expires. Other tests cover carry-over,
//! `--register`, malformed registers, exception scoping and hostile cells.

mod common;
mod register_support;

use std::path::Path;

use common::{ENTITLEMENT_HEADER, Scenario, TEST_HEADER};
use corroborate::model::Timestamp;
use register_support::*;

/// Adds a `ticket` column after `status`, a note on row `note_id` and a ticket
/// on row `ticket_id`, the way a team edits the register in a spreadsheet.
fn edit_register_by_hand(path: &Path, note_id: &str, note: &str, ticket_id: &str, ticket: &str) {
    let table = Table::read(path);
    let mut header = table.header.clone();
    let status_at = header.iter().position(|name| name == "status").unwrap();
    header.insert(status_at + 1, "ticket".to_string());
    let mut writer = csv::Writer::from_path(path).unwrap();
    writer.write_record(&header).unwrap();
    for row in &table.rows {
        let mut row = row.clone();
        row.insert(
            "ticket".to_string(),
            if row["finding_id"] == ticket_id {
                ticket.to_string()
            } else {
                String::new()
            },
        );
        if row["finding_id"] == note_id {
            row.insert("notes".to_string(), note.to_string());
        }
        let cells: Vec<&str> = header.iter().map(|name| row[name].as_str()).collect();
        writer.write_record(&cells).unwrap();
    }
    writer.flush().unwrap();
}

#[test]
fn register_three_runs() {
    let mut scenario = scenario();

    // Run 1: faults A, B and C.
    set_as_of(&mut scenario, AS_OF_1);
    set_tests(&mut scenario, &[FAULT_A, FAULT_B, FAULT_C]);
    let report = scenario.run().expect("run 1 succeeds");
    let a = id_of(&report.findings, "invalid-credential-accepted");
    let b = id_of(&report.findings, "privilege-boundary-bypass");
    let c = id_of(&report.findings, "unclear-denial");
    assert_eq!(report.delta.new, 3);
    assert_eq!(report.delta.previous, None);
    let register_path = scenario.out().join("register.csv");
    let register = Table::read(&register_path);
    assert_eq!(
        &register.header[..3],
        &["finding_id", "rule", "subject"],
        "a new register starts with the own columns"
    );
    assert_eq!(register.rows.len(), 3);
    for row in &register.rows {
        assert_eq!(row["status"], "open", "{row:?}");
        assert_eq!(row["first_seen"], AS_OF_1);
        assert_eq!(row["last_seen"], AS_OF_1);
        assert_eq!(row["runs_seen"], "1");
        assert_eq!(row["reopened"], "0");
        assert_eq!(
            row["due_date"],
            days_after(AS_OF_1, sla_days(&row["severity"]))
        );
        assert_eq!(row["resolved_at"], "");
        assert_eq!(row["notes"], "");
    }
    assert_eq!(register.row("finding_id", &a)["severity"], "critical");
    assert_eq!(
        register.row("finding_id", &a)["owner"],
        "team-inventory-platform",
        "a service finding takes its owner from --owners"
    );
    assert_eq!(register.row("finding_id", &b)["owner"], "team-partners");
    assert_eq!(
        register.row("finding_id", &b)["identity"],
        "key-partner-globex"
    );
    assert_eq!(register.row("finding_id", &c)["subject"], "service");

    // Between runs: A is fixed, D appears, the team adds a note and a ticket
    // column, and an exception is granted for C.
    let note = "Partner notified, fix due in v2.3 (\"PLAT-9\")";
    edit_register_by_hand(&register_path, &b, note, &c, "SEC-77");
    let exceptions = scenario.file(
        "exceptions.csv",
        &format!(
            "{EXCEPTION_HEADER}EXC-1,unclear-denial,,,inventory-*,STAGING,grc@example.com,2026-12-01T00:00:00Z,2026-12-31T00:00:00Z,Rebuild in progress,PLAT-1\n"
        ),
    );
    scenario.config.exceptions = vec![exceptions.display().to_string()];

    // Run 2.
    set_as_of(&mut scenario, AS_OF_2);
    set_tests(&mut scenario, &[FIXED_A, FAULT_B, FAULT_C, FAULT_D]);
    let report = scenario.run().expect("run 2 succeeds");
    let d = id_of(&report.findings, "entitled-action-denied");
    let delta = &report.delta;
    assert_eq!(delta.new, 1, "{delta:?}");
    assert_eq!(delta.still_open, 2, "{delta:?}");
    assert_eq!(delta.resolved, 1, "{delta:?}");
    assert_eq!(delta.reopened, 0, "{delta:?}");
    assert_eq!(delta.excepted, 1, "{delta:?}");
    assert_eq!(delta.exception_expired, 0, "{delta:?}");
    assert!(
        delta
            .previous
            .as_deref()
            .is_some_and(|path| path.ends_with("register.csv")),
        "{delta:?}"
    );
    let register = Table::read(&register_path);
    let status_at = register.header.iter().position(|name| name == "status");
    assert_eq!(
        register
            .header
            .get(status_at.unwrap() + 1)
            .map(String::as_str),
        Some("ticket"),
        "the hand-added column keeps its place: {:?}",
        register.header
    );
    assert_eq!(register.rows.len(), 4);

    let row_a = register.row("finding_id", &a);
    assert_eq!(row_a["status"], "resolved");
    assert_eq!(row_a["resolved_at"], AS_OF_2);
    assert_eq!(
        row_a["last_seen"], AS_OF_1,
        "a resolved row keeps its last sighting"
    );
    assert_eq!(row_a["runs_seen"], "1");

    let row_b = register.row("finding_id", &b);
    assert_eq!(row_b["status"], "open");
    assert_eq!(row_b["first_seen"], AS_OF_1);
    assert_eq!(row_b["last_seen"], AS_OF_2);
    assert_eq!(row_b["runs_seen"], "2");
    assert_eq!(row_b["notes"], note, "notes are never overwritten");
    assert_eq!(
        row_b["due_date"],
        days_after(AS_OF_1, sla_days(&row_b["severity"])),
        "the due date counts from first_seen"
    );

    let row_c = register.row("finding_id", &c);
    assert_eq!(row_c["status"], "excepted");
    assert_eq!(row_c["exception_id"], "EXC-1");
    assert_eq!(row_c["exception_expires_at"], "2026-12-31T00:00:00Z");
    assert_eq!(row_c["approved_by"], "grc@example.com");
    assert_eq!(row_c["ticket"], "SEC-77", "hand-added cells are kept");
    assert_eq!(row_c["runs_seen"], "2");

    let row_d = register.row("finding_id", &d);
    assert_eq!(row_d["status"], "open");
    assert_eq!(row_d["first_seen"], AS_OF_2);
    assert_eq!(row_d["runs_seen"], "1");
    assert_eq!(row_d["owner"], "team-reports");
    assert_eq!(row_d["ticket"], "");

    let remediation = Table::read(&scenario.out().join("remediation.csv"));
    let listed: Vec<&str> = remediation
        .rows
        .iter()
        .map(|row| row["finding_id"].as_str())
        .collect();
    assert_eq!(listed.len(), 2, "only open items need action: {listed:?}");
    assert!(listed.contains(&b.as_str()), "{listed:?}");
    assert!(listed.contains(&d.as_str()), "{listed:?}");
    let action_b = remediation.row("finding_id", &b);
    assert_eq!(action_b["owner"], "team-partners");
    assert_eq!(action_b["due_date"], row_b["due_date"]);
    assert!(!action_b["action"].is_empty());
    assert!(action_b["target"].contains("identity=key-partner-globex"));

    // Run 3: after the exception expired; A's fault is back.
    set_as_of(&mut scenario, AS_OF_3);
    set_tests(&mut scenario, &[FAULT_A, FAULT_B, FAULT_C, FAULT_D]);
    let report = scenario.run().expect("run 3 succeeds");
    let expired = report
        .findings
        .iter()
        .find(|finding| finding.rule == "exception-expired")
        .expect("an exception-expired finding");
    assert_eq!(expired.key.covered_finding_id, c);
    assert_eq!(expired.status, corroborate::findings::Status::Open);
    let e = expired.finding_id.clone();
    let delta = &report.delta;
    assert_eq!(delta.reopened, 1, "{delta:?}");
    assert_eq!(
        delta.new, 1,
        "the exception-expired finding is new: {delta:?}"
    );
    assert_eq!(delta.still_open, 3, "{delta:?}");
    assert_eq!(delta.exception_expired, 1, "{delta:?}");
    assert_eq!(delta.excepted, 0, "{delta:?}");
    assert_eq!(delta.resolved, 0, "{delta:?}");

    let register = Table::read(&register_path);
    assert_eq!(register.rows.len(), 5);
    let row_a = register.row("finding_id", &a);
    assert_eq!(row_a["status"], "open");
    assert_eq!(row_a["reopened"], "1");
    assert_eq!(row_a["resolved_at"], "", "reopening clears resolved_at");
    assert_eq!(row_a["first_seen"], AS_OF_1);
    assert_eq!(row_a["last_seen"], AS_OF_3);
    assert_eq!(row_a["runs_seen"], "2");

    let row_b = register.row("finding_id", &b);
    assert_eq!(row_b["runs_seen"], "3");
    assert_eq!(row_b["notes"], note);

    let row_c = register.row("finding_id", &c);
    assert_eq!(row_c["status"], "exception-expired");
    assert_eq!(row_c["exception_id"], "EXC-1");
    assert_eq!(row_c["ticket"], "SEC-77");
    assert_eq!(row_c["runs_seen"], "3");

    let row_d = register.row("finding_id", &d);
    assert_eq!(row_d["runs_seen"], "2");

    let row_e = register.row("finding_id", &e);
    assert_eq!(row_e["rule"], "exception-expired");
    assert_eq!(row_e["covered_finding_id"], c);
    assert_eq!(row_e["status"], "open");
    assert_eq!(row_e["severity"], "medium");
    assert_eq!(row_e["first_seen"], AS_OF_3);
    assert_eq!(
        row_e["owner"], row_c["owner"],
        "it inherits the covered owner"
    );

    let remediation = Table::read(&scenario.out().join("remediation.csv"));
    let listed: Vec<&str> = remediation
        .rows
        .iter()
        .map(|row| row["finding_id"].as_str())
        .collect();
    for id in [&a, &b, &c, &d, &e] {
        assert!(
            listed.contains(&id.as_str()),
            "{id} needs action: {listed:?}"
        );
    }

    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(scenario.out().join("manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["register"]["reopened"], 1);
    assert_eq!(manifest["register"]["exception_expired"], 1);
    assert_eq!(manifest["counts"]["by_status"]["exception-expired"], 1);
    let evaluated = manifest["rules_evaluated"].as_array().unwrap();
    assert!(evaluated.contains(&serde_json::json!("exception-expired")));
}

#[test]
fn register_carries_over_unevaluated_rules() {
    let mut scenario = scenario();
    set_tests(&mut scenario, &[FAULT_B]);
    scenario.run().expect("first run succeeds");
    let register_path = scenario.out().join("register.csv");
    let before = Table::read(&register_path);

    // Without test results the test rules are not evaluated, so their row must
    // be kept as it was instead of being resolved.
    scenario.config.tests.clear();
    set_as_of(&mut scenario, AS_OF_2);
    let report = scenario.run().expect("second run succeeds");
    assert_eq!(report.delta.carried_over, 1);
    assert_eq!(report.delta.resolved, 0);
    let after = Table::read(&register_path);
    assert_eq!(after.rows, before.rows, "the row is carried over unchanged");

    // The carried-over item still needs action, with the rule's template text.
    let remediation = Table::read(&scenario.out().join("remediation.csv"));
    assert_eq!(remediation.rows.len(), 1);
    let action = &remediation.rows[0];
    assert_eq!(action["finding_id"], before.rows[0]["finding_id"]);
    assert!(
        action["action"].contains("key-partner-globex"),
        "{action:?}"
    );
    assert_eq!(action["due_date"], before.rows[0]["due_date"]);
}

#[test]
fn register_flag_names_previous_register() {
    let mut scenario = scenario();
    set_tests(&mut scenario, &[FAULT_B]);
    scenario.run().expect("first run succeeds");
    let previous = scenario.out().join("register.csv");

    let mut second = scenario.config.clone();
    second.out = scenario.dir.path().join("out-2");
    second.register = Some(previous.clone());
    second.as_of = Timestamp::parse(AS_OF_2).unwrap();
    second.until = second.as_of;
    let report = corroborate::pipeline::run(&second).expect("second run succeeds");
    assert_eq!(report.delta.still_open, 1);
    assert_eq!(report.delta.new, 0);
    let row = Table::read(&second.out.join("register.csv")).rows[0].clone();
    assert_eq!(row["runs_seen"], "2");
    assert_eq!(row["first_seen"], AS_OF_1);
}

#[test]
fn malformed_register_fails_and_writes_nothing() {
    let mut scenario = scenario();
    set_tests(&mut scenario, &[FAULT_B]);
    scenario.run().expect("first run succeeds");
    let register_path = scenario.out().join("register.csv");
    let mut text = std::fs::read_to_string(&register_path).unwrap();
    text.push_str("bogus-1,privilege-boundary-bypass\r\n");
    std::fs::write(&register_path, &text).unwrap();
    let findings_before = std::fs::read(scenario.out().join("findings.jsonl")).unwrap();

    set_as_of(&mut scenario, AS_OF_2);
    let error = scenario
        .run()
        .expect_err("a ragged register row is an error");
    let message = error.to_string();
    assert!(message.contains("register.csv"), "{message}");
    assert!(message.contains("line 3"), "{message}");
    assert!(message.contains("cells but the header has"), "{message}");
    assert_eq!(std::fs::read_to_string(&register_path).unwrap(), text);
    assert_eq!(
        std::fs::read(scenario.out().join("findings.jsonl")).unwrap(),
        findings_before
    );
}

#[test]
fn exception_scope_rules() {
    let mut scenario = scenario();
    set_tests(&mut scenario, &[FAULT_A, FAULT_B, FAULT_C]);
    let first = scenario.run().expect("run succeeds");
    let b = id_of(&first.findings, "privilege-boundary-bypass");

    // EXC-ID covers B by its exact id. EXC-SVC has an identity glob, which a
    // service finding's key lacks, so it covers neither A nor C. EXC-ALL uses
    // `*` on identity, which also matches a key without identity, and covers
    // A. EXC-LATER is approved after the review date and covers nothing.
    let exceptions = scenario.file(
        "exceptions.csv",
        &format!(
            "{EXCEPTION_HEADER}\
EXC-ID,*,{b},,,,grc@example.com,,2027-06-01T00:00:00Z,,\n\
EXC-SVC,unclear-denial,,svc-*,,,grc@example.com,,2027-06-01T00:00:00Z,,\n\
EXC-ALL,invalid-credential-accepted,,*,inventory-?pi,staging,grc@example.com,,2027-06-01T00:00:00Z,,\n\
EXC-LATER,unclear-denial,,,,,grc@example.com,2027-01-01T00:00:00Z,2027-06-01T00:00:00Z,,\n"
        ),
    );
    scenario.config.exceptions = vec![exceptions.display().to_string()];
    let report = scenario.run().expect("run succeeds");
    let status = |rule: &str| {
        report
            .findings
            .iter()
            .find(|finding| finding.rule == rule)
            .map(|finding| finding.status.as_str())
            .unwrap()
    };
    assert_eq!(status("privilege-boundary-bypass"), "excepted");
    assert_eq!(status("invalid-credential-accepted"), "excepted");
    assert_eq!(status("unclear-denial"), "open");
    assert_eq!(report.delta.unused_exceptions, vec!["EXC-LATER", "EXC-SVC"]);
}

#[test]
fn exception_without_expiry_or_approver_is_rejected() {
    let mut scenario = scenario();
    set_tests(&mut scenario, &[FAULT_B]);
    let exceptions = scenario.file(
        "exceptions.csv",
        &format!(
            "{EXCEPTION_HEADER}\
EXC-1,privilege-boundary-bypass,,,,,grc@example.com,,,,\n\
EXC-2,privilege-boundary-bypass,,,,,,,2027-06-01T00:00:00Z,,\n\
EXC-3,no-such-rule,,,,,grc@example.com,,2027-06-01T00:00:00Z,,\n"
        ),
    );
    scenario.config.exceptions = vec![exceptions.display().to_string()];
    let report = scenario.run().expect("rejects do not stop the run");
    assert_eq!(report.rejects, 3);
    assert!(
        report
            .findings
            .iter()
            .all(|finding| finding.status.as_str() == "open"),
        "a rejected exception covers nothing"
    );
    let rejects = Table::read(&scenario.out().join("rejects.csv"));
    let reasons: Vec<(&str, &str)> = rejects
        .rows
        .iter()
        .map(|row| (row["column"].as_str(), row["reason"].as_str()))
        .collect();
    assert!(
        reasons
            .iter()
            .any(|(column, reason)| *column == "expires_at"
                && reason.contains("without an expiry is not accepted")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|(column, reason)| *column == "approved_by"
                && reason.contains("without an approver is not accepted")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|(column, reason)| *column == "rule" && reason.contains("unknown rule id")),
        "{reasons:?}"
    );
}

/// Tells whether a spreadsheet would run `cell` as a formula.
fn is_formula(cell: &str) -> bool {
    cell.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

#[test]
fn hostile_cells_are_neutralised_in_every_csv() {
    let mut scenario = Scenario::new();
    scenario.config.rules_dir = Some(rules_dir_enabling(scenario.dir.path(), PLANTED_RULES));
    scenario.entitlements(
        "entitlements.csv",
        &format!(
            "{ENTITLEMENT_HEADER}+svc-evil,service_account,=HYPERLINK(\"http://x.example\"),,prod,orders-api,orders:read,,,low,2025-01-01T00:00:00Z,active,,@kid-evil,2025-01-01T00:00:00Z,2026-10-01T00:00:00Z,2027-06-01T00:00:00Z,\n"
        ),
    );
    scenario.tests(
        "tests.csv",
        &format!(
            "{TEST_HEADER}ord-delete-evil,2026-11-20T10:01:00Z,+svc-evil,@kid-evil,valid,prod,orders-api,DELETE,/v1/orders/1,orders:delete,deny,204,api_key,,req-e1,,\n\
             bad-test,not-a-time,x,,valid,prod,orders-api,GET,/v1/x,,allow,200,,,,,\n"
        ),
    );
    let exceptions = scenario.file(
        "exceptions.csv",
        &format!(
            "{EXCEPTION_HEADER}\
=EXC-1,privilege-boundary-bypass,,+svc-*,,,@ciso,,2027-06-01T00:00:00Z,-justified,-TICKET\n\
EXC-BAD,privilege-boundary-bypass,,,,,@ciso,,=1+1,,\n"
        ),
    );
    scenario.config.exceptions = vec![exceptions.display().to_string()];

    for run in 1..=2 {
        let report = scenario.run().expect("run succeeds");
        assert_eq!(report.findings[0].status.as_str(), "excepted", "run {run}");
        for name in [
            "findings.csv",
            "register.csv",
            "remediation.csv",
            "rejects.csv",
        ] {
            let table = Table::read(&scenario.out().join(name));
            for row in &table.rows {
                for (column, cell) in row {
                    assert!(
                        !is_formula(cell),
                        "run {run}: {name} column {column} holds formula cell {cell:?}"
                    );
                }
            }
        }
        let findings = Table::read(&scenario.out().join("findings.csv"));
        let finding = &findings.rows[0];
        assert_eq!(finding["identity"], "'+svc-evil");
        assert_eq!(finding["owner"], "'=HYPERLINK(\"http://x.example\")");

        let register = Table::read(&scenario.out().join("register.csv"));
        let row = &register.rows[0];
        assert_eq!(row["identity"], "'+svc-evil", "run {run}");
        assert_eq!(
            row["exception_id"], "'=EXC-1",
            "run {run}: one quote, not one per run"
        );
        assert_eq!(row["approved_by"], "'@ciso", "run {run}");
        assert_eq!(
            row["owner"], "'=HYPERLINK(\"http://x.example\")",
            "run {run}"
        );

        let rejects = Table::read(&scenario.out().join("rejects.csv"));
        assert!(
            rejects.rows.iter().any(|row| row["value"] == "'=1+1"),
            "run {run}: the invalid expiry is kept, neutralised: {:?}",
            rejects.rows
        );
    }
    // Excepted items need no action, so remediation.csv has the header only.
    let remediation = Table::read(&scenario.out().join("remediation.csv"));
    assert!(remediation.rows.is_empty());
}

#[test]
fn hostile_owner_in_remediation_is_neutralised() {
    let mut scenario = Scenario::new();
    scenario.config.rules_dir = Some(rules_dir_enabling(scenario.dir.path(), PLANTED_RULES));
    scenario.entitlements(
        "entitlements.csv",
        &format!(
            "{ENTITLEMENT_HEADER}-svc-minus,service_account,@team-evil,,prod,orders-api,orders:read,,,low,2025-01-01T00:00:00Z,active,,kid-m,2025-01-01T00:00:00Z,2026-10-01T00:00:00Z,2027-06-01T00:00:00Z,\n"
        ),
    );
    scenario.tests(
        "tests.csv",
        &format!(
            "{TEST_HEADER}ord-delete-minus,2026-11-20T10:01:00Z,-svc-minus,kid-m,valid,prod,orders-api,DELETE,/v1/orders/1,orders:delete,deny,204,api_key,,req-m1,,\n"
        ),
    );
    scenario.run().expect("run succeeds");
    let remediation = Table::read(&scenario.out().join("remediation.csv"));
    assert_eq!(remediation.rows.len(), 1);
    let row = &remediation.rows[0];
    assert_eq!(row["owner"], "'@team-evil");
    assert!(row["target"].contains("identity=-svc-minus"), "{row:?}");
    for (column, cell) in row {
        assert!(
            !is_formula(cell),
            "column {column} holds formula cell {cell:?}"
        );
    }
}
