//! Message operations: append, flags, expunge, copy, move, status.

use super::store;
use crate::{Flag, FlagOp, FlagUpdate, Flags, Store, StoreError};

fn flags(list: &[&str]) -> Flags {
    Flags::parse(list).expect("valid flags")
}

/// Appends `count` messages to alice's INBOX; returns their UIDs.
fn fill(store: &Store, count: usize) -> Vec<u32> {
    (0..count)
        .map(|i| {
            let raw = format!("Subject: {i}\r\n\r\n").into_bytes();
            store.deliver("alice", raw, i as i64).expect("deliver").uid
        })
        .collect()
}

fn uids(store: &Store, mailbox: &str) -> Vec<u32> {
    let snapshot = store.messages("alice", mailbox).expect("snapshot");
    snapshot.messages.iter().map(|m| m.uid).collect()
}

fn set(store: &Store, uids: &[u32], op: FlagOp, list: &[&str], since: Option<u64>) -> FlagUpdate {
    store
        .store_flags("alice", "INBOX", uids, op, &flags(list), since)
        .expect("store")
}

#[test]
fn uids_ascend_and_modseq_grows() {
    let store = store();
    let empty = store.messages("alice", "INBOX").expect("inbox");
    assert_eq!((empty.uidnext, empty.highestmodseq), (1, 1));
    let first = store.deliver("alice", b"a".to_vec(), 1).expect("deliver");
    let second = store.deliver("alice", b"b".to_vec(), 2).expect("deliver");
    assert_eq!((first.uid, second.uid), (1, 2));
    assert_eq!(first.uidvalidity, second.uidvalidity);
    let snapshot = store.messages("alice", "INBOX").expect("inbox");
    assert_eq!(snapshot.uidnext, 3);
    assert!(snapshot.messages[1].modseq > snapshot.messages[0].modseq);
    assert_eq!(snapshot.highestmodseq, snapshot.messages[1].modseq);
    assert_eq!(snapshot.messages[1].internal_date, 2);
}

#[test]
fn uids_are_never_reused_after_expunge() {
    let store = store();
    let all = fill(&store, 3);
    set(&store, &all, FlagOp::Add, &["\\Deleted"], None);
    assert_eq!(store.expunge("alice", "INBOX", None).expect("expunge"), all);
    let next = store.deliver("alice", b"again".to_vec(), 0).expect("deliver");
    assert_eq!(next.uid, 4);
    assert_eq!(uids(&store, "INBOX"), [4]);
}

#[test]
fn append_keeps_flags_and_mailboxes_share_one_keyword_spelling() {
    let store = store();
    store
        .append(
            "alice",
            "Drafts",
            b"d".to_vec(),
            flags(&["\\Draft", "Project"]),
            5,
        )
        .expect("append");
    store
        .append("alice", "Drafts", b"e".to_vec(), flags(&["PROJECT"]), 6)
        .expect("append");
    let drafts = store.messages("alice", "Drafts").expect("drafts");
    assert_eq!(drafts.messages[0].flags.to_string(), "\\Draft Project");
    assert_eq!(drafts.messages[1].flags.to_string(), "Project");
    assert_eq!(drafts.keywords.len(), 1);
    assert_eq!(
        store.append("alice", "Nope", b"x".to_vec(), Flags::new(), 0),
        Err(StoreError::NoSuchMailbox("Nope".into()))
    );
}

