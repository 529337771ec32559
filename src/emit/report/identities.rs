//! The identity index and one section per identity: what it may do, what it
//! was seen doing, how it was tested, and what was found, so a reviewer can
//! certify or revoke it.

use std::collections::{BTreeMap, BTreeSet};

use super::charts::{self, date_of};
use super::facts::{IdentityFacts, input_text};
use super::findings::{key_summary, severity_badge, severity_rank, status_label};
use super::html::Html;
use super::{ReportInput, Sections, finding_anchor, identity_anchor, thousands};
use crate::model::Timestamp;
use crate::model::access::VolumeBuckets;

/// The maximum number of identity sections in a report; identities with findings
/// come first. NOTE: a guess at what a browser opens comfortably, not measured.
const MAX_IDENTITY_SECTIONS: usize = 2_000;

/// The maximum number of identities in the index; identities with findings come
/// first. NOTE: a guess at what a browser opens comfortably, not measured.
const MAX_INDEX_ROWS: usize = 10_000;

/// Activity and test rows shown per identity, most events first.
const ROWS_PER_TABLE: usize = 25;

/// Orders identities with findings first, then by name, and keeps `limit`.
fn first_identities<'a>(
    facts: &'a BTreeMap<String, IdentityFacts<'_>>,
    limit: usize,
) -> BTreeSet<&'a str> {
    let mut ordered: Vec<&IdentityFacts<'_>> = facts.values().collect();
    // Stable, so names stay in order within each group.
    ordered.sort_by_key(|identity| identity.findings.is_empty());
    ordered
        .into_iter()
        .take(limit)
        .map(|identity| identity.name.as_str())
        .collect()
}

/// Selects the identities that get a section.
pub fn with_sections<'a>(facts: &'a BTreeMap<String, IdentityFacts<'_>>) -> BTreeSet<&'a str> {
    first_identities(facts, MAX_IDENTITY_SECTIONS)
}

/// Writes the identity index and the identity sections.
pub fn write_identities(
    page: &mut Html,
    input: &ReportInput<'_>,
    facts: &BTreeMap<String, IdentityFacts<'_>>,
    sections: &Sections<'_>,
) {
    page.open("section", &[("class", "block"), ("id", "identities")]);
    page.element(
        "h2",
        &[],
        &format!("Identities ({})", thousands(facts.len() as u64)),
    );
    if facts.is_empty() {
        page.element(
            "p",
            &[("class", "note")],
            "No identity appears in the inputs.",
        );
        page.close("section");
        return;
    }
    page.element(
        "p",
        &[("class", "note")],
        "Every identity the entitlement export, the logs, the tests or the findings \
         name. Select a name for its grants, activity, tests and findings.",
    );

    let indexed = first_identities(facts, MAX_INDEX_ROWS);
    write_index(page, facts, &indexed, &sections.identities);
    if facts.len() > sections.identities.len() {
        page.element(
            "p",
            &[("class", "gap")],
            &format!(
                "The index lists {} and sections are written for {} of {} identities, \
                 those with findings first.",
                thousands(indexed.len() as u64),
                thousands(sections.identities.len() as u64),
                thousands(facts.len() as u64)
            ),
        );
    }
    let buckets = input.access.map(|access| access.volume_buckets);
    for name in &sections.identities {
        write_identity(page, input, &facts[*name], buckets, sections);
        page.raw("\n");
    }
    page.close("section");
}

