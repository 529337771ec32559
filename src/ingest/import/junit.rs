//! JUnit XML reports as API test results: one record per `<testcase>`, in suites
//! nested to any depth.
//!
//! JUnit knows test and suite names, the outcome and any failure text, but not the
//! request. Method, endpoint, identity, credential state and expected outcome come
//! from the names through the tests mapping file (`--tests-mapping`); the status
//! code comes from the mapping, or else from the failure text or a passing
//! assertion's name (see [`status_from_text`]). Quirks handled:
//! - suites whose `tests`, `failures` or `errors` counts disagree with the
//!   testcases they hold: the testcases are read and a warning says so;
//! - timestamps without an offset, which are UTC;
//! - the same test in several iterations: repeated test ids get ` #2`, ` #3`, …;
//! - a testcase with only `<skipped/>` sent no request and is rejected; one that
//!   also has a failure or error ran and is read as failed.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use regex::Regex;

use super::mapping::{Mapping, Pairs};
use super::{Context, add_record_rows, check_test_row};
use crate::error::Result;
use crate::ingest::files::InputFile;
use crate::ingest::{Accumulator, Position, RowError, Tally};

/// How many characters of failure text and output a source column keeps.
const TEXT_CHARS: usize = 4096;

const HINT: &str = "JUnit reports name no request, so set it from the test, class or suite names with an [[extract]] pattern, or in [defaults], of the --tests-mapping file";

/// A status code in failure text: `expected response to have status code 200 but got 404`.
static OBSERVED_IN_FAILURE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:but got|got|received|actual(?: status(?: code)?)?:?|was)\s+(?:status(?: code)?\s+)?([1-5]\d{2})\b")
        .expect("valid pattern")
});

/// A status code in a passing assertion's name: `Status code is 201`.
static ASSERTED_IN_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\bstatus(?: code)?\s*(?:is|should be|to be|equals?|==?|:)?\s*([1-5]\d{2})\b")
        .expect("valid pattern")
});

/// Reads one JUnit XML file.
pub(super) fn read<A, F>(
    context: &Context<'_>,
    file: &mut InputFile,
    mapping: &Mapping,
    new_accumulator: &F,
    warnings: &mut Vec<String>,
) -> Result<Tally<A>>
where
    A: Accumulator,
    F: Fn() -> A + Sync,
{
    let (bytes, read_error) = file.read_with(|stream| {
        let mut bytes = Vec::new();
        let outcome = stream.read_to_end(&mut bytes);
        Ok((bytes, outcome.err()))
    })?;
    let text = String::from_utf8_lossy(&bytes);
    let mut tally = Tally::new(new_accumulator());
    let parsed = parse(&text);
    warnings.extend(parsed.warnings);
    if parsed.cases.is_empty() && parsed.failure.is_none() {
        warnings.push("no <testcase> element found; is this a JUnit XML report?".to_string());
    }

    let mut seen_ids: HashMap<String, u32> = HashMap::new();
    for case in parsed.cases {
        let position = case.position;
        if case.outcome == Outcome::Skipped {
            let error = RowError::new(
                "",
                "the test was skipped, so it sent no request",
                &case.name,
            );
            tally.reject(&context.name, position, error);
            continue;
        }
        let pairs = case.source_columns(&mut seen_ids);
        let rows = match mapping.apply(&pairs) {
            Ok(mut rows) => {
                let status_column = context
                    .kind
                    .column_index("status_code")
                    .expect("a test column");
                for row in &mut rows {
                    if row.get(status_column).is_none()
                        && let Some(code) = case.observed_status()
                    {
                        row.set(status_column, code);
                    }
                }
                rows
            }
            Err(error) => {
                tally.reject(&context.name, position, error);
                continue;
            }
        };
        if let Some(error) = rows.iter().find_map(|row| check_test_row(row, HINT).err()) {
            tally.reject(&context.name, position, error);
            continue;
        }
        add_record_rows(&mut tally, &context.name, position, &rows);
    }

    if let Some((position, reason)) = parsed.failure {
        tally.reject(&context.name, position, RowError::new("", reason, ""));
    } else if let Some(error) = read_error {
        let position = Position {
            line: None,
            record: tally.read + tally.rejects.len() as u64 + 1,
        };
        let reason = format!("file is truncated or corrupt: {error}");
        tally.reject(&context.name, position, RowError::new("", reason, ""));
    }
    Ok(tally)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Passed,
    Failed,
    Error,
    Skipped,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::Error => "error",
            Outcome::Skipped => "skipped",
        }
    }
}

