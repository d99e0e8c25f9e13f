//! The `Rig` API as a test author uses it: fixtures, waiting for mail, redacted transcripts.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::time::Duration;

use mailrig::blocking::Rig;

fn fixtures() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures"))
}

fn smtp_exchange(rig: &Rig, commands: &[u8]) {
    let mut smtp = BufReader::new(std::net::TcpStream::connect(rig.smtp_addr()).expect("connect"));
    smtp.get_mut().write_all(commands).expect("write");
    let mut line = String::new();
    while smtp.read_line(&mut line).expect("read") > 0 {}
}

#[test]
fn a_fixture_seeds_users_mailboxes_and_messages() {
    let rig = Rig::start(mailrig::Rig::builder().fixture(fixtures().join("stores/basic.toml"))).expect("rig");
    let inbox = rig.messages("alice");
    assert_eq!(inbox.len(), 2);
    assert_eq!(
        &*inbox[0].raw,
        &std::fs::read(fixtures().join("messages/hello.eml")).expect("eml")[..]
    );
    assert!(inbox[0].flags.contains("\\Seen"));
    assert!(inbox[1].uid > inbox[0].uid);
    let archive = rig.store().messages("alice", "Archive/2026").expect("archive");
    assert_eq!(archive.messages.len(), 1);
    assert!(rig.store().authenticate("bob", "secret"));
    assert_eq!(
        rig.store().resolve("postmaster@example.test").as_deref(),
        Some("bob")
    );
}

#[test]
fn a_broken_fixture_is_an_error_with_its_position() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[[users]]\nlogin = \"a\"\npasword = \"x\"\n").expect("write");
    let error = Rig::start(mailrig::Rig::builder().fixture(&path)).expect_err("refused");
    assert!(error.to_string().contains("line 3"), "{error}");
}

#[test]
fn wait_for_message_times_out_with_an_error() {
    let rig = Rig::start(mailrig::Rig::builder()).expect("rig");
    let error = rig
        .wait_for_message(|_| true, Duration::from_millis(50))
        .expect_err("nothing arrives");
    assert!(error.to_string().contains("no matching message"));
}

#[test]
fn wait_for_message_skips_messages_that_do_not_match() {
    let rig = Rig::start(mailrig::Rig::builder()).expect("rig");
    smtp_exchange(&rig, b"HELO t\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nfirst\r\n.\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nsecond\r\n.\r\nQUIT\r\n");
    let to_bob = rig
        .wait_for_message(
            |m| m.rcpt_to.iter().any(|r| r == "bob@example.test"),
            Duration::from_secs(5),
        )
        .expect("bob's message");
    assert_eq!(&*to_bob.data, b"second\r\n");
}

#[test]
fn the_redacted_transcript_is_stable_across_runs() {
    let rig = Rig::start(mailrig::Rig::builder()).expect("rig");
    smtp_exchange(&rig, b"EHLO t\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nDate: Thu, 26 Nov 2026 19:31:41 +0000\r\n\r\nhi\r\n.\r\nQUIT\r\n");
    insta::assert_snapshot!(rig.redacted_transcript());
}
