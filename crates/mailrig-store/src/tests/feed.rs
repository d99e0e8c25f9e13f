//! The change feed: watches, wakers, compaction, resync, deletion.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::store;
use crate::{Change, Flag, FlagOp, Flags, Snapshot, Store, StoreError, User};

fn seen() -> Flags {
    Flags::from([Flag::Seen])
}

fn deleted() -> Flags {
    Flags::from([Flag::Deleted])
}

/// A waker that counts its calls.
fn counter() -> (Arc<AtomicUsize>, Arc<dyn Fn() + Send + Sync>) {
    let count = Arc::new(AtomicUsize::new(0));
    let inner = count.clone();
    (
        count,
        Arc::new(move || {
            inner.fetch_add(1, Ordering::SeqCst);
        }),
    )
}

fn log_len(store: &Store, mailbox: &str) -> usize {
    store
        .mailbox("alice", mailbox)
        .expect("mailbox")
        .lock()
        .feed
        .len()
}

#[test]
fn two_watches_see_every_change_in_order() {
    let store = store();
    let mut first = store.watch("alice", "INBOX").expect("watch");
    let mut second = store.watch("alice", "INBOX").expect("watch");
    let a = store.deliver("alice", b"a".to_vec(), 0).expect("deliver").uid;
    let flagged = store
        .store_flags("alice", "INBOX", &[a], FlagOp::Add, &deleted(), None)
        .expect("store");
    let early = first.poll();
    let b = store.deliver("alice", b"b".to_vec(), 0).expect("deliver").uid;
    store.expunge("alice", "INBOX", None).expect("expunge");
    let late = first.poll();

    let snapshot = store.messages("alice", "INBOX").expect("inbox");
    let all = second.poll();
    assert_eq!([early.clone(), late.clone()].concat(), all);
    assert!(matches!(&all[0], Change::Added(m) if m.uid == a && &*m.raw == b"a"));
    assert_eq!(
        all[1],
        Change::Flags {
            uid: a,
            flags: deleted(),
            modseq: flagged.changed[0].modseq
        }
    );
    assert!(matches!(&all[2], Change::Added(m) if m.uid == b));
    assert_eq!(
        all[3],
        Change::Expunged {
            uid: a,
            modseq: snapshot.highestmodseq
        }
    );
    assert_eq!(all.len(), 4);
    assert!(first.poll().is_empty());
    assert!(second.poll().is_empty());
}

#[test]
fn a_watch_starts_at_its_registration_and_snapshot_skips_what_it_holds() {
    let store = store();
    store.deliver("alice", b"before".to_vec(), 0).expect("deliver");
    let mut watch = store.watch("alice", "INBOX").expect("watch");
    assert!(!watch.has_changes());
    store.deliver("alice", b"after".to_vec(), 0).expect("deliver");
    assert!(watch.has_changes());
    let view = watch.snapshot().expect("snapshot");
    assert_eq!(view.messages.len(), 2);
    assert!(!watch.has_changes());
    assert!(watch.poll().is_empty());
    assert_eq!(watch.uidvalidity(), view.uidvalidity);
}

#[test]
fn watches_that_read_every_change_share_one_uid_list() {
    let store = store();
    let a = store.deliver("alice", b"a".to_vec(), 0).expect("deliver").uid;
    let mut first = store.watch("alice", "INBOX").expect("watch");
    let mut second = store.watch("alice", "INBOX").expect("watch");
    let one = first.current_uids().expect("up to date");
    assert_eq!(&one[..], &[a]);
    assert!(Arc::ptr_eq(&one, &second.current_uids().expect("up to date")));

    // Behind the mailbox: no list, until the watch has read the change.
    let b = store.deliver("alice", b"b".to_vec(), 0).expect("deliver").uid;
    assert_eq!(first.current_uids(), None);
    assert_eq!(first.poll().len(), 1);
    let two = first.current_uids().expect("read up");
    assert_eq!(&two[..], &[a, b]);
    // A flag change leaves the list as it was; an expunge makes a new one.
    store
        .store_flags("alice", "INBOX", &[a], FlagOp::Add, &deleted(), None)
        .expect("store");
    assert_eq!(second.poll().len(), 2);
    assert!(Arc::ptr_eq(&two, &second.current_uids().expect("read up")));
    store.expunge("alice", "INBOX", None).expect("expunge");
    assert_eq!(second.poll().len(), 1);
    assert_eq!(&second.current_uids().expect("read up")[..], &[b]);

    store.delete_mailbox("alice", "INBOX").ok();
    store.create_mailbox("alice", "Box").expect("create");
    let gone = store.watch("alice", "Box").expect("watch");
    store.delete_mailbox("alice", "Box").expect("delete");
    assert_eq!(gone.current_uids(), None);
}

