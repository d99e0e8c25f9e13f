//! `mailrig run` end to end: the shipped suite against mailrig's own servers, a failing
//! scenario with its diff, JUnit and artifacts, ledgers both ways, a `mailrig serve` as the
//! server under test over real sockets, skips with reasons, and harness errors (exit 2).

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

fn mailrig() -> Command {
    let mut cmd = assert_cmd::cargo::cargo_bin_cmd!("mailrig");
    cmd.timeout(std::time::Duration::from_secs(120));
    cmd
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn shipped_count() -> usize {
    fn walk(dir: &Path) -> usize {
        fs::read_dir(dir)
            .expect("readable")
            .map(|e| e.expect("entry").path())
            .map(|p| {
                if p.is_dir() {
                    walk(&p)
                } else {
                    usize::from(p.extension().is_some_and(|e| e == "scenario"))
                }
            })
            .sum()
    }
    walk(&workspace().join("scenarios"))
}

/// A scenario mailrig's own IMAP server fails: it answers NOOP with OK, not NO.
const FAILING: &str =
    "name: wants-no\nsessions: a=imap\nplays: client\n\nS: * OK ${_}\nC: A1 NOOP\nS: A1 NO ${_}\n";
/// A scenario it passes.
const PASSING: &str = "name: greets\nsessions: a=imap\nplays: client\n\nS: * OK ${_}\nC: A1 LOGOUT\nS: * BYE ${_}\nS: A1 OK ${_}\n@close server\n";

#[test]
fn with_no_target_the_shipped_suite_passes_against_mailrigs_own_servers() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("junit.xml");
    let json = dir.path().join("report.json");
    let assert = mailrig()
        .current_dir(workspace())
        .args(["run", "-j", "4", "--junit"])
        .arg(&junit)
        .arg("--json")
        .arg(&json)
        .assert()
        .success();
    let out = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    let total = shipped_count();
    assert!(
        out.contains(&format!("ran {total} scenario(s)")) && out.contains(" 0 failed"),
        "{out}"
    );
    let xml = fs::read_to_string(&junit).expect("junit written");
    assert_eq!(xml.matches("<testcase ").count(), total, "{xml}");
    assert!(!xml.contains("<failure"), "{xml}");
    let report: serde_json::Value = serde_json::from_str(&fs::read_to_string(&json).unwrap()).expect("JSON");
    assert_eq!(report["scenarios"].as_array().map(Vec::len), Some(total));
}

#[test]
fn a_failing_scenario_exits_1_with_its_diff_junit_failure_and_transcript() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fail.scenario");
    fs::write(&file, FAILING).unwrap();
    let junit = dir.path().join("junit.xml");
    let artifacts = dir.path().join("artifacts");
    mailrig()
        .arg("run")
        .arg(&file)
        .arg("--junit")
        .arg(&junit)
        .arg("--artifacts")
        .arg(&artifacts)
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains("FAIL")
                .and(predicate::str::contains("- S: A1 NO ${_}"))
                .and(predicate::str::contains("+ S: A1 OK"))
                .and(predicate::str::contains("1 failed")),
        );
    let xml = fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("<failure") && xml.contains("A1 NO"), "{xml}");
    let recorded = fs::read_to_string(artifacts.join("wants-no.scenario")).expect("artifact written");
    assert!(
        recorded.contains("C: A1 NOOP") && recorded.contains("S: A1 OK"),
        "{recorded}"
    );
}

