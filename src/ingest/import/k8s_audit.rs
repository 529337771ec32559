//! Kubernetes audit events (`audit.k8s.io` v1 and v1beta1) as access logs, in
//! JSON Lines or documents of events. An event may also sit in a cloud logging
//! envelope: a GKE `LogEntry` with the event or a Cloud Audit Log in
//! `protoPayload`, a `jsonPayload`, an AKS diagnostic record with the event as a
//! string in `properties.log`, or a log shipper's `log` or `message` string.
//!
//! The API server logs one request at several stages, all with the request's
//! `auditID`. A pre-pass over every k8s-audit file of the input chooses one record
//! per `auditID` (the latest stage: ResponseComplete, then Panic, ResponseStarted,
//! RequestReceived; the first in file order on a tie), and the read keeps only
//! that record. The other records count as read, and a warning says how many.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::super::json::{self, RecordReader};
use super::super::schema::{LOG_COLUMNS, column};
use super::{Context, Discard, NativeRow};
use crate::error::Result;
use crate::ingest::files::{Format, InputFile};
use crate::ingest::{Accumulator, Position, RowError, Tally};

const EVENT_TIME: usize = column(LOG_COLUMNS, "event_time");
const IDENTITY: usize = column(LOG_COLUMNS, "identity");
const CREDENTIAL_ID: usize = column(LOG_COLUMNS, "credential_id");
const IDENTITY_TYPE: usize = column(LOG_COLUMNS, "identity_type");
const SOURCE: usize = column(LOG_COLUMNS, "source");
const USER_AGENT: usize = column(LOG_COLUMNS, "user_agent");
const ENVIRONMENT: usize = column(LOG_COLUMNS, "environment");
const SERVICE: usize = column(LOG_COLUMNS, "service");
const METHOD: usize = column(LOG_COLUMNS, "method");
const ENDPOINT: usize = column(LOG_COLUMNS, "endpoint");
const ACTION: usize = column(LOG_COLUMNS, "action");
const DECISION: usize = column(LOG_COLUMNS, "decision");
const STATUS_CODE: usize = column(LOG_COLUMNS, "status_code");
const REASON: usize = column(LOG_COLUMNS, "reason");
const REQUEST_ID: usize = column(LOG_COLUMNS, "request_id");

/// The service every Kubernetes API request is logged under.
pub const SERVICE_NAME: &str = "kubernetes";

const DECISION_ANNOTATION: &str = "authorization.k8s.io/decision";
const REASON_ANNOTATION: &str = "authorization.k8s.io/reason";

/// The record chosen for each `auditID` across the input's k8s-audit files.
#[derive(Debug, Default)]
pub(super) struct Choices {
    by_audit_id: HashMap<Box<str>, Choice>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Choice {
    rank: u8,
    file: usize,
    position: Position,
}

impl Choice {
    /// Returns whether `self` should replace `other`: a later stage, or the same
    /// stage earlier in the input.
    fn beats(&self, other: &Choice) -> bool {
        (self.rank, std::cmp::Reverse((self.file, self.position)))
            > (other.rank, std::cmp::Reverse((other.file, other.position)))
    }
}

impl Choices {
    fn offer(&mut self, audit_id: &str, choice: Choice) {
        match self.by_audit_id.get_mut(audit_id) {
            Some(known) => {
                if choice.beats(known) {
                    *known = choice;
                }
            }
            None => {
                self.by_audit_id.insert(audit_id.into(), choice);
            }
        }
    }

    fn merge(&mut self, other: Choices) {
        for (audit_id, choice) in other.by_audit_id {
            self.offer(&audit_id, choice);
        }
    }

