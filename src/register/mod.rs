//! The exception register (`register.csv`): every finding any run has seen, with
//! its status, history, due date and exception, merged run after run.
//!
//! A team edits the register by hand between runs, so reading keeps every cell
//! and every column it does not know, in the team's column order, and writing
//! puts them back unchanged. Only the columns in [`COLUMNS`] except `notes` are
//! maintained by corroborate.

pub mod exceptions;
pub mod explain;
pub mod owners;
pub mod poam;
pub mod remediation;
pub mod update;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::path::Path;

use serde::Serialize;

use crate::emit::csv::SafeCsv;
use crate::error::{Error, Result};
use crate::findings::{Finding, FindingKey, Status};
use crate::model::{Severity, Timestamp};
use exceptions::Coverage;

/// The register's own columns, in the order a new register is written.
pub const COLUMNS: [&str; 30] = [
    "finding_id",
    "rule",
    "subject",
    "environment",
    "service",
    "identity",
    "credential_state",
    "method",
    "endpoint",
    "action",
    "auth_path",
    "leak_category",
    "grant",
    "credential_id",
    "initiator",
    "worker",
    "covered_finding_id",
    "severity",
    "status",
    "first_seen",
    "last_seen",
    "runs_seen",
    "reopened",
    "due_date",
    "owner",
    "exception_id",
    "exception_expires_at",
    "approved_by",
    "resolved_at",
    "notes",
];

/// The status of a register row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RegisterStatus {
    Open,
    Excepted,
    ExceptionExpired,
    Resolved,
}

impl RegisterStatus {
    /// Returns the name written to the register.
    pub fn as_str(self) -> &'static str {
        match self {
            RegisterStatus::Open => "open",
            RegisterStatus::Excepted => "excepted",
            RegisterStatus::ExceptionExpired => "exception-expired",
            RegisterStatus::Resolved => "resolved",
        }
    }

    /// Parses a status, case-insensitively and with `-` and `_` alike.
    pub fn parse(text: &str) -> Option<RegisterStatus> {
        match crate::model::fold_enum_text(text).as_str() {
            "open" => Some(RegisterStatus::Open),
            "excepted" => Some(RegisterStatus::Excepted),
            "exception_expired" => Some(RegisterStatus::ExceptionExpired),
            "resolved" => Some(RegisterStatus::Resolved),
            _ => None,
        }
    }

    fn of(status: Status) -> RegisterStatus {
        match status {
            Status::Open => RegisterStatus::Open,
            Status::Excepted => RegisterStatus::Excepted,
            Status::ExceptionExpired => RegisterStatus::ExceptionExpired,
        }
    }
}

/// The changes a run made to the register, counted for the manifest and the summary.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RunDelta {
    /// The previous register, or `null` when this run started a new one.
    pub previous: Option<String>,
    /// Findings seen for the first time.
    pub new: u64,
    /// Findings seen now that were already unresolved in the register.
    pub still_open: u64,
    /// Findings seen now that the register had marked resolved.
    pub reopened: u64,
    /// Register rows resolved by this run.
    pub resolved: u64,
    /// Findings seen now with an exception in force.
    pub excepted: u64,
    /// Findings seen now whose exception has expired.
    pub exception_expired: u64,
    /// Unresolved rows of rules this run did not evaluate, kept as they were.
    pub carried_over: u64,
    /// Rows in the register after this run.
    pub rows: u64,
    /// Ids of exceptions that covered no finding of this run.
    pub unused_exceptions: Vec<String>,
}

impl std::fmt::Display for RunDelta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} new, {} still open, {} reopened, {} resolved, {} excepted, {} exception-expired, {} carried over",
            self.new,
            self.still_open,
            self.reopened,
            self.resolved,
            self.excepted,
            self.exception_expired,
            self.carried_over
        )
    }
}

/// The register: a header and rows of cells, with the position of each own column.
#[derive(Clone, Debug)]
pub struct Register {
    /// Header cells as the team wrote them, then own columns the file lacked.
    header: Vec<String>,
    /// The index in `header` of each own column, by [`COLUMNS`] position.
    index: [usize; COLUMNS.len()],
    rows: Vec<Vec<String>>,
}

/// Undoes the formula neutralisation [`SafeCsv`] applied, so a cell keeps its
/// text across runs instead of gaining a quote each time.
fn restore_cell(cell: &str) -> String {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest.to_string(),
        _ => cell.to_string(),
    }
}