#[test]
fn flag_ops_are_idempotent_and_bump_modseq_only_on_change() {
    let store = store();
    let all = fill(&store, 2);
    let added = set(&store, &all, FlagOp::Add, &["\\Seen"], None);
    assert_eq!(added.changed.len(), 2);
    assert!(added.changed.windows(2).all(|w| w[0].modseq < w[1].modseq));
    let before = store.messages("alice", "INBOX").expect("inbox");
    let again = set(&store, &all, FlagOp::Add, &["\\SEEN"], None);
    assert_eq!(again, FlagUpdate::default(), "nothing changed");
    assert_eq!(store.messages("alice", "INBOX").expect("inbox"), before);

    let replaced = set(
        &store,
        &all[..1],
        FlagOp::Replace,
        &["\\Flagged", "$label1"],
        None,
    );
    assert_eq!(replaced.changed[0].flags.to_string(), "\\Flagged $label1");
    assert!(
        set(
            &store,
            &all[..1],
            FlagOp::Replace,
            &["$LABEL1", "\\Flagged"],
            None
        )
        .changed
        .is_empty()
    );
    let removed = set(&store, &all, FlagOp::Remove, &["\\Flagged", "\\Seen"], None);
    assert_eq!(removed.changed.len(), 2);
    assert!(
        set(&store, &all, FlagOp::Remove, &["\\Flagged"], None)
            .changed
            .is_empty()
    );
    let after = store.messages("alice", "INBOX").expect("inbox");
    assert!(after.highestmodseq > before.highestmodseq);
    assert_eq!(after.messages[0].flags.to_string(), "$label1");
}

#[test]
fn unknown_and_repeated_uids_are_ignored() {
    let store = store();
    let all = fill(&store, 2);
    let update = set(
        &store,
        &[all[1], 77, all[1], all[0]],
        FlagOp::Add,
        &["\\Seen"],
        None,
    );
    let changed: Vec<u32> = update.changed.iter().map(|c| c.uid).collect();
    assert_eq!(changed, all);
}

#[test]
fn unchanged_since_leaves_modified_messages_alone() {
    let store = store();
    let all = fill(&store, 2);
    let touched = set(&store, &all[1..], FlagOp::Add, &["\\Answered"], None);
    let since = touched.changed[0].modseq - 1;
    let update = set(&store, &all, FlagOp::Add, &["\\Seen"], Some(since));
    assert_eq!(update.modified, [all[1]]);
    assert_eq!(update.changed.len(), 1);
    assert_eq!(update.changed[0].uid, all[0]);
    let snapshot = store.messages("alice", "INBOX").expect("inbox");
    assert!(!snapshot.messages[1].flags.contains(&Flag::Seen));
}

#[test]
fn expunge_removes_only_deleted_messages_among_the_given_uids() {
    let store = store();
    let all = fill(&store, 4);
    set(&store, &all[..3], FlagOp::Add, &["\\Deleted"], None);
    let before = store.messages("alice", "INBOX").expect("inbox").highestmodseq;
    let expunged = store
        .expunge("alice", "INBOX", Some(&[all[1], all[3], 99]))
        .expect("uid expunge");
    assert_eq!(expunged, [all[1]]);
    assert_eq!(uids(&store, "INBOX"), [all[0], all[2], all[3]]);
    assert!(store.messages("alice", "INBOX").expect("inbox").highestmodseq > before);
    assert_eq!(
        store.expunge("alice", "INBOX", None).expect("expunge"),
        [all[0], all[2]]
    );
    assert!(store.expunge("alice", "INBOX", None).expect("expunge").is_empty());
}

#[test]
fn copy_keeps_flags_and_dates_and_answers_copyuid() {
    let store = store();
    let all = fill(&store, 3);
    set(&store, &all[1..2], FlagOp::Add, &["\\Flagged", "Work"], None);
    store
        .append("alice", "Trash", b"old".to_vec(), Flags::new(), 0)
        .expect("append");
    let copied = store
        .copy_messages("alice", "INBOX", "Trash", &[all[2], all[1], 42])
        .expect("copy");
    assert_eq!(copied.source, [all[1], all[2]]);
    assert_eq!(copied.dest, [2, 3]);
    assert_eq!(
        copied.uidvalidity,
        store.status("alice", "Trash").expect("status").uidvalidity
    );
    let trash = store.messages("alice", "Trash").expect("trash");
    assert_eq!(trash.messages[1].flags.to_string(), "\\Flagged Work");
    assert_eq!(trash.messages[1].internal_date, 1);
    assert_eq!(uids(&store, "INBOX"), all, "a copy leaves the source alone");
    let none = store
        .copy_messages("alice", "INBOX", "Trash", &[99])
        .expect("copy");
    assert!(none.source.is_empty() && none.dest.is_empty());
    assert_eq!(
        store.copy_messages("alice", "INBOX", "Nope", &all).map(|_| ()),
        Err(StoreError::NoSuchMailbox("Nope".into()))
    );
}

