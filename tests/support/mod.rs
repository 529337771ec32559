//! Row builders for the identity-behaviour rule tests: access events, API tests
//! and entitlement rows with readable defaults, written as CSV with the headers
//! of `tests/common`. A test file that uses them declares `mod common;` too.

#![allow(dead_code)]

use crate::common::{ENTITLEMENT_HEADER, LOG_HEADER, TEST_HEADER};

/// Joins fields into one CSV line, quoting those that need it.
pub fn csv_row(fields: &[&str]) -> String {
    let quoted: Vec<String> = fields
        .iter()
        .map(|field| {
            if field.contains([',', '"', '\n']) {
                format!("\"{}\"", field.replace('"', "\"\""))
            } else {
                field.to_string()
            }
        })
        .collect();
    format!("{}\n", quoted.join(","))
}

/// One access log row. Defaults: prod, orders-api, an okhttp client, no source.
#[derive(Clone, Debug)]
pub struct Event {
    pub time: String,
    pub identity: String,
    pub credential_id: String,
    pub identity_type: String,
    pub source: String,
    pub user_agent: String,
    pub environment: String,
    pub service: String,
    pub method: String,
    pub endpoint: String,
    pub action: String,
    pub decision: String,
    pub reason: String,
    pub request_id: String,
    pub trace_id: String,
}

impl Event {
    /// Builds an allowed event of `identity` at `time`, with action `orders:read`.
    pub fn allow(time: &str, identity: &str) -> Event {
        Event {
            time: time.to_string(),
            identity: identity.to_string(),
            credential_id: String::new(),
            identity_type: String::new(),
            source: String::new(),
            user_agent: "okhttp/4.12.0".to_string(),
            environment: "prod".to_string(),
            service: "orders-api".to_string(),
            method: String::new(),
            endpoint: String::new(),
            action: "orders:read".to_string(),
            decision: "allow".to_string(),
            reason: String::new(),
            request_id: String::new(),
            trace_id: String::new(),
        }
    }

    /// Builds a denied event of `identity` at `time`, with a reason.
    pub fn deny(time: &str, identity: &str) -> Event {
        Event {
            decision: "deny".to_string(),
            reason: "not permitted".to_string(),
            ..Event::allow(time, identity)
        }
    }

    pub fn env(mut self, environment: &str) -> Event {
        self.environment = environment.to_string();
        self
    }

    pub fn service(mut self, service: &str) -> Event {
        self.service = service.to_string();
        self
    }

    /// Sets the action and clears method and endpoint.
    pub fn action(mut self, action: &str) -> Event {
        self.action = action.to_string();
        self.method.clear();
        self.endpoint.clear();
        self
    }

    /// Sets method and endpoint and clears the action.
    pub fn request(mut self, method: &str, endpoint: &str) -> Event {
        self.method = method.to_string();
        self.endpoint = endpoint.to_string();
        self.action.clear();
        self
    }

    pub fn credential(mut self, credential_id: &str) -> Event {
        self.credential_id = credential_id.to_string();
        self
    }

    pub fn identity_type(mut self, identity_type: &str) -> Event {
        self.identity_type = identity_type.to_string();
        self
    }

    pub fn source(mut self, source: &str) -> Event {
        self.source = source.to_string();
        self
    }

    pub fn agent(mut self, user_agent: &str) -> Event {
        self.user_agent = user_agent.to_string();
        self
    }

    pub fn request_id(mut self, request_id: &str) -> Event {
        self.request_id = request_id.to_string();
        self
    }

    pub fn trace(mut self, trace_id: &str) -> Event {
        self.trace_id = trace_id.to_string();
        self
    }

    pub fn reason(mut self, reason: &str) -> Event {
        self.reason = reason.to_string();
        self
    }

    pub fn row(&self) -> String {
        csv_row(&[
            &self.time,
            &self.identity,
            &self.credential_id,
            &self.identity_type,
            &self.source,
            &self.user_agent,
            &self.environment,
            &self.service,
            &self.method,
            &self.endpoint,
            &self.action,
            &self.decision,
            "",
            &self.reason,
            &self.request_id,
            &self.trace_id,
            "",
        ])
    }
}

