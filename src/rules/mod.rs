//! Rule files: parsing, checking and compiling them into [`RuleSet`]. The default
//! files in the repository's `rules/` folder are built into the binary; `--rules
//! DIR` overrides them file by file. Every problem in every file is collected and
//! reported at once, each with its file and line.

pub mod docs;
mod file;
pub mod params;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use regex::Regex;
use sha2::{Digest, Sha256};
use toml::Spanned;

pub use file::DocsFile;
use file::{RuleFile, SettingsFile};
pub use params::Params;
use params::{accepted_params, compile_param};

use crate::error::{Error, Result};
use crate::model::time::parse_duration;
use crate::model::{Risk, Severity};

macro_rules! builtin_files {
    ($($name:literal),+ $(,)?) => {
        /// The default rule files, built into the binary.
        pub const BUILTIN: &[(&str, &str)] = &[$(($name, include_str!(concat!("../../rules/", $name)))),+];
    };
}

builtin_files!(
    "settings.toml",
    "invalid-credential-accepted.toml",
    "privilege-boundary-bypass.toml",
    "silent-auth-fallback.toml",
    "unclear-denial.toml",
    "denial-leaks-detail.toml",
    "entitled-action-denied.toml",
    "denial-not-logged.toml",
    "denial-log-incomplete.toml",
    "undocumented-access.toml",
    "unknown-identity.toml",
    "unused-entitlement.toml",
    "dormant-identity.toml",
    "revoked-credential-used.toml",
    "stale-credential.toml",
    "orphaned-identity.toml",
    "shared-identity.toml",
    "cross-environment-credential.toml",
    "human-use-of-service-identity.toml",
    "async-privilege-escalation.toml",
    "over-broad-grant.toml",
    "untested-high-risk-identity.toml",
    "negative-test-gap.toml",
    "exception-expired.toml",
);

const SETTINGS_FILE: &str = "settings.toml";

/// The key fields and `{detail}`: the placeholders a remediation template may use.
const PLACEHOLDERS: &[&str] = &[
    "environment",
    "service",
    "identity",
    "credential_state",
    "method",
    "endpoint",
    "action",
    "operation",
    "auth_path",
    "leak_category",
    "grant",
    "credential_id",
    "initiator",
    "worker",
    "covered_finding_id",
    "detail",
];

/// The kind of thing a finding is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Subject {
    Identity,
    Service,
    Finding,
}

/// A compiled rule, ready for the engine.
#[derive(Clone, Debug)]
pub struct Rule {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub subject: Subject,
    pub enabled: bool,
    pub description: String,
    /// Environments that raise a finding's severity one level.
    pub raise_environments: Vec<String>,
    /// Risks that raise a finding's severity one level.
    pub raise_risks: Vec<Risk>,
    /// The highest severity a raise may reach.
    pub raise_max: Severity,
    pub owasp_nhi: Vec<String>,
    pub nist_csf: Vec<String>,
    pub remediation: String,
    pub params: Params,
    pub docs: DocsFile,
    /// `built-in` or the path of the overriding file.
    pub source: String,
    pub sha256: String,
}

impl Rule {
    /// Computes the severity of a finding in `environment` whose evidence has at most `risk`.
    pub fn severity_for(&self, base: Severity, environment: &str, risk: Option<Risk>) -> Severity {
        let mut severity = base;
        let cap = self.raise_max.max(base);
        if self
            .raise_environments
            .iter()
            .any(|name| name == environment)
        {
            severity = severity.raised().min(cap);
        }
        if risk.is_some_and(|risk| self.raise_risks.contains(&risk)) {
            severity = severity.raised().min(cap);
        }
        severity
    }

    /// Lists the framework control ids, OWASP NHI first.
    pub fn frameworks(&self) -> Vec<String> {
        self.owasp_nhi
            .iter()
            .chain(&self.nist_csf)
            .cloned()
            .collect()
    }
}

/// Settings every rule shares.
#[derive(Clone, Debug)]
pub struct Settings {
    pub clear_denial_codes: Vec<u16>,
    pub masked_denial_codes: Vec<u16>,
    pub soft_denial_patterns: Vec<Regex>,
    /// Days to fix, by severity.
    pub sla_days: BTreeMap<Severity, i64>,
    pub source: String,
    pub sha256: String,
}

