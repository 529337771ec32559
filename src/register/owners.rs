//! Service owners (`--owners FILE`): a CSV file with the columns `service` and
//! `owner`, naming who is responsible for findings about a service rather than
//! an identity. Identity findings take their owner from the entitlements.

use std::collections::BTreeMap;
use std::path::Path;

use super::line_of;
use crate::error::{Error, Result};

/// Owners by service name.
#[derive(Clone, Debug, Default)]
pub struct ServiceOwners {
    owners: BTreeMap<String, String>,
}

impl ServiceOwners {
    /// Reads the owners file. A missing column, an empty service or a service
    /// listed twice is an error naming the line.
    pub fn read(path: &Path) -> Result<ServiceOwners> {
        let invalid = |line: u64, message: String| {
            Error::Config(format!(
                "owners file `{}` line {line}: {message}",
                path.display()
            ))
        };
        let bytes = std::fs::read(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut reader = ::csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(bytes.as_slice());
        let header = reader
            .headers()
            .map_err(|error| invalid(1, error.to_string()))?
            .clone();
        let position = |name: &str| {
            header.iter().position(|column| {
                column
                    .trim_start_matches('\u{feff}')
                    .trim()
                    .eq_ignore_ascii_case(name)
            })
        };
        let (Some(service_at), Some(owner_at)) = (position("service"), position("owner")) else {
            return Err(invalid(
                1,
                format!(
                    "expected the columns `service` and `owner`; the columns present are: {}",
                    header.iter().collect::<Vec<_>>().join(", ")
                ),
            ));
        };

        let mut owners = BTreeMap::new();
        let mut lines: BTreeMap<String, u64> = BTreeMap::new();
        for record in reader.records() {
            let record = record.map_err(|error| {
                let line = error
                    .position()
                    .map_or(0, |position| line_of(&bytes, position));
                invalid(line, error.to_string())
            })?;
            let line = record
                .position()
                .map_or(0, |position| line_of(&bytes, position));
            let service = record.get(service_at).unwrap_or("").trim();
            let owner = record.get(owner_at).unwrap_or("").trim();
            if service.is_empty() && owner.is_empty() {
                continue;
            }
            if service.is_empty() {
                return Err(invalid(line, "`service` is empty".to_string()));
            }
            if let Some(first) = lines.insert(service.to_string(), line) {
                return Err(invalid(
                    line,
                    format!("service `{service}` is already listed at line {first}"),
                ));
            }
            owners.insert(service.to_string(), owner.to_string());
        }
        Ok(ServiceOwners { owners })
    }

    /// Returns the owner of `service`, when the file names one.
    pub fn get(&self, service: &str) -> Option<&str> {
        self.owners
            .get(service)
            .map(String::as_str)
            .filter(|owner| !owner.is_empty())
    }
}
