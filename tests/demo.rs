//! Runs the `corroborate` binary on the bundled demo organisation and checks the
//! exact set of findings, so any change in behaviour shows up here.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// Every finding the demo must produce, as `rule | key`, and nothing else. Each
/// is planted on purpose; fixtures/demo/README.md says where and why.
const EXPECTED: &[&str] = &[
    "async-privilege-escalation | environment=prod service=payments-api action=payments:refund initiator=bot-support-macro worker=wl-refund-worker",
    "cross-environment-credential | identity=key-partner-acme credential_id=ak_live_acme_91d0",
    "denial-leaks-detail | environment=prod service=identity-gateway leak_category=identifier",
    "denial-leaks-detail | environment=prod service=identity-gateway leak_category=internals",
    "denial-leaks-detail | environment=prod service=identity-gateway leak_category=secret",
    "denial-log-incomplete | environment=staging service=identity-gateway",
    "denial-not-logged | environment=prod service=payments-api",
    "dormant-identity | identity=wl-legacy-edi-bridge",
    "entitled-action-denied | environment=prod service=reports-api identity=wl-report-builder method=GET endpoint=/v1/reports/{id}/export",
    "human-use-of-service-identity | identity=svc-support-lookup",
    "invalid-credential-accepted | environment=staging service=inventory-api credential_state=expired",
    "negative-test-gap | environment=staging service=identity-gateway",
    "orphaned-identity | identity=bot-stock-alerts",
    "over-broad-grant | environment=prod service=inventory-api identity=wl-inventory-indexer grant=inventory:*",
    "privilege-boundary-bypass | environment=prod service=orders-api identity=key-partner-globex method=DELETE endpoint=/v1/orders/{id}",
    "revoked-credential-used | environment=prod identity=key-partner-umbrella credential_id=ak_live_umbrella_62fe",
    "shared-identity | identity=svc-billing-export",
    "silent-auth-fallback | environment=prod service=reports-api auth_path=legacy",
    "stale-credential | identity=key-partner-initech credential_id=ak_live_initech_70bd",
    "stale-credential | identity=svc-warehouse-feed credential_id=kid-warehouse-feed-prod-4d77",
    "unclear-denial | environment=staging service=inventory-api method=POST endpoint=/v1/stock/{id}/adjustments",
    "undocumented-access | environment=prod service=orders-api identity=svc-orders-sync action=orders:cancel",
    "unknown-identity | environment=staging identity=svc-promo-engine",
    "untested-high-risk-identity | identity=svc-payments-payout",
    "unused-entitlement | environment=prod service=payments-api identity=svc-reports-export grant=payments:read",
];

const KEY_COLUMNS: [&str; 14] = [
    "environment",
    "service",
    "identity",
    "credential_state",
    "method",
    "endpoint",
    "action",
    "auth_path",
    "leak_category",
    "grant",
    "credential_id",
    "initiator",
    "worker",
    "covered_finding_id",
];

fn demo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/demo"))
}

/// Runs the binary on the demo into `out` and returns its exit status.
fn run_demo(out: &Path) -> std::process::ExitStatus {
    Command::new(env!("CARGO_BIN_EXE_corroborate"))
        .arg("run")
        .args(["--tests", &demo().join("tests.csv").display().to_string()])
        .args(["--logs", &demo().join("logs").display().to_string()])
        .args([
            "--entitlements",
            &demo().join("entitlements.csv").display().to_string(),
        ])
        .args(["--as-of", "2026-11-30T00:00:00Z"])
        .args(["--out", &out.display().to_string()])
        .arg("--quiet")
        .status()
        .expect("the corroborate binary starts")
}

fn finding_keys(out: &Path) -> BTreeSet<String> {
    let text =
        std::fs::read_to_string(out.join("findings.jsonl")).expect("findings.jsonl is written");
    text.lines()
        .map(|line| {
            let finding: serde_json::Value = serde_json::from_str(line).expect("each line is JSON");
            let key: Vec<String> = KEY_COLUMNS
                .iter()
                .filter_map(|column| {
                    finding[column]
                        .as_str()
                        .filter(|value| !value.is_empty())
                        .map(|value| format!("{column}={value}"))
                })
                .collect();
            format!(
                "{} | {}",
                finding["rule"].as_str().unwrap_or_default(),
                key.join(" ")
            )
        })
        .collect()
}

#[test]
fn demo_findings_are_exactly_the_planted_ones() {
    let out = tempfile::tempdir().unwrap();
    assert!(run_demo(out.path()).success());
    let found = finding_keys(out.path());
    let expected: BTreeSet<String> = EXPECTED.iter().map(|line| line.to_string()).collect();
    let unexpected: Vec<&String> = found.difference(&expected).collect();
    let missing: Vec<&String> = expected.difference(&found).collect();
    assert!(
        unexpected.is_empty(),
        "findings not planted in the demo: {unexpected:#?}"
    );
    assert!(
        missing.is_empty(),
        "planted findings not found: {missing:#?}"
    );
}

#[test]
fn demo_writes_every_output() {
    let out = tempfile::tempdir().unwrap();
    assert!(run_demo(out.path()).success());
    for name in [
        "findings.jsonl",
        "findings.csv",
        "manifest.json",
        "rejects.csv",
    ] {
        assert!(out.path().join(name).is_file(), "{name} is missing");
    }
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["rows"]["rows_rejected"], 0);
    assert_eq!(manifest["rows"]["events_outside_window"], 9);
    assert_eq!(manifest["inputs"].as_array().map(Vec::len), Some(5));
}

#[test]
fn demo_findings_are_byte_identical_across_runs() {
    let first = tempfile::tempdir().unwrap();
    let second = tempfile::tempdir().unwrap();
    assert!(run_demo(first.path()).success());
    assert!(run_demo(second.path()).success());
    for name in ["findings.jsonl", "findings.csv", "rejects.csv"] {
        let a = std::fs::read(first.path().join(name)).unwrap();
        let b = std::fs::read(second.path().join(name)).unwrap();
        assert!(
            a == b,
            "{name} differs between two runs with the same inputs and --as-of"
        );
    }
}