    fn is_chosen(&self, audit_id: &str, file: usize, position: Position) -> bool {
        self.by_audit_id
            .get(audit_id)
            .is_none_or(|choice| choice.file == file && choice.position == position)
    }
}

fn stage_rank(stage: Option<&str>) -> u8 {
    match stage {
        Some("ResponseComplete") => 4,
        Some("Panic") => 3,
        Some("ResponseStarted") => 2,
        Some("RequestReceived") => 1,
        _ => 0,
    }
}

fn read_records<A, F, R>(
    file: &mut InputFile,
    context_name: &std::sync::Arc<str>,
    new_accumulator: &F,
    reader: &R,
) -> Result<(Tally<A>, R::State)>
where
    A: Accumulator,
    F: Fn() -> A + Sync,
    R: RecordReader<A>,
{
    let syntax = file.format;
    file.read_with(|stream| match syntax {
        Format::JsonLines => json::read_lines(stream, context_name, new_accumulator, reader),
        _ => json::read_document(stream, context_name, new_accumulator, reader),
    })
}

/// Offers every record of one file for its `auditID`, before any file is read.
pub(super) fn choose_stages(
    file: &mut InputFile,
    index: usize,
    choices: &mut Choices,
) -> Result<()> {
    let name: std::sync::Arc<str> = std::sync::Arc::from(file.path.as_str());
    let reader = StageReader { file: index };
    let (_, found): (Tally<Discard>, Choices) =
        read_records(file, &name, &Discard::default, &reader)?;
    choices.merge(found);
    Ok(())
}

struct StageReader {
    file: usize,
}

impl RecordReader<Discard> for StageReader {
    type State = Choices;

    fn read_record(
        &self,
        bytes: &[u8],
        position: Position,
        _: &mut Tally<Discard>,
        state: &mut Choices,
    ) {
        let _ = with_request(bytes, |request| {
            if let Some(audit_id) = request.audit_id.as_deref() {
                let choice = Choice {
                    rank: stage_rank(request.stage.as_deref()),
                    file: self.file,
                    position,
                };
                state.offer(audit_id, choice);
            }
        });
    }

    fn merge_state(&self, into: &mut Choices, from: Choices) {
        into.merge(from);
    }

    fn is_record_key(&self, key: &str) -> bool {
        is_record_key(key)
    }
}

/// Returns whether `key` belongs to an audit event or to an envelope around
/// one. An object with such a key is a record. Any other object (an `EventList`,
/// an AKS `{"records": [...]}` blob) contains records in its array member.
fn is_record_key(key: &str) -> bool {
    matches!(
        key,
        "auditID" | "verb" | "requestURI" | "stage" | "protoPayload" | "jsonPayload" | "properties"
    )
}

/// Reads one k8s-audit file, keeping the chosen record of each request.
pub(super) fn read<A, F>(
    context: &Context<'_>,
    file: &mut InputFile,
    index: usize,
    choices: &Choices,
    new_accumulator: &F,
    warnings: &mut Vec<String>,
) -> Result<Tally<A>>
where
    A: Accumulator,
    F: Fn() -> A + Sync,
{
    let reader = AuditReader {
        context,
        file: index,
        choices,
    };
    let (tally, folded) = read_records(file, &context.name, new_accumulator, &reader)?;
    if folded > 0 {
        warnings.push(format!(
            "{folded} record(s) repeat a request already counted (another stage of the same auditID); they count as read but add no event"
        ));
    }
    Ok(tally)
}

struct AuditReader<'c, 'p> {
    context: &'c Context<'p>,
    file: usize,
    choices: &'c Choices,
}

impl<A: Accumulator> RecordReader<A> for AuditReader<'_, '_> {
    /// Records folded into another record of the same request.
    type State = u64;

    fn read_record(
        &self,
        bytes: &[u8],
        position: Position,
        tally: &mut Tally<A>,
        folded: &mut u64,
    ) {
        let outcome = with_request(bytes, |request| {
            if let Some(audit_id) = request.audit_id.as_deref()
                && !self.choices.is_chosen(audit_id, self.file, position)
            {
                *folded += 1;
                tally.read += 1;
                return;
            }
            match map_request(self.context, &request) {
                Ok(row) => tally.add(&self.context.name, position, row.as_fields()),
                Err(error) => tally.reject(&self.context.name, position, error),
            }
        });
        if let Err(error) = outcome {
            tally.reject(&self.context.name, position, error);
        }
    }

    fn merge_state(&self, into: &mut u64, from: u64) {
        *into += from;
    }

