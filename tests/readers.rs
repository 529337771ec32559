//! The native readers on every format and compression, the conventions every
//! input shares, malformed input, `--strict`, finding ids under shuffled input
//! rows, and property tests on the CSV and JSON Lines parsers.

mod common;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use corroborate::Error;
use corroborate::ingest::entitlements::EntitlementAccumulator;
use corroborate::ingest::logs::{LogAccumulator, LogContext};
use corroborate::ingest::tests::TestAccumulator;
use corroborate::ingest::{Compression, Format, InputKind, ReadOutcome, Reject, read_inputs};
use corroborate::model::{
    CredentialState, Decision, Expected, GrantStatus, IdentityType, TestResult, Timestamp,
};
use polars::prelude::{Column, DataFrame, DataType, NamedFrom, ParquetWriter, Series, TimeUnit};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

use common::{Scenario, TEST_HEADER};

// ---------------------------------------------------------------------------
// Helpers

fn ts(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, bytes).unwrap();
    path
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn zstd(bytes: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(bytes, 3).unwrap()
}

/// Decompresses as much of a cut gzip stream as the decoder returns before it
/// reports the cut.
fn gunzip_prefix(bytes: &[u8]) -> Vec<u8> {
    let mut decoder = flate2::read::MultiGzDecoder::new(bytes);
    let mut out = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match decoder.read(&mut buffer) {
            Ok(0) => panic!("the cut gzip stream decoded without an error"),
            Ok(n) => out.extend_from_slice(&buffer[..n]),
            Err(_) => return out,
        }
    }
}

/// The compressions every format is tried with, and the file name suffix of each.
const COMPRESSIONS: [(Compression, &str); 3] = [
    (Compression::None, ""),
    (Compression::Gzip, ".gz"),
    (Compression::Zstd, ".zst"),
];

fn compress(bytes: &[u8], compression: Compression) -> Vec<u8> {
    match compression {
        Compression::None => bytes.to_vec(),
        Compression::Gzip => gzip(bytes),
        Compression::Zstd => zstd(bytes),
    }
}

fn patterns(paths: &[&Path]) -> Vec<String> {
    paths
        .iter()
        .map(|path| path.display().to_string())
        .collect()
}

fn read_tests(paths: &[&Path]) -> corroborate::Result<ReadOutcome<TestAccumulator>> {
    read_inputs(
        InputKind::Tests,
        &patterns(paths),
        &TestAccumulator::default,
    )
}

fn read_entitlements(paths: &[&Path]) -> corroborate::Result<ReadOutcome<EntitlementAccumulator>> {
    read_inputs(
        InputKind::Entitlements,
        &patterns(paths),
        &EntitlementAccumulator::default,
    )
}

/// Builds the log context of these tests, whose review window is September to
/// November 2026.
fn log_context() -> LogContext {
    LogContext {
        window: (ts("2026-09-01T00:00:00Z"), ts("2026-12-01T00:00:00Z")),
        ..LogContext::default()
    }
}

/// Test results sorted by test id, so files read on several threads compare.
fn sorted_tests(outcome: ReadOutcome<TestAccumulator>) -> Vec<TestResult> {
    let mut tests = outcome.data.tests;
    tests.sort_by(|a, b| a.test_id.cmp(&b.test_id));
    tests
}

/// Returns the one reject of an outcome, and panics listing them when there is
/// not exactly one.
fn only_reject<A>(outcome: &ReadOutcome<A>) -> &Reject {
    assert_eq!(outcome.rejects.len(), 1, "rejects: {:#?}", outcome.rejects);
    &outcome.rejects[0]
}

/// Formats a native test result CSV row from the columns most tests vary. The
/// others are empty except `environment`, `service` and `auth_path`.
fn test_row(
    test_id: &str,
    executed_at: &str,
    identity: &str,
    credential_state: &str,
    method: &str,
    expected: &str,
) -> String {
    format!(
        "{test_id},{executed_at},{identity},,{credential_state},prod,orders-api,{method},/v1/orders,,{expected},200,oauth2,,,,\n"
    )
}

/// Formats a test result as one JSON line, like a [`test_row`] with a 200.
fn test_line(test_id: &str, executed_at: &str) -> String {
    let record = serde_json::json!({
        "test_id": test_id,
        "executed_at": executed_at,
        "identity": "svc-a",
        "credential_state": "valid",
        "environment": "prod",
        "service": "orders-api",
        "method": "GET",
        "endpoint": "/v1/orders",
        "expected": "allow",
        "status_code": 200,
    });
    format!("{record}\n")
}

// ---------------------------------------------------------------------------
// Every format, compression and path form

/// What the five sample records of every format must normalise to.
struct Sample {
    test_id: &'static str,
    executed_at: &'static str,
    identity: &'static str,
    credential_state: CredentialState,
    environment: &'static str,
    method: &'static str,
    endpoint: &'static str,
    expected: Expected,
    status_code: u16,
}

const SAMPLES: [Sample; 5] = [
    Sample {
        test_id: "t-1",
        executed_at: "2026-09-07T02:10:00Z",
        identity: "svc-a",
        credential_state: CredentialState::Valid,
        environment: "prod",
        method: "GET",
        endpoint: "/v1/orders/17",
        expected: Expected::Allow,
        status_code: 200,
    },
    Sample {
        test_id: "t-2",
        executed_at: "2026-09-07T02:10:05Z",
        identity: "svc-b",
        credential_state: CredentialState::WrongAudience,
        environment: "prod",
        method: "POST",
        endpoint: "/v1/orders",
        expected: Expected::Deny,
        status_code: 401,
    },
    Sample {
        test_id: "t-3",
        executed_at: "2026-09-07T02:10:10Z",
        identity: "svc-c",
        credential_state: CredentialState::Expired,
        environment: "staging",
        method: "DELETE",
        endpoint: "/v1/orders/18",
        expected: Expected::Deny,
        status_code: 403,
    },
    Sample {
        test_id: "t-4",
        executed_at: "2026-09-07T02:10:15Z",
        identity: "svc-d",
        credential_state: CredentialState::InsufficientScope,
        environment: "prod",
        method: "PATCH",
        endpoint: "/v1/orders/19",
        expected: Expected::Deny,
        status_code: 403,
    },
    Sample {
        test_id: "t-5",
        executed_at: "2026-09-07T02:10:20.500Z",
        identity: "svc-e",
        credential_state: CredentialState::Valid,
        environment: "prod",
        method: "GET",
        endpoint: "/v1/orders",
        expected: Expected::Allow,
        status_code: 204,
    },
];

/// The samples as CSV, with a UTF-8 BOM, mixed-case column names and an unknown
/// column. Enums are spelled in any case with `-`, and paths have a trailing `/`
/// or a query string. Timestamps take every form: `Z`, `+02:00`, no offset,
/// epoch seconds and epoch milliseconds.
const SAMPLE_CSV: &str = "\u{feff}Test_ID,EXECUTED_AT,Identity,Credential_State,Environment,Service,Method,Endpoint,Expected,Status_Code,Notes
t-1,2026-09-07T02:10:00Z,svc-a,valid,Prod,orders-api,get,/v1/orders/17/?page=2,allow,200,first
t-2,2026-09-07T04:10:05+02:00,svc-b,Wrong-Audience,prod,orders-api,POST,/v1/orders/,DENY,401,
t-3,2026-09-07T02:10:10,svc-c,EXPIRED,staging,orders-api,delete,/v1/orders/18?force=true,deny,403,
t-4,1788747015,svc-d,insufficient-scope,prod,orders-api,PATCH,/v1/orders/19/,Deny,403,
t-5,1788747020500,svc-e,Valid,PROD,orders-api,Get,/v1/orders,ALLOW,204,
";

