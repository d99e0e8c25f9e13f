//! `mailrig run` end to end: the shipped suite against mailrig's own servers, a failing
//! scenario with its diff, JUnit and artifacts, ledgers both ways, a `mailrig serve` as the
//! server under test over real sockets, skips with reasons, harness errors (exit 2), the
//! mailbox each scenario gets and the fixture it loads over IMAP, and merged reports.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

mod common;

use common::mailrig;

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

/// The shipped client-side scenarios (`scenarios/client/`, `plays: server`): `mailrig run`
/// skips them, since it tests servers.
fn client_side_count() -> usize {
    fs::read_dir(workspace().join("scenarios/client"))
        .expect("readable")
        .filter(|e| {
            e.as_ref()
                .expect("entry")
                .path()
                .extension()
                .is_some_and(|x| x == "scenario")
        })
        .count()
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
    // The scenarios for testing clients (`plays: server`) are left out of a directory.
    let total = shipped_count() - client_side_count();
    assert!(client_side_count() > 0);
    assert!(
        out.contains(&format!("ran {total} scenario(s)"))
            && out.contains(&format!(": {total} passed, 0 failed, 0 skipped")),
        "{out}"
    );
    assert!(!out.contains("scenarios/client/"), "{out}");
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

/// `mailrig serve` on free ports, with its ready file read; `plaintext_auth` allows LOGIN and
/// AUTH before TLS (as scenarios that log in over plain `imap` sessions need).
struct Served {
    child: std::process::Child,
    info: serde_json::Value,
    _dir: tempfile::TempDir,
}

impl Served {
    fn start(plaintext_auth: bool) -> Served {
        let dir = tempfile::tempdir().unwrap();
        let mut args = vec![
            "--smtp",
            "127.0.0.1:0",
            "--submission",
            "127.0.0.1:0",
            "--smtps",
            "127.0.0.1:0",
        ];
        args.extend(["--imap", "127.0.0.1:0", "--imaps", "127.0.0.1:0"]);
        if plaintext_auth {
            args.push("--allow-plaintext-auth");
        }
        let (child, info) = common::start_serve(&args, dir.path(), false);
        Served {
            child,
            info,
            _dir: dir,
        }
    }

    fn url(&self, scheme: &str, key: &str) -> String {
        format!("{scheme}://{}", self.info[key].as_str().expect("listener"))
    }

    /// `mailrig run` against its IMAP listeners as alice and bob.
    fn run(&self) -> Command {
        let mut cmd = mailrig();
        cmd.args(["run", "--imap", &self.url("imap", "imap")])
            .args(["--imaps", &self.url("imaps", "imaps")])
            .args(["--user", "alice:secret", "--user", "bob:secret"])
            .arg("--ca")
            .arg(self.info["ca"].as_str().expect("a CA file"));
        cmd
    }

    /// The mailboxes of `login` named `mailrig-*`, as LIST lines.
    fn leftovers(&self, login: &str) -> Vec<String> {
        imap_exchange(
            self.info["imap"].as_str().expect("imap listener"),
            &format!("a LOGIN {login} secret\r\nb LIST \"\" \"mailrig-*\"\r\nc LSUB \"\" \"mailrig-*\"\r\nd LOGOUT\r\n"),
            "d OK",
        )
        .lines()
        .filter(|l| l.starts_with("* LIST") || l.starts_with("* LSUB"))
        .map(str::to_owned)
        .collect()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// Sends `commands` to the IMAP server at `addr` and reads until a line starts with `until`.
fn imap_exchange(addr: &str, commands: &str, until: &str) -> String {
    use std::io::{BufRead, BufReader, Write};
    let stream = std::net::TcpStream::connect(addr).expect("connects");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stream);
    reader.get_mut().write_all(commands.as_bytes()).unwrap();
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line).expect("an answer within 10 s");
        seen.push_str(&line);
        if n == 0 || line.starts_with(until) {
            return seen;
        }
    }
}

