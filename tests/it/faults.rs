//! Fault rules end to end: real clients (Python's smtplib and imaplib, curl) and raw sockets
//! against a `Rig` started with rules. Each test also runs the same client without the rule and
//! checks the normal outcome, so the fault, not the client, makes the difference.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use mailrig::blocking::Rig;

use crate::support::{port, python, run, s};

const MESSAGE: &[u8] =
    b"From: alice@example.test\r\nTo: bob@example.test\r\nSubject: faults\r\n\r\nhello\r\n";

/// A rig without TLS (plaintext login allowed) and with `rules`.
fn rig(rules: &[&str]) -> Rig {
    let mut builder = mailrig::Rig::builder().without_tls().fault_seed(1);
    for rule in rules {
        builder = builder.fault(*rule);
    }
    Rig::start(builder).expect("rig starts")
}

/// smtplib connects and prints the greeting's code, or the code it was refused with.
const CONNECT: &str = r#"
import smtplib, sys
try:
    s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
    print("greeted", s.noop()[0])
    s.quit()
except smtplib.SMTPConnectError as e:
    print("refused", e.smtp_code)
except smtplib.SMTPServerDisconnected as e:
    print("disconnected")
"#;

#[test]
fn a_421_on_connect_refuses_the_client() {
    let connect = |rig: &Rig| {
        let out = python(CONNECT, &[&port(rig.smtp_addr())]);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    assert_eq!(
        connect(&rig(&["smtp connect: reply 421 4.3.2 try later"])),
        "refused 421"
    );
    assert_eq!(connect(&rig(&[])), "greeted 250");
}

/// smtplib sends one message to alice and bob and prints who was refused.
const SEND_TWO: &str = r#"
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
refused = s.sendmail("alice@example.test", ["alice@example.test", "bob@example.test"], open(sys.argv[2], "rb").read())
print(sorted((k, v[0]) for k, v in refused.items()))
s.quit()
"#;

#[test]
fn a_452_on_the_second_rcpt_leaves_that_recipient_without_the_message() {
    let send = |rig: &Rig| {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("m.eml");
        std::fs::write(&file, MESSAGE).expect("write message");
        let out = python(SEND_TWO, &[&port(rig.smtp_addr()), s(&file)]);
        rig.wait_for_message(|_| true, Duration::from_secs(10))
            .expect("alice's copy arrives");
        let inboxes = (rig.messages("alice").len(), rig.messages("bob").len());
        (String::from_utf8_lossy(&out.stdout).trim().to_owned(), inboxes)
    };
    let faulty = rig(&["rcpt#2: reply 452 4.2.2 mailbox full"]);
    assert_eq!(send(&faulty), ("[('bob@example.test', 452)]".to_owned(), (1, 0)));
    let log = faulty.store().envelopes();
    assert_eq!(
        log[0].rcpt_to,
        ["alice@example.test"],
        "bob is not in the envelope"
    );
    assert_eq!(send(&rig(&[])), ("[]".to_owned(), (1, 1)));
}

/// smtplib sends one message and prints the outcome of DATA.
const SEND_ONE: &str = r#"
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
try:
    s.sendmail("alice@example.test", ["bob@example.test"], open(sys.argv[2], "rb").read())
    print("sent")
except smtplib.SMTPDataError as e:
    print("refused", e.smtp_code)
"#;

#[test]
fn a_refusal_at_the_final_dot_stores_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("m.eml");
    std::fs::write(&file, MESSAGE).expect("write message");
    let send = |rig: &Rig| {
        let out = python(SEND_ONE, &[&port(rig.smtp_addr()), s(&file)]);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let faulty = rig(&["data-end: reply 452 4.3.1 out of space"]);
    assert_eq!(send(&faulty), "refused 452");
    assert!(faulty.messages("bob").is_empty());
    assert!(faulty.store().envelopes().is_empty());
    let fine = rig(&[]);
    assert_eq!(send(&fine), "sent");
    assert_eq!(fine.messages("bob").len(), 1);
}

/// smtplib with a 1 s timeout: prints `timeout` when the server stalls.
const TIMEOUT_CLIENT: &str = r#"
import smtplib, socket, sys
try:
    s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=1)
    s.ehlo()
    print("answered")
except (socket.timeout, TimeoutError):
    print("timeout")
except smtplib.SMTPServerDisconnected as e:
    # smtplib turns a read timeout into "Connection unexpectedly closed: timed out".
    print("timeout" if "timed out" in str(e) else "disconnected")
"#;

