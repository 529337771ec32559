//! Normalises access log rows and reduces them, as they are read, to summary
//! rows ([`AccessKey`] → [`AccessStats`]), denied events and trace edges.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::Arc;

use rayon::iter::{IntoParallelIterator, ParallelIterator};
use rayon::slice::ParallelSliceMut;
use regex::Regex;

use super::fields::Row;
use super::schema::{LOG_COLUMNS, column};
use super::{Accumulator, Fields, Position, RowError};
use crate::model::access::{
    AccessData, AccessKey, AccessStats, DeniedEvent, TraceEdge, VolumeBuckets,
};
use crate::model::endpoint::{normalize_path, template};
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

/// A hash map for the per-event lookups, with a faster hash than the standard
/// SipHash. foldhash resists crafted collisions less, but it is seeded per map,
/// and the worst a hostile log can do is slow the run down.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

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
    /// Keeps the normalised raw path on trace edges of every identity, as a
    /// summary needs, instead of the template.
    pub trace_raw_paths: bool,
    /// Which denied events to keep; `None` keeps all of them.
    pub denied_filter: Option<DeniedFilter>,
    /// The per-identity volume buckets of the window.
    pub volume_buckets: VolumeBuckets,
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
            volume_buckets: VolumeBuckets::for_window(window.0, window.1),
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

/// The denied events a run keeps: those that can match one of its tests, by
/// request id or by identity, method and path, as denial-not-logged and
/// denial-log-incomplete match them. Those rules are the only readers of
/// `AccessData::denied`, so a run over months of logs does not keep every denial.
// NOTE: a new rule that reads denied events without a test must widen this filter.
#[derive(Debug, Default)]
pub struct DeniedFilter {
    request_ids: HashSet<String>,
    identities: HashSet<String>,
    /// `identity`, method and path joined by [`KEY_SEPARATOR`].
    requests: HashSet<String>,
}

impl DeniedFilter {
    /// Keeps the denied events that some test in `tests` could match.
    pub fn for_tests(tests: &[crate::model::TestResult]) -> DeniedFilter {
        let mut filter = DeniedFilter::default();
        for test in tests {
            if !test.request_id.is_empty() {
                filter.request_ids.insert(test.request_id.clone());
            }
            filter.identities.insert(test.identity.clone());
            filter
                .requests
                .insert(request_key(&test.identity, &test.method, &test.endpoint));
        }
        filter
    }

    /// Whether a denied event with these fields may match a test.
    pub fn keeps(&self, request_id: &str, identity: &str, method: &str, path: &str) -> bool {
        (!request_id.is_empty() && self.request_ids.contains(request_id))
            || (self.identities.contains(identity)
                && self.requests.contains(&request_key(identity, method, path)))
    }
}

fn request_key(identity: &str, method: &str, path: &str) -> String {
    [identity, method, path].join(&KEY_SEPARATOR.to_string())
}

impl LogContext {
    /// Whether the run keeps this denied event (see [`DeniedFilter`]).
    pub fn keeps_denied(&self, request_id: &str, identity: &str, method: &str, path: &str) -> bool {
        self.denied_filter
            .as_ref()
            .is_none_or(|filter| filter.keeps(request_id, identity, method, path))
    }
}

/// Reduces access events as they are read.
pub struct LogAccumulator<'c> {
    context: &'c LogContext,
    rows: FastMap<Box<str>, AccessStats>,
    denied: Vec<DeniedEvent>,
    traces: Vec<TraceEdge>,
    services: BTreeSet<(String, String)>,
    in_window: u64,
    outside_window: u64,
    /// Raw source → normalised source, so each distinct source is normalised once.
    sources: FastMap<Box<str>, Arc<str>>,
    key: String,
    /// Events per identity and volume bucket.
    volume: FastMap<Box<str>, Vec<u32>>,
}

