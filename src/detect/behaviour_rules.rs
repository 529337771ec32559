//! Rules about how identities behave in the logs: identities shared by several
//! consumers or environments, driven by people, or used as a confused deputy.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::findings::{Finding, FindingKey, FindingSet, Hits};
use crate::model::access::{AccessKey, AccessStats, TraceEdge};
use crate::model::inventory::Inventory;
use crate::model::{Decision, IdentityType, Timestamp};
use crate::rules::Rule;

use super::details::{
    BorrowedHits, bounded, counted, held_grant_risk, join_bounded, operation_risk,
};
use super::{Evidence, add_access_row, operation_key};

fn identity_key(identity: &str) -> FindingKey {
    FindingKey {
        identity: identity.to_string(),
        ..FindingKey::default()
    }
}

/// Allowed use of an identity by one consumer.
#[derive(Default)]
struct ConsumerUse {
    events: u64,
    request_ids: BTreeSet<String>,
}

/// Identities whose allowed events come from `min_consumers` or more normalised
/// sources, or whose export lists that many consumers.
pub fn shared_identity(evidence: &Evidence<'_>, rule: &Rule) -> Vec<Finding> {
    let min_consumers = rule.params.count("min_consumers") as usize;
    let mut by_identity: BTreeMap<&str, BTreeMap<&str, ConsumerUse>> = BTreeMap::new();
    let rows = evidence
        .access
        .map(|access| access.rows.as_slice())
        .unwrap_or_default();
    for (key, stats) in rows {
        if key.decision != Decision::Allow || key.source.is_empty() {
            continue;
        }
        let consumer = by_identity
            .entry(key.identity.as_str())
            .or_default()
            .entry(key.source.as_str())
            .or_default();
        consumer.events += stats.count;
        for id in &stats.request_ids {
            consumer.request_ids.insert(id.clone());
        }
    }

    let shared: BTreeMap<&str, &BTreeMap<&str, ConsumerUse>> = by_identity
        .iter()
        .filter(|(_, consumers)| consumers.len() >= min_consumers)
        .map(|(identity, consumers)| (*identity, consumers))
        .collect();
    let mut findings = FindingSet::new(rule);
    for (key, stats) in rows {
        if key.decision == Decision::Allow && shared.contains_key(key.identity.as_str()) {
            add_access_row(findings.hit(identity_key(&key.identity)), key, stats);
        }
    }
    for (identity, consumers) in &shared {
        let hits = findings.hit(identity_key(identity));
        let described: Vec<String> = consumers
            .iter()
            .map(|(source, used)| format!("{source} ({})", counted(used.events, "event")))
            .collect();
        hits.detail = join_bounded(&described);
        let (listed, omitted) = bounded(consumers.iter().map(|(source, used)| {
            serde_json::json!({
                "source": source,
                "events": used.events,
                "request_ids": used.request_ids.iter().take(3).collect::<Vec<_>>(),
            })
        }));
        hits.details
            .insert("consumers".to_string(), serde_json::json!(listed));
        if omitted > 0 {
            hits.details
                .insert("consumers_omitted".to_string(), serde_json::json!(omitted));
        }
        add_held_risk(hits, evidence, identity);
    }

    if let Some(inventory) = evidence.inventory {
        for identity in inventory.identities.values() {
            if identity.consumers.len() < min_consumers {
                continue;
            }
            let hits = findings.hit(identity_key(&identity.name));
            let listed: Vec<String> = identity.consumers.iter().cloned().collect();
            if hits.detail.is_empty() {
                hits.detail = format!("listed in the export: {}", join_bounded(&listed));
            }
            hits.details.insert(
                "listed_consumers".to_string(),
                serde_json::json!(bounded(listed).0),
            );
            for grant in inventory.grants_of(&identity.name) {
                if let Some(origin) = &grant.origin {
                    hits.location(origin);
                }
            }
            add_held_risk(hits, evidence, &identity.name);
        }
    }
    findings.finish(evidence.inventory)
}

/// Raises an identity finding by the risk of the identity's grants in force at
/// --as-of.
fn add_held_risk(hits: &mut Hits, evidence: &Evidence<'_>, identity: &str) {
    if let Some(inventory) = evidence.inventory {
        hits.risk(held_grant_risk(inventory, identity, evidence.as_of));
    }
}

