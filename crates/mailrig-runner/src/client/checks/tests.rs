//! Tests of the transcript checks: each passes on a well-behaved session and fails, with an
//! excerpt, on the deliberately broken one.

use std::time::Duration;

use mailrig_transcript::scenario::Protocol;

use super::*;

/// A session from `(side, bytes)` writes; `None` marks the TLS handshake.
fn session(protocol: Protocol, writes: &[Option<(Side, &str)>]) -> Transcript {
    let mut record = SessionRecord::new("s1", protocol);
    for write in writes {
        match write {
            Some((side, bytes)) => record.data(Duration::ZERO, *side, bytes.as_bytes()),
            None => record.tls_started(Duration::ZERO),
        };
    }
    Transcript {
        sessions: vec![record],
    }
}

const C: Side = Side::Client;
const S: Side = Side::Server;

fn expect(message: Option<&'static [u8]>, flags: &'static [&'static str]) -> Expect<'static> {
    Expect {
        login: "alice",
        password: "secret",
        message,
        store_flags: flags,
    }
}

fn names(findings: &[Finding]) -> Vec<&'static str> {
    findings.iter().map(|f| f.check).collect()
}

const MESSAGE: &[u8] = b"Subject: x\r\n\r\n.dot\r\n";

fn smtp_send(data: &str, tls: bool) -> Transcript {
    let mut writes = vec![
        Some((S, "220 hi\r\n")),
        Some((C, "EHLO me\r\n")),
        Some((S, "250-hi\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n")),
    ];
    if tls {
        writes.extend([Some((C, "STARTTLS\r\n")), Some((S, "220 go\r\n")), None]);
    }
    writes.extend([
        Some((C, "AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n")),
        Some((S, "235 ok\r\n")),
        Some((C, "MAIL FROM:<a@x>\r\n")),
        Some((S, "250 ok\r\n")),
        Some((C, "RCPT TO:<b@x>\r\n")),
        Some((S, "250 ok\r\n")),
        Some((C, "DATA\r\n")),
        Some((S, "354 go\r\n")),
        Some((C, data)),
        Some((S, "250 stored\r\n")),
        Some((C, "QUIT\r\n")),
        Some((S, "221 bye\r\n")),
    ]);
    session(Protocol::Submission, &writes)
}

#[test]
fn a_well_behaved_smtp_client_passes() {
    let findings = check(
        &smtp_send("Subject: x\r\n\r\n..dot\r\n.\r\n", true),
        &expect(Some(MESSAGE), &[]),
    );
    assert_eq!(findings, []);
}

#[test]
fn auth_before_starttls_is_caught_with_an_excerpt() {
    let findings = check(
        &smtp_send("Subject: x\r\n\r\n..dot\r\n.\r\n", false),
        &expect(Some(MESSAGE), &[]),
    );
    assert_eq!(
        names(&findings),
        ["starttls-before-auth", "no-cleartext-credentials"]
    );
    let shown = &findings[0].explanation;
    assert!(shown.contains("sent AUTH before STARTTLS"), "{shown}");
    assert!(
        shown.contains("  > C: AUTH PLAIN AGFsaWNlAHNlY3JldA==\n"),
        "{shown}"
    );
    assert!(shown.contains("    S: 250-STARTTLS\n"), "{shown}");
}

#[test]
fn a_missing_dot_stuffing_is_caught() {
    let findings = check(
        &smtp_send("Subject: x\r\n\r\n.dot\r\n.\r\n", true),
        &expect(Some(MESSAGE), &[]),
    );
    assert_eq!(names(&findings), ["dot-stuffing"]);
    let shown = &findings[0].explanation;
    assert!(shown.contains("line 3 of the message starts with `.`"), "{shown}");
    assert!(shown.contains("  > C: .dot    (message content)"), "{shown}");
}

#[test]
fn content_before_354_is_caught() {
    let transcript = session(
        Protocol::Smtp,
        &[
            Some((S, "220 hi\r\n")),
            Some((
                C,
                "HELO me\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\nSubject: x\r\n\r\nbody\r\n.\r\n",
            )),
            Some((S, "250 hi\r\n250 ok\r\n250 ok\r\n354 go\r\n250 stored\r\n")),
        ],
    );
    let findings = check(&transcript, &expect(None, &[]));
    assert_eq!(names(&findings), ["data-after-354"]);
    assert!(
        findings[0]
            .explanation
            .contains("  > C: Subject: x    (message content)"),
        "{findings:?}"
    );
}

#[test]
fn commands_after_quit_are_caught() {
    let transcript = session(
        Protocol::Smtp,
        &[
            Some((S, "220 hi\r\n")),
            Some((C, "QUIT\r\n")),
            Some((S, "221 bye\r\n")),
            Some((C, "NOOP\r\n")),
        ],
    );
    let findings = check(&transcript, &expect(None, &[]));
    assert_eq!(names(&findings), ["nothing-after-quit"]);
    assert!(findings[0].explanation.contains("  > C: NOOP"), "{findings:?}");
}

fn imap(writes: &[Option<(Side, &str)>]) -> Transcript {
    let mut all = vec![Some((
        S,
        "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] hi\r\n",
    ))];
    all.extend_from_slice(writes);
    session(Protocol::Imap, &all)
}

#[test]
fn imap_literals_must_wait_for_the_continuation() {
    let good = imap(&[
        Some((C, "a STARTTLS\r\n")),
        Some((S, "a OK go\r\n")),
        None,
        Some((C, "b LOGIN {5}\r\n")),
        Some((S, "+ go on\r\n")),
        Some((C, "alice secret\r\n")),
        Some((S, "b OK in\r\n")),
        Some((C, "c APPEND INBOX {3+}\r\nabc\r\n")),
        Some((S, "c OK done\r\n")),
    ]);
    assert_eq!(check(&good, &expect(None, &[])), []);
    let bad = imap(&[
        Some((C, "a STARTTLS\r\n")),
        Some((S, "a OK go\r\n")),
        None,
        Some((C, "b LOGIN {5}\r\nalice secret\r\n")),
        Some((S, "+ go on\r\nb OK in\r\n")),
    ]);
    let findings = check(&bad, &expect(None, &[]));
    assert_eq!(names(&findings), ["literal-after-continuation"]);
    assert!(
        findings[0].explanation.contains("  > C: {literal, 5 bytes}"),
        "{findings:?}"
    );
}

#[test]
fn imap_login_in_clear_is_caught() {
    let bad = imap(&[
        Some((C, "a LOGIN alice secret\r\n")),
        Some((S, "a NO [PRIVACYREQUIRED] no\r\n")),
    ]);
    let findings = check(&bad, &expect(None, &[]));
    assert_eq!(
        names(&findings),
        ["starttls-before-auth", "no-cleartext-credentials"]
    );
}

#[test]
fn store_may_set_only_the_flags_the_flow_asks_for() {
    let tls = [Some((C, "a STARTTLS\r\n")), Some((S, "a OK go\r\n")), None];
    let mut good = tls.to_vec();
    good.extend([
        Some((C, "b UID STORE 1 +FLAGS.SILENT (\\Seen)\r\n")),
        Some((S, "b OK\r\n")),
    ]);
    assert_eq!(check(&imap(&good), &expect(None, &["\\Seen"])), []);
    let mut bad = tls.to_vec();
    bad.extend([
        Some((C, "b STORE 1 +FLAGS (\\Seen \\Flagged)\r\n")),
        Some((S, "b OK\r\n")),
    ]);
    let findings = check(&imap(&bad), &expect(None, &["\\Seen"]));
    assert_eq!(names(&findings), ["store-flags"]);
    assert!(
        findings[0].explanation.contains("[\"\\\\FLAGGED\"]"),
        "{findings:?}"
    );
}
