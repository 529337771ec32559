//! Kubernetes RBAC objects as entitlements: Roles, ClusterRoles, RoleBindings,
//! ClusterRoleBindings and ServiceAccounts, as YAML (several documents, or a
//! `kind: List`) or JSON, e.g. from `kubectl get roles,clusterroles,rolebindings,
//! clusterrolebindings,serviceaccounts -A -o yaml`.
//!
//! Each binding subject (service account, user or group) becomes an identity
//! with one grant per verb and resource of the bound role's rules. A grant is
//! the action `verb resource[/subresource]`, which is how the k8s-audit importer
//! names requests, or for `nonResourceURLs` a method and path pattern. Roles are
//! gathered from every k8s-rbac file of the input first, so roles and bindings
//! may come in separate files.
//!
//! Not modelled, and said so in the file's warnings: the namespace of a
//! RoleBinding (its grants count in every namespace), `resourceNames`, API groups,
//! and the members of groups (a group is its own identity).

use std::collections::{BTreeSet, HashMap};

use serde::Deserialize;
use serde_json::Value;

use super::super::schema::{ENTITLEMENT_COLUMNS, column};
use super::k8s_audit::SERVICE_NAME;
use super::{Context, NativeRow, add_record_rows, at, text_at};
use crate::error::{Error, Result};
use crate::ingest::files::{Format, InputFile};
use crate::ingest::{Accumulator, Position, RowError, Tally};

const IDENTITY: usize = column(ENTITLEMENT_COLUMNS, "identity");
const IDENTITY_TYPE: usize = column(ENTITLEMENT_COLUMNS, "identity_type");
const OWNER: usize = column(ENTITLEMENT_COLUMNS, "owner");
const SERVICE: usize = column(ENTITLEMENT_COLUMNS, "service");
const ACTION: usize = column(ENTITLEMENT_COLUMNS, "action");
const METHOD: usize = column(ENTITLEMENT_COLUMNS, "method");
const ENDPOINT: usize = column(ENTITLEMENT_COLUMNS, "endpoint");
const GRANTED_AT: usize = column(ENTITLEMENT_COLUMNS, "granted_at");
const STATUS: usize = column(ENTITLEMENT_COLUMNS, "status");

/// Rules of every Role and ClusterRole, by `(kind, namespace, name)`; a
/// ClusterRole has an empty namespace.
#[derive(Debug, Default)]
pub(super) struct RoleCatalog {
    roles: HashMap<(String, String, String), Vec<Value>>,
}

impl RoleCatalog {
    fn rules(&self, kind: &str, namespace: &str, name: &str) -> Option<&Vec<Value>> {
        let namespace = if kind == "ClusterRole" { "" } else { namespace };
        self.roles
            .get(&(kind.to_string(), namespace.to_string(), name.to_string()))
    }
}

/// Gathers the rules of every Role and ClusterRole, before any file is read.
pub(super) fn collect_roles(file: &mut InputFile, catalog: &mut RoleCatalog) -> Result<()> {
    let (objects, _) = read_objects(file)?;
    for object in objects.into_iter().flatten() {
        let kind = text_at(&object, &["kind"]).unwrap_or_default().into_owned();
        if kind != "Role" && kind != "ClusterRole" {
            continue;
        }
        let name = text_at(&object, &["metadata", "name"])
            .unwrap_or_default()
            .into_owned();
        let namespace = if kind == "Role" {
            text_at(&object, &["metadata", "namespace"])
                .unwrap_or_default()
                .into_owned()
        } else {
            String::new()
        };
        let rules = at(&object, &["rules"])
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        catalog.roles.insert((kind, namespace, name), rules);
    }
    Ok(())
}

/// The objects of a file, with Lists unpacked and an `Err` for each document
/// that could not be parsed, and the failure that stopped reading, if any.
type Objects = (Vec<Result<Value, String>>, Option<String>);

