//! Mapping files: TOML descriptions of how any CSV, JSON or line-based export
//! becomes native columns, so a new export needs no code. The same rules turn
//! the names in Newman and JUnit reports into identity, credential state and
//! expected outcome.
//!
//! A record's source columns are its CSV header names, its JSON keys (nested
//! keys joined with `.`), or `line` for text. Rules apply in this order:
//! 1. `[[extract]]`: regular expressions over a source column; each named group
//!    becomes a column of that name.
//! 2. `[columns]`: native column = source column (or a list, the first present
//!    wins); a native column not listed takes the column of its own name.
//! 3. `[values.COLUMN]`: value maps, keys compared case-insensitively, `*` in a
//!    key matching any run of characters (the exact key first, else the longest
//!    matching pattern).
//! 4. `[constants]` replace, and `[defaults]` fill in absent values. Their
//!    values may name source columns as `${column}`; a value whose columns are
//!    not all present is not used.
//! 5. `[timestamps]`: chrono strftime formats (or `filetime` for Windows
//!    FILETIME numbers) that turn a column into RFC 3339.
//! 6. `[split]`: one row per part of a column's value.
//!
//! Values listed in `null_values` (compared case-insensitively), and blank
//! values, are absent everywhere.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use chrono::format::{Item, StrftimeItems};
use chrono::{DateTime, NaiveDate, NaiveDateTime};
use regex::Regex;
use serde::Deserialize;
use serde_json::Value;

use super::super::json::{self, RecordReader};
use super::super::par_tally;
use super::{Context, NativeRow, add_record_rows};
use crate::error::{Error, Result};
use crate::ingest::files::{Format, InputFile};
use crate::ingest::{Accumulator, InputKind, Position, RowError, Tally};
use crate::model::Timestamp;

/// CSV records parsed on one thread and mapped on all cores at a time.
const BATCH_RECORDS: usize = 16 * 1024;

/// Seconds from 1601-01-01 (the Windows FILETIME epoch) to 1970-01-01.
const FILETIME_EPOCH_OFFSET_SECONDS: f64 = 11_644_473_600.0;

/// The record syntax of a mapped file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Syntax {
    Csv,
    Json,
    Lines,
}

/// A loaded and checked mapping file for one input kind.
#[derive(Debug)]
pub struct Mapping {
    /// The file it was read from, for messages and the manifest.
    pub path: String,
    kind: InputKind,
    files: Vec<glob::Pattern>,
    syntax: Option<Syntax>,
    delimiter: u8,
    null_values: Vec<String>,
    extract: Vec<Extract>,
    /// Per native column, the source columns to take it from.
    columns: Vec<Option<Vec<String>>>,
    values: Vec<Option<ValueMap>>,
    constants: Vec<Option<String>>,
    defaults: Vec<Option<String>>,
    timestamps: Vec<Option<Vec<String>>>,
    split: Option<(usize, String)>,
}

#[derive(Debug)]
struct Extract {
    from: String,
    pattern: Regex,
    required: bool,
}

/// A value map: exact keys, then `*` patterns from the longest.
#[derive(Debug, Default)]
struct ValueMap {
    exact: HashMap<String, String>,
    patterns: Vec<(String, String)>,
}

impl ValueMap {
    fn lookup(&self, value: &str) -> Option<&str> {
        let folded = value.to_lowercase();
        if let Some(mapped) = self.exact.get(&folded) {
            return Some(mapped);
        }
        self.patterns
            .iter()
            .find(|(pattern, _)| glob_match(pattern, &folded))
            .map(|(_, mapped)| mapped.as_str())
    }
}

/// Matches `*` as any run of characters; everything else literally.
fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || !text[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    #[serde(default)]
    files: Vec<String>,
    format: Option<String>,
    delimiter: Option<String>,
    #[serde(default)]
    null_values: Vec<String>,
    #[serde(default)]
    extract: Vec<ExtractSpec>,
    #[serde(default)]
    columns: BTreeMap<String, OneOrMany>,
    #[serde(default)]
    values: BTreeMap<String, BTreeMap<String, toml::Value>>,
    #[serde(default)]
    constants: BTreeMap<String, toml::Value>,
    #[serde(default)]
    defaults: BTreeMap<String, toml::Value>,
    #[serde(default)]
    timestamps: BTreeMap<String, OneOrMany>,
    split: Option<SplitSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtractSpec {
    from: String,
    pattern: String,
    #[serde(default)]
    required: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SplitSpec {
    column: String,
    separator: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(value) => vec![value],
            OneOrMany::Many(values) => values,
        }
    }
}

