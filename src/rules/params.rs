//! The parameters each rule accepts, their types, and their compiled values.

use std::collections::BTreeMap;

use regex::Regex;

use crate::model::Severity;
use crate::model::time::parse_duration;

/// The type of a parameter, which decides how its TOML value is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamType {
    /// A list of strings.
    Words,
    /// A list of regular expressions.
    Patterns,
    /// A duration such as `120s` or `90d`.
    Duration,
    /// A whole number of at least 1.
    Count,
    /// A number from 0 to 1.
    Share,
    Flag,
    /// A table from a name to a severity.
    Severities,
    /// A list of log-field requirements such as `action|method+endpoint`.
    Context,
}

impl ParamType {
    fn describe(self) -> &'static str {
        match self {
            ParamType::Words => "a list of strings",
            ParamType::Patterns => "a list of regular expressions",
            ParamType::Duration => "a duration string such as \"120s\", \"15m\", \"2h\" or \"90d\"",
            ParamType::Count => "a whole number of at least 1",
            ParamType::Share => "a number from 0 to 1",
            ParamType::Flag => "true or false",
            ParamType::Severities => "a table of severities (low, medium, high, critical)",
            ParamType::Context => {
                "a list of field requirements such as \"identity\" or \"action|method+endpoint\""
            }
        }
    }
}

/// Returns the parameters a rule accepts, with their types.
pub fn accepted_params(rule: &str) -> &'static [(&'static str, ParamType)] {
    use ParamType::*;
    match rule {
        "invalid-credential-accepted" | "privilege-boundary-bypass" => &[("states", Words)],
        "silent-auth-fallback" => &[("weak_auth_paths", Words)],
        "denial-leaks-detail" => &[
            ("secret_patterns", Patterns),
            ("identifier_patterns", Patterns),
            ("internals_patterns", Patterns),
            ("category_severity", Severities),
        ],
        "denial-not-logged" => &[("match_tolerance", Duration)],
        "denial-log-incomplete" => &[("match_tolerance", Duration), ("required_context", Context)],
        "revoked-credential-used" => &[("grace", Duration)],
        "stale-credential" => &[("max_age", Duration), ("require_api_key_expiry", Flag)],
        "shared-identity" => &[("min_consumers", Count), ("source_normalizers", Patterns)],
        "cross-environment-credential" => &[("min_environments", Count)],
        "human-use-of-service-identity" => &[("interactive_agents", Patterns)],
        "over-broad-grant" => &[("max_used_share", Share), ("min_span", Count)],
        "untested-high-risk-identity" => &[("risks", Words)],
        "negative-test-gap" => &[("required_states", Words)],
        _ => &[],
    }
}

/// A compiled parameter value.
#[derive(Clone, Debug)]
pub enum ParamValue {
    Words(Vec<String>),
    Patterns(Vec<Regex>),
    Seconds(i64),
    Count(u64),
    Share(f64),
    Flag(bool),
    Severities(BTreeMap<String, Severity>),
    Context(Vec<ContextRequirement>),
}

/// Checks and compiles one TOML value as a parameter of `kind`.
pub fn compile_param(kind: ParamType, value: &toml::Value) -> Result<ParamValue, String> {
    let wrong = || format!("expected {}", kind.describe());
    match kind {
        ParamType::Words | ParamType::Patterns => {
            let items = value.as_array().ok_or_else(wrong)?;
            let mut words = Vec::with_capacity(items.len());
            for item in items {
                words.push(item.as_str().ok_or_else(wrong)?.to_string());
            }
            if kind == ParamType::Words {
                return Ok(ParamValue::Words(words));
            }
            let mut patterns = Vec::with_capacity(words.len());
            for word in &words {
                patterns
                    .push(Regex::new(word).map_err(|error| {
                        format!("invalid regular expression `{word}`: {error}")
                    })?);
            }
            Ok(ParamValue::Patterns(patterns))
        }
        ParamType::Duration => {
            let text = value.as_str().ok_or_else(wrong)?;
            parse_duration(text)
                .map(ParamValue::Seconds)
                .map_err(|error| format!("invalid duration `{text}`: {error}"))
        }
        ParamType::Count => match value.as_integer() {
            Some(n) if n >= 1 => Ok(ParamValue::Count(n as u64)),
            _ => Err(wrong()),
        },
        ParamType::Share => {
            let share = value
                .as_float()
                .or_else(|| value.as_integer().map(|n| n as f64))
                .ok_or_else(wrong)?;
            if (0.0..=1.0).contains(&share) {
                Ok(ParamValue::Share(share))
            } else {
                Err(wrong())
            }
        }
        ParamType::Flag => value.as_bool().map(ParamValue::Flag).ok_or_else(wrong),
        ParamType::Severities => {
            let table = value.as_table().ok_or_else(wrong)?;
            let mut severities = BTreeMap::new();
            for (name, level) in table {
                let level = level.as_str().and_then(Severity::parse).ok_or_else(wrong)?;
                severities.insert(name.clone(), level);
            }
            Ok(ParamValue::Severities(severities))
        }
        ParamType::Context => {
            let items = value.as_array().ok_or_else(wrong)?;
            let mut requirements = Vec::with_capacity(items.len());
            for item in items {
                let text = item.as_str().ok_or_else(wrong)?;
                requirements.push(ContextRequirement::parse(text)?);
            }
            Ok(ParamValue::Context(requirements))
        }
    }
}

/// A field of a denied log event that `required_context` can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ContextField {
    Identity,
    Environment,
    Service,
    Method,
    Endpoint,
    Action,
    Reason,
    RequestId,
}

