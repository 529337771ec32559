//! Rules judged by correlating access logs with entitlements, and the matching
//! of events to grants: positive cases and near misses with expected keys.

mod common;

use common::{ENTITLEMENT_HEADER, LOG_HEADER, Scenario, TEST_HEADER, finding};

/// An entitlement row; `grant` fills environment,service,action,method,endpoint.
fn grant(identity: &str, grant: &str, granted_at: &str, status: &str, revoked_at: &str) -> String {
    format!("{identity},service_account,team-a,,{grant},,{granted_at},{status},{revoked_at},,,,,\n")
}

/// An allowed access event; `operation` fills environment,service,method,endpoint,action.
fn event(time: &str, identity: &str, operation: &str) -> String {
    format!("{time},{identity},,,pod-1,okhttp/4,{operation},allow,,,req-{time},,oauth2\n")
}

fn scenario(grants: &[String], events: &[String]) -> Scenario {
    let mut scenario = Scenario::new();
    scenario.entitlements(
        "entitlements.csv",
        &format!("{ENTITLEMENT_HEADER}{}", grants.concat()),
    );
    scenario.logs("logs.csv", &format!("{LOG_HEADER}{}", events.concat()));
    scenario
}

const T: &str = "2026-11-02T10:00:00Z";

#[test]
fn undocumented_access_fires_on_uncovered_action() {
    let scenario = scenario(
        &[grant(
            "svc-orders",
            "prod,orders-api,orders:read,,",
            "",
            "active",
            "",
        )],
        &[
            event(T, "svc-orders", "prod,orders-api,,,orders:read"),
            event(T, "svc-orders", "prod,orders-api,,,orders:cancel"),
        ],
    );
    assert_eq!(
        scenario.keys_of("undocumented-access"),
        vec!["environment=prod service=orders-api identity=svc-orders action=orders:cancel"]
    );
}

#[test]
fn undocumented_access_keys_endpoint_template() {
    let scenario = scenario(
        &[grant(
            "svc-a",
            "prod,orders-api,,GET,/v1/orders/{order_id}",
            "",
            "active",
            "",
        )],
        &[
            event(T, "svc-a", "prod,orders-api,GET,/v1/orders/17,"),
            event(T, "svc-a", "prod,orders-api,DELETE,/v1/orders/17,"),
            event(T, "svc-a", "prod,orders-api,DELETE,/v1/orders/18/,"),
        ],
    );
    let report = scenario.run_clean();
    let found = finding(
        &report.findings,
        "undocumented-access",
        "environment=prod service=orders-api identity=svc-a method=DELETE endpoint=/v1/orders/{id}",
    );
    assert_eq!(found.event_count, 2);
    assert_eq!(
        common::keys_of(&report.findings, "undocumented-access").len(),
        1
    );
}

#[test]
fn matching_accepts_globs_lists_and_wildcard_scopes() {
    let scenario = scenario(
        &[
            grant("svc-a", "*,,orders:*,,", "", "active", ""),
            grant(
                "svc-a",
                ",reports-api,,\"GET,HEAD\",/v1/reports/**",
                "",
                "active",
                "",
            ),
            grant(
                "svc-a",
                "prod,inventory-api,,*,/v1/items/{sku}/stock",
                "",
                "active",
                "",
            ),
            grant("svc-a", "prod,s3,S3:Get*,,", "", "active", ""),
        ],
        &[
            event(T, "svc-a", "staging,orders-api,,,Orders:Delete"),
            event(T, "svc-a", "prod,reports-api,HEAD,/v1/reports,"),
            event(
                T,
                "svc-a",
                "prod,reports-api,GET,/v1/reports/2026/11/summary.csv,",
            ),
            event(
                T,
                "svc-a",
                "prod,inventory-api,PATCH,/v1/items/ab-12/stock/,",
            ),
            event(T, "svc-a", "prod,s3,,,s3:GetObject"),
        ],
    );
    assert!(scenario.keys_of("undocumented-access").is_empty());
}

