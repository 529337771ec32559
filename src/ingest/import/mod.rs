//! Importers for the formats teams really export: each maps one foreign format
//! onto the native columns of its input kind, so the normalisers and everything
//! after them work unchanged.
//!
//! A file's format comes from `--tests-format`, `--logs-format` or
//! `--entitlements-format`, or, with `auto` (the default), from its content
//! ([`sniff`]). Files that no built-in importer recognises are read through the
//! kind's mapping file when one is given, and as native columns otherwise.
//!
//! Every record of a file is either read or rejected, once: an importer that
//! turns one record into several rows (an IAM user with many allowed actions)
//! counts the record once. One that folds records together (the stages of a
//! Kubernetes request) counts each folded record as read and reports the count
//! in the file's warnings.

mod aws_iam;
mod cloudtrail;
mod environments;
mod junit;
mod k8s_audit;
mod k8s_rbac;
pub mod mapping;
mod newman;
mod ocsf;

use std::borrow::Cow;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use environments::Environments;
pub use mapping::Mapping;

use super::files::{Compression, Format, InputFile};
use super::{Accumulator, Fields, InputKind, Position, RowError, Tally};
use crate::error::{Error, Result};

/// How many decompressed bytes [`sniff`] looks at.
const SNIFF_BYTES: usize = 64 << 10;

/// The format of an input file's records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ImportFormat {
    /// Tell each file's format from its content.
    #[default]
    Auto,
    /// The native columns, in CSV, JSON Lines, JSON or Parquet.
    Native,
    CloudTrail,
    K8sAudit,
    Ocsf,
    Newman,
    Junit,
    AwsIam,
    K8sRbac,
    /// Any CSV, JSON or text export, read through a mapping file.
    Mapping,
    /// An IAM credential report or `list-access-keys` output, given with
    /// `--credential-report`.
    AwsCredentialReport,
}

