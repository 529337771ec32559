//! Command-line arguments and the optional TOML config file, resolved into a
//! [`RunConfig`].

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};
use serde::Deserialize;

use corroborate::ingest::InputKind;
use corroborate::ingest::import::{ImportConfig, ImportFormat};
use corroborate::model::{Severity, Timestamp};
use corroborate::pipeline::summarize::{ALL_TIME, SummarizeConfig};
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
    /// Read the inputs, run the rules, and write findings, the register, remediation, POA&M and report.
    Run(RunArgs),
    /// Read the inputs and report row counts and rejects; write nothing.
    Validate(InputArgs),
    /// Reduce a batch of access logs (e.g. one day) to a Parquet summary that `run --summaries` merges.
    Summarize(SummarizeArgs),
    /// List or check rule files.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Print one finding, its evidence, its register history and its rule's documentation.
    Explain {
        /// The finding's id, as in findings.csv.
        finding_id: String,
        /// The output folder of the run.
        #[arg(long, default_value = "out")]
        out: PathBuf,
        /// A folder of rule files overriding the built-in ones, for the rule's documentation.
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
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
    /// Access log summaries written by `corroborate summarize`: a file, folder or glob
    /// (repeatable); merged with --logs.
    #[arg(long, value_name = "PATH")]
    pub summaries: Vec<String>,
    /// Entitlement exports: a file, folder or glob (repeatable).
    #[arg(long, value_name = "PATH")]
    pub entitlements: Vec<String>,
    /// Approved exceptions (docs/register.md): a file, folder or glob (repeatable).
    #[arg(long, value_name = "PATH")]
    pub exceptions: Vec<String>,
    /// The previous register.csv to merge with (default: register.csv in the --out folder, if present).
    #[arg(long, value_name = "FILE")]
    pub register: Option<PathBuf>,
    /// A CSV file with the columns `service` and `owner`, naming owners of service findings.
    #[arg(long, value_name = "FILE")]
    pub owners: Option<PathBuf>,
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
    #[command(flatten)]
    pub imports: ImportArgs,
}

/// Settings for reading foreign exports (docs/formats.md).
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The format of the --tests files: auto (tell by content), native, newman, junit or mapping.
    #[arg(long, value_name = "FORMAT", help_heading = "Foreign formats")]
    pub tests_format: Option<String>,
    /// The format of the --logs files: auto (tell by content), native, cloudtrail, k8s-audit, ocsf or mapping.
    #[arg(long, value_name = "FORMAT", help_heading = "Foreign formats")]
    pub logs_format: Option<String>,
    /// The format of the --entitlements files: auto (tell by content), native, aws-iam, k8s-rbac or mapping.
    #[arg(long, value_name = "FORMAT", help_heading = "Foreign formats")]
    pub entitlements_format: Option<String>,
    /// A TOML mapping file for test results: columns of other exports, and the patterns that take identity, credential state and expected outcome from Newman and JUnit test names.
    #[arg(long, value_name = "FILE", help_heading = "Foreign formats")]
    pub tests_mapping: Option<PathBuf>,
    /// A TOML mapping file turning another CSV, JSON or text log into access log columns.
    #[arg(long, value_name = "FILE", help_heading = "Foreign formats")]
    pub logs_mapping: Option<PathBuf>,
    /// A TOML mapping file turning another CSV or JSON export into entitlement columns.
    #[arg(long, value_name = "FILE", help_heading = "Foreign formats")]
    pub entitlements_mapping: Option<PathBuf>,
    /// A CSV file of `account_id,environment` rows (or TOML) naming the environment of AWS accounts and Kubernetes clusters; unmapped ones are their own environment.
    #[arg(long, value_name = "FILE", help_heading = "Foreign formats")]
    pub account_environments: Option<PathBuf>,
    /// An IAM credential report (CSV or the get-credential-report JSON) or list-access-keys JSON, read as entitlements for access keys (repeatable).
    #[arg(long, value_name = "FILE", help_heading = "Foreign formats")]
    pub credential_report: Vec<PathBuf>,
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
    summaries: OneOrMany,
    #[serde(default)]
    entitlements: OneOrMany,
    #[serde(default)]
    exceptions: OneOrMany,
    register: Option<PathBuf>,
    owners: Option<PathBuf>,
    rules: Option<PathBuf>,
    out: Option<PathBuf>,
    as_of: Option<String>,
    since: Option<String>,
    until: Option<String>,
    strict: Option<bool>,
    fail_on: Option<String>,
    tests_format: Option<String>,
    logs_format: Option<String>,
    entitlements_format: Option<String>,
    tests_mapping: Option<PathBuf>,
    logs_mapping: Option<PathBuf>,
    entitlements_mapping: Option<PathBuf>,
    account_environments: Option<PathBuf>,
    #[serde(default)]
    credential_report: OneOrMany,
}

