//! Users, address resolution, the envelope log and the store-wide version and wakers.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::store;
use crate::{Envelope, Store, StoreError, User};

fn envelope(session_id: u64) -> Envelope {
    Envelope {
        session_id,
        mail_from: "bob@example.test".into(),
        rcpt_to: vec!["alice@example.test".into()],
        data: Arc::from(&b"x"[..]),
        received_at: 0,
    }
}

#[test]
fn the_store_is_shareable_across_threads() {
    fn shareable<T: Clone + Send + Sync + 'static>() {}
    fn sendable<T: Send + 'static>() {}
    shareable::<Store>();
    sendable::<crate::Watch>();
    sendable::<crate::WakerRegistration>();
}

#[test]
fn users_authenticate_and_resolve() {
    let store = store();
    assert!(store.authenticate("alice", "secret"));
    assert!(!store.authenticate("alice", "wrong"));
    assert!(!store.authenticate("carol", "secret"));
    assert_eq!(store.password("bob").as_deref(), Some("hunter2"));
    assert_eq!(store.password("carol"), None);
    assert_eq!(store.resolve("postmaster@EXAMPLE.TEST").as_deref(), Some("bob"));
    assert_eq!(store.resolve("Bob@example.test"), None);
    assert_eq!(store.resolve("alice").as_deref(), Some("alice"));
    assert_eq!(store.resolve("carol@example.test"), None);
    let logins: Vec<String> = store.users().into_iter().map(|u| u.login).collect();
    assert_eq!(logins, ["alice", "bob"]);
}

#[test]
fn postmaster_mail_goes_to_the_postmaster_address_or_the_first_user() {
    let store = store();
    assert!(store.is_local_domain("EXAMPLE.test"));
    assert!(!store.is_local_domain("elsewhere.example"));
    // bob has postmaster@example.test: local part in any case, domain in any case.
    assert_eq!(store.postmaster(Some("Example.Test")).as_deref(), Some("bob"));
    assert_eq!(store.postmaster(None).as_deref(), Some("bob"));
    assert_eq!(store.postmaster(Some("elsewhere.example")), None);
    // Without a postmaster address: the first user in login order.
    let plain = Store::new();
    assert_eq!(plain.postmaster(None), None);
    plain
        .add_user(User::new("zed", "x", ["zed@example.test"]))
        .expect("zed");
    plain
        .add_user(User::new("amy", "x", ["amy@example.test"]))
        .expect("amy");
    assert_eq!(plain.postmaster(Some("example.test")).as_deref(), Some("amy"));
}

#[test]
fn a_login_is_taken_once() {
    assert_eq!(
        store().add_user(User::new("alice", "x", ["y"])),
        Err(StoreError::UserExists("alice".into()))
    );
}

#[test]
fn operations_on_unknown_users_fail() {
    let store = store();
    let unknown = Err(StoreError::NoSuchUser("carol".into()));
    assert_eq!(store.deliver("carol", b"x".to_vec(), 0).map(|_| ()), unknown);
    assert_eq!(store.create_mailbox("carol", "X"), unknown);
    assert_eq!(store.list_mailboxes("carol").map(|_| ()), unknown);
    assert_eq!(store.watch("carol", "INBOX").map(|_| ()), unknown);
}

#[test]
fn envelopes_are_logged_and_counted() {
    let store = store();
    assert_eq!(store.version(), 0);
    store.record_envelope(envelope(7));
    store.record_envelope(envelope(8));
    assert_eq!(store.version(), 2);
    assert_eq!(store.envelopes()[0].session_id, 7);
    let later: Vec<u64> = store.envelopes_since(1).iter().map(|e| e.session_id).collect();
    assert_eq!(later, [8]);
    assert!(store.envelopes_since(5).is_empty());
}

#[test]
fn every_accepted_message_bumps_the_version_and_runs_wakers() {
    let store = store();
    let woken = Arc::new(AtomicUsize::new(0));
    let counter = woken.clone();
    // The waker runs outside every lock, so it may use the store itself.
    let probe = store.clone();
    let registration = store.on_message(Arc::new(move || {
        probe.envelopes();
        counter.fetch_add(1, Ordering::SeqCst);
    }));
    let uid = store.deliver("alice", b"x".to_vec(), 0).expect("deliver").uid;
    store.record_envelope(envelope(1));
    store
        .copy_messages("alice", "INBOX", "Trash", &[uid, 99])
        .expect("copy");
    assert_eq!(store.version(), 3);
    assert_eq!(woken.load(Ordering::SeqCst), 3);
    // Flag changes are not accepted messages.
    let seen = crate::Flags::from([crate::Flag::Seen]);
    store
        .store_flags("alice", "INBOX", &[uid], crate::FlagOp::Add, &seen, None)
        .expect("store");
    assert_eq!(store.version(), 3);
    drop(registration);
    store.deliver("alice", b"y".to_vec(), 0).expect("deliver");
    assert_eq!(store.version(), 4);
    assert_eq!(woken.load(Ordering::SeqCst), 3, "unregistered");
}

#[test]
fn one_body_is_shared_by_every_mailbox_and_the_log() {
    let store = store();
    let body: Arc<[u8]> = Arc::from(&b"Subject: shared\r\n\r\n"[..]);
    store.deliver("alice", body.clone(), 0).expect("alice");
    store.deliver("bob", body.clone(), 0).expect("bob");
    let alice = store.messages("alice", "INBOX").expect("inbox");
    let bob = store.messages("bob", "INBOX").expect("inbox");
    assert!(Arc::ptr_eq(&alice.messages[0].raw, &body));
    assert!(Arc::ptr_eq(&bob.messages[0].raw, &body));
    assert_eq!(alice.messages[0].size, body.len() as u64);
}