#[test]
fn move_expunges_from_the_source_whatever_the_flags() {
    let store = store();
    let all = fill(&store, 3);
    let moved = store
        .move_messages("alice", "INBOX", "Junk", &all[..2])
        .expect("move");
    assert_eq!(moved.source, all[..2]);
    assert_eq!(uids(&store, "INBOX"), [all[2]]);
    assert_eq!(uids(&store, "Junk"), moved.dest);
}

#[test]
fn copy_and_move_within_one_mailbox() {
    let store = store();
    let all = fill(&store, 2);
    let copied = store
        .copy_messages("alice", "INBOX", "inbox", &all[..1])
        .expect("copy");
    assert_eq!(copied.dest, [3]);
    let moved = store
        .move_messages("alice", "INBOX", "INBOX", &[all[1]])
        .expect("move");
    assert_eq!(moved.dest, [4]);
    assert_eq!(uids(&store, "INBOX"), [1, 3, 4]);
}

#[test]
fn opposite_transfers_do_not_deadlock() {
    let store = store();
    fill(&store, 50);
    store.create_mailbox("alice", "Other").expect("create");
    std::thread::scope(|scope| {
        for (from, to) in [("INBOX", "Other"), ("Other", "INBOX")] {
            let store = store.clone();
            scope.spawn(move || {
                for _ in 0..200 {
                    let uids = uids(&store, from);
                    store
                        .move_messages("alice", from, to, &uids[..uids.len().min(3)])
                        .expect("move");
                }
            });
        }
    });
    let total = uids(&store, "INBOX").len() + uids(&store, "Other").len();
    assert_eq!(total, 50);
}

#[test]
fn status_counts_without_copying() {
    let store = store();
    let all = fill(&store, 3);
    set(&store, &all[..2], FlagOp::Add, &["\\Seen"], None);
    set(&store, &all[..1], FlagOp::Add, &["\\Deleted"], None);
    let status = store.status("alice", "INBOX").expect("status");
    let snapshot = store.messages("alice", "INBOX").expect("snapshot");
    assert_eq!((status.messages, status.unseen, status.deleted), (3, 1, 1));
    assert_eq!(status.uidnext, snapshot.uidnext);
    assert_eq!(status.highestmodseq, snapshot.highestmodseq);
    assert_eq!(status.size, snapshot.messages.iter().map(|m| m.size).sum::<u64>());
}

#[test]
fn a_mailbox_out_of_uids_refuses_new_messages() {
    let store = store();
    let inbox = store.mailbox("alice", "INBOX").expect("inbox");
    inbox.lock().set_uidnext(u32::MAX - 1);
    let last = store.deliver("alice", b"last".to_vec(), 0).expect("the last UID");
    assert_eq!(last.uid, u32::MAX - 1);
    assert_eq!(
        store.deliver("alice", b"one more".to_vec(), 0),
        Err(StoreError::UidsExhausted("INBOX".into()))
    );
    assert_eq!(
        store
            .copy_messages("alice", "INBOX", "INBOX", &[last.uid])
            .map(|_| ()),
        Err(StoreError::UidsExhausted("INBOX".into()))
    );
    assert_eq!(uids(&store, "INBOX"), [last.uid], "nothing half-done");
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
    assert!(snapshot.messages.windows(2).all(|w| w[0].modseq < w[1].modseq));
}

