//! The demo organisation with its exceptions file: each of the three exceptions
//! has the effect fixtures/demo/README.md describes, and the register, the
//! remediation records and the POA&M agree with findings.jsonl.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn demo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/demo"))
}

fn run_demo(out: &Path) {
    let output = Command::new(env!("CARGO_BIN_EXE_corroborate"))
        .arg("run")
        .arg("--tests")
        .arg(demo().join("tests.csv"))
        .arg("--logs")
        .arg(demo().join("logs"))
        .arg("--entitlements")
        .arg(demo().join("entitlements.csv"))
        .arg("--exceptions")
        .arg(demo().join("exceptions.csv"))
        .args(["--as-of", "2026-11-30T00:00:00Z", "--out"])
        .arg(out)
        .output()
        .expect("the corroborate binary starts");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn findings(out: &Path) -> Vec<Value> {
    std::fs::read_to_string(out.join("findings.jsonl"))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Returns the status of the one finding of `rule` whose `field` is `value`.
fn status_of(findings: &[Value], rule: &str, field: &str, value: &str) -> String {
    let matching: Vec<&Value> = findings
        .iter()
        .filter(|finding| finding["rule"] == rule && finding[field] == value)
        .collect();
    assert_eq!(
        matching.len(),
        1,
        "one {rule} finding with {field}={value} expected, found {}",
        matching.len()
    );
    matching[0]["status"].as_str().unwrap().to_string()
}

#[test]
fn demo_exceptions_behave_as_documented() {
    let out = tempfile::tempdir().unwrap();
    run_demo(out.path());
    let findings = findings(out.path());

    // EXC-2026-014: Initech's key without expiry is excepted.
    assert_eq!(
        status_of(
            &findings,
            "stale-credential",
            "identity",
            "key-partner-initech"
        ),
        "excepted"
    );
    // EXC-2026-009 expired on 2026-10-31: shared-identity is exception-expired,
    // and an exception-expired finding covers it.
    assert_eq!(
        status_of(
            &findings,
            "shared-identity",
            "identity",
            "svc-billing-export"
        ),
        "exception-expired"
    );
    let shared = findings
        .iter()
        .find(|finding| finding["rule"] == "shared-identity")
        .unwrap();
    let covered = shared["finding_id"].as_str().unwrap();
    assert_eq!(
        status_of(
            &findings,
            "exception-expired",
            "covered_finding_id",
            covered
        ),
        "open"
    );
    // EXC-2026-017: both staging identity-gateway findings are excepted.
    let staging_gateway: Vec<&Value> = findings
        .iter()
        .filter(|finding| {
            finding["environment"] == "staging" && finding["service"] == "identity-gateway"
        })
        .collect();
    let rules: Vec<&str> = staging_gateway
        .iter()
        .map(|finding| finding["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        staging_gateway.len(),
        2,
        "denial-log-incomplete and negative-test-gap: {rules:?}"
    );
    for finding in &staging_gateway {
        assert_eq!(finding["status"], "excepted", "{}", finding["rule"]);
    }

    let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
    for finding in &findings {
        *by_status
            .entry(finding["status"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(by_status.get("excepted"), Some(&3), "{by_status:?}");
    assert_eq!(
        by_status.get("exception-expired"),
        Some(&1),
        "{by_status:?}"
    );

    // The register has one row per finding, with the same statuses; the
    // remediation records list the open and exception-expired ones.
    let mut reader = csv::Reader::from_path(out.path().join("register.csv")).unwrap();
    let header = reader.headers().unwrap().clone();
    let status_at = header.iter().position(|name| name == "status").unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), findings.len());
    let excepted_rows = rows
        .iter()
        .filter(|row| &row[status_at] == "excepted")
        .count();
    assert_eq!(excepted_rows, 3);
    let remediation = csv::Reader::from_path(out.path().join("remediation.csv"))
        .unwrap()
        .records()
        .count();
    assert_eq!(remediation, findings.len() - 3);

    let poam: Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("poam.json")).unwrap())
            .unwrap();
    let items = poam["plan-of-action-and-milestones"]["poam-items"]
        .as_array()
        .unwrap();
    assert_eq!(
        items.len(),
        findings.len(),
        "every item is open or excepted"
    );

    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["register"]["new"], findings.len());
    assert_eq!(manifest["register"]["excepted"], 3);
    assert_eq!(manifest["register"]["exception_expired"], 1);
    assert_eq!(
        manifest["register"]["unused_exceptions"],
        serde_json::json!([])
    );
}
