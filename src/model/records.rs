//! Row-level records read from the inputs, after validation.

use std::fmt;
use std::sync::Arc;

use super::{CredentialState, Expected, GrantStatus, IdentityType, Risk, Timestamp};

/// Where a record came from: the input file and its line (or record number for
/// formats without lines).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Origin {
    pub file: Arc<str>,
    pub line: u64,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One request an API test sent, with what it observed.
#[derive(Clone, Debug)]
pub struct TestResult {
    pub test_id: String,
    pub executed_at: Timestamp,
    pub identity: String,
    pub credential_id: String,
    pub credential_state: CredentialState,
    /// Lower-cased; empty when the test did not say.
    pub environment: String,
    pub service: String,
    /// Upper-cased HTTP method.
    pub method: String,
    /// Normalised request path: no query string, no trailing `/`.
    pub endpoint: String,
    pub action: String,
    pub expected: Expected,
    pub status_code: u16,
    /// Lower-cased authentication mechanism the service reported.
    pub auth_path: String,
    /// The response body as the test recorded it. Never written out unredacted.
    pub response_excerpt: String,
    pub request_id: String,
    pub trace_id: String,
    pub risk: Option<Risk>,
    pub origin: Origin,
}

/// One row of an entitlement export: identity attributes and, when it has a
/// service, action or endpoint, one grant.
#[derive(Clone, Debug, Default)]
pub struct EntitlementRow {
    pub identity: String,
    pub identity_type: Option<IdentityType>,
    pub owner: String,
    pub consumers: Vec<String>,
    pub environment: String,
    pub service: String,
    pub action: String,
    pub method: String,
    pub endpoint: String,
    pub risk: Option<Risk>,
    pub granted_at: Option<Timestamp>,
    pub status: Option<GrantStatus>,
    pub revoked_at: Option<Timestamp>,
    pub credential_id: String,
    pub credential_created_at: Option<Timestamp>,
    pub credential_rotated_at: Option<Timestamp>,
    pub credential_expires_at: Option<Timestamp>,
    pub credential_revoked_at: Option<Timestamp>,
    pub origin: Option<Origin>,
}

impl EntitlementRow {
    /// Whether the row grants something, rather than only describing its identity.
    pub fn is_grant(&self) -> bool {
        !(self.service.is_empty() && self.action.is_empty() && self.endpoint.is_empty())
    }
}
