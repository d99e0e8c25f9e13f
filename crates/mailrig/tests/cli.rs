//! The `mailrig` binary as users run it: exit codes, messages, and files it rewrites.

use std::fs;
use std::path::Path;

use predicates::prelude::*;

const VALID: &str = "name: noop\nsessions: a=imap\nplays: client\n\nC: A1 NOOP\nS: A1 OK ${_}\n";

mod common;

use common::mailrig;

fn start_serve(args: &[&str], dir: &Path) -> (std::process::Child, serde_json::Value) {
    common::start_serve(args, dir, true)
}

/// `mailrig serve` with only `service` listening (on a free port), plus `extra` arguments.
fn serve_only(service: &str, extra: &[&str], dir: &Path) -> (std::process::Child, serde_json::Value) {
    let mut args = Vec::new();
    for name in ["smtp", "submission", "smtps", "imap", "imaps"] {
        let flag = if name == service { "127.0.0.1:0" } else { "off" };
        args.extend([format!("--{name}"), flag.to_owned()]);
    }
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    args.extend(extra);
    start_serve(&args, dir)
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).expect("write temp file");
    path
}

/// Sends SIGTERM to `child`, as Ctrl-C or a service manager would. Through `sh`'s `kill`
/// builtin: `/bin/kill` (procps) is not on every machine that has a Rust toolchain.
fn terminate(child: &std::process::Child) {
    let status = std::process::Command::new("sh")
        .args(["-c", "kill -TERM \"$1\"", "sh", &child.id().to_string()])
        .status()
        .expect("sh runs");
    assert!(status.success(), "kill -TERM {}", child.id());
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
fn check_reports_every_error_of_a_file() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "three.scenario",
        "name: t\nsessions: a=imap\nrequires: IDLE\nplays: client\n\nC: A1 NOOP\n@starttl\nS:A1 OK\n",
    );
    write(dir.path(), "ok.scenario", VALID);
    let assert = mailrig().arg("check").arg(dir.path()).assert().code(1);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert_eq!(stderr.matches("error: ").count(), 3, "{stderr}");
    for at in ["three.scenario:3:11", "three.scenario:7:1", "three.scenario:8:3"] {
        assert!(stderr.contains(at), "{at} in {stderr}");
    }
    assert!(
        stderr.contains("8 | S:A1 OK\n  |   ^ expected one space"),
        "{stderr}"
    );
    // The summary counts files, not errors.
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(
        stdout.contains("checked 2 scenario(s): 1 valid, 1 invalid"),
        "{stdout}"
    );
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

/// A scenario naming `store.toml` as its fixture, in a fresh directory.
fn scenario_with_fixture() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "f.scenario",
        "name: t\nsessions: a=imap\nfixture: store.toml\nplays: client\n\nC: A1 NOOP\n",
    );
    (dir, file)
}

/// Runs `mailrig check FILE`, expects exit 1 and one error, and returns stderr.
fn check_fails_once(file: &Path) -> String {
    let assert = mailrig().arg("check").arg(file).assert().code(1);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert_eq!(stderr.matches("error: ").count(), 1, "{stderr}");
    stderr
}

#[test]
fn check_reports_a_missing_fixture() {
    let (dir, file) = scenario_with_fixture();
    let stderr = check_fails_once(&file);
    assert!(stderr.contains("error: cannot read the fixture "), "{stderr}");
    assert!(stderr.contains("f.scenario:3:10"), "{stderr}");
    assert!(
        stderr.contains("3 | fixture: store.toml\n  |          ^^^^^^^^^^"),
        "{stderr}"
    );
    write(
        dir.path(),
        "store.toml",
        "[[users]]\nlogin = \"alice\"\npassword = \"secret\"\n",
    );
    mailrig().arg("check").arg(&file).assert().success();
}

