//! The findings list, with filters and sorting, and one section per finding
//! with its key, evidence, register state, remediation and rule documentation.

use std::collections::BTreeSet;

use super::html::Html;
use super::summary::owner_label;
use super::{ReportInput, Sections, finding_anchor, identity_anchor, thousands};
use crate::findings::{Finding, FindingKey};
use crate::model::Severity;
use crate::redact;

/// Characters of an exception's justification and ticket the report shows.
const EXCEPTION_TEXT_CHARS: usize = 500;

/// Nesting depth of evidence details drawn as lists and tables; deeper values
/// are shown as JSON text.
const DETAIL_DEPTH: usize = 4;

/// Returns the sort rank of a severity, most severe highest.
pub fn severity_rank(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "4",
        Severity::High => "3",
        Severity::Medium => "2",
        Severity::Low => "1",
    }
}

/// Writes a severity badge.
pub fn severity_badge(page: &mut Html, severity: Severity) {
    page.element(
        "span",
        &[("class", &format!("badge {severity}"))],
        severity.as_str(),
    );
}

/// Writes a status label.
pub fn status_label(page: &mut Html, status: &str) {
    page.element("span", &[("class", &format!("status {status}"))], status);
}

/// Joins the finding's non-empty key values for one line.
pub fn key_summary(key: &FindingKey) -> String {
    key.values()
        .into_iter()
        .filter(|value| !value.is_empty())
        .collect::<Vec<_>>()
        .join(" · ")
}

fn filter_select(page: &mut Html, name: &'static str, label: &str, values: &BTreeSet<String>) {
    page.open("label", &[]);
    page.text(label);
    page.open("select", &[("name", name)]);
    page.element("option", &[("value", "")], "all");
    for value in values {
        page.element("option", &[("value", value)], value);
    }
    page.close("select");
    page.close("label");
}

/// Writes the list of findings and a section for each.
pub fn write_findings(page: &mut Html, input: &ReportInput<'_>, sections: &Sections<'_>) {
    let findings = input.findings;
    page.open("section", &[("class", "block"), ("id", "findings")]);
    page.element(
        "h2",
        &[],
        &format!("Findings ({})", thousands(findings.len() as u64)),
    );
    if findings.is_empty() {
        page.element("p", &[("class", "note")], "No findings in this run.");
        page.close("section");
        return;
    }

    let mut severities = BTreeSet::new();
    let mut rules = BTreeSet::new();
    let mut owners = BTreeSet::new();
    let mut statuses = BTreeSet::new();
    for finding in findings {
        severities.insert(finding.severity.as_str().to_string());
        rules.insert(finding.rule.clone());
        owners.insert(owner_label(finding));
        statuses.insert(finding.status.as_str().to_string());
    }
    page.open("div", &[("id", "filters"), ("hidden", "")]);
    filter_select(page, "severity", "Severity", &severities);
    filter_select(page, "rule", "Rule", &rules);
    filter_select(page, "owner", "Owner", &owners);
    filter_select(page, "status", "Status", &statuses);
    page.element(
        "button",
        &[("type", "button"), ("id", "filter-reset")],
        "Show all",
    );
    page.element("span", &[("id", "filter-count")], "");
    page.close("div");

    page.open("table", &[("class", "sortable"), ("id", "finding-list")]);
    page.raw(
        "<thead><tr><th data-sort=\"number\">Severity</th><th data-sort=\"text\">Finding</th>",
    );
    page.raw("<th data-sort=\"text\">Rule</th><th data-sort=\"text\">Key</th>");
    page.raw("<th data-sort=\"text\">Owner</th><th data-sort=\"text\">Status</th>");
    page.raw("<th class=\"num\" data-sort=\"number\">Events</th><th class=\"num\" data-sort=\"number\">Tests</th></tr></thead><tbody>");
    for finding in findings {
        let owner = owner_label(finding);
        page.open(
            "tr",
            &[
                ("data-filterable", ""),
                ("data-severity", finding.severity.as_str()),
                ("data-rule", &finding.rule),
                ("data-owner", &owner),
                ("data-status", finding.status.as_str()),
            ],
        );
        page.open("td", &[("data-value", severity_rank(finding.severity))]);
        severity_badge(page, finding.severity);
        page.close("td");
        page.open("td", &[("class", "nowrap")]);
        if sections.findings.contains(finding.finding_id.as_str()) {
            page.element(
                "a",
                &[("href", &format!("#{}", finding_anchor(&finding.finding_id)))],
                &finding.finding_id,
            );
        } else {
            page.text(&finding.finding_id);
        }
        page.close("td");
        page.element("td", &[], &finding.rule);
        page.element("td", &[("class", "wrap")], &key_summary(&finding.key));
        page.element("td", &[("class", "nowrap")], &owner);
        page.open("td", &[]);
        status_label(page, finding.status.as_str());
        page.close("td");
        page.element("td", &[("class", "num")], &thousands(finding.event_count));
        page.element("td", &[("class", "num")], &thousands(finding.test_count));
        page.close("tr");
    }
    page.raw("</tbody>");
    page.close("table");
    page.raw("\n");

    if sections.findings.len() < findings.len() {
        page.element(
            "p",
            &[("class", "gap")],
            &format!(
                "Sections are written for the {} most severe of {} findings; findings.csv \
                 and findings.jsonl hold every finding with its evidence.",
                thousands(sections.findings.len() as u64),
                thousands(findings.len() as u64)
            ),
        );
    }
    for finding in findings {
        if sections.findings.contains(finding.finding_id.as_str()) {
            write_finding(page, input, sections, finding);
            page.raw("\n");
        }
    }
    page.close("section");
}

