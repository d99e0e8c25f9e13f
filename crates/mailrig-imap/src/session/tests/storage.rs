//! The storage seam ([`crate::Storage`]): a refusal reaches the client as the tagged
//! completion and leaves the store as it was; the default seam changes nothing.

use std::sync::Mutex;

use mailrig_store::{Flag, FlagOp};

use crate::storage::{AllowAll, Operation, Storage, StorageHook};

use super::*;

/// Refuses every operation whose `Debug` text starts with `refused` (never, if empty), and
/// notes every operation it is asked about.
#[derive(Default)]
struct Rule {
    refused: &'static str,
    asked: Mutex<Vec<String>>,
}

impl Storage for Rule {
    fn check(&self, login: &str, operation: &Operation<'_>) -> Result<(), Refusal> {
        let text = format!("{login} {operation:?}");
        let refuse = !self.refused.is_empty() && format!("{operation:?}").starts_with(self.refused);
        self.asked.lock().expect("no test panics holding it").push(text);
        if refuse {
            return Err(Refusal::no("quota exceeded").with_code("OVERQUOTA"));
        }
        Ok(())
    }
}

/// Everything a client could see of alice's store: mailboxes, their UIDs, flags, modseqs.
fn fingerprint(store: &Store) -> String {
    let mut text = String::new();
    for info in store.list_mailboxes("alice").expect("alice exists") {
        let snapshot = store.messages("alice", &info.name).expect("listed");
        text.push_str(&format!(
            "{} {} {}:",
            info.name, snapshot.uidnext, snapshot.highestmodseq
        ));
        for message in &snapshot.messages {
            text.push_str(&format!(" {} {:?}", message.uid, message.flags));
        }
        text.push('\n');
    }
    text
}

/// A store with two messages in INBOX and a session with INBOX selected, over `storage`.
fn setup(storage: StorageHook) -> (Store, Session) {
    let store = store();
    for i in 0..2 {
        store
            .deliver("alice", format!("Subject: {i}\r\n\r\n").into_bytes(), 0)
            .expect("INBOX exists");
    }
    let mut session = Session::new(
        Config {
            storage,
            ..Config::default()
        },
        store.clone(),
    );
    let text = exchange(&mut session, b"a LOGIN alice secret\r\ns SELECT INBOX\r\n");
    assert!(text.ends_with("s OK [READ-WRITE] SELECT completed\r\n"), "{text}");
    (store, session)
}

/// Each operation refused: the client gets the seam's refusal, the store is as before.
#[test]
fn a_refused_operation_changes_nothing() {
    let commands: [(&str, &[u8]); 9] = [
        ("Append", b"c APPEND INBOX (\\Seen) {5+}\r\nhello\r\n"),
        ("Copy", b"c COPY 1:2 Trash\r\n"),
        ("Copy", b"c UID MOVE 1 Trash\r\n"),
        ("Store", b"c STORE 1 +FLAGS (\\Deleted)\r\n"),
        ("Expunge", b"c EXPUNGE\r\n"),
        ("Create", b"c CREATE Projects\r\n"),
        ("Delete", b"c DELETE Trash\r\n"),
        ("Rename", b"c RENAME Trash Bin\r\n"),
        ("Select { mailbox: \"Trash\"", b"c EXAMINE Trash\r\n"),
    ];
    for (refused, command) in commands {
        let rule = Rule {
            refused,
            ..Rule::default()
        };
        let (store, mut session) = setup(StorageHook::new(rule));
        // A \Deleted message, so that an EXPUNGE let through would show.
        store
            .store_flags(
                "alice",
                "INBOX",
                &[2],
                FlagOp::Add,
                &Flags::from([Flag::Deleted]),
                None,
            )
            .expect("message 2 exists");
        exchange(&mut session, b"n NOOP\r\n");
        let before = fingerprint(&store);
        let text = exchange(&mut session, command);
        assert_eq!(text, "c NO [OVERQUOTA] quota exceeded\r\n", "{refused}");
        assert_eq!(fingerprint(&store), before, "{refused}");
    }
}

/// A refused SELECT leaves no mailbox selected (RFC 9051 §6.3.2: as any failed SELECT).
#[test]
fn a_refused_select_leaves_nothing_selected() {
    let rule = Rule {
        refused: "Select { mailbox: \"Trash\"",
        ..Rule::default()
    };
    let (_, mut session) = setup(StorageHook::new(rule));
    let text = exchange(&mut session, b"a SELECT Trash\r\nb FETCH 1 FLAGS\r\n");
    assert_eq!(
        text,
        "a NO [OVERQUOTA] quota exceeded\r\nb BAD no mailbox selected\r\n"
    );
}

/// The seam is told what each command is about to do, with what it needs to decide.
#[test]
fn the_seam_sees_each_operation() {
    let rule = std::sync::Arc::new(Rule::default());
    let storage: std::sync::Arc<dyn Storage> = rule.clone();
    let (_, mut session) = setup(storage.into());
    exchange(
        &mut session,
        b"c APPEND INBOX (\\Seen) {5+}\r\nhello\r\nd UID COPY 1 Trash\r\ne STORE 2 -FLAGS (\\Seen)\r\n\
          f UID EXPUNGE 2\r\ng RENAME Trash Bin\r\nh FETCH 1 BODY[]\r\n",
    );
    let asked = rule.asked.lock().expect("no test panics holding it").clone();
    assert_eq!(
        asked,
        [
            "alice Select { mailbox: \"INBOX\", read_only: false }",
            "alice Append { mailbox: \"INBOX\", size: 5, flags: Flags(\\Seen) }",
            "alice Copy { from: \"INBOX\", to: \"Trash\", uids: [1], moving: false, uid: true }",
            "alice Store { mailbox: \"INBOX\", uids: [2], op: Remove, flags: Flags(\\Seen), uid: false }",
            "alice Expunge { mailbox: \"INBOX\", uids: Some([2]) }",
            "alice Rename { from: \"Trash\", to: \"Bin\" }",
        ]
    );
}

/// The default seam, and one that allows everything, answer byte for byte the same.
#[test]
fn allowing_everything_changes_nothing() {
    let script: &[u8] =
        b"c APPEND INBOX {5+}\r\nhello\r\nd COPY 1:2 Trash\r\ne STORE 1 +FLAGS (\\Deleted)\r\n\
        f EXPUNGE\r\ng CREATE Projects\r\nh RENAME Projects P2\r\ni DELETE P2\r\nj MOVE 1 Trash\r\n\
        k EXAMINE Trash\r\n";
    let (default_store, mut default_session) = setup(StorageHook::default());
    let (allowing_store, mut allowing_session) = setup(StorageHook::new(AllowAll));
    let text = exchange(&mut default_session, script);
    assert!(text.ends_with("k OK [READ-ONLY] EXAMINE completed\r\n"), "{text}");
    assert_eq!(exchange(&mut allowing_session, script), text);
    assert_eq!(fingerprint(&allowing_store), fingerprint(&default_store));
}