/// Every rule and the shared settings, after overrides.
#[derive(Clone, Debug)]
pub struct RuleSet {
    pub rules: BTreeMap<String, Rule>,
    pub settings: Settings,
}

impl RuleSet {
    /// Loads the built-in rules, overridden by the files in `dir` when given.
    pub fn load(dir: Option<&Path>) -> Result<RuleSet> {
        let mut problems = Problems::default();
        let mut builtin_rules: BTreeMap<String, (RuleFile, String)> = BTreeMap::new();
        let mut settings_text = None;
        for (name, text) in BUILTIN {
            let origin = format!("built-in {name}");
            if *name == SETTINGS_FILE {
                settings_text = Some((origin, text.to_string()));
            } else if let Some(rule) = problems.parse::<RuleFile>(&origin, text) {
                builtin_rules.insert(rule.id.get_ref().clone(), (rule, text.to_string()));
            }
        }

        let mut overrides: BTreeMap<String, (String, String)> = BTreeMap::new();
        if let Some(dir) = dir {
            for path in list_rule_files(dir)? {
                let text = std::fs::read_to_string(&path).map_err(|source| Error::Read {
                    path: path.clone(),
                    source,
                })?;
                let origin = path.display().to_string();
                let stem = path
                    .file_stem()
                    .and_then(|stem| stem.to_str())
                    .unwrap_or_default()
                    .to_string();
                if path.file_name().is_some_and(|name| name == SETTINGS_FILE) {
                    settings_text = Some((origin, text));
                } else if builtin_rules.contains_key(&stem) {
                    overrides.insert(stem, (origin, text));
                } else {
                    problems.add(&origin, 1, format!("unknown rule id `{stem}`: the file name must be the id of a built-in rule (see `corroborate rules list`)"));
                }
            }
        }

        let mut rules = BTreeMap::new();
        for (id, (builtin, builtin_text)) in &builtin_rules {
            let (origin, text) = match overrides.get(id) {
                Some((origin, text)) => (origin.clone(), text.clone()),
                None => ("built-in".to_string(), builtin_text.clone()),
            };
            let file = if origin == "built-in" {
                None
            } else {
                problems.parse::<RuleFile>(&origin, &text)
            };
            let file = file.as_ref().unwrap_or(builtin);
            if let Some(rule) = compile_rule(file, builtin, &origin, &text, &mut problems) {
                rules.insert(id.clone(), rule);
            }
        }

        let settings = settings_text
            .and_then(|(origin, text)| compile_settings(&origin, &text, &mut problems));
        problems.into_result()?;
        Ok(RuleSet {
            rules,
            settings: settings.expect("settings compiled when there are no problems"),
        })
    }

    /// Iterates over the enabled rules, by id.
    pub fn enabled(&self) -> impl Iterator<Item = &Rule> {
        self.rules.values().filter(|rule| rule.enabled)
    }
}

/// Lists the `.toml` files of a rules folder, sorted.
fn list_rule_files(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Err(Error::Config(format!(
            "rules folder `{}` not found",
            dir.display()
        )));
    }
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|source| Error::Read {
                path: dir.to_path_buf(),
                source,
            })?
            .path();
        if path
            .extension()
            .is_some_and(|extension| extension == "toml")
        {
            paths.push(path);
        }
    }
    paths.sort();
    Ok(paths)
}

