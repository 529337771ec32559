//! AWS CloudTrail events as access logs: the `{"Records": [...]}` files CloudTrail
//! writes to S3, single bare events, and JSON Lines of events (also lines that
//! each hold a whole `{"Records": [...]}` file), any of them compressed.
//!
//! Events are deserialised straight into borrowed fields; only the few that
//! become native columns are kept.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::super::json::{self, RecordReader};
use super::super::schema::{LOG_COLUMNS, column};
use super::{Context, NativeRow};
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
const ACTION: usize = column(LOG_COLUMNS, "action");
const DECISION: usize = column(LOG_COLUMNS, "decision");
const REASON: usize = column(LOG_COLUMNS, "reason");
const REQUEST_ID: usize = column(LOG_COLUMNS, "request_id");

/// Reads one CloudTrail file.
pub(super) fn read<A, F>(
    context: &Context<'_>,
    file: &mut InputFile,
    new_accumulator: &F,
) -> Result<Tally<A>>
where
    A: Accumulator,
    F: Fn() -> A + Sync,
{
    let reader = CloudTrailReader { context };
    let syntax = file.format;
    let (tally, ()) = file.read_with(|stream| match syntax {
        Format::JsonLines => json::read_lines(stream, &context.name, new_accumulator, &reader),
        _ => json::read_document(stream, &context.name, new_accumulator, &reader),
    })?;
    Ok(tally)
}

struct CloudTrailReader<'c, 'p> {
    context: &'c Context<'p>,
}

impl<A: Accumulator> RecordReader<A> for CloudTrailReader<'_, '_> {
    type State = ();

    fn read_record(&self, bytes: &[u8], position: Position, tally: &mut Tally<A>, _: &mut ()) {
        // A line may hold a whole CloudTrail file: `zcat *.json.gz` gives one per line.
        if let Some(records) = records_array(bytes) {
            for (index, raw) in records.iter().enumerate() {
                let result = map_event(self.context, raw.get().as_bytes());
                add(self.context, tally, position, result, Some(index + 1));
            }
            return;
        }
        let result = map_event(self.context, bytes);
        add(self.context, tally, position, result, None);
    }

    fn merge_state(&self, _: &mut (), _: ()) {}

    fn records_member<'a>(&self, object: &BTreeMap<String, &'a RawValue>) -> Option<&'a RawValue> {
        object.get("Records").copied()
    }

    fn records_key(&self) -> Option<&str> {
        Some("Records")
    }
}

fn add<A: Accumulator>(
    context: &Context<'_>,
    tally: &mut Tally<A>,
    position: Position,
    result: Result<NativeRow<'_>, RowError>,
    index_in_records: Option<usize>,
) {
    match result {
        Ok(row) => tally.add(&context.name, position, row.as_fields()),
        Err(mut error) => {
            if let Some(index) = index_in_records {
                error.reason = format!("{} (event {index} of the line's Records)", error.reason);
            }
            tally.reject(&context.name, position, error);
        }
    }
}

/// The elements of a `{"Records": [...]}` object on one line, or `None` for a
/// single event.
fn records_array(bytes: &[u8]) -> Option<Vec<&RawValue>> {
    let head = &bytes[..bytes.len().min(64)];
    let text = std::str::from_utf8(head).unwrap_or("");
    if !text
        .trim_start()
        .trim_start_matches('{')
        .trim_start()
        .starts_with("\"Records\"")
    {
        return None;
    }
    #[derive(Deserialize)]
    struct File<'a> {
        #[serde(rename = "Records", borrow)]
        records: Vec<&'a RawValue>,
    }
    serde_json::from_slice::<File<'_>>(bytes)
        .ok()
        .map(|file| file.records)
}

