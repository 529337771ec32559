//! Normalises entitlement export rows into [`EntitlementRow`]s.

use std::sync::Arc;

use super::fields::Row;
use super::schema::{ENTITLEMENT_COLUMNS, column};
use super::{Accumulator, Fields, Position, RowError};
use crate::matching::pattern::PathPattern;
use crate::model::endpoint::normalize_method;
use crate::model::{EntitlementRow, GrantStatus, IdentityType, Origin, Risk};

const IDENTITY: usize = column(ENTITLEMENT_COLUMNS, "identity");
const IDENTITY_TYPE: usize = column(ENTITLEMENT_COLUMNS, "identity_type");
const OWNER: usize = column(ENTITLEMENT_COLUMNS, "owner");
const CONSUMERS: usize = column(ENTITLEMENT_COLUMNS, "consumers");
const ENVIRONMENT: usize = column(ENTITLEMENT_COLUMNS, "environment");
const SERVICE: usize = column(ENTITLEMENT_COLUMNS, "service");
const ACTION: usize = column(ENTITLEMENT_COLUMNS, "action");
const METHOD: usize = column(ENTITLEMENT_COLUMNS, "method");
const ENDPOINT: usize = column(ENTITLEMENT_COLUMNS, "endpoint");
const RISK: usize = column(ENTITLEMENT_COLUMNS, "risk");
const GRANTED_AT: usize = column(ENTITLEMENT_COLUMNS, "granted_at");
const STATUS: usize = column(ENTITLEMENT_COLUMNS, "status");
const REVOKED_AT: usize = column(ENTITLEMENT_COLUMNS, "revoked_at");
const CREDENTIAL_ID: usize = column(ENTITLEMENT_COLUMNS, "credential_id");
const CREDENTIAL_CREATED_AT: usize = column(ENTITLEMENT_COLUMNS, "credential_created_at");
const CREDENTIAL_ROTATED_AT: usize = column(ENTITLEMENT_COLUMNS, "credential_rotated_at");
const CREDENTIAL_EXPIRES_AT: usize = column(ENTITLEMENT_COLUMNS, "credential_expires_at");
const CREDENTIAL_REVOKED_AT: usize = column(ENTITLEMENT_COLUMNS, "credential_revoked_at");

/// Collects entitlement rows.
#[derive(Debug, Default)]
pub struct EntitlementAccumulator {
    pub rows: Vec<EntitlementRow>,
}

impl Accumulator for EntitlementAccumulator {
    fn add(
        &mut self,
        file: &Arc<str>,
        position: Position,
        fields: &Fields<'_>,
    ) -> Result<(), RowError> {
        let row = Row {
            fields,
            columns: ENTITLEMENT_COLUMNS,
        };
        let identity = row.required(IDENTITY)?;
        let endpoint = row.text(ENDPOINT);
        let method = row.text(METHOD);
        if !endpoint.is_empty()
            && let Err(error) = PathPattern::new(endpoint)
        {
            return Err(RowError::new(
                ENTITLEMENT_COLUMNS[ENDPOINT],
                format!("invalid endpoint pattern: {error}"),
                endpoint,
            ));
        }
        if !method.is_empty() && endpoint.is_empty() {
            return Err(RowError::new(
                ENTITLEMENT_COLUMNS[METHOD],
                "a method pattern needs an `endpoint` pattern; put the permission in `action`, or add the endpoint",
                method,
            ));
        }

        let consumers = row
            .text(CONSUMERS)
            .split(';')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_string)
            .collect();
        self.rows.push(EntitlementRow {
            identity: identity.to_string(),
            identity_type: row.enumeration(
                IDENTITY_TYPE,
                IdentityType::parse,
                IdentityType::expected,
            )?,
            owner: row.text(OWNER).to_string(),
            consumers,
            environment: row.text(ENVIRONMENT).to_ascii_lowercase(),
            service: row.text(SERVICE).to_string(),
            action: row.text(ACTION).to_string(),
            method: if method == "*" {
                method.to_string()
            } else {
                normalize_method(method)
            },
            endpoint: endpoint.to_string(),
            risk: row.enumeration(RISK, Risk::parse, Risk::expected)?,
            granted_at: row.timestamp(GRANTED_AT)?,
            status: row.enumeration(STATUS, GrantStatus::parse, GrantStatus::expected)?,
            revoked_at: row.timestamp(REVOKED_AT)?,
            credential_id: row.text(CREDENTIAL_ID).to_string(),
            credential_created_at: row.timestamp(CREDENTIAL_CREATED_AT)?,
            credential_rotated_at: row.timestamp(CREDENTIAL_ROTATED_AT)?,
            credential_expires_at: row.timestamp(CREDENTIAL_EXPIRES_AT)?,
            credential_revoked_at: row.timestamp(CREDENTIAL_REVOKED_AT)?,
            origin: Some(Origin {
                file: file.clone(),
                line: position.line_or_record(),
            }),
        });
        Ok(())
    }

    fn merge(&mut self, other: EntitlementAccumulator) {
        self.rows.extend(other.rows);
    }
}