impl Mapping {
    /// Builds a mapping with no rules: source columns named like native columns
    /// map onto them, and nothing else does.
    pub fn passthrough(kind: InputKind) -> Mapping {
        let width = kind.columns().len();
        Mapping {
            path: String::new(),
            kind,
            files: Vec::new(),
            syntax: None,
            delimiter: b',',
            null_values: Vec::new(),
            extract: Vec::new(),
            columns: vec![None; width],
            values: (0..width).map(|_| None).collect(),
            constants: vec![None; width],
            defaults: vec![None; width],
            timestamps: vec![None; width],
            split: None,
        }
    }

    /// Reads and checks a mapping file for input of `kind`. Every problem is a
    /// configuration error naming the file.
    pub fn load(path: &Path, kind: InputKind) -> Result<Mapping> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Mapping::parse(&text, &path.display().to_string(), kind)
    }

    /// Parses mapping text; `path` names it in errors.
    pub fn parse(text: &str, path: &str, kind: InputKind) -> Result<Mapping> {
        let invalid =
            |message: String| Error::Config(format!("invalid mapping file `{path}`: {message}"));
        let file: MappingFile = toml::from_str(text).map_err(|error| invalid(error.to_string()))?;
        let mut mapping = Mapping::passthrough(kind);
        mapping.path = path.to_string();

        let native = |name: &str, section: &str| {
            kind.column_index(name).ok_or_else(|| {
                invalid(format!(
                    "`{name}` in [{section}] is not a {} column; expected one of: {}",
                    kind.as_str(),
                    kind.columns().join(", ")
                ))
            })
        };

        for pattern in file.files {
            let compiled = glob::Pattern::new(&pattern)
                .map_err(|error| invalid(format!("invalid file pattern `{pattern}`: {error}")))?;
            mapping.files.push(compiled);
        }
        mapping.syntax = match file
            .format
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None => None,
            Some("csv") => Some(Syntax::Csv),
            Some("json" | "jsonl" | "ndjson") => Some(Syntax::Json),
            Some("lines" | "text") => Some(Syntax::Lines),
            Some(other) => {
                return Err(invalid(format!(
                    "unknown format `{other}`; expected csv, json or lines"
                )));
            }
        };
        if let Some(delimiter) = file.delimiter {
            let delimiter = if delimiter == "\\t" {
                "\t".to_string()
            } else {
                delimiter
            };
            match delimiter.as_bytes() {
                [byte] => mapping.delimiter = *byte,
                _ => {
                    return Err(invalid(format!(
                        "delimiter `{delimiter}` must be one ASCII character"
                    )));
                }
            }
        }
        mapping.null_values = file
            .null_values
            .iter()
            .map(|value| value.trim().to_lowercase())
            .collect();

        for (number, spec) in file.extract.into_iter().enumerate() {
            let pattern = Regex::new(&spec.pattern).map_err(|error| {
                invalid(format!(
                    "pattern #{} (`{}`) is not a valid regular expression: {error}",
                    number + 1,
                    spec.pattern
                ))
            })?;
            if pattern.capture_names().flatten().next().is_none() {
                return Err(invalid(format!(
                    "pattern #{} has no named group; name each group after the column it fills, e.g. (?P<identity>...)",
                    number + 1
                )));
            }
            mapping.extract.push(Extract {
                from: spec.from.trim().to_lowercase(),
                pattern,
                required: spec.required,
            });
        }
        for (name, sources) in file.columns {
            let index = native(&name, "columns")?;
            let sources = sources
                .into_vec()
                .iter()
                .map(|source| source.trim().to_lowercase())
                .collect();
            mapping.columns[index] = Some(sources);
        }
        for (name, table) in file.values {
            let index = native(&name, &format!("values.{name}"))?;
            let mut map = ValueMap::default();
            for (key, value) in table {
                let value = scalar_text(&value).ok_or_else(|| {
                    invalid(format!(
                        "[values.{name}] `{key}` must be a string or number"
                    ))
                })?;
                let key = key.trim().to_lowercase();
                if key.contains('*') {
                    map.patterns.push((key, value));
                } else {
                    map.exact.insert(key, value);
                }
            }
            map.patterns.sort_by(|a, b| {
                literal_len(&b.0)
                    .cmp(&literal_len(&a.0))
                    .then(a.0.cmp(&b.0))
            });
            mapping.values[index] = Some(map);
        }
        for (section, table, target) in [
            ("constants", file.constants, &mut mapping.constants),
            ("defaults", file.defaults, &mut mapping.defaults),
        ] {
            for (name, value) in table {
                let index = native(&name, section)?;
                let text = scalar_text(&value).ok_or_else(|| {
                    invalid(format!("[{section}] `{name}` must be a string or number"))
                })?;
                target[index] = Some(text);
            }
        }
        for (name, formats) in file.timestamps {
            let index = native(&name, "timestamps")?;
            let formats = formats.into_vec();
            for format in &formats {
                check_time_format(format).map_err(&invalid)?;
            }
            mapping.timestamps[index] = Some(formats);
        }
        if let Some(split) = file.split {
            let index = native(&split.column, "split")?;
            if split.separator.is_empty() {
                return Err(invalid("[split] separator must not be empty".to_string()));
            }
            mapping.split = Some((index, split.separator));
        }
        Ok(mapping)
    }

    /// Returns whether the mapping reads the file at `path`. It does when it
    /// names no `files` patterns, or when the file name (without `.gz` or `.zst`)
    /// or the whole path matches one.
    pub fn applies_to(&self, path: &str) -> bool {
        if self.files.is_empty() {
            return true;
        }
        let name = Path::new(path)
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or(path);
        let bare = name
            .strip_suffix(".gz")
            .or_else(|| name.strip_suffix(".zst"))
            .unwrap_or(name);
        self.files
            .iter()
            .any(|pattern| pattern.matches(name) || pattern.matches(bare) || pattern.matches(path))
    }

    fn is_null(&self, value: &str) -> bool {
        let trimmed = value.trim();
        trimmed.is_empty()
            || (!self.null_values.is_empty()
                && self
                    .null_values
                    .iter()
                    .any(|null| null == &trimmed.to_lowercase()))
    }

    /// Maps one record's source columns onto rows of native columns: one row, or
    /// one per part when the mapping splits a column.
    pub(super) fn apply<'s>(&self, source: &'s dyn Source) -> Result<Vec<NativeRow<'s>>, RowError> {
        let mut derived: Vec<(String, String)> = Vec::new();
        for (number, extract) in self.extract.iter().enumerate() {
            let value = lookup(self, source, &derived, &extract.from).map(Cow::into_owned);
            let Some(value) = value else {
                if extract.required {
                    return Err(RowError::new(
                        "",
                        format!(
                            "the record has no `{}` value for pattern #{} of mapping file {}",
                            extract.from,
                            number + 1,
                            self.path
                        ),
                        "",
                    ));
                }
                continue;
            };
            match extract.pattern.captures(&value) {
                Some(captures) => {
                    for name in extract.pattern.capture_names().flatten() {
                        if let Some(found) = captures.name(name) {
                            derived.push((name.to_lowercase(), found.as_str().to_string()));
                        }
                    }
                }
                None if extract.required => {
                    return Err(RowError::new(
                        "",
                        format!(
                            "`{}` does not match pattern #{} of mapping file {}",
                            extract.from,
                            number + 1,
                            self.path
                        ),
                        &value,
                    ));
                }
                None => {}
            }
        }

        let columns = self.kind.columns();
        let mut row = NativeRow::new(self.kind);
        for (index, name) in columns.iter().enumerate() {
            let mut value: Option<Cow<'s, str>> = match &self.columns[index] {
                Some(sources) => sources
                    .iter()
                    .find_map(|source_name| lookup(self, source, &derived, source_name)),
                None => lookup(self, source, &derived, name),
            };
            if let (Some(map), Some(current)) = (&self.values[index], value.as_deref())
                && let Some(mapped) = map.lookup(current.trim())
            {
                value = Some(Cow::Owned(mapped.to_string()));
            }
            if let Some(constant) = &self.constants[index]
                && let Some(text) = self.fill(constant, source, &derived)
            {
                value = Some(Cow::Owned(text));
            }
            if value.as_deref().is_none_or(|text| self.is_null(text))
                && let Some(default) = &self.defaults[index]
                && let Some(text) = self.fill(default, source, &derived)
            {
                value = Some(Cow::Owned(text));
            }
            let Some(value) = value.filter(|text| !self.is_null(text)) else {
                continue;
            };
            match &self.timestamps[index] {
                Some(formats) => {
                    let converted = convert_time(&value, formats).ok_or_else(|| {
                        RowError::new(
                            columns[index],
                            format!(
                                "invalid timestamp for the format(s) {} in mapping file {}",
                                formats.join(" | "),
                                self.path
                            ),
                            &value,
                        )
                    })?;
                    row.set(index, converted);
                }
                None => row.set(index, value),
            }
        }

        let Some((index, separator)) = &self.split else {
            return Ok(vec![row]);
        };
        let Some(whole) = row.get(*index).map(str::to_string) else {
            return Ok(vec![row]);
        };
        let parts: Vec<&str> = whole
            .split(separator.as_str())
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .collect();
        let mut rows = Vec::with_capacity(parts.len().max(1));
        for part in parts {
            let mut copy = NativeRow {
                fields: row.fields.clone(),
            };
            copy.set(*index, part.to_string());
            rows.push(copy);
        }
        if rows.is_empty() {
            rows.push(row);
        }
        Ok(rows)
    }
}

