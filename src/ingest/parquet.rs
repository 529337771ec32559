//! Parquet, read with polars. Only the native columns are loaded; timestamps may
//! be Parquet timestamps or dates as well as text or epoch numbers.

use std::borrow::Cow;
use std::io::Cursor;
use std::sync::Arc;

use polars::io::parquet::metadata::FileMetadataRef;
use polars::prelude::*;

use super::{
    Accumulator, Fields, InputFile, InputKind, Position, RowError, Tally, ThreadTallies, present,
};
use crate::error::{Error, Result};
use crate::model::Timestamp;

/// Rows decoded at a time at most: a row group, or a part of a larger one.
const SLICE_ROWS: usize = 1 << 20;

/// Rows a worker normalises at a time.
const ROWS_PER_TASK: usize = 1024;

/// Epoch milliseconds from here on are read back as milliseconds when written as
/// digits (docs/inputs.md); earlier times are written as RFC 3339.
const EPOCH_MILLIS_AS_DIGITS: i64 = 100_000_000_000;

/// One native column's values for a slice of rows.
enum ColumnValues {
    Absent,
    Text(StringChunked),
    /// Parquet timestamps and dates, as epoch milliseconds.
    Millis(Int64Chunked),
    /// A list or struct column, which no native column accepts.
    Nested(Vec<bool>),
}

