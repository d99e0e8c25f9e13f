//! AUTHENTICATE (PLAIN, LOGIN, XOAUTH2, OAUTHBEARER; with and without SASL-IR), LOGINDISABLED
//! and STARTTLS.

use super::*;

/// CAPABILITY once logged in, with the default configuration.
const AUTHED_CAPS: &str = "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR UIDPLUS UNSELECT IDLE MOVE ID \
                           NAMESPACE ENABLE SPECIAL-USE CONDSTORE QRESYNC ESEARCH LIST-EXTENDED LIST-STATUS APPENDLIMIT=33554432 COMPRESS=DEFLATE SORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES ESORT CONTEXT=SEARCH CONTEXT=SORT MULTIAPPEND BINARY CATENATE QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE OBJECTID NOTIFY STATUS=SIZE";

/// base64 of `{"status":"401","schemes":"Bearer","scope":"https://mail.google.com/"}`.
const XOAUTH2_ERROR: &str =
    "eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==";

fn fresh(config: Config) -> Session {
    let mut session = Session::new(config, store());
    drain(&mut session);
    session
}

fn with_tokens() -> Config {
    Config {
        tokens: [("alice".to_owned(), "tok-a".to_owned())].into(),
        ..Config::default()
    }
}

#[test]
fn plain_with_and_without_initial_response() {
    let mut session = fresh(Config::default());
    // RFC 4959 §3: `=` is an empty initial response (here an invalid PLAIN message).
    assert_eq!(
        exchange(&mut session, b"a AUTHENTICATE PLAIN =\r\n"),
        "a BAD invalid PLAIN message\r\n"
    );
    assert_eq!(exchange(&mut session, b"b AUTHENTICATE PLAIN\r\n"), "+ \r\n");
    assert_eq!(
        exchange(&mut session, b"AGFsaWNlAHNlY3JldA==\r\n"),
        format!("b OK [CAPABILITY {AUTHED_CAPS}] AUTHENTICATE completed\r\n")
    );
    // Without SASL-IR, an initial response is a syntax error; the continuation still works.
    let config = Config {
        extensions: Extensions {
            sasl_ir: false,
            ..Extensions::default()
        },
        ..Config::default()
    };
    let mut session = fresh(config);
    assert_eq!(
        exchange(
            &mut session,
            b"c AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\nd AUTHENTICATE PLAIN\r\n"
        ),
        "c BAD invalid arguments\r\n+ \r\n"
    );
    let text = exchange(&mut session, b"AGFsaWNlAHNlY3JldA==\r\n");
    assert!(
        text.starts_with("d OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ UIDPLUS "),
        "{text}"
    );
}

#[test]
fn xoauth2_with_mock_tokens() {
    // No token entry: the password is the token.
    let mut session = fresh(Config::default());
    assert_eq!(
        exchange(
            &mut session,
            b"a AUTHENTICATE XOAUTH2 dXNlcj1hbGljZQFhdXRoPUJlYXJlciBzZWNyZXQBAQ==\r\n"
        ),
        format!("a OK [CAPABILITY {AUTHED_CAPS}] AUTHENTICATE completed\r\n")
    );
    // With an entry, only that token: the password now fails with the JSON error challenge,
    // the client answers with an empty line, and the command fails.
    let mut session = fresh(with_tokens());
    assert_eq!(
        exchange(
            &mut session,
            b"b AUTHENTICATE XOAUTH2 dXNlcj1hbGljZQFhdXRoPUJlYXJlciBzZWNyZXQBAQ==\r\n"
        ),
        format!("+ {XOAUTH2_ERROR}\r\n")
    );
    assert_eq!(
        exchange(&mut session, b"\r\n"),
        "b NO [AUTHENTICATIONFAILED] invalid token\r\n"
    );
    // Without an initial response: an empty challenge first.
    assert_eq!(exchange(&mut session, b"c AUTHENTICATE XOAUTH2\r\n"), "+ \r\n");
    assert_eq!(
        exchange(&mut session, b"dXNlcj1hbGljZQFhdXRoPUJlYXJlciB0b2stYQEB\r\n"),
        format!("c OK [CAPABILITY {AUTHED_CAPS}] AUTHENTICATE completed\r\n")
    );
}

