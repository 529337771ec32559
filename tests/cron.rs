//! Behaviour under cron, tested on the built binary: exit codes, the output
//! folder lock, and a run killed during its commit. Killing uses the test hook
//! `CORROBORATE_TEST_PAUSE_BEFORE_COMMIT`, which makes a run sleep after all
//! outputs are staged and before the first rename.

mod common;
mod register_support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use register_support::*;

/// The planted inputs in a temporary folder, and the output folder.
struct Setup {
    dir: tempfile::TempDir,
    rules: PathBuf,
    entitlements: PathBuf,
    owners: PathBuf,
    tests: PathBuf,
    out: PathBuf,
}

impl Setup {
    fn new(rows: &[&str]) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let (rules, entitlements, owners) = write_inputs(dir.path());
        let tests = dir.path().join("tests.csv");
        write_tests(&tests, rows);
        let out = dir.path().join("out");
        Setup {
            dir,
            rules,
            entitlements,
            owners,
            tests,
            out,
        }
    }

    /// Builds a `corroborate run` command over the planted inputs at `as_of`.
    fn run(&self, as_of: &str) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_corroborate"));
        command
            .arg("run")
            .arg("--rules")
            .arg(&self.rules)
            .arg("--entitlements")
            .arg(&self.entitlements)
            .arg("--owners")
            .arg(&self.owners)
            .arg("--tests")
            .arg(&self.tests)
            .args(["--as-of", as_of])
            .arg("--out")
            .arg(&self.out)
            .env_remove(corroborate::emit::PAUSE_BEFORE_COMMIT_ENV)
            .env_remove("CORROBORATE_LOG");
        command
    }

    fn exceptions(&self, rows: &str) -> PathBuf {
        let path = self.dir.path().join("exceptions.csv");
        std::fs::write(&path, format!("{EXCEPTION_HEADER}{rows}")).unwrap();
        path
    }
}

fn output_of(command: &mut Command) -> Output {
    command.output().expect("the corroborate binary starts")
}

fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Reads the bytes of every output in `out`, leaving out the lock file and the
/// temporary files of a run in progress.
fn snapshot(out: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(out)
        .unwrap()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            (!name.starts_with('.')).then(|| (name, std::fs::read(entry.path()).unwrap()))
        })
        .collect()
}

fn temporaries(out: &Path) -> Vec<String> {
    std::fs::read_dir(out)
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect()
}

/// Starts a run that pauses before its commit, and waits for its log line about
/// the pause, which it writes after staging every output.
fn start_paused(mut command: Command) -> Child {
    let mut child = command
        .env(corroborate::emit::PAUSE_BEFORE_COMMIT_ENV, "120")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("the corroborate binary starts");
    let stderr = child.stderr.take().unwrap();
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("pausing") {
                let _ = sender.send(());
            }
        }
    });
    if receiver.recv_timeout(Duration::from_secs(120)).is_err() {
        let _ = child.kill();
        panic!("the paused run never reached its commit");
    }
    child
}

#[test]
fn second_run_fails_while_first_holds_lock() {
    let setup = Setup::new(&[FAULT_A, FAULT_B]);
    assert!(output_of(&mut setup.run(AS_OF_1)).status.success());
    let before = snapshot(&setup.out);
    assert!(before.contains_key("register.csv"), "{:?}", before.keys());

    let mut first = start_paused(setup.run(AS_OF_2));
    let second = output_of(&mut setup.run(AS_OF_2));
    assert_eq!(second.status.code(), Some(2), "{}", stderr_of(&second));
    assert!(
        stderr_of(&second).contains("another corroborate run is writing"),
        "{}",
        stderr_of(&second)
    );
    assert_eq!(
        snapshot(&setup.out),
        before,
        "the refused run changed nothing"
    );

    first.kill().unwrap();
    first.wait().unwrap();
    assert_eq!(
        snapshot(&setup.out),
        before,
        "the killed run changed nothing"
    );
}

