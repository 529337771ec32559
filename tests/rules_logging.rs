//! denial-not-logged and denial-log-incomplete: matching denied tests to denied
//! log events by request id or by identity, method and endpoint within the
//! tolerance, and the `required_context` parameter.

mod common;
mod support;

use common::{Scenario, finding, keys_of};
use corroborate::rules::RuleSet;
use corroborate::rules::params::{ContextField, ContextRequirement};
use support::{ApiTest, Event, log_file, override_param, test_file};

const T: &str = "2026-11-02T10:00:00Z";

fn scenario(tests: &[ApiTest], events: &[Event]) -> Scenario {
    let mut scenario = Scenario::new();
    scenario.tests("tests.csv", &test_file(tests));
    scenario.logs("logs.csv", &log_file(events));
    scenario
}

/// A test of svc-a's PATCH of order 7, expected deny and answered 403.
fn patch_test(test_id: &str, environment: &str) -> ApiTest {
    ApiTest::new(test_id, T, "svc-a", "PATCH", "/v1/orders/7").env(environment)
}

fn patch_denied(time: &str, environment: &str) -> Event {
    Event::deny(time, "svc-a")
        .env(environment)
        .request("PATCH", "/v1/orders/7")
}

#[test]
fn denial_not_logged_fires_without_any_matching_event() {
    let scenario = scenario(
        &[patch_test("t-1", "prod")
            .request_id("req-1")
            .state("revoked")
            .expect("deny", 401)],
        &[
            Event::allow(T, "svc-b"),
            Event::deny(T, "svc-b").request_id("req-2"),
        ],
    );
    let report = scenario.run_clean();
    let found = finding(
        &report.findings,
        "denial-not-logged",
        "environment=prod service=orders-api",
    );
    assert_eq!(found.test_count, 1);
    assert_eq!(found.evidence.test_ids, vec!["t-1"]);
    assert_eq!(found.evidence.request_ids, vec!["req-1"]);
    assert!(keys_of(&report.findings, "denial-log-incomplete").is_empty());
}

#[test]
fn denial_matched_by_request_id_needs_no_tolerance() {
    let scenario = scenario(
        &[patch_test("t-1", "prod").request_id("req-1")],
        &[Event::deny("2026-11-20T00:00:00Z", "anonymous")
            .request_id("req-1")
            .request("GET", "/elsewhere")],
    );
    let report = scenario.run_clean();
    assert!(keys_of(&report.findings, "denial-not-logged").is_empty());
    assert!(keys_of(&report.findings, "denial-log-incomplete").is_empty());
}

#[test]
fn denial_fallback_just_inside_and_outside_tolerance() {
    // prod: the denied event comes 120 s after the test, at the tolerance.
    // staging: it comes 121 s after, one second outside.
    let scenario = scenario(
        &[
            patch_test("t-prod", "prod"),
            patch_test("t-staging", "staging"),
        ],
        &[
            patch_denied("2026-11-02T10:02:00Z", "prod"),
            patch_denied("2026-11-02T10:02:01Z", "staging"),
        ],
    );
    let report = scenario.run_clean();
    assert_eq!(
        keys_of(&report.findings, "denial-not-logged"),
        vec!["environment=staging service=orders-api"]
    );
    assert!(keys_of(&report.findings, "denial-log-incomplete").is_empty());
}

#[test]
fn denial_fallback_looks_before_the_test_too() {
    let scenario = scenario(
        &[patch_test("t-1", "prod")],
        &[patch_denied("2026-11-02T09:58:00Z", "prod")],
    );
    assert!(scenario.keys_of("denial-not-logged").is_empty());
}

#[test]
fn denial_fallback_when_no_event_has_the_request_id() {
    // The test's request id is in no log row, so identity, method and endpoint
    // decide; query string and trailing slash do not matter.
    let test = ApiTest::new("t-1", T, "svc-a", "PATCH", "/v1/orders/7/").request_id("req-9");
    let scenario = scenario(
        &[test],
        &[Event::deny("2026-11-02T10:00:30Z", "svc-a").request("patch", "/v1/orders/7?x=1")],
    );
    assert!(scenario.keys_of("denial-not-logged").is_empty());
}

#[test]
fn denial_fallback_needs_same_identity_and_method() {
    let scenario = scenario(
        &[patch_test("t-1", "prod")],
        &[
            Event::deny("2026-11-02T10:00:30Z", "svc-b").request("PATCH", "/v1/orders/7"),
            Event::deny("2026-11-02T10:00:30Z", "svc-a").request("PUT", "/v1/orders/7"),
            Event::deny("2026-11-02T10:00:30Z", "svc-a").request("PATCH", "/v1/orders/8"),
        ],
    );
    assert_eq!(
        scenario.keys_of("denial-not-logged"),
        vec!["environment=prod service=orders-api"]
    );
}

#[test]
fn denial_rules_judge_only_logged_services() {
    // reports-api has no log event at all, so its unlogged denial is not judged.
    let scenario = scenario(
        &[
            patch_test("t-orders", "prod"),
            patch_test("t-reports", "prod").service("reports-api"),
        ],
        &[Event::allow(T, "svc-b")],
    );
    assert_eq!(
        scenario.keys_of("denial-not-logged"),
        vec!["environment=prod service=orders-api"]
    );
}

