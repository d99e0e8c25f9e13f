//! The store's message limit seen over IMAP: APPEND, COPY and MOVE past it get `NO [LIMIT]`
//! (RFC 9051 §7.1) and store nothing.

use mailrig_store::{Store, StoreLimits, User};

use super::{exchange, selected};

/// alice's store, whose mailboxes hold at most `limit` messages, with one message in INBOX.
fn limited(limit: usize) -> Store {
    let store = Store::with_limits(StoreLimits {
        messages_per_mailbox: limit,
        ..StoreLimits::default()
    });
    store
        .add_user(User::new("alice", "secret", ["alice@example.test"]))
        .expect("a new store has no users");
    store
        .deliver("alice", b"Subject: 1\r\n\r\n".to_vec(), 0)
        .expect("INBOX exists");
    store
}

fn inbox_size(store: &Store) -> usize {
    store
        .messages("alice", "INBOX")
        .expect("INBOX exists")
        .messages
        .len()
}

/// `COPY 1:* INBOX` doubles INBOX; at a limit of 100 the seventh copy (64 -> 128) is
/// refused, and every later one too, with nothing added.
#[test]
fn a_doubling_copy_loop_gets_no_limit() {
    let store = limited(100);
    let mut session = selected(&store);
    let mut refused = Vec::new();
    for round in 0..30 {
        let text = exchange(&mut session, format!("c{round} COPY 1:* INBOX\r\n").as_bytes());
        if text.contains(&format!("c{round} NO [LIMIT] ")) {
            refused.push(round);
        } else {
            assert!(text.contains(&format!("c{round} OK [COPYUID ")), "{text}");
        }
    }
    assert_eq!(refused, (6..30).collect::<Vec<_>>());
    assert_eq!(inbox_size(&store), 64);
}

#[test]
fn append_and_move_into_a_full_mailbox_get_no_limit() {
    let store = limited(1);
    store
        .append(
            "alice",
            "Sent",
            b"Subject: s\r\n\r\n".to_vec(),
            Default::default(),
            0,
        )
        .expect("Sent exists");
    let mut session = selected(&store);
    let text = exchange(&mut session, b"a APPEND INBOX {3+}\r\nabc\r\n");
    assert!(text.starts_with("a NO [LIMIT] "), "{text}");
    let text = exchange(&mut session, b"m MOVE 1 Sent\r\n");
    assert!(text.starts_with("m NO [LIMIT] "), "{text}");
    assert_eq!(inbox_size(&store), 1);
    let sent = store.messages("alice", "Sent").expect("Sent exists");
    assert_eq!(sent.messages.len(), 1, "nothing moved");
}
