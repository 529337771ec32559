//! Parquet, read with polars. Only the native columns are loaded; timestamps may
//! be Parquet timestamps or dates as well as text or epoch numbers.

use std::borrow::Cow;
use std::io::Cursor;
use std::sync::Arc;

use polars::prelude::*;

use super::{Accumulator, Fields, InputFile, Position, RowError, Tally, par_tally, present};
use crate::error::{Error, Result};
use crate::model::Timestamp;

/// Rows converted to text and handed to the workers at a time.
const SLICE_ROWS: usize = 64 * 1024;

/// One native column's values for a slice of rows.
enum ColumnValues {
    Absent,
    Text(Vec<Option<String>>),
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

    let mut reader = ParquetReader::new(Cursor::new(bytes));
    let schema = reader.schema().map_err(parquet_error)?;
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
    let frame = reader
        .with_columns(Some(projection))
        .finish()
        .map_err(parquet_error)?;

    let mut tally = Tally::new(new_accumulator());
    let mut offset = 0usize;
    while offset < frame.height() {
        let slice = frame.slice(offset as i64, SLICE_ROWS);
        let columns: Vec<ColumnValues> = sources
            .iter()
            .map(|source| match source {
                Some(column) => column_values(&slice, column).map_err(parquet_error),
                None => Ok(ColumnValues::Absent),
            })
            .collect::<Result<_>>()?;
        let rows: Vec<usize> = (0..slice.height()).collect();
        let part = par_tally(&rows, new_accumulator, |tally, &row| {
            let position = Position {
                line: None,
                record: (offset + row + 1) as u64,
            };
            let mut fields: Vec<Option<Cow<'_, str>>> = Vec::with_capacity(columns.len());
            for (native, values) in columns.iter().enumerate() {
                match values {
                    ColumnValues::Absent => fields.push(None),
                    ColumnValues::Text(values) => {
                        fields.push(values[row].as_deref().and_then(present).map(Cow::Borrowed))
                    }
                    ColumnValues::Nested(non_null) => {
                        if non_null[row] {
                            let error = RowError::new(
                                kind.columns()[native],
                                "expected a string or a number, found a list or struct",
                                "",
                            );
                            tally.reject(&name, position, error);
                            return;
                        }
                        fields.push(None);
                    }
                }
            }
            tally.add(&name, position, &fields as &Fields<'_>);
        });
        tally.merge(part);
        offset += SLICE_ROWS;
    }
    Ok(tally)
}

/// Converts one column to text: timestamps and dates to RFC 3339, numbers and
/// booleans to their usual text.
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
            raw.i64()?
                .iter()
                .map(|value| value.map(|v| Timestamp(v.div_euclid(per_ms)).to_rfc3339()))
                .collect()
        }
        DataType::Date => {
            let raw = series.cast(&DataType::Int32)?;
            raw.i32()?
                .iter()
                .map(|value| value.map(|days| Timestamp(i64::from(days) * 86_400_000).to_rfc3339()))
                .collect()
        }
        DataType::Null => vec![None; series.len()],
        DataType::List(_) => {
            return Ok(ColumnValues::Nested(
                series
                    .is_not_null()
                    .iter()
                    .map(|v| v.unwrap_or(false))
                    .collect(),
            ));
        }
        DataType::String => series
            .str()?
            .iter()
            .map(|value| value.map(str::to_string))
            .collect(),
        _ => {
            let text = series.cast(&DataType::String)?;
            text.str()?
                .iter()
                .map(|value| value.map(str::to_string))
                .collect()
        }
    };
    Ok(ColumnValues::Text(values))
}