impl ContextField {
    /// Every field, in the order error messages list them.
    pub const ALL: [ContextField; 8] = [
        ContextField::Identity,
        ContextField::Environment,
        ContextField::Service,
        ContextField::Method,
        ContextField::Endpoint,
        ContextField::Action,
        ContextField::Reason,
        ContextField::RequestId,
    ];

    /// Returns the log column name of the field.
    pub fn as_str(self) -> &'static str {
        match self {
            ContextField::Identity => "identity",
            ContextField::Environment => "environment",
            ContextField::Service => "service",
            ContextField::Method => "method",
            ContextField::Endpoint => "endpoint",
            ContextField::Action => "action",
            ContextField::Reason => "reason",
            ContextField::RequestId => "request_id",
        }
    }

    /// Parses a column name, ignoring case and surrounding whitespace.
    pub fn parse(text: &str) -> Option<ContextField> {
        let text = text.trim();
        ContextField::ALL
            .into_iter()
            .find(|field| field.as_str().eq_ignore_ascii_case(text))
    }
}

/// One entry of `required_context`: alternatives separated by `|`, each a set of
/// fields joined by `+` that must all be present.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContextRequirement {
    /// The entry as written, trimmed, for evidence and remediation text.
    pub text: String,
    /// Non-empty, and so is each alternative.
    pub alternatives: Vec<Vec<ContextField>>,
}

impl ContextRequirement {
    /// Parses an entry such as `action|method+endpoint`. Rejects empty entries,
    /// empty alternatives or fields (`a||b`, `a+`), and unknown field names.
    pub fn parse(text: &str) -> Result<ContextRequirement, String> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err("an entry of `required_context` is empty".to_string());
        }
        let mut alternatives = Vec::new();
        for alternative in trimmed.split('|') {
            let mut fields = Vec::new();
            for name in alternative.split('+') {
                if name.trim().is_empty() {
                    return Err(format!(
                        "entry `{trimmed}` has an empty field name; separate alternatives with `|` and join fields with `+`"
                    ));
                }
                let field = ContextField::parse(name).ok_or_else(|| {
                    let known: Vec<&str> = ContextField::ALL
                        .iter()
                        .map(|field| field.as_str())
                        .collect();
                    format!(
                        "entry `{trimmed}` names unknown field `{}`; expected one of: {}",
                        name.trim(),
                        known.join(", ")
                    )
                })?;
                fields.push(field);
            }
            alternatives.push(fields);
        }
        Ok(ContextRequirement {
            text: trimmed.to_string(),
            alternatives,
        })
    }

    /// Returns whether some alternative has all its fields present, per `present`.
    pub fn is_met(&self, present: impl Fn(ContextField) -> bool) -> bool {
        self.alternatives
            .iter()
            .any(|fields| fields.iter().all(|&field| present(field)))
    }
}

/// A rule's compiled parameters. The accessors panic on a name the rule does not
/// declare, because the loader has already checked every name against
/// [`accepted_params`] and filled defaults from the built-in file.
#[derive(Clone, Debug, Default)]
pub struct Params {
    pub values: BTreeMap<String, ParamValue>,
}

impl Params {
    fn get(&self, name: &str) -> &ParamValue {
        self.values
            .get(name)
            .unwrap_or_else(|| panic!("parameter `{name}` is declared and has a built-in default"))
    }

    /// Returns a list-of-strings parameter.
    pub fn words(&self, name: &str) -> &[String] {
        match self.get(name) {
            ParamValue::Words(words) => words,
            other => panic!("parameter `{name}` is {other:?}, not a word list"),
        }
    }

    /// Returns a list-of-patterns parameter.
    pub fn patterns(&self, name: &str) -> &[Regex] {
        match self.get(name) {
            ParamValue::Patterns(patterns) => patterns,
            other => panic!("parameter `{name}` is {other:?}, not a pattern list"),
        }
    }

    /// Returns a duration parameter, in seconds.
    pub fn seconds(&self, name: &str) -> i64 {
        match self.get(name) {
            ParamValue::Seconds(seconds) => *seconds,
            other => panic!("parameter `{name}` is {other:?}, not a duration"),
        }
    }

    /// Returns a count parameter.
    pub fn count(&self, name: &str) -> u64 {
        match self.get(name) {
            ParamValue::Count(count) => *count,
            other => panic!("parameter `{name}` is {other:?}, not a count"),
        }
    }

    /// Returns a share parameter.
    pub fn share(&self, name: &str) -> f64 {
        match self.get(name) {
            ParamValue::Share(share) => *share,
            other => panic!("parameter `{name}` is {other:?}, not a share"),
        }
    }

    /// Returns a flag parameter.
    pub fn flag(&self, name: &str) -> bool {
        match self.get(name) {
            ParamValue::Flag(flag) => *flag,
            other => panic!("parameter `{name}` is {other:?}, not a flag"),
        }
    }

    /// Returns a parameter that lists field requirements.
    pub fn context(&self, name: &str) -> &[ContextRequirement] {
        match self.get(name) {
            ParamValue::Context(requirements) => requirements,
            other => panic!("parameter `{name}` is {other:?}, not a field requirement list"),
        }
    }

    /// Returns a severity-table parameter.
    pub fn severities(&self, name: &str) -> &BTreeMap<String, Severity> {
        match self.get(name) {
            ParamValue::Severities(severities) => severities,
            other => panic!("parameter `{name}` is {other:?}, not a severity table"),
        }
    }
}
