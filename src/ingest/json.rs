//! JSON Lines, and JSON documents holding an array of records or an object with
//! one array member. Records are parsed straight into borrowed column values, on
//! all cores, without building a JSON tree.

use std::borrow::Cow;
use std::fmt;
use std::io::Read;
use std::sync::Arc;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::{
    Accumulator, Fields, Format, InputFile, InputKind, Position, RowError, Tally, ThreadTallies,
    par_tally, present,
};
use crate::error::{Error, Result};

/// Bytes of JSON Lines handed to the workers at a time.
const CHUNK_BYTES: usize = 16 << 20;

/// The UTF-8 byte order mark, which Windows tools write at the start of a file.
const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";

/// Reads the records of a JSON input into rows. The native reader maps each
/// record's keys onto native columns; importers of foreign formats supply their
/// own reader and reuse the file handling here.
pub(super) trait RecordReader<A: Accumulator>: Sync {
    /// Facts a worker gathers besides rows, merged across workers.
    type State: Default + Send;

    /// Reads the bytes of one record into `tally`.
    fn read_record(
        &self,
        bytes: &[u8],
        position: Position,
        tally: &mut Tally<A>,
        state: &mut Self::State,
    );

    /// Folds one worker's state into another's.
    fn merge_state(&self, into: &mut Self::State, from: Self::State);

    /// The member of a top-level JSON object that holds the records, or `None`
    /// when the object is itself one record. The default takes the object's only
    /// array member, unless a key of the object is a record key.
    fn records_member<'a>(
        &self,
        object: &std::collections::BTreeMap<String, &'a RawValue>,
    ) -> Option<&'a RawValue> {
        if object.keys().any(|key| self.is_record_key(key)) {
            return None;
        }
        let arrays: Vec<&&RawValue> = object
            .values()
            .filter(|value| value.get().trim_start().starts_with('['))
            .collect();
        match arrays.as_slice() {
            [array] => Some(**array),
            _ => None,
        }
    }

    /// The key of the records array, when the format fixes one. It lets a
    /// truncated document, which cannot be parsed as an object, still yield the
    /// records before the cut.
    fn records_key(&self) -> Option<&str> {
        None
    }

    /// Returns whether `key` names a field of a record, so that a top-level
    /// object with it is one record even when one of its members is an array.
    fn is_record_key(&self, _key: &str) -> bool {
        false
    }
}

/// Reads one JSON Lines or JSON file into accumulators of its input kind.
pub(super) fn read<A, F>(file: &mut InputFile, new_accumulator: &F) -> Result<Tally<A>>
where
    A: Accumulator,
    F: Fn() -> A + Sync,
{
    let kind = file.kind;
    let name: Arc<str> = Arc::from(file.path.as_str());
    let format = file.format;
    let path = file.path.clone();
    let reader = NativeReader {
        kind,
        name: name.clone(),
    };
    let (tally, seen) = file.read_with(|stream| match format {
        Format::JsonLines => read_lines(stream, &name, new_accumulator, &reader),
        _ => read_document(stream, &name, new_accumulator, &reader),
    })?;
    check_columns(kind, &path, &seen, tally.read + tally.rejects.len() as u64)?;
    Ok(tally)
}

/// Reads records whose keys are native column names.
struct NativeReader {
    kind: InputKind,
    name: Arc<str>,
}

impl<A: Accumulator> RecordReader<A> for NativeReader {
    type State = SeenColumns;

    fn read_record(
        &self,
        bytes: &[u8],
        position: Position,
        tally: &mut Tally<A>,
        state: &mut SeenColumns,
    ) {
        parse_one(bytes, self.kind, &self.name, position, tally, state);
    }

    fn merge_state(&self, into: &mut SeenColumns, from: SeenColumns) {
        into.merge(from);
    }

    fn is_record_key(&self, key: &str) -> bool {
        self.kind.column_index(key).is_some()
    }
}

/// Which native columns appeared in some record, and the keys of the first record.
#[derive(Default)]
struct SeenColumns {
    mask: u64,
    first_keys: Vec<String>,
}

impl SeenColumns {
    fn merge(&mut self, other: SeenColumns) {
        self.mask |= other.mask;
        if self.first_keys.is_empty() {
            self.first_keys = other.first_keys;
        }
    }
}