impl Mapping {
    /// Replaces each `${column}` in `template` with the column's value; `None`
    /// when a named column has no value.
    fn fill(
        &self,
        template: &str,
        source: &dyn Source,
        derived: &[(String, String)],
    ) -> Option<String> {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            let Some(length) = rest[start + 2..].find('}') else {
                break;
            };
            out.push_str(&rest[..start]);
            let name = &rest[start + 2..start + 2 + length];
            out.push_str(&lookup(self, source, derived, name)?);
            rest = &rest[start + 2 + length + 1..];
        }
        out.push_str(rest);
        Some(out)
    }
}

fn literal_len(pattern: &str) -> usize {
    pattern.chars().filter(|c| *c != '*').count()
}

fn lookup<'s>(
    mapping: &Mapping,
    source: &'s dyn Source,
    derived: &[(String, String)],
    name: &str,
) -> Option<Cow<'s, str>> {
    let name = name.to_lowercase();
    let value = derived
        .iter()
        .rev()
        .find(|(key, _)| *key == name)
        .map(|(_, value)| Cow::Owned(value.clone()))
        .or_else(|| source.get(&name).map(Cow::Borrowed))?;
    (!mapping.is_null(&value)).then_some(value)
}

fn scalar_text(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(text) => Some(text.clone()),
        toml::Value::Integer(number) => Some(number.to_string()),
        toml::Value::Float(number) => Some(number.to_string()),
        toml::Value::Boolean(flag) => Some(flag.to_string()),
        toml::Value::Datetime(time) => Some(time.to_string()),
        _ => None,
    }
}

