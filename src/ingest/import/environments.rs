//! The `--account-environments` lookup: which environment an AWS account id or a
//! Kubernetes cluster name belongs to.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use crate::error::{Error, Result};

/// Environment names by account id or cluster name. A key that is not in the
/// file stands for itself, so unmapped accounts still separate.
#[derive(Debug, Default)]
pub struct Environments {
    by_key: HashMap<String, String>,
}

impl Environments {
    /// Reads a CSV file of `account_id,environment` rows (a header row is
    /// optional), or a TOML file of `"key" = "environment"` pairs at the top level
    /// or in an `[environments]` table.
    pub fn load(path: &Path) -> Result<Environments> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let is_toml = path
            .extension()
            .is_some_and(|extension| extension.eq_ignore_ascii_case("toml"));
        let by_key = if is_toml {
            parse_toml(&text, path)?
        } else {
            parse_csv(&text, path)?
        };
        Ok(Environments { by_key })
    }

    /// Builds a lookup from pairs, for tests and callers that hold the mapping.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Environments {
        Environments {
            by_key: pairs
                .into_iter()
                .map(|(key, environment)| (key.trim().to_string(), environment.trim().to_string()))
                .collect(),
        }
    }

    /// The environment of `key`, or `key` itself when the file does not name it.
    pub fn lookup<'k>(&self, key: &'k str) -> Cow<'k, str> {
        match self.by_key.get(key.trim()) {
            Some(environment) => Cow::Owned(environment.clone()),
            None => Cow::Borrowed(key),
        }
    }
}

fn parse_csv(text: &str, path: &Path) -> Result<HashMap<String, String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let mut by_key = HashMap::new();
    for (index, record) in reader.records().enumerate() {
        let record = record.map_err(|error| {
            Error::Config(format!(
                "invalid account environments file `{}`: {error}",
                path.display()
            ))
        })?;
        let key = record
            .get(0)
            .unwrap_or("")
            .trim()
            .trim_start_matches('\u{feff}');
        let environment = record.get(1).unwrap_or("").trim();
        if index == 0 && environment.eq_ignore_ascii_case("environment") {
            continue;
        }
        if key.is_empty() && environment.is_empty() {
            continue;
        }
        if key.is_empty() || environment.is_empty() {
            return Err(Error::Config(format!(
                "invalid account environments file `{}` at line {}: expected `account_id,environment`",
                path.display(),
                index + 1
            )));
        }
        by_key.insert(key.to_string(), environment.to_string());
    }
    Ok(by_key)
}

fn parse_toml(text: &str, path: &Path) -> Result<HashMap<String, String>> {
    let invalid = |message: String| {
        Error::Config(format!(
            "invalid account environments file `{}`: {message}",
            path.display()
        ))
    };
    let table: toml::Table = toml::from_str(text).map_err(|error| invalid(error.to_string()))?;
    let pairs = match table.get("environments") {
        Some(toml::Value::Table(inner)) => inner.clone(),
        _ => table,
    };
    let mut by_key = HashMap::new();
    for (key, value) in pairs {
        let Some(environment) = value.as_str() else {
            return Err(invalid(format!("the value of `{key}` must be a string")));
        };
        by_key.insert(key.trim().to_string(), environment.trim().to_string());
    }
    Ok(by_key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_and_without_header() {
        let path = Path::new("accounts.csv");
        let with = parse_csv("account_id,environment\n111122223333,prod\n", path).unwrap();
        assert_eq!(with.get("111122223333").map(String::as_str), Some("prod"));
        let without = parse_csv("444455556666, staging\n", path).unwrap();
        assert_eq!(
            without.get("444455556666").map(String::as_str),
            Some("staging")
        );
    }

    #[test]
    fn toml_top_level_or_table() {
        let path = Path::new("accounts.toml");
        let top = parse_toml("\"111122223333\" = \"prod\"\n", path).unwrap();
        assert_eq!(top.get("111122223333").map(String::as_str), Some("prod"));
        let table = parse_toml("[environments]\ngke-prod-1 = \"prod\"\n", path).unwrap();
        assert_eq!(table.get("gke-prod-1").map(String::as_str), Some("prod"));
    }

    #[test]
    fn unmapped_key_stands_for_itself() {
        let environments = Environments::from_pairs([("1", "prod")]);
        assert_eq!(environments.lookup("1"), "prod");
        assert_eq!(environments.lookup("2"), "2");
    }
}