fn compile_rule(
    file: &RuleFile,
    builtin: &RuleFile,
    origin: &str,
    text: &str,
    problems: &mut Problems,
) -> Option<Rule> {
    let before = problems.count();
    let line = |span: std::ops::Range<usize>| line_of(text, span.start);
    let id = file.id.get_ref().clone();
    if id != *builtin.id.get_ref() {
        problems.add(
            origin,
            line(file.id.span()),
            format!(
                "`id` is `{id}` but the file overrides `{}`; the id must match the file name",
                builtin.id.get_ref()
            ),
        );
    }
    let severity = parse_spanned(
        &file.severity,
        Severity::parse,
        Severity::expected,
        "severity",
        origin,
        text,
        problems,
    );
    let subject = match file.subject.get_ref().as_str() {
        "identity" => Some(Subject::Identity),
        "service" => Some(Subject::Service),
        "finding" => Some(Subject::Finding),
        other => {
            problems.add(
                origin,
                line(file.subject.span()),
                format!("unknown subject `{other}`; expected identity, service or finding"),
            );
            None
        }
    };

    let mut raise_risks = Vec::new();
    let mut raise_max = Severity::Critical;
    let mut raise_environments = Vec::new();
    if let Some(raise) = &file.raise {
        raise_environments = raise
            .environments
            .iter()
            .map(|name| name.to_ascii_lowercase())
            .collect();
        for risk in &raise.risks {
            raise_risks.extend(parse_spanned(
                risk,
                Risk::parse,
                Risk::expected,
                "risk",
                origin,
                text,
                problems,
            ));
        }
        if let Some(max) = &raise.max {
            raise_max = parse_spanned(
                max,
                Severity::parse,
                Severity::expected,
                "max",
                origin,
                text,
                problems,
            )
            .unwrap_or(raise_max);
        }
    }

    check_placeholders(&file.remediation.template, origin, text, problems);
    let params = compile_params(&id, file, builtin, origin, text, problems);

    if problems.count() > before {
        return None;
    }
    Some(Rule {
        id,
        title: file.title.clone(),
        severity: severity?,
        subject: subject?,
        enabled: file.enabled,
        description: file.description.clone(),
        raise_environments,
        raise_risks,
        raise_max,
        owasp_nhi: file.frameworks.owasp_nhi.clone(),
        nist_csf: file.frameworks.nist_csf.clone(),
        remediation: file.remediation.template.get_ref().clone(),
        params,
        docs: file.docs.clone(),
        source: origin.to_string(),
        sha256: hex::encode(Sha256::digest(text.as_bytes())),
    })
}

/// Compiles a rule's parameters: the built-in file's values, overridden by the
/// file's own. A name the rule does not accept is a problem.
fn compile_params(
    id: &str,
    file: &RuleFile,
    builtin: &RuleFile,
    origin: &str,
    text: &str,
    problems: &mut Problems,
) -> Params {
    let accepted = accepted_params(id);
    let mut params = Params::default();
    let mut sources: Vec<(&RuleFile, bool)> = vec![(builtin, false)];
    if !std::ptr::eq(file, builtin) {
        sources.push((file, true));
    }
    for (source, is_override) in sources {
        for (name, value) in &source.params {
            let where_line = if is_override {
                line_of(text, name.span().start)
            } else {
                1
            };
            let where_origin = if is_override {
                origin.to_string()
            } else {
                format!("built-in {id}.toml")
            };
            let Some((_, kind)) = accepted
                .iter()
                .find(|(accepted, _)| accepted == name.get_ref())
            else {
                let known: Vec<&str> = accepted.iter().map(|(name, _)| *name).collect();
                let hint = if known.is_empty() {
                    "this rule takes no parameters".to_string()
                } else {
                    format!("it accepts: {}", known.join(", "))
                };
                problems.add(
                    &where_origin,
                    where_line,
                    format!(
                        "unknown parameter `{}` for rule `{id}`; {hint}",
                        name.get_ref()
                    ),
                );
                continue;
            };
            match compile_param(*kind, value.get_ref()) {
                Ok(compiled) => {
                    params.values.insert(name.get_ref().clone(), compiled);
                }
                Err(message) => {
                    let value_line = if is_override {
                        line_of(text, value.span().start)
                    } else {
                        1
                    };
                    problems.add(
                        &where_origin,
                        value_line,
                        format!("parameter `{}`: {message}", name.get_ref()),
                    );
                }
            }
        }
    }
    for (name, _) in accepted {
        if !params.values.contains_key(*name) {
            problems.add(
                origin,
                1,
                format!("parameter `{name}` of rule `{id}` has no value and no built-in default"),
            );
        }
    }
    params
}

