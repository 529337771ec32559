//! OCSF API Activity events (class 6003) as access logs: JSON Lines, a JSON
//! array, or one event per file.

use std::borrow::Cow;

use serde_json::Value;

use super::super::json::{self, RecordReader};
use super::super::schema::{LOG_COLUMNS, column};
use super::{Context, NativeRow, at, parse_json, text_at};
use crate::error::Result;
use crate::ingest::files::{Format, InputFile};
use crate::ingest::{Accumulator, Position, RowError, Tally};

const EVENT_TIME: usize = column(LOG_COLUMNS, "event_time");
const IDENTITY: usize = column(LOG_COLUMNS, "identity");
const CREDENTIAL_ID: usize = column(LOG_COLUMNS, "credential_id");
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

/// The OCSF class of API Activity events.
const API_ACTIVITY: i64 = 6003;

/// Reads one OCSF file.
pub(super) fn read<A, F>(
    context: &Context<'_>,
    file: &mut InputFile,
    new_accumulator: &F,
) -> Result<Tally<A>>
where
    A: Accumulator,
    F: Fn() -> A + Sync,
{
    let reader = OcsfReader { context };
    let syntax = file.format;
    let (tally, ()) = file.read_with(|stream| match syntax {
        Format::JsonLines => json::read_lines(stream, &context.name, new_accumulator, &reader),
        _ => json::read_document(stream, &context.name, new_accumulator, &reader),
    })?;
    Ok(tally)
}

struct OcsfReader<'c, 'p> {
    context: &'c Context<'p>,
}

impl<A: Accumulator> RecordReader<A> for OcsfReader<'_, '_> {
    type State = ();

    fn read_record(&self, bytes: &[u8], position: Position, tally: &mut Tally<A>, _: &mut ()) {
        let result = parse_json(bytes).and_then(|event| {
            let row = map_event(self.context, &event)?;
            tally.add(&self.context.name, position, row.as_fields());
            Ok(())
        });
        if let Err(error) = result {
            tally.reject(&self.context.name, position, error);
        }
    }

    fn merge_state(&self, _: &mut (), _: ()) {}

    /// An object with `class_uid` is one event. Any other object contains the
    /// events in its only array member.
    fn is_record_key(&self, key: &str) -> bool {
        key == "class_uid"
    }
}

fn map_event<'v>(context: &Context<'_>, event: &'v Value) -> Result<NativeRow<'v>, RowError> {
    let class = at(event, &["class_uid"]).and_then(Value::as_i64);
    if class != Some(API_ACTIVITY) {
        let found = class.map_or("none".to_string(), |class| class.to_string());
        return Err(RowError::new(
            "",
            format!(
                "not an OCSF API Activity event: class_uid is {found}, expected {API_ACTIVITY}"
            ),
            "",
        ));
    }
    let identity = text_at(event, &["actor", "user", "name"])
        .or_else(|| text_at(event, &["actor", "user", "uid"]))
        .or_else(|| text_at(event, &["actor", "user", "email_addr"]))
        .or_else(|| text_at(event, &["actor", "app_name"]));
    let Some(identity) = identity else {
        return Err(RowError::new(
            "identity",
            "the event names no actor (`actor.user.name`, `uid` or `email_addr`, or `actor.app_name`)",
            "",
        ));
    };

    let mut row = NativeRow::new(context.kind);
    row.set_opt(
        EVENT_TIME,
        text_at(event, &["time"]).or_else(|| text_at(event, &["time_dt"])),
    );
    row.set(IDENTITY, identity);
    row.set_opt(
        CREDENTIAL_ID,
        text_at(event, &["actor", "user", "credential_uid"]),
    );
    row.set_opt(
        SOURCE,
        text_at(event, &["src_endpoint", "ip"])
            .or_else(|| text_at(event, &["src_endpoint", "hostname"]))
            .or_else(|| text_at(event, &["src_endpoint", "svc_name"])),
    );
    row.set_opt(USER_AGENT, text_at(event, &["http_request", "user_agent"]));
    if let Some(account) = text_at(event, &["cloud", "account", "uid"]) {
        row.set(
            ENVIRONMENT,
            context.environments.lookup(&account).into_owned(),
        );
    }

    let service = text_at(event, &["api", "service", "name"])
        .or_else(|| text_at(event, &["metadata", "product", "name"]));
    let operation = text_at(event, &["api", "operation"]);
    if let Some(operation) = &operation {
        // AWS operations read like CloudTrail's `service:EventName`.
        let action = match service
            .as_deref()
            .and_then(|name| name.strip_suffix(".amazonaws.com"))
        {
            Some(prefix) => format!("{prefix}:{operation}"),
            None => operation.to_string(),
        };
        row.set(ACTION, action);
    }
    row.set_opt(SERVICE, service);
    row.set_opt(METHOD, text_at(event, &["http_request", "http_method"]));
    row.set_opt(
        ENDPOINT,
        text_at(event, &["http_request", "url", "path"])
            .or_else(|| text_at(event, &["http_request", "url", "url_string"])),
    );
    let status_code = text_at(event, &["http_response", "code"]);
    let (decision, reason) = decide(event);
    row.set_opt(
        DECISION,
        decision.or(if status_code.is_none() {
            Some("other")
        } else {
            None
        }),
    );
    row.set_opt(STATUS_CODE, status_code);
    if decision != Some("allow") {
        row.set_opt(REASON, reason);
    }
    row.set_opt(
        REQUEST_ID,
        text_at(event, &["api", "request", "uid"])
            .or_else(|| text_at(event, &["http_request", "uid"])),
    );
    Ok(row)
}