fn check_time_format(format: &str) -> std::result::Result<(), String> {
    if format.eq_ignore_ascii_case("filetime") {
        return Ok(());
    }
    if StrftimeItems::new(format).any(|item| matches!(item, Item::Error)) {
        return Err(format!("`{format}` is not a valid strftime format"));
    }
    Ok(())
}

/// Converts a timestamp written in one of `formats` to RFC 3339; `None` when no
/// format reads it. A format without an offset (`%z`) reads the time as UTC.
fn convert_time(value: &str, formats: &[String]) -> Option<String> {
    let value = value.trim();
    for format in formats {
        if format.eq_ignore_ascii_case("filetime") {
            let ticks: f64 = value.parse().ok()?;
            let seconds = ticks / 10_000_000.0 - FILETIME_EPOCH_OFFSET_SECONDS;
            if let Some(time) = Timestamp::from_epoch_number(seconds) {
                return Some(time.to_rfc3339());
            }
            continue;
        }
        let millis = if format.contains("%z") || format.contains("%:z") || format.contains("%#z") {
            DateTime::parse_from_str(value, format)
                .ok()
                .map(|time| time.timestamp_millis())
        } else {
            NaiveDateTime::parse_from_str(value, format)
                .ok()
                .map(|time| time.and_utc().timestamp_millis())
                .or_else(|| {
                    NaiveDate::parse_from_str(value, format)
                        .ok()
                        .and_then(|date| date.and_hms_opt(0, 0, 0))
                        .map(|time| time.and_utc().timestamp_millis())
                })
        };
        if let Some(millis) = millis {
            return Some(Timestamp(millis).to_rfc3339());
        }
    }
    None
}

