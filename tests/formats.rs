//! Importers of foreign formats, on the hand-written fixtures under
//! tests/fixtures/formats: what each reads, rejects and warns about.

mod common;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;

use corroborate::ingest::import::ImportFormat;
use corroborate::model::{CredentialState, Decision, Expected, IdentityType, Timestamp};
use corroborate::pipeline::{self, Loaded};
use corroborate::rules::RuleSet;
use corroborate::{Error, RunConfig};

use common::Scenario;

fn fixture(path: &str) -> String {
    format!(
        "{}/tests/fixtures/formats/{path}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn load(config: &RunConfig) -> Loaded {
    let rules = RuleSet::load(None).expect("built-in rules load");
    pipeline::load(config, &rules).expect("inputs load")
}

/// `(rows_read, rows_rejected)` of the input file whose path ends with `suffix`.
fn counts(loaded: &Loaded, suffix: &str) -> (u64, u64) {
    let file = loaded
        .files
        .iter()
        .find(|file| file.path.ends_with(suffix))
        .unwrap_or_else(|| panic!("no input file ending with {suffix}"));
    (file.rows_read, file.rows_rejected)
}

fn warnings(loaded: &Loaded, suffix: &str) -> Vec<String> {
    loaded
        .files
        .iter()
        .find(|file| file.path.ends_with(suffix))
        .map(|file| file.warnings.clone())
        .unwrap_or_default()
}

/// `identity action decision` of every access summary row, sorted.
fn access_rows(loaded: &Loaded) -> Vec<String> {
    let access = loaded.access.as_ref().expect("logs were read");
    let mut rows: Vec<String> = access
        .rows
        .iter()
        .map(|(key, _)| {
            let operation = if key.action.is_empty() {
                format!("{} {}", key.method, key.endpoint)
            } else {
                key.action.clone()
            };
            format!("{} | {} | {}", key.identity, operation, key.decision)
        })
        .collect();
    rows.sort();
    rows
}

fn accounts_file(scenario: &Scenario) -> PathBuf {
    scenario.file(
        "accounts.csv",
        "account_id,environment\n111122223333,prod\ngke-shop-prod,prod\n",
    )
}

#[test]
fn cloudtrail_sessions_and_rejects() {
    let mut scenario = Scenario::new();
    scenario
        .config
        .logs
        .push(fixture("cloudtrail/sessions.jsonl"));
    scenario.config.imports.account_environments = Some(accounts_file(&scenario));
    let loaded = load(&scenario.config);

    assert_eq!(counts(&loaded, "sessions.jsonl"), (6, 2));
    assert_eq!(
        access_rows(&loaded),
        vec![
            "ci-deployer | ec2:DescribeInstances | other",
            "ci-deployer | ec2:RunInstances | deny",
            "ci-deployer | s3:GetObject | allow",
            "lambda.amazonaws.com | kms:Decrypt | allow",
            "orders-app | dynamodb:DeleteTable | deny",
            "orders-app | sqs:SendMessage | allow",
        ]
    );
    let access = loaded.access.as_ref().unwrap();
    let environments: BTreeSet<&str> = access
        .rows
        .iter()
        .map(|(key, _)| key.environment.as_str())
        .collect();
    assert_eq!(environments, BTreeSet::from(["444455556666", "prod"]));
    let credentials: BTreeSet<&str> = access
        .rows
        .iter()
        .filter(|(key, _)| key.identity == "orders-app")
        .map(|(key, _)| key.credential_id.as_str())
        .collect();
    assert_eq!(credentials, BTreeSet::from(["ASIAORDERS1", "ASIAORDERS2"]));

    let lines: Vec<Option<u64>> = loaded.rejects.iter().map(|reject| reject.line).collect();
    assert_eq!(lines, vec![Some(4), Some(5)]);
    for reject in &loaded.rejects {
        assert_eq!(reject.column, "identity");
        assert!(
            reject.reason.contains("`userIdentity` is missing or null"),
            "{reject}"
        );
    }
}

#[test]
fn cloudtrail_gzip_reads_like_plain() {
    let scenario = Scenario::new();
    let plain = std::fs::read(fixture("cloudtrail/sessions.jsonl")).unwrap();
    let path = scenario.dir.path().join("trail.json.gz");
    let mut encoder = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::default(),
    );
    encoder.write_all(&plain).unwrap();
    encoder.finish().unwrap();

    let mut config = scenario.config.clone();
    config.logs.push(path.display().to_string());
    let loaded = load(&config);
    assert_eq!(counts(&loaded, "trail.json.gz"), (6, 2));
    assert_eq!(loaded.files[0].import_format, "cloudtrail");
    assert_eq!(loaded.access.as_ref().unwrap().events_in_window, 6);
}

