//! AWS IAM `aws iam get-account-authorization-details` output as entitlements,
//! and IAM credential reports or `aws iam list-access-keys` output for the keys.
//!
//! Every user and role becomes an identity with one grant per action pattern
//! that an Allow statement of its policies names: inline policies, attached
//! managed policies (their default version), and for users the inline and
//! attached policies of their groups. Managed policies and groups are gathered
//! from every aws-iam file of the input first, so a paginated export split over
//! several files still resolves.
//!
//! AWS managed policies that the export leaves out are unknown, except
//! `AdministratorAccess`, which allows every action. Not modelled, and said so
//! in each file's warnings and the manifest: Deny
//! statements, `NotAction`, `Resource` scoping (a grant covers its actions on
//! every resource), `Condition`, permissions boundaries, service control
//! policies and resource-based policies.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use base64::Engine;
use serde_json::Value;
use serde_json::value::RawValue;

use super::super::schema::{ENTITLEMENT_COLUMNS, column};
use super::{Context, NativeRow, add_record_rows, at, text_at};
use crate::error::{Error, Result};
use crate::ingest::files::InputFile;
use crate::ingest::{Accumulator, Position, RowError, Tally};

const IDENTITY: usize = column(ENTITLEMENT_COLUMNS, "identity");
const IDENTITY_TYPE: usize = column(ENTITLEMENT_COLUMNS, "identity_type");
const OWNER: usize = column(ENTITLEMENT_COLUMNS, "owner");
const ENVIRONMENT: usize = column(ENTITLEMENT_COLUMNS, "environment");
const ACTION: usize = column(ENTITLEMENT_COLUMNS, "action");
const GRANTED_AT: usize = column(ENTITLEMENT_COLUMNS, "granted_at");
const STATUS: usize = column(ENTITLEMENT_COLUMNS, "status");
const CREDENTIAL_ID: usize = column(ENTITLEMENT_COLUMNS, "credential_id");
const CREDENTIAL_CREATED_AT: usize = column(ENTITLEMENT_COLUMNS, "credential_created_at");
const CREDENTIAL_ROTATED_AT: usize = column(ENTITLEMENT_COLUMNS, "credential_rotated_at");

/// The lists of an authorization details export, in the order records are numbered.
const LISTS: [&str; 4] = [
    "UserDetailList",
    "GroupDetailList",
    "RoleDetailList",
    "Policies",
];

/// Managed policies and groups from every aws-iam file of the input.
#[derive(Debug, Default)]
pub(super) struct Catalog {
    /// The default version's document by policy ARN.
    policies: HashMap<String, Value>,
    /// Groups by name.
    groups: HashMap<String, Value>,
}

