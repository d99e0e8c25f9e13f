//! The IMAP command path of the model server: a `mailrig_imap::Session` over a store holding
//! alice's mailboxes and a few messages, logged in (and INBOX selected) by a fixed prefix,
//! then fed arbitrary bytes in arbitrary reads. It never panics; its responses stay
//! proportional to the input and the store; its heap stays proportional to the store, not the
//! input (the input is fed several times over to show it); and afterwards a client that
//! finishes whatever was open (a literal, IDLE, AUTHENTICATE) gets an answer to NOOP.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mailrig_fuzz_targets::{Counting, live_bytes, reads};
use mailrig_imap::{Config, Output, Session, Versions};
use mailrig_store::{Store, User};

#[global_allocator]
static ALLOC: Counting = Counting;

/// Times the input is fed: memory that grows with the input shows as growth across rounds.
const ROUNDS: usize = 3;
/// Small caps, so the fuzzer reaches them.
const MAX_LINE: usize = 2048;
const MAX_LITERAL: usize = 8192;
/// COPY doubles a mailbox per command, and the model store has no quota (a fake server for
/// tests), so a few dozen input bytes can make it arbitrarily large. Past this many messages
/// the input is not fed further: what follows would only measure the store.
const MAX_MESSAGES: usize = 400;

const MESSAGES: [&[u8]; 3] = [
    b"From: bob@example.test\r\nTo: alice@example.test\r\nSubject: hi\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\nhello\r\n",
    b"Subject: multipart\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\none\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>two</p>\r\n--b--\r\n",
    b"Subject: =?utf-8?q?caf=C3=A9?=\r\n\r\nbody\r\n",
];

fuzz_target!(|data: &[u8]| {
    let Some((&options, data)) = data.split_first() else {
        return;
    };
    let store = Store::new();
    store
        .add_user(User::new("alice", "secret", ["alice@example.test"]))
        .expect("a new store takes a user");
    store
        .create_mailbox("alice", "Archive")
        .expect("alice has no Archive yet");
    for message in MESSAGES {
        store
            .deliver("alice", message.to_vec(), 1_700_000_000)
            .expect("alice has an INBOX");
    }
    let config = Config {
        max_line: MAX_LINE,
        max_literal: MAX_LITERAL,
        versions: match options & 3 {
            0 => Versions::Rev1,
            1 => Versions::Rev2,
            _ => Versions::Both,
        },
        ..Config::default()
    };
    let mut session = Session::new(config, store.clone());
    session.handle_input(b"a LOGIN alice secret\r\n");
    if options & 4 == 0 {
        session.handle_input(b"b SELECT INBOX\r\n");
    }
    let _ = drain(&mut session);
    let baseline = live_bytes();
    let mut written = 0;
    let mut fed = 0;
    'rounds: for _ in 0..ROUNDS {
        for read in reads(data) {
            session.handle_input(read);
            fed += read.len();
            written += drain(&mut session);
            let (messages, bytes) = store_size(&store);
            let heap = live_bytes().saturating_sub(baseline);
            let allowed_heap = 1024 * 1024 + 4 * bytes + 1024 * messages;
            assert!(
                heap <= allowed_heap,
                "{heap} heap bytes (allowed {allowed_heap}) after {fed} input bytes"
            );
            let allowed_output = 64 * 1024 + fed * (1024 + bytes + 256 * messages);
            assert!(
                written <= allowed_output,
                "{written} response bytes for {fed} input bytes"
            );
            if session.is_closed() || messages > MAX_MESSAGES {
                break 'rounds;
            }
        }
    }
    let skips_literal = data.windows(2).any(|w| w == b"+}" || w == b"-}");
    if !session.is_closed() && !skips_literal {
        still_answers(&mut session);
    }
});

/// Performs every output like a driver would (the TLS handshake succeeds at once); returns
/// the response bytes written.
fn drain(session: &mut Session) -> usize {
    let mut written = 0;
    while let Some(output) = session.poll_output() {
        match output {
            Output::Response { bytes, .. } => written += bytes.len(),
            Output::StartTls => session.tls_started(),
            Output::StartCompression => {
                // Compression is the driver's: feed the held bytes back as they are.
                let held = session.compression_started();
                session.handle_input(&held);
            }
            Output::Close => {}
        }
    }
    written
}

/// How many messages alice has, and their bytes.
fn store_size(store: &Store) -> (usize, usize) {
    let mailboxes = store.list_mailboxes("alice").expect("alice exists");
    mailboxes
        .iter()
        .filter_map(|m| store.status("alice", &m.name).ok())
        .fold((0, 0), |(n, b), s| (n + s.messages, b + s.size as usize))
}

/// Supplies any literal still expected (the filler ends the line too), cancels AUTHENTICATE
/// (`*`), ends IDLE (`DONE`), then sends NOOP: its tagged response must come, unless the
/// session closed. (Not called when the input announced a non-synchronizing literal: a
/// refused one's octets are skipped uncounted, however many were announced.)
fn still_answers(session: &mut Session) {
    let mut tail = vec![b'x'; MAX_LITERAL];
    tail.extend_from_slice(b"\r\n*\r\nDONE\r\nzz NOOP\r\n");
    session.handle_input(&tail);
    let mut responses = Vec::new();
    while let Some(output) = session.poll_output() {
        match output {
            Output::Response { bytes, .. } => responses.push(bytes),
            Output::StartTls => session.tls_started(),
            Output::StartCompression => {
                // Compression is the driver's: feed the held bytes back as they are.
                let held = session.compression_started();
                session.handle_input(&held);
            }
            Output::Close => {}
        }
    }
    let answered = responses.iter().any(|r| r.starts_with(b"zz "));
    let text = String::from_utf8_lossy(&responses.concat()).into_owned();
    assert!(answered || session.is_closed(), "NOOP got no answer:\n{text}");
}
