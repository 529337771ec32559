//! Facts the report derives from the evidence: per identity, its grants,
//! activity and tests, and how much of the estate the evidence covers.

use std::collections::{BTreeMap, BTreeSet};

use super::ReportInput;
use crate::detect::{Outcome, classify};
use crate::findings::Finding;
use crate::model::endpoint::template;
use crate::model::inventory::{Grant, Identity};
use crate::model::{CredentialState, Decision, Timestamp};
use crate::redact;

/// Characters of input text (sources, user agents, paths) the report shows.
const INPUT_TEXT_CHARS: usize = 160;

/// Credential states whose tests count as negative tests of a service.
pub const NEGATIVE_STATES: [CredentialState; 3] = [
    CredentialState::Expired,
    CredentialState::Revoked,
    CredentialState::Missing,
];

/// Redacts and cuts text from an input that the report shows outside the
/// findings' evidence, which the rules have already redacted.
pub fn input_text(text: &str) -> String {
    redact::excerpt(text, INPUT_TEXT_CHARS)
}

/// A grant and how many allowed in-window events it covered.
pub struct GrantUse<'a> {
    pub grant: &'a Grant,
    /// `None` when no logs were given, so use is unknown.
    pub allowed_events: Option<u64>,
}

/// Events of one identity on one operation with one decision.
pub struct Activity {
    pub environment: String,
    pub service: String,
    /// The action, else `METHOD endpoint-template`; redacted and cut.
    pub operation: String,
    pub decision: Decision,
    pub events: u64,
    pub first: Timestamp,
    pub last: Timestamp,
    /// Normalised sources, redacted and cut.
    pub sources: BTreeSet<String>,
}

/// Tests of one identity sending one request with one credential state.
pub struct TestGroup {
    pub environment: String,
    pub service: String,
    /// `METHOD endpoint-template`, redacted and cut.
    pub request: String,
    pub credential_state: CredentialState,
    pub expected: &'static str,
    pub runs: u64,
    pub allowed: u64,
    pub clear_denials: u64,
    pub unclear_denials: u64,
    pub last_status: u16,
    pub last_at: Timestamp,
}

impl TestGroup {
    /// Checks that every run got what policy expects: allowed when expected allow,
    /// a clear denial when expected deny.
    pub fn as_expected(&self) -> bool {
        if self.expected == "allow" {
            self.allowed == self.runs
        } else {
            self.clear_denials == self.runs
        }
    }
}

/// Everything the report shows about one identity.
pub struct IdentityFacts<'a> {
    pub name: String,
    pub record: Option<&'a Identity>,
    /// The identity type the logs gave, used when the entitlements do not know it.
    pub logged_type: String,
    pub grants: Vec<GrantUse<'a>>,
    /// Most events first.
    pub activity: Vec<Activity>,
    pub sources: BTreeMap<String, u64>,
    pub user_agents: BTreeMap<String, u64>,
    pub credentials_used: BTreeSet<String>,
    pub events: u64,
    pub allowed_events: u64,
    pub denied_events: u64,
    /// Ordered by environment, service, request and credential state.
    pub tests: Vec<TestGroup>,
    pub test_runs: u64,
    /// In report order: most severe first.
    pub findings: Vec<&'a Finding>,
    pub volume: Option<&'a [u32]>,
}

impl IdentityFacts<'_> {
    /// Returns the identity type from the entitlements, else from the logs, else empty.
    pub fn identity_type(&self) -> String {
        self.record
            .and_then(|record| record.identity_type)
            .map(|kind| kind.as_str().to_string())
            .unwrap_or_else(|| self.logged_type.clone())
    }

    /// Returns the owner from the entitlements, empty when none.
    pub fn owner(&self) -> &str {
        self.record.map_or("", |record| record.owner.as_str())
    }
}