/// The pre-pass: gathers managed policies and groups.
pub(super) fn collect_catalog(file: &mut InputFile, catalog: &mut Catalog) -> Result<()> {
    let bytes = read_all(file)?;
    // A file that does not parse is rejected, with its position, by the read.
    let Ok(export) = serde_json::from_slice::<Value>(&bytes) else {
        return Ok(());
    };
    for policy in at(&export, &["Policies"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(arn) = text_at(policy, &["Arn"]) else {
            continue;
        };
        if let Some(document) = default_version(policy) {
            catalog.policies.insert(arn.into_owned(), document);
        }
    }
    for group in at(&export, &["GroupDetailList"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(name) = text_at(group, &["GroupName"]) {
            catalog.groups.insert(name.into_owned(), group.clone());
        }
    }
    Ok(())
}

fn read_all(file: &mut InputFile) -> Result<Vec<u8>> {
    let path = file.path.clone();
    file.read_with(|stream| {
        let mut bytes = Vec::new();
        stream
            .read_to_end(&mut bytes)
            .map_err(|source| Error::Read {
                path: path.clone().into(),
                source,
            })?;
        Ok(bytes)
    })
}

/// The document of a managed policy's default version.
fn default_version(policy: &Value) -> Option<Value> {
    let default_id = text_at(policy, &["DefaultVersionId"]);
    let versions = at(policy, &["PolicyVersionList"])?.as_array()?;
    let version = versions
        .iter()
        .find(|version| at(version, &["IsDefaultVersion"]).and_then(Value::as_bool) == Some(true))
        .or_else(|| {
            versions.iter().find(|version| {
                text_at(version, &["VersionId"]).is_some()
                    && text_at(version, &["VersionId"]) == default_id
            })
        })?;
    decode_document(at(version, &["Document"])?)
}

/// A policy document as an object: the CLI prints it as JSON, the raw API as
/// URL-encoded JSON text.
fn decode_document(document: &Value) -> Option<Value> {
    match document {
        Value::Object(_) => Some(document.clone()),
        Value::String(text) => serde_json::from_str(text)
            .ok()
            .or_else(|| serde_json::from_str(&percent_decode(text)).ok()),
        _ => None,
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let hex = |byte: u8| (byte as char).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'%' if index + 2 < bytes.len() => match (hex(bytes[index + 1]), hex(bytes[index + 2]))
            {
                (Some(high), Some(low)) => {
                    out.push((high * 16 + low) as u8);
                    index += 3;
                }
                _ => {
                    out.push(b'%');
                    index += 1;
                }
            },
            b'+' => {
                out.push(b' ');
                index += 1;
            }
            byte => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Counts of what the file holds but grants do not model.
#[derive(Debug, Default)]
struct NotModelled {
    deny: u64,
    not_action: u64,
    condition: u64,
    resource_scoped: u64,
    boundaries: u64,
    missing_policies: BTreeSet<String>,
    missing_groups: BTreeSet<String>,
    /// Policies already counted: a group or managed policy counts once, however
    /// many principals it applies to.
    counted: BTreeSet<String>,
}

impl NotModelled {
    /// The action patterns `document` grants; its statements count towards the
    /// warnings the first time the policy `key` is seen.
    fn grants_of(&mut self, key: String, document: &Value) -> Vec<String> {
        if self.counted.insert(key) {
            count_statements(document, self)
        } else {
            count_statements(document, &mut NotModelled::default())
        }
    }

    fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.deny > 0 {
            warnings.push(format!(
                "{} Deny statement(s) not modelled: grants come from Allow statements only, so a denied action may still look granted",
                self.deny
            ));
        }
        if self.not_action > 0 {
            warnings.push(format!(
                "{} Allow statement(s) with NotAction not modelled: the actions they allow are not granted here",
                self.not_action
            ));
        }
        if self.condition > 0 {
            warnings.push(format!(
                "{} statement(s) with a Condition read without it: their grants apply unconditionally",
                self.condition
            ));
        }
        if self.resource_scoped > 0 {
            warnings.push(format!(
                "{} Allow statement(s) limited to specific resources read as granting on every resource",
                self.resource_scoped
            ));
        }
        if self.boundaries > 0 {
            warnings.push(format!(
                "{} permissions boundary(ies) not modelled: grants may be broader than the boundary allows",
                self.boundaries
            ));
        }
        if !self.missing_policies.is_empty() {
            warnings.push(format!(
                "attached managed policies not in the input, so their grants are unknown: {}",
                self.missing_policies
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !self.missing_groups.is_empty() {
            warnings.push(format!(
                "groups not in the input, so their grants are unknown: {}",
                self.missing_groups
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        warnings
    }
}

/// Reads one authorization details export.
pub(super) fn read<A, F>(
    context: &Context<'_>,
    file: &mut InputFile,
    catalog: &Catalog,
    new_accumulator: &F,
    warnings: &mut Vec<String>,
) -> Result<Tally<A>>
where
    A: Accumulator,
    F: Fn() -> A + Sync,
{
    let bytes = read_all(file)?;
    let mut tally = Tally::new(new_accumulator());
    let name = &context.name;
    let export: BTreeMap<String, &RawValue> = match serde_json::from_slice(&bytes) {
        Ok(export) => export,
        Err(error) => {
            let reason = format!(
                "invalid JSON at line {} column {}: {error}",
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

    let mut not_modelled = NotModelled::default();
    let mut record = 0u64;
    for list in LISTS {
        let Some(raw) = export.get(list) else {
            continue;
        };
        let items: Vec<&RawValue> = match serde_json::from_str(raw.get()) {
            Ok(items) => items,
            Err(error) => {
                record += 1;
                let position = Position {
                    line: Some(line_of(&bytes, raw.get())),
                    record,
                };
                tally.reject(
                    name,
                    position,
                    RowError::new("", format!("`{list}` is not a list: {error}"), ""),
                );
                continue;
            }
        };
        for item in items {
            record += 1;
            let position = Position {
                line: Some(line_of(&bytes, item.get())),
                record,
            };
            let value: Value = match serde_json::from_str(item.get()) {
                Ok(value) => value,
                Err(error) => {
                    tally.reject(
                        name,
                        position,
                        RowError::new("", format!("invalid JSON: {error}"), ""),
                    );
                    continue;
                }
            };
            match list {
                "UserDetailList" | "RoleDetailList" => {
                    let is_role = list == "RoleDetailList";
                    match principal_rows(context, &value, is_role, catalog, &mut not_modelled) {
                        Ok(rows) => add_record_rows(&mut tally, name, position, &rows),
                        Err(error) => tally.reject(name, position, error),
                    }
                }
                "GroupDetailList" => {
                    // Groups grant through their users; count what they hold but cannot model.
                    tally.read += 1;
                }
                _ => {
                    if default_version(&value).is_some() {
                        tally.read += 1;
                    } else {
                        let policy = text_at(&value, &["Arn"]).unwrap_or_default().into_owned();
                        let error = RowError::new(
                            "",
                            "the managed policy has no readable default version document",
                            &policy,
                        );
                        tally.reject(name, position, error);
                    }
                }
            }
        }
    }
    if record == 0 {
        let reason = format!(
            "not an IAM authorization details export: none of {} is present",
            LISTS.join(", ")
        );
        let position = Position {
            line: Some(1),
            record: 1,
        };
        tally.reject(name, position, RowError::new("", reason, ""));
    }
    warnings.extend(not_modelled.warnings());
    Ok(tally)
}

fn line_of(bytes: &[u8], part: &str) -> u64 {
    let offset = (part.as_ptr() as usize)
        .saturating_sub(bytes.as_ptr() as usize)
        .min(bytes.len());
    1 + bytes[..offset].iter().filter(|&&b| b == b'\n').count() as u64
}

fn inline_policies(principal: &Value, list: &str) -> Vec<(String, Value)> {
    at(principal, &[list])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|policy| {
            let name = text_at(policy, &["PolicyName"])
                .unwrap_or_default()
                .into_owned();
            let document = decode_document(at(policy, &["PolicyDocument"])?)?;
            Some((name, document))
        })
        .collect()
}

fn attached_arns(principal: &Value) -> Vec<String> {
    at(principal, &["AttachedManagedPolicies"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|policy| text_at(policy, &["PolicyArn"]).map(Cow::into_owned))
        .collect()
}

/// The statements of a policy document: one object or a list.
fn statements(document: &Value) -> Vec<&Value> {
    match at(document, &["Statement"]) {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(statement @ Value::Object(_)) => vec![statement],
        _ => Vec::new(),
    }
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(text)) => vec![text.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// The action patterns a document's Allow statements grant, counting what the
/// grants leave out.
fn count_statements(document: &Value, not_modelled: &mut NotModelled) -> Vec<String> {
    let mut actions = Vec::new();
    for statement in statements(document) {
        let effect = text_at(statement, &["Effect"]).unwrap_or_default();
        if effect.eq_ignore_ascii_case("deny") {
            not_modelled.deny += 1;
            continue;
        }
        if !effect.eq_ignore_ascii_case("allow") {
            continue;
        }
        if at(statement, &["Condition"]).is_some() {
            not_modelled.condition += 1;
        }
        if at(statement, &["NotAction"]).is_some() {
            not_modelled.not_action += 1;
            continue;
        }
        let resources = strings(at(statement, &["Resource"]));
        if at(statement, &["NotResource"]).is_some()
            || resources.iter().any(|resource| resource != "*")
        {
            not_modelled.resource_scoped += 1;
        }
        actions.extend(strings(at(statement, &["Action"])));
    }
    actions
}

/// The rows of one user or role: one per granted action pattern, or one row of
/// identity attributes when it has none.
fn principal_rows<'v>(
    context: &Context<'_>,
    principal: &'v Value,
    is_role: bool,
    catalog: &Catalog,
    not_modelled: &mut NotModelled,
) -> Result<Vec<NativeRow<'v>>, RowError> {
    let name_key = if is_role { "RoleName" } else { "UserName" };
    let Some(identity) = text_at(principal, &[name_key]) else {
        return Err(RowError::new(
            "identity",
            format!("the entry has no `{name_key}`"),
            "",
        ));
    };
    let created = text_at(principal, &["CreateDate"]);

    let mut granted: BTreeSet<String> = BTreeSet::new();
    let inline_list = if is_role {
        "RolePolicyList"
    } else {
        "UserPolicyList"
    };
    for (policy, document) in inline_policies(principal, inline_list) {
        granted.extend(
            not_modelled.grants_of(format!("{inline_list}/{identity}/{policy}"), &document),
        );
    }
    let mut managed = attached_arns(principal);
    if !is_role {
        for group in strings(at(principal, &["GroupList"])) {
            match catalog.groups.get(&group) {
                Some(definition) => {
                    for (policy, document) in inline_policies(definition, "GroupPolicyList") {
                        granted.extend(
                            not_modelled
                                .grants_of(format!("GroupPolicyList/{group}/{policy}"), &document),
                        );
                    }
                    managed.extend(attached_arns(definition));
                }
                None => {
                    not_modelled.missing_groups.insert(group);
                }
            }
        }
    }
    for arn in managed {
        match catalog.policies.get(&arn) {
            Some(document) => granted.extend(not_modelled.grants_of(arn, document)),
            // Exports often leave out AWS managed policies. This one allows every
            // action, and missing it would hide the broadest grant there is.
            None if arn.ends_with(":iam::aws:policy/AdministratorAccess") => {
                granted.insert("*".to_string());
            }
            None => {
                not_modelled.missing_policies.insert(arn);
            }
        }
    }
    if at(principal, &["PermissionsBoundary"]).is_some_and(|boundary| !boundary.is_null()) {
        not_modelled.boundaries += 1;
    }

    let account = text_at(principal, &["Arn"])
        .and_then(|arn| arn.split(':').nth(4).map(str::to_string))
        .filter(|account| !account.is_empty());
    let environment = account.map(|account| context.environments.lookup(&account).into_owned());
    let identity_type = is_role.then(|| role_type(principal)).flatten();
    let owner = owner_tag(principal);

    let base = |row: &mut NativeRow<'v>| {
        row.set(IDENTITY, identity.clone());
        row.set_opt(IDENTITY_TYPE, identity_type);
        row.set_opt(OWNER, owner.clone());
        row.set_opt(ENVIRONMENT, environment.clone());
    };
    if granted.is_empty() {
        let mut row = NativeRow::new(context.kind);
        base(&mut row);
        return Ok(vec![row]);
    }
    let mut rows = Vec::with_capacity(granted.len());
    for action in granted {
        let mut row = NativeRow::new(context.kind);
        base(&mut row);
        row.set(ACTION, action);
        row.set(STATUS, "active");
        // The export does not say when a policy was attached; no grant is older
        // than its principal.
        row.set_opt(GRANTED_AT, created.clone());
        rows.push(row);
    }
    Ok(rows)
}

/// Roles that a service assumes are workloads; others may be assumed by people.
fn role_type(role: &Value) -> Option<&'static str> {
    let trust = at(role, &["AssumeRolePolicyDocument"]).and_then(decode_document)?;
    let service_trusted = statements(&trust).iter().any(|statement| {
        text_at(statement, &["Effect"]).is_some_and(|effect| effect.eq_ignore_ascii_case("allow"))
            && at(statement, &["Principal", "Service"]).is_some()
    });
    service_trusted.then_some("workload")
}

fn owner_tag(principal: &Value) -> Option<String> {
    let tags = at(principal, &["Tags"]).and_then(Value::as_array)?;
    let find = |wanted: &str| {
        tags.iter().find_map(|tag| {
            let key = text_at(tag, &["Key"])?;
            key.eq_ignore_ascii_case(wanted)
                .then(|| text_at(tag, &["Value"]).map(Cow::into_owned))
                .flatten()
        })
    };
    find("owner").or_else(|| find("team"))
}

/// Reads a credential report (CSV, or the JSON of `aws iam get-credential-report`
/// with the CSV in `Content`, base64-encoded or not) or `list-access-keys` output.
///
/// A credential report does not name access key ids, so its keys get the ids
/// `USER/access_key_1` and `USER/access_key_2`; only `list-access-keys` output
/// gives the ids that CloudTrail logs.
pub(super) fn read_credential_report<A, F>(
    context: &Context<'_>,
    file: &mut InputFile,
    new_accumulator: &F,
) -> Result<Tally<A>>
where
    A: Accumulator,
    F: Fn() -> A + Sync,
{
    let bytes = read_all(file)?;
    let mut tally = Tally::new(new_accumulator());
    let name = &context.name;
    let first = Position {
        line: Some(1),
        record: 1,
    };
    let starts_with_brace = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if !starts_with_brace {
        read_report_csv(context, &String::from_utf8_lossy(&bytes), &mut tally);
        return Ok(tally);
    }
    let document: Value = match serde_json::from_slice(&bytes) {
        Ok(document) => document,
        Err(error) => {
            let reason = format!(
                "invalid JSON at line {} column {}: {error}",
                error.line(),
                error.column()
            );
            tally.reject(name, first, RowError::new("", reason, ""));
            return Ok(tally);
        }
    };
    if let Some(keys) = at(&document, &["AccessKeyMetadata"]).and_then(Value::as_array) {
        for (index, key) in keys.iter().enumerate() {
            let position = Position {
                line: None,
                record: index as u64 + 1,
            };
            match access_key_row(context, key) {
                Ok(row) => add_record_rows(&mut tally, name, position, &row),
                Err(error) => tally.reject(name, position, error),
            }
        }
        return Ok(tally);
    }
    let Some(content) = text_at(&document, &["Content"]) else {
        let reason = "not a credential report or list-access-keys output: neither `Content` nor `AccessKeyMetadata` is present";
        tally.reject(name, first, RowError::new("", reason, ""));
        return Ok(tally);
    };
    let csv_text = if content.contains(',') {
        content.into_owned()
    } else {
        match base64::engine::general_purpose::STANDARD.decode(content.trim()) {
            Ok(decoded) => String::from_utf8_lossy(&decoded).into_owned(),
            Err(error) => {
                let reason = format!("`Content` is neither CSV nor base64: {error}");
                tally.reject(name, first, RowError::new("", reason, ""));
                return Ok(tally);
            }
        }
    };
    read_report_csv(context, &csv_text, &mut tally);
    Ok(tally)
}

fn access_key_row<'v>(
    context: &Context<'_>,
    key: &'v Value,
) -> Result<Vec<NativeRow<'v>>, RowError> {
    let user = text_at(key, &["UserName"])
        .ok_or_else(|| RowError::new("identity", "the key names no `UserName`", ""))?;
    let id = text_at(key, &["AccessKeyId"])
        .ok_or_else(|| RowError::new("credential_id", "the key has no `AccessKeyId`", ""))?;
    let mut row = NativeRow::new(context.kind);
    row.set(IDENTITY, user);
    // An inactive key cannot sign requests; listing it as held would report it stale.
    if text_at(key, &["Status"]).is_none_or(|status| status.eq_ignore_ascii_case("active")) {
        row.set(CREDENTIAL_ID, id);
        row.set_opt(CREDENTIAL_CREATED_AT, text_at(key, &["CreateDate"]));
    }
    Ok(vec![row])
}

fn read_report_csv<A: Accumulator>(context: &Context<'_>, text: &str, tally: &mut Tally<A>) {
    let name = &context.name;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: HashMap<String, usize> = match reader.headers() {
        Ok(headers) => headers
            .iter()
            .enumerate()
            .map(|(index, header)| (header.trim().to_ascii_lowercase(), index))
            .collect(),
        Err(error) => {
            let position = Position {
                line: Some(1),
                record: 0,
            };
            tally.reject(
                name,
                position,
                RowError::new("", format!("unreadable header row: {error}"), ""),
            );
            return;
        }
    };
    if !headers.contains_key("user") || !headers.contains_key("access_key_1_active") {
        let position = Position {
            line: Some(1),
            record: 0,
        };
        let reason = "not an IAM credential report: the columns `user` and `access_key_1_active` are missing";
        tally.reject(name, position, RowError::new("", reason, ""));
        return;
    }
    for (index, record) in reader.records().enumerate() {
        let position = Position {
            line: None,
            record: index as u64 + 1,
        };
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                let reason = format!("file is truncated or corrupt, reading stopped here: {error}");
                tally.reject(name, position, RowError::new("", reason, ""));
                return;
            }
        };
        let get = |column: &str| {
            headers
                .get(column)
                .and_then(|index| record.get(*index))
                .map(str::trim)
                .filter(|value| {
                    !value.is_empty()
                        && !matches!(*value, "N/A" | "not_supported" | "no_information")
                })
        };
        let Some(user) = get("user") else {
            tally.reject(
                name,
                position,
                RowError::new("identity", "missing required value", ""),
            );
            continue;
        };
        let identity = if user == "<root_account>" {
            "root"
        } else {
            user
        };
        let password = get("password_enabled");
        let mut rows = Vec::new();
        for slot in [1, 2] {
            if get(&format!("access_key_{slot}_active")) != Some("true") {
                continue;
            }
            let mut row = NativeRow::new(context.kind);
            row.set(IDENTITY, identity.to_string());
            row.set(CREDENTIAL_ID, format!("{identity}/access_key_{slot}"));
            row.set_opt(
                CREDENTIAL_ROTATED_AT,
                get(&format!("access_key_{slot}_last_rotated")).map(str::to_string),
            );
            rows.push(row);
        }
        let any_key = !rows.is_empty();
        let identity_type = if user == "<root_account>" || password == Some("true") {
            Some("human")
        } else if any_key && password == Some("false") {
            Some("service_account")
        } else {
            None
        };
        if rows.is_empty() {
            let mut row = NativeRow::new(context.kind);
            row.set(IDENTITY, identity.to_string());
            rows.push(row);
        }
        for row in &mut rows {
            row.set_opt(IDENTITY_TYPE, identity_type);
        }
        add_record_rows(tally, name, position, &rows);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_count_what_is_not_modelled() {
        let document = serde_json::json!({"Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:List*"], "Resource": "*"},
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::bucket/*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}},
            {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}
        ]});
        let mut not_modelled = NotModelled::default();
        let actions = count_statements(&document, &mut not_modelled);
        assert_eq!(actions, vec!["s3:GetObject", "s3:List*", "s3:PutObject"]);
        assert_eq!(not_modelled.deny, 1);
        assert_eq!(not_modelled.not_action, 1);
        assert_eq!(not_modelled.condition, 1);
        assert_eq!(not_modelled.resource_scoped, 1);
        assert_eq!(not_modelled.warnings().len(), 4);
    }

    #[test]
    fn single_statement_object() {
        let document =
            serde_json::json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}});
        let actions = count_statements(&document, &mut NotModelled::default());
        assert_eq!(actions, vec!["*"]);
    }

    #[test]
    fn url_encoded_document() {
        let encoded = serde_json::Value::String(
            "%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22sqs%3ASendMessage%22%7D%5D%7D".to_string(),
        );
        let document = decode_document(&encoded).unwrap();
        assert_eq!(
            count_statements(&document, &mut NotModelled::default()),
            vec!["sqs:SendMessage"]
        );
    }

    #[test]
    fn service_trusted_role_is_workload() {
        let role = serde_json::json!({"AssumeRolePolicyDocument": {"Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}});
        assert_eq!(role_type(&role), Some("workload"));
        let human = serde_json::json!({"AssumeRolePolicyDocument": {"Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"}, "Action": "sts:AssumeRole"}]}});
        assert_eq!(role_type(&human), None);
    }

    #[test]
    fn owner_from_tags() {
        let user = serde_json::json!({"Tags": [{"Key": "Team", "Value": "payments"}, {"Key": "Owner", "Value": "alice"}]});
        assert_eq!(owner_tag(&user).as_deref(), Some("alice"));
    }
}
