//! Rules judged by correlating access logs with the entitlement export: access
//! no grant covers, identities nobody inventoried, and grants nobody uses.

use std::collections::{BTreeMap, BTreeSet};

use crate::findings::{Finding, FindingKey, FindingSet};
use crate::model::inventory::Inventory;
use crate::model::{CredentialState, Decision};
use crate::rules::Rule;

use super::{Evidence, Outcome, add_access_row, classify, operation_key};

fn inventory<'a>(evidence: &Evidence<'a>) -> &'a Inventory {
    evidence
        .inventory
        .expect("the rule requires --entitlements")
}

/// Allowed events of a known identity that no grant covers.
pub fn undocumented_access(evidence: &Evidence<'_>, rule: &Rule) -> Vec<Finding> {
    let inventory = inventory(evidence);
    let access = evidence.access.expect("the rule requires --logs");
    let coverage = evidence.coverage();
    let mut findings = FindingSet::new(rule);
    for ((key, stats), grants) in access.rows.iter().zip(coverage) {
        if key.decision != Decision::Allow
            || !grants.is_empty()
            || !inventory.identities.contains_key(&key.identity)
        {
            continue;
        }
        let base = FindingKey {
            environment: key.environment.clone(),
            service: key.service.clone(),
            identity: key.identity.clone(),
            ..FindingKey::default()
        };
        let finding_key = operation_key(base, &key.method, &key.endpoint, &key.action);
        add_access_row(findings.hit(finding_key), key, stats);
    }
    findings.finish(evidence.inventory)
}

/// Identities that acted, or were tested with a valid credential and allowed,
/// but that the entitlement export does not list.
pub fn unknown_identity(evidence: &Evidence<'_>, rule: &Rule) -> Vec<Finding> {
    let inventory = inventory(evidence);
    let mut findings = FindingSet::new(rule);
    let key_of = |environment: &str, identity: &str| FindingKey {
        environment: environment.to_string(),
        identity: identity.to_string(),
        ..FindingKey::default()
    };
    for (key, stats) in evidence
        .access
        .map(|access| access.rows.as_slice())
        .unwrap_or_default()
    {
        if key.decision == Decision::Allow && !inventory.identities.contains_key(&key.identity) {
            add_access_row(
                findings.hit(key_of(&key.environment, &key.identity)),
                key,
                stats,
            );
        }
    }
    for test in evidence.tests.unwrap_or_default() {
        if test.credential_state == CredentialState::Valid
            && !test.identity.is_empty()
            && !inventory.identities.contains_key(&test.identity)
            && classify(test, evidence.settings) == Outcome::Allow
        {
            let hits = findings.hit(key_of(&test.environment, &test.identity));
            hits.test_count += 1;
            hits.seen(test.executed_at, test.executed_at);
            hits.test_id(&test.test_id);
            hits.location(&test.origin);
        }
    }
    findings.finish(evidence.inventory)
}

/// Identities with active grants but no event and no test in the window.
fn dormant_identities(evidence: &Evidence<'_>) -> BTreeSet<String> {
    let inventory = inventory(evidence);
    let mut active: BTreeSet<String> = BTreeSet::new();
    for grant in &inventory.grants {
        if grant.valid_at(evidence.as_of) {
            active.insert(grant.identity.clone());
        }
    }
    for (key, _) in evidence
        .access
        .map(|access| access.rows.as_slice())
        .unwrap_or_default()
    {
        active.remove(&key.identity);
    }
    for test in evidence.tests.unwrap_or_default() {
        active.remove(&test.identity);
    }
    active
}

/// Active grants, older than the window, that no allowed in-window event used.
pub fn unused_entitlement(evidence: &Evidence<'_>, rule: &Rule) -> Vec<Finding> {
    let inventory = inventory(evidence);
    let access = evidence.access.expect("the rule requires --logs");
    let mut used = vec![false; inventory.grants.len()];
    for grants in evidence.coverage() {
        for &index in grants {
            used[index] = true;
        }
    }
    let dormant = dormant_identities(evidence);
    let (since, _) = evidence.window;

    let mut findings = FindingSet::new(rule);
    for (index, grant) in inventory.grants.iter().enumerate() {
        let older_than_window = grant.granted_at.is_none_or(|start| start < since);
        let judged = access
            .services
            .iter()
            .any(|(environment, service)| grant.matches_scope(environment, service));
        if used[index]
            || !older_than_window
            || !judged
            || !grant.valid_at(evidence.as_of)
            || dormant.contains(&grant.identity)
        {
            continue;
        }
        let key = FindingKey {
            environment: grant.environment_text().to_string(),
            service: grant.service_text().to_string(),
            identity: grant.identity.clone(),
            grant: grant.text(),
            ..FindingKey::default()
        };
        let hits = findings.hit(key);
        hits.risk(grant.risk);
        if let Some(origin) = &grant.origin {
            hits.location(origin);
        }
        if let Some(granted_at) = grant.granted_at {
            hits.details
                .insert("granted_at".to_string(), granted_at.to_rfc3339().into());
        }
    }
    findings.finish(evidence.inventory)
}

/// Identities with active grants that did nothing in the window.
pub fn dormant_identity(evidence: &Evidence<'_>, rule: &Rule) -> Vec<Finding> {
    let inventory = inventory(evidence);
    let mut active_grants: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for grant in &inventory.grants {
        if grant.valid_at(evidence.as_of) {
            active_grants
                .entry(grant.identity.as_str())
                .or_default()
                .push(format!(
                    "{} {} {}",
                    grant.environment_text(),
                    grant.service_text(),
                    grant.text()
                ));
        }
    }
    let mut findings = FindingSet::new(rule);
    for identity in dormant_identities(evidence) {
        let key = FindingKey {
            identity: identity.clone(),
            ..FindingKey::default()
        };
        let hits = findings.hit(key);
        let grants = active_grants.remove(identity.as_str()).unwrap_or_default();
        hits.detail = format!("{} active grant(s)", grants.len());
        hits.details
            .insert("active_grants".to_string(), serde_json::json!(grants));
        for grant in inventory.grants_of(&identity) {
            hits.risk(grant.risk);
            if let Some(origin) = &grant.origin {
                hits.location(origin);
            }
        }
    }
    findings.finish(evidence.inventory)
}
