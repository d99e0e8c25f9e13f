//! Hostile clients over real sockets. SMTP: STARTTLS command injection, SMTP smuggling, a
//! 10 MB line. IMAP: STARTTLS command injection, malformed commands, a 2 GiB literal, a 10 MB
//! line, a client that stops reading. Each gets an error or nothing, never a crash, and other
//! sessions go on.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use mailrig::blocking::Rig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls;

fn connect(rig: &Rig) -> BufReader<TcpStream> {
    let stream = TcpStream::connect(rig.smtp_addr()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    BufReader::new(stream)
}

/// Reads one reply (all its lines).
fn reply<R: BufRead>(reader: &mut R) -> String {
    let mut all = String::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("read a reply");
        all.push_str(&line);
        if line.len() < 4 || line.as_bytes()[3] != b'-' {
            return all;
        }
    }
}

fn send(reader: &mut BufReader<TcpStream>, bytes: &[u8]) {
    reader.get_mut().write_all(bytes).expect("write");
}

/// The client side of a TLS handshake on `socket`, trusting the rig's CA.
fn upgrade(rig: &Rig, socket: TcpStream) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(rig.ca_pem().expect("tls").as_bytes()).expect("CA"))
        .expect("root");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from("localhost").expect("name");
    let connection = rustls::ClientConnection::new(Arc::new(config), name).expect("client");
    rustls::StreamOwned::new(connection, socket)
}

#[test]
fn plaintext_pipelined_behind_starttls_is_never_executed() {
    let rig = Rig::start(mailrig::Rig::builder()).expect("rig");
    let mut c = connect(&rig);
    assert!(reply(&mut c).starts_with("220 "));
    send(&mut c, b"EHLO attacker\r\n");
    assert!(reply(&mut c).contains("STARTTLS"));
    // The injected transaction travels in the same plaintext segment as STARTTLS.
    send(&mut c, b"STARTTLS\r\nMAIL FROM:<mallory@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\ninjected\r\n.\r\n");
    assert!(reply(&mut c).starts_with("220 "));

    let mut tls = BufReader::new(upgrade(&rig, c.into_inner()));
    tls.get_mut()
        .write_all(b"EHLO attacker\r\n")
        .expect("write over TLS");
    let ehlo = reply(&mut tls);
    assert!(ehlo.starts_with("250"), "{ehlo}");
    assert!(!ehlo.contains("STARTTLS"), "no STARTTLS once TLS is up: {ehlo}");
    // The session was reset: a transaction needs MAIL again, so DATA is a bad sequence.
    tls.get_mut().write_all(b"DATA\r\n").expect("write");
    assert!(reply(&mut tls).starts_with("503"));
    assert!(
        rig.store().envelopes().is_empty(),
        "the injected message was not accepted"
    );
}

#[test]
fn smuggled_end_of_data_sequences_do_not_end_data() {
    let rig = Rig::start(mailrig::Rig::builder()).expect("rig");
    let mut c = connect(&rig);
    assert!(reply(&mut c).starts_with("220 "));
    send(
        &mut c,
        b"EHLO client\r\nMAIL FROM:<alice@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n",
    );
    for expected in ["250", "250", "250", "354"] {
        assert!(reply(&mut c).starts_with(expected));
    }
    // Bare-LF and bare-CR look-alikes of <CRLF>.<CRLF>, each followed by a smuggled command.
    let body =
        b"one\n.\nRSET\r\ntwo\r\n.\nRSET\r\nthree\n.\r\nRSET\r\nfour\r.\r\nRSET\r\nfive\r\n.\rRSET\r\n.\r\n";
    send(&mut c, body);
    assert!(
        reply(&mut c).starts_with("250 "),
        "exactly one message ends, at the real <CRLF>.<CRLF>"
    );
    let stored = rig
        .wait_for_message(|_| true, Duration::from_secs(5))
        .expect("stored");
    // Every look-alike stayed in the message. Lines are CRLF-terminated, so `.\nRSET` and
    // `.\rRSET` are lines that start with a dot and lose it (RFC 5321 §4.5.2 transparency).
    let expected =
        b"one\n.\nRSET\r\ntwo\r\n\nRSET\r\nthree\n.\r\nRSET\r\nfour\r.\r\nRSET\r\nfive\r\n\rRSET\r\n";
    assert_eq!(&*stored.data, &expected[..]);
    assert_eq!(rig.store().envelopes().len(), 1);
}

