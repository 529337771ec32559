//! CSV with a header row (RFC 4180). Records are parsed on one thread in batches
//! and normalised on all cores.

use std::borrow::Cow;
use std::sync::Arc;

use super::{
    Accumulator, Fields, InputFile, InputKind, Position, RowError, Tally, par_tally, present,
};
use crate::error::{Error, Result};

const BATCH_RECORDS: usize = 32 * 1024;

struct Record {
    position: Position,
    fields: csv::ByteRecord,
}

/// Reads one CSV file into accumulators of its input kind.
pub(super) fn read<A, F>(file: &mut InputFile, new_accumulator: &F) -> Result<Tally<A>>
where
    A: Accumulator,
    F: Fn() -> A + Sync,
{
    let kind = file.kind;
    let name: Arc<str> = Arc::from(file.path.as_str());
    let path = file.path.clone();
    file.read_with(|stream| {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(true)
            .from_reader(stream);
        let mut tally = Tally::new(new_accumulator());

        let headers = match reader.byte_headers() {
            Ok(headers) => headers.clone(),
            Err(error) => {
                tally.reject(
                    &name,
                    Position {
                        line: Some(1),
                        record: 0,
                    },
                    RowError::new("", format!("unreadable header row: {error}"), ""),
                );
                return Ok(tally);
            }
        };
        if headers.is_empty() || (headers.len() == 1 && headers[0].is_empty()) {
            tracing::warn!(path = %path, "input file is empty");
            return Ok(tally);
        }
        let columns = map_columns(kind, &headers, &path)?;

        let mut batch: Vec<Record> = Vec::with_capacity(BATCH_RECORDS);
        let mut record_number = 0u64;
        loop {
            let mut fields = csv::ByteRecord::new();
            match reader.read_byte_record(&mut fields) {
                Ok(true) => {
                    record_number += 1;
                    let line = fields.position().map(|position| position.line());
                    batch.push(Record {
                        position: Position {
                            line,
                            record: record_number,
                        },
                        fields,
                    });
                    if batch.len() == BATCH_RECORDS {
                        tally.merge(normalise_batch(
                            &batch,
                            &columns,
                            headers.len(),
                            kind,
                            &name,
                            new_accumulator,
                        ));
                        batch.clear();
                    }
                }
                Ok(false) => break,
                Err(error) => {
                    record_number += 1;
                    // An I/O error, such as a cut gzip stream, carries no position,
                    // but the reader has counted the lines up to the cut.
                    let line = error.position().unwrap_or(reader.position()).line();
                    let reason =
                        format!("file is truncated or corrupt, reading stopped here: {error}");
                    tally.reject(
                        &name,
                        Position {
                            line: Some(line),
                            record: record_number,
                        },
                        RowError::new("", reason, ""),
                    );
                    break;
                }
            }
        }
        tally.merge(normalise_batch(
            &batch,
            &columns,
            headers.len(),
            kind,
            &name,
            new_accumulator,
        ));
        Ok(tally)
    })
}

/// Maps each native column to the index of the file's column that carries it.
fn map_columns(
    kind: InputKind,
    headers: &csv::ByteRecord,
    path: &str,
) -> Result<Vec<Option<usize>>> {
    let mut columns = vec![None; kind.columns().len()];
    let mut names = Vec::with_capacity(headers.len());
    for (index, raw) in headers.iter().enumerate() {
        let name = String::from_utf8_lossy(raw);
        let name = name.trim_start_matches('\u{feff}').trim().to_string();
        if let Some(native) = kind.column_index(&name)
            && columns[native].is_none()
        {
            columns[native] = Some(index);
        }
        names.push(name);
    }
    let present: Vec<bool> = columns.iter().map(Option::is_some).collect();
    let missing = kind.missing_columns(&present);
    if !missing.is_empty() {
        return Err(Error::MissingColumns {
            path: path.to_string(),
            kind: kind.as_str(),
            missing: missing.join(", "),
            present: names
                .iter()
                .map(|name| format!("`{name}`"))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok(columns)
}

fn normalise_batch<A, F>(
    batch: &[Record],
    columns: &[Option<usize>],
    header_len: usize,
    kind: InputKind,
    file: &Arc<str>,
    new_accumulator: &F,
) -> Tally<A>
where
    A: Accumulator,
    F: Fn() -> A + Sync,
{
    par_tally(batch, new_accumulator, |tally, record| {
        if let Some(error) = field_count_error(&record.fields, header_len) {
            tally.reject(file, record.position, error);
            return;
        }
        let mut fields: Vec<Option<Cow<'_, str>>> = Vec::with_capacity(columns.len());
        for (native, source) in columns.iter().enumerate() {
            let raw = source
                .and_then(|index| record.fields.get(index))
                .unwrap_or(b"");
            match std::str::from_utf8(raw) {
                Ok(text) => fields.push(present(text).map(Cow::Borrowed)),
                Err(_) => {
                    let lossy = String::from_utf8_lossy(raw);
                    let error = RowError::new(
                        kind.columns()[native],
                        "invalid UTF-8; save the file as UTF-8",
                        &lossy,
                    );
                    tally.reject(file, record.position, error);
                    return;
                }
            }
        }
        tally.add(file, record.position, &fields as &Fields<'_>);
    })
}

/// Rejects a row with fewer fields than the header, which is how a file cut
/// mid-row ends, or with more, which an unquoted `,` inside a value causes and
/// which would shift every later column.
// NOTE: a file cut inside the last field of its last row keeps the header's
// field count, so that row reads as complete with a shortened last value.
fn field_count_error(fields: &csv::ByteRecord, header_len: usize) -> Option<RowError> {
    if fields.len() == header_len {
        return None;
    }
    let row = fields
        .iter()
        .map(String::from_utf8_lossy)
        .collect::<Vec<_>>()
        .join(",");
    let reason = format!(
        "the row has {} fields but the header has {header_len}; the file may be cut short, or a value may contain an unquoted `,`",
        fields.len()
    );
    Some(RowError::new("", reason, &row))
}
