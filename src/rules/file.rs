//! The on-disk shape of a rule file and of `settings.toml`, as TOML.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// A rule file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    pub id: Spanned<String>,
    pub title: String,
    pub severity: Spanned<String>,
    pub subject: Spanned<String>,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    pub description: String,
    #[serde(default)]
    pub raise: Option<RaiseFile>,
    pub frameworks: FrameworksFile,
    pub remediation: RemediationFile,
    #[serde(default)]
    pub params: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
    pub docs: DocsFile,
}

fn enabled_by_default() -> bool {
    true
}

/// Context that raises a finding's severity one level per matching condition.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RaiseFile {
    #[serde(default)]
    pub environments: Vec<String>,
    #[serde(default)]
    pub risks: Vec<Spanned<String>>,
    #[serde(default)]
    pub max: Option<Spanned<String>>,
}

/// Framework controls a rule gives evidence for.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrameworksFile {
    #[serde(default)]
    pub owasp_nhi: Vec<String>,
    #[serde(default)]
    pub nist_csf: Vec<String>,
}

/// The remediation text, with `{placeholder}`s for key fields and `{detail}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemediationFile {
    pub template: Spanned<String>,
}

/// A rule's documentation, rendered into the rule pages and `explain`.
#[derive(Clone, Debug, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct DocsFile {
    pub detects: String,
    pub why: String,
    pub false_positives: String,
    pub evidence: String,
}

/// `settings.toml`: settings every rule shares.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsFile {
    pub outcome: OutcomeFile,
    #[serde(default)]
    pub sla: BTreeMap<Spanned<String>, Spanned<String>>,
}

/// How a test's HTTP answer is classified.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeFile {
    pub clear_denial_codes: Vec<u16>,
    pub masked_denial_codes: Vec<u16>,
    pub soft_denial_patterns: Vec<Spanned<String>>,
}