    fn is_record_key(&self, key: &str) -> bool {
        is_record_key(key)
    }
}

/// One request as the importer needs it, from a Kubernetes audit event or a GKE
/// Cloud Audit Log entry.
#[derive(Debug, Default)]
struct Request<'a> {
    /// The id that folds the stages of one request. GKE entries have none.
    audit_id: Option<Cow<'a, str>>,
    /// The `auditID`, or a GKE entry's `insertId`.
    request_id: Option<Cow<'a, str>>,
    stage: Option<Cow<'a, str>>,
    time: Option<Cow<'a, str>>,
    username: Option<Cow<'a, str>>,
    impersonated: Option<Cow<'a, str>>,
    credential_id: Option<Cow<'a, str>>,
    pod_name: Option<Cow<'a, str>>,
    source_ip: Option<Cow<'a, str>>,
    user_agent: Option<Cow<'a, str>>,
    verb: Option<Cow<'a, str>>,
    resource: Option<Cow<'a, str>>,
    subresource: Option<Cow<'a, str>>,
    request_uri: Option<Cow<'a, str>>,
    /// `allow` or `deny` when the log states the authorization decision.
    decision: Option<&'static str>,
    status_code: Option<i64>,
    reason: Option<Cow<'a, str>>,
    cluster: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Record<'a> {
    #[serde(rename = "auditID", borrow)]
    audit_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    stage: Option<Cow<'a, str>>,
    #[serde(rename = "requestURI", borrow)]
    request_uri: Option<Cow<'a, str>>,
    #[serde(borrow)]
    verb: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user: Option<UserInfo<'a>>,
    #[serde(borrow)]
    impersonated_user: Option<UserInfo<'a>>,
    #[serde(rename = "sourceIPs", borrow)]
    source_ips: Option<Vec<Cow<'a, str>>>,
    #[serde(borrow)]
    user_agent: Option<Cow<'a, str>>,
    #[serde(borrow)]
    object_ref: Option<ObjectRef<'a>>,
    #[serde(borrow)]
    response_status: Option<Status<'a>>,
    #[serde(borrow)]
    request_received_timestamp: Option<Cow<'a, str>>,
    #[serde(borrow)]
    stage_timestamp: Option<Cow<'a, str>>,
    /// The event's own time in v1beta1, and the entry's time in a LogEntry.
    #[serde(borrow)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(borrow)]
    annotations: Option<HashMap<Cow<'a, str>, Cow<'a, str>>>,

    // Cloud logging envelopes.
    #[serde(borrow)]
    proto_payload: Option<&'a RawValue>,
    #[serde(borrow)]
    json_payload: Option<&'a RawValue>,
    #[serde(borrow)]
    properties: Option<Properties<'a>>,
    #[serde(borrow)]
    log: Option<Cow<'a, str>>,
    #[serde(borrow)]
    message: Option<Cow<'a, str>>,
    #[serde(borrow)]
    labels: Option<HashMap<Cow<'a, str>, Cow<'a, str>>>,
    #[serde(borrow)]
    resource: Option<MonitoredResource<'a>>,
    #[serde(borrow)]
    insert_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    resource_id: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct UserInfo<'a> {
    #[serde(borrow)]
    username: Option<Cow<'a, str>>,
    #[serde(borrow)]
    extra: Option<HashMap<Cow<'a, str>, Vec<Cow<'a, str>>>>,
}

#[derive(Deserialize)]
struct ObjectRef<'a> {
    #[serde(borrow)]
    resource: Option<Cow<'a, str>>,
    #[serde(borrow)]
    subresource: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Status<'a> {
    code: Option<i64>,
    #[serde(borrow)]
    message: Option<Cow<'a, str>>,
    #[serde(borrow)]
    reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Properties<'a> {
    #[serde(borrow)]
    log: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct MonitoredResource<'a> {
    #[serde(borrow)]
    labels: Option<HashMap<Cow<'a, str>, Cow<'a, str>>>,
}

/// A GKE Cloud Audit Log payload.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuditLog<'a> {
    #[serde(borrow)]
    method_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    resource_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    authentication_info: Option<AuthenticationInfo<'a>>,
    #[serde(borrow)]
    request_metadata: Option<RequestMetadata<'a>>,
    #[serde(borrow)]
    status: Option<Status<'a>>,
    authorization_info: Option<Vec<AuthorizationInfo>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthenticationInfo<'a> {
    #[serde(borrow)]
    principal_email: Option<Cow<'a, str>>,
    #[serde(borrow)]
    principal_subject: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestMetadata<'a> {
    #[serde(alias = "callerIP", borrow)]
    caller_ip: Option<Cow<'a, str>>,
    #[serde(borrow)]
    caller_supplied_user_agent: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct AuthorizationInfo {
    granted: Option<bool>,
}

