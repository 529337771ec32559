//! revoked-credential-used, stale-credential and orphaned-identity: credentials
//! and identities used after their end, kept too long, or owned by nobody.

mod common;
mod support;

use common::{Scenario, finding, keys_of};
use corroborate::model::Severity;
use support::{Event, Grant, entitlement_file, log_file, override_param};

fn scenario(grants: &[Grant], events: &[Event]) -> Scenario {
    let mut scenario = Scenario::new();
    scenario.entitlements("entitlements.csv", &entitlement_file(grants));
    if !events.is_empty() {
        scenario.logs("logs.csv", &log_file(events));
    }
    scenario
}

const REVOKED: &str = "2026-10-20T09:00:00Z";

/// A grant of `identity` whose credential `credential_id` was revoked at [`REVOKED`].
fn revoked_credential(identity: &str, credential_id: &str) -> Grant {
    Grant::new(identity).credential(
        credential_id,
        "2026-09-10T00:00:00Z",
        "",
        "2027-03-01T00:00:00Z",
        REVOKED,
    )
}

#[test]
fn revoked_credential_one_second_before_and_after() {
    let scenario = scenario(
        &[
            revoked_credential("svc-before", "kid-before"),
            revoked_credential("svc-after", "kid-after"),
        ],
        &[
            Event::allow("2026-10-20T08:59:59Z", "svc-before").credential("kid-before"),
            // One summary row would hold both events; the reader splits it at the end.
            Event::allow("2026-10-20T08:59:59Z", "svc-after").credential("kid-after"),
            Event::allow("2026-10-20T09:00:01Z", "svc-after")
                .credential("kid-after")
                .request_id("req-late"),
        ],
    );
    let report = scenario.run_clean();
    assert_eq!(
        keys_of(&report.findings, "revoked-credential-used"),
        vec!["environment=prod identity=svc-after credential_id=kid-after"]
    );
    let found = finding(
        &report.findings,
        "revoked-credential-used",
        "environment=prod identity=svc-after credential_id=kid-after",
    );
    let details = &found.evidence.details;
    assert_eq!(found.event_count, 1);
    assert_eq!(found.severity, Severity::Critical);
    assert_eq!(details["lag_seconds"], serde_json::json!(1.0));
    assert_eq!(details["lag"], "1 s");
    assert_eq!(details["ended_by"], "credential_revoked_at");
    assert_eq!(details["ended_at"], REVOKED);
    assert_eq!(details["first_use_after_end"], "2026-10-20T09:00:01Z");
    assert_eq!(details["last_use_after_end"], "2026-10-20T09:00:01Z");
    assert_eq!(found.evidence.request_ids, vec!["req-late"]);
    assert!(found.remediation.contains("first accepted 1 s after that"));
}

#[test]
fn revoked_credential_at_the_end_itself_counts() {
    let scenario = scenario(
        &[revoked_credential("svc-a", "kid-a")],
        &[Event::allow(REVOKED, "svc-a").credential("kid-a")],
    );
    assert_eq!(
        scenario.keys_of("revoked-credential-used"),
        vec!["environment=prod identity=svc-a credential_id=kid-a"]
    );
}

#[test]
fn revoked_identity_applies_to_events_without_credential() {
    let scenario = scenario(
        &[
            Grant::new("svc-gone").revoked("revoked", REVOKED),
            Grant::new("svc-gone")
                .action("orders:list")
                .revoked("disabled", "2026-10-01T00:00:00Z"),
        ],
        &[
            Event::allow("2026-10-20T08:00:00Z", "svc-gone"),
            Event::allow("2026-10-22T09:00:00Z", "svc-gone").env("staging"),
        ],
    );
    let report = scenario.run_clean();
    let found = finding(
        &report.findings,
        "revoked-credential-used",
        "environment=staging identity=svc-gone",
    );
    // The identity ends at the latest revoked_at of its rows.
    assert_eq!(found.evidence.details["ended_by"], "revoked_at");
    assert_eq!(found.evidence.details["lag"], "2 d");
    assert_eq!(
        keys_of(&report.findings, "revoked-credential-used").len(),
        1
    );
}

#[test]
fn one_revoked_grant_row_does_not_revoke_the_identity() {
    let scenario = scenario(
        &[
            Grant::new("svc-a").revoked("revoked", "2026-09-20T00:00:00Z"),
            Grant::new("svc-a").action("orders:list"),
        ],
        &[Event::allow("2026-10-22T09:00:00Z", "svc-a").action("orders:list")],
    );
    assert!(scenario.keys_of("revoked-credential-used").is_empty());
}

