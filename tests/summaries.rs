//! Daily summaries must give the same findings as the raw logs: the demo's logs
//! are split by UTC day, each day is summarized to Parquet, and a run over the
//! summaries is compared with a run over the original log files.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use corroborate::RunConfig;
use corroborate::model::Timestamp;
use corroborate::pipeline::summarize::{self, SummarizeConfig};
use corroborate::pipeline::{self, RunReport};

const AS_OF: &str = "2026-11-30T00:00:00Z";

/// Days that must have a summary of their own, because a planted fault or near
/// miss depends on what happens within them: `key-partner-umbrella`'s key is
/// revoked at 12:00 on 2026-10-15 and used after; `svc-legacy-invoicer` is
/// used at 08:59:59 on 2026-10-20, one second before its revocation.
const CRITICAL_DAYS: &[&str] = &["2026-10-15", "2026-10-20"];

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo")
}

/// The UTC day of an `event_time` value: RFC 3339 text or epoch milliseconds.
fn day_of(value: &serde_json::Value) -> String {
    let time = match value {
        serde_json::Value::Number(number) => {
            Timestamp::from_epoch_number(number.as_f64().expect("a finite number"))
                .expect("a valid epoch time")
        }
        serde_json::Value::String(text) => Timestamp::parse(text).expect("a valid timestamp"),
        other => panic!("unexpected event_time {other}"),
    };
    time.to_rfc3339()[..10].to_string()
}