/// One `<testcase>` and what its suites say about it.
#[derive(Debug)]
struct Case {
    position: Position,
    name: String,
    classname: String,
    file: String,
    time: String,
    /// The case's timestamp, or the nearest enclosing suite's.
    timestamp: String,
    suites: Vec<String>,
    outcome: Outcome,
    skipped: bool,
    message: String,
    output: String,
    properties: Vec<(String, String)>,
}

impl Case {
    /// The source columns a mapping can read: `test`, `classname`, `suite` (the
    /// innermost suite), `suites` (all, joined with ` / `), `file`, `time`,
    /// `timestamp` (also as `executed_at`), `outcome`, `message` (failure and
    /// error messages and text), `output` (system-out), `test_id`, and every
    /// `<property>` of the case and its suites by name.
    fn source_columns(&self, seen_ids: &mut HashMap<String, u32>) -> Pairs {
        let mut pairs = Pairs::default();
        let suites = self.suites.join(" / ");
        let mut test_id = match (self.classname.is_empty(), suites.is_empty()) {
            (false, _) => format!("{}.{}", self.classname, self.name),
            (true, false) => format!("{suites} / {}", self.name),
            (true, true) => self.name.clone(),
        };
        let seen = seen_ids.entry(test_id.clone()).or_insert(0);
        *seen += 1;
        if *seen > 1 {
            test_id = format!("{test_id} #{seen}");
        }
        pairs.push("test_id", test_id);
        pairs.push("executed_at", self.timestamp.clone());
        for (name, value) in &self.properties {
            pairs.push(name, value.clone());
        }
        pairs.push("test", self.name.clone());
        pairs.push("classname", self.classname.clone());
        pairs.push("suite", self.suites.last().cloned().unwrap_or_default());
        pairs.push("suites", suites);
        pairs.push("file", self.file.clone());
        pairs.push("time", self.time.clone());
        pairs.push("timestamp", self.timestamp.clone());
        pairs.push("outcome", self.outcome.as_str());
        pairs.push("message", self.message.clone());
        pairs.push("output", self.output.clone());
        pairs
    }

    fn observed_status(&self) -> Option<String> {
        status_from_text(self.outcome, &self.name, &self.message)
    }
}

/// The status code a testcase observed, when its text says: a failed case's
/// message with `got 404`, or a passed case named like `Status code is 200`.
fn status_from_text(outcome: Outcome, name: &str, message: &str) -> Option<String> {
    let found = match outcome {
        Outcome::Passed => ASSERTED_IN_NAME.captures(name),
        Outcome::Failed | Outcome::Error => OBSERVED_IN_FAILURE.captures(message),
        Outcome::Skipped => None,
    };
    found.map(|captures| captures[1].to_string())
}

/// A `<testsuite>` (or `<testsuites>`) being read.
#[derive(Debug, Default)]
struct Suite {
    name: String,
    timestamp: String,
    declared: Option<u64>,
    /// Testcases in the suite and the suites inside it.
    cases: u64,
    properties: Vec<(String, String)>,
}

#[derive(Debug, Default)]
struct Parsed {
    cases: Vec<Case>,
    warnings: Vec<String>,
    /// Where the XML became unreadable, and why.
    failure: Option<(Position, String)>,
}

fn attribute(element: &BytesStart<'_>, name: &str) -> String {
    element
        .attributes()
        .flatten()
        .find(|attribute| attribute.key.as_ref() == name.as_bytes())
        .and_then(|attribute| attribute.unescape_value().ok().map(Cow::into_owned))
        .unwrap_or_default()
}

