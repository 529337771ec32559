//! shared-identity, cross-environment-credential, human-use-of-service-identity
//! and async-privilege-escalation: how identities behave in the logs.

mod common;
mod support;

use common::{Scenario, finding, keys_of};
use corroborate::model::Severity;
use support::{ApiTest, Event, Grant, entitlement_file, log_file, test_file};

const T: &str = "2026-11-02T10:00:00Z";
const BROWSER: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 \
                       (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36";

fn scenario(grants: &[Grant], events: &[Event]) -> Scenario {
    let mut scenario = Scenario::new();
    if !grants.is_empty() {
        scenario.entitlements("entitlements.csv", &entitlement_file(grants));
    }
    if !events.is_empty() {
        scenario.logs("logs.csv", &log_file(events));
    }
    scenario
}

fn from(identity: &str, source: &str) -> Event {
    Event::allow(T, identity).source(source)
}

#[test]
fn shared_identity_pod_names_fold_to_one_consumer() {
    let scenario = scenario(
        &[],
        &[
            // Deployment pods of three replica sets.
            from("svc-checkout", "checkout-api-7d9f8c6b5d-x2k4q"),
            from("svc-checkout", "checkout-api-7d9f8c6b5d-qq2lp"),
            from("svc-checkout", "checkout-api-5c7b9d8f6-b7dzq"),
            from("svc-checkout", "checkout-api-6b8d4f9c7k-zz9x2"),
            // CronJob pods, numbered hosts and StatefulSet pods.
            from("svc-payout", "payout-scheduler-29803980-ppl9s"),
            from("svc-payout", "payout-scheduler-29805420-k2d7q"),
            from("svc-support", "vdi-support-04"),
            from("svc-support", "vdi-support-11"),
            from("wl-ledger", "ledger-exporter-0"),
            from("wl-ledger", "ledger-exporter-1"),
        ],
    );
    assert!(scenario.keys_of("shared-identity").is_empty());
}

#[test]
fn shared_identity_fires_on_two_workloads() {
    let scenario = scenario(
        &[],
        &[
            from("svc-billing", "billing-cron-29803980-ppl9s").request_id("req-1"),
            from("svc-billing", "billing-cron-29805420-k2d7q").request_id("req-2"),
            from("svc-billing", "reports-batch-7d9f8c6b5d-x2k4q").request_id("req-3"),
            // Denied events and events without a source are not consumers.
            Event::deny(T, "svc-billing").source("laptop-17"),
            Event::allow(T, "svc-billing"),
        ],
    );
    let report = scenario.run_clean();
    assert_eq!(
        keys_of(&report.findings, "shared-identity"),
        vec!["identity=svc-billing"]
    );
    let found = finding(&report.findings, "shared-identity", "identity=svc-billing");
    assert!(
        found
            .remediation
            .contains("(billing-cron (2 events), reports-batch (1 event))"),
        "{}",
        found.remediation
    );
    let consumers = &found.evidence.details["consumers"];
    assert_eq!(consumers[0]["source"], "billing-cron");
    assert_eq!(consumers[0]["events"], 2);
    assert_eq!(consumers[1]["request_ids"], serde_json::json!(["req-3"]));
}

#[test]
fn shared_identity_from_listed_consumers() {
    let scenario = scenario(
        &[
            Grant::new("svc-listed").consumers("billing; reports ;"),
            Grant::new("svc-single").consumers("billing;"),
        ],
        &[],
    );
    let report = scenario.run_clean();
    assert_eq!(
        keys_of(&report.findings, "shared-identity"),
        vec!["identity=svc-listed"]
    );
    let found = finding(&report.findings, "shared-identity", "identity=svc-listed");
    assert_eq!(
        found.evidence.details["listed_consumers"],
        serde_json::json!(["billing", "reports"])
    );
}

#[test]
fn cross_environment_credential_counts_tests_and_denials() {
    let mut scenario = scenario(
        &[],
        &[
            Event::allow(T, "key-acme").credential("ak_acme"),
            Event::deny(T, "key-globex")
                .credential("ak_globex")
                .request_id("req-9"),
            Event::allow(T, "svc-a").credential("kid-prod"),
            Event::allow(T, "svc-a")
                .credential("kid-staging")
                .env("staging"),
            // No environment: not counted as another one.
            Event::allow(T, "svc-b").credential("kid-b").env(""),
            Event::allow(T, "svc-b").credential("kid-b"),
        ],
    );
    scenario.tests(
        "tests.csv",
        &test_file(&[
            ApiTest::new("t-acme", T, "key-acme", "GET", "/v1/orders/1")
                .env("staging")
                .credential("ak_acme"),
            ApiTest::new("t-globex", T, "key-globex", "GET", "/v1/orders/1")
                .env("staging")
                .credential("ak_globex"),
        ]),
    );
    let report = scenario.run_clean();
    assert_eq!(
        keys_of(&report.findings, "cross-environment-credential"),
        vec![
            "identity=key-acme credential_id=ak_acme",
            "identity=key-globex credential_id=ak_globex",
        ]
    );
    let found = finding(
        &report.findings,
        "cross-environment-credential",
        "identity=key-globex credential_id=ak_globex",
    );
    assert_eq!(found.event_count, 1);
    assert_eq!(found.test_count, 1);
    assert_eq!(found.evidence.test_ids, vec!["t-globex"]);
    assert_eq!(found.evidence.request_ids, vec!["req-9"]);
    assert_eq!(
        found.evidence.details["environments"][0]["environment"],
        "prod"
    );
    assert_eq!(
        found.evidence.details["environments"][1]["environment"],
        "staging"
    );
    assert!(found.remediation.contains("revoke ak_globex"));
}

#[test]
fn cross_environment_credential_is_per_identity() {
    let scenario = scenario(
        &[],
        &[
            Event::allow(T, "svc-a").credential("kid-shared"),
            Event::allow(T, "svc-b")
                .credential("kid-shared")
                .env("staging"),
        ],
    );
    assert!(scenario.keys_of("cross-environment-credential").is_empty());
}

#[test]
fn human_use_of_service_identity_by_type() {
    let scenario = scenario(
        &[
            Grant::new("svc-lookup"),
            Grant::new("maria@example.com").identity_type("human"),
            // The export's type wins over the log's.
            Grant::new("svc-relabelled").identity_type("human"),
            Grant::new("svc-untyped").identity_type(""),
        ],
        &[
            Event::allow(T, "svc-lookup")
                .agent(BROWSER)
                .source("vdi-support-04"),
            Event::deny(T, "svc-lookup")
                .agent(BROWSER)
                .request_id("req-denied"),
            Event::allow(T, "maria@example.com").agent(BROWSER),
            Event::allow(T, "svc-relabelled")
                .agent(BROWSER)
                .identity_type("service_account"),
            // Neither the export nor the log gives a type: not judged.
            Event::allow(T, "svc-untyped").agent(BROWSER),
            Event::allow(T, "svc-unknown").agent(BROWSER),
            // Typed by the log only.
            Event::allow(T, "bot-logged")
                .agent("PostmanRuntime/7.39.0")
                .identity_type("bot"),
            // Command-line clients are not interactive agents.
            Event::allow(T, "svc-lookup").agent("curl/8.5.0"),
        ],
    );
    let report = scenario.run_clean();
    assert_eq!(
        keys_of(&report.findings, "human-use-of-service-identity"),
        vec!["identity=bot-logged", "identity=svc-lookup"]
    );
    let found = finding(
        &report.findings,
        "human-use-of-service-identity",
        "identity=svc-lookup",
    );
    assert_eq!(found.event_count, 2);
    assert_eq!(found.evidence.request_ids, vec!["req-denied"]);
    assert_eq!(
        found.evidence.details["user_agents"],
        serde_json::json!([BROWSER])
    );
    let samples = found.evidence.details["samples"].to_string();
    assert!(samples.contains("vdi-support"), "{samples}");
}

/// The bot and worker of the confused-deputy tests: the bot may read and annotate
/// orders, the worker may refund payments.
fn deputy_grants() -> Vec<Grant> {
    vec![
        Grant::new("bot-macro").identity_type("bot"),
        Grant::new("bot-macro").action("orders:annotate"),
        Grant::new("bot-macro")
            .action("inventory:reserve")
            .service("inventory-api"),
        Grant::new("wl-refund").identity_type("workload"),
        Grant::new("wl-refund")
            .action("payments:refund")
            .service("payments-api")
            .risk("high"),
        Grant::new("wl-refund")
            .action("inventory:reserve")
            .service("inventory-api"),
    ]
}

fn annotate(time: &str, trace: &str) -> Event {
    Event::allow(time, "bot-macro")
        .action("orders:annotate")
        .trace(trace)
        .request_id(&format!("req-{trace}-1"))
}

fn refund(time: &str, trace: &str) -> Event {
    Event::allow(time, "wl-refund")
        .service("payments-api")
        .action("payments:refund")
        .trace(trace)
        .request_id(&format!("req-{trace}-2"))
}

const REFUND_KEY: &str = "environment=prod service=payments-api action=payments:refund initiator=bot-macro worker=wl-refund";

#[test]
fn async_escalation_fires_when_initiator_lacks_the_grant() {
    let scenario = scenario(
        &deputy_grants(),
        &[
            annotate("2026-10-07T10:14:05Z", "t1"),
            Event::allow("2026-10-07T10:14:43Z", "wl-refund")
                .trace("t1")
                .request_id("req-t1-read"),
            refund("2026-10-07T10:14:47Z", "t1"),
            annotate("2026-10-22T15:41:30Z", "t2"),
            refund("2026-10-22T15:42:11Z", "t2"),
        ],
    );
    let report = scenario.run_clean();
    assert_eq!(
        keys_of(&report.findings, "async-privilege-escalation"),
        vec![REFUND_KEY]
    );
    let found = finding(&report.findings, "async-privilege-escalation", REFUND_KEY);
    assert_eq!(found.event_count, 2);
    assert_eq!(found.evidence.request_ids, vec!["req-t1-2", "req-t2-2"]);
    let sample = &found.evidence.details["samples"][0];
    assert_eq!(sample["trace_id"], "t1");
    assert_eq!(sample["initiating_request"]["request_id"], "req-t1-1");
    assert_eq!(sample["initiating_request"]["operation"], "orders:annotate");
    assert_eq!(sample["worker_request"]["operation"], "payments:refund");
    // High base, raised in prod and by the worker's high-risk grant.
    assert_eq!(found.severity, Severity::Critical);
    assert_eq!(found.owner, "team-a");
}

#[test]
fn async_escalation_skips_actions_the_initiator_holds() {
    let reserve = |identity: &str, time: &str| {
        Event::allow(time, identity)
            .service("inventory-api")
            .action("inventory:reserve")
            .trace("t1")
    };
    let scenario = scenario(
        &deputy_grants(),
        &[
            annotate("2026-10-07T10:14:05Z", "t1"),
            reserve("wl-refund", "2026-10-07T10:14:07Z"),
            // The worker's own trace, and a denied worker event.
            refund("2026-10-08T09:00:00Z", "t3"),
            refund("2026-10-08T09:00:01Z", "t3"),
            annotate("2026-10-09T09:00:00Z", "t4"),
            Event::deny("2026-10-09T09:00:02Z", "wl-refund")
                .service("payments-api")
                .action("payments:refund")
                .trace("t4"),
        ],
    );
    assert!(scenario.keys_of("async-privilege-escalation").is_empty());
}

#[test]
fn async_escalation_judges_grants_at_the_worker_time() {
    // The bot is granted payments:refund from 2026-10-15, so only the earlier trace
    // escalates.
    let mut grants = deputy_grants();
    grants.push(
        Grant::new("bot-macro")
            .action("payments:refund")
            .service("payments-api")
            .granted_at("2026-10-15T00:00:00Z"),
    );
    let scenario = scenario(
        &grants,
        &[
            annotate("2026-10-07T10:14:05Z", "t1"),
            refund("2026-10-07T10:14:47Z", "t1"),
            annotate("2026-10-22T15:41:30Z", "t2"),
            refund("2026-10-22T15:42:11Z", "t2"),
        ],
    );
    let report = scenario.run_clean();
    let found = finding(&report.findings, "async-privilege-escalation", REFUND_KEY);
    assert_eq!(found.event_count, 1);
    assert_eq!(found.evidence.request_ids, vec!["req-t1-2"]);
}

#[test]
fn async_escalation_breaks_time_ties_by_input_position() {
    // Both events of trace t5 have the same time; the first row is the initiator.
    let scenario = scenario(&deputy_grants(), &[refund(T, "t5"), annotate(T, "t5")]);
    assert_eq!(
        scenario.keys_of("async-privilege-escalation"),
        vec![
            "environment=prod service=orders-api action=orders:annotate initiator=wl-refund worker=bot-macro"
        ]
    );
}

#[test]
fn async_escalation_keys_endpoint_templates() {
    let scenario = scenario(
        &deputy_grants(),
        &[
            annotate("2026-10-07T10:14:05Z", "t1"),
            Event::allow("2026-10-07T10:14:08Z", "wl-refund")
                .service("payments-api")
                .request(
                    "POST",
                    "/v1/payments/123e4567-e89b-12d3-a456-426614174000/refunds",
                )
                .trace("t1"),
        ],
    );
    assert_eq!(
        scenario.keys_of("async-privilege-escalation"),
        vec![
            "environment=prod service=payments-api method=POST endpoint=/v1/payments/{id}/refunds initiator=bot-macro worker=wl-refund"
        ]
    );
}
