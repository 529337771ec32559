//! Helpers that the identity-behaviour rules share: bounded evidence lists,
//! readable durations and the risk of the grants behind a finding.

use std::collections::{BTreeMap, BTreeSet};

use crate::findings::{EVIDENCE_SAMPLES, Hits};
use crate::model::inventory::{Grant, Inventory};
use crate::model::{Origin, Risk, Timestamp};

/// How many entries an evidence list in `details` keeps. A list that is cut comes
/// with an `_omitted` count of the entries it left out.
pub const DETAIL_LIST_LIMIT: usize = 25;

/// Keeps the first [`DETAIL_LIST_LIMIT`] items and returns them with the number
/// left out.
pub fn bounded<T>(items: impl IntoIterator<Item = T>) -> (Vec<T>, usize) {
    let mut kept = Vec::new();
    let mut omitted = 0;
    for item in items {
        if kept.len() < DETAIL_LIST_LIMIT {
            kept.push(item);
        } else {
            omitted += 1;
        }
    }
    (kept, omitted)
}

/// Joins words as a reader would list them: `a`, `a or b`, `a, b or c`.
pub fn join_alternatives(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [only] => only.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// Joins up to [`DETAIL_LIST_LIMIT`] items with `, `, adding `and N more` when the
/// list is longer.
pub fn join_bounded(items: &[String]) -> String {
    let (kept, omitted) = bounded(items.iter().cloned());
    let mut text = kept.join(", ");
    if omitted > 0 {
        text.push_str(&format!(" and {omitted} more"));
    }
    text
}

/// Writes a count with its noun, such as `1 event` or `3 events`.
pub fn counted(count: u64, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// Writes a span of milliseconds with its two largest units, such as `1 s`,
/// `2 h 3 min` or `44 d 5 h`; spans under a second are written in milliseconds.
pub fn describe_duration(millis: i64) -> String {
    let millis = millis.max(0);
    if millis < 1_000 {
        return format!("{millis} ms");
    }
    let seconds = millis / 1_000;
    let units = [
        (seconds / 86_400, "d"),
        (seconds % 86_400 / 3_600, "h"),
        (seconds % 3_600 / 60, "min"),
        (seconds % 60, "s"),
    ];
    let first = units
        .iter()
        .position(|(value, _)| *value > 0)
        .unwrap_or(units.len() - 1);
    units[first..]
        .iter()
        .take(2)
        .filter(|(value, _)| *value > 0)
        .map(|(value, unit)| format!("{value} {unit}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whole days from `earlier` to `later`, rounded down.
pub fn days_between(earlier: Timestamp, later: Timestamp) -> i64 {
    (later.0 - earlier.0).div_euclid(86_400_000)
}

/// Returns the highest risk among grants.
pub fn max_risk<'a>(grants: impl IntoIterator<Item = &'a Grant>) -> Option<Risk> {
    grants.into_iter().filter_map(|grant| grant.risk).max()
}

/// Returns the highest risk among the identity's grants in force at `time`.
pub fn held_grant_risk(inventory: &Inventory, identity: &str, time: Timestamp) -> Option<Risk> {
    max_risk(
        inventory
            .grants_of(identity)
            .filter(|grant| grant.valid_at(time)),
    )
}

/// Returns the highest risk among the identity's grants, valid or not, that cover an
/// operation in an environment and service: how dangerous that operation is
/// according to the export.
pub fn operation_risk(
    inventory: &Inventory,
    identity: &str,
    scope: (&str, &str),
    operation: (&str, &str, &str),
) -> Option<Risk> {
    let (environment, service) = scope;
    let (method, endpoint, action) = operation;
    max_risk(inventory.grants_of(identity).filter(|grant| {
        grant.matches_scope(environment, service) && grant.covers(method, endpoint, action)
    }))
}

/// Evidence of one finding gathered by borrowing from the inputs, for rules that
/// see a hit per event or per test: ids, locations and samples are bounded as in
/// [`Hits`], and nothing is copied or rendered until [`BorrowedHits::record`].
pub struct BorrowedHits<'a, S> {
    pub event_count: u64,
    pub test_count: u64,
    seen: Option<(Timestamp, Timestamp)>,
    request_ids: BTreeSet<&'a str>,
    test_ids: BTreeSet<&'a str>,
    locations: BTreeSet<&'a Origin>,
    samples: BTreeMap<&'a str, S>,
    max_risk: Option<Risk>,
}

impl<S> Default for BorrowedHits<'_, S> {
    fn default() -> Self {
        BorrowedHits {
            event_count: 0,
            test_count: 0,
            seen: None,
            request_ids: BTreeSet::new(),
            test_ids: BTreeSet::new(),
            locations: BTreeSet::new(),
            samples: BTreeMap::new(),
            max_risk: None,
        }
    }
}

/// Adds `value` to a set that keeps the [`EVIDENCE_SAMPLES`] smallest values.
fn keep_smallest<T: Ord>(set: &mut BTreeSet<T>, value: T) {
    if set.len() < EVIDENCE_SAMPLES || set.last().is_some_and(|last| value < *last) {
        set.insert(value);
        if set.len() > EVIDENCE_SAMPLES {
            set.pop_last();
        }
    }
}

impl<'a, S> BorrowedHits<'a, S> {
    /// Widens the seen interval to include `time`.
    pub fn seen(&mut self, time: Timestamp) {
        self.seen = Some(match self.seen {
            Some((first, last)) => (first.min(time), last.max(time)),
            None => (time, time),
        });
    }

    pub fn request_id(&mut self, id: &'a str) {
        if !id.is_empty() {
            keep_smallest(&mut self.request_ids, id);
        }
    }

    pub fn test_id(&mut self, id: &'a str) {
        if !id.is_empty() {
            keep_smallest(&mut self.test_ids, id);
        }
    }

    pub fn location(&mut self, origin: &'a Origin) {
        keep_smallest(&mut self.locations, origin);
    }

    pub fn risk(&mut self, risk: Option<Risk>) {
        self.max_risk = self.max_risk.max(risk);
    }

    /// Keeps a sample under `sort_key` when it is among the smallest keys;
    /// `make` runs only then.
    pub fn sample(&mut self, sort_key: &'a str, make: impl FnOnce() -> S) {
        let among_smallest = self.samples.len() < EVIDENCE_SAMPLES
            || self
                .samples
                .last_key_value()
                .is_some_and(|(last, _)| sort_key < *last);
        if among_smallest && !self.samples.contains_key(sort_key) {
            self.samples.insert(sort_key, make());
            if self.samples.len() > EVIDENCE_SAMPLES {
                self.samples.pop_last();
            }
        }
    }

    /// Adds everything gathered to a finding's hits, rendering each kept sample.
    pub fn record(self, hits: &mut Hits, render: impl Fn(S) -> serde_json::Value) {
        hits.event_count += self.event_count;
        hits.test_count += self.test_count;
        if let Some((first, last)) = self.seen {
            hits.seen(first, last);
        }
        for id in self.request_ids {
            hits.request_id(id);
        }
        for id in self.test_ids {
            hits.test_id(id);
        }
        for origin in self.locations {
            hits.location(origin);
        }
        hits.risk(self.max_risk);
        for (sort_key, sample) in self.samples {
            hits.sample(sort_key.to_string(), render(sample));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_duration_keeps_two_units() {
        assert_eq!(describe_duration(250), "250 ms");
        assert_eq!(describe_duration(1_000), "1 s");
        assert_eq!(describe_duration(61_000), "1 min 1 s");
        assert_eq!(describe_duration(7_200_000), "2 h");
        assert_eq!(describe_duration(7_380_000), "2 h 3 min");
        assert_eq!(describe_duration(7_385_000), "2 h 3 min");
        assert_eq!(
            describe_duration(86_400_000 * 44 + 5 * 3_600_000),
            "44 d 5 h"
        );
        assert_eq!(describe_duration(-5), "0 ms");
    }

    #[test]
    fn join_alternatives_lists_words() {
        let words = |list: &[&str]| list.iter().map(|word| word.to_string()).collect::<Vec<_>>();
        assert_eq!(join_alternatives(&words(&[])), "");
        assert_eq!(join_alternatives(&words(&["revoked"])), "revoked");
        assert_eq!(
            join_alternatives(&words(&["expired", "revoked", "missing"])),
            "expired, revoked or missing"
        );
    }

    #[test]
    fn bounded_counts_omitted() {
        let (kept, omitted) = bounded(0..DETAIL_LIST_LIMIT + 3);
        assert_eq!(kept.len(), DETAIL_LIST_LIMIT);
        assert_eq!(omitted, 3);
    }

    #[test]
    fn borrowed_hits_render_only_kept_samples() {
        let keys: Vec<String> = (0..8).map(|n| format!("k{n}")).collect();
        let mut ascending: BorrowedHits<'_, usize> = BorrowedHits::default();
        let mut rendered = 0;
        for (index, key) in keys.iter().enumerate() {
            ascending.sample(key, || {
                rendered += 1;
                index
            });
        }
        assert_eq!(rendered, EVIDENCE_SAMPLES);
        assert_eq!(ascending.samples.keys().last(), Some(&"k4"));

        let mut descending: BorrowedHits<'_, usize> = BorrowedHits::default();
        for (index, key) in keys.iter().enumerate().rev() {
            descending.sample(key, || index);
        }
        let kept: Vec<&str> = descending.samples.keys().copied().collect();
        assert_eq!(kept, vec!["k0", "k1", "k2", "k3", "k4"]);
    }

    #[test]
    fn days_between_rounds_down() {
        let start = Timestamp::parse("2026-05-14T06:00:00Z").unwrap();
        let end = Timestamp::parse("2026-11-30T00:00:00Z").unwrap();
        assert_eq!(days_between(start, end), 199);
    }
}
