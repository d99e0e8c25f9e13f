//! MULTIAPPEND (RFC 3502): several messages in one APPEND, consecutive UIDs in APPENDUID,
//! and all or none: one bad or refused message stores nothing.

use super::*;
use crate::{Defects, Operation, Storage, StorageHook};

/// RFC 3502 §6.3.11's example shape: two messages, the second with flags and a date.
#[test]
fn two_messages_in_one_append() {
    let store = store();
    let mut session = logged_in(&store);
    let text = exchange(
        &mut session,
        b"m APPEND INBOX {12}\r\nSubject: 1\r\n (\\Seen) \"01-Feb-2024 10:00:00 +0000\" {12}\r\nSubject: 2\r\n\r\n",
    );
    assert_eq!(
        text,
        "+ Ready for literal data\r\n+ Ready for literal data\r\nm OK [APPENDUID 1 1:2] APPEND completed\r\n"
    );
    let snapshot = store.messages("alice", "INBOX").expect("INBOX");
    let got: Vec<(&[u8], bool, i64)> = snapshot
        .messages
        .iter()
        .map(|m| {
            (
                &m.raw[..],
                m.flags.contains(&mailrig_store::Flag::Seen),
                m.internal_date,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (&b"Subject: 1\r\n"[..], false, 0),
            (&b"Subject: 2\r\n"[..], true, 1_706_781_600)
        ]
    );
}

/// A syntax error in the second message (a quoted string where the literal belongs) stores
/// neither (RFC 3502 §6.3.11: "MUST NOT add any of the messages").
#[test]
fn a_bad_second_message_stores_nothing() {
    let store = store();
    let mut session = logged_in(&store);
    let text = exchange(&mut session, b"m APPEND INBOX {3}\r\none \"two\"\r\n");
    assert_eq!(text, "+ Ready for literal data\r\nm BAD invalid arguments\r\n");
    assert!(
        store
            .messages("alice", "INBOX")
            .expect("INBOX")
            .messages
            .is_empty()
    );
}

/// Refuses APPENDs of messages larger than 5 bytes.
#[derive(Debug)]
struct SmallOnly;

impl Storage for SmallOnly {
    fn check(&self, _login: &str, operation: &Operation<'_>) -> Result<(), Refusal> {
        match operation {
            Operation::Append { size, .. } if *size > 5 => Err(Refusal::no("too big").with_code("LIMIT")),
            _ => Ok(()),
        }
    }
}

/// The storage seam refuses the second message: the first is not stored either.
#[test]
fn a_refused_second_message_stores_nothing() {
    let store = store();
    let mut session = logged_in(&store);
    session.set_storage(StorageHook::new(SmallOnly));
    let text = exchange(&mut session, b"m APPEND INBOX {1+}\r\na {9+}\r\n123456789\r\n");
    assert_eq!(text, "m NO [LIMIT] too big\r\n");
    assert!(
        store
            .messages("alice", "INBOX")
            .expect("INBOX")
            .messages
            .is_empty()
    );
    let text = exchange(&mut session, b"n APPEND INBOX {1+}\r\na {2+}\r\nbc\r\n");
    assert_eq!(text, "n OK [APPENDUID 1 1:2] APPEND completed\r\n");
}

/// Switched off: not listed, and a second message is `BAD` (one still works).
#[test]
fn switched_off() {
    let config = Config {
        extensions: Extensions {
            multiappend: false,
            ..Extensions::default()
        },
        ..Config::default()
    };
    let store = store();
    let mut session = Session::new(config, store.clone());
    let text = exchange(&mut session, b"l LOGIN alice secret\r\n");
    assert!(!text.contains("MULTIAPPEND"), "{text}");
    let text = exchange(
        &mut session,
        b"m APPEND INBOX {1+}\r\na {1+}\r\nb\r\nn APPEND INBOX {1+}\r\nc\r\n",
    );
    assert_eq!(
        text,
        "m BAD invalid arguments\r\nn OK [APPENDUID 1 1] APPEND completed\r\n"
    );
}

/// The planted defect `multiappend-not-atomic` keeps the first message of a bad APPEND: what
/// `a_bad_second_message_stores_nothing` and the scenario imap/multiappend catch.
#[test]
fn the_defect_keeps_the_first_message() {
    let config = Config {
        defects: Defects::from(Defect::MultiappendNotAtomic),
        ..Config::default()
    };
    let store = store();
    let mut session = Session::new(config, store.clone());
    exchange(&mut session, b"l LOGIN alice secret\r\n");
    let text = exchange(&mut session, b"m APPEND INBOX {3}\r\none \"two\"\r\n");
    assert_eq!(text, "+ Ready for literal data\r\nm BAD invalid arguments\r\n");
    assert_eq!(store.messages("alice", "INBOX").expect("INBOX").messages.len(), 1);
}