fn push_text(target: &mut String, text: &str) {
    if target.chars().count() < TEXT_CHARS {
        target.push_str(text);
    }
}

/// Where inside a testcase the text being read belongs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TextTarget {
    None,
    Message,
    Output,
}

fn parse(text: &str) -> Parsed {
    let mut reader = Reader::from_str(text);
    let mut parsed = Parsed::default();
    let mut suites: Vec<Suite> = Vec::new();
    let mut case: Option<Case> = None;
    let mut target = TextTarget::None;
    let mut lines = LineCounter::new(text);

    loop {
        let start = reader.buffer_position() as usize;
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(error) => {
                let line = lines.line_of(start.min(text.len()));
                let record = parsed.cases.len() as u64 + 1;
                parsed.failure = Some((
                    Position {
                        line: Some(line),
                        record,
                    },
                    format!("invalid XML, reading stopped here: {error}"),
                ));
                break;
            }
        };
        let empty = matches!(event, Event::Empty(_));
        match event {
            Event::Start(element) | Event::Empty(element) if is_suite(&element) => {
                suites.push(Suite {
                    name: attribute(&element, "name"),
                    timestamp: attribute(&element, "timestamp"),
                    declared: attribute(&element, "tests").parse().ok(),
                    ..Suite::default()
                });
                if empty {
                    close_suite(&mut suites, &mut parsed.warnings);
                }
            }
            Event::End(element)
                if matches!(element.name().as_ref(), b"testsuite" | b"testsuites") =>
            {
                close_suite(&mut suites, &mut parsed.warnings);
            }
            Event::Start(element) | Event::Empty(element)
                if element.name().as_ref() == b"testcase" =>
            {
                let timestamp = Some(attribute(&element, "timestamp"))
                    .filter(|time| !time.is_empty())
                    .or_else(|| {
                        suites
                            .iter()
                            .rev()
                            .map(|suite| suite.timestamp.clone())
                            .find(|time| !time.is_empty())
                    })
                    .unwrap_or_default();
                let position = Position {
                    line: Some(lines.line_of(start)),
                    record: parsed.cases.len() as u64 + 1,
                };
                let new_case = Case {
                    position,
                    name: attribute(&element, "name"),
                    classname: attribute(&element, "classname"),
                    file: attribute(&element, "file"),
                    time: attribute(&element, "time"),
                    timestamp,
                    suites: suites
                        .iter()
                        .map(|suite| suite.name.clone())
                        .filter(|name| !name.is_empty())
                        .collect(),
                    outcome: Outcome::Passed,
                    skipped: false,
                    message: String::new(),
                    output: String::new(),
                    properties: suites
                        .iter()
                        .rev()
                        .flat_map(|suite| suite.properties.clone())
                        .collect(),
                };
                if let Some(suite) = suites.last_mut() {
                    suite.cases += 1;
                }
                if empty {
                    parsed.cases.push(finish(new_case));
                } else {
                    case = Some(new_case);
                }
            }
            Event::End(element) if element.name().as_ref() == b"testcase" => {
                if let Some(done) = case.take() {
                    parsed.cases.push(finish(done));
                }
                target = TextTarget::None;
            }
            Event::Start(element) | Event::Empty(element) => {
                let name = element.name().as_ref().to_vec();
                match (name.as_slice(), case.as_mut()) {
                    (b"failure" | b"error", Some(current)) => {
                        let outcome = if name == b"error" {
                            Outcome::Error
                        } else {
                            Outcome::Failed
                        };
                        if current.outcome != Outcome::Error {
                            current.outcome = outcome;
                        }
                        let message = attribute(&element, "message");
                        if !message.is_empty() {
                            start_line(&mut current.message);
                            push_text(&mut current.message, &message);
                        }
                        // The element's text goes on a line of its own.
                        start_line(&mut current.message);
                        target = if empty {
                            TextTarget::None
                        } else {
                            TextTarget::Message
                        };
                    }
                    (b"skipped", Some(current)) => {
                        current.skipped = true;
                        target = TextTarget::None;
                    }
                    (b"system-out", Some(_)) => {
                        target = if empty {
                            TextTarget::None
                        } else {
                            TextTarget::Output
                        };
                    }
                    (b"property", _) => {
                        let pair = (attribute(&element, "name"), attribute(&element, "value"));
                        if pair.0.is_empty() {
                            continue;
                        }
                        match (case.as_mut(), suites.last_mut()) {
                            (Some(current), _) => current.properties.insert(0, pair),
                            (None, Some(suite)) => suite.properties.push(pair),
                            (None, None) => {}
                        }
                    }
                    _ => {}
                }
            }
            Event::End(element) => {
                if matches!(
                    element.name().as_ref(),
                    b"failure" | b"error" | b"system-out"
                ) {
                    target = TextTarget::None;
                }
            }
            Event::Text(content) => {
                append(&mut case, target, &content.decode().unwrap_or_default())
            }
            Event::CData(content) => {
                let decoded = content.decode().unwrap_or_default();
                if let Some(current) = case.as_mut() {
                    match target {
                        TextTarget::Message => start_line(&mut current.message),
                        TextTarget::Output => start_line(&mut current.output),
                        TextTarget::None => {}
                    }
                }
                append(&mut case, target, decoded.trim());
            }
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(character)) => character.to_string(),
                    _ => {
                        let name = reference.decode().unwrap_or_default();
                        quick_xml::escape::resolve_predefined_entity(&name)
                            .unwrap_or_default()
                            .to_string()
                    }
                };
                append(&mut case, target, &resolved);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if parsed.failure.is_none() && (case.is_some() || !suites.is_empty()) {
        let line = lines.line_of(text.len());
        parsed.failure = Some((
            Position {
                line: Some(line),
                record: parsed.cases.len() as u64 + 1,
            },
            "the XML ends before its elements are closed; the file is truncated".to_string(),
        ));
    }
    parsed
}

