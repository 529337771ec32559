//! report.html: its content on the demo run, its determinism, the run history
//! beside it, escaping of hostile input text, and how headless Chromium loads it
//! (no console errors, no request leaving the file, working filters).

mod browser;
mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use regex::Regex;
use serde_json::Value;

use browser::{Browser, chromium_or_skip};
use common::{ENTITLEMENT_HEADER, LOG_HEADER, Scenario, TEST_HEADER};

const AS_OF: &str = "2026-11-30T00:00:00Z";

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo")
}

/// Runs the binary on the demo, with its exceptions, into `out` at `as_of`.
fn run_demo(out: &Path, as_of: &str) {
    let demo = demo();
    let status = Command::new(env!("CARGO_BIN_EXE_corroborate"))
        .arg("run")
        .args(["--tests", &demo.join("tests.csv").display().to_string()])
        .args(["--logs", &demo.join("logs").display().to_string()])
        .args([
            "--entitlements",
            &demo.join("entitlements.csv").display().to_string(),
        ])
        .args([
            "--exceptions",
            &demo.join("exceptions.csv").display().to_string(),
        ])
        .args(["--as-of", as_of])
        .args(["--out", &out.display().to_string()])
        .arg("--quiet")
        .status()
        .expect("the corroborate binary starts");
    assert!(status.success(), "the demo run failed with {status}");
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()))
}

fn findings(out: &Path) -> Vec<Value> {
    read(&out.join("findings.jsonl"))
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect()
}

/// Formats a count as the report does, with thousands separators.
fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// Returns the markup of the element with `id`, up to the end of its `<section>`.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no element with id {id}"));
    let end = html[start..]
        .find("</section>")
        .map_or(html.len(), |end| start + end);
    &html[start..end]
}

/// Returns the markup of the block section with `id`, nested sections included,
/// up to the next block or the end of the main content.
fn block<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no block with id {id}"));
    let end = ["<section class=\"block\"", "</main>"]
        .iter()
        .filter_map(|marker| html[start..].find(marker))
        .min()
        .map_or(html.len(), |end| start + end);
    &html[start..end]
}