#[test]
fn expired_credential_used_and_other_credentials_unaffected() {
    let scenario = scenario(
        &[
            Grant::new("svc-a").credential(
                "kid-old",
                "2026-01-01T00:00:00Z",
                "",
                "2026-10-01T00:00:00Z",
                "",
            ),
            Grant::new("svc-a").action("orders:list").credential(
                "kid-new",
                "2026-09-25T00:00:00Z",
                "",
                "2027-10-01T00:00:00Z",
                "",
            ),
        ],
        &[
            Event::allow("2026-10-05T00:00:00Z", "svc-a").credential("kid-old"),
            Event::allow("2026-10-05T00:00:00Z", "svc-a").credential("kid-new"),
            // A credential the export does not list has no known end.
            Event::allow("2026-10-05T00:00:00Z", "svc-a").credential("kid-unknown"),
        ],
    );
    let report = scenario.run_clean();
    assert_eq!(
        keys_of(&report.findings, "revoked-credential-used"),
        vec!["environment=prod identity=svc-a credential_id=kid-old"]
    );
    let found = finding(
        &report.findings,
        "revoked-credential-used",
        "environment=prod identity=svc-a credential_id=kid-old",
    );
    assert_eq!(found.evidence.details["ended_by"], "credential_expires_at");
    assert_eq!(found.evidence.details["lag"], "4 d");
}

#[test]
fn revoked_credential_ignores_denied_events() {
    let scenario = scenario(
        &[revoked_credential("svc-a", "kid-a")],
        &[Event::deny("2026-10-21T00:00:00Z", "svc-a").credential("kid-a")],
    );
    assert!(scenario.keys_of("revoked-credential-used").is_empty());
}

