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
        }
    }
}

/// The parameters of each rule that has any.
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
        "denial-log-incomplete" => &[("match_tolerance", Duration), ("required_context", Words)],
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

    /// A list-of-strings parameter.
    pub fn words(&self, name: &str) -> &[String] {
        match self.get(name) {
            ParamValue::Words(words) => words,
            other => panic!("parameter `{name}` is {other:?}, not a word list"),
        }
    }

    /// A list-of-patterns parameter.
    pub fn patterns(&self, name: &str) -> &[Regex] {
        match self.get(name) {
            ParamValue::Patterns(patterns) => patterns,
            other => panic!("parameter `{name}` is {other:?}, not a pattern list"),
        }
    }

    /// A duration parameter, in seconds.
    pub fn seconds(&self, name: &str) -> i64 {
        match self.get(name) {
            ParamValue::Seconds(seconds) => *seconds,
            other => panic!("parameter `{name}` is {other:?}, not a duration"),
        }
    }

    /// A count parameter.
    pub fn count(&self, name: &str) -> u64 {
        match self.get(name) {
            ParamValue::Count(count) => *count,
            other => panic!("parameter `{name}` is {other:?}, not a count"),
        }
    }

    /// A share parameter.
    pub fn share(&self, name: &str) -> f64 {
        match self.get(name) {
            ParamValue::Share(share) => *share,
            other => panic!("parameter `{name}` is {other:?}, not a share"),
        }
    }

    /// A flag parameter.
    pub fn flag(&self, name: &str) -> bool {
        match self.get(name) {
            ParamValue::Flag(flag) => *flag,
            other => panic!("parameter `{name}` is {other:?}, not a flag"),
        }
    }

    /// A severity-table parameter.
    pub fn severities(&self, name: &str) -> &BTreeMap<String, Severity> {
        match self.get(name) {
            ParamValue::Severities(severities) => severities,
            other => panic!("parameter `{name}` is {other:?}, not a severity table"),
        }
    }
}