/// Checks that every `href="#x"` names an element with `id="x"`.
fn assert_anchors_resolve(html: &str) {
    let ids: BTreeSet<&str> = Regex::new(r#" id="([^"]+)""#)
        .unwrap()
        .captures_iter(html)
        .map(|capture| capture.get(1).unwrap().as_str())
        .collect();
    let links: BTreeSet<&str> = Regex::new(r##"href="#([^"]+)""##)
        .unwrap()
        .captures_iter(html)
        .map(|capture| capture.get(1).unwrap().as_str())
        .collect();
    let dangling: Vec<&&str> = links.difference(&ids).collect();
    assert!(dangling.is_empty(), "links without a target: {dangling:?}");
}

#[test]
fn demo_report_shows_run_summary_and_inputs() {
    let out = tempfile::tempdir().unwrap();
    run_demo(out.path(), AS_OF);
    let html = read(&out.path().join("report.html"));
    let manifest: Value = serde_json::from_str(&read(&out.path().join("manifest.json"))).unwrap();

    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("2026-11-30T00:00:00Z"), "as-of missing");
    assert!(
        html.contains("2026-09-01T00:00:00Z"),
        "window start missing"
    );
    for input in manifest["inputs"].as_array().unwrap() {
        let path = input["path"].as_str().unwrap();
        let sha256 = input["sha256"].as_str().unwrap();
        assert!(html.contains(path), "input path {path} missing");
        assert!(
            html.contains(&format!("<code>{sha256}</code>")),
            "sha256 of {path} missing"
        );
        let rows = thousands(input["rows_read"].as_u64().unwrap());
        assert!(
            html.contains(&format!("<td class=\"num\">{rows}</td>")),
            "rows of {path} missing"
        );
    }
    let total = manifest["counts"]["findings"].as_u64().unwrap();
    assert!(html.contains(&format!("<h2>Findings ({total})</h2>")));
    for (severity, count) in manifest["counts"]["by_severity"].as_object().unwrap() {
        let tile = format!("<span class=\"n\">{count}</span><span class=\"l\">{severity}</span>");
        assert!(html.contains(&tile), "severity tile {tile} missing");
    }
    let delta = &manifest["register"];
    for (field, label) in [
        ("new", "new"),
        ("resolved", "resolved"),
        ("excepted", "excepted"),
    ] {
        let tile = format!(
            "<span class=\"n\">{}</span><span class=\"l\">{label}</span>",
            delta[field]
        );
        assert!(html.contains(&tile), "delta tile {tile} missing");
    }
    assert!(!html.contains("Not available: this run did not update an exception register"));
    for chart in [
        "By severity",
        "By rule",
        "By owner",
        "Findings by severity, per run",
    ] {
        assert!(
            html.contains(&format!("<figcaption>{chart}</figcaption>")),
            "chart {chart} missing"
        );
    }
}

#[test]
fn demo_report_links_findings_and_identities() {
    let out = tempfile::tempdir().unwrap();
    run_demo(out.path(), AS_OF);
    let html = read(&out.path().join("report.html"));
    let findings = findings(out.path());
    assert!(!findings.is_empty());

    let list = section(&html, "findings");
    for finding in &findings {
        let id = finding["finding_id"].as_str().unwrap();
        assert!(
            list.contains(&format!("<a href=\"#f-{id}\">{id}</a>")),
            "list lacks a link to {id}"
        );
        let details = section(&html, &format!("f-{id}"));
        let title = finding["title"].as_str().unwrap();
        assert!(
            details.contains(&format!("<h3>{title}</h3>")),
            "{id} lacks its title"
        );
        let severity = finding["severity"].as_str().unwrap();
        assert!(details.contains(&format!("data-severity=\"{severity}\"")));
        let status = finding["status"].as_str().unwrap();
        assert!(details.contains(&format!("<span class=\"status {status}\">{status}</span>")));
        assert!(
            details.contains("About the rule"),
            "{id} lacks its rule documentation"
        );
        assert!(
            details.contains("<dt>Status</dt>"),
            "{id} lacks its register row"
        );
        let identity = finding["identity"].as_str().unwrap();
        if !identity.is_empty() {
            assert!(
                Regex::new(&format!(
                    r##"<a href="#i-[0-9a-f]{{16}}">{}</a>"##,
                    regex::escape(identity)
                ))
                .unwrap()
                .is_match(details),
                "{id} does not link to identity {identity}"
            );
        }
    }
    assert_anchors_resolve(&html);

    let identities = block(&html, "identities");
    for name in [
        "svc-orders-sync",
        "svc-promo-engine",
        "wl-legacy-edi-bridge",
        "key-partner-globex",
    ] {
        assert!(
            identities.contains(&format!(">{name}</h3>")),
            "identity section {name} missing"
        );
    }
    assert!(
        identities.contains("not in entitlements"),
        "svc-promo-engine is not marked unknown"
    );
    assert!(identities.contains("Events per day"), "no volume chart");
    assert!(identities.contains("Seen doing"), "no activity table");
    assert!(
        identities.contains("API tests (in the window)"),
        "no test table"
    );
    assert!(
        identities.contains("unused"),
        "the unused grant of svc-reports-export is not marked"
    );
}

#[test]
fn demo_report_shows_visibility() {
    let out = tempfile::tempdir().unwrap();
    run_demo(out.path(), AS_OF);
    let html = read(&out.path().join("report.html"));
    let visibility = block(&html, "visibility");
    for line in [
        "Identities in the logs that the entitlement export knows",
        "Exported identities seen acting in the logs",
        "Exported identities with an API test",
    ] {
        assert!(visibility.contains(line), "{line} missing");
    }
    assert!(
        Regex::new(r"\d+ of \d+ \(\d+ %\)")
            .unwrap()
            .is_match(visibility),
        "no share is given as `N of M (P %)`"
    );
    // The staging identity-gateway suite has no revoked test (the demo's
    // negative-test-gap), so the services table must show the gap.
    assert!(
        visibility.contains("none revoked"),
        "the missing revoked test is not shown"
    );
    assert!(visibility.contains("Rules that did not run"));
}

#[test]
fn report_is_deterministic() {
    let first = tempfile::tempdir().unwrap();
    let second = tempfile::tempdir().unwrap();
    run_demo(first.path(), AS_OF);
    run_demo(second.path(), AS_OF);
    let a = read(&first.path().join("report.html"));
    let b = read(&second.path().join("report.html"));
    assert!(
        a == b,
        "report.html differs between two runs with the same inputs and --as-of"
    );
}

#[test]
fn history_adds_runs_and_replaces_same_as_of() {
    let out = tempfile::tempdir().unwrap();
    run_demo(out.path(), "2026-10-31T00:00:00Z");
    run_demo(out.path(), AS_OF);
    run_demo(out.path(), AS_OF);
    let history = read(&out.path().join("history.jsonl"));
    let as_of: Vec<String> = history
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line).unwrap()["as_of"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(as_of, ["2026-10-31T00:00:00Z", AS_OF]);
    let html = read(&out.path().join("report.html"));
    assert!(html.contains("2 runs recorded"));
    let trend = block(&html, "trend");
    assert!(
        trend.contains(">2026-10-31</text>"),
        "the earlier run has no column"
    );
    assert!(
        trend.contains(">2026-11-30</text>"),
        "the latest run has no column"
    );
}

#[test]
fn malformed_history_lines_are_dropped() {
    let out = tempfile::tempdir().unwrap();
    std::fs::write(
        out.path().join("history.jsonl"),
        "{\"as_of\":\"2026-10-31T00:00:00Z\",\"findings\":4,\"by_severity\":{\"high\":4}}\nnot json\n",
    )
    .unwrap();
    run_demo(out.path(), AS_OF);
    let history = read(&out.path().join("history.jsonl"));
    assert_eq!(history.lines().count(), 2, "history: {history}");
    assert!(!history.contains("not json"));
    let html = read(&out.path().join("report.html"));
    assert!(
        html.contains("1 unreadable line(s) of the previous history.jsonl were dropped: line 2")
    );
}

/// Builds a scenario whose inputs carry markup: an identity named like a script tag, an
/// owner that would break out of an attribute, and a response excerpt with HTML.
fn hostile_scenario() -> Scenario {
    let mut scenario = Scenario::new();
    scenario.entitlements(
        "entitlements.csv",
        &format!(
            "{ENTITLEMENT_HEADER}svc-a,service_account,\"x\"\" onmouseover=\"\"alert(3)\",,prod,orders-api,orders:read,,,,2026-01-01T00:00:00Z,active,,,,,,\n"
        ),
    );
    scenario.logs(
        "logs.csv",
        &format!(
            "{LOG_HEADER}2026-11-01T10:00:00Z,<script>alert(1)</script>,,service_account,host-1,curl/8,prod,orders-api,GET,/v1/orders,orders:read,allow,200,,req-1,,\n\
             2026-11-01T10:05:00Z,svc-a,,service_account,host-1,curl/8,prod,orders-api,GET,/v1/orders,orders:read,allow,200,,req-2,,\n"
        ),
    );
    scenario.tests(
        "tests.csv",
        &format!(
            "{TEST_HEADER}t-1,2026-11-02T10:00:00Z,svc-a,,expired,prod,orders-api,GET,/v1/orders,orders:read,deny,401,,\"<img src=x onerror=alert(2)> error near SELECT * FROM orders WHERE id = 1\",req-3,,\n"
        ),
    );
    scenario
}

#[test]
fn hostile_input_is_text_in_raw_html() {
    let scenario = hostile_scenario();
    scenario.run_clean();
    let html = read(&scenario.out().join("report.html"));
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "the identity is not shown escaped"
    );
    assert!(!html.contains("<script>alert(1)"), "the identity is markup");
    assert!(
        html.contains("&lt;img src=x onerror=alert(2)&gt;"),
        "the excerpt is not shown escaped"
    );
    assert!(!html.contains("<img"), "the excerpt is markup");
    assert!(
        html.contains("x&quot; onmouseover=&quot;alert(3)"),
        "the owner is not escaped"
    );
    assert!(
        !html.contains("\" onmouseover=\""),
        "the owner breaks out of an attribute"
    );
    assert_eq!(
        html.matches("<script").count(),
        1,
        "only the report's own script may run"
    );
    assert_anchors_resolve(&html);
}

