//! What a test observed: allowed, cleanly denied, or denied unclearly.

use crate::model::TestResult;
use crate::rules::Settings;

/// The observed outcome of a test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx or 3xx with no soft-denial text in the response.
    Allow,
    /// A status in the clear or masked denial codes (by default 401, 403, 404).
    ClearDenial,
    /// Any other status, or a 2xx/3xx whose body says it was denied.
    UnclearDenial,
}

/// Classifies a test's answer with the shared outcome settings.
pub fn classify(test: &TestResult, settings: &Settings) -> Outcome {
    let status = test.status_code;
    if (200..400).contains(&status) {
        let soft_denial = settings
            .soft_denial_patterns
            .iter()
            .any(|pattern| pattern.is_match(&test.response_excerpt));
        return if soft_denial {
            Outcome::UnclearDenial
        } else {
            Outcome::Allow
        };
    }
    if settings.clear_denial_codes.contains(&status)
        || settings.masked_denial_codes.contains(&status)
    {
        Outcome::ClearDenial
    } else {
        Outcome::UnclearDenial
    }
}
