//! Normalises access log rows and reduces them, as they are read, to summary
//! rows ([`AccessKey`] → [`AccessStats`]), denied events and trace edges.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use regex::Regex;

use super::fields::Row;
use super::schema::{LOG_COLUMNS, column};
use super::{Accumulator, Fields, Position, RowError};
use crate::model::access::{AccessData, AccessKey, AccessStats, DeniedEvent, TraceEdge};
use crate::model::endpoint::{normalize_method, normalize_path, template};
use crate::model::inventory::Inventory;
use crate::model::{Decision, IdentityType, Origin, Timestamp};

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
const TRACE_ID: usize = column(LOG_COLUMNS, "trace_id");
const AUTH_PATH: usize = column(LOG_COLUMNS, "auth_path");

/// Separates key fields in the encoded summary key; removed from values first.
const KEY_SEPARATOR: char = '\u{1f}';

/// What the log reader needs to know before it reads: the review window, and
/// per identity the boundaries that split its events into segments.
#[derive(Debug, Default)]
pub struct LogContext {
    /// `[since, until)`.
    pub window: (Timestamp, Timestamp),
    pub boundaries: HashMap<String, Vec<Timestamp>>,
    pub raw_path_identities: HashSet<String>,
    /// Applied in order to each source; each removes what it matches.
    pub source_normalizers: Vec<Regex>,
}

impl LogContext {
    /// Builds the context from the inventory and the credential grace period.
    pub fn new(
        window: (Timestamp, Timestamp),
        inventory: &Inventory,
        grace_seconds: i64,
        source_normalizers: Vec<Regex>,
    ) -> LogContext {
        let mut context = LogContext {
            window,
            source_normalizers,
            ..LogContext::default()
        };
        for (name, identity) in &inventory.identities {
            let boundaries = inventory.boundaries(name, grace_seconds);
            if !boundaries.is_empty() {
                context.boundaries.insert(name.clone(), boundaries);
            }
            if identity.needs_raw_paths {
                context.raw_path_identities.insert(name.clone());
            }
        }
        context
    }

    /// Removes instance suffixes from a source so replicas of one workload count
    /// as one consumer.
    pub fn normalize_source(&self, source: &str) -> String {
        let mut normalized = source.to_string();
        for pattern in &self.source_normalizers {
            if let std::borrow::Cow::Owned(replaced) = pattern.replace(&normalized, "") {
                normalized = replaced;
            }
        }
        normalized
    }
}

/// Reduces access events as they are read.
pub struct LogAccumulator<'c> {
    context: &'c LogContext,
    rows: HashMap<Box<str>, AccessStats>,
    denied: Vec<DeniedEvent>,
    traces: Vec<TraceEdge>,
    services: BTreeSet<(String, String)>,
    in_window: u64,
    outside_window: u64,
    sources: HashMap<Box<str>, Box<str>>,
    key: String,
}

