//! `history.jsonl`: one JSON line per run with its as-of, window and finding
//! counts, kept in the output folder beside the register so the report can chart
//! findings across runs.
//!
//! Each run reads the file, replaces the line with the same as-of (so running a
//! review again does not count it twice) or adds one, and stages the result with
//! the other outputs. A line that cannot be read is dropped with a warning and the
//! rest is kept: the history only feeds the trend chart, and a nightly run should
//! not fail over it. A file that exists but cannot be opened is an error.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::manifest::Manifest;
use crate::error::{Error, Result};
use crate::model::Timestamp;

/// The history file's name inside the output folder.
pub const HISTORY_FILE: &str = "history.jsonl";

/// How many dropped lines are logged one by one; the rest are only counted.
const LOGGED_DROPS: usize = 5;

/// One run's counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub as_of: String,
    #[serde(default)]
    pub since: String,
    #[serde(default)]
    pub until: String,
    pub findings: u64,
    /// Findings by severity name.
    #[serde(default)]
    pub by_severity: BTreeMap<String, u64>,
    /// Findings by status name.
    #[serde(default)]
    pub by_status: BTreeMap<String, u64>,
}

impl HistoryEntry {
    /// Builds the entry of the run a manifest describes.
    pub fn of(manifest: &Manifest) -> HistoryEntry {
        HistoryEntry {
            as_of: manifest.as_of.clone(),
            since: manifest.window.since.clone(),
            until: manifest.window.until.clone(),
            findings: manifest.counts.findings,
            by_severity: manifest.counts.by_severity.clone(),
            by_status: manifest.counts.by_status.clone(),
        }
    }

    /// Findings of one severity, 0 when none.
    pub fn severity_count(&self, severity: &str) -> u64 {
        self.by_severity.get(severity).copied().unwrap_or(0)
    }
}

/// The runs recorded so far, oldest first.
#[derive(Clone, Debug, Default)]
pub struct History {
    /// Sorted by as-of; at most one entry per as-of instant.
    entries: Vec<(Timestamp, HistoryEntry)>,
    /// Lines of the file read that were dropped, as `line N: reason`.
    pub dropped: Vec<String>,
}

impl History {
    /// Reads `path`; a missing file is an empty history.
    pub fn read(path: &Path) -> Result<History> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(History::default());
            }
            Err(source) => {
                return Err(Error::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let history = History::parse(&bytes);
        for drop in history.dropped.iter().take(LOGGED_DROPS) {
            tracing::warn!(
                "{}: {drop}; the line is dropped from the run history",
                path.display()
            );
        }
        if history.dropped.len() > LOGGED_DROPS {
            tracing::warn!(
                "{}: {} more unreadable lines dropped from the run history",
                path.display(),
                history.dropped.len() - LOGGED_DROPS
            );
        }
        Ok(history)
    }

    /// Parses the lines of a history file, keeping the last entry of each as-of.
    pub fn parse(bytes: &[u8]) -> History {
        let mut history = History::default();
        for (index, line) in bytes.split(|&byte| byte == b'\n').enumerate() {
            let line_number = index + 1;
            let Ok(text) = std::str::from_utf8(line) else {
                history
                    .dropped
                    .push(format!("line {line_number}: not valid UTF-8"));
                continue;
            };
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            match serde_json::from_str::<HistoryEntry>(text) {
                Ok(entry) => match Timestamp::parse(&entry.as_of) {
                    Ok(as_of) => history.insert(as_of, entry),
                    Err(error) => history
                        .dropped
                        .push(format!("line {line_number}: field `as_of`: {error}")),
                },
                Err(error) => history.dropped.push(format!(
                    "line {line_number}: invalid history entry: {error}"
                )),
            }
        }
        history
    }

    /// Adds a run, replacing an entry with the same as-of.
    pub fn record(&mut self, entry: HistoryEntry) -> Result<()> {
        let as_of = Timestamp::parse(&entry.as_of)
            .map_err(|error| Error::Config(format!("run history: {error}")))?;
        self.insert(as_of, entry);
        Ok(())
    }

    fn insert(&mut self, as_of: Timestamp, entry: HistoryEntry) {
        match self
            .entries
            .binary_search_by(|(known, _)| known.cmp(&as_of))
        {
            Ok(index) => self.entries[index].1 = entry,
            Err(index) => self.entries.insert(index, (as_of, entry)),
        }
    }

    /// Returns the entries, oldest first.
    pub fn entries(&self) -> impl ExactSizeIterator<Item = &HistoryEntry> + DoubleEndedIterator {
        self.entries.iter().map(|(_, entry)| entry)
    }

    /// Writes one JSON line per entry, oldest first.
    pub fn write(&self, out: &mut dyn Write) -> std::io::Result<()> {
        for entry in self.entries() {
            serde_json::to_writer(&mut *out, entry)?;
            out.write_all(b"\n")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(as_of: &str, findings: u64) -> HistoryEntry {
        HistoryEntry {
            as_of: as_of.to_string(),
            since: String::new(),
            until: String::new(),
            findings,
            by_severity: BTreeMap::from([("high".to_string(), findings)]),
            by_status: BTreeMap::new(),
        }
    }

    fn written(history: &History) -> String {
        let mut out = Vec::new();
        history.write(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn record_sorts_and_replaces_same_as_of() {
        let mut history = History::default();
        history.record(entry("2026-11-30T00:00:00Z", 3)).unwrap();
        history.record(entry("2026-10-31T00:00:00Z", 5)).unwrap();
        history
            .record(entry("2026-11-30T01:00:00+01:00", 4))
            .unwrap();
        let counts: Vec<u64> = history.entries().map(|entry| entry.findings).collect();
        assert_eq!(counts, [5, 4]);
    }

    #[test]
    fn written_history_reads_back() {
        let mut history = History::default();
        history.record(entry("2026-10-31T00:00:00Z", 5)).unwrap();
        history.record(entry("2026-11-30T00:00:00Z", 3)).unwrap();
        let text = written(&history);
        let again = History::parse(text.as_bytes());
        assert!(again.dropped.is_empty());
        assert_eq!(written(&again), text);
    }

    #[test]
    fn malformed_lines_are_dropped_and_reported() {
        let text = b"{\"as_of\":\"2026-10-31T00:00:00Z\",\"findings\":2}\n\
                     not json\n\
                     {\"as_of\":\"yesterday\",\"findings\":1}\n\
                     \xff\xfe\n\
                     \n\
                     {\"as_of\":\"2026-11-30T00:00:00Z\",\"findings\":7}\n";
        let history = History::parse(text);
        let counts: Vec<u64> = history.entries().map(|entry| entry.findings).collect();
        assert_eq!(counts, [2, 7]);
        assert_eq!(history.dropped.len(), 3);
        assert!(history.dropped[0].starts_with("line 2: invalid history entry"));
        assert!(history.dropped[1].starts_with("line 3: field `as_of`"));
        assert_eq!(history.dropped[2], "line 4: not valid UTF-8");
    }

    #[test]
    fn missing_file_is_empty_history() {
        let dir = tempfile::tempdir().unwrap();
        let history = History::read(&dir.path().join(HISTORY_FILE)).unwrap();
        assert_eq!(history.entries().len(), 0);
    }
}