/// The foreign-format settings of a config file.
struct ImportSettings {
    tests_format: Option<String>,
    logs_format: Option<String>,
    entitlements_format: Option<String>,
    tests_mapping: Option<PathBuf>,
    logs_mapping: Option<PathBuf>,
    entitlements_mapping: Option<PathBuf>,
    account_environments: Option<PathBuf>,
    credential_report: OneOrMany,
}

/// Resolves the format flags and settings; flags win, and paths in the config
/// file are relative to its folder.
fn resolve_imports(args: ImportArgs, file: ImportSettings, base: &Path) -> Result<ImportConfig> {
    let path = |flag: Option<PathBuf>, from_file: Option<PathBuf>| {
        flag.or(from_file.map(|path| PathBuf::from(relative_to(base, path.display().to_string()))))
    };
    let format = |kind: InputKind, flag: Option<String>, from_file: Option<String>| {
        let Some(text) = flag.or(from_file) else {
            return Ok(ImportFormat::Auto);
        };
        match ImportFormat::parse(&text) {
            Some(format) if format.fits(kind) => Ok(format),
            _ => Err(Error::Config(format!(
                "invalid --{}-format `{text}`; expected one of: {}",
                kind.as_str(),
                ImportFormat::expected_for(kind)
            ))),
        }
    };
    let mut imports = ImportConfig::default();
    imports.tests.format = format(InputKind::Tests, args.tests_format, file.tests_format)?;
    imports.logs.format = format(InputKind::Logs, args.logs_format, file.logs_format)?;
    imports.entitlements.format = format(
        InputKind::Entitlements,
        args.entitlements_format,
        file.entitlements_format,
    )?;
    imports.tests.mapping = path(args.tests_mapping, file.tests_mapping);
    imports.logs.mapping = path(args.logs_mapping, file.logs_mapping);
    imports.entitlements.mapping = path(args.entitlements_mapping, file.entitlements_mapping);
    imports.account_environments = path(args.account_environments, file.account_environments);
    imports.credential_reports = if args.credential_report.is_empty() {
        file.credential_report
            .into_vec()
            .into_iter()
            .map(|path| PathBuf::from(relative_to(base, path)))
            .collect()
    } else {
        args.credential_report
    };
    Ok(imports)
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
    config.summaries = paths(inputs.summaries, file.summaries);
    config.entitlements = paths(inputs.entitlements, file.entitlements);
    config.exceptions = paths(inputs.exceptions, file.exceptions);
    let file_path = |path: Option<PathBuf>| {
        path.map(|path| PathBuf::from(relative_to(&base, path.display().to_string())))
    };
    config.register = inputs.register.or(file_path(file.register));
    config.owners = inputs.owners.or(file_path(file.owners));
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
    let import_settings = ImportSettings {
        tests_format: file.tests_format,
        logs_format: file.logs_format,
        entitlements_format: file.entitlements_format,
        tests_mapping: file.tests_mapping,
        logs_mapping: file.logs_mapping,
        entitlements_mapping: file.entitlements_mapping,
        account_environments: file.account_environments,
        credential_report: file.credential_report,
    };
    config.imports = resolve_imports(inputs.imports, import_settings, &base)?;
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

/// The flags of `corroborate summarize`.
#[derive(Debug, Args)]
pub struct SummarizeArgs {
    /// Access logs: a file, folder or glob (repeatable).
    #[arg(long, value_name = "PATH", required = true)]
    pub logs: Vec<String>,
    /// The summary file to write (Parquet); rejected rows go to NAME.rejects.csv beside it.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Entitlement exports (optional): identities whose grants name literal ids keep raw paths.
    #[arg(long, value_name = "PATH")]
    pub entitlements: Vec<String>,
    /// Keep only events at or after this time (RFC 3339); others are counted.
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Keep only events before this time (RFC 3339); others are counted.
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// A folder of rule files overriding the built-in ones (for `source_normalizers`).
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// Fail with exit code 2, writing nothing, when any log row is rejected.
    #[arg(long)]
    pub strict: bool,
}

/// Resolves the flags of `corroborate summarize`.
pub fn resolve_summarize(args: SummarizeArgs) -> Result<SummarizeConfig> {
    let window = match (&args.since, &args.until) {
        (None, None) => None,
        (since, until) => {
            let since = match since {
                Some(text) => parse_time("--since", text)?,
                None => ALL_TIME.0,
            };
            let until = match until {
                Some(text) => parse_time("--until", text)?,
                None => ALL_TIME.1,
            };
            if since >= until {
                return Err(Error::Config(format!(
                    "the window is empty: --since {since} is not before --until {until}"
                )));
            }
            Some((since, until))
        }
    };
    Ok(SummarizeConfig {
        logs: args.logs,
        entitlements: args.entitlements,
        out: args.out,
        window,
        rules_dir: args.rules,
        strict: args.strict,
    })
}
