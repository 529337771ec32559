//! Access log summaries: the reduced form of a batch of access logs, written as
//! Parquet by `corroborate summarize` and merged by `corroborate run --summaries`.
//!
//! A summary contains the same evidence the log reader keeps (summary rows, denied
//! events, trace edges) but with keys that do not depend on the entitlements:
//! rows are not split into segments, and denied events and trace edges keep raw
//! paths. The run re-derives segments and templates against its own inventory and
//! applies its own review window. docs/summaries.md describes every column.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;

use polars::prelude::*;
use rayon::prelude::*;

use super::logs::{KeyFields, LogAccumulator, LogContext};
use super::schema::{SUMMARY_COLUMNS, column};
use super::{Format, InputFile, InputKind, ReadOutcome, Reject, expand_inputs};
use crate::error::{Error, Result};
use crate::model::access::{AccessData, AccessStats, DeniedEvent, SAMPLE_REQUEST_IDS, TraceEdge};
use crate::model::endpoint::template;
use crate::model::{Decision, IdentityType, Origin, Timestamp};

const KIND: usize = column(SUMMARY_COLUMNS, "kind");
const IDENTITY: usize = column(SUMMARY_COLUMNS, "identity");
const CREDENTIAL_ID: usize = column(SUMMARY_COLUMNS, "credential_id");
const IDENTITY_TYPE: usize = column(SUMMARY_COLUMNS, "identity_type");
const ENVIRONMENT: usize = column(SUMMARY_COLUMNS, "environment");
const SERVICE: usize = column(SUMMARY_COLUMNS, "service");
const METHOD: usize = column(SUMMARY_COLUMNS, "method");
const ENDPOINT: usize = column(SUMMARY_COLUMNS, "endpoint");
const PATH: usize = column(SUMMARY_COLUMNS, "path");
const ACTION: usize = column(SUMMARY_COLUMNS, "action");
const DECISION: usize = column(SUMMARY_COLUMNS, "decision");
const SOURCE: usize = column(SUMMARY_COLUMNS, "source");
const USER_AGENT: usize = column(SUMMARY_COLUMNS, "user_agent");
const AUTH_PATH: usize = column(SUMMARY_COLUMNS, "auth_path");
const COUNT: usize = column(SUMMARY_COLUMNS, "count");
const FIRST: usize = column(SUMMARY_COLUMNS, "first");
const LAST: usize = column(SUMMARY_COLUMNS, "last");
const REQUEST_ID: usize = column(SUMMARY_COLUMNS, "request_id");
const REQUEST_ID_2: usize = column(SUMMARY_COLUMNS, "request_id_2");
const REQUEST_ID_3: usize = column(SUMMARY_COLUMNS, "request_id_3");
const TRACE_ID: usize = column(SUMMARY_COLUMNS, "trace_id");
const REASON: usize = column(SUMMARY_COLUMNS, "reason");
const ORIGIN_FILE: usize = column(SUMMARY_COLUMNS, "origin_file");
const ORIGIN_LINE: usize = column(SUMMARY_COLUMNS, "origin_line");
const ROWS_REJECTED: usize = column(SUMMARY_COLUMNS, "rows_rejected");
const EVENTS_OUTSIDE_WINDOW: usize = column(SUMMARY_COLUMNS, "events_outside_window");
const SHA256: usize = column(SUMMARY_COLUMNS, "sha256");

/// The three request id columns, smallest id first.
const REQUEST_ID_COLUMNS: [usize; SAMPLE_REQUEST_IDS] = [REQUEST_ID, REQUEST_ID_2, REQUEST_ID_3];

/// Rows written per Parquet row group.
const BATCH_ROWS: usize = 128 * 1024;

/// The value type of a summary column.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ColumnType {
    Text,
    Integer,
    /// Milliseconds since the epoch, written as a UTC Parquet timestamp.
    Time,
}

fn column_type(index: usize) -> ColumnType {
    match index {
        COUNT | ORIGIN_LINE | ROWS_REJECTED | EVENTS_OUTSIDE_WINDOW => ColumnType::Integer,
        FIRST | LAST => ColumnType::Time,
        _ => ColumnType::Text,
    }
}

