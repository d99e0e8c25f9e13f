//! STARTTLS (RFC 3207) and implicit TLS (RFC 8314).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use mailrig_smtp::{Config, Extensions};

use crate::support::{Client, STARTTLS};

#[test]
fn starttls_then_a_fresh_session() {
    let mut c = Client::new();
    assert!(c.ehlo().contains("250 STARTTLS\r\n"));
    assert_eq!(
        c.send("STARTTLS\r\n"),
        ["220 2.0.0 Ready to start TLS\r\n", STARTTLS]
    );
    assert!(!c.session.is_tls());
    c.session.tls_started();
    assert!(c.session.is_tls());
    // RFC 3207 §4.2: back to the initial state; EHLO no longer lists STARTTLS.
    assert_eq!(c.send("MAIL FROM:<>\r\n"), ["503 Send HELO/EHLO first\r\n"]);
    let ehlo = c.ehlo();
    assert!(!ehlo.contains("STARTTLS"), "{ehlo}");
    assert_eq!(c.send("STARTTLS\r\n"), ["503 5.5.1 TLS already active\r\n"]);
    c.send("MAIL FROM:<>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nx\r\n.\r\n");
    assert!(c.backend.delivered[0].tls);
}

#[test]
fn plaintext_pipelined_after_starttls_is_never_executed() {
    // CVE-2011-0411: a command injected behind STARTTLS in the same segment.
    let mut c = Client::new();
    c.ehlo();
    let injected = "MAIL FROM:<evil@example.test>\r\nRCPT TO:<alice@example.test>\r\nNOOP\r\nNO";
    assert_eq!(
        c.send(format!("STARTTLS\r\n{injected}")),
        ["220 2.0.0 Ready to start TLS\r\n", STARTTLS]
    );
    // More plaintext before the handshake completes: discarded too.
    assert!(c.send("OP\r\n").is_empty());
    assert_eq!(c.session.discarded_after_starttls(), injected.len() + 4);
    c.session.tls_started();
    // Inside TLS the first reply answers EHLO, and no transaction was started.
    let ehlo = c.ehlo();
    assert!(ehlo.starts_with("250-localhost\r\n"), "{ehlo}");
    assert_eq!(c.codes("RCPT TO:<alice@example.test>\r\n"), ["503"]);
}

#[test]
fn authentication_is_forgotten_after_starttls() {
    let mut c = Client::plain_auth();
    let plain = format!("AUTH PLAIN {}\r\n", STANDARD.encode("\0alice\0secret"));
    assert_eq!(c.codes(&plain), ["235"]);
    assert_eq!(c.codes("STARTTLS\r\n"), ["220", STARTTLS]);
    c.session.tls_started();
    assert_eq!(c.session.authenticated_as(), None);
    c.ehlo();
    assert_eq!(c.codes(&plain), ["235"]);
}

#[test]
fn when_starttls_is_refused() {
    let mut c = Client::new();
    c.ehlo();
    c.send("MAIL FROM:<>\r\n");
    assert_eq!(
        c.send("STARTTLS\r\n"),
        ["503 5.5.1 STARTTLS not permitted during a mail transaction\r\n"]
    );
    // RFC 3207 §4: parameters are a syntax error.
    assert_eq!(c.codes("RSET\r\nSTARTTLS now\r\n"), ["250", "501"]);

    let mut c = Client::with(Config {
        tls_available: false,
        ..Config::default()
    });
    assert!(!c.ehlo().contains("STARTTLS"));
    assert_eq!(
        c.send("STARTTLS\r\n"),
        ["454 4.7.0 TLS not available due to temporary reason\r\n"]
    );

    let mut c = Client::with(Config {
        extensions: Extensions {
            starttls: false,
            ..Extensions::default()
        },
        ..Config::default()
    });
    assert!(!c.ehlo().contains("STARTTLS"));
    assert_eq!(c.codes("STARTTLS\r\n"), ["502"]);
}

#[test]
fn starttls_without_ehlo_is_allowed() {
    let mut c = Client::new();
    assert_eq!(c.send("STARTTLS\r\n"), ["220 Ready to start TLS\r\n", STARTTLS]);
}

#[test]
fn implicit_tls() {
    // RFC 8314 §3.3: TLS from the start; no STARTTLS; AUTH offered.
    let mut c = Client::with(Config {
        implicit_tls: true,
        ..Config::default()
    });
    assert!(c.session.is_tls());
    let ehlo = c.ehlo();
    assert!(!ehlo.contains("STARTTLS"), "{ehlo}");
    assert!(ehlo.contains("AUTH PLAIN"), "{ehlo}");
    assert_eq!(c.codes("STARTTLS\r\n"), ["503"]);
    // A driver that reports the implicit handshake changes nothing.
    c.session.tls_started();
    assert_eq!(c.codes("NOOP\r\n"), ["250"]);
}