#[test]
fn denial_rules_skip_unclear_denials_and_expected_allows() {
    let scenario = scenario(
        &[
            patch_test("t-500", "prod").expect("deny", 500),
            patch_test("t-429", "prod").expect("deny", 429),
            patch_test("t-allowed", "prod").expect("deny", 200),
            patch_test("t-expected-allow", "prod").expect("allow", 403),
        ],
        &[Event::allow(T, "svc-b")],
    );
    assert!(scenario.keys_of("denial-not-logged").is_empty());
}

#[test]
fn denial_masked_404_counts_as_clear_denial() {
    let scenario = scenario(
        &[patch_test("t-404", "prod").expect("deny", 404)],
        &[Event::allow(T, "svc-b")],
    );
    assert_eq!(
        scenario.keys_of("denial-not-logged"),
        vec!["environment=prod service=orders-api"]
    );
}

#[test]
fn denial_log_incomplete_lists_missing_reason() {
    let scenario = scenario(
        &[
            patch_test("t-1", "staging").request_id("req-1"),
            patch_test("t-2", "prod").request_id("req-2"),
        ],
        &[
            patch_denied(T, "staging").request_id("req-1").reason(""),
            patch_denied(T, "prod").request_id("req-2"),
        ],
    );
    let report = scenario.run_clean();
    assert!(keys_of(&report.findings, "denial-not-logged").is_empty());
    assert_eq!(
        keys_of(&report.findings, "denial-log-incomplete"),
        vec!["environment=staging service=orders-api"]
    );
    let found = finding(
        &report.findings,
        "denial-log-incomplete",
        "environment=staging service=orders-api",
    );
    assert_eq!(
        found.evidence.details["missing_fields"],
        serde_json::json!(["reason"])
    );
    assert!(found.remediation.contains("(reason)"));
    assert_eq!(found.evidence.test_ids, vec!["t-1"]);
    assert_eq!(found.event_count, 1);
    assert!(found.evidence.locations[0].ends_with("logs.csv:2"));
}

#[test]
fn denial_log_incomplete_prefers_the_complete_event() {
    // Two events carry the request id; one of them is complete.
    let scenario = scenario(
        &[patch_test("t-1", "prod").request_id("req-1")],
        &[
            patch_denied(T, "prod").request_id("req-1").reason(""),
            patch_denied("2026-11-02T10:00:05Z", "prod").request_id("req-1"),
        ],
    );
    assert!(scenario.keys_of("denial-log-incomplete").is_empty());
}

#[test]
fn required_context_alternatives_and_conjunctions() {
    // With `reason|request_id`, an event with a request id but no reason is
    // complete; one with neither is not.
    let mut scenario = scenario(
        &[
            patch_test("t-1", "prod").request_id("req-1"),
            patch_test("t-2", "staging"),
        ],
        &[
            patch_denied(T, "prod").request_id("req-1").reason(""),
            patch_denied(T, "staging").reason(""),
        ],
    );
    override_param(
        &mut scenario,
        "denial-log-incomplete",
        "required_context",
        r#"["reason|request_id", "identity+method"]"#,
    );
    let report = scenario.run_clean();
    assert_eq!(
        keys_of(&report.findings, "denial-log-incomplete"),
        vec!["environment=staging service=orders-api"]
    );
    let found = finding(
        &report.findings,
        "denial-log-incomplete",
        "environment=staging service=orders-api",
    );
    assert_eq!(
        found.evidence.details["missing_fields"],
        serde_json::json!(["reason|request_id"])
    );
}

#[test]
fn required_context_parses_alternatives() {
    let requirement = ContextRequirement::parse(" action | Method+endpoint ").unwrap();
    assert_eq!(requirement.text, "action | Method+endpoint");
    assert_eq!(
        requirement.alternatives,
        vec![
            vec![ContextField::Action],
            vec![ContextField::Method, ContextField::Endpoint]
        ]
    );
    assert!(requirement.is_met(|field| field == ContextField::Action));
    assert!(!requirement.is_met(|field| field == ContextField::Method));
}

#[test]
fn required_context_rejects_malformed_entries() {
    for (entry, message) in [
        ("", "is empty"),
        ("   ", "is empty"),
        ("action||reason", "empty field name"),
        ("method+", "empty field name"),
        ("+endpoint", "empty field name"),
        ("actor", "unknown field `actor`"),
        ("identity+credential", "unknown field `credential`"),
    ] {
        let error = ContextRequirement::parse(entry).expect_err(entry);
        assert!(error.contains(message), "{entry:?}: {error}");
    }
}

#[test]
fn required_context_errors_name_file_and_line() {
    for (value, message) in [
        (r#"["identity", "actor"]"#, "unknown field `actor`"),
        (r#"["identity", "action||reason"]"#, "empty field name"),
        (
            r#"["identity", 42]"#,
            "expected a list of field requirements",
        ),
        (r#""identity""#, "expected a list of field requirements"),
    ] {
        let mut scenario = Scenario::new();
        override_param(
            &mut scenario,
            "denial-log-incomplete",
            "required_context",
            value,
        );
        let dir = scenario.config.rules_dir.clone().unwrap();
        let error = RuleSet::load(Some(&dir)).expect_err(value).to_string();
        assert!(error.contains(message), "{value}: {error}");
        assert!(
            error.contains("denial-log-incomplete.toml:"),
            "{value}: {error}"
        );
    }
}