/// Builds the samples as JSON records, with the epoch timestamps and status
/// codes as JSON numbers and an unknown nested member.
fn sample_records() -> Vec<String> {
    let rows = [
        (
            "t-1",
            serde_json::json!("2026-09-07T02:10:00Z"),
            "svc-a",
            "valid",
            "Prod",
            "get",
            "/v1/orders/17/?page=2",
            "allow",
            200,
        ),
        (
            "t-2",
            serde_json::json!("2026-09-07T04:10:05+02:00"),
            "svc-b",
            "Wrong-Audience",
            "prod",
            "POST",
            "/v1/orders/",
            "DENY",
            401,
        ),
        (
            "t-3",
            serde_json::json!("2026-09-07T02:10:10"),
            "svc-c",
            "EXPIRED",
            "staging",
            "delete",
            "/v1/orders/18?force=true",
            "deny",
            403,
        ),
        (
            "t-4",
            serde_json::json!(1_788_747_015_u64),
            "svc-d",
            "insufficient-scope",
            "prod",
            "PATCH",
            "/v1/orders/19/",
            "Deny",
            403,
        ),
        (
            "t-5",
            serde_json::json!(1_788_747_020_500_u64),
            "svc-e",
            "Valid",
            "PROD",
            "Get",
            "/v1/orders",
            "ALLOW",
            204,
        ),
    ];
    rows.into_iter()
        .map(
            |(
                test_id,
                executed_at,
                identity,
                state,
                environment,
                method,
                endpoint,
                expected,
                status,
            )| {
                serde_json::json!({
                    "Test_ID": test_id,
                    "EXECUTED_AT": executed_at,
                    "identity": identity,
                    "Credential_State": state,
                    "environment": environment,
                    "Service": "orders-api",
                    "METHOD": method,
                    "Endpoint": endpoint,
                    "Expected": expected,
                    "status_code": status,
                    "notes": {"nested": [1, 2]},
                })
                .to_string()
            },
        )
        .collect()
}

/// Builds the samples as Parquet, with `Executed_At` a Parquet timestamp
/// (milliseconds) and `Status_Code` an integer column.
fn sample_parquet() -> Vec<u8> {
    let text = |name: &str, values: [&str; 5]| Column::from(Series::new(name.into(), &values));
    let executed_at: Vec<i64> = SAMPLES
        .iter()
        .map(|sample| ts(sample.executed_at).0)
        .collect();
    let executed_at = Series::new("Executed_At".into(), &executed_at)
        .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
        .unwrap();
    let status_code: Vec<i32> = SAMPLES
        .iter()
        .map(|sample| i32::from(sample.status_code))
        .collect();
    let columns = vec![
        text("Test_ID", ["t-1", "t-2", "t-3", "t-4", "t-5"]),
        Column::from(executed_at),
        text("IDENTITY", ["svc-a", "svc-b", "svc-c", "svc-d", "svc-e"]),
        text(
            "credential_state",
            [
                "valid",
                "Wrong-Audience",
                "EXPIRED",
                "insufficient-scope",
                "Valid",
            ],
        ),
        text("Environment", ["Prod", "prod", "staging", "prod", "PROD"]),
        text("service", ["orders-api"; 5]),
        text("Method", ["get", "POST", "delete", "PATCH", "Get"]),
        text(
            "endpoint",
            [
                "/v1/orders/17/?page=2",
                "/v1/orders/",
                "/v1/orders/18?force=true",
                "/v1/orders/19/",
                "/v1/orders",
            ],
        ),
        text("Expected", ["allow", "DENY", "deny", "Deny", "ALLOW"]),
        Column::from(Series::new("Status_Code".into(), &status_code)),
        text("notes", ["first", "", "", "", ""]),
    ];
    parquet_bytes(columns)
}

fn parquet_bytes(columns: Vec<Column>) -> Vec<u8> {
    let mut frame = DataFrame::new_infer_height(columns).unwrap();
    let mut bytes = Vec::new();
    ParquetWriter::new(&mut bytes).finish(&mut frame).unwrap();
    bytes
}

/// One way to write the samples: file extension, format the reader must
/// detect, the file's bytes, how many samples it contains, and the line (or
/// record number) of the first. Later samples follow one per line or record.
struct Layout {
    name: &'static str,
    extension: &'static str,
    format: Format,
    bytes: Vec<u8>,
    records: usize,
    first_line: u64,
}

fn layouts() -> Vec<Layout> {
    let records = sample_records();
    let lines = format!("{}\n", records.join("\n"));
    let array = format!("[\n{}\n]\n", records.join(",\n"));
    let wrapped = format!(
        "{{\"count\": 5, \"next\": null, \"records\": [\n{}\n]}}\n",
        records.join(",\n")
    );
    vec![
        Layout {
            name: "CSV",
            extension: "csv",
            format: Format::Csv,
            bytes: SAMPLE_CSV.as_bytes().to_vec(),
            records: 5,
            first_line: 2,
        },
        Layout {
            name: "JSON Lines (.jsonl)",
            extension: "jsonl",
            format: Format::JsonLines,
            bytes: lines.clone().into_bytes(),
            records: 5,
            first_line: 1,
        },
        Layout {
            name: "JSON Lines (.ndjson)",
            extension: "ndjson",
            format: Format::JsonLines,
            bytes: lines.replace('\n', "\r\n").into_bytes(),
            records: 5,
            first_line: 1,
        },
        Layout {
            name: "JSON array",
            extension: "json",
            format: Format::Json,
            bytes: array.into_bytes(),
            records: 5,
            first_line: 2,
        },
        Layout {
            name: "object holding one array",
            extension: "json",
            format: Format::Json,
            bytes: wrapped.into_bytes(),
            records: 5,
            first_line: 2,
        },
        Layout {
            name: "single JSON object",
            extension: "json",
            format: Format::Json,
            bytes: records[0].clone().into_bytes(),
            records: 1,
            first_line: 1,
        },
        Layout {
            name: "JSON Lines in a .json file",
            extension: "json",
            format: Format::Json,
            bytes: lines.into_bytes(),
            records: 5,
            first_line: 1,
        },
        Layout {
            name: "Parquet",
            extension: "parquet",
            format: Format::Parquet,
            bytes: sample_parquet(),
            records: 5,
            first_line: 1,
        },
    ]
}

/// Checks that `tests` are the first `count` samples, read from lines (or
/// records) `first_line`, `first_line + 1`, ….
fn assert_samples(case: &str, tests: &[TestResult], count: usize, first_line: u64) {
    assert_eq!(tests.len(), count, "{case}: number of tests read");
    for (index, (test, sample)) in tests.iter().zip(&SAMPLES).enumerate() {
        let id = sample.test_id;
        assert_eq!(test.test_id, id, "{case}: test_id");
        assert_eq!(
            test.executed_at,
            ts(sample.executed_at),
            "{case}: {id} executed_at, read {}",
            test.executed_at
        );
        assert_eq!(test.identity, sample.identity, "{case}: {id} identity");
        assert_eq!(
            test.credential_state, sample.credential_state,
            "{case}: {id} credential_state"
        );
        assert_eq!(
            test.environment, sample.environment,
            "{case}: {id} environment"
        );
        assert_eq!(test.service, "orders-api", "{case}: {id} service");
        assert_eq!(test.method, sample.method, "{case}: {id} method");
        assert_eq!(test.endpoint, sample.endpoint, "{case}: {id} endpoint");
        assert_eq!(test.expected, sample.expected, "{case}: {id} expected");
        assert_eq!(
            test.status_code, sample.status_code,
            "{case}: {id} status_code"
        );
        assert_eq!(
            test.origin.line,
            first_line + index as u64,
            "{case}: {id} line or record number"
        );
    }
}