/// The row kinds of a summary file, the values of its `kind` column.
mod kind {
    /// A summary row: events with the same key, with count, first and last time.
    pub const ACCESS: &str = "access";
    /// One denied event.
    pub const DENIED: &str = "denied";
    /// One event with a trace id.
    pub const TRACE: &str = "trace";
    /// One log file the summary was made from, with its row counts.
    pub const INPUT: &str = "input";
    /// The window the summary applied and the events it left out.
    pub const WINDOW: &str = "window";
}

/// The sources of a summary, written as its `input` and `window` rows.
pub struct SummarySources<'a> {
    pub files: &'a [InputFile],
    /// `[since, until)` when the summary was limited to a window.
    pub window: Option<(Timestamp, Timestamp)>,
}

/// Writes `access` as a summary file. Rows of identities in the context's
/// `raw_path_identities` carry their raw path in `path`, and every trace edge
/// must carry its raw path (the context's `trace_raw_paths`).
pub fn write(
    out: &mut dyn std::io::Write,
    access: &AccessData,
    context: &LogContext,
    sources: &SummarySources<'_>,
) -> PolarsResult<()> {
    let mut writer = ParquetWriter::new(out)
        .with_compression(ParquetCompression::Zstd(None))
        .batched(&summary_schema())?;
    let mut batch = Batch::new();

    for (key, stats) in &access.rows {
        batch.start_row(kind::ACCESS);
        batch.text(IDENTITY, &key.identity);
        batch.text(CREDENTIAL_ID, &key.credential_id);
        batch.text(IDENTITY_TYPE, &key.identity_type);
        batch.text(ENVIRONMENT, &key.environment);
        batch.text(SERVICE, &key.service);
        batch.text(METHOD, &key.method);
        if context.raw_path_identities.contains(&key.identity) {
            batch.owned_text(ENDPOINT, template(&key.endpoint).into_owned());
            batch.text(PATH, &key.endpoint);
        } else {
            batch.text(ENDPOINT, &key.endpoint);
        }
        batch.text(ACTION, &key.action);
        batch.text(DECISION, key.decision.as_str());
        batch.text(SOURCE, &key.source);
        batch.text(USER_AGENT, &key.user_agent);
        batch.text(AUTH_PATH, &key.auth_path);
        batch.integer(COUNT, stats.count as i64);
        batch.integer(FIRST, stats.first.0);
        batch.integer(LAST, stats.last.0);
        for (column, id) in REQUEST_ID_COLUMNS.iter().zip(&stats.request_ids) {
            batch.text(*column, id);
        }
        batch.origin(&stats.origin);
        batch.flush_when_full(&mut writer)?;
    }
    for event in &access.denied {
        batch.start_row(kind::DENIED);
        batch.text(IDENTITY, &event.identity);
        batch.text(ENVIRONMENT, &event.environment);
        batch.text(SERVICE, &event.service);
        batch.text(METHOD, &event.method);
        batch.owned_text(ENDPOINT, template(&event.endpoint).into_owned());
        batch.text(PATH, &event.endpoint);
        batch.text(ACTION, &event.action);
        batch.text(DECISION, Decision::Deny.as_str());
        batch.integer(COUNT, 1);
        batch.integer(FIRST, event.time.0);
        batch.integer(LAST, event.time.0);
        batch.text(REQUEST_ID, &event.request_id);
        batch.text(REASON, &event.reason);
        batch.origin(&event.origin);
        batch.flush_when_full(&mut writer)?;
    }
    for edge in &access.traces {
        batch.start_row(kind::TRACE);
        batch.text(IDENTITY, &edge.identity);
        batch.text(ENVIRONMENT, &edge.environment);
        batch.text(SERVICE, &edge.service);
        batch.text(METHOD, &edge.method);
        batch.owned_text(ENDPOINT, template(&edge.endpoint).into_owned());
        batch.text(PATH, &edge.endpoint);
        batch.text(ACTION, &edge.action);
        batch.text(DECISION, edge.decision.as_str());
        batch.integer(COUNT, 1);
        batch.integer(FIRST, edge.time.0);
        batch.integer(LAST, edge.time.0);
        batch.text(REQUEST_ID, &edge.request_id);
        batch.text(TRACE_ID, &edge.trace_id);
        batch.origin(&edge.origin);
        batch.flush_when_full(&mut writer)?;
    }
    for file in sources.files {
        batch.start_row(kind::INPUT);
        batch.text(ORIGIN_FILE, &file.path);
        batch.integer(COUNT, file.rows_read as i64);
        batch.integer(ROWS_REJECTED, file.rows_rejected as i64);
        batch.text(SHA256, &file.sha256);
    }
    batch.start_row(kind::WINDOW);
    batch.integer(COUNT, access.events_in_window as i64);
    batch.integer(EVENTS_OUTSIDE_WINDOW, access.events_outside_window as i64);
    if let Some((since, until)) = sources.window {
        batch.integer(FIRST, since.0);
        batch.integer(LAST, until.0);
    }
    writer.write_batch(&batch.into_frame()?)?;
    writer.finish()?;
    Ok(())
}