fn check_placeholders(
    template: &Spanned<String>,
    origin: &str,
    text: &str,
    problems: &mut Problems,
) {
    static PLACEHOLDER: std::sync::LazyLock<Regex> =
        std::sync::LazyLock::new(|| Regex::new(r"\{([^{}]*)\}").expect("valid pattern"));
    let mut unknown = BTreeSet::new();
    for capture in PLACEHOLDER.captures_iter(template.get_ref()) {
        let name = &capture[1];
        if !PLACEHOLDERS.contains(&name) {
            unknown.insert(name.to_string());
        }
    }
    for name in unknown {
        problems.add(
            origin,
            line_of(text, template.span().start),
            format!(
                "unknown placeholder `{{{name}}}` in `remediation.template`; use one of: {}",
                PLACEHOLDERS.join(", ")
            ),
        );
    }
}

fn compile_settings(origin: &str, text: &str, problems: &mut Problems) -> Option<Settings> {
    let file: SettingsFile = problems.parse(origin, text)?;
    let before = problems.count();
    let mut soft_denial_patterns = Vec::new();
    for pattern in &file.outcome.soft_denial_patterns {
        match Regex::new(pattern.get_ref()) {
            Ok(regex) => soft_denial_patterns.push(regex),
            Err(error) => problems.add(
                origin,
                line_of(text, pattern.span().start),
                format!("invalid regular expression in `soft_denial_patterns`: {error}"),
            ),
        }
    }
    let mut sla_days: BTreeMap<Severity, i64> = [
        (Severity::Critical, 7),
        (Severity::High, 30),
        (Severity::Medium, 90),
        (Severity::Low, 180),
    ]
    .into_iter()
    .collect();
    for (name, value) in &file.sla {
        let Some(severity) = Severity::parse(name.get_ref()) else {
            problems.add(
                origin,
                line_of(text, name.span().start),
                format!(
                    "unknown severity `{}` in `[sla]`; expected one of: {}",
                    name.get_ref(),
                    Severity::expected()
                ),
            );
            continue;
        };
        match parse_duration(value.get_ref()) {
            Ok(seconds) => {
                sla_days.insert(severity, seconds / 86_400);
            }
            Err(error) => problems.add(
                origin,
                line_of(text, value.span().start),
                format!("invalid duration `{}` in `[sla]`: {error}", value.get_ref()),
            ),
        }
    }
    if problems.count() > before {
        return None;
    }
    Some(Settings {
        clear_denial_codes: file.outcome.clear_denial_codes,
        masked_denial_codes: file.outcome.masked_denial_codes,
        soft_denial_patterns,
        sla_days,
        source: origin.to_string(),
        sha256: hex::encode(Sha256::digest(text.as_bytes())),
    })
}

fn parse_spanned<T>(
    value: &Spanned<String>,
    parse: fn(&str) -> Option<T>,
    expected: fn() -> String,
    what: &str,
    origin: &str,
    text: &str,
    problems: &mut Problems,
) -> Option<T> {
    let parsed = parse(value.get_ref());
    if parsed.is_none() {
        problems.add(
            origin,
            line_of(text, value.span().start),
            format!(
                "unknown {what} `{}`; expected one of: {}",
                value.get_ref(),
                expected()
            ),
        );
    }
    parsed
}

/// Returns the 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Problems found while loading rules, reported together.
#[derive(Default)]
struct Problems {
    lines: Vec<String>,
}

impl Problems {
    fn add(&mut self, origin: &str, line: usize, message: String) {
        self.lines.push(format!("  {origin}:{line}: {message}"));
    }

    fn count(&self) -> usize {
        self.lines.len()
    }

    fn parse<T: serde::de::DeserializeOwned>(&mut self, origin: &str, text: &str) -> Option<T> {
        match toml::from_str::<T>(text) {
            Ok(value) => Some(value),
            Err(error) => {
                let line = error.span().map_or(1, |span| line_of(text, span.start));
                self.add(origin, line, error.message().trim().replace("\n", "; "));
                None
            }
        }
    }

    fn into_result(self) -> Result<()> {
        if self.lines.is_empty() {
            return Ok(());
        }
        Err(Error::Rules {
            count: self.lines.len(),
            report: self.lines.join("\n"),
        })
    }
}