#[test]
fn a_stall_outlasts_the_clients_timeout() {
    let ehlo = |rig: &Rig| {
        let started = Instant::now();
        let out = python(TIMEOUT_CLIENT, &[&port(rig.smtp_addr())]);
        (
            String::from_utf8_lossy(&out.stdout).trim().to_owned(),
            started.elapsed(),
        )
    };
    let (outcome, took) = ehlo(&rig(&["EHLO: stall"]));
    assert_eq!(outcome, "timeout");
    assert!(took >= Duration::from_secs(1), "{took:?}");
    assert_eq!(ehlo(&rig(&[])).0, "answered");
}

#[test]
fn one_byte_writes_do_not_stop_curl() {
    let send = |rig: &Rig| {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("m.eml");
        std::fs::write(&file, MESSAGE).expect("write message");
        let url = format!("smtp://127.0.0.1:{}", port(rig.smtp_addr()));
        let args = ["-sS", "--url", &url, "--mail-from", "alice@example.test"];
        let mut args = args.to_vec();
        args.extend(["--mail-rcpt", "bob@example.test", "--upload-file", s(&file)]);
        run("curl", &args, None);
        let mail = rig.wait_for_message(|_| true, Duration::from_secs(10));
        assert_eq!(&*mail.expect("stored").data, MESSAGE);
        // The greeting's writes, as recorded.
        let transcript = rig.transcript();
        transcript.sessions[0]
            .events
            .iter()
            .filter(|e| {
                matches!(
                    e.kind,
                    mailrig_transcript::transcript::EventKind::Data {
                        from: mailrig_transcript::scenario::Side::Server,
                        ..
                    }
                )
            })
            .count()
    };
    let split = send(&rig(&["any: split 1"]));
    let whole = send(&rig(&[]));
    assert!(split > 100, "{split} server writes");
    assert!(whole < 10, "{whole} server writes");
}

/// Connects, says EHLO and STARTTLS, and returns everything that arrives in plaintext after
/// STARTTLS (until the server waits for the handshake).
fn after_starttls(rig: &Rig) -> String {
    let mut socket = TcpStream::connect(rig.smtp_addr()).expect("connect");
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let read_some = |socket: &mut TcpStream| {
        let mut buf = [0u8; 4096];
        let mut got = Vec::new();
        while let Ok(n) = socket.read(&mut buf) {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&got).into_owned()
    };
    assert!(read_some(&mut socket).starts_with("220 "));
    socket.write_all(b"EHLO me\r\n").expect("write");
    assert!(read_some(&mut socket).contains("STARTTLS"));
    socket.write_all(b"STARTTLS\r\n").expect("write");
    read_some(&mut socket)
}

#[test]
fn bytes_injected_after_the_starttls_go_ahead_arrive_in_plaintext() {
    let with_tls = |rules: &[&str]| {
        let mut builder = mailrig::Rig::builder();
        for rule in rules {
            builder = builder.fault(*rule);
        }
        Rig::start(builder).expect("rig starts")
    };
    let injected = after_starttls(&with_tls(&[r#"starttls: inject "250 injected""#]));
    assert_eq!(injected, "220 2.0.0 Ready to start TLS\r\n250 injected\r\n");
    let clean = after_starttls(&with_tls(&[]));
    assert_eq!(clean, "220 2.0.0 Ready to start TLS\r\n");
}

/// imaplib logs in, fetches 1:3 and prints what happened.
const FETCH: &str = r#"
import imaplib, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]), timeout=10)
m.login("alice", "secret")
m.select("INBOX")
try:
    typ, data = m.fetch("1:3", "(UID)")
    print(typ, len([d for d in data if d]))
except imaplib.IMAP4.abort as e:
    print("abort", e)
"#;

#[test]
fn a_bye_mid_fetch_aborts_imaplib() {
    let fetch = |rig: &Rig| {
        for i in 0..3 {
            let body = format!("Subject: {i}\r\n\r\nhi\r\n");
            rig.store()
                .deliver("alice", body.as_bytes(), 1_700_000_000)
                .expect("seed");
        }
        let out = python(FETCH, &[&port(rig.imap_addr())]);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let aborted = fetch(&rig(&["imap FETCH untagged#2: bye too much"]));
    assert!(aborted.starts_with("abort"), "{aborted}");
    assert!(aborted.contains("too much"), "{aborted}");
    assert_eq!(fetch(&rig(&[])), "OK 3");
}

#[test]
fn a_rule_that_does_not_parse_stops_the_rig() {
    let builder = mailrig::Rig::builder().fault("rcpt#2 reply 452");
    let error = Rig::start(builder).expect_err("bad rule");
    assert!(error.to_string().contains("column 8: expected `:`"), "{error}");
}