/// Splits every demo log file into one file per UTC day under `folder`, and
/// returns the files of each day.
fn split_demo_logs(folder: &Path) -> BTreeMap<String, Vec<PathBuf>> {
    let mut days: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    let logs = demo().join("logs");

    for name in ["prod-gateway.jsonl.gz", "staging-gateway.jsonl"] {
        let file = std::fs::File::open(logs.join(name)).unwrap();
        let reader: Box<dyn std::io::Read> = if name.ends_with(".gz") {
            Box::new(flate2::read::MultiGzDecoder::new(file))
        } else {
            Box::new(file)
        };
        let mut by_day: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for line in BufReader::new(reader).lines() {
            let line = line.unwrap();
            if line.trim().is_empty() {
                continue;
            }
            let record: serde_json::Value = serde_json::from_str(&line).unwrap();
            by_day
                .entry(day_of(&record["event_time"]))
                .or_default()
                .push(line);
        }
        let stem = name.split('.').next().unwrap();
        for (day, lines) in by_day {
            let path = folder.join(format!("{stem}-{day}.jsonl"));
            std::fs::write(&path, lines.join("\n") + "\n").unwrap();
            days.entry(day).or_default().push(path);
        }
    }

    let mut reader = csv::Reader::from_path(logs.join("batch-workers.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let time_column = headers.iter().position(|h| h == "event_time").unwrap();
    let mut by_day: BTreeMap<String, Vec<csv::StringRecord>> = BTreeMap::new();
    for record in reader.records() {
        let record = record.unwrap();
        let value = serde_json::Value::String(record[time_column].to_string());
        by_day.entry(day_of(&value)).or_default().push(record);
    }
    for (day, records) in by_day {
        let path = folder.join(format!("batch-workers-{day}.csv"));
        let mut writer = csv::Writer::from_path(&path).unwrap();
        writer.write_record(&headers).unwrap();
        for record in records {
            writer.write_record(&record).unwrap();
        }
        writer.flush().unwrap();
        days.entry(day).or_default().push(path);
    }
    days
}

fn config(out: &Path) -> RunConfig {
    let mut config = RunConfig::new(out, Timestamp::parse(AS_OF).unwrap());
    config.tests = vec![demo().join("tests.csv").display().to_string()];
    config.entitlements = vec![demo().join("entitlements.csv").display().to_string()];
    config
}

fn finding_ids(report: &RunReport) -> Vec<String> {
    let mut ids: Vec<String> = report
        .findings
        .iter()
        .map(|finding| format!("{} {}", finding.rule, finding.finding_id))
        .collect();
    ids.sort();
    ids
}

/// Summarizes each day's files to `summaries/DAY.parquet`, two days at a time.
fn summarize_days(days: &BTreeMap<String, Vec<PathBuf>>, summaries: &Path) {
    let days: Vec<(&String, &Vec<PathBuf>)> = days.iter().collect();
    std::thread::scope(|scope| {
        for half in days.chunks(days.len().div_ceil(2)) {
            scope.spawn(move || {
                for (day, files) in half {
                    let config = SummarizeConfig {
                        logs: files
                            .iter()
                            .map(|path| path.display().to_string())
                            .collect(),
                        entitlements: Vec::new(),
                        out: summaries.join(format!("{day}.parquet")),
                        window: None,
                        rules_dir: None,
                        strict: true,
                    };
                    let report = summarize::run(&config).expect("summarize succeeds");
                    assert!(report.events_read > 0, "{day} has events");
                }
            });
        }
    });
}

#[test]
fn daily_summaries_give_raw_findings() {
    let folder = tempfile::tempdir().unwrap();
    let split = folder.path().join("logs");
    let summaries = folder.path().join("summaries");
    std::fs::create_dir_all(&split).unwrap();
    let days = split_demo_logs(&split);
    for day in CRITICAL_DAYS {
        assert!(
            days.contains_key(*day),
            "the demo logs have events on {day}"
        );
    }
    assert!(days.len() > 60, "the demo logs span {} days", days.len());
    summarize_days(&days, &summaries);
    for day in CRITICAL_DAYS {
        assert!(summaries.join(format!("{day}.parquet")).is_file());
        assert!(summaries.join(format!("{day}.rejects.csv")).is_file());
    }

    let mut raw = config(&folder.path().join("out-raw"));
    raw.logs = vec![demo().join("logs").display().to_string()];
    let raw_report = pipeline::run(&raw).expect("the raw run succeeds");
    let raw_ids = finding_ids(&raw_report);
    assert!(!raw_ids.is_empty());

    // Every day as a summary.
    let mut merged = config(&folder.path().join("out-summaries"));
    merged.summaries = vec![format!("{}/*.parquet", summaries.display())];
    let merged_report = pipeline::run(&merged).expect("the summaries run succeeds");
    assert_eq!(finding_ids(&merged_report), raw_ids);
    assert_eq!(
        merged_report.manifest.rows.events_in_window,
        raw_report.manifest.rows.events_in_window
    );
    assert_eq!(
        merged_report.manifest.rows.events_outside_window,
        raw_report.manifest.rows.events_outside_window
    );
    let summary_inputs = merged_report
        .manifest
        .inputs
        .iter()
        .filter(|file| file.kind.as_str() == "summaries")
        .count();
    assert_eq!(summary_inputs, days.len());

    // October as summaries (the folder, whose .rejects.csv files are skipped),
    // every other day as raw logs.
    let october = folder.path().join("october");
    std::fs::create_dir_all(&october).unwrap();
    let mut mixed = config(&folder.path().join("out-mixed"));
    for (day, files) in &days {
        if day.starts_with("2026-10") {
            for name in [format!("{day}.parquet"), format!("{day}.rejects.csv")] {
                std::fs::rename(summaries.join(&name), october.join(&name)).unwrap();
            }
        } else {
            mixed
                .logs
                .extend(files.iter().map(|path| path.display().to_string()));
        }
    }
    mixed.summaries = vec![october.display().to_string()];
    let mixed_report = pipeline::run(&mixed).expect("the mixed run succeeds");
    assert_eq!(finding_ids(&mixed_report), raw_ids);
}

#[test]
fn summarize_counts_window_and_rejects() {
    let folder = tempfile::tempdir().unwrap();
    let logs = folder.path().join("day.jsonl");
    let mut file = std::fs::File::create(&logs).unwrap();
    for line in [
        r#"{"event_time":"2026-10-01T10:00:00Z","identity":"svc-a","service":"orders-api","action":"orders:read","decision":"allow","request_id":"r3"}"#,
        r#"{"event_time":"2026-10-01T11:00:00Z","identity":"svc-a","service":"orders-api","action":"orders:read","decision":"allow","request_id":"r1"}"#,
        r#"{"event_time":"2026-10-01T12:00:00Z","identity":"svc-a","service":"orders-api","action":"orders:read","decision":"deny","reason":"scope"}"#,
        r#"{"event_time":"2026-09-30T23:59:59Z","identity":"svc-a","service":"orders-api","action":"orders:read","decision":"allow"}"#,
        r#"{"event_time":"not a time","identity":"svc-a","service":"orders-api","action":"orders:read","decision":"allow"}"#,
    ] {
        writeln!(file, "{line}").unwrap();
    }
    drop(file);

    let out = folder.path().join("2026-10-01.parquet");
    let config = SummarizeConfig {
        logs: vec![logs.display().to_string()],
        entitlements: Vec::new(),
        out: out.clone(),
        window: Some((
            Timestamp::parse("2026-10-01T00:00:00Z").unwrap(),
            Timestamp::parse("2026-10-02T00:00:00Z").unwrap(),
        )),
        rules_dir: None,
        strict: false,
    };
    let report = summarize::run(&config).unwrap();
    assert_eq!(report.events_read, 4);
    assert_eq!(report.events_outside_window, 1);
    assert_eq!(report.summary_rows, 2);
    assert_eq!(report.denied_events, 1);
    assert_eq!(report.rejects, 1);
    assert!(out.is_file());
    let rejects = std::fs::read_to_string(folder.path().join("2026-10-01.rejects.csv")).unwrap();
    assert!(rejects.contains("event_time"), "{rejects}");

    let mut run = RunConfig::new(folder.path().join("out"), Timestamp::parse(AS_OF).unwrap());
    run.summaries = vec![out.display().to_string()];
    let report = pipeline::run(&run).unwrap();
    assert_eq!(report.manifest.rows.events_in_window, 3);
    assert_eq!(report.manifest.rows.events_outside_window, 1);
    let kinds: BTreeSet<&str> = report
        .manifest
        .inputs
        .iter()
        .map(|file| file.kind.as_str())
        .collect();
    assert_eq!(kinds, BTreeSet::from(["summaries"]));
}