#[test]
fn wakers_run_after_changes_outside_the_lock() {
    let store = store();
    let watch = store.watch("alice", "INBOX").expect("watch");
    let (count, waker) = counter();
    let probe = store.clone();
    let reentrant: Arc<dyn Fn() + Send + Sync> = Arc::new(move || {
        // Deadlocks if the waker ran under the mailbox lock.
        probe.messages("alice", "INBOX").expect("inbox");
        waker();
    });
    watch.set_waker(reentrant);
    assert_eq!(count.load(Ordering::SeqCst), 0, "nothing pending yet");
    let uid = store.deliver("alice", b"x".to_vec(), 0).expect("deliver").uid;
    assert_eq!(count.load(Ordering::SeqCst), 1);
    store
        .store_flags("alice", "INBOX", &[uid], FlagOp::Add, &seen(), None)
        .expect("store");
    assert_eq!(count.load(Ordering::SeqCst), 2);
    store
        .store_flags("alice", "INBOX", &[uid], FlagOp::Add, &seen(), None)
        .expect("no-op");
    assert_eq!(count.load(Ordering::SeqCst), 2, "no change, no wake-up");
    store.deliver("alice", b"y".to_vec(), 0).expect("other mailbox");
    store
        .append("alice", "Sent", b"z".to_vec(), Flags::new(), 0)
        .expect("append");
    assert_eq!(count.load(Ordering::SeqCst), 3, "only this mailbox wakes it");
    watch.clear_waker();
    store.deliver("alice", b"w".to_vec(), 0).expect("deliver");
    assert_eq!(count.load(Ordering::SeqCst), 3);
}