impl ImportFormat {
    /// The values a user may give on the command line.
    pub const CHOICES: &'static [ImportFormat] = &[
        ImportFormat::Auto,
        ImportFormat::Native,
        ImportFormat::CloudTrail,
        ImportFormat::K8sAudit,
        ImportFormat::Ocsf,
        ImportFormat::Newman,
        ImportFormat::Junit,
        ImportFormat::AwsIam,
        ImportFormat::K8sRbac,
        ImportFormat::Mapping,
    ];

    /// Returns the name used on the command line and in the manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            ImportFormat::Auto => "auto",
            ImportFormat::Native => "native",
            ImportFormat::CloudTrail => "cloudtrail",
            ImportFormat::K8sAudit => "k8s-audit",
            ImportFormat::Ocsf => "ocsf",
            ImportFormat::Newman => "newman",
            ImportFormat::Junit => "junit",
            ImportFormat::AwsIam => "aws-iam",
            ImportFormat::K8sRbac => "k8s-rbac",
            ImportFormat::Mapping => "mapping",
            ImportFormat::AwsCredentialReport => "aws-credential-report",
        }
    }

    /// Parses a command-line value, case-insensitively and with `_` for `-`.
    pub fn parse(text: &str) -> Option<ImportFormat> {
        let folded = text.trim().to_ascii_lowercase().replace('_', "-");
        ImportFormat::CHOICES
            .iter()
            .copied()
            .find(|format| format.as_str() == folded)
    }

    /// Returns whether files of this format can be input of `kind`. `auto`,
    /// `native` and `mapping` fit every kind.
    pub fn fits(self, kind: InputKind) -> bool {
        match self {
            ImportFormat::Auto | ImportFormat::Native | ImportFormat::Mapping => true,
            ImportFormat::CloudTrail | ImportFormat::K8sAudit | ImportFormat::Ocsf => {
                kind == InputKind::Logs
            }
            ImportFormat::Newman | ImportFormat::Junit => kind == InputKind::Tests,
            ImportFormat::AwsIam | ImportFormat::K8sRbac | ImportFormat::AwsCredentialReport => {
                kind == InputKind::Entitlements
            }
        }
    }

    /// Lists the values that fit `kind`, for error messages.
    pub fn expected_for(kind: InputKind) -> String {
        ImportFormat::CHOICES
            .iter()
            .filter(|format| format.fits(kind))
            .map(|format| format.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl std::fmt::Display for ImportFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The format and mapping file chosen for one input kind.
#[derive(Clone, Debug, Default)]
pub struct KindImport {
    pub format: ImportFormat,
    /// A TOML mapping file: how `mapping` files become native columns, and how
    /// `newman` and `junit` reports yield identity, credential state and expected
    /// outcome from test names.
    pub mapping: Option<PathBuf>,
}

/// Settings for reading foreign exports: per input kind a format and mapping
/// file, and the lookups that several importers share.
#[derive(Clone, Debug, Default)]
pub struct ImportConfig {
    pub tests: KindImport,
    pub logs: KindImport,
    pub entitlements: KindImport,
    /// A CSV (`account_id,environment`) or TOML file naming the environment of
    /// each AWS account id or Kubernetes cluster name.
    pub account_environments: Option<PathBuf>,
    /// IAM credential reports (CSV, or the JSON of `aws iam get-credential-report`)
    /// or `aws iam list-access-keys` outputs, read as entitlements.
    pub credential_reports: Vec<PathBuf>,
}

impl ImportConfig {
    /// Returns the settings for `kind`. Exceptions have none and are always native.
    pub fn for_kind(&self, kind: InputKind) -> Option<&KindImport> {
        match kind {
            InputKind::Tests => Some(&self.tests),
            InputKind::Logs => Some(&self.logs),
            InputKind::Entitlements => Some(&self.entitlements),
            InputKind::Exceptions | InputKind::Summaries => None,
        }
    }
}

/// Builds the error for an XML, YAML or text file that no importer was chosen for.
pub fn unreadable_natively(file: &InputFile) -> Error {
    let hint = match (file.kind, file.format) {
        (InputKind::Tests, Format::Xml) => "give --tests-format junit",
        (InputKind::Entitlements, Format::Yaml) => "give --entitlements-format k8s-rbac",
        (kind, _) => match kind {
            InputKind::Tests => "describe it in a --tests-mapping file",
            InputKind::Logs => "describe it in a --logs-mapping file",
            _ => "describe it in a --entitlements-mapping file",
        },
    };
    Error::Config(format!(
        "`{}` is {} and no importer recognised it as {}; {hint}",
        file.path,
        file.format.as_str(),
        file.kind.as_str()
    ))
}

/// The reading plan of one input kind: the format chosen for each file, the
/// mapping file, the environment lookup and what the pre-passes over all files
/// gathered.
pub struct Plan {
    kind: InputKind,
    formats: Vec<ImportFormat>,
    mapping: Option<Arc<Mapping>>,
    environments: Environments,
    audit_choices: k8s_audit::Choices,
    rbac_roles: k8s_rbac::RoleCatalog,
    iam_catalog: aws_iam::Catalog,
}

impl Plan {
    /// Chooses a format for every file and adds the credential reports to the
    /// entitlement files. Then loads the mapping and environment files, and runs
    /// the pre-passes that need every file: request stages of Kubernetes audit
    /// logs, RBAC roles, and IAM managed policies and groups.
    pub fn new(kind: InputKind, files: &mut Vec<InputFile>, config: &ImportConfig) -> Result<Plan> {
        let default = KindImport::default();
        let settings = config.for_kind(kind).unwrap_or(&default);
        if !settings.format.fits(kind) {
            return Err(Error::Config(format!(
                "--{}-format {} does not fit {}; expected one of: {}",
                kind.as_str(),
                settings.format,
                kind.as_str(),
                ImportFormat::expected_for(kind)
            )));
        }
        let mapping = match &settings.mapping {
            Some(path) => Some(Arc::new(Mapping::load(path, kind)?)),
            None => None,
        };
        if kind == InputKind::Entitlements {
            for path in &config.credential_reports {
                files.push(credential_report_file(path)?);
            }
        }

        let mut formats = Vec::with_capacity(files.len());
        for file in files.iter_mut() {
            let (format, reason) = choose(file, settings, mapping.as_deref())?;
            file.import_format = format.as_str();
            if format == ImportFormat::Mapping
                || (matches!(format, ImportFormat::Newman | ImportFormat::Junit)
                    && mapping.is_some())
            {
                file.mapping = mapping.as_ref().map(|mapping| mapping.path.clone());
            }
            // Native files keep the stage-per-line logging quiet; every import is logged.
            if format == ImportFormat::Native && reason == "default" {
                tracing::debug!(path = %file.path, "reading {} as native columns", kind.as_str());
            } else {
                tracing::info!(path = %file.path, "reading {} as {format} ({reason})", kind.as_str());
            }
            formats.push(format);
        }
        if formats.contains(&ImportFormat::Mapping) && mapping.is_none() {
            return Err(Error::Config(format!(
                "--{}-format mapping needs a mapping file; give --{}-mapping FILE",
                kind.as_str(),
                kind.as_str()
            )));
        }

        let environments = match &config.account_environments {
            Some(path) => Environments::load(path)?,
            None => Environments::default(),
        };
        let mut plan = Plan {
            kind,
            formats,
            mapping,
            environments,
            audit_choices: k8s_audit::Choices::default(),
            rbac_roles: k8s_rbac::RoleCatalog::default(),
            iam_catalog: aws_iam::Catalog::default(),
        };
        plan.prepare(files)?;
        Ok(plan)
    }

    /// Returns the format chosen for file `index`.
    pub fn format_of(&self, index: usize) -> ImportFormat {
        self.formats[index]
    }

    fn prepare(&mut self, files: &mut [InputFile]) -> Result<()> {
        for (index, file) in files.iter_mut().enumerate() {
            match self.formats[index] {
                ImportFormat::K8sAudit => {
                    k8s_audit::choose_stages(file, index, &mut self.audit_choices)?;
                }
                ImportFormat::K8sRbac => k8s_rbac::collect_roles(file, &mut self.rbac_roles)?,
                ImportFormat::AwsIam => aws_iam::collect_catalog(file, &mut self.iam_catalog)?,
                _ => {}
            }
        }
        Ok(())
    }

    /// Reads file `index` with its importer.
    pub(in crate::ingest) fn read<A, F>(
        &self,
        index: usize,
        file: &mut InputFile,
        new_accumulator: &F,
    ) -> Result<Tally<A>>
    where
        A: Accumulator,
        F: Fn() -> A + Sync,
    {
        let context = Context {
            kind: self.kind,
            name: Arc::from(file.path.as_str()),
            environments: &self.environments,
        };
        let passthrough;
        let mapping = match &self.mapping {
            Some(mapping) => mapping.as_ref(),
            None => {
                passthrough = Mapping::passthrough(self.kind);
                &passthrough
            }
        };
        let mut warnings = Vec::new();
        let tally = match self.formats[index] {
            ImportFormat::CloudTrail => cloudtrail::read(&context, file, new_accumulator)?,
            ImportFormat::K8sAudit => k8s_audit::read(
                &context,
                file,
                index,
                &self.audit_choices,
                new_accumulator,
                &mut warnings,
            )?,
            ImportFormat::Ocsf => ocsf::read(&context, file, new_accumulator)?,
            ImportFormat::Newman => newman::read(&context, file, mapping, new_accumulator)?,
            ImportFormat::Junit => {
                junit::read(&context, file, mapping, new_accumulator, &mut warnings)?
            }
            ImportFormat::AwsIam => aws_iam::read(
                &context,
                file,
                &self.iam_catalog,
                new_accumulator,
                &mut warnings,
            )?,
            ImportFormat::AwsCredentialReport => {
                aws_iam::read_credential_report(&context, file, new_accumulator)?
            }
            ImportFormat::K8sRbac => k8s_rbac::read(
                &context,
                file,
                &self.rbac_roles,
                new_accumulator,
                &mut warnings,
            )?,
            ImportFormat::Mapping => mapping::read(&context, file, mapping, new_accumulator)?,
            ImportFormat::Auto | ImportFormat::Native => {
                unreachable!("native files are read by the native readers")
            }
        };
        for warning in &warnings {
            tracing::warn!(path = %file.path, "{warning}");
        }
        file.warnings.extend(warnings);
        Ok(tally)
    }
}

/// The facts every importer needs about the file it reads.
pub(super) struct Context<'p> {
    pub kind: InputKind,
    /// The file's path, as rejects and origins name it.
    pub name: Arc<str>,
    pub environments: &'p Environments,
}

fn credential_report_file(path: &Path) -> Result<InputFile> {
    if !path.is_file() {
        return Err(Error::InputNotFound {
            path: path.display().to_string(),
        });
    }
    let (format, compression) =
        super::files::detect(path).unwrap_or((Format::Csv, Compression::None));
    let format = if format == Format::Csv && starts_with_brace(path) {
        Format::Json
    } else {
        format
    };
    let mut file = InputFile::new(InputKind::Entitlements, path, format, compression);
    file.import_format = ImportFormat::AwsCredentialReport.as_str();
    Ok(file)
}

fn starts_with_brace(path: &Path) -> bool {
    let mut head = [0u8; 64];
    std::fs::File::open(path)
        .and_then(|mut file| file.read(&mut head))
        .is_ok_and(|n| head[..n].iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{'))
}

/// Chooses the format of one file, with the reason to log.
fn choose(
    file: &mut InputFile,
    settings: &KindImport,
    mapping: Option<&Mapping>,
) -> Result<(ImportFormat, String)> {
    if file.import_format == ImportFormat::AwsCredentialReport.as_str() {
        return Ok((
            ImportFormat::AwsCredentialReport,
            "--credential-report".to_string(),
        ));
    }
    let flag = format!("--{}-format", file.kind.as_str());
    if settings.format != ImportFormat::Auto {
        return Ok((settings.format, flag));
    }
    if let Some(found) = sniff(file)? {
        return Ok((found, "recognised by its content".to_string()));
    }
    if let Some(mapping) = mapping
        && mapping.applies_to(&file.path)
    {
        return Ok((
            ImportFormat::Mapping,
            format!("mapping file {}", mapping.path),
        ));
    }
    Ok((ImportFormat::Native, "default".to_string()))
}

/// Tells a foreign format of `file`'s kind from its first bytes, decompressed.
/// Returns `None` when no importer of the kind recognises the content.
pub fn sniff(file: &InputFile) -> Result<Option<ImportFormat>> {
    if file.format == Format::Parquet {
        return Ok(None);
    }
    let head = read_head(file)?;
    let text = String::from_utf8_lossy(&head);
    Ok(recognise(file.kind, file.format, &text))
}

/// Recognises a format from the start of a file. The markers are keys that the
/// format always writes near the start of a record.
fn recognise(kind: InputKind, syntax: Format, head: &str) -> Option<ImportFormat> {
    let trimmed = head.trim_start_matches('\u{feff}').trim_start();
    match kind {
        InputKind::Logs => {
            if !trimmed.starts_with(['{', '[']) {
                return None;
            }
            if head.contains("auditID")
                || head.contains("\"methodName\":\"io.k8s.")
                || head.contains("\"methodName\": \"io.k8s.")
            {
                Some(ImportFormat::K8sAudit)
            } else if head.contains("\"eventSource\"")
                && (head.contains("\"userIdentity\"") || head.contains("\"eventVersion\""))
            {
                Some(ImportFormat::CloudTrail)
            } else if head.contains("\"class_uid\"") && head.contains("6003") {
                Some(ImportFormat::Ocsf)
            } else {
                None
            }
        }
        InputKind::Tests => {
            if syntax == Format::Xml || trimmed.starts_with('<') {
                (head.contains("<testsuite") || head.contains("<testcase"))
                    .then_some(ImportFormat::Junit)
            } else if trimmed.starts_with('{')
                && head.contains("\"run\"")
                && (head.contains("\"executions\"") || head.contains("\"collection\""))
            {
                Some(ImportFormat::Newman)
            } else {
                None
            }
        }
        InputKind::Entitlements => {
            if head.contains("\"UserDetailList\"")
                || head.contains("\"RoleDetailList\"")
                || head.contains("\"GroupDetailList\"")
            {
                Some(ImportFormat::AwsIam)
            } else if head.contains("rbac.authorization.k8s.io")
                || ["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"]
                    .iter()
                    .any(|kind| {
                        head.contains(&format!("kind: {kind}\n"))
                            || head.contains(&format!("\"kind\":\"{kind}\""))
                            || head.contains(&format!("\"kind\": \"{kind}\""))
                    })
            {
                Some(ImportFormat::K8sRbac)
            } else {
                None
            }
        }
        InputKind::Exceptions | InputKind::Summaries => None,
    }
}

fn read_head(file: &InputFile) -> Result<Vec<u8>> {
    let path = PathBuf::from(&file.path);
    let error = |source| Error::Read {
        path: path.clone(),
        source,
    };
    let raw = std::fs::File::open(&path).map_err(error)?;
    let mut stream: Box<dyn Read> = match file.compression {
        Compression::None => Box::new(raw),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(raw)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(raw).map_err(error)?),
    };
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    let mut buffer = [0u8; 8192];
    while head.len() < SNIFF_BYTES {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&buffer[..n]),
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            // A damaged file is reported by the reader, which rejects what it cannot read.
            Err(_) => break,
        }
    }
    Ok(head)
}

