//! Store operations.

use super::*;

fn store() -> Store {
    let store = Store::new();
    store
        .add_user(User::new("alice", "secret", ["alice@example.test"]))
        .expect("alice");
    store
        .add_user(User::new(
            "bob",
            "hunter2",
            ["bob@example.test", "postmaster@example.test"],
        ))
        .expect("bob");
    store
}

#[test]
fn users_authenticate_and_resolve() {
    let store = store();
    assert!(store.authenticate("alice", "secret"));
    assert!(!store.authenticate("alice", "wrong"));
    assert!(!store.authenticate("carol", "secret"));
    assert_eq!(store.password("bob").as_deref(), Some("hunter2"));
    assert_eq!(store.resolve("postmaster@EXAMPLE.TEST").as_deref(), Some("bob"));
    assert_eq!(store.resolve("Bob@example.test"), None);
    assert_eq!(store.resolve("alice").as_deref(), Some("alice"));
    assert_eq!(
        store.add_user(User::new("alice", "x", ["y"])),
        Err(StoreError::UserExists("alice".into()))
    );
}

#[test]
fn new_users_get_the_special_use_mailboxes() {
    let names: Vec<(String, Option<String>)> = store()
        .mailboxes("alice")
        .expect("alice")
        .into_iter()
        .map(|m| (m.name, m.special_use))
        .collect();
    assert!(names.contains(&("INBOX".into(), None)));
    assert!(names.contains(&("Sent".into(), Some("\\Sent".into()))));
    assert_eq!(names.len(), 5);
}

#[test]
fn uids_ascend_and_modseq_grows() {
    let store = store();
    let first = store.deliver("alice", b"a".to_vec(), 1).expect("deliver");
    let second = store.deliver("alice", b"b".to_vec(), 2).expect("deliver");
    assert!(second.uid > first.uid);
    assert_eq!(first.uidvalidity, second.uidvalidity);
    let snapshot = store
        .messages("alice", "inbox")
        .expect("INBOX is case-insensitive");
    assert_eq!(snapshot.uidnext, second.uid + 1);
    assert!(snapshot.messages[1].modseq > snapshot.messages[0].modseq);
    assert_eq!(snapshot.highestmodseq, snapshot.messages[1].modseq);
}

#[test]
fn recreated_mailbox_gets_a_new_uidvalidity() {
    let store = store();
    store.create_mailbox("alice", "Lists").expect("create");
    let before = store.messages("alice", "Lists").expect("lists").uidvalidity;
    assert_eq!(
        store.create_mailbox("alice", "Lists"),
        Err(StoreError::MailboxExists("Lists".into()))
    );
    store.delete_mailbox("alice", "Lists").expect("delete");
    store.create_mailbox("alice", "Lists").expect("recreate");
    assert_ne!(
        store.messages("alice", "Lists").expect("lists").uidvalidity,
        before
    );
    assert_eq!(
        store.messages("alice", "lists"),
        Err(StoreError::NoSuchMailbox("lists".into()))
    );
}

#[test]
fn envelopes_are_logged_and_counted() {
    let store = store();
    assert_eq!(store.version(), 0);
    store.record_envelope(Envelope {
        session_id: 7,
        mail_from: "bob@example.test".into(),
        rcpt_to: vec!["alice@example.test".into()],
        data: Arc::from(&b"x"[..]),
        received_at: 0,
    });
    assert_eq!(store.version(), 1);
    assert_eq!(store.envelopes()[0].session_id, 7);
}

#[test]
fn concurrent_deliveries_are_all_stored_with_distinct_uids() {
    let store = store();
    std::thread::scope(|scope| {
        for t in 0..8 {
            let store = store.clone();
            scope.spawn(move || {
                for i in 0..250 {
                    store
                        .deliver("alice", format!("{t}-{i}").into_bytes(), 0)
                        .expect("deliver");
                }
            });
        }
    });
    let snapshot = store.messages("alice", "INBOX").expect("inbox");
    assert_eq!(snapshot.messages.len(), 2000);
    assert!(snapshot.messages.windows(2).all(|w| w[0].uid < w[1].uid));
}
