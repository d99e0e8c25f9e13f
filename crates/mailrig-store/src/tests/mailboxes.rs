//! Mailbox tables: defaults, CREATE, DELETE, RENAME, LIST, subscriptions.

use super::store;
use crate::{Change, Flags, MailboxInfo, SpecialUse, StoreError};

fn names(store: &crate::Store) -> Vec<String> {
    let list = store.list_mailboxes("alice").expect("list");
    list.into_iter().map(|m| m.name).collect()
}

fn info(store: &crate::Store, name: &str) -> MailboxInfo {
    let list = store.list_mailboxes("alice").expect("list");
    list.into_iter().find(|m| m.name == name).expect("listed")
}

#[test]
fn new_users_get_the_special_use_mailboxes_subscribed() {
    let store = store();
    let list = store.list_mailboxes("alice").expect("alice");
    let summary: Vec<(&str, Option<SpecialUse>, bool)> = list
        .iter()
        .map(|m| (m.name.as_str(), m.special_use, m.subscribed))
        .collect();
    assert_eq!(
        summary,
        [
            ("Drafts", Some(SpecialUse::Drafts), true),
            ("INBOX", None, true),
            ("Junk", Some(SpecialUse::Junk), true),
            ("Sent", Some(SpecialUse::Sent), true),
            ("Trash", Some(SpecialUse::Trash), true),
        ]
    );
    assert!(list.iter().all(|m| !m.has_children));
}

#[test]
fn create_makes_missing_parents_and_drops_a_trailing_separator() {
    let store = store();
    store.create_mailbox("alice", "Archive/2026/Q1/").expect("create");
    assert!(names(&store).contains(&"Archive/2026/Q1".to_owned()));
    assert!(info(&store, "Archive").has_children);
    assert!(info(&store, "Archive/2026").has_children);
    assert!(!info(&store, "Archive/2026/Q1").has_children);
    assert!(
        !info(&store, "Archive/2026/Q1").subscribed,
        "CREATE does not subscribe"
    );
    assert_eq!(
        store.create_mailbox("alice", "Archive/2026"),
        Err(StoreError::MailboxExists("Archive/2026".into()))
    );
    // A sibling that sorts between "Archive" and "Archive/" does not count as a child.
    store.create_mailbox("alice", "Archive-old").expect("create");
    assert!(!info(&store, "Archive-old").has_children);
}

#[test]
fn inbox_is_case_insensitive() {
    let store = store();
    assert_eq!(
        store.create_mailbox("alice", "inbox"),
        Err(StoreError::MailboxExists("INBOX".into()))
    );
    store.create_mailbox("alice", "Inbox/Lists").expect("create");
    assert!(names(&store).contains(&"INBOX/Lists".to_owned()));
    store.deliver("alice", b"x".to_vec(), 0).expect("deliver");
    assert_eq!(store.messages("alice", "iNbOx").expect("inbox").messages.len(), 1);
    assert_eq!(
        store.messages("alice", "sent").map(|_| ()),
        Err(StoreError::NoSuchMailbox("sent".into())),
        "other names are case-sensitive"
    );
}

#[test]
fn invalid_names_are_refused() {
    let store = store();
    for bad in ["", "a//b", "x*", "tab\there"] {
        assert!(
            matches!(
                store.create_mailbox("alice", bad),
                Err(StoreError::InvalidMailboxName { .. })
            ),
            "{bad:?}"
        );
    }
}

#[test]
fn special_use_mailboxes_can_be_created() {
    let store = store();
    store
        .create_special_use_mailbox("alice", "Archive", SpecialUse::Archive)
        .expect("create");
    assert_eq!(info(&store, "Archive").special_use, Some(SpecialUse::Archive));
}

#[test]
fn delete_refuses_inbox_parents_and_unknown_names() {
    let store = store();
    assert_eq!(
        store.delete_mailbox("alice", "inbox"),
        Err(StoreError::CannotDeleteInbox)
    );
    store.create_mailbox("alice", "a/b").expect("create");
    assert_eq!(
        store.delete_mailbox("alice", "a"),
        Err(StoreError::HasChildren("a".into()))
    );
    assert_eq!(
        store.delete_mailbox("alice", "nope"),
        Err(StoreError::NoSuchMailbox("nope".into()))
    );
    store.delete_mailbox("alice", "a/b").expect("leaf");
    store.delete_mailbox("alice", "a").expect("now a leaf");
    assert!(!names(&store).contains(&"a".to_owned()));
}

#[test]
fn recreated_mailbox_gets_a_new_uidvalidity_and_starts_over() {
    let store = store();
    store.create_mailbox("alice", "Lists").expect("create");
    store
        .append("alice", "Lists", b"x".to_vec(), Flags::new(), 0)
        .expect("append");
    let before = store.messages("alice", "Lists").expect("lists");
    store.delete_mailbox("alice", "Lists").expect("delete");
    assert_eq!(
        store.messages("alice", "Lists").map(|_| ()),
        Err(StoreError::NoSuchMailbox("Lists".into()))
    );
    store.create_mailbox("alice", "Lists").expect("recreate");
    let after = store.messages("alice", "Lists").expect("lists");
    assert!(after.uidvalidity > before.uidvalidity);
    assert!(after.messages.is_empty());
    assert_eq!(after.uidnext, 1, "UIDs may restart: the UIDVALIDITY is new");
}

