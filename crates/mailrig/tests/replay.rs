//! `mailrig replay` end to end with real clients as subprocesses (curl and Python's imaplib
//! only): a shipped both-direction SMTP scenario replayed to curl, an IMAP fetch over STARTTLS
//! to curl, one over implicit TLS to imaplib (exit 0 each), a client that diverges (exit 1 and
//! the diff, snapshotted), and usage errors and a client that never comes (exit 2). Every
//! process has a deadline.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;

/// The `mailrig` binary under test, killed (and the test failed) after 2 minutes. (Not
/// `common::mailrig`: this binary would leave `common::start_serve` unused.)
fn mailrig() -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("mailrig"));
    cmd.timeout(Duration::from_secs(120));
    cmd
}

/// The message curl sends for `scenarios/smtp/send-dot-stuffing.scenario`, unstuffed (curl
/// stuffs it on the wire).
const DOT_MESSAGE: &str = "Date: Mon, 01 Jan 2024 09:00:00 +0000\r\nFrom: Bob <bob@example.test>\r\n\
To: Alice <alice@example.test>\r\nSubject: dot-stuffing\r\nMessage-ID: <dot-stuffing@example.test>\r\n\r\n\
The next line starts with a dot:\r\n.hidden in plain sight\r\n\
The next line is a single dot, which must not end DATA:\r\n.\r\nThe next line is two dots:\r\n..\r\n\
A dot in the middle. Or at the end.\r\n";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A running `mailrig replay`, started from the workspace root (so it prints paths relative
/// to it) with its output in files.
struct Replaying {
    child: Child,
    dir: tempfile::TempDir,
    ready: serde_json::Value,
}

impl Replaying {
    /// Starts `mailrig replay FILE --out DIR --ready-file DIR/ready.json --json
    /// DIR/verdict.json ARGS` and waits (at most 20 s) for its ready file.
    fn start(file: &str, args: &[&str]) -> Replaying {
        let dir = tempfile::tempdir().expect("temp dir");
        let ready = dir.path().join("ready.json");
        let child = std::process::Command::new(assert_cmd::cargo::cargo_bin!("mailrig"))
            .current_dir(workspace())
            .args(["replay", file, "--out"])
            .arg(dir.path())
            .arg("--ready-file")
            .arg(&ready)
            .arg("--json")
            .arg(dir.path().join("verdict.json"))
            .args(args)
            .stdout(fs::File::create(dir.path().join("stdout")).expect("stdout file"))
            .stderr(fs::File::create(dir.path().join("stderr")).expect("stderr file"))
            .stdin(Stdio::null())
            .spawn()
            .expect("mailrig replay starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !ready.exists() {
            assert!(Instant::now() < deadline, "no ready file within 20 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        let ready = serde_json::from_str(&fs::read_to_string(&ready).expect("ready file")).expect("JSON");
        Replaying { child, dir, ready }
    }

    fn port(&self, protocol: &str) -> String {
        let addr = self.ready[protocol].as_str().expect("listener in the ready file");
        addr.rsplit_once(':').expect("HOST:PORT").1.to_owned()
    }

    fn ca(&self) -> String {
        self.ready["ca"].as_str().expect("CA path").to_owned()
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Waits (at most 60 s, then kills it and fails) for the replay to exit; its exit code,
    /// its output (stdout, then stderr) and its `--json` verdict.
    fn finish(mut self) -> (i32, String, Option<serde_json::Value>) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("mailrig replay did not exit within 60 s");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let stdout = fs::read_to_string(self.file("stdout")).expect("stdout");
        let stderr = fs::read_to_string(self.file("stderr")).expect("stderr");
        let verdict = fs::read_to_string(self.file("verdict.json"))
            .ok()
            .map(|text| serde_json::from_str(&text).expect("the verdict is JSON"));
        (status.code().unwrap_or(-1), format!("{stdout}{stderr}"), verdict)
    }
}

/// A client with a 60 s deadline; its output whatever its exit status.
fn client(program: &str, args: &[&str]) -> std::process::Output {
    Command::new(program)
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

fn curl_send(replay: &Replaying, message: &str) -> std::process::Output {
    let file = replay.file("message.eml");
    fs::write(&file, message).expect("message file");
    let url = format!("smtp://127.0.0.1:{}/client.example.test", replay.port("smtp"));
    let file = file.to_str().expect("utf-8 path").to_owned();
    client(
        "curl",
        &[
            "-sS",
            "--url",
            &url,
            "--mail-from",
            "bob@example.test",
            "--mail-rcpt",
            "alice@example.test",
            "--upload-file",
            &file,
        ],
    )
}

#[test]
fn curl_sending_the_dot_stuffing_message_follows_the_shipped_scenario() {
    let replay = Replaying::start("scenarios/smtp/send-dot-stuffing.scenario", &[]);
    let sent = curl_send(&replay, DOT_MESSAGE);
    let (code, out, _) = replay.finish();
    assert!(sent.status.success(), "{sent:?}");
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("PASS  smtp-dot-stuffing (scenarios/smtp/send-dot-stuffing.scenario): the client followed the script"),
        "{out}"
    );
}

#[test]
fn a_fault_on_the_replays_reply_to_the_dot_makes_curl_fail() {
    // Without the rule curl succeeds; with it, curl hears 554 and fails (exit 8),
    // while the replay judges what curl sent (it still says QUIT, as the script expects).
    let rule = ["--fault", "data-end: reply 554 5.7.1 no"];
    for (args, curl_ok) in [(&[][..], true), (&rule[..], false)] {
        let replay = Replaying::start("scenarios/smtp/send-dot-stuffing.scenario", args);
        let sent = curl_send(&replay, DOT_MESSAGE);
        let (code, out, _) = replay.finish();
        assert_eq!(sent.status.success(), curl_ok, "{args:?}: {sent:?}\n{out}");
        assert_eq!(code, 0, "{args:?}: {out}");
        if !curl_ok {
            assert!(
                out.contains("fault       data-end: reply 554 5.7.1 no"),
                "the rule is printed: {out}"
            );
            // curl's own error for a reply other than 250 after the dot.
            assert_eq!(sent.status.code(), Some(8), "{sent:?}");
        }
    }
}

#[test]
fn curl_fetching_over_starttls_gets_the_replayed_message() {
    let replay = Replaying::start("tests/replay/curl-imap-fetch.scenario", &[]);
    let url = format!("imap://localhost:{}/INBOX;UID=1", replay.port("imap"));
    let ca = replay.ca();
    let fetched = client(
        "curl",
        &["-sS", "--ssl-reqd", "--cacert", &ca, "-u", "alice:secret", &url],
    );
    let (code, out, _) = replay.finish();
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        String::from_utf8_lossy(&fetched.stdout),
        "From: bob@example.test\r\nSubject: replayed\r\n\r\nhello from a replay\r\n"
    );
}

#[test]
fn python_imaplib_over_implicit_tls_follows_the_script() {
    let replay = Replaying::start("tests/replay/imaplib-imaps-fetch.scenario", &[]);
    let script = "import imaplib, ssl, sys\n\
        port, ca = int(sys.argv[1]), sys.argv[2]\n\
        m = imaplib.IMAP4_SSL('localhost', port, ssl_context=ssl.create_default_context(cafile=ca))\n\
        m.login('alice', 'secret')\n\
        m.select('INBOX')\n\
        typ, data = m.fetch('1', '(RFC822)')\n\
        sys.stdout.write(data[0][1].decode())\n\
        m.logout()\n";
    let fetched = client("python3", &["-c", script, &replay.port("imaps"), &replay.ca()]);
    let (code, out, _) = replay.finish();
    assert_eq!(code, 0, "{out}\n{fetched:?}");
    assert_eq!(
        String::from_utf8_lossy(&fetched.stdout),
        "Subject: replayed\r\n\r\nhello from a replay\r\n"
    );
}

#[test]
fn a_client_that_sends_another_message_diverges_with_exit_1_and_the_diff() {
    let replay = Replaying::start("scenarios/smtp/send-dot-stuffing.scenario", &[]);
    drop(curl_send(
        &replay,
        &DOT_MESSAGE.replace("Subject: dot-stuffing", "Subject: not what the script says"),
    ));
    let (code, out, verdict) = replay.finish();
    assert_eq!(code, 1, "{out}");
    insta::with_settings!({filters => vec![
        (r"127\.0\.0\.1:\d+", "127.0.0.1:PORT"),
        (r"CA          \S+", "CA          DIR/ca.pem"),
    ]}, {
        insta::assert_snapshot!(out);
    });
    let verdict = verdict.expect("the --json verdict");
    assert_eq!(verdict["passed"], false);
    assert_eq!(verdict["failure"]["line"], 50);
}

#[test]
fn usage_errors_and_a_client_that_never_comes_exit_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let client_only = dir.path().join("client-only.scenario");
    fs::write(
        &client_only,
        "name: c\nsessions: a=imap\nplays: client\n\nC: A1 NOOP\nS: A1 OK ${_}\n",
    )
    .expect("write");
    let assert = mailrig().arg("replay").arg(&client_only).assert().code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains("declares `plays: client`"), "{stderr}");

    let shipped = workspace().join("scenarios/smtp/send-dot-stuffing.scenario");
    let assert = mailrig()
        .arg("replay")
        .arg(&shipped)
        .args(["--listen", "imap=127.0.0.1:0"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains("no `imap` session"), "{stderr}");
    mailrig()
        .arg("replay")
        .arg(&shipped)
        .args(["--listen", "pop3=127.0.0.1:0"])
        .assert()
        .code(2);

    let assert = mailrig()
        .arg("replay")
        .arg(&shipped)
        .args(["--connect-timeout", "300ms"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains("no client connected within 300ms"), "{stderr}");
}

#[test]
fn variables_come_from_the_defaults_then_the_files_vars_then_var_flags() {
    let greeting = |text: &str, args: &[&str]| {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("greet.scenario");
        fs::write(&file, text).expect("write");
        let replay = Replaying::start(file.to_str().expect("utf-8 path"), args);
        let script = "import socket, sys\n\
            s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=30)\n\
            sys.stdout.write(s.makefile('rb').readline().decode())\n\
            s.close()\n";
        let read = client("python3", &["-c", script, &replay.port("smtp")]);
        let (code, out, _) = replay.finish();
        assert_eq!(code, 0, "{out}");
        String::from_utf8_lossy(&read.stdout).into_owned()
    };
    let plain = "name: g\nsessions: s=smtp\nplays: server\n\nS: 220 ${user} at ${domain}\n@close client\n";
    assert_eq!(greeting(plain, &[]), "220 alice at example.test\r\n");
    let declared = plain.replace("plays: server", "vars: user=carol\nplays: server");
    assert_eq!(greeting(&declared, &[]), "220 carol at example.test\r\n");
    assert_eq!(
        greeting(&declared, &["--var", "user=dave"]),
        "220 dave at example.test\r\n"
    );
}