fn summary_schema() -> Schema {
    SUMMARY_COLUMNS
        .iter()
        .enumerate()
        .map(|(index, name)| {
            let dtype = match column_type(index) {
                ColumnType::Text => DataType::String,
                ColumnType::Integer => DataType::Int64,
                ColumnType::Time => DataType::Datetime(TimeUnit::Milliseconds, Some(TimeZone::UTC)),
            };
            Field::new((*name).into(), dtype)
        })
        .collect()
}

/// Summary rows gathered column by column before they go to a row group.
struct Batch<'a> {
    text: Vec<Vec<Option<Cow<'a, str>>>>,
    integers: Vec<Vec<Option<i64>>>,
    rows: usize,
}

impl<'a> Batch<'a> {
    fn new() -> Batch<'a> {
        Batch {
            text: vec![Vec::new(); SUMMARY_COLUMNS.len()],
            integers: vec![Vec::new(); SUMMARY_COLUMNS.len()],
            rows: 0,
        }
    }

    /// Appends a row of `kind` with every other column null.
    fn start_row(&mut self, kind: &'static str) {
        for (index, values) in self.text.iter_mut().enumerate() {
            if column_type(index) == ColumnType::Text {
                values.push(None);
            }
        }
        for (index, values) in self.integers.iter_mut().enumerate() {
            if column_type(index) != ColumnType::Text {
                values.push(None);
            }
        }
        self.text(KIND, kind);
        self.rows += 1;
    }

    /// Sets a text column of the current row; an empty value stays null.
    fn text(&mut self, column: usize, value: &'a str) {
        if !value.is_empty() {
            *self.text[column].last_mut().expect("a row was started") = Some(Cow::Borrowed(value));
        }
    }

    fn owned_text(&mut self, column: usize, value: String) {
        if !value.is_empty() {
            *self.text[column].last_mut().expect("a row was started") = Some(Cow::Owned(value));
        }
    }

    fn integer(&mut self, column: usize, value: i64) {
        *self.integers[column].last_mut().expect("a row was started") = Some(value);
    }

    fn origin(&mut self, origin: &'a Origin) {
        self.text(ORIGIN_FILE, &origin.file);
        self.integer(ORIGIN_LINE, origin.line as i64);
    }

    fn flush_when_full<W: std::io::Write>(
        &mut self,
        writer: &mut polars::io::parquet::write::BatchedWriter<W>,
    ) -> PolarsResult<()> {
        if self.rows >= BATCH_ROWS {
            let full = std::mem::replace(self, Batch::new());
            writer.write_batch(&full.into_frame()?)?;
        }
        Ok(())
    }

    fn into_frame(self) -> PolarsResult<DataFrame> {
        let mut text = self.text.into_iter();
        let mut integers = self.integers.into_iter();
        let mut columns = Vec::with_capacity(SUMMARY_COLUMNS.len());
        for (index, name) in SUMMARY_COLUMNS.iter().enumerate() {
            let (values, numbers) = (text.next(), integers.next());
            let name: PlSmallStr = (*name).into();
            let series = match column_type(index) {
                ColumnType::Text => {
                    let values = values.unwrap_or_default();
                    let values: Vec<Option<&str>> = values.iter().map(|v| v.as_deref()).collect();
                    Series::new(name, values)
                }
                ColumnType::Integer => Series::new(name, numbers.unwrap_or_default()),
                ColumnType::Time => Series::new(name, numbers.unwrap_or_default())
                    .into_datetime(TimeUnit::Milliseconds, Some(TimeZone::UTC)),
            };
            columns.push(Column::from(series));
        }
        DataFrame::new(self.rows, columns)
    }
}

