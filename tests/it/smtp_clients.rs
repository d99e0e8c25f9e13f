//! Real SMTP clients (curl, Python's smtplib, swaks, msmtp) as subprocesses against a `Rig`,
//! each message checked byte for byte in the store. curl and python3 are all `cargo test` needs;
//! the swaks and msmtp tests run only with `--features interop` (`ci/interop.sh` installs
//! them and turns it on). A missing client fails its test with how to install it.

use std::path::PathBuf;
use std::time::Duration;

use mailrig::blocking::Rig;

use crate::support::{port, python, run, s};

const MESSAGE: &[u8] = b"From: alice@example.test\r\nTo: bob@example.test\r\nSubject: e2e\r\n\r\nfirst line\r\n.starts with a dot\r\nlast line\r\n";

struct Fixture {
    rig: Rig,
    dir: tempfile::TempDir,
}

impl Fixture {
    fn start() -> Fixture {
        let rig = Rig::start(mailrig::Rig::builder()).expect("rig starts");
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("ca.pem"), rig.ca_pem().expect("TLS on")).expect("write CA");
        std::fs::write(dir.path().join("message.eml"), MESSAGE).expect("write message");
        Fixture { rig, dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The one message bob received, after waiting for it.
    fn received(&self) -> Vec<u8> {
        let envelope = self
            .rig
            .wait_for_message(|_| true, Duration::from_secs(10))
            .expect("a message arrives");
        let inbox = self.rig.messages("bob");
        assert_eq!(inbox.len(), 1, "exactly one message in bob's INBOX");
        assert_eq!(
            inbox[0].raw, envelope.data,
            "the envelope log and the mailbox hold the same bytes"
        );
        envelope.data.to_vec()
    }
}

#[test]
fn curl_plain_smtp() {
    let f = Fixture::start();
    let url = format!("smtp://127.0.0.1:{}", port(f.rig.smtp_addr()));
    let file = f.path("message.eml");
    run(
        "curl",
        &[
            "-sS",
            "--url",
            &url,
            "--mail-from",
            "alice@example.test",
            "--mail-rcpt",
            "bob@example.test",
            "--upload-file",
            s(&file),
        ],
        None,
    );
    assert_eq!(f.received(), MESSAGE);
}

#[test]
fn curl_starttls_required() {
    let f = Fixture::start();
    let url = format!("smtp://localhost:{}", port(f.rig.smtp_addr()));
    let (file, ca) = (f.path("message.eml"), f.path("ca.pem"));
    let args = [
        "-sS",
        "--ssl-reqd",
        "--cacert",
        s(&ca),
        "--url",
        &url,
        "--mail-from",
        "alice@example.test",
        "--mail-rcpt",
        "bob@example.test",
        "--upload-file",
        s(&file),
    ];
    run("curl", &args, None);
    assert_eq!(f.received(), MESSAGE);
    let transcript = f.rig.transcript();
    let session = &transcript.sessions[0];
    assert!(
        session
            .events
            .iter()
            .any(|e| e.kind == mailrig_transcript::transcript::EventKind::TlsStarted),
        "the session used TLS"
    );
}

const SMTPLIB: &str = r#"
import smtplib, ssl, sys
mode, host, port, ca, mechanism, path = sys.argv[1:7]
context = ssl.create_default_context(cafile=ca)
message = open(path, "rb").read()
if mode == "smtps":
    client = smtplib.SMTP_SSL(host, int(port), context=context, timeout=10)
else:
    client = smtplib.SMTP(host, int(port), timeout=10)
    client.starttls(context=context)
client.ehlo()
client.user, client.password = "alice", "secret"
client.auth(mechanism, getattr(client, "auth_" + mechanism.lower().replace("-", "_")), initial_response_ok=True)
client.sendmail("alice@example.test", ["bob@example.test"], message)
client.quit()
"#;

impl Fixture {
    /// Runs `SMTPLIB` (`mode` starttls or smtps, AUTH `mechanism`) against `addr`.
    fn smtplib(&self, mode: &str, addr: std::net::SocketAddr, mechanism: &str) {
        let (ca, file) = (self.path("ca.pem"), self.path("message.eml"));
        let port = port(addr);
        python(SMTPLIB, &[mode, "localhost", &port, s(&ca), mechanism, s(&file)]);
    }
}

#[test]
fn python_smtplib_starttls_auth_plain_on_submission() {
    let f = Fixture::start();
    f.smtplib("starttls", f.rig.submission_addr(), "PLAIN");
    assert_eq!(f.received(), MESSAGE);
    let envelope = &f.rig.store().envelopes()[0];
    assert_eq!(envelope.mail_from, "alice@example.test");
}

#[test]
fn python_smtplib_starttls_auth_login_on_submission() {
    let f = Fixture::start();
    f.smtplib("starttls", f.rig.submission_addr(), "LOGIN");
    assert_eq!(f.received(), MESSAGE);
}

#[test]
fn python_smtplib_smtps_implicit_tls() {
    let f = Fixture::start();
    f.smtplib("smtps", f.rig.smtps_addr(), "PLAIN");
    assert_eq!(f.received(), MESSAGE);
}

#[test]
fn python_smtplib_wrong_password_is_refused_and_nothing_is_stored() {
    let f = Fixture::start();
    let script = r#"
import smtplib, ssl, sys
client = smtplib.SMTP("localhost", int(sys.argv[1]), timeout=10)
client.starttls(context=ssl.create_default_context(cafile=sys.argv[2]))
try:
    client.login("alice", "wrong")
except smtplib.SMTPAuthenticationError as e:
    print(e.smtp_code)
"#;
    let ca = f.path("ca.pem");
    let output = python(script, &[&port(f.rig.submission_addr()), s(&ca)]);
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "535");
    assert!(f.rig.store().envelopes().is_empty());
}

