//! Rules judged from API test results: positive cases and near misses, with the
//! expected findings spelled out as key text.

mod common;

use common::{Scenario, TEST_HEADER, finding};

/// One test row; `fields` fills the columns after `test_id` and `executed_at`.
fn test_row(id: &str, fields: &str) -> String {
    format!("{id},2026-11-02T10:00:00Z,{fields}\n")
}

fn scenario(rows: &[String]) -> Scenario {
    let mut scenario = Scenario::new();
    scenario.tests("tests.csv", &format!("{TEST_HEADER}{}", rows.concat()));
    scenario
}

// Columns after executed_at: identity,credential_id,credential_state,environment,service,
// method,endpoint,action,expected,status_code,auth_path,response_excerpt,request_id,trace_id,risk

#[test]
fn invalid_credential_accepted_fires_on_allowed_expired_token() {
    let scenario = scenario(&[
        test_row(
            "t1",
            "svc-a,tok-1,expired,staging,inventory-api,GET,/v1/items/42,,deny,200,oauth2,{},r1,,",
        ),
        test_row(
            "t2",
            "svc-a,tok-2,revoked,staging,inventory-api,GET,/v1/items/43,,deny,302,oauth2,,r2,,high",
        ),
    ]);
    let report = scenario.run_clean();
    let keys = common::keys_of(&report.findings, "invalid-credential-accepted");
    assert_eq!(
        keys,
        vec![
            "environment=staging service=inventory-api credential_state=expired",
            "environment=staging service=inventory-api credential_state=revoked",
        ]
    );
    let revoked = finding(
        &report.findings,
        "invalid-credential-accepted",
        "environment=staging service=inventory-api credential_state=revoked",
    );
    assert_eq!(revoked.test_count, 1);
    assert_eq!(revoked.evidence.test_ids, vec!["t2"]);
    assert_eq!(revoked.evidence.request_ids, vec!["r2"]);
}

#[test]
fn invalid_credential_near_misses_do_not_fire() {
    let scenario = scenario(&[
        // Cleanly denied.
        test_row(
            "t1",
            "svc-a,tok-1,expired,staging,inventory-api,GET,/v1/items/42,,deny,401,oauth2,,r1,,",
        ),
        // 200 whose body says it was denied is an unclear denial, not an acceptance.
        test_row(
            "t2",
            "svc-a,tok-2,expired,staging,inventory-api,GET,/v1/items/42,,deny,200,oauth2,\"{\"\"error\"\":\"\"unauthorized\"\"}\",r2,,",
        ),
        // A valid credential being allowed is not an invalid credential.
        test_row(
            "t3",
            "svc-a,tok-3,valid,staging,inventory-api,GET,/v1/items/42,,allow,200,oauth2,,r3,,",
        ),
        // insufficient_scope is judged by privilege-boundary-bypass instead.
        test_row(
            "t4",
            "svc-a,tok-4,insufficient_scope,staging,inventory-api,GET,/v1/items/42,,allow,200,oauth2,,r4,,",
        ),
    ]);
    assert!(scenario.keys_of("invalid-credential-accepted").is_empty());
}

#[test]
fn invalid_credential_severity_raised_in_prod_only_to_cap() {
    let scenario = scenario(&[test_row(
        "t1",
        ",,missing,prod,orders-api,GET,/v1/orders,,deny,200,anonymous,,r1,,",
    )]);
    let report = scenario.run_clean();
    let found = finding(
        &report.findings,
        "invalid-credential-accepted",
        "environment=prod service=orders-api credential_state=missing",
    );
    assert_eq!(found.severity, corroborate::model::Severity::Critical);
}

#[test]
fn privilege_boundary_bypass_groups_by_endpoint_template() {
    let scenario = scenario(&[
        test_row(
            "t1",
            "key-globex,k1,valid,prod,orders-api,DELETE,/v1/orders/1001,orders:delete,deny,204,api_key,,r1,,",
        ),
        test_row(
            "t2",
            "key-globex,k1,valid,prod,orders-api,DELETE,/v1/orders/1002/,orders:delete,deny,204,api_key,,r2,,",
        ),
        test_row(
            "t3",
            "key-globex,k1,insufficient_scope,prod,orders-api,PUT,/v1/orders/1003?x=1,orders:write,deny,200,api_key,,r3,,",
        ),
    ]);
    assert_eq!(
        scenario.keys_of("privilege-boundary-bypass"),
        vec![
            "environment=prod service=orders-api identity=key-globex method=DELETE endpoint=/v1/orders/{id}",
            "environment=prod service=orders-api identity=key-globex method=PUT endpoint=/v1/orders/{id}",
        ]
    );
}