/// Reads the objects of a file (see [`Objects`]).
fn read_objects(file: &mut InputFile) -> Result<Objects> {
    let path = file.path.clone();
    let syntax = file.format;
    let bytes = file.read_with(|stream| {
        let mut bytes = Vec::new();
        stream
            .read_to_end(&mut bytes)
            .map_err(|source| Error::Read {
                path: path.clone().into(),
                source,
            })?;
        Ok(bytes)
    })?;
    let text = String::from_utf8_lossy(&bytes);
    let mut documents: Vec<Result<Value, String>> = Vec::new();
    let mut failure = None;
    match syntax {
        Format::Json => match serde_json::from_str::<Value>(&text) {
            Ok(value) => documents.push(Ok(value)),
            Err(error) => {
                failure = Some(format!(
                    "invalid JSON at line {} column {}: {error}",
                    error.line(),
                    error.column()
                ))
            }
        },
        Format::JsonLines => {
            for line in text.lines().filter(|line| !line.trim().is_empty()) {
                documents.push(
                    serde_json::from_str::<Value>(line)
                        .map_err(|error| format!("invalid JSON: {error}")),
                );
            }
        }
        _ => {
            for document in serde_norway::Deserializer::from_str(&text) {
                match Value::deserialize(document) {
                    Ok(Value::Null) => {}
                    Ok(value) => documents.push(Ok(value)),
                    Err(error) => {
                        // The YAML parser cannot go on after a syntax error.
                        failure = Some(format!("invalid YAML: {error}"));
                        break;
                    }
                }
            }
        }
    }
    let mut objects = Vec::new();
    for document in documents {
        match document {
            Ok(value) => match at(&value, &["items"]).and_then(Value::as_array) {
                Some(items) => objects.extend(items.iter().cloned().map(Ok)),
                None => objects.push(Ok(value)),
            },
            Err(error) => objects.push(Err(error)),
        }
    }
    Ok((objects, failure))
}

/// Counts of what the file contains but grants do not model.
#[derive(Debug, Default)]
struct NotModelled {
    namespaced_bindings: u64,
    resource_names: u64,
    missing_roles: BTreeSet<String>,
}