#[derive(Deserialize)]
struct Event<'a> {
    #[serde(rename = "eventTime", borrow)]
    event_time: Option<Cow<'a, str>>,
    #[serde(rename = "eventSource", borrow)]
    event_source: Option<Cow<'a, str>>,
    #[serde(rename = "eventName", borrow)]
    event_name: Option<Cow<'a, str>>,
    #[serde(rename = "eventType", borrow)]
    event_type: Option<Cow<'a, str>>,
    #[serde(rename = "userIdentity", borrow)]
    user_identity: Option<UserIdentity<'a>>,
    #[serde(rename = "errorCode", borrow)]
    error_code: Option<Cow<'a, str>>,
    #[serde(rename = "errorMessage", borrow)]
    error_message: Option<Cow<'a, str>>,
    #[serde(rename = "requestID", borrow)]
    request_id: Option<Cow<'a, str>>,
    #[serde(rename = "sourceIPAddress", borrow)]
    source_ip_address: Option<Cow<'a, str>>,
    #[serde(rename = "userAgent", borrow)]
    user_agent: Option<Cow<'a, str>>,
    #[serde(rename = "recipientAccountId", borrow)]
    recipient_account_id: Option<Cow<'a, str>>,
    #[serde(rename = "responseElements", borrow)]
    response_elements: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct UserIdentity<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(rename = "principalId", borrow)]
    principal_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    arn: Option<Cow<'a, str>>,
    #[serde(rename = "accountId", borrow)]
    account_id: Option<Cow<'a, str>>,
    #[serde(rename = "accessKeyId", borrow)]
    access_key_id: Option<Cow<'a, str>>,
    #[serde(rename = "userName", borrow)]
    user_name: Option<Cow<'a, str>>,
    #[serde(rename = "invokedBy", borrow)]
    invoked_by: Option<Cow<'a, str>>,
    #[serde(rename = "sessionContext", borrow)]
    session_context: Option<SessionContext<'a>>,
}

#[derive(Deserialize)]
struct SessionContext<'a> {
    #[serde(rename = "sessionIssuer", borrow)]
    session_issuer: Option<SessionIssuer<'a>>,
}

#[derive(Deserialize)]
struct SessionIssuer<'a> {
    #[serde(rename = "userName", borrow)]
    user_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    arn: Option<Cow<'a, str>>,
}

/// Maps one event onto the native log columns.
fn map_event<'a>(context: &Context<'_>, bytes: &'a [u8]) -> Result<NativeRow<'a>, RowError> {
    let event: Event<'a> = serde_json::from_slice(bytes).map_err(|error| {
        RowError::new(
            "",
            format!("invalid CloudTrail event: {error}"),
            &String::from_utf8_lossy(bytes),
        )
    })?;
    if event.event_type.as_deref() == Some("AwsCloudTrailInsight") {
        return Err(RowError::new(
            "",
            "a CloudTrail Insights event summarises call rates and is not a request",
            "",
        ));
    }
    let Some(user) = &event.user_identity else {
        return Err(RowError::new(
            "identity",
            "`userIdentity` is missing or null, so the event cannot be attributed to an identity",
            event.event_name.as_deref().unwrap_or(""),
        ));
    };
    let (identity, identity_type) = identity_of(user)?;
    let (decision, reason) = decide(&event);

    let mut row = NativeRow::new(context.kind);
    row.set_opt(EVENT_TIME, event.event_time);
    row.set(IDENTITY, identity);
    row.set_opt(IDENTITY_TYPE, identity_type);
    row.set_opt(CREDENTIAL_ID, user.access_key_id.clone());
    row.set_opt(SOURCE, event.source_ip_address);
    row.set_opt(USER_AGENT, event.user_agent);
    let account = event
        .recipient_account_id
        .as_deref()
        .or(user.account_id.as_deref())
        .unwrap_or("");
    if !account.is_empty() {
        row.set(
            ENVIRONMENT,
            context.environments.lookup(account).into_owned(),
        );
    }
    if let Some(source) = &event.event_source {
        let service = source.strip_suffix(".amazonaws.com").unwrap_or(source);
        if let Some(name) = &event.event_name {
            row.set(ACTION, format!("{service}:{name}"));
        }
        row.set(SERVICE, source.clone());
    }
    row.set(DECISION, decision);
    row.set_opt(REASON, reason);
    row.set_opt(REQUEST_ID, event.request_id);
    Ok(row)
}