/// The source columns of one record, looked up by lower-case name.
pub(super) trait Source {
    fn get(&self, name: &str) -> Option<&str>;
}

/// Source columns as name–value pairs, for importers that build them.
#[derive(Debug, Default)]
pub(super) struct Pairs {
    pairs: Vec<(String, String)>,
}

impl Pairs {
    /// Adds a column; a later column of the same name does not replace it.
    pub fn push(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        if !value.trim().is_empty() {
            self.pairs.push((name.to_lowercase(), value));
        }
    }
}

impl Source for Pairs {
    fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

struct CsvSource<'r> {
    headers: &'r HashMap<String, usize>,
    record: &'r csv::StringRecord,
}

impl Source for CsvSource<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .and_then(|index| self.record.get(*index))
    }
}

/// Reads one file through the mapping.
pub(super) fn read<A, F>(
    context: &Context<'_>,
    file: &mut InputFile,
    mapping: &Mapping,
    new_accumulator: &F,
) -> Result<Tally<A>>
where
    A: Accumulator,
    F: Fn() -> A + Sync,
{
    let syntax = match (mapping.syntax, file.format) {
        (Some(syntax), _) => syntax,
        (None, Format::Csv) => Syntax::Csv,
        (None, Format::Json | Format::JsonLines) => Syntax::Json,
        (None, Format::Text) => Syntax::Lines,
        (None, other) => {
            return Err(Error::Config(format!(
                "`{}` is {}, which mapping files do not read; they read CSV, JSON and text lines (set `format` in {})",
                file.path,
                other.as_str(),
                mapping.path
            )));
        }
    };
    let container = file.format;
    match syntax {
        Syntax::Csv => read_csv(context, file, mapping, new_accumulator),
        Syntax::Json => {
            let reader = JsonMappingReader { context, mapping };
            let (tally, ()) = file.read_with(|stream| match container {
                Format::JsonLines | Format::Text => {
                    json::read_lines(stream, &context.name, new_accumulator, &reader)
                }
                _ => json::read_document(stream, &context.name, new_accumulator, &reader),
            })?;
            Ok(tally)
        }
        Syntax::Lines => {
            let reader = LineMappingReader { context, mapping };
            let (tally, ()) = file.read_with(|stream| {
                json::read_lines(stream, &context.name, new_accumulator, &reader)
            })?;
            Ok(tally)
        }
    }
}

fn add_mapped<A: Accumulator>(
    context: &Context<'_>,
    tally: &mut Tally<A>,
    position: Position,
    mapping: &Mapping,
    source: &dyn Source,
) {
    match mapping.apply(source) {
        Ok(rows) => add_record_rows(tally, &context.name, position, &rows),
        Err(error) => tally.reject(&context.name, position, error),
    }
}

struct JsonMappingReader<'c, 'p> {
    context: &'c Context<'p>,
    mapping: &'c Mapping,
}

impl<A: Accumulator> RecordReader<A> for JsonMappingReader<'_, '_> {
    type State = ();