#[test]
fn uidvalidity_is_nonzero_and_unique_per_mailbox() {
    let store = store();
    let mut seen = std::collections::BTreeSet::new();
    for login in ["alice", "bob"] {
        for mailbox in store.list_mailboxes(login).expect("list") {
            let uidvalidity = store.status(login, &mailbox.name).expect("status").uidvalidity;
            assert_ne!(uidvalidity, 0);
            assert!(seen.insert(uidvalidity), "{login} {}", mailbox.name);
        }
    }
}

#[test]
fn rename_moves_the_subtree_messages_and_subscriptions() {
    let store = store();
    store.create_mailbox("alice", "Work/Old").expect("create");
    store.subscribe("alice", "Work/Old").expect("subscribe");
    let appended = store
        .append("alice", "Work", b"x".to_vec(), Flags::new(), 0)
        .expect("append");
    let mut watch = store.watch("alice", "Work/Old").expect("watch");
    store
        .rename_mailbox("alice", "Work", "Jobs/Past/Work")
        .expect("rename");
    let now = names(&store);
    for name in ["Jobs", "Jobs/Past", "Jobs/Past/Work", "Jobs/Past/Work/Old"] {
        assert!(now.contains(&name.to_owned()), "{name} in {now:?}");
    }
    assert!(!now.iter().any(|n| n.starts_with("Work")));
    let moved = store.messages("alice", "Jobs/Past/Work").expect("moved");
    assert_eq!(moved.uidvalidity, appended.uidvalidity);
    assert_eq!(moved.messages[0].uid, appended.uid);
    assert!(info(&store, "Jobs/Past/Work/Old").subscribed);
    assert!(
        !store
            .subscriptions("alice")
            .expect("subs")
            .contains(&"Work/Old".to_owned())
    );
    assert_eq!(
        watch.poll(),
        [Change::Renamed {
            name: "Jobs/Past/Work/Old".into()
        }]
    );
    assert_eq!(watch.mailbox_name(), "Jobs/Past/Work/Old");
}

#[test]
fn rename_refusals() {
    let store = store();
    store.create_mailbox("alice", "a/b").expect("create");
    store.create_mailbox("alice", "c/b").expect("create");
    assert_eq!(
        store.rename_mailbox("alice", "nope", "x"),
        Err(StoreError::NoSuchMailbox("nope".into()))
    );
    assert_eq!(
        store.rename_mailbox("alice", "a", "Sent"),
        Err(StoreError::MailboxExists("Sent".into()))
    );
    assert!(matches!(
        store.rename_mailbox("alice", "a", "a/b/c"),
        Err(StoreError::InvalidMailboxName { .. })
    ));
    assert_eq!(
        store.rename_mailbox("alice", "a", "c"),
        Err(StoreError::MailboxExists("c".into()))
    );
    store.delete_mailbox("alice", "c/b").expect("delete");
    store.delete_mailbox("alice", "c").expect("delete");
    store.rename_mailbox("alice", "a", "c").expect("rename");
    assert!(names(&store).contains(&"c/b".to_owned()));
}

#[test]
fn renaming_inbox_moves_its_messages_and_leaves_it_empty() {
    let store = store();
    store.create_mailbox("alice", "INBOX/Kept").expect("create");
    let first = store.deliver("alice", b"1".to_vec(), 10).expect("deliver");
    store.deliver("alice", b"2".to_vec(), 20).expect("deliver");
    let mut watch = store.watch("alice", "INBOX").expect("watch");
    store
        .rename_mailbox("alice", "INBOX", "Old Mail")
        .expect("rename");
    let inbox = store.messages("alice", "INBOX").expect("inbox");
    assert!(inbox.messages.is_empty());
    assert_eq!(inbox.uidvalidity, first.uidvalidity, "INBOX itself stays");
    assert_eq!(inbox.uidnext, 3, "and its UIDs are not reused");
    let old = store.messages("alice", "Old Mail").expect("old");
    let bodies: Vec<&[u8]> = old.messages.iter().map(|m| &*m.raw).collect();
    assert_eq!(bodies, [b"1", b"2"]);
    assert_ne!(old.uidvalidity, inbox.uidvalidity);
    assert!(names(&store).contains(&"INBOX/Kept".to_owned()));
    let expunged: Vec<u32> = watch
        .poll()
        .into_iter()
        .filter_map(|c| match c {
            Change::Expunged { uid, .. } => Some(uid),
            _ => None,
        })
        .collect();
    assert_eq!(expunged, [1, 2]);
}

#[test]
fn subscriptions_are_names_that_outlive_mailboxes() {
    let store = store();
    store.subscribe("alice", "Future/Plans").expect("subscribe");
    store.subscribe("alice", "Future/Plans").expect("twice is fine");
    assert!(
        store
            .subscriptions("alice")
            .expect("subs")
            .contains(&"Future/Plans".to_owned())
    );
    store.create_mailbox("alice", "Lists").expect("create");
    store.subscribe("alice", "Lists").expect("subscribe");
    store.delete_mailbox("alice", "Lists").expect("delete");
    assert!(
        store
            .subscriptions("alice")
            .expect("subs")
            .contains(&"Lists".to_owned())
    );
    store.unsubscribe("alice", "Lists").expect("unsubscribe");
    store.unsubscribe("alice", "Lists").expect("twice is fine");
    store.unsubscribe("alice", "inbox").expect("INBOX in any case");
    let subs = store.subscriptions("alice").expect("subs");
    assert!(!subs.contains(&"Lists".to_owned()));
    assert!(!subs.contains(&"INBOX".to_owned()));
    assert!(!info(&store, "INBOX").subscribed);
}
