//! The `mailrig` binary as users run it: exit codes, messages, and files it rewrites.

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

const VALID: &str = "name: noop\nsessions: a=imap\nplays: client\n\nC: A1 NOOP\nS: A1 OK ${_}\n";

fn mailrig() -> Command {
    Command::new(assert_cmd::cargo::cargo_bin!("mailrig"))
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).expect("write temp file");
    path
}

#[test]
fn check_accepts_a_valid_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "ok.scenario", VALID);
    mailrig()
        .arg("check")
        .arg(&file)
        .assert()
        .success()
        .stdout(predicate::str::contains("1 valid, 0 invalid"));
}

#[test]
fn check_reports_position_caret_and_hint_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "bad.scenario",
        "name: t\nsessions: a=imap\nplays: client\n\nC: A1 NOOP\n@starttl\n",
    );
    let assert = mailrig().arg("check").arg(&file).assert().code(1);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains("bad.scenario:6:1"), "{stderr}");
    assert!(stderr.contains("6 | @starttl"), "{stderr}");
    assert!(stderr.contains("^^^^^^^^ expected one of"), "{stderr}");
    assert!(stderr.contains("did you mean `@starttls`?"), "{stderr}");
}

#[test]
fn check_walks_directories_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("sub")).unwrap();
    write(dir.path(), "a.scenario", VALID);
    write(&dir.path().join("sub"), "b.scenario", "name: b\n");
    write(dir.path(), "notes.txt", "not a scenario");
    mailrig()
        .arg("check")
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "checked 2 scenario(s): 1 valid, 1 invalid",
        ));
}

#[test]
fn check_reports_a_missing_literal_file() {
    let dir = tempfile::tempdir().unwrap();
    let text = "name: t\nsessions: a=imap\nplays: client\n\nC: A1 APPEND INBOX {{{file:missing.eml}}}\nS: A1 OK ${_}\n";
    let file = write(dir.path(), "lit.scenario", text);
    mailrig()
        .arg("check")
        .arg(&file)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("lit.scenario:5:1").and(predicate::str::contains("missing.eml")));
    write(dir.path(), "missing.eml", "Subject: x\r\n\r\nhi\r\n");
    mailrig().arg("check").arg(&file).assert().success();
}

#[test]
fn check_reports_a_missing_fixture() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "f.scenario",
        "name: t\nsessions: a=imap\nfixture: store.toml\nplays: client\n\nC: A1 NOOP\n",
    );
    mailrig()
        .arg("check")
        .arg(&file)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("f.scenario:3:"));
}

#[test]
fn usage_and_io_errors_exit_2() {
    mailrig()
        .arg("check")
        .arg("/nonexistent/x.scenario")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read"));
    let empty = tempfile::tempdir().unwrap();
    mailrig()
        .arg("check")
        .arg(empty.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no .scenario files"));
    mailrig().arg("check").assert().code(2);
    mailrig().arg("frobnicate").assert().code(2);
}

#[test]
fn fmt_check_then_fmt_rewrites_canonically_and_keeps_comments() {
    let dir = tempfile::tempdir().unwrap();
    let messy = "# why this exists\ntags: x\nname: t\nsessions: a=imap\nplays: client\n\n\n\n# step one\nC: A1 NOOP \nS:  A1 OK ${_}\n\n";
    let file = write(dir.path(), "m.scenario", messy);
    mailrig()
        .args(["fmt", "--check"])
        .arg(&file)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("not formatted"));
    assert_eq!(
        fs::read_to_string(&file).unwrap(),
        messy,
        "--check must not write"
    );
    mailrig().arg("fmt").arg(&file).assert().success();
    let formatted = fs::read_to_string(&file).unwrap();
    assert_eq!(
        formatted,
        "# why this exists\nname: t\nsessions: a=imap\ntags: x\nplays: client\n\n# step one\nC: A1 NOOP${\\x20}\nS:  A1 OK ${_}\n"
    );
    mailrig().args(["fmt", "--check"]).arg(&file).assert().success();
}

#[test]
fn fmt_refuses_invalid_files_without_touching_them() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "bad.scenario", "name: t\n\nC: x\n");
    mailrig()
        .arg("fmt")
        .arg(&file)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no `sessions:`"));
    assert_eq!(fs::read_to_string(&file).unwrap(), "name: t\n\nC: x\n");
}

#[test]
fn help_lists_every_command() {
    mailrig().arg("--help").assert().success().stdout(
        predicate::str::contains("check")
            .and(predicate::str::contains("fmt"))
            .and(predicate::str::contains("Exit codes")),
    );
    mailrig()
        .args(["check", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("file:line:col"));
}

#[test]
fn shipped_scenarios_are_valid_and_canonical() {
    let scenarios = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    mailrig()
        .arg("check")
        .arg("--quiet")
        .arg(&scenarios)
        .assert()
        .success();
    mailrig()
        .args(["fmt", "--check"])
        .arg(&scenarios)
        .assert()
        .success();
}
