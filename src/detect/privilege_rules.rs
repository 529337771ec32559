//! Rules about what grants allow compared with what identities use: wildcard
//! grants much wider than the operations their identity calls.

use std::collections::{BTreeMap, HashMap};

use crate::findings::{Finding, FindingKey, FindingSet};
use crate::model::inventory::Grant;
use crate::model::{Decision, IdentityType, Timestamp};
use crate::rules::Rule;

use super::details::{DETAIL_LIST_LIMIT, bounded};
use super::{Evidence, endpoint_key};

/// One identity's allowed use of one operation.
#[derive(Clone, Copy)]
struct Use {
    events: u64,
    first: Timestamp,
    last: Timestamp,
}

/// The users of one operation of the observed surface.
#[derive(Default)]
struct Operation<'a> {
    /// The action as first written, by the smallest spelling, for proposing grants;
    /// empty for endpoint operations.
    action_spelling: String,
    users: HashMap<&'a str, Use>,
}

/// The observed surface of one (environment, service): every operation of an
/// allowed in-window event there, by any identity.
#[derive(Default)]
struct Surface<'a> {
    /// By lower-cased action.
    actions: BTreeMap<String, Operation<'a>>,
    /// By method and endpoint template.
    endpoints: BTreeMap<(String, String), Operation<'a>>,
}

fn record_use<'a>(
    operation: &mut Operation<'a>,
    identity: &'a str,
    events: u64,
    first: Timestamp,
    last: Timestamp,
) {
    let known = operation.users.entry(identity).or_insert(Use {
        events: 0,
        first,
        last,
    });
    known.events += events;
    known.first = known.first.min(first);
    known.last = known.last.max(last);
}

/// One spanned operation as the evidence lists it.
struct Spanned<'s, 'a> {
    /// `inventory:read` or `GET /v1/stock/{id}`.
    text: String,
    /// The proposed exact grant, as entitlement columns.
    grant: serde_json::Value,
    operation: &'s Operation<'a>,
}

/// The operations of a surface that a grant spans: action operations for its
/// action pattern, method and endpoint operations for its endpoint pattern.
/// Templates are matched as text, so `{id}` matches a `*` or `{name}` segment but
/// not a literal one.
fn spanned<'s, 'a>(grant: &Grant, surface: &'s Surface<'a>) -> Vec<Spanned<'s, 'a>> {
    let mut spanned = Vec::new();
    if let Some(pattern) = &grant.action {
        for (action, operation) in &surface.actions {
            if pattern.matches(action) {
                spanned.push(Spanned {
                    text: operation.action_spelling.clone(),
                    grant: serde_json::json!({ "action": operation.action_spelling }),
                    operation,
                });
            }
        }
    }
    if let Some(pattern) = &grant.endpoint {
        for ((method, endpoint), operation) in &surface.endpoints {
            if grant.method.matches(method) && pattern.matches(endpoint) {
                spanned.push(Spanned {
                    text: format!("{method} {endpoint}"),
                    grant: serde_json::json!({ "method": method, "endpoint": endpoint }),
                    operation,
                });
            }
        }
    }
    spanned
}

/// Builds the observed surface of every (environment, service) from the allowed
/// summary rows.
fn observed_surfaces<'a>(evidence: &Evidence<'a>) -> BTreeMap<(&'a str, &'a str), Surface<'a>> {
    let mut surfaces: BTreeMap<(&str, &str), Surface<'_>> = BTreeMap::new();
    let rows = evidence
        .access
        .map(|access| access.rows.as_slice())
        .unwrap_or_default();
    for (key, stats) in rows {
        if key.decision != Decision::Allow {
            continue;
        }
        let surface = surfaces
            .entry((key.environment.as_str(), key.service.as_str()))
            .or_default();
        let identity = key.identity.as_str();
        if !key.action.is_empty() {
            let operation = surface
                .actions
                .entry(key.action.to_lowercase())
                .or_default();
            if operation.action_spelling.is_empty() || key.action < operation.action_spelling {
                operation.action_spelling = key.action.clone();
            }
            record_use(operation, identity, stats.count, stats.first, stats.last);
        }
        if !key.method.is_empty() && !key.endpoint.is_empty() {
            let operation = surface
                .endpoints
                .entry((key.method.clone(), endpoint_key(&key.endpoint)))
                .or_default();
            record_use(operation, identity, stats.count, stats.first, stats.last);
        }
    }
    surfaces
}