/// Writes a whole access log file.
pub fn log_file(events: &[Event]) -> String {
    let rows: String = events.iter().map(Event::row).collect();
    format!("{LOG_HEADER}{rows}")
}

/// One API test row. Defaults: prod, orders-api, a valid credential, expected
/// deny, status 403.
#[derive(Clone, Debug)]
pub struct ApiTest {
    pub test_id: String,
    pub executed_at: String,
    pub identity: String,
    pub credential_id: String,
    pub credential_state: String,
    pub environment: String,
    pub service: String,
    pub method: String,
    pub endpoint: String,
    pub action: String,
    pub expected: String,
    pub status_code: String,
    pub request_id: String,
    pub risk: String,
}

impl ApiTest {
    /// Builds test `test_id` of `identity` sending `method endpoint` at `time`.
    pub fn new(test_id: &str, time: &str, identity: &str, method: &str, endpoint: &str) -> ApiTest {
        ApiTest {
            test_id: test_id.to_string(),
            executed_at: time.to_string(),
            identity: identity.to_string(),
            credential_id: String::new(),
            credential_state: "valid".to_string(),
            environment: "prod".to_string(),
            service: "orders-api".to_string(),
            method: method.to_string(),
            endpoint: endpoint.to_string(),
            action: String::new(),
            expected: "deny".to_string(),
            status_code: "403".to_string(),
            request_id: String::new(),
            risk: String::new(),
        }
    }

    pub fn env(mut self, environment: &str) -> ApiTest {
        self.environment = environment.to_string();
        self
    }

    pub fn service(mut self, service: &str) -> ApiTest {
        self.service = service.to_string();
        self
    }

    pub fn state(mut self, credential_state: &str) -> ApiTest {
        self.credential_state = credential_state.to_string();
        self
    }

    pub fn credential(mut self, credential_id: &str) -> ApiTest {
        self.credential_id = credential_id.to_string();
        self
    }

    pub fn expect(mut self, expected: &str, status_code: u16) -> ApiTest {
        self.expected = expected.to_string();
        self.status_code = status_code.to_string();
        self
    }

    pub fn request_id(mut self, request_id: &str) -> ApiTest {
        self.request_id = request_id.to_string();
        self
    }

    pub fn risk(mut self, risk: &str) -> ApiTest {
        self.risk = risk.to_string();
        self
    }

    pub fn row(&self) -> String {
        csv_row(&[
            &self.test_id,
            &self.executed_at,
            &self.identity,
            &self.credential_id,
            &self.credential_state,
            &self.environment,
            &self.service,
            &self.method,
            &self.endpoint,
            &self.action,
            &self.expected,
            &self.status_code,
            "",
            "",
            &self.request_id,
            "",
            &self.risk,
        ])
    }
}

/// Writes a whole test result file.
pub fn test_file(tests: &[ApiTest]) -> String {
    let rows: String = tests.iter().map(ApiTest::row).collect();
    format!("{TEST_HEADER}{rows}")
}

/// One entitlement row. Defaults: a `service_account` owned by `team-a`, an
/// active grant of `orders:read` on prod orders-api from 2025-01-01.
#[derive(Clone, Debug)]
pub struct Grant {
    pub identity: String,
    pub identity_type: String,
    pub owner: String,
    pub consumers: String,
    pub environment: String,
    pub service: String,
    pub action: String,
    pub method: String,
    pub endpoint: String,
    pub risk: String,
    pub granted_at: String,
    pub status: String,
    pub revoked_at: String,
    pub credential_id: String,
    pub credential_created_at: String,
    pub credential_rotated_at: String,
    pub credential_expires_at: String,
    pub credential_revoked_at: String,
}

impl Grant {
    pub fn new(identity: &str) -> Grant {
        Grant {
            identity: identity.to_string(),
            identity_type: "service_account".to_string(),
            owner: "team-a".to_string(),
            consumers: String::new(),
            environment: "prod".to_string(),
            service: "orders-api".to_string(),
            action: "orders:read".to_string(),
            method: String::new(),
            endpoint: String::new(),
            risk: String::new(),
            granted_at: "2025-01-01T00:00:00Z".to_string(),
            status: "active".to_string(),
            revoked_at: String::new(),
            credential_id: String::new(),
            credential_created_at: String::new(),
            credential_rotated_at: String::new(),
            credential_expires_at: String::new(),
            credential_revoked_at: String::new(),
        }
    }