/// Use of one credential in one environment: counts and sample ids.
#[derive(Default)]
struct EnvironmentUse {
    events: u64,
    tests: u64,
    request_ids: BTreeSet<String>,
    test_ids: BTreeSet<String>,
}

/// Credentials used, in tests or events, allowed or denied, in `min_environments`
/// or more environments.
pub fn cross_environment_credential(evidence: &Evidence<'_>, rule: &Rule) -> Vec<Finding> {
    let min_environments = rule.params.count("min_environments") as usize;
    type Uses<'a> = BTreeMap<(&'a str, &'a str), BTreeMap<&'a str, EnvironmentUse>>;
    let mut uses: Uses<'_> = BTreeMap::new();
    let rows = evidence
        .access
        .map(|access| access.rows.as_slice())
        .unwrap_or_default();
    let tests = evidence.tests.unwrap_or_default();

    // NOTE: a use without an environment is not counted as one more environment,
    // because it may be any of the others.
    for (key, stats) in rows {
        if key.credential_id.is_empty() || key.environment.is_empty() {
            continue;
        }
        let used = uses
            .entry((key.identity.as_str(), key.credential_id.as_str()))
            .or_default()
            .entry(key.environment.as_str())
            .or_default();
        used.events += stats.count;
        used.request_ids.extend(stats.request_ids.iter().cloned());
    }
    for test in tests {
        if test.credential_id.is_empty() || test.environment.is_empty() {
            continue;
        }
        let used = uses
            .entry((test.identity.as_str(), test.credential_id.as_str()))
            .or_default()
            .entry(test.environment.as_str())
            .or_default();
        used.tests += 1;
        used.test_ids.insert(test.test_id.clone());
    }

    let crossing: BTreeMap<(&str, &str), &BTreeMap<&str, EnvironmentUse>> = uses
        .iter()
        .filter(|(_, environments)| environments.len() >= min_environments)
        .map(|(key, environments)| (*key, environments))
        .collect();
    let credential_key = |identity: &str, credential_id: &str| FindingKey {
        identity: identity.to_string(),
        credential_id: credential_id.to_string(),
        ..FindingKey::default()
    };
    let mut findings = FindingSet::new(rule);
    for (key, stats) in rows {
        if !key.environment.is_empty()
            && crossing.contains_key(&(key.identity.as_str(), key.credential_id.as_str()))
        {
            let hits = findings.hit(credential_key(&key.identity, &key.credential_id));
            add_access_row(hits, key, stats);
        }
    }
    let mut crossing_tests: BTreeMap<(&str, &str), BorrowedHits<'_, ()>> = BTreeMap::new();
    for test in tests {
        let key = (test.identity.as_str(), test.credential_id.as_str());
        if !test.environment.is_empty() && crossing.contains_key(&key) {
            let gathered = crossing_tests.entry(key).or_default();
            gathered.test_count += 1;
            gathered.seen(test.executed_at);
            gathered.test_id(&test.test_id);
            gathered.location(&test.origin);
            gathered.risk(test.risk);
        }
    }
    for ((identity, credential_id), gathered) in crossing_tests {
        let hits = findings.hit(credential_key(identity, credential_id));
        gathered.record(hits, |()| serde_json::Value::Null);
    }
    for ((identity, credential_id), environments) in &crossing {
        let hits = findings.hit(credential_key(identity, credential_id));
        let names: Vec<String> = environments.keys().map(|name| name.to_string()).collect();
        hits.detail = join_bounded(&names);
        let listed: Vec<serde_json::Value> = environments
            .iter()
            .map(|(environment, used)| {
                serde_json::json!({
                    "environment": environment,
                    "events": used.events,
                    "tests": used.tests,
                    "request_ids": used.request_ids.iter().take(3).collect::<Vec<_>>(),
                    "test_ids": used.test_ids.iter().take(3).collect::<Vec<_>>(),
                })
            })
            .collect();
        hits.details.insert(
            "environments".to_string(),
            serde_json::json!(bounded(listed).0),
        );
        add_held_risk(hits, evidence, identity);
    }
    findings.finish(evidence.inventory)
}

