//! `manifest.json`: what a run read, which rules it ran, and what it found.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::detect::Skipped;
use crate::findings::Finding;
use crate::ingest::InputFile;
use crate::rules::RuleSet;

/// The manifest of one run.
#[derive(Debug, Serialize)]
pub struct Manifest {
    pub tool: &'static str,
    pub version: &'static str,
    pub as_of: String,
    pub window: Window,
    pub inputs: Vec<InputFile>,
    pub rule_files: Vec<RuleFileEntry>,
    pub rules_evaluated: Vec<String>,
    pub rules_skipped: Vec<Skipped>,
    pub rows: RowCounts,
    pub counts: Counts,
    /// How this run changed the exception register.
    pub register: crate::register::RunDelta,
    /// Milliseconds per stage.
    pub timings_ms: BTreeMap<String, u64>,
}

/// The review window, `[since, until)`.
#[derive(Debug, Serialize)]
pub struct Window {
    pub since: String,
    pub until: String,
}

/// A rule or settings file and its hash, so a run can be reproduced.
#[derive(Debug, Serialize)]
pub struct RuleFileEntry {
    pub id: String,
    pub source: String,
    pub sha256: String,
    pub enabled: bool,
}

/// Rows read, rejected and judged.
#[derive(Debug, Default, Serialize)]
pub struct RowCounts {
    pub rows_read: u64,
    pub rows_rejected: u64,
    pub events_in_window: u64,
    pub events_outside_window: u64,
    pub access_summary_rows: u64,
    pub tests_in_window: u64,
    pub tests_outside_window: u64,
    pub identities: u64,
    pub grants: u64,
}

/// Findings by rule, severity and status.
#[derive(Debug, Default, Serialize)]
pub struct Counts {
    pub findings: u64,
    pub by_rule: BTreeMap<String, u64>,
    pub by_severity: BTreeMap<String, u64>,
    pub by_status: BTreeMap<String, u64>,
}

impl Counts {
    /// Counts findings.
    pub fn of(findings: &[Finding]) -> Counts {
        let mut counts = Counts {
            findings: findings.len() as u64,
            ..Counts::default()
        };
        for finding in findings {
            *counts.by_rule.entry(finding.rule.clone()).or_default() += 1;
            *counts
                .by_severity
                .entry(finding.severity.as_str().to_string())
                .or_default() += 1;
            *counts
                .by_status
                .entry(finding.status.as_str().to_string())
                .or_default() += 1;
        }
        counts
    }
}

/// Lists the rule files and the settings file with their hashes.
pub fn rule_file_entries(rules: &RuleSet) -> Vec<RuleFileEntry> {
    let mut entries: Vec<RuleFileEntry> = rules
        .rules
        .values()
        .map(|rule| RuleFileEntry {
            id: rule.id.clone(),
            source: rule.source.clone(),
            sha256: rule.sha256.clone(),
            enabled: rule.enabled,
        })
        .collect();
    entries.push(RuleFileEntry {
        id: "settings".to_string(),
        source: rules.settings.source.clone(),
        sha256: rules.settings.sha256.clone(),
        enabled: true,
    });
    entries
}
