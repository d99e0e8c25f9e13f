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

/// imaplib APPENDs one message, then COPYs message 1 into INBOX again, and prints both
/// answers.
const APPEND_COPY: &str = r#"
import imaplib, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]), timeout=10)
m.login("alice", "secret")
typ, data = m.append("INBOX", None, None, open(sys.argv[2], "rb").read())
print(typ, data[0].decode())
m.select("INBOX")
typ, data = m.copy("1", "INBOX")
print(typ, data[0].decode())
m.logout()
"#;

#[test]
fn an_overquota_append_or_copy_stores_nothing() {
    let run = |rig: &Rig| {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("m.eml");
        std::fs::write(&file, MESSAGE).expect("write message");
        rig.store()
            .deliver("alice", &b"Subject: seed\r\n\r\nhi\r\n"[..], 1_700_000_000)
            .expect("seed");
        let out = python(APPEND_COPY, &[&port(rig.imap_addr()), s(&file)]);
        let answers = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        (answers, rig.messages("alice").len())
    };
    let (answers, stored) = run(&rig(&[
        "imap APPEND: reply NO [OVERQUOTA] quota exceeded",
        "imap COPY: reply NO [LIMIT] too many",
    ]));
    let lines: Vec<&str> = answers.lines().collect();
    assert_eq!(lines.len(), 2, "{answers}");
    assert_eq!(lines[0], "NO [OVERQUOTA] quota exceeded");
    assert_eq!(lines[1], "NO [LIMIT] too many");
    assert_eq!(
        stored, 1,
        "only the seeded message: neither APPEND nor COPY stored one"
    );
    let (answers, stored) = run(&rig(&[]));
    assert!(answers.starts_with("OK [APPENDUID"), "{answers}");
    assert_eq!(stored, 3, "the seed, the APPENDed message and its copy");
}

/// Reads from `socket` until a line starting with `tag` (or the socket ends or times out).
fn read_until(socket: &mut TcpStream, tag: &str) -> std::io::Result<String> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = socket.read(&mut buf)?;
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got).into_owned();
        if n == 0 || text.lines().any(|l| l.starts_with(tag)) {
            return Ok(text);
        }
    }
}

/// Logs in over a raw socket, SELECTs INBOX, lets a message arrive, and returns NOOP's answer.
fn noop_after_delivery(rig: &Rig) -> String {
    let mut socket = TcpStream::connect(rig.imap_addr()).expect("connect");
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    read_until(&mut socket, "* OK").expect("greeting");
    socket
        .write_all(b"a LOGIN alice secret\r\nb SELECT INBOX\r\n")
        .expect("write");
    let selected = read_until(&mut socket, "b ").expect("select");
    assert!(selected.contains("* 0 EXISTS"), "{selected}");
    rig.store()
        .deliver("alice", &b"Subject: new\r\n\r\nhi\r\n"[..], 1_700_000_000)
        .expect("deliver");
    socket.write_all(b"c NOOP\r\n").expect("write");
    read_until(&mut socket, "c ").expect("noop")
}

#[test]
fn a_rule_on_the_second_exists_rewrites_the_unsolicited_one() {
    let faulty = noop_after_delivery(&rig(&["imap untagged EXISTS#2: reply * 99 EXISTS"]));
    assert!(faulty.contains("* 99 EXISTS\r\n"), "{faulty}");
    assert!(!faulty.contains("* 1 EXISTS"), "{faulty}");
    let clean = noop_after_delivery(&rig(&[]));
    assert!(clean.contains("* 1 EXISTS\r\n"), "{clean}");
}

/// Connects, reads the greeting, says EHLO and reads the answer: the error kind, or the text.
fn ehlo(rig: &Rig) -> Result<String, std::io::ErrorKind> {
    let mut socket = TcpStream::connect(rig.smtp_addr()).expect("connect");
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut buf = [0u8; 4096];
    let n = socket.read(&mut buf).map_err(|e| e.kind())?;
    assert!(buf[..n].starts_with(b"220 "));
    socket.write_all(b"EHLO me\r\n").map_err(|e| e.kind())?;
    let n = socket.read(&mut buf).map_err(|e| e.kind())?;
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

#[test]
fn a_reset_reaches_the_client_as_econnreset() {
    assert_eq!(
        ehlo(&rig(&["EHLO: reset"])),
        Err(std::io::ErrorKind::ConnectionReset)
    );
    assert_eq!(
        ehlo(&rig(&["EHLO: close"])),
        Ok(String::new()),
        "a close is a FIN"
    );
    assert!(ehlo(&rig(&[])).is_ok_and(|answer| answer.starts_with("250-")));
}

/// Connects from `source` and prints the first line the server sends.
const CONNECT_FROM: &str = r#"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10, source_address=(sys.argv[2], 0))
print(s.makefile("rb").readline().decode().strip())
"#;

#[test]
fn a_rule_from_one_client_address_spares_the_others() {
    let faulty = rig(&["from 127.0.0.2 smtp connect: reply 554 5.7.1 not you"]);
    let greet = |source: &str| {
        let out = python(CONNECT_FROM, &[&port(faulty.smtp_addr()), source]);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    assert_eq!(greet("127.0.0.2"), "554 5.7.1 not you");
    assert!(greet("127.0.0.1").starts_with("220 "), "{}", greet("127.0.0.1"));
}