fn own_column(name: &str) -> Option<usize> {
    let name = name.trim();
    COLUMNS
        .iter()
        .position(|column| column.eq_ignore_ascii_case(name))
}

impl Default for Register {
    fn default() -> Register {
        Register::new()
    }
}

impl Register {
    /// Creates an empty register with the own columns only.
    pub fn new() -> Register {
        let mut index = [0; COLUMNS.len()];
        for (position, slot) in index.iter_mut().enumerate() {
            *slot = position;
        }
        Register {
            header: COLUMNS.iter().map(|name| name.to_string()).collect(),
            index,
            rows: Vec::new(),
        }
    }

    /// Reads a register written by an earlier run and perhaps edited by hand.
    /// Any problem is an error naming the file's line: a register that cannot be
    /// read whole must not be replaced by a partial one.
    pub fn read(path: &Path) -> Result<Register> {
        let invalid = |line: u64, message: String| Error::Register {
            path: path.to_path_buf(),
            line,
            message,
        };
        let bytes = std::fs::read(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut reader = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(false)
            .from_reader(bytes.as_slice());
        let mut records = reader.records();
        let header: Vec<String> = match records.next() {
            None => {
                return Err(invalid(
                    1,
                    "the file is empty; expected a header row".into(),
                ));
            }
            Some(Err(error)) => return Err(csv_error(path, &bytes, error)),
            Some(Ok(record)) => record
                .iter()
                .enumerate()
                .map(|(position, cell)| {
                    let cell = if position == 0 {
                        cell.trim_start_matches('\u{feff}')
                    } else {
                        cell
                    };
                    restore_cell(cell)
                })
                .collect(),
        };

        // Place every own column: where the file has it, else after the own
        // column before it, so hand-added columns keep their place.
        let mut found: [Option<usize>; COLUMNS.len()] = [None; COLUMNS.len()];
        for (position, name) in header.iter().enumerate() {
            if let Some(own) = own_column(name) {
                if let Some(earlier) = found[own] {
                    return Err(invalid(
                        1,
                        format!(
                            "column `{}` appears twice (columns {} and {})",
                            COLUMNS[own],
                            earlier + 1,
                            position + 1
                        ),
                    ));
                }
                found[own] = Some(position);
            }
        }
        for required in ["finding_id", "rule", "status"] {
            if found[own_column(required).expect("an own column")].is_none() {
                return Err(invalid(
                    1,
                    format!(
                        "required column `{required}` is missing; the columns present are: {}",
                        header.join(", ")
                    ),
                ));
            }
        }
        // Each column of the merged layout: its position in the file (`None` when
        // added here) and the own column it is (`None` for a hand-added one).
        let mut columns: Vec<(Option<usize>, Option<usize>)> = header
            .iter()
            .enumerate()
            .map(|(position, name)| (Some(position), own_column(name)))
            .collect();
        let mut after: Option<usize> = None;
        for own in 0..COLUMNS.len() {
            match columns.iter().position(|(_, column)| *column == Some(own)) {
                Some(at) => after = Some(at),
                None => {
                    let at = after.map_or(0, |at| at + 1);
                    columns.insert(at, (None, Some(own)));
                    after = Some(at);
                }
            }
        }
        let names: Vec<String> = columns
            .iter()
            .map(|(position, own)| match (position, own) {
                (Some(position), _) => header[*position].clone(),
                (None, own) => COLUMNS[own.expect("added columns are own columns")].to_string(),
            })
            .collect();
        let mut index = [0; COLUMNS.len()];
        for (at, (_, own)) in columns.iter().enumerate() {
            if let Some(own) = own {
                index[*own] = at;
            }
        }
        let layout: Vec<Option<usize>> = columns.iter().map(|(position, _)| *position).collect();

        let mut register = Register {
            header: names,
            index,
            rows: Vec::new(),
        };
        let mut lines_by_id: HashMap<String, u64> = HashMap::new();
        for record in records {
            let record = record.map_err(|error| csv_error(path, &bytes, error))?;
            let line = record
                .position()
                .map_or(0, |position| line_of(&bytes, position));
            let row: Vec<String> = layout
                .iter()
                .map(|slot| slot.map_or_else(String::new, |at| restore_cell(&record[at])))
                .collect();
            if row.iter().all(|cell| cell.trim().is_empty()) {
                continue;
            }
            register
                .check_row(&row)
                .map_err(|message| invalid(line, message))?;
            let id = row[register.index[0]].trim().to_string();
            if let Some(first) = lines_by_id.insert(id.clone(), line) {
                return Err(invalid(
                    line,
                    format!("finding `{id}` already has a row at line {first}"),
                ));
            }
            register.rows.push(row);
        }
        Ok(register)
    }

    fn cell<'r>(&self, row: &'r [String], column: &str) -> &'r str {
        let own = own_column(column).expect("an own column");
        row[self.index[own]].trim()
    }

    fn set(&self, row: &mut [String], column: &str, value: impl Into<String>) {
        let own = own_column(column).expect("an own column");
        row[self.index[own]] = value.into();
    }

    /// Checks the cells of one row that a merge relies on.
    fn check_row(&self, row: &[String]) -> std::result::Result<(), String> {
        for column in ["finding_id", "rule", "status"] {
            if self.cell(row, column).is_empty() {
                return Err(format!("`{column}` is empty"));
            }
        }
        let status = self.cell(row, "status");
        if RegisterStatus::parse(status).is_none() {
            return Err(format!(
                "unknown status `{status}`; expected open, excepted, exception-expired or resolved"
            ));
        }
        let severity = self.cell(row, "severity");
        if !severity.is_empty() && Severity::parse(severity).is_none() {
            return Err(format!(
                "unknown severity `{severity}`; expected one of: {}",
                Severity::expected()
            ));
        }
        for column in ["runs_seen", "reopened"] {
            let value = self.cell(row, column);
            if !value.is_empty() && value.parse::<u64>().is_err() {
                return Err(format!("`{column}` is `{value}`; expected a whole number"));
            }
        }
        for column in ["first_seen", "last_seen", "resolved_at"] {
            let value = self.cell(row, column);
            if !value.is_empty()
                && let Err(error) = Timestamp::parse(value)
            {
                return Err(format!("`{column}`: {error}"));
            }
        }
        Ok(())
    }

    /// Returns the header cells, as written.
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// Returns the rows, in stored order.
    pub fn rows(&self) -> impl Iterator<Item = RowView<'_>> {
        self.rows.iter().map(|cells| RowView {
            register: self,
            cells,
        })
    }

    /// Finds the row of `finding_id`.
    pub fn row(&self, finding_id: &str) -> Option<RowView<'_>> {
        self.rows().find(|row| row.get("finding_id") == finding_id)
    }

    /// Merges this run into the register read from the previous run. See
    /// [`RunInput`] for what the run contributes.
    pub fn merge(&self, run: &RunInput<'_>) -> (Register, RunDelta) {
        let as_of = run.as_of.to_rfc3339();
        let mut merged = Register {
            header: self.header.clone(),
            index: self.index,
            rows: Vec::with_capacity(self.rows.len() + run.findings.len()),
        };
        let mut delta = RunDelta::default();
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        let previous: HashMap<&str, &Vec<String>> = self
            .rows
            .iter()
            .map(|row| (self.cell(row, "finding_id"), row))
            .collect();

        for finding in run.findings {
            seen.insert(&finding.finding_id);
            let mut row = match previous.get(finding.finding_id.as_str()) {
                Some(old) => (*old).clone(),
                None => vec![String::new(); self.header.len()],
            };
            let old_status = previous
                .get(finding.finding_id.as_str())
                .and_then(|old| RegisterStatus::parse(self.cell(old, "status")));
            let runs_seen: u64 = self.cell(&row, "runs_seen").parse().unwrap_or(0);
            let mut reopened: u64 = self.cell(&row, "reopened").parse().unwrap_or(0);
            match old_status {
                None => delta.new += 1,
                Some(RegisterStatus::Resolved) => {
                    delta.reopened += 1;
                    reopened += 1;
                    self.set(&mut row, "resolved_at", "");
                }
                Some(_) => delta.still_open += 1,
            }
            let status = RegisterStatus::of(finding.status);
            match status {
                RegisterStatus::Excepted => delta.excepted += 1,
                RegisterStatus::ExceptionExpired => delta.exception_expired += 1,
                _ => {}
            }

            self.set(&mut row, "finding_id", finding.finding_id.clone());
            self.set(&mut row, "rule", finding.rule.clone());
            self.set(&mut row, "subject", subject_name(finding));
            for (name, value) in FindingKey::COLUMNS.into_iter().zip(finding.key.values()) {
                self.set(&mut row, name, value);
            }
            self.set(&mut row, "severity", finding.severity.as_str());
            self.set(&mut row, "status", status.as_str());
            // NOTE: `first_seen` is the as-of of the first run that saw the
            // finding, not the time of its earliest evidence, so the SLA counts
            // from when the review found it.
            let first_seen = match Timestamp::parse(self.cell(&row, "first_seen")) {
                Ok(first) => first,
                Err(_) => run.as_of,
            };
            self.set(&mut row, "first_seen", first_seen.to_rfc3339());
            self.set(&mut row, "last_seen", as_of.clone());
            self.set(&mut row, "runs_seen", (runs_seen + 1).to_string());
            self.set(&mut row, "reopened", reopened.to_string());
            self.set(
                &mut row,
                "due_date",
                due_date(first_seen, finding.severity, run.sla_days),
            );
            // A team may fill in an owner the inventory lacks; keep it until the
            // inventory names one.
            if !finding.owner.is_empty() {
                self.set(&mut row, "owner", finding.owner.clone());
            }
            let coverage = run.coverage.get(&finding.finding_id);
            self.set(
                &mut row,
                "exception_id",
                coverage.map_or("", |c| c.exception.exception_id.as_str()),
            );
            self.set(
                &mut row,
                "exception_expires_at",
                coverage.map_or(String::new(), |c| c.exception.expires_at.to_rfc3339()),
            );
            self.set(
                &mut row,
                "approved_by",
                coverage.map_or("", |c| c.exception.approved_by.as_str()),
            );
            merged.rows.push(row);
        }

        for old in &self.rows {
            if seen.contains(self.cell(old, "finding_id")) {
                continue;
            }
            let mut row = old.clone();
            let status = RegisterStatus::parse(self.cell(old, "status"));
            if status != Some(RegisterStatus::Resolved) {
                if run.evaluated.contains(self.cell(old, "rule")) {
                    delta.resolved += 1;
                    self.set(&mut row, "status", RegisterStatus::Resolved.as_str());
                    self.set(&mut row, "resolved_at", as_of.clone());
                } else {
                    delta.carried_over += 1;
                }
            }
            merged.rows.push(row);
        }
        let id_at = merged.index[0];
        merged
            .rows
            .sort_by(|a, b| a[id_at].trim().cmp(b[id_at].trim()));
        delta.rows = merged.rows.len() as u64;
        (merged, delta)
    }

    /// Writes the register as CSV, formula cells neutralised.
    pub fn write_csv(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let mut writer = SafeCsv::new(out);
        writer.row(&self.header)?;
        for row in &self.rows {
            writer.row(row)?;
        }
        writer.flush()
    }
}

