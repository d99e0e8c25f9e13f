//! OBJECTID (RFC 8474): FETCH EMAILID and THREADID, STATUS MAILBOXID, the MAILBOXID code on
//! CREATE and SELECT, SEARCH EMAILID and THREADID; all `BAD` (and no code) when switched off.

use super::*;
use crate::Defects;

fn session_with(extensions: Extensions) -> (Store, Session) {
    let store = store();
    for _ in 0..2 {
        store
            .append(
                "alice",
                "INBOX",
                &b"Subject: x\r\n\r\nbody\r\n"[..],
                Flags::new(),
                0,
            )
            .expect("INBOX exists");
    }
    let config = Config {
        extensions,
        ..Config::default()
    };
    let mut session = Session::new(config, store.clone());
    drain(&mut session);
    exchange(&mut session, b"l LOGIN alice secret\r\n");
    (store, session)
}

fn off() -> Extensions {
    Extensions {
        objectid: false,
        ..Extensions::default()
    }
}

/// §5.1, §5.2: each message's id, COPY keeps it; THREADID is NIL.
#[test]
fn fetch_ids() {
    let (_, mut session) = session_with(Extensions::default());
    let text = exchange(
        &mut session,
        b"s SELECT INBOX\r\na FETCH 1:2 (EMAILID THREADID)\r\nb COPY 2 INBOX\r\nc FETCH 3 EMAILID\r\n",
    );
    assert!(
        text.contains("* 1 FETCH (EMAILID (E1) THREADID NIL)\r\n"),
        "{text}"
    );
    assert!(
        text.contains("* 2 FETCH (EMAILID (E2) THREADID NIL)\r\n"),
        "{text}"
    );
    assert!(text.contains("* 3 FETCH (EMAILID (E2))\r\nc OK"), "{text}");
}

/// §4.1, §4.2: CREATE's OK and SELECT/EXAMINE say the mailbox id, which RENAME keeps; §4.3:
/// STATUS MAILBOXID gives the same id.
#[test]
fn mailbox_ids() {
    let (store, mut session) = session_with(Extensions::default());
    let text = exchange(&mut session, b"a CREATE box\r\n");
    let id = store.mailbox_id("alice", "box").expect("box exists");
    assert!(id.starts_with('M'), "{id}");
    assert_eq!(text, format!("a OK [MAILBOXID ({id})] CREATE completed\r\n"));
    let text = exchange(
        &mut session,
        b"b RENAME box other\r\nc STATUS other (MESSAGES MAILBOXID)\r\nd EXAMINE other\r\n",
    );
    assert!(
        text.contains(&format!("* STATUS \"other\" (MESSAGES 0 MAILBOXID ({id}))\r\n")),
        "{text}"
    );
    assert!(
        text.contains(&format!("* OK [MAILBOXID ({id})] Ok\r\n")),
        "{text}"
    );
    let inbox = store.mailbox_id("alice", "INBOX").expect("INBOX exists");
    assert_ne!(inbox, id);
    let text = exchange(&mut session, b"e SELECT inbox\r\n");
    assert!(
        text.contains(&format!("* OK [MAILBOXID ({inbox})] Ok\r\n")),
        "{text}"
    );
}

/// §6: SEARCH EMAILID finds the message with that id; THREADID and ids never given out
/// find nothing; a malformed id is BAD.
#[test]
fn search_ids() {
    let (_, mut session) = session_with(Extensions::default());
    let text = exchange(
        &mut session,
        b"s SELECT INBOX\r\na SEARCH EMAILID E2\r\nb UID SEARCH OR EMAILID E1 EMAILID E2\r\n\
          c SEARCH EMAILID X2\r\nd SEARCH THREADID T1\r\ne SEARCH EMAILID E.2\r\n",
    );
    assert!(text.contains("* SEARCH 2\r\na OK"), "{text}");
    assert!(text.contains("* SEARCH 1 2\r\nb OK"), "{text}");
    assert!(text.contains("* SEARCH\r\nc OK"), "{text}");
    assert!(text.contains("* SEARCH\r\nd OK"), "{text}");
    assert!(text.contains("e BAD"), "{text}");
}

/// Switched off: not listed, the items and keys are BAD, and CREATE and SELECT give no code.
#[test]
fn switched_off() {
    let (_, mut session) = session_with(off());
    let text = exchange(
        &mut session,
        b"a CAPABILITY\r\nb CREATE box\r\nc STATUS box (MAILBOXID)\r\nd SELECT INBOX\r\n\
          e FETCH 1 EMAILID\r\nf FETCH 1 THREADID\r\ng SEARCH EMAILID E1\r\nh SEARCH THREADID T1\r\n",
    );
    assert!(!text.contains(" OBJECTID "), "{text}");
    assert!(!text.contains("MAILBOXID ("), "{text}");
    assert!(text.contains("b OK CREATE completed\r\n"), "{text}");
    for tag in ["c", "e", "f", "g", "h"] {
        assert!(text.contains(&format!("\r\n{tag} BAD")), "{tag}: {text}");
    }
    let (_, mut session) = session_with(Extensions::default());
    let text = exchange(&mut session, b"a CAPABILITY\r\n");
    assert!(text.contains(" OBJECTID "), "{text}");
}

/// The planted defect `emailid-from-uid` gives the UID as the id, so the second mailbox's
/// first message has the first's id and SEARCH EMAILID misses it: what the scenario
/// imap/objectid catches.
#[test]
fn the_defect_repeats_ids_across_mailboxes() {
    let (store, mut session) = session_with(Extensions::default());
    store.create_mailbox("alice", "b").expect("new name");
    store
        .append("alice", "b", &b"Subject: y\r\n\r\n"[..], Flags::new(), 0)
        .expect("b exists");
    session.config.defects = Defects::from(Defect::EmailIdFromUid);
    let text = exchange(
        &mut session,
        b"s SELECT b\r\na FETCH 1 EMAILID\r\nb SEARCH EMAILID E1\r\n",
    );
    assert!(text.contains("* 1 FETCH (EMAILID (E1))\r\n"), "{text}");
    assert!(text.contains("* SEARCH\r\nb OK"), "{text}");
}