#[test]
fn a_ten_megabyte_line_gets_an_error_and_other_sessions_carry_on() {
    let rig = Rig::start(mailrig::Rig::builder()).expect("rig");
    let mut hostile = connect(&rig);
    assert!(reply(&mut hostile).starts_with("220 "));
    let mut other = connect(&rig);
    assert!(reply(&mut other).starts_with("220 "));

    let writer = hostile.get_ref().try_clone().expect("clone");
    let flood = std::thread::spawn(move || {
        let mut writer = writer;
        let chunk = vec![b'A'; 64 * 1024];
        for _ in 0..160 {
            if writer.write_all(&chunk).is_err() {
                return;
            }
        }
        let _ = writer.write_all(b"\r\nNOOP\r\n");
    });
    let error = reply(&mut hostile);
    assert!(error.starts_with("500"), "a line-too-long error: {error}");

    send(&mut other, b"EHLO other\r\nNOOP\r\n");
    assert!(reply(&mut other).starts_with("250"));
    assert!(
        reply(&mut other).starts_with("250"),
        "the other session is served meanwhile"
    );
    flood.join().expect("flood thread");
    assert!(
        reply(&mut hostile).starts_with("250"),
        "after the long line, the session works again (NOOP)"
    );
    let mut rest = Vec::new();
    let _ = hostile
        .get_mut()
        .set_read_timeout(Some(Duration::from_millis(100)));
    let _ = hostile.read_to_end(&mut rest);
}

// ---- IMAP ----

/// An IMAP rig that allows LOGIN in plaintext (these tests are about framing, not TLS).
fn imap_rig() -> Rig {
    let builder = mailrig::Rig::builder().imap(|o| o.config.login_disabled_before_tls = false);
    Rig::start(builder).expect("rig")
}

fn imap_connect(rig: &Rig) -> BufReader<TcpStream> {
    let stream = TcpStream::connect(rig.imap_addr()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut reader = BufReader::new(stream);
    let mut greeting = String::new();
    reader.read_line(&mut greeting).expect("greeting");
    assert!(greeting.starts_with("* OK "), "{greeting}");
    reader
}

/// Reads lines up to and including the one that starts with `tag ` (or a `+` continuation
/// when `tag` is `+`); returns that last line.
fn imap_until(reader: &mut BufReader<TcpStream>, tag: &str) -> String {
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line).expect("read a response");
        assert!(n > 0, "connection closed while waiting for {tag}");
        if line.starts_with(&format!("{tag} ")) {
            return line;
        }
    }
}

fn imap_login(reader: &mut BufReader<TcpStream>) {
    send(reader, b"L1 LOGIN alice secret\r\nL2 SELECT INBOX\r\n");
    assert!(imap_until(reader, "L1").starts_with("L1 OK"));
    assert!(imap_until(reader, "L2").starts_with("L2 OK"));
}

#[test]
fn imap_malformed_commands_get_bad_and_the_session_goes_on() {
    let rig = imap_rig();
    rig.store()
        .deliver("alice", &b"Subject: x\r\n\r\nx\r\n"[..], 0)
        .expect("seed");
    let mut c = imap_connect(&rig);
    imap_login(&mut c);
    let cases: [(&[u8], &str); 6] = [
        (b"a1 FETCH 1 (FLAGS\r\n", "a1 BAD"),
        (b"a2 FETCH 1 (FLAGS))\r\n", "a2 BAD"),
        (b"a3 NOOP garbage\r\n", "a3 BAD"),
        (b"a4 FETCH 1 BODY[HEADER.FIELDS (Subject]\r\n", "a4 BAD"),
        (b"a5 \x01\xff\xfe(((\r\n", "a5 BAD"),
        (b"a6 UID FETCH 1:* (FLAGS)\r\n", "a6 OK"),
    ];
    for (command, expected) in cases {
        send(&mut c, command);
        let tag = expected.split(' ').next().expect("tag");
        let answer = imap_until(&mut c, tag);
        assert!(
            answer.starts_with(expected),
            "{:?} → {answer}",
            String::from_utf8_lossy(command)
        );
    }
    send(&mut c, b"\x00\x01 nonsense without a tag\r\nz NOOP\r\n");
    assert!(
        imap_until(&mut c, "*").starts_with("* BAD"),
        "an untaggable line gets * BAD"
    );
    assert!(imap_until(&mut c, "z").starts_with("z OK"));
}

