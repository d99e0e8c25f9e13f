//! What each flow prepares in the store before the client runs, and what the store must look
//! like afterwards. The client logs in as alice; `send` goes from alice to bob.

use mailrig_store::{Flag, Flags, Store};

use crate::client::Flow;
use crate::client::checks::Finding;

/// The message every flow works with: sent by `send`, stored for the others. Its lines that
/// start with `.` make dot-stuffing visible.
pub const MESSAGE: &[u8] = b"From: alice@example.test\r\n\
To: bob@example.test\r\n\
Subject: mailrig client flow\r\n\
Message-ID: <flow-1@example.test>\r\n\
\r\n\
first line\r\n\
.starts with a dot\r\n\
..starts with two dots\r\n\
last line\r\n";

/// The second message of `sync` (UID 2 in INBOX).
pub const SECOND: &[u8] = b"From: bob@example.test\r\n\
To: alice@example.test\r\n\
Subject: mailrig sync flow, second message\r\n\
Message-ID: <flow-2@example.test>\r\n\
\r\n\
second body\r\n";

/// The account the client logs in as and sends from.
pub const USER: &str = "alice";
/// The recipient of `send`.
pub const RECIPIENT: &str = "bob";
/// The mailbox the message is in.
pub const MAILBOX: &str = "INBOX";
/// Where `move` moves it.
pub const TARGET_MAILBOX: &str = "Archive";
/// Its UID.
pub const UID: u32 = 1;

const DATE: i64 = 1_700_000_000;

/// Puts in the store what `flow` starts from: nothing for `send`; the message (unseen, UID 1)
/// in alice's INBOX otherwise; the target mailbox for `move`; a second message for `sync`.
pub fn prepare(flow: Flow, store: &Store) -> Result<(), String> {
    let failed = |e: mailrig_store::StoreError| format!("cannot prepare the store: {e}");
    if flow == Flow::Send {
        return Ok(());
    }
    store.deliver(USER, MESSAGE, DATE).map_err(failed)?;
    if flow == Flow::Move {
        store.create_mailbox(USER, TARGET_MAILBOX).map_err(failed)?;
    }
    if flow == Flow::Sync {
        store.deliver(USER, SECOND, DATE).map_err(failed)?;
    }
    Ok(())
}

/// `sync`, between the two runs: the server-side change (UID 2 gets `\Flagged`).
pub fn change_on_server(store: &Store) -> Result<(), String> {
    let flags = flags(&[Flag::Flagged]);
    store
        .store_flags(USER, MAILBOX, &[2], mailrig_store::FlagOp::Add, &flags, None)
        .map(|_| ())
        .map_err(|e| format!("cannot flag message 2 on the server: {e}"))
}

/// The flags a STORE may add in `flow` (the ones the flow asks for; `\Deleted` where
/// deleting or moving by COPY + EXPUNGE needs it).
pub fn allowed_store_flags(flow: Flow) -> &'static [&'static str] {
    match flow {
        Flow::Send => &[],
        Flow::Fetch | Flow::MarkRead => &["\\Seen"],
        Flow::Flag => &["\\Flagged"],
        Flow::Move | Flow::Delete => &["\\Deleted"],
        Flow::Sync => &["\\Seen"],
    }
}

fn flags(list: &[Flag]) -> Flags {
    let mut out = Flags::new();
    for flag in list {
        out.insert(flag.clone());
    }
    out
}

/// The store afterwards, against what `flow` expects. Empty when all is well.
pub fn judge(flow: Flow, store: &Store) -> Vec<Finding> {
    let result = match flow {
        Flow::Send => judge_send(store),
        Flow::Fetch => one_message(store, MAILBOX, MESSAGE, &[&[], &[Flag::Seen]]),
        Flow::MarkRead => one_message(store, MAILBOX, MESSAGE, &[&[Flag::Seen]]),
        Flow::Flag => one_message(store, MAILBOX, MESSAGE, &[&[Flag::Flagged]]),
        Flow::Move => {
            one_message(store, TARGET_MAILBOX, MESSAGE, &[&[]]).and_then(|()| empty(store, MAILBOX))
        }
        Flow::Delete => empty(store, MAILBOX),
        Flow::Sync => judge_sync(store),
    };
    match result {
        Ok(()) => Vec::new(),
        Err(explanation) => vec![Finding {
            check: "store",
            explanation,
        }],
    }
}

