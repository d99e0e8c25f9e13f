//! CATENATE (RFC 4469): APPEND of a message made of TEXT literals and IMAP URLs; a URL that
//! does not resolve is `NO [BADURL url]` and nothing is stored.

use super::*;
use crate::Defects;

/// alice's INBOX with one two-part message (UID 1), logged in, INBOX selected.
fn session_with(extensions: Extensions) -> (Store, Session) {
    let store = store();
    let message = b"Subject: src\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n--b\r\n\r\ntwo\r\n--b--\r\n";
    store
        .append("alice", "INBOX", &message[..], Flags::new(), 0)
        .expect("INBOX exists");
    let config = Config {
        extensions,
        ..Config::default()
    };
    let mut session = Session::new(config, store.clone());
    drain(&mut session);
    exchange(&mut session, b"l LOGIN alice secret\r\ns SELECT INBOX\r\n");
    (store, session)
}

fn raw(store: &Store, mailbox: &str, index: usize) -> Vec<u8> {
    store.messages("alice", mailbox).expect("mailbox").messages[index]
        .raw
        .to_vec()
}

/// RFC 4469 §5: TEXT, an absolute URL with UIDVALIDITY and SECTION, a relative one with
/// PARTIAL, into another mailbox.
#[test]
fn text_and_urls() {
    let (store, mut session) = session_with(Extensions::default());
    let text = exchange(
        &mut session,
        b"a APPEND Drafts CATENATE (TEXT {14+}\r\nSubject: new\r\n URL \"/INBOX;UIDVALIDITY=1/;UID=1/;SECTION=TEXT\" \
          URL /;UID=1/;SECTION=2/;PARTIAL=1.2)\r\n",
    );
    assert!(
        text.ends_with("a OK [APPENDUID 3 1] APPEND completed\r\n"),
        "{text}"
    );
    assert_eq!(
        raw(&store, "Drafts", 0),
        b"Subject: new\r\n--b\r\n\r\none\r\n--b\r\n\r\ntwo\r\n--b--\r\nwo"
    );
}

/// RFC 4469 §5: "NO [BADURL url]" for a URL that cannot be resolved; nothing is stored.
#[test]
fn bad_urls() {
    let (store, mut session) = session_with(Extensions::default());
    let text = exchange(
        &mut session,
        b"a APPEND Drafts CATENATE (TEXT {1+}\r\nx URL /INBOX/;UID=9)\r\n\
          b APPEND Drafts CATENATE (URL /INBOX;UIDVALIDITY=77/;UID=1)\r\n\
          c APPEND Drafts CATENATE (URL /Nowhere/;UID=1)\r\nd APPEND Drafts CATENATE (URL nonsense)\r\n",
    );
    assert_eq!(
        text,
        "a NO [BADURL /INBOX/;UID=9] no such message\r\n\
         b NO [BADURL /INBOX;UIDVALIDITY=77/;UID=1] UIDVALIDITY does not match\r\n\
         c NO [BADURL /Nowhere/;UID=1] no such mailbox\r\nd NO [BADURL nonsense] invalid IMAP URL\r\n"
    );
    assert!(
        store
            .messages("alice", "Drafts")
            .expect("Drafts")
            .messages
            .is_empty()
    );
}

/// The planted defect `catenate-section-ignored` takes the whole message: what
/// `text_and_urls` and the scenario imap/catenate catch.
#[test]
fn the_defect_ignores_the_section() {
    let (store, mut session) = session_with(Extensions::default());
    session.config.defects = Defects::from(Defect::CatenateSectionIgnored);
    exchange(
        &mut session,
        b"a APPEND Drafts CATENATE (URL /INBOX/;UID=1/;SECTION=2)\r\n",
    );
    assert_eq!(raw(&store, "Drafts", 0), raw(&store, "INBOX", 0));
}

/// Switched off: not listed, and the CATENATE form is `BAD`.
#[test]
fn switched_off() {
    let (store, mut session) = session_with(Extensions {
        catenate: false,
        ..Extensions::default()
    });
    let text = exchange(&mut session, b"c CAPABILITY\r\n");
    assert!(!text.contains("CATENATE"), "{text}");
    let text = exchange(&mut session, b"a APPEND Drafts CATENATE (URL /INBOX/;UID=1)\r\n");
    assert_eq!(text, "a BAD invalid arguments\r\n");
    assert!(
        store
            .messages("alice", "Drafts")
            .expect("Drafts")
            .messages
            .is_empty()
    );
}
