//! AUTH: PLAIN, LOGIN, CRAM-MD5, XOAUTH2, OAUTHBEARER, cancel, sequencing, TLS requirement.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use mailrig_smtp::{Config, Extensions, Mechanism};

use crate::support::{Client, STARTTLS};

fn b64(bytes: impl AsRef<[u8]>) -> String {
    STANDARD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    STANDARD.decode(text.trim_end()).expect("base64")
}

#[test]
fn plain_with_initial_response() {
    // RFC 4954 §4, RFC 4616 §2.
    let mut c = Client::plain_auth();
    assert_eq!(
        c.send(format!("AUTH PLAIN {}\r\n", b64("\0alice\0secret"))),
        ["235 2.7.0 Authentication successful\r\n"]
    );
    assert_eq!(c.session.authenticated_as(), Some("alice"));
    // RFC 4954 §4: a second AUTH after success is 503.
    assert_eq!(
        c.codes(format!("AUTH PLAIN {}\r\n", b64("\0bob\0hunter2"))),
        ["503"]
    );
}

#[test]
fn plain_with_wrong_credentials() {
    let mut c = Client::plain_auth();
    assert_eq!(
        c.send(format!("AUTH PLAIN {}\r\n", b64("\0alice\0wrong"))),
        ["535 5.7.8 Authentication credentials invalid\r\n"]
    );
    assert_eq!(
        c.codes(format!("AUTH PLAIN {}\r\n", b64("bob\0alice\0secret"))),
        ["535"]
    );
    assert_eq!(c.session.authenticated_as(), None);
    // Failures can be retried.
    assert_eq!(
        c.codes(format!("AUTH PLAIN {}\r\n", b64("alice\0alice\0secret"))),
        ["235"]
    );
}

#[test]
fn plain_with_empty_challenge() {
    let mut c = Client::plain_auth();
    assert_eq!(c.send("AUTH PLAIN\r\n"), ["334 \r\n"]);
    assert_eq!(c.codes(format!("{}\r\n", b64("\0bob\0hunter2"))), ["235"]);
    // "=" is an empty initial response (RFC 4954 §4): an empty PLAIN message fails.
    let mut c = Client::plain_auth();
    assert_eq!(c.codes("AUTH PLAIN =\r\n"), ["535"]);
}

#[test]
fn login() {
    let mut c = Client::plain_auth();
    assert_eq!(c.send("AUTH LOGIN\r\n"), ["334 VXNlcm5hbWU6\r\n"]);
    assert_eq!(c.send(format!("{}\r\n", b64("alice"))), ["334 UGFzc3dvcmQ6\r\n"]);
    assert_eq!(c.codes(format!("{}\r\n", b64("secret"))), ["235"]);

    let mut c = Client::plain_auth();
    assert_eq!(
        c.send(format!("AUTH LOGIN {}\r\n", b64("alice"))),
        ["334 UGFzc3dvcmQ6\r\n"]
    );
    assert_eq!(c.codes(format!("{}\r\n", b64("wrong"))), ["535"]);
}

fn cram_md5_response(challenge_line: &str, user: &str, secret: &str) -> String {
    let challenge = unb64(challenge_line.strip_prefix("334 ").expect("a challenge"));
    let mut mac = Hmac::<md5::Md5>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(&challenge);
    let digest: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{}\r\n", b64(format!("{user} {digest}")))
}

#[test]
fn cram_md5() {
    // RFC 2195 §2.
    let mut c = Client::plain_auth();
    let challenge = c.send("AUTH CRAM-MD5\r\n");
    assert_eq!(unb64(&challenge[0][4..]), b"<1.0@localhost>");
    assert_eq!(
        c.codes(cram_md5_response(&challenge[0], "bob", "hunter2")),
        ["235"]
    );
    assert_eq!(c.session.authenticated_as(), Some("bob"));

    let mut c = Client::with(Config {
        require_tls_for_auth: false,
        nonce: 77,
        ..Config::default()
    });
    c.ehlo();
    let challenge = c.send("AUTH CRAM-MD5\r\n");
    assert_eq!(c.codes(cram_md5_response(&challenge[0], "bob", "wrong")), ["535"]);
    // Each attempt gets a new challenge.
    let again = c.send("AUTH CRAM-MD5\r\n");
    assert_eq!(unb64(&again[0][4..]), b"<2.77@localhost>");
    assert_eq!(c.codes(cram_md5_response(&again[0], "nobody", "x")), ["535"]);
    // The server speaks first: an initial response is a 501 (RFC 4954 §4).
    assert_eq!(c.codes(format!("AUTH CRAM-MD5 {}\r\n", b64("bob 00"))), ["501"]);
}