#[test]
fn setting_a_waker_with_changes_pending_runs_it_at_once() {
    let store = store();
    let watch = store.watch("alice", "INBOX").expect("watch");
    store.deliver("alice", b"x".to_vec(), 0).expect("deliver");
    let (count, waker) = counter();
    watch.set_waker(waker);
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[test]
fn the_log_keeps_only_what_some_watch_has_not_read() {
    let store = store();
    store.deliver("alice", b"unwatched".to_vec(), 0).expect("deliver");
    assert_eq!(log_len(&store, "INBOX"), 0, "no watch, no log");
    let mut fast = store.watch("alice", "INBOX").expect("watch");
    let slow = store.watch("alice", "INBOX").expect("watch");
    for _ in 0..3 {
        store.deliver("alice", b"x".to_vec(), 0).expect("deliver");
    }
    assert_eq!(log_len(&store, "INBOX"), 3);
    assert_eq!(fast.poll().len(), 3);
    assert_eq!(log_len(&store, "INBOX"), 3, "slow has not read them");
    drop(slow);
    assert_eq!(log_len(&store, "INBOX"), 0);
}

#[test]
fn a_watch_that_falls_too_far_behind_must_resync() {
    let store = Store::with_change_log_limit(4);
    store
        .add_user(User::new("alice", "secret", ["alice@example.test"]))
        .expect("alice");
    let mut watch = store.watch("alice", "INBOX").expect("watch");
    let mut view = watch.snapshot().expect("snapshot");
    for i in 0..6 {
        store.deliver("alice", vec![b'a' + i], 0).expect("deliver");
    }
    assert_eq!(log_len(&store, "INBOX"), 4, "bounded");
    assert_eq!(watch.poll(), [Change::Resync]);
    let fresh = watch.snapshot().expect("snapshot");
    let missed = fresh.changes_since(&view);
    assert_eq!(missed.len(), 6);
    view = fresh;
    assert_eq!(view.messages.len(), 6);
    assert!(watch.poll().is_empty());
    store.deliver("alice", b"next".to_vec(), 0).expect("deliver");
    assert_eq!(watch.poll().len(), 1, "back to normal");
}

#[test]
fn changes_since_turns_one_view_into_another() {
    let store = store();
    let uids: Vec<u32> = (0..3)
        .map(|_| store.deliver("alice", b"x".to_vec(), 0).expect("deliver").uid)
        .collect();
    let old = store.messages("alice", "INBOX").expect("inbox");
    store
        .store_flags("alice", "INBOX", &uids[..2], FlagOp::Add, &deleted(), None)
        .expect("store");
    store
        .expunge("alice", "INBOX", Some(&uids[..1]))
        .expect("expunge");
    let new_uid = store.deliver("alice", b"y".to_vec(), 0).expect("deliver").uid;
    let new = store.messages("alice", "INBOX").expect("inbox");
    let changes = new.changes_since(&old);
    assert!(matches!(changes[0], Change::Expunged { uid, .. } if uid == uids[0]));
    assert!(matches!(&changes[1], Change::Flags { uid, .. } if *uid == uids[1]));
    assert!(matches!(&changes[2], Change::Added(m) if m.uid == new_uid));
    assert_eq!(changes.len(), 3);
    assert!(new.changes_since(&new).is_empty());
}

#[test]
fn deleting_the_mailbox_ends_its_watches() {
    let store = store();
    store.create_mailbox("alice", "Lists").expect("create");
    let mut watch = store.watch("alice", "Lists").expect("watch");
    let (count, waker) = counter();
    watch.set_waker(waker);
    store
        .append("alice", "Lists", b"x".to_vec(), Flags::new(), 0)
        .expect("append");
    store.delete_mailbox("alice", "Lists").expect("delete");
    assert_eq!(count.load(Ordering::SeqCst), 2);
    assert!(watch.has_changes());
    let changes = watch.poll();
    assert!(matches!(changes[..], [Change::Added(_), Change::MailboxDeleted]));
    assert!(watch.poll().is_empty());
    assert!(!watch.has_changes());
    assert_eq!(
        watch.snapshot().map(|_: Snapshot| ()),
        Err(StoreError::NoSuchMailbox("Lists".into()))
    );
    // A new mailbox of the same name is a different mailbox.
    store.create_mailbox("alice", "Lists").expect("recreate");
    store
        .append("alice", "Lists", b"y".to_vec(), Flags::new(), 0)
        .expect("append");
    assert!(watch.poll().is_empty());
}

#[test]
fn a_watch_that_missed_the_deletion_still_learns_of_it() {
    let store = Store::with_change_log_limit(1);
    store
        .add_user(User::new("alice", "secret", ["alice@example.test"]))
        .expect("alice");
    store.create_mailbox("alice", "Lists").expect("create");
    let mut watch = store.watch("alice", "Lists").expect("watch");
    for _ in 0..3 {
        store
            .append("alice", "Lists", b"x".to_vec(), Flags::new(), 0)
            .expect("append");
    }
    store.delete_mailbox("alice", "Lists").expect("delete");
    assert_eq!(watch.poll(), [Change::Resync, Change::MailboxDeleted]);
}

#[test]
fn recent_is_claimed_once() {
    let store = store();
    for _ in 0..3 {
        store
            .deliver("alice", b"Subject: x\r\n\r\n".to_vec(), 0)
            .expect("INBOX");
    }
    assert_eq!(store.status("alice", "INBOX").expect("INBOX").recent, 3);
    let one = store.watch("alice", "INBOX").expect("INBOX");
    let two = store.watch("alice", "INBOX").expect("INBOX");
    assert_eq!(one.claim_recent(2), Some(1..=2));
    assert_eq!(store.status("alice", "INBOX").expect("INBOX").recent, 1);
    // Beyond the last UID given out is clamped; what one claimed, the other cannot.
    assert_eq!(two.claim_recent(10), Some(3..=3));
    assert_eq!(one.claim_recent(3), None);
    assert_eq!(store.status("alice", "INBOX").expect("INBOX").recent, 0);
    // A copy is a new message, recent again.
    store
        .copy_messages("alice", "INBOX", "INBOX", &[1])
        .expect("INBOX");
    assert_eq!(store.status("alice", "INBOX").expect("INBOX").recent, 1);
    assert_eq!(one.claim_recent(u32::MAX), Some(4..=4));
}