fn judge_send(store: &Store) -> Result<(), String> {
    let envelopes = store.envelopes();
    let [envelope] = envelopes.as_slice() else {
        return Err(format!(
            "expected exactly one message accepted over SMTP, found {}",
            envelopes.len()
        ));
    };
    let from = format!("{USER}@example.test");
    let to = format!("{RECIPIENT}@example.test");
    if envelope.mail_from != from || envelope.rcpt_to != [to.clone()] {
        return Err(format!(
            "the envelope is MAIL FROM:<{}> RCPT TO:{:?}; expected <{from}> and [{to:?}]",
            envelope.mail_from, envelope.rcpt_to
        ));
    }
    one_message_in(store, RECIPIENT, MAILBOX, MESSAGE, &[&[]])
}

fn judge_sync(store: &Store) -> Result<(), String> {
    let snapshot = store.messages(USER, MAILBOX).map_err(|e| e.to_string())?;
    let found: Vec<(u32, Vec<String>)> = snapshot
        .messages
        .iter()
        .map(|m| (m.uid, m.flags.iter().map(|f| f.as_str().to_owned()).collect()))
        .collect();
    let expected = vec![(1, vec!["\\Seen".to_owned()]), (2, vec!["\\Flagged".to_owned()])];
    if found != expected {
        return Err(format!(
            "after the second run INBOX should hold UID 1 with \\Seen (read locally) and UID 2 with \\Flagged (flagged on the server), nothing else; it holds (UID, flags): {found:?}"
        ));
    }
    let raw: Vec<&[u8]> = snapshot.messages.iter().map(|m| &*m.raw).collect();
    if raw != [MESSAGE, SECOND] {
        return Err("the messages in INBOX changed their bytes during the sync".to_owned());
    }
    Ok(())
}

fn one_message(store: &Store, mailbox: &str, expected: &[u8], allowed: &[&[Flag]]) -> Result<(), String> {
    one_message_in(store, USER, mailbox, expected, allowed)
}

/// Exactly one message in `login`'s `mailbox`, byte for byte `expected`, with one of the
/// `allowed` flag sets.
fn one_message_in(
    store: &Store,
    login: &str,
    mailbox: &str,
    expected: &[u8],
    allowed: &[&[Flag]],
) -> Result<(), String> {
    let snapshot = store
        .messages(login, mailbox)
        .map_err(|e| format!("{login}'s {mailbox}: {e}"))?;
    let [message] = snapshot.messages.as_slice() else {
        return Err(format!(
            "expected exactly one message in {login}'s {mailbox}, found {}",
            snapshot.messages.len()
        ));
    };
    if &*message.raw != expected {
        return Err(format!(
            "the message in {login}'s {mailbox} differs from the one sent:\n{}",
            crate::client::checks::bytes_diff(expected, &message.raw)
        ));
    }
    if !allowed.iter().any(|set| flags(set) == message.flags) {
        let have: Vec<String> = message.flags.iter().map(|f| f.as_str().to_owned()).collect();
        let want: Vec<Vec<&str>> = allowed
            .iter()
            .map(|s| s.iter().map(Flag::as_str).collect())
            .collect();
        return Err(format!(
            "the message in {login}'s {mailbox} has flags {have:?}; expected exactly one of {want:?} (nothing else may change)"
        ));
    }
    Ok(())
}

fn empty(store: &Store, mailbox: &str) -> Result<(), String> {
    let snapshot = store.messages(USER, mailbox).map_err(|e| e.to_string())?;
    if snapshot.messages.is_empty() {
        return Ok(());
    }
    let uids: Vec<u32> = snapshot.messages.iter().map(|m| m.uid).collect();
    Err(format!(
        "{USER}'s {mailbox} should be empty (the message expunged), but holds UIDs {uids:?}"
    ))
}
