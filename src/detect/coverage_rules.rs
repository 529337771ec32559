//! Rules about what the API tests leave out: high-risk identities without tests,
//! and services whose tests never send an invalid credential.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use crate::findings::{Finding, FindingKey, FindingSet};
use crate::model::{CredentialState, Risk, TestResult, fold_enum_text};
use crate::rules::Rule;

use super::Evidence;
use super::details::{BorrowedHits, bounded, join_alternatives, join_bounded};

/// Identities holding, at --as-of, a grant whose risk is in `risks`, with no test
/// in the window naming them.
pub fn untested_high_risk_identity(evidence: &Evidence<'_>, rule: &Rule) -> Vec<Finding> {
    let inventory = evidence
        .inventory
        .expect("the rule requires --entitlements");
    // NOTE: an entry of `risks` that is no risk level matches no grant; the rule
    // file loader accepts any word here.
    let risks: Vec<Risk> = rule
        .params
        .words("risks")
        .iter()
        .filter_map(|word| Risk::parse(word))
        .collect();
    let tested: HashSet<&str> = evidence
        .tests
        .unwrap_or_default()
        .iter()
        .map(|test| test.identity.as_str())
        .collect();
    let (since, until) = evidence.window;

    let mut findings = FindingSet::new(rule);
    for identity in inventory.identities.values() {
        if tested.contains(identity.name.as_str()) {
            continue;
        }
        let risky: Vec<_> = inventory
            .grants_of(&identity.name)
            .filter(|grant| {
                grant.valid_at(evidence.as_of)
                    && grant.risk.is_some_and(|risk| risks.contains(&risk))
            })
            .collect();
        if risky.is_empty() {
            continue;
        }
        let key = FindingKey {
            identity: identity.name.clone(),
            ..FindingKey::default()
        };
        let hits = findings.hit(key);
        let described: Vec<String> = risky
            .iter()
            .map(|grant| {
                let risk = grant.risk.map_or("", Risk::as_str);
                format!("{} ({risk})", grant.text())
            })
            .collect();
        hits.detail = join_bounded(&described);
        let (listed, omitted) = bounded(risky.iter().map(|grant| {
            serde_json::json!({
                "environment": grant.environment_text(),
                "service": grant.service_text(),
                "grant": grant.text(),
                "risk": grant.risk.map(Risk::as_str),
            })
        }));
        hits.details
            .insert("high_risk_grants".to_string(), serde_json::json!(listed));
        if omitted > 0 {
            hits.details.insert(
                "high_risk_grants_omitted".to_string(),
                serde_json::json!(omitted),
            );
        }
        hits.details.insert(
            "untested_window".to_string(),
            serde_json::json!({ "since": since.to_rfc3339(), "until": until.to_rfc3339() }),
        );
        for grant in &risky {
            hits.risk(grant.risk);
            if let Some(origin) = &grant.origin {
                hits.location(origin);
            }
        }
    }
    findings.finish(evidence.inventory)
}

/// Returns whether a state word of `required_states` names `state`, compared as enum
/// values are (case-insensitive, `-` and `_` alike).
fn names_state(word: &str, state: CredentialState) -> bool {
    fold_enum_text(word) == state.as_str()
}

/// Tested (environment, service) pairs with no test for one or more of the
/// credential states in `required_states`.
pub fn negative_test_gap(evidence: &Evidence<'_>, rule: &Rule) -> Vec<Finding> {
    let required = rule.params.words("required_states");
    let mut by_service: BTreeMap<(&str, &str), Vec<&TestResult>> = BTreeMap::new();
    for test in evidence.tests.unwrap_or_default() {
        by_service
            .entry((test.environment.as_str(), test.service.as_str()))
            .or_default()
            .push(test);
    }

    let mut findings = FindingSet::new(rule);
    for ((environment, service), tests) in by_service {
        let states: BTreeSet<CredentialState> =
            tests.iter().map(|test| test.credential_state).collect();
        let absent: Vec<String> = required
            .iter()
            .filter(|word| !states.iter().any(|&state| names_state(word, state)))
            .map(|word| fold_enum_text(word))
            .collect();
        if absent.is_empty() {
            continue;
        }
        let key = FindingKey {
            environment: environment.to_string(),
            service: service.to_string(),
            ..FindingKey::default()
        };
        let hits = findings.hit(key);
        hits.detail = join_alternatives(&absent);
        let mut gathered: BorrowedHits<'_, ()> = BorrowedHits::default();
        for test in &tests {
            gathered.test_count += 1;
            gathered.seen(test.executed_at);
            gathered.test_id(&test.test_id);
            gathered.location(&test.origin);
            gathered.risk(test.risk);
        }
        gathered.record(hits, |()| serde_json::Value::Null);
        let tested: Vec<&str> = states.iter().map(|state| state.as_str()).collect();
        hits.details
            .insert("absent_states".to_string(), serde_json::json!(absent));
        hits.details
            .insert("tested_states".to_string(), serde_json::json!(tested));
        hits.details.insert(
            "tests_in_window".to_string(),
            serde_json::json!(tests.len()),
        );
    }
    findings.finish(evidence.inventory)
}