#[test]
fn check_reports_a_fixture_toml_error_at_its_line_and_column() {
    let (dir, file) = scenario_with_fixture();
    write(
        dir.path(),
        "store.toml",
        "[[users]]\nlogin = \"alice\"\npassword = secret\n",
    );
    let stderr = check_fails_once(&file);
    assert!(stderr.contains("f.scenario:3:10"), "{stderr}");
    assert!(
        stderr.contains("store.toml:3:12: "),
        "the fixture's own position: {stderr}"
    );
}

#[test]
fn check_reports_an_unknown_fixture_key() {
    let (dir, file) = scenario_with_fixture();
    write(
        dir.path(),
        "store.toml",
        "[[users]]\nlogin = \"alice\"\npasword = \"secret\"\n",
    );
    let stderr = check_fails_once(&file);
    assert!(stderr.contains("f.scenario:3:10"), "{stderr}");
    assert!(
        stderr.contains("store.toml:3:1: unknown field `pasword`"),
        "{stderr}"
    );
}

#[test]
fn check_reports_a_missing_mbox_or_message_file_of_the_fixture() {
    let (dir, file) = scenario_with_fixture();
    let users = "[[users]]\nlogin = \"alice\"\npassword = \"secret\"\n";
    for (source, missing) in [("mbox", "old.mbox"), ("file", "hello.eml")] {
        let fixture = format!("{users}\n[[messages]]\nuser = \"alice\"\n{source} = \"{missing}\"\n");
        write(dir.path(), "store.toml", &fixture);
        let stderr = check_fails_once(&file);
        assert!(stderr.contains("f.scenario:3:10"), "{stderr}");
        assert!(
            stderr.contains(&format!("store.toml: message 0: cannot read {missing}: ")),
            "{stderr}"
        );
        write(dir.path(), missing, "From a@example.test\nSubject: x\n\nhi\n");
        mailrig().arg("check").arg(&file).assert().success();
    }
    // Applied as the servers apply it: an unknown user is an error too.
    write(
        dir.path(),
        "store.toml",
        "[[messages]]\nuser = \"carol\"\nraw = \"x\"\n",
    );
    let stderr = check_fails_once(&file);
    assert!(stderr.contains("message 0: no such user: carol"), "{stderr}");
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
        [
            "run",
            "replay",
            "record",
            "report",
            "check",
            "fmt",
            "serve",
            "bench",
            "Exit codes",
        ]
        .into_iter()
        .fold(predicate::str::contains("mailrig").boxed(), |all, word| {
            all.and(predicate::str::contains(word)).boxed()
        }),
    );
    mailrig()
        .args(["check", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("file:line:col"));
    // Help names only commands that exist.
    for command in [
        "run", "replay", "record", "report", "check", "fmt", "serve", "bench",
    ] {
        let assert = mailrig().args([command, "--help"]).assert().success();
        let help = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
        for missing in ["mailrig fuzz", "--fault"] {
            // Faults exist for serve, run --client and replay.
            if matches!(command, "serve" | "run" | "replay") && missing == "--fault" {
                assert!(help.contains("--fault <RULE>"), "{help}");
                continue;
            }
            assert!(
                !help.contains(missing),
                "`{command} --help` mentions {missing}: {help}"
            );
        }
    }
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

/// Reads one SMTP reply (all its lines).
fn smtp_reply(reader: &mut impl std::io::BufRead) -> String {
    let mut all = String::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("read");
        all.push_str(&line);
        if line.len() < 4 || line.as_bytes()[3] != b'-' {
            return all;
        }
    }
}

