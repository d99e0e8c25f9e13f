//! Recording: a transcript printed as a scenario reads like a hand-written one, and verifies
//! against the very transcript it came from.

use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::scenario::Protocol;
use crate::transcript::SessionRecord;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn sample() -> Transcript {
    let mut a = SessionRecord::new("a", Protocol::Imap);
    a.data(
        ms(0),
        Side::Server,
        &b"* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n"[..],
    )
    .data(ms(1), Side::Client, &b"A001 STARTTLS\r\n"[..])
    .data(ms(2), Side::Server, &b"A001 OK Begin TLS\r\n"[..])
    .tls_started(ms(3))
    .data(ms(4), Side::Client, &b"A002 LOGIN alice secret\r\n"[..])
    .data(ms(5), Side::Server, &b"A002 OK Logged in\r\n"[..])
    .data(ms(6), Side::Client, &b"A003 APPEND INBOX {13}\r\n"[..])
    .data(ms(7), Side::Server, &b"+ Ready\r\n"[..])
    .data(ms(8), Side::Client, &b"Subject: hi\r\n\r\n"[..])
    .data(
        ms(9),
        Side::Server,
        &b"A003 OK [APPENDUID 1764100000 7] Append completed\r\n"[..],
    )
    .data(
        ms(10),
        Side::Client,
        &b"A004 FETCH 1 (INTERNALDATE BODY[])\r\n"[..],
    )
    .data(
        ms(11),
        Side::Server,
        &b"* 1 FETCH (INTERNALDATE \"26-Nov-2026 19:31:41 +0000\" BODY[] {13}\r\nSubject: hi\r\n)\r\n"[..],
    )
    .data(ms(11), Side::Server, &b"A004 OK done\r\n"[..])
    .data(ms(12), Side::Client, &b"A005 LOG"[..])
    .data(ms(13), Side::Client, &b"OUT\r\n"[..])
    .data(ms(14), Side::Server, &b"* BYE\r\nA005 OK bye\r\n"[..])
    .closed(ms(15), Side::Server);
    let mut s = SessionRecord::new("s", Protocol::Smtp);
    s.data(ms(0), Side::Server, &b"220 mx.example.test ESMTP\r\n"[..])
        .data(
            ms(1),
            Side::Client,
            &b"MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n"[..],
        )
        .data(ms(1), Side::Client, &b"DATA\r\n"[..])
        .data(ms(2), Side::Server, &b"250 ok\r\n250 ok\r\n354 go\r\n"[..])
        .data(
            ms(3),
            Side::Client,
            &b"Date: Thu, 26 Nov 2026 19:31:41 +0000\r\n\r\n..dot\x00\r\n.\r\n"[..],
        )
        .data(
            ms(4),
            Side::Server,
            &b"250 2.0.0 queued on 127.0.0.1:2525\r\n"[..],
        )
        .data(ms(5), Side::Client, &b"AUTH LOGIN\r\n"[..])
        .data(ms(6), Side::Server, &b"334 VXNlcm5hbWU6\r\n"[..])
        .data(ms(7), Side::Client, &b"YWxpY2U=\r\n"[..])
        .data(ms(8), Side::Server, &b"334 UGFzc3dvcmQ6\r\n"[..])
        .data(ms(9), Side::Client, &b"c2VjcmV0\r\n"[..])
        .data(ms(10), Side::Server, &b"235 2.7.0 ok\r\n"[..])
        .data(ms(11), Side::Client, &b"NOOP\r\n"[..]);
    Transcript { sessions: vec![a, s] }
}

#[test]
fn recording_reads_like_a_scenario() {
    let text = print_transcript(
        &sample(),
        &RecordOptions {
            name: "recorded".into(),
            redact: false,
            redact_credentials: false,
        },
    );
    insta::assert_snapshot!(text);
}

#[test]
fn recording_verifies_against_its_own_transcript() {
    let transcript = sample();
    let text = print_transcript(
        &transcript,
        &RecordOptions {
            name: "recorded".into(),
            redact: false,
            redact_credentials: false,
        },
    );
    let scenario = crate::parse("recorded.scenario", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let report = crate::verify(&scenario, &transcript, &BTreeMap::new()).expect("verifiable");
    assert!(
        report.passed(),
        "{}",
        crate::report::render(&report, "recorded.scenario", &text)
    );
}

#[test]
fn redacted_recording_is_stable() {
    let text = print_transcript(
        &sample(),
        &RecordOptions {
            name: "recorded".into(),
            redact: true,
            redact_credentials: true,
        },
    );
    insta::assert_snapshot!(text);
    assert!(!text.contains("secret"));
    assert!(!text.contains("c2VjcmV0"));
    assert!(text.contains("s C: NOOP"));
    assert!(!text.contains("1764100000"));
    assert!(!text.contains("2525"));
}

#[test]
fn binary_literal_stays_escaped_and_keeps_its_continuation() {
    let mut a = SessionRecord::new("a", Protocol::Imap);
    a.data(ms(0), Side::Client, &b"A1 APPEND INBOX {3}\r\n"[..])
        .data(ms(1), Side::Server, &b"+ go\r\n"[..])
        .data(ms(2), Side::Client, &b"a\nb\r\n"[..])
        .data(ms(3), Side::Server, &b"A1 OK done\r\n"[..]);
    let transcript = Transcript { sessions: vec![a] };
    let text = print_transcript(
        &transcript,
        &RecordOptions {
            name: "bin".into(),
            redact: false,
            redact_credentials: false,
        },
    );
    assert_eq!(
        text,
        "name: bin\nsessions: a=imap\n\nS: + go\nC: A1 APPEND INBOX {3}${\\r\\n}a${\\n}b\nS: A1 OK done\n"
    );
    let scenario = crate::parse("bin", &text).expect("parses");
    assert!(
        crate::verify(&scenario, &transcript, &BTreeMap::new())
            .expect("verifiable")
            .passed()
    );
}

#[test]
fn credentials_only_redaction_keeps_everything_else_exact() {
    let options = RecordOptions {
        name: "r".into(),
        redact: false,
        redact_credentials: true,
    };
    let text = print_transcript(&sample(), &options);
    assert!(text.contains("a C: A002 LOGIN ${_}"), "{text}");
    assert!(!text.contains("c2VjcmV0"), "{text}");
    assert!(text.contains("a C: A001 STARTTLS"), "tags stay");
    assert!(text.contains("APPENDUID 1764100000 7"), "other values stay");
    let scenario = crate::parse("r.scenario", &text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(scenario.header.plays, Some(crate::scenario::Role::Server));
}