#[test]
fn every_format_and_compression_reads() {
    let dir = tempfile::tempdir().unwrap();
    for layout in layouts() {
        for (compression, suffix) in COMPRESSIONS {
            let case = format!("{} {compression:?}", layout.name);
            let name = format!(
                "{}/results.{}{suffix}",
                layout.name.replace([' ', '(', ')', '.'], "_"),
                layout.extension
            );
            let raw = compress(&layout.bytes, compression);
            let path = write(dir.path(), &name, &raw);

            let outcome =
                read_tests(&[&path]).unwrap_or_else(|error| panic!("{case}: read failed: {error}"));
            assert!(outcome.rejects.is_empty(), "{case}: {:#?}", outcome.rejects);
            assert_eq!(outcome.files.len(), 1, "{case}: files");
            let file = outcome.files[0].clone();
            assert_eq!(file.format, layout.format, "{case}: detected format");
            assert_eq!(file.compression, compression, "{case}: compression");
            assert_eq!(file.rows_read, layout.records as u64, "{case}: rows_read");
            assert_eq!(file.rows_rejected, 0, "{case}: rows_rejected");
            assert_eq!(file.bytes, raw.len() as u64, "{case}: bytes");
            assert_eq!(
                file.sha256,
                hex::encode(Sha256::digest(&raw)),
                "{case}: sha256 of the file as stored"
            );
            assert_samples(
                &case,
                &sorted_tests(outcome),
                layout.records,
                layout.first_line,
            );
        }
    }
}

#[test]
fn folder_reads_every_supported_file() {
    let dir = tempfile::tempdir().unwrap();
    let records = sample_records();
    write(dir.path(), "in/a.csv", SAMPLE_CSV.as_bytes());
    write(
        dir.path(),
        "in/b.jsonl.gz",
        &gzip(format!("{}\n", records.join("\n")).as_bytes()),
    );
    write(dir.path(), "in/c.parquet.zst", &zstd(&sample_parquet()));
    write(dir.path(), "in/notes.txt", b"not an input");
    write(
        dir.path(),
        "in/nested/d.ndjson",
        format!("{}\n", records.join("\n")).as_bytes(),
    );

    let outcome = read_tests(&[&dir.path().join("in")]).unwrap();
    let names: Vec<String> = outcome
        .files
        .iter()
        .map(|file| file.path.rsplit('/').next().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        ["a.csv", "b.jsonl.gz", "c.parquet.zst", "d.ndjson"],
        "files read, sorted by path"
    );
    assert!(outcome.rejects.is_empty(), "{:#?}", outcome.rejects);
    assert_eq!(outcome.data.tests.len(), 20);
}

#[test]
fn glob_reads_matching_files() {
    let dir = tempfile::tempdir().unwrap();
    let records = sample_records();
    write(dir.path(), "a.csv", SAMPLE_CSV.as_bytes());
    write(
        dir.path(),
        "b.jsonl.zst",
        &zstd(format!("{}\n", records.join("\n")).as_bytes()),
    );
    write(dir.path(), "c.csv", SAMPLE_CSV.as_bytes());
    write(dir.path(), "b.txt", b"not an input");

    let glob = dir.path().join("[ab].*");
    let outcome = read_tests(&[&glob]).unwrap();
    let names: Vec<String> = outcome
        .files
        .iter()
        .map(|file| file.path.rsplit('/').next().unwrap().to_string())
        .collect();
    assert_eq!(names, ["a.csv", "b.jsonl.zst"]);
    assert_eq!(outcome.files[1].format, Format::JsonLines);
    assert_eq!(outcome.files[1].compression, Compression::Zstd);
    assert_eq!(outcome.data.tests.len(), 10);
}

#[test]
fn json_files_with_byte_order_mark_read() {
    let dir = tempfile::tempdir().unwrap();
    let records = sample_records();
    let lines = write(
        dir.path(),
        "bom.jsonl",
        format!("\u{feff}{}\n", records.join("\n")).as_bytes(),
    );
    let array = write(
        dir.path(),
        "bom.json",
        format!("\u{feff}[{}]", records.join(",")).as_bytes(),
    );

    let outcome = read_tests(&[&lines]).unwrap();
    assert!(outcome.rejects.is_empty(), "{:#?}", outcome.rejects);
    assert_samples("JSON Lines with BOM", &sorted_tests(outcome), 5, 1);
    let outcome = read_tests(&[&array]).unwrap();
    assert!(outcome.rejects.is_empty(), "{:#?}", outcome.rejects);
    assert_eq!(outcome.data.tests.len(), 5);
}

#[test]
fn json_object_with_array_member_is_one_record() {
    let dir = tempfile::tempdir().unwrap();
    let record = serde_json::json!({
        "test_id": "t-1",
        "executed_at": "2026-09-07T02:10:00Z",
        "identity": "svc-a",
        "credential_state": "valid",
        "method": "GET",
        "endpoint": "/v1/orders",
        "expected": "allow",
        "status_code": 200,
        "tags": ["smoke", "authz"],
    });
    let path = write(dir.path(), "one.json", record.to_string().as_bytes());

    let outcome = read_tests(&[&path]).unwrap();
    assert!(outcome.rejects.is_empty(), "{:#?}", outcome.rejects);
    assert_eq!(outcome.data.tests.len(), 1);
    assert_eq!(outcome.data.tests[0].test_id, "t-1");
}

#[test]
fn logs_normalise_decisions_and_paths() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(
        dir.path(),
        "gateway.csv",
        b"Event_Time,IDENTITY,Service,method,Endpoint,Decision,Status_Code,Environment,request_id
2026-09-07T02:10:00Z,svc-a,orders-api,get,/v1/orders/17/?page=2,DENY,,Prod,req-1
2026-09-07T04:10:00+02:00,svc-a,orders-api,GET,/v1/orders/17,,403,prod,req-2
2026-09-07T02:10:00,svc-a,orders-api,GET,/v1/orders/18,,503,prod,req-3
1788747015,svc-a,orders-api,GET,/v1/orders/19/,Allow,200,prod,req-4
2026-08-07T02:10:00Z,svc-a,orders-api,GET,/v1/orders/19/,allow,200,prod,req-5
",
    );
    let jsonl = write(
        dir.path(),
        "gateway.jsonl",
        br#"{"event_time":1788747020500,"identity":"svc-a","service":"orders-api","action":"orders:list","status_code":200,"environment":"prod"}
{"event_time":"2026-09-07T02:10:30Z","identity":"svc-a","service":"orders-api","action":"orders:list","decision":"allowed","environment":"prod"}
"#,
    );
    let context = log_context();
    let outcome = read_inputs(InputKind::Logs, &patterns(&[&csv, &jsonl]), &|| {
        LogAccumulator::new(&context)
    })
    .unwrap();
    assert!(outcome.rejects.is_empty(), "{:#?}", outcome.rejects);
    assert_eq!(
        outcome.files[0].rows_read, 5,
        "CSV rows, outside the window too"
    );
    assert_eq!(outcome.files[1].rows_read, 2, "JSON Lines rows");

    let access = outcome.data.finish();
    assert_eq!(access.events_in_window, 6);
    assert_eq!(access.events_outside_window, 1);
    let rows: Vec<(String, String, String, Decision, u64, Timestamp, Timestamp)> = access
        .rows
        .iter()
        .map(|(key, stats)| {
            (
                key.environment.clone(),
                key.method.clone(),
                format!("{}{}", key.endpoint, key.action),
                key.decision,
                stats.count,
                stats.first,
                stats.last,
            )
        })
        .collect();
    let row = |method: &str, operation: &str, decision, count, first, last| {
        (
            "prod".to_string(),
            method.to_string(),
            operation.to_string(),
            decision,
            count,
            ts(first),
            ts(last),
        )
    };
    assert_eq!(
        rows,
        vec![
            row(
                "",
                "orders:list",
                Decision::Allow,
                2,
                "2026-09-07T02:10:20.500Z",
                "2026-09-07T02:10:30Z"
            ),
            row(
                "GET",
                "/v1/orders/{id}",
                Decision::Allow,
                1,
                "2026-09-07T02:10:15Z",
                "2026-09-07T02:10:15Z"
            ),
            row(
                "GET",
                "/v1/orders/{id}",
                Decision::Deny,
                2,
                "2026-09-07T02:10:00Z",
                "2026-09-07T02:10:00Z"
            ),
            row(
                "GET",
                "/v1/orders/{id}",
                Decision::Other,
                1,
                "2026-09-07T02:10:00Z",
                "2026-09-07T02:10:00Z"
            ),
        ]
    );
    let denied: Vec<(&str, &str)> = access
        .denied
        .iter()
        .map(|event| (event.endpoint.as_str(), event.request_id.as_str()))
        .collect();
    assert_eq!(
        denied,
        [("/v1/orders/17", "req-1"), ("/v1/orders/17", "req-2")]
    );
}