impl<'c> LogAccumulator<'c> {
    /// An empty accumulator for one worker.
    pub fn new(context: &'c LogContext) -> LogAccumulator<'c> {
        LogAccumulator {
            context,
            rows: HashMap::new(),
            denied: Vec::new(),
            traces: Vec::new(),
            services: BTreeSet::new(),
            in_window: 0,
            outside_window: 0,
            sources: HashMap::new(),
            key: String::new(),
        }
    }

    /// Decodes the summary rows and sorts everything, so the result does not
    /// depend on how the work was split.
    pub fn finish(self) -> AccessData {
        let mut rows: Vec<(AccessKey, AccessStats)> = self
            .rows
            .into_iter()
            .map(|(key, stats)| (decode_key(&key), stats))
            .collect();
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        let mut denied = self.denied;
        denied.sort();
        let mut traces = self.traces;
        traces.sort();
        AccessData {
            rows,
            denied,
            traces,
            services: self.services,
            events_in_window: self.in_window,
            events_outside_window: self.outside_window,
        }
    }

    fn normalized_source(&mut self, source: &str) -> &str {
        if !self.sources.contains_key(source) {
            let normalized = self.context.normalize_source(source);
            self.sources.insert(source.into(), normalized.into());
        }
        &self.sources[source]
    }
}

impl Accumulator for LogAccumulator<'_> {
    fn add(
        &mut self,
        file: &Arc<str>,
        position: Position,
        fields: &Fields<'_>,
    ) -> Result<(), RowError> {
        let row = Row {
            fields,
            columns: LOG_COLUMNS,
        };
        let time = row.required_timestamp(EVENT_TIME)?;
        let identity = row.required(IDENTITY)?;
        let service = row.required(SERVICE)?;
        let status = row.status_code(STATUS_CODE)?;
        let decision =
            match row.enumeration(DECISION, parse_decision, || "allow, deny".to_string())? {
                Some(decision) => decision,
                None => match status {
                    Some(code) => Decision::from_status(code),
                    None => {
                        return Err(RowError::new(
                            LOG_COLUMNS[DECISION],
                            "missing required value (give `decision` or `status_code`)",
                            "",
                        ));
                    }
                },
            };
        let action = row.text(ACTION);
        let method = row.text(METHOD);
        let raw_endpoint = row.text(ENDPOINT);
        if action.is_empty() && (method.is_empty() || raw_endpoint.is_empty()) {
            let column = if method.is_empty() { METHOD } else { ENDPOINT };
            return Err(RowError::new(
                LOG_COLUMNS[column],
                "missing required value (give `action`, or `method` and `endpoint`)",
                "",
            ));
        }
        let identity_type =
            row.enumeration(IDENTITY_TYPE, IdentityType::parse, IdentityType::expected)?;

        let (since, until) = self.context.window;
        if time < since || time >= until {
            self.outside_window += 1;
            return Ok(());
        }
        self.in_window += 1;

        let environment = row.text(ENVIRONMENT).to_ascii_lowercase();
        let method = normalize_method(method);
        let path = normalize_path(raw_endpoint);
        let endpoint = if self.context.raw_path_identities.contains(identity) {
            path.into()
        } else {
            template(path)
        };
        let request_id = row.text(REQUEST_ID);
        let segment = match self.context.boundaries.get(identity) {
            Some(boundaries) => boundaries.partition_point(|boundary| *boundary <= time) as u32,
            None => 0,
        };
        let source = self.normalized_source(row.text(SOURCE)).to_string();
        let origin = || Origin {
            file: file.clone(),
            line: position.line_or_record(),
        };

        let mut key = std::mem::take(&mut self.key);
        key.clear();
        for value in [
            identity,
            row.text(CREDENTIAL_ID),
            identity_type.map_or("", IdentityType::as_str),
            &environment,
            service,
            &method,
            &endpoint,
            action,
            decision.as_str(),
            &source,
            row.text(USER_AGENT),
            &row.text(AUTH_PATH).to_ascii_lowercase(),
            &segment.to_string(),
        ] {
            key.extend(
                value
                    .chars()
                    .map(|c| if c == KEY_SEPARATOR { ' ' } else { c }),
            );
            key.push(KEY_SEPARATOR);
        }
        match self.rows.get_mut(key.as_str()) {
            Some(stats) => stats.add(time, request_id, origin),
            None => {
                self.rows.insert(
                    key.as_str().into(),
                    AccessStats::new(time, request_id, origin()),
                );
            }
        }
        self.key = key;

        if !self
            .services
            .contains(&(environment.clone(), service.to_string()))
        {
            self.services
                .insert((environment.clone(), service.to_string()));
        }
        if decision == Decision::Deny {
            self.denied.push(DeniedEvent {
                time,
                identity: identity.to_string(),
                environment: environment.clone(),
                service: service.to_string(),
                method: method.clone(),
                endpoint: path.to_string(),
                action: action.to_string(),
                reason: row.text(REASON).to_string(),
                request_id: request_id.to_string(),
                origin: origin(),
            });
        }
        let trace_id = row.text(TRACE_ID);
        if !trace_id.is_empty() {
            self.traces.push(TraceEdge {
                trace_id: trace_id.to_string(),
                time,
                origin: origin(),
                identity: identity.to_string(),
                environment,
                service: service.to_string(),
                method,
                endpoint: endpoint.into_owned(),
                action: action.to_string(),
                decision,
                request_id: request_id.to_string(),
            });
        }
        Ok(())
    }

    fn merge(&mut self, other: LogAccumulator<'_>) {
        if self.rows.len() < other.rows.len() {
            let mine = std::mem::replace(&mut self.rows, other.rows);
            merge_rows(&mut self.rows, mine);
        } else {
            merge_rows(&mut self.rows, other.rows);
        }
        self.denied.extend(other.denied);
        self.traces.extend(other.traces);
        self.services.extend(other.services);
        self.in_window += other.in_window;
        self.outside_window += other.outside_window;
    }
}

fn merge_rows(into: &mut HashMap<Box<str>, AccessStats>, from: HashMap<Box<str>, AccessStats>) {
    for (key, stats) in from {
        match into.get_mut(&key) {
            Some(known) => known.merge(stats),
            None => {
                into.insert(key, stats);
            }
        }
    }
}

/// Logs say `allow`/`deny`; common synonyms are accepted too.
fn parse_decision(text: &str) -> Option<Decision> {
    match crate::model::fold_enum_text(text).as_str() {
        "allow" | "allowed" | "permit" | "success" => Some(Decision::Allow),
        "deny" | "denied" | "forbidden" | "failure" => Some(Decision::Deny),
        _ => None,
    }
}

fn decode_key(key: &str) -> AccessKey {
    let mut parts = key.split(KEY_SEPARATOR);
    let mut next = || parts.next().unwrap_or("").to_string();
    AccessKey {
        identity: next(),
        credential_id: next(),
        identity_type: next(),
        environment: next(),
        service: next(),
        method: next(),
        endpoint: next(),
        action: next(),
        decision: Decision::parse(&next()).unwrap_or(Decision::Other),
        source: next(),
        user_agent: next(),
        auth_path: next(),
        segment: next().parse().unwrap_or(0),
    }
}
