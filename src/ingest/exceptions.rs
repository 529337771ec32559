//! Normalises exception rows into [`Exception`]s. An exception must name its
//! approver and its expiry, and its rule must be a known rule id or `*`.

use std::sync::Arc;

use super::fields::Row;
use super::schema::{EXCEPTION_COLUMNS, column};
use super::{Accumulator, Fields, Position, RowError};
use crate::model::Origin;
use crate::register::exceptions::{Exception, Glob};
use crate::rules::RuleSet;

const EXCEPTION_ID: usize = column(EXCEPTION_COLUMNS, "exception_id");
const RULE: usize = column(EXCEPTION_COLUMNS, "rule");
const FINDING_ID: usize = column(EXCEPTION_COLUMNS, "finding_id");
const IDENTITY: usize = column(EXCEPTION_COLUMNS, "identity");
const SERVICE: usize = column(EXCEPTION_COLUMNS, "service");
const ENVIRONMENT: usize = column(EXCEPTION_COLUMNS, "environment");
const APPROVED_BY: usize = column(EXCEPTION_COLUMNS, "approved_by");
const APPROVED_AT: usize = column(EXCEPTION_COLUMNS, "approved_at");
const EXPIRES_AT: usize = column(EXCEPTION_COLUMNS, "expires_at");
const JUSTIFICATION: usize = column(EXCEPTION_COLUMNS, "justification");
const TICKET: usize = column(EXCEPTION_COLUMNS, "ticket");

/// Collects exceptions, checking rule ids against the rules in effect.
#[derive(Debug)]
pub struct ExceptionAccumulator<'r> {
    rules: &'r RuleSet,
    pub exceptions: Vec<Exception>,
}

impl<'r> ExceptionAccumulator<'r> {
    pub fn new(rules: &'r RuleSet) -> ExceptionAccumulator<'r> {
        ExceptionAccumulator {
            rules,
            exceptions: Vec::new(),
        }
    }
}

/// Builds the reject for an absent required value, saying why it matters.
fn missing(column: usize, why: &str) -> RowError {
    RowError::new(
        EXCEPTION_COLUMNS[column],
        format!("missing required value: {why}"),
        "",
    )
}

impl Accumulator for ExceptionAccumulator<'_> {
    fn add(
        &mut self,
        file: &Arc<str>,
        position: Position,
        fields: &Fields<'_>,
    ) -> Result<(), RowError> {
        let row = Row {
            fields,
            columns: EXCEPTION_COLUMNS,
        };
        let exception_id = row.text(EXCEPTION_ID).to_string();
        if exception_id.is_empty() {
            return Err(missing(EXCEPTION_ID, "every exception needs an id"));
        }
        let rule = row.text(RULE);
        if rule.is_empty() {
            return Err(missing(RULE, "name a rule id, or `*` for every rule"));
        }
        if rule != "*" && !self.rules.rules.contains_key(rule) {
            return Err(RowError::new(
                EXCEPTION_COLUMNS[RULE],
                "unknown rule id; use an id from `corroborate rules list`, or `*`",
                rule,
            ));
        }
        let approved_by = row.text(APPROVED_BY);
        if approved_by.is_empty() {
            return Err(missing(
                APPROVED_BY,
                "an exception without an approver is not accepted",
            ));
        }
        if row.text(EXPIRES_AT).is_empty() {
            return Err(missing(
                EXPIRES_AT,
                "an exception without an expiry is not accepted",
            ));
        }
        let expires_at = row.required_timestamp(EXPIRES_AT)?;
        let approved_at = row.timestamp(APPROVED_AT)?;
        if let Some(approved) = approved_at
            && approved >= expires_at
        {
            return Err(RowError::new(
                EXCEPTION_COLUMNS[EXPIRES_AT],
                format!(
                    "the exception expires before it was approved (approved_at {})",
                    approved.to_rfc3339()
                ),
                row.text(EXPIRES_AT),
            ));
        }

        self.exceptions.push(Exception {
            exception_id,
            rule: rule.to_string(),
            finding_id: row.text(FINDING_ID).to_string(),
            identity: Glob::new(row.text(IDENTITY)),
            service: Glob::new(row.text(SERVICE)),
            environment: Glob::new(&row.text(ENVIRONMENT).to_ascii_lowercase()),
            approved_by: approved_by.to_string(),
            approved_at,
            expires_at,
            justification: row.text(JUSTIFICATION).to_string(),
            ticket: row.text(TICKET).to_string(),
            origin: Origin {
                file: file.clone(),
                line: position.line_or_record(),
            },
        });
        Ok(())
    }

    fn merge(&mut self, other: Self) {
        self.exceptions.extend(other.exceptions);
    }
}
