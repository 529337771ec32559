//! Rules about the lifecycle of identities and credentials: use after the end,
//! credentials kept too long, and identities nobody owns.

use std::collections::BTreeMap;

use crate::findings::{Finding, FindingKey, FindingSet};
use crate::model::inventory::{Credential, Identity, Inventory};
use crate::model::{Decision, IdentityType, Timestamp};
use crate::rules::Rule;

use super::details::{
    bounded, counted, days_between, describe_duration, held_grant_risk, operation_risk,
};
use super::{Evidence, add_access_row};

fn inventory<'a>(evidence: &Evidence<'a>) -> &'a Inventory {
    evidence
        .inventory
        .expect("the rule requires --entitlements")
}

/// When an identity's credential, or the identity itself, stopped being valid,
/// with the entitlement column that says so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct End {
    time: Timestamp,
    column: &'static str,
}

/// The earliest end that applies to events of `identity` using `credential_id`:
/// the credential's revocation or expiry when the export lists the credential, and
/// the identity's revocation for every event.
fn end_of(identity: &Identity, credential_id: &str) -> Option<End> {
    let mut ends: Vec<End> = Vec::new();
    if !credential_id.is_empty()
        && let Some(credential) = identity
            .credentials
            .iter()
            .find(|credential| credential.id == credential_id)
    {
        ends.extend(credential.revoked_at.map(|time| End {
            time,
            column: "credential_revoked_at",
        }));
        ends.extend(credential.expires_at.map(|time| End {
            time,
            column: "credential_expires_at",
        }));
    }
    ends.extend(identity.revoked_at.map(|time| End {
        time,
        column: "revoked_at",
    }));
    ends.into_iter().min_by_key(|end| end.time)
}

/// Allowed events that used a credential or identity later than `grace` after it
/// ended. The log reader splits summary rows at each end plus `grace`, so a row's
/// first event decides for the whole row.
pub fn revoked_credential_used(evidence: &Evidence<'_>, rule: &Rule) -> Vec<Finding> {
    let inventory = inventory(evidence);
    let access = evidence.access.expect("the rule requires --logs");
    let grace = rule.params.seconds("grace");
    let mut findings = FindingSet::new(rule);
    let mut ends: BTreeMap<FindingKey, End> = BTreeMap::new();

    for (key, stats) in &access.rows {
        if key.decision != Decision::Allow {
            continue;
        }
        let Some(identity) = inventory.identities.get(&key.identity) else {
            continue;
        };
        let Some(end) = end_of(identity, &key.credential_id) else {
            continue;
        };
        if stats.first < end.time.plus_seconds(grace) {
            continue;
        }
        let finding_key = FindingKey {
            environment: key.environment.clone(),
            identity: key.identity.clone(),
            credential_id: key.credential_id.clone(),
            ..FindingKey::default()
        };
        ends.insert(finding_key.clone(), end);
        let hits = findings.hit(finding_key);
        add_access_row(hits, key, stats);
        hits.risk(operation_risk(
            inventory,
            &key.identity,
            (&key.environment, &key.service),
            (&key.method, &key.endpoint, &key.action),
        ));
    }

    for (key, end) in ends {
        let hits = findings.hit(key);
        let (Some(first), Some(last)) = (hits.first_seen, hits.last_seen) else {
            continue;
        };
        let lag_ms = first.0 - end.time.0;
        hits.detail = format!(
            "{} was {}; first accepted {} after that, last on {}, {}",
            end.column,
            end.time.to_rfc3339(),
            describe_duration(lag_ms),
            last.to_rfc3339(),
            counted(hits.event_count, "event"),
        );
        let facts = [
            ("ended_at", serde_json::json!(end.time.to_rfc3339())),
            ("ended_by", serde_json::json!(end.column)),
            ("grace_seconds", serde_json::json!(grace)),
            ("first_use_after_end", serde_json::json!(first.to_rfc3339())),
            ("last_use_after_end", serde_json::json!(last.to_rfc3339())),
            ("lag_seconds", serde_json::json!(lag_ms as f64 / 1_000.0)),
            ("lag", serde_json::json!(describe_duration(lag_ms))),
            ("events_after_end", serde_json::json!(hits.event_count)),
        ];
        for (name, value) in facts {
            hits.details.insert(name.to_string(), value);
        }
    }
    findings.finish(evidence.inventory)
}

