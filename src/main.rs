//! The `corroborate` command: parses arguments, calls the library, prints the
//! outcome and sets the exit code (0 clean, 1 findings at or above `--fail-on`,
//! 2 bad usage, configuration or input).

mod cli;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use cli::{Cli, Command, RulesCommand};
use corroborate::pipeline;
use corroborate::rules::RuleSet;

/// The log reader makes a few small allocations per event on every core;
/// mimalloc serves them faster than the system allocator (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.quiet, cli.verbose);
    if !cli.quiet
        && matches!(cli.command, Command::Run(_) | Command::Validate(_))
        && std::io::IsTerminal::is_terminal(&std::io::stderr())
    {
        corroborate::progress::enable();
    }
    let outcome = execute(cli.command);
    corroborate::progress::finish();
    match outcome {
        Ok(code) => code,
        Err(error) => {
            let mut message = format!("error: {error}");
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                message.push_str(&format!("\n  caused by: {cause}"));
                source = cause.source();
            }
            eprintln!("{message}");
            ExitCode::from(2)
        }
    }
}

fn init_logging(quiet: bool, verbose: u8) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_env("CORROBORATE_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("corroborate={level}")));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(corroborate::progress::StderrWriter)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .init();
}

fn execute(command: Command) -> corroborate::Result<ExitCode> {
    match command {
        Command::Run(args) => {
            let config = cli::resolve(args.inputs, args.out, args.strict, args.fail_on)?;
            let report = pipeline::run(&config)?;
            tracing::info!(
                "{} findings ({}), {} rejected rows; outputs in {}",
                report.findings.len(),
                pipeline::severity_summary(&report.findings),
                report.rejects,
                config.out.display()
            );
            tracing::info!("register: {}", report.delta);
            if report.failed_threshold {
                tracing::info!(
                    "exit code 1: open findings at or above --fail-on {} exist",
                    config.fail_on.map_or("", |severity| severity.as_str())
                );
            }
            Ok(if report.failed_threshold {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Summarize(args) => {
            let config = cli::resolve_summarize(args)?;
            let report = pipeline::summarize::run(&config)?;
            tracing::info!(
                "{} events read ({} outside the window) as {} summary rows, {} denied events and {} trace edges; {} rejected rows in {}; summary in {}",
                report.events_read,
                report.events_outside_window,
                report.summary_rows,
                report.denied_events,
                report.trace_edges,
                report.rejects,
                report.rejects_path.display(),
                config.out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate(inputs) => {
            let config = cli::resolve(inputs, None, false, None)?;
            let rules = RuleSet::load(config.rules_dir.as_deref())?;
            let loaded = pipeline::load(&config, &rules)?;
            let mut stdout = std::io::stdout().lock();
            let write_error = |source| corroborate::Error::Write {
                path: "standard output".into(),
                source,
            };
            for file in &loaded.files {
                writeln!(
                    stdout,
                    "{}\t{}\t{}\t{} read\t{} rejected",
                    file.kind.as_str(),
                    file.format_label(),
                    file.path,
                    file.rows_read,
                    file.rows_rejected
                )
                .map_err(write_error)?;
            }
            for reject in &loaded.rejects {
                writeln!(stdout, "rejected: {reject}").map_err(write_error)?;
            }
            if let Some(path) = &config.register {
                let register = corroborate::register::Register::read(path)?;
                writeln!(
                    stdout,
                    "register\t{}\t{} rows",
                    path.display(),
                    register.rows().count()
                )
                .map_err(write_error)?;
            }
            if let Some(path) = &config.owners {
                corroborate::register::owners::ServiceOwners::read(path)?;
                writeln!(stdout, "owners\t{}\tvalid", path.display()).map_err(write_error)?;
            }
            Ok(if loaded.rejects.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Rules(RulesCommand::List { rules }) => {
            let rules = RuleSet::load(rules.as_deref())?;
            let mut stdout = std::io::stdout().lock();
            for rule in rules.rules.values() {
                let state = if rule.enabled { "enabled" } else { "disabled" };
                let subject = serde_json::to_value(rule.subject).unwrap_or_default();
                writeln!(
                    stdout,
                    "{:<32} {:<8} {:<8} {:<8} {}",
                    rule.id,
                    // `as_str`, because the `Display` of `Severity` ignores the width.
                    rule.severity.as_str(),
                    subject.as_str().unwrap_or(""),
                    state,
                    rule.title
                )
                .map_err(|source| corroborate::Error::Write {
                    path: "standard output".into(),
                    source,
                })?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Rules(RulesCommand::Check { dir }) => {
            let rules = RuleSet::load(Some(&dir))?;
            let overridden = rules
                .rules
                .values()
                .filter(|rule| rule.source != "built-in")
                .count();
            println!(
                "{}: {overridden} rule file(s) checked, no problems",
                dir.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain {
            finding_id,
            out,
            rules,
        } => {
            let rules = RuleSet::load(rules.as_deref())?;
            let text = corroborate::register::explain::render(&out, &finding_id, &rules)?;
            print!("{text}");
            Ok(ExitCode::SUCCESS)
        }
    }
}