#[test]
fn a_served_mailrig_is_a_server_under_test_and_missing_targets_skip_with_the_reason() {
    let served = Served::start(false);
    let assert = mailrig()
        .current_dir(workspace())
        .args(["run", "scenarios/smtp", "--smtp", &served.url("smtp", "smtp")])
        .args(["--submission", &served.url("smtp", "submission")])
        .args([
            "--user",
            "alice:secret:alice@example.test",
            "--user",
            "bob:secret:bob@example.test",
        ])
        .arg("--ca")
        .arg(served.info["ca"].as_str().expect("a CA file"))
        .assert();
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

/// Selects `${mailbox}` without creating it (so it passes only if the runner did), and leaves
/// a child and a grandchild behind.
const USES_MAILBOX: &str = "name: uses-mailbox\nsessions: a=imap\nplays: client\n\n\
S: * OK ${_}\nC: A1 LOGIN ${user} ${password}\nS: A1 OK ${_}\n\
C: A2 SELECT ${mailbox}\nS: * 0 EXISTS\nS: A2 OK ${_}\n\
C: A3 CREATE ${mailbox}-left/behind\nS: A3 OK ${_}\n\
C: A4 SUBSCRIBE ${mailbox}-left\nS: A4 OK ${_}\n";

/// Leaves a mailbox behind and then fails.
const FAILS_LEAVING: &str = "name: fails-leaving\nsessions: a=imap\nplays: client\n\n\
S: * OK ${_}\nC: A1 LOGIN ${user} ${password}\nS: A1 OK ${_}\n\
C: A2 CREATE ${mailbox}-x\nS: A2 OK ${_}\nC: A3 NOOP\nS: A3 NO ${_}\n";

#[test]
fn each_scenario_gets_its_mailbox_created_before_and_removed_after_with_its_leftovers() {
    let served = Served::start(true);
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("uses.scenario"), USES_MAILBOX).unwrap();
    fs::write(dir.path().join("fails.scenario"), FAILS_LEAVING).unwrap();
    let assert = served.run().arg(dir.path()).assert().code(1);
    let out = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(out.contains("PASS  ") && out.contains("(uses-mailbox"), "{out}");
    assert!(out.contains("FAIL  ") && out.contains("(fails-leaving"), "{out}");
    assert!(!out.contains("WARN"), "{out}");
    assert_eq!(served.leftovers("alice"), Vec::<String>::new());
    // Without the runner's mailbox the same scenario fails: SELECT of a missing mailbox.
    let bare = USES_MAILBOX.replace("${mailbox}", "never-created");
    fs::write(dir.path().join("uses.scenario"), bare).unwrap();
    fs::remove_file(dir.path().join("fails.scenario")).unwrap();
    served
        .run()
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("A2 NO"));
}

#[test]
fn a_login_the_target_refuses_is_an_error_that_hides_the_password() {
    let served = Served::start(true);
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("uses.scenario"), USES_MAILBOX).unwrap();
    mailrig()
        .args([
            "run",
            "--imap",
            &served.url("imap", "imap"),
            "--user",
            "alice:not-the-password",
        ])
        .arg("--ca")
        .arg(served.info["ca"].as_str().expect("a CA file"))
        .arg(dir.path())
        .assert()
        .code(2)
        .stdout(
            predicate::str::contains("ERROR")
                .and(predicate::str::contains("preparing mailrig-"))
                .and(predicate::str::contains("LOGIN \"alice\" ***"))
                .and(predicate::str::contains("not-the-password").not()),
        );
}