/// Whether a credential is still usable at `time`: neither it nor its identity has
/// ended.
fn credential_active(identity: &Identity, credential: &Credential, time: Timestamp) -> bool {
    let ended = |end: Option<Timestamp>| end.is_some_and(|end| end <= time);
    !(ended(credential.revoked_at) || ended(credential.expires_at) || ended(identity.revoked_at))
}

/// Active credentials last rotated (or created) more than `max_age` before
/// --as-of, and, when `require_api_key_expiry` is set, credentials of `api_key`
/// identities without an expiry.
pub fn stale_credential(evidence: &Evidence<'_>, rule: &Rule) -> Vec<Finding> {
    let inventory = inventory(evidence);
    let max_age_ms = rule.params.seconds("max_age").saturating_mul(1_000);
    let require_expiry = rule.params.flag("require_api_key_expiry");
    let as_of = evidence.as_of;
    let mut findings = FindingSet::new(rule);

    for identity in inventory.identities.values() {
        for credential in &identity.credentials {
            if !credential_active(identity, credential, as_of) {
                continue;
            }
            let mut reasons: Vec<String> = Vec::new();
            // NOTE: a credential with neither a creation nor a rotation time has no
            // known age, so only the expiry check applies to it.
            let last_renewed = credential.rotated_at.max(credential.created_at);
            if let Some(renewed) = last_renewed
                && as_of.0 - renewed.0 > max_age_ms
            {
                let column = if credential.rotated_at == last_renewed {
                    "rotated"
                } else {
                    "created"
                };
                reasons.push(format!(
                    "last {column} {}, {} days before the review date",
                    renewed.to_rfc3339(),
                    days_between(renewed, as_of)
                ));
            }
            if require_expiry
                && identity.identity_type == Some(IdentityType::ApiKey)
                && credential.expires_at.is_none()
            {
                reasons.push("an API key without an expiry".to_string());
            }
            if reasons.is_empty() {
                continue;
            }

            let key = FindingKey {
                identity: identity.name.clone(),
                credential_id: credential.id.clone(),
                ..FindingKey::default()
            };
            let hits = findings.hit(key);
            hits.detail = reasons.join("; ");
            hits.risk(held_grant_risk(inventory, &identity.name, as_of));
            for grant in inventory.grants_of(&identity.name) {
                if let Some(origin) = &grant.origin {
                    hits.location(origin);
                }
            }
            let time = |value: Option<Timestamp>| value.map(Timestamp::to_rfc3339);
            let facts = [
                ("created_at", serde_json::json!(time(credential.created_at))),
                ("rotated_at", serde_json::json!(time(credential.rotated_at))),
                ("expires_at", serde_json::json!(time(credential.expires_at))),
                (
                    "age_days",
                    serde_json::json!(last_renewed.map(|renewed| days_between(renewed, as_of))),
                ),
                ("reasons", serde_json::json!(reasons)),
            ];
            for (name, value) in facts {
                hits.details.insert(name.to_string(), value);
            }
        }
    }
    findings.finish(evidence.inventory)
}

/// Identities that hold an active grant at --as-of and have no owner.
pub fn orphaned_identity(evidence: &Evidence<'_>, rule: &Rule) -> Vec<Finding> {
    let inventory = inventory(evidence);
    let mut findings = FindingSet::new(rule);
    for identity in inventory.identities.values() {
        if !identity.owner.trim().is_empty() {
            continue;
        }
        let active: Vec<_> = inventory
            .grants_of(&identity.name)
            .filter(|grant| grant.valid_at(evidence.as_of))
            .collect();
        if active.is_empty() {
            continue;
        }
        let key = FindingKey {
            identity: identity.name.clone(),
            ..FindingKey::default()
        };
        let hits = findings.hit(key);
        hits.detail = counted(active.len() as u64, "active grant");
        let (listed, omitted) = bounded(active.iter().map(|grant| {
            format!(
                "{} {} {}",
                grant.environment_text(),
                grant.service_text(),
                grant.text()
            )
        }));
        hits.details
            .insert("active_grants".to_string(), serde_json::json!(listed));
        if omitted > 0 {
            hits.details.insert(
                "active_grants_omitted".to_string(),
                serde_json::json!(omitted),
            );
        }
        for grant in &active {
            hits.risk(grant.risk);
            if let Some(origin) = &grant.origin {
                hits.location(origin);
            }
        }
    }
    findings.finish(evidence.inventory)
}