#[test]
fn matching_near_misses_are_undocumented() {
    let scenario = scenario(
        &[
            grant(
                "svc-a",
                "prod,reports-api,,\"GET,HEAD\",/v1/reports/**",
                "",
                "active",
                "",
            ),
            grant(
                "svc-a",
                "prod,inventory-api,,GET,/v1/items/{sku}",
                "",
                "active",
                "",
            ),
            grant("svc-a", "prod,s3,s3:Get*,,", "", "active", ""),
            grant(
                "svc-a",
                "prod,orders-api,,GET,/v1/orders/42",
                "",
                "active",
                "",
            ),
        ],
        &[
            // POST is not in the method list.
            event(T, "svc-a", "prod,reports-api,POST,/v1/reports/7,"),
            // `{sku}` matches exactly one segment, not two.
            event(T, "svc-a", "prod,inventory-api,GET,/v1/items/ab/12,"),
            // The grant is for prod only.
            event(T, "svc-a", "staging,s3,,,s3:GetObject"),
            // Put is not Get*.
            event(T, "svc-a", "prod,s3,,,s3:PutObject"),
            // A literal id grant covers that id, not another.
            event(T, "svc-a", "prod,orders-api,GET,/v1/orders/42,"),
            event(T, "svc-a", "prod,orders-api,GET,/v1/orders/43,"),
        ],
    );
    assert_eq!(
        scenario.keys_of("undocumented-access"),
        vec![
            "environment=prod service=inventory-api identity=svc-a method=GET endpoint=/v1/items/ab/{id}",
            "environment=prod service=orders-api identity=svc-a method=GET endpoint=/v1/orders/{id}",
            "environment=prod service=reports-api identity=svc-a method=POST endpoint=/v1/reports/{id}",
            "environment=prod service=s3 identity=svc-a action=s3:PutObject",
            "environment=staging service=s3 identity=svc-a action=s3:GetObject",
        ]
    );
}

#[test]
fn grant_validity_interval_bounds_coverage() {
    let scenario = scenario(
        &[
            grant(
                "svc-a",
                "prod,orders-api,orders:read,,",
                "2026-10-01T00:00:00Z",
                "active",
                "",
            ),
            grant(
                "svc-a",
                "prod,orders-api,orders:write,,",
                "",
                "revoked",
                "2026-10-15T00:00:00Z",
            ),
        ],
        &[
            // Before the grant started.
            event(
                "2026-09-30T23:59:59Z",
                "svc-a",
                "prod,orders-api,,,orders:read",
            ),
            // From the start on.
            event(
                "2026-10-01T00:00:00Z",
                "svc-a",
                "prod,orders-api,,,orders:read",
            ),
            // One second before revocation: covered.
            event(
                "2026-10-14T23:59:59Z",
                "svc-a",
                "prod,orders-api,,,orders:write",
            ),
            // At and after revocation: not covered.
            event(
                "2026-10-15T00:00:00Z",
                "svc-a",
                "prod,orders-api,,,orders:write",
            ),
        ],
    );
    let report = scenario.run_clean();
    assert_eq!(
        common::keys_of(&report.findings, "undocumented-access"),
        vec![
            "environment=prod service=orders-api identity=svc-a action=orders:read",
            "environment=prod service=orders-api identity=svc-a action=orders:write",
        ]
    );
    let read = finding(
        &report.findings,
        "undocumented-access",
        "environment=prod service=orders-api identity=svc-a action=orders:read",
    );
    assert_eq!(read.event_count, 1);
    assert_eq!(read.first_seen, "2026-09-30T23:59:59Z");
    let write = finding(
        &report.findings,
        "undocumented-access",
        "environment=prod service=orders-api identity=svc-a action=orders:write",
    );
    assert_eq!(write.event_count, 1);
    assert_eq!(write.first_seen, "2026-10-15T00:00:00Z");
}

#[test]
fn undocumented_access_ignores_denied_and_unknown() {
    let mut denied = event(T, "svc-a", "prod,orders-api,,,orders:cancel");
    denied = denied.replace(",allow,", ",deny,");
    let scenario = scenario(
        &[grant(
            "svc-a",
            "prod,orders-api,orders:read,,",
            "",
            "active",
            "",
        )],
        &[
            denied,
            event(T, "svc-stranger", "prod,orders-api,,,orders:cancel"),
            event(T, "svc-a", "prod,orders-api,,,orders:read"),
        ],
    );
    assert!(scenario.keys_of("undocumented-access").is_empty());
}

#[test]
fn unknown_identity_from_events_and_valid_tests() {
    let mut scenario = scenario(
        &[grant(
            "svc-a",
            "prod,orders-api,orders:read,,",
            "",
            "active",
            "",
        )],
        &[
            event(T, "svc-a", "prod,orders-api,,,orders:read"),
            event(T, "svc-promo", "staging,orders-api,,,orders:read"),
        ],
    );
    scenario.tests(
        "tests.csv",
        &format!(
            "{TEST_HEADER}t1,{T},svc-ghost,,valid,prod,orders-api,GET,/v1/orders,,allow,200,oauth2,,,,\n\
             t2,{T},svc-ghost2,,expired,prod,orders-api,GET,/v1/orders,,deny,200,oauth2,,,,\n\
             t3,{T},svc-ghost3,,valid,prod,orders-api,GET,/v1/orders,,allow,403,oauth2,,,,\n"
        ),
    );
    assert_eq!(
        scenario.keys_of("unknown-identity"),
        vec![
            "environment=prod identity=svc-ghost",
            "environment=staging identity=svc-promo"
        ]
    );
}

