//! Inputs and helpers shared by the register, cron and POA&M tests: planted
//! faults for four test-result rules, a rules folder that disables every other
//! rule, and a CSV reader keyed by column name.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use corroborate::model::Timestamp;

use super::common::{ENTITLEMENT_HEADER, Scenario, TEST_HEADER};

/// The rules these tests plant findings for. Every other rule is disabled, so the
/// register contains exactly the planted rows.
pub const PLANTED_RULES: &[&str] = &[
    "invalid-credential-accepted",
    "privilege-boundary-bypass",
    "unclear-denial",
    "entitled-action-denied",
    "exception-expired",
];

pub const AS_OF_1: &str = "2026-11-30T00:00:00Z";
pub const AS_OF_2: &str = "2026-12-07T00:00:00Z";
pub const AS_OF_3: &str = "2027-01-15T00:00:00Z";

pub const ENTITLEMENTS: &str = "\
key-partner-globex,api_key,team-partners,,prod,orders-api,orders:read,,,low,2025-01-01T00:00:00Z,active,,ak_globex,2025-01-01T00:00:00Z,2026-10-01T00:00:00Z,2027-06-01T00:00:00Z,
wl-report-builder,workload,team-reports,,prod,reports-api,,GET,/v1/reports/**,low,2025-01-01T00:00:00Z,active,,kid-rb,2025-01-01T00:00:00Z,2026-10-01T00:00:00Z,2027-06-01T00:00:00Z,
svc-inventory-sync,service_account,team-inventory,,staging,inventory-api,inventory:read,,,low,2025-01-01T00:00:00Z,active,,kid-inv,2025-01-01T00:00:00Z,2026-10-01T00:00:00Z,2027-06-01T00:00:00Z,
svc-checkout,service_account,team-checkout,,staging,inventory-api,inventory:read,,,low,2025-01-01T00:00:00Z,active,,kid-co,2025-01-01T00:00:00Z,2026-10-01T00:00:00Z,2027-06-01T00:00:00Z,
";

/// Fault A: an expired token accepted (invalid-credential-accepted, critical).
pub const FAULT_A: &str = "inv-expired-1,2026-11-20T10:00:00Z,svc-inventory-sync,tok-exp,expired,staging,inventory-api,GET,/v1/stock/42,inventory:read,deny,200,oauth2,\"{\"\"sku\"\":42}\",req-a1,,\n";
/// Fault A fixed: the expired token is now refused.
pub const FIXED_A: &str = "inv-expired-1,2026-11-20T10:00:00Z,svc-inventory-sync,tok-exp,expired,staging,inventory-api,GET,/v1/stock/42,inventory:read,deny,401,oauth2,\"{\"\"error\"\":\"\"invalid_token\"\"}\",req-a1,,\n";
/// Fault B: a partner key deletes an order (privilege-boundary-bypass).
pub const FAULT_B: &str = "ord-delete-partner-1,2026-11-20T10:01:00Z,key-partner-globex,ak_globex,valid,prod,orders-api,DELETE,/v1/orders/454582,orders:delete,deny,204,api_key,,req-b1,,\n";
/// Fault C: a soft denial with status 200 (unclear-denial).
pub const FAULT_C: &str = "inv-adjust-scope-1,2026-11-20T10:02:00Z,svc-checkout,kid-co,insufficient_scope,staging,inventory-api,POST,/v1/stock/42/adjustments,inventory:adjust,deny,200,oauth2,\"{\"\"error\"\":\"\"unauthorized\"\"}\",req-c1,,\n";
/// Fault D: an entitled export denied (entitled-action-denied), new in run 2.
pub const FAULT_D: &str = "rep-export-1,2026-11-20T10:03:00Z,wl-report-builder,kid-rb,valid,prod,reports-api,GET,/v1/reports/77/export,reports:export,allow,403,oauth2,\"{\"\"error\"\":\"\"forbidden\"\"}\",req-d1,,\n";

pub const EXCEPTION_HEADER: &str = "exception_id,rule,finding_id,identity,service,environment,approved_by,approved_at,expires_at,justification,ticket\n";

/// Writes a rules folder that disables every built-in rule not in `enabled`.
pub fn rules_dir_enabling(folder: &Path, enabled: &[&str]) -> PathBuf {
    let dir = folder.join("rules");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in corroborate::rules::BUILTIN {
        let id = name.trim_end_matches(".toml");
        if *name == "settings.toml" || enabled.contains(&id) {
            continue;
        }
        assert!(
            text.contains("\nenabled = true"),
            "{name} has no `enabled = true` line"
        );
        std::fs::write(
            dir.join(name),
            text.replacen("\nenabled = true", "\nenabled = false", 1),
        )
        .unwrap();
    }
    dir
}

/// A CSV file as its header and rows of `column -> value`.
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<BTreeMap<String, String>>,
}

impl Table {
    pub fn read(path: &Path) -> Table {
        let mut reader = csv::Reader::from_path(path)
            .unwrap_or_else(|error| panic!("{} is readable: {error}", path.display()));
        let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        let rows = reader
            .records()
            .map(|record| {
                let record = record.unwrap();
                header
                    .iter()
                    .cloned()
                    .zip(record.iter().map(String::from))
                    .collect()
            })
            .collect();
        Table { header, rows }
    }

    /// Returns the row whose `column` is `value`, and panics listing the values
    /// there are when none matches.
    pub fn row(&self, column: &str, value: &str) -> &BTreeMap<String, String> {
        self.rows
            .iter()
            .find(|row| row[column] == value)
            .unwrap_or_else(|| {
                let values: Vec<&String> = self.rows.iter().map(|row| &row[column]).collect();
                panic!("no row with {column}={value}; rows have {values:?}")
            })
    }
}

/// Sets the review date, keeping the default 90-day window before it.
pub fn set_as_of(scenario: &mut Scenario, as_of: &str) {
    let as_of = Timestamp::parse(as_of).unwrap();
    scenario.config.as_of = as_of;
    scenario.config.until = as_of;
    scenario.config.since = as_of.plus_seconds(-90 * 86_400);
}

/// Replaces the scenario's test results with `rows`.
pub fn set_tests(scenario: &mut Scenario, rows: &[&str]) {
    let path = scenario.file("tests.csv", &format!("{TEST_HEADER}{}", rows.concat()));
    scenario.config.tests = vec![path.display().to_string()];
}

/// Returns the id of the only finding of `rule` among `findings`.
pub fn id_of(findings: &[corroborate::findings::Finding], rule: &str) -> String {
    let ids: Vec<&str> = findings
        .iter()
        .filter(|finding| finding.rule == rule)
        .map(|finding| finding.finding_id.as_str())
        .collect();
    assert_eq!(ids.len(), 1, "one {rule} finding expected, found {ids:?}");
    ids[0].to_string()
}

pub fn days_after(time: &str, days: i64) -> String {
    Timestamp::parse(time)
        .unwrap()
        .plus_seconds(days * 86_400)
        .to_rfc3339()
}

/// Returns the default SLA of a severity, in days.
pub fn sla_days(severity: &str) -> i64 {
    match severity {
        "critical" => 7,
        "high" => 30,
        "medium" => 90,
        "low" => 180,
        other => panic!("unknown severity {other}"),
    }
}

/// Builds a scenario with the planted rules, the entitlements and an owners file.
pub fn scenario() -> Scenario {
    let mut scenario = Scenario::new();
    scenario.config.rules_dir = Some(rules_dir_enabling(scenario.dir.path(), PLANTED_RULES));
    scenario.entitlements(
        "entitlements.csv",
        &format!("{ENTITLEMENT_HEADER}{ENTITLEMENTS}"),
    );
    let owners = scenario.file(
        "owners.csv",
        "service,owner\ninventory-api,team-inventory-platform\n",
    );
    scenario.config.owners = Some(owners);
    scenario
}

/// Writes the planted inputs into `folder` for a run of the binary: returns the
/// rules folder, the entitlements and the owners file.
pub fn write_inputs(folder: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let rules = rules_dir_enabling(folder, PLANTED_RULES);
    let entitlements = folder.join("entitlements.csv");
    std::fs::write(&entitlements, format!("{ENTITLEMENT_HEADER}{ENTITLEMENTS}")).unwrap();
    let owners = folder.join("owners.csv");
    std::fs::write(
        &owners,
        "service,owner\ninventory-api,team-inventory-platform\n",
    )
    .unwrap();
    (rules, entitlements, owners)
}

/// Writes test results made of `rows` to `path`.
pub fn write_tests(path: &Path, rows: &[&str]) {
    std::fs::write(path, format!("{TEST_HEADER}{}", rows.concat())).unwrap();
}