#[test]
fn cloudtrail_truncated_file_keeps_complete_records() {
    let mut scenario = Scenario::new();
    scenario
        .config
        .logs
        .push(fixture("cloudtrail/truncated.json"));
    let loaded = load(&scenario.config);
    assert_eq!(counts(&loaded, "truncated.json"), (2, 1));
    assert_eq!(
        access_rows(&loaded),
        vec!["ci-deployer | s3:PutObject | allow"]
    );
    assert_eq!(loaded.access.as_ref().unwrap().events_in_window, 2);
    assert!(
        loaded.rejects[0].reason.contains("invalid JSON"),
        "{}",
        loaded.rejects[0]
    );
}

#[test]
fn k8s_stages_count_once() {
    let mut scenario = Scenario::new();
    scenario.config.logs.push(fixture("k8s-audit/stages.jsonl"));
    let loaded = load(&scenario.config);

    // 8 records: 3 repeat a request already counted, 1 has no outcome.
    assert_eq!(counts(&loaded, "stages.jsonl"), (7, 1));
    assert_eq!(loaded.access.as_ref().unwrap().events_in_window, 4);
    assert_eq!(
        access_rows(&loaded),
        vec![
            "system:serviceaccount:ci:runner | create pods/exec | allow",
            "system:serviceaccount:shop:web | get secrets | allow",
            "system:serviceaccount:shop:web | list pods | deny",
            "system:serviceaccount:shop:web | update configmaps | allow",
        ]
    );
    let warnings = warnings(&loaded, "stages.jsonl");
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].starts_with("3 record(s) repeat a request"),
        "{warnings:?}"
    );

    let reject = &loaded.rejects[0];
    assert_eq!(reject.line, Some(5));
    assert_eq!(reject.column, "decision");
    assert!(reject.reason.contains("RequestReceived"), "{reject}");
}

#[test]
fn k8s_impersonation_and_extra() {
    let mut scenario = Scenario::new();
    scenario.config.logs.push(fixture("k8s-audit/stages.jsonl"));
    let loaded = load(&scenario.config);
    let access = loaded.access.as_ref().unwrap();

    let exec = access
        .rows
        .iter()
        .find(|(key, _)| key.action == "create pods/exec")
        .expect("the impersonated exec");
    assert_eq!(exec.0.identity, "system:serviceaccount:ci:runner");
    assert_eq!(exec.0.source, "system:admin");
    assert_eq!(exec.0.method, "POST");
    assert_eq!(exec.0.service, "kubernetes");
    assert_eq!(exec.0.identity_type, "service_account");

    let update = access
        .rows
        .iter()
        .find(|(key, _)| key.action == "update configmaps")
        .expect("the update with user.extra");
    assert_eq!(update.0.credential_id, "JTI=5f0c2e");
    // The pod name from user.extra, with its replica-set suffix removed.
    assert_eq!(update.0.source, "web");
}