fn is_suite(element: &BytesStart<'_>) -> bool {
    matches!(element.name().as_ref(), b"testsuite" | b"testsuites")
}

/// Ends the text's last line, unless the text is empty or already ends one.
fn start_line(text: &mut String) {
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
}

fn append(case: &mut Option<Case>, target: TextTarget, text: &str) {
    let Some(current) = case.as_mut() else {
        return;
    };
    match target {
        TextTarget::Message => push_text(&mut current.message, text),
        TextTarget::Output => push_text(&mut current.output, text),
        TextTarget::None => {}
    }
}

fn finish(mut case: Case) -> Case {
    if case.skipped && case.outcome == Outcome::Passed {
        case.outcome = Outcome::Skipped;
    }
    case.message = case.message.trim().to_string();
    case.output = case.output.trim().to_string();
    case
}

fn close_suite(suites: &mut Vec<Suite>, warnings: &mut Vec<String>) {
    let Some(suite) = suites.pop() else {
        return;
    };
    if let Some(declared) = suite.declared
        && declared != suite.cases
    {
        let name = if suite.name.is_empty() {
            "(unnamed)"
        } else {
            &suite.name
        };
        warnings.push(format!(
            "suite `{name}` declares tests=\"{declared}\" but holds {} testcase(s); the testcases were read",
            suite.cases
        ));
    }
    if let Some(parent) = suites.last_mut() {
        parent.cases += suite.cases;
    }
}

/// Converts byte offsets to 1-based line numbers, for offsets in increasing order.
struct LineCounter<'t> {
    text: &'t str,
    offset: usize,
    line: u64,
}

