//! `remediation.csv`: one action per register item that needs fixing (status
//! `open` or `exception-expired`), with its owner, priority and due date.

use std::collections::BTreeMap;
use std::io::Write;

use super::{RegisterStatus, RowView};
use crate::emit::csv::SafeCsv;
use crate::findings::{Finding, FindingKey, fill_template};
use crate::model::Severity;
use crate::rules::{Rule, RuleSet};

/// The columns of `remediation.csv`.
pub const COLUMNS: [&str; 13] = [
    "finding_id",
    "rule",
    "title",
    "status",
    "severity",
    "priority",
    "target",
    "action",
    "owner",
    "first_seen",
    "due_date",
    "exception_id",
    "exception_expires_at",
];

/// Maps a severity to a priority: P1 for critical down to P4 for low.
pub fn priority(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "P1",
        Severity::High => "P2",
        Severity::Medium => "P3",
        Severity::Low => "P4",
    }
}

/// Formats a key's non-empty fields as `name=value` pairs, e.g.
/// `environment=prod service=orders-api identity=svc-a`.
pub fn target_text(key: &FindingKey) -> String {
    FindingKey::COLUMNS
        .into_iter()
        .zip(key.values())
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Fills the remediation template of `rule` for a register item that this run
/// did not see. The run-specific `{detail}` is gone, so it points to the review
/// that last saw the item.
pub fn carried_over_action(rule: &Rule, key: &FindingKey, last_seen: &str) -> String {
    let detail = if last_seen.is_empty() {
        "see the review that last reported it".to_string()
    } else {
        format!("see the review as of {last_seen}")
    };
    fill_template(&rule.remediation, key, &detail)
}

/// One row of `remediation.csv`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Action {
    pub cells: [String; COLUMNS.len()],
}

/// Builds the actions from the merged register. Items seen in this run take the
/// finding's remediation text. Items carried over from an earlier run take the
/// rule's template filled with the key (see [`carried_over_action`]).
pub fn actions<'r>(
    rows: impl Iterator<Item = RowView<'r>>,
    findings: &BTreeMap<&str, &Finding>,
    rules: &RuleSet,
) -> Vec<Action> {
    let mut actions: Vec<Action> = Vec::new();
    for row in rows {
        let status = row.status();
        if !matches!(
            status,
            Some(RegisterStatus::Open | RegisterStatus::ExceptionExpired)
        ) {
            continue;
        }
        let finding_id = row.get("finding_id");
        let rule = rules.rules.get(row.get("rule"));
        let key = row.key();
        let action = match findings.get(finding_id) {
            Some(finding) => finding.remediation.clone(),
            None => rule
                .map(|rule| carried_over_action(rule, &key, row.get("last_seen")))
                .unwrap_or_default(),
        };
        let severity = row.severity();
        actions.push(Action {
            cells: [
                finding_id.to_string(),
                row.get("rule").to_string(),
                rule.map(|rule| rule.title.clone()).unwrap_or_default(),
                row.get("status").to_string(),
                row.get("severity").to_string(),
                severity.map(priority).unwrap_or_default().to_string(),
                target_text(&key),
                action,
                row.get("owner").to_string(),
                row.get("first_seen").to_string(),
                row.get("due_date").to_string(),
                row.get("exception_id").to_string(),
                row.get("exception_expires_at").to_string(),
            ],
        });
    }
    // Soonest due first; then most severe; then by id, so runs diff cleanly.
    actions.sort_by(|a, b| {
        let due = |action: &Action| (action.cells[10].is_empty(), action.cells[10].clone());
        due(a)
            .cmp(&due(b))
            .then_with(|| a.cells[5].cmp(&b.cells[5]))
            .then_with(|| a.cells[0].cmp(&b.cells[0]))
    });
    actions
}

/// Writes `remediation.csv`.
pub fn write_csv(actions: &[Action], out: &mut dyn Write) -> std::io::Result<()> {
    let mut writer = SafeCsv::new(out);
    writer.row(COLUMNS)?;
    for action in actions {
        writer.row(&action.cells)?;
    }
    writer.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_follows_severity() {
        assert_eq!(priority(Severity::Critical), "P1");
        assert_eq!(priority(Severity::Low), "P4");
    }

    #[test]
    fn target_lists_present_fields() {
        let key = FindingKey {
            environment: "prod".into(),
            identity: "svc-a".into(),
            ..FindingKey::default()
        };
        assert_eq!(target_text(&key), "environment=prod identity=svc-a");
    }
}
