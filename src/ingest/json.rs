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
    Accumulator, Fields, Format, InputFile, InputKind, Position, RowError, Tally, par_tally,
    present,
};
use crate::error::{Error, Result};

/// Bytes of JSON Lines handed to the workers at a time.
const CHUNK_BYTES: usize = 16 << 20;

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
    let (tally, seen) = file.read_with(|stream| match format {
        Format::JsonLines => read_lines(stream, kind, &name, new_accumulator),
        _ => read_document(stream, kind, &name, new_accumulator),
    })?;
    check_columns(kind, &path, &seen, tally.read + tally.rejects.len() as u64)?;
    Ok(tally)
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

fn read_lines<A, F>(
    stream: &mut dyn Read,
    kind: InputKind,
    name: &Arc<str>,
    new_accumulator: &F,
) -> Result<(Tally<A>, SeenColumns)>
where
    A: Accumulator,
    F: Fn() -> A + Sync,
{
    let mut tally = Tally::new(new_accumulator());
    let mut seen = SeenColumns::default();
    let mut buffer: Vec<u8> = Vec::with_capacity(CHUNK_BYTES + (1 << 16));
    let mut next_line = 1u64;
    let mut at_end = false;

    while !at_end {
        let carried = buffer.len();
        buffer.resize(carried + CHUNK_BYTES, 0);
        let mut filled = carried;
        let mut failure = None;
        while filled < buffer.len() {
            match stream.read(&mut buffer[filled..]) {
                Ok(0) => {
                    at_end = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                Err(error) => {
                    failure = Some(error);
                    at_end = true;
                    break;
                }
            }
        }
        buffer.truncate(filled);

        // Keep a trailing partial line for the next chunk, unless the stream ended.
        let complete = if at_end {
            buffer.len()
        } else {
            buffer
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1)
        };
        let pieces = split_lines(&buffer[..complete], next_line);
        next_line += count_lines(&buffer[..complete]);
        let (part, part_seen) = parse_pieces(&pieces, kind, name, new_accumulator);
        tally.merge(part);
        seen.merge(part_seen);
        buffer.drain(..complete);

        if let Some(error) = failure {
            let reason = format!("file is truncated or corrupt, reading stopped here: {error}");
            tally.reject(
                name,
                Position {
                    line: Some(next_line),
                    record: next_line,
                },
                RowError::new("", reason, ""),
            );
        }
    }
    Ok((tally, seen))
}

fn count_lines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
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

fn parse_pieces<A, F>(
    pieces: &[Piece<'_>],
    kind: InputKind,
    name: &Arc<str>,
    new_accumulator: &F,
) -> (Tally<A>, SeenColumns)
where
    A: Accumulator,
    F: Fn() -> A + Sync,
{
    let seen = std::sync::Mutex::new(SeenColumns::default());
    let tally = par_tally(pieces, new_accumulator, |tally, piece| {
        let mut local = SeenColumns::default();
        for (offset, line) in piece.bytes.split(|&b| b == b'\n').enumerate() {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let number = piece.first_line + offset as u64;
            let position = Position {
                line: Some(number),
                record: number,
            };
            parse_one(line, kind, name, position, tally, &mut local);
        }
        seen.lock()
            .expect("no worker panics while holding the lock")
            .merge(local);
    });
    (tally, seen.into_inner().expect("no worker panicked"))
}

fn parse_one<A: Accumulator>(
    bytes: &[u8],
    kind: InputKind,
    name: &Arc<str>,
    position: Position,
    tally: &mut Tally<A>,
    seen: &mut SeenColumns,
) {
    match parse_record(bytes, kind) {
        Ok(record) => {
            seen.mask |= record.mask;
            if seen.first_keys.is_empty() {
                seen.first_keys = record.keys;
            }
            if let Some(column) = record.nested {
                let error = RowError::new(
                    kind.columns()[column],
                    "expected a string or a number, found an object or array",
                    "",
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
                RowError::new("", format!("invalid JSON: {error}"), &text),
            );
        }
    }
}

/// Reads a whole JSON document: an array of records, an object holding one array
/// of records, or a single record.
fn read_document<A, F>(
    stream: &mut dyn Read,
    kind: InputKind,
    name: &Arc<str>,
    new_accumulator: &F,
) -> Result<(Tally<A>, SeenColumns)>
where
    A: Accumulator,
    F: Fn() -> A + Sync,
{
    let mut bytes = Vec::new();
    let mut tally = Tally::new(new_accumulator());
    if let Err(error) = stream.read_to_end(&mut bytes) {
        let reason = format!("file is truncated or corrupt: {error}");
        tally.reject(
            name,
            Position {
                line: Some(1),
                record: 1,
            },
            RowError::new("", reason, ""),
        );
    }
    let mut seen = SeenColumns::default();
    let Some(start) = bytes.iter().position(|b| !b.is_ascii_whitespace()) else {
        tracing::warn!(path = %name, "input file is empty");
        return Ok((tally, seen));
    };

    let array_start = match bytes[start] {
        b'[' => Some(start),
        b'{' => {
            match serde_json::from_slice::<std::collections::BTreeMap<String, &RawValue>>(&bytes) {
                Ok(object) => {
                    let arrays: Vec<&&RawValue> = object
                        .values()
                        .filter(|value| value.get().trim_start().starts_with('['))
                        .collect();
                    match arrays.as_slice() {
                        [array] => Some(offset_in(&bytes, array.get())),
                        _ => None,
                    }
                }
                // Several objects one after another: JSON Lines in a `.json` file.
                Err(error)
                    if error.is_syntax() && error.to_string().contains("trailing characters") =>
                {
                    let (part, part_seen) =
                        read_lines(&mut bytes.as_slice(), kind, name, new_accumulator)?;
                    tally.merge(part);
                    return Ok((tally, part_seen));
                }
                Err(_) => None,
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

    let seen_lock = std::sync::Mutex::new(SeenColumns::default());
    let part = par_tally(&records, new_accumulator, |tally, (position, raw)| {
        let mut local = SeenColumns::default();
        parse_one(
            raw.get().as_bytes(),
            kind,
            name,
            *position,
            tally,
            &mut local,
        );
        seen_lock
            .lock()
            .expect("no worker panics while holding the lock")
            .merge(local);
    });
    tally.merge(part);
    seen.merge(seen_lock.into_inner().expect("no worker panicked"));

    if let Some(error) = failure {
        let reason = format!(
            "invalid JSON at line {} column {}: {error}",
            error.line(),
            error.column()
        );
        let position = Position {
            line: Some(error.line() as u64),
            record: record_count + 1,
        };
        tally.reject(name, position, RowError::new("", reason, ""));
    }
    Ok((tally, seen))
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

fn parse_record(bytes: &[u8], kind: InputKind) -> Result<ParsedRecord<'_>, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let record = RecordSeed { kind }.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(record)
}

struct RecordSeed {
    kind: InputKind,
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
            if record.keys.len() < 40 {
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