#[test]
fn hostile_input_is_text_in_chromium() {
    let Some(chromium) = chromium_or_skip("hostile_input_is_text_in_chromium") else {
        return;
    };
    let scenario = hostile_scenario();
    scenario.run_clean();
    let mut browser = Browser::launch(&chromium, 1280, 900);
    let load = browser.load(&scenario.out().join("report.html"));
    assert!(load.errors.is_empty(), "console errors: {:#?}", load.errors);
    assert!(
        load.dialogs.is_empty(),
        "the page opened dialogs: {:?}",
        load.dialogs
    );

    let dom = browser.dom();
    assert!(dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!dom.contains("<img"));
    assert_eq!(browser.evaluate("document.scripts.length"), 1);
    assert_eq!(browser.evaluate("document.images.length"), 0);
    assert_eq!(
        browser.evaluate("document.querySelectorAll('[onmouseover],[onerror]').length"),
        0
    );
    let shown = browser.evaluate("document.body.innerText.includes('<script>alert(1)</script>')");
    assert_eq!(shown, true, "the identity name is not visible as text");
    browser.screenshot(&scenario.dir.path().join("hostile.png"), false);
}

#[test]
fn demo_report_loads_offline_in_chromium() {
    let Some(chromium) = chromium_or_skip("demo_report_loads_offline_in_chromium") else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    run_demo(out.path(), AS_OF);
    let report = out.path().join("report.html");
    let findings = findings(out.path());

    let mut browser = Browser::launch(&chromium, 1280, 900);
    let load = browser.load(&report);
    assert!(load.errors.is_empty(), "console errors: {:#?}", load.errors);
    let outside: Vec<&String> = load
        .requests
        .iter()
        .filter(|url| {
            !(url.starts_with("file://") || url.starts_with("data:") || url.starts_with("about:"))
        })
        .collect();
    assert!(outside.is_empty(), "requests leaving the file: {outside:?}");
    assert!(
        !load.requests.is_empty(),
        "no request was seen at all, so the check saw nothing"
    );

    // The script shows the filters and they filter: only critical rows remain.
    assert_eq!(
        browser.evaluate("document.getElementById('filters').hidden"),
        false
    );
    let critical = findings
        .iter()
        .filter(|finding| finding["severity"] == "critical")
        .count();
    let shown = browser.evaluate(
        "(() => { const select = document.querySelector('#filters select[name=severity]'); \
         select.value = 'critical'; select.dispatchEvent(new Event('change')); \
         return [...document.querySelectorAll('#finding-list tbody tr')].filter(row => !row.hidden).length; })()",
    );
    assert_eq!(shown, critical as u64);
    browser.evaluate("document.getElementById('filter-reset').click()");
    let all = browser.evaluate("[...document.querySelectorAll('#finding-list tbody tr')].filter(row => !row.hidden).length");
    assert_eq!(all, findings.len() as u64);

    // Sorting by the Finding column orders the rows by id.
    let ids = browser.evaluate(
        "(() => { document.querySelector('#finding-list th:nth-child(2) button').click(); \
         return [...document.querySelectorAll('#finding-list tbody tr td:nth-child(2)')].map(cell => cell.textContent); })()",
    );
    let ids: Vec<String> = serde_json::from_value(ids).unwrap();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);

    // Print styles hide the navigation and the filters.
    browser.call(
        "Emulation.setEmulatedMedia",
        serde_json::json!({"media": "print"}),
    );
    for selector in ["nav.toc", "#filters"] {
        let display = browser.evaluate(&format!(
            "getComputedStyle(document.querySelector('{selector}')).display"
        ));
        assert_eq!(display, "none", "{selector} is printed");
    }
    browser.call(
        "Emulation.setEmulatedMedia",
        serde_json::json!({"media": ""}),
    );

    // The first identity with findings, for a look at the per-identity evidence.
    let identity = out.path().join("report-identity.png");
    browser.screenshot_element("section.identity.has-findings", &identity);
    let top = out.path().join("report-top.png");
    let full = out.path().join("report-full.png");
    browser.screenshot(&top, false);
    browser.screenshot(&full, true);
    for path in [&top, &full, &identity] {
        let bytes = std::fs::read(path).unwrap();
        assert!(
            bytes.starts_with(b"\x89PNG"),
            "{} is not a PNG",
            path.display()
        );
    }
    eprintln!(
        "screenshots: {}, {} and {}",
        top.display(),
        full.display(),
        identity.display()
    );
    if let Some(keep) = std::env::var_os("CORROBORATE_SCREENSHOT_DIR") {
        let keep = PathBuf::from(keep);
        std::fs::create_dir_all(&keep).unwrap();
        for path in [&top, &full, &identity] {
            std::fs::copy(path, keep.join(path.file_name().unwrap())).unwrap();
        }
    }
}