#[test]
fn entitlements_normalise_enums_and_times() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "grants.csv",
        b"IDENTITY,Identity_Type,Owner,Consumers,Environment,Service,Action,Method,Endpoint,Status,Revoked_At,Credential_Expires_At
svc-a,Service-Account,team-a, billing ; reports ,Prod,orders-api,,\"get,head\",/v1/orders/{id}/,REVOKED,2026-10-01T12:00:00+02:00,1788747015
",
    );
    let outcome = read_entitlements(&[&path]).unwrap();
    assert!(outcome.rejects.is_empty(), "{:#?}", outcome.rejects);
    let row = &outcome.data.rows[0];
    assert_eq!(row.identity, "svc-a");
    assert_eq!(row.identity_type, Some(IdentityType::ServiceAccount));
    assert_eq!(row.consumers, ["billing", "reports"]);
    assert_eq!(row.environment, "prod");
    assert_eq!(row.method, "GET,HEAD");
    assert_eq!(row.status, Some(GrantStatus::Revoked));
    assert_eq!(row.revoked_at, Some(ts("2026-10-01T10:00:00Z")));
    assert_eq!(row.credential_expires_at, Some(ts("2026-09-07T02:10:15Z")));
}

// ---------------------------------------------------------------------------
// Malformed input: every record is read or rejected, never dropped

/// Checks a file's counts in the outcome against its records.
fn assert_counts<A>(outcome: &ReadOutcome<A>, rows_read: u64, rows_rejected: u64) {
    let file = &outcome.files[0];
    assert_eq!(file.rows_read, rows_read, "rows_read of {}", file.path);
    assert_eq!(
        file.rows_rejected, rows_rejected,
        "rows_rejected of {}",
        file.path
    );
    assert_eq!(
        outcome.rejects.len() as u64,
        rows_rejected,
        "rejects listed for {}",
        file.path
    );
}

#[test]
fn csv_cut_mid_row_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    // Cut inside `auth_path`, after every required column, so only the field
    // count shows the row is incomplete.
    let cut = "t-3,2026-09-07T02:10:10Z,svc-c,,valid,prod,orders-api,GET,/v1/orders,,allow,200,oau";
    let text = format!(
        "{TEST_HEADER}{}{}{cut}",
        test_row(
            "t-1",
            "2026-09-07T02:10:00Z",
            "svc-a",
            "valid",
            "GET",
            "allow"
        ),
        test_row(
            "t-2",
            "2026-09-07T02:10:05Z",
            "svc-b",
            "valid",
            "GET",
            "allow"
        ),
    );
    let path = write(dir.path(), "cut.csv", text.as_bytes());

    let outcome = read_tests(&[&path]).unwrap();
    assert_counts(&outcome, 2, 1);
    let reject = only_reject(&outcome);
    assert_eq!(&*reject.file, path.display().to_string());
    assert_eq!(reject.line, Some(4));
    assert_eq!(reject.record, 3);
    assert_eq!(reject.column, "");
    assert!(
        reject.reason.contains("13 fields") && reject.reason.contains("17"),
        "{}",
        reject.reason
    );
    assert_eq!(
        reject.value,
        format!("{}…", &cut[..80]),
        "the row, cut to 80 characters"
    );
}

#[test]
fn csv_cut_inside_quoted_value_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{TEST_HEADER}{}t-2,2026-09-07T02:10:05Z,svc-b,,valid,prod,orders-api,GET,/v1/orders,,allow,200,oauth2,\"{{\"\"id\"\":15",
        test_row(
            "t-1",
            "2026-09-07T02:10:00Z",
            "svc-a",
            "valid",
            "GET",
            "allow"
        ),
    );
    let path = write(dir.path(), "cut.csv", text.as_bytes());

    let outcome = read_tests(&[&path]).unwrap();
    assert_counts(&outcome, 1, 1);
    let reject = only_reject(&outcome);
    assert_eq!(reject.line, Some(3));
    assert_eq!(reject.record, 2);
    assert!(reject.reason.contains("14 fields"), "{}", reject.reason);
    assert!(reject.value.starts_with("t-2,"), "{}", reject.value);
}

#[test]
fn csv_row_with_extra_values_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{TEST_HEADER}{}{}",
        test_row(
            "t-1",
            "2026-09-07T02:10:00Z",
            "svc-a",
            "valid",
            "GET",
            "allow"
        ),
        // An unquoted comma inside a value shifts every later column.
        test_row(
            "t-2",
            "2026-09-07T02:10:05Z",
            "svc-b, team b",
            "valid",
            "GET",
            "allow"
        ),
    );
    let path = write(dir.path(), "extra.csv", text.as_bytes());

    let outcome = read_tests(&[&path]).unwrap();
    assert_counts(&outcome, 1, 1);
    let reject = only_reject(&outcome);
    assert_eq!(reject.line, Some(3));
    assert!(reject.reason.contains("18 fields"), "{}", reject.reason);
}

#[test]
fn jsonl_cut_mid_object_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let cut = r#"{"test_id":"t-3","executed_at":"2026-09-07T02:1"#;
    let text = format!(
        "{}{}{cut}",
        test_line("t-1", "2026-09-07T02:10:00Z"),
        test_line("t-2", "2026-09-07T02:10:05Z"),
    );
    let path = write(dir.path(), "cut.jsonl", text.as_bytes());

    let outcome = read_tests(&[&path]).unwrap();
    assert_counts(&outcome, 2, 1);
    let reject = only_reject(&outcome);
    assert_eq!(&*reject.file, path.display().to_string());
    assert_eq!(reject.line, Some(3));
    assert_eq!(reject.record, 3);
    assert_eq!(reject.column, "");
    assert!(
        reject.reason.starts_with("invalid JSON"),
        "{}",
        reject.reason
    );
    assert!(reject.reason.contains("EOF"), "{}", reject.reason);
    assert!(
        !reject.reason.contains("line 1 "),
        "the reason must not give a line inside the record: {}",
        reject.reason
    );
    assert_eq!(reject.value, cut);
}