impl NotModelled {
    fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.namespaced_bindings > 0 {
            warnings.push(format!(
                "{} RoleBinding(s) read as granting in every namespace: namespaces are not modelled",
                self.namespaced_bindings
            ));
        }
        if self.resource_names > 0 {
            warnings.push(format!(
                "{} rule(s) limited by resourceNames read as granting on every object of the resource",
                self.resource_names
            ));
        }
        if !self.missing_roles.is_empty() {
            warnings.push(format!(
                "bindings refer to roles not in the input, so their subjects get no grants from them: {}",
                self.missing_roles.iter().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
        warnings
    }
}

/// Reads one RBAC file.
pub(super) fn read<A, F>(
    context: &Context<'_>,
    file: &mut InputFile,
    catalog: &RoleCatalog,
    new_accumulator: &F,
    warnings: &mut Vec<String>,
) -> Result<Tally<A>>
where
    A: Accumulator,
    F: Fn() -> A + Sync,
{
    let (objects, failure) = read_objects(file)?;
    let mut tally = Tally::new(new_accumulator());
    let mut not_modelled = NotModelled::default();
    let mut record = 0u64;
    for object in &objects {
        record += 1;
        let position = Position { line: None, record };
        let object = match object {
            Ok(object) => object,
            Err(reason) => {
                tally.reject(
                    &context.name,
                    position,
                    RowError::new("", reason.clone(), ""),
                );
                continue;
            }
        };
        let kind = text_at(object, &["kind"]).unwrap_or_default();
        match kind.as_ref() {
            "Role" | "ClusterRole" => tally.read += 1,
            "RoleBinding" | "ClusterRoleBinding" => {
                match binding_rows(context, object, catalog, &mut not_modelled) {
                    Ok(rows) if rows.is_empty() => tally.read += 1,
                    Ok(rows) => add_record_rows(&mut tally, &context.name, position, &rows),
                    Err(error) => tally.reject(&context.name, position, error),
                }
            }
            "ServiceAccount" => {
                let rows = service_account_row(context, object);
                add_record_rows(&mut tally, &context.name, position, &rows);
            }
            other => {
                let reason = format!(
                    "kind `{other}` is not an RBAC object; expected Role, ClusterRole, RoleBinding, ClusterRoleBinding or ServiceAccount"
                );
                let name = text_at(object, &["metadata", "name"]).unwrap_or_default();
                tally.reject(&context.name, position, RowError::new("", reason, &name));
            }
        }
    }
    if let Some(reason) = failure {
        let position = Position {
            line: None,
            record: record + 1,
        };
        tally.reject(&context.name, position, RowError::new("", reason, ""));
    }
    warnings.extend(not_modelled.warnings());
    Ok(tally)
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Returns the rules of `cluster-admin`: every verb on every resource and path.
/// Clusters create this role at bootstrap, so exports of user objects often
/// leave it out.
fn cluster_admin_rules() -> Vec<Value> {
    vec![
        serde_json::json!({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}),
        serde_json::json!({"nonResourceURLs": ["*"], "verbs": ["*"]}),
    ]
}

/// A grant a rule gives: an action, or a method and path pattern.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum RuleGrant {
    Action(String),
    Path { method: String, endpoint: String },
}

fn rule_grants(rules: &[Value], not_modelled: &mut NotModelled) -> BTreeSet<RuleGrant> {
    let mut grants = BTreeSet::new();
    for rule in rules {
        let verbs = strings(at(rule, &["verbs"]));
        if !strings(at(rule, &["resourceNames"])).is_empty() {
            not_modelled.resource_names += 1;
        }
        for resource in strings(at(rule, &["resources"])) {
            for verb in &verbs {
                grants.insert(RuleGrant::Action(format!("{verb} {resource}")));
            }
        }
        for url in strings(at(rule, &["nonResourceURLs"])) {
            let endpoint = path_pattern(&url);
            for verb in &verbs {
                let method = if verb == "*" {
                    "*".to_string()
                } else {
                    verb.to_ascii_uppercase()
                };
                grants.insert(RuleGrant::Path {
                    method,
                    endpoint: endpoint.clone(),
                });
            }
        }
    }
    grants
}

/// Converts an RBAC non-resource URL to a path pattern, where a trailing `*`
/// matches any rest of the path.
fn path_pattern(url: &str) -> String {
    if url == "*" {
        return "/**".to_string();
    }
    match url.strip_suffix('*') {
        Some(prefix) => format!("{}/**", prefix.trim_end_matches('/')),
        None => url.to_string(),
    }
}

fn binding_rows<'v>(
    context: &Context<'_>,
    binding: &'v Value,
    catalog: &RoleCatalog,
    not_modelled: &mut NotModelled,
) -> Result<Vec<NativeRow<'v>>, RowError> {
    let kind = text_at(binding, &["kind"]).unwrap_or_default();
    let name = text_at(binding, &["metadata", "name"]).unwrap_or_default();
    let namespace = text_at(binding, &["metadata", "namespace"]).unwrap_or_default();
    let (Some(role_kind), Some(role_name)) = (
        text_at(binding, &["roleRef", "kind"]),
        text_at(binding, &["roleRef", "name"]),
    ) else {
        return Err(RowError::new(
            "",
            "the binding has no `roleRef` kind and name",
            &name,
        ));
    };
    let rules = match catalog.rules(&role_kind, &namespace, &role_name) {
        Some(rules) => rules.clone(),
        None if role_kind == "ClusterRole" && role_name == "cluster-admin" => cluster_admin_rules(),
        None => {
            let label = if role_kind == "Role" {
                format!("Role {namespace}/{role_name}")
            } else {
                format!("{role_kind} {role_name}")
            };
            not_modelled.missing_roles.insert(label);
            Vec::new()
        }
    };
    // NOTE: a RoleBinding's grants apply in its namespace only, but grants have
    // no namespace scope, so they count in every namespace (and are warned about).
    if kind == "RoleBinding" {
        not_modelled.namespaced_bindings += 1;
    }
    let grants = rule_grants(&rules, not_modelled);
    let granted_at = text_at(binding, &["metadata", "creationTimestamp"]);