#[test]
fn expunged_uids_are_remembered_with_their_modseq() {
    let store = Store::with_change_log_limit(2);
    store
        .add_user(crate::User::new("alice", "secret", ["alice@example.test"]))
        .expect("alice");
    fill(&store, 6);
    let watch = store.watch("alice", "INBOX").expect("watch");
    set(&store, &[1, 2, 4], FlagOp::Add, &["\\Deleted"], None);
    store.expunge("alice", "INBOX", None).expect("expunge");
    let after_first = store.messages("alice", "INBOX").expect("inbox").highestmodseq;
    store
        .move_messages("alice", "INBOX", "Trash", &[6])
        .expect("move");
    assert_eq!(watch.expunged_since(0), vec![(1, 2), (4, 4), (6, 6)]);
    assert_eq!(watch.expunged_since(after_first), vec![(6, 6)]);
    // Only two runs are kept (the log limit), so 1:2 was forgotten when 6 went: questions
    // about earlier modseqs get every missing UID, later ones stay exact.
    set(&store, &[3], FlagOp::Add, &["\\Deleted"], None);
    store.expunge("alice", "INBOX", None).expect("expunge");
    assert_eq!(watch.expunged_since(after_first), vec![(3, 4), (6, 6)]);
    assert_eq!(watch.expunged_since(0), vec![(1, 4), (6, 6)]);
}

/// RFC 8474: every arriving message gets a new EMAILID, copies and moves keep it; a mailbox
/// keeps its MAILBOXID through RENAME, and one deleted and created again gets a new one.
#[test]
fn object_ids() {
    let store = store();
    store.create_mailbox("alice", "a").expect("new");
    store.create_mailbox("alice", "b").expect("new");
    for text in ["one", "two"] {
        store
            .append("alice", "a", text.as_bytes(), Flags::default(), 0)
            .expect("a exists");
    }
    let ids = |mailbox: &str| -> Vec<u64> {
        let snapshot = store.messages("alice", mailbox).expect("exists");
        snapshot.messages.iter().map(|m| m.email_id).collect()
    };
    let original = ids("a");
    assert_eq!(original.len(), 2);
    assert_ne!(original[0], original[1]);
    store.copy_messages("alice", "a", "b", &[1]).expect("copied");
    store.move_messages("alice", "a", "b", &[2]).expect("moved");
    assert_eq!(ids("b"), original);
    store
        .append("alice", "b", &b"three"[..], Flags::default(), 0)
        .expect("b exists");
    assert!(!original.contains(&ids("b")[2]));

    let id = store.mailbox_id("alice", "b").expect("b exists");
    store.rename_mailbox("alice", "b", "c").expect("renamed");
    assert_eq!(store.mailbox_id("alice", "c").expect("c exists"), id);
    assert!(store.mailbox_id("alice", "b").is_err());
    store.delete_mailbox("alice", "c").expect("deleted");
    store.create_mailbox("alice", "c").expect("new");
    assert_ne!(store.mailbox_id("alice", "c").expect("c exists"), id);
    assert_ne!(
        store.mailbox_id("alice", "a").expect("a exists"),
        store.mailbox_id("alice", "c").expect("c exists")
    );
}

/// MULTIAPPEND's store half: consecutive UIDs under one lock; a missing mailbox stores none.
#[test]
fn append_all_is_consecutive_or_nothing() {
    let store = store();
    fill(&store, 1);
    let items = |n: usize| {
        (0..n)
            .map(|i| (std::sync::Arc::from(vec![b'a' + i as u8]), flags(&["\\Seen"]), 7))
            .collect()
    };
    let appended = store
        .append_all("alice", "INBOX", items(2))
        .expect("INBOX exists");
    assert_eq!(appended.iter().map(|a| a.uid).collect::<Vec<_>>(), [2, 3]);
    assert_eq!(uids(&store, "INBOX"), [1, 2, 3]);
    assert!(store.append_all("alice", "Nowhere", items(2)).is_err());
    assert_eq!(store.status("alice", "INBOX").expect("INBOX").messages, 3);
}
