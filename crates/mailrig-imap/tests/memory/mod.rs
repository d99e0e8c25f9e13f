//! What the memory tests (`append_memory.rs`, `literal_memory.rs`) share: a session's output as
//! text, a store with alice, and this process's peak resident memory. Each of those tests is a
//! test binary of its own, so the peak is its test's alone.

use mailrig_imap::{Output, Session};
use mailrig_store::{Store, User};

/// Everything the session has to say, as text.
pub(crate) fn drain(session: &mut Session) -> String {
    let mut out = Vec::new();
    while let Some(output) = session.poll_output() {
        if let Output::Response { bytes, .. } = output {
            out.extend(bytes);
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A store with alice (password `secret`).
pub(crate) fn store() -> Store {
    let store = Store::new();
    store
        .add_user(User::new("alice", "secret", ["alice@example.test"]))
        .expect("a new store has no users");
    store
}

/// The peak resident memory of this process (`VmHWM`, Linux), in bytes.
pub(crate) fn peak_memory() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("a VmHWM line");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("VmHWM in kB");
    kib * 1024
}