/// Reads every summary file behind `patterns` into one accumulator, applying the
/// context's window, segments and raw-path identities. Files are read in
/// parallel.
pub fn read_all<'c>(
    patterns: &[String],
    context: &'c LogContext,
) -> Result<ReadOutcome<LogAccumulator<'c>>> {
    let mut files = expand_inputs(InputKind::Summaries, patterns)?;
    // A folder of summaries also contains their `.rejects.csv` files.
    files.retain(|file| {
        let parquet = file.format == Format::Parquet;
        if !parquet {
            tracing::debug!(path = %file.path, "skipped: a summary must be a Parquet file");
        }
        parquet
    });
    if files.is_empty() {
        return Err(Error::NoInputFiles {
            pattern: patterns.join(" "),
        });
    }
    // Each worker thread folds the files it reads into its own slot, so rows
    // are merged across files as they are read and only a few accumulators meet
    // at the end. A slot is locked only after its file is decoded: decoding uses
    // rayon and polars pools, and a thread waiting inside them may run another
    // file's task, which would deadlock on a slot held across the decoding.
    // NOTE: merging 90 summaries of 10 million events each peaked at 19 GiB.
    // Memory grew by about 200 MiB per file, and trace edges explain only part
    // of it (docs/benchmarks.md).
    let last = rayon::current_num_threads();
    let slots: Vec<std::sync::Mutex<SummaryOutcome<'c>>> = (0..=last)
        .map(|_| std::sync::Mutex::new(SummaryOutcome::new(context)))
        .collect();
    files
        .into_par_iter()
        .try_for_each(|mut file| -> Result<()> {
            let (rejects, notes) = read(&mut file, &slots)?;
            let mut slot = lock_own_slot(&slots);
            slot.files.push(file);
            slot.rejects.extend(rejects);
            slot.notes.add(&notes);
            Ok(())
        })?;
    let mut outcomes = slots
        .into_iter()
        .map(|slot| slot.into_inner().expect("no worker panicked"));
    let mut merged = outcomes.next().expect("at least one slot");
    for outcome in outcomes {
        super::Accumulator::merge(&mut merged.data, outcome.data);
        merged.files.extend(outcome.files);
        merged.rejects.extend(outcome.rejects);
        merged.notes.add(&outcome.notes);
    }
    let SummaryOutcome {
        data,
        mut files,
        rejects,
        notes,
    } = merged;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let mut outcome = ReadOutcome {
        data,
        files,
        rejects,
    };
    notes.log();
    outcome.rejects.sort();
    Ok(outcome)
}

/// The result of reading some summary files.
struct SummaryOutcome<'c> {
    data: LogAccumulator<'c>,
    files: Vec<InputFile>,
    rejects: Vec<Reject>,
    notes: MergeNotes,
}

impl<'c> SummaryOutcome<'c> {
    fn new(context: &'c LogContext) -> SummaryOutcome<'c> {
        SummaryOutcome {
            data: LogAccumulator::new(context),
            files: Vec::new(),
            rejects: Vec::new(),
            notes: MergeNotes::default(),
        }
    }
}

/// Counts of the rows that merging made approximate, for one warning each.
#[derive(Default)]
struct MergeNotes {
    /// Rows split because a grant or credential boundary fell between their first
    /// and last event.
    split_rows: u64,
    /// Rows partly inside the review window, kept whole.
    straddling_rows: u64,
    /// Rows of identities whose grants name literal ids, holding only a template.
    templated_rows: u64,
    /// Log rows rejected when the summaries were written.
    source_rejects: u64,
}

impl MergeNotes {
    fn add(&mut self, other: &MergeNotes) {
        self.split_rows += other.split_rows;
        self.straddling_rows += other.straddling_rows;
        self.templated_rows += other.templated_rows;
        self.source_rejects += other.source_rejects;
    }