/// Returns the decision from the event's status and the reason. Success is an
/// allow, and a failure is a deny when its error or detail reports that access
/// was denied or unauthorised, else neither. The decision is `None` when the
/// event has no status, so that an HTTP response code decides.
fn decide(event: &Value) -> (Option<&'static str>, Option<Cow<'_, str>>) {
    let error = text_at(event, &["api", "response", "error"]);
    let detail = text_at(event, &["status_detail"])
        .or_else(|| text_at(event, &["api", "response", "message"]))
        .or_else(|| text_at(event, &["message"]));
    let reason = match (&error, &detail) {
        (Some(error), Some(detail)) => Some(Cow::Owned(format!("{error}: {detail}"))),
        (Some(error), None) => Some(error.clone()),
        (None, detail) => detail.clone(),
    };
    let status_id = at(event, &["status_id"]).and_then(Value::as_i64);
    let status = text_at(event, &["status"]).map(|status| status.to_ascii_lowercase());
    let succeeded = status_id == Some(1) || status.as_deref() == Some("success");
    let failed = status_id == Some(2) || status.as_deref() == Some("failure");
    let denial_words = |text: &str| {
        let folded = text.to_ascii_lowercase();
        [
            "accessdenied",
            "access denied",
            "unauthorized",
            "unauthorised",
            "forbidden",
            "permission denied",
            "not authorized",
        ]
        .iter()
        .any(|word| folded.contains(word))
    };
    let decision = if succeeded {
        Some("allow")
    } else if failed {
        let denied = error.as_deref().is_some_and(denial_words)
            || detail.as_deref().is_some_and(denial_words);
        Some(if denied { "deny" } else { "other" })
    } else {
        None
    };
    (decision, reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::InputKind;
    use crate::ingest::import::Environments;
    use std::sync::Arc;

    fn map(event: &str) -> Result<Vec<Option<String>>, RowError> {
        let environments = Environments::default();
        let context = Context {
            kind: InputKind::Logs,
            name: Arc::from("ocsf.json"),
            environments: &environments,
        };
        let value: Value = serde_json::from_str(event).unwrap();
        map_event(&context, &value).map(|row| {
            row.fields
                .iter()
                .map(|field| field.as_deref().map(str::to_string))
                .collect()
        })
    }

    #[test]
    fn aws_operation_becomes_service_action() {
        let row = map(
            r#"{"class_uid":6003,"time":1695334972000,"actor":{"user":{"name":"Level6","credential_uid":"AKIA1"}},
            "api":{"operation":"DescribeDirectConnectGateways","service":{"name":"directconnect.amazonaws.com"},"request":{"uid":"r1"}},
            "cloud":{"account":{"uid":"1111"}},"status":"Success","src_endpoint":{"ip":"205.8.181.128"}}"#,
        )
        .unwrap();
        assert_eq!(
            row[ACTION].as_deref(),
            Some("directconnect:DescribeDirectConnectGateways")
        );
        assert_eq!(row[DECISION].as_deref(), Some("allow"));
        assert_eq!(row[ENVIRONMENT].as_deref(), Some("1111"));
        assert_eq!(row[CREDENTIAL_ID].as_deref(), Some("AKIA1"));
        assert_eq!(row[REQUEST_ID].as_deref(), Some("r1"));
    }

    #[test]
    fn failure_with_denial_is_deny() {
        let row = map(
            r#"{"class_uid":6003,"time":1,"actor":{"user":{"uid":"svc"}},"api":{"operation":"Get","response":{"error":"AccessDenied"}},
            "status_id":2,"metadata":{"product":{"name":"Gateway"}}}"#,
        )
        .unwrap();
        assert_eq!(row[DECISION].as_deref(), Some("deny"));
        assert_eq!(row[REASON].as_deref(), Some("AccessDenied"));
        assert_eq!(row[SERVICE].as_deref(), Some("Gateway"));
    }

    #[test]
    fn other_classes_are_rejected() {
        let error = map(r#"{"class_uid":3002,"actor":{"user":{"name":"x"}}}"#).unwrap_err();
        assert!(error.reason.contains("3002"), "{}", error.reason);
    }
}