    fn read_record(&self, bytes: &[u8], position: Position, tally: &mut Tally<A>, _: &mut ()) {
        match super::parse_json(bytes) {
            Ok(value) => {
                let mut pairs = Pairs::default();
                flatten(&value, "", &mut pairs);
                add_mapped(self.context, tally, position, self.mapping, &pairs);
            }
            Err(error) => tally.reject(&self.context.name, position, error),
        }
    }

    fn merge_state(&self, _: &mut (), _: ()) {}
}

/// Flattens a JSON record into source columns: nested keys joined with `.`,
/// array elements by index, and arrays of plain values also as one column
/// joined with `;`.
fn flatten(value: &Value, prefix: &str, out: &mut Pairs) {
    let join = |key: &str| {
        if prefix.is_empty() {
            key.to_string()
        } else {
            format!("{prefix}.{key}")
        }
    };
    match value {
        Value::Object(object) => {
            for (key, inner) in object {
                flatten(inner, &join(key), out);
            }
        }
        Value::Array(items) => {
            if items
                .iter()
                .all(|item| !item.is_object() && !item.is_array())
            {
                let texts: Vec<String> = items.iter().filter_map(scalar_json_text).collect();
                out.push(prefix, texts.join(";"));
            }
            for (index, item) in items.iter().enumerate() {
                flatten(item, &join(&index.to_string()), out);
            }
        }
        other => {
            if let Some(text) = scalar_json_text(other) {
                out.push(prefix, text);
            }
        }
    }
}

fn scalar_json_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

struct LineMappingReader<'c, 'p> {
    context: &'c Context<'p>,
    mapping: &'c Mapping,
}

impl<A: Accumulator> RecordReader<A> for LineMappingReader<'_, '_> {
    type State = ();

    fn read_record(&self, bytes: &[u8], position: Position, tally: &mut Tally<A>, _: &mut ()) {
        let line = String::from_utf8_lossy(bytes);
        let mut pairs = Pairs::default();
        pairs.push("line", line.into_owned());
        add_mapped(self.context, tally, position, self.mapping, &pairs);
    }

    fn merge_state(&self, _: &mut (), _: ()) {}
}

struct CsvRecord {
    position: Position,
    record: csv::StringRecord,
}

