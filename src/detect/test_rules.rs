//! Rules judged from API test results: whether services authenticate and
//! authorise as policy requires, and how they deny.

use crate::findings::{Finding, FindingKey, FindingSet, Hits};
use crate::model::{CredentialState, Decision, Expected, TestResult};
use crate::redact;
use crate::rules::Rule;

use super::{Evidence, Outcome, add_access_row, classify, endpoint_key};

/// How many characters of a response excerpt evidence keeps.
const EXCERPT_CHARS: usize = 160;

fn tests<'a>(evidence: &Evidence<'a>) -> &'a [TestResult] {
    evidence.tests.unwrap_or_default()
}

fn state_listed(rule: &Rule, state: CredentialState) -> bool {
    rule.params
        .words("states")
        .iter()
        .any(|listed| CredentialState::parse(listed) == Some(state))
}

/// Records one test as evidence.
fn add_test(hits: &mut Hits, test: &TestResult) {
    hits.test_count += 1;
    hits.seen(test.executed_at, test.executed_at);
    hits.test_id(&test.test_id);
    hits.request_id(&test.request_id);
    hits.location(&test.origin);
    hits.risk(test.risk);
    hits.sample(
        test.test_id.clone(),
        serde_json::json!({
            "test_id": test.test_id,
            "identity": test.identity,
            "credential_state": test.credential_state.as_str(),
            "method": test.method,
            "endpoint": test.endpoint,
            "expected": test.expected.as_str(),
            "status_code": test.status_code,
            "auth_path": test.auth_path,
            "response_excerpt": redact::excerpt(&test.response_excerpt, EXCERPT_CHARS),
        }),
    );
}

fn service_key(test: &TestResult) -> FindingKey {
    FindingKey {
        environment: test.environment.clone(),
        service: test.service.clone(),
        ..FindingKey::default()
    }
}

fn endpoint_finding_key(test: &TestResult, with_identity: bool) -> FindingKey {
    FindingKey {
        identity: if with_identity {
            test.identity.clone()
        } else {
            String::new()
        },
        method: test.method.clone(),
        endpoint: endpoint_key(&test.endpoint),
        ..service_key(test)
    }
}

/// A test with an invalid credential that the service allowed.
pub fn invalid_credential_accepted(evidence: &Evidence<'_>, rule: &Rule) -> Vec<Finding> {
    let mut findings = FindingSet::new(rule);
    for test in tests(evidence) {
        if state_listed(rule, test.credential_state)
            && classify(test, evidence.settings) == Outcome::Allow
        {
            let key = FindingKey {
                credential_state: test.credential_state.as_str().to_string(),
                ..service_key(test)
            };
            add_test(findings.hit(key), test);
        }
    }
    findings.finish(evidence.inventory)
}

/// A test of a request policy forbids, with a valid or under-scoped credential,
/// that the service allowed.
pub fn privilege_boundary_bypass(evidence: &Evidence<'_>, rule: &Rule) -> Vec<Finding> {
    let mut findings = FindingSet::new(rule);
    for test in tests(evidence) {
        if state_listed(rule, test.credential_state)
            && test.expected == Expected::Deny
            && classify(test, evidence.settings) == Outcome::Allow
        {
            add_test(findings.hit(endpoint_finding_key(test, true)), test);
        }
    }
    findings.finish(evidence.inventory)
}

/// An allowed test or event that authenticated through a weak path.
pub fn silent_auth_fallback(evidence: &Evidence<'_>, rule: &Rule) -> Vec<Finding> {
    let weak = rule.params.words("weak_auth_paths");
    let is_weak = |auth_path: &str| {
        !auth_path.is_empty()
            && weak
                .iter()
                .any(|listed| listed.eq_ignore_ascii_case(auth_path))
    };
    let mut findings = FindingSet::new(rule);
    for test in tests(evidence) {
        if is_weak(&test.auth_path) && classify(test, evidence.settings) == Outcome::Allow {
            let key = FindingKey {
                auth_path: test.auth_path.clone(),
                ..service_key(test)
            };
            add_test(findings.hit(key), test);
        }
    }
    for (key, stats) in evidence
        .access
        .map(|access| access.rows.as_slice())
        .unwrap_or_default()
    {
        if key.decision == Decision::Allow && is_weak(&key.auth_path) {
            let finding_key = FindingKey {
                environment: key.environment.clone(),
                service: key.service.clone(),
                auth_path: key.auth_path.clone(),
                ..FindingKey::default()
            };
            add_access_row(findings.hit(finding_key), key, stats);
        }
    }
    findings.finish(evidence.inventory)
}

/// A test that policy requires to be denied and that got an unclear denial.
pub fn unclear_denial(evidence: &Evidence<'_>, rule: &Rule) -> Vec<Finding> {
    let mut findings = FindingSet::new(rule);
    for test in tests(evidence) {
        if test.expected == Expected::Deny
            && classify(test, evidence.settings) == Outcome::UnclearDenial
        {
            add_test(findings.hit(endpoint_finding_key(test, false)), test);
        }
    }
    findings.finish(evidence.inventory)
}

/// A denied test whose response reveals secrets, identifiers or internals.
pub fn denial_leaks_detail(evidence: &Evidence<'_>, rule: &Rule) -> Vec<Finding> {
    let categories = [
        ("secret", "secret_patterns"),
        ("identifier", "identifier_patterns"),
        ("internals", "internals_patterns"),
    ];
    let severities = rule.params.severities("category_severity");
    let mut findings = FindingSet::new(rule);
    for test in tests(evidence) {
        if test.response_excerpt.is_empty() || classify(test, evidence.settings) == Outcome::Allow {
            continue;
        }
        for (category, param) in categories {
            let Some(pattern) = rule
                .params
                .patterns(param)
                .iter()
                .find(|pattern| pattern.is_match(&test.response_excerpt))
            else {
                continue;
            };
            let key = FindingKey {
                leak_category: category.to_string(),
                ..service_key(test)
            };
            let hits = findings.hit(key);
            hits.base_severity = severities.get(category).copied();
            add_test(hits, test);
            hits.details.insert(
                "matched_pattern".to_string(),
                serde_json::Value::String(pattern.as_str().to_string()),
            );
        }
    }
    findings.finish(evidence.inventory)
}

/// A test of a request policy allows that the service denied.
pub fn entitled_action_denied(evidence: &Evidence<'_>, rule: &Rule) -> Vec<Finding> {
    let mut findings = FindingSet::new(rule);
    for test in tests(evidence) {
        if test.expected == Expected::Allow && classify(test, evidence.settings) != Outcome::Allow {
            add_test(findings.hit(endpoint_finding_key(test, true)), test);
        }
    }
    findings.finish(evidence.inventory)
}
