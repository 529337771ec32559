//! Postman/Newman JSON reports (`newman run -r json`) as API test results: one
//! record per request execution, in every iteration.
//!
//! A report records the request, the response and the names of the collection,
//! folders, request and assertions. It does not record which identity a request
//! used, what state its credential was in, or what policy expects. Those come from the names,
//! through the patterns of the tests mapping file (`--tests-mapping`). The source
//! columns a mapping can read are listed in [`source_columns`].

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::mapping::{Mapping, Pairs};
use super::{Context, add_record_rows, at, check_test_row, text_at};
use crate::error::Result;
use crate::ingest::files::InputFile;
use crate::ingest::{Accumulator, Position, RowError, Tally};
use crate::model::Timestamp;

/// How many characters of a response body become the response excerpt.
const EXCERPT_CHARS: usize = 4096;

/// The hint of a missing-value reject: where to set the value.
const HINT: &str = "set it from the request, folder or test names with an [[extract]] pattern, or in [defaults], of the --tests-mapping file";

/// Reads one Newman JSON report.
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
    let bytes = file.read_with(|stream| {
        let mut bytes = Vec::new();
        let outcome = stream.read_to_end(&mut bytes);
        Ok((bytes, outcome.err()))
    })?;
    let (bytes, read_error) = bytes;
    let mut tally = Tally::new(new_accumulator());
    let name = &context.name;
    let first = Position {
        line: Some(1),
        record: 1,
    };
    if let Some(error) = read_error {
        let reason = format!("file is truncated or corrupt: {error}");
        tally.reject(name, first, RowError::new("", reason, ""));
        return Ok(tally);
    }
    let report: Value = match serde_json::from_slice(&bytes) {
        Ok(report) => report,
        Err(error) => {
            let reason = format!(
                "invalid Newman report at line {} column {}: {error}",
                error.line(),
                error.column()
            );
            let position = Position {
                line: Some(error.line() as u64),
                record: 1,
            };
            tally.reject(name, position, RowError::new("", reason, ""));
            return Ok(tally);
        }
    };
    let Some(executions) = at(&report, &["run", "executions"]).and_then(Value::as_array) else {
        let reason = "not a Newman JSON report: `run.executions` is missing";
        tally.reject(name, first, RowError::new("", reason, ""));
        return Ok(tally);
    };

    let folders = folder_paths(at(&report, &["collection"]));
    let collection =
        text_at(&report, &["collection", "info", "name"]).map(|name| name.into_owned());
    let environment = text_at(&report, &["environment", "name"]).map(|name| name.into_owned());
    let started = at(&report, &["run", "timings", "started"]).and_then(Value::as_f64);
    let iterations = executions
        .iter()
        .filter_map(|execution| at(execution, &["cursor", "iteration"]).and_then(Value::as_u64))
        .max()
        .map_or(1, |last| last + 1);

    let mut seen_ids: HashMap<String, u32> = HashMap::new();
    for (index, execution) in executions.iter().enumerate() {
        let position = Position {
            line: None,
            record: index as u64 + 1,
        };
        let report_facts = ReportFacts {
            folders: &folders,
            collection: collection.as_deref(),
            environment: environment.as_deref(),
            started,
            iterations,
        };
        let pairs = match source_columns(execution, &report_facts, &mut seen_ids) {
            Ok(pairs) => pairs,
            Err(error) => {
                tally.reject(name, position, error);
                continue;
            }
        };
        add_mapped(&mut tally, name, position, mapping, &pairs);
    }
    Ok(tally)
}

fn add_mapped<A: Accumulator>(
    tally: &mut Tally<A>,
    name: &Arc<str>,
    position: Position,
    mapping: &Mapping,
    pairs: &Pairs,
) {
    let rows = match mapping.apply(pairs) {
        Ok(rows) => rows,
        Err(error) => {
            tally.reject(name, position, error);
            return;
        }
    };
    if let Some(error) = rows.iter().find_map(|row| check_test_row(row, HINT).err()) {
        tally.reject(name, position, error);
        return;
    }
    add_record_rows(tally, name, position, &rows);
}

/// Facts of the whole report, shared by its executions.
struct ReportFacts<'r> {
    folders: &'r HashMap<String, (String, String)>,
    collection: Option<&'r str>,
    environment: Option<&'r str>,
    /// When the run started, in epoch milliseconds.
    started: Option<f64>,
    iterations: u64,
}

