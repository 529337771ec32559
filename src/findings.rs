//! Findings: what a rule reports, keyed by the fields that make it distinct, with
//! a stable id and bounded evidence.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::model::inventory::Inventory;
use crate::model::{Origin, Risk, Severity, Timestamp};
use crate::rules::{Rule, Subject};

/// How many sample ids, locations and detail records a finding keeps.
pub const EVIDENCE_SAMPLES: usize = 5;

/// The key fields, by output column name. A rule fills the ones its key has and
/// leaves the rest empty.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct FindingKey {
    pub environment: String,
    pub service: String,
    pub identity: String,
    pub credential_state: String,
    pub method: String,
    pub endpoint: String,
    pub action: String,
    pub auth_path: String,
    pub leak_category: String,
    pub grant: String,
    pub credential_id: String,
    pub initiator: String,
    pub worker: String,
    pub covered_finding_id: String,
}

impl FindingKey {
    /// The key column names, in output order.
    pub const COLUMNS: [&'static str; 14] = [
        "environment",
        "service",
        "identity",
        "credential_state",
        "method",
        "endpoint",
        "action",
        "auth_path",
        "leak_category",
        "grant",
        "credential_id",
        "initiator",
        "worker",
        "covered_finding_id",
    ];

    /// Returns the key values, in [`FindingKey::COLUMNS`] order.
    pub fn values(&self) -> [&str; 14] {
        [
            &self.environment,
            &self.service,
            &self.identity,
            &self.credential_state,
            &self.method,
            &self.endpoint,
            &self.action,
            &self.auth_path,
            &self.leak_category,
            &self.grant,
            &self.credential_id,
            &self.initiator,
            &self.worker,
            &self.covered_finding_id,
        ]
    }

    /// Returns the operation the key names: its action, else `METHOD endpoint`.
    pub fn operation(&self) -> String {
        if !self.action.is_empty() {
            self.action.clone()
        } else {
            format!("{} {}", self.method, self.endpoint)
                .trim()
                .to_string()
        }
    }
}

/// Derives a finding's id from the rule id and the key values only, so it is the
/// same in every run whatever the input order. Each value is length-prefixed, so
/// no two keys can produce the same hashed text.
pub fn finding_id(rule: &str, key: &FindingKey) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"corroborate finding v1\n");
    for (name, value) in
        std::iter::once(("rule", rule)).chain(FindingKey::COLUMNS.into_iter().zip(key.values()))
    {
        hasher.update(format!("{name}:{}:{value}\n", value.len()).as_bytes());
    }
    let digest = hex::encode(hasher.finalize());
    format!("{}-{}", abbreviation(rule), &digest[..16])
}

/// The initials of a rule id, e.g. `ua` for undocumented-access, so ids in a
/// spreadsheet hint at their rule.
fn abbreviation(rule: &str) -> String {
    rule.split('-')
        .filter_map(|word| word.chars().next())
        .collect()
}

/// The state of a finding in the review.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Open,
    Excepted,
    ExceptionExpired,
}

impl Status {
    /// The name written to outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Excepted => "excepted",
            Status::ExceptionExpired => "exception-expired",
        }
    }
}

/// The evidence behind a finding, bounded in size.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Evidence {
    pub request_ids: Vec<String>,
    pub test_ids: Vec<String>,
    /// `file:line` of sample input rows.
    pub locations: Vec<String>,
    /// Rule-specific facts: sample requests, lags, missing fields, proposed grants.
    pub details: BTreeMap<String, serde_json::Value>,
}

/// One finding, as written to the outputs.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub finding_id: String,
    pub rule: String,
    pub title: String,
    pub severity: Severity,
    pub status: Status,
    pub subject: Subject,
    #[serde(flatten)]
    pub key: FindingKey,
    pub owner: String,
    pub first_seen: String,
    pub last_seen: String,
    pub event_count: u64,
    pub test_count: u64,
    pub evidence: Evidence,
    pub frameworks: Vec<String>,
    pub remediation: String,
}

impl Finding {
    /// The order findings are written in: most severe first, then by rule and key.
    pub fn sort_key(&self) -> (std::cmp::Reverse<Severity>, &str, &FindingKey) {
        (std::cmp::Reverse(self.severity), &self.rule, &self.key)
    }
}

/// Everything seen for one key while a rule runs.
#[derive(Debug, Default)]
pub struct Hits {
    pub first_seen: Option<Timestamp>,
    pub last_seen: Option<Timestamp>,
    pub event_count: u64,
    pub test_count: u64,
    request_ids: BTreeSet<String>,
    test_ids: BTreeSet<String>,
    locations: BTreeSet<Origin>,
    samples: BTreeMap<String, serde_json::Value>,
    pub max_risk: Option<Risk>,
    /// Overrides the rule's base severity (e.g. per leak category).
    pub base_severity: Option<Severity>,
    /// Fills the `{detail}` placeholder of the remediation.
    pub detail: String,
    pub details: BTreeMap<String, serde_json::Value>,
}

impl Hits {
    /// Widens the seen interval to include `time`.
    pub fn seen(&mut self, first: Timestamp, last: Timestamp) {
        self.first_seen = Some(self.first_seen.map_or(first, |known| known.min(first)));
        self.last_seen = Some(self.last_seen.map_or(last, |known| known.max(last)));
    }

    pub fn request_id(&mut self, id: &str) {
        keep_smallest(&mut self.request_ids, id.to_string());
    }

    pub fn test_id(&mut self, id: &str) {
        keep_smallest(&mut self.test_ids, id.to_string());
    }

