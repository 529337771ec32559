//! Detection: runs every enabled rule whose inputs were given over the
//! normalised evidence, in parallel, and collects their findings.

mod access_rules;
mod behaviour_rules;
mod coverage_rules;
mod details;
mod lifecycle_rules;
mod logging_rules;
mod outcome;
mod privilege_rules;
mod test_rules;

use std::sync::OnceLock;

use rayon::prelude::*;
use serde::Serialize;

pub use outcome::{Outcome, classify};

use crate::findings::{Finding, FindingKey, Hits};
use crate::model::access::{AccessData, AccessKey, AccessStats};
use crate::model::endpoint::template;
use crate::model::inventory::Inventory;
use crate::model::{TestResult, Timestamp};
use crate::rules::{Rule, RuleSet, Settings};

/// The evidence a run has, already limited to the review window.
pub struct Evidence<'a> {
    /// Tests inside the window, when tests were given.
    pub tests: Option<&'a [TestResult]>,
    pub access: Option<&'a AccessData>,
    pub inventory: Option<&'a Inventory>,
    pub settings: &'a Settings,
    pub as_of: Timestamp,
    /// `[since, until)`.
    pub window: (Timestamp, Timestamp),
    coverage: OnceLock<Vec<Vec<usize>>>,
}

impl<'a> Evidence<'a> {
    pub fn new(
        tests: Option<&'a [TestResult]>,
        access: Option<&'a AccessData>,
        inventory: Option<&'a Inventory>,
        settings: &'a Settings,
        as_of: Timestamp,
        window: (Timestamp, Timestamp),
    ) -> Evidence<'a> {
        Evidence {
            tests,
            access,
            inventory,
            settings,
            as_of,
            window,
            coverage: OnceLock::new(),
        }
    }

    /// For each access summary row, the indexes of the grants that cover it: grants
    /// of the same identity, valid when the events happened, matching environment,
    /// service and operation. Computed once, on all cores, over distinct rows rather
    /// than events.
    pub fn coverage(&self) -> &[Vec<usize>] {
        self.coverage.get_or_init(|| {
            let (Some(access), Some(inventory)) = (self.access, self.inventory) else {
                return Vec::new();
            };
            access
                .rows
                .par_iter()
                .map(|(key, stats)| covering_grants(inventory, key, stats))
                .collect()
        })
    }
}

fn covering_grants(inventory: &Inventory, key: &AccessKey, stats: &AccessStats) -> Vec<usize> {
    let Some(identity) = inventory.identities.get(&key.identity) else {
        return Vec::new();
    };
    identity
        .grants
        .iter()
        .copied()
        .filter(|&index| {
            let grant = &inventory.grants[index];
            grant.valid_at(stats.first)
                && grant.matches_scope(&key.environment, &key.service)
                && grant.covers(&key.method, &key.endpoint, &key.action)
        })
        .collect()
}

