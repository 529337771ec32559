//! The main job: read → normalise → match → detect → write. Nothing is written
//! until every input has been read and every rule has run, and then all outputs
//! are replaced together.

pub mod summarize;

use std::collections::BTreeMap;
use std::time::Instant;

use crate::config::RunConfig;
use crate::detect::{self, Detection, Evidence};
use crate::emit::manifest::{Counts, Manifest, RowCounts, Window, rule_file_entries};
use crate::emit::{self, OutputDir};
use crate::error::{Error, Result};
use crate::findings::{Finding, Status};
use crate::ingest::entitlements::EntitlementAccumulator;
use crate::ingest::exceptions::ExceptionAccumulator;
use crate::ingest::logs::{DeniedFilter, LogAccumulator, LogContext};
use crate::ingest::summary;
use crate::ingest::tests::TestAccumulator;
use crate::ingest::{Accumulator, InputFile, InputKind, Reject, read_inputs, read_inputs_with};
use crate::model::access::AccessData;
use crate::model::inventory::Inventory;
use crate::model::{Severity, TestResult};
use crate::register::exceptions::Exception;
use crate::register::update::{self, RegisterUpdate, UpdateInput};
use crate::rules::RuleSet;

/// Everything read from the inputs.
#[derive(Debug, Default)]
pub struct Loaded {
    pub inventory: Option<Inventory>,
    /// Tests inside the review window.
    pub tests: Option<Vec<TestResult>>,
    pub tests_outside_window: u64,
    pub access: Option<AccessData>,
    /// Approved exceptions, when an exceptions input was given.
    pub exceptions: Option<Vec<Exception>>,
    pub files: Vec<InputFile>,
    pub rejects: Vec<Reject>,
}

/// The outcome of a finished run, for the command line.
#[derive(Debug)]
pub struct RunReport {
    pub findings: Vec<Finding>,
    pub rejects: u64,
    pub manifest: Manifest,
    /// How this run changed the register.
    pub delta: crate::register::RunDelta,
    /// Whether an open finding is at or above `--fail-on`.
    pub failed_threshold: bool,
}

/// A stopwatch for the manifest's per-stage timings, logging each stage.
struct Stages {
    started: Instant,
    timings: BTreeMap<String, u64>,
}

impl Stages {
    fn new() -> Stages {
        Stages {
            started: Instant::now(),
            timings: BTreeMap::new(),
        }
    }

    fn done(&mut self, stage: &str, message: std::fmt::Arguments<'_>) {
        let elapsed = self.started.elapsed();
        tracing::info!("{stage}: {message} ({:.2} s)", elapsed.as_secs_f64());
        self.timings
            .insert(stage.to_string(), elapsed.as_millis() as u64);
        self.started = Instant::now();
    }
}

