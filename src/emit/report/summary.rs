//! The summary, trend and visibility sections.

use std::collections::BTreeMap;

use super::charts::{self, Bar, SEVERITIES};
use super::facts::{Share, Visibility};
use super::findings::{key_summary, severity_badge};
use super::html::Html;
use super::{RegisterView, ReportInput, thousands};
use crate::emit::history::History;
use crate::findings::{Finding, Status};
use crate::model::{Severity, Timestamp};
use crate::register::{RegisterStatus, RowView};
use crate::rules::Subject;

/// How many of the latest runs the trend chart shows.
const TREND_RUNS: usize = 24;

/// How many rows resolved in this run the summary lists.
const RESOLVED_ROWS: usize = 100;

fn tile(page: &mut Html, value: &str, label: &str, warn: bool) {
    tile_with_class(page, value, label, if warn { "tile warn" } else { "tile" });
}

fn tile_with_class(page: &mut Html, value: &str, label: &str, class: &str) {
    page.open("div", &[("class", class)]);
    page.element("span", &[("class", "n")], value);
    page.element("span", &[("class", "l")], label);
    page.close("div");
}

/// Returns the owner a finding is charted and filtered under.
pub fn owner_label(finding: &Finding) -> String {
    if !finding.owner.is_empty() {
        finding.owner.clone()
    } else if finding.subject == Subject::Identity {
        "(no owner)".to_string()
    } else {
        "(service-level)".to_string()
    }
}

/// Groups findings into bars by `group`, most findings first, then by label.
fn grouped_bars(findings: &[Finding], group: impl Fn(&Finding) -> String) -> Vec<Bar> {
    let mut counts: BTreeMap<String, BTreeMap<Severity, u64>> = BTreeMap::new();
    for finding in findings {
        *counts
            .entry(group(finding))
            .or_default()
            .entry(finding.severity)
            .or_default() += 1;
    }
    let mut bars: Vec<Bar> = counts
        .into_iter()
        .map(|(label, by_severity)| Bar {
            label,
            segments: SEVERITIES
                .iter()
                .map(|severity| (*severity, by_severity.get(severity).copied().unwrap_or(0)))
                .collect(),
        })
        .collect();
    bars.sort_by(|a, b| {
        let total = |bar: &Bar| bar.segments.iter().map(|(_, n)| n).sum::<u64>();
        total(b).cmp(&total(a))
    });
    bars
}

/// Writes the summary: the run's facts, inputs, register delta and charts.
pub fn write_summary(page: &mut Html, input: &ReportInput<'_>) {
    let manifest = input.manifest;
    let findings = input.findings;
    page.open("section", &[("class", "block"), ("id", "summary")]);
    page.element("h2", &[], "Summary");

    page.open("div", &[("class", "tiles")]);
    tile(page, &thousands(findings.len() as u64), "findings", false);
    for severity in SEVERITIES {
        let count = findings.iter().filter(|f| f.severity == severity).count() as u64;
        tile_with_class(
            page,
            &thousands(count),
            severity.as_str(),
            &format!("tile {severity}"),
        );
    }
    for status in [Status::Open, Status::Excepted, Status::ExceptionExpired] {
        let count = findings.iter().filter(|f| f.status == status).count() as u64;
        tile(page, &thousands(count), status.as_str(), false);
    }
    page.close("div");

    page.element("h4", &[], "Run");
    page.open("dl", &[("class", "facts")]);
    let rows = &manifest.rows;
    let facts: Vec<(&str, String)> = vec![
        ("As of", manifest.as_of.clone()),
        (
            "Review window",
            format!(
                "{} to {} (end excluded)",
                manifest.window.since, manifest.window.until
            ),
        ),
        (
            "Rules",
            format!(
                "{} evaluated, {} not run (see Visibility)",
                manifest.rules_evaluated.len(),
                manifest.rules_skipped.len()
            ),
        ),
        (
            "Rows",
            format!(
                "{} read, {} rejected (rejects.csv)",
                thousands(rows.rows_read),
                thousands(rows.rows_rejected)
            ),
        ),
        (
            "Access events",
            format!(
                "{} in the window, {} outside, as {} summary rows",
                thousands(rows.events_in_window),
                thousands(rows.events_outside_window),
                thousands(rows.access_summary_rows)
            ),
        ),
        (
            "API tests",
            format!(
                "{} in the window, {} outside",
                thousands(rows.tests_in_window),
                thousands(rows.tests_outside_window)
            ),
        ),
        (
            "Entitlements",
            format!(
                "{} identities, {} grants",
                thousands(rows.identities),
                thousands(rows.grants)
            ),
        ),
    ];
    for (name, value) in facts {
        page.element("dt", &[], name);
        page.element("dd", &[], &value);
    }
    page.close("dl");

    write_delta(page, input);
    write_inputs(page, input);

    page.element("h4", &[], "Findings");
    charts::severity_legend(page);
    page.open("div", &[("class", "charts")]);
    let by_severity: Vec<Bar> = SEVERITIES
        .iter()
        .map(|severity| Bar {
            label: severity.as_str().to_string(),
            segments: vec![(
                *severity,
                findings.iter().filter(|f| f.severity == *severity).count() as u64,
            )],
        })
        .collect();
    charts::bar_chart(page, "By severity", &by_severity);
    charts::bar_chart(
        page,
        "By rule",
        &grouped_bars(findings, |finding| finding.rule.clone()),
    );
    charts::bar_chart(page, "By owner", &grouped_bars(findings, owner_label));
    page.close("div");
    page.close("section");
    page.raw("\n");
}