/// A required column that no record of a file carries is a file-level error, as a
/// missing CSV header column is.
fn check_columns(kind: InputKind, path: &str, seen: &SeenColumns, records: u64) -> Result<()> {
    if records == 0 {
        return Ok(());
    }
    let present: Vec<bool> = (0..kind.columns().len())
        .map(|index| seen.mask & (1 << index) != 0)
        .collect();
    let missing = kind.missing_columns(&present);
    if missing.is_empty() || seen.first_keys.is_empty() {
        return Ok(());
    }
    Err(Error::MissingColumns {
        path: path.to_string(),
        kind: kind.as_str(),
        missing: missing.join(", "),
        present: seen
            .first_keys
            .iter()
            .map(|key| format!("`{key}`"))
            .collect::<Vec<_>>()
            .join(", "),
    })
}

struct Piece<'a> {
    first_line: u64,
    bytes: &'a [u8],
}

/// Reads JSON Lines in chunks, each chunk parsed on all cores.
pub(super) fn read_lines<A, F, R>(
    stream: &mut dyn Read,
    name: &Arc<str>,
    new_accumulator: &F,
    reader: &R,
) -> Result<(Tally<A>, R::State)>
where
    A: Accumulator,
    F: Fn() -> A + Sync,
    R: RecordReader<A>,
{
    let tallies = ThreadTallies::new(new_accumulator);
    let mut tally = Tally::new(new_accumulator());
    let mut state = R::State::default();
    let mut next_line = 1u64;
    let mut chunk = read_chunk(stream, Vec::with_capacity(CHUNK_BYTES + (1 << 16)));
    // The buffer of the chunk before, reused so each chunk does not fault in
    // fresh pages.
    let mut spare: Vec<u8> = Vec::new();
    if chunk.bytes.starts_with(UTF8_BOM) {
        chunk.bytes.drain(..UTF8_BOM.len());
    }

    loop {
        // Keep a trailing partial line for the next chunk, unless the stream ended
        // cleanly. After a read error that line is the record the error cut, and
        // it is reported with the error below, not as invalid JSON.
        let complete = if chunk.at_end && chunk.failure.is_none() {
            chunk.bytes.len()
        } else {
            chunk
                .bytes
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1)
        };
        let pieces = split_lines(&chunk.bytes[..complete], next_line);
        next_line += count_lines(&chunk.bytes[..complete]);

        // The pool parses this chunk while this thread reads (and hashes, and
        // decompresses) the next one.
        let mut part_state = None;
        let mut next = None;
        rayon::in_place_scope(|scope| {
            scope.spawn(|_| part_state = Some(parse_pieces(&pieces, &tallies, reader)));
            if !chunk.at_end {
                let mut carried = std::mem::take(&mut spare);
                carried.clear();
                carried.reserve(CHUNK_BYTES + (1 << 16));
                carried.extend_from_slice(&chunk.bytes[complete..]);
                next = Some(read_chunk(stream, carried));
            }
        });
        reader.merge_state(&mut state, part_state.expect("the parse task ran"));

        if let Some(error) = chunk.failure.take() {
            let reason = format!("file is truncated or corrupt, reading stopped here: {error}");
            let cut = String::from_utf8_lossy(&chunk.bytes[complete..]);
            tally.reject(
                name,
                Position {
                    line: Some(next_line),
                    record: next_line,
                },
                RowError::new("", reason, &cut),
            );
        }
        match next {
            Some(following) => spare = std::mem::replace(&mut chunk, following).bytes,
            None => break,
        }
    }
    let mut merged = tallies.finish();
    merged.merge(tally);
    Ok((merged, state))
}

/// Bytes read from the stream, and how reading ended.
struct Chunk {
    bytes: Vec<u8>,
    /// Whether the stream ended, cleanly or with `failure`.
    at_end: bool,
    failure: Option<std::io::Error>,
}

/// Reads up to [`CHUNK_BYTES`] after `carried`, the partial line the previous
/// chunk ended with.
fn read_chunk(stream: &mut dyn Read, carried: Vec<u8>) -> Chunk {
    let mut bytes = carried;
    // `read_to_end` fills the buffer as bytes arrive, without first zeroing a
    // whole chunk, which would cost a small file as much as a large one. After an
    // error it keeps what it read.
    let (at_end, failure) = match stream.take(CHUNK_BYTES as u64).read_to_end(&mut bytes) {
        Ok(read) => (read < CHUNK_BYTES, None),
        Err(error) => (true, Some(error)),
    };
    Chunk {
        bytes,
        at_end,
        failure,
    }
}