/// One row of native columns that an importer fills in.
#[derive(Debug)]
pub(super) struct NativeRow<'a> {
    pub fields: Vec<Option<Cow<'a, str>>>,
}

impl<'a> NativeRow<'a> {
    pub fn new(kind: InputKind) -> NativeRow<'a> {
        NativeRow {
            fields: vec![None; kind.columns().len()],
        }
    }

    /// Sets a column, trimming the value; a blank value leaves it absent.
    pub fn set(&mut self, column: usize, value: impl Into<Cow<'a, str>>) {
        let value = value.into();
        let trimmed = value.trim();
        if trimmed.is_empty() {
            self.fields[column] = None;
        } else if trimmed.len() == value.len() {
            self.fields[column] = Some(value);
        } else {
            self.fields[column] = Some(Cow::Owned(trimmed.to_string()));
        }
    }

    /// Sets a column when the value is present.
    pub fn set_opt(&mut self, column: usize, value: Option<impl Into<Cow<'a, str>>>) {
        if let Some(value) = value {
            self.set(column, value);
        }
    }

    pub fn get(&self, column: usize) -> Option<&str> {
        self.fields[column].as_deref()
    }

    pub fn as_fields(&self) -> &Fields<'a> {
        &self.fields
    }
}

/// Adds the rows one record produced, counting the record once: read when every
/// row was accepted, else one reject that gives the first row's reason. Rows
/// accepted before a rejected one stay accepted.
pub(super) fn add_record_rows<A: Accumulator>(
    tally: &mut Tally<A>,
    name: &Arc<str>,
    position: Position,
    rows: &[NativeRow<'_>],
) {
    let mut first_error: Option<RowError> = None;
    let mut failed = 0usize;
    for row in rows {
        if let Err(error) = tally.data.add(name, position, row.as_fields()) {
            failed += 1;
            first_error.get_or_insert(error);
        }
    }
    match first_error {
        None => tally.read += 1,
        Some(mut error) => {
            if rows.len() > 1 {
                error.reason = format!(
                    "{failed} of the record's {} rows were rejected; the first: {}",
                    rows.len(),
                    error.reason
                );
            }
            tally.reject(name, position, error);
        }
    }
}

/// Checks that a test row from a Newman or JUnit report has every required
/// column, so a missing one is reported with where to set it. `identity` may be
/// absent when the credential state is `missing`.
pub(super) fn check_test_row(row: &NativeRow<'_>, hint: &str) -> Result<(), RowError> {
    use super::schema::TEST_COLUMNS;
    let required = [
        "test_id",
        "executed_at",
        "credential_state",
        "identity",
        "method",
        "endpoint",
        "expected",
        "status_code",
    ];
    let missing_state = row
        .get(super::schema::column(TEST_COLUMNS, "credential_state"))
        .is_some_and(|state| crate::model::fold_enum_text(state) == "missing");
    for name in required {
        if name == "identity" && missing_state {
            continue;
        }
        let index = super::schema::column(TEST_COLUMNS, name);
        if row.get(index).is_none() {
            return Err(RowError::new(
                TEST_COLUMNS[index],
                format!("missing required value; {hint}"),
                "",
            ));
        }
    }
    Ok(())
}

/// A discarding accumulator for pre-passes that only gather state.
#[derive(Default)]
pub(super) struct Discard;

impl Accumulator for Discard {
    fn add(&mut self, _: &Arc<str>, _: Position, _: &Fields<'_>) -> Result<(), RowError> {
        Ok(())
    }

    fn merge(&mut self, _: Discard) {}
}

/// Parses a JSON text into a tree, for importers of formats whose records are
/// small or deeply nested.
pub(super) fn parse_json(bytes: &[u8]) -> Result<serde_json::Value, RowError> {
    serde_json::from_slice(bytes).map_err(|error| {
        RowError::new(
            "",
            format!("invalid JSON: {error}"),
            &String::from_utf8_lossy(bytes),
        )
    })
}

/// Follows a path of object keys, returning `None` when a step is missing or
/// not an object.
pub(super) fn at<'v>(value: &'v serde_json::Value, path: &[&str]) -> Option<&'v serde_json::Value> {
    let mut current = value;
    for key in path {
        current = current.as_object()?.get(*key)?;
    }
    Some(current)
}

