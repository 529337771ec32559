//! The rule reference pages in docs/rules/ are generated from the rule files, and
//! every rule is exercised by some integration test.
//!
//! `UPDATE_DOCS=1 cargo test --test rule_docs` rewrites the pages.

use std::path::{Path, PathBuf};

use corroborate::rules::RuleSet;
use corroborate::rules::docs::{render_index, render_page};

fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn updating() -> bool {
    std::env::var("UPDATE_DOCS").is_ok_and(|value| value == "1")
}

/// Compares a page with its rendered text, or rewrites it under `UPDATE_DOCS=1`.
/// Returns a description of the mismatch, if any.
fn check_page(path: &Path, expected: &str) -> Option<String> {
    if updating() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, expected).unwrap();
        return None;
    }
    match std::fs::read_to_string(path) {
        Ok(actual) if actual == expected => None,
        Ok(_) => Some(format!("{} differs from its rendered text", path.display())),
        Err(error) => Some(format!("{} cannot be read: {error}", path.display())),
    }
}

#[test]
fn rule_pages_match_the_rule_files() {
    let rules = RuleSet::load(None).expect("the built-in rules load");
    let dir = repository().join("docs/rules");
    let mut problems: Vec<String> = Vec::new();
    for rule in rules.rules.values() {
        let path = dir.join(format!("{}.md", rule.id));
        problems.extend(check_page(&path, &render_page(rule)));
    }
    problems.extend(check_page(&dir.join("README.md"), &render_index(&rules)));

    // A page whose rule is gone is stale.
    for entry in std::fs::read_dir(&dir).expect("docs/rules exists") {
        let path = entry.unwrap().path();
        let stem = path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .unwrap_or("");
        if stem != "README" && !rules.rules.contains_key(stem) {
            problems.push(format!("{} documents no rule", path.display()));
        }
    }
    assert!(
        problems.is_empty(),
        "rule pages out of date; run `UPDATE_DOCS=1 cargo test --test rule_docs`:\n{}",
        problems.join("\n")
    );
}

fn test_sources(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            test_sources(&path, found);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn every_rule_id_appears_in_a_test_file() {
    let rules = RuleSet::load(None).expect("the built-in rules load");
    let mut files = Vec::new();
    test_sources(&repository().join("tests"), &mut files);
    let this_file = repository().join("tests/rule_docs.rs");
    let texts: Vec<String> = files
        .iter()
        .filter(|path| **path != this_file)
        .map(|path| std::fs::read_to_string(path).unwrap())
        .collect();
    let untested: Vec<&str> = rules
        .rules
        .keys()
        .map(String::as_str)
        .filter(|id| !texts.iter().any(|text| text.contains(&format!("\"{id}"))))
        .collect();
    assert!(
        untested.is_empty(),
        "rules no test under tests/ names: {untested:?}"
    );
}
