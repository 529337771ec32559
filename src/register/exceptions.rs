//! Approved exceptions and how they change a finding's status. An exception in
//! force makes a finding `excepted`; an expired one makes it `exception-expired`
//! and raises an `exception-expired` finding about it.

use std::collections::BTreeMap;

use serde_json::json;

use crate::findings::{Finding, FindingKey, FindingSet, Status};
use crate::model::inventory::Inventory;
use crate::model::{Origin, Timestamp};
use crate::rules::Rule;

/// The rule id of the finding raised for an expired exception.
pub const EXCEPTION_EXPIRED: &str = "exception-expired";

/// A glob with `*` (any run of characters, also none) and `?` (one character).
/// An empty glob matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Glob {
    pattern: Vec<char>,
}

impl Glob {
    pub fn new(pattern: &str) -> Glob {
        Glob {
            pattern: pattern.trim().chars().collect(),
        }
    }

    /// Returns the pattern as written, trimmed.
    pub fn as_str(&self) -> String {
        self.pattern.iter().collect()
    }

    /// Tells whether `value` matches. A value that is empty because the finding's key
    /// lacks the field matches only an empty glob or one made of `*` alone.
    pub fn matches(&self, value: &str) -> bool {
        if self.pattern.is_empty() {
            return true;
        }
        let text: Vec<char> = value.chars().collect();
        let (mut p, mut t) = (0, 0);
        // Where the last `*` was, and the text position it currently absorbs up to.
        let mut backtrack: Option<(usize, usize)> = None;
        while t < text.len() {
            match self.pattern.get(p) {
                Some('*') => {
                    backtrack = Some((p, t));
                    p += 1;
                }
                Some('?') => {
                    p += 1;
                    t += 1;
                }
                Some(&c) if c == text[t] => {
                    p += 1;
                    t += 1;
                }
                _ => match backtrack {
                    Some((star, absorbed)) => {
                        p = star + 1;
                        t = absorbed + 1;
                        backtrack = Some((star, absorbed + 1));
                    }
                    None => return false,
                },
            }
        }
        self.pattern[p..].iter().all(|&c| c == '*')
    }
}

/// One approved deviation, as read from the exceptions input.
#[derive(Clone, Debug)]
pub struct Exception {
    pub exception_id: String,
    /// A rule id, or `*` for every rule.
    pub rule: String,
    /// The exact finding covered; empty when the globs decide.
    pub finding_id: String,
    pub identity: Glob,
    pub service: Glob,
    /// Lower-cased, as environments are compared.
    pub environment: Glob,
    pub approved_by: String,
    pub approved_at: Option<Timestamp>,
    pub expires_at: Timestamp,
    pub justification: String,
    pub ticket: String,
    pub origin: Origin,
}

impl Exception {
    /// Tells whether the exception's scope covers `finding`. A `*` rule does not cover
    /// `exception-expired` findings: only an exception naming that rule does, so a
    /// blanket exception cannot silence the report of its own expiry.
    pub fn covers(&self, finding: &Finding) -> bool {
        let rule_matches = if self.rule == "*" {
            finding.rule != EXCEPTION_EXPIRED
        } else {
            self.rule == finding.rule
        };
        rule_matches
            && (self.finding_id.is_empty() || self.finding_id == finding.finding_id)
            && self.identity.matches(&finding.key.identity)
            && self.service.matches(&finding.key.service)
            && self.environment.matches(&finding.key.environment)
    }

    /// Tells whether the exception is approved and not yet expired at `as_of`.
    pub fn in_force(&self, as_of: Timestamp) -> bool {
        self.approved(as_of) && as_of < self.expires_at
    }

    /// Tells whether the approval had happened by `as_of`. An exception approved after
    /// the review date did not exist at that date and covers nothing.
    pub fn approved(&self, as_of: Timestamp) -> bool {
        self.approved_at.is_none_or(|approved| approved <= as_of)
    }
}

/// The exception that decided a finding's status.
#[derive(Clone, Debug)]
pub struct Coverage {
    pub exception: Exception,
    /// True when the exception had expired at as-of.
    pub expired: bool,
}

/// The outcome of applying the exceptions.
#[derive(Debug, Default)]
pub struct Applied {
    /// By finding id: the exception that made the finding `excepted` or
    /// `exception-expired`.
    pub coverage: BTreeMap<String, Coverage>,
    /// Ids of exceptions that covered no finding (or were approved only after
    /// as-of), sorted.
    pub unused: Vec<String>,
}

/// Picks, among the exceptions covering one finding, the one that decides its
/// status: one in force beats an expired one; among those in force the latest
/// expiry wins, and among expired ones the most recent expiry. Ties go to the
/// smallest exception id, so the choice does not depend on input order.
fn decide<'e>(covering: &[&'e Exception], as_of: Timestamp) -> Option<(&'e Exception, bool)> {
    let best = |candidates: Vec<&'e Exception>| {
        candidates.into_iter().min_by(|a, b| {
            b.expires_at
                .cmp(&a.expires_at)
                .then_with(|| a.exception_id.cmp(&b.exception_id))
        })
    };
    let in_force: Vec<&Exception> = covering
        .iter()
        .copied()
        .filter(|exception| exception.in_force(as_of))
        .collect();
    if let Some(exception) = best(in_force) {
        return Some((exception, false));
    }
    let expired: Vec<&Exception> = covering
        .iter()
        .copied()
        .filter(|exception| exception.approved(as_of) && exception.expires_at <= as_of)
        .collect();
    best(expired).map(|exception| (exception, true))
}

