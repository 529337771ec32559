//! `report.html`: one self-contained page for reviewers, with the run's summary,
//! a trend across runs, what the evidence covers, every finding with its
//! evidence, and every identity with its grants, activity and tests.
//!
//! The page loads nothing: styles, script and SVG charts are inline, and its
//! Content-Security-Policy allows only that inline style and script (by hash), so
//! even injected markup could make no request. Every value goes through
//! [`html::escape`]. The page shows everything with scripts off; the script only
//! adds sorting and filtering. It holds no timings and no clock reading, so the
//! same inputs and `--as-of` give the same file.

mod charts;
mod facts;
mod findings;
pub mod html;
mod identities;
mod summary;

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use sha2::{Digest, Sha256};

use self::html::Html;
use super::OutputDir;
use super::history::{HISTORY_FILE, History, HistoryEntry};
use super::manifest::Manifest;
use crate::error::Result;
use crate::findings::Finding;
use crate::model::access::AccessData;
use crate::model::inventory::Inventory;
use crate::model::{TestResult, Timestamp};
use crate::register::exceptions::Coverage;
use crate::register::{Register, RunDelta};
use crate::rules::RuleSet;

/// The report's file name inside the output folder.
pub const REPORT_FILE: &str = "report.html";

const STYLE: &str = include_str!("report.css");
const SCRIPT: &str = include_str!("report.js");

/// The exception register after this run.
#[derive(Clone, Copy)]
pub struct RegisterView<'a> {
    pub register: &'a Register,
    pub delta: &'a RunDelta,
    /// By finding id, the exception behind an `excepted` or `exception-expired`
    /// status.
    pub exceptions: &'a BTreeMap<String, Coverage>,
}

/// The maximum number of finding sections in a report. Findings come most severe
/// first, and the list links only to those with a section. NOTE: a guess at what
/// a browser opens comfortably, not measured.
const MAX_FINDING_SECTIONS: usize = 2_000;

/// The findings and identities that get a section of their own, so links point
/// only at sections that exist.
pub(crate) struct Sections<'a> {
    pub findings: BTreeSet<&'a str>,
    pub identities: BTreeSet<&'a str>,
}

/// Everything the report is rendered from.
pub struct ReportInput<'a> {
    pub manifest: &'a Manifest,
    /// In output order: most severe first.
    pub findings: &'a [Finding],
    pub rules: &'a RuleSet,
    pub inventory: Option<&'a Inventory>,
    /// Tests inside the window, when tests were given.
    pub tests: Option<&'a [TestResult]>,
    pub access: Option<&'a AccessData>,
    /// The grants covering each access summary row, as `detect::Evidence::coverage`
    /// returns them; empty without logs or entitlements.
    pub coverage: &'a [Vec<usize>],
    pub as_of: Timestamp,
    /// The register after this run; `None` shows the run delta and each finding's
    /// register row as not available.
    pub register: Option<RegisterView<'a>>,
}

/// Reads the run history from the output folder, adds this run, and stages
/// `history.jsonl` and `report.html`.
pub fn stage(output: &mut OutputDir, input: &ReportInput<'_>) -> Result<()> {
    let mut history = History::read(&output.path().join(HISTORY_FILE))?;
    history.record(HistoryEntry::of(input.manifest))?;
    output.stage(HISTORY_FILE, |out| history.write(out))?;
    let page = render(input, &history);
    output.stage(REPORT_FILE, |out| out.write_all(page.as_bytes()))
}

/// Returns the `sha256-…` source expression of an inline script or style.
fn csp_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// Returns the anchor of an identity's section: a hash of its name, because
/// names come from inputs and may contain any character.
pub(crate) fn identity_anchor(name: &str) -> String {
    let digest = Sha256::digest(name.as_bytes());
    format!("i-{}", &hex::encode(digest)[..16])
}

/// Returns the anchor of a finding's section.
pub(crate) fn finding_anchor(finding_id: &str) -> String {
    format!("f-{finding_id}")
}

