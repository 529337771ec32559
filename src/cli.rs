//! Command-line arguments and the optional TOML config file, resolved into a
//! [`RunConfig`].

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};
use serde::Deserialize;

use corroborate::model::{Severity, Timestamp};
use corroborate::{Error, Result, RunConfig};

/// Correlates API test results, access logs and entitlement exports of
/// non-human identities, and reports where behaviour and policy disagree.
#[derive(Debug, Parser)]
#[command(name = "corroborate", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Print only errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Print more detail: -v for debug messages, -vv for trace.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read the inputs, run the rules and write findings, manifest and rejects.
    Run(RunArgs),
    /// Read the inputs and report row counts and rejects; write nothing.
    Validate(InputArgs),
    /// List or check rule files.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Print one finding, its evidence and its rule's documentation from an output folder.
    Explain {
        /// The finding's id, as in findings.csv.
        finding_id: String,
        /// The output folder of the run.
        #[arg(long, default_value = "out")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List the rules in effect: built-in, or overridden by --rules DIR.
    List {
        /// A folder of rule files overriding the built-in ones.
        #[arg(long)]
        rules: Option<PathBuf>,
    },
    /// Check a folder of rule files and report every problem at once.
    Check {
        /// The folder to check.
        dir: PathBuf,
    },
}

/// The inputs and the review window, shared by `run` and `validate`.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// API test results: a file, folder or glob (repeatable).
    #[arg(long, value_name = "PATH")]
    pub tests: Vec<String>,
    /// Access logs: a file, folder or glob (repeatable).
    #[arg(long, value_name = "PATH")]
    pub logs: Vec<String>,
    /// Entitlement exports: a file, folder or glob (repeatable).
    #[arg(long, value_name = "PATH")]
    pub entitlements: Vec<String>,
    /// A folder of rule files overriding the built-in ones.
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// The moment of the review (RFC 3339; default: now). Staleness and due dates count from it.
    #[arg(long, value_name = "TIME")]
    pub as_of: Option<String>,
    /// Start of the review window, inclusive (default: 90 days before --as-of).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// End of the review window, exclusive (default: --as-of).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// A TOML file with any of these settings; flags given on the command line win.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub inputs: InputArgs,
    /// The output folder (created when missing).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Fail with exit code 2, writing nothing, when any input row is rejected.
    #[arg(long)]
    pub strict: bool,
    /// Exit with code 1 when an open finding is at or above this severity (low, medium, high, critical).
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<String>,
}

/// The config file: the same settings as the flags, with `_` in place of `-`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    tests: OneOrMany,
    #[serde(default)]
    logs: OneOrMany,
    #[serde(default)]
    entitlements: OneOrMany,
    rules: Option<PathBuf>,
    out: Option<PathBuf>,
    as_of: Option<String>,
    since: Option<String>,
    until: Option<String>,
    strict: Option<bool>,
    fail_on: Option<String>,
}

/// A path setting that may be one string or a list.
#[derive(Debug, Default, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    #[default]
    None,
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::None => Vec::new(),
            OneOrMany::One(path) => vec![path],
            OneOrMany::Many(paths) => paths,
        }
    }
}

fn read_config_file(path: &Path) -> Result<ConfigFile> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text).map_err(|error| Error::Config(format!("`{}`: {error}", path.display())))
}

/// Paths in a config file are relative to the file's folder.
fn relative_to(base: &Path, path: String) -> String {
    if Path::new(&path).is_absolute() {
        path
    } else {
        base.join(path).display().to_string()
    }
}

fn parse_time(flag: &str, text: &str) -> Result<Timestamp> {
    Timestamp::parse(text)
        .map_err(|error| Error::Config(format!("invalid {flag} `{text}`: {error}")))
}

/// Resolves flags and the config file into a run configuration.
pub fn resolve(
    inputs: InputArgs,
    out: Option<PathBuf>,
    strict: bool,
    fail_on: Option<String>,
) -> Result<RunConfig> {
    let file = match &inputs.config {
        Some(path) => read_config_file(path)?,
        None => ConfigFile::default(),
    };
    let base = inputs
        .config
        .as_deref()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let paths = |flags: Vec<String>, from_file: OneOrMany| {
        if flags.is_empty() {
            from_file
                .into_vec()
                .into_iter()
                .map(|path| relative_to(&base, path))
                .collect()
        } else {
            flags
        }
    };

    let as_of = match inputs.as_of.or(file.as_of) {
        Some(text) => parse_time("--as-of", &text)?,
        None => Timestamp(chrono::Utc::now().timestamp_millis()),
    };
    let out = out
        .or(file
            .out
            .map(|path| PathBuf::from(relative_to(&base, path.display().to_string()))))
        .unwrap_or_else(|| PathBuf::from("out"));
    let mut config = RunConfig::new(out, as_of);
    config.tests = paths(inputs.tests, file.tests);
    config.logs = paths(inputs.logs, file.logs);
    config.entitlements = paths(inputs.entitlements, file.entitlements);
    config.rules_dir = inputs.rules.or(file
        .rules
        .map(|path| PathBuf::from(relative_to(&base, path.display().to_string()))));
    if let Some(text) = inputs.since.or(file.since) {
        config.since = parse_time("--since", &text)?;
    }
    if let Some(text) = inputs.until.or(file.until) {
        config.until = parse_time("--until", &text)?;
    }
    if config.since >= config.until {
        return Err(Error::Config(format!(
            "the review window is empty: --since {} is not before --until {}",
            config.since, config.until
        )));
    }
    config.strict = strict || file.strict.unwrap_or(false);
    if let Some(text) = fail_on.or(file.fail_on) {
        let severity = Severity::parse(&text).ok_or_else(|| {
            Error::Config(format!(
                "invalid --fail-on `{text}`; expected one of: {}",
                Severity::expected()
            ))
        })?;
        config.fail_on = Some(severity);
    }
    Ok(config)
}
