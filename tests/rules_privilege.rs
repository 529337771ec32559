//! over-broad-grant: the observed surface of each environment and service, the
//! operations a wildcard grant spans there, and the share its identity used.

mod common;
mod support;

use common::{Scenario, finding, keys_of};
use support::{Event, Grant, entitlement_file, log_file};

const T: &str = "2026-11-02T10:00:00Z";

fn scenario(grants: &[Grant], events: &[Event]) -> Scenario {
    let mut scenario = Scenario::new();
    scenario.entitlements("entitlements.csv", &entitlement_file(grants));
    scenario.logs("logs.csv", &log_file(events));
    scenario
}

/// An allowed inventory-api event of `identity` with `action`.
fn inventory(identity: &str, action: &str) -> Event {
    Event::allow(T, identity)
        .service("inventory-api")
        .action(action)
}

fn indexer_grant() -> Grant {
    Grant::new("wl-indexer")
        .identity_type("workload")
        .service("inventory-api")
        .action("inventory:*")
        .risk("medium")
}

const INDEXER_KEY: &str =
    "environment=prod service=inventory-api identity=wl-indexer grant=inventory:*";

#[test]
fn over_broad_grant_used_for_exactly_half_fires() {
    let scenario = scenario(
        &[indexer_grant()],
        &[
            inventory("svc-other", "inventory:read"),
            inventory("svc-other", "inventory:list"),
            inventory("svc-other", "inventory:reserve"),
            inventory("svc-other", "inventory:adjust"),
            inventory("wl-indexer", "inventory:read"),
            inventory("wl-indexer", "inventory:read"),
            inventory("wl-indexer", "inventory:read"),
            inventory("wl-indexer", "inventory:list"),
        ],
    );
    let report = scenario.run_clean();
    assert_eq!(
        keys_of(&report.findings, "over-broad-grant"),
        vec![INDEXER_KEY]
    );
    let found = finding(&report.findings, "over-broad-grant", INDEXER_KEY);
    let details = &found.evidence.details;
    assert_eq!(details["span"], 4);
    assert_eq!(details["used"], 2);
    assert_eq!(details["used_share"], 0.5);
    assert_eq!(
        details["operations_used"],
        serde_json::json!([
            {"operation": "inventory:list", "events": 1},
            {"operation": "inventory:read", "events": 3},
        ])
    );
    assert_eq!(
        details["proposed_grants"],
        serde_json::json!([
            {"identity": "wl-indexer", "environment": "prod", "service": "inventory-api", "action": "inventory:list"},
            {"identity": "wl-indexer", "environment": "prod", "service": "inventory-api", "action": "inventory:read"},
        ])
    );
    assert_eq!(
        details["spanned_operations"],
        serde_json::json!([
            "inventory:adjust",
            "inventory:list",
            "inventory:read",
            "inventory:reserve"
        ])
    );
    assert!(
        found
            .remediation
            .contains("exact grants for the operations it used: inventory:list, inventory:read."),
        "{}",
        found.remediation
    );
    assert_eq!(found.event_count, 4);
}

#[test]
fn over_broad_grant_used_for_just_over_half_does_not_fire() {
    let scenario = scenario(
        &[indexer_grant()],
        &[
            inventory("svc-other", "inventory:read"),
            inventory("svc-other", "inventory:list"),
            inventory("svc-other", "inventory:reserve"),
            inventory("svc-other", "inventory:adjust"),
            inventory("svc-other", "inventory:release"),
            inventory("wl-indexer", "inventory:read"),
            inventory("wl-indexer", "inventory:list"),
            inventory("wl-indexer", "inventory:reserve"),
        ],
    );
    assert!(scenario.keys_of("over-broad-grant").is_empty());
}

#[test]
fn over_broad_grant_compares_actions_ignoring_case() {
    let scenario = scenario(
        &[indexer_grant()],
        &[
            inventory("svc-other", "inventory:read"),
            inventory("svc-other", "inventory:list"),
            inventory("wl-indexer", "Inventory:Read"),
        ],
    );
    let report = scenario.run_clean();
    let found = finding(&report.findings, "over-broad-grant", INDEXER_KEY);
    assert_eq!(found.evidence.details["span"], 2);
    assert_eq!(found.evidence.details["used"], 1);
}

/// A GET of reports-api by `identity`.
fn reports(identity: &str, environment: &str, method: &str, path: &str) -> Event {
    Event::allow(T, identity)
        .env(environment)
        .service("reports-api")
        .request(method, path)
}