fn write_index(
    page: &mut Html,
    facts: &BTreeMap<String, IdentityFacts<'_>>,
    indexed: &BTreeSet<&str>,
    sectioned: &BTreeSet<&str>,
) {
    page.open("table", &[("class", "sortable"), ("id", "identity-list")]);
    page.raw("<thead><tr><th data-sort=\"text\">Identity</th><th data-sort=\"text\">Type</th>");
    page.raw("<th data-sort=\"text\">Owner</th><th class=\"num\" data-sort=\"number\">Grants</th>");
    page.raw("<th class=\"num\" data-sort=\"number\">Events</th><th class=\"num\" data-sort=\"number\">Tests</th>");
    page.raw("<th data-sort=\"number\">Findings</th></tr></thead><tbody>");
    for name in indexed {
        let identity = &facts[*name];
        page.open("tr", &[]);
        page.open("td", &[("class", "wrap")]);
        if sectioned.contains(identity.name.as_str()) {
            page.element(
                "a",
                &[("href", &format!("#{}", identity_anchor(&identity.name)))],
                &identity.name,
            );
        } else {
            page.text(&identity.name);
        }
        if identity.record.is_none() {
            page.text(" ");
            page.element("span", &[("class", "tag gap")], "not in entitlements");
        }
        page.close("td");
        page.element("td", &[], &identity.identity_type());
        if identity.record.is_some() && identity.owner().is_empty() {
            page.element("td", &[("class", "gap")], "none");
        } else {
            page.element("td", &[], identity.owner());
        }
        page.element(
            "td",
            &[("class", "num")],
            &thousands(identity.grants.len() as u64),
        );
        page.element("td", &[("class", "num")], &thousands(identity.events));
        page.element("td", &[("class", "num")], &thousands(identity.test_runs));
        let worst = identity
            .findings
            .iter()
            .map(|finding| finding.severity)
            .max();
        let value = worst.map_or("0", severity_rank);
        page.open("td", &[("data-value", value)]);
        if let Some(worst) = worst {
            severity_badge(page, worst);
            page.text(&format!(" {}", identity.findings.len()));
        }
        page.close("td");
        page.close("tr");
    }
    page.raw("</tbody>");
    page.close("table");
}

fn fact(page: &mut Html, name: &str, value: &str) {
    page.element("dt", &[], name);
    page.element("dd", &[], value);
}

fn time_text(time: Option<Timestamp>) -> String {
    time.map(Timestamp::to_rfc3339).unwrap_or_default()
}

fn write_identity(
    page: &mut Html,
    input: &ReportInput<'_>,
    identity: &IdentityFacts<'_>,
    buckets: Option<VolumeBuckets>,
    sections: &Sections<'_>,
) {
    let class = if identity.findings.is_empty() {
        "identity"
    } else {
        "identity has-findings"
    };
    page.open(
        "section",
        &[("class", class), ("id", &identity_anchor(&identity.name))],
    );
    page.open("div", &[("class", "headline")]);
    page.element("h3", &[("class", "wrap")], &identity.name);
    let kind = identity.identity_type();
    if !kind.is_empty() {
        page.element("span", &[("class", "tag")], &kind);
    }
    if let Some(worst) = identity
        .findings
        .iter()
        .map(|finding| finding.severity)
        .max()
    {
        severity_badge(page, worst);
    }
    page.close("div");

    page.open("dl", &[("class", "facts")]);
    match identity.record {
        Some(record) => {
            if record.owner.is_empty() {
                page.element("dt", &[], "Owner");
                page.element("dd", &[("class", "gap")], "none recorded");
            } else {
                fact(page, "Owner", &record.owner);
            }
            if !record.consumers.is_empty() {
                let consumers: Vec<String> =
                    record.consumers.iter().map(|c| input_text(c)).collect();
                fact(page, "Consumers", &consumers.join(", "));
            }
            if let Some(revoked) = record.revoked_at {
                fact(page, "Revoked", &revoked.to_rfc3339());
            }
        }
        None => fact(page, "Entitlements", "not in the entitlement export"),
    }
    if input.access.is_some() {
        fact(
            page,
            "Events in window",
            &format!(
                "{} ({} allowed, {} denied)",
                thousands(identity.events),
                thousands(identity.allowed_events),
                thousands(identity.denied_events)
            ),
        );
    }
    if input.tests.is_some() {
        fact(page, "Tests in window", &thousands(identity.test_runs));
    }
    if !identity.credentials_used.is_empty() {
        let used: Vec<&str> = identity
            .credentials_used
            .iter()
            .map(String::as_str)
            .collect();
        fact(page, "Credentials used", &used.join(", "));
    }
    page.close("dl");

    if let (Some(counts), Some(buckets)) = (identity.volume, buckets) {
        write_volume(page, counts, buckets);
    }

    write_grants(page, identity);
    write_activity(page, identity);
    write_tests(page, identity);

    if !identity.findings.is_empty() {
        page.element(
            "h4",
            &[],
            &format!("Findings ({})", identity.findings.len()),
        );
        page.open("ul", &[]);
        for finding in &identity.findings {
            page.open("li", &[]);
            severity_badge(page, finding.severity);
            page.text(" ");
            if sections.findings.contains(finding.finding_id.as_str()) {
                page.element(
                    "a",
                    &[("href", &format!("#{}", finding_anchor(&finding.finding_id)))],
                    &finding.title,
                );
            } else {
                page.text(&format!("{} ({})", finding.title, finding.finding_id));
            }
            page.text(" ");
            status_label(page, finding.status.as_str());
            page.text(&format!(" {}", key_summary(&finding.key)));
            page.close("li");
        }
        page.close("ul");
    }
    page.element(
        "a",
        &[("class", "back"), ("href", "#identity-list")],
        "Back to the identity list",
    );
    page.close("section");
}