/// Returns the text of a string, number or boolean at `path`, or `None` for
/// anything else or a blank string.
pub(super) fn text_at<'v>(value: &'v serde_json::Value, path: &[&str]) -> Option<Cow<'v, str>> {
    match at(value, path)? {
        serde_json::Value::String(text) if !text.trim().is_empty() => Some(Cow::Borrowed(text)),
        serde_json::Value::Number(number) => Some(Cow::Owned(number.to_string())),
        serde_json::Value::Bool(flag) => Some(Cow::Borrowed(if *flag { "true" } else { "false" })),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip() {
        for format in ImportFormat::CHOICES {
            assert_eq!(ImportFormat::parse(format.as_str()), Some(*format));
        }
        assert_eq!(
            ImportFormat::parse("K8S_AUDIT"),
            Some(ImportFormat::K8sAudit)
        );
        assert_eq!(ImportFormat::parse("xml"), None);
    }

    #[test]
    fn formats_fit_their_kind() {
        assert!(ImportFormat::CloudTrail.fits(InputKind::Logs));
        assert!(!ImportFormat::CloudTrail.fits(InputKind::Tests));
        assert!(ImportFormat::Junit.fits(InputKind::Tests));
        assert!(ImportFormat::K8sRbac.fits(InputKind::Entitlements));
        assert!(ImportFormat::Mapping.fits(InputKind::Logs));
    }

    #[test]
    fn recognise_by_markers() {
        let cloudtrail = r#"{"Records": [{"eventVersion": "1.08", "userIdentity": {}, "eventSource": "ec2.amazonaws.com"}]}"#;
        assert_eq!(
            recognise(InputKind::Logs, Format::Json, cloudtrail),
            Some(ImportFormat::CloudTrail)
        );
        let audit = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"x"}"#;
        assert_eq!(
            recognise(InputKind::Logs, Format::JsonLines, audit),
            Some(ImportFormat::K8sAudit)
        );
        let ocsf = r#"{"class_uid": 6003, "activity_id": 1}"#;
        assert_eq!(
            recognise(InputKind::Logs, Format::Json, ocsf),
            Some(ImportFormat::Ocsf)
        );
        let native = "event_time,identity,service\n";
        assert_eq!(recognise(InputKind::Logs, Format::Csv, native), None);
        let junit = "<?xml version=\"1.0\"?>\n<testsuites>";
        assert_eq!(
            recognise(InputKind::Tests, Format::Xml, junit),
            Some(ImportFormat::Junit)
        );
        let rbac = "apiVersion: v1\nitems:\n- apiVersion: rbac.authorization.k8s.io/v1\n  kind: RoleBinding\n";
        assert_eq!(
            recognise(InputKind::Entitlements, Format::Yaml, rbac),
            Some(ImportFormat::K8sRbac)
        );
        let iam = r#"{"UserDetailList": [], "GroupDetailList": []}"#;
        assert_eq!(
            recognise(InputKind::Entitlements, Format::Json, iam),
            Some(ImportFormat::AwsIam)
        );
    }

    #[test]
    fn recognise_leaves_other_kinds_alone() {
        let cloudtrail =
            r#"{"Records": [{"eventSource": "s3.amazonaws.com", "userIdentity": {}}]}"#;
        assert_eq!(
            recognise(InputKind::Entitlements, Format::Json, cloudtrail),
            None
        );
        assert_eq!(recognise(InputKind::Tests, Format::Json, cloudtrail), None);
    }
}