pub(super) fn read<A, F>(file: &mut InputFile, new_accumulator: &F) -> Result<Tally<A>>
where
    A: Accumulator,
    F: Fn() -> A + Sync,
{
    let kind = file.kind;
    let path = file.path.clone();
    let name: Arc<str> = Arc::from(path.as_str());
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

    let mut reader = ParquetReader::new(Cursor::new(bytes.as_slice()));
    let schema = reader.schema().map_err(parquet_error)?;
    let metadata = reader.get_metadata().map_err(parquet_error)?.clone();
    let names: Vec<String> = schema.iter_names().map(|name| name.to_string()).collect();

    let mut sources: Vec<Option<String>> = vec![None; kind.columns().len()];
    for name in &names {
        if let Some(native) = kind.column_index(name)
            && sources[native].is_none()
        {
            sources[native] = Some(name.clone());
        }
    }
    let present_columns: Vec<bool> = sources.iter().map(Option::is_some).collect();
    let missing = kind.missing_columns(&present_columns);
    if !missing.is_empty() {
        return Err(Error::MissingColumns {
            path: path.clone(),
            kind: kind.as_str(),
            missing: missing.join(", "),
            present: names
                .iter()
                .map(|name| format!("`{name}`"))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let projection: Vec<String> = sources.iter().flatten().cloned().collect();

    // Decoding one row group at a time bounds memory by the largest row group
    // (or SLICE_ROWS), not by the file.
    let tallies = ThreadTallies::new(new_accumulator);
    for (offset, rows) in slices(&metadata) {
        let mut reader = ParquetReader::new(Cursor::new(bytes.as_slice()))
            .with_columns(Some(projection.clone()))
            .with_slice(Some((offset, rows)));
        reader.set_metadata(metadata.clone());
        let frame = reader.finish().map_err(parquet_error)?;
        let columns: Vec<ColumnValues> = sources
            .iter()
            .map(|source| match source {
                Some(column) => column_values(&frame, column).map_err(parquet_error),
                None => Ok(ColumnValues::Absent),
            })
            .collect::<Result<_>>()?;
        let starts: Vec<usize> = (0..frame.height()).step_by(ROWS_PER_TASK).collect();
        tallies.visit(&starts, 1, |tally, &start| {
            let end = (start + ROWS_PER_TASK).min(frame.height());
            for row in start..end {
                let position = Position {
                    line: None,
                    record: (offset + row + 1) as u64,
                };
                add_row(tally, &name, kind, &columns, row, position);
            }
        });
    }
    Ok(tallies.finish())
}

/// The row ranges to decode: each row group, with groups larger than
/// [`SLICE_ROWS`] cut into parts.
fn slices(metadata: &FileMetadataRef) -> Vec<(usize, usize)> {
    let mut slices = Vec::new();
    let mut offset = 0;
    for group in &metadata.row_groups {
        let mut remaining = group.num_rows();
        while remaining > 0 {
            let rows = remaining.min(SLICE_ROWS);
            slices.push((offset, rows));
            offset += rows;
            remaining -= rows;
        }
    }
    slices
}

/// Hands one row's values, as text, to the accumulator.
fn add_row<A: Accumulator>(
    tally: &mut Tally<A>,
    name: &Arc<str>,
    kind: InputKind,
    columns: &[ColumnValues],
    row: usize,
    position: Position,
) {
    let mut digits = [[0u8; 20]; 8];
    let mut digit_slots = digits.iter_mut();
    let mut fields: Vec<Option<Cow<'_, str>>> = Vec::with_capacity(columns.len());
    for (native, values) in columns.iter().enumerate() {
        match values {
            ColumnValues::Absent => fields.push(None),
            ColumnValues::Text(values) => {
                fields.push(values.get(row).and_then(present).map(Cow::Borrowed))
            }
            ColumnValues::Millis(values) => {
                let text = values.get(row).map(|millis| match digit_slots.next() {
                    Some(slot) if millis >= EPOCH_MILLIS_AS_DIGITS => {
                        Cow::Borrowed(write_digits(slot, millis))
                    }
                    _ => Cow::Owned(Timestamp(millis).to_rfc3339()),
                });
                fields.push(text);
            }
            ColumnValues::Nested(non_null) => {
                if non_null[row] {
                    let error = RowError::new(
                        kind.columns()[native],
                        "expected a string or a number, found a list or struct",
                        "",
                    );
                    tally.reject(name, position, error);
                    return;
                }
                fields.push(None);
            }
        }
    }
    tally.add(name, position, &fields as &Fields<'_>);
}

/// Writes a non-negative number's decimal digits into `buffer`.
fn write_digits(buffer: &mut [u8; 20], mut value: i64) -> &str {
    let mut start = buffer.len();
    loop {
        start -= 1;
        buffer[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    std::str::from_utf8(&buffer[start..]).expect("ASCII digits")
}

/// Converts one column for [`add_row`]: text as it is, timestamps and dates as
/// epoch milliseconds, numbers and booleans cast to their usual text.
fn column_values(frame: &DataFrame, name: &str) -> PolarsResult<ColumnValues> {
    let series = frame.column(name)?.as_materialized_series().clone();
    let values = match series.dtype() {
        DataType::Datetime(unit, _) => {
            let per_ms: i64 = match unit {
                TimeUnit::Nanoseconds => 1_000_000,
                TimeUnit::Microseconds => 1_000,
                TimeUnit::Milliseconds => 1,
            };
            let raw = series.cast(&DataType::Int64)?;
            let millis = raw.i64()?.apply_values(|value| value.div_euclid(per_ms));
            return Ok(ColumnValues::Millis(millis.rechunk().into_owned()));
        }
        DataType::Date => {
            let raw = series.cast(&DataType::Int32)?.cast(&DataType::Int64)?;
            let millis = raw.i64()?.apply_values(|days| days * 86_400_000);
            return Ok(ColumnValues::Millis(millis.rechunk().into_owned()));
        }
        DataType::Null => return Ok(ColumnValues::Absent),
        DataType::List(_) => {
            return Ok(ColumnValues::Nested(
                series
                    .is_not_null()
                    .iter()
                    .map(|v| v.unwrap_or(false))
                    .collect(),
            ));
        }
        DataType::String => series,
        _ => series.cast(&DataType::String)?,
    };
    Ok(ColumnValues::Text(values.str()?.rechunk().into_owned()))
}
