//! The per-mailbox message limit: a client cannot grow a mailbox without bound, and a refused
//! operation stores nothing.

use crate::{Store, StoreError, StoreLimits, User};

/// alice and bob in a store whose mailboxes hold at most `limit` messages.
fn limited(limit: usize) -> Store {
    let store = Store::with_limits(StoreLimits {
        messages_per_mailbox: limit,
        ..StoreLimits::default()
    });
    for login in ["alice", "bob"] {
        let user = User::new(login, "x", [format!("{login}@example.test")]);
        store.add_user(user).expect("user");
    }
    store
}

fn count(store: &Store, login: &str, mailbox: &str) -> usize {
    store.messages(login, mailbox).expect("mailbox").messages.len()
}

fn all_uids(store: &Store) -> Vec<u32> {
    let snapshot = store.messages("alice", "INBOX").expect("inbox");
    snapshot.messages.iter().map(|m| m.uid).collect()
}

#[test]
fn the_default_limit_is_a_million_messages() {
    assert_eq!(Store::new().limits().messages_per_mailbox, 1_000_000);
}

/// `COPY 1:* INBOX` repeated doubles INBOX; with a limit of 1000 the eleventh doubling is
/// refused whole and INBOX keeps the 512 messages it had.
#[test]
fn a_doubling_copy_loop_stops_at_the_limit() {
    let store = limited(1000);
    store
        .deliver("alice", b"Subject: seed\r\n\r\n".to_vec(), 0)
        .expect("deliver");
    let mut refused_at = None;
    for round in 0..30 {
        match store.copy_messages("alice", "INBOX", "INBOX", &all_uids(&store)) {
            Ok(_) => {}
            Err(StoreError::MailboxFull { limit, .. }) => {
                assert_eq!(limit, 1000);
                refused_at = Some(round);
                break;
            }
            Err(other) => panic!("unexpected {other}"),
        }
    }
    assert_eq!(refused_at, Some(9), "512 -> 1024 is the first copy past 1000");
    assert_eq!(count(&store, "alice", "INBOX"), 512);
}

#[test]
fn append_and_move_past_the_limit_change_nothing() {
    let store = limited(2);
    for _ in 0..2 {
        store.deliver("alice", b"x".to_vec(), 0).expect("deliver");
        store
            .append("alice", "Sent", b"y".to_vec(), Default::default(), 0)
            .expect("append");
    }
    let before = store.status("alice", "INBOX").expect("status");
    let full = store.append("alice", "INBOX", b"z".to_vec(), Default::default(), 0);
    assert!(matches!(full, Err(StoreError::MailboxFull { .. })), "{full:?}");
    let moved = store.move_messages("alice", "Sent", "INBOX", &[1]);
    assert!(matches!(moved, Err(StoreError::MailboxFull { .. })), "{moved:?}");
    assert_eq!(store.status("alice", "INBOX").expect("status"), before);
    assert_eq!(
        count(&store, "alice", "Sent"),
        2,
        "the source keeps what did not move"
    );
}

/// A delivery to several users is all or none: bob's full INBOX stops alice's copy too.
#[test]
fn delivery_to_several_users_is_all_or_none() {
    let store = limited(1);
    let both = store
        .deliver_all(&["alice", "bob", "alice"], b"one".to_vec(), 0)
        .expect("deliver");
    assert_eq!(both.len(), 2, "alice's INBOX gets one copy");
    store
        .store_flags(
            "alice",
            "INBOX",
            &[1],
            crate::FlagOp::Add,
            &[crate::Flag::Deleted].into(),
            None,
        )
        .expect("flag");
    store.expunge("alice", "INBOX", None).expect("expunge");
    assert_eq!(count(&store, "alice", "INBOX"), 0);
    let refused = store.deliver_all(&["alice", "bob"], b"two".to_vec(), 0);
    assert!(
        matches!(refused, Err(StoreError::MailboxFull { ref name, .. }) if name == "INBOX"),
        "{refused:?}"
    );
    assert_eq!(
        count(&store, "alice", "INBOX"),
        0,
        "nothing stored for alice either"
    );
    assert_eq!(count(&store, "bob", "INBOX"), 1);
}
