//! The inventory built from the entitlement export: identities, their
//! credentials and their grants, with grant patterns compiled once.

use std::collections::{BTreeMap, BTreeSet};

use super::{EntitlementRow, GrantStatus, IdentityType, Origin, Risk, Timestamp};
use crate::matching::pattern::{ActionPattern, MethodPattern, PathPattern};

/// One grant: what an identity may do, where, and when.
#[derive(Debug)]
pub struct Grant {
    pub identity: String,
    /// Lower-cased; empty means every environment.
    pub environment: String,
    /// Empty means every service.
    pub service: String,
    pub action: Option<ActionPattern>,
    pub method: MethodPattern,
    pub endpoint: Option<PathPattern>,
    /// The method pattern as written, kept for the grant's text.
    pub method_text: String,
    pub risk: Option<Risk>,
    pub granted_at: Option<Timestamp>,
    pub status: GrantStatus,
    pub revoked_at: Option<Timestamp>,
    pub origin: Option<Origin>,
}

impl Grant {
    /// Returns the grant as written in the export: its action pattern when it has one,
    /// else `METHOD ENDPOINT-PATTERN`, else `*` for a grant of a whole service.
    pub fn text(&self) -> String {
        if let Some(action) = &self.action {
            return action.as_str().to_string();
        }
        match &self.endpoint {
            Some(endpoint) => {
                let method = if self.method_text.is_empty() {
                    "*"
                } else {
                    &self.method_text
                };
                format!("{method} {}", endpoint.as_str())
            }
            None => "*".to_string(),
        }
    }

    /// Returns the environment as written for keys: `*` when it spans every environment.
    pub fn environment_text(&self) -> &str {
        if self.environment.is_empty() {
            "*"
        } else {
            &self.environment
        }
    }

    /// Returns the service as written for keys: `*` when it spans every service.
    pub fn service_text(&self) -> &str {
        if self.service.is_empty() {
            "*"
        } else {
            &self.service
        }
    }

    /// Tells whether the grant is in force at `time`: started, and neither revoked nor
    /// disabled by then.
    pub fn valid_at(&self, time: Timestamp) -> bool {
        if self.granted_at.is_some_and(|start| start > time) {
            return false;
        }
        match (self.status, self.revoked_at) {
            (_, Some(end)) => time < end,
            (GrantStatus::Active, None) => true,
            (GrantStatus::Revoked | GrantStatus::Disabled, None) => false,
        }
    }

    /// Tells whether the grant applies to this environment and service.
    pub fn matches_scope(&self, environment: &str, service: &str) -> bool {
        (self.environment.is_empty() || self.environment == environment)
            && (self.service.is_empty() || self.service == service)
    }

    /// Tells whether the grant covers an operation, ignoring time and scope. An action
    /// pattern covers a request with a matching action; an endpoint pattern covers a
    /// request with a matching method and path. A grant with neither covers the whole
    /// service.
    pub fn covers(&self, method: &str, endpoint: &str, action: &str) -> bool {
        if self.action.is_none() && self.endpoint.is_none() {
            return true;
        }
        if let Some(pattern) = &self.action
            && !action.is_empty()
            && pattern.matches(action)
        {
            return true;
        }
        if let Some(pattern) = &self.endpoint
            && !endpoint.is_empty()
            && self.method.matches(method)
            && pattern.matches(endpoint)
        {
            return true;
        }
        false
    }

    /// Tells whether any of the grant's patterns is a wildcard.
    pub fn is_wildcard(&self) -> bool {
        self.action.as_ref().is_some_and(ActionPattern::is_wildcard)
            || self.endpoint.as_ref().is_some_and(PathPattern::is_wildcard)
            || (self.endpoint.is_some() && self.method.is_wildcard())
    }
}

/// A key or token an identity holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Credential {
    pub id: String,
    pub created_at: Option<Timestamp>,
    pub rotated_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// An identity known to the entitlement export.
#[derive(Debug, Default)]
pub struct Identity {
    pub name: String,
    pub identity_type: Option<IdentityType>,
    /// Empty when the export names no owner.
    pub owner: String,
    pub consumers: BTreeSet<String>,
    pub credentials: Vec<Credential>,
    /// Indexes into [`Inventory::grants`].
    pub grants: Vec<usize>,
    /// Set when every row of the identity is revoked or disabled with a `revoked_at`:
    /// the latest of those times.
    pub revoked_at: Option<Timestamp>,
    /// Whether some grant has an endpoint pattern that literal request paths can match
    /// differently from their templates, so events must keep raw paths.
    pub needs_raw_paths: bool,
}

/// The contents of the entitlement export, indexed by identity.
#[derive(Debug, Default)]
pub struct Inventory {
    pub identities: BTreeMap<String, Identity>,
    pub grants: Vec<Grant>,
}