/// With TLS turned off, submission still works: AUTH is offered in plaintext, since it could
/// never be offered otherwise.
#[test]
fn python_smtplib_submission_without_tls() {
    let rig = Rig::start(mailrig::Rig::builder().without_tls()).expect("rig starts");
    let script = r#"
import smtplib, sys
client = smtplib.SMTP("localhost", int(sys.argv[1]), timeout=10)
client.login("alice", "secret")
client.sendmail("alice@example.test", ["bob@example.test"], sys.argv[2].encode())
client.quit()
"#;
    let message = String::from_utf8(MESSAGE.to_vec()).expect("ASCII");
    python(script, &[&port(rig.submission_addr()), &message]);
    let envelope = rig
        .wait_for_message(|_| true, Duration::from_secs(10))
        .expect("a message arrives");
    assert_eq!(&*envelope.data, MESSAGE);
}

#[cfg(feature = "interop")]
#[test]
fn swaks_starttls_auth() {
    let f = Fixture::start();
    let (ca, file) = (f.path("ca.pem"), f.path("message.eml"));
    let data = format!("@{}", s(&file));
    let port = port(f.rig.submission_addr());
    let args = [
        "--server",
        "localhost",
        "--port",
        &port,
        "--from",
        "alice@example.test",
        "--to",
        "bob@example.test",
        "--data",
        &data,
        "-tls",
        "--tls-verify",
        "--tls-ca-path",
        s(&ca),
        "--auth",
        "PLAIN",
        "--auth-user",
        "alice",
        "--auth-password",
        "secret",
    ];
    run("swaks", &args, None);
    // swaks ends DATA with CRLF "." CRLF after the data, so a message that already ends in
    // CRLF gains an empty line; the transcript shows it on the wire, and the store keeps it.
    assert_eq!(f.received(), [MESSAGE, b"\r\n"].concat());
}

#[cfg(feature = "interop")]
#[test]
fn msmtp_starttls_auth() {
    let f = Fixture::start();
    let ca = f.path("ca.pem");
    let port = format!("--port={}", port(f.rig.submission_addr()));
    let trust = format!("--tls-trust-file={}", s(&ca));
    let args = [
        "--host=localhost",
        &port,
        "--tls=on",
        "--tls-starttls=on",
        &trust,
        "--auth=on",
        "--user=alice",
        "--passwordeval=echo secret",
        "--from=alice@example.test",
        "--set-date-header=off",
        "--set-msgid-header=off",
        "bob@example.test",
    ];
    run("msmtp", &args, Some(MESSAGE));
    assert_eq!(f.received(), MESSAGE);
}