fn invalid(bytes: &[u8], error: &serde_json::Error) -> RowError {
    RowError::new(
        "",
        format!("invalid Kubernetes audit record: {error}"),
        &String::from_utf8_lossy(bytes),
    )
}

/// Parses one record, unwrapping any envelope, and hands the request to `visit`.
fn with_request<T>(bytes: &[u8], visit: impl FnOnce(Request<'_>) -> T) -> Result<T, RowError> {
    let outer: Record<'_> =
        serde_json::from_slice(bytes).map_err(|error| invalid(bytes, &error))?;
    if is_event(&outer) {
        return Ok(visit(request_of(outer, None)));
    }
    let envelope = EnvelopeInfo::of(&outer);
    if let Some(payload) = outer.proto_payload.or(outer.json_payload) {
        let inner: Record<'_> =
            serde_json::from_str(payload.get()).map_err(|error| invalid(bytes, &error))?;
        if is_event(&inner) {
            return Ok(visit(request_of(inner, Some(envelope))));
        }
        let log: AuditLog<'_> =
            serde_json::from_str(payload.get()).map_err(|error| invalid(bytes, &error))?;
        if log
            .method_name
            .as_deref()
            .is_some_and(|method| method.starts_with("io.k8s."))
        {
            return Ok(visit(request_of_gke(log, envelope)));
        }
        return Err(not_an_event());
    }
    let embedded = outer
        .properties
        .as_ref()
        .and_then(|properties| properties.log.as_deref())
        .or(outer.log.as_deref())
        .or(outer.message.as_deref())
        .filter(|text| text.trim_start().starts_with('{'));
    if let Some(text) = embedded {
        let inner: Record<'_> =
            serde_json::from_str(text).map_err(|error| invalid(text.as_bytes(), &error))?;
        if is_event(&inner) {
            return Ok(visit(request_of(inner, Some(envelope))));
        }
    }
    Err(not_an_event())
}

fn not_an_event() -> RowError {
    RowError::new(
        "",
        "not a Kubernetes audit event: no `auditID` or `verb`, and no envelope around one",
        "",
    )
}

fn is_event(record: &Record<'_>) -> bool {
    record.audit_id.is_some() || record.verb.is_some()
}

/// The facts a cloud logging envelope records about the event inside it.
struct EnvelopeInfo {
    time: Option<String>,
    cluster: Option<String>,
    decision: Option<&'static str>,
    reason: Option<String>,
    insert_id: Option<String>,
}

impl EnvelopeInfo {
    fn of(record: &Record<'_>) -> EnvelopeInfo {
        let label = |key: &str| {
            record
                .labels
                .as_ref()
                .and_then(|labels| labels.get(key))
                .map(|value| value.to_string())
        };
        let cluster = record
            .resource
            .as_ref()
            .and_then(|resource| resource.labels.as_ref())
            .and_then(|labels| labels.get("cluster_name"))
            .map(|name| name.to_string())
            .or_else(|| {
                // AKS: .../providers/Microsoft.ContainerService/managedClusters/NAME
                let id = record.resource_id.as_deref()?;
                let (_, name) = id
                    .rsplit_once("/managedClusters/")
                    .or_else(|| id.rsplit_once("/MANAGEDCLUSTERS/"))?;
                Some(name.trim_matches('/').to_string())
            });
        EnvelopeInfo {
            time: record.timestamp.as_deref().map(str::to_string),
            cluster,
            decision: label(DECISION_ANNOTATION)
                .as_deref()
                .and_then(parse_decision),
            reason: label(REASON_ANNOTATION).filter(|reason| !reason.is_empty()),
            insert_id: record.insert_id.as_deref().map(str::to_string),
        }
    }
}

fn parse_decision(text: &str) -> Option<&'static str> {
    match text.trim().to_ascii_lowercase().as_str() {
        "allow" => Some("allow"),
        "forbid" | "deny" => Some("deny"),
        _ => None,
    }
}

