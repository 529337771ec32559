//! Reference pages for the rules, rendered from the rule files' description,
//! `[docs]`, `[raise]`, `[remediation]`, `[params]` and `[frameworks]`, so the
//! pages in `docs/rules/` cannot drift from the rules in effect.

use std::fmt::Write as _;

use super::params::{ParamValue, accepted_params};
use super::{Rule, RuleSet};

/// The first line of every generated page, which names the source of its text
/// for editors.
const GENERATED_NOTICE: &str = "<!-- Generated from the rule files in rules/ by \
corroborate::rules::docs. Edit the rule file, then run \
`UPDATE_DOCS=1 cargo test --test rule_docs` to rewrite this page. -->";

/// Returns the fields that make a rule's findings distinct, as the output columns
/// name them.
pub fn key_fields(rule_id: &str) -> &'static [&'static str] {
    const OPERATION: &str = "`action`, or `method` and `endpoint`";
    match rule_id {
        "invalid-credential-accepted" => &["`environment`", "`service`", "`credential_state`"],
        "privilege-boundary-bypass" | "entitled-action-denied" => &[
            "`environment`",
            "`service`",
            "`identity`",
            "`method`",
            "`endpoint`",
        ],
        "silent-auth-fallback" => &["`environment`", "`service`", "`auth_path`"],
        "unclear-denial" => &["`environment`", "`service`", "`method`", "`endpoint`"],
        "denial-leaks-detail" => &["`environment`", "`service`", "`leak_category`"],
        "denial-not-logged" | "denial-log-incomplete" | "negative-test-gap" => {
            &["`environment`", "`service`"]
        }
        "undocumented-access" => &["`environment`", "`service`", "`identity`", OPERATION],
        "unknown-identity" => &["`environment`", "`identity`"],
        "unused-entitlement" | "over-broad-grant" => {
            &["`environment`", "`service`", "`identity`", "`grant`"]
        }
        "revoked-credential-used" => &["`environment`", "`identity`", "`credential_id`"],
        "stale-credential" | "cross-environment-credential" => &["`identity`", "`credential_id`"],
        "async-privilege-escalation" => &[
            "`environment`",
            "`initiator`",
            "`worker`",
            "`service`",
            OPERATION,
        ],
        "exception-expired" => &["`covered_finding_id`"],
        "dormant-identity"
        | "orphaned-identity"
        | "shared-identity"
        | "human-use-of-service-identity"
        | "untested-high-risk-identity" => &["`identity`"],
        _ => &[],
    }
}

/// Returns what a rule parameter sets, for the parameter lists of the pages.
pub fn param_meaning(rule_id: &str, param: &str) -> Option<&'static str> {
    let meaning = match (rule_id, param) {
        ("invalid-credential-accepted", "states") => {
            "Credential states that must never be allowed."
        }
        ("privilege-boundary-bypass", "states") => {
            "Credential states of the tests judged against `expected = deny`."
        }
        ("silent-auth-fallback", "weak_auth_paths") => {
            "Authentication paths that count as weak, compared ignoring case."
        }
        ("denial-leaks-detail", "secret_patterns") => {
            "Patterns of the `secret` category: keys, tokens, passwords."
        }
        ("denial-leaks-detail", "identifier_patterns") => {
            "Patterns of the `identifier` category: e-mail addresses, internal host names, \
             private IP addresses, ARNs, account ids."
        }
        ("denial-leaks-detail", "internals_patterns") => {
            "Patterns of the `internals` category: stack traces, SQL, policy and rule names."
        }
        ("denial-leaks-detail", "category_severity") => "Severity of each leak category.",
        ("denial-not-logged" | "denial-log-incomplete", "match_tolerance") => {
            "Largest time difference between a test and a denied event of the same identity, \
             method and endpoint for them to match, when no event carries the test's \
             `request_id`."
        }
        ("denial-log-incomplete", "required_context") => {
            "Fields a denied event must have. `|` separates alternatives, and `+` joins fields \
             that must all be present. Fields: identity, environment, service, method, \
             endpoint, action, reason, request_id."
        }
        ("revoked-credential-used", "grace") => "Time after the end during which use is tolerated.",
        ("stale-credential", "max_age") => {
            "Largest time since the last rotation, or since creation when never rotated."
        }
        ("stale-credential", "require_api_key_expiry") => {
            "Report credentials of `api_key` identities that have no expiry."
        }
        ("shared-identity", "min_consumers") => {
            "Distinct sources, or listed consumers, that make an identity shared."
        }
        ("shared-identity", "source_normalizers") => {
            "Patterns applied to each source in order, each removing what it matches, so that \
             replicas of one workload count as one consumer."
        }
        ("cross-environment-credential", "min_environments") => {
            "Environments that make a credential cross-environment."
        }
        ("human-use-of-service-identity", "interactive_agents") => {
            "User-agent patterns of interactive clients."
        }
        ("over-broad-grant", "max_used_share") => {
            "Largest share of the spanned operations the identity may use for the grant to \
             count as over-broad."
        }
        ("over-broad-grant", "min_span") => {
            "Fewest observed operations a wildcard grant must span to be judged."
        }
        ("untested-high-risk-identity", "risks") => "Grant risks that require tests.",
        ("negative-test-gap", "required_states") => {
            "Credential states every tested service needs a test for."
        }
        _ => return None,
    };
    Some(meaning)
}

