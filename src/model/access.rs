//! Access events as the rules see them: one summary row per distinct request
//! shape, plus the denied events and trace edges that rules need one by one.
//!
//! Reducing events early keeps memory proportional to the number of distinct
//! (identity, credential, environment, service, operation, decision, source, user
//! agent, auth path) tuples, not to the number of events.

use std::collections::BTreeSet;

use super::{Decision, Origin, Timestamp};

/// How many sample request ids a summary row keeps.
pub const SAMPLE_REQUEST_IDS: usize = 3;

/// The fields that make a summary row distinct.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccessKey {
    pub identity: String,
    pub credential_id: String,
    pub identity_type: String,
    /// Lower-cased.
    pub environment: String,
    pub service: String,
    /// Upper-cased; empty when the log has none.
    pub method: String,
    /// The endpoint template, or the normalised raw path for identities whose grants
    /// name literal ids.
    pub endpoint: String,
    pub action: String,
    pub decision: Decision,
    /// The calling workload after the source normalisers ran.
    pub source: String,
    pub user_agent: String,
    /// Lower-cased.
    pub auth_path: String,
    /// Index of the interval between the identity's grant and credential
    /// boundaries that the events fall in (see `Inventory::boundaries`).
    pub segment: u32,
}

/// Totals of the events behind one summary row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessStats {
    pub count: u64,
    pub first: Timestamp,
    pub last: Timestamp,
    /// The smallest few request ids, so samples do not depend on read order.
    pub request_ids: Vec<String>,
    /// The earliest input position among the events.
    pub origin: Origin,
}

impl AccessStats {
    /// Starts the stats of a row from its first event.
    pub fn new(time: Timestamp, request_id: &str, origin: Origin) -> AccessStats {
        let mut stats = AccessStats {
            count: 0,
            first: time,
            last: time,
            request_ids: Vec::new(),
            origin,
        };
        stats.add_request_id(request_id);
        stats.count = 1;
        stats
    }

    /// Adds one more event to the row.
    pub fn add(&mut self, time: Timestamp, request_id: &str, origin: impl FnOnce() -> Origin) {
        self.count += 1;
        self.first = self.first.min(time);
        self.last = self.last.max(time);
        self.add_request_id(request_id);
        let candidate = origin();
        if candidate < self.origin {
            self.origin = candidate;
        }
    }

    /// Folds another row's stats of the same key into this one.
    pub fn merge(&mut self, other: AccessStats) {
        self.count += other.count;
        self.first = self.first.min(other.first);
        self.last = self.last.max(other.last);
        for id in other.request_ids {
            self.add_request_id(&id);
        }
        if other.origin < self.origin {
            self.origin = other.origin;
        }
    }

    fn add_request_id(&mut self, request_id: &str) {
        if request_id.is_empty() || self.request_ids.iter().any(|known| known == request_id) {
            return;
        }
        if self.request_ids.len() < SAMPLE_REQUEST_IDS {
            self.request_ids.push(request_id.to_string());
            self.request_ids.sort();
        } else if self
            .request_ids
            .last()
            .is_some_and(|largest| request_id < largest.as_str())
        {
            self.request_ids.pop();
            self.request_ids.push(request_id.to_string());
            self.request_ids.sort();
        }
    }
}

/// A denied event, kept whole for matching against denied tests.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DeniedEvent {
    pub time: Timestamp,
    pub identity: String,
    pub environment: String,
    pub service: String,
    pub method: String,
    /// Normalised raw path.
    pub endpoint: String,
    pub action: String,
    pub reason: String,
    pub request_id: String,
    pub origin: Origin,
}

/// One event of a trace, for following work across services and queues.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TraceEdge {
    pub trace_id: String,
    pub time: Timestamp,
    pub origin: Origin,
    pub identity: String,
    pub environment: String,
    pub service: String,
    pub method: String,
    pub endpoint: String,
    pub action: String,
    pub decision: Decision,
    pub request_id: String,
}

/// Every in-window access event, reduced.
#[derive(Debug, Default)]
pub struct AccessData {
    /// Sorted by key.
    pub rows: Vec<(AccessKey, AccessStats)>,
    /// Sorted by time, then input position.
    pub denied: Vec<DeniedEvent>,
    /// Sorted by trace id, time, then input position.
    pub traces: Vec<TraceEdge>,
    /// (environment, service) pairs with at least one in-window event.
    pub services: BTreeSet<(String, String)>,
    pub events_in_window: u64,
    pub events_outside_window: u64,
}