/// Builds the facts of every identity named by the entitlements, logs, tests or
/// findings, by name.
pub fn identities<'a>(input: &ReportInput<'a>) -> BTreeMap<String, IdentityFacts<'a>> {
    let mut facts: BTreeMap<String, IdentityFacts<'a>> = BTreeMap::new();
    let entry = |facts: &mut BTreeMap<String, IdentityFacts<'a>>, name: &str| {
        if !facts.contains_key(name) {
            let record = input
                .inventory
                .and_then(|inventory| inventory.identities.get(name));
            facts.insert(name.to_string(), empty_facts(name, record));
        }
    };

    if let Some(inventory) = input.inventory {
        for name in inventory.identities.keys() {
            entry(&mut facts, name);
        }
    }
    if let Some(access) = input.access {
        add_activity(access, &mut facts, &entry);
    }
    if let Some(inventory) = input.inventory {
        let used = grant_use(input);
        for (name, identity) in &inventory.identities {
            let Some(identity_facts) = facts.get_mut(name) else {
                continue;
            };
            identity_facts.grants = identity
                .grants
                .iter()
                .map(|&index| GrantUse {
                    grant: &inventory.grants[index],
                    allowed_events: used.as_ref().map(|used| used[index]),
                })
                .collect();
        }
    }
    if let Some(tests) = input.tests {
        add_tests(input, tests, &mut facts, &entry);
    }
    add_findings(input.findings, &mut facts, &entry);
    facts
}

fn empty_facts<'a>(name: &str, record: Option<&'a Identity>) -> IdentityFacts<'a> {
    IdentityFacts {
        name: name.to_string(),
        record,
        logged_type: String::new(),
        grants: Vec::new(),
        activity: Vec::new(),
        sources: BTreeMap::new(),
        user_agents: BTreeMap::new(),
        credentials_used: BTreeSet::new(),
        events: 0,
        allowed_events: 0,
        denied_events: 0,
        tests: Vec::new(),
        test_runs: 0,
        findings: Vec::new(),
        volume: None,
    }
}

/// Allowed in-window events covered by each grant, by grant index, or `None`
/// when there are no logs to judge use by.
fn grant_use(input: &ReportInput<'_>) -> Option<Vec<u64>> {
    let (access, inventory) = (input.access?, input.inventory?);
    let mut used = vec![0; inventory.grants.len()];
    for ((key, stats), grants) in access.rows.iter().zip(input.coverage) {
        if key.decision != Decision::Allow {
            continue;
        }
        for &index in grants {
            used[index] += stats.count;
        }
    }
    Some(used)
}