    pub fn identity_type(mut self, identity_type: &str) -> Grant {
        self.identity_type = identity_type.to_string();
        self
    }

    pub fn owner(mut self, owner: &str) -> Grant {
        self.owner = owner.to_string();
        self
    }

    pub fn consumers(mut self, consumers: &str) -> Grant {
        self.consumers = consumers.to_string();
        self
    }

    pub fn env(mut self, environment: &str) -> Grant {
        self.environment = environment.to_string();
        self
    }

    pub fn service(mut self, service: &str) -> Grant {
        self.service = service.to_string();
        self
    }

    /// Sets the action pattern and clears method and endpoint.
    pub fn action(mut self, action: &str) -> Grant {
        self.action = action.to_string();
        self.method.clear();
        self.endpoint.clear();
        self
    }

    /// Sets method and endpoint patterns and clears the action.
    pub fn request(mut self, method: &str, endpoint: &str) -> Grant {
        self.method = method.to_string();
        self.endpoint = endpoint.to_string();
        self.action.clear();
        self
    }

    /// Leaves service, action and endpoint empty: an attribute-only row.
    pub fn attributes_only(mut self) -> Grant {
        self.service.clear();
        self.action.clear();
        self.method.clear();
        self.endpoint.clear();
        self
    }

    pub fn risk(mut self, risk: &str) -> Grant {
        self.risk = risk.to_string();
        self
    }

    pub fn granted_at(mut self, granted_at: &str) -> Grant {
        self.granted_at = granted_at.to_string();
        self
    }

    pub fn revoked(mut self, status: &str, revoked_at: &str) -> Grant {
        self.status = status.to_string();
        self.revoked_at = revoked_at.to_string();
        self
    }

    /// Sets the credential: id, created, rotated, expires, revoked.
    pub fn credential(
        mut self,
        id: &str,
        created_at: &str,
        rotated_at: &str,
        expires_at: &str,
        revoked_at: &str,
    ) -> Grant {
        self.credential_id = id.to_string();
        self.credential_created_at = created_at.to_string();
        self.credential_rotated_at = rotated_at.to_string();
        self.credential_expires_at = expires_at.to_string();
        self.credential_revoked_at = revoked_at.to_string();
        self
    }

    pub fn row(&self) -> String {
        csv_row(&[
            &self.identity,
            &self.identity_type,
            &self.owner,
            &self.consumers,
            &self.environment,
            &self.service,
            &self.action,
            &self.method,
            &self.endpoint,
            &self.risk,
            &self.granted_at,
            &self.status,
            &self.revoked_at,
            &self.credential_id,
            &self.credential_created_at,
            &self.credential_rotated_at,
            &self.credential_expires_at,
            &self.credential_revoked_at,
        ])
    }
}

/// Writes a whole entitlement file.
pub fn entitlement_file(grants: &[Grant]) -> String {
    let rows: String = grants.iter().map(Grant::row).collect();
    format!("{ENTITLEMENT_HEADER}{rows}")
}

/// Writes an override of the built-in rule file `rule` into the scenario's
/// `rules/` folder with the line of parameter `name` set to `value` (TOML), and
/// points the scenario's configuration at that folder.
pub fn override_param(scenario: &mut crate::common::Scenario, rule: &str, name: &str, value: &str) {
    let path = format!("{}/rules/{rule}.toml", env!("CARGO_MANIFEST_DIR"));
    let builtin = std::fs::read_to_string(&path).expect("the built-in rule file");
    let params = builtin.find("\n[params]").expect("a [params] table");
    let prefix = format!("\n{name} = ");
    let start = params + builtin[params..].find(&prefix).expect("the parameter line") + 1;
    let end = start + builtin[start..].find('\n').expect("a line end");
    let text = format!("{}{name} = {value}{}", &builtin[..start], &builtin[end..]);
    scenario.file(&format!("rules/{rule}.toml"), &text);
    scenario.config.rules_dir = Some(scenario.dir.path().join("rules"));
}
