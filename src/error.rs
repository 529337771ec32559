//! Errors that stop a run. Problems in single input rows are not errors: they
//! become rejects (see `ingest::Reject`) and the run goes on.

use std::path::PathBuf;

/// A failure that ends the run with exit code 2 before any output is written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("input `{path}` not found")]
    InputNotFound { path: String },

    #[error(
        "no supported input files match `{pattern}` (expected .csv, .jsonl, .ndjson, .json, .parquet, .xml, .yaml, .yml or .log, optionally .gz or .zst)"
    )]
    NoInputFiles { pattern: String },

    #[error("failed to read `{path}`: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "`{path}` is missing required column(s) {missing} for {kind}; the columns present are: {present}"
    )]
    MissingColumns {
        path: String,
        kind: &'static str,
        missing: String,
        present: String,
    },

    #[error("failed to read Parquet file `{path}`: {message}")]
    Parquet { path: String, message: String },

    #[error("{count} problem(s) in the rule files:\n{report}")]
    Rules { count: usize, report: String },

    #[error("invalid configuration: {0}")]
    Config(String),

    #[error(
        "{rejected} input row(s) were rejected and --strict is set; nothing was written. The first: {first}"
    )]
    StrictRejects { rejected: u64, first: String },

    #[error(
        "another corroborate run is writing to `{path}`; nothing was written. Wait for it to finish, or choose another --out folder"
    )]
    Locked { path: PathBuf },

    #[error(
        "invalid register `{path}` at line {line}: {message}. Nothing was written; fix that line, or pass another --register file"
    )]
    Register {
        path: PathBuf,
        line: u64,
        message: String,
    },

    #[error("failed to write `{path}`: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