/// Reads every input the configuration names. Entitlements come first, because
/// the log reader needs each identity's grant boundaries.
pub fn load(config: &RunConfig, rules: &RuleSet) -> Result<Loaded> {
    let mut loaded = Loaded::default();
    let mut stages = Stages::new();

    if !config.entitlements.is_empty() || !config.imports.credential_reports.is_empty() {
        let outcome = read_inputs_with(
            InputKind::Entitlements,
            &config.entitlements,
            &config.imports,
            &EntitlementAccumulator::default,
        )?;
        let inventory = Inventory::from_rows(outcome.data.rows);
        stages.done(
            "entitlements",
            format_args!(
                "{} identities, {} grants",
                inventory.identities.len(),
                inventory.grants.len()
            ),
        );
        loaded.inventory = Some(inventory);
        loaded.files.extend(outcome.files);
        loaded.rejects.extend(outcome.rejects);
    }

    if !config.tests.is_empty() {
        let outcome = read_inputs_with(
            InputKind::Tests,
            &config.tests,
            &config.imports,
            &TestAccumulator::default,
        )?;
        let (since, until) = config.window();
        let (inside, outside): (Vec<TestResult>, Vec<TestResult>) = outcome
            .data
            .tests
            .into_iter()
            .partition(|test| test.executed_at >= since && test.executed_at < until);
        let mut tests = inside;
        tests.sort_by(|a, b| (&a.origin, &a.test_id).cmp(&(&b.origin, &b.test_id)));
        stages.done(
            "tests",
            format_args!(
                "{} tests in the window, {} outside",
                tests.len(),
                outside.len()
            ),
        );
        loaded.tests_outside_window = outside.len() as u64;
        loaded.tests = Some(tests);
        loaded.files.extend(outcome.files);
        loaded.rejects.extend(outcome.rejects);
    }

    if !config.logs.is_empty() || !config.summaries.is_empty() {
        let empty = Inventory::default();
        let inventory = loaded.inventory.as_ref().unwrap_or(&empty);
        let grace = rules
            .rules
            .get("revoked-credential-used")
            .map_or(0, |rule| rule.params.seconds("grace"));
        let normalizers = rules
            .rules
            .get("shared-identity")
            .map(|rule| rule.params.patterns("source_normalizers").to_vec())
            .unwrap_or_default();
        let mut context = LogContext::new(config.window(), inventory, grace, normalizers);
        context.denied_filter = Some(DeniedFilter::for_tests(
            loaded.tests.as_deref().unwrap_or_default(),
        ));
        let mut outcome =
            read_inputs_with(InputKind::Logs, &config.logs, &config.imports, &|| {
                LogAccumulator::new(&context)
            })?;
        if !config.summaries.is_empty() {
            let summaries = summary::read_all(&config.summaries, &context)?;
            outcome.data.merge(summaries.data);
            outcome.files.extend(summaries.files);
            outcome.rejects.extend(summaries.rejects);
        }
        let access = outcome.data.finish();
        stages.done(
            "logs",
            format_args!(
                "{} events in the window as {} summary rows, {} outside",
                access.events_in_window,
                access.rows.len(),
                access.events_outside_window
            ),
        );
        loaded.access = Some(access);
        loaded.files.extend(outcome.files);
        loaded.rejects.extend(outcome.rejects);
    }
    if !config.exceptions.is_empty() {
        let outcome = read_inputs(InputKind::Exceptions, &config.exceptions, &|| {
            ExceptionAccumulator::new(rules)
        })?;
        let mut exceptions = outcome.data.exceptions;
        exceptions.sort_by(|a, b| (&a.exception_id, &a.origin).cmp(&(&b.exception_id, &b.origin)));
        let duplicates: Vec<&str> = exceptions
            .windows(2)
            .filter(|pair| pair[0].exception_id == pair[1].exception_id)
            .map(|pair| pair[0].exception_id.as_str())
            .collect();
        if !duplicates.is_empty() {
            tracing::warn!(
                "exception id(s) listed more than once, each row applies: {}",
                duplicates.join(", ")
            );
        }
        stages.done(
            "exceptions",
            format_args!("{} exceptions", exceptions.len()),
        );
        loaded.exceptions = Some(exceptions);
        loaded.files.extend(outcome.files);
        loaded.rejects.extend(outcome.rejects);
    }
    loaded.rejects.sort();
    Ok(loaded)
}

/// Runs the main job and writes its outputs.
pub fn run(config: &RunConfig) -> Result<RunReport> {
    let started = Instant::now();
    let rules = RuleSet::load(config.rules_dir.as_deref())?;
    let mut output = OutputDir::lock(&config.out)?;
    let mut stages = Stages::new();
    let loaded = load(config, &rules)?;
    let load_ms = stages.started.elapsed().as_millis() as u64;
    stages.started = Instant::now();
    if config.strict
        && let Some(first) = loaded.rejects.first()
    {
        return Err(Error::StrictRejects {
            rejected: loaded.rejects.len() as u64,
            first: first.to_string(),
        });
    }

    let evidence = Evidence::new(
        loaded.tests.as_deref(),
        loaded.access.as_ref(),
        loaded.inventory.as_ref(),
        &rules.settings,
        config.as_of,
        config.window(),
    );
    let mut detection = detect::detect(&evidence, &rules);
    stages.done(
        "detect",
        format_args!(
            "{} rules ran, {} findings",
            detection.evaluated.len(),
            detection.findings.len()
        ),
    );
    let register = update::update(
        config,
        &UpdateInput {
            rules: &rules,
            inventory: loaded.inventory.as_ref(),
            exceptions: loaded.exceptions.as_deref(),
            input_hashes: loaded
                .files
                .iter()
                .map(|file| file.sha256.clone())
                .collect(),
        },
        &mut detection,
    )?;
    stages.done("register", format_args!("{}", register.delta));

    let mut manifest = build_manifest(config, &rules, &loaded, &detection);
    manifest.register = register.delta.clone();
    manifest.timings_ms.insert("read".to_string(), load_ms);
    manifest.timings_ms.extend(stages.timings.clone());
    emit::report::stage(
        &mut output,
        &emit::report::ReportInput {
            manifest: &manifest,
            findings: &detection.findings,
            rules: &rules,
            inventory: loaded.inventory.as_ref(),
            tests: loaded.tests.as_deref(),
            access: loaded.access.as_ref(),
            coverage: evidence.coverage(),
            as_of: config.as_of,
            register: Some(emit::report::RegisterView {
                register: &register.register,
                delta: &register.delta,
                exceptions: &register.applied.coverage,
            }),
        },
    )?;
    write_outputs(
        output,
        &detection.findings,
        &loaded.rejects,
        &register,
        &mut manifest,
        started,
    )?;
    stages.done(
        "write",
        format_args!("outputs written to {}", config.out.display()),
    );

    let failed_threshold = config.fail_on.is_some_and(|threshold| {
        detection
            .findings
            .iter()
            .any(|finding| counts_for_fail_on(finding) && finding.severity >= threshold)
    });
    Ok(RunReport {
        rejects: loaded.rejects.len() as u64,
        findings: detection.findings,
        manifest,
        delta: register.delta,
        failed_threshold,
    })
}