#[test]
fn k8s_stages_across_files() {
    let mut scenario = Scenario::new();
    scenario
        .config
        .logs
        .push(fixture("k8s-audit/split-a.jsonl"));
    scenario
        .config
        .logs
        .push(fixture("k8s-audit/split-b.jsonl"));
    let loaded = load(&scenario.config);
    assert_eq!(counts(&loaded, "split-a.jsonl"), (1, 0));
    assert_eq!(counts(&loaded, "split-b.jsonl"), (1, 0));
    assert_eq!(loaded.access.as_ref().unwrap().events_in_window, 1);
    assert_eq!(
        access_rows(&loaded),
        vec!["system:serviceaccount:shop:batch | list secrets | allow"]
    );
}

#[test]
fn k8s_stages_across_parallel_pieces() {
    let scenario = Scenario::new();
    let requests = 20_000;
    let mut text = String::new();
    let event = |id: usize, stage: &str| {
        let outcome = if stage == "ResponseComplete" {
            r#","responseStatus":{"code":200},"annotations":{"authorization.k8s.io/decision":"allow"}"#
        } else {
            ""
        };
        format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"req-{id:06}","stage":"{stage}","requestURI":"/api/v1/namespaces/shop/pods/p-{id}","verb":"get","user":{{"username":"system:serviceaccount:shop:web"}},"sourceIPs":["10.4.0.12"],"objectRef":{{"resource":"pods","namespace":"shop"}},"requestReceivedTimestamp":"2026-11-10T12:00:00Z"{outcome}}}"#
        )
    };
    // Every request's first stage in the first half of the file, its last stage
    // in the second half, so the two land in different pieces.
    for id in 0..requests {
        text.push_str(&event(id, "RequestReceived"));
        text.push('\n');
    }
    for id in 0..requests {
        text.push_str(&event(id, "ResponseComplete"));
        text.push('\n');
    }
    assert!(text.len() > 4 << 20, "the file must span several pieces");
    let path = scenario.file("big-audit.jsonl", &text);

    let mut config = scenario.config.clone();
    config.logs.push(path.display().to_string());
    let loaded = load(&config);
    assert_eq!(counts(&loaded, "big-audit.jsonl"), (2 * requests as u64, 0));
    assert_eq!(
        loaded.access.as_ref().unwrap().events_in_window,
        requests as u64
    );
    assert!(
        warnings(&loaded, "big-audit.jsonl")[0].starts_with("20000 record(s) repeat a request"),
        "{:?}",
        warnings(&loaded, "big-audit.jsonl")
    );
}

#[test]
fn k8s_cloud_envelopes() {
    let mut scenario = Scenario::new();
    scenario.config.logs.push(fixture("k8s-audit/gke.jsonl"));
    scenario.config.logs.push(fixture("k8s-audit/aks.json"));
    scenario.config.imports.account_environments = Some(accounts_file(&scenario));
    let loaded = load(&scenario.config);

    assert_eq!(counts(&loaded, "gke.jsonl"), (2, 1));
    assert_eq!(counts(&loaded, "aks.json"), (1, 1));
    assert_eq!(
        access_rows(&loaded),
        vec![
            "system:serviceaccount:ci:runner | list secrets | deny",
            "system:serviceaccount:ci:runner | patch deployments | allow",
            "system:serviceaccount:shop:web | get secrets | allow",
        ]
    );
    let environments: BTreeSet<String> = loaded
        .access
        .as_ref()
        .unwrap()
        .rows
        .iter()
        .map(|(key, _)| format!("{} {}", key.identity, key.environment))
        .collect();
    assert!(
        environments.contains("system:serviceaccount:ci:runner prod"),
        "{environments:?}"
    );
    assert!(
        environments.contains("system:serviceaccount:shop:web aks-shop-staging"),
        "{environments:?}"
    );
}