/// Sets the status of every finding an exception covers, and appends one
/// `exception-expired` finding per finding whose exception has expired. The
/// findings are re-sorted by [`Finding::sort_key`]. `expired_rule` is the
/// `exception-expired` rule when it is enabled; without it statuses still change
/// but no finding is added.
pub fn apply(
    findings: &mut Vec<Finding>,
    exceptions: &[Exception],
    expired_rule: Option<&Rule>,
    inventory: Option<&Inventory>,
    as_of: Timestamp,
) -> Applied {
    let mut applied = Applied::default();
    let mut used: BTreeMap<&str, bool> = exceptions
        .iter()
        .map(|exception| (exception.exception_id.as_str(), false))
        .collect();

    for finding in findings.iter_mut() {
        let covering: Vec<&Exception> = exceptions
            .iter()
            .filter(|exception| exception.covers(finding))
            .collect();
        for exception in covering
            .iter()
            .filter(|exception| exception.approved(as_of))
        {
            used.insert(&exception.exception_id, true);
        }
        let Some((exception, expired)) = decide(&covering, as_of) else {
            continue;
        };
        finding.status = if expired {
            Status::ExceptionExpired
        } else {
            Status::Excepted
        };
        applied.coverage.insert(
            finding.finding_id.clone(),
            Coverage {
                exception: exception.clone(),
                expired,
            },
        );
    }
    applied.unused = used
        .into_iter()
        .filter(|(_, was_used)| !was_used)
        .map(|(id, _)| id.to_string())
        .collect();

    if let Some(rule) = expired_rule {
        let raised = expired_findings(findings, &applied, rule, inventory);
        findings.extend(raised);
        findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    }
    applied
}

/// Builds one `exception-expired` finding per finding with an expired exception,
/// carrying the covered finding's evidence counts, seen interval and owner.
fn expired_findings(
    findings: &[Finding],
    applied: &Applied,
    rule: &Rule,
    inventory: Option<&Inventory>,
) -> Vec<Finding> {
    let mut set = FindingSet::new(rule);
    let mut owners = BTreeMap::new();
    for finding in findings {
        let Some(coverage) = applied.coverage.get(&finding.finding_id) else {
            continue;
        };
        if !coverage.expired {
            continue;
        }
        let exception = &coverage.exception;
        let key = FindingKey {
            covered_finding_id: finding.finding_id.clone(),
            ..FindingKey::default()
        };
        let hits = set.hit(key);
        if let (Ok(first), Ok(last)) = (
            Timestamp::parse(&finding.first_seen),
            Timestamp::parse(&finding.last_seen),
        ) {
            hits.seen(first, last);
        }
        hits.event_count = finding.event_count;
        hits.test_count = finding.test_count;
        for id in &finding.evidence.request_ids {
            hits.request_id(id);
        }
        for id in &finding.evidence.test_ids {
            hits.test_id(id);
        }
        hits.location(&exception.origin);
        let covered_key: serde_json::Map<String, serde_json::Value> = FindingKey::COLUMNS
            .into_iter()
            .zip(finding.key.values())
            .filter(|(_, value)| !value.is_empty())
            .map(|(name, value)| (name.to_string(), json!(value)))
            .collect();
        hits.details
            .insert("covered_rule".to_string(), json!(finding.rule));
        hits.details
            .insert("covered_key".to_string(), json!(covered_key));
        hits.details.insert(
            "exception".to_string(),
            json!({
                "exception_id": exception.exception_id,
                "approved_by": exception.approved_by,
                "approved_at": exception.approved_at.map(Timestamp::to_rfc3339),
                "expires_at": exception.expires_at.to_rfc3339(),
                "ticket": exception.ticket,
            }),
        );
        hits.detail = format!(
            "Exception {} expired at {}.",
            exception.exception_id,
            exception.expires_at.to_rfc3339()
        );
        owners.insert(finding.finding_id.clone(), finding.owner.clone());
    }
    let mut raised = set.finish(inventory);
    for finding in &mut raised {
        if let Some(owner) = owners.get(&finding.key.covered_finding_id) {
            finding.owner = owner.clone();
        }
    }
    raised
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_star_and_question_mark() {
        let glob = Glob::new("svc-billing-*");
        assert!(glob.matches("svc-billing-export"));
        assert!(glob.matches("svc-billing-"));
        assert!(!glob.matches("svc-billin"));
        assert!(Glob::new("key-?").matches("key-a"));
        assert!(!Glob::new("key-?").matches("key-ab"));
        assert!(Glob::new("*-api").matches("orders-api"));
        assert!(Glob::new("a*b*c").matches("axxbyyc"));
        assert!(!Glob::new("a*b*c").matches("axxbyy"));
        assert!(Glob::new("*a*a").matches("banana"));
    }

    #[test]
    fn glob_on_empty_value() {
        assert!(Glob::new("").matches(""));
        assert!(Glob::new("*").matches(""));
        assert!(!Glob::new("?").matches(""));
        assert!(!Glob::new("prod").matches(""));
    }

    #[test]
    fn glob_is_case_sensitive() {
        assert!(!Glob::new("SVC-*").matches("svc-a"));
    }
}
