//! Loading rule files: overrides change behaviour without a rebuild, and every
//! problem in a rules folder is reported at once with its file and line.

mod common;

use std::path::Path;
use std::process::Command;

use common::{Scenario, TEST_HEADER};
use corroborate::model::Severity;
use corroborate::rules::RuleSet;

fn builtin(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("rules")
            .join(name),
    )
    .unwrap()
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

#[test]
fn builtin_rules_load() {
    let rules = RuleSet::load(None).unwrap();
    assert_eq!(rules.rules.len(), 23);
    assert_eq!(
        rules.rules["invalid-credential-accepted"].severity,
        Severity::Critical
    );
    assert_eq!(rules.settings.clear_denial_codes, vec![401, 403]);
    for rule in rules.rules.values() {
        assert!(!rule.docs.detects.is_empty(), "{} has no docs", rule.id);
        assert!(
            !rule.nist_csf.is_empty(),
            "{} maps to no NIST CSF control",
            rule.id
        );
    }
}

#[test]
fn override_changes_severity_and_params() {
    let dir = tempfile::tempdir().unwrap();
    let text = builtin("silent-auth-fallback.toml")
        .replace("severity = \"critical\"", "severity = \"low\"")
        .replace("weak_auth_paths = [", "weak_auth_paths = [\"kerberos\", ");
    write(dir.path(), "silent-auth-fallback.toml", &text);
    let rules = RuleSet::load(Some(dir.path())).unwrap();
    let rule = &rules.rules["silent-auth-fallback"];
    assert_eq!(rule.severity, Severity::Low);
    assert!(
        rule.params
            .words("weak_auth_paths")
            .contains(&"kerberos".to_string())
    );
    assert!(rule.source.ends_with("silent-auth-fallback.toml"));
    assert_eq!(rules.rules["unclear-denial"].source, "built-in");
}

#[test]
fn override_without_params_keeps_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let text = builtin("denial-not-logged.toml");
    let start = text.find("[params]").unwrap();
    let end = text[start..].find("\n[docs]").map(|i| start + i).unwrap();
    write(
        dir.path(),
        "denial-not-logged.toml",
        &format!("{}{}", &text[..start], &text[end + 1..]),
    );
    let rules = RuleSet::load(Some(dir.path())).unwrap();
    assert_eq!(
        rules.rules["denial-not-logged"]
            .params
            .seconds("match_tolerance"),
        120
    );
}

#[test]
fn disabled_rule_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "unclear-denial.toml",
        &builtin("unclear-denial.toml").replace("enabled = true", "enabled = false"),
    );
    let mut scenario = Scenario::new();
    scenario.config.rules_dir = Some(dir.path().to_path_buf());
    scenario.tests(
        "tests.csv",
        &format!("{TEST_HEADER}t1,2026-11-02T10:00:00Z,svc-a,,valid,prod,orders-api,GET,/v1/orders,,deny,500,oauth2,,,,\n"),
    );
    let report = scenario.run_clean();
    assert!(common::keys_of(&report.findings, "unclear-denial").is_empty());
    let skipped = report
        .manifest
        .rules_skipped
        .iter()
        .find(|skip| skip.rule == "unclear-denial")
        .unwrap();
    assert_eq!(skipped.reason, "disabled in its rule file");
}

#[test]
fn every_problem_reported_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    // An unknown parameter, on line 30 of its file.
    let mut lines: Vec<String> = builtin("shared-identity.toml")
        .lines()
        .map(str::to_string)
        .collect();
    let params = lines
        .iter()
        .position(|line| line.trim() == "[params]")
        .unwrap();
    lines.insert(params + 1, "min_consumer = 3".to_string());
    let unknown_line = params + 2;
    write(dir.path(), "shared-identity.toml", &lines.join("\n"));
    // A TOML syntax error.
    write(
        dir.path(),
        "dormant-identity.toml",
        "id = \"dormant-identity\"\ntitle = \n",
    );
    // A bad severity and an unknown placeholder.
    write(
        dir.path(),
        "unclear-denial.toml",
        &builtin("unclear-denial.toml")
            .replace("severity = \"medium\"", "severity = \"urgent\"")
            .replace("{service}", "{svc}"),
    );
    // A file that names no rule.
    write(dir.path(), "no-such-rule.toml", "id = \"no-such-rule\"\n");

    let error = RuleSet::load(Some(dir.path())).unwrap_err().to_string();
    let shared = dir
        .path()
        .join("shared-identity.toml")
        .display()
        .to_string();
    assert!(
        error.contains(&format!(
            "{shared}:{unknown_line}: unknown parameter `min_consumer`"
        )),
        "{error}"
    );
    assert!(
        error.contains("it accepts: min_consumers, source_normalizers"),
        "{error}"
    );
    assert!(error.contains("dormant-identity.toml:2:"), "{error}");
    assert!(error.contains("unknown severity `urgent`"), "{error}");
    assert!(error.contains("unknown placeholder `{svc}`"), "{error}");
    assert!(error.contains("unknown rule id `no-such-rule`"), "{error}");
    assert!(error.starts_with("5 problem(s)"), "{error}");
}

#[test]
fn invalid_param_values_are_problems() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "denial-not-logged.toml",
        &builtin("denial-not-logged.toml").replace("\"120s\"", "\"two minutes\""),
    );
    write(
        dir.path(),
        "over-broad-grant.toml",
        &builtin("over-broad-grant.toml").replace("max_used_share = 0.5", "max_used_share = 1.5"),
    );
    write(
        dir.path(),
        "human-use-of-service-identity.toml",
        &builtin("human-use-of-service-identity.toml").replacen(
            "interactive_agents = [",
            "interactive_agents = ['(unclosed', ",
            1,
        ),
    );
    let error = RuleSet::load(Some(dir.path())).unwrap_err().to_string();
    assert!(error.contains("invalid duration `two minutes`"), "{error}");
    assert!(
        error.contains("parameter `max_used_share`: expected a number from 0 to 1"),
        "{error}"
    );
    assert!(
        error.contains("invalid regular expression `(unclosed`"),
        "{error}"
    );
}

#[test]
fn rules_check_command_exit_codes() {
    let good = tempfile::tempdir().unwrap();
    write(
        good.path(),
        "unclear-denial.toml",
        &builtin("unclear-denial.toml"),
    );
    let status = Command::new(env!("CARGO_BIN_EXE_corroborate"))
        .args(["rules", "check"])
        .arg(good.path())
        .output()
        .unwrap();
    assert_eq!(
        status.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );

    let bad = tempfile::tempdir().unwrap();
    write(bad.path(), "unclear-denial.toml", "id = 1\n");
    let output = Command::new(env!("CARGO_BIN_EXE_corroborate"))
        .args(["rules", "check"])
        .arg(bad.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unclear-denial.toml:1:"), "{stderr}");
}