#[test]
fn ocsf_api_activity() {
    let mut scenario = Scenario::new();
    scenario
        .config
        .logs
        .push(fixture("ocsf/api-activity.jsonl"));
    let loaded = load(&scenario.config);
    assert_eq!(counts(&loaded, "api-activity.jsonl"), (3, 1));
    assert_eq!(
        access_rows(&loaded),
        vec![
            "billing-sync | POST /v1/invoices | allow",
            "ci-deployer | iam:DeleteUser | deny",
            "ci-deployer | s3:GetObject | allow",
        ]
    );
    assert!(
        loaded.rejects[0].reason.contains("class_uid is 3002"),
        "{}",
        loaded.rejects[0]
    );
}

#[test]
fn aws_iam_grants_and_warnings() {
    let mut scenario = Scenario::new();
    scenario
        .config
        .entitlements
        .push(fixture("iam/authorization-details.json"));
    scenario.config.imports.account_environments = Some(accounts_file(&scenario));
    let loaded = load(&scenario.config);

    // 2 users, 1 group, 1 role and 2 policies; one policy has no default version.
    assert_eq!(counts(&loaded, "authorization-details.json"), (5, 1));
    let inventory = loaded.inventory.as_ref().unwrap();
    let grants_of = |identity: &str| -> Vec<String> {
        let mut grants: Vec<String> = inventory
            .grants_of(identity)
            .map(|grant| grant.text())
            .collect();
        grants.sort();
        grants
    };
    assert_eq!(
        grants_of("ci-deployer"),
        vec![
            "cloudformation:*",
            "ec2:Describe*",
            "s3:GetObject",
            "s3:PutObject"
        ]
    );
    assert_eq!(
        grants_of("orders-app"),
        vec!["dynamodb:GetItem", "dynamodb:PutItem", "sqs:SendMessage"]
    );
    assert!(grants_of("legacy-batch").is_empty());
    assert_eq!(inventory.identities["ci-deployer"].owner, "platform-team");
    assert_eq!(inventory.identities["orders-app"].owner, "orders");
    assert_eq!(
        inventory.identities["orders-app"].identity_type,
        Some(IdentityType::Workload)
    );
    let environments: BTreeSet<&str> = inventory
        .grants
        .iter()
        .map(|grant| grant.environment.as_str())
        .collect();
    assert_eq!(environments, BTreeSet::from(["prod"]));

    let warnings = warnings(&loaded, "authorization-details.json").join("\n");
    for expected in [
        "2 Deny statement(s) not modelled",
        "1 Allow statement(s) with NotAction not modelled",
        "1 statement(s) with a Condition",
        "1 Allow statement(s) limited to specific resources",
        "1 permissions boundary(ies) not modelled",
        "arn:aws:iam::aws:policy/AmazonS3FullAccess",
        "groups not in the input, so their grants are unknown: retired-group",
    ] {
        assert!(
            warnings.contains(expected),
            "missing `{expected}` in:\n{warnings}"
        );
    }
    assert!(
        loaded.rejects[0]
            .reason
            .contains("no readable default version"),
        "{}",
        loaded.rejects[0]
    );
}

#[test]
fn credential_reports_give_keys() {
    let mut scenario = Scenario::new();
    scenario.config.imports.credential_reports = vec![
        PathBuf::from(fixture("iam/credential-report.csv")),
        PathBuf::from(fixture("iam/access-keys.json")),
    ];
    let loaded = load(&scenario.config);
    assert_eq!(counts(&loaded, "credential-report.csv"), (3, 0));
    assert_eq!(counts(&loaded, "access-keys.json"), (2, 0));
    let inventory = loaded.inventory.as_ref().unwrap();
    let keys = |identity: &str| -> Vec<String> {
        inventory.identities[identity]
            .credentials
            .iter()
            .map(|credential| credential.id.clone())
            .collect()
    };
    assert_eq!(
        keys("ci-deployer"),
        vec!["AKIACIDEPLOYER", "ci-deployer/access_key_1"]
    );
    assert_eq!(
        keys("legacy-batch"),
        vec!["legacy-batch/access_key_1", "legacy-batch/access_key_2"]
    );
    assert!(keys("root").is_empty());
    assert_eq!(
        inventory.identities["root"].identity_type,
        Some(IdentityType::Human)
    );
    assert_eq!(
        inventory.identities["legacy-batch"].identity_type,
        Some(IdentityType::ServiceAccount)
    );
    let rotated = inventory.identities["legacy-batch"].credentials[0].rotated_at;
    assert_eq!(
        rotated,
        Some(Timestamp::parse("2019-03-01T00:10:00Z").unwrap())
    );
    assert!(
        loaded
            .files
            .iter()
            .all(|file| file.import_format == "aws-credential-report")
    );
}