#[test]
fn privilege_boundary_near_misses_do_not_fire() {
    let scenario = scenario(&[
        // Denied as policy says.
        test_row(
            "t1",
            "key-globex,k1,valid,prod,orders-api,DELETE,/v1/orders/1001,,deny,403,api_key,,r1,,",
        ),
        // Masked 404 is a clear denial.
        test_row(
            "t2",
            "key-globex,k1,valid,prod,orders-api,GET,/v1/orders/1001,,deny,404,api_key,,r2,,",
        ),
        // Allowed, and policy says allow.
        test_row(
            "t3",
            "key-globex,k1,valid,prod,orders-api,GET,/v1/orders/1001,,allow,200,api_key,,r3,,",
        ),
    ]);
    assert!(scenario.keys_of("privilege-boundary-bypass").is_empty());
}

#[test]
fn silent_auth_fallback_fires_on_weak_path_tests_and_events() {
    let mut scenario = scenario(&[
        test_row(
            "t1",
            "svc-a,,valid,prod,reports-api,GET,/v1/reports,,allow,200,Legacy,,r1,,",
        ),
        test_row(
            "t2",
            "svc-a,,valid,prod,reports-api,GET,/v1/reports,,allow,200,anonymous,,r2,,",
        ),
    ]);
    scenario.logs(
        "logs.csv",
        &format!(
            "{}2026-11-03T10:00:00Z,bot-mailer,,,mailer-1,okhttp/4,prod,reports-api,GET,/v1/reports/7,,allow,,,e1,,basic\n",
            common::LOG_HEADER
        ),
    );
    let report = scenario.run_clean();
    assert_eq!(
        common::keys_of(&report.findings, "silent-auth-fallback"),
        vec![
            "environment=prod service=reports-api auth_path=anonymous",
            "environment=prod service=reports-api auth_path=basic",
            "environment=prod service=reports-api auth_path=legacy",
        ]
    );
    let basic = finding(
        &report.findings,
        "silent-auth-fallback",
        "environment=prod service=reports-api auth_path=basic",
    );
    assert_eq!(basic.event_count, 1);
    assert_eq!(basic.evidence.request_ids, vec!["e1"]);
}

#[test]
fn silent_auth_fallback_near_misses_do_not_fire() {
    let mut scenario = scenario(&[
        // Weak path, but the request was denied.
        test_row(
            "t1",
            "svc-a,,valid,prod,reports-api,GET,/v1/reports,,deny,401,legacy,,r1,,",
        ),
        // Strong paths.
        test_row(
            "t2",
            "svc-a,,valid,prod,reports-api,GET,/v1/reports,,allow,200,mtls,,r2,,",
        ),
        test_row(
            "t3",
            "svc-a,,valid,prod,reports-api,GET,/v1/reports,,allow,200,,,r3,,",
        ),
    ]);
    scenario.logs(
        "logs.csv",
        &format!("{}2026-11-03T10:00:00Z,bot-mailer,,,mailer-1,okhttp/4,prod,reports-api,GET,/v1/reports/7,,deny,,bad,e1,,basic\n", common::LOG_HEADER),
    );
    assert!(scenario.keys_of("silent-auth-fallback").is_empty());
}

#[test]
fn unclear_denial_fires_on_5xx_and_soft_denials() {
    let scenario = scenario(&[
        test_row(
            "t1",
            "svc-a,,valid,staging,inventory-api,POST,/v1/stock/17/adjustments,,deny,500,oauth2,,r1,,",
        ),
        test_row(
            "t2",
            "svc-a,,valid,staging,inventory-api,POST,/v1/stock/18/adjustments,,deny,200,oauth2,\"{\"\"error\"\":\"\"forbidden\"\"}\",r2,,",
        ),
        test_row(
            "t3",
            "svc-a,,expired,staging,inventory-api,GET,/v1/stock,,deny,429,oauth2,,r3,,",
        ),
    ]);
    assert_eq!(
        scenario.keys_of("unclear-denial"),
        vec![
            "environment=staging service=inventory-api method=GET endpoint=/v1/stock",
            "environment=staging service=inventory-api method=POST endpoint=/v1/stock/{id}/adjustments",
        ]
    );
}

#[test]
fn unclear_denial_near_misses_do_not_fire() {
    let scenario = scenario(&[
        // Clear and masked denials.
        test_row(
            "t1",
            "svc-a,,valid,staging,inventory-api,POST,/v1/stock/17,,deny,401,oauth2,,r1,,",
        ),
        test_row(
            "t2",
            "svc-a,,valid,staging,inventory-api,POST,/v1/stock/17,,deny,403,oauth2,,r2,,",
        ),
        test_row(
            "t3",
            "svc-a,,valid,staging,inventory-api,POST,/v1/stock/17,,deny,404,oauth2,,r3,,",
        ),
        // A 500 on a request policy allows is entitled-action-denied, not unclear-denial.
        test_row(
            "t4",
            "svc-a,,valid,staging,inventory-api,POST,/v1/stock/17,,allow,500,oauth2,,r4,,",
        ),
        // `"error": null` on a success is not a soft denial.
        test_row(
            "t5",
            "svc-a,,valid,staging,inventory-api,GET,/v1/stock/17,,deny,200,oauth2,\"{\"\"error\"\":null}\",r5,,",
        ),
    ]);
    assert!(scenario.keys_of("unclear-denial").is_empty());
}