/// A scripted IMAP server on 127.0.0.1 that answers every command OK except `refuse`
/// (tagged NO); LIST names the mailboxes CREATEd so far. Returns its address.
fn scripted_imap(refuse: &'static str) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let created = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let created = created.clone();
            std::thread::spawn(move || {
                stream
                    .set_read_timeout(Some(std::time::Duration::from_secs(20)))
                    .ok();
                let mut reader = BufReader::new(stream);
                let mut out = reader.get_ref().try_clone().unwrap();
                out.write_all(b"* OK [CAPABILITY IMAP4rev1] scripted\r\n").ok();
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                    let mut words = line.split_whitespace();
                    let tag = words.next().unwrap_or("*").to_owned();
                    let command = words.next().unwrap_or("").to_ascii_uppercase();
                    let arg = words.last().unwrap_or("").trim_matches('"').to_owned();
                    let mut answer = String::new();
                    match command.as_str() {
                        "CREATE" if refuse != "CREATE" => created.lock().unwrap().push(arg),
                        "DELETE" if refuse != "DELETE" => created.lock().unwrap().retain(|n| *n != arg),
                        "LIST" => {
                            for name in created.lock().unwrap().iter() {
                                answer += &format!("* LIST () \"/\" \"{name}\"\r\n");
                            }
                        }
                        "LOGOUT" => answer += "* BYE bye\r\n",
                        _ => {}
                    }
                    let verdict = if command == refuse {
                        "NO refused"
                    } else {
                        "OK done"
                    };
                    answer += &format!("{tag} {verdict}\r\n");
                    out.write_all(answer.as_bytes()).ok();
                    if command == "LOGOUT" {
                        break;
                    }
                    line.clear();
                }
            });
        }
    });
    addr
}

/// Passes against any server that answers OK, and names `${mailbox}`.
const NAMES_MAILBOX: &str = "name: names-mailbox\nsessions: a=imap\nplays: client\n\n\
S: * OK ${_}\nC: A1 NOOP ${mailbox}\nS: A1 OK ${_}\n";

#[test]
fn a_refused_preparation_is_an_error_and_a_failed_clean_up_only_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("names.scenario"), NAMES_MAILBOX).unwrap();
    let run = |addr: String| {
        let mut cmd = mailrig();
        cmd.args([
            "run",
            "--imap",
            &format!("imap://{addr}"),
            "--user",
            "a:b",
            "--insecure",
        ])
        .arg(dir.path());
        cmd
    };
    run(scripted_imap("DELETE")).assert().success().stdout(
        predicate::str::contains("PASS  ")
            .and(predicate::str::contains("WARN  "))
            .and(predicate::str::contains("cleaning up mailrig-"))
            .and(predicate::str::contains("still there: mailrig-")),
    );
    run(scripted_imap("CREATE")).assert().code(2).stdout(
        predicate::str::contains("ERROR ")
            .and(predicate::str::contains("`CREATE \"mailrig-"))
            .and(predicate::str::contains("got `M2 NO refused`")),
    );
    // The control: a server that refuses nothing gives a clean pass.
    run(scripted_imap("NOTHING"))
        .assert()
        .success()
        .stdout(predicate::str::contains("PASS  ").and(predicate::str::contains("WARN").not()));
}

/// Reads the fixture where the runner puts it: alice's INBOX in `${mailbox}`, her
/// `Archive/2026` in `${mailbox}-Archive` + delimiter + `2026`, bob's INBOX in his `${mailbox}`.
const READS_FIXTURE: &str = r#"name: reads-fixture
sessions: a=imap, b=imap
plays: client
fixture: fixture.toml

a S: * OK ${_}
a C: A1 LOGIN ${user} ${password}
a S: A1 OK ${_}
a C: A2 SELECT ${mailbox}
a S: * 2 EXISTS
a S: A2 OK ${_}
a C: A3 FETCH 1:2 (INTERNALDATE BODY.PEEK[HEADER.FIELDS (SUBJECT)])
a S: * 1 FETCH (INTERNALDATE "${_}1-Jan-2026 00:00:00 +0000" BODY[HEADER.FIELDS (SUBJECT)] {{{
Subject: one

}}})
a S: * 2 FETCH (INTERNALDATE "${_}1-Jan-1970 00:00:00 +0000" BODY[HEADER.FIELDS (SUBJECT)] {{{
Subject: two

}}})
a S: A3 OK ${_}
a C: A4 SEARCH SEEN
a S: * SEARCH 1
a S: A4 OK ${_}
a C: A5 LIST "" ""
a S: * LIST (${_}) "${sep:text}" ${_}
a S: A5 OK ${_}
a C: A6 STATUS ${mailbox}-Archive${sep}2026 (MESSAGES)
a S: * STATUS ${_} (MESSAGES 1)
a S: A6 OK ${_}
b S: * OK ${_}
b C: B1 LOGIN ${user2} ${password2}
b S: B1 OK ${_}
b C: B2 SELECT ${mailbox}
b S: * 1 EXISTS
b S: B2 OK ${_}
"#;

