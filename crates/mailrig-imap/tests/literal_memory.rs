//! A 2 GiB LITERAL+ literal through the sans-IO session, every byte of it: the session refuses
//! it with `NO [TOOBIG]` at the announcement (it cannot stop the bytes: RFC 7888 §4, the
//! client sends them without waiting), skips them without keeping them, and runs the command
//! after the literal. Its own test binary, so the process's peak memory (`VmHWM`) is this
//! test's alone: it must stay far below the 2 GiB that went through.

mod memory;

use mailrig_imap::{Config, Session};
use memory::{drain, peak_memory, store};

const SIZE: u64 = 2 << 30;

#[test]
fn a_two_gigabyte_literal_plus_is_skipped_in_bounded_memory() {
    let store = store();
    let mut session = Session::new(Config::default(), store.clone());
    session.handle_input(b"a LOGIN alice secret\r\n");
    drain(&mut session);
    session.handle_input(format!("b APPEND INBOX {{{SIZE}+}}\r\n").as_bytes());
    let refused = drain(&mut session);
    assert!(refused.starts_with("b NO [TOOBIG]"), "{refused}");
    // Lines that would be commands if the session read the literal as commands.
    let chunk = b"x NOOP\r\n".repeat(128 * 1024);
    let mut sent = 0;
    while sent < SIZE {
        let n = chunk.len().min(usize::try_from(SIZE - sent).expect("small"));
        session.handle_input(&chunk[..n]);
        sent += n as u64;
        let out = drain(&mut session);
        assert!(out.is_empty(), "answered literal bytes at {sent}: {out:.200}");
    }
    session.handle_input(b"\r\nc NOOP\r\n");
    assert_eq!(drain(&mut session), "c OK NOOP completed\r\n");
    let inbox = store.messages("alice", "INBOX").expect("INBOX");
    assert!(inbox.messages.is_empty(), "nothing was stored");
    let peak = peak_memory();
    assert!(peak < SIZE / 8, "peak resident memory {peak} bytes");
}
