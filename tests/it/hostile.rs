//! Hostile SMTP clients over real sockets: STARTTLS command injection, SMTP smuggling, a
//! 10 MB line. Each gets an error or nothing, never a crash, and other sessions go on.

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
    let mut tls = BufReader::new(rustls::StreamOwned::new(connection, c.into_inner()));
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