    pub fn location(&mut self, origin: &Origin) {
        if self.locations.len() < EVIDENCE_SAMPLES
            || self.locations.last().is_some_and(|last| origin < last)
        {
            self.locations.insert(origin.clone());
            if self.locations.len() > EVIDENCE_SAMPLES {
                self.locations.pop_last();
            }
        }
    }

    /// Keeps a sample record under a sort key; the smallest keys win.
    pub fn sample(&mut self, sort_key: String, record: serde_json::Value) {
        if self.samples.len() < EVIDENCE_SAMPLES
            || self
                .samples
                .last_key_value()
                .is_some_and(|(last, _)| sort_key < *last)
        {
            self.samples.insert(sort_key, record);
            if self.samples.len() > EVIDENCE_SAMPLES {
                self.samples.pop_last();
            }
        }
    }

    pub fn risk(&mut self, risk: Option<Risk>) {
        self.max_risk = self.max_risk.max(risk);
    }
}

fn keep_smallest(set: &mut BTreeSet<String>, value: String) {
    if value.is_empty() {
        return;
    }
    if set.len() < EVIDENCE_SAMPLES || set.last().is_some_and(|last| value < *last) {
        set.insert(value);
        if set.len() > EVIDENCE_SAMPLES {
            set.pop_last();
        }
    }
}

/// Groups a rule's hits by key and turns them into findings.
pub struct FindingSet<'r> {
    rule: &'r Rule,
    groups: BTreeMap<FindingKey, Hits>,
}

impl<'r> FindingSet<'r> {
    pub fn new(rule: &'r Rule) -> FindingSet<'r> {
        FindingSet {
            rule,
            groups: BTreeMap::new(),
        }
    }

    /// The hits of `key`, created empty on first use.
    pub fn hit(&mut self, key: FindingKey) -> &mut Hits {
        self.groups.entry(key).or_default()
    }

    /// Builds one finding per key. `inventory` supplies identity owners.
    pub fn finish(self, inventory: Option<&Inventory>) -> Vec<Finding> {
        let rule = self.rule;
        self.groups
            .into_iter()
            .map(|(key, hits)| {
                let base = hits.base_severity.unwrap_or(rule.severity);
                let severity = rule.severity_for(base, &key.environment, hits.max_risk);
                let owner = match rule.subject {
                    Subject::Identity => {
                        let name = if key.identity.is_empty() {
                            &key.initiator
                        } else {
                            &key.identity
                        };
                        inventory
                            .and_then(|inventory| inventory.identities.get(name))
                            .map(|identity| identity.owner.clone())
                            .unwrap_or_default()
                    }
                    Subject::Service | Subject::Finding => String::new(),
                };
                let mut details = hits.details;
                if !hits.samples.is_empty() {
                    details.insert(
                        "samples".to_string(),
                        serde_json::Value::Array(hits.samples.into_values().collect()),
                    );
                }
                Finding {
                    finding_id: finding_id(&rule.id, &key),
                    rule: rule.id.clone(),
                    title: rule.title.clone(),
                    severity,
                    status: Status::Open,
                    subject: rule.subject,
                    remediation: fill_template(&rule.remediation, &key, &hits.detail),
                    key,
                    owner,
                    first_seen: hits
                        .first_seen
                        .map(Timestamp::to_rfc3339)
                        .unwrap_or_default(),
                    last_seen: hits
                        .last_seen
                        .map(Timestamp::to_rfc3339)
                        .unwrap_or_default(),
                    event_count: hits.event_count,
                    test_count: hits.test_count,
                    evidence: Evidence {
                        request_ids: hits.request_ids.into_iter().collect(),
                        test_ids: hits.test_ids.into_iter().collect(),
                        locations: hits.locations.iter().map(Origin::to_string).collect(),
                        details,
                    },
                    frameworks: rule.frameworks(),
                }
            })
            .collect()
    }
}

/// Replaces `{field}` placeholders with key values, `{operation}` and `{detail}`.
/// Whitespace runs from the TOML line continuations collapse to single spaces.
pub fn fill_template(template: &str, key: &FindingKey, detail: &str) -> String {
    let mut text = template.to_string();
    for (name, value) in FindingKey::COLUMNS.into_iter().zip(key.values()) {
        text = text.replace(&format!("{{{name}}}"), value);
    }
    text = text
        .replace("{operation}", &key.operation())
        .replace("{detail}", detail);
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finding_id_depends_on_key_only() {
        let key = FindingKey {
            identity: "svc-a".into(),
            service: "orders".into(),
            ..FindingKey::default()
        };
        let same = FindingKey {
            identity: "svc-a".into(),
            service: "orders".into(),
            ..FindingKey::default()
        };
        assert_eq!(
            finding_id("undocumented-access", &key),
            finding_id("undocumented-access", &same)
        );
        assert!(finding_id("undocumented-access", &key).starts_with("ua-"));
    }

    #[test]
    fn finding_id_separates_fields() {
        let a = FindingKey {
            identity: "ab".into(),
            service: "c".into(),
            ..FindingKey::default()
        };
        let b = FindingKey {
            identity: "a".into(),
            service: "bc".into(),
            ..FindingKey::default()
        };
        assert_ne!(finding_id("x", &a), finding_id("x", &b));
    }

    #[test]
    fn fill_template_replaces_placeholders() {
        let key = FindingKey {
            identity: "svc-a".into(),
            method: "GET".into(),
            endpoint: "/v1/x".into(),
            ..FindingKey::default()
        };
        assert_eq!(
            fill_template("Grant {identity}\n  {operation}. {detail}", &key, "now"),
            "Grant svc-a GET /v1/x. now"
        );
    }
}