fn first_extra<'a>(user: &UserInfo<'a>, keys: &[&str]) -> Option<Cow<'a, str>> {
    let extra = user.extra.as_ref()?;
    keys.iter()
        .find_map(|key| extra.get(*key).and_then(|values| values.first().cloned()))
}

fn request_of<'a>(record: Record<'a>, envelope: Option<EnvelopeInfo>) -> Request<'a> {
    let annotation = |key: &str| {
        record
            .annotations
            .as_ref()
            .and_then(|annotations| annotations.get(key))
            .map(|value| value.as_ref())
    };
    let mut decision = annotation(DECISION_ANNOTATION).and_then(parse_decision);
    let mut reason: Option<Cow<'a, str>> = annotation(REASON_ANNOTATION)
        .filter(|reason| !reason.is_empty())
        .map(|reason| Cow::Owned(reason.to_string()));
    let status = record.response_status.as_ref();
    let status_code = status.and_then(|status| status.code);
    if reason.is_none() {
        reason = status.and_then(|status| status.message.clone().or_else(|| status.reason.clone()));
    }

    let user = record.user.as_ref();
    let (credential_id, pod_name) = match user {
        Some(user) => (
            first_extra(
                user,
                &["authentication.kubernetes.io/credential-id", "accessKeyId"],
            ),
            first_extra(user, &["authentication.kubernetes.io/pod-name"]),
        ),
        None => (None, None),
    };
    let mut time = record
        .request_received_timestamp
        .clone()
        .or_else(|| record.stage_timestamp.clone())
        .or_else(|| record.timestamp.clone());
    let mut cluster = None;
    if let Some(envelope) = envelope {
        decision = decision.or(envelope.decision);
        if reason.is_none() {
            reason = envelope.reason.map(Cow::Owned);
        }
        if time.is_none() {
            time = envelope.time.map(Cow::Owned);
        }
        cluster = envelope.cluster.map(Cow::Owned);
    }
    let object = record.object_ref.as_ref();
    Request {
        audit_id: record.audit_id.clone(),
        request_id: record.audit_id.clone(),
        stage: record.stage.clone(),
        time,
        username: user.and_then(|user| user.username.clone()),
        impersonated: record
            .impersonated_user
            .as_ref()
            .and_then(|user| user.username.clone()),
        credential_id,
        pod_name,
        source_ip: record
            .source_ips
            .as_ref()
            .and_then(|ips| ips.first().cloned()),
        user_agent: record.user_agent.clone(),
        verb: record.verb.clone(),
        resource: object.and_then(|object| object.resource.clone()),
        subresource: object.and_then(|object| object.subresource.clone()),
        request_uri: record.request_uri.clone(),
        decision,
        status_code,
        reason,
        cluster,
    }
}