fn write_volume(page: &mut Html, counts: &[u32], buckets: VolumeBuckets) {
    let unit = if buckets.width_days == 1 {
        "day".to_string()
    } else {
        format!("{} days", buckets.width_days)
    };
    let peak = counts.iter().copied().max().unwrap_or(0);
    let active = counts.iter().filter(|count| **count > 0).count();
    let first = date_of(&buckets.bucket_start(0).to_rfc3339());
    let last = date_of(
        &buckets
            .bucket_start(counts.len().saturating_sub(1))
            .to_rfc3339(),
    );
    page.element("h4", &[], &format!("Events per {unit}"));
    page.open("div", &[("class", "volume-chart")]);
    let caption = format!(
        "Events per {unit}: peak {peak}, active in {active} of {} buckets",
        counts.len()
    );
    charts::volume_chart(page, counts, &caption);
    page.element(
        "span",
        &[("class", "scale")],
        &format!(
            "peak {} per {unit} · active in {active} of {} · {first} to {last}",
            thousands(u64::from(peak)),
            counts.len(),
        ),
    );
    page.close("div");
}

fn write_grants(page: &mut Html, identity: &IdentityFacts<'_>) {
    if identity.grants.is_empty() {
        if identity.record.is_some() {
            page.element("h4", &[], "Grants");
            page.element(
                "p",
                &[("class", "note")],
                "No grant in the entitlement export.",
            );
        }
        return;
    }
    page.element("h4", &[], &format!("Grants ({})", identity.grants.len()));
    page.open("table", &[]);
    page.raw("<thead><tr><th>Environment</th><th>Service</th><th>Grant</th><th>Risk</th>");
    page.raw("<th>Status</th><th>Granted</th><th>Revoked</th><th class=\"num\">Allowed events covered</th></tr></thead><tbody>");
    for grant_use in &identity.grants {
        let grant = grant_use.grant;
        page.open("tr", &[]);
        page.element("td", &[], grant.environment_text());
        page.element("td", &[], grant.service_text());
        page.open("td", &[]);
        page.element("code", &[], &input_text(&grant.text()));
        page.close("td");
        page.element("td", &[], grant.risk.map_or("", |risk| risk.as_str()));
        page.element("td", &[], grant.status.as_str());
        page.element("td", &[], &date_of(&time_text(grant.granted_at)));
        page.element("td", &[], &date_of(&time_text(grant.revoked_at)));
        match grant_use.allowed_events {
            Some(0) => page.element("td", &[("class", "num gap")], "unused"),
            Some(events) => page.element("td", &[("class", "num")], &thousands(events)),
            None => page.element("td", &[("class", "num muted")], "no logs"),
        };
        page.close("tr");
    }
    page.raw("</tbody>");
    page.close("table");

    let Some(record) = identity.record else {
        return;
    };
    if record.credentials.is_empty() {
        return;
    }
    page.element("h4", &[], "Credentials");
    page.open("table", &[]);
    page.raw("<thead><tr><th>Credential id</th><th>Created</th><th>Rotated</th><th>Expires</th><th>Revoked</th></tr></thead><tbody>");
    for credential in &record.credentials {
        page.open("tr", &[]);
        page.open("td", &[]);
        page.element("code", &[], &input_text(&credential.id));
        page.close("td");
        for time in [
            credential.created_at,
            credential.rotated_at,
            credential.expires_at,
            credential.revoked_at,
        ] {
            page.element("td", &[], &date_of(&time_text(time)));
        }
        page.close("tr");
    }
    page.raw("</tbody>");
    page.close("table");
}