#[test]
fn json_array_cut_mid_array_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let records = sample_records();
    let cut = &records[2][..40];
    for (name, prefix) in [
        ("array.json", "[\n"),
        ("wrapped.json", "{\"next\": null,\n\"records\": [\n"),
    ] {
        let text = format!("{prefix}{},\n{},\n{cut}", records[0], records[1]);
        let path = write(dir.path(), name, text.as_bytes());
        let last_line = text.lines().count() as u64;

        let outcome = read_tests(&[&path]).unwrap();
        assert_counts(&outcome, 2, 1);
        let reject = only_reject(&outcome);
        assert_eq!(reject.line, Some(last_line), "{name}: line");
        assert_eq!(reject.record, 3, "{name}: record");
        assert_eq!(reject.column, "", "{name}: column");
        assert!(
            reject.reason.contains("EOF") && reject.reason.contains(&format!("line {last_line}")),
            "{name}: {}",
            reject.reason
        );
        assert_eq!(reject.value, cut, "{name}: value");
    }
}

/// Writes `count` JSON Lines test results.
fn many_test_lines(count: usize) -> String {
    (0..count)
        .map(|index| test_line(&format!("t-{index:05}"), "2026-09-07T02:10:00Z"))
        .collect()
}

#[test]
fn gzip_cut_in_half_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let lines = many_test_lines(2000);
    for name in ["cut.jsonl.gz", "lines-in.json.gz"] {
        let full = gzip(lines.as_bytes());
        let half = &full[..full.len() / 2];
        let path = write(dir.path(), name, half);
        let decoded = gunzip_prefix(half);
        let complete = decoded.iter().filter(|&&b| b == b'\n').count() as u64;
        let partial = &decoded[decoded.iter().rposition(|&b| b == b'\n').unwrap() + 1..];
        assert!(
            complete > 100,
            "{name}: the test needs a real prefix, got {complete} lines"
        );

        let outcome = read_tests(&[&path]).unwrap();
        assert_counts(&outcome, complete, 1);
        let reject = only_reject(&outcome);
        assert_eq!(reject.line, Some(complete + 1), "{name}: line");
        assert_eq!(reject.record, complete + 1, "{name}: record");
        assert!(
            reject.reason.contains("truncated"),
            "{name}: {}",
            reject.reason
        );
        let partial = String::from_utf8_lossy(partial);
        let expected_start: String = partial.chars().take(20).collect();
        assert!(
            reject.value.starts_with(&expected_start),
            "{name}: value `{}` should start with `{expected_start}`",
            reject.value
        );
        assert_eq!(outcome.files[0].bytes, half.len() as u64, "{name}: bytes");
    }
}

#[test]
fn gzip_json_array_cut_in_half_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let records: Vec<String> = many_test_lines(2000).lines().map(str::to_string).collect();
    let full = gzip(format!("[\n{}\n]\n", records.join(",\n")).as_bytes());
    let half = &full[..full.len() / 2];
    let path = write(dir.path(), "cut.json.gz", half);
    let decoded = gunzip_prefix(half);
    // Each record is one flat object, so each `}` ends one complete record.
    let complete = decoded.iter().filter(|&&b| b == b'}').count() as u64;
    assert!(
        complete > 100,
        "the test needs a real prefix, got {complete} records"
    );

    let outcome = read_tests(&[&path]).unwrap();
    assert_counts(&outcome, complete, 1);
    let reject = only_reject(&outcome);
    assert_eq!(reject.record, complete + 1);
    assert_eq!(
        reject.line,
        Some(complete + 2),
        "the record's line, after the `[` line"
    );
    assert!(reject.reason.contains("truncated"), "{}", reject.reason);
    let last = decoded.iter().rposition(|&b| b == b'}').unwrap();
    let partial = String::from_utf8_lossy(&decoded[last + 1..]);
    let expected_start: String = partial
        .trim_start_matches([',', '\n'])
        .chars()
        .take(20)
        .collect();
    assert!(
        reject.value.starts_with(&expected_start),
        "value `{}` should start with `{expected_start}`",
        reject.value
    );
}

#[test]
fn gzip_csv_cut_in_half_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let rows: String = (0..2000)
        .map(|index| {
            test_row(
                &format!("t-{index:05}"),
                "2026-09-07T02:10:00Z",
                "svc-a",
                "valid",
                "GET",
                "allow",
            )
        })
        .collect();
    let full = gzip(format!("{TEST_HEADER}{rows}").as_bytes());
    let half = &full[..full.len() / 2];
    let path = write(dir.path(), "cut.csv.gz", half);
    let decoded = gunzip_prefix(half);
    let complete = decoded.iter().filter(|&&b| b == b'\n').count() as u64;

    let outcome = read_tests(&[&path]).unwrap();
    assert_counts(&outcome, complete - 1, 1);
    let reject = only_reject(&outcome);
    assert_eq!(reject.line, Some(complete + 1));
    assert_eq!(reject.record, complete);
    assert!(reject.reason.contains("truncated"), "{}", reject.reason);
}

#[test]
fn zstd_cut_in_half_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let full = zstd(many_test_lines(2000).as_bytes());
    let path = write(dir.path(), "cut.ndjson.zst", &full[..full.len() / 2]);

    let outcome = read_tests(&[&path]).unwrap();
    let file = &outcome.files[0];
    assert_eq!(file.rows_rejected, 1, "{:#?}", outcome.rejects);
    assert!(
        file.rows_read > 0,
        "the complete lines before the cut are read"
    );
    assert!(file.rows_read < 2000);
    let reject = only_reject(&outcome);
    assert_eq!(reject.line, Some(file.rows_read + 1));
    assert!(reject.reason.contains("truncated"), "{}", reject.reason);
}

#[test]
fn bad_values_are_rejected_with_column() {
    let dir = tempfile::tempdir().unwrap();
    let long = "x".repeat(300);
    let jwt = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzdmMtYSJ9.c2lnbmF0dXJlLWZha2U";
    let text = format!(
        "{TEST_HEADER}{}{}{}{}{}{}{}{}",
        test_row("t-1", "yesterday", "svc-a", "valid", "GET", "allow"),
        test_row("t-2", &long, "svc-a", "valid", "GET", "allow"),
        test_row("t-3", jwt, "svc-a", "valid", "GET", "allow"),
        test_row(
            "t-4",
            "2026-09-07T02:10:00Z",
            "svc-a",
            "stolen",
            "GET",
            "allow"
        ),
        test_row("t-5", "2026-09-07T02:10:00Z", "svc-a", "valid", "", "allow"),
        test_row("t-6", "2026-09-07T02:10:00Z", "", "valid", "GET", "allow"),
        test_row("t-7", "2026-09-07T02:10:00Z", "", "missing", "GET", "deny"),
        test_row(
            "t-8",
            "2026-09-07T02:10:00Z",
            "svc-a",
            "valid",
            "GET",
            "maybe"
        ),
    );
    let path = write(dir.path(), "bad.csv", text.as_bytes());

    let outcome = read_tests(&[&path]).unwrap();
    assert_counts(&outcome, 1, 7);
    assert_eq!(
        outcome.data.tests[0].test_id, "t-7",
        "empty identity is allowed for `missing`"
    );
    let by_line = |line: u64| {
        outcome
            .rejects
            .iter()
            .find(|reject| reject.line == Some(line))
            .unwrap_or_else(|| panic!("no reject on line {line}: {:#?}", outcome.rejects))
    };

    let reject = by_line(2);
    assert_eq!(reject.column, "executed_at");
    assert!(
        reject.reason.starts_with("invalid timestamp"),
        "{}",
        reject.reason
    );
    assert!(
        !reject
            .reason
            .contains("invalid timestamp: invalid timestamp"),
        "{}",
        reject.reason
    );
    assert_eq!(reject.value, "yesterday");

    let reject = by_line(3);
    assert_eq!(reject.column, "executed_at");
    assert_eq!(
        reject.value.chars().count(),
        81,
        "cut to 80 characters and `…`"
    );
    assert!(reject.value.ends_with('…'));
    assert!(
        !reject.reason.contains("xxxxxxxxxx"),
        "the reason leaves the value to `value`: {}",
        reject.reason
    );

    let reject = by_line(4);
    assert!(
        reject.value.contains("[REDACTED:secret]"),
        "{}",
        reject.value
    );
    assert!(
        !reject.reason.contains("eyJ"),
        "a secret in the value must not leak through the reason: {}",
        reject.reason
    );

    let reject = by_line(5);
    assert_eq!(reject.column, "credential_state");
    assert!(
        reject.reason.contains("unknown value") && reject.reason.contains("wrong_audience"),
        "{}",
        reject.reason
    );
    assert_eq!(reject.value, "stolen");

    let reject = by_line(6);
    assert_eq!(reject.column, "method");
    assert_eq!(reject.reason, "missing required value");
    assert_eq!(reject.value, "");

    let reject = by_line(7);
    assert_eq!(reject.column, "identity");
    assert_eq!(reject.reason, "missing required value");

    let reject = by_line(9);
    assert_eq!(reject.column, "expected");
    assert_eq!(reject.value, "maybe");
}