fn add_activity<'a>(
    access: &'a crate::model::access::AccessData,
    facts: &mut BTreeMap<String, IdentityFacts<'a>>,
    entry: &impl Fn(&mut BTreeMap<String, IdentityFacts<'a>>, &str),
) {
    type ActivityKey = (String, String, String, &'static str);
    let mut grouped: BTreeMap<String, BTreeMap<ActivityKey, Activity>> = BTreeMap::new();
    for (key, stats) in &access.rows {
        entry(facts, &key.identity);
        let Some(identity) = facts.get_mut(&key.identity) else {
            continue;
        };
        identity.events += stats.count;
        match key.decision {
            Decision::Allow => identity.allowed_events += stats.count,
            Decision::Deny => identity.denied_events += stats.count,
            Decision::Other => {}
        }
        if identity.logged_type.is_empty() {
            identity.logged_type = key.identity_type.clone();
        }
        let source = input_text(&key.source);
        if !source.is_empty() {
            *identity.sources.entry(source.clone()).or_default() += stats.count;
        }
        if !key.user_agent.is_empty() {
            *identity
                .user_agents
                .entry(input_text(&key.user_agent))
                .or_default() += stats.count;
        }
        if !key.credential_id.is_empty() {
            identity
                .credentials_used
                .insert(input_text(&key.credential_id));
        }
        let operation = if key.action.is_empty() {
            format!("{} {}", key.method, template(&key.endpoint))
        } else {
            key.action.clone()
        };
        let operation = input_text(&operation);
        let group_key = (
            key.environment.clone(),
            key.service.clone(),
            operation.clone(),
            key.decision.as_str(),
        );
        let activity = grouped
            .entry(key.identity.clone())
            .or_default()
            .entry(group_key)
            .or_insert_with(|| Activity {
                environment: key.environment.clone(),
                service: key.service.clone(),
                operation,
                decision: key.decision,
                events: 0,
                first: stats.first,
                last: stats.last,
                sources: BTreeSet::new(),
            });
        activity.events += stats.count;
        activity.first = activity.first.min(stats.first);
        activity.last = activity.last.max(stats.last);
        if !source.is_empty() {
            activity.sources.insert(source);
        }
    }
    for (name, groups) in grouped {
        if let Some(identity) = facts.get_mut(&name) {
            let mut activity: Vec<Activity> = groups.into_values().collect();
            // Stable, so equal counts keep the key order.
            activity.sort_by_key(|activity| std::cmp::Reverse(activity.events));
            identity.activity = activity;
        }
    }
    for (name, counts) in &access.volume {
        if let Some(identity) = facts.get_mut(name) {
            identity.volume = Some(counts);
        }
    }
}

fn add_tests<'a>(
    input: &ReportInput<'a>,
    tests: &'a [crate::model::TestResult],
    facts: &mut BTreeMap<String, IdentityFacts<'a>>,
    entry: &impl Fn(&mut BTreeMap<String, IdentityFacts<'a>>, &str),
) {
    type TestKey = (String, String, String, CredentialState, &'static str);
    let mut grouped: BTreeMap<String, BTreeMap<TestKey, TestGroup>> = BTreeMap::new();
    for test in tests {
        if test.identity.is_empty() {
            continue;
        }
        entry(facts, &test.identity);
        if let Some(identity) = facts.get_mut(&test.identity) {
            identity.test_runs += 1;
        }
        let request = input_text(&format!("{} {}", test.method, template(&test.endpoint)));
        let key = (
            test.environment.clone(),
            test.service.clone(),
            request.clone(),
            test.credential_state,
            test.expected.as_str(),
        );
        let group = grouped
            .entry(test.identity.clone())
            .or_default()
            .entry(key)
            .or_insert_with(|| TestGroup {
                environment: test.environment.clone(),
                service: test.service.clone(),
                request,
                credential_state: test.credential_state,
                expected: test.expected.as_str(),
                runs: 0,
                allowed: 0,
                clear_denials: 0,
                unclear_denials: 0,
                last_status: test.status_code,
                last_at: test.executed_at,
            });
        group.runs += 1;
        match classify(test, &input.rules.settings) {
            Outcome::Allow => group.allowed += 1,
            Outcome::ClearDenial => group.clear_denials += 1,
            Outcome::UnclearDenial => group.unclear_denials += 1,
        }
        if test.executed_at >= group.last_at {
            group.last_at = test.executed_at;
            group.last_status = test.status_code;
        }
    }
    for (name, groups) in grouped {
        if let Some(identity) = facts.get_mut(&name) {
            identity.tests = groups.into_values().collect();
        }
    }
}

/// Attaches each finding to the identities its key names; an exception-expired
/// finding goes with the finding it covers.
fn add_findings<'a>(
    findings: &'a [Finding],
    facts: &mut BTreeMap<String, IdentityFacts<'a>>,
    entry: &impl Fn(&mut BTreeMap<String, IdentityFacts<'a>>, &str),
) {
    let by_id: BTreeMap<&str, &Finding> = findings
        .iter()
        .map(|finding| (finding.finding_id.as_str(), finding))
        .collect();
    for finding in findings {
        for name in finding_identities(finding, &by_id) {
            entry(facts, &name);
            if let Some(identity) = facts.get_mut(&name) {
                identity.findings.push(finding);
            }
        }
    }
}

/// Returns the identities a finding is about: its key's identity, initiator and
/// worker, or those of the finding it covers.
pub fn finding_identities(finding: &Finding, by_id: &BTreeMap<&str, &Finding>) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut add = |finding: &Finding| {
        for name in [
            &finding.key.identity,
            &finding.key.initiator,
            &finding.key.worker,
        ] {
            if !name.is_empty() {
                names.insert(name.clone());
            }
        }
    };
    add(finding);
    if let Some(covered) = by_id.get(finding.key.covered_finding_id.as_str()) {
        add(covered);
    }
    names
}

/// A count out of a total.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Share {
    pub part: u64,
    pub whole: u64,
}

