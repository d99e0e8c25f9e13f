//! QUOTA (RFC 9208): GETQUOTAROOT and GETQUOTA report usage and limits of the one root `""`;
//! APPEND and COPY beyond a limit are `NO [OVERQUOTA]` and store nothing; MOVE is not
//! refused (it changes no usage).

use super::*;
use crate::{Defects, Quota};

/// A session of alice with `quota` and `extensions`, INBOX holding one 1000-byte message.
fn session_with(quota: Quota, extensions: Extensions) -> (Store, Session) {
    let store = store();
    store
        .append("alice", "INBOX", vec![b'x'; 1000], Flags::new(), 0)
        .expect("INBOX exists");
    let config = Config {
        quota,
        extensions,
        ..Config::default()
    };
    let mut session = Session::new(config, store.clone());
    drain(&mut session);
    exchange(&mut session, b"l LOGIN alice secret\r\n");
    (store, session)
}

const TWO_KIB_THREE_MESSAGES: Quota = Quota {
    storage_kib: Some(2),
    messages: Some(3),
};

/// RFC 9208 §4.1.1, §4.1.2: the root of every mailbox is `""`; STORAGE in KiB, rounded up.
#[test]
fn getquotaroot_and_getquota() {
    let (_, mut session) = session_with(TWO_KIB_THREE_MESSAGES, Extensions::default());
    let text = exchange(
        &mut session,
        b"a GETQUOTAROOT INBOX\r\nb GETQUOTA \"\"\r\nc GETQUOTA other\r\nd GETQUOTAROOT Nowhere\r\n",
    );
    assert_eq!(
        text,
        "* QUOTAROOT \"INBOX\" \"\"\r\n* QUOTA \"\" (STORAGE 1 2 MESSAGE 1 3)\r\na OK GETQUOTAROOT completed\r\n\
         * QUOTA \"\" (STORAGE 1 2 MESSAGE 1 3)\r\nb OK GETQUOTA completed\r\n\
         c NO [NONEXISTENT] no such quota root\r\nd NO [NONEXISTENT] no such mailbox: Nowhere\r\n"
    );
}

/// RFC 9208 §4.3: APPEND (a MULTIAPPEND too, whole) and COPY over the STORAGE limit are
/// `NO [OVERQUOTA]`, nothing is stored; below it they work; MOVE is allowed.
#[test]
fn storage_limit() {
    let (store, mut session) = session_with(TWO_KIB_THREE_MESSAGES, Extensions::default());
    let big = format!("a APPEND INBOX {{1049+}}\r\n{}\r\n", "y".repeat(1049));
    assert_eq!(
        exchange(&mut session, big.as_bytes()),
        "a NO [OVERQUOTA] quota exceeded\r\n"
    );
    let text = exchange(&mut session, b"b APPEND INBOX {500+}\r\n");
    let text = text + &exchange(&mut session, format!("{}\r\n", "z".repeat(500)).as_bytes());
    assert_eq!(text, "b OK [APPENDUID 1 2] APPEND completed\r\n");
    let text = exchange(
        &mut session,
        b"s SELECT INBOX\r\nc COPY 1 Trash\r\nd MOVE 1 Trash\r\n",
    );
    assert!(text.contains("c NO [OVERQUOTA] quota exceeded\r\n"), "{text}");
    assert!(
        text.contains("* OK [COPYUID 4 1 1] moved\r\n* 1 EXPUNGE\r\nd OK MOVE completed\r\n"),
        "{text}"
    );
    assert_eq!(store.status("alice", "Trash").expect("Trash").messages, 1);
    assert_eq!(store.status("alice", "INBOX").expect("INBOX").messages, 1);
}

/// RFC 9208 §5.2: MESSAGE counts messages; a MULTIAPPEND that would pass it stores none.
#[test]
fn message_limit() {
    let quota = Quota {
        storage_kib: None,
        messages: Some(2),
    };
    let (store, mut session) = session_with(quota, Extensions::default());
    let text = exchange(
        &mut session,
        b"a APPEND INBOX {1+}\r\na {1+}\r\nb\r\nb APPEND INBOX {1+}\r\nc\r\n",
    );
    assert_eq!(
        text,
        "a NO [OVERQUOTA] quota exceeded\r\nb OK [APPENDUID 1 2] APPEND completed\r\n"
    );
    assert_eq!(store.status("alice", "INBOX").expect("INBOX").messages, 2);
}

/// The planted defect `quotaroot-without-quota` leaves out the QUOTA: what
/// `getquotaroot_and_getquota` and the scenario imap/quota catch.
#[test]
fn the_defect_leaves_out_the_quota() {
    let (_, mut session) = session_with(TWO_KIB_THREE_MESSAGES, Extensions::default());
    session.config.defects = Defects::from(Defect::QuotaRootWithoutQuota);
    let text = exchange(&mut session, b"a GETQUOTAROOT INBOX\r\n");
    assert_eq!(
        text,
        "* QUOTAROOT \"INBOX\" \"\"\r\na OK GETQUOTAROOT completed\r\n"
    );
}

/// Switched off: not listed, GETQUOTA and GETQUOTAROOT are unknown, the limit still holds.
#[test]
fn switched_off() {
    let (_, mut session) = session_with(
        TWO_KIB_THREE_MESSAGES,
        Extensions {
            quota: false,
            ..Extensions::default()
        },
    );
    let text = exchange(&mut session, b"c CAPABILITY\r\n");
    assert!(!text.contains("QUOTA"), "{text}");
    let big = format!("a APPEND INBOX {{3000+}}\r\n{}\r\n", "y".repeat(3000));
    let text = exchange(&mut session, format!("g GETQUOTAROOT INBOX\r\n{big}").as_bytes());
    assert_eq!(
        text,
        "g BAD unknown command\r\na NO [OVERQUOTA] quota exceeded\r\n"
    );
}
