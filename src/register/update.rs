//! The step after detection: service owners, exceptions, the merge with the
//! previous register, and the remediation and POA&M outputs built from it.
//! Everything here is computed before any output is written, so a bad previous
//! register or owners file fails the run with nothing replaced.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::exceptions::{self, Applied, EXCEPTION_EXPIRED, Exception};
use super::owners::ServiceOwners;
use super::poam::{self, PoamInput};
use super::remediation::{self, Action};
use super::{Register, RunDelta, RunInput};
use crate::config::RunConfig;
use crate::detect::{Detection, Skipped};
use crate::error::Result;
use crate::findings::Finding;
use crate::model::inventory::Inventory;
use crate::rules::{RuleSet, Subject};

/// The register file's name inside the output folder.
pub const REGISTER_FILE: &str = "register.csv";

/// The outputs of the register step, ready to be written.
#[derive(Debug)]
pub struct RegisterUpdate {
    pub register: Register,
    pub delta: RunDelta,
    pub applied: Applied,
    pub actions: Vec<Action>,
    /// `None` when no item is open or excepted; OSCAL needs at least one item.
    pub poam: Option<serde_json::Value>,
}

/// The inputs of the register step besides the configuration.
pub struct UpdateInput<'a> {
    pub rules: &'a RuleSet,
    pub inventory: Option<&'a Inventory>,
    /// `None` when no exceptions input was given.
    pub exceptions: Option<&'a [Exception]>,
    /// SHA-256 of every input file, for the POA&M document's UUID.
    pub input_hashes: Vec<String>,
}

/// Chooses the previous register to merge with: `--register`, else
/// `register.csv` in the output folder when it exists.
pub fn previous_register_path(config: &RunConfig) -> Option<PathBuf> {
    match &config.register {
        Some(path) => Some(path.clone()),
        None => {
            let path = config.out.join(REGISTER_FILE);
            path.is_file().then_some(path)
        }
    }
}

/// Fills in service owners, applies the exceptions to `detection`, and merges
/// the run into the previous register.
pub fn update(
    config: &RunConfig,
    input: &UpdateInput<'_>,
    detection: &mut Detection,
) -> Result<RegisterUpdate> {
    // NOTE: the owners file is not listed among the manifest's inputs, so its
    // hash is not recorded with the run.
    if let Some(path) = &config.owners {
        let owners = ServiceOwners::read(path)?;
        for finding in &mut detection.findings {
            if finding.subject == Subject::Service
                && finding.owner.is_empty()
                && let Some(owner) = owners.get(&finding.key.service)
            {
                finding.owner = owner.to_string();
            }
        }
    }

    let applied = match input.exceptions {
        Some(list) => {
            let rule = input
                .rules
                .rules
                .get(EXCEPTION_EXPIRED)
                .filter(|rule| rule.enabled);
            let applied = exceptions::apply(
                &mut detection.findings,
                list,
                rule,
                input.inventory,
                config.as_of,
            );
            if rule.is_some() {
                mark_evaluated(detection);
            }
            applied
        }
        None => {
            mark_skipped(detection, "needs --exceptions");
            Applied::default()
        }
    };
    if !applied.unused.is_empty() {
        tracing::info!(
            "{} exception(s) matched no finding: {}",
            applied.unused.len(),
            applied.unused.join(", ")
        );
    }

    let previous_path = previous_register_path(config);
    let previous = match &previous_path {
        Some(path) => Register::read(path)?,
        None => Register::new(),
    };
    let evaluated: BTreeSet<String> = detection.evaluated.iter().cloned().collect();
    let (register, mut delta) = previous.merge(&RunInput {
        findings: &detection.findings,
        coverage: &applied.coverage,
        evaluated: &evaluated,
        as_of: config.as_of,
        sla_days: &input.rules.settings.sla_days,
    });
    delta.previous = previous_path.map(|path| path.display().to_string());
    delta.unused_exceptions = applied.unused.clone();

    let by_id: BTreeMap<&str, &Finding> = detection
        .findings
        .iter()
        .map(|finding| (finding.finding_id.as_str(), finding))
        .collect();
    let actions = remediation::actions(register.rows(), &by_id, input.rules);
    let poam = poam::build(&PoamInput {
        register: &register,
        findings: &by_id,
        coverage: &applied.coverage,
        rules: input.rules,
        as_of: config.as_of,
        input_hashes: input.input_hashes.clone(),
    });
    Ok(RegisterUpdate {
        register,
        delta,
        applied,
        actions,
        poam,
    })
}

/// Records that `exception-expired` ran: it is judged here, after detection.
fn mark_evaluated(detection: &mut Detection) {
    detection
        .skipped
        .retain(|skipped| skipped.rule != EXCEPTION_EXPIRED);
    if !detection.evaluated.iter().any(|id| id == EXCEPTION_EXPIRED) {
        detection.evaluated.push(EXCEPTION_EXPIRED.to_string());
        detection.evaluated.sort();
    }
}

/// Replaces detection's reason for skipping `exception-expired`, which does not
/// know the rule is judged after it, unless the rule is disabled.
fn mark_skipped(detection: &mut Detection, reason: &str) {
    if detection.evaluated.iter().any(|id| id == EXCEPTION_EXPIRED) {
        return;
    }
    let skipped = Skipped {
        rule: EXCEPTION_EXPIRED.to_string(),
        reason: reason.to_string(),
    };
    match detection
        .skipped
        .iter_mut()
        .find(|skipped| skipped.rule == EXCEPTION_EXPIRED)
    {
        Some(existing) if existing.reason.starts_with("disabled") => {}
        Some(existing) => *existing = skipped,
        None => detection.skipped.push(skipped),
    }
}