fn read_csv<A, F>(
    context: &Context<'_>,
    file: &mut InputFile,
    mapping: &Mapping,
    new_accumulator: &F,
) -> Result<Tally<A>>
where
    A: Accumulator,
    F: Fn() -> A + Sync,
{
    let name: Arc<str> = context.name.clone();
    file.read_with(|stream| {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(mapping.delimiter)
            .flexible(true)
            .has_headers(true)
            .from_reader(stream);
        let mut tally = Tally::new(new_accumulator());
        let headers: HashMap<String, usize> = match reader.headers() {
            Ok(headers) => {
                // The first of several columns with one name wins.
                let mut by_name = HashMap::new();
                for (index, header) in headers.iter().enumerate() {
                    let name = header.trim_start_matches('\u{feff}').trim().to_lowercase();
                    by_name.entry(name).or_insert(index);
                }
                by_name
            }
            Err(error) => {
                let position = Position {
                    line: Some(1),
                    record: 0,
                };
                tally.reject(
                    &name,
                    position,
                    RowError::new("", format!("unreadable header row: {error}"), ""),
                );
                return Ok(tally);
            }
        };

        let mut batch: Vec<CsvRecord> = Vec::with_capacity(BATCH_RECORDS);
        let mut number = 0u64;
        let flush = |batch: &mut Vec<CsvRecord>, tally: &mut Tally<A>| {
            let part = par_tally(batch, new_accumulator, |tally, item| {
                let source = CsvSource {
                    headers: &headers,
                    record: &item.record,
                };
                add_mapped(context, tally, item.position, mapping, &source);
            });
            tally.merge(part);
            batch.clear();
        };
        loop {
            let mut record = csv::StringRecord::new();
            match reader.read_record(&mut record) {
                Ok(true) => {
                    number += 1;
                    let position = Position {
                        line: record.position().map(|position| position.line()),
                        record: number,
                    };
                    batch.push(CsvRecord { position, record });
                    if batch.len() == BATCH_RECORDS {
                        flush(&mut batch, &mut tally);
                    }
                }
                Ok(false) => break,
                Err(error) => {
                    number += 1;
                    let position = Position {
                        line: error.position().map(|position| position.line()),
                        record: number,
                    };
                    let reason =
                        format!("file is truncated or corrupt, reading stopped here: {error}");
                    tally.reject(&name, position, RowError::new("", reason, ""));
                    break;
                }
            }
        }
        flush(&mut batch, &mut tally);
        Ok(tally)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Pairs {
        let mut pairs = Pairs::default();
        for (name, value) in items {
            pairs.push(name, *value);
        }
        pairs
    }

    fn values(rows: &[NativeRow<'_>], kind: InputKind, column: &str) -> Vec<Option<String>> {
        let index = kind.column_index(column).unwrap();
        rows.iter()
            .map(|row| row.get(index).map(str::to_string))
            .collect()
    }

    #[test]
    fn rename_constant_default_and_value_map() {
        let mapping = Mapping::parse(
            r#"
            null_values = ["-", "N/A"]
            [columns]
            identity = ["user", "account"]
            event_time = "ts"
            decision = "status"
            [constants]
            service = "gateway"
            [defaults]
            environment = "prod"
            [values.decision]
            "2*" = "allow"
            "403" = "deny"
            "4*" = "other"
            "#,
            "m.toml",
            InputKind::Logs,
        )
        .unwrap();
        let kind = InputKind::Logs;
        let source = pairs(&[
            ("user", "-"),
            ("Account", "svc-a"),
            ("ts", "2026-11-01T00:00:00Z"),
            ("status", "403"),
        ]);
        let rows = mapping.apply(&source).unwrap();
        assert_eq!(
            values(&rows, kind, "identity"),
            vec![Some("svc-a".to_string())]
        );
        assert_eq!(
            values(&rows, kind, "service"),
            vec![Some("gateway".to_string())]
        );
        assert_eq!(
            values(&rows, kind, "environment"),
            vec![Some("prod".to_string())]
        );
        assert_eq!(
            values(&rows, kind, "decision"),
            vec![Some("deny".to_string())]
        );
        let allowed = pairs(&[("account", "svc-a"), ("status", "204")]);
        let rows = mapping.apply(&allowed).unwrap();
        assert_eq!(
            values(&rows, kind, "decision"),
            vec![Some("allow".to_string())]
        );
        let other = pairs(&[("account", "svc-a"), ("status", "429")]);
        let rows = mapping.apply(&other).unwrap();
        assert_eq!(
            values(&rows, kind, "decision"),
            vec![Some("other".to_string())]
        );
    }

    #[test]
    fn extract_and_timestamp_format() {
        let mapping = Mapping::parse(
            r#"
            format = "lines"
            null_values = ["-"]
            [[extract]]
            from = "line"
            pattern = '^(?P<source>\S+) \S+ (?P<identity>\S+) \[(?P<event_time>[^\]]+)\] "(?P<method>[A-Z]+) (?P<endpoint>\S+)[^"]*" (?P<status_code>\d{3})'
            required = true
            [defaults]
            identity = "anonymous"
            [timestamps]
            event_time = "%d/%b/%Y:%H:%M:%S %z"
            "#,
            "nginx.toml",
            InputKind::Logs,
        )
        .unwrap();
        let kind = InputKind::Logs;
        let line = pairs(&[(
            "line",
            r#"86.166.103.163 - - [19/Jul/2020:20:14:39 +0200] "GET /icons/a.png HTTP/1.1" 200 6040 "-" "curl""#,
        )]);
        let rows = mapping.apply(&line).unwrap();
        assert_eq!(
            values(&rows, kind, "identity"),
            vec![Some("anonymous".to_string())]
        );
        assert_eq!(
            values(&rows, kind, "event_time"),
            vec![Some("2020-07-19T18:14:39Z".to_string())]
        );
        assert_eq!(
            values(&rows, kind, "endpoint"),
            vec![Some("/icons/a.png".to_string())]
        );
        assert_eq!(
            values(&rows, kind, "status_code"),
            vec![Some("200".to_string())]
        );

        let garbage = pairs(&[("line", "\\x16\\x03\\x01")]);
        let error = mapping.apply(&garbage).unwrap_err();
        assert!(
            error.reason.contains("does not match pattern #1"),
            "{}",
            error.reason
        );
    }

    #[test]
    fn naive_timestamp_is_utc() {
        assert_eq!(
            convert_time("2020-09-04 16:18:04", &["%Y-%m-%d %H:%M:%S".to_string()]).as_deref(),
            Some("2020-09-04T16:18:04Z")
        );
        assert_eq!(
            convert_time("11/30/2026", &["%m/%d/%Y".to_string()]).as_deref(),
            Some("2026-11-30T00:00:00Z")
        );
        assert_eq!(convert_time("nope", &["%Y".to_string()]), None);
    }

    #[test]
    fn filetime_numbers() {
        // 132727000000000000 ticks of 100 ns since 1601 is 2021-08-06T05:06:40Z.
        assert_eq!(
            convert_time("1.32727E+17", &["filetime".to_string()]).as_deref(),
            Some("2021-08-06T05:06:40Z")
        );
    }

    #[test]
    fn templates_name_source_columns() {
        let mapping = Mapping::parse(
            r#"
            [defaults]
            credential_id = "${account}/password"
            [constants]
            endpoint = "/v1/accounts/{id}"
            "#,
            "m.toml",
            InputKind::Entitlements,
        )
        .unwrap();
        let kind = InputKind::Entitlements;
        let named = pairs(&[("account", "svc-a")]);
        let rows = mapping.apply(&named).unwrap();
        assert_eq!(
            values(&rows, kind, "credential_id"),
            vec![Some("svc-a/password".to_string())]
        );
        assert_eq!(
            values(&rows, kind, "endpoint"),
            vec![Some("/v1/accounts/{id}".to_string())]
        );
        let unnamed = pairs(&[("other", "x")]);
        let rows = mapping.apply(&unnamed).unwrap();
        assert_eq!(values(&rows, kind, "credential_id"), vec![None]);
    }

    #[test]
    fn split_makes_one_row_per_part() {
        let mapping = Mapping::parse(
            r#"
            [columns]
            identity = "account"
            action = "groups"
            [split]
            column = "action"
            separator = ";"
            "#,
            "m.toml",
            InputKind::Entitlements,
        )
        .unwrap();
        let source = pairs(&[("account", "svc"), ("groups", "a; b;;c")]);
        let rows = mapping.apply(&source).unwrap();
        assert_eq!(
            values(&rows, InputKind::Entitlements, "action"),
            vec![
                Some("a".to_string()),
                Some("b".to_string()),
                Some("c".to_string())
            ]
        );
    }

    #[test]
    fn unknown_column_is_a_config_error() {
        let error = Mapping::parse("[constants]\ncolour = \"red\"\n", "m.toml", InputKind::Logs)
            .unwrap_err();
        let text = error.to_string();
        assert!(text.contains("`colour`"), "{text}");
        assert!(text.contains("event_time"), "{text}");
    }

    #[test]
    fn file_patterns() {
        let mapping = Mapping::parse("files = [\"*.log\"]\n", "m.toml", InputKind::Logs).unwrap();
        assert!(mapping.applies_to("/var/log/nginx/access.log"));
        assert!(mapping.applies_to("/var/log/nginx/access.log.gz"));
        assert!(!mapping.applies_to("/data/events.csv"));
        assert!(Mapping::passthrough(InputKind::Logs).applies_to("/data/events.csv"));
    }

    #[test]
    fn json_records_flatten() {
        let value: Value =
            serde_json::from_str(r#"{"a":{"b":"x","c":[1,2]},"d":[{"e":"y"}]}"#).unwrap();
        let mut out = Pairs::default();
        flatten(&value, "", &mut out);
        assert_eq!(out.get("a.b"), Some("x"));
        assert_eq!(out.get("a.c"), Some("1;2"));
        assert_eq!(out.get("d.0.e"), Some("y"));
    }

    #[test]
    fn glob_keys() {
        assert!(glob_match("2*", "204"));
        assert!(glob_match("*denied*", "access denied here"));
        assert!(!glob_match("4*", "503"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "axxcyyb"));
    }
}
