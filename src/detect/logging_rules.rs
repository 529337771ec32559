//! Rules that check the access logs against the denials the tests observed:
//! denials no log event records, and denied events that lack context.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::findings::{Finding, FindingKey, FindingSet};
use crate::model::access::{AccessData, DeniedEvent};
use crate::model::{Expected, TestResult};
use crate::rules::Rule;
use crate::rules::params::{ContextField, ContextRequirement};

use super::details::{BorrowedHits, join_bounded};
use super::{Evidence, Outcome, classify};

/// The index that matched a test to its denied events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MatchedBy {
    RequestId,
    IdentityMethodEndpoint,
}

impl MatchedBy {
    fn as_str(self) -> &'static str {
        match self {
            MatchedBy::RequestId => "request_id",
            MatchedBy::IdentityMethodEndpoint => "identity, method and endpoint",
        }
    }
}

/// The denied events, indexed for matching tests to them.
struct DeniedIndex<'a> {
    events: &'a [DeniedEvent],
    by_request_id: HashMap<&'a str, Vec<usize>>,
    /// By identity, method and normalised path; each list is in time order because
    /// `events` is.
    by_request: HashMap<(&'a str, &'a str, &'a str), Vec<usize>>,
}

impl<'a> DeniedIndex<'a> {
    fn new(events: &'a [DeniedEvent]) -> DeniedIndex<'a> {
        let mut by_request_id: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut by_request: HashMap<(&str, &str, &str), Vec<usize>> = HashMap::new();
        for (index, event) in events.iter().enumerate() {
            if !event.request_id.is_empty() {
                by_request_id
                    .entry(event.request_id.as_str())
                    .or_default()
                    .push(index);
            }
            by_request
                .entry((
                    event.identity.as_str(),
                    event.method.as_str(),
                    event.endpoint.as_str(),
                ))
                .or_default()
                .push(index);
        }
        DeniedIndex {
            events,
            by_request_id,
            by_request,
        }
    }

    /// Returns the denied events that match a test: every event with its request
    /// id, or, when no event carries it or the test has none, the events of the
    /// same identity, method and path within `tolerance_ms` of the test.
    fn matches(&self, test: &TestResult, tolerance_ms: i64) -> (Vec<usize>, MatchedBy) {
        if !test.request_id.is_empty()
            && let Some(indexes) = self.by_request_id.get(test.request_id.as_str())
        {
            return (indexes.clone(), MatchedBy::RequestId);
        }
        // NOTE: a test without identity (state `missing`) and without a matched
        // request id never matches here, because every log event has an identity
        // (a gateway may write `anonymous`) and the test has none.
        let Some(indexes) = self.by_request.get(&(
            test.identity.as_str(),
            test.method.as_str(),
            test.endpoint.as_str(),
        )) else {
            return (Vec::new(), MatchedBy::IdentityMethodEndpoint);
        };
        let earliest = test.executed_at.0.saturating_sub(tolerance_ms);
        let latest = test.executed_at.0.saturating_add(tolerance_ms);
        let start = indexes.partition_point(|&index| self.events[index].time.0 < earliest);
        // NOTE: the fallback also requires the test's environment and service, so a
        // denial of the same request shape in another environment does not count as
        // this test's log event. A request id match requires nothing else.
        let matched = indexes[start..]
            .iter()
            .copied()
            .take_while(|&index| self.events[index].time.0 <= latest)
            .filter(|&index| {
                let event = &self.events[index];
                event.environment == test.environment && event.service == test.service
            })
            .collect();
        (matched, MatchedBy::IdentityMethodEndpoint)
    }
}

/// Selects the tests the two rules judge: expected deny, clearly denied, and of an
/// (environment, service) whose logs were given.
fn judged_tests<'a>(evidence: &Evidence<'a>, access: &AccessData) -> Vec<&'a TestResult> {
    let logged: HashSet<(&str, &str)> = access
        .services
        .iter()
        .map(|(environment, service)| (environment.as_str(), service.as_str()))
        .collect();
    evidence
        .tests
        .unwrap_or_default()
        .iter()
        .filter(|test| {
            test.expected == Expected::Deny
                && logged.contains(&(test.environment.as_str(), test.service.as_str()))
                && classify(test, evidence.settings) == Outcome::ClearDenial
        })
        .collect()
}

fn service_key(environment: &str, service: &str) -> FindingKey {
    FindingKey {
        environment: environment.to_string(),
        service: service.to_string(),
        ..FindingKey::default()
    }
}

/// Evidence of one (environment, service), keyed by borrowed names.
type Gathered<'a, S> = BTreeMap<(&'a str, &'a str), BorrowedHits<'a, S>>;