/// Maps a GKE Cloud Audit Log entry. Its `methodName` is
/// `io.k8s.GROUP.VERSION.RESOURCE[.SUBRESOURCE].VERB`, and its `resourceName` is
/// `GROUP/VERSION/[namespaces/NS/]RESOURCE[/NAME]` with `core` for the core group.
fn request_of_gke<'a>(log: AuditLog<'a>, envelope: EnvelopeInfo) -> Request<'a> {
    let method = log.method_name.as_deref().unwrap_or("");
    let parts: Vec<&str> = method.trim_start_matches("io.k8s.").split('.').collect();
    let version_at = parts.iter().position(|part| is_api_version(part));
    let (resource, subresource, verb) = match (version_at, parts.len()) {
        (Some(at), len) if len >= at + 3 => {
            let verb = parts[len - 1];
            let names = &parts[at + 1..len - 1];
            let resource = names.first().copied();
            let subresource = (names.len() > 1).then(|| names[1..].join("."));
            (resource, subresource, Some(verb))
        }
        _ => (None, None, None),
    };
    let endpoint = log.resource_name.as_deref().map(gke_resource_path);

    let granted: Vec<bool> = log
        .authorization_info
        .iter()
        .flatten()
        .filter_map(|info| info.granted)
        .collect();
    let grpc_code = log.status.as_ref().and_then(|status| status.code);
    let decision = envelope.decision.or_else(|| {
        if granted.contains(&false) {
            Some("deny")
        } else if !granted.is_empty() {
            Some("allow")
        } else {
            match grpc_code {
                None | Some(0) => Some("allow"),
                // PERMISSION_DENIED and UNAUTHENTICATED.
                Some(7) | Some(16) => Some("deny"),
                Some(_) => Some("other"),
            }
        }
    });
    let reason = envelope.reason.map(Cow::Owned).or_else(|| {
        log.status
            .as_ref()
            .and_then(|status| status.message.clone())
            .filter(|message| !message.is_empty())
    });
    let authentication = log.authentication_info.as_ref();
    let metadata = log.request_metadata.as_ref();
    Request {
        audit_id: None,
        request_id: envelope.insert_id.map(Cow::Owned),
        stage: None,
        time: envelope.time.map(Cow::Owned),
        username: authentication.and_then(|info| {
            info.principal_email
                .clone()
                .or_else(|| info.principal_subject.clone())
        }),
        impersonated: None,
        credential_id: None,
        pod_name: None,
        source_ip: metadata.and_then(|metadata| metadata.caller_ip.clone()),
        user_agent: metadata.and_then(|metadata| metadata.caller_supplied_user_agent.clone()),
        verb: verb.map(|verb| Cow::Owned(verb.to_string())),
        resource: resource.map(|resource| Cow::Owned(resource.to_string())),
        subresource: subresource.map(Cow::Owned),
        request_uri: endpoint.map(Cow::Owned),
        decision,
        status_code: None,
        reason,
        cluster: envelope.cluster.map(Cow::Owned),
    }
}

fn is_api_version(part: &str) -> bool {
    let Some(rest) = part.strip_prefix('v') else {
        return false;
    };
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 {
        return false;
    }
    let tail = &rest[digits..];
    tail.is_empty()
        || ["alpha", "beta"].iter().any(|word| {
            tail.strip_prefix(word)
                .is_some_and(|number| number.chars().all(|c| c.is_ascii_digit()))
        })
}

fn gke_resource_path(name: &str) -> String {
    if name.starts_with('/') {
        return name.to_string();
    }
    if let Some((_, rest)) = name.split_once("/k8s/") {
        return format!("/{rest}");
    }
    match name.strip_prefix("core/") {
        Some(rest) => format!("/api/{rest}"),
        None => format!("/apis/{name}"),
    }
}

/// Returns the HTTP method a Kubernetes verb is sent with.
fn method_of(verb: &str) -> Option<&'static str> {
    Some(match verb.to_ascii_lowercase().as_str() {
        "get" | "list" | "watch" => "GET",
        "create" | "post" => "POST",
        "update" | "put" => "PUT",
        "patch" => "PATCH",
        "delete" | "deletecollection" => "DELETE",
        "head" => "HEAD",
        "options" => "OPTIONS",
        _ => return None,
    })
}

/// Formats the action of a resource request, `verb resource[/subresource]`, as
/// RBAC rules name it.
fn action_of(verb: &str, resource: &str, subresource: Option<&str>) -> String {
    match subresource.filter(|sub| !sub.is_empty()) {
        Some(sub) => format!("{verb} {resource}/{sub}"),
        None => format!("{verb} {resource}"),
    }
}