#[test]
fn json_wrong_type_is_rejected_with_value() {
    let dir = tempfile::tempdir().unwrap();
    let mut nested: serde_json::Value =
        serde_json::from_str(&test_line("t-2", "2026-09-07T02:10:00Z")).unwrap();
    nested["identity"] = serde_json::json!({"name": "svc-a"});
    let mut listed: serde_json::Value =
        serde_json::from_str(&test_line("t-3", "2026-09-07T02:10:00Z")).unwrap();
    listed["Status_Code"] = serde_json::json!([200, 201]);
    listed.as_object_mut().unwrap().remove("status_code");
    let text = format!(
        "{}{nested}\n{listed}\n",
        test_line("t-1", "2026-09-07T02:10:00Z")
    );
    let path = write(dir.path(), "types.jsonl", text.as_bytes());

    let outcome = read_tests(&[&path]).unwrap();
    assert_counts(&outcome, 1, 2);
    let reject = &outcome.rejects[0];
    assert_eq!(reject.line, Some(2));
    assert_eq!(reject.column, "identity");
    assert!(
        reject.reason.contains("found an object or array"),
        "{}",
        reject.reason
    );
    assert_eq!(reject.value, r#"{"name":"svc-a"}"#);
    let reject = &outcome.rejects[1];
    assert_eq!(reject.line, Some(3));
    assert_eq!(reject.column, "status_code");
    assert_eq!(reject.value, "[200,201]");
}

#[test]
fn invalid_utf8_csv_cell_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = format!(
        "{TEST_HEADER}{}",
        test_row(
            "t-1",
            "2026-09-07T02:10:00Z",
            "svc-a",
            "valid",
            "GET",
            "allow"
        )
    )
    .into_bytes();
    bytes.extend_from_slice(b"t-2,2026-09-07T02:10:00Z,svc-\xff\xfeb,,valid,prod,orders-api,GET,/v1/orders,,allow,200,oauth2,,,,\n");
    let path = write(dir.path(), "latin1.csv", &bytes);

    let outcome = read_tests(&[&path]).unwrap();
    assert_counts(&outcome, 1, 1);
    let reject = only_reject(&outcome);
    assert_eq!(reject.line, Some(3));
    assert_eq!(reject.column, "identity");
    assert!(reject.reason.contains("invalid UTF-8"), "{}", reject.reason);
    assert_eq!(reject.value, "svc-\u{fffd}\u{fffd}b");
}

#[test]
fn invalid_utf8_json_line_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = test_line("t-1", "2026-09-07T02:10:00Z").into_bytes();
    bytes.extend_from_slice(b"{\"test_id\":\"t-2\",\"identity\":\"svc-\xffb\"}\n");
    bytes.extend_from_slice(test_line("t-3", "2026-09-07T02:10:00Z").as_bytes());
    let path = write(dir.path(), "latin1.jsonl", &bytes);

    let outcome = read_tests(&[&path]).unwrap();
    assert_counts(&outcome, 2, 1);
    let reject = only_reject(&outcome);
    assert_eq!(reject.line, Some(2));
    assert!(
        reject.reason.starts_with("invalid JSON"),
        "{}",
        reject.reason
    );
    assert!(reject.reason.contains("unicode"), "{}", reject.reason);
    assert!(
        reject.value.starts_with("{\"test_id\":\"t-2\""),
        "{}",
        reject.value
    );
    assert!(reject.value.contains('\u{fffd}'), "{}", reject.value);
}

#[test]
fn empty_files_read_as_no_rows() {
    let dir = tempfile::tempdir().unwrap();
    let header_only = write(dir.path(), "header-only.csv", TEST_HEADER.as_bytes());
    for path in [
        write(dir.path(), "empty.csv", b""),
        write(dir.path(), "empty.jsonl", b""),
        write(dir.path(), "empty.json", b""),
        write(dir.path(), "empty.csv.gz", &gzip(b"")),
        write(dir.path(), "empty.jsonl.zst", &zstd(b"")),
        write(dir.path(), "zero-bytes.jsonl.gz", b""),
        write(dir.path(), "zero-bytes.csv.zst", b""),
        write(dir.path(), "blank.jsonl", b"\n  \r\n\n"),
        header_only,
    ] {
        let outcome =
            read_tests(&[&path]).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        assert_eq!(outcome.files.len(), 1, "{} is listed", path.display());
        assert_counts(&outcome, 0, 0);
        assert!(outcome.data.tests.is_empty());
    }
}

/// Checks a missing-column error: it names the file, the missing column and a
/// column that is present.
fn assert_missing_column(error: Error, path: &Path, missing: &str, present: &str) {
    let message = error.to_string();
    let Error::MissingColumns {
        path: error_path,
        missing: error_missing,
        present: error_present,
        ..
    } = error
    else {
        panic!("expected a missing-column error, got: {message}");
    };
    assert_eq!(error_path, path.display().to_string(), "{message}");
    assert!(error_missing.contains(missing), "{message}");
    assert!(error_present.contains(present), "{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");
}

#[test]
fn missing_required_column_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(
        dir.path(),
        "no-method.csv",
        b"test_id,executed_at,identity,credential_state,endpoint,expected,status_code\n",
    );
    let mut record: serde_json::Value =
        serde_json::from_str(&test_line("t-1", "2026-09-07T02:10:00Z")).unwrap();
    record.as_object_mut().unwrap().remove("method");
    let jsonl = write(
        dir.path(),
        "no-method.jsonl",
        format!("{record}\n").as_bytes(),
    );
    let json = write(
        dir.path(),
        "no-method.json",
        format!("[{record}]").as_bytes(),
    );
    let parquet = write(
        dir.path(),
        "no-method.parquet",
        &parquet_bytes(vec![
            Column::from(Series::new("test_id".into(), &["t-1"])),
            Column::from(Series::new("executed_at".into(), &["2026-09-07T02:10:00Z"])),
            Column::from(Series::new("identity".into(), &["svc-a"])),
            Column::from(Series::new("credential_state".into(), &["valid"])),
            Column::from(Series::new("endpoint".into(), &["/v1/orders"])),
            Column::from(Series::new("expected".into(), &["allow"])),
            Column::from(Series::new("status_code".into(), &[200i64])),
        ]),
    );

    for path in [csv, jsonl, json, parquet] {
        let error = read_tests(&[&path]).unwrap_err();
        assert_missing_column(error, &path, "`method`", "`test_id`");
    }
}

// ---------------------------------------------------------------------------
// Rejects in the main job