/// Returns the type of an identity: from the export when it gives one, else from
/// the log row.
fn identity_type(inventory: Option<&Inventory>, key: &AccessKey) -> Option<IdentityType> {
    inventory
        .and_then(|inventory| inventory.identities.get(&key.identity))
        .and_then(|identity| identity.identity_type)
        .or_else(|| IdentityType::parse(&key.identity_type))
}

/// Records a summary row with its user agent, which [`add_access_row`] leaves out.
fn add_interactive_row(hits: &mut Hits, key: &AccessKey, stats: &AccessStats) {
    hits.event_count += stats.count;
    hits.seen(stats.first, stats.last);
    for id in &stats.request_ids {
        hits.request_id(id);
    }
    hits.location(&stats.origin);
    hits.sample(
        format!("{}\u{0}{}", stats.origin, key.user_agent),
        serde_json::json!({
            "user_agent": key.user_agent,
            "source": key.source,
            "environment": key.environment,
            "service": key.service,
            "operation": operation_key(FindingKey::default(), &key.method, &key.endpoint, &key.action).operation(),
            "decision": key.decision.as_str(),
            "events": stats.count,
            "first": stats.first.to_rfc3339(),
            "last": stats.last.to_rfc3339(),
            "request_ids": stats.request_ids,
        }),
    );
}

/// Events, allowed or denied, of an identity of a known type other than `human`
/// whose user agent is an interactive client's.
pub fn human_use_of_service_identity(evidence: &Evidence<'_>, rule: &Rule) -> Vec<Finding> {
    let access = evidence.access.expect("the rule requires --logs");
    let patterns = rule.params.patterns("interactive_agents");
    let mut interactive: HashMap<&str, bool> = HashMap::new();
    let mut agents: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut findings = FindingSet::new(rule);
    for (key, stats) in &access.rows {
        if key.user_agent.is_empty() {
            continue;
        }
        match identity_type(evidence.inventory, key) {
            None | Some(IdentityType::Human) => continue,
            Some(_) => {}
        }
        let matches = *interactive
            .entry(key.user_agent.as_str())
            .or_insert_with(|| {
                patterns
                    .iter()
                    .any(|pattern| pattern.is_match(&key.user_agent))
            });
        if !matches {
            continue;
        }
        agents
            .entry(key.identity.as_str())
            .or_default()
            .insert(key.user_agent.as_str());
        add_interactive_row(findings.hit(identity_key(&key.identity)), key, stats);
    }
    for (identity, user_agents) in agents {
        let hits = findings.hit(identity_key(identity));
        let listed: Vec<String> = user_agents.iter().map(|agent| agent.to_string()).collect();
        hits.detail = join_bounded(&listed);
        hits.details.insert(
            "user_agents".to_string(),
            serde_json::json!(bounded(listed).0),
        );
        add_held_risk(hits, evidence, identity);
    }
    findings.finish(evidence.inventory)
}

/// The key of a memoised coverage result: initiator, environment, service, method,
/// endpoint, action, and which interval between the initiator's grant boundaries
/// the event falls in.
type CoverageKey<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str, &'a str, usize);

/// Decides whether an initiator's grants cover an event, once per initiator,
/// operation and grant interval.
struct InitiatorCoverage<'a> {
    inventory: &'a Inventory,
    boundaries: HashMap<&'a str, Vec<Timestamp>>,
    answers: HashMap<CoverageKey<'a>, bool>,
}