#[test]
fn xoauth2() {
    let mut c = Client::plain_auth();
    let ok = b64("user=alice\x01auth=Bearer token-alice\x01\x01");
    assert_eq!(c.codes(format!("AUTH XOAUTH2 {ok}\r\n")), ["235"]);

    let mut c = Client::plain_auth();
    let bad = b64("user=alice\x01auth=Bearer stolen\x01\x01");
    let error = c.send(format!("AUTH XOAUTH2 {bad}\r\n"));
    assert!(
        String::from_utf8(unb64(&error[0][4..]))
            .expect("json")
            .contains("\"status\":\"401\"")
    );
    // The client acknowledges the error with an empty response; then 535.
    assert_eq!(c.codes("\r\n"), ["535"]);
    assert_eq!(c.session.authenticated_as(), None);
}

#[test]
fn oauthbearer() {
    // RFC 7628 §3.1, §3.2.3.
    let mut c = Client::plain_auth();
    assert_eq!(c.send("AUTH OAUTHBEARER\r\n"), ["334 \r\n"]);
    let ok = b64("n,a=bob,\x01host=mx.example.test\x01port=587\x01auth=Bearer token-bob\x01\x01");
    assert_eq!(c.codes(format!("{ok}\r\n")), ["235"]);

    let mut c = Client::plain_auth();
    let bad = b64("n,a=bob,\x01auth=Bearer nope\x01\x01");
    let error = c.send(format!("AUTH OAUTHBEARER {bad}\r\n"));
    assert_eq!(unb64(&error[0][4..]), br#"{"status":"invalid_token"}"#);
    assert_eq!(c.codes(format!("{}\r\n", b64("\x01"))), ["535"]);
}

#[test]
fn star_cancels_and_bad_base64_fails() {
    // RFC 4954 §4: "*" cancels with 501.
    let mut c = Client::plain_auth();
    c.send("AUTH LOGIN\r\n");
    assert_eq!(c.send("*\r\n"), ["501 5.7.0 Authentication canceled\r\n"]);
    assert_eq!(
        c.send("AUTH PLAIN !!!!\r\n"),
        ["501 5.5.2 Cannot Base64-decode client response\r\n"]
    );
    c.send("AUTH PLAIN\r\n");
    assert_eq!(c.codes("not base64\r\n"), ["501"]);
    // Missing padding is only accepted with lenient syntax.
    assert_eq!(
        c.codes(format!(
            "AUTH PLAIN {}\r\n",
            b64("\0alice\0secret!").trim_end_matches('=')
        )),
        ["501"]
    );
    let mut lenient = Client::with(Config {
        require_tls_for_auth: false,
        lenient_syntax: true,
        ..Config::default()
    });
    lenient.ehlo();
    let unpadded = b64("\0alice\0secret").trim_end_matches('=').to_owned();
    assert_eq!(lenient.codes(format!("AUTH PLAIN {unpadded}\r\n")), ["235"]);
    // After all that, the session still works.
    assert_eq!(c.codes("NOOP\r\n"), ["250"]);
}

#[test]
fn auth_sequencing() {
    let mut c = Client::with(Config {
        require_tls_for_auth: false,
        ..Config::default()
    });
    let plain = format!("AUTH PLAIN {}\r\n", b64("\0alice\0secret"));
    // AUTH is an extension: EHLO first.
    assert_eq!(c.send(&plain), ["503 Send EHLO first\r\n"]);
    c.send("HELO client.example.test\r\n");
    assert_eq!(c.codes(&plain), ["503"]);
    c.ehlo();
    // Not during a mail transaction (RFC 4954 §4).
    c.send("MAIL FROM:<>\r\n");
    assert_eq!(
        c.send(&plain),
        ["503 5.5.1 AUTH not permitted during a mail transaction\r\n"]
    );
    c.send("RSET\r\n");
    assert_eq!(
        c.send("AUTH GSSAPI\r\n"),
        ["504 5.5.4 Unrecognized authentication type\r\n"]
    );
    assert_eq!(c.codes("AUTH\r\n"), ["501"]);
    assert_eq!(c.codes(&plain), ["235"]);
}

#[test]
fn mechanisms_can_be_switched_off() {
    let mut c = Client::with(Config {
        require_tls_for_auth: false,
        extensions: Extensions {
            auth: vec![Mechanism::Login],
            ..Extensions::default()
        },
        ..Config::default()
    });
    c.ehlo();
    assert_eq!(
        c.codes(format!("AUTH PLAIN {}\r\n", b64("\0alice\0secret"))),
        ["504"]
    );
    assert_eq!(c.codes("AUTH login\r\n"), ["334"]);
}

#[test]
fn tls_required_for_auth() {
    // RFC 4954 §4 and §6: 538 5.7.11; AUTH not advertised before TLS.
    let mut c = Client::new();
    assert!(!c.ehlo().contains("AUTH"));
    let plain = format!("AUTH PLAIN {}\r\n", b64("\0alice\0secret"));
    assert_eq!(
        c.send(&plain),
        ["538 5.7.11 Encryption required for requested authentication mechanism\r\n"]
    );
    assert_eq!(c.codes("STARTTLS\r\n"), ["220", STARTTLS]);
    c.session.tls_started();
    assert!(
        c.ehlo()
            .contains("250 AUTH PLAIN LOGIN CRAM-MD5 XOAUTH2 OAUTHBEARER\r\n")
    );
    assert_eq!(c.codes(&plain), ["235"]);
}

#[test]
fn long_sasl_responses() {
    // RFC 4954 §4: responses up to 12288 octets; longer ones fail with 500 5.5.6.
    let mut c = Client::plain_auth();
    c.send("AUTH XOAUTH2\r\n");
    let token = "t".repeat(9000);
    let ok = b64(format!("user=alice\x01auth=Bearer {token}\x01\x01"));
    assert!(ok.len() > 12000 && ok.len() + 2 <= 12288);
    assert_eq!(c.codes(format!("{ok}\r\n")), ["334"]);
    c.send("\r\n");
    c.send("AUTH PLAIN\r\n");
    let huge = "A".repeat(20000);
    assert_eq!(
        c.send(format!("{huge}\r\nNOOP\r\n")),
        [
            "500 5.5.6 Authentication Exchange line is too long\r\n",
            "250 2.0.0 Ok\r\n"
        ]
    );
}

#[test]
fn long_initial_response_needs_lenient_syntax() {
    // RFC 4954 §4: the AUTH command line obeys the command line limit; clients that send long
    // XOAUTH2 tokens as initial responses anyway are accepted with lenient syntax.
    let line = format!(
        "AUTH XOAUTH2 {}\r\n",
        b64("user=alice\x01auth=Bearer token-alice\x01\x01")
    );
    let long = format!(
        "AUTH XOAUTH2 {}\r\n",
        b64(format!("user=alice\x01auth=Bearer {}\x01\x01", "x".repeat(2000)))
    );
    let mut strict = Client::plain_auth();
    assert_eq!(strict.codes(&long), ["500"]);
    assert_eq!(strict.codes(&line), ["235"]);
    let mut lenient = Client::with(Config {
        require_tls_for_auth: false,
        lenient_syntax: true,
        ..Config::default()
    });
    lenient.ehlo();
    assert_eq!(lenient.codes(&long), ["334"]);
    assert_eq!(lenient.codes("\r\n"), ["535"]);
    // Other verbs keep the normal limit.
    assert_eq!(lenient.codes(format!("NOOP {}\r\n", "x".repeat(2000))), ["500"]);
}
