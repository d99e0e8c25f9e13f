//! The account journal (NOTIFY): which operations log what, in order, and bounded memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::store;
use crate::{AccountChange, Flag, FlagOp, Flags, MessageEvents, Store, StoreLimits, User};

fn events(arrived: bool, expunged: bool, flags: bool) -> MessageEvents {
    MessageEvents {
        arrived,
        expunged,
        flags,
    }
}

fn messages(mailbox: &str, events: MessageEvents) -> AccountChange {
    let mailbox = mailbox.to_owned();
    AccountChange::Messages { mailbox, events }
}

#[test]
fn message_operations_log_their_mailbox_and_kind() {
    let store = store();
    let mut watch = store.watch_account("alice").unwrap();
    let uid = store
        .deliver("alice", b"Subject: 1\r\n\r\n".to_vec(), 0)
        .unwrap()
        .uid;
    let deleted = Flags::from([Flag::Deleted]);
    store
        .store_flags("alice", "INBOX", &[uid], FlagOp::Add, &deleted, None)
        .unwrap();
    // Nothing changed: nothing logged.
    store
        .store_flags("alice", "INBOX", &[uid], FlagOp::Add, &deleted, None)
        .unwrap();
    store.copy_messages("alice", "INBOX", "Trash", &[uid]).unwrap();
    store.move_messages("alice", "Trash", "Junk", &[1]).unwrap();
    store.expunge("alice", "INBOX", None).unwrap();
    assert_eq!(
        watch.poll(),
        [
            messages("INBOX", events(true, false, false)),
            messages("INBOX", events(false, false, true)),
            messages("Trash", events(true, false, false)),
            // A move: the source first.
            messages("Trash", events(false, true, false)),
            messages("Junk", events(true, false, false)),
            messages("INBOX", events(false, true, false)),
        ]
    );
    assert!(watch.poll().is_empty());
}

#[test]
fn tree_operations_log_names() {
    let store = store();
    let mut watch = store.watch_account("alice").unwrap();
    store.create_mailbox("alice", "a/b").unwrap();
    store.rename_mailbox("alice", "a", "x/y").unwrap();
    store.subscribe("alice", "x/y").unwrap();
    store.subscribe("alice", "x/y").unwrap();
    store.unsubscribe("alice", "x/y").unwrap();
    store.unsubscribe("alice", "x/y").unwrap();
    store.delete_mailbox("alice", "x/y/b").unwrap();
    let created = |name: &str| AccountChange::Created { name: name.into() };
    let renamed = |from: &str, to: &str| AccountChange::Renamed {
        from: from.into(),
        to: to.into(),
    };
    let subscription = |subscribed| AccountChange::Subscription {
        name: "x/y".into(),
        subscribed,
    };
    assert_eq!(
        watch.poll(),
        [
            created("a"),
            created("a/b"),
            created("x"),
            renamed("a", "x/y"),
            renamed("a/b", "x/y/b"),
            subscription(true),
            subscription(false),
            AccountChange::Deleted { name: "x/y/b".into() },
        ]
    );
}

#[test]
fn other_accounts_and_dropped_watches_see_nothing() {
    let store = store();
    let mut bob = store.watch_account("bob").unwrap();
    let alice = store.watch_account("alice").unwrap();
    drop(alice);
    store.deliver("alice", b"Subject: 1\r\n\r\n".to_vec(), 0).unwrap();
    assert!(bob.poll().is_empty());
    assert!(!bob.has_changes());
}

#[test]
fn a_lagging_watch_gets_resync_and_the_waker_runs() {
    let store = Store::with_limits(StoreLimits {
        change_log: 2,
        ..StoreLimits::default()
    });
    store
        .add_user(User::new("alice", "pw", ["alice@example.test"]))
        .unwrap();
    let mut watch = store.watch_account("alice").unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let inner = count.clone();
    watch.set_waker(Arc::new(move || {
        inner.fetch_add(1, Ordering::SeqCst);
    }));
    for _ in 0..3 {
        store.deliver("alice", b"Subject: 1\r\n\r\n".to_vec(), 0).unwrap();
    }
    assert_eq!(count.load(Ordering::SeqCst), 3);
    assert!(watch.has_changes());
    assert_eq!(watch.poll(), [AccountChange::Resync]);
}

/// A watch opened through an actor's handle skips that actor's entries (RFC 5465 §5, for
/// NOTIFY), counts them for nothing in `has_changes`, and still sees everyone else's; a
/// watch through the plain handle sees all.
#[test]
fn an_actors_watch_leaves_out_what_it_did() {
    let store = store();
    let session = store.actor();
    let other = store.actor();
    let mut own = session.watch_account("alice").unwrap();
    let mut all = store.watch_account("alice").unwrap();
    session.create_mailbox("alice", "Mine").unwrap();
    session
        .deliver("alice", b"Subject: 1\r\n\r\n".to_vec(), 0)
        .unwrap();
    assert!(!own.has_changes());
    assert!(own.poll().is_empty());
    other.subscribe("alice", "Mine").unwrap();
    store.deliver("alice", b"Subject: 2\r\n\r\n".to_vec(), 0).unwrap();
    assert!(own.has_changes());
    let subscribed = AccountChange::Subscription {
        name: "Mine".into(),
        subscribed: true,
    };
    let arrived = messages("INBOX", events(true, false, false));
    assert_eq!(own.poll(), [subscribed.clone(), arrived.clone()]);
    assert_eq!(
        all.poll(),
        [
            AccountChange::Created { name: "Mine".into() },
            arrived.clone(),
            subscribed,
            arrived
        ]
    );
}

/// RENAME INBOX is logged as INBOX renamed to the new name (after the levels made above
/// it), then the messages leaving INBOX and arriving there (RFC 5465 §5.4).
#[test]
fn rename_of_inbox_logs_a_rename_and_the_moved_messages() {
    let store = store();
    store.deliver("alice", b"Subject: 1\r\n\r\n".to_vec(), 0).unwrap();
    let mut watch = store.watch_account("alice").unwrap();
    store.rename_mailbox("alice", "inbox", "Old/Inbox").unwrap();
    assert_eq!(
        watch.poll(),
        [
            AccountChange::Created { name: "Old".into() },
            AccountChange::Renamed {
                from: "INBOX".into(),
                to: "Old/Inbox".into()
            },
            messages("INBOX", events(false, true, false)),
            messages("Old/Inbox", events(true, false, false)),
        ]
    );
}
