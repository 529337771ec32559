//! A whole run on foreign formats only: CloudTrail logs, an IAM authorization
//! details export and a Newman report, with the findings each one leads to.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use corroborate::model::Severity;

use common::{Scenario, keys_of};

fn fixture(path: &str) -> String {
    format!(
        "{}/tests/fixtures/formats/{path}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn scenario() -> Scenario {
    let mut scenario = Scenario::new();
    scenario.config.logs.push(fixture("e2e/cloudtrail.json"));
    scenario.config.entitlements.push(fixture("e2e/iam.json"));
    scenario.config.tests.push(fixture("newman/report.json"));
    scenario.config.imports.tests.mapping = Some(PathBuf::from(format!(
        "{}/docs/examples/newman-names.tests.toml",
        env!("CARGO_MANIFEST_DIR")
    )));
    let accounts = scenario.file(
        "accounts.csv",
        "account_id,environment\n111122223333,prod\n",
    );
    scenario.config.imports.account_environments = Some(accounts);
    scenario
}

#[test]
fn cloudtrail_iam_newman_findings() {
    let scenario = scenario();
    let report = scenario.run().expect("run succeeds");
    let findings = &report.findings;

    // Every finding of the run, by rule: nothing else fires.
    let mut by_rule: BTreeMap<&str, usize> = BTreeMap::new();
    for finding in findings {
        *by_rule.entry(finding.rule.as_str()).or_insert(0) += 1;
    }
    assert_eq!(
        by_rule,
        BTreeMap::from([
            ("dormant-identity", 1),
            ("entitled-action-denied", 1),
            ("invalid-credential-accepted", 1),
            ("negative-test-gap", 1),
            ("orphaned-identity", 1),
            ("privilege-boundary-bypass", 1),
            ("undocumented-access", 1),
            ("unknown-identity", 1),
        ])
    );

    // CloudTrail × IAM: ci-deployer may only read S3 objects, yet created an IAM user.
    assert_eq!(
        keys_of(findings, "undocumented-access"),
        vec![
            "environment=prod service=iam.amazonaws.com identity=ci-deployer action=iam:CreateUser"
        ]
    );
    // A role that the IAM export does not know acted in the account.
    assert_eq!(
        keys_of(findings, "unknown-identity"),
        vec!["environment=prod identity=shadow-role"]
    );
    // IAM alone: legacy-batch has s3:* and no owner tag, and made no call.
    assert_eq!(
        keys_of(findings, "dormant-identity"),
        vec!["identity=legacy-batch"]
    );
    assert_eq!(
        keys_of(findings, "orphaned-identity"),
        vec!["identity=legacy-batch"]
    );

    // Newman, through the tests mapping: the request names give identity and
    // expected outcome, the folders the credential state.
    assert_eq!(
        keys_of(findings, "invalid-credential-accepted"),
        vec!["environment=prod service=orders-api credential_state=expired"]
    );
    assert_eq!(
        keys_of(findings, "privilege-boundary-bypass"),
        vec![
            "environment=prod service=orders-api identity=orders-app method=DELETE endpoint=/v1/orders/{id}"
        ]
    );
    assert_eq!(
        keys_of(findings, "entitled-action-denied"),
        vec![
            "environment=prod service=orders-api identity=orders-app method=GET endpoint=/v1/orders/{id}"
        ]
    );
    assert_eq!(
        keys_of(findings, "negative-test-gap"),
        vec!["environment=prod service=orders-api"]
    );
    let gap = findings
        .iter()
        .find(|finding| finding.rule == "negative-test-gap")
        .unwrap();
    let evidence = serde_json::to_string(&gap.evidence).unwrap();
    assert!(
        evidence.contains("revoked"),
        "only revoked credentials are untested: {evidence}"
    );

    // The assumed-role sessions count as the role. Its grants cover its calls
    // and its denied call is a denial, so orders-app has no access finding.
    assert!(
        findings
            .iter()
            .filter(|finding| matches!(
                finding.rule.as_str(),
                "undocumented-access" | "unknown-identity" | "unused-entitlement"
            ))
            .all(|finding| !finding.key.values().contains(&"orders-app")),
        "orders-app has no access finding"
    );

    let severity = |rule: &str| {
        findings
            .iter()
            .find(|finding| finding.rule == rule)
            .unwrap()
            .severity
    };
    assert_eq!(severity("invalid-credential-accepted"), Severity::Critical);
    assert_eq!(severity("privilege-boundary-bypass"), Severity::Critical);

    // The CloudTrail record without userIdentity and the Newman request that got
    // no response are the run's only rejects.
    assert_eq!(report.rejects, 2);
    let rejects = std::fs::read_to_string(scenario.out().join("rejects.csv")).unwrap();
    assert!(
        rejects.contains("e2e/cloudtrail.json,17,7,identity"),
        "{rejects}"
    );
    assert!(
        rejects.contains("newman/report.json,,6,status_code"),
        "{rejects}"
    );
}

#[test]
fn manifest_names_each_format() {
    let scenario = scenario();
    scenario.run().expect("run succeeds");
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(scenario.out().join("manifest.json")).unwrap(),
    )
    .unwrap();
    let mut formats: Vec<(String, String, u64, u64)> = manifest["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|input| {
            let path = input["path"].as_str().unwrap();
            let name = path
                .rsplit('/')
                .take(2)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("/");
            (
                name,
                input["format"].as_str().unwrap().to_string(),
                input["rows_read"].as_u64().unwrap(),
                input["rows_rejected"].as_u64().unwrap(),
            )
        })
        .collect();
    formats.sort();
    assert_eq!(
        formats,
        vec![
            (
                "e2e/cloudtrail.json".to_string(),
                "cloudtrail".to_string(),
                6,
                1
            ),
            ("e2e/iam.json".to_string(), "aws-iam".to_string(), 3, 0),
            ("newman/report.json".to_string(), "newman".to_string(), 5, 1),
        ]
    );
}
