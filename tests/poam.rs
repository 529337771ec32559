//! `poam.json`: its items, statuses and stable UUIDs, and its validity against
//! NIST's OSCAL POA&M JSON schema (tests/data/oscal), checked with Python's
//! `jsonschema` through tests/data/oscal/validate.py. The schema check is
//! skipped only when `python3` is missing; `.ci/setup-oscal.sh` installs the
//! Python packages it needs.

mod common;
mod register_support;

use std::path::Path;
use std::process::Command;

use common::Scenario;
use register_support::*;
use serde_json::Value;

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Builds a scenario with an open, an excepted and an exception-expired finding.
fn scenario_with_every_status() -> Scenario {
    let mut scenario = scenario();
    set_tests(&mut scenario, &[FAULT_A, FAULT_B, FAULT_C]);
    let exceptions = scenario.file(
        "exceptions.csv",
        &format!(
            "{EXCEPTION_HEADER}\
EXC-B,privilege-boundary-bypass,,key-partner-*,,prod,ciso@example.com,2026-10-01T00:00:00Z,2027-03-01T00:00:00Z,Partner contract ends in March,SEC-1\n\
EXC-C,unclear-denial,,,inventory-api,staging,grc@example.com,2026-09-01T00:00:00Z,2026-11-01T00:00:00Z,Rebuild,PLAT-2\n"
        ),
    );
    scenario.config.exceptions = vec![exceptions.display().to_string()];
    scenario
}

/// Returns the `poam-items`, `risks` and `observations` of a document.
fn parts(document: &Value) -> (&Vec<Value>, &Vec<Value>, &Vec<Value>) {
    let poam = &document["plan-of-action-and-milestones"];
    (
        poam["poam-items"].as_array().expect("poam-items"),
        poam["risks"].as_array().expect("risks"),
        poam["observations"].as_array().expect("observations"),
    )
}

fn prop<'v>(object: &'v Value, name: &str) -> Option<&'v str> {
    object["props"]
        .as_array()?
        .iter()
        .find(|prop| prop["name"] == name)
        .and_then(|prop| prop["value"].as_str())
}

#[test]
fn poam_lists_open_and_excepted_items() {
    let scenario = scenario_with_every_status();
    let report = scenario.run().expect("run succeeds");
    let document = read_json(&scenario.out().join("poam.json"));
    let (items, risks, observations) = parts(&document);
    // A open, B excepted, C exception-expired, and the exception-expired finding.
    assert_eq!(items.len(), 4);
    assert_eq!(risks.len(), 4);
    assert_eq!(observations.len(), 4);
    assert_eq!(
        document["plan-of-action-and-milestones"]["metadata"]["oscal-version"],
        "1.1.3"
    );
    assert_eq!(
        document["plan-of-action-and-milestones"]["metadata"]["last-modified"], AS_OF_1,
        "timestamps come from --as-of"
    );

    let b = id_of(&report.findings, "privilege-boundary-bypass");
    let c = id_of(&report.findings, "unclear-denial");
    let risk_of = |id: &str| {
        risks
            .iter()
            .find(|risk| prop(risk, "finding-id") == Some(id))
            .unwrap_or_else(|| panic!("no risk for {id}"))
    };
    let risk_b = risk_of(&b);
    assert_eq!(risk_b["status"], "deviation-approved");
    let log_b = risk_b["risk-log"]["entries"].as_array().unwrap();
    assert_eq!(log_b.len(), 1);
    assert_eq!(log_b[0]["status-change"], "deviation-approved");
    assert_eq!(log_b[0]["start"], "2026-10-01T00:00:00Z");
    assert_eq!(log_b[0]["end"], "2027-03-01T00:00:00Z");
    assert!(log_b[0]["description"].as_str().unwrap().contains("SEC-1"));

    let risk_c = risk_of(&c);
    assert_eq!(risk_c["status"], "open");
    let log_c = risk_c["risk-log"]["entries"].as_array().unwrap();
    assert_eq!(log_c.len(), 2, "approval and expiry");
    assert_eq!(log_c[1]["status-change"], "open");
    assert_eq!(log_c[1]["start"], "2026-11-01T00:00:00Z");

    let observation_b = observations
        .iter()
        .find(|observation| prop(observation, "finding-id") == Some(b.as_str()))
        .unwrap();
    let evidence = serde_json::to_string(&observation_b["relevant-evidence"]).unwrap();
    assert!(evidence.contains("ord-delete-partner-1"), "{evidence}");
    assert!(evidence.contains("req-b1"), "{evidence}");
    assert_eq!(observation_b["methods"][0], "TEST");
}

