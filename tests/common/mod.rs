//! Shared helpers for integration tests: write small inputs to a temporary
//! folder, run the main job through the library, and read back findings.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use corroborate::findings::Finding;
use corroborate::model::Timestamp;
use corroborate::pipeline::{self, RunReport};
use corroborate::{Result, RunConfig};

/// The review date every scenario uses unless it sets another.
pub const AS_OF: &str = "2026-11-30T00:00:00Z";

/// A set of input files in a temporary folder.
pub struct Scenario {
    pub dir: tempfile::TempDir,
    pub config: RunConfig,
}

impl Scenario {
    /// An empty scenario reviewed at [`AS_OF`] with the default 90-day window.
    pub fn new() -> Scenario {
        let dir = tempfile::tempdir().expect("temporary folder");
        let out = dir.path().join("out");
        let config = RunConfig::new(out, Timestamp::parse(AS_OF).unwrap());
        Scenario { dir, config }
    }

    /// Writes `text` to `name` in the scenario folder and returns its path.
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Adds an entitlement file.
    pub fn entitlements(&mut self, name: &str, text: &str) -> &mut Scenario {
        let path = self.file(name, text);
        self.config.entitlements.push(path.display().to_string());
        self
    }

    /// Adds a test result file.
    pub fn tests(&mut self, name: &str, text: &str) -> &mut Scenario {
        let path = self.file(name, text);
        self.config.tests.push(path.display().to_string());
        self
    }

    /// Adds an access log file.
    pub fn logs(&mut self, name: &str, text: &str) -> &mut Scenario {
        let path = self.file(name, text);
        self.config.logs.push(path.display().to_string());
        self
    }

    /// Runs the main job.
    pub fn run(&self) -> Result<RunReport> {
        pipeline::run(&self.config)
    }

    /// Runs the main job, which must succeed without rejecting any row, so a
    /// typo in a test's input cannot make a negative test pass vacuously.
    pub fn run_clean(&self) -> RunReport {
        let report = self.run().expect("run succeeds");
        assert_eq!(
            report.rejects,
            0,
            "the scenario's inputs had rejected rows; see {}",
            self.out().join("rejects.csv").display()
        );
        report
    }

    /// Runs the main job with [`Scenario::run_clean`] and returns the findings of
    /// `rule` as readable keys (see [`key_text`]), sorted.
    pub fn keys_of(&self, rule: &str) -> Vec<String> {
        keys_of(&self.run_clean().findings, rule)
    }

    pub fn out(&self) -> &Path {
        &self.config.out
    }
}

/// The findings of `rule` as readable keys, sorted.
pub fn keys_of(findings: &[Finding], rule: &str) -> Vec<String> {
    let mut keys: Vec<String> = findings
        .iter()
        .filter(|finding| finding.rule == rule)
        .map(key_text)
        .collect();
    keys.sort();
    keys
}

/// A finding's non-empty key fields as `name=value` pairs, e.g.
/// `environment=prod service=orders-api identity=svc-a action=orders:cancel`.
pub fn key_text(finding: &Finding) -> String {
    corroborate::findings::FindingKey::COLUMNS
        .into_iter()
        .zip(finding.key.values())
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The finding of `rule` with the given key text; panics with the findings there are.
pub fn finding<'a>(findings: &'a [Finding], rule: &str, key: &str) -> &'a Finding {
    findings
        .iter()
        .find(|finding| finding.rule == rule && key_text(finding) == key)
        .unwrap_or_else(|| {
            panic!(
                "no {rule} finding with key `{key}`; found: {:?}",
                keys_of(findings, rule)
            )
        })
}

/// Entitlement CSV header with the columns tests use most.
pub const ENTITLEMENT_HEADER: &str = "identity,identity_type,owner,consumers,environment,service,action,method,endpoint,risk,granted_at,status,revoked_at,credential_id,credential_created_at,credential_rotated_at,credential_expires_at,credential_revoked_at\n";

/// Test result CSV header.
pub const TEST_HEADER: &str = "test_id,executed_at,identity,credential_id,credential_state,environment,service,method,endpoint,action,expected,status_code,auth_path,response_excerpt,request_id,trace_id,risk\n";

/// Access log CSV header.
pub const LOG_HEADER: &str = "event_time,identity,credential_id,identity_type,source,user_agent,environment,service,method,endpoint,action,decision,status_code,reason,request_id,trace_id,auth_path\n";
