//! An accepted APPEND literal through the sans-IO session costs a bounded number of copies
//! (issue 9: a session configured for large literals buffered a 2 GiB one as 8.6 GB): the
//! framer buffers the command once, with its size known from the announcement, the parser
//! takes the message out of that buffer without copying it, and the store keeps one copy.
//! Its own test binary, so the process's peak memory (`VmHWM`) is this test's alone.

mod memory;

use mailrig_imap::{Config, Session};
use memory::{drain, peak_memory, store};

/// The literal: large enough that each copy of it shows in the peak.
const SIZE: usize = 256 << 20;

#[test]
fn an_accepted_literal_is_not_copied_more_than_needed() {
    let store = store();
    let config = Config {
        max_literal: 2 * SIZE,
        ..Config::default()
    };
    let mut session = Session::new(config, store.clone());
    session.handle_input(b"a LOGIN alice secret\r\n");
    drain(&mut session);
    let chunk = b"Subject: x\r\n".repeat(64 * 1024);
    let before = usize::try_from(peak_memory()).expect("fits");
    session.handle_input(format!("b APPEND INBOX {{{SIZE}+}}\r\n").as_bytes());
    let mut sent = 0;
    while sent < SIZE {
        let n = chunk.len().min(SIZE - sent);
        session.handle_input(&chunk[..n]);
        sent += n;
    }
    session.handle_input(b"\r\n");
    let out = drain(&mut session);
    assert!(out.starts_with("b OK"), "{out:.200}");
    let growth = usize::try_from(peak_memory())
        .expect("fits")
        .saturating_sub(before);
    eprintln!(
        "a {SIZE}-byte literal: peak grew by {growth} bytes ({:.2}x)",
        growth as f64 / SIZE as f64
    );
    // Two copies at most: the framer's buffer, which becomes the message token, and the
    // store's (3.00x when the parser copied the literal out of the buffer).
    assert!(
        growth < SIZE * 5 / 2,
        "peak resident memory grew by {growth} bytes"
    );
    let inbox = store.messages("alice", "INBOX").expect("INBOX");
    assert_eq!(inbox.messages[0].raw.len(), SIZE);
}