/// The identity that made the request, and its type when the event says.
///
/// IAM users are their user name and assumed roles their role name, the names an
/// IAM authorization export uses, so events and grants meet.
/// NOTE: the role session name is not kept in any native column, so events of
/// every session count as the role; the event's file and line lead to it.
fn identity_of<'a>(
    user: &UserIdentity<'a>,
) -> Result<(Cow<'a, str>, Option<&'static str>), RowError> {
    let kind = user.kind.as_deref().unwrap_or("");
    let from_arn = |marker: &str| {
        user.arn
            .as_deref()
            .and_then(|arn| arn.split_once(marker))
            .map(|(_, rest)| rest.to_string())
    };
    let identity: Option<Cow<'a, str>> = match kind {
        "IAMUser" => user
            .user_name
            .clone()
            .or_else(|| from_arn(":user/").map(|path| Cow::Owned(last_segment(&path).to_string()))),
        "AssumedRole" => issuer_name(user).or_else(|| {
            // arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION
            from_arn(":assumed-role/").and_then(|rest| {
                rest.split('/')
                    .next()
                    .map(|role| Cow::Owned(role.to_string()))
            })
        }),
        // A federated user holds the permissions of the IAM user that called
        // GetFederationToken, narrowed by its session policy.
        "FederatedUser" => {
            issuer_name(user).or_else(|| from_arn(":federated-user/").map(Cow::Owned))
        }
        "AWSService" => user.invoked_by.clone(),
        "Root" => Some(Cow::Borrowed("root")),
        _ => user
            .user_name
            .clone()
            .or_else(|| user.arn.clone())
            .or_else(|| user.principal_id.clone()),
    };
    let identity_type = match kind {
        "Root" => Some("human"),
        "AWSService" => Some("workload"),
        _ => None,
    };
    match identity {
        Some(identity) if !identity.trim().is_empty() => Ok((identity, identity_type)),
        _ => Err(RowError::new(
            "identity",
            format!("`userIdentity` of type `{kind}` names no user, role or service"),
            user.arn.as_deref().unwrap_or(""),
        )),
    }
}

fn issuer_name<'a>(user: &UserIdentity<'a>) -> Option<Cow<'a, str>> {
    let issuer = user.session_context.as_ref()?.session_issuer.as_ref()?;
    issuer.user_name.clone().or_else(|| {
        issuer
            .arn
            .as_deref()
            .map(|arn| Cow::Owned(last_segment(arn).to_string()))
    })
}

fn last_segment(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The decision and the reason for it: an authorization or authentication error
/// code is a denial, any other error code is neither allow nor deny, and no error
/// code is an allow. A console sign-in that failed without an error code is a
/// denial too.
fn decide<'a>(event: &Event<'a>) -> (&'static str, Option<String>) {
    let message = event.error_message.as_deref().unwrap_or("");
    if let Some(code) = event
        .error_code
        .as_deref()
        .filter(|code| !code.trim().is_empty())
    {
        let reason = if message.is_empty() {
            code.to_string()
        } else {
            format!("{code}: {message}")
        };
        let decision = if is_denial_code(code) {
            "deny"
        } else {
            "other"
        };
        return (decision, Some(reason));
    }
    if event.event_name.as_deref() == Some("ConsoleLogin") && console_login_failed(event) {
        let reason = if message.is_empty() {
            "ConsoleLogin: Failure".to_string()
        } else {
            message.to_string()
        };
        return ("deny", Some(reason));
    }
    ("allow", None)
}

/// Error codes that mean the caller was not authorised or not authenticated.
fn is_denial_code(code: &str) -> bool {
    let folded = code.to_ascii_lowercase();
    folded.contains("accessdenied")
        || folded.contains("unauthorized")
        || folded.contains("notauthorized")
        || folded.contains("forbidden")
        || matches!(
            folded.as_str(),
            "authfailure"
                | "invalidclienttokenid"
                | "signaturedoesnotmatch"
                | "expiredtoken"
                | "expiredtokenexception"
                | "invalidaccesskeyid"
                | "missingauthenticationtoken"
        )
}