fn write_finding(
    page: &mut Html,
    input: &ReportInput<'_>,
    sections: &Sections<'_>,
    finding: &Finding,
) {
    let owner = owner_label(finding);
    page.open(
        "section",
        &[
            ("class", &format!("finding {}", finding.severity)),
            ("id", &finding_anchor(&finding.finding_id)),
            ("data-filterable", ""),
            ("data-severity", finding.severity.as_str()),
            ("data-rule", &finding.rule),
            ("data-owner", &owner),
            ("data-status", finding.status.as_str()),
        ],
    );
    page.open("div", &[("class", "headline")]);
    severity_badge(page, finding.severity);
    page.element("h3", &[], &finding.title);
    page.element("code", &[("class", "id")], &finding.finding_id);
    status_label(page, finding.status.as_str());
    page.close("div");

    page.open("div", &[("class", "columns")]);
    page.open("div", &[]);
    page.element("h4", &[], "Key");
    page.open("dl", &[("class", "facts")]);
    for (name, value) in FindingKey::COLUMNS.into_iter().zip(finding.key.values()) {
        if value.is_empty() {
            continue;
        }
        page.element("dt", &[], name);
        page.open("dd", &[]);
        let links_identity = matches!(name, "identity" | "initiator" | "worker")
            && sections.identities.contains(value);
        if links_identity {
            page.element(
                "a",
                &[("href", &format!("#{}", identity_anchor(value)))],
                value,
            );
        } else if name == "covered_finding_id" && sections.findings.contains(value) {
            page.element(
                "a",
                &[("href", &format!("#{}", finding_anchor(value)))],
                value,
            );
        } else {
            page.text(value);
        }
        page.close("dd");
    }
    page.close("dl");
    page.close("div");

    page.open("div", &[]);
    page.element("h4", &[], "Facts");
    page.open("dl", &[("class", "facts")]);
    let subject = serde_json::to_value(finding.subject)
        .ok()
        .and_then(|value| value.as_str().map(str::to_string))
        .unwrap_or_default();
    for (name, value) in [
        ("Rule", finding.rule.clone()),
        ("Subject", subject),
        ("Owner", owner),
        ("First seen", finding.first_seen.clone()),
        ("Last seen", finding.last_seen.clone()),
        (
            "Backed by",
            format!(
                "{} events, {} tests",
                thousands(finding.event_count),
                thousands(finding.test_count)
            ),
        ),
        ("Frameworks", finding.frameworks.join(", ")),
    ] {
        if value.is_empty() {
            continue;
        }
        page.element("dt", &[], name);
        page.element("dd", &[], &value);
    }
    page.close("dl");
    page.close("div");
    page.close("div");

    write_register(page, input, finding);

    page.element("h4", &[], "Remediation");
    page.element("p", &[("class", "remediation")], &finding.remediation);

    write_evidence(page, finding);

    if let Some(rule) = input.rules.rules.get(&finding.rule) {
        page.open("details", &[("class", "docs"), ("open", "")]);
        page.element("summary", &[], &format!("About the rule {}", rule.id));
        page.open("p", &[]);
        text_with_code(page, &rule.description);
        page.close("p");
        page.open("dl", &[("class", "facts")]);
        for (name, text) in [
            ("Detects", &rule.docs.detects),
            ("Why it matters", &rule.docs.why),
            ("False positives", &rule.docs.false_positives),
            ("Evidence", &rule.docs.evidence),
        ] {
            if text.is_empty() {
                continue;
            }
            page.element("dt", &[], name);
            page.open("dd", &[]);
            text_with_code(page, text);
            page.close("dd");
        }
        page.close("dl");
        page.close("details");
    }
    page.element(
        "a",
        &[("class", "back"), ("href", "#finding-list")],
        "Back to the findings list",
    );
    page.close("section");
}

/// Writes rule documentation text, showing `backticked` spans as code.
fn text_with_code(page: &mut Html, text: &str) {
    for (index, part) in text.split('`').enumerate() {
        if index % 2 == 1 {
            page.element("code", &[], part);
        } else {
            page.text(part);
        }
    }
}

