//! `mailrig run --client PROFILE` end to end: a passing profile with its JSON and JUnit
//! reports, a broken client's diff and exit code 1, a ledger that knows the failure, and the
//! usage errors (exit 2): a profile mistake shown at its position, a flow the profile lacks.

use std::fs;
use std::path::{Path, PathBuf};

use predicates::prelude::*;

// Only `mailrig()` is used here; the other helpers serve the other test binaries.
#[allow(dead_code)]
mod common;

use common::mailrig;

fn profile(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../fixtures/clients/{name}.toml"))
}

#[test]
fn a_passing_profile_reports_one_result_per_flow_and_mode() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (json, junit) = (dir.path().join("r.json"), dir.path().join("r.xml"));
    mailrig()
        .args(["run", "--client"])
        .arg(profile("curl"))
        .args(["--flow", "send", "--tls", "starttls", "--tls", "tls", "--json"])
        .arg(&json)
        .arg("--junit")
        .arg(&junit)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("PASS  ").and(predicate::str::contains("(curl-send-starttls, ")))
        .stdout(predicate::str::contains("ran 2 client flow(s) in "))
        .stdout(predicate::str::contains("2 passed, 0 failed, 0 skipped"));
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&json).expect("json")).expect("JSON");
    let names: Vec<&str> = report["scenarios"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["curl-send-starttls", "curl-send-tls"]);
    let xml = fs::read_to_string(&junit).expect("junit");
    assert!(xml.contains("tests=\"2\" failures=\"0\""), "{xml}");
}

#[test]
fn a_broken_client_fails_with_what_it_did_wrong_unless_a_ledger_knows_it() {
    mailrig()
        .args(["run", "--client"])
        .arg(profile("broken-no-dot-stuffing"))
        .assert()
        .code(1)
        .stdout(predicate::str::contains("FAIL  "))
        .stdout(predicate::str::contains("check `dot-stuffing` failed"));
    let dir = tempfile::tempdir().expect("temp dir");
    let ledger = dir.path().join("ledger.toml");
    fs::write(
        &ledger,
        "[[known-failure]]\nscenario = \"broken-no-dot-stuffing-send-starttls\"\nreason = \"no dot-stuffing\"\nrfc = \"RFC 5321 §4.5.2\"\n",
    )
    .expect("write");
    mailrig()
        .args(["run", "--client"])
        .arg(profile("broken-no-dot-stuffing"))
        .arg("--ledger")
        .arg(&ledger)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("KNOWN").and(predicate::str::contains("1 known failures")));
}

#[test]
fn profile_mistakes_and_missing_flows_are_usage_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = dir.path().join("bad.toml");
    fs::write(
        &bad,
        "tls = [\"none\"]\n[flows.send]\ncommand = [\"curl\", \"{smtp_ulr}\"]\n",
    )
    .expect("write");
    mailrig()
        .args(["run", "--client"])
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "bad.toml:3:21: unknown placeholder `{smtp_ulr}`",
        ));
    mailrig()
        .args(["run", "--client"])
        .arg(profile("curl"))
        .args(["--flow", "sync"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("has no `sync` flow"));
    mailrig()
        .args(["run", "--flow", "send"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--client"));
}

#[test]
fn a_client_program_that_cannot_start_is_a_harness_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("missing.toml");
    fs::write(
        &missing,
        "tls = [\"none\"]\n[flows.send]\ncommand = [\"mailrig-no-such-client\"]\n",
    )
    .expect("write");
    mailrig()
        .args(["run", "--client"])
        .arg(&missing)
        .assert()
        .code(2)
        .stdout(
            predicate::str::contains("ERROR")
                .and(predicate::str::contains("cannot run `mailrig-no-such-client`")),
        );
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

#[test]
fn a_flow_runs_against_a_replay_and_a_scenario_that_cannot_serve_it_is_a_usage_error() {
    mailrig()
        .args(["run", "--client"])
        .arg(profile("curl"))
        .args(["--flow", "send", "--replay"])
        .arg(repo("tests/replay/curl-smtp-send.scenario"))
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "(curl-send-starttls@replay-curl-smtp-send, ",
        ))
        .stdout(predicate::str::contains("1 passed, 0 failed, 0 skipped"));
    mailrig()
        .args(["run", "--client"])
        .arg(profile("curl"))
        .args(["--flow", "send", "--tls", "tls", "--replay"])
        .arg(repo("tests/replay/curl-smtp-send.scenario"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "has no `smtps` session, which the `send` flow needs in TLS mode `tls`",
        ));
    mailrig()
        .args(["run", "--client"])
        .arg(profile("curl"))
        .arg("--replay")
        .arg(repo("scenarios/smtp/auth.scenario"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("declares `plays: client`"));
}

#[test]
fn a_fault_on_a_replay_changes_the_clients_outcome() {
    // The same flow and replay as above, with a rule on the replay's reply to RCPT: curl hears
    // 550, says QUIT instead of DATA, and the flow fails at the script's `C: DATA`. (Against
    // a replay the verdict is what the client sent, not its exit status: a rule on the reply
    // to the final dot makes curl exit 8 but the QUIT after it still follows the script.)
    mailrig()
        .args(["run", "--client"])
        .arg(profile("curl"))
        .args(["--flow", "send", "--replay"])
        .arg(repo("tests/replay/curl-smtp-send.scenario"))
        .args(["--fault", "rcpt: reply 550 5.1.1 no such user"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "fault: RCPT: reply 550 5.1.1 no such user",
        ))
        .stdout(predicate::str::contains("- C: DATA").and(predicate::str::contains("+ C: QUIT")))
        .stdout(predicate::str::contains("0 passed, 1 failed, 0 skipped"));
}