/// Evidence coverage of one environment and service.
pub struct ServiceCoverage {
    /// Empty when the tests or grants give none; `*` for grants of every environment.
    pub environment: String,
    pub service: String,
    /// In-window events, or `None` when no logs were given.
    pub events: Option<u64>,
    /// In-window tests, or `None` when no tests were given.
    pub tests: Option<u64>,
    /// Negative-test credential states with no test.
    pub missing_negative: Vec<CredentialState>,
    /// Identities holding an active grant on the service.
    pub granted_identities: usize,
}

/// How much of the estate the evidence covers.
pub struct Visibility {
    /// Identities seen in the logs that the entitlements know.
    pub logged_known: Option<Share>,
    /// Inventoried identities with an in-window event.
    pub inventoried_seen: Option<Share>,
    /// Inventoried identities with an in-window test.
    pub inventoried_tested: Option<Share>,
    pub services: Vec<ServiceCoverage>,
}

/// Measures coverage from the facts and the inputs.
pub fn visibility(
    input: &ReportInput<'_>,
    facts: &BTreeMap<String, IdentityFacts<'_>>,
) -> Visibility {
    let inventory = input.inventory;
    let logged: Vec<&IdentityFacts<'_>> = facts.values().filter(|facts| facts.events > 0).collect();
    let inventoried: Vec<&IdentityFacts<'_>> = facts
        .values()
        .filter(|facts| facts.record.is_some())
        .collect();
    let share = |part: usize, whole: usize| Share {
        part: part as u64,
        whole: whole as u64,
    };
    Visibility {
        logged_known: (input.access.is_some() && inventory.is_some()).then(|| {
            share(
                logged.iter().filter(|facts| facts.record.is_some()).count(),
                logged.len(),
            )
        }),
        inventoried_seen: (input.access.is_some() && inventory.is_some()).then(|| {
            share(
                inventoried.iter().filter(|facts| facts.events > 0).count(),
                inventoried.len(),
            )
        }),
        inventoried_tested: (input.tests.is_some() && inventory.is_some()).then(|| {
            share(
                inventoried
                    .iter()
                    .filter(|facts| facts.test_runs > 0)
                    .count(),
                inventoried.len(),
            )
        }),
        services: services(input),
    }
}

fn services(input: &ReportInput<'_>) -> Vec<ServiceCoverage> {
    #[derive(Default)]
    struct Counts {
        events: u64,
        tests: u64,
        states: BTreeSet<CredentialState>,
        granted: BTreeSet<String>,
    }
    let mut by_service: BTreeMap<(String, String), Counts> = BTreeMap::new();
    if let Some(access) = input.access {
        for (key, stats) in &access.rows {
            by_service
                .entry((key.environment.clone(), key.service.clone()))
                .or_default()
                .events += stats.count;
        }
    }
    if let Some(tests) = input.tests {
        for test in tests {
            let counts = by_service
                .entry((test.environment.clone(), test.service.clone()))
                .or_default();
            counts.tests += 1;
            counts.states.insert(test.credential_state);
        }
    }
    if let Some(inventory) = input.inventory {
        for grant in &inventory.grants {
            if grant.service.is_empty() || !grant.valid_at(input.as_of) {
                continue;
            }
            let known: Vec<(String, String)> = by_service
                .keys()
                .filter(|(environment, service)| {
                    *service == grant.service
                        && (grant.environment.is_empty() || *environment == grant.environment)
                })
                .cloned()
                .collect();
            let targets = if known.is_empty() {
                vec![(grant.environment_text().to_string(), grant.service.clone())]
            } else {
                known
            };
            for target in targets {
                by_service
                    .entry(target)
                    .or_default()
                    .granted
                    .insert(grant.identity.clone());
            }
        }
    }
    by_service
        .into_iter()
        .map(|((environment, service), counts)| ServiceCoverage {
            events: input.access.map(|_| counts.events),
            tests: input.tests.map(|_| counts.tests),
            missing_negative: NEGATIVE_STATES
                .into_iter()
                .filter(|state| !counts.states.contains(state))
                .collect(),
            granted_identities: counts.granted.len(),
            environment: input_text(&environment),
            service: input_text(&service),
        })
        .collect()
}