fn console_login_failed(event: &Event<'_>) -> bool {
    #[derive(Deserialize)]
    struct Response<'a> {
        #[serde(rename = "ConsoleLogin", borrow)]
        console_login: Option<Cow<'a, str>>,
    }
    event
        .response_elements
        .and_then(|raw| serde_json::from_str::<Response<'_>>(raw.get()).ok())
        .and_then(|response| response.console_login)
        .is_some_and(|outcome| outcome.eq_ignore_ascii_case("failure"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::InputKind;
    use crate::ingest::import::Environments;
    use std::sync::Arc;

    fn context(environments: &Environments) -> Context<'_> {
        Context {
            kind: InputKind::Logs,
            name: Arc::from("test.json"),
            environments,
        }
    }

    fn row_of(event: &str) -> Result<Vec<Option<String>>, RowError> {
        let environments = Environments::from_pairs([("111122223333", "prod")]);
        let context = context(&environments);
        map_event(&context, event.as_bytes()).map(|row| {
            row.fields
                .iter()
                .map(|field| field.as_deref().map(str::to_string))
                .collect()
        })
    }

    #[test]
    fn assumed_role_uses_role_name() {
        let row = row_of(
            r#"{"eventTime":"2026-11-01T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject",
            "userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/app-role/i-0abc",
            "accountId":"111122223333","accessKeyId":"ASIAEXAMPLE",
            "sessionContext":{"sessionIssuer":{"type":"Role","userName":"app-role"}}},
            "recipientAccountId":"111122223333","requestID":"r-1"}"#,
        )
        .unwrap();
        assert_eq!(row[IDENTITY].as_deref(), Some("app-role"));
        assert_eq!(row[CREDENTIAL_ID].as_deref(), Some("ASIAEXAMPLE"));
        assert_eq!(row[ACTION].as_deref(), Some("s3:GetObject"));
        assert_eq!(row[SERVICE].as_deref(), Some("s3.amazonaws.com"));
        assert_eq!(row[ENVIRONMENT].as_deref(), Some("prod"));
        assert_eq!(row[DECISION].as_deref(), Some("allow"));
    }

    #[test]
    fn assumed_role_without_issuer_parses_arn() {
        let row = row_of(
            r#"{"eventTime":"2026-11-01T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject",
            "userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/etl/session-7"}}"#,
        )
        .unwrap();
        assert_eq!(row[IDENTITY].as_deref(), Some("etl"));
    }

    #[test]
    fn error_codes_decide() {
        let event = |code: &str| {
            format!(
                r#"{{"eventTime":"2026-11-01T10:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"RunInstances",
                "userIdentity":{{"type":"IAMUser","userName":"ci"}},"errorCode":"{code}","errorMessage":"no"}}"#
            )
        };
        for (code, decision) in [
            ("AccessDenied", "deny"),
            ("Client.UnauthorizedOperation", "deny"),
            ("UnauthorizedOperation", "deny"),
            ("KMS.AccessDeniedException", "deny"),
            ("ThrottlingException", "other"),
            ("InvalidParameterValue", "other"),
        ] {
            let row = row_of(&event(code)).unwrap();
            assert_eq!(row[DECISION].as_deref(), Some(decision), "{code}");
            assert_eq!(row[REASON].as_deref(), Some(format!("{code}: no").as_str()));
        }
    }

    #[test]
    fn null_identity_is_rejected() {
        let error = row_of(
            r#"{"eventTime":"2026-11-01T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","userIdentity":null}"#,
        )
        .unwrap_err();
        assert_eq!(error.column, "identity");
        assert!(error.reason.contains("userIdentity"), "{}", error.reason);
    }

    #[test]
    fn service_and_root_identities() {
        let service = row_of(
            r#"{"eventTime":"2026-11-01T10:00:00Z","eventSource":"kms.amazonaws.com","eventName":"Decrypt",
            "userIdentity":{"type":"AWSService","invokedBy":"lambda.amazonaws.com"}}"#,
        )
        .unwrap();
        assert_eq!(service[IDENTITY].as_deref(), Some("lambda.amazonaws.com"));
        assert_eq!(service[IDENTITY_TYPE].as_deref(), Some("workload"));
        let root = row_of(
            r#"{"eventTime":"2026-11-01T10:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser",
            "userIdentity":{"type":"Root","arn":"arn:aws:iam::1:root","accountId":"1"}}"#,
        )
        .unwrap();
        assert_eq!(root[IDENTITY].as_deref(), Some("root"));
        assert_eq!(root[ENVIRONMENT].as_deref(), Some("1"));
    }

    #[test]
    fn failed_console_login_without_code_is_denied() {
        let row = row_of(
            r#"{"eventTime":"2014-07-08T17:35:27Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin",
            "userIdentity":{"type":"IAMUser","userName":"JaneDoe"},"errorMessage":"Failed authentication",
            "responseElements":{"ConsoleLogin":"Failure"}}"#,
        )
        .unwrap();
        assert_eq!(row[DECISION].as_deref(), Some("deny"));
        assert_eq!(row[REASON].as_deref(), Some("Failed authentication"));
    }

    #[test]
    fn records_line_is_split() {
        let line = br#"{"Records":[{"eventName":"A"},{"eventName":"B"}]}"#;
        assert_eq!(records_array(line).map(|records| records.len()), Some(2));
        assert!(records_array(br#"{"eventName":"A","Records":1}"#).is_none());
    }
}
