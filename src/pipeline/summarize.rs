//! The summarize job: reads a batch of access logs (typically one day) and writes
//! its summary as one Parquet file, with the rejected rows in a CSV beside it.
//! `corroborate run --summaries` merges such files; docs/summaries.md describes
//! the format.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::emit;
use crate::error::{Error, Result};
use crate::ingest::entitlements::EntitlementAccumulator;
use crate::ingest::logs::{LogAccumulator, LogContext};
use crate::ingest::summary::{self, SummarySources};
use crate::ingest::{InputKind, read_inputs};
use crate::model::Timestamp;
use crate::model::inventory::Inventory;
use crate::rules::RuleSet;

/// The window of a summary that keeps every event: years 1 to 9999.
pub const ALL_TIME: (Timestamp, Timestamp) = (
    Timestamp(-62_135_596_800_000),
    Timestamp(253_402_300_800_000),
);

/// What `corroborate summarize` was asked to do.
#[derive(Clone, Debug)]
pub struct SummarizeConfig {
    pub logs: Vec<String>,
    /// Optional entitlements: identities whose grants name literal ids keep raw
    /// paths in the summary.
    pub entitlements: Vec<String>,
    /// The summary file to write; the rejects go beside it.
    pub out: PathBuf,
    /// `[since, until)`; events outside it are only counted. `None` keeps every event.
    pub window: Option<(Timestamp, Timestamp)>,
    /// Rule files overriding the built-in ones (for `source_normalizers`).
    pub rules_dir: Option<PathBuf>,
    /// Fail with exit code 2, writing nothing, when any log row is rejected.
    pub strict: bool,
}

/// What a finished summarize job reports back to the command line.
#[derive(Debug)]
pub struct SummarizeReport {
    pub events_read: u64,
    pub events_outside_window: u64,
    pub summary_rows: u64,
    pub denied_events: u64,
    pub trace_edges: u64,
    pub rejects: u64,
    pub rejects_path: PathBuf,
}

/// Reads the logs and writes the summary and its rejects.
pub fn run(config: &SummarizeConfig) -> Result<SummarizeReport> {
    let started = Instant::now();
    let rules = RuleSet::load(config.rules_dir.as_deref())?;
    let normalizers = rules
        .rules
        .get("shared-identity")
        .map(|rule| rule.params.patterns("source_normalizers").to_vec())
        .unwrap_or_default();
    let inventory = if config.entitlements.is_empty() {
        Inventory::default()
    } else {
        let outcome = read_inputs(
            InputKind::Entitlements,
            &config.entitlements,
            &EntitlementAccumulator::default,
        )?;
        Inventory::from_rows(outcome.data.rows)
    };
    let window = config.window.unwrap_or(ALL_TIME);
    let mut context = LogContext::new(window, &inventory, 0, normalizers);
    // Segments depend on the run's entitlements, so the summary does not split rows.
    context.boundaries.clear();
    context.trace_raw_paths = true;

    let outcome = read_inputs(InputKind::Logs, &config.logs, &|| {
        LogAccumulator::new(&context)
    })?;
    if config.strict
        && let Some(first) = outcome.rejects.first()
    {
        return Err(Error::StrictRejects {
            rejected: outcome.rejects.len() as u64,
            first: first.to_string(),
        });
    }
    let access = outcome.data.finish();
    tracing::info!(
        "logs: {} events as {} summary rows, {} denied events, {} trace edges, {} outside the window ({:.2} s)",
        access.events_in_window,
        access.rows.len(),
        access.denied.len(),
        access.traces.len(),
        access.events_outside_window,
        started.elapsed().as_secs_f64()
    );

    let sources = SummarySources {
        files: &outcome.files,
        window: config.window,
    };
    write_atomically(&config.out, |out| {
        summary::write(out, &access, &context, &sources).map_err(std::io::Error::other)
    })?;
    let rejects_path = summary::rejects_path(&config.out);
    write_atomically(&rejects_path, |out| {
        emit::findings::write_rejects(&outcome.rejects, out)
    })?;
    Ok(SummarizeReport {
        events_read: access.events_in_window + access.events_outside_window,
        events_outside_window: access.events_outside_window,
        summary_rows: access.rows.len() as u64,
        denied_events: access.denied.len() as u64,
        trace_edges: access.traces.len() as u64,
        rejects: outcome.rejects.len() as u64,
        rejects_path,
    })
}

/// Writes `path` through a temporary file in the same folder, renamed into place
/// once complete, so an interrupted job leaves the previous file whole.
fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let io_error = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(folder).map_err(io_error)?;
    let temp = tempfile::Builder::new()
        .prefix(".corroborate-")
        .suffix(".tmp")
        .tempfile_in(folder)
        .map_err(io_error)?;
    {
        let mut writer = std::io::BufWriter::new(temp.as_file());
        write(&mut writer).map_err(io_error)?;
        writer.flush().map_err(io_error)?;
    }
    temp.as_file().sync_all().map_err(io_error)?;
    temp.persist(path).map_err(|error| io_error(error.error))?;
    Ok(())
}