const FIXTURE: &str = r#"[[users]]
login = "first"
password = "x"
[[users]]
login = "second"
password = "x"
[[mailboxes]]
user = "first"
name = "Archive/2026"
[[messages]]
user = "first"
raw = "Subject: one\n\nbody\n"
flags = ["\\Seen"]
internal_date = 1767225600
[[messages]]
user = "first"
raw = "Subject: two\n\nbody\n"
[[messages]]
user = "first"
mailbox = "Archive/2026"
raw = "Subject: three\n\nbody\n"
[[messages]]
user = "second"
file = "hello.eml"
"#;

#[test]
fn a_fixture_is_loaded_through_imap_on_a_remote_target_and_on_mailrigs_own_servers() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("reads.scenario"), READS_FIXTURE).unwrap();
    fs::write(dir.path().join("fixture.toml"), FIXTURE).unwrap();
    fs::write(dir.path().join("hello.eml"), "Subject: hello\r\n\r\nhi\r\n").unwrap();
    let served = Served::start(true);
    served
        .run()
        .arg(dir.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("PASS  ").and(predicate::str::contains("WARN").not()));
    assert_eq!(served.leftovers("alice"), Vec::<String>::new());
    assert_eq!(served.leftovers("bob"), Vec::<String>::new());
    mailrig()
        .arg("run")
        .arg(dir.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("1 passed"));
    // The control: without the fixture's second message, the scenario fails.
    let one_less = FIXTURE.replace(
        "raw = \"Subject: two\\n\\nbody\\n\"\n",
        "mailbox = \"Sent\"\nraw = \"x\"\n",
    );
    assert_ne!(one_less, FIXTURE);
    fs::write(dir.path().join("fixture.toml"), one_less).unwrap();
    mailrig()
        .arg("run")
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("1 failed"));
}

#[test]
fn what_a_fixture_needs_that_imap_cannot_carry_is_skipped_and_a_broken_fixture_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("reads.scenario"), READS_FIXTURE).unwrap();
    let hello = dir.path().join("hello.eml");
    let cases = [
        (
            format!(
                "{FIXTURE}[[mailboxes]]\nuser = \"first\"\nname = \"Old\"\nspecial_use = \"\\\\Archive\"\n"
            ),
            "SKIP",
            "does not advertise CREATE-SPECIAL-USE",
        ),
        (
            format!(
                "{FIXTURE}[[users]]\nlogin = \"third\"\npassword = \"x\"\n[[messages]]\nuser = \"third\"\nraw = \"x\"\n"
            ),
            "SKIP",
            "the fixture fills the mailboxes of 3 users but the target has 2 account(s)",
        ),
        (FIXTURE.to_owned(), "ERROR", "cannot read hello.eml"),
    ];
    for (fixture, word, reason) in cases {
        // The last case lacks the message file.
        if word == "ERROR" {
            fs::remove_file(&hello).unwrap();
        } else {
            fs::write(&hello, "Subject: hello\r\n\r\nhi\r\n").unwrap();
        }
        fs::write(dir.path().join("fixture.toml"), fixture).unwrap();
        let assert = mailrig().arg("run").arg(dir.path()).assert();
        let out = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
        assert!(
            out.contains(&format!("{word:<5} ")) && out.contains(reason),
            "{out}"
        );
        let code = if word == "ERROR" { 2 } else { 0 };
        assert_eq!(assert.get_output().status.code(), Some(code), "{out}");
    }
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
    assert_eq!(total, shipped_count() - client_side_count());
}