impl<'a> InitiatorCoverage<'a> {
    fn new(inventory: &'a Inventory) -> InitiatorCoverage<'a> {
        InitiatorCoverage {
            inventory,
            boundaries: HashMap::new(),
            answers: HashMap::new(),
        }
    }

    /// Returns whether a grant of `initiator`, valid at the event's time, covers the
    /// event.
    fn covers(&mut self, initiator: &'a str, event: &'a TraceEdge) -> bool {
        let inventory = self.inventory;
        // Within two consecutive grant start or end times, `Grant::valid_at` gives
        // the same result for every grant of the identity.
        let boundaries = self.boundaries.entry(initiator).or_insert_with(|| {
            let mut times: Vec<Timestamp> = inventory
                .grants_of(initiator)
                .flat_map(|grant| [grant.granted_at, grant.revoked_at])
                .flatten()
                .collect();
            times.sort_unstable();
            times.dedup();
            times
        });
        let interval = boundaries.partition_point(|boundary| *boundary <= event.time);
        let key = (
            initiator,
            event.environment.as_str(),
            event.service.as_str(),
            event.method.as_str(),
            event.endpoint.as_str(),
            event.action.as_str(),
            interval,
        );
        *self.answers.entry(key).or_insert_with(|| {
            // NOTE: trace events carry the worker's endpoint template, so an
            // initiator grant that names a literal id (`/v1/orders/42`) does not
            // cover it even when the raw path matched.
            inventory.grants_of(initiator).any(|grant| {
                grant.valid_at(event.time)
                    && grant.matches_scope(&event.environment, &event.service)
                    && grant.covers(&event.method, &event.endpoint, &event.action)
            })
        })
    }
}

fn trace_event_record(event: &TraceEdge) -> serde_json::Value {
    serde_json::json!({
        "identity": event.identity,
        "request_id": event.request_id,
        "time": event.time.to_rfc3339(),
        "environment": event.environment,
        "service": event.service,
        "operation": operation_key(FindingKey::default(), &event.method, &event.endpoint, &event.action).operation(),
        "decision": event.decision.as_str(),
        "location": event.origin.to_string(),
    })
}

/// The fields that make an escalation distinct before they become a
/// [`FindingKey`]: environment, service, initiator, worker, method, endpoint and
/// action, borrowed from the trace events.
type EscalationKey<'a> = (
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
);

/// Reports allowed events of a worker, in a trace that another identity started,
/// that the initiator's own grants would not cover. It makes one pass over the
/// traces, which the log reader sorted by trace id, time and input position.
/// Evidence is gathered by borrowing, so a flagged event costs two hash lookups.
pub fn async_privilege_escalation(evidence: &Evidence<'_>, rule: &Rule) -> Vec<Finding> {
    let access = evidence.access.expect("the rule requires --logs");
    let inventory = evidence
        .inventory
        .expect("the rule requires --entitlements");
    let traces = access.traces.as_slice();
    let mut coverage = InitiatorCoverage::new(inventory);
    let mut escalations: HashMap<EscalationKey<'_>, BorrowedHits<'_, (&TraceEdge, &TraceEdge)>> =
        HashMap::new();

    let mut start = 0;
    while start < traces.len() {
        let trace_id = traces[start].trace_id.as_str();
        let end = start
            + traces[start..]
                .iter()
                .take_while(|event| event.trace_id == trace_id)
                .count();
        let first = &traces[start];
        for event in &traces[start + 1..end] {
            if event.identity == first.identity
                || event.decision != Decision::Allow
                || coverage.covers(&first.identity, event)
            {
                continue;
            }
            let key = (
                event.environment.as_str(),
                event.service.as_str(),
                first.identity.as_str(),
                event.identity.as_str(),
                event.method.as_str(),
                event.endpoint.as_str(),
                event.action.as_str(),
            );
            let gathered = escalations.entry(key).or_default();
            gathered.event_count += 1;
            gathered.seen(event.time);
            gathered.request_id(&event.request_id);
            gathered.location(&event.origin);
            gathered.sample(trace_id, || (first, event));
        }
        start = end;
    }

    let mut findings = FindingSet::new(rule);
    for ((environment, service, initiator, worker, method, endpoint, action), gathered) in
        escalations
    {
        let base = FindingKey {
            environment: environment.to_string(),
            service: service.to_string(),
            initiator: initiator.to_string(),
            worker: worker.to_string(),
            ..FindingKey::default()
        };
        let hits = findings.hit(operation_key(base, method, endpoint, action));
        hits.risk(operation_risk(
            inventory,
            worker,
            (environment, service),
            (method, endpoint, action),
        ));
        gathered.record(hits, |(first, event)| {
            serde_json::json!({
                "trace_id": first.trace_id,
                "initiating_request": trace_event_record(first),
                "worker_request": trace_event_record(event),
            })
        });
    }
    findings.finish(evidence.inventory)
}