/// The lines of `bytes` without their `\n`, like `bytes.split(..)` on newlines
/// (so a final `\n` gives a last, empty line), found with SIMD.
fn split_at_newlines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut start = 0;
    memchr::memchr_iter(b'\n', bytes)
        .chain(std::iter::once(bytes.len()))
        .map(move |end| {
            let line = &bytes[start..end];
            start = end + 1;
            line
        })
}

fn count_lines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

/// Cuts a run of whole lines into pieces for the workers, each knowing its first
/// line number.
fn split_lines(bytes: &[u8], first_line: u64) -> Vec<Piece<'_>> {
    let target = (bytes.len() / (rayon::current_num_threads() * 8)).max(64 << 10);
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut line = first_line;
    while start < bytes.len() {
        let mut end = (start + target).min(bytes.len());
        if end < bytes.len() {
            end = bytes[end..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(bytes.len(), |i| end + i + 1);
        }
        pieces.push(Piece {
            first_line: line,
            bytes: &bytes[start..end],
        });
        line += count_lines(&bytes[start..end]);
        start = end;
    }
    pieces
}

fn parse_pieces<A, R>(pieces: &[Piece<'_>], tallies: &ThreadTallies<A>, reader: &R) -> R::State
where
    A: Accumulator,
    R: RecordReader<A>,
{
    let state = std::sync::Mutex::new(R::State::default());
    tallies.visit(pieces, 1, |tally, piece| {
        let mut local = R::State::default();
        for (offset, line) in split_at_newlines(piece.bytes).enumerate() {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let number = piece.first_line + offset as u64;
            let position = Position {
                line: Some(number),
                record: number,
            };
            reader.read_record(line, position, tally, &mut local);
        }
        let mut shared = state
            .lock()
            .expect("no worker panics while holding the lock");
        reader.merge_state(&mut shared, local);
    });
    state.into_inner().expect("no worker panicked")
}

fn parse_one<A: Accumulator>(
    bytes: &[u8],
    kind: InputKind,
    name: &Arc<str>,
    position: Position,
    tally: &mut Tally<A>,
    seen: &mut SeenColumns,
) {
    let keep_keys = seen.first_keys.is_empty();
    let parsed = match parse_flat_record(bytes, kind) {
        Some(record) if !keep_keys => Ok(record),
        _ => parse_record_keeping_keys(bytes, kind, keep_keys),
    };
    match parsed {
        Ok(record) => {
            seen.mask |= record.mask;
            if seen.first_keys.is_empty() {
                seen.first_keys = record.keys;
            }
            if let Some(column) = record.nested {
                let error = RowError::new(
                    kind.columns()[column],
                    "expected a string or a number, found an object or array",
                    &member_text(bytes, kind.columns()[column]),
                );
                tally.reject(name, position, error);
                return;
            }
            tally.add(name, position, &record.fields as &Fields<'_>);
        }
        Err(error) => {
            let text = String::from_utf8_lossy(bytes);
            tally.reject(
                name,
                position,
                RowError::new("", record_error_reason(&error), &text),
            );
        }
    }
}

/// Describes a syntax error in one record. serde_json counts lines from the
/// record's start, so the line is left out unless the record spans lines. The
/// reject itself carries the record's line in the file.
fn record_error_reason(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let message = message
        .rsplit_once(" at line ")
        .map_or(message.as_str(), |(text, _)| text);
    if error.line() <= 1 {
        format!("invalid JSON at column {}: {message}", error.column())
    } else {
        format!(
            "invalid JSON at line {} of the record, column {}: {message}",
            error.line(),
            error.column()
        )
    }
}

/// Returns the JSON text of the member named `column`, in any case, of a record
/// object, or `""` when there is none.
fn member_text(record: &[u8], column: &str) -> String {
    let Ok(object) = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(record)
    else {
        return String::new();
    };
    object
        .into_iter()
        .find(|(key, _)| key.trim().eq_ignore_ascii_case(column))
        .map(|(_, value)| value.to_string())
        .unwrap_or_default()
}

/// Reads a whole JSON document: an array of records, an object holding the
/// records in one array member (see [`RecordReader::records_member`]), or a single
/// record.
pub(super) fn read_document<A, F, R>(
    stream: &mut dyn Read,
    name: &Arc<str>,
    new_accumulator: &F,
    reader: &R,
) -> Result<(Tally<A>, R::State)>
where
    A: Accumulator,
    F: Fn() -> A + Sync,
    R: RecordReader<A>,
{
    let mut bytes = Vec::new();
    let mut tally = Tally::new(new_accumulator());
    // The records before a read error are still read. The error is reported
    // with the record it cut, below.
    let read_error = stream.read_to_end(&mut bytes).err();
    if bytes.starts_with(UTF8_BOM) {
        bytes.drain(..UTF8_BOM.len());
    }
    let mut state = R::State::default();
    let Some(start) = bytes.iter().position(|b| !b.is_ascii_whitespace()) else {
        match read_error {
            Some(error) => {
                let reason = format!("file is truncated or corrupt, reading stopped here: {error}");
                let position = Position {
                    line: Some(1),
                    record: 1,
                };
                tally.reject(name, position, RowError::new("", reason, ""));
            }
            None => tracing::warn!(path = %name, "input file is empty"),
        }
        return Ok((tally, state));
    };

    let array_start = match bytes[start] {
        b'[' => Some(start),
        b'{' => {
            match serde_json::from_slice::<std::collections::BTreeMap<String, &RawValue>>(&bytes) {
                Ok(object) => reader
                    .records_member(&object)
                    .map(|array| offset_in(&bytes, array.get())),
                // Several objects one after another: JSON Lines in a `.json` file.
                Err(error)
                    if error.is_syntax() && error.to_string().contains("trailing characters") =>
                {
                    // The read error follows the bytes, so that the line it cut is
                    // reported as cut rather than as invalid JSON.
                    let mut lines = bytes.as_slice().chain(FailingRead(read_error));
                    let (part, part_state) = read_lines(&mut lines, name, new_accumulator, reader)?;
                    tally.merge(part);
                    return Ok((tally, part_state));
                }
                Err(_) => match reader.records_key() {
                    Some(key) => keyed_array_start(&bytes, start, key),
                    None => {
                        first_records_array_start(&bytes, start, |key| reader.is_record_key(key))
                    }
                },
            }
        }
        _ => None,
    };

    let (elements, failure) = match array_start {
        Some(offset) => split_array(&bytes, offset),
        None => match serde_json::from_slice::<&RawValue>(&bytes) {
            Ok(record) => (vec![record], None),
            Err(error) => (Vec::new(), Some(error)),
        },
    };

    let mut line_index = LineIndex::new(&bytes);
    let records: Vec<(Position, &RawValue)> = elements
        .into_iter()
        .enumerate()
        .map(|(index, raw)| {
            let line = line_index.line_of(offset_in(&bytes, raw.get()));
            (
                Position {
                    line: Some(line),
                    record: index as u64 + 1,
                },
                raw,
            )
        })
        .collect();
    let record_count = records.len() as u64;

    let state_lock = std::sync::Mutex::new(R::State::default());
    let part = par_tally(&records, new_accumulator, |tally, (position, raw)| {
        let mut local = R::State::default();
        reader.read_record(raw.get().as_bytes(), *position, tally, &mut local);
        let mut shared = state_lock
            .lock()
            .expect("no worker panics while holding the lock");
        reader.merge_state(&mut shared, local);
    });
    tally.merge(part);
    reader.merge_state(
        &mut state,
        state_lock.into_inner().expect("no worker panicked"),
    );

    if failure.is_some() || read_error.is_some() {
        // Where reading stopped: after the last element read, or at the start.
        let mut stop = match (array_start, records.last()) {
            (_, Some((_, last))) => offset_in(&bytes, last.get()) + last.get().len(),
            (Some(open), None) => open + 1,
            (None, None) => start,
        };
        while stop < bytes.len() && (bytes[stop].is_ascii_whitespace() || bytes[stop] == b',') {
            stop += 1;
        }
        let reason = match read_error {
            Some(error) => format!("file is truncated or corrupt, reading stopped here: {error}"),
            // serde_json counts lines from where the splitter started, so the
            // whole document is parsed again for the position in the file.
            None => match serde_json::from_slice::<IgnoredAny>(&bytes)
                .err()
                .or(failure)
            {
                Some(error) => format!("invalid JSON: {error}"),
                None => "invalid JSON".to_string(),
            },
        };
        let position = Position {
            line: Some(line_index.line_of(stop)),
            record: record_count + 1,
        };
        let cut = String::from_utf8_lossy(&bytes[stop..]);
        tally.reject(name, position, RowError::new("", reason, &cut));
    }
    Ok((tally, state))
}

/// Finds the `[` of `{"key": [` at the start of a document that does not parse
/// as a whole, so the records before a cut can still be read.
fn keyed_array_start(bytes: &[u8], open: usize, key: &str) -> Option<usize> {
    let mut at = open + 1;
    let skip_space = |at: &mut usize| {
        while *at < bytes.len() && bytes[*at].is_ascii_whitespace() {
            *at += 1;
        }
    };
    skip_space(&mut at);
    let quoted = format!("\"{key}\"");
    if !bytes[at..].starts_with(quoted.as_bytes()) {
        return None;
    }
    at += quoted.len();
    skip_space(&mut at);
    if bytes.get(at) != Some(&b':') {
        return None;
    }
    at += 1;
    skip_space(&mut at);
    (bytes.get(at) == Some(&b'[')).then_some(at)
}

/// A reader that returns its stored error once, then reports the end.
struct FailingRead(Option<std::io::Error>);

impl Read for FailingRead {
    fn read(&mut self, _buffer: &mut [u8]) -> std::io::Result<usize> {
        match self.0.take() {
            Some(error) => Err(error),
            None => Ok(0),
        }
    }
}

/// Finds the `[` of the first member of a top-level object that contains an
/// array of objects, in a document that does not parse as a whole, so the records
/// before a cut can still be read. Stops at a member named by a record key,
/// because then the object is one record.
fn first_records_array_start(
    bytes: &[u8],
    open: usize,
    is_record_key: impl Fn(&str) -> bool,
) -> Option<usize> {
    let skip_space = |at: &mut usize| {
        while *at < bytes.len() && bytes[*at].is_ascii_whitespace() {
            *at += 1;
        }
    };
    let mut at = open + 1;
    loop {
        skip_space(&mut at);
        let mut keys = serde_json::Deserializer::from_slice(&bytes[at..]).into_iter::<String>();
        let key = keys.next()?.ok()?;
        if is_record_key(&key) {
            return None;
        }
        at += keys.byte_offset();
        skip_space(&mut at);
        if bytes.get(at) != Some(&b':') {
            return None;
        }
        at += 1;
        skip_space(&mut at);
        if bytes.get(at) == Some(&b'[') {
            let mut first = at + 1;
            skip_space(&mut first);
            if bytes.get(first) == Some(&b'{') {
                return Some(at);
            }
        }
        let mut values =
            serde_json::Deserializer::from_slice(&bytes[at..]).into_iter::<IgnoredAny>();
        values.next()?.ok()?;
        at += values.byte_offset();
        skip_space(&mut at);
        if bytes.get(at) != Some(&b',') {
            return None;
        }
        at += 1;
    }
}

fn offset_in(bytes: &[u8], part: &str) -> usize {
    part.as_ptr() as usize - bytes.as_ptr() as usize
}

/// Splits a JSON array into its elements, keeping every element before a syntax
/// error so a truncated file still yields its complete records.
fn split_array(bytes: &[u8], open: usize) -> (Vec<&RawValue>, Option<serde_json::Error>) {
    let mut elements = Vec::new();
    let mut at = open + 1;
    let skip_space = |at: &mut usize| {
        while *at < bytes.len() && bytes[*at].is_ascii_whitespace() {
            *at += 1;
        }
    };
    skip_space(&mut at);
    if bytes.get(at) == Some(&b']') {
        return (elements, trailing_error(bytes, at + 1));
    }
    loop {
        let mut stream =
            serde_json::Deserializer::from_slice(&bytes[at..]).into_iter::<&RawValue>();
        match stream.next() {
            Some(Ok(raw)) => {
                elements.push(raw);
                at += stream.byte_offset();
            }
            Some(Err(error)) => return (elements, Some(error)),
            None => return (elements, Some(eof_error())),
        }
        skip_space(&mut at);
        match bytes.get(at) {
            Some(b',') => {
                at += 1;
                skip_space(&mut at);
            }
            Some(b']') => return (elements, trailing_error(bytes, at + 1)),
            _ => {
                let error = serde_json::from_slice::<Vec<&RawValue>>(&bytes[open..])
                    .err()
                    .unwrap_or_else(eof_error);
                return (elements, Some(error));
            }
        }
    }
}

fn trailing_error(bytes: &[u8], at: usize) -> Option<serde_json::Error> {
    if bytes[at..].iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        serde_json::from_slice::<IgnoredAny>(bytes).err()
    }
}

fn eof_error() -> serde_json::Error {
    serde_json::from_slice::<IgnoredAny>(b"[").expect_err("an unclosed array is invalid JSON")
}

/// Converts byte offsets to 1-based line numbers, for offsets asked in
/// increasing order.
struct LineIndex<'a> {
    bytes: &'a [u8],
    offset: usize,
    line: u64,
}

impl<'a> LineIndex<'a> {
    fn new(bytes: &'a [u8]) -> LineIndex<'a> {
        LineIndex {
            bytes,
            offset: 0,
            line: 1,
        }
    }

    fn line_of(&mut self, offset: usize) -> u64 {
        self.line += count_lines(&self.bytes[self.offset..offset]);
        self.offset = offset;
        self.line
    }
}

/// One JSON record reduced to the native columns of its kind.
struct ParsedRecord<'de> {
    fields: Vec<Option<Cow<'de, str>>>,
    /// Bit `i` set when native column `i` appeared as a key, even with a null value.
    mask: u64,
    /// The first native column whose value is an object or array.
    nested: Option<usize>,
    keys: Vec<String>,
}

/// Parses the common shape of a log record quickly: one flat JSON object whose
/// values are strings without escapes, integers, booleans or null, all borrowed
/// from `bytes`. Returns `None` for anything else (escapes, fractions and
/// exponents, nested values, invalid JSON), which [`parse_record_keeping_keys`]
/// then reads, so both give the same record.
fn parse_flat_record(bytes: &[u8], kind: InputKind) -> Option<ParsedRecord<'_>> {
    // JSON forbids control characters inside strings; tabs between tokens are
    // rare enough to leave to the full parser too. Validating the whole line once
    // makes every slice between quotes valid UTF-8.
    let control_characters = bytes.iter().fold(0u8, |seen, &b| seen | u8::from(b < 0x20));
    if control_characters != 0 {
        return None;
    }
    let line = std::str::from_utf8(bytes).ok()?;
    let mut record = ParsedRecord {
        fields: vec![None; kind.columns().len()],
        mask: 0,
        nested: None,
        keys: Vec::new(),
    };
    let mut at = skip_whitespace(bytes, 0);
    if bytes.get(at) != Some(&b'{') {
        return None;
    }
    at = skip_whitespace(bytes, at + 1);
    if bytes.get(at) == Some(&b'}') {
        return (skip_whitespace(bytes, at + 1) == bytes.len()).then_some(record);
    }
    loop {
        let (key, after_key) = plain_string(line, at)?;
        at = skip_whitespace(bytes, after_key);
        if bytes.get(at) != Some(&b':') {
            return None;
        }
        at = skip_whitespace(bytes, at + 1);
        let (value, after_value) = match bytes.get(at)? {
            b'"' => {
                let (text, end) = plain_string(line, at)?;
                (Some(text), end)
            }
            b'-' | b'0'..=b'9' => plain_integer(bytes, at)?,
            b't' if bytes[at..].starts_with(b"true") => (Some("true"), at + 4),
            b'f' if bytes[at..].starts_with(b"false") => (Some("false"), at + 5),
            b'n' if bytes[at..].starts_with(b"null") => (None, at + 4),
            _ => return None,
        };
        if let Some(index) = kind.column_index(key)
            && record.mask & (1 << index) == 0
        {
            record.mask |= 1 << index;
            record.fields[index] = value.and_then(present).map(Cow::Borrowed);
        }
        at = skip_whitespace(bytes, after_value);
        match bytes.get(at)? {
            b',' => at = skip_whitespace(bytes, at + 1),
            b'}' => break,
            _ => return None,
        }
    }
    (skip_whitespace(bytes, at + 1) == bytes.len()).then_some(record)
}