impl Inventory {
    /// Builds the inventory from validated rows. Rows may come in any order: where
    /// rows of one identity disagree on an attribute, the smallest non-empty value
    /// wins, so the result does not depend on row order.
    pub fn from_rows(mut rows: Vec<EntitlementRow>) -> Inventory {
        rows.sort_by(|a, b| a.origin.cmp(&b.origin));
        let mut inventory = Inventory::default();
        let mut all_rows_revoked: BTreeMap<String, (bool, Option<Timestamp>)> = BTreeMap::new();

        for row in rows {
            let identity = inventory
                .identities
                .entry(row.identity.clone())
                .or_insert_with(|| Identity {
                    name: row.identity.clone(),
                    ..Identity::default()
                });
            merge_attributes(identity, &row);

            let ended = matches!(
                row.status,
                Some(GrantStatus::Revoked | GrantStatus::Disabled)
            ) && row.revoked_at.is_some();
            let entry = all_rows_revoked
                .entry(row.identity.clone())
                .or_insert((true, None));
            entry.0 &= ended;
            entry.1 = entry.1.max(row.revoked_at);

            if row.is_grant() {
                let grant = compile_grant(&row);
                if grant
                    .endpoint
                    .as_ref()
                    .is_some_and(PathPattern::has_id_like_literal)
                {
                    identity.needs_raw_paths = true;
                }
                identity.grants.push(inventory.grants.len());
                inventory.grants.push(grant);
            }
        }

        for (name, (all_ended, latest)) in all_rows_revoked {
            if all_ended && let Some(identity) = inventory.identities.get_mut(&name) {
                identity.revoked_at = latest;
            }
        }
        inventory
    }

    /// Iterates over the grants of an identity, or none when it is unknown.
    pub fn grants_of<'a>(&'a self, identity: &str) -> impl Iterator<Item = &'a Grant> + 'a {
        self.identities
            .get(identity)
            .into_iter()
            .flat_map(|identity| identity.grants.iter().map(|&index| &self.grants[index]))
    }

    /// Lists the times at which some grant or credential of the identity starts or ends:
    /// within two consecutive boundaries, whether a grant covers a request does not
    /// change.
    pub fn boundaries(&self, identity: &str, credential_grace_seconds: i64) -> Vec<Timestamp> {
        let Some(record) = self.identities.get(identity) else {
            return Vec::new();
        };
        let mut times: Vec<Timestamp> = Vec::new();
        for grant in self.grants_of(identity) {
            times.extend(grant.granted_at);
            times.extend(grant.revoked_at);
        }
        for credential in &record.credentials {
            for end in [credential.revoked_at, credential.expires_at]
                .into_iter()
                .flatten()
            {
                times.push(end.plus_seconds(credential_grace_seconds));
            }
        }
        if let Some(end) = record.revoked_at {
            times.push(end.plus_seconds(credential_grace_seconds));
        }
        times.sort_unstable();
        times.dedup();
        times
    }
}

fn merge_attributes(identity: &mut Identity, row: &EntitlementRow) {
    if identity.identity_type.is_none() {
        identity.identity_type = row.identity_type;
    } else if let Some(kind) = row.identity_type {
        identity.identity_type = identity.identity_type.min(Some(kind));
    }
    if !row.owner.is_empty() && (identity.owner.is_empty() || row.owner < identity.owner) {
        identity.owner = row.owner.clone();
    }
    identity.consumers.extend(row.consumers.iter().cloned());

    if row.credential_id.is_empty() {
        return;
    }
    let credential = Credential {
        id: row.credential_id.clone(),
        created_at: row.credential_created_at,
        rotated_at: row.credential_rotated_at,
        expires_at: row.credential_expires_at,
        revoked_at: row.credential_revoked_at,
    };
    match identity
        .credentials
        .iter_mut()
        .find(|known| known.id == credential.id)
    {
        Some(known) => {
            known.created_at = min_present(known.created_at, credential.created_at);
            known.rotated_at = known.rotated_at.max(credential.rotated_at);
            known.expires_at = min_present(known.expires_at, credential.expires_at);
            known.revoked_at = min_present(known.revoked_at, credential.revoked_at);
        }
        None => identity.credentials.push(credential),
    }
    identity.credentials.sort_by(|a, b| a.id.cmp(&b.id));
}

fn min_present(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn compile_grant(row: &EntitlementRow) -> Grant {
    let action = (!row.action.is_empty()).then(|| ActionPattern::new(&row.action));
    // The reader has already checked that endpoint patterns compile.
    let endpoint = (!row.endpoint.is_empty())
        .then(|| PathPattern::new(&row.endpoint).ok())
        .flatten();
    Grant {
        identity: row.identity.clone(),
        environment: if row.environment == "*" {
            String::new()
        } else {
            row.environment.clone()
        },
        service: if row.service == "*" {
            String::new()
        } else {
            row.service.clone()
        },
        action,
        method: MethodPattern::new(&row.method),
        endpoint,
        method_text: row.method.clone(),
        risk: row.risk,
        granted_at: row.granted_at,
        status: row.status.unwrap_or(GrantStatus::Active),
        revoked_at: row.revoked_at,
        origin: row.origin.clone(),
    }
}