    let mut rows = Vec::new();
    for subject in at(binding, &["subjects"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (identity, identity_type) = subject_identity(subject, &namespace)?;
        if grants.is_empty() {
            let mut row = NativeRow::new(context.kind);
            row.set(IDENTITY, identity.clone());
            row.set_opt(IDENTITY_TYPE, identity_type);
            rows.push(row);
            continue;
        }
        for grant in &grants {
            let mut row = NativeRow::new(context.kind);
            row.set(IDENTITY, identity.clone());
            row.set_opt(IDENTITY_TYPE, identity_type);
            row.set(SERVICE, SERVICE_NAME);
            match grant {
                RuleGrant::Action(action) => row.set(ACTION, action.clone()),
                RuleGrant::Path { method, endpoint } => {
                    row.set(METHOD, method.clone());
                    row.set(ENDPOINT, endpoint.clone());
                }
            }
            row.set_opt(GRANTED_AT, granted_at.clone());
            row.set(STATUS, "active");
            rows.push(row);
        }
    }
    Ok(rows)
}

/// Returns the identity of a binding subject, named as the API server names
/// the user: `system:serviceaccount:NAMESPACE:NAME` for a service account.
fn subject_identity(
    subject: &Value,
    binding_namespace: &str,
) -> Result<(String, Option<&'static str>), RowError> {
    let kind = text_at(subject, &["kind"]).unwrap_or_default();
    let Some(name) = text_at(subject, &["name"]) else {
        return Err(RowError::new(
            "identity",
            "a binding subject has no name",
            &kind,
        ));
    };
    match kind.as_ref() {
        "ServiceAccount" => {
            let namespace = text_at(subject, &["namespace"]).unwrap_or(binding_namespace.into());
            Ok((
                format!("system:serviceaccount:{namespace}:{name}"),
                Some("service_account"),
            ))
        }
        "User" | "Group" => Ok((name.into_owned(), None)),
        other => Err(RowError::new(
            "identity",
            format!("unknown subject kind `{other}`; expected ServiceAccount, User or Group"),
            &name,
        )),
    }
}

fn service_account_row<'v>(context: &Context<'_>, account: &'v Value) -> Vec<NativeRow<'v>> {
    let name = text_at(account, &["metadata", "name"]).unwrap_or_default();
    let namespace = text_at(account, &["metadata", "namespace"]).unwrap_or_default();
    let mut row = NativeRow::new(context.kind);
    row.set(
        IDENTITY,
        format!("system:serviceaccount:{namespace}:{name}"),
    );
    row.set(IDENTITY_TYPE, "service_account");
    let owner = ["annotations", "labels"].iter().find_map(|section| {
        ["owner", "team"]
            .iter()
            .find_map(|key| text_at(account, &["metadata", section, key]))
    });
    row.set_opt(OWNER, owner);
    vec![row]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_become_actions_and_paths() {
        let rules = vec![
            serde_json::json!({"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list"]}),
            serde_json::json!({"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["app"], "verbs": ["update"]}),
            serde_json::json!({"nonResourceURLs": ["/healthz", "/api/*"], "verbs": ["get"]}),
        ];
        let mut not_modelled = NotModelled::default();
        let grants = rule_grants(&rules, &mut not_modelled);
        let actions: Vec<String> = grants
            .iter()
            .filter_map(|grant| match grant {
                RuleGrant::Action(action) => Some(action.clone()),
                RuleGrant::Path { .. } => None,
            })
            .collect();
        assert_eq!(
            actions,
            vec![
                "get pods",
                "get pods/log",
                "list pods",
                "list pods/log",
                "update configmaps"
            ]
        );
        assert!(grants.contains(&RuleGrant::Path {
            method: "GET".to_string(),
            endpoint: "/api/**".to_string()
        }));
        assert_eq!(not_modelled.resource_names, 1);
    }

    #[test]
    fn subjects_are_named_like_the_api_server() {
        let account = serde_json::json!({"kind": "ServiceAccount", "name": "deployer"});
        assert_eq!(
            subject_identity(&account, "ci").unwrap(),
            (
                "system:serviceaccount:ci:deployer".to_string(),
                Some("service_account")
            )
        );
        let group = serde_json::json!({"kind": "Group", "name": "system:masters"});
        assert_eq!(
            subject_identity(&group, "").unwrap(),
            ("system:masters".to_string(), None)
        );
    }

    #[test]
    fn non_resource_patterns() {
        assert_eq!(path_pattern("*"), "/**");
        assert_eq!(path_pattern("/apis/*"), "/apis/**");
        assert_eq!(path_pattern("/healthz"), "/healthz");
    }
}
