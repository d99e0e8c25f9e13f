//! `mailrig fuzz` end to end with real clients as subprocesses (curl and Python's imaplib,
//! legal variations only, a bounded number of cases, fixed seeds): a finding in a client is
//! a result (exit 1, with the shrunk scenario written and a repro line), a harness error or a
//! crash of mailrig fails the test. The seed is printed on every run.

use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;

fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// Runs `mailrig fuzz` for `profile`'s fetch flow and returns (exit code, stdout).
fn fuzz(profile: &str, seed: &str, out: &Path) -> (i32, String) {
    let output = Command::new(assert_cmd::cargo::cargo_bin!("mailrig"))
        .current_dir(workspace())
        .args([
            "fuzz",
            "--client",
            profile,
            "--flow",
            "fetch",
            "--legal-only",
            "--cases",
            "30",
        ])
        .args(["--seed", seed, "--shrink-time", "20s", "--out"])
        .arg(out)
        .timeout(Duration::from_secs(240))
        .output()
        .expect("mailrig fuzz runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let code = output.status.code().unwrap_or(-1);
    println!("{stdout}{stderr}");
    assert!(
        code == 0 || code == 1,
        "mailrig fuzz failed (exit {code}): {stderr}"
    );
    assert!(stdout.contains(&format!("seed {seed}")), "the seed is printed");
    if code == 1 {
        let file = out.join(format!("fuzz-failure-{seed}.scenario"));
        assert!(file.exists(), "the shrunk case is written");
        assert!(
            stdout.contains("repro: mailrig run --client"),
            "a repro line is printed"
        );
        let check = Command::new(assert_cmd::cargo::cargo_bin!("mailrig"))
            .arg("check")
            .arg(&file)
            .output()
            .expect("check");
        assert!(check.status.success(), "the written case is a valid scenario");
    }
    (code, stdout)
}

#[test]
fn curl_fetch_legal_variations() {
    let out = tempfile::tempdir().expect("tempdir");
    fuzz("fixtures/clients/curl.toml", "20261204", out.path());
}

#[test]
fn imaplib_fetch_legal_variations() {
    let out = tempfile::tempdir().expect("tempdir");
    fuzz("fixtures/clients/python-imaplib.toml", "20261204", out.path());
}

/// A client that does not follow the canonical scenario cannot be fuzzed with it: a usage
/// error (exit 2), never a finding.
#[test]
fn a_canonical_the_client_does_not_follow_is_a_usage_error() {
    let output = Command::new(assert_cmd::cargo::cargo_bin!("mailrig"))
        .current_dir(workspace())
        .args([
            "fuzz",
            "--client",
            "fixtures/clients/curl.toml",
            "--flow",
            "fetch",
            "--cases",
            "3",
        ])
        .args([
            "--scenario",
            "fixtures/clients/fuzz/python-imaplib-fetch.scenario",
        ])
        .timeout(Duration::from_secs(120))
        .output()
        .expect("mailrig fuzz runs");
    assert_eq!(
        output.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("does not follow the canonical scenario"));
}

/// Runs `mailrig fuzz` on a `split_send.py` profile (`tests/fuzz_clients/split/`), legal only,
/// with its canonical, whose message body lines are holes; returns (exit code, stdout).
fn fuzz_split(profile: &str, out: &Path) -> (i32, String) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_clients/split");
    let output = Command::new(assert_cmd::cargo::cargo_bin!("mailrig"))
        .args([
            "fuzz",
            "--flow",
            "send",
            "--legal-only",
            "--cases",
            "30",
            "--seed",
            "5",
        ])
        .arg("--client")
        .arg(dir.join(profile))
        .arg("--scenario")
        .arg(dir.join("fuzz/send.scenario"))
        .arg("--out")
        .arg(out)
        .timeout(Duration::from_secs(240))
        .output()
        .expect("mailrig fuzz runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    println!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
    (output.status.code().unwrap_or(-1), stdout)
}

/// The store judge: a client that sends its message's last line one byte short after a split
/// reply follows the script (the body lines are holes) and exits 0, yet stored another
/// message than under the canonical, and that is the finding; without the bug, no finding.
/// The written file pins the message's lines to what the client sent under the canonical, so
/// the printed repro command fails at the line that differs, and the correct client passes
/// the same file.
#[test]
fn the_store_judge_finds_a_message_changed_by_a_split_reply() {
    let out = tempfile::tempdir().expect("tempdir");
    let (code, stdout) = fuzz_split("split-truncate.toml", out.path());
    assert_eq!(code, 1, "a finding");
    assert!(
        stdout.contains("the client stored something else: message 1 differs")
            && stdout.contains("line 4: canonical \"last line\", this case \"last lin\""),
        "{stdout}"
    );
    assert!(stdout.contains("write boundary"), "found by a split: {stdout}");
    let file = out.path().join("fuzz-failure-5.scenario");
    let text = std::fs::read_to_string(&file).expect("the case is written");
    assert!(
        text.contains("\nC=: last line\n"),
        "the message is pinned:\n{text}"
    );
    let (code, output) = repro(&stdout, "split-truncate.toml");
    assert_ne!(code, 0, "the repro line reproduces the store finding:\n{output}");
    assert!(
        output.contains("C=: last line") && output.contains("received: last lin"),
        "the repro shows the differing line:\n{output}"
    );
    let (code, output) = repro(&stdout, "split-correct.toml");
    assert_eq!(code, 0, "the correct client passes the same file:\n{output}");
    let (code, _) = fuzz_split("split-correct.toml", out.path());
    assert_eq!(code, 0, "the same client without the bug passes");
}

/// Runs the printed repro line (`repro: mailrig run ...`) as a subprocess from the split
/// client's directory, with `profile` as its `--client`; returns (exit code, its output).
fn repro(stdout: &str, profile: &str) -> (i32, String) {
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("repro: mailrig "))
        .expect("a repro line");
    let mut args: Vec<&str> = line.split(' ').collect();
    let client = args.iter().position(|a| *a == "--client").expect("--client") + 1;
    args[client] = profile;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_clients/split");
    let output = Command::new(assert_cmd::cargo::cargo_bin!("mailrig"))
        .current_dir(dir)
        .args(&args)
        .timeout(Duration::from_secs(120))
        .output()
        .expect("the repro runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap_or(-1), text)
}