#[test]
fn killed_run_leaves_previous_outputs() {
    let setup = Setup::new(&[FAULT_B]);
    assert!(output_of(&mut setup.run(AS_OF_1)).status.success());
    let before = snapshot(&setup.out);

    // The killed run would change every output: a new fault and a later as-of.
    write_tests(&setup.tests, &[FAULT_A, FAULT_B, FAULT_C]);
    let mut killed = start_paused(setup.run(AS_OF_2));
    assert!(
        !temporaries(&setup.out).is_empty(),
        "the outputs are staged before the pause"
    );
    killed.kill().unwrap();
    killed.wait().unwrap();
    assert_eq!(
        snapshot(&setup.out),
        before,
        "previous outputs are byte-identical"
    );

    // The next run cleans up and merges with the intact register.
    let next = output_of(&mut setup.run(AS_OF_2));
    assert!(next.status.success(), "{}", stderr_of(&next));
    assert!(
        temporaries(&setup.out).is_empty(),
        "{:?}",
        temporaries(&setup.out)
    );
    let register = Table::read(&setup.out.join("register.csv"));
    assert_eq!(register.rows.len(), 3);
    let row_b = register.row("rule", "privilege-boundary-bypass");
    assert_eq!(row_b["runs_seen"], "2");
    assert_eq!(row_b["first_seen"], AS_OF_1);
}

#[test]
fn exit_codes_follow_fail_on() {
    let setup = Setup::new(&[FAULT_B]);

    let plain = output_of(&mut setup.run(AS_OF_1));
    assert_eq!(plain.status.code(), Some(0), "{}", stderr_of(&plain));

    let failing = output_of(setup.run(AS_OF_1).args(["--fail-on", "high"]));
    assert_eq!(failing.status.code(), Some(1), "{}", stderr_of(&failing));

    let exceptions = setup.exceptions(
        "EXC-1,privilege-boundary-bypass,,key-partner-*,,prod,grc@example.com,,2027-06-01T00:00:00Z,,\n",
    );
    let excepted = output_of(
        setup
            .run(AS_OF_1)
            .args(["--fail-on", "high"])
            .arg("--exceptions")
            .arg(&exceptions),
    );
    assert_eq!(
        excepted.status.code(),
        Some(0),
        "an excepted finding does not count: {}",
        stderr_of(&excepted)
    );

    // Once the exception has expired the finding counts again.
    let expired = output_of(
        setup
            .run("2027-07-01T00:00:00Z")
            .args(["--since", "2026-10-01T00:00:00Z"])
            .args(["--fail-on", "high"])
            .arg("--exceptions")
            .arg(&exceptions),
    );
    assert_eq!(expired.status.code(), Some(1), "{}", stderr_of(&expired));
}