/// Tells whether a finding counts for `--fail-on`: open, or no longer covered
/// because its exception expired. Excepted findings do not count.
// NOTE: the exit-code table says "open (not excepted)"; counting
// `exception-expired` as not excepted is a reading of it, not a quote.
fn counts_for_fail_on(finding: &Finding) -> bool {
    matches!(finding.status, Status::Open | Status::ExceptionExpired)
}

fn build_manifest(
    config: &RunConfig,
    rules: &RuleSet,
    loaded: &Loaded,
    detection: &Detection,
) -> Manifest {
    let mut rows = RowCounts {
        rows_read: loaded.files.iter().map(|file| file.rows_read).sum(),
        rows_rejected: loaded.rejects.len() as u64,
        tests_in_window: loaded.tests.as_ref().map_or(0, |tests| tests.len() as u64),
        tests_outside_window: loaded.tests_outside_window,
        ..RowCounts::default()
    };
    if let Some(access) = &loaded.access {
        rows.events_in_window = access.events_in_window;
        rows.events_outside_window = access.events_outside_window;
        rows.access_summary_rows = access.rows.len() as u64;
    }
    if let Some(inventory) = &loaded.inventory {
        rows.identities = inventory.identities.len() as u64;
        rows.grants = inventory.grants.len() as u64;
    }
    Manifest {
        tool: "corroborate",
        version: env!("CARGO_PKG_VERSION"),
        as_of: config.as_of.to_rfc3339(),
        window: Window {
            since: config.since.to_rfc3339(),
            until: config.until.to_rfc3339(),
        },
        inputs: loaded.files.clone(),
        rule_files: rule_file_entries(rules),
        rules_evaluated: detection.evaluated.clone(),
        rules_skipped: detection.skipped.clone(),
        rows,
        counts: Counts::of(&detection.findings),
        register: crate::register::RunDelta::default(),
        timings_ms: BTreeMap::new(),
    }
}

fn write_outputs(
    mut output: OutputDir,
    findings: &[Finding],
    rejects: &[Reject],
    register: &RegisterUpdate,
    manifest: &mut Manifest,
    started: Instant,
) -> Result<()> {
    output.stage("findings.jsonl", |out| {
        emit::findings::write_jsonl(findings, out)
    })?;
    output.stage("findings.csv", |out| {
        emit::findings::write_csv(findings, out)
    })?;
    output.stage("rejects.csv", |out| {
        emit::findings::write_rejects(rejects, out)
    })?;
    output.stage("remediation.csv", |out| {
        crate::register::remediation::write_csv(&register.actions, out)
    })?;
    match &register.poam {
        Some(poam) => output.stage("poam.json", |out| {
            serde_json::to_writer_pretty(&mut *out, poam)?;
            out.write_all(b"\n")
        })?,
        None => {
            tracing::info!(
                "poam.json not written: no open or excepted item, and OSCAL requires at least one"
            );
            output.stage_removal("poam.json");
        }
    }
    manifest
        .timings_ms
        .insert("total".to_string(), started.elapsed().as_millis() as u64);
    output.stage("manifest.json", |out| {
        serde_json::to_writer_pretty(&mut *out, manifest)?;
        out.write_all(b"\n")
    })?;
    // Staged last, so it is renamed last: a run killed during the commit leaves
    // the previous register whole.
    output.stage(update::REGISTER_FILE, |out| {
        register.register.write_csv(out)
    })?;
    output.commit()
}

/// Counts findings by severity, most severe first, for the end-of-run summary.
pub fn severity_summary(findings: &[Finding]) -> String {
    let mut parts = Vec::new();
    for severity in Severity::ALL.iter().rev() {
        let count = findings
            .iter()
            .filter(|finding| finding.severity == *severity)
            .count();
        if count > 0 {
            parts.push(format!("{count} {severity}"));
        }
    }
    if parts.is_empty() {
        "none".to_string()
    } else {
        parts.join(", ")
    }
}