#[test]
fn strict_rejects_fail_and_write_nothing() {
    let mut scenario = Scenario::new();
    scenario.tests(
        "tests.csv",
        &format!(
            "{TEST_HEADER}{}{}",
            test_row(
                "t-1",
                "2026-09-07T02:10:00Z",
                "svc-a",
                "valid",
                "GET",
                "allow"
            ),
            test_row("t-2", "not a time", "svc-a", "valid", "GET", "allow"),
        ),
    );
    scenario.config.strict = true;

    let error = scenario.run().unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, Error::StrictRejects { rejected: 1, .. }),
        "{message}"
    );
    assert!(message.contains("tests.csv:3"), "{message}");
    assert!(message.contains("executed_at"), "{message}");
    for name in [
        "findings.jsonl",
        "findings.csv",
        "rejects.csv",
        "manifest.json",
    ] {
        assert!(
            !scenario.out().join(name).exists(),
            "{name} was written despite --strict"
        );
    }
}

#[test]
fn rejects_reach_rejects_csv_and_manifest() {
    let mut scenario = Scenario::new();
    scenario.tests(
        "tests.csv",
        &format!(
            "{TEST_HEADER}{}{}",
            test_row(
                "t-1",
                "2026-09-07T02:10:00Z",
                "svc-a",
                "valid",
                "GET",
                "allow"
            ),
            test_row("t-2", "not a time", "svc-a", "valid", "GET", "allow"),
        ),
    );

    let report = scenario.run().unwrap();
    assert_eq!(report.rejects, 1);
    let rejects = std::fs::read_to_string(scenario.out().join("rejects.csv")).unwrap();
    let lines: Vec<&str> = rejects.lines().collect();
    assert_eq!(lines.len(), 2, "{rejects}");
    assert!(lines[1].contains("tests.csv,3,2,executed_at,"), "{rejects}");
    assert!(lines[1].ends_with(",not a time"), "{rejects}");
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(scenario.out().join("manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["inputs"][0]["rows_read"], 1);
    assert_eq!(manifest["inputs"][0]["rows_rejected"], 1);
    assert_eq!(manifest["rows"]["rows_rejected"], 1);
}

// ---------------------------------------------------------------------------
// Finding ids do not depend on row order

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo")
}

/// A small deterministic generator, so a failing shuffle can be replayed.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % bound as u64) as usize
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for index in (1..items.len()).rev() {
            items.swap(index, self.below(index + 1));
        }
    }
}

/// Copies a CSV file with its data rows shuffled and the header kept first.
fn shuffle_csv(from: &Path, to: &Path, random: &mut XorShift) {
    let mut reader = csv::Reader::from_path(from).unwrap();
    let header = reader.byte_headers().unwrap().clone();
    let mut records: Vec<csv::ByteRecord> = reader.byte_records().map(Result::unwrap).collect();
    random.shuffle(&mut records);
    let mut writer = csv::Writer::from_path(to).unwrap();
    writer.write_byte_record(&header).unwrap();
    for record in &records {
        writer.write_byte_record(record).unwrap();
    }
    writer.flush().unwrap();
}

fn shuffle_lines(text: &str, random: &mut XorShift) -> String {
    let mut lines: Vec<&str> = text.lines().filter(|line| !line.is_empty()).collect();
    random.shuffle(&mut lines);
    lines.iter().map(|line| format!("{line}\n")).collect()
}

/// Writes the demo inputs with every file's rows shuffled into `to`.
fn shuffled_demo(to: &Path, seed: u64) {
    let mut random = XorShift(seed);
    let demo = demo();
    std::fs::create_dir_all(to.join("logs")).unwrap();
    for name in ["tests.csv", "entitlements.csv", "logs/batch-workers.csv"] {
        shuffle_csv(&demo.join(name), &to.join(name), &mut random);
    }
    let staging = std::fs::read_to_string(demo.join("logs/staging-gateway.jsonl")).unwrap();
    std::fs::write(
        to.join("logs/staging-gateway.jsonl"),
        shuffle_lines(&staging, &mut random),
    )
    .unwrap();
    let mut prod = String::new();
    flate2::read::MultiGzDecoder::new(
        std::fs::File::open(demo.join("logs/prod-gateway.jsonl.gz")).unwrap(),
    )
    .read_to_string(&mut prod)
    .unwrap();
    std::fs::write(
        to.join("logs/prod-gateway.jsonl.gz"),
        gzip(shuffle_lines(&prod, &mut random).as_bytes()),
    )
    .unwrap();
}

/// Runs the main job on demo-shaped inputs in `inputs` and returns the ids of
/// the findings.
fn demo_finding_ids(inputs: &Path, out: &Path) -> BTreeSet<String> {
    let mut config = corroborate::RunConfig::new(out, ts(common::AS_OF));
    config.tests = vec![inputs.join("tests.csv").display().to_string()];
    config.entitlements = vec![inputs.join("entitlements.csv").display().to_string()];
    config.logs = vec![inputs.join("logs").display().to_string()];
    let report = corroborate::pipeline::run(&config).unwrap();
    assert_eq!(report.rejects, 0, "the demo inputs read without rejects");
    report
        .findings
        .iter()
        .map(|finding| finding.finding_id.clone())
        .collect()
}

#[test]
fn finding_ids_survive_shuffled_rows() {
    let dir = tempfile::tempdir().unwrap();
    let original = demo_finding_ids(&demo(), &dir.path().join("out-original"));
    assert!(!original.is_empty(), "the demo has findings");
    for seed in [0x9e37_79b9_7f4a_7c15, 42] {
        let inputs = dir.path().join(format!("shuffled-{seed}"));
        shuffled_demo(&inputs, seed);
        let shuffled = demo_finding_ids(&inputs, &dir.path().join(format!("out-{seed}")));
        assert_eq!(
            shuffled, original,
            "finding ids after shuffle with seed {seed}"
        );
    }
}

// ---------------------------------------------------------------------------
// Property tests

/// Counts the lines the JSON Lines reader must account for: those that hold
/// more than ASCII whitespace, after a leading byte order mark.
fn non_blank_lines(bytes: &[u8]) -> u64 {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    bytes
        .split(|&b| b == b'\n')
        .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
        .count() as u64
}

/// Counts the records the CSV crate finds below the header: each record, and
/// one for a read error, after which reading stops.
fn csv_records(bytes: &[u8]) -> u64 {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let mut count = 0;
    let mut record = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => count += 1,
            Ok(false) => return count,
            Err(_) => return count + 1,
        }
    }
}

/// Generates a line of a fuzzed input: arbitrary bytes, a valid record, a valid
/// record cut short, or a record with wrong types.
fn fuzz_line(valid: String) -> impl Strategy<Value = Vec<u8>> {
    let cut_from = valid.clone();
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..80),
        Just(valid.clone().into_bytes()),
        (0..valid.len()).prop_map(move |end| cut_from.as_bytes()[..end].to_vec()),
        "[ -~]{0,40}".prop_map(String::into_bytes),
        Just(br#"{"test_id":{"a":1},"status_code":[1]}"#.to_vec()),
        Just(b"\xef\xbb\xbf".to_vec()),
    ]
}