#[test]
fn revoked_credential_grace_tolerates_early_use() {
    let mut scenario = scenario(
        &[
            revoked_credential("svc-early", "kid-early"),
            revoked_credential("svc-late", "kid-late"),
        ],
        &[
            Event::allow("2026-10-20T09:30:00Z", "svc-early").credential("kid-early"),
            Event::allow("2026-10-20T11:00:00Z", "svc-late").credential("kid-late"),
        ],
    );
    override_param(&mut scenario, "revoked-credential-used", "grace", r#""1h""#);
    let report = scenario.run_clean();
    assert_eq!(
        keys_of(&report.findings, "revoked-credential-used"),
        vec!["environment=prod identity=svc-late credential_id=kid-late"]
    );
    let found = finding(
        &report.findings,
        "revoked-credential-used",
        "environment=prod identity=svc-late credential_id=kid-late",
    );
    // The lag counts from the end, not from the end of the grace period.
    assert_eq!(found.evidence.details["lag"], "2 h");
    assert_eq!(found.evidence.details["grace_seconds"], 3600);
}

/// A grant whose credential was created in 2024 and last rotated at `rotated_at`.
fn rotated(identity: &str, rotated_at: &str) -> Grant {
    Grant::new(identity).credential(
        &format!("kid-{identity}"),
        "2024-01-01T00:00:00Z",
        rotated_at,
        "2027-06-01T00:00:00Z",
        "",
    )
}

#[test]
fn stale_credential_just_over_max_age() {
    // The review date is 2026-11-30T00:00:00Z, so exactly 90 days is 2026-09-01.
    let scenario = scenario(
        &[
            rotated("svc-exact", "2026-09-01T00:00:00Z"),
            rotated("svc-over", "2026-08-31T23:59:59Z"),
        ],
        &[],
    );
    let report = scenario.run_clean();
    assert_eq!(
        keys_of(&report.findings, "stale-credential"),
        vec!["identity=svc-over credential_id=kid-svc-over"]
    );
    let found = finding(
        &report.findings,
        "stale-credential",
        "identity=svc-over credential_id=kid-svc-over",
    );
    assert_eq!(found.evidence.details["age_days"], 90);
    assert_eq!(found.evidence.details["rotated_at"], "2026-08-31T23:59:59Z");
    assert_eq!(found.severity, Severity::Medium);
}

#[test]
fn stale_credential_uses_creation_when_never_rotated() {
    let scenario = scenario(
        &[Grant::new("svc-a").credential(
            "kid-a",
            "2026-05-14T06:00:00Z",
            "",
            "2027-05-14T00:00:00Z",
            "",
        )],
        &[],
    );
    let report = scenario.run_clean();
    let found = finding(
        &report.findings,
        "stale-credential",
        "identity=svc-a credential_id=kid-a",
    );
    let reasons = found.evidence.details["reasons"].to_string();
    assert!(
        reasons.contains("last created 2026-05-14T06:00:00Z, 199 days"),
        "{reasons}"
    );
}

#[test]
fn stale_credential_skips_ended_credentials() {
    let scenario = scenario(
        &[
            Grant::new("svc-revoked").credential(
                "kid-1",
                "2024-01-01T00:00:00Z",
                "",
                "",
                "2026-10-15T12:00:00Z",
            ),
            Grant::new("svc-expired").credential(
                "kid-2",
                "2024-01-01T00:00:00Z",
                "",
                "2026-11-01T00:00:00Z",
                "",
            ),
            Grant::new("svc-gone")
                .credential(
                    "kid-3",
                    "2024-01-01T00:00:00Z",
                    "",
                    "2027-01-01T00:00:00Z",
                    "",
                )
                .revoked("revoked", "2026-10-01T00:00:00Z"),
        ],
        &[],
    );
    assert!(scenario.keys_of("stale-credential").is_empty());
}

#[test]
fn stale_credential_api_key_without_expiry() {
    let fresh = |identity: &str, identity_type: &str, expires_at: &str| {
        Grant::new(identity)
            .identity_type(identity_type)
            .credential(
                &format!("kid-{identity}"),
                "2026-11-01T00:00:00Z",
                "",
                expires_at,
                "",
            )
    };
    let scenario = scenario(
        &[
            fresh("key-no-expiry", "api_key", ""),
            fresh("key-expiring", "api_key", "2027-05-01T00:00:00Z"),
            fresh("svc-no-expiry", "service_account", ""),
        ],
        &[],
    );
    let report = scenario.run_clean();
    assert_eq!(
        keys_of(&report.findings, "stale-credential"),
        vec!["identity=key-no-expiry credential_id=kid-key-no-expiry"]
    );
    let found = finding(
        &report.findings,
        "stale-credential",
        "identity=key-no-expiry credential_id=kid-key-no-expiry",
    );
    assert_eq!(
        found.evidence.details["reasons"],
        serde_json::json!(["an API key without an expiry"])
    );
}

#[test]
fn stale_credential_expiry_check_can_be_turned_off() {
    let mut scenario = scenario(
        &[Grant::new("key-a").identity_type("api_key").credential(
            "kid-a",
            "2026-11-01T00:00:00Z",
            "",
            "",
            "",
        )],
        &[],
    );
    override_param(
        &mut scenario,
        "stale-credential",
        "require_api_key_expiry",
        "false",
    );
    assert!(scenario.keys_of("stale-credential").is_empty());
}

#[test]
fn stale_credential_raised_by_high_risk_grant() {
    let scenario = scenario(
        &[rotated("svc-a", "2026-01-01T00:00:00Z").risk("high")],
        &[],
    );
    let report = scenario.run_clean();
    let found = finding(
        &report.findings,
        "stale-credential",
        "identity=svc-a credential_id=kid-svc-a",
    );
    assert_eq!(found.severity, Severity::High);
}

#[test]
fn orphaned_identity_needs_active_grant_and_no_owner() {
    let scenario = scenario(
        &[
            Grant::new("bot-orphan").owner("").risk("high"),
            Grant::new("bot-revoked")
                .owner("")
                .revoked("revoked", "2026-10-01T00:00:00Z"),
            Grant::new("key-attributes").owner("").attributes_only(),
            Grant::new("svc-owned"),
            // The owner on one row is the identity's owner.
            Grant::new("svc-half").owner(""),
            Grant::new("svc-half").action("orders:list").owner("team-b"),
        ],
        &[],
    );
    let report = scenario.run_clean();
    assert_eq!(
        keys_of(&report.findings, "orphaned-identity"),
        vec!["identity=bot-orphan"]
    );
    let found = finding(&report.findings, "orphaned-identity", "identity=bot-orphan");
    assert_eq!(
        found.evidence.details["active_grants"],
        serde_json::json!(["prod orders-api orders:read"])
    );
    assert_eq!(found.severity, Severity::High);
    assert_eq!(found.owner, "");
}

#[test]
fn orphaned_identity_ignores_grants_not_yet_started() {
    let scenario = scenario(
        &[Grant::new("bot-future")
            .owner("")
            .granted_at("2026-12-15T00:00:00Z")],
        &[],
    );
    assert!(scenario.keys_of("orphaned-identity").is_empty());
}