#[test]
fn denial_leaks_detail_classifies_and_redacts() {
    let scenario = scenario(&[
        test_row(
            "t1",
            "svc-x,,revoked,prod,identity-gateway,POST,/v1/token,,deny,401,oauth2,\"denied for key AKIAIOSFODNN7EXAMPLE\",r1,,",
        ),
        test_row(
            "t2",
            "svc-x,,malformed,prod,identity-gateway,POST,/v1/token,,deny,400,oauth2,\"upstream auth-db.corp.internal:5432 refused\",r2,,",
        ),
        test_row(
            "t3",
            "svc-x,,expired,prod,identity-gateway,POST,/v1/token,,deny,500,oauth2,\"Traceback (most recent call last): File x.py\",r3,,",
        ),
    ]);
    let report = scenario.run_clean();
    assert_eq!(
        common::keys_of(&report.findings, "denial-leaks-detail"),
        vec![
            "environment=prod service=identity-gateway leak_category=identifier",
            "environment=prod service=identity-gateway leak_category=internals",
            "environment=prod service=identity-gateway leak_category=secret",
        ]
    );
    let secret = finding(
        &report.findings,
        "denial-leaks-detail",
        "environment=prod service=identity-gateway leak_category=secret",
    );
    assert_eq!(
        secret.severity,
        corroborate::model::Severity::Critical,
        "secret is high, raised in prod"
    );
    let evidence = serde_json::to_string(&secret.evidence).unwrap();
    assert!(
        !evidence.contains("AKIAIOSFODNN7EXAMPLE"),
        "the key reached the evidence: {evidence}"
    );
    assert!(evidence.contains("[REDACTED:secret]"), "{evidence}");
}

#[test]
fn denial_leaks_detail_near_misses_do_not_fire() {
    let scenario = scenario(&[
        // A plain denial body.
        test_row(
            "t1",
            "svc-x,,revoked,prod,identity-gateway,POST,/v1/token,,deny,401,oauth2,\"{\"\"error\"\":\"\"invalid_token\"\"}\",r1,,",
        ),
        // A leak in an allowed response is not a denial leak.
        test_row(
            "t2",
            "svc-a,,valid,prod,identity-gateway,POST,/v1/token,,allow,200,oauth2,\"key AKIAIOSFODNN7EXAMPLE\",r2,,",
        ),
        // A public IP address is not a private one.
        test_row(
            "t3",
            "svc-x,,revoked,prod,identity-gateway,POST,/v1/token,,deny,403,oauth2,\"blocked 8.8.8.8\",r3,,",
        ),
    ]);
    assert!(scenario.keys_of("denial-leaks-detail").is_empty());
}

#[test]
fn entitled_action_denied_fires_on_clear_and_unclear_denials() {
    let scenario = scenario(&[
        test_row(
            "t1",
            "wl-builder,,valid,prod,reports-api,GET,/v1/reports/9/export,,allow,403,mtls,,r1,,",
        ),
        test_row(
            "t2",
            "wl-builder,,valid,prod,reports-api,GET,/v1/reports/10/export,,allow,503,mtls,,r2,,",
        ),
    ]);
    let report = scenario.run_clean();
    assert_eq!(
        common::keys_of(&report.findings, "entitled-action-denied"),
        vec![
            "environment=prod service=reports-api identity=wl-builder method=GET endpoint=/v1/reports/{id}/export"
        ]
    );
    let found = &report
        .findings
        .iter()
        .find(|f| f.rule == "entitled-action-denied")
        .unwrap();
    assert_eq!(found.test_count, 2);
    assert_eq!(found.severity, corroborate::model::Severity::Low);
}

#[test]
fn entitled_action_denied_near_miss_allowed() {
    let scenario = scenario(&[
        test_row(
            "t1",
            "wl-builder,,valid,prod,reports-api,GET,/v1/reports/9/export,,allow,200,mtls,,r1,,",
        ),
        test_row(
            "t2",
            "wl-builder,,valid,prod,reports-api,GET,/v1/reports/9/export,,allow,304,mtls,,r2,,",
        ),
    ]);
    assert!(scenario.keys_of("entitled-action-denied").is_empty());
}

#[test]
fn tests_outside_window_are_not_judged() {
    let row = "t1,2026-08-31T23:59:59Z,svc-a,tok-1,expired,staging,inventory-api,GET,/v1/items/42,,deny,200,oauth2,,r1,,\n";
    let mut scenario = Scenario::new();
    scenario.tests("tests.csv", &format!("{TEST_HEADER}{row}"));
    let report = scenario.run_clean();
    assert!(report.findings.is_empty());
    assert_eq!(report.manifest.rows.tests_outside_window, 1);
}