/// Records one denied test as evidence.
fn add_denied_test<'a, S>(gathered: &mut BorrowedHits<'a, S>, test: &'a TestResult) {
    gathered.test_count += 1;
    gathered.seen(test.executed_at);
    gathered.test_id(&test.test_id);
    gathered.request_id(&test.request_id);
    gathered.risk(test.risk);
}

fn test_record(test: &TestResult) -> serde_json::Value {
    serde_json::json!({
        "test_id": test.test_id,
        "executed_at": test.executed_at.to_rfc3339(),
        "request_id": test.request_id,
        "identity": test.identity,
        "credential_state": test.credential_state.as_str(),
        "method": test.method,
        "endpoint": test.endpoint,
        "status_code": test.status_code,
        "location": test.origin.to_string(),
    })
}

fn tolerance_ms(rule: &Rule) -> i64 {
    rule.params.seconds("match_tolerance").saturating_mul(1_000)
}

/// Reports clearly denied tests, expected to be denied, that no denied event
/// matches.
pub fn denial_not_logged(evidence: &Evidence<'_>, rule: &Rule) -> Vec<Finding> {
    let access = evidence.access.expect("the rule requires --logs");
    let index = DeniedIndex::new(&access.denied);
    let tolerance = tolerance_ms(rule);
    let mut gathered: Gathered<'_, &TestResult> = BTreeMap::new();
    for test in judged_tests(evidence, access) {
        let (matched, _) = index.matches(test, tolerance);
        if !matched.is_empty() {
            continue;
        }
        let service = gathered
            .entry((test.environment.as_str(), test.service.as_str()))
            .or_default();
        add_denied_test(service, test);
        service.location(&test.origin);
        service.sample(&test.test_id, || test);
    }

    let mut findings = FindingSet::new(rule);
    for ((environment, service), tests) in gathered {
        tests.record(findings.hit(service_key(environment, service)), test_record);
    }
    findings.finish(evidence.inventory)
}

/// Returns whether a denied event has a non-empty value for `field`.
fn has_field(event: &DeniedEvent, field: ContextField) -> bool {
    let value = match field {
        ContextField::Identity => &event.identity,
        ContextField::Environment => &event.environment,
        ContextField::Service => &event.service,
        ContextField::Method => &event.method,
        ContextField::Endpoint => &event.endpoint,
        ContextField::Action => &event.action,
        ContextField::Reason => &event.reason,
        ContextField::RequestId => &event.request_id,
    };
    !value.trim().is_empty()
}

/// Returns the indexes of the requirements an event does not meet.
fn unmet(event: &DeniedEvent, required: &[ContextRequirement]) -> Vec<usize> {
    required
        .iter()
        .enumerate()
        .filter(|(_, requirement)| !requirement.is_met(|field| has_field(event, field)))
        .map(|(index, _)| index)
        .collect()
}

/// A denied test with the event it matched and what that event lacks.
struct IncompleteDenial<'a> {
    test: &'a TestResult,
    event: &'a DeniedEvent,
    missing: Vec<usize>,
    matched_by: MatchedBy,
}