fn write_register(page: &mut Html, input: &ReportInput<'_>, finding: &Finding) {
    page.element("h4", &[], "Register");
    let Some(view) = input.register else {
        page.element(
            "p",
            &[("class", "note")],
            "Not available: this run did not update an exception register.",
        );
        return;
    };
    let Some(row) = view.register.row(&finding.finding_id) else {
        page.element(
            "p",
            &[("class", "note")],
            "No register row for this finding.",
        );
        return;
    };
    page.open("dl", &[("class", "facts")]);
    for (name, column) in [
        ("Status", "status"),
        ("First seen", "first_seen"),
        ("Runs seen", "runs_seen"),
        ("Reopened", "reopened"),
        ("Due", "due_date"),
        ("Exception", "exception_id"),
        ("Exception expires", "exception_expires_at"),
        ("Approved by", "approved_by"),
        ("Notes", "notes"),
    ] {
        let value = row.get(column);
        if value.is_empty() {
            continue;
        }
        page.element("dt", &[], name);
        page.open("dd", &[]);
        if column == "status" {
            status_label(page, value);
        } else {
            page.text(value);
        }
        page.close("dd");
    }
    if let Some(coverage) = view.exceptions.get(&finding.finding_id) {
        let exception = &coverage.exception;
        let state = if coverage.expired {
            "expired at as-of"
        } else {
            "in force"
        };
        let approved_at = exception
            .approved_at
            .map(|time| time.to_rfc3339())
            .unwrap_or_default();
        // The exceptions file is an input, so its free text is redacted and cut.
        let justification = redact::excerpt(&exception.justification, EXCEPTION_TEXT_CHARS);
        let ticket = redact::excerpt(&exception.ticket, EXCEPTION_TEXT_CHARS);
        for (name, value) in [
            ("Exception state", state),
            ("Approved at", approved_at.as_str()),
            ("Justification", justification.as_str()),
            ("Ticket", ticket.as_str()),
        ] {
            if !value.is_empty() {
                page.element("dt", &[], name);
                page.element("dd", &[], value);
            }
        }
    }
    page.close("dl");
}

fn tag_list(page: &mut Html, label: &str, values: &[String]) {
    if values.is_empty() {
        return;
    }
    page.element("dt", &[], label);
    page.open("dd", &[]);
    for value in values {
        page.element("span", &[("class", "tag mono")], value);
        page.text(" ");
    }
    page.close("dd");
}

fn write_evidence(page: &mut Html, finding: &Finding) {
    let evidence = &finding.evidence;
    page.element("h4", &[], "Evidence");
    page.open("dl", &[("class", "facts")]);
    tag_list(page, "Request ids", &evidence.request_ids);
    tag_list(page, "Test ids", &evidence.test_ids);
    tag_list(page, "Input rows", &evidence.locations);
    for (name, value) in &evidence.details {
        page.element("dt", &[], &name.replace('_', " "));
        page.open("dd", &[]);
        write_value(page, value, 0);
        page.close("dd");
    }
    page.close("dl");
}

/// Draws a JSON value: objects as term lists, arrays of objects as tables,
/// other arrays as tags, and scalars as text.
fn write_value(page: &mut Html, value: &serde_json::Value, depth: usize) {
    use serde_json::Value;
    if depth >= DETAIL_DEPTH {
        page.element("code", &[], &value.to_string());
        return;
    }
    match value {
        Value::Object(map) => {
            page.open("dl", &[("class", "facts")]);
            for (name, inner) in map {
                page.element("dt", &[], &name.replace('_', " "));
                page.open("dd", &[]);
                write_value(page, inner, depth + 1);
                page.close("dd");
            }
            page.close("dl");
        }
        Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_object) => {
            let mut columns: Vec<&str> = Vec::new();
            for item in items {
                if let Value::Object(map) = item {
                    for name in map.keys() {
                        if !columns.contains(&name.as_str()) {
                            columns.push(name);
                        }
                    }
                }
            }
            page.open("table", &[]);
            page.raw("<thead><tr>");
            for column in &columns {
                page.element("th", &[], &column.replace('_', " "));
            }
            page.raw("</tr></thead><tbody>");
            for item in items {
                page.open("tr", &[]);
                for column in &columns {
                    page.open("td", &[("class", "wrap")]);
                    if let Some(inner) = item.get(*column) {
                        write_value(page, inner, depth + 1);
                    }
                    page.close("td");
                }
                page.close("tr");
            }
            page.raw("</tbody>");
            page.close("table");
        }
        Value::Array(items) => {
            for item in items {
                page.open("span", &[("class", "tag")]);
                write_value(page, item, depth + 1);
                page.close("span");
                page.text(" ");
            }
        }
        Value::String(text) => {
            page.text(text);
        }
        Value::Null => {}
        other => {
            page.text(&other.to_string());
        }
    }
}