#[test]
fn k8s_rbac_roles_from_other_files() {
    let mut scenario = Scenario::new();
    scenario
        .config
        .entitlements
        .push(fixture("k8s-rbac/roles-and-bindings.yaml"));
    scenario
        .config
        .entitlements
        .push(fixture("k8s-rbac/cluster-roles.json"));
    let loaded = load(&scenario.config);

    assert_eq!(counts(&loaded, "roles-and-bindings.yaml"), (5, 1));
    assert_eq!(counts(&loaded, "cluster-roles.json"), (1, 0));
    let inventory = loaded.inventory.as_ref().unwrap();
    let grants_of = |identity: &str| -> Vec<String> {
        let mut grants: Vec<String> = inventory
            .grants_of(identity)
            .map(|grant| grant.text())
            .collect();
        grants.sort();
        grants
    };
    assert_eq!(
        grants_of("system:serviceaccount:shop:web"),
        vec!["get configmaps", "get secrets", "update configmaps"]
    );
    let runner = grants_of("system:serviceaccount:ci:runner");
    assert_eq!(runner.len(), 11, "{runner:?}");
    assert!(
        runner.contains(&"create pods/exec".to_string()),
        "{runner:?}"
    );
    assert!(
        runner.contains(&"GET /metrics/**".to_string()),
        "{runner:?}"
    );
    assert_eq!(grants_of("release-managers"), runner);
    assert!(grants_of("system:serviceaccount:monitoring:prometheus").is_empty());
    assert_eq!(
        inventory.identities["system:serviceaccount:shop:web"].owner,
        "shop-team"
    );
    assert_eq!(
        inventory.identities["system:serviceaccount:shop:web"].identity_type,
        Some(IdentityType::ServiceAccount)
    );

    let warnings = warnings(&loaded, "roles-and-bindings.yaml").join("\n");
    assert!(
        warnings.contains("1 RoleBinding(s) read as granting in every namespace"),
        "{warnings}"
    );
    assert!(
        warnings.contains("1 rule(s) limited by resourceNames"),
        "{warnings}"
    );
    assert!(
        warnings.contains("ClusterRole prometheus-scraper"),
        "{warnings}"
    );
    assert!(
        loaded.rejects[0]
            .reason
            .contains("kind `ConfigMap` is not an RBAC object"),
        "{}",
        loaded.rejects[0]
    );
}