/// Returns the name of an OWASP Non-Human Identities Top 10 (2025) item.
fn owasp_nhi_title(id: &str) -> Option<&'static str> {
    Some(match id {
        "NHI1" => "Improper Offboarding",
        "NHI2" => "Secret Leakage",
        "NHI3" => "Vulnerable Third-Party NHI",
        "NHI4" => "Insecure Authentication",
        "NHI5" => "Overprivileged NHI",
        "NHI6" => "Insecure Cloud Deployment Configurations",
        "NHI7" => "Long-Lived Secrets",
        "NHI8" => "Environment Isolation",
        "NHI9" => "NHI Reuse",
        "NHI10" => "Human Use of NHI",
        _ => return None,
    })
}

/// Returns the text of a NIST CSF 2.0 subcategory that the rule files use.
fn nist_csf_title(id: &str) -> Option<&'static str> {
    Some(match id {
        "GV.RR-02" => {
            "Roles, responsibilities, and authorities related to cybersecurity risk management \
             are established, communicated, understood, and enforced"
        }
        "ID.IM-02" => {
            "Improvements are identified from security tests and exercises, including those \
             done in coordination with suppliers and relevant third parties"
        }
        "ID.RA-07" => {
            "Changes and exceptions are managed, assessed for risk impact, recorded, and tracked"
        }
        "PR.AA-01" => {
            "Identities and credentials for authorized users, services, and hardware are \
             managed by the organization"
        }
        "PR.AA-03" => "Users, services, and hardware are authenticated",
        "PR.AA-05" => {
            "Access permissions, entitlements, and authorizations are defined in a policy, \
             managed, enforced, and reviewed, and incorporate the principles of least \
             privilege and separation of duties"
        }
        "PR.DS-02" => {
            "The confidentiality, integrity, and availability of data-in-transit are protected"
        }
        "PR.IR-01" => {
            "Networks and environments are protected from unauthorized logical access and usage"
        }
        "PR.PS-04" => "Log records are generated and made available for continuous monitoring",
        "PR.PS-06" => {
            "Secure software development practices are integrated, and their performance is \
             monitored throughout the software development life cycle"
        }
        "DE.CM-03" => {
            "Personnel activity and technology usage are monitored to find potentially adverse \
             events"
        }
        _ => return None,
    })
}

/// Writes a duration in seconds as the built-in rule files do: in days or hours
/// when it is a whole number of them, else in seconds.
fn duration_text(seconds: i64) -> String {
    for (unit, size) in [("d", 86_400), ("h", 3_600)] {
        if seconds != 0 && seconds % size == 0 {
            return format!("{}{unit}", seconds / size);
        }
    }
    format!("{seconds}s")
}

