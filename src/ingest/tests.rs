//! Normalises API test result rows into [`TestResult`]s.

use std::sync::Arc;

use super::fields::Row;
use super::schema::{TEST_COLUMNS, column};
use super::{Accumulator, Fields, Position, RowError};
use crate::model::endpoint::{normalize_method, normalize_path};
use crate::model::{CredentialState, Expected, Origin, Risk, TestResult};

const TEST_ID: usize = column(TEST_COLUMNS, "test_id");
const EXECUTED_AT: usize = column(TEST_COLUMNS, "executed_at");
const IDENTITY: usize = column(TEST_COLUMNS, "identity");
const CREDENTIAL_ID: usize = column(TEST_COLUMNS, "credential_id");
const CREDENTIAL_STATE: usize = column(TEST_COLUMNS, "credential_state");
const ENVIRONMENT: usize = column(TEST_COLUMNS, "environment");
const SERVICE: usize = column(TEST_COLUMNS, "service");
const METHOD: usize = column(TEST_COLUMNS, "method");
const ENDPOINT: usize = column(TEST_COLUMNS, "endpoint");
const ACTION: usize = column(TEST_COLUMNS, "action");
const EXPECTED: usize = column(TEST_COLUMNS, "expected");
const STATUS_CODE: usize = column(TEST_COLUMNS, "status_code");
const AUTH_PATH: usize = column(TEST_COLUMNS, "auth_path");
const RESPONSE_EXCERPT: usize = column(TEST_COLUMNS, "response_excerpt");
const REQUEST_ID: usize = column(TEST_COLUMNS, "request_id");
const TRACE_ID: usize = column(TEST_COLUMNS, "trace_id");
const RISK: usize = column(TEST_COLUMNS, "risk");

/// Collects test results.
#[derive(Debug, Default)]
pub struct TestAccumulator {
    pub tests: Vec<TestResult>,
}

impl Accumulator for TestAccumulator {
    fn add(
        &mut self,
        file: &Arc<str>,
        position: Position,
        fields: &Fields<'_>,
    ) -> Result<(), RowError> {
        let row = Row {
            fields,
            columns: TEST_COLUMNS,
        };
        let test_id = row.required(TEST_ID)?;
        let executed_at = row.required_timestamp(EXECUTED_AT)?;
        row.required(CREDENTIAL_STATE)?;
        let credential_state = row
            .enumeration(
                CREDENTIAL_STATE,
                CredentialState::parse,
                CredentialState::expected,
            )?
            .expect("checked present above");
        let identity = if credential_state == CredentialState::Missing {
            row.text(IDENTITY)
        } else {
            row.required(IDENTITY)?
        };
        let method = row.required(METHOD)?;
        let endpoint = row.required(ENDPOINT)?;
        row.required(EXPECTED)?;
        let expected = row
            .enumeration(EXPECTED, Expected::parse, Expected::expected)?
            .expect("checked present above");
        row.required(STATUS_CODE)?;
        let status_code = row
            .status_code(STATUS_CODE)?
            .expect("checked present above");
        let risk = row.enumeration(RISK, Risk::parse, Risk::expected)?;

        self.tests.push(TestResult {
            test_id: test_id.to_string(),
            executed_at,
            identity: identity.to_string(),
            credential_id: row.text(CREDENTIAL_ID).to_string(),
            credential_state,
            environment: row.text(ENVIRONMENT).to_ascii_lowercase(),
            service: row.text(SERVICE).to_string(),
            method: normalize_method(method),
            endpoint: normalize_path(endpoint).to_string(),
            action: row.text(ACTION).to_string(),
            expected,
            status_code,
            auth_path: row.text(AUTH_PATH).to_ascii_lowercase(),
            response_excerpt: row.text(RESPONSE_EXCERPT).to_string(),
            request_id: row.text(REQUEST_ID).to_string(),
            trace_id: row.text(TRACE_ID).to_string(),
            risk,
            origin: Origin {
                file: file.clone(),
                line: position.line_or_record(),
            },
        });
        Ok(())
    }

    fn merge(&mut self, other: TestAccumulator) {
        self.tests.extend(other.tests);
    }
}
