//! The live recorder against byte streams written by hand: each output must parse as a
//! scenario and say what crossed the wire.

use mailrig_transcript::scenario::{Protocol, Side};

use super::*;
use crate::record::assemble::MemorySink;
use crate::record::auth_plain;

fn recorder(protocol: Protocol) -> Recorder {
    Recorder::new(RecorderOptions {
        name: "t".into(),
        comments: vec!["recorded in a test".into()],
        protocol,
        redact: true,
        generalize: false,
    })
}

/// Plays `(session, side, bytes)` writes and returns the whole file text.
fn record(protocol: Protocol, redact: bool, writes: &[(usize, Side, &[u8])]) -> (String, MemorySink) {
    let mut r = recorder(protocol);
    r.options.redact = redact;
    let mut sink = MemorySink::default();
    let sessions = writes.iter().map(|w| w.0).max().unwrap_or(0) + 1;
    for _ in 0..sessions {
        r.open();
    }
    let mut body = String::new();
    for (session, side, bytes) in writes {
        r.data(*session, *side, bytes, &mut sink);
        body.push_str(&r.take_text());
    }
    r.closed(0, Side::Client, &mut sink);
    body.push_str(&r.take_text());
    (r.header() + &body, sink)
}

fn parses(text: &str) {
    if let Err(e) = mailrig_transcript::parse("rec.scenario", text) {
        panic!("{e}\n{text}");
    }
}

#[test]
fn an_imap_session_becomes_a_scenario_with_credentials_as_variables() {
    let (text, _) = record(
        Protocol::Imap,
        true,
        &[
            (0, Side::Server, b"* OK ready\r\n"),
            (0, Side::Client, b"a1 LOGIN alice secret\r\n"),
            (0, Side::Server, b"a1 OK done\r\n"),
            (0, Side::Client, b"a2 APPEND INBOX {8}\r\n"),
            (0, Side::Server, b"+ go\r\n"),
            (0, Side::Client, b"Hi\r\nyo\r\n\r\n"),
            (0, Side::Server, b"a2 OK [APPENDUID 1 1] done\r\n"),
        ],
    );
    parses(&text);
    assert_eq!(
        text,
        "# recorded in a test\nname: t\nsessions: s1=imap\nplays: both\n\n\
         s1 S: * OK ready\n\n\
         s1 C: a1 LOGIN ${user} ${password}\ns1 S: a1 OK done\n\n\
         s1 C: a2 APPEND INBOX {{{\nHi\nyo\n}}}\n\
         s1 S: a2 OK [APPENDUID 1 1] done\n\
         s1 @close client\n"
    );
    assert!(!text.contains("secret"));
}

#[test]
fn without_redaction_the_credentials_stay() {
    let (text, _) = record(
        Protocol::Imap,
        false,
        &[(0, Side::Client, b"a1 LOGIN alice secret\r\n")],
    );
    assert!(text.contains("s1 C: a1 LOGIN alice secret\n"), "{text}");
}

#[test]
fn smtp_auth_plain_becomes_a_run_variable_and_other_sasl_lines_declared_ones() {
    let plain = format!("AUTH PLAIN {}\r\n", auth_plain("bob", "pw"));
    let (text, _) = record(
        Protocol::Submission,
        true,
        &[
            (0, Side::Server, b"220 hi\r\n"),
            (0, Side::Client, plain.as_bytes()),
            (0, Side::Server, b"235 2.7.0 ok\r\n"),
            (0, Side::Client, b"AUTH LOGIN\r\n"),
            (0, Side::Server, b"334 VXNlcm5hbWU6\r\n"),
            (0, Side::Client, b"Ym9i\r\n"),
        ],
    );
    parses(&text);
    assert!(text.contains("vars: sasl1=redacted\n"), "{text}");
    assert!(text.contains("s1 C: AUTH PLAIN ${auth_plain}\n"), "{text}");
    assert!(text.contains("s1 C: ${sasl1}\n"), "{text}");
    assert!(!text.contains(&auth_plain("bob", "pw")));
}

#[test]
fn a_binary_or_large_literal_goes_to_a_file() {
    let big = vec![b'z'; crate::record::assemble::SMALL_LITERAL + 10];
    let head = format!("* 1 FETCH (BODY[] {{{}}}\r\n", big.len());
    let (text, sink) = record(
        Protocol::Imaps,
        true,
        &[
            (0, Side::Server, head.as_bytes()),
            (0, Side::Server, &big),
            (0, Side::Server, b")\r\n* 2 FETCH (BODY[] {2}\r\n\x00\x01)\r\n"),
        ],
    );
    parses(&text);
    assert!(
        text.contains("s1 S: * 1 FETCH (BODY[] {{{file:lit/1.bin}}})\n"),
        "{text}"
    );
    assert!(
        text.contains("s1 S: * 2 FETCH (BODY[] {{{file:lit/2.bin}}})\n"),
        "{text}"
    );
    assert_eq!(sink.files[0].1, big);
    assert_eq!(sink.files[1].1, b"\x00\x01");
}

#[test]
fn sessions_are_prefixed_and_a_refused_literal_is_kept_as_sent() {
    let (text, _) = record(
        Protocol::Imap,
        true,
        &[
            (0, Side::Client, b"a1 APPEND x {3}\r\n"),
            (1, Side::Client, b"b1 NOOP\r\n"),
            (0, Side::Server, b"a1 NO [TOOBIG] no\r\n"),
            (0, Side::Client, b"a2 LOGOUT\r\n"),
        ],
    );
    parses(&text);
    assert!(text.contains("sessions: s1=imap, s2=imap\n"), "{text}");
    assert!(
        text.contains("s1 C: a1 APPEND x {3}\ns1 S: a1 NO [TOOBIG] no\n\ns1 C: a2 LOGOUT\n"),
        "{text}"
    );
}