fn skip_whitespace(bytes: &[u8], mut at: usize) -> usize {
    while at < bytes.len() && matches!(bytes[at], b' ' | b'\t' | b'\n' | b'\r') {
        at += 1;
    }
    at
}

/// The JSON string starting at `at` (its opening quote) and the offset after its
/// closing quote, when it has no escape.
fn plain_string(line: &str, at: usize) -> Option<(&str, usize)> {
    let bytes = line.as_bytes();
    if bytes.get(at) != Some(&b'"') {
        return None;
    }
    let start = at + 1;
    let end = start + memchr::memchr2(b'"', b'\\', &bytes[start..])?;
    if bytes[end] != b'"' {
        return None;
    }
    Some((&line[start..end], end + 1))
}

/// The JSON integer starting at `at`, as its text, and the offset after it.
/// Fractions, exponents, `-0` and leading zeros are left to the full parser,
/// which writes numbers in its own form.
fn plain_integer(bytes: &[u8], at: usize) -> Option<(Option<&str>, usize)> {
    let digits_start = if bytes[at] == b'-' { at + 1 } else { at };
    let digits = bytes[digits_start..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let end = digits_start + digits;
    let leading_zero =
        bytes[digits_start..end].starts_with(b"0") && (digits > 1 || at != digits_start);
    if digits == 0 || leading_zero || matches!(bytes.get(end), Some(b'.' | b'e' | b'E')) {
        return None;
    }
    let text = std::str::from_utf8(&bytes[at..end]).ok()?;
    Some((Some(text), end))
}

#[cfg(test)]
fn parse_record(bytes: &[u8], kind: InputKind) -> Result<ParsedRecord<'_>, serde_json::Error> {
    parse_record_keeping_keys(bytes, kind, true)
}