#[test]
fn serve_writes_a_ready_file_stores_mail_and_stops_cleanly_on_sigterm() {
    use std::io::{BufReader, Write};

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out_dir = out.to_str().expect("utf-8 temp path");
    let (child, info) = start_serve(
        &[
            "--smtp",
            "127.0.0.1:0",
            "--submission",
            "127.0.0.1:0",
            "--smtps",
            "127.0.0.1:0",
            "--imap",
            "127.0.0.1:0",
            "--imaps",
            "127.0.0.1:0",
            "--user",
            "carol:pw:carol@example.test",
            "--out",
            out_dir,
        ],
        dir.path(),
    );
    for key in ["smtp", "submission", "smtps", "imap", "imaps"] {
        assert!(
            info[key].as_str().is_some_and(|a| a.starts_with("127.0.0.1:")),
            "{key} in {info}"
        );
    }
    let ca = info["ca"].as_str().expect("ca path");
    assert!(
        fs::read_to_string(ca)
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    assert_eq!(info["users"][0]["login"], "carol");
    assert_eq!(info["users"][0]["address"], "carol@example.test");

    let smtp = std::net::TcpStream::connect(info["smtp"].as_str().unwrap()).expect("connect");
    let mut smtp = BufReader::new(smtp);
    assert!(smtp_reply(&mut smtp).starts_with("220 "));
    smtp.get_mut()
        .write_all(b"EHLO t\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<carol@example.test>\r\nDATA\r\n")
        .unwrap();
    for code in ["250", "250", "250", "354"] {
        assert!(smtp_reply(&mut smtp).starts_with(code));
    }
    smtp.get_mut()
        .write_all(b"Subject: cli\r\n\r\nhi\r\n.\r\nQUIT\r\n")
        .unwrap();
    assert!(smtp_reply(&mut smtp).starts_with("250 "));
    assert!(smtp_reply(&mut smtp).starts_with("221 "));

    // A real client too: curl over STARTTLS to the submission port, trusting the printed CA.
    let message = dir.path().join("curl.eml");
    fs::write(&message, b"Subject: curl\r\n\r\nvia submission\r\n").unwrap();
    let submission = info["submission"]
        .as_str()
        .unwrap()
        .replace("127.0.0.1", "localhost");
    let curl = std::process::Command::new("curl")
        .args(["-sS", "--max-time", "30", "--ssl-reqd", "--cacert", ca])
        .args(["--user", "carol:pw", "--url"])
        .arg(format!("smtp://{submission}"))
        .args([
            "--mail-from",
            "carol@example.test",
            "--mail-rcpt",
            "carol@example.test",
            "--upload-file",
        ])
        .arg(&message)
        .output()
        .expect("curl runs (`cargo test` needs curl installed)");
    assert!(curl.status.success(), "{}", String::from_utf8_lossy(&curl.stderr));

    // And read the first message back over IMAP (STARTTLS), as the same user.
    let imap = info["imap"].as_str().unwrap().replace("127.0.0.1", "localhost");
    let curl = std::process::Command::new("curl")
        .args(["-sS", "--max-time", "30", "--ssl-reqd", "--cacert", ca])
        .args(["--user", "carol:pw", "--url"])
        .arg(format!("imap://{imap}/INBOX;UID=1"))
        .output()
        .expect("curl runs");
    assert!(curl.status.success(), "{}", String::from_utf8_lossy(&curl.stderr));
    assert_eq!(curl.stdout, b"Subject: cli\r\n\r\nhi\r\n");

    terminate(&child);
    let output = child.wait_with_output().expect("exits");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("carol / pw"), "credentials are printed: {stdout}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("message accepted"),
        "one log line per message: {stderr}"
    );
    // Connections that end well are logged only at debug (the default level is info).
    assert!(
        !stderr.contains("connected") && !stderr.contains("closed"),
        "no line per connection by default: {stderr}"
    );
    assert_eq!(
        fs::read(out.join("messages/0001.eml")).unwrap(),
        b"Subject: cli\r\n\r\nhi\r\n"
    );
    assert_eq!(
        fs::read(out.join("messages/0002.eml")).unwrap(),
        b"Subject: curl\r\n\r\nvia submission\r\n"
    );
    let submission =
        fs::read_to_string(out.join("transcripts/submission2.scenario")).expect("curl's session");
    assert!(submission.contains("@starttls"), "{submission}");
    // Whatever mechanism curl picks, its SASL responses are redacted (base64 of "carol ..."
    // starts with Y2Fyb2w).
    assert!(
        submission.contains("C: AUTH ") && !submission.contains("Y2Fyb2w"),
        "credentials redacted: {submission}"
    );
    let imap = fs::read_to_string(out.join("transcripts/imap3.scenario")).expect("curl's IMAP session");
    assert!(
        imap.contains("@starttls")
            && imap.contains("C: A004 AUTHENTICATE PLAIN ${_}")
            && !imap.contains("AGNhcm9s"),
        "IMAP session recorded, LOGIN redacted: {imap}"
    );
    let transcript = fs::read_to_string(out.join("transcripts/smtp1.scenario")).expect("transcript written");
    assert!(
        transcript.contains("C: RCPT TO:<carol@example.test>"),
        "{transcript}"
    );
    mailrig()
        .arg("check")
        .arg(out.join("transcripts"))
        .assert()
        .success();
}

