//! The native columns of each input kind, and how a file's own column names map
//! onto them. Column names match case-insensitively, after trimming.

/// The kind of evidence an input file carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InputKind {
    Tests,
    Logs,
    Entitlements,
    Exceptions,
    /// Access log summaries written by `corroborate summarize`.
    Summaries,
}

impl InputKind {
    /// Returns the name used in the manifest and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            InputKind::Tests => "tests",
            InputKind::Logs => "logs",
            InputKind::Entitlements => "entitlements",
            InputKind::Exceptions => "exceptions",
            InputKind::Summaries => "summaries",
        }
    }

    /// Returns the native columns of this kind, in the fixed order readers fill them in.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            InputKind::Tests => TEST_COLUMNS,
            InputKind::Logs => LOG_COLUMNS,
            InputKind::Entitlements => ENTITLEMENT_COLUMNS,
            InputKind::Exceptions => EXCEPTION_COLUMNS,
            InputKind::Summaries => SUMMARY_COLUMNS,
        }
    }

    /// Finds the index of a native column, matching case-insensitively.
    pub fn column_index(self, name: &str) -> Option<usize> {
        // Most files spell the columns exactly; that check is the cheap one, and
        // comparing bytes inline avoids a library call per column.
        let exact = |column: &&str| {
            column.len() == name.len() && column.bytes().zip(name.bytes()).all(|(a, b)| a == b)
        };
        if let Some(index) = self.columns().iter().position(exact) {
            return Some(index);
        }
        let name = name.trim();
        self.columns()
            .iter()
            .position(|column| column.eq_ignore_ascii_case(name))
    }

    /// Describes the required columns absent from a file, given which native
    /// columns it has. Empty when nothing is missing.
    pub fn missing_columns(self, present: &[bool]) -> Vec<String> {
        let has = |name: &str| self.column_index(name).is_some_and(|index| present[index]);
        let mut missing = Vec::new();
        let mut require = |names: &[&str]| {
            for name in names {
                if !has(name) {
                    missing.push(format!("`{name}`"));
                }
            }
        };
        match self {
            InputKind::Tests => require(&[
                "test_id",
                "executed_at",
                "identity",
                "credential_state",
                "method",
                "endpoint",
                "expected",
                "status_code",
            ]),
            InputKind::Logs => {
                require(&["event_time", "identity", "service"]);
                if !has("decision") && !has("status_code") {
                    missing.push("`decision` (or `status_code`)".to_string());
                }
                if !(has("action") || (has("method") && has("endpoint"))) {
                    missing.push("`action` (or `method` and `endpoint`)".to_string());
                }
            }
            InputKind::Entitlements => require(&["identity"]),
            InputKind::Exceptions => {
                require(&["exception_id", "rule", "approved_by", "expires_at"])
            }
            InputKind::Summaries => require(&[
                "kind", "identity", "service", "decision", "count", "first", "last",
            ]),
        }
        missing
    }
}

/// Test result columns, in reader order; indexes are the `T_*` constants.
pub const TEST_COLUMNS: &[&str] = &[
    "test_id",
    "executed_at",
    "identity",
    "credential_id",
    "credential_state",
    "environment",
    "service",
    "method",
    "endpoint",
    "action",
    "expected",
    "status_code",
    "auth_path",
    "response_excerpt",
    "request_id",
    "trace_id",
    "risk",
];

/// Access log columns, in reader order.
pub const LOG_COLUMNS: &[&str] = &[
    "event_time",
    "identity",
    "credential_id",
    "identity_type",
    "source",
    "user_agent",
    "environment",
    "service",
    "method",
    "endpoint",
    "action",
    "decision",
    "status_code",
    "reason",
    "request_id",
    "trace_id",
    "auth_path",
];

/// Entitlement columns, in reader order.
pub const ENTITLEMENT_COLUMNS: &[&str] = &[
    "identity",
    "identity_type",
    "owner",
    "consumers",
    "environment",
    "service",
    "action",
    "method",
    "endpoint",
    "risk",
    "granted_at",
    "status",
    "revoked_at",
    "credential_id",
    "credential_created_at",
    "credential_rotated_at",
    "credential_expires_at",
    "credential_revoked_at",
];

/// Exception columns, in reader order.
pub const EXCEPTION_COLUMNS: &[&str] = &[
    "exception_id",
    "rule",
    "finding_id",
    "identity",
    "service",
    "environment",
    "approved_by",
    "approved_at",
    "expires_at",
    "justification",
    "ticket",
];

/// The columns of an access log summary file (docs/summaries.md), in the order
/// `corroborate summarize` writes them.
pub const SUMMARY_COLUMNS: &[&str] = &[
    "kind",
    "identity",
    "credential_id",
    "identity_type",
    "environment",
    "service",
    "method",
    "endpoint",
    "path",
    "action",
    "decision",
    "source",
    "user_agent",
    "auth_path",
    "count",
    "first",
    "last",
    "request_id",
    "request_id_2",
    "request_id_3",
    "trace_id",
    "reason",
    "origin_file",
    "origin_line",
    "rows_rejected",
    "events_outside_window",
    "sha256",
];

/// Finds the index of `name` in `columns`. It runs at compile time, so a
/// misspelt column constant fails the build.
pub const fn column(columns: &[&str], name: &str) -> usize {
    let mut index = 0;
    while index < columns.len() {
        if const_eq(columns[index].as_bytes(), name.as_bytes()) {
            return index;
        }
        index += 1;
    }
    panic!("unknown native column");
}

const fn const_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_index_ignores_case() {
        assert_eq!(InputKind::Logs.column_index("Event_Time"), Some(0));
        assert_eq!(InputKind::Logs.column_index(" IDENTITY "), Some(1));
        assert_eq!(InputKind::Logs.column_index("colour"), None);
    }

    #[test]
    fn logs_accept_status_code_for_decision() {
        let kind = InputKind::Logs;
        let mut present = vec![false; kind.columns().len()];
        for name in ["event_time", "identity", "service", "status_code", "action"] {
            present[kind.column_index(name).unwrap()] = true;
        }
        assert!(kind.missing_columns(&present).is_empty());
    }

    #[test]
    fn logs_missing_operation_is_reported() {
        let kind = InputKind::Logs;
        let mut present = vec![false; kind.columns().len()];
        for name in ["event_time", "identity", "service", "decision", "method"] {
            present[kind.column_index(name).unwrap()] = true;
        }
        assert_eq!(
            kind.missing_columns(&present),
            vec!["`action` (or `method` and `endpoint`)"]
        );
    }
}