#[test]
fn over_broad_endpoint_grant_proposes_method_and_template() {
    let report_id = "123e4567-e89b-12d3-a456-426614174000";
    let scenario = scenario(
        &[Grant::new("wl-builder")
            .identity_type("workload")
            .env("")
            .service("reports-api")
            .request("GET", "/v1/reports/**")],
        &[
            reports("svc-other", "prod", "GET", "/v1/reports"),
            reports(
                "svc-other",
                "prod",
                "GET",
                &format!("/v1/reports/{report_id}"),
            ),
            reports("svc-other", "prod", "GET", "/v1/reports/daily/20261001"),
            reports(
                "svc-other",
                "prod",
                "GET",
                &format!("/v1/reports/{report_id}/export"),
            ),
            reports("svc-other", "prod", "POST", "/v1/reports"),
            reports(
                "wl-builder",
                "prod",
                "GET",
                "/v1/reports/0f8e7d6c-5b4a-4f3e-8d2c-1b0a99887766",
            ),
            // In staging the builder uses both operations the grant spans there.
            reports("svc-other", "staging", "GET", "/v1/reports"),
            reports("wl-builder", "staging", "GET", "/v1/reports"),
            reports("wl-builder", "staging", "GET", "/v1/reports/77"),
        ],
    );
    let report = scenario.run_clean();
    let key = "environment=prod service=reports-api identity=wl-builder grant=GET /v1/reports/**";
    assert_eq!(keys_of(&report.findings, "over-broad-grant"), vec![key]);
    let found = finding(&report.findings, "over-broad-grant", key);
    assert_eq!(found.evidence.details["span"], 4);
    assert_eq!(
        found.evidence.details["proposed_grants"],
        serde_json::json!([{
            "identity": "wl-builder",
            "environment": "prod",
            "service": "reports-api",
            "method": "GET",
            "endpoint": "/v1/reports/{id}",
        }])
    );
    assert!(found.remediation.contains("it used: GET /v1/reports/{id}."));
}

#[test]
fn over_broad_grant_matches_templates_as_text() {
    // `{order_id}` spans the template segment `{id}`; the literal `42` does not.
    let scenario = scenario(
        &[
            Grant::new("svc-literal").request("*", "/v1/orders/42"),
            Grant::new("svc-param").request("*", "/v1/orders/{order_id}"),
        ],
        &[
            Event::allow(T, "svc-other").request("DELETE", "/v1/orders/43"),
            Event::allow(T, "svc-literal").request("GET", "/v1/orders/42"),
            Event::allow(T, "svc-param").request("GET", "/v1/orders/42"),
        ],
    );
    assert_eq!(
        scenario.keys_of("over-broad-grant"),
        vec![
            "environment=prod service=orders-api identity=svc-param grant=* /v1/orders/{order_id}"
        ]
    );
}

#[test]
fn over_broad_grant_skips_humans_idle_revoked_and_narrow_grants() {
    let wildcard = |identity: &str| Grant::new(identity).action("orders:*");
    let scenario = scenario(
        &[
            wildcard("lena@example.com").identity_type("human"),
            // No identity type counts as non-human.
            wildcard("svc-untyped").identity_type(""),
            wildcard("svc-revoked").revoked("revoked", "2026-11-20T00:00:00Z"),
            wildcard("svc-idle"),
            // Spans only orders:read, fewer than `min_span`.
            Grant::new("svc-narrow").action("orders:re*"),
            // Not a wildcard at all.
            Grant::new("svc-exact"),
        ],
        &[
            Event::allow(T, "svc-other").action("orders:read"),
            Event::allow(T, "svc-other").action("orders:list"),
            Event::allow(T, "svc-other").action("orders:update"),
            Event::allow(T, "lena@example.com"),
            Event::allow(T, "svc-untyped"),
            Event::allow(T, "svc-revoked"),
            Event::allow(T, "svc-narrow"),
            Event::allow(T, "svc-exact"),
        ],
    );
    assert_eq!(
        scenario.keys_of("over-broad-grant"),
        vec!["environment=prod service=orders-api identity=svc-untyped grant=orders:*"]
    );
}

#[test]
fn over_broad_grant_judges_each_environment() {
    let scenario = scenario(
        &[Grant::new("svc-both").env("*").action("orders:*")],
        &[
            Event::allow(T, "svc-other").action("orders:read"),
            Event::allow(T, "svc-other").action("orders:list"),
            Event::allow(T, "svc-other").action("orders:update"),
            Event::allow(T, "svc-both"),
            Event::allow(T, "svc-both")
                .env("staging")
                .action("orders:read"),
            Event::allow(T, "svc-both")
                .env("staging")
                .action("orders:list"),
            // Used in prod and staging only: dev is not judged.
            Event::allow(T, "svc-other")
                .env("dev")
                .action("orders:read"),
            Event::allow(T, "svc-other")
                .env("dev")
                .action("orders:list"),
        ],
    );
    assert_eq!(
        scenario.keys_of("over-broad-grant"),
        vec!["environment=prod service=orders-api identity=svc-both grant=orders:*"]
    );
}