    fn log(&self) {
        if self.split_rows > 0 {
            tracing::warn!(
                "summaries: {} summary row(s) span a grant or credential boundary and were split; their event counts and first/last times are approximate (docs/summaries.md)",
                self.split_rows
            );
        }
        if self.straddling_rows > 0 {
            tracing::warn!(
                "summaries: {} summary row(s) lie partly outside the review window and were kept whole; choose --since and --until on the summaries' day boundaries for exact counts",
                self.straddling_rows
            );
        }
        if self.templated_rows > 0 {
            tracing::warn!(
                "summaries: {} summary row(s) of identities whose grants name literal ids hold only endpoint templates, so grants naming an id do not cover them; summarize with --entitlements to keep raw paths",
                self.templated_rows
            );
        }
        if self.source_rejects > 0 {
            tracing::warn!(
                "summaries: {} log row(s) were rejected when the summaries were written; see the .rejects.csv beside each summary",
                self.source_rejects
            );
        }
    }
}

/// Locks the calling thread's slot. The caller must start no rayon or polars
/// work while it holds the lock (see `read_all`).
fn lock_own_slot<'s, 'c>(
    slots: &'s [std::sync::Mutex<SummaryOutcome<'c>>],
) -> std::sync::MutexGuard<'s, SummaryOutcome<'c>> {
    let last = slots.len() - 1;
    let index = rayon::current_thread_index().map_or(last, |index| index.min(last));
    slots[index]
        .lock()
        .expect("no worker panics while holding its slot")
}

