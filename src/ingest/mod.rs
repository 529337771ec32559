//! Reading inputs: finding the files behind a path, folder or glob, opening them
//! through gzip or zstd, and parsing CSV, JSON Lines, JSON and Parquet into rows of
//! native columns. Each input kind's normaliser (`tests`, `logs`, `entitlements`,
//! `exceptions`) turns those rows into the model, rejecting rows it cannot read.

mod csv;
pub mod entitlements;
pub mod exceptions;
mod fields;
mod files;
pub mod import;
mod json;
pub mod logs;
mod parquet;
pub mod schema;
pub mod summary;
pub mod tests;

use std::borrow::Cow;
use std::sync::Arc;

use rayon::prelude::*;
use serde::Serialize;

pub use files::{Compression, Format, InputFile, expand_inputs};
pub use schema::InputKind;

use crate::error::Result;
use crate::redact;

/// How many characters of an offending value a reject keeps.
const REJECT_VALUE_CHARS: usize = 80;

/// A row position in an input: its line where the format has lines, and its
/// 1-based record number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub line: Option<u64>,
    pub record: u64,
}

impl Position {
    /// The line when known, else the record number.
    pub fn line_or_record(self) -> u64 {
        self.line.unwrap_or(self.record)
    }
}

/// A row that could not be read, with why.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Reject {
    pub file: Arc<str>,
    pub line: Option<u64>,
    pub record: u64,
    pub column: String,
    pub reason: String,
    /// The offending value, redacted and cut short.
    pub value: String,
}

impl std::fmt::Display for Reject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}", self.file)?,
            None => write!(f, "{} record {}", self.file, self.record)?,
        }
        if !self.column.is_empty() {
            write!(f, ": column `{}`", self.column)?;
        }
        write!(f, ": {}", self.reason)?;
        if !self.value.is_empty() {
            write!(f, " (value `{}`)", self.value)?;
        }
        Ok(())
    }
}

/// Why a row was rejected, before the reader adds where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    pub column: &'static str,
    pub reason: String,
    pub value: String,
}

impl RowError {
    /// A reject of `column`, keeping a redacted, shortened copy of the value.
    pub fn new(column: &'static str, reason: impl Into<String>, value: &str) -> RowError {
        RowError {
            column,
            reason: reason.into(),
            value: redact::excerpt(value, REJECT_VALUE_CHARS),
        }
    }
}

/// The values of one row, indexed like the kind's native columns; `None` where
/// the row has no value (absent, null or blank).
pub type Fields<'a> = [Option<Cow<'a, str>>];

/// Collects the rows of one input kind. Readers run several accumulators in
/// parallel over parts of a file and merge them.
pub trait Accumulator: Send + Sized {
    /// Takes one row, or returns why it cannot be read.
    fn add(
        &mut self,
        file: &Arc<str>,
        position: Position,
        fields: &Fields<'_>,
    ) -> Result<(), RowError>;

    /// Folds another accumulator of the same run into this one.
    fn merge(&mut self, other: Self);
}

/// What reading one file or a whole input produced.
#[derive(Debug)]
pub struct ReadOutcome<A> {
    pub data: A,
    pub files: Vec<InputFile>,
    pub rejects: Vec<Reject>,
}

/// Reads every file behind `patterns` as input of `kind`, telling each file's
/// format by its content.
pub fn read_inputs<A, F>(
    kind: InputKind,
    patterns: &[String],
    new_accumulator: &F,
) -> Result<ReadOutcome<A>>
where
    A: Accumulator,
    F: Fn() -> A + Sync,
{
    read_inputs_with(
        kind,
        patterns,
        &import::ImportConfig::default(),
        new_accumulator,
    )
}

/// Reads every file behind `patterns` as input of `kind`, in the formats and
/// with the mapping files that `imports` sets for that kind.
pub fn read_inputs_with<A, F>(
    kind: InputKind,
    patterns: &[String],
    imports: &import::ImportConfig,
    new_accumulator: &F,
) -> Result<ReadOutcome<A>>
where
    A: Accumulator,
    F: Fn() -> A + Sync,
{
    let mut outcome = ReadOutcome {
        data: new_accumulator(),
        files: Vec::new(),
        rejects: Vec::new(),
    };
    let mut files = expand_inputs(kind, patterns)?;
    let plan = import::Plan::new(kind, &mut files, imports)?;
    for (index, mut file) in files.into_iter().enumerate() {
        tracing::debug!(path = %file.path, format = file.format.as_str(), "reading {}", kind.as_str());
        let tally = match plan.format_of(index) {
            import::ImportFormat::Native => match file.format {
                Format::Csv => csv::read(&mut file, new_accumulator)?,
                Format::JsonLines | Format::Json => json::read(&mut file, new_accumulator)?,
                Format::Parquet => parquet::read(&mut file, new_accumulator)?,
                Format::Xml | Format::Yaml | Format::Text => {
                    return Err(import::unreadable_natively(&file));
                }
            },
            _ => plan.read(index, &mut file, new_accumulator)?,
        };
        file.rows_read = tally.read;
        file.rows_rejected = tally.rejects.len() as u64;
        outcome.data.merge(tally.data);
        outcome.rejects.extend(tally.rejects);
        outcome.files.push(file);
    }
    outcome.rejects.sort();
    Ok(outcome)
}