/// One register row, read through the own column names.
#[derive(Clone, Copy)]
pub struct RowView<'r> {
    register: &'r Register,
    cells: &'r [String],
}

impl<'r> RowView<'r> {
    /// Returns the trimmed value of an own column.
    pub fn get(&self, column: &str) -> &'r str {
        self.register.cell(self.cells, column)
    }

    pub fn status(&self) -> Option<RegisterStatus> {
        RegisterStatus::parse(self.get("status"))
    }

    pub fn severity(&self) -> Option<Severity> {
        Severity::parse(self.get("severity"))
    }

    /// Builds the key of the row from its key columns.
    pub fn key(&self) -> FindingKey {
        let value = |name: &str| self.get(name).to_string();
        FindingKey {
            environment: value("environment"),
            service: value("service"),
            identity: value("identity"),
            credential_state: value("credential_state"),
            method: value("method"),
            endpoint: value("endpoint"),
            action: value("action"),
            auth_path: value("auth_path"),
            leak_category: value("leak_category"),
            grant: value("grant"),
            credential_id: value("credential_id"),
            initiator: value("initiator"),
            worker: value("worker"),
            covered_finding_id: value("covered_finding_id"),
        }
    }

    /// Lists the columns a team added by hand, as `(header, value)` in file order.
    pub fn extra_columns(&self) -> Vec<(&'r str, &'r str)> {
        self.register
            .header
            .iter()
            .zip(self.cells)
            .filter(|(name, _)| own_column(name).is_none())
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect()
    }
}