#[test]
fn serve_rejects_bad_options_with_exit_2() {
    mailrig()
        .args(["serve", "--user", "nocolons"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("LOGIN:PASSWORD:ADDRESS"));
    mailrig()
        .args(["serve", "--smtp", "off", "--submission", "off", "--smtps", "off"])
        .args(["--imap", "off", "--imaps", "off"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nothing to serve"));
    mailrig()
        .args(["serve", "--fault", "rcpt#2: explode"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "rcpt#2: explode\n        ^ column 9: expected an action",
        ));
    mailrig()
        .args(["serve", "--disable", "teleport"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("teleport"));
    mailrig()
        .args(["serve", "--imap-disable", "teleport"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not an IMAP extension"));
    mailrig()
        .args(["serve", "--imap-version", "rev3"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("expected both, rev1 or rev2"));
}

/// `serve`'s help and its refusal of an unknown word list every row of both protocol crates'
/// extension tables, and every row's word is accepted.
#[test]
fn serve_extension_words_come_from_the_tables() {
    let help = mailrig().args(["serve", "--help"]).output().expect("help");
    let help = String::from_utf8_lossy(&help.stdout).replace(char::is_whitespace, "");
    let imap = mailrig()
        .args(["serve", "--imap-disable", "teleport"])
        .output()
        .expect("run");
    let imap = String::from_utf8_lossy(&imap.stderr).into_owned();
    let smtp = mailrig()
        .args(["serve", "--disable", "teleport"])
        .output()
        .expect("run");
    let smtp = String::from_utf8_lossy(&smtp.stderr).into_owned();
    let squeeze = |text: String| text.replace(char::is_whitespace, "");
    let imap_words = mailrig_imap::Extension::names();
    let smtp_words = mailrig::rig::smtp_extension_words();
    assert!(
        help.contains(&squeeze(imap_words.clone())),
        "{imap_words} missing from {help}"
    );
    assert!(
        help.contains(&squeeze(smtp_words.clone())),
        "{smtp_words} missing from {help}"
    );
    assert!(imap.contains(&imap_words), "{imap}");
    assert!(smtp.contains(&smtp_words), "{smtp}");
    for extension in &mailrig_imap::EXTENSIONS {
        assert!(
            imap_words.split(", ").any(|w| w == extension.name),
            "{}",
            extension.name
        );
    }
    for extension in &mailrig_smtp::EXTENSIONS {
        assert!(
            smtp_words.split(", ").any(|w| w == extension.name),
            "{}",
            extension.name
        );
    }
    let mut rig = mailrig::Rig::builder();
    for extension in mailrig_imap::EXTENSIONS.iter() {
        rig = rig.disable_imap(extension.name);
    }
    for extension in mailrig_smtp::EXTENSIONS.iter() {
        rig = rig.disable_smtp(extension.name);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let rig = runtime
        .block_on(rig.start())
        .expect("every table word is accepted");
    drop(rig);
    let unknown = runtime.block_on(mailrig::Rig::builder().disable_imap("teleport").start());
    assert!(matches!(unknown, Err(mailrig::RigError::UnknownImapExtension(w)) if w == "teleport"));
}

#[test]
fn serve_imap_personality_switches_reach_the_greeting() {
    use std::io::BufRead;

    let dir = tempfile::tempdir().unwrap();
    let (mut child, info) = serve_only(
        "imap",
        &[
            "--imap-version",
            "rev2",
            "--imap-disable",
            "idle",
            "--imap-disable",
            "condstore",
        ],
        dir.path(),
    );
    let imap = std::net::TcpStream::connect(info["imap"].as_str().expect("imap listener")).expect("connect");
    let mut greeting = String::new();
    std::io::BufReader::new(imap).read_line(&mut greeting).unwrap();
    child.kill().unwrap();
    let _ = child.wait();
    assert!(greeting.starts_with("* OK [CAPABILITY IMAP4rev2 "), "{greeting}");
    for absent in [" IDLE", " CONDSTORE", "IMAP4rev1", "AUTH=PLAIN"] {
        assert!(!greeting.contains(absent), "{absent} in {greeting}");
    }
    assert!(greeting.contains(" LOGINDISABLED"), "{greeting}");
}

#[test]
fn serve_imap_max_literal_is_advertised_and_enforced() {
    use std::io::{BufRead, Write};

    let dir = tempfile::tempdir().unwrap();
    let (mut child, info) = serve_only(
        "imap",
        &["--allow-plaintext-auth", "--imap-max-literal", "1000"],
        dir.path(),
    );
    let imap = std::net::TcpStream::connect(info["imap"].as_str().expect("imap listener")).expect("connect");
    let mut reader = std::io::BufReader::new(imap.try_clone().unwrap());
    let mut writer = imap;
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.contains(" APPENDLIMIT=1000 "), "{line}");
    writer
        .write_all(b"a LOGIN alice secret\r\nb APPEND INBOX {1001}\r\n")
        .unwrap();
    let mut answers = Vec::new();
    while !answers.iter().any(|l: &String| l.starts_with("b ")) {
        line.clear();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        answers.push(line.clone());
    }
    child.kill().unwrap();
    let _ = child.wait();
    assert!(
        answers.iter().any(|l| l.starts_with("b NO [TOOBIG]")),
        "{answers:?}"
    );
}

/// `serve --imap-quota-storage 1`: GETQUOTA reports the limit, and an APPEND over it is
/// `NO [OVERQUOTA]` (RFC 9208 §4.3).
#[test]
fn serve_imap_quota_is_reported_and_enforced() {
    use std::io::{BufRead, Write};

    let dir = tempfile::tempdir().unwrap();
    let (mut child, info) = serve_only(
        "imap",
        &["--allow-plaintext-auth", "--imap-quota-storage", "1"],
        dir.path(),
    );
    let mut imap =
        std::net::TcpStream::connect(info["imap"].as_str().expect("imap listener")).expect("connect");
    let message = format!("Subject: big\r\n\r\n{}\r\n", "x".repeat(2000));
    let input = format!(
        "a LOGIN alice secret\r\nb GETQUOTA \"\"\r\nc APPEND INBOX {{{}+}}\r\n{message}\r\nd LOGOUT\r\n",
        message.len()
    );
    imap.write_all(input.as_bytes()).unwrap();
    let lines: Vec<String> = std::io::BufReader::new(imap)
        .lines()
        .map_while(Result::ok)
        .collect();
    child.kill().unwrap();
    let _ = child.wait();
    let text = lines.join("\n");
    assert!(text.contains("* QUOTA \"\" (STORAGE 0 1)"), "{text}");
    assert!(text.contains("c NO [OVERQUOTA] "), "{text}");
}

#[test]
fn serve_with_a_fixture_uses_the_fixture_users() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/stores/basic.toml");
    let fixture = fixture.to_str().expect("utf-8 path");
    let (child, info) = serve_only("smtp", &["--fixture", fixture], dir.path());
    let logins: Vec<&str> = info["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["login"].as_str().unwrap())
        .collect();
    assert_eq!(logins, ["alice", "bob"]);
    terminate(&child);
    let output = child.wait_with_output().expect("exits");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The SMTP server's answer to QUIT, from a `mailrig serve` started with `extra` arguments.
fn quit_reply(extra: &[&str]) -> String {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["--no-tls"];
    args.extend(extra);
    let (mut child, info) = serve_only("smtp", &args, dir.path());
    let mut smtp = std::net::TcpStream::connect(info["smtp"].as_str().expect("smtp listener")).unwrap();
    smtp.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut greeting = [0u8; 512];
    let _ = smtp.read(&mut greeting).unwrap();
    smtp.write_all(b"QUIT\r\n").unwrap();
    let mut reply = String::new();
    let _ = smtp.read_to_string(&mut reply);
    child.kill().ok();
    child.wait().ok();
    reply
}

#[test]
fn serve_starts_with_a_deliberate_defect_and_refuses_unknown_ones() {
    assert!(quit_reply(&[]).starts_with("221"), "the control gets 221");
    let broken = quit_reply(&["--defect", "quit-without-221"]);
    assert!(!broken.contains("221"), "{broken:?}");
    mailrig()
        .args(["serve", "--defect", "no-such-defect"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--defect no-such-defect: not a defect"));
}

#[test]
fn serve_reports_a_bad_import_once_and_exits_2() {
    let missing = tempfile::tempdir().unwrap().path().join("no-such-maildir");
    let assert = mailrig()
        .args(["serve", "--import", &format!("alice:{}", missing.display())])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains("cannot read "), "{stderr}");
    assert!(stderr.contains("no-such-maildir"), "{stderr}");
    assert_eq!(
        stderr.matches("No such file").count(),
        1,
        "the cause once: {stderr}"
    );
    mailrig()
        .args(["serve", "--import", "alice"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--import alice: expected LOGIN:PATH"));
}

#[test]
fn bench_smtp_stores_every_message_it_reports() {
    let assert = mailrig()
        .args([
            "bench",
            "smtp",
            "--sessions",
            "2",
            "--messages",
            "20",
            "--size",
            "300",
            "--idle",
            "3",
        ])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(
        stdout.contains("throughput: 20 messages of 300 bytes over 2 sessions"),
        "{stdout}"
    );
    assert!(stdout.contains("stored: 20 of 20 accepted messages"), "{stdout}");
    assert!(stdout.contains("idle connections: 3 open"), "{stdout}");
}

#[test]
fn bench_imap_runs_its_mix_and_the_idle_measurement() {
    let assert = mailrig()
        .args([
            "bench",
            "imap",
            "--sessions",
            "2",
            "--commands",
            "60",
            "--idle",
            "3",
        ])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    // 12 rounds of 5 commands, plus LOGIN, SELECT (once per connection) and LOGOUT on each
    // of the 2 connections.
    assert!(stdout.contains("throughput: 66 tagged OK"), "{stdout}");
    assert!(
        stdout.contains("idle: 3 connections logged in with INBOX selected"),
        "{stdout}"
    );
}

#[test]
fn bench_names_a_target_it_cannot_reach() {
    // Port 1 on loopback: nothing listens there on a test machine.
    for protocol in ["smtp", "imap"] {
        mailrig()
            .args(["bench", protocol, "--target", "127.0.0.1:1", "--idle", "0"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("cannot connect to 127.0.0.1:1"));
    }
}

#[test]
fn serve_applies_fault_rules() {
    use std::io::Read;

    let dir = tempfile::tempdir().unwrap();
    let args = ["--fault", "connect: reply 421 4.3.2 busy", "--fault-seed", "5"];
    let (mut child, info) = serve_only("smtp", &args, dir.path());
    let smtp = info["smtp"].as_str().expect("smtp address");
    let mut socket = std::net::TcpStream::connect(smtp).expect("connect");
    socket
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut got = String::new();
    socket.read_to_string(&mut got).expect("read to the close");
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(got, "421 4.3.2 busy\r\n");
}

const FAULTY: &str = "name: faulty\nsessions: a=smtp\nplays: client\nfaults: rcpt#2: reply 452 4.2.2 full\nfaults: rcpt#2: explode\n\nS: 220 ${_}\n";

#[test]
fn check_validates_each_fault_rule_at_its_place_in_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("faulty.scenario");
    fs::write(&file, FAULTY).expect("write");
    let assert = mailrig().arg("check").arg(&file).assert().code(1);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.contains("faulty.scenario:5:17: faults: expected an action"),
        "{stderr}"
    );
    assert!(stderr.contains("  rcpt#2: explode\n          ^"), "{stderr}");
    fs::write(&file, FAULTY.replace("explode", "close")).expect("write");
    mailrig().arg("check").arg(&file).assert().success();
}

/// The shipped scenario that uses `faults:`, with or without its rule.
fn overquota_scenario(keep_rule: bool, dir: &Path) -> std::path::PathBuf {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios/faults/append-overquota-stores-nothing.scenario");
    let text = fs::read_to_string(shipped).expect("readable");
    let text: String = text
        .lines()
        .filter(|l| keep_rule || !l.starts_with("faults:"))
        .map(|l| format!("{l}\n"))
        .collect();
    let file = dir.join("overquota.scenario");
    fs::write(&file, text).expect("write");
    file
}

#[test]
fn a_scenarios_faults_make_the_own_servers_refuse_and_without_them_it_fails() {
    let dir = tempfile::tempdir().expect("temp dir");
    let with = overquota_scenario(true, dir.path());
    mailrig().arg("run").arg(&with).assert().success();
    let without = overquota_scenario(false, dir.path());
    mailrig()
        .arg("run")
        .arg(&without)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("A4 NO [OVERQUOTA] quota exceeded"));
}

#[test]
fn replay_refuses_a_bad_fault_rule_in_the_header_and_a_bad_fault_flag() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("faulty.scenario");
    let text = FAULTY
        .replace("plays: client", "plays: server")
        .replace("S: 220 ${_}", "S: 220 hi");
    fs::write(&file, &text).expect("write");
    mailrig()
        .arg("replay")
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "faulty.scenario:5:17: faults: expected an action",
        ));
    fs::write(&file, text.replace("explode", "close")).expect("write");
    mailrig()
        .args(["replay", "--fault", "rcpt: explode"])
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--fault:"));
}

#[test]
fn run_client_fault_reaches_the_client_and_prints_the_seed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let run = |faults: &[&str]| {
        let mut cmd = mailrig();
        cmd.current_dir(&root)
            .args(["run", "--client", "fixtures/clients/python-imaplib.toml"])
            .args(["--flow", "move", "--tls", "none"]);
        for rule in faults {
            cmd.args(["--fault", rule]);
        }
        cmd.assert()
    };
    let refused = run(&[
        "imap UID MOVE: reply NO [LIMIT] not today",
        "imap MOVE: reply NO [LIMIT] not today",
    ])
    .code(1);
    let stderr = String::from_utf8_lossy(&refused.get_output().stderr).into_owned();
    assert!(
        stderr.contains("fault seed 0\nfault: imap UID MOVE: reply NO [LIMIT] not today"),
        "{stderr}"
    );
    run(&[]).success();
    run(&["imap MOVE: explode"])
        .code(2)
        .stderr(predicate::str::contains("expected an action"));
}