/// Formats a count with thousands separators.
pub(crate) fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// Renders the whole page.
pub fn render(input: &ReportInput<'_>, history: &History) -> String {
    let facts = facts::identities(input);
    let visibility = facts::visibility(input, &facts);
    let sections = Sections {
        findings: input
            .findings
            .iter()
            .take(MAX_FINDING_SECTIONS)
            .map(|finding| finding.finding_id.as_str())
            .collect(),
        identities: identities::with_sections(&facts),
    };
    let manifest = input.manifest;

    let mut page = Html::new();
    page.raw("<!DOCTYPE html>\n");
    page.open("html", &[("lang", "en")]);
    page.open("head", &[]);
    page.open("meta", &[("charset", "utf-8")]);
    page.open(
        "meta",
        &[
            ("http-equiv", "Content-Security-Policy"),
            (
                "content",
                &format!(
                    "default-src 'none'; style-src {}; script-src {}; img-src 'none'; \
                     base-uri 'none'; form-action 'none'",
                    csp_hash(STYLE),
                    csp_hash(SCRIPT)
                ),
            ),
        ],
    );
    page.open(
        "meta",
        &[
            ("name", "viewport"),
            ("content", "width=device-width, initial-scale=1"),
        ],
    );
    page.element(
        "title",
        &[],
        &format!("Access review evidence as of {}", manifest.as_of),
    );
    page.raw("<style>").raw(STYLE).raw("</style>");
    page.close("head");
    page.raw("\n");
    page.open("body", &[]);

    page.open("header", &[("class", "top")]);
    page.element("h1", &[], "Access review evidence");
    page.open("p", &[]);
    page.text("As of ");
    page.element("strong", &[], &manifest.as_of);
    page.text(" · review window ");
    page.element("strong", &[], &manifest.window.since);
    page.text(" to ");
    page.element("strong", &[], &manifest.window.until);
    page.text(" (end excluded)");
    page.close("p");
    page.element(
        "p",
        &[],
        &format!(
            "{} {} · {} findings · {} identities",
            manifest.tool,
            manifest.version,
            thousands(input.findings.len() as u64),
            thousands(facts.len() as u64)
        ),
    );
    page.close("header");

    page.open("nav", &[("class", "toc"), ("aria-label", "Sections")]);
    for (anchor, label) in [
        ("#summary", "Summary"),
        ("#trend", "Trend"),
        ("#visibility", "Visibility"),
        ("#findings", "Findings"),
        ("#identities", "Identities"),
    ] {
        page.element("a", &[("href", anchor)], label);
    }
    page.close("nav");
    page.raw("\n");

    page.open("main", &[]);
    summary::write_summary(&mut page, input);
    summary::write_trend(&mut page, history);
    summary::write_visibility(&mut page, input, &visibility);
    findings::write_findings(&mut page, input, &sections);
    identities::write_identities(&mut page, input, &facts, &sections);
    page.close("main");

    page.open("footer", &[]);
    page.element(
        "p",
        &[],
        &format!(
            "Written by {} {} from the inputs listed in the summary. The page holds no \
             timings, so the same inputs and as-of give the same file; run times are in \
             manifest.json.",
            manifest.tool, manifest.version
        ),
    );
    page.close("footer");
    page.raw("<script>").raw(SCRIPT).raw("</script>\n");
    page.close("body");
    page.close("html");
    page.raw("\n");
    page.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(4729), "4,729");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn identity_anchor_is_safe_and_stable() {
        let anchor = identity_anchor("<script>alert(1)</script>");
        assert!(anchor.starts_with("i-"));
        assert_eq!(anchor.len(), 18);
        assert!(anchor[2..].chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(anchor, identity_anchor("<script>alert(1)</script>"));
    }

    #[test]
    fn style_and_script_hold_no_closing_tags() {
        assert!(!STYLE.contains("</"));
        assert!(!SCRIPT.contains("</"));
    }
}