impl<'t> LineCounter<'t> {
    fn new(text: &'t str) -> LineCounter<'t> {
        LineCounter {
            text,
            offset: 0,
            line: 1,
        }
    }

    fn line_of(&mut self, offset: usize) -> u64 {
        let offset = offset.min(self.text.len());
        if offset < self.offset {
            self.offset = 0;
            self.line = 1;
        }
        self.line += self.text.as_bytes()[self.offset..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        self.offset = offset;
        self.line
    }
}

#[cfg(test)]
mod tests {
    use super::super::mapping::Source;
    use super::*;

    fn column<'p>(pairs: &'p Pairs, name: &str) -> Option<&'p str> {
        pairs.get(name)
    }

    const NESTED: &str = r#"<?xml version="1.0"?>
<testsuites>
  <testsuite name="orders" tests="3" timestamp="2026-11-02T09:00:00">
    <properties><property name="service" value="orders-api"/></properties>
    <testsuite name="negative">
      <testcase classname="authz" name="DELETE /v1/orders/42 as svc-reporting expect deny" time="0.1"/>
      <testcase classname="authz" name="GET /v1/orders as svc-a expect allow" time="0.1">
        <failure message="expected response to have status code 200 but got 401">AssertionError</failure>
      </testcase>
      <testcase classname="authz" name="skipped one"><skipped/></testcase>
    </testsuite>
  </testsuite>
</testsuites>"#;

    #[test]
    fn nested_suites_and_suite_timestamps() {
        let parsed = parse(NESTED);
        assert!(parsed.failure.is_none(), "{:?}", parsed.failure);
        assert_eq!(parsed.cases.len(), 3);
        let first = &parsed.cases[0];
        assert_eq!(
            first.suites,
            vec!["orders".to_string(), "negative".to_string()]
        );
        assert_eq!(first.timestamp, "2026-11-02T09:00:00");
        assert_eq!(first.position.line, Some(6));
        assert_eq!(parsed.cases[1].outcome, Outcome::Failed);
        assert_eq!(parsed.cases[1].observed_status().as_deref(), Some("401"));
        assert_eq!(parsed.cases[2].outcome, Outcome::Skipped);
        let mut seen = HashMap::new();
        let pairs = first.source_columns(&mut seen);
        assert_eq!(column(&pairs, "service"), Some("orders-api"));
        assert_eq!(column(&pairs, "suites"), Some("orders / negative"));
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    }

    #[test]
    fn disagreeing_counts_warn() {
        let parsed = parse(
            r#"<testsuite name="s" tests="5"><testcase name="a"/><testcase name="b"/></testsuite>"#,
        );
        assert_eq!(parsed.cases.len(), 2);
        assert_eq!(parsed.warnings.len(), 1);
        assert!(
            parsed.warnings[0].contains("tests=\"5\""),
            "{}",
            parsed.warnings[0]
        );
    }

    #[test]
    fn entities_and_cdata_in_messages() {
        let parsed = parse(
            r#"<testsuite><testcase name="t"><failure message="a &lt; b">x &amp; y<![CDATA[ got 503 ]]></failure></testcase></testsuite>"#,
        );
        let case = &parsed.cases[0];
        assert_eq!(case.message, "a < b\nx & y\ngot 503");
        assert_eq!(case.observed_status().as_deref(), Some("503"));
    }

    #[test]
    fn skipped_and_failed_counts_as_run() {
        let parsed = parse(
            r#"<testsuite><testcase name="t"><skipped/><failure message="f"/><error message="e"/></testcase></testsuite>"#,
        );
        assert_eq!(parsed.cases[0].outcome, Outcome::Error);
    }

    #[test]
    fn truncated_file_is_reported() {
        let parsed =
            parse("<testsuites><testsuite name=\"s\"><testcase name=\"a\"/><testcase name=\"b\">");
        assert_eq!(parsed.cases.len(), 1);
        let (position, reason) = parsed.failure.expect("a failure");
        assert_eq!(position.record, 2);
        assert!(!reason.is_empty());
    }

    #[test]
    fn passing_assertion_names_give_status() {
        assert_eq!(
            status_from_text(Outcome::Passed, "Status code is 201", "").as_deref(),
            Some("201")
        );
        assert_eq!(
            status_from_text(Outcome::Passed, "response is ok", ""),
            None
        );
    }
}