/// Checks the outcome of reading fuzzed bytes: every record is read or rejected,
/// or the file fails with a missing-column error, which is allowed when no
/// record carries every required column.
fn check_accounting(
    result: corroborate::Result<ReadOutcome<TestAccumulator>>,
    records: u64,
) -> Result<(), TestCaseError> {
    match result {
        Ok(outcome) => {
            let file = &outcome.files[0];
            prop_assert_eq!(file.rows_read + file.rows_rejected, records);
            prop_assert_eq!(outcome.rejects.len() as u64, file.rows_rejected);
            prop_assert_eq!(outcome.data.tests.len() as u64, file.rows_read);
        }
        Err(Error::MissingColumns { .. }) => {}
        Err(error) => prop_assert!(false, "unexpected error: {}", error),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn jsonl_arbitrary_bytes_accounted(
        lines in prop::collection::vec(
            fuzz_line(test_line("t-1", "2026-09-07T02:10:00Z").trim_end().to_string()),
            0..12,
        ),
        crlf in any::<bool>(),
    ) {
        let separator: &[u8] = if crlf { b"\r\n" } else { b"\n" };
        let bytes = lines.join(separator);
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "fuzz.jsonl", &bytes);
        check_accounting(read_tests(&[&path]), non_blank_lines(&bytes))?;
    }

    #[test]
    fn csv_arbitrary_bytes_accounted(
        lines in prop::collection::vec(
            fuzz_line(test_row("t-1", "2026-09-07T02:10:00Z", "svc-a", "valid", "GET", "allow").trim_end().to_string()),
            0..12,
        ),
    ) {
        let mut bytes = TEST_HEADER.as_bytes().to_vec();
        bytes.extend(lines.join(&b'\n'));
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "fuzz.csv", &bytes);
        check_accounting(read_tests(&[&path]), csv_records(&bytes))?;
    }

    #[test]
    fn csv_arbitrary_file_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "fuzz.csv", &bytes);
        let _ = read_tests(&[&path]);
    }
}

/// A valid test result and the spellings it is written with.
#[derive(Clone, Debug)]
struct ValidRow {
    test_id: String,
    executed_at: i64,
    identity: String,
    credential_state: CredentialState,
    credential_state_text: String,
    environment: String,
    method: String,
    segments: Vec<String>,
    endpoint_text: String,
    expected: Expected,
    expected_text: String,
    status_code: u16,
    response_excerpt: String,
    request_id: String,
}

/// Spells an enum value in any case, with `-` or `_`.
fn spelling(canonical: &'static str) -> impl Strategy<Value = String> {
    (any::<bool>(), any::<bool>()).prop_map(move |(upper, dash)| {
        let text = if upper {
            canonical.to_ascii_uppercase()
        } else {
            canonical.to_string()
        };
        if dash { text.replace('_', "-") } else { text }
    })
}

fn valid_row(index: usize) -> impl Strategy<Value = ValidRow> {
    let state = prop::sample::select(CredentialState::ALL.to_vec())
        .prop_flat_map(|state| (Just(state), spelling(state.as_str())));
    let expected = prop::sample::select(vec![Expected::Allow, Expected::Deny])
        .prop_flat_map(|expected| (Just(expected), spelling(expected.as_str())));
    let endpoint = (
        prop::collection::vec("[a-z0-9]{1,6}", 1..4),
        any::<bool>(),
        prop::option::of("[a-z]{1,4}=[a-z0-9,]{0,4}"),
    );
    (
        "[a-z0-9]{0,6}",
        // Epoch milliseconds from 1973-03 to 2100, so the JSON number reads as milliseconds.
        100_000_000_000i64..4_102_444_800_000,
        "[A-Za-z0-9@._:-][A-Za-z0-9@._:, \"'-]{0,10}[A-Za-z0-9]",
        state,
        "[A-Za-z]{0,6}",
        "[A-Za-z]{1,7}",
        endpoint,
        expected,
        100u16..600,
        any::<String>(),
        "[ -~]{0,12}",
    )
        .prop_map(
            move |(
                suffix,
                executed_at,
                identity,
                (credential_state, credential_state_text),
                environment,
                method,
                (segments, trailing_slash, query),
                (expected, expected_text),
                status_code,
                response_excerpt,
                request_id,
            )| {
                let mut endpoint_text = format!("/{}", segments.join("/"));
                if trailing_slash {
                    endpoint_text.push('/');
                }
                if let Some(query) = query {
                    endpoint_text.push('?');
                    endpoint_text.push_str(&query);
                }
                ValidRow {
                    test_id: format!("t{index:02}-{suffix}"),
                    executed_at,
                    identity,
                    credential_state,
                    credential_state_text,
                    environment,
                    method,
                    segments,
                    endpoint_text,
                    expected,
                    expected_text,
                    status_code,
                    response_excerpt,
                    request_id,
                }
            },
        )
}

fn valid_rows() -> impl Strategy<Value = Vec<ValidRow>> {
    (1usize..8).prop_flat_map(|count| (0..count).map(valid_row).collect::<Vec<_>>())
}

fn rows_as_csv(rows: &[ValidRow]) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(TEST_HEADER.trim_end().split(','))
        .unwrap();
    for row in rows {
        writer
            .write_record([
                row.test_id.as_str(),
                &Timestamp(row.executed_at).to_rfc3339(),
                &row.identity,
                "",
                &row.credential_state_text,
                &row.environment,
                "orders-api",
                &row.method,
                &row.endpoint_text,
                "",
                &row.expected_text,
                &row.status_code.to_string(),
                "",
                &row.response_excerpt,
                &row.request_id,
                "",
                "",
            ])
            .unwrap();
    }
    writer.into_inner().unwrap()
}

fn rows_as_json_lines(rows: &[ValidRow]) -> Vec<u8> {
    let mut out = Vec::new();
    for row in rows {
        let record = serde_json::json!({
            "test_id": row.test_id,
            "executed_at": row.executed_at,
            "identity": row.identity,
            "credential_state": row.credential_state_text,
            "environment": row.environment,
            "service": "orders-api",
            "method": row.method,
            "endpoint": row.endpoint_text,
            "expected": row.expected_text,
            "status_code": row.status_code,
            "response_excerpt": row.response_excerpt,
            "request_id": row.request_id,
        });
        writeln!(out, "{record}").unwrap();
    }
    out
}

fn check_round_trip(format: &str, rows: &[ValidRow], path: &Path) -> Result<(), TestCaseError> {
    let outcome = read_tests(&[path]).unwrap();
    prop_assert!(
        outcome.rejects.is_empty(),
        "{}: {:?}",
        format,
        outcome.rejects
    );
    let tests = sorted_tests(outcome);
    prop_assert_eq!(tests.len(), rows.len());
    for (test, row) in tests.iter().zip(rows) {
        prop_assert_eq!(&test.test_id, &row.test_id, "{}", format);
        prop_assert_eq!(test.executed_at, Timestamp(row.executed_at), "{}", format);
        prop_assert_eq!(&test.identity, &row.identity, "{}", format);
        prop_assert_eq!(test.credential_state, row.credential_state, "{}", format);
        prop_assert_eq!(
            &test.environment,
            &row.environment.to_ascii_lowercase(),
            "{}",
            format
        );
        prop_assert_eq!(&test.method, &row.method.to_ascii_uppercase(), "{}", format);
        prop_assert_eq!(
            &test.endpoint,
            &format!("/{}", row.segments.join("/")),
            "{}",
            format
        );
        prop_assert_eq!(test.expected, row.expected, "{}", format);
        prop_assert_eq!(test.status_code, row.status_code, "{}", format);
        prop_assert_eq!(
            &test.response_excerpt,
            row.response_excerpt.trim(),
            "{}",
            format
        );
        prop_assert_eq!(&test.request_id, row.request_id.trim(), "{}", format);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn valid_rows_round_trip(rows in valid_rows()) {
        let dir = tempfile::tempdir().unwrap();
        let csv = write(dir.path(), "rows.csv", &rows_as_csv(&rows));
        let jsonl = write(dir.path(), "rows.jsonl", &rows_as_json_lines(&rows));
        check_round_trip("CSV", &rows, &csv)?;
        check_round_trip("JSON Lines", &rows, &jsonl)?;
    }
}