/// Reads one summary file into the calling thread's slot, returning its
/// rejected rows.
fn read(
    file: &mut InputFile,
    slots: &[std::sync::Mutex<SummaryOutcome<'_>>],
) -> Result<(Vec<Reject>, MergeNotes)> {
    let path = file.path.clone();
    let bytes = file.read_with(|stream| {
        let mut bytes = Vec::new();
        stream
            .read_to_end(&mut bytes)
            .map_err(|source| Error::Read {
                path: path.clone().into(),
                source,
            })?;
        Ok(bytes)
    })?;
    let parquet_error = |error: PolarsError| Error::Parquet {
        path: path.clone(),
        message: error.to_string(),
    };
    let mut reader = ParquetReader::new(Cursor::new(bytes));
    let schema = reader.schema().map_err(parquet_error)?;
    let names: Vec<String> = schema.iter_names().map(|name| name.to_string()).collect();
    let mut sources: Vec<Option<String>> = vec![None; SUMMARY_COLUMNS.len()];
    for name in &names {
        if let Some(index) = InputKind::Summaries.column_index(name)
            && sources[index].is_none()
        {
            sources[index] = Some(name.clone());
        }
    }
    let present: Vec<bool> = sources.iter().map(Option::is_some).collect();
    let missing = InputKind::Summaries.missing_columns(&present);
    if !missing.is_empty() {
        return Err(Error::MissingColumns {
            path: path.clone(),
            kind: InputKind::Summaries.as_str(),
            missing: missing.join(", "),
            present: names
                .iter()
                .map(|name| format!("`{name}`"))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let projection: Vec<String> = sources.iter().flatten().cloned().collect();
    let frame = reader
        .with_columns(Some(projection))
        .finish()
        .map_err(parquet_error)?;
    let columns = SummaryColumns::new(&frame, &sources).map_err(parquet_error)?;

    let name: Arc<str> = Arc::from(path.as_str());
    let mut slot = lock_own_slot(slots);
    let mut merger = Merger {
        accumulator: &mut slot.data,
        file: name.clone(),
        origins: HashMap::new(),
        notes: MergeNotes::default(),
        rejects: Vec::new(),
    };
    for row in 0..frame.height() {
        if let Err((column, reason)) = merger.add(&columns, row) {
            merger.rejects.push(Reject {
                file: name.clone(),
                line: None,
                record: row as u64 + 1,
                column: column.to_string(),
                reason,
                value: String::new(),
            });
        }
    }
    file.rows_read = frame.height() as u64 - merger.rejects.len() as u64;
    file.rows_rejected = merger.rejects.len() as u64;
    Ok((merger.rejects, merger.notes))
}

/// A summary file's columns, converted once to the types the merger reads.
struct SummaryColumns {
    text: Vec<Option<StringChunked>>,
    integers: Vec<Option<Int64Chunked>>,
}

impl SummaryColumns {
    fn new(frame: &DataFrame, sources: &[Option<String>]) -> PolarsResult<SummaryColumns> {
        let mut text = Vec::with_capacity(sources.len());
        let mut integers = Vec::with_capacity(sources.len());
        for (index, source) in sources.iter().enumerate() {
            let Some(name) = source else {
                text.push(None);
                integers.push(None);
                continue;
            };
            let series = frame.column(name)?.as_materialized_series();
            match column_type(index) {
                ColumnType::Text => {
                    let values = series.cast(&DataType::String)?;
                    text.push(Some(values.str()?.rechunk().into_owned()));
                    integers.push(None);
                }
                ColumnType::Integer => {
                    text.push(None);
                    let values = series.cast(&DataType::Int64)?;
                    integers.push(Some(values.i64()?.rechunk().into_owned()));
                }
                ColumnType::Time => {
                    text.push(None);
                    integers.push(Some(time_millis(series)?));
                }
            }
        }
        Ok(SummaryColumns { text, integers })
    }

    /// Returns the trimmed text of a column, `""` when null or absent.
    fn text(&self, column: usize, row: usize) -> &str {
        self.text[column]
            .as_ref()
            .and_then(|values| values.get(row))
            .map_or("", str::trim)
    }

    fn integer(&self, column: usize, row: usize) -> Option<i64> {
        self.integers[column]
            .as_ref()
            .and_then(|values| values.get(row))
    }
}

/// Converts a time column to epoch milliseconds: a Parquet timestamp of any unit,
/// an integer of epoch milliseconds, or RFC 3339 text.
fn time_millis(series: &Series) -> PolarsResult<Int64Chunked> {
    match series.dtype() {
        DataType::Datetime(unit, _) => {
            let per_ms: i64 = match unit {
                TimeUnit::Nanoseconds => 1_000_000,
                TimeUnit::Microseconds => 1_000,
                TimeUnit::Milliseconds => 1,
            };
            let raw = series.cast(&DataType::Int64)?;
            Ok(raw
                .i64()?
                .apply_values(|value| value.div_euclid(per_ms))
                .rechunk()
                .into_owned())
        }
        DataType::String => Ok(series
            .str()?
            .iter()
            .map(|value| {
                value
                    .and_then(|text| Timestamp::parse(text).ok())
                    .map(|t| t.0)
            })
            .collect()),
        _ => Ok(series.cast(&DataType::Int64)?.i64()?.rechunk().into_owned()),
    }
}

/// Why a summary row was rejected: the column and the reason.
type RowProblem = (&'static str, String);

/// Folds the rows of one summary file into an accumulator.
struct Merger<'a, 'c> {
    accumulator: &'a mut LogAccumulator<'c>,
    file: Arc<str>,
    origins: HashMap<String, Arc<str>>,
    notes: MergeNotes,
    rejects: Vec<Reject>,
}

impl Merger<'_, '_> {
    fn add(&mut self, columns: &SummaryColumns, row: usize) -> Result<(), RowProblem> {
        match columns.text(KIND, row) {
            kind::ACCESS => self.add_access(columns, row),
            kind::DENIED => self.add_denied(columns, row),
            kind::TRACE => self.add_trace(columns, row),
            kind::INPUT => {
                self.notes.source_rejects +=
                    columns.integer(ROWS_REJECTED, row).unwrap_or(0) as u64;
                Ok(())
            }
            kind::WINDOW => {
                let outside = columns.integer(EVENTS_OUTSIDE_WINDOW, row).unwrap_or(0);
                self.accumulator.add_outside_window(outside.max(0) as u64);
                Ok(())
            }
            other => Err((
                "kind",
                format!(
                    "unknown row kind `{other}`; expected access, denied, trace, input or window"
                ),
            )),
        }
    }

    fn add_access(&mut self, columns: &SummaryColumns, row: usize) -> Result<(), RowProblem> {
        let identity = required(columns, IDENTITY, row)?;
        let service = required(columns, SERVICE, row)?;
        let count = columns
            .integer(COUNT, row)
            .filter(|count| *count > 0)
            .ok_or(("count", "missing or not a positive number".to_string()))?
            as u64;
        let mut first = required_time(columns, FIRST, row)?;
        let mut last = required_time(columns, LAST, row)?;
        if last < first {
            return Err(("last", "is before `first`".to_string()));
        }

        let context = self.accumulator.context();
        let (since, until) = context.window;
        if last < since || first >= until {
            self.accumulator.add_outside_window(count);
            return Ok(());
        }
        if first < since || last >= until {
            // NOTE: a row partly inside the window is kept whole, with its times
            // clamped to the window, because a summary cannot tell how many of its
            // events fall on each side.
            self.notes.straddling_rows += 1;
            first = first.max(since);
            last = last.min(Timestamp(until.0 - 1));
        }

        let environment = lower(columns.text(ENVIRONMENT, row));
        let method = upper(columns.text(METHOD, row));
        let auth_path = lower(columns.text(AUTH_PATH, row));
        let decision = decision(columns, row)?;
        let identity_type = match columns.text(IDENTITY_TYPE, row) {
            "" => "",
            text => IdentityType::parse(text)
                .map(IdentityType::as_str)
                .ok_or(("identity_type", format!("unknown value `{text}`")))?,
        };
        let endpoint = self.endpoint(columns, row, identity, true);
        let mut request_ids: Vec<String> = REQUEST_ID_COLUMNS
            .iter()
            .map(|&column| columns.text(column, row))
            .filter(|id| !id.is_empty())
            .map(str::to_string)
            .collect();
        request_ids.sort();
        request_ids.dedup();
        let origin = self.origin(columns, row);
        let values: KeyFields<'_> = [
            identity,
            columns.text(CREDENTIAL_ID, row),
            identity_type,
            &environment,
            service,
            &method,
            &endpoint,
            columns.text(ACTION, row),
            decision.as_str(),
            columns.text(SOURCE, row),
            columns.text(USER_AGENT, row),
            &auth_path,
        ];

        let context = self.accumulator.context();
        let segment_of = |time: Timestamp| match context.boundaries.get(identity) {
            Some(boundaries) => boundaries.partition_point(|boundary| *boundary <= time) as u32,
            None => 0,
        };
        let (first_segment, last_segment) = (segment_of(first), segment_of(last));
        let stats = AccessStats {
            count,
            first,
            last,
            request_ids,
            origin,
        };
        if first_segment == last_segment {
            self.accumulator
                .add_summary_row(values, first_segment, stats);
            return Ok(());
        }
        // NOTE: a row whose events span a grant or credential boundary is split
        // into its first event (with every event but the last, and the samples)
        // and its last event, so coverage is right at both ends. Events in
        // segments strictly between the two are judged with the first piece, and
        // the pieces' counts and times are approximate.
        self.notes.split_rows += 1;
        let tail = AccessStats {
            count: 1,
            first: last,
            last,
            request_ids: Vec::new(),
            origin: stats.origin.clone(),
        };
        let head = AccessStats {
            count: count - 1,
            last: first,
            ..stats
        };
        self.accumulator
            .add_summary_row(values, first_segment, head);
        self.accumulator.add_summary_row(values, last_segment, tail);
        Ok(())
    }

    fn add_denied(&mut self, columns: &SummaryColumns, row: usize) -> Result<(), RowProblem> {
        let time = required_time(columns, FIRST, row)?;
        let identity = required(columns, IDENTITY, row)?;
        let service = required(columns, SERVICE, row)?;
        if !self.in_window(time) {
            return Ok(());
        }
        let endpoint = match columns.text(PATH, row) {
            "" => columns.text(ENDPOINT, row),
            path => path,
        };
        let method = upper(columns.text(METHOD, row));
        let request_id = columns.text(REQUEST_ID, row);
        let context = self.accumulator.context();
        if !context.keeps_denied(request_id, identity, &method, endpoint) {
            return Ok(());
        }
        let event = DeniedEvent {
            time,
            identity: identity.to_string(),
            environment: lower(columns.text(ENVIRONMENT, row)).into_owned(),
            service: service.to_string(),
            method: method.into_owned(),
            endpoint: endpoint.to_string(),
            action: columns.text(ACTION, row).to_string(),
            reason: columns.text(REASON, row).to_string(),
            request_id: request_id.to_string(),
            origin: self.origin(columns, row),
        };
        self.accumulator.add_denied(event);
        Ok(())
    }

    fn add_trace(&mut self, columns: &SummaryColumns, row: usize) -> Result<(), RowProblem> {
        let time = required_time(columns, FIRST, row)?;
        let identity = required(columns, IDENTITY, row)?;
        let service = required(columns, SERVICE, row)?;
        let trace_id = required(columns, TRACE_ID, row)?;
        if !self.in_window(time) {
            return Ok(());
        }
        let edge = TraceEdge {
            trace_id: trace_id.to_string(),
            time,
            origin: self.origin(columns, row),
            identity: identity.to_string(),
            environment: lower(columns.text(ENVIRONMENT, row)).into_owned(),
            service: service.to_string(),
            method: upper(columns.text(METHOD, row)).into_owned(),
            endpoint: self.endpoint(columns, row, identity, false).into_owned(),
            action: columns.text(ACTION, row).to_string(),
            decision: decision(columns, row)?,
            request_id: columns.text(REQUEST_ID, row).to_string(),
        };
        self.accumulator.add_trace(edge);
        Ok(())
    }

    fn in_window(&self, time: Timestamp) -> bool {
        let (since, until) = self.accumulator.context().window;
        time >= since && time < until
    }

    /// The endpoint as the log reader would key it for this run: the raw path for
    /// identities whose grants name literal ids, else the template.
    fn endpoint<'r>(
        &mut self,
        columns: &'r SummaryColumns,
        row: usize,
        identity: &str,
        count_templated: bool,
    ) -> Cow<'r, str> {
        let raw_paths = self
            .accumulator
            .context()
            .raw_path_identities
            .contains(identity);
        match columns.text(PATH, row) {
            "" => {
                let endpoint = columns.text(ENDPOINT, row);
                if raw_paths && count_templated && endpoint.contains("{id}") {
                    self.notes.templated_rows += 1;
                }
                Cow::Borrowed(endpoint)
            }
            path if raw_paths => Cow::Borrowed(path),
            path => template(path),
        }
    }

    /// The earliest input position of the row's events, or the summary row itself
    /// when the summary does not say.
    fn origin(&mut self, columns: &SummaryColumns, row: usize) -> Origin {
        let file = match columns.text(ORIGIN_FILE, row) {
            "" => self.file.clone(),
            name => match self.origins.get(name) {
                Some(known) => known.clone(),
                None => {
                    let interned: Arc<str> = Arc::from(name);
                    self.origins.insert(name.to_string(), interned.clone());
                    interned
                }
            },
        };
        let line = match columns.integer(ORIGIN_LINE, row) {
            Some(line) if line > 0 => line as u64,
            _ => row as u64 + 1,
        };
        Origin { file, line }
    }
}

fn required(columns: &SummaryColumns, column: usize, row: usize) -> Result<&str, RowProblem> {
    match columns.text(column, row) {
        "" => Err((
            SUMMARY_COLUMNS[column],
            "missing required value".to_string(),
        )),
        value => Ok(value),
    }
}

fn required_time(
    columns: &SummaryColumns,
    column: usize,
    row: usize,
) -> Result<Timestamp, RowProblem> {
    columns.integer(column, row).map(Timestamp).ok_or((
        SUMMARY_COLUMNS[column],
        "missing or invalid timestamp".to_string(),
    ))
}

fn decision(columns: &SummaryColumns, row: usize) -> Result<Decision, RowProblem> {
    let text = columns.text(DECISION, row);
    Decision::parse(text).ok_or((
        "decision",
        format!("unknown value `{text}`; expected allow, deny or other"),
    ))
}

fn lower(text: &str) -> Cow<'_, str> {
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(text.to_ascii_lowercase())
    } else {
        Cow::Borrowed(text)
    }
}

fn upper(text: &str) -> Cow<'_, str> {
    if text.bytes().any(|b| b.is_ascii_lowercase()) {
        Cow::Owned(text.to_ascii_uppercase())
    } else {
        Cow::Borrowed(text)
    }
}

/// The path of the rejects file written beside a summary: `DAY.rejects.csv` for
/// `DAY.parquet`.
pub fn rejects_path(summary: &Path) -> std::path::PathBuf {
    let stem = summary
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_else(|| "summary".to_string());
    summary.with_file_name(format!("{stem}.rejects.csv"))
}
