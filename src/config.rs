//! The resolved configuration of one run, built from flags and an optional TOML
//! config file before any input is read.

use std::path::PathBuf;

use crate::ingest::import::ImportConfig;
use crate::model::{Severity, Timestamp};

/// The default review window: the 90 days before `--as-of`.
pub const DEFAULT_WINDOW_DAYS: i64 = 90;

/// Everything a run needs to know, already validated.
#[derive(Clone, Debug)]
pub struct RunConfig {
    pub tests: Vec<String>,
    pub logs: Vec<String>,
    /// Access log summaries written by `corroborate summarize`, merged with `logs`.
    pub summaries: Vec<String>,
    pub entitlements: Vec<String>,
    /// Approved exceptions: files, folders or globs.
    pub exceptions: Vec<String>,
    /// The previous register; when `None`, `register.csv` in `out` is used if it exists.
    pub register: Option<PathBuf>,
    /// A CSV file mapping `service` to `owner`, for service findings.
    pub owners: Option<PathBuf>,
    /// Overrides for the built-in rule files.
    pub rules_dir: Option<PathBuf>,
    pub out: PathBuf,
    pub as_of: Timestamp,
    /// Start of the review window, inclusive.
    pub since: Timestamp,
    /// End of the review window, exclusive.
    pub until: Timestamp,
    /// Fail with exit code 2, writing nothing, when any input row is rejected.
    pub strict: bool,
    /// Exit with code 1 when an open finding is at or above this severity.
    pub fail_on: Option<Severity>,
    /// The formats, mapping files and lookups for foreign exports.
    pub imports: ImportConfig,
}

impl RunConfig {
    /// A configuration with the default window for `as_of` and no inputs.
    pub fn new(out: impl Into<PathBuf>, as_of: Timestamp) -> RunConfig {
        RunConfig {
            tests: Vec::new(),
            logs: Vec::new(),
            summaries: Vec::new(),
            entitlements: Vec::new(),
            exceptions: Vec::new(),
            register: None,
            owners: None,
            rules_dir: None,
            out: out.into(),
            as_of,
            since: as_of.plus_seconds(-DEFAULT_WINDOW_DAYS * 86_400),
            until: as_of,
            strict: false,
            fail_on: None,
            imports: ImportConfig::default(),
        }
    }

    /// The review window, `[since, until)`.
    pub fn window(&self) -> (Timestamp, Timestamp) {
        (self.since, self.until)
    }
}