fn write_delta(page: &mut Html, input: &ReportInput<'_>) {
    page.element(
        "h4",
        &[],
        "Change since the previous run (exception register)",
    );
    let Some(view) = input.register else {
        page.element(
            "p",
            &[("class", "note")],
            "Not available: this run did not update an exception register, so new, \
             reopened and resolved findings cannot be told apart.",
        );
        return;
    };
    let delta = view.delta;
    page.open("div", &[("class", "tiles")]);
    for (count, label, warn) in [
        (delta.new, "new", delta.new > 0),
        (delta.still_open, "still open", false),
        (delta.reopened, "reopened", delta.reopened > 0),
        (delta.resolved, "resolved", false),
        (delta.excepted, "excepted", false),
        (
            delta.exception_expired,
            "exception expired",
            delta.exception_expired > 0,
        ),
        (delta.carried_over, "carried over (rule not run)", false),
    ] {
        tile(page, &thousands(count), label, warn);
    }
    page.close("div");
    let previous = match &delta.previous {
        Some(path) => format!("Compared with the register {path}"),
        None => "No previous register: this run started one, so every finding is new".to_string(),
    };
    page.element(
        "p",
        &[("class", "note")],
        &format!(
            "{previous}. The register now has {} rows.",
            thousands(delta.rows)
        ),
    );
    if !delta.unused_exceptions.is_empty() {
        page.element(
            "p",
            &[("class", "note")],
            &format!(
                "Exceptions that covered no finding in this run: {}.",
                delta.unused_exceptions.join(", ")
            ),
        );
    }
    write_resolved(page, input, view);
}

/// Lists the register rows this run resolved, which have no finding section.
fn write_resolved(page: &mut Html, input: &ReportInput<'_>, view: RegisterView<'_>) {
    let resolved: Vec<RowView<'_>> = view
        .register
        .rows()
        .filter(|row| {
            row.status() == Some(RegisterStatus::Resolved)
                && Timestamp::parse(row.get("resolved_at")).ok() == Some(input.as_of)
        })
        .collect();
    if resolved.is_empty() {
        return;
    }
    page.element(
        "h4",
        &[],
        &format!("Resolved in this run ({})", resolved.len()),
    );
    page.open("table", &[]);
    page.raw("<thead><tr><th>Severity</th><th>Finding</th><th>Rule</th><th>Key</th>");
    page.raw("<th>Owner</th><th>First seen</th></tr></thead><tbody>");
    for row in resolved.iter().take(RESOLVED_ROWS) {
        page.open("tr", &[]);
        page.open("td", &[]);
        match row.severity() {
            Some(severity) => severity_badge(page, severity),
            None => {
                page.text(row.get("severity"));
            }
        }
        page.close("td");
        page.open("td", &[]);
        page.element("code", &[], row.get("finding_id"));
        page.close("td");
        page.element("td", &[], row.get("rule"));
        page.element("td", &[("class", "wrap")], &key_summary(&row.key()));
        page.element("td", &[], row.get("owner"));
        page.element("td", &[], row.get("first_seen"));
        page.close("tr");
    }
    page.raw("</tbody>");
    page.close("table");
    if resolved.len() > RESOLVED_ROWS {
        page.element(
            "p",
            &[("class", "note")],
            &format!(
                "{} more resolved rows are in register.csv.",
                thousands((resolved.len() - RESOLVED_ROWS) as u64)
            ),
        );
    }
}