impl<'c> LogAccumulator<'c> {
    /// An empty accumulator for one worker.
    pub fn new(context: &'c LogContext) -> LogAccumulator<'c> {
        LogAccumulator {
            context,
            rows: FastMap::default(),
            denied: Vec::new(),
            traces: Vec::new(),
            services: BTreeSet::new(),
            in_window: 0,
            outside_window: 0,
            sources: FastMap::default(),
            key: String::new(),
            volume: FastMap::default(),
        }
    }

    /// Decodes the summary rows and sorts everything, so the result does not
    /// depend on how the work was split.
    pub fn finish(self) -> AccessData {
        let mut rows: Vec<(AccessKey, AccessStats)> = self
            .rows
            .into_par_iter()
            .map(|(key, stats)| (decode_key(&key), stats))
            .collect();
        rows.par_sort_unstable_by(|a, b| a.0.cmp(&b.0));
        // Every in-window event has a summary row, so the rows name every
        // (environment, service) pair with events.
        let mut services = self.services;
        services.extend(
            rows.iter()
                .map(|(key, _)| (key.environment.clone(), key.service.clone())),
        );
        let mut denied = self.denied;
        denied.par_sort_unstable();
        let mut traces = self.traces;
        traces.par_sort_unstable();
        AccessData {
            rows,
            denied,
            traces,
            services,
            events_in_window: self.in_window,
            events_outside_window: self.outside_window,
            volume: self
                .volume
                .into_iter()
                .map(|(identity, counts)| (identity.into_string(), counts))
                .collect(),
            volume_buckets: self.context.volume_buckets,
        }
    }

    /// Adds `events` to the identity's volume bucket of `time`.
    fn count_volume(&mut self, identity: &str, time: Timestamp, events: u64) {
        let buckets = &self.context.volume_buckets;
        let Some(index) = buckets.index(time) else {
            return;
        };
        let events = u32::try_from(events).unwrap_or(u32::MAX);
        if let Some(counts) = self.volume.get_mut(identity) {
            counts[index] = counts[index].saturating_add(events);
            return;
        }
        let mut counts = vec![0; buckets.count as usize];
        counts[index] = events;
        self.volume.insert(identity.into(), counts);
    }

    fn normalized_source(&mut self, source: &str) -> Arc<str> {
        if let Some(normalized) = self.sources.get(source) {
            return normalized.clone();
        }
        let normalized: Arc<str> = self.context.normalize_source(source).into();
        self.sources.insert(source.into(), normalized.clone());
        normalized
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
        let decision = match row.enumeration(DECISION, parse_decision, || {
            "allow, deny, other".to_string()
        })? {
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
        self.count_volume(identity, time, 1);

        let environment = lower_case(row.text(ENVIRONMENT));
        let method = upper_case(method);
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
        let source = self.normalized_source(row.text(SOURCE));
        let origin = || Origin {
            file: file.clone(),
            line: position.line_or_record(),
        };

        let mut key = std::mem::take(&mut self.key);
        encode_key(
            &mut key,
            [
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
                &lower_case(row.text(AUTH_PATH)),
            ],
            segment,
        );
        match self.rows.get_mut(key.as_str()) {
            Some(stats) => stats.add_event(time, request_id, file, position.line_or_record()),
            None => {
                self.rows.insert(
                    key.as_str().into(),
                    AccessStats::new(time, request_id, origin()),
                );
            }
        }
        self.key = key;

        if decision == Decision::Deny
            && self
                .context
                .keeps_denied(request_id, identity, &method, path)
        {
            self.denied.push(DeniedEvent {
                time,
                identity: identity.to_string(),
                environment: environment.to_string(),
                service: service.to_string(),
                method: method.to_string(),
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
                environment: environment.into_owned(),
                service: service.to_string(),
                method: method.into_owned(),
                endpoint: if self.context.trace_raw_paths {
                    path.to_string()
                } else {
                    endpoint.into_owned()
                },
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
        for (identity, counts) in other.volume {
            match self.volume.get_mut(&identity) {
                Some(known) => {
                    for (total, count) in known.iter_mut().zip(counts) {
                        *total = total.saturating_add(count);
                    }
                }
                None => {
                    self.volume.insert(identity, counts);
                }
            }
        }
    }
}

/// The key fields of a summary row, in encoding order: identity, credential id,
/// identity type, environment, service, method, endpoint, action, decision,
/// normalised source, user agent, auth path.
pub type KeyFields<'a> = [&'a str; 12];

/// Writes the key fields and the segment into `key`, each followed by
/// [`KEY_SEPARATOR`], which is replaced by a space inside values.
fn encode_key(key: &mut String, values: KeyFields<'_>, segment: u32) {
    key.clear();
    for value in values {
        if value.contains(KEY_SEPARATOR) {
            key.extend(
                value
                    .chars()
                    .map(|c| if c == KEY_SEPARATOR { ' ' } else { c }),
            );
        } else {
            key.push_str(value);
        }
        key.push(KEY_SEPARATOR);
    }
    if segment == 0 {
        key.push('0');
    } else {
        let _ = write!(key, "{segment}");
    }
    key.push(KEY_SEPARATOR);
}

/// Adding already reduced evidence, as read from a summary file. The caller has
/// applied the review window and derived the segment.
impl LogAccumulator<'_> {
    /// The context the accumulator was made with.
    pub fn context(&self) -> &LogContext {
        self.context
    }

    /// Folds a summary row of in-window events into the rows.
    pub fn add_summary_row(&mut self, values: KeyFields<'_>, segment: u32, stats: AccessStats) {
        self.in_window += stats.count;
        let buckets = self.context.volume_buckets;
        // NOTE: a summary row has no per-event times, so its events are charted only
        // when the row lies within one volume bucket. The report's volume charts
        // leave out the events of other summary rows.
        if buckets.index(stats.first) == buckets.index(stats.last) {
            self.count_volume(values[0], stats.first, stats.count);
        }
        self.count_volume(values[0], stats.first, stats.count);
        let mut key = std::mem::take(&mut self.key);
        encode_key(&mut key, values, segment);
        match self.rows.get_mut(key.as_str()) {
            Some(known) => known.merge(stats),
            None => {
                self.rows.insert(key.as_str().into(), stats);
            }
        }
        self.key = key;
    }

    /// Keeps one in-window denied event.
    pub fn add_denied(&mut self, event: DeniedEvent) {
        self.denied.push(event);
    }

    /// Keeps one in-window trace edge.
    pub fn add_trace(&mut self, edge: TraceEdge) {
        self.traces.push(edge);
    }

    /// Counts events that fell outside the review window.
    pub fn add_outside_window(&mut self, events: u64) {
        self.outside_window += events;
    }
}

fn merge_rows(into: &mut FastMap<Box<str>, AccessStats>, from: FastMap<Box<str>, AccessStats>) {
    for (key, stats) in from {
        match into.get_mut(&key) {
            Some(known) => known.merge(stats),
            None => {
                into.insert(key, stats);
            }
        }
    }
}

/// Logs say `allow`/`deny` (or `other`, neither); common synonyms are accepted too, in any case.
fn parse_decision(text: &str) -> Option<Decision> {
    let text = text.trim();
    let is = |word: &str| text.eq_ignore_ascii_case(word);
    if is("allow") || is("allowed") || is("permit") || is("success") {
        Some(Decision::Allow)
    } else if is("deny") || is("denied") || is("forbidden") || is("failure") {
        Some(Decision::Deny)
    } else if is("other") {
        // Neither allowed nor denied, e.g. a request that failed for another reason.
        Some(Decision::Other)
    } else {
        None
    }
}

/// Lower-cases ASCII letters, borrowing when there are none to change.
fn lower_case(text: &str) -> Cow<'_, str> {
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(text.to_ascii_lowercase())
    } else {
        Cow::Borrowed(text)
    }
}

/// Upper-cases ASCII letters, borrowing when there are none to change.
fn upper_case(text: &str) -> Cow<'_, str> {
    if text.bytes().any(|b| b.is_ascii_lowercase()) {
        Cow::Owned(text.to_ascii_uppercase())
    } else {
        Cow::Borrowed(text)
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