/// Renders a parameter's value as Markdown to follow `Default:`: inline, after a
/// space, for short values, and a code block with one pattern a line for pattern
/// lists.
fn value_markdown(value: &ParamValue) -> String {
    match value {
        ParamValue::Patterns(patterns) => {
            let mut block = String::from("\n\n```text\n");
            for pattern in patterns {
                block.push_str(pattern.as_str());
                block.push('\n');
            }
            block.push_str("```");
            block
        }
        other => format!(" {}", inline_value(other)),
    }
}

/// Renders a parameter's value for one line of Markdown.
fn inline_value(value: &ParamValue) -> String {
    let quoted = |items: Vec<String>| {
        items
            .iter()
            .map(|item| format!("`\"{item}\"`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match value {
        ParamValue::Words(words) => quoted(words.clone()),
        ParamValue::Context(requirements) => quoted(
            requirements
                .iter()
                .map(|requirement| requirement.text.clone())
                .collect(),
        ),
        ParamValue::Patterns(patterns) => quoted(
            patterns
                .iter()
                .map(|pattern| pattern.as_str().to_string())
                .collect(),
        ),
        ParamValue::Seconds(seconds) => format!("`\"{}\"`", duration_text(*seconds)),
        ParamValue::Count(count) => format!("`{count}`"),
        ParamValue::Share(share) => format!("`{share}`"),
        ParamValue::Flag(flag) => format!("`{flag}`"),
        ParamValue::Severities(severities) => severities
            .iter()
            .map(|(name, severity)| format!("`{name}` {severity}"))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// Describes how context raises a rule's severity.
fn raise_text(rule: &Rule) -> String {
    let mut conditions = Vec::new();
    if !rule.raise_environments.is_empty() {
        let names: Vec<String> = rule
            .raise_environments
            .iter()
            .map(|name| format!("`{name}`"))
            .collect();
        conditions.push(format!(
            "one level for a finding in environment {}",
            join_or(&names)
        ));
    }
    if !rule.raise_risks.is_empty() {
        let risks: Vec<String> = rule
            .raise_risks
            .iter()
            .map(|risk| risk.as_str().to_string())
            .collect();
        conditions.push(format!(
            "one level for a finding with a test, event or grant of {} risk behind it",
            join_or(&risks)
        ));
    }
    if conditions.is_empty() {
        return "No context raises the severity.".to_string();
    }
    format!(
        "Raised {}, never above {}.",
        conditions.join(", and "),
        rule.raise_max.max(rule.severity)
    )
}

fn join_or(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [only] => only.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// Renders the reference page of one rule as Markdown.
pub fn render_page(rule: &Rule) -> String {
    let mut page = String::new();
    let mut line = |text: &str| {
        page.push_str(text);
        page.push('\n');
    };
    line(GENERATED_NOTICE);
    line("");
    line(&format!("# {}", rule.title));
    line("");
    let key = key_fields(&rule.id);
    let key_text = if key.is_empty() {
        "not documented".to_string()
    } else {
        key.join(", ")
    };
    line(&format!("| | |\n|---|---|\n| rule id | `{}` |", rule.id));
    line(&format!("| severity | {} |", rule.severity));
    line(&format!("| subject | {} |", subject_text(rule)));
    line(&format!("| finding key | {key_text} |"));
    line(&format!(
        "| enabled by default | {} |",
        if rule.enabled { "yes" } else { "no" }
    ));
    line("");
    line(rule.description.trim());
    for (heading, text) in [
        ("What it detects", &rule.docs.detects),
        ("Why it matters", &rule.docs.why),
        ("Known false positives", &rule.docs.false_positives),
        ("Evidence shown", &rule.docs.evidence),
    ] {
        line("");
        line(&format!("## {heading}"));
        line("");
        line(text.trim());
    }

    line("");
    line("## Severity");
    line("");
    line(&format!(
        "Base severity: {}. {}",
        rule.severity,
        raise_text(rule)
    ));

    line("");
    line("## Remediation");
    line("");
    line(
        "The remediation text of each finding, with `{placeholders}` filled from the \
         finding's key and evidence:",
    );
    line("");
    let remediation = rule
        .remediation
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    line(&format!("> {remediation}"));

    line("");
    line("## Parameters");
    line("");
    let accepted = accepted_params(&rule.id);
    if accepted.is_empty() {
        line("This rule takes no parameters.");
    } else {
        line("Defaults as built in; an override file in `--rules DIR` can change them.");
        for (name, _) in accepted {
            line("");
            let meaning = param_meaning(&rule.id, name).unwrap_or("Not documented.");
            let value = rule
                .params
                .values
                .get(*name)
                .map(value_markdown)
                .unwrap_or_default();
            line(&format!("- `{name}`: {meaning} Default:{value}"));
        }
    }

    line("");
    line("## Framework controls");
    line("");
    line(&format!(
        "- OWASP Non-Human Identities Top 10 (2025): {}",
        controls_text(&rule.owasp_nhi, owasp_nhi_title)
    ));
    line(&format!(
        "- NIST Cybersecurity Framework 2.0: {}",
        controls_text(&rule.nist_csf, nist_csf_title)
    ));
    page
}

fn subject_text(rule: &Rule) -> &'static str {
    match rule.subject {
        super::Subject::Identity => "identity",
        super::Subject::Service => "service",
        super::Subject::Finding => "finding",
    }
}

fn controls_text(ids: &[String], title: fn(&str) -> Option<&'static str>) -> String {
    if ids.is_empty() {
        return "none".to_string();
    }
    ids.iter()
        .map(|id| match title(id) {
            Some(title) => format!("{id} ({title})"),
            None => id.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Renders the index of all rules, linking each rule's page.
pub fn render_index(rules: &RuleSet) -> String {
    let mut page = String::new();
    page.push_str(GENERATED_NOTICE);
    page.push_str("\n\n# Rules\n\n");
    page.push_str(
        "Each rule has its own page. The rule files in `rules/` are the source of these \
         pages, and `rules/README.md` explains how to override them.\n\n",
    );
    page.push_str("| rule | title | severity | subject |\n|---|---|---|---|\n");
    for rule in rules.rules.values() {
        let _ = writeln!(
            page,
            "| [`{id}`]({id}.md) | {} | {} | {} |",
            rule.title,
            rule.severity,
            subject_text(rule),
            id = rule.id
        );
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> RuleSet {
        RuleSet::load(None).expect("the built-in rules load")
    }

    #[test]
    fn every_param_has_a_meaning() {
        for rule in rules().rules.values() {
            for (name, _) in accepted_params(&rule.id) {
                assert!(
                    param_meaning(&rule.id, name).is_some(),
                    "parameter `{name}` of `{}` has no meaning in rules::docs",
                    rule.id
                );
            }
        }
    }

    #[test]
    fn every_rule_has_key_fields() {
        for rule in rules().rules.values() {
            assert!(!key_fields(&rule.id).is_empty(), "no key for `{}`", rule.id);
        }
    }

    #[test]
    fn every_framework_control_has_a_title() {
        for rule in rules().rules.values() {
            for id in &rule.owasp_nhi {
                assert!(owasp_nhi_title(id).is_some(), "no title for {id}");
            }
            for id in &rule.nist_csf {
                assert!(nist_csf_title(id).is_some(), "no title for {id}");
            }
        }
    }

    #[test]
    fn duration_text_uses_the_largest_unit() {
        assert_eq!(duration_text(0), "0s");
        assert_eq!(duration_text(120), "120s");
        assert_eq!(duration_text(90), "90s");
        assert_eq!(duration_text(7_776_000), "90d");
        assert_eq!(duration_text(7_200), "2h");
    }

    #[test]
    fn page_holds_every_section() {
        let rules = rules();
        let page = render_page(&rules.rules["denial-log-incomplete"]);
        for heading in [
            "# Denial log incomplete",
            "## What it detects",
            "## Why it matters",
            "## Known false positives",
            "## Evidence shown",
            "## Severity",
            "## Remediation",
            "## Parameters",
            "## Framework controls",
        ] {
            assert!(page.contains(heading), "missing {heading}");
        }
        assert!(page.contains("`\"action|method+endpoint\"`"));
        assert!(page.contains("`match_tolerance`"));
        assert!(page.contains("Default: `\"120s\"`"));
        assert!(page.contains("PR.PS-04 (Log records are generated"));
    }
}