fn write_inputs(page: &mut Html, input: &ReportInput<'_>) {
    page.element("h4", &[], "Inputs");
    let inputs = &input.manifest.inputs;
    if inputs.is_empty() {
        page.element("p", &[("class", "note")], "No input files were read.");
        return;
    }
    page.open("table", &[]);
    page.raw("<thead><tr><th>File</th><th>Kind</th><th>Format</th>");
    page.raw("<th class=\"num\">Rows read</th><th class=\"num\">Rejected</th>");
    page.raw("<th class=\"num\">Bytes</th><th>SHA-256</th></tr></thead><tbody>");
    for file in inputs {
        page.open("tr", &[]);
        page.element("td", &[("class", "wrap")], &file.path);
        page.element("td", &[], file.kind.as_str());
        let compression = serde_json::to_value(file.compression)
            .ok()
            .and_then(|value| value.as_str().map(str::to_string))
            .unwrap_or_default();
        let mut format = file.format.as_str().to_string();
        if !compression.is_empty() && compression != "none" {
            format.push_str(&format!(", {compression}"));
        }
        if file.import_format != "native" {
            format = format!("{} ({format})", file.import_format);
        }
        page.element("td", &[], &format);
        page.element("td", &[("class", "num")], &thousands(file.rows_read));
        page.element("td", &[("class", "num")], &thousands(file.rows_rejected));
        page.element("td", &[("class", "num")], &thousands(file.bytes));
        page.open("td", &[]);
        page.element("code", &[], &file.sha256);
        page.close("td");
        page.close("tr");
    }
    page.raw("</tbody>");
    page.close("table");
}