/// Whether a rule could run, and why not.
type Requirement = fn(&Evidence<'_>) -> Result<(), &'static str>;

/// A rule's implementation.
struct Detector {
    id: &'static str,
    requires: Requirement,
    run: fn(&Evidence<'_>, &Rule) -> Vec<Finding>,
}

fn needs_tests(evidence: &Evidence<'_>) -> Result<(), &'static str> {
    evidence.tests.map(|_| ()).ok_or("needs --tests")
}

fn needs_tests_or_logs(evidence: &Evidence<'_>) -> Result<(), &'static str> {
    if evidence.tests.is_some() || evidence.access.is_some() {
        Ok(())
    } else {
        Err("needs --tests or --logs")
    }
}

fn needs_logs_and_entitlements(evidence: &Evidence<'_>) -> Result<(), &'static str> {
    if evidence.access.is_some() && evidence.inventory.is_some() {
        Ok(())
    } else {
        Err("needs --logs and --entitlements")
    }
}

fn needs_logs(evidence: &Evidence<'_>) -> Result<(), &'static str> {
    evidence.access.map(|_| ()).ok_or("needs --logs")
}

fn needs_entitlements(evidence: &Evidence<'_>) -> Result<(), &'static str> {
    evidence.inventory.map(|_| ()).ok_or("needs --entitlements")
}

fn needs_tests_and_logs(evidence: &Evidence<'_>) -> Result<(), &'static str> {
    if evidence.tests.is_some() && evidence.access.is_some() {
        Ok(())
    } else {
        Err("needs --tests and --logs")
    }
}

fn needs_logs_or_entitlements(evidence: &Evidence<'_>) -> Result<(), &'static str> {
    if evidence.access.is_some() || evidence.inventory.is_some() {
        Ok(())
    } else {
        Err("needs --logs or --entitlements")
    }
}

fn needs_entitlements_and_tests(evidence: &Evidence<'_>) -> Result<(), &'static str> {
    if evidence.inventory.is_some() && evidence.tests.is_some() {
        Ok(())
    } else {
        Err("needs --entitlements and --tests")
    }
}

fn needs_entitlements_and_activity(evidence: &Evidence<'_>) -> Result<(), &'static str> {
    if evidence.inventory.is_some() && (evidence.tests.is_some() || evidence.access.is_some()) {
        Ok(())
    } else {
        Err("needs --entitlements and --logs or --tests")
    }
}

const DETECTORS: &[Detector] = &[
    Detector {
        id: "invalid-credential-accepted",
        requires: needs_tests,
        run: test_rules::invalid_credential_accepted,
    },
    Detector {
        id: "privilege-boundary-bypass",
        requires: needs_tests,
        run: test_rules::privilege_boundary_bypass,
    },
    Detector {
        id: "silent-auth-fallback",
        requires: needs_tests_or_logs,
        run: test_rules::silent_auth_fallback,
    },
    Detector {
        id: "unclear-denial",
        requires: needs_tests,
        run: test_rules::unclear_denial,
    },
    Detector {
        id: "denial-leaks-detail",
        requires: needs_tests,
        run: test_rules::denial_leaks_detail,
    },
    Detector {
        id: "entitled-action-denied",
        requires: needs_tests,
        run: test_rules::entitled_action_denied,
    },
    Detector {
        id: "undocumented-access",
        requires: needs_logs_and_entitlements,
        run: access_rules::undocumented_access,
    },
    Detector {
        id: "unknown-identity",
        requires: needs_entitlements_and_activity,
        run: access_rules::unknown_identity,
    },
    Detector {
        id: "unused-entitlement",
        requires: needs_logs_and_entitlements,
        run: access_rules::unused_entitlement,
    },
    Detector {
        id: "dormant-identity",
        requires: needs_logs_and_entitlements,
        run: access_rules::dormant_identity,
    },
    Detector {
        id: "denial-not-logged",
        requires: needs_tests_and_logs,
        run: logging_rules::denial_not_logged,
    },
    Detector {
        id: "denial-log-incomplete",
        requires: needs_tests_and_logs,
        run: logging_rules::denial_log_incomplete,
    },
    Detector {
        id: "revoked-credential-used",
        requires: needs_logs_and_entitlements,
        run: lifecycle_rules::revoked_credential_used,
    },
    Detector {
        id: "stale-credential",
        requires: needs_entitlements,
        run: lifecycle_rules::stale_credential,
    },
    Detector {
        id: "orphaned-identity",
        requires: needs_entitlements,
        run: lifecycle_rules::orphaned_identity,
    },
    Detector {
        id: "shared-identity",
        requires: needs_logs_or_entitlements,
        run: behaviour_rules::shared_identity,
    },
    Detector {
        id: "cross-environment-credential",
        requires: needs_tests_or_logs,
        run: behaviour_rules::cross_environment_credential,
    },
    Detector {
        id: "human-use-of-service-identity",
        requires: needs_logs,
        run: behaviour_rules::human_use_of_service_identity,
    },
    Detector {
        id: "async-privilege-escalation",
        requires: needs_logs_and_entitlements,
        run: behaviour_rules::async_privilege_escalation,
    },
    Detector {
        id: "over-broad-grant",
        requires: needs_logs_and_entitlements,
        run: privilege_rules::over_broad_grant,
    },
    Detector {
        id: "untested-high-risk-identity",
        requires: needs_entitlements_and_tests,
        run: coverage_rules::untested_high_risk_identity,
    },
    Detector {
        id: "negative-test-gap",
        requires: needs_tests,
        run: coverage_rules::negative_test_gap,
    },
];

/// Why a rule did not run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub rule: String,
    pub reason: String,
}

/// What detection produced.
#[derive(Debug, Default)]
pub struct Detection {
    /// Sorted by [`Finding::sort_key`].
    pub findings: Vec<Finding>,
    pub evaluated: Vec<String>,
    pub skipped: Vec<Skipped>,
}

/// Runs every enabled rule that has its inputs.
pub fn detect(evidence: &Evidence<'_>, rules: &RuleSet) -> Detection {
    let mut detection = Detection::default();
    let mut runnable: Vec<(&Detector, &Rule)> = Vec::new();
    for rule in rules.rules.values() {
        let skip = |reason: &str| Skipped {
            rule: rule.id.clone(),
            reason: reason.to_string(),
        };
        if !rule.enabled {
            detection.skipped.push(skip("disabled in its rule file"));
            continue;
        }
        let Some(detector) = DETECTORS.iter().find(|detector| detector.id == rule.id) else {
            detection
                .skipped
                .push(skip("not implemented in this version"));
            continue;
        };
        match (detector.requires)(evidence) {
            Ok(()) => runnable.push((detector, rule)),
            Err(reason) => detection.skipped.push(skip(reason)),
        }
    }

    let mut findings: Vec<Finding> = runnable
        .par_iter()
        .flat_map_iter(|(detector, rule)| (detector.run)(evidence, rule))
        .collect();
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    detection.findings = findings;
    detection.evaluated = runnable.iter().map(|(_, rule)| rule.id.clone()).collect();
    detection
}

/// The endpoint of a key: the template of a request path.
fn endpoint_key(path: &str) -> String {
    template(path).into_owned()
}

/// Records one summary row of events as evidence.
fn add_access_row(hits: &mut Hits, key: &AccessKey, stats: &AccessStats) {
    hits.event_count += stats.count;
    hits.seen(stats.first, stats.last);
    for id in &stats.request_ids {
        hits.request_id(id);
    }
    hits.location(&stats.origin);
    hits.sample(
        format!("{}\u{0}{}", stats.origin, key.identity),
        serde_json::json!({
            "identity": key.identity,
            "credential_id": key.credential_id,
            "method": key.method,
            "endpoint": key.endpoint,
            "action": key.action,
            "decision": key.decision.as_str(),
            "source": key.source,
            "events": stats.count,
            "first": stats.first.to_rfc3339(),
            "last": stats.last.to_rfc3339(),
        }),
    );
}

/// A key with the operation of an event: its action when it has one, else its
/// method and endpoint template.
fn operation_key(mut key: FindingKey, method: &str, endpoint: &str, action: &str) -> FindingKey {
    if action.is_empty() {
        key.method = method.to_string();
        key.endpoint = endpoint_key(endpoint);
    } else {
        key.action = action.to_string();
    }
    key
}
