//! Importers on public sample files kept beside the repository (../shared/realworld).
//! The samples are read in place; a clone without them skips these tests with a
//! message.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use corroborate::model::{Decision, IdentityType, Timestamp};
use corroborate::pipeline::{self, Loaded};
use corroborate::rules::RuleSet;

use common::Scenario;

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/realworld");

/// Returns the path of a sample, or `None` (with a message) when the samples are absent.
fn sample(path: &str) -> Option<String> {
    let full = PathBuf::from(SAMPLES).join(path);
    if full.exists() {
        Some(full.display().to_string())
    } else {
        eprintln!(
            "skipped: sample {} is absent (the samples live in ../shared/realworld)",
            full.display()
        );
        None
    }
}

fn example(name: &str) -> PathBuf {
    PathBuf::from(format!(
        "{}/docs/examples/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
}

/// Builds a scenario whose window covers every sample, from 2000 to the review date.
fn wide_scenario() -> Scenario {
    let mut scenario = Scenario::new();
    scenario.config.since = Timestamp::parse("2000-01-01T00:00:00Z").unwrap();
    scenario
}

fn load(scenario: &Scenario) -> Loaded {
    let rules = RuleSet::load(None).expect("built-in rules load");
    pipeline::load(&scenario.config, &rules).expect("inputs load")
}

fn counts(loaded: &Loaded, suffix: &str) -> (u64, u64) {
    let file = loaded
        .files
        .iter()
        .find(|file| file.path.ends_with(suffix))
        .unwrap_or_else(|| panic!("no input file ending with {suffix}"));
    (file.rows_read, file.rows_rejected)
}

/// Events per `identity | action | decision`.
fn events(loaded: &Loaded) -> BTreeMap<String, u64> {
    let mut events = BTreeMap::new();
    for (key, stats) in &loaded.access.as_ref().expect("logs were read").rows {
        let operation = if key.action.is_empty() {
            format!("{} {}", key.method, key.endpoint)
        } else {
            key.action.clone()
        };
        *events
            .entry(format!(
                "{} | {} | {}",
                key.identity, operation, key.decision
            ))
            .or_insert(0) += stats.count;
    }
    events
}

fn grants_of(loaded: &Loaded, identity: &str) -> Vec<String> {
    let inventory = loaded.inventory.as_ref().expect("entitlements were read");
    let mut grants: Vec<String> = inventory
        .grants_of(identity)
        .map(|grant| grant.text())
        .collect();
    grants.sort();
    grants
}

#[test]
fn cloudtrail_samples() {
    let (Some(stop), Some(bad), Some(bare), Some(console)) = (
        sample("cloudtrail/cloudgrep-stopinstances.json"),
        sample("cloudtrail/cloudgrep-truncated-bad.json"),
        sample("cloudtrail/ocsfex-describe-dcgw-no-records-wrapper.json"),
        sample("cloudtrail/elastic-console-login-success-failure.jsonl"),
    ) else {
        return;
    };
    let mut scenario = wide_scenario();
    scenario.config.logs.extend([stop, bad, bare, console]);
    let loaded = load(&scenario);

    assert_eq!(counts(&loaded, "cloudgrep-stopinstances.json"), (1, 0));
    assert_eq!(counts(&loaded, "cloudgrep-truncated-bad.json"), (0, 1));
    assert_eq!(
        counts(&loaded, "ocsfex-describe-dcgw-no-records-wrapper.json"),
        (1, 0)
    );
    assert_eq!(
        counts(&loaded, "elastic-console-login-success-failure.jsonl"),
        (3, 0)
    );
    let expected: BTreeMap<String, u64> = [
        ("JaneDoe | signin:ConsoleLogin | deny", 1),
        ("JohnDoe | signin:ConsoleLogin | allow", 1),
        (
            "Level6 | directconnect:DescribeDirectConnectGateways | allow",
            1,
        ),
        ("Nikki | ec2:StopInstances | allow", 1),
        ("RoleToBeAssumed | signin:ConsoleLogin | deny", 1),
    ]
    .into_iter()
    .map(|(key, count)| (key.to_string(), count))
    .collect();
    assert_eq!(events(&loaded), expected);

    let reject = &loaded.rejects[0];
    assert!(reject.file.ends_with("cloudgrep-truncated-bad.json"));
    assert!(reject.reason.contains("invalid JSON"), "{reject}");
}

#[test]
fn k8s_audit_samples() {
    let (Some(bob), Some(bind), Some(exec), Some(anonymous)) = (
        sample("k8s-audit/audit2rbac-impersonated-bob-403.jsonl"),
        sample("k8s-audit/falco-bind-cluster-admin-no-apiversion.json"),
        sample("k8s-audit/falco-exec-pod-responsestarted-101.json"),
        sample("k8s-audit/falco-v1beta1-anonymous-create-ns.json"),
    ) else {
        return;
    };
    let mut scenario = wide_scenario();
    scenario.config.logs.extend([bob, bind, exec, anonymous]);
    let loaded = load(&scenario);

    assert_eq!(
        counts(&loaded, "audit2rbac-impersonated-bob-403.jsonl"),
        (37, 0)
    );
    assert_eq!(
        counts(&loaded, "falco-bind-cluster-admin-no-apiversion.json"),
        (1, 0)
    );
    assert_eq!(
        counts(&loaded, "falco-exec-pod-responsestarted-101.json"),
        (1, 0)
    );
    assert_eq!(
        counts(&loaded, "falco-v1beta1-anonymous-create-ns.json"),
        (1, 0)
    );
    let events = events(&loaded);
    // system:admin impersonates bob, alice and a service account in the capture.
    let impersonated = ["bob |", "alice |", "system:serviceaccount:ns1:sa1 |"];
    let total: u64 = events
        .iter()
        .filter(|(key, _)| impersonated.iter().any(|name| key.starts_with(name)))
        .map(|(_, count)| count)
        .sum();
    let denied: u64 = events
        .iter()
        .filter(|(key, _)| key.ends_with("| deny"))
        .map(|(_, count)| count)
        .sum();
    assert_eq!(
        total, 37,
        "every event of the capture acts as an impersonated user"
    );
    assert_eq!(denied, 11, "the 403 Forbidden events");
    assert_eq!(events["bob | list pods | deny"], 3);
    assert_eq!(events["bob | list pods | allow"], 2);
    assert_eq!(events["alice | list secrets | deny"], 1);
    assert_eq!(events["bob | GET /api | allow"], 1);
    assert_eq!(
        events["minikube-user | create clusterrolebindings | allow"],
        1
    );
    assert_eq!(events["minikube-user | create pods/exec | allow"], 1);
    assert_eq!(events["system:anonymous | create namespaces | allow"], 1);

    let access = loaded.access.as_ref().unwrap();
    assert!(
        access
            .rows
            .iter()
            .filter(|(key, _)| ["bob", "alice", "system:serviceaccount:ns1:sa1"]
                .contains(&key.identity.as_str()))
            .all(|(key, _)| key.source == "system:admin"),
        "the real user is the source"
    );
}

#[test]
fn ocsf_samples() {
    let (Some(okta), Some(broken)) = (
        sample("ocsf/ocsfex-okta-api-activity-6003.ocsf.json"),
        sample("ocsf/ocsfex-cloudtrail-api-activity-v1.5-trailing-comma.ocsf.json"),
    ) else {
        return;
    };
    let mut scenario = wide_scenario();
    scenario.config.logs.extend([okta, broken]);
    let loaded = load(&scenario);
    assert_eq!(
        counts(&loaded, "ocsfex-okta-api-activity-6003.ocsf.json"),
        (1, 0)
    );
    assert_eq!(
        counts(
            &loaded,
            "ocsfex-cloudtrail-api-activity-v1.5-trailing-comma.ocsf.json"
        ),
        (0, 1)
    );
    let access = loaded.access.as_ref().unwrap();
    let (key, stats) = &access.rows[0];
    assert_eq!(key.identity, "John Doe");
    assert_eq!(key.action, "system.api_token.create");
    assert_eq!(key.service, "Okta System Log");
    assert_eq!(key.decision, Decision::Allow);
    // `time` is in epoch seconds here, though OCSF specifies milliseconds.
    assert_eq!(
        stats.first,
        Timestamp::parse("2024-08-13T15:58:20Z").unwrap()
    );
    assert!(
        loaded.rejects[0].reason.contains("invalid JSON"),
        "{}",
        loaded.rejects[0]
    );
}

#[test]
fn apache_sample_through_example_mapping() {
    let Some(log) = sample("nginx-apache/cloudgrep-apache-access.log") else {
        return;
    };
    let mut scenario = wide_scenario();
    scenario.config.logs.push(log);
    scenario.config.imports.logs.mapping = Some(example("nginx-combined.logs.toml"));
    let loaded = load(&scenario);
    assert_eq!(counts(&loaded, "cloudgrep-apache-access.log"), (54, 0));
    let mut by_decision: BTreeMap<Decision, u64> = BTreeMap::new();
    for (key, stats) in &loaded.access.as_ref().unwrap().rows {
        assert_eq!(key.identity, "anonymous");
        *by_decision.entry(key.decision).or_insert(0) += stats.count;
    }
    // 45 responses are 2xx or 3xx; 404, 405 and 500 are neither allowed nor denied.
    assert_eq!(by_decision.get(&Decision::Allow), Some(&45));
    assert_eq!(by_decision.get(&Decision::Other), Some(&9));
    assert_eq!(by_decision.get(&Decision::Deny), None);
}

#[test]
fn newman_sample() {
    let Some(report) = sample("newman-json/tredgate-newman-failing-tests.json") else {
        return;
    };
    let mut scenario = wide_scenario();
    scenario.config.tests.push(report.clone());
    let loaded = load(&scenario);
    assert_eq!(
        counts(&loaded, "tredgate-newman-failing-tests.json"),
        (0, 4)
    );

    let mapping = scenario.file(
        "tests.toml",
        r#"
        [[extract]]
        from = "test"
        pattern = '(?i)status is (?P<expected>\d{3})'
        [values.expected]
        "2*" = "allow"
        "4*" = "deny"
        [defaults]
        identity = "tegb-trainee"
        credential_state = "valid"
        expected = "allow"
        service = "tegb-backend"
        "#,
    );
    scenario.config.imports.tests.mapping = Some(mapping);
    let loaded = load(&scenario);
    assert_eq!(
        counts(&loaded, "tredgate-newman-failing-tests.json"),
        (3, 1)
    );
    let tests = loaded.tests.as_ref().unwrap();
    let summary: Vec<String> = tests
        .iter()
        .map(|test| {
            format!(
                "{} {} {} {}",
                test.method, test.endpoint, test.status_code, test.expected
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            "POST /trai 404 allow",
            "POST /train 201 allow",
            "POST /auth/register 201 allow"
        ]
    );
    assert_eq!(tests[0].executed_at, Timestamp(1_768_395_625_512));
    assert!(
        loaded.rejects[0].reason.contains("ENOTFOUND fafafafa"),
        "{}",
        loaded.rejects[0]
    );
}

#[test]
fn junit_samples() {
    let (Some(echo), Some(pytest), Some(multi)) = (
        sample("junit-xml/newman-junit-original-postman-echo.xml"),
        sample("junit-xml/pytest-fail-skip-naive-timestamp.xml"),
        sample("junit-xml/multiresult-per-testcase.xml"),
    ) else {
        return;
    };
    let mut scenario = wide_scenario();
    scenario.config.tests.extend([echo, pytest, multi]);
    let loaded = load(&scenario);
    // JUnit names no request: without a mapping every testcase is rejected.
    assert_eq!(
        counts(&loaded, "newman-junit-original-postman-echo.xml"),
        (0, 90)
    );
    assert_eq!(
        counts(&loaded, "pytest-fail-skip-naive-timestamp.xml"),
        (0, 5)
    );
    assert_eq!(counts(&loaded, "multiresult-per-testcase.xml"), (0, 4));
    let echo_file = loaded
        .files
        .iter()
        .find(|file| file.path.ends_with("postman-echo.xml"))
        .unwrap();
    assert_eq!(
        echo_file.warnings,
        vec![
            "suite `Postman Echo` declares tests=\"74\" but holds 90 testcase(s); the testcases were read"
        ]
    );
    let skipped = loaded
        .rejects
        .iter()
        .filter(|reject| reject.reason.starts_with("the test was skipped"))
        .count();
    assert_eq!(
        skipped, 2,
        "one skipped pytest case, one multiresult case with only <skipped/>"
    );

    // Newman's JUnit reporter names each suite "FOLDER / REQUEST" and each case after an assertion.
    let mapping = scenario.file(
        "echo.toml",
        r#"
        [[extract]]
        from = "suite"
        pattern = '(?P<method>GET|POST|PUT|PATCH|DELETE)'
        [[extract]]
        from = "outcome"
        pattern = '^(?P<status_code>passed)$'
        [values.status_code]
        "passed" = "200"
        [defaults]
        method = "GET"
        endpoint = "/"
        identity = "echo-client"
        credential_state = "valid"
        expected = "allow"
        executed_at = "2026-11-01T00:00:00Z"
        "#,
    );
    let mut echo_only = wide_scenario();
    echo_only
        .config
        .tests
        .push(sample("junit-xml/newman-junit-original-postman-echo.xml").unwrap());
    echo_only.config.imports.tests.mapping = Some(mapping);
    let loaded = load(&echo_only);
    // The messages of the 7 failed cases name no status code.
    assert_eq!(
        counts(&loaded, "newman-junit-original-postman-echo.xml"),
        (83, 7)
    );
    for reject in &loaded.rejects {
        assert_eq!(reject.column, "status_code");
        assert!(reject.reason.contains("--tests-mapping"), "{reject}");
    }
    let tests = loaded.tests.as_ref().unwrap();
    assert!(tests.iter().any(|test| test.method == "DELETE"));
}

#[test]
fn aws_iam_samples() {
    let (Some(example_details), Some(small), Some(report)) = (
        sample("aws-iam-authz/cloudsplaining-example-authz-details.json"),
        sample("aws-iam-authz/cloudsplaining-authz-v2-small.json"),
        sample("token-inventory/cloudmapper-demo-iam-credential-report.json"),
    ) else {
        return;
    };
    let mut scenario = wide_scenario();
    scenario.config.entitlements.push(small);
    scenario
        .config
        .imports
        .credential_reports
        .push(PathBuf::from(report));
    let loaded = load(&scenario);
    assert_eq!(
        counts(&loaded, "cloudsplaining-authz-v2-small.json"),
        (6, 0)
    );
    assert_eq!(
        counts(&loaded, "cloudmapper-demo-iam-credential-report.json"),
        (3, 0)
    );
    assert_eq!(
        grants_of(&loaded, "BlakeBortles"),
        vec!["*"],
        "AdministratorAccess through the group GOAT"
    );
    assert_eq!(
        grants_of(&loaded, "MyOtherRole"),
        vec!["s3:GetObject", "s3:PutObject"]
    );
    let inventory = loaded.inventory.as_ref().unwrap();
    assert_eq!(
        inventory.identities["GOAT"].identity_type,
        Some(IdentityType::Workload)
    );
    assert_eq!(
        inventory.identities["auditor_tmp"].identity_type,
        Some(IdentityType::ServiceAccount)
    );
    assert_eq!(
        inventory.identities["user"].identity_type,
        Some(IdentityType::Human)
    );
    let keys: Vec<&str> = inventory.identities["user"]
        .credentials
        .iter()
        .map(|key| key.id.as_str())
        .collect();
    assert_eq!(keys, vec!["user/access_key_1", "user/access_key_2"]);
    let root_keys: Vec<&str> = inventory.identities["root"]
        .credentials
        .iter()
        .map(|key| key.id.as_str())
        .collect();
    assert_eq!(
        root_keys,
        vec!["root/access_key_1"],
        "the root account has an active access key"
    );

    let mut scenario = wide_scenario();
    scenario.config.entitlements.push(example_details);
    let loaded = load(&scenario);
    assert_eq!(
        counts(&loaded, "cloudsplaining-example-authz-details.json"),
        (40, 0)
    );
    assert_eq!(grants_of(&loaded, "obama"), vec!["*"]);
    let biden = grants_of(&loaded, "biden");
    assert!(biden.contains(&"lambda:*".to_string()), "{biden:?}");
    assert!(
        biden.contains(&"rds:*".to_string()),
        "AmazonRDSFullAccess through the group biden: {biden:?}"
    );
    let inventory = loaded.inventory.as_ref().unwrap();
    assert_eq!(inventory.identities.len(), 6, "3 users and 3 roles");
}

#[test]
fn k8s_rbac_samples() {
    let (Some(cluster), Some(namespaced)) = (
        sample("k8s-rbac/k8s-bootstrap-clusterrolebindings-v1beta1-list.yaml"),
        sample("k8s-rbac/k8s-bootstrap-namespace-rolebindings-list.yaml"),
    ) else {
        return;
    };
    let mut scenario = wide_scenario();
    scenario.config.entitlements.extend([cluster, namespaced]);
    let loaded = load(&scenario);
    assert_eq!(
        counts(
            &loaded,
            "k8s-bootstrap-clusterrolebindings-v1beta1-list.yaml"
        ),
        (6, 0)
    );
    assert_eq!(
        counts(&loaded, "k8s-bootstrap-namespace-rolebindings-list.yaml"),
        (7, 0)
    );
    assert_eq!(
        grants_of(&loaded, "system:masters"),
        vec!["* *", "* /**"],
        "cluster-admin"
    );
    let inventory = loaded.inventory.as_ref().unwrap();
    let signer = &inventory.identities["system:serviceaccount:kube-system:bootstrap-signer"];
    assert_eq!(signer.identity_type, Some(IdentityType::ServiceAccount));
    assert!(signer.grants.is_empty(), "its Role is not in the sample");
    let warnings = &loaded
        .files
        .iter()
        .find(|file| file.path.ends_with("namespace-rolebindings-list.yaml"))
        .unwrap()
        .warnings;
    assert!(warnings[0].starts_with("7 RoleBinding(s)"), "{warnings:?}");
    assert!(
        warnings[1].contains("Role kube-system/system:controller:token-cleaner"),
        "{warnings:?}"
    );
}

#[test]
fn sailpoint_sample_through_example_mapping() {
    let Some(report) = sample("iga-csv/sailpoint-idn-ad-accounts-report.csv") else {
        return;
    };
    let mut scenario = wide_scenario();
    scenario.config.entitlements.push(report);
    scenario.config.imports.entitlements.mapping =
        Some(example("sailpoint-accounts.entitlements.toml"));
    let loaded = load(&scenario);
    assert_eq!(
        counts(&loaded, "sailpoint-idn-ad-accounts-report.csv"),
        (135, 0)
    );
    let inventory = loaded.inventory.as_ref().unwrap();
    assert_eq!(inventory.identities.len(), 135);
    assert_eq!(
        inventory.grants.len(),
        38,
        "one per account with a memberOf group"
    );
    assert_eq!(grants_of(&loaded, "Adalberto.Osman"), Vec::<String>::new());
    let with_group = inventory
        .identities
        .values()
        .find(|identity| !identity.grants.is_empty())
        .expect("an account in a group");
    assert_eq!(with_group.identity_type, Some(IdentityType::Human));
    assert_eq!(
        inventory.grants[with_group.grants[0]].service,
        "active-directory"
    );
    let rotated = inventory
        .identities
        .values()
        .filter_map(|identity| identity.credentials.first())
        .filter(|credential| credential.rotated_at.is_some())
        .count();
    assert_eq!(rotated, 7, "pwdLastSet is 0 for all other accounts");
}