#[test]
fn imap_a_literal_announcing_two_gigabytes_is_refused_before_any_byte_is_buffered() {
    let rig = imap_rig();
    let mut c = imap_connect(&rig);
    imap_login(&mut c);
    send(&mut c, b"a1 APPEND INBOX {2147483648}\r\n");
    let answer = imap_until(&mut c, "a1");
    assert!(answer.starts_with("a1 NO [TOOBIG]"), "{answer}");
    // No continuation was sent, so the client may go on with the next command.
    send(&mut c, b"a2 NOOP\r\n");
    assert!(imap_until(&mut c, "a2").starts_with("a2 OK"));
    let mut other = imap_connect(&rig);
    imap_login(&mut other);
    assert!(rig.messages("alice").is_empty(), "nothing was stored");
}

/// A LITERAL+ literal cannot be refused before its bytes come (RFC 7888 §4: the client sends
/// them without waiting), so after announcing 2 GiB the client here really sends them: 64 MiB,
/// twice the server's literal cap, made of lines that are commands if read as commands. The
/// server answers `NO [TOOBIG]` at once and then skips the bytes: it neither runs them (no
/// `x OK`) nor buffers them up to a cap and fails, the connection stays open, and another
/// session carries on meanwhile. (The sans-IO session skipping the whole 2 GiB in bounded
/// memory and running the command after it: `crates/mailrig-imap/tests/literal_memory.rs`.)
#[test]
fn imap_a_two_gigabyte_literal_plus_is_skipped_not_run_or_buffered() {
    let rig = imap_rig();
    let mut c = imap_connect(&rig);
    imap_login(&mut c);
    send(&mut c, b"a3 APPEND INBOX {2147483648+}\r\n");
    assert!(imap_until(&mut c, "a3").starts_with("a3 NO [TOOBIG]"));
    // Written from another thread while this one listens, so a server that answered the
    // bytes fails the test instead of filling both socket buffers and hanging it.
    let writer = c.get_ref().try_clone().expect("clone");
    let flood = std::thread::spawn(move || {
        let mut writer = writer;
        let chunk = b"x NOOP\r\n".repeat(128 * 1024);
        for _ in 0..(64 << 20) / chunk.len() {
            writer
                .write_all(&chunk)
                .expect("the server takes the literal's bytes");
        }
    });
    c.get_ref()
        .set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    let mut line = String::new();
    let mut listen = |c: &mut BufReader<TcpStream>| match c.read_line(&mut line) {
        Ok(0) => panic!("the server closed the connection"),
        Ok(_) => panic!("the server answered literal bytes: {line:?}"),
        Err(e) => assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "{e}"
        ),
    };
    while !flood.is_finished() {
        listen(&mut c);
    }
    flood.join().expect("flood thread");
    listen(&mut c);
    let mut other = imap_connect(&rig);
    imap_login(&mut other);
    assert!(rig.messages("alice").is_empty(), "nothing was stored");
}

#[test]
fn imap_a_ten_megabyte_line_gets_bad_and_other_sessions_carry_on() {
    let rig = imap_rig();
    let mut hostile = imap_connect(&rig);
    imap_login(&mut hostile);
    let mut other = imap_connect(&rig);
    let writer = hostile.get_ref().try_clone().expect("clone");
    let flood = std::thread::spawn(move || {
        let mut writer = writer;
        let _ = writer.write_all(b"big APPEND INBOX (");
        let chunk = vec![b'A'; 64 * 1024];
        for _ in 0..160 {
            if writer.write_all(&chunk).is_err() {
                return;
            }
        }
        let _ = writer.write_all(b"\r\nafter NOOP\r\n");
    });
    let answer = imap_until(&mut hostile, "big");
    assert!(answer.starts_with("big BAD"), "{answer}");
    imap_login(&mut other);
    flood.join().expect("flood thread");
    assert!(
        imap_until(&mut hostile, "after").starts_with("after OK"),
        "the session works again after the long line"
    );
}