/// Maps every request item's id (or name, when it has no id) to its
/// `(folder path, request name)`.
fn folder_paths(collection: Option<&Value>) -> HashMap<String, (String, String)> {
    fn walk(items: &[Value], path: &mut Vec<String>, out: &mut HashMap<String, (String, String)>) {
        for item in items {
            let name = text_at(item, &["name"])
                .map(|name| name.into_owned())
                .unwrap_or_default();
            if let Some(children) = at(item, &["item"]).and_then(Value::as_array) {
                path.push(name);
                walk(children, path, out);
                path.pop();
            } else {
                let key = text_at(item, &["id"])
                    .map(|id| id.into_owned())
                    .unwrap_or_else(|| name.clone());
                out.insert(key, (path.join(" / "), name));
            }
        }
    }
    let mut out = HashMap::new();
    if let Some(items) = collection
        .and_then(|collection| at(collection, &["item"]))
        .and_then(Value::as_array)
    {
        walk(items, &mut Vec::new(), &mut out);
    }
    out
}

/// Returns the source columns of one execution that a mapping can read:
///
/// | column | value |
/// |---|---|
/// | `test` | the assertion names, one per line |
/// | `failed_tests` | the names of the failed assertions, one per line |
/// | `request` | the request (item) name |
/// | `folder` | the folder path, names joined with ` / ` |
/// | `collection`, `environment` | the collection's and the environment's name |
/// | `iteration` | the iteration, from 1 |
/// | `method`, `url`, `endpoint` | the request's method, URL and path |
/// | `status_code`, `status` | the response code and its text |
/// | `response_excerpt` | the first 4096 characters of the response body |
/// | `request_id` | the response's `x-request-id`, `x-amzn-requestid`, `x-correlation-id` or `request-id` header |
/// | `trace_id` | the trace id of the request's `traceparent` or `x-b3-traceid` header |
/// | `auth_type` | the Postman auth type of the request (`bearer`, `apikey`, …) |
/// | `header.NAME` | each request header, except those that may carry a secret |
/// | `test_id`, `executed_at` | the folder path and request name (with the iteration when there are several), and the run's start |
fn source_columns(
    execution: &Value,
    report: &ReportFacts<'_>,
    seen_ids: &mut HashMap<String, u32>,
) -> Result<Pairs, RowError> {
    let item_id = text_at(execution, &["item", "id"]);
    let item_name = text_at(execution, &["item", "name"])
        .map(|name| name.into_owned())
        .unwrap_or_default();
    let (folder, request_name) = item_id
        .as_deref()
        .and_then(|id| report.folders.get(id))
        .or_else(|| report.folders.get(&item_name))
        .cloned()
        .unwrap_or_else(|| (String::new(), item_name.clone()));

    let response = at(execution, &["response"]).filter(|response| !response.is_null());
    if response.is_none() {
        let error = at(execution, &["requestError"]);
        let detail = error
            .map(|error| {
                ["code", "message", "hostname"]
                    .iter()
                    .filter_map(|key| text_at(error, &[key]))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        let reason = if detail.is_empty() {
            "the request got no response, so there is no observed status".to_string()
        } else {
            format!(
                "the request failed before any response ({detail}), so there is no observed status"
            )
        };
        return Err(RowError::new("status_code", reason, &request_name));
    }
    let response = response.expect("checked above");

    let mut pairs = Pairs::default();
    let iteration = at(execution, &["cursor", "iteration"])
        .and_then(Value::as_u64)
        .unwrap_or(0)
        + 1;
    let mut test_id = if folder.is_empty() {
        request_name.clone()
    } else {
        format!("{folder} / {request_name}")
    };
    if report.iterations > 1 {
        test_id = format!("{test_id} [iteration {iteration}]");
    }
    let seen = seen_ids.entry(test_id.clone()).or_insert(0);
    *seen += 1;
    if *seen > 1 {
        test_id = format!("{test_id} #{seen}");
    }
    pairs.push("test_id", test_id);
    // NOTE: Newman reports record only when the run started, so every execution
    // gets that time, however long the run took.
    if let Some(started) = report.started.and_then(Timestamp::from_epoch_number) {
        pairs.push("executed_at", started.to_rfc3339());
    }

    let assertions: Vec<&Value> = at(execution, &["assertions"])
        .and_then(Value::as_array)
        .map(|items| items.iter().collect())
        .unwrap_or_default();
    let names = |failed_only: bool| {
        assertions
            .iter()
            .filter(|assertion| {
                !failed_only || at(assertion, &["error"]).is_some_and(|error| !error.is_null())
            })
            .filter_map(|assertion| text_at(assertion, &["assertion"]))
            .collect::<Vec<_>>()
            .join("\n")
    };
    pairs.push("test", names(false));
    pairs.push("failed_tests", names(true));
    pairs.push("request", request_name);
    pairs.push("folder", folder);
    if let Some(collection) = report.collection {
        pairs.push("collection", collection);
    }
    if let Some(environment) = report.environment {
        pairs.push("environment", environment);
    }
    pairs.push("iteration", iteration.to_string());

    let request = at(execution, &["request"]);
    if let Some(request) = request {
        if let Some(method) = text_at(request, &["method"]) {
            pairs.push("method", method.into_owned());
        }
        let (url, path) = url_of(at(request, &["url"]));
        pairs.push("url", url);
        pairs.push("endpoint", path);
        if let Some(kind) = text_at(request, &["auth", "type"]) {
            pairs.push("auth_type", kind.into_owned());
        }
        for (key, value) in headers(at(request, &["header"])) {
            if !may_hold_secret(&key) {
                pairs.push(&format!("header.{key}"), value.clone());
            }
            if key == "traceparent" {
                if let Some(trace) = value.split('-').nth(1) {
                    pairs.push("trace_id", trace.to_string());
                }
            } else if key == "x-b3-traceid" {
                pairs.push("trace_id", value);
            }
        }
    }
    if let Some(code) = text_at(response, &["code"]) {
        pairs.push("status_code", code.into_owned());
    }
    if let Some(status) = text_at(response, &["status"]) {
        pairs.push("status", status.into_owned());
    }
    if let Some(body) = body_of(response) {
        pairs.push("response_excerpt", body);
    }
    let response_headers = headers(at(response, &["header"]));
    for wanted in [
        "x-request-id",
        "x-amzn-requestid",
        "x-correlation-id",
        "request-id",
    ] {
        if let Some((_, value)) = response_headers.iter().find(|(key, _)| key == wanted) {
            pairs.push("request_id", value.clone());
        }
    }
    Ok(pairs)
}

/// Header names whose values may be credentials, which must not become columns.
fn may_hold_secret(name: &str) -> bool {
    [
        "auth",
        "cookie",
        "token",
        "key",
        "secret",
        "session",
        "signature",
        "password",
    ]
    .iter()
    .any(|word| name.contains(word))
}

fn headers(list: Option<&Value>) -> Vec<(String, String)> {
    list.and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|header| {
                    let key = text_at(header, &["key"])?.to_ascii_lowercase();
                    let value = text_at(header, &["value"])?.into_owned();
                    Some((key, value))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Returns the full URL and its path from a Postman URL, an object or a string.
fn url_of(url: Option<&Value>) -> (String, String) {
    match url {
        Some(Value::String(text)) => {
            let path = crate::model::endpoint::normalize_path(text).to_string();
            (text.clone(), path)
        }
        Some(object @ Value::Object(_)) => {
            let join = |key: &str, separator: &str| {
                at(object, &[key])
                    .and_then(Value::as_array)
                    .map(|parts| {
                        parts
                            .iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join(separator)
                    })
                    .unwrap_or_default()
            };
            let host = join("host", ".");
            let path = format!("/{}", join("path", "/"));
            let protocol = text_at(object, &["protocol"]).unwrap_or("https".into());
            (format!("{protocol}://{host}{path}"), path)
        }
        _ => (String::new(), String::new()),
    }
}

/// Returns the response body from Newman's `stream` (a serialised Node.js
/// Buffer) or a plain `body` string, cut short.
fn body_of(response: &Value) -> Option<String> {
    let text = match at(response, &["stream"]) {
        Some(stream) => {
            let bytes: Vec<u8> = at(stream, &["data"])?
                .as_array()?
                .iter()
                .take(EXCERPT_CHARS * 4)
                .filter_map(|byte| byte.as_u64().and_then(|byte| u8::try_from(byte).ok()))
                .collect();
            String::from_utf8_lossy(&bytes).into_owned()
        }
        None => text_at(response, &["body"])?.into_owned(),
    };
    Some(text.chars().take(EXCERPT_CHARS).collect())
}

#[cfg(test)]
mod tests {
    use super::super::mapping::Source;
    use super::*;
    use crate::ingest::InputKind;

    fn report_facts(folders: &HashMap<String, (String, String)>) -> ReportFacts<'_> {
        ReportFacts {
            folders,
            collection: Some("Orders"),
            environment: Some("Staging"),
            started: Some(1_768_395_625_512.0),
            iterations: 2,
        }
    }

    fn execution() -> Value {
        serde_json::json!({
            "cursor": {"iteration": 1},
            "item": {"id": "i1", "name": "delete order as svc-reporting"},
            "request": {
                "method": "DELETE",
                "url": {"protocol": "https", "host": ["api", "example", "com"], "path": ["v1", "orders", "42"]},
                "header": [
                    {"key": "Authorization", "value": "Bearer abc.def.ghi"},
                    {"key": "traceparent", "value": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
                    {"key": "X-Client", "value": "ci"}
                ],
                "auth": {"type": "bearer"}
            },
            "response": {
                "code": 403, "status": "Forbidden",
                "header": [{"key": "X-Request-Id", "value": "req-9"}],
                "stream": {"type": "Buffer", "data": [123, 125]}
            },
            "assertions": [{"assertion": "Status code is 403"}, {"assertion": "no body", "error": {"message": "x"}}]
        })
    }

    #[test]
    fn execution_columns() {
        let mut folders = HashMap::new();
        folders.insert(
            "i1".to_string(),
            (
                "Negative / Orders".to_string(),
                "delete order as svc-reporting".to_string(),
            ),
        );
        let mut seen = HashMap::new();
        let pairs = source_columns(&execution(), &report_facts(&folders), &mut seen).unwrap();
        assert_eq!(
            pairs.get("test_id"),
            Some("Negative / Orders / delete order as svc-reporting [iteration 2]")
        );
        assert_eq!(pairs.get("executed_at"), Some("2026-01-14T13:00:25.512Z"));
        assert_eq!(pairs.get("endpoint"), Some("/v1/orders/42"));
        assert_eq!(
            pairs.get("url"),
            Some("https://api.example.com/v1/orders/42")
        );
        assert_eq!(pairs.get("status_code"), Some("403"));
        assert_eq!(pairs.get("request_id"), Some("req-9"));
        assert_eq!(
            pairs.get("trace_id"),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert_eq!(pairs.get("response_excerpt"), Some("{}"));
        assert_eq!(pairs.get("test"), Some("Status code is 403\nno body"));
        assert_eq!(pairs.get("failed_tests"), Some("no body"));
        assert_eq!(pairs.get("header.x-client"), Some("ci"));
        assert_eq!(pairs.get("header.authorization"), None);
        assert_eq!(pairs.get("environment"), Some("Staging"));
    }

    #[test]
    fn repeated_test_ids_are_numbered() {
        let folders = HashMap::new();
        let mut seen = HashMap::new();
        let first = source_columns(&execution(), &report_facts(&folders), &mut seen).unwrap();
        let second = source_columns(&execution(), &report_facts(&folders), &mut seen).unwrap();
        assert_eq!(
            first.get("test_id"),
            Some("delete order as svc-reporting [iteration 2]")
        );
        assert_eq!(
            second.get("test_id"),
            Some("delete order as svc-reporting [iteration 2] #2")
        );
    }

    #[test]
    fn mapping_fills_test_columns() {
        let mapping = Mapping::parse(
            r#"
            [[extract]]
            from = "request"
            pattern = '(?i)\bas (?P<identity>[\w.-]+)'
            [[extract]]
            from = "test"
            pattern = '(?i)status code is (?P<expected>\d{3})'
            [values.expected]
            "2*" = "allow"
            "4*" = "deny"
            [defaults]
            credential_state = "valid"
            "#,
            "tests.toml",
            InputKind::Tests,
        )
        .unwrap();
        let folders = HashMap::new();
        let mut seen = HashMap::new();
        let pairs = source_columns(&execution(), &report_facts(&folders), &mut seen).unwrap();
        let rows = mapping.apply(&pairs).unwrap();
        let row = &rows[0];
        let get = |name: &str| {
            row.get(InputKind::Tests.column_index(name).unwrap())
                .map(str::to_string)
        };
        assert_eq!(get("identity").as_deref(), Some("svc-reporting"));
        assert_eq!(get("expected").as_deref(), Some("deny"));
        assert_eq!(get("credential_state").as_deref(), Some("valid"));
        assert_eq!(get("method").as_deref(), Some("DELETE"));
        assert!(check_test_row(row, HINT).is_ok());
    }

    #[test]
    fn no_response_is_rejected() {
        let folders = HashMap::new();
        let mut seen = HashMap::new();
        let failed = serde_json::json!({
            "item": {"name": "wrong url"},
            "request": {"method": "GET", "url": {"host": ["fafafafa"], "path": [""]}},
            "requestError": {"code": "ENOTFOUND", "hostname": "fafafafa"}
        });
        let error = source_columns(&failed, &report_facts(&folders), &mut seen).unwrap_err();
        assert_eq!(error.column, "status_code");
        assert!(
            error.reason.contains("ENOTFOUND fafafafa"),
            "{}",
            error.reason
        );
    }
}
