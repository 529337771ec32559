//! Typed access to the values of one row, turning each problem into a reject
//! that names the column and the value.

use super::{Fields, RowError};
use crate::model::Timestamp;

/// One row's values with the native column names of its kind.
pub(crate) struct Row<'r, 'f> {
    pub fields: &'r Fields<'f>,
    pub columns: &'static [&'static str],
}

impl<'r, 'f> Row<'r, 'f> {
    /// The trimmed value, or `""` when absent.
    pub fn text(&self, column: usize) -> &'r str {
        self.fields[column].as_deref().unwrap_or("")
    }

    /// The value, or a reject when it is absent.
    pub fn required(&self, column: usize) -> Result<&'r str, RowError> {
        match self.fields[column].as_deref() {
            Some(value) => Ok(value),
            None => Err(RowError::new(
                self.columns[column],
                "missing required value",
                "",
            )),
        }
    }

    /// The value parsed as a timestamp, when present.
    pub fn timestamp(&self, column: usize) -> Result<Option<Timestamp>, RowError> {
        match self.fields[column].as_deref() {
            None => Ok(None),
            // The reason leaves the value out, because `RowError` keeps a redacted
            // copy of it and the error's own message does not redact.
            Some(value) => Timestamp::parse(value).map(Some).map_err(|error| {
                let reason = format!(
                    "invalid timestamp ({}); expected RFC 3339 such as 2026-11-30T08:15:00Z, or epoch seconds or milliseconds",
                    error.reason()
                );
                RowError::new(self.columns[column], reason, value)
            }),
        }
    }

    /// The value parsed as a timestamp, or a reject when absent.
    pub fn required_timestamp(&self, column: usize) -> Result<Timestamp, RowError> {
        self.required(column)?;
        Ok(self.timestamp(column)?.expect("checked present above"))
    }

    /// The value parsed as one of an enum's spellings, when present.
    pub fn enumeration<E>(
        &self,
        column: usize,
        parse: fn(&str) -> Option<E>,
        expected: fn() -> String,
    ) -> Result<Option<E>, RowError> {
        match self.fields[column].as_deref() {
            None => Ok(None),
            Some(value) => match parse(value) {
                Some(parsed) => Ok(Some(parsed)),
                None => Err(RowError::new(
                    self.columns[column],
                    format!("unknown value; expected one of: {}", expected()),
                    value,
                )),
            },
        }
    }

    /// The value parsed as an HTTP status code (100–599), when present. JSON
    /// numbers arrive as text, and `403.0` is accepted as 403.
    pub fn status_code(&self, column: usize) -> Result<Option<u16>, RowError> {
        let Some(value) = self.fields[column].as_deref() else {
            return Ok(None);
        };
        let digits = value.strip_suffix(".0").unwrap_or(value);
        match digits.parse::<u16>() {
            Ok(code) if (100..=599).contains(&code) => Ok(Some(code)),
            _ => Err(RowError::new(
                self.columns[column],
                "invalid HTTP status code; expected a number from 100 to 599",
                value,
            )),
        }
    }
}