#[test]
fn unknown_identity_ignores_denied_events() {
    let denied =
        event(T, "anonymous", "prod,orders-api,,,orders:read").replace(",allow,", ",deny,");
    let scenario = scenario(
        &[grant(
            "svc-a",
            "prod,orders-api,orders:read,,",
            "",
            "active",
            "",
        )],
        &[denied, event(T, "svc-a", "prod,orders-api,,,orders:read")],
    );
    assert!(scenario.keys_of("unknown-identity").is_empty());
}

#[test]
fn unused_entitlement_fires_for_old_unused_grant() {
    let scenario = scenario(
        &[
            grant(
                "svc-a",
                "prod,orders-api,orders:read,,",
                "2026-01-01T00:00:00Z",
                "active",
                "",
            ),
            grant(
                "svc-a",
                "prod,payments-api,payments:read,,",
                "2026-01-01T00:00:00Z",
                "active",
                "",
            ),
        ],
        &[
            event(T, "svc-a", "prod,orders-api,,,orders:read"),
            event(T, "svc-b", "prod,payments-api,,,payments:list"),
        ],
    );
    assert_eq!(
        scenario.keys_of("unused-entitlement"),
        vec!["environment=prod service=payments-api identity=svc-a grant=payments:read"]
    );
}

#[test]
fn unused_entitlement_near_misses() {
    let scenario = scenario(
        &[
            grant("svc-a", "prod,orders-api,orders:read,,", "", "active", ""),
            // Started inside the window: too new to judge.
            grant(
                "svc-a",
                "prod,orders-api,orders:write,,",
                "2026-10-01T00:00:00Z",
                "active",
                "",
            ),
            // No events of that service in the window: not judged.
            grant("svc-a", "prod,billing-api,billing:read,,", "", "active", ""),
            // Revoked: not active.
            grant(
                "svc-a",
                "prod,orders-api,orders:delete,,",
                "",
                "revoked",
                "2026-09-15T00:00:00Z",
            ),
            // A dormant identity is reported as dormant, not grant by grant.
            grant(
                "svc-idle",
                "prod,orders-api,orders:read,,",
                "",
                "active",
                "",
            ),
        ],
        &[event(T, "svc-a", "prod,orders-api,,,orders:read")],
    );
    let report = scenario.run_clean();
    assert!(common::keys_of(&report.findings, "unused-entitlement").is_empty());
    assert_eq!(
        common::keys_of(&report.findings, "dormant-identity"),
        vec!["identity=svc-idle"]
    );
}

#[test]
fn dormant_identity_near_misses() {
    let mut scenario = scenario(
        &[
            grant("svc-a", "prod,orders-api,orders:read,,", "", "active", ""),
            // Acted only with denied requests: not dormant.
            grant(
                "svc-denied",
                "prod,orders-api,orders:read,,",
                "",
                "active",
                "",
            ),
            // Only tested: not dormant.
            grant(
                "svc-tested",
                "prod,orders-api,orders:read,,",
                "",
                "active",
                "",
            ),
            // No active grant: not dormant.
            grant(
                "svc-gone",
                "prod,orders-api,orders:read,,",
                "",
                "revoked",
                "2026-08-01T00:00:00Z",
            ),
        ],
        &[
            event(T, "svc-a", "prod,orders-api,,,orders:read"),
            event(T, "svc-denied", "prod,orders-api,,,orders:read").replace(",allow,", ",deny,"),
        ],
    );
    scenario.tests("tests.csv", &format!("{TEST_HEADER}t1,{T},svc-tested,,valid,prod,orders-api,GET,/v1/orders,,allow,200,oauth2,,,,\n"));
    assert!(scenario.keys_of("dormant-identity").is_empty());
}

#[test]
fn events_outside_window_are_counted_not_judged() {
    let scenario = scenario(
        &[grant(
            "svc-a",
            "prod,orders-api,orders:read,,",
            "",
            "active",
            "",
        )],
        &[
            event(T, "svc-a", "prod,orders-api,,,orders:read"),
            event(
                "2026-08-28T10:00:00Z",
                "svc-a",
                "prod,orders-api,,,orders:delete",
            ),
        ],
    );
    let report = scenario.run_clean();
    assert!(common::keys_of(&report.findings, "undocumented-access").is_empty());
    assert_eq!(report.manifest.rows.events_outside_window, 1);
    assert_eq!(report.manifest.rows.events_in_window, 1);
}

#[test]
fn rules_without_inputs_are_skipped() {
    let mut scenario = Scenario::new();
    scenario.tests("tests.csv", &format!("{TEST_HEADER}t1,{T},svc-a,,valid,prod,orders-api,GET,/v1/orders,,allow,200,oauth2,,,,\n"));
    let report = scenario.run_clean();
    let skipped: Vec<&str> = report
        .manifest
        .rules_skipped
        .iter()
        .map(|skip| skip.rule.as_str())
        .collect();
    assert!(skipped.contains(&"undocumented-access"));
    assert!(skipped.contains(&"unused-entitlement"));
    assert!(
        report
            .manifest
            .rules_evaluated
            .contains(&"invalid-credential-accepted".to_string())
    );
}