#[test]
fn report_shows_everything_without_scripts() {
    let out = tempfile::tempdir().unwrap();
    run_demo(out.path(), AS_OF);
    let html = read(&out.path().join("report.html"));
    let findings = findings(out.path());
    // Only the filter bar starts hidden, and the script reveals it.
    assert_eq!(html.matches(" hidden=").count(), 1);
    assert!(html.contains("<div id=\"filters\" hidden=\"\">"));
    assert_eq!(
        html.matches("<section class=\"finding ").count(),
        findings.len()
    );
}

#[test]
fn volume_counts_every_event_once() {
    let demo = demo();
    let mut config = corroborate::RunConfig::new(
        tempfile::tempdir().unwrap().path().join("out"),
        corroborate::model::Timestamp::parse(AS_OF).unwrap(),
    );
    config.logs.push(demo.join("logs").display().to_string());
    config
        .entitlements
        .push(demo.join("entitlements.csv").display().to_string());
    let rules = corroborate::rules::RuleSet::load(None).unwrap();
    let loaded = corroborate::pipeline::load(&config, &rules).unwrap();
    let access = loaded.access.expect("logs were read");

    assert_eq!(access.volume_buckets.width_days, 1);
    assert_eq!(access.volume_buckets.count, 90);
    let charted: u64 = access
        .volume
        .values()
        .flatten()
        .map(|count| u64::from(*count))
        .sum();
    assert_eq!(charted, access.events_in_window);
    for (identity, counts) in &access.volume {
        assert_eq!(counts.len(), 90, "{identity}");
        let events: u64 = access
            .rows
            .iter()
            .filter(|(key, _)| key.identity == *identity)
            .map(|(_, stats)| stats.count)
            .sum();
        let charted: u64 = counts.iter().map(|count| u64::from(*count)).sum();
        assert_eq!(charted, events, "{identity}");
    }
}