fn map_request<'a>(
    context: &Context<'_>,
    request: &Request<'a>,
) -> Result<NativeRow<'a>, RowError> {
    let Some(username) = request
        .username
        .clone()
        .filter(|name| !name.trim().is_empty())
    else {
        return Err(RowError::new(
            "identity",
            "the event names no user (`user.username` is missing)",
            request.audit_id.as_deref().unwrap_or(""),
        ));
    };
    let status_code = request
        .status_code
        .filter(|code| (100..=599).contains(code));
    if request.decision.is_none() && status_code.is_none() {
        let stage = request.stage.as_deref().unwrap_or("unknown");
        return Err(RowError::new(
            "decision",
            format!(
                "the record (stage {stage}) has no authorization decision and no response code, and no later stage of the request was logged"
            ),
            request.audit_id.as_deref().unwrap_or(""),
        ));
    }

    let mut row = NativeRow::new(context.kind);
    row.set_opt(EVENT_TIME, request.time.clone());
    // Under impersonation the impersonated user acts; the real user is kept as
    // the source, because it is who sent the request.
    let identity = request
        .impersonated
        .clone()
        .unwrap_or_else(|| username.clone());
    if identity.starts_with("system:serviceaccount:") {
        row.set(IDENTITY_TYPE, "service_account");
    }
    row.set(IDENTITY, identity);
    let source = if request.impersonated.is_some() {
        Some(username)
    } else {
        request
            .pod_name
            .clone()
            .or_else(|| request.source_ip.clone())
    };
    row.set_opt(SOURCE, source);
    row.set_opt(CREDENTIAL_ID, request.credential_id.clone());
    row.set_opt(USER_AGENT, request.user_agent.clone());
    if let Some(cluster) = request.cluster.as_deref() {
        row.set(
            ENVIRONMENT,
            context.environments.lookup(cluster).into_owned(),
        );
    }
    row.set(SERVICE, SERVICE_NAME);
    if let Some(verb) = request.verb.as_deref() {
        row.set_opt(METHOD, method_of(verb));
        if let Some(resource) = request.resource.as_deref() {
            row.set(
                ACTION,
                action_of(verb, resource, request.subresource.as_deref()),
            );
        }
    }
    row.set_opt(ENDPOINT, request.request_uri.clone());
    row.set_opt(DECISION, request.decision);
    if let Some(code) = status_code {
        row.set(STATUS_CODE, code.to_string());
    }
    let denied = request.decision == Some("deny") || status_code.is_some_and(|code| code >= 400);
    if denied {
        row.set_opt(REASON, request.reason.clone());
    }
    row.set_opt(REQUEST_ID, request.request_id.clone());
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::InputKind;
    use crate::ingest::import::Environments;
    use std::sync::Arc;

    fn map(line: &str) -> Result<Vec<Option<String>>, RowError> {
        let environments = Environments::from_pairs([("gke-prod", "prod")]);
        let context = Context {
            kind: InputKind::Logs,
            name: Arc::from("audit.jsonl"),
            environments: &environments,
        };
        with_request(line.as_bytes(), |request| {
            map_request(&context, &request).map(|row| {
                row.fields
                    .iter()
                    .map(|field| field.as_deref().map(str::to_string))
                    .collect()
            })
        })?
    }

    #[test]
    fn impersonated_user_acts_and_real_user_is_source() {
        let row = map(
            r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a1","stage":"ResponseComplete",
            "requestURI":"/api/v1/namespaces/default/pods","verb":"list",
            "user":{"username":"system:admin"},"impersonatedUser":{"username":"bob"},"sourceIPs":["::1"],
            "objectRef":{"resource":"pods","namespace":"default"},
            "responseStatus":{"code":403,"reason":"Forbidden","message":"pods is forbidden"},
            "requestReceivedTimestamp":"2017-09-11T19:55:05.000000Z"}"#,
        )
        .unwrap();
        assert_eq!(row[IDENTITY].as_deref(), Some("bob"));
        assert_eq!(row[SOURCE].as_deref(), Some("system:admin"));
        assert_eq!(row[ACTION].as_deref(), Some("list pods"));
        assert_eq!(row[METHOD].as_deref(), Some("GET"));
        assert_eq!(row[STATUS_CODE].as_deref(), Some("403"));
        assert_eq!(row[REASON].as_deref(), Some("pods is forbidden"));
        assert_eq!(row[SERVICE].as_deref(), Some("kubernetes"));
        assert_eq!(row[REQUEST_ID].as_deref(), Some("a1"));
    }

    #[test]
    fn decision_annotation_wins_over_code() {
        let row = map(
            r#"{"auditID":"a2","stage":"ResponseStarted","verb":"create","requestURI":"/api/v1/namespaces/d/pods/p/exec",
            "user":{"username":"system:serviceaccount:ci:deployer","extra":{"authentication.kubernetes.io/pod-name":["runner-7d9f8c6b5-x2x9z"],
            "authentication.kubernetes.io/credential-id":["JTI=abc"]}},
            "objectRef":{"resource":"pods","subresource":"exec"},"responseStatus":{"code":101},
            "annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""},
            "stageTimestamp":"2026-11-01T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(row[DECISION].as_deref(), Some("allow"));
        assert_eq!(row[ACTION].as_deref(), Some("create pods/exec"));
        assert_eq!(row[IDENTITY_TYPE].as_deref(), Some("service_account"));
        assert_eq!(row[CREDENTIAL_ID].as_deref(), Some("JTI=abc"));
        assert_eq!(row[SOURCE].as_deref(), Some("runner-7d9f8c6b5-x2x9z"));
    }

    #[test]
    fn request_received_alone_is_rejected() {
        let error = map(
            r#"{"auditID":"a3","stage":"RequestReceived","verb":"get","requestURI":"/api","user":{"username":"u"},
            "requestReceivedTimestamp":"2026-11-01T00:00:00Z"}"#,
        )
        .unwrap_err();
        assert_eq!(error.column, "decision");
        assert!(error.reason.contains("RequestReceived"), "{}", error.reason);
    }

    #[test]
    fn aks_properties_log_is_unwrapped() {
        let event = r#"{"auditID":"a4","stage":"ResponseComplete","verb":"get","requestURI":"/api/v1/namespaces/x/secrets/s","user":{"username":"u"},"objectRef":{"resource":"secrets"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2026-11-01T00:00:00Z"}"#;
        let line = serde_json::json!({
            "category": "kube-audit",
            "resourceId": "/SUBSCRIPTIONS/X/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/aks-prod",
            "properties": {"log": event, "stream": "stdout"}
        })
        .to_string();
        let row = map(&line).unwrap();
        assert_eq!(row[ACTION].as_deref(), Some("get secrets"));
        assert_eq!(row[ENVIRONMENT].as_deref(), Some("aks-prod"));
    }

    #[test]
    fn gke_audit_log_is_mapped() {
        let line = r#"{"insertId":"i-1","timestamp":"2026-11-01T10:30:00Z",
            "labels":{"authorization.k8s.io/decision":"forbid","authorization.k8s.io/reason":"no RBAC policy matched"},
            "resource":{"type":"k8s_cluster","labels":{"cluster_name":"gke-prod"}},
            "protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","serviceName":"k8s.io",
            "methodName":"io.k8s.core.v1.pods.exec.create","resourceName":"core/v1/namespaces/shop/pods/web-1/exec",
            "authenticationInfo":{"principalEmail":"system:serviceaccount:shop:web"},
            "requestMetadata":{"callerIp":"10.0.0.7","callerSuppliedUserAgent":"kubectl/v1.30"},"status":{"code":7}}}"#;
        let row = map(line).unwrap();
        assert_eq!(
            row[IDENTITY].as_deref(),
            Some("system:serviceaccount:shop:web")
        );
        assert_eq!(row[ACTION].as_deref(), Some("create pods/exec"));
        assert_eq!(
            row[ENDPOINT].as_deref(),
            Some("/api/v1/namespaces/shop/pods/web-1/exec")
        );
        assert_eq!(row[DECISION].as_deref(), Some("deny"));
        assert_eq!(row[REASON].as_deref(), Some("no RBAC policy matched"));
        assert_eq!(row[ENVIRONMENT].as_deref(), Some("prod"));
        assert_eq!(row[REQUEST_ID].as_deref(), Some("i-1"));
    }

    #[test]
    fn later_stage_beats_earlier() {
        let position = |line| Position {
            line: Some(line),
            record: line,
        };
        let mut choices = Choices::default();
        choices.offer(
            "a",
            Choice {
                rank: 1,
                file: 0,
                position: position(1),
            },
        );
        choices.offer(
            "a",
            Choice {
                rank: 4,
                file: 0,
                position: position(5),
            },
        );
        choices.offer(
            "a",
            Choice {
                rank: 4,
                file: 1,
                position: position(2),
            },
        );
        assert!(choices.is_chosen("a", 0, position(5)));
        assert!(!choices.is_chosen("a", 0, position(1)));
        assert!(!choices.is_chosen("a", 1, position(2)));
        assert!(choices.is_chosen("unseen", 3, position(9)));
    }

    #[test]
    fn api_versions() {
        assert!(is_api_version("v1"));
        assert!(is_api_version("v1beta1"));
        assert!(is_api_version("v2alpha3"));
        assert!(!is_api_version("vip"));
        assert!(!is_api_version("pods"));
    }
}
