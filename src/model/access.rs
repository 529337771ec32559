//! Access events as the rules see them: one summary row per distinct request
//! shape, plus the denied events and trace edges that rules need one by one.
//!
//! Reducing events early keeps memory proportional to the number of distinct
//! (identity, credential, environment, service, operation, decision, source, user
//! agent, auth path) tuples, not to the number of events.

use std::collections::{BTreeMap, BTreeSet};

use std::sync::Arc;

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

    /// Adds one more event to the row, given where it was read; the origin is
    /// built only when it is earlier than the row's.
    pub fn add_event(&mut self, time: Timestamp, request_id: &str, file: &Arc<str>, line: u64) {
        self.count += 1;
        self.first = self.first.min(time);
        self.last = self.last.max(time);
        self.add_request_id(request_id);
        if (&**file, line) < (&*self.origin.file, self.origin.line) {
            self.origin = Origin {
                file: file.clone(),
                line,
            };
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
        // Checked first because it settles most events of a busy row with one
        // comparison: ids at or above the largest of a full sample are not kept.
        let full = self.request_ids.len() >= SAMPLE_REQUEST_IDS;
        if request_id.is_empty()
            || (full
                && self
                    .request_ids
                    .last()
                    .is_some_and(|largest| request_id >= largest.as_str()))
            || self.request_ids.iter().any(|known| known == request_id)
        {
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
    /// Sorted by time, then input position. A run keeps only the denied events
    /// that can match one of its tests (`ingest::logs::DeniedFilter`).
    pub denied: Vec<DeniedEvent>,
    /// Sorted by trace id, time, then input position.
    pub traces: Vec<TraceEdge>,
    /// (environment, service) pairs with at least one in-window event.
    pub services: BTreeSet<(String, String)>,
    pub events_in_window: u64,
    pub events_outside_window: u64,
    /// In-window events per identity and [`VolumeBuckets`] bucket, for the report's
    /// volume charts.
    pub volume: BTreeMap<String, Vec<u32>>,
    pub volume_buckets: VolumeBuckets,
}

/// The longest window, in days, whose volume is counted per day. Longer windows are
/// counted per week or per several weeks, so no identity has more than
/// [`MAX_VOLUME_BUCKETS`] counters.
pub const DAILY_VOLUME_MAX_DAYS: i64 = 120;

/// The maximum number of buckets [`VolumeBuckets::for_window`] makes.
pub const MAX_VOLUME_BUCKETS: i64 = 120;

const MILLIS_PER_DAY: i64 = 86_400_000;

/// Equal time buckets covering the review window, starting at UTC midnight of its
/// first day.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VolumeBuckets {
    pub start: Timestamp,
    /// 1 for windows up to [`DAILY_VOLUME_MAX_DAYS`] days, else a multiple of 7.
    pub width_days: u32,
    pub count: u32,
}

impl VolumeBuckets {
    /// Splits `[since, until)` into days, or into whole weeks (several when needed to
    /// stay within [`MAX_VOLUME_BUCKETS`]) when the window is longer than
    /// [`DAILY_VOLUME_MAX_DAYS`].
    pub fn for_window(since: Timestamp, until: Timestamp) -> VolumeBuckets {
        let start = Timestamp(since.0.div_euclid(MILLIS_PER_DAY) * MILLIS_PER_DAY);
        // Positive, so the unsigned division below is exact.
        let span = until.0.saturating_sub(start.0).max(1) as u64;
        let days = span.div_ceil(MILLIS_PER_DAY as u64);
        let width_days = if days <= DAILY_VOLUME_MAX_DAYS as u64 {
            1
        } else {
            7 * days.div_ceil(7 * MAX_VOLUME_BUCKETS as u64)
        };
        VolumeBuckets {
            start,
            width_days: width_days as u32,
            count: days.div_ceil(width_days) as u32,
        }
    }

    /// Returns the bucket `time` falls in, or `None` outside the buckets.
    pub fn index(&self, time: Timestamp) -> Option<usize> {
        if self.count == 0 || time < self.start {
            return None;
        }
        let index = (time.0 - self.start.0) / (i64::from(self.width_days) * MILLIS_PER_DAY);
        (index < i64::from(self.count)).then_some(index as usize)
    }

    /// Returns the start of bucket `index`.
    pub fn bucket_start(&self, index: usize) -> Timestamp {
        Timestamp(self.start.0 + index as i64 * i64::from(self.width_days) * MILLIS_PER_DAY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    #[test]
    fn volume_buckets_daily_for_90_days() {
        let buckets =
            VolumeBuckets::for_window(at("2026-09-01T06:00:00Z"), at("2026-11-30T00:00:00Z"));
        assert_eq!(buckets.start, at("2026-09-01T00:00:00Z"));
        assert_eq!(buckets.width_days, 1);
        assert_eq!(buckets.count, 90);
        assert_eq!(buckets.index(at("2026-09-01T05:00:00Z")), Some(0));
        assert_eq!(buckets.index(at("2026-11-29T23:59:59Z")), Some(89));
        assert_eq!(buckets.index(at("2026-11-30T00:00:00Z")), None);
        assert_eq!(buckets.index(at("2026-08-31T23:59:59Z")), None);
    }

    #[test]
    fn volume_buckets_weekly_past_120_days() {
        let buckets =
            VolumeBuckets::for_window(at("2026-01-01T00:00:00Z"), at("2026-12-01T00:00:00Z"));
        assert_eq!(buckets.width_days, 7);
        assert_eq!(buckets.count, 48);
        assert_eq!(buckets.bucket_start(1), at("2026-01-08T00:00:00Z"));
    }

    #[test]
    fn volume_buckets_stay_bounded_for_long_windows() {
        let buckets =
            VolumeBuckets::for_window(at("2000-01-01T00:00:00Z"), at("2026-01-01T00:00:00Z"));
        assert_eq!(buckets.width_days % 7, 0);
        assert!(i64::from(buckets.count) <= MAX_VOLUME_BUCKETS);
    }
}