/// Writes the trend of findings by severity over the runs in the history.
pub fn write_trend(page: &mut Html, history: &History) {
    page.open("section", &[("class", "block"), ("id", "trend")]);
    page.element("h2", &[], "Trend");
    let entries: Vec<_> = history.entries().collect();
    let shown = &entries[entries.len().saturating_sub(TREND_RUNS)..];
    charts::trend_chart(page, "Findings by severity, per run", shown);

    let mut note = format!(
        "From history.jsonl in the output folder: {} run{} recorded",
        entries.len(),
        if entries.len() == 1 { "" } else { "s" }
    );
    if entries.len() > shown.len() {
        note.push_str(&format!(", the latest {} shown", shown.len()));
    }
    note.push_str(". Each run into this folder adds one; a run with the same as-of replaces it.");
    if entries.len() < 2 {
        note.push_str(" A trend appears from the second run on.");
    }
    page.element("p", &[("class", "note")], &note);

    if !history.dropped.is_empty() {
        page.element(
            "p",
            &[("class", "gap")],
            &format!(
                "{} unreadable line(s) of the previous history.jsonl were dropped: {}",
                history.dropped.len(),
                history
                    .dropped
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        );
    }
    page.close("section");
    page.raw("\n");
}

fn share_row(page: &mut Html, what: &str, share: Option<Share>, missing: &str) {
    page.element("div", &[("class", "what")], what);
    match share {
        Some(Share { part, whole }) => {
            charts::share_bar(page, part, whole, what);
            let percent = if whole == 0 {
                "no identities".to_string()
            } else {
                format!(
                    "{} of {} ({:.0} %)",
                    thousands(part),
                    thousands(whole),
                    part as f64 * 100.0 / whole as f64
                )
            };
            page.element("div", &[], &percent);
        }
        None => {
            page.element("div", &[("class", "muted")], "—");
            page.element("div", &[("class", "muted")], missing);
        }
    }
}

/// Writes what the evidence covers: identity shares, services without logs or
/// negative tests, and the rules that did not run.
pub fn write_visibility(page: &mut Html, input: &ReportInput<'_>, visibility: &Visibility) {
    page.open("section", &[("class", "block"), ("id", "visibility")]);
    page.element("h2", &[], "Visibility: what the evidence covers");
    page.element(
        "p",
        &[("class", "note")],
        "Findings can only come from the evidence given. Identities and services \
         outside it may hold problems this report cannot show.",
    );
    page.open("div", &[("class", "shares")]);
    share_row(
        page,
        "Identities in the logs that the entitlement export knows",
        visibility.logged_known,
        "needs logs and entitlements",
    );
    share_row(
        page,
        "Exported identities seen acting in the logs",
        visibility.inventoried_seen,
        "needs logs and entitlements",
    );
    share_row(
        page,
        "Exported identities with an API test",
        visibility.inventoried_tested,
        "needs tests and entitlements",
    );
    page.close("div");

    page.element("h4", &[], "Services");
    if visibility.services.is_empty() {
        page.element(
            "p",
            &[("class", "note")],
            "No service appears in the inputs.",
        );
    } else {
        let gaps: Vec<String> = visibility
            .services
            .iter()
            .filter(|service| {
                service.events == Some(0)
                    || (service.tests.is_some() && !service.missing_negative.is_empty())
            })
            .map(|service| {
                format!(
                    "{} {}",
                    display_environment(&service.environment),
                    service.service
                )
            })
            .collect();
        if !gaps.is_empty() {
            page.element(
                "p",
                &[("class", "gap")],
                &format!(
                    "{} of {} services have no logs in the window or lack a negative test: {}.",
                    gaps.len(),
                    visibility.services.len(),
                    gaps.join(", ")
                ),
            );
        }
        page.open("table", &[("class", "sortable")]);
        page.raw(
            "<thead><tr><th data-sort=\"text\">Environment</th><th data-sort=\"text\">Service</th>",
        );
        page.raw("<th class=\"num\" data-sort=\"number\">Events</th><th class=\"num\" data-sort=\"number\">Tests</th>");
        page.raw("<th data-sort=\"text\">Negative tests (expired, revoked, missing)</th>");
        page.raw(
            "<th class=\"num\" data-sort=\"number\">Identities granted</th></tr></thead><tbody>",
        );
        for service in &visibility.services {
            page.open("tr", &[]);
            page.element("td", &[], display_environment(&service.environment));
            page.element("td", &[("class", "wrap")], &service.service);
            match service.events {
                Some(0) => page.element(
                    "td",
                    &[("class", "num gap"), ("data-value", "0")],
                    "no logs",
                ),
                Some(events) => page.element(
                    "td",
                    &[("class", "num"), ("data-value", &events.to_string())],
                    &thousands(events),
                ),
                None => page.element(
                    "td",
                    &[("class", "num muted"), ("data-value", "-1")],
                    "no logs given",
                ),
            };
            match service.tests {
                Some(tests) => page.element(
                    "td",
                    &[("class", "num"), ("data-value", &tests.to_string())],
                    &thousands(tests),
                ),
                None => page.element(
                    "td",
                    &[("class", "num muted"), ("data-value", "-1")],
                    "no tests given",
                ),
            };
            match service.tests {
                None => page.element("td", &[("class", "muted")], "—"),
                Some(0) => page.element("td", &[("class", "gap")], "untested"),
                Some(_) if service.missing_negative.is_empty() => {
                    page.element("td", &[("class", "ok")], "all three")
                }
                Some(_) => {
                    let missing: Vec<&str> = service
                        .missing_negative
                        .iter()
                        .map(|state| state.as_str())
                        .collect();
                    page.element(
                        "td",
                        &[("class", "gap")],
                        &format!("none {}", missing.join(", ")),
                    )
                }
            };
            page.element(
                "td",
                &[("class", "num")],
                &thousands(service.granted_identities as u64),
            );
            page.close("tr");
        }
        page.raw("</tbody>");
        page.close("table");
    }

    page.element("h4", &[], "Rules that did not run");
    let skipped = &input.manifest.rules_skipped;
    if skipped.is_empty() {
        page.element("p", &[("class", "note")], "Every rule ran.");
    } else {
        page.open("table", &[]);
        page.raw("<thead><tr><th>Rule</th><th>Why</th></tr></thead><tbody>");
        for rule in skipped {
            page.open("tr", &[]);
            page.open("td", &[]);
            page.element("code", &[], &rule.rule);
            page.close("td");
            page.element("td", &[], &rule.reason);
            page.close("tr");
        }
        page.raw("</tbody>");
        page.close("table");
    }
    page.close("section");
    page.raw("\n");
}

/// Returns an environment for display, `(none)` when the input gave none.
pub fn display_environment(environment: &str) -> &str {
    if environment.is_empty() {
        "(none)"
    } else {
        environment
    }
}