#[test]
fn poam_uuids_are_stable_per_finding() {
    let mut scenario = scenario_with_every_status();
    scenario.run().expect("first run succeeds");
    let first = read_json(&scenario.out().join("poam.json"));
    let again_dir = scenario.dir.path().join("again");
    let mut same = scenario.config.clone();
    same.out = again_dir.clone();
    corroborate::pipeline::run(&same).expect("the same run again succeeds");
    assert_eq!(
        std::fs::read(scenario.out().join("poam.json")).unwrap(),
        std::fs::read(again_dir.join("poam.json")).unwrap(),
        "same inputs and as-of give the same bytes"
    );

    set_as_of(&mut scenario, AS_OF_2);
    scenario.run().expect("second run succeeds");
    let second = read_json(&scenario.out().join("poam.json"));
    let uuids = |document: &Value| {
        let (items, _, _) = parts(document);
        let mut pairs: Vec<(String, String)> = items
            .iter()
            .map(|item| {
                (
                    prop(item, "finding-id").unwrap().to_string(),
                    item["uuid"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        pairs.sort();
        pairs
    };
    assert_eq!(uuids(&first), uuids(&second), "a finding keeps its UUIDs");
    assert_ne!(
        first["plan-of-action-and-milestones"]["uuid"],
        second["plan-of-action-and-milestones"]["uuid"],
        "the document UUID changes with as-of"
    );
}

#[test]
fn poam_is_removed_when_nothing_is_open() {
    let mut scenario = scenario();
    set_tests(&mut scenario, &[FAULT_B]);
    scenario.run().expect("first run succeeds");
    assert!(scenario.out().join("poam.json").exists());
    set_tests(&mut scenario, &[FIXED_A]);
    set_as_of(&mut scenario, AS_OF_2);
    scenario.run().expect("second run succeeds");
    assert!(
        !scenario.out().join("poam.json").exists(),
        "a POA&M without items would be invalid OSCAL, and a stale one misleads"
    );
}

// NOTE: the schema is OSCAL v1.2.3 while the document declares 1.1.3, because
// no package registry carries a v1.1.x POA&M schema (tests/data/oscal/README.md).
#[test]
fn poam_validates_against_oscal_schema() {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!(
            "skipped: python3 not found, so poam.json is not checked against the OSCAL schema"
        );
        return;
    }
    let scenario = scenario_with_every_status();
    scenario.run().expect("run succeeds");
    let data = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/oscal"));
    let output = Command::new("python3")
        .arg(data.join("validate.py"))
        .arg(data.join("oscal_poam_schema.json"))
        .arg(scenario.out().join("poam.json"))
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_ne!(
        output.status.code(),
        Some(3),
        "Python packages are missing; run `bash .ci/setup-oscal.sh`: {stderr}"
    );
    assert!(
        output.status.success(),
        "poam.json is not valid OSCAL:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("valid against"), "{stdout}");
}

#[test]
fn oscal_validator_rejects_broken_poam() {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("skipped: python3 not found");
        return;
    }
    let scenario = scenario_with_every_status();
    scenario.run().expect("run succeeds");
    let mut document = read_json(&scenario.out().join("poam.json"));
    document["plan-of-action-and-milestones"]["poam-items"][0]["uuid"] = "not-a-uuid".into();
    document["plan-of-action-and-milestones"]["risks"][0]["status"] = "not a token".into();
    let broken = scenario.dir.path().join("broken.json");
    std::fs::write(&broken, serde_json::to_vec(&document).unwrap()).unwrap();
    let data = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/oscal"));
    let output = Command::new("python3")
        .arg(data.join("validate.py"))
        .arg(data.join("oscal_poam_schema.json"))
        .arg(&broken)
        .output()
        .expect("python3 runs");
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("poam-items/0/uuid"), "{stdout}");
    assert!(stdout.contains("risks/0/status"), "{stdout}");
}
