//! `poam.json`: the register's open, excepted and exception-expired items as an
//! OSCAL plan of action and milestones (POA&M).
//!
//! Each item becomes a `poam-item` with one observation (the evidence) and one
//! risk (status, deadline, recommended remediation). An exception becomes a
//! risk-log entry: a risk under an exception in force has status
//! `deviation-approved`, and one whose exception expired is `open` again with a
//! second entry for the expiry. Every UUID is derived from stable text, so the
//! same finding keeps its UUIDs from run to run and two runs with the same
//! inputs and `--as-of` write the same bytes.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::exceptions::Coverage;
use super::remediation::{carried_over_action, priority, target_text};
use super::{Register, RegisterStatus, RowView};
use crate::findings::Finding;
use crate::model::Timestamp;
use crate::rules::{Rule, RuleSet};

/// The OSCAL version the document declares.
pub const OSCAL_VERSION: &str = "1.1.3";

/// The namespace of corroborate's own OSCAL properties. A URN, because the
/// project publishes no web address of its own to put there.
pub const PROPERTY_NAMESPACE: &str = "urn:corroborate:oscal";

/// A UUID derived from `name`: the first 16 bytes of SHA-256 over a fixed prefix
/// and the name, with the version nibble set to 5 and the RFC 9562 variant bits,
/// which is the form OSCAL's UUID pattern accepts. Like a version 5 UUID it is
/// name-based and stable, but it hashes with SHA-256 where RFC 9562 version 5
/// prescribes SHA-1.
pub fn stable_uuid(name: &str) -> String {
    let digest = Sha256::digest(format!("corroborate oscal uuid v1\n{name}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x50;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The inputs of the POA&M.
pub struct PoamInput<'a> {
    /// The register after this run's merge.
    pub register: &'a Register,
    /// This run's findings by id.
    pub findings: &'a BTreeMap<&'a str, &'a Finding>,
    /// By finding id, the exception behind an `excepted` or `exception-expired` status.
    pub coverage: &'a BTreeMap<String, Coverage>,
    pub rules: &'a RuleSet,
    pub as_of: Timestamp,
    /// SHA-256 of every input file, which with `as_of` identifies the document.
    pub input_hashes: Vec<String>,
}

/// Builds a property in corroborate's namespace, or `None` for an empty value,
/// which OSCAL does not allow.
fn prop(name: &str, value: &str) -> Option<Value> {
    let value = value.trim();
    (!value.is_empty()).then(|| json!({ "name": name, "ns": PROPERTY_NAMESPACE, "value": value }))
}

fn props(pairs: &[(&str, &str)]) -> Vec<Value> {
    pairs
        .iter()
        .filter_map(|(name, value)| prop(name, value))
        .collect()
}

/// Joins text into one line for an OSCAL title, which may be neither empty nor
/// span lines.
fn line(text: &str) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if joined.is_empty() {
        "(untitled)".to_string()
    } else {
        joined
    }
}

/// Inserts `value` under `name` unless it is an empty array, which OSCAL does
/// not allow.
fn put(object: &mut Value, name: &str, value: Value) {
    if value.as_array().is_some_and(Vec::is_empty) {
        return;
    }
    object[name] = value;
}

/// Builds the document, or `None` when the register has no open, excepted or
/// exception-expired item: OSCAL requires at least one `poam-item`.
pub fn build(input: &PoamInput<'_>) -> Option<Value> {
    let tool_uuid = stable_uuid("component:corroborate");
    let origins = json!([{ "actors": [{ "type": "tool", "actor-uuid": tool_uuid }] }]);
    let mut observations = Vec::new();
    let mut risks = Vec::new();
    let mut items = Vec::new();
    for row in input.register.rows() {
        let status = match row.status() {
            Some(RegisterStatus::Resolved) | None => continue,
            Some(status) => status,
        };
        let item = Item::new(input, row, status);
        observations.push(item.observation(&origins));
        risks.push(item.risk(&origins));
        items.push(item.poam_item(&origins));
    }
    if items.is_empty() {
        return None;
    }

    let mut hashes = input.input_hashes.clone();
    hashes.sort();
    let as_of = input.as_of.to_rfc3339();
    let document_uuid = stable_uuid(&format!("document\n{as_of}\n{}", hashes.join("\n")));
    let mut metadata = json!({
        "title": "Plan of action and milestones: non-human identity findings",
        "last-modified": as_of,
        "version": as_of,
        "oscal-version": OSCAL_VERSION,
        "remarks": format!(
            "Written by corroborate {} from the exception register as of {as_of}. Items with an \
             exception in force are risks with status deviation-approved.",
            env!("CARGO_PKG_VERSION")
        ),
    });
    put(
        &mut metadata,
        "props",
        json!(props(&[
            ("as-of", &as_of),
            ("tool-version", env!("CARGO_PKG_VERSION"))
        ])),
    );
    Some(json!({
        "plan-of-action-and-milestones": {
            "uuid": document_uuid,
            "metadata": metadata,
            // The OSCAL POA&M model requires an imported SSP or a system id. There
            // is no SSP to import, so a fixed name-based UUID is the id of the set
            // of non-human identities under review.
            // NOTE: the id is not configurable yet, and a team filing into a GRC
            // tool may need its system's own id here.
            "system-id": {
                "identifier-type": "https://ietf.org/rfc/rfc4122",
                "id": stable_uuid("system:non-human identities under review"),
            },
            "local-definitions": {
                "components": [{
                    "uuid": tool_uuid,
                    "type": "software",
                    "title": "corroborate",
                    "description": "Batch analyzer that correlates API test results, access logs \
                                    and entitlement exports of non-human identities.",
                    "props": props(&[("version", env!("CARGO_PKG_VERSION"))]),
                    "status": { "state": "operational" },
                }],
            },
            "observations": observations,
            "risks": risks,
            "poam-items": items,
        }
    }))
}

/// One register item with this run's finding and exception for it.
struct Item<'a> {
    row: RowView<'a>,
    status: RegisterStatus,
    finding: Option<&'a Finding>,
    coverage: Option<&'a Coverage>,
    rule: Option<&'a Rule>,
    as_of: Timestamp,
    id: &'a str,
    title: String,
}