#[test]
fn imap_a_client_that_stops_reading_does_not_stall_the_others() {
    let rig = imap_rig();
    let body = vec![b'x'; 512 * 1024];
    let mut message = b"Subject: big\r\n\r\n".to_vec();
    message.extend_from_slice(&body);
    rig.store().deliver("alice", message, 0).expect("seed");
    let mut stuck = imap_connect(&rig);
    imap_login(&mut stuck);
    // 200 pipelined FETCHes of 512 KiB each (100 MiB of responses), never read: the server's
    // writes block on the full socket buffer and it stops reading this client.
    let writer = stuck.get_ref().try_clone().expect("clone");
    let pipeline = std::thread::spawn(move || {
        let mut writer = writer;
        writer
            .set_write_timeout(Some(Duration::from_secs(5)))
            .expect("write timeout");
        for i in 0..200 {
            if writer
                .write_all(format!("f{i} FETCH 1 BODY.PEEK[]\r\n").as_bytes())
                .is_err()
            {
                return;
            }
        }
    });
    let mut other = imap_connect(&rig);
    imap_login(&mut other);
    send(&mut other, b"n1 FETCH 1 (RFC822.SIZE)\r\nn2 NOOP\r\n");
    let size = imap_until(&mut other, "n1");
    assert!(size.starts_with("n1 OK"), "{size}");
    assert!(imap_until(&mut other, "n2").starts_with("n2 OK"));
    pipeline.join().expect("pipeline thread");
    drop(stuck);
    // The stuck session is gone; a new one is served normally.
    let mut again = imap_connect(&rig);
    imap_login(&mut again);
}

#[test]
fn imap_plaintext_pipelined_behind_starttls_is_never_executed() {
    let rig = imap_rig();
    let mut c = imap_connect(&rig);
    // LOGIN and a STORE travel in the same plaintext segment as STARTTLS.
    rig.store()
        .deliver("alice", &b"Subject: x\r\n\r\nx\r\n"[..], 0)
        .expect("seed");
    send(
        &mut c,
        b"s STARTTLS\r\nx1 LOGIN alice secret\r\nx2 SELECT INBOX\r\nx3 STORE 1 +FLAGS (\\Deleted)\r\n",
    );
    assert!(imap_until(&mut c, "s").starts_with("s OK"));
    let mut tls = BufReader::new(upgrade(&rig, c.into_inner()));
    tls.get_mut()
        .write_all(b"a CAPABILITY\r\nb SELECT INBOX\r\n")
        .expect("write");
    let mut lines = String::new();
    while !lines.contains("\r\nb ") {
        tls.read_line(&mut lines).expect("read over TLS");
    }
    assert!(
        lines.contains("* CAPABILITY ") && !lines.contains("STARTTLS"),
        "{lines}"
    );
    assert!(
        lines.ends_with("b BAD not authenticated\r\n"),
        "the injected LOGIN did not log the session in: {lines}"
    );
    assert!(
        rig.messages("alice")[0].flags.is_empty(),
        "the injected STORE did not run"
    );
}

/// `COPY 1:* INBOX` thirty times would make 2^30 entries; with the rig's limit at 1000 the
/// copy that would pass it and every later one get `NO [LIMIT]`, and INBOX stays at 512.
#[test]
fn imap_a_doubling_copy_loop_stops_at_the_message_limit() {
    let builder = mailrig::Rig::builder()
        .imap(|o| o.config.login_disabled_before_tls = false)
        .max_messages_per_mailbox(1000);
    let rig = Rig::start(builder).expect("rig");
    rig.store()
        .deliver("alice", &b"Subject: x\r\n\r\nx\r\n"[..], 0)
        .expect("seed");
    let mut reader = imap_connect(&rig);
    imap_login(&mut reader);
    let mut refused = 0;
    for round in 0..30 {
        let tag = format!("c{round}");
        send(&mut reader, format!("{tag} COPY 1:* INBOX\r\n").as_bytes());
        let done = imap_until(&mut reader, &tag);
        if done.starts_with(&format!("{tag} NO [LIMIT] ")) {
            refused += 1;
        } else {
            assert!(done.starts_with(&format!("{tag} OK ")), "{done}");
        }
    }
    assert_eq!(refused, 21, "9 doublings fit under 1000");
    assert_eq!(rig.messages("alice").len(), 512);
}