/// Active wildcard grants of non-human identities that span at least `min_span`
/// observed operations of an (environment, service), of which their identity used
/// at least one and at most `max_used_share`.
pub fn over_broad_grant(evidence: &Evidence<'_>, rule: &Rule) -> Vec<Finding> {
    let inventory = evidence
        .inventory
        .expect("the rule requires --entitlements");
    let max_used_share = rule.params.share("max_used_share");
    let min_span = rule.params.count("min_span") as usize;
    let surfaces = observed_surfaces(evidence);
    let mut findings = FindingSet::new(rule);

    for grant in &inventory.grants {
        let human = inventory
            .identities
            .get(&grant.identity)
            .is_some_and(|identity| identity.identity_type == Some(IdentityType::Human));
        // NOTE: a grant of a whole service (no action and no endpoint pattern) has no
        // pattern with a wildcard, so this rule does not judge it.
        if human || !grant.is_wildcard() || !grant.valid_at(evidence.as_of) {
            continue;
        }
        for ((environment, service), surface) in &surfaces {
            if !grant.matches_scope(environment, service) {
                continue;
            }
            let spanned = spanned(grant, surface);
            let used: Vec<(&Spanned<'_, '_>, Use)> = spanned
                .iter()
                .filter_map(|operation| {
                    let found = operation.operation.users.get(grant.identity.as_str());
                    found.map(|found| (operation, *found))
                })
                .collect();
            // Compared as `used <= share × span`, so that exactly half of an even
            // span passes the default 0.5 without a rounded division.
            let within_share = used.len() as f64 <= max_used_share * spanned.len() as f64;
            if spanned.len() < min_span || used.is_empty() || !within_share {
                continue;
            }
            let share = used.len() as f64 / spanned.len() as f64;

            let key = FindingKey {
                environment: environment.to_string(),
                service: service.to_string(),
                identity: grant.identity.clone(),
                grant: grant.text(),
                ..FindingKey::default()
            };
            let hits = findings.hit(key);
            hits.risk(grant.risk);
            if let Some(origin) = &grant.origin {
                hits.location(origin);
            }
            for (_, found) in &used {
                hits.event_count += found.events;
                hits.seen(found.first, found.last);
            }
            // NOTE: an identity that used more than DETAIL_LIST_LIMIT operations gets
            // only the first ones proposed, and `proposed_grants_omitted` says how
            // many are missing.
            let texts: Vec<String> = used
                .iter()
                .map(|(operation, _)| operation.text.clone())
                .collect();
            let (proposed_texts, omitted) = bounded(texts.iter().cloned());
            hits.detail = proposed_texts.join(", ");
            if omitted > 0 {
                hits.detail.push_str(&format!(" and {omitted} more"));
            }
            let proposed: Vec<serde_json::Value> = used
                .iter()
                .take(DETAIL_LIST_LIMIT)
                .map(|(operation, _)| {
                    let mut row = serde_json::json!({
                        "identity": grant.identity,
                        "environment": environment,
                        "service": service,
                    });
                    if let (Some(row), Some(columns)) =
                        (row.as_object_mut(), operation.grant.as_object())
                    {
                        row.extend(columns.clone());
                    }
                    row
                })
                .collect();
            let operations_used: Vec<serde_json::Value> = used
                .iter()
                .take(DETAIL_LIST_LIMIT)
                .map(|(operation, found)| {
                    serde_json::json!({ "operation": operation.text, "events": found.events })
                })
                .collect();
            let (spanned_texts, spanned_omitted) =
                bounded(spanned.iter().map(|operation| operation.text.clone()));
            let facts = [
                ("operations_used", serde_json::json!(operations_used)),
                ("proposed_grants", serde_json::json!(proposed)),
                ("proposed_grants_omitted", serde_json::json!(omitted)),
                ("spanned_operations", serde_json::json!(spanned_texts)),
                (
                    "spanned_operations_omitted",
                    serde_json::json!(spanned_omitted),
                ),
                ("used", serde_json::json!(used.len())),
                ("span", serde_json::json!(spanned.len())),
                ("used_share", serde_json::json!(share)),
            ];
            for (name, value) in facts {
                hits.details.insert(name.to_string(), value);
            }
        }
    }
    findings.finish(evidence.inventory)
}
