//! untested-high-risk-identity and negative-test-gap: what the API tests leave
//! out.

mod common;
mod support;

use common::{Scenario, finding, keys_of};
use corroborate::model::Severity;
use support::{ApiTest, Grant, entitlement_file, override_param, test_file};

const T: &str = "2026-11-02T10:00:00Z";

fn scenario(grants: &[Grant], tests: &[ApiTest]) -> Scenario {
    let mut scenario = Scenario::new();
    if !grants.is_empty() {
        scenario.entitlements("entitlements.csv", &entitlement_file(grants));
    }
    scenario.tests("tests.csv", &test_file(tests));
    scenario
}

fn read_test(test_id: &str, time: &str, identity: &str) -> ApiTest {
    ApiTest::new(test_id, time, identity, "GET", "/v1/orders/1").expect("allow", 200)
}

#[test]
fn untested_high_risk_identity_by_grant_risk() {
    let scenario = scenario(
        &[
            Grant::new("svc-payout")
                .action("payments:payout")
                .risk("critical"),
            Grant::new("svc-refund")
                .action("payments:refund")
                .risk("high"),
            Grant::new("svc-tested")
                .action("payments:capture")
                .risk("high"),
            Grant::new("svc-medium").risk("medium"),
            Grant::new("svc-revoked")
                .risk("critical")
                .revoked("revoked", "2026-10-01T00:00:00Z"),
            // Tested only before the window, which does not count.
            Grant::new("svc-old-test").risk("high"),
        ],
        &[
            read_test("t-1", T, "svc-tested"),
            read_test("t-old", "2026-08-01T00:00:00Z", "svc-old-test"),
        ],
    );
    let report = scenario.run_clean();
    assert_eq!(
        keys_of(&report.findings, "untested-high-risk-identity"),
        vec![
            "identity=svc-old-test",
            "identity=svc-payout",
            "identity=svc-refund"
        ]
    );
    let payout = finding(
        &report.findings,
        "untested-high-risk-identity",
        "identity=svc-payout",
    );
    // Low, raised one level by the critical grant.
    assert_eq!(payout.severity, Severity::Medium);
    assert_eq!(
        payout.evidence.details["high_risk_grants"],
        serde_json::json!([{
            "environment": "prod",
            "service": "orders-api",
            "grant": "payments:payout",
            "risk": "critical",
        }])
    );
    let refund = finding(
        &report.findings,
        "untested-high-risk-identity",
        "identity=svc-refund",
    );
    assert_eq!(refund.severity, Severity::Low);
}

#[test]
fn untested_high_risk_identity_follows_risks_param() {
    let mut scenario = scenario(
        &[
            Grant::new("svc-payout").risk("critical"),
            Grant::new("svc-medium").risk("medium"),
        ],
        &[read_test("t-1", T, "svc-other")],
    );
    override_param(
        &mut scenario,
        "untested-high-risk-identity",
        "risks",
        r#"["medium"]"#,
    );
    assert_eq!(
        scenario.keys_of("untested-high-risk-identity"),
        vec!["identity=svc-medium"]
    );
}

/// A test of `service` in `environment` with a credential in `state`, denied.
fn state_test(environment: &str, service: &str, state: &str) -> ApiTest {
    ApiTest::new(
        &format!("t-{environment}-{service}-{state}"),
        T,
        "svc-a",
        "GET",
        "/v1/x",
    )
    .env(environment)
    .service(service)
    .state(state)
    .expect("deny", 401)
}

#[test]
fn negative_test_gap_lists_absent_states() {
    let scenario = scenario(
        &[],
        &[
            state_test("prod", "orders-api", "expired"),
            state_test("prod", "orders-api", "revoked"),
            state_test("prod", "orders-api", "missing"),
            state_test("staging", "orders-api", "expired"),
            state_test("staging", "orders-api", "missing"),
            state_test("prod", "reports-api", "valid"),
        ],
    );
    let report = scenario.run_clean();
    assert_eq!(
        keys_of(&report.findings, "negative-test-gap"),
        vec![
            "environment=prod service=reports-api",
            "environment=staging service=orders-api"
        ]
    );
    let staging = finding(
        &report.findings,
        "negative-test-gap",
        "environment=staging service=orders-api",
    );
    assert_eq!(
        staging.evidence.details["absent_states"],
        serde_json::json!(["revoked"])
    );
    assert_eq!(staging.evidence.details["tests_in_window"], 2);
    assert_eq!(staging.test_count, 2);
    assert!(
        staging
            .remediation
            .contains("with a credential that is revoked,")
    );
    let reports = finding(
        &report.findings,
        "negative-test-gap",
        "environment=prod service=reports-api",
    );
    assert!(
        reports
            .remediation
            .contains("with a credential that is expired, revoked or missing,"),
        "{}",
        reports.remediation
    );
}

#[test]
fn negative_test_gap_reads_state_spellings() {
    let mut scenario = scenario(
        &[],
        &[
            state_test("prod", "orders-api", "wrong_audience"),
            state_test("prod", "reports-api", "expired"),
        ],
    );
    override_param(
        &mut scenario,
        "negative-test-gap",
        "required_states",
        r#"["Wrong-Audience"]"#,
    );
    assert_eq!(
        scenario.keys_of("negative-test-gap"),
        vec!["environment=prod service=reports-api"]
    );
}