/// Parses one record; its keys are kept only when `keep_keys` is set, since only
/// a file's first record needs them (for error messages).
fn parse_record_keeping_keys(
    bytes: &[u8],
    kind: InputKind,
    keep_keys: bool,
) -> Result<ParsedRecord<'_>, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let record = RecordSeed { kind, keep_keys }.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(record)
}

struct RecordSeed {
    kind: InputKind,
    keep_keys: bool,
}

impl<'de> DeserializeSeed<'de> for RecordSeed {
    type Value = ParsedRecord<'de>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RecordSeed {
    type Value = ParsedRecord<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object with one record")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        let columns = self.kind.columns();
        let mut record = ParsedRecord {
            fields: vec![None; columns.len()],
            mask: 0,
            nested: None,
            keys: Vec::new(),
        };
        while let Some(key) = map.next_key::<Text<'de>>()? {
            if self.keep_keys && record.keys.len() < 40 {
                record.keys.push(key.0.to_string());
            }
            let Some(index) = self.kind.column_index(&key.0) else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            let value = map.next_value::<Value<'de>>()?;
            if record.mask & (1 << index) != 0 {
                continue;
            }
            record.mask |= 1 << index;
            match value {
                Value::Text(text) => {
                    record.fields[index] = match text {
                        Cow::Borrowed(text) => present(text).map(Cow::Borrowed),
                        Cow::Owned(text) => present(&text).map(|text| Cow::Owned(text.to_string())),
                    }
                }
                Value::Null => {}
                Value::Nested => {
                    record.nested.get_or_insert(index);
                }
            }
        }
        Ok(record)
    }
}