#[test]
fn shard_reports_merge_into_one_with_junit_and_the_exit_code_of_the_whole_run() {
    let dir = tempfile::tempdir().unwrap();
    let scenarios = dir.path().join("scenarios");
    fs::create_dir(&scenarios).unwrap();
    fs::write(scenarios.join("a-fail.scenario"), FAILING).unwrap();
    fs::write(scenarios.join("b-pass.scenario"), PASSING).unwrap();
    fs::write(
        scenarios.join("c-pass.scenario"),
        PASSING.replace("greets", "greets-too"),
    )
    .unwrap();
    let shard = |k: usize| dir.path().join(format!("shard{k}.json"));
    for k in 1..=2 {
        let assert = mailrig()
            .arg("run")
            .arg(&scenarios)
            .args(["--partition", &format!("{k}/2"), "--json"])
            .arg(shard(k))
            .assert();
        // Shard 1 holds a-fail and c-pass, shard 2 b-pass.
        assert_eq!(
            assert.get_output().status.code(),
            Some(if k == 1 { 1 } else { 0 })
        );
    }
    let merged = dir.path().join("merged.json");
    let junit = dir.path().join("junit.xml");
    mailrig()
        .args(["report", "merge"])
        .arg(shard(1))
        .arg(shard(2))
        .arg("--json")
        .arg(&merged)
        .arg("--junit")
        .arg(&junit)
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains("FAIL  ")
                .and(predicate::str::contains("a-fail.scenario (wants-no)"))
                .and(predicate::str::contains(
                    "merged 2 report(s): 3 scenario(s): 2 passed, 1 failed, 0 skipped",
                )),
        );
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&merged).unwrap()).expect("JSON");
    let verdicts: Vec<&str> = report["scenarios"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|s| s["verdict"].as_str().expect("a verdict"))
        .collect();
    assert_eq!(verdicts, ["fail", "pass", "pass"], "sorted by file");
    let xml = fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testcase ").count(), 3, "{xml}");
    assert!(
        xml.contains("failures=\"1\"") && xml.contains("- S: A1 NO ${_}"),
        "{xml}"
    );
    // The passing shard alone merges to a success.
    mailrig()
        .args(["report", "merge"])
        .arg(shard(2))
        .assert()
        .success();
    // The same shard twice, or something that is not a report, is a usage error.
    mailrig()
        .args(["report", "merge"])
        .arg(shard(2))
        .arg(shard(2))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is in more than one report"));
    fs::write(
        dir.path().join("bad.json"),
        "{\"scenarios\": [{\"file\": \"x\"}]}",
    )
    .unwrap();
    mailrig()
        .args(["report", "merge"])
        .arg(dir.path().join("bad.json"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not a `mailrig run --json` report"));
}

#[test]
fn a_scenario_for_testing_clients_named_on_its_own_is_skipped_with_the_reason() {
    let file = workspace().join("scenarios/client/smtp-starttls-missing.scenario");
    let assert = mailrig().args(["run"]).arg(&file).assert().success();
    let out = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(
        out.contains("a scenario for testing clients (`plays: server`); `mailrig run` tests servers"),
        "{out}"
    );
    assert!(out.contains("0 passed, 0 failed, 1 skipped"), "{out}");
}

#[test]
fn a_scenario_with_faults_is_skipped_against_a_remote_server_with_the_reason() {
    let served = Served::start(false);
    let assert = mailrig()
        .current_dir(workspace())
        .args([
            "run",
            "scenarios/faults",
            "--imaps",
            &served.url("imaps", "imaps"),
        ])
        .args(["--user", "alice:secret:alice@example.test"])
        .arg("--ca")
        .arg(served.info["ca"].as_str().expect("a CA file"))
        .assert();
    let out = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert_eq!(assert.get_output().status.code(), Some(0), "{out}");
    assert!(
        out.contains("SKIP  scenarios/faults/append-overquota-stores-nothing.scenario")
            && out.contains("cannot be applied to a remote server"),
        "{out}"
    );
}