#[test]
fn a_ledger_excuses_a_listed_failure_and_fails_a_listed_pass() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("fail.scenario"), FAILING).unwrap();
    fs::write(dir.path().join("pass.scenario"), PASSING).unwrap();
    let ledger = dir.path().join("ledger.toml");
    let entry = |name: &str| {
        format!("[[known-failure]]\nscenario = \"{name}\"\nreason = \"r\"\nrfc = \"RFC 9051 §7.1.4\"\n")
    };
    fs::write(&ledger, entry("wants-no")).unwrap();
    mailrig()
        .arg("run")
        .arg(dir.path())
        .arg("--ledger")
        .arg(&ledger)
        .assert()
        .success()
        .stdout(predicate::str::contains("KNOWN").and(predicate::str::contains("1 known failures")));
    fs::write(&ledger, entry("greets") + &entry("wants-no")).unwrap();
    mailrig()
        .arg("run")
        .arg(dir.path())
        .arg("--ledger")
        .arg(&ledger)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("XPASS").and(predicate::str::contains("remove the entry")));
}

#[test]
fn a_served_mailrig_is_a_server_under_test_and_missing_targets_skip_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready.json");
    let mut serve = std::process::Command::new(assert_cmd::cargo::cargo_bin!("mailrig"))
        .args([
            "serve",
            "--smtp",
            "127.0.0.1:0",
            "--submission",
            "127.0.0.1:0",
            "--smtps",
            "127.0.0.1:0",
        ])
        .args(["--imap", "127.0.0.1:0", "--imaps", "127.0.0.1:0", "--ready-file"])
        .arg(&ready)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("mailrig serve starts");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !ready.exists() {
        assert!(std::time::Instant::now() < deadline, "no ready file within 20 s");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(50));
    let info: serde_json::Value = serde_json::from_str(&fs::read_to_string(&ready).unwrap()).expect("JSON");
    let url = |scheme: &str, key: &str| format!("{scheme}://{}", info[key].as_str().expect("listener"));
    let assert = mailrig()
        .current_dir(workspace())
        .args(["run", "scenarios/smtp", "--smtp", &url("smtp", "smtp")])
        .args(["--submission", &url("smtp", "submission")])
        .args([
            "--user",
            "alice:secret:alice@example.test",
            "--user",
            "bob:secret:bob@example.test",
        ])
        .arg("--ca")
        .arg(info["ca"].as_str().expect("a CA file"))
        .assert();
    serve.kill().ok();
    serve.wait().ok();
    let out = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert_eq!(assert.get_output().status.code(), Some(0), "{out}");
    assert!(out.contains("PASS  scenarios/smtp/starttls.scenario"), "{out}");
    // No --smtps was given: the implicit-TLS scenario is skipped and says why.
    assert!(
        out.contains("SKIP  scenarios/smtp/smtps-submission.scenario")
            && out.contains("no target for `smtps` sessions (give --smtps URL)"),
        "{out}"
    );
}

#[test]
fn an_unreachable_target_or_a_bad_flag_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("pass.scenario"), PASSING).unwrap();
    // Port 1 on loopback: nothing listens there.
    mailrig()
        .arg("run")
        .arg(dir.path())
        .args(["--imap", "imap://127.0.0.1:1", "--user", "a:b", "--insecure"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot reach the imap target"));
    mailrig()
        .arg("run")
        .arg(dir.path())
        .args(["--partition", "3/2"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("K/N"));
    mailrig()
        .arg("run")
        .arg(dir.path())
        .args(["--imap", "smtp://127.0.0.1:143", "--user", "a:b"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("imap:// or imaps://"));
    mailrig()
        .arg("run")
        .arg(dir.path())
        .args(["--imap", "imap://127.0.0.1:143"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--user"));
}

#[test]
fn partitions_split_the_suite_without_overlap() {
    let mut seen = Vec::new();
    for k in 1..=3 {
        let assert = mailrig()
            .current_dir(workspace())
            .args(["run", "--partition", &format!("{k}/3")])
            .assert()
            .success();
        let out = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
        seen.extend(
            out.lines()
                .filter(|l| l.starts_with("PASS") || l.starts_with("SKIP"))
                .map(|l| l.split_whitespace().nth(1).unwrap_or_default().to_owned()),
        );
    }
    let total = seen.len();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), total, "a scenario ran in two shards");
    assert_eq!(total, shipped_count());
}