/// A string that borrows from the input when it has no escapes.
struct Text<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Text<'de> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(text)))
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(text.to_string())))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

/// A column value: text (numbers and booleans as their JSON text), null, or a
/// nested object or array, which no native column accepts.
enum Value<'de> {
    Text(Cow<'de, str>),
    Null,
    Nested,
}

impl<'de> de::Deserialize<'de> for Value<'de> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(Value::Text(Cow::Borrowed(text)))
    }
    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Value::Text(Cow::Owned(text.to_string())))
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
        Ok(Value::Text(Cow::Owned(n.to_string())))
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
        Ok(Value::Text(Cow::Owned(n.to_string())))
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Self::Value, E> {
        Ok(Value::Text(Cow::Owned(n.to_string())))
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Self::Value, E> {
        Ok(Value::Text(Cow::Borrowed(if b { "true" } else { "false" })))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Value::Null)
    }
    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Value::Nested)
    }
    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Value::Nested)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_record_matches_full_parser() {
        let records: &[&[u8]] = &[
            br#"{"event_time":"2026-01-01T00:00:00Z","identity":"svc-a","status_code":403,"ok":true,"x":null}"#,
            br#" { "Identity" : "  svc-b  " , "identity" : "second" , "service" : "" } "#,
            br#"{"event_time":1764460800000,"status_code":-12,"decision":false}"#,
            br#"{}"#,
        ];
        for bytes in records {
            let flat = parse_flat_record(bytes, InputKind::Logs).expect("the flat parser reads it");
            let full = parse_record(bytes, InputKind::Logs).unwrap();
            assert_eq!(
                flat.fields,
                full.fields,
                "{}",
                String::from_utf8_lossy(bytes)
            );
            assert_eq!(flat.mask, full.mask, "{}", String::from_utf8_lossy(bytes));
        }
    }

    #[test]
    fn flat_record_leaves_other_shapes_to_full_parser() {
        let records: &[&[u8]] = &[
            br#"{"identity":"a\"b"}"#,
            br#"{"status_code":403.0}"#,
            br#"{"status_code":1e3}"#,
            br#"{"status_code":0123}"#,
            br#"{"status_code":-0}"#,
            br#"{"extra":{"x":1}}"#,
            br#"{"identity":"a"} trailing"#,
            br#"{"identity":"a",}"#,
            br#"{"identity":"a""#,
            b"{\"identity\":\"a\tb\"}",
            br#"[1]"#,
        ];
        for bytes in records {
            assert!(
                parse_flat_record(bytes, InputKind::Logs).is_none(),
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn record_keys_match_any_case() {
        let record = parse_record(
            br#"{"Event_Time":"2026-01-01T00:00:00Z","IDENTITY":"svc-a","extra":{"x":1}}"#,
            InputKind::Logs,
        )
        .unwrap();
        assert_eq!(record.fields[0].as_deref(), Some("2026-01-01T00:00:00Z"));
        assert_eq!(record.fields[1].as_deref(), Some("svc-a"));
        assert_eq!(record.nested, None);
    }

    #[test]
    fn record_numbers_become_text() {
        let record = parse_record(
            br#"{"status_code":403,"event_time":1764460800000}"#,
            InputKind::Logs,
        )
        .unwrap();
        assert_eq!(record.fields[12].as_deref(), Some("403"));
        assert_eq!(record.fields[0].as_deref(), Some("1764460800000"));
    }

    #[test]
    fn record_nested_native_column_is_flagged() {
        let record = parse_record(br#"{"identity":{"name":"x"}}"#, InputKind::Logs).unwrap();
        assert_eq!(record.nested, Some(1));
    }

    #[test]
    fn record_blank_and_null_are_absent() {
        let record = parse_record(br#"{"identity":"  ","service":null}"#, InputKind::Logs).unwrap();
        assert_eq!(record.fields[1], None);
        assert_eq!(record.fields[7], None);
        assert_eq!(record.mask & (1 << 7), 1 << 7);
    }

    #[test]
    fn split_array_keeps_records_before_truncation() {
        let bytes = br#"[{"a":1}, {"b":2}, {"c":"#;
        let (elements, error) = split_array(bytes, 0);
        assert_eq!(elements.len(), 2);
        assert!(error.is_some());
    }

    #[test]
    fn split_array_complete() {
        let bytes = b" [ {\"a\":1} ,\n{\"b\":2} ]\n";
        let (elements, error) = split_array(bytes, 1);
        assert_eq!(elements.len(), 2);
        assert!(error.is_none());
    }

    #[test]
    fn split_array_rejects_trailing_comma() {
        let bytes = br#"[{"a":1},]"#;
        let (elements, error) = split_array(bytes, 0);
        assert_eq!(elements.len(), 1);
        assert!(error.is_some());
    }
}