/// Reports clearly denied tests whose matching denied event lacks required context.
/// When several events match, the test is judged on the most complete one, then
/// the one closest in time.
pub fn denial_log_incomplete(evidence: &Evidence<'_>, rule: &Rule) -> Vec<Finding> {
    let access = evidence.access.expect("the rule requires --logs");
    let required = rule.params.context("required_context");
    let index = DeniedIndex::new(&access.denied);
    let tolerance = tolerance_ms(rule);
    let mut gathered: Gathered<'_, IncompleteDenial<'_>> = BTreeMap::new();
    let mut missing_by_service: BTreeMap<(&str, &str), BTreeSet<usize>> = BTreeMap::new();

    for test in judged_tests(evidence, access) {
        let (matched, matched_by) = index.matches(test, tolerance);
        let best = matched
            .into_iter()
            .map(|event_index| {
                let event = &access.denied[event_index];
                let distance = (event.time.0 - test.executed_at.0).abs();
                (unmet(event, required), distance, event_index)
            })
            .min_by(|a, b| (a.0.len(), a.1, a.2).cmp(&(b.0.len(), b.1, b.2)));
        let Some((missing, _, event_index)) = best else {
            continue;
        };
        if missing.is_empty() {
            continue;
        }
        let event = &access.denied[event_index];
        let key = (test.environment.as_str(), test.service.as_str());
        missing_by_service
            .entry(key)
            .or_default()
            .extend(missing.iter().copied());
        let service = gathered.entry(key).or_default();
        add_denied_test(service, test);
        service.event_count += 1;
        service.request_id(&event.request_id);
        service.location(&event.origin);
        service.sample(&test.test_id, || IncompleteDenial {
            test,
            event,
            missing,
            matched_by,
        });
    }

    let mut findings = FindingSet::new(rule);
    for ((environment, service), tests) in gathered {
        let hits = findings.hit(service_key(environment, service));
        tests.record(hits, |denial| {
            let missing: Vec<&str> = denial
                .missing
                .iter()
                .map(|&requirement| required[requirement].text.as_str())
                .collect();
            serde_json::json!({
                "test_id": denial.test.test_id,
                "executed_at": denial.test.executed_at.to_rfc3339(),
                "matched_by": denial.matched_by.as_str(),
                "event_time": denial.event.time.to_rfc3339(),
                "event_request_id": denial.event.request_id,
                "event_location": denial.event.origin.to_string(),
                "missing": missing,
            })
        });
        let names: Vec<String> = missing_by_service
            .get(&(environment, service))
            .into_iter()
            .flatten()
            .map(|&requirement| required[requirement].text.clone())
            .collect();
        hits.detail = join_bounded(&names);
        hits.details
            .insert("missing_fields".to_string(), serde_json::json!(names));
    }
    findings.finish(evidence.inventory)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::{CredentialState, Origin, Timestamp};

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    fn origin(line: u64) -> Origin {
        Origin {
            file: Arc::from("logs.csv"),
            line,
        }
    }

    fn event(time: &str, identity: &str, request_id: &str, line: u64) -> DeniedEvent {
        DeniedEvent {
            time: at(time),
            identity: identity.to_string(),
            environment: "prod".to_string(),
            service: "orders-api".to_string(),
            method: "PATCH".to_string(),
            endpoint: "/v1/orders/7".to_string(),
            action: String::new(),
            reason: String::new(),
            request_id: request_id.to_string(),
            origin: origin(line),
        }
    }

    fn test(time: &str, request_id: &str) -> TestResult {
        TestResult {
            test_id: "t-1".to_string(),
            executed_at: at(time),
            identity: "svc-a".to_string(),
            credential_id: String::new(),
            credential_state: CredentialState::Valid,
            environment: "prod".to_string(),
            service: "orders-api".to_string(),
            method: "PATCH".to_string(),
            endpoint: "/v1/orders/7".to_string(),
            action: String::new(),
            expected: Expected::Deny,
            status_code: 403,
            auth_path: String::new(),
            response_excerpt: String::new(),
            request_id: request_id.to_string(),
            trace_id: String::new(),
            risk: None,
            origin: origin(1),
        }
    }

    #[test]
    fn request_id_match_ignores_time() {
        let events = vec![event("2026-11-01T00:00:00Z", "anonymous", "req-1", 2)];
        let index = DeniedIndex::new(&events);
        let (matched, by) = index.matches(&test("2026-11-03T00:00:00Z", "req-1"), 120_000);
        assert_eq!(matched, vec![0]);
        assert_eq!(by, MatchedBy::RequestId);
    }

    #[test]
    fn fallback_is_inclusive_at_the_tolerance() {
        let events = vec![
            event("2026-11-01T09:57:59Z", "svc-a", "", 2),
            event("2026-11-01T10:02:00Z", "svc-a", "", 3),
            event("2026-11-01T10:02:01Z", "svc-a", "", 4),
        ];
        let index = DeniedIndex::new(&events);
        let (matched, by) = index.matches(&test("2026-11-01T10:00:00Z", ""), 120_000);
        assert_eq!(matched, vec![1]);
        assert_eq!(by, MatchedBy::IdentityMethodEndpoint);
    }

    #[test]
    fn fallback_when_request_id_unmatched() {
        let events = vec![event("2026-11-01T10:00:30Z", "svc-a", "req-other", 2)];
        let index = DeniedIndex::new(&events);
        let (matched, _) = index.matches(&test("2026-11-01T10:00:00Z", "req-1"), 120_000);
        assert_eq!(matched, vec![0]);
    }

    #[test]
    fn fallback_needs_the_same_environment() {
        let mut staging = event("2026-11-01T10:00:30Z", "svc-a", "", 2);
        staging.environment = "staging".to_string();
        let events = vec![staging];
        let index = DeniedIndex::new(&events);
        let (matched, _) = index.matches(&test("2026-11-01T10:00:00Z", ""), 120_000);
        assert!(matched.is_empty());
    }

    #[test]
    fn unmet_lists_requirements_in_order() {
        let required: Vec<ContextRequirement> = ["identity", "action|method+endpoint", "reason"]
            .iter()
            .map(|text| ContextRequirement::parse(text).unwrap())
            .collect();
        let mut denied = event("2026-11-01T10:00:00Z", "svc-a", "", 2);
        assert_eq!(unmet(&denied, &required), vec![2]);
        denied.endpoint = String::new();
        assert_eq!(unmet(&denied, &required), vec![1, 2]);
        denied.action = "orders:update".to_string();
        denied.reason = "scope".to_string();
        assert!(unmet(&denied, &required).is_empty());
    }
}