/// Rows read and rejected from part of a file.
struct Tally<A> {
    data: A,
    read: u64,
    rejects: Vec<Reject>,
}

impl<A: Accumulator> Tally<A> {
    fn new(data: A) -> Tally<A> {
        Tally {
            data,
            read: 0,
            rejects: Vec::new(),
        }
    }

    fn add(&mut self, file: &Arc<str>, position: Position, fields: &Fields<'_>) {
        match self.data.add(file, position, fields) {
            Ok(()) => self.read += 1,
            Err(error) => self.reject(file, position, error),
        }
    }

    fn reject(&mut self, file: &Arc<str>, position: Position, error: RowError) {
        self.rejects.push(Reject {
            file: file.clone(),
            line: position.line,
            record: position.record,
            column: error.column.to_string(),
            reason: error.reason,
            value: error.value,
        });
    }

    fn merge(&mut self, other: Tally<A>) {
        self.data.merge(other.data);
        self.read += other.read;
        self.rejects.extend(other.rejects);
    }
}

/// One tally per worker thread, kept for every batch of a file, so each worker
/// fills one accumulator instead of building and merging one per batch. The
/// rows each tally gets depend on scheduling; accumulators sort when they finish.
struct ThreadTallies<A> {
    /// One slot per rayon thread, and a last one for callers outside the pool.
    slots: Vec<std::sync::Mutex<Tally<A>>>,
}

impl<A: Accumulator> ThreadTallies<A> {
    fn new<F: Fn() -> A>(new_accumulator: &F) -> ThreadTallies<A> {
        let slots = (0..=rayon::current_num_threads())
            .map(|_| std::sync::Mutex::new(Tally::new(new_accumulator())))
            .collect();
        ThreadTallies { slots }
    }

    /// Runs `visit` over `items` on all cores, each thread with its own tally,
    /// `per_task` items at a time.
    fn visit<T, V>(&self, items: &[T], per_task: usize, visit: V)
    where
        T: Sync,
        V: Fn(&mut Tally<A>, &T) + Sync,
    {
        items.par_chunks(per_task.max(1)).for_each(|chunk| {
            let last = self.slots.len() - 1;
            let slot = rayon::current_thread_index().map_or(last, |index| index.min(last));
            // A thread holds only its own slot, and `visit` starts no rayon work
            // while holding it, so no thread waits on another's slot.
            let mut tally = self.slots[slot]
                .lock()
                .expect("no worker panics while holding its tally");
            for item in chunk {
                visit(&mut tally, item);
            }
        });
    }

    /// Merges the threads' tallies.
    fn finish(self) -> Tally<A> {
        let mut tallies = self
            .slots
            .into_iter()
            .map(|slot| slot.into_inner().expect("no worker panicked"));
        let mut merged = tallies.next().expect("at least one slot");
        for tally in tallies {
            merged.merge(tally);
        }
        merged
    }
}

/// Runs `visit` over `items` on all cores, each worker with its own accumulator,
/// and merges the results.
fn par_tally<T, A, F, V>(items: &[T], new_accumulator: &F, visit: V) -> Tally<A>
where
    T: Sync,
    A: Accumulator,
    F: Fn() -> A + Sync,
    V: Fn(&mut Tally<A>, &T) + Sync,
{
    items
        .par_iter()
        .fold(
            || Tally::new(new_accumulator()),
            |mut tally, item| {
                visit(&mut tally, item);
                tally
            },
        )
        .reduce_with(|mut a, b| {
            a.merge(b);
            a
        })
        .unwrap_or_else(|| Tally::new(new_accumulator()))
}

/// Trims a raw value; blank values count as absent.
fn present(value: &str) -> Option<&str> {
    let trimmed = value.trim();
    (!trimmed.is_empty()).then_some(trimmed)
}