#[test]
fn newman_report_with_mapping() {
    let mut scenario = Scenario::new();
    scenario.config.tests.push(fixture("newman/report.json"));
    scenario.config.imports.tests.mapping = Some(PathBuf::from(format!(
        "{}/docs/examples/newman-names.tests.toml",
        env!("CARGO_MANIFEST_DIR")
    )));
    let loaded = load(&scenario.config);

    assert_eq!(counts(&loaded, "report.json"), (5, 1));
    let tests = loaded.tests.as_ref().unwrap();
    let summary: Vec<String> = tests
        .iter()
        .map(|test| {
            format!(
                "{} | {} | {} {} | {} | {}",
                test.identity,
                test.credential_state,
                test.method,
                test.endpoint,
                test.expected,
                test.status_code
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            "orders-app | valid | GET /v1/orders | allow | 200",
            "orders-app | valid | DELETE /v1/orders/42 | deny | 204",
            "orders-app | valid | GET /v1/orders/7 | allow | 403",
            "orders-app | expired | GET /v1/orders | deny | 200",
            " | missing | GET /v1/orders | deny | 401",
        ]
    );
    let first = &tests[0];
    assert_eq!(
        first.test_id,
        "valid token / list orders as orders-app expect allow"
    );
    assert_eq!(first.environment, "prod");
    assert_eq!(first.service, "orders-api");
    assert_eq!(first.request_id, "req-nm-1");
    assert_eq!(
        first.executed_at,
        Timestamp::parse("2026-11-18T11:06:40Z").unwrap()
    );
    assert_eq!(tests[2].response_excerpt, r#"{"error":"forbidden"}"#);
    assert_eq!(tests[3].credential_state, CredentialState::Expired);
    assert_eq!(tests[4].expected, Expected::Deny);

    let reject = &loaded.rejects[0];
    assert_eq!(reject.record, 6);
    assert!(
        reject.reason.contains("ENOTFOUND orders-old.example.com"),
        "{reject}"
    );
    let mapping = loaded.files[0].mapping.as_deref().unwrap();
    assert!(
        mapping.ends_with("docs/examples/newman-names.tests.toml"),
        "{mapping}"
    );
}

#[test]
fn newman_without_mapping_says_where_to_set_columns() {
    let mut scenario = Scenario::new();
    scenario.config.tests.push(fixture("newman/report.json"));
    let loaded = load(&scenario.config);
    assert_eq!(counts(&loaded, "report.json"), (0, 6));
    let reject = &loaded.rejects[0];
    assert_eq!(reject.column, "credential_state");
    assert!(reject.reason.contains("--tests-mapping"), "{reject}");
}

#[test]
fn junit_nested_suites_and_naive_timestamps() {
    let mut scenario = Scenario::new();
    scenario
        .config
        .tests
        .push(fixture("junit/naive-timestamps.xml"));
    scenario.config.imports.tests.mapping =
        Some(PathBuf::from(fixture("junit/tests-mapping.toml")));
    let loaded = load(&scenario.config);

    // 5 testcases: one skipped, one not named by the convention.
    assert_eq!(counts(&loaded, "naive-timestamps.xml"), (3, 2));
    let tests = loaded.tests.as_ref().unwrap();
    let ids: Vec<&str> = tests.iter().map(|test| test.test_id.as_str()).collect();
    assert_eq!(
        ids,
        vec![
            "authz.orders.DELETE /v1/orders/42 as svc-reporting [valid] expect deny",
            "authz.orders.GET /v1/orders as svc-reporting [expired] expect deny",
            "authz.orders.GET /v1/orders as svc-reporting [expired] expect deny #2",
        ]
    );
    let delete = &tests[0];
    assert_eq!(delete.status_code, 204, "from the failure message");
    assert_eq!(
        delete.executed_at,
        Timestamp::parse("2026-11-20T09:31:15.250Z").unwrap()
    );
    assert_eq!(delete.environment, "staging", "from the suite property");
    assert_eq!(delete.service, "orders-api");
    assert_eq!(delete.identity, "svc-reporting");
    assert_eq!(tests[1].status_code, 401, "from the testcase property");
    assert_eq!(tests[1].credential_state, CredentialState::Expired);

    let reasons: Vec<String> = loaded
        .rejects
        .iter()
        .map(|reject| format!("{}: {}", reject.line.unwrap_or(0), reject.reason))
        .collect();
    assert!(
        reasons[0].starts_with("18: the test was skipped"),
        "{reasons:?}"
    );
    assert!(
        reasons[1].starts_with("21: missing required value"),
        "{reasons:?}"
    );
    let warnings = warnings(&loaded, "naive-timestamps.xml").join("\n");
    assert!(
        warnings.contains("suite `orders-api` declares tests=\"9\" but holds 5 testcase(s)"),
        "{warnings}"
    );
    assert!(
        warnings.contains("suite `orders-api authz` declares tests=\"4\""),
        "{warnings}"
    );
}

#[test]
fn nginx_example_mapping() {
    let mut scenario = Scenario::new();
    scenario.config.logs.push(fixture("mapping/access.log"));
    scenario.config.imports.logs.mapping = Some(PathBuf::from(format!(
        "{}/docs/examples/nginx-combined.logs.toml",
        env!("CARGO_MANIFEST_DIR")
    )));
    let loaded = load(&scenario.config);
    assert_eq!(counts(&loaded, "access.log"), (3, 1));
    assert_eq!(loaded.files[0].import_format, "mapping");
    assert_eq!(
        access_rows(&loaded),
        vec![
            "anonymous | GET /healthz | allow",
            "svc-reporting | DELETE /v1/orders/{id} | deny",
            "svc-reporting | GET /v1/orders | allow",
        ]
    );
    assert_eq!(loaded.rejects[0].line, Some(4));
    assert!(
        loaded.rejects[0]
            .reason
            .contains("does not match pattern #1"),
        "{}",
        loaded.rejects[0]
    );
}

#[test]
fn format_flag_overrides_sniffing() {
    let mut scenario = Scenario::new();
    scenario
        .config
        .logs
        .push(fixture("cloudtrail/sessions.jsonl"));
    scenario.config.imports.logs.format = ImportFormat::Native;
    let rules = RuleSet::load(None).unwrap();
    let error = pipeline::load(&scenario.config, &rules).unwrap_err();
    assert!(matches!(error, Error::MissingColumns { .. }), "{error}");
}

#[test]
fn format_of_another_kind_is_rejected() {
    let mut scenario = Scenario::new();
    scenario.config.tests.push(fixture("newman/report.json"));
    scenario.config.imports.tests.format = ImportFormat::CloudTrail;
    let rules = RuleSet::load(None).unwrap();
    let error = pipeline::load(&scenario.config, &rules)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("--tests-format cloudtrail does not fit tests"),
        "{error}"
    );
}

#[test]
fn manifest_records_formats_and_warnings() {
    let mut scenario = Scenario::new();
    scenario
        .config
        .logs
        .push(fixture("cloudtrail/sessions.jsonl"));
    scenario
        .config
        .entitlements
        .push(fixture("iam/authorization-details.json"));
    scenario.run().expect("run succeeds");
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(scenario.out().join("manifest.json")).unwrap(),
    )
    .unwrap();
    let inputs = manifest["inputs"].as_array().unwrap();
    let entry = |suffix: &str| {
        inputs
            .iter()
            .find(|input| input["path"].as_str().unwrap().ends_with(suffix))
            .unwrap_or_else(|| panic!("no manifest input ending with {suffix}"))
    };
    assert_eq!(entry("sessions.jsonl")["format"], "cloudtrail");
    assert_eq!(entry("sessions.jsonl")["syntax"], "jsonl");
    assert_eq!(entry("sessions.jsonl")["rows_read"], 6);
    assert_eq!(entry("sessions.jsonl")["rows_rejected"], 2);
    assert_eq!(entry("authorization-details.json")["format"], "aws-iam");
    let warnings = entry("authorization-details.json")["warnings"]
        .as_array()
        .unwrap();
    assert!(
        warnings.iter().any(|warning| warning
            .as_str()
            .unwrap()
            .contains("Deny statement(s) not modelled")),
        "{warnings:?}"
    );
}

#[test]
fn decisions_of_every_kind_reach_the_model() {
    let mut scenario = Scenario::new();
    scenario
        .config
        .logs
        .push(fixture("cloudtrail/sessions.jsonl"));
    let loaded = load(&scenario.config);
    let decisions: BTreeSet<Decision> = loaded
        .access
        .as_ref()
        .unwrap()
        .rows
        .iter()
        .map(|(key, _)| key.decision)
        .collect();
    assert_eq!(
        decisions,
        BTreeSet::from([Decision::Allow, Decision::Deny, Decision::Other])
    );
}