fn more_rows_note(page: &mut Html, total: usize, what: &str) {
    if total > ROWS_PER_TABLE {
        page.element(
            "p",
            &[("class", "note")],
            &format!(
                "{} more {what} not shown.",
                thousands((total - ROWS_PER_TABLE) as u64)
            ),
        );
    }
}

fn write_activity(page: &mut Html, identity: &IdentityFacts<'_>) {
    if identity.activity.is_empty() {
        return;
    }
    page.element("h4", &[], "Seen doing (access logs, in the window)");
    page.open("table", &[]);
    page.raw("<thead><tr><th>Environment</th><th>Service</th><th>Operation</th><th>Decision</th>");
    page.raw("<th class=\"num\">Events</th><th>Sources</th><th>First</th><th>Last</th></tr></thead><tbody>");
    for activity in identity.activity.iter().take(ROWS_PER_TABLE) {
        page.open("tr", &[]);
        page.element(
            "td",
            &[],
            super::summary::display_environment(&activity.environment),
        );
        page.element("td", &[], &activity.service);
        page.open("td", &[]);
        page.element("code", &[], &activity.operation);
        page.close("td");
        let decision_class = if activity.decision == crate::model::Decision::Deny {
            "gap"
        } else {
            ""
        };
        page.element(
            "td",
            &[("class", decision_class)],
            activity.decision.as_str(),
        );
        page.element("td", &[("class", "num")], &thousands(activity.events));
        page.open("td", &[("class", "wrap")]);
        for source in &activity.sources {
            page.element("span", &[("class", "tag")], source);
            page.text(" ");
        }
        page.close("td");
        page.element("td", &[], &date_of(&activity.first.to_rfc3339()));
        page.element("td", &[], &date_of(&activity.last.to_rfc3339()));
        page.close("tr");
    }
    page.raw("</tbody>");
    page.close("table");
    more_rows_note(page, identity.activity.len(), "operations");
    if !identity.user_agents.is_empty() {
        page.open("p", &[("class", "note")]);
        page.text("User agents: ");
        for (agent, events) in &identity.user_agents {
            page.element(
                "span",
                &[("class", "tag")],
                &format!("{agent} ({})", thousands(*events)),
            );
            page.text(" ");
        }
        page.close("p");
    }
}

fn write_tests(page: &mut Html, identity: &IdentityFacts<'_>) {
    if identity.tests.is_empty() {
        return;
    }
    page.element("h4", &[], "API tests (in the window)");
    page.open("table", &[]);
    page.raw("<thead><tr><th>Environment</th><th>Service</th><th>Request</th><th>Credential</th>");
    page.raw("<th>Expected</th><th class=\"num\">Runs</th><th>Observed</th><th>Last status</th></tr></thead><tbody>");
    for test in identity.tests.iter().take(ROWS_PER_TABLE) {
        page.open("tr", &[]);
        page.element(
            "td",
            &[],
            super::summary::display_environment(&test.environment),
        );
        page.element("td", &[], &test.service);
        page.open("td", &[]);
        page.element("code", &[], &test.request);
        page.close("td");
        page.element("td", &[], test.credential_state.as_str());
        page.element("td", &[], test.expected);
        page.element("td", &[("class", "num")], &thousands(test.runs));
        let mut observed = Vec::new();
        for (count, label) in [
            (test.allowed, "allowed"),
            (test.clear_denials, "denied"),
            (test.unclear_denials, "unclear denial"),
        ] {
            if count > 0 {
                observed.push(format!("{count} {label}"));
            }
        }
        let class = if test.as_expected() { "ok" } else { "gap" };
        page.element("td", &[("class", class)], &observed.join(", "));
        page.element(
            "td",
            &[],
            &format!(
                "{} on {}",
                test.last_status,
                date_of(&test.last_at.to_rfc3339())
            ),
        );
        page.close("tr");
    }
    page.raw("</tbody>");
    page.close("table");
    more_rows_note(page, identity.tests.len(), "test groups");
}