/// One run's contribution to the register.
pub struct RunInput<'a> {
    /// This run's findings, statuses already set by the exceptions.
    pub findings: &'a [Finding],
    /// By finding id, the exception behind an `excepted` or `exception-expired` status.
    pub coverage: &'a BTreeMap<String, Coverage>,
    /// Rules that ran with the inputs they need: only their unseen rows resolve.
    pub evaluated: &'a BTreeSet<String>,
    pub as_of: Timestamp,
    /// Days to fix, by severity.
    pub sla_days: &'a BTreeMap<Severity, i64>,
}

fn subject_name(finding: &Finding) -> String {
    serde_json::to_value(finding.subject)
        .ok()
        .and_then(|value| value.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// `first_seen` plus the SLA of `severity`, or empty when the settings give none.
pub fn due_date(
    first_seen: Timestamp,
    severity: Severity,
    sla_days: &BTreeMap<Severity, i64>,
) -> String {
    sla_days
        .get(&severity)
        .map(|days| first_seen.plus_seconds(days * 86_400).to_rfc3339())
        .unwrap_or_default()
}

/// Returns the 1-based line on which a CSV record starts, counted from the
/// record's byte offset. The `csv` crate's own line count lags by one after a
/// CRLF line end, because it stops a record at the CR and counts the LF with the
/// next record.
pub(crate) fn line_of(bytes: &[u8], position: &::csv::Position) -> u64 {
    let offset = (position.byte() as usize).min(bytes.len());
    let before = bytes[..offset]
        .iter()
        .filter(|&&byte| byte == b'\n')
        .count() as u64;
    let pending_line_feed = u64::from(bytes.get(offset) == Some(&b'\n'));
    before + pending_line_feed + 1
}

/// Turns a CSV parse error into a register error with its line.
fn csv_error(path: &Path, bytes: &[u8], error: ::csv::Error) -> Error {
    let line = error
        .position()
        .map_or(0, |position| line_of(bytes, position));
    let message = match error.kind() {
        ::csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("the row has {len} cells but the header has {expected_len}"),
        ::csv::ErrorKind::Utf8 { .. } => {
            "the row is not valid UTF-8; save the register as UTF-8 CSV".to_string()
        }
        _ => error.to_string(),
    };
    match error.into_kind() {
        ::csv::ErrorKind::Io(source) => Error::Read {
            path: path.to_path_buf(),
            source,
        },
        _ => Error::Register {
            path: path.to_path_buf(),
            line,
            message,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_text(text: &str) -> Result<Register> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("register.csv");
        std::fs::write(&path, text).unwrap();
        Register::read(&path)
    }

    #[test]
    fn restore_cell_undoes_neutralisation_only() {
        assert_eq!(restore_cell("'=1+1"), "=1+1");
        assert_eq!(restore_cell("'-2"), "-2");
        assert_eq!(restore_cell("'quoted"), "'quoted");
        assert_eq!(restore_cell("plain"), "plain");
    }

    #[test]
    fn read_keeps_hand_added_columns_in_place() {
        let register =
            read_text("finding_id,ticket,rule,status,notes\r\nx-1,SEC-1,r,open,hi\r\n").unwrap();
        let header = register.header();
        assert_eq!(header[0], "finding_id");
        assert_eq!(header[1], "ticket");
        assert_eq!(header[2], "rule");
        let row = register.row("x-1").unwrap();
        assert_eq!(row.get("notes"), "hi");
        assert_eq!(row.extra_columns(), vec![("ticket", "SEC-1")]);
    }

    #[test]
    fn read_rejects_unknown_status_with_line() {
        let error = read_text("finding_id,rule,status\nx-1,r,open\nx-2,r,closed\n").unwrap_err();
        let text = error.to_string();
        assert!(text.contains(":3") || text.contains("line 3"), "{text}");
        assert!(text.contains("unknown status `closed`"), "{text}");
    }

    #[test]
    fn read_rejects_duplicate_finding() {
        let error = read_text("finding_id,rule,status\nx-1,r,open\nx-1,r,open\n").unwrap_err();
        assert!(
            error.to_string().contains("already has a row at line 2"),
            "{error}"
        );
    }

    #[test]
    fn read_rejects_ragged_row() {
        let error = read_text("finding_id,rule,status\r\nx-1,r,open\r\nx-2,r\r\n").unwrap_err();
        let text = error.to_string();
        assert!(text.contains("2 cells but the header has 3"), "{text}");
        assert!(text.contains("line 3"), "{text}");
    }

    #[test]
    fn read_rejects_missing_required_column() {
        let error = read_text("finding_id,rule\nx-1,r\n").unwrap_err();
        assert!(error.to_string().contains("`status` is missing"), "{error}");
    }
}