#[test]
fn bad_config_exits_2_and_writes_nothing() {
    let setup = Setup::new(&[FAULT_B]);
    let config = setup.dir.path().join("corroborate.toml");
    std::fs::write(&config, "tests = \"tests.csv\"\ncolour = \"blue\"\n").unwrap();
    let output = output_of(
        Command::new(env!("CARGO_BIN_EXE_corroborate"))
            .arg("run")
            .arg("--config")
            .arg(&config)
            .arg("--out")
            .arg(&setup.out),
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    assert!(
        stderr_of(&output).contains("colour"),
        "{}",
        stderr_of(&output)
    );
    assert!(!setup.out.exists(), "nothing is written");
}

#[test]
fn config_file_sets_register_inputs() {
    let setup = Setup::new(&[FAULT_B]);
    setup.exceptions(
        "EXC-1,privilege-boundary-bypass,,key-partner-*,,prod,grc@example.com,,2027-06-01T00:00:00Z,,\n",
    );
    let config = setup.dir.path().join("corroborate.toml");
    std::fs::write(
        &config,
        "tests = \"tests.csv\"\n\
         entitlements = [\"entitlements.csv\"]\n\
         exceptions = \"exceptions.csv\"\n\
         owners = \"owners.csv\"\n\
         rules = \"rules\"\n\
         out = \"out\"\n\
         as_of = \"2026-11-30T00:00:00Z\"\n\
         fail_on = \"high\"\n",
    )
    .unwrap();
    let output = output_of(
        Command::new(env!("CARGO_BIN_EXE_corroborate"))
            .arg("run")
            .arg("--config")
            .arg(&config),
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let register = Table::read(&setup.out.join("register.csv"));
    assert_eq!(register.rows[0]["status"], "excepted");
    assert!(
        stderr_of(&output).contains("register: 1 new"),
        "the summary reports the run delta: {}",
        stderr_of(&output)
    );
}

#[test]
fn malformed_register_exits_2_and_keeps_outputs() {
    let setup = Setup::new(&[FAULT_B]);
    assert!(output_of(&mut setup.run(AS_OF_1)).status.success());
    let register = setup.out.join("register.csv");
    let text = std::fs::read_to_string(&register)
        .unwrap()
        .replacen(",open,", ",opened,", 1);
    std::fs::write(&register, &text).unwrap();
    let before = snapshot(&setup.out);

    let output = output_of(&mut setup.run(AS_OF_2));
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    let message = stderr_of(&output);
    assert!(message.contains("register.csv"), "{message}");
    assert!(message.contains("line 2"), "{message}");
    assert!(message.contains("unknown status `opened`"), "{message}");
    assert_eq!(snapshot(&setup.out), before);
}

#[test]
fn quiet_run_prints_nothing() {
    let setup = Setup::new(&[FAULT_B]);
    let output = output_of(setup.run(AS_OF_1).arg("--quiet"));
    assert!(output.status.success());
    assert_eq!(stderr_of(&output), "");
}

#[test]
fn cron_run_logs_one_line_per_stage() {
    let setup = Setup::new(&[FAULT_B]);
    let output = output_of(&mut setup.run(AS_OF_1));
    assert!(output.status.success());
    let log = stderr_of(&output);
    for stage in ["entitlements:", "tests:", "detect:", "register:", "write:"] {
        assert!(
            log.lines().any(|line| line.contains(stage)),
            "no `{stage}` line in:\n{log}"
        );
    }
    assert!(
        !log.contains('\r') && !log.contains('\u{1b}'),
        "no progress bar or colour when stderr is not a terminal:\n{log:?}"
    );
}

#[test]
fn explain_prints_register_history() {
    let setup = Setup::new(&[FAULT_B]);
    assert!(output_of(&mut setup.run(AS_OF_1)).status.success());
    assert!(output_of(&mut setup.run(AS_OF_2)).status.success());
    let register = Table::read(&setup.out.join("register.csv"));
    let id = register.rows[0]["finding_id"].clone();
    let output = output_of(
        Command::new(env!("CARGO_BIN_EXE_corroborate"))
            .args(["explain", &id, "--out"])
            .arg(&setup.out)
            .arg("--rules")
            .arg(&setup.rules),
    );
    assert!(output.status.success(), "{}", stderr_of(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    for expected in [
        id.as_str(),
        "privilege-boundary-bypass",
        "Evidence:",
        "ord-delete-partner-1",
        "Register history",
        "runs seen: 2",
        "first seen: 2026-11-30T00:00:00Z",
        "What it detects:",
    ] {
        assert!(text.contains(expected), "no `{expected}` in:\n{text}");
    }

    let missing = output_of(
        Command::new(env!("CARGO_BIN_EXE_corroborate"))
            .args(["explain", "pbb-0000000000000000", "--out"])
            .arg(&setup.out),
    );
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr_of(&missing).contains("not found"),
        "{}",
        stderr_of(&missing)
    );
}

#[test]
fn validate_reports_exception_rejects_and_writes_nothing() {
    let setup = Setup::new(&[FAULT_B]);
    let exceptions = setup.exceptions("EXC-1,privilege-boundary-bypass,,,,,grc@example.com,,,,\n");
    let output = output_of(
        Command::new(env!("CARGO_BIN_EXE_corroborate"))
            .arg("validate")
            .arg("--exceptions")
            .arg(&exceptions)
            .arg("--rules")
            .arg(&setup.rules),
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr_of(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("exceptions"), "{text}");
    assert!(text.contains("without an expiry is not accepted"), "{text}");
    assert!(!setup.out.exists());
}