#[test]
fn oauthbearer_and_cancellation() {
    let mut session = fresh(with_tokens());
    // RFC 7628 §3.2.2: the error challenge; the client cancels with `*`.
    assert_eq!(
        exchange(
            &mut session,
            b"a AUTHENTICATE OAUTHBEARER bixhPWFsaWNlLAFhdXRoPUJlYXJlciBzZWNyZXQBAQ==\r\n"
        ),
        "+ eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIn0=\r\n"
    );
    assert_eq!(
        exchange(&mut session, b"*\r\n"),
        "a BAD AUTHENTICATE cancelled\r\n"
    );
    // The same, answered with %x01 as RFC 7628 §3.2.3 says.
    exchange(
        &mut session,
        b"b AUTHENTICATE OAUTHBEARER bixhPWFsaWNlLAFhdXRoPUJlYXJlciBzZWNyZXQBAQ==\r\n",
    );
    assert_eq!(
        exchange(&mut session, b"AQ==\r\n"),
        "b NO [AUTHENTICATIONFAILED] invalid token\r\n"
    );
    // A malformed message, and bad base64, fail at once.
    assert_eq!(
        exchange(
            &mut session,
            b"c AUTHENTICATE OAUTHBEARER AQ==\r\nd AUTHENTICATE XOAUTH2 !!\r\n"
        ),
        "c NO [AUTHENTICATIONFAILED] invalid OAuth message\r\nd BAD invalid base64\r\n"
    );
    assert_eq!(
        exchange(&mut session, b"e AUTHENTICATE CRAM-MD5\r\n"),
        "e NO [CANNOT] unsupported mechanism\r\n"
    );
    assert_eq!(
        exchange(
            &mut session,
            b"f AUTHENTICATE OAUTHBEARER bixhPWFsaWNlLAFob3N0PWltYXAuZXhhbXBsZS50ZXN0AXBvcnQ9MTQzAWF1dGg9QmVhcmVyIHRvay1hAQE=\r\n"
        ),
        format!("f OK [CAPABILITY {AUTHED_CAPS}] AUTHENTICATE completed\r\n")
    );
    // A token entry for a user the store does not know logs nobody in.
    let config = Config {
        tokens: [("carol".to_owned(), "tok-c".to_owned())].into(),
        ..Config::default()
    };
    let mut session = fresh(config);
    // "user=carol\x01auth=Bearer tok-c\x01\x01"
    let text = exchange(
        &mut session,
        b"g AUTHENTICATE XOAUTH2 dXNlcj1jYXJvbAFhdXRoPUJlYXJlciB0b2stYwEB\r\n",
    );
    assert_eq!(text, format!("+ {XOAUTH2_ERROR}\r\n"));
}

#[test]
fn login_disabled_hides_and_refuses_every_mechanism() {
    let config = Config {
        login_disabled_before_tls: true,
        ..Config::default()
    };
    let mut session = Session::new(config, store());
    let text = exchange(
        &mut session,
        b"a AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\nb AUTHENTICATE XOAUTH2\r\n",
    );
    assert!(
        text.starts_with("* OK [CAPABILITY IMAP4rev1 IMAP4rev2 ")
            && text.contains(" STATUS=SIZE STARTTLS LOGINDISABLED] mailrig ready\r\n"),
        "{text}"
    );
    assert!(!text.contains("AUTH="), "{text}");
    assert!(
        text.ends_with(
            "a NO [PRIVACYREQUIRED] authentication is disabled before STARTTLS\r\n\
             b NO [PRIVACYREQUIRED] authentication is disabled before STARTTLS\r\n"
        ),
        "{text}"
    );
}

#[test]
fn plaintext_after_starttls_is_never_executed() {
    let mut session = fresh(Config::default());
    // A whole pipelined command and the start of another, in the same read as STARTTLS.
    assert_eq!(
        exchange(&mut session, b"a STARTTLS\r\nb LOGIN alice secret\r\nc LOG"),
        "a OK Begin TLS negotiation now\r\n<STARTTLS>"
    );
    session.tls_started();
    assert_eq!(
        exchange(&mut session, b"d NOOP\r\ne CAPABILITY\r\n"),
        "d OK NOOP completed\r\n* CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR UIDPLUS UNSELECT IDLE MOVE ID \
         NAMESPACE ENABLE SPECIAL-USE CONDSTORE QRESYNC ESEARCH LIST-EXTENDED LIST-STATUS APPENDLIMIT=33554432 COMPRESS=DEFLATE SORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES ESORT CONTEXT=SEARCH CONTEXT=SORT MULTIAPPEND BINARY CATENATE QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE OBJECTID NOTIFY STATUS=SIZE AUTH=PLAIN AUTH=LOGIN AUTH=XOAUTH2 \
         AUTH=OAUTHBEARER\r\ne OK CAPABILITY completed\r\n"
    );
}

#[test]
fn preauth_greeting() {
    let config = Config {
        preauth: Some("alice".to_owned()),
        ..Config::default()
    };
    let mut session = Session::new(config, store());
    assert_eq!(
        exchange(&mut session, b"a SELECT INBOX\r\n").lines().next(),
        Some(format!("* PREAUTH [CAPABILITY {AUTHED_CAPS}] mailrig ready").as_str())
    );
}