impl<'a> Item<'a> {
    fn new(input: &PoamInput<'a>, row: RowView<'a>, status: RegisterStatus) -> Item<'a> {
        let id = row.get("finding_id");
        let rule = input.rules.rules.get(row.get("rule"));
        let rule_title = rule.map_or(row.get("rule"), |rule| rule.title.as_str());
        Item {
            row,
            status,
            finding: input.findings.get(id).copied(),
            coverage: input.coverage.get(id),
            rule,
            as_of: input.as_of,
            id,
            title: line(&format!("{rule_title}: {}", target_text(&row.key()))),
        }
    }

    fn remediation_text(&self) -> String {
        match (self.finding, self.rule) {
            (Some(finding), _) => finding.remediation.clone(),
            (None, Some(rule)) => {
                carried_over_action(rule, &self.row.key(), self.row.get("last_seen"))
            }
            (None, None) => "See the rule's documentation.".to_string(),
        }
    }

    fn observation(&self, origins: &Value) -> Value {
        let row = &self.row;
        let mut evidence = Vec::new();
        let (description, methods, collected) = match self.finding {
            Some(finding) => {
                for id in &finding.evidence.request_ids {
                    evidence.push(json!({
                        "description": format!("Request `{id}` in the access logs or tests."),
                        "props": props(&[("request-id", id)]),
                    }));
                }
                for id in &finding.evidence.test_ids {
                    evidence.push(json!({
                        "description": format!("API test `{id}`."),
                        "props": props(&[("test-id", id)]),
                    }));
                }
                for location in &finding.evidence.locations {
                    evidence.push(json!({
                        "description": format!("Input row `{location}`."),
                        "props": props(&[("location", location)]),
                    }));
                }
                if !finding.evidence.details.is_empty() {
                    let details =
                        serde_json::to_string_pretty(&finding.evidence.details).unwrap_or_default();
                    evidence.push(json!({
                        "description": format!("Rule-specific details:\n\n```json\n{details}\n```"),
                    }));
                }
                let mut methods = Vec::new();
                if finding.test_count > 0 {
                    methods.push("TEST");
                }
                if finding.event_count > 0 || methods.is_empty() {
                    methods.push("EXAMINE");
                }
                let seen = match (finding.first_seen.as_str(), finding.last_seen.as_str()) {
                    ("", _) | (_, "") => String::new(),
                    (first, last) => format!(" between {first} and {last}"),
                };
                (
                    format!(
                        "{} event(s) and {} test(s){seen} match the rule: {}",
                        finding.event_count,
                        finding.test_count,
                        self.rule
                            .map_or("", |rule| rule.description.as_str())
                            .split_whitespace()
                            .collect::<Vec<_>>()
                            .join(" ")
                    ),
                    methods,
                    self.as_of.to_rfc3339(),
                )
            }
            None => (
                format!(
                    "Not re-evaluated in the review as of {}: this run lacked the inputs the rule \
                     needs. The finding was last observed in the review as of {}.",
                    self.as_of.to_rfc3339(),
                    row.get("last_seen")
                ),
                vec!["EXAMINE"],
                Timestamp::parse(row.get("last_seen"))
                    .map(Timestamp::to_rfc3339)
                    .unwrap_or_default(),
            ),
        };
        let mut observation = json!({
            "uuid": stable_uuid(&format!("observation:{}", self.id)),
            "title": format!("Evidence for {}", self.id),
            "description": description,
            "methods": methods,
            "types": ["finding"],
            "origins": origins,
            "collected": if collected.is_empty() { self.as_of.to_rfc3339() } else { collected },
        });
        put(
            &mut observation,
            "props",
            json!(props(&[("finding-id", self.id), ("rule", row.get("rule"))])),
        );
        put(&mut observation, "relevant-evidence", json!(evidence));
        observation
    }

    fn risk(&self, origins: &Value) -> Value {
        let row = &self.row;
        let id = self.id;
        let risk_status = match self.status {
            RegisterStatus::Excepted => "deviation-approved",
            _ => "open",
        };
        let (description, statement) = match self.rule {
            Some(rule) => (
                line(&rule.docs.detects),
                rule.docs
                    .why
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            None => (self.title.clone(), self.title.clone()),
        };

        let severity = row.get("severity");
        let mut risk = json!({
            "uuid": stable_uuid(&format!("risk:{id}")),
            "title": self.title,
            "description": description,
            "statement": statement,
            "status": risk_status,
            "origins": origins,
            "related-observations": [{ "observation-uuid": stable_uuid(&format!("observation:{id}")) }],
        });
        put(
            &mut risk,
            "props",
            json!(props(&[
                ("finding-id", id),
                ("severity", severity),
                ("priority", row.severity().map_or("", priority)),
            ])),
        );

        // The register's due date, normalised, because a hand-edited one may
        // lack the time zone OSCAL requires.
        let due = Timestamp::parse(row.get("due_date"))
            .ok()
            .map(Timestamp::to_rfc3339);
        let mut remediation = json!({
            "uuid": stable_uuid(&format!("remediation:{id}")),
            "lifecycle": "recommendation",
            "title": "Recommended remediation",
            "description": self.remediation_text(),
            "origins": origins,
        });
        if let Some(due) = due {
            risk["deadline"] = json!(due);
            remediation["tasks"] = json!([{
                "uuid": stable_uuid(&format!("milestone:{id}")),
                "type": "milestone",
                "title": format!("Fixed by the {severity} severity deadline"),
                "timing": { "on-date": { "date": due } },
            }]);
        }
        risk["remediations"] = json!([remediation]);

        let entries = self.risk_log();
        if !entries.is_empty() {
            risk["risk-log"] = json!({ "entries": entries });
        }
        risk
    }

    /// Builds the risk-log entries: the exception's approval and, once it has
    /// run out, its expiry.
    fn risk_log(&self) -> Vec<Value> {
        let row = &self.row;
        let id = self.id;
        let exception_id = row.get("exception_id");
        if exception_id.is_empty()
            || !matches!(
                self.status,
                RegisterStatus::Excepted | RegisterStatus::ExceptionExpired
            )
        {
            return Vec::new();
        }

        let expires = Timestamp::parse(row.get("exception_expires_at")).ok();
        let exception = self.coverage.map(|coverage| &coverage.exception);
        let mut text = format!(
            "Exception {exception_id} approved by {}.",
            row.get("approved_by")
        );
        // Without `approved_at` (optional in the exceptions input, and not kept
        // in the register for items carried over), the entry starts at the
        // review that recorded the exception.
        let approved_at = match exception.and_then(|exception| exception.approved_at) {
            Some(approved_at) => approved_at,
            None => {
                text.push_str(" The approval time is not known: the entry starts at the review that recorded the exception.");
                match exception {
                    Some(_) => self.as_of,
                    None => Timestamp::parse(row.get("last_seen")).unwrap_or(self.as_of),
                }
            }
        };
        if let Some(exception) = exception {
            if !exception.ticket.is_empty() {
                text.push_str(&format!(" Ticket: {}.", exception.ticket));
            }
            if !exception.justification.is_empty() {
                text.push_str(&format!(" Justification: {}", exception.justification));
            }
        }
        let mut approval = json!({
            "uuid": stable_uuid(&format!("risk-log:{id}:{exception_id}:approved")),
            "title": format!("Deviation approved: exception {exception_id}"),
            "description": text,
            "start": approved_at.to_rfc3339(),
            "status-change": "deviation-approved",
        });
        put(
            &mut approval,
            "props",
            json!(props(&[
                ("exception-id", exception_id),
                ("approved-by", row.get("approved_by")),
                (
                    "ticket",
                    exception.map_or("", |exception| exception.ticket.as_str())
                ),
            ])),
        );
        if let Some(expires) = expires {
            approval["end"] = json!(expires.to_rfc3339());
        }

        let mut entries = vec![approval];
        if self.status == RegisterStatus::ExceptionExpired {
            let expired_at = expires.unwrap_or(self.as_of).to_rfc3339();
            entries.push(json!({
                "uuid": stable_uuid(&format!("risk-log:{id}:{exception_id}:expired")),
                "title": format!("Exception {exception_id} expired"),
                "description": format!(
                    "The exception expired at {expired_at} while the finding was still observed; \
                     the risk is open again until it is fixed or the exception is renewed."
                ),
                "start": expired_at,
                "status-change": "open",
            }));
        }
        entries
    }

    fn poam_item(&self, origins: &Value) -> Value {
        let row = &self.row;
        let id = self.id;
        let mut item = json!({
            "uuid": stable_uuid(&format!("poam-item:{id}")),
            "title": self.title,
            "description": self.remediation_text(),
            "origins": origins,
            "related-observations": [{ "observation-uuid": stable_uuid(&format!("observation:{id}")) }],
            "related-risks": [{ "risk-uuid": stable_uuid(&format!("risk:{id}")) }],
        });
        put(
            &mut item,
            "props",
            json!(props(&[
                ("finding-id", id),
                ("rule", row.get("rule")),
                ("status", self.status.as_str()),
                ("severity", row.get("severity")),
                ("owner", row.get("owner")),
                ("first-seen", row.get("first_seen")),
                ("last-seen", row.get("last_seen")),
                ("due-date", row.get("due_date")),
                ("exception-id", row.get("exception_id")),
            ])),
        );
        item
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_uuid_has_version_5_form() {
        let uuid = stable_uuid("poam-item:ua-0123456789abcdef");
        assert_eq!(uuid.len(), 36);
        assert_eq!(&uuid[14..15], "5");
        assert!(matches!(&uuid[19..20], "8" | "9" | "a" | "b"), "{uuid}");
        assert_eq!(uuid, stable_uuid("poam-item:ua-0123456789abcdef"));
        assert_ne!(uuid, stable_uuid("poam-item:ua-0123456789abcdee"));
    }

    #[test]
    fn empty_property_is_left_out() {
        assert!(prop("owner", " ").is_none());
        assert_eq!(prop("owner", "team-a").unwrap()["value"], "team-a");
    }

    #[test]
    fn line_joins_whitespace() {
        assert_eq!(line("a\n  b"), "a b");
        assert_eq!(line(""), "(untitled)");
    }
}
