//! `corroborate explain FINDING_ID`: a finding from an output folder, its
//! evidence, its history in the register and its rule's documentation, as text.

use std::fmt::Write as _;
use std::path::Path;

use super::Register;
use super::update::REGISTER_FILE;
use crate::error::{Error, Result};
use crate::rules::RuleSet;

/// Renders the explanation of `finding_id` from the outputs in `out`. The
/// finding may be in `findings.jsonl`, in `register.csv` (a resolved finding is
/// only there), or both; it is an error when it is in neither.
pub fn render(out: &Path, finding_id: &str, rules: &RuleSet) -> Result<String> {
    let findings_path = out.join("findings.jsonl");
    let finding = match std::fs::read_to_string(&findings_path) {
        Ok(text) => text
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .find(|finding| finding["finding_id"] == finding_id),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(Error::Read {
                path: findings_path,
                source,
            });
        }
    };
    let register_path = out.join(REGISTER_FILE);
    let register = if register_path.is_file() {
        Some(Register::read(&register_path)?)
    } else {
        None
    };
    let row = register
        .as_ref()
        .and_then(|register| register.row(finding_id));
    if finding.is_none() && row.is_none() {
        return Err(Error::Config(format!(
            "finding `{finding_id}` not found in `{}` or `{}`; check the id and the --out folder",
            findings_path.display(),
            register_path.display()
        )));
    }

    let mut text = String::new();
    let rule_id = finding
        .as_ref()
        .and_then(|finding| finding["rule"].as_str())
        .or_else(|| row.map(|row| row.get("rule")))
        .unwrap_or_default()
        .to_string();
    let rule = rules.rules.get(&rule_id);

    match &finding {
        Some(finding) => write_finding(&mut text, finding),
        None => {
            let _ = writeln!(
                text,
                "{finding_id} ({rule_id}) is not among this run's findings; its register row follows."
            );
        }
    }
    match row {
        Some(row) => {
            let _ = writeln!(text, "\nRegister history ({}):", register_path.display());
            for (label, column) in [
                ("status", "status"),
                ("first seen", "first_seen"),
                ("last seen", "last_seen"),
                ("runs seen", "runs_seen"),
                ("reopened", "reopened"),
                ("due date", "due_date"),
                ("owner", "owner"),
                ("exception", "exception_id"),
                ("exception expires", "exception_expires_at"),
                ("approved by", "approved_by"),
                ("resolved at", "resolved_at"),
                ("notes", "notes"),
            ] {
                let value = row.get(column);
                if !value.is_empty() {
                    let _ = writeln!(text, "  {label}: {value}");
                }
            }
            for (name, value) in row.extra_columns() {
                if !value.trim().is_empty() {
                    let _ = writeln!(text, "  {}: {}", name.trim(), value.trim());
                }
            }
        }
        None => {
            let _ = writeln!(
                text,
                "\nRegister history: no row in {}",
                register_path.display()
            );
        }
    }
    if let Some(rule) = rule {
        let paragraph = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
        let _ = writeln!(text, "\nRule {} ({}):", rule.id, rule.title);
        let _ = writeln!(text, "  What it detects: {}", paragraph(&rule.docs.detects));
        let _ = writeln!(text, "  Why it matters: {}", paragraph(&rule.docs.why));
        let _ = writeln!(
            text,
            "  Known false positives: {}",
            paragraph(&rule.docs.false_positives)
        );
        let _ = writeln!(text, "  Evidence: {}", paragraph(&rule.docs.evidence));
    }
    Ok(text)
}

fn write_finding(text: &mut String, finding: &serde_json::Value) {
    let field = |name: &str| match &finding[name] {
        serde_json::Value::String(value) => value.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    };
    let _ = writeln!(
        text,
        "{} {}: {} ({}, {})",
        field("finding_id"),
        field("rule"),
        field("title"),
        field("severity"),
        field("status")
    );
    let key: Vec<String> = crate::findings::FindingKey::COLUMNS
        .into_iter()
        .map(|name| (name, field(name)))
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    let _ = writeln!(text, "  key: {}", key.join(" "));
    for (label, name) in [
        ("owner", "owner"),
        ("first seen in evidence", "first_seen"),
        ("last seen in evidence", "last_seen"),
        ("events", "event_count"),
        ("tests", "test_count"),
        ("remediation", "remediation"),
    ] {
        let value = field(name);
        if !value.is_empty() {
            let _ = writeln!(text, "  {label}: {value}");
        }
    }
    if let Some(frameworks) = finding["frameworks"].as_array() {
        let names: Vec<&str> = frameworks
            .iter()
            .filter_map(|value| value.as_str())
            .collect();
        if !names.is_empty() {
            let _ = writeln!(text, "  frameworks: {}", names.join(", "));
        }
    }
    let evidence = serde_json::to_string_pretty(&finding["evidence"]).unwrap_or_default();
    let _ = writeln!(text, "\nEvidence:");
    for line in evidence.lines() {
        let _ = writeln!(text, "  {line}");
    }
}
