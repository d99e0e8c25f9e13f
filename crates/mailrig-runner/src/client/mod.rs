//! Real mail clients under test: a [`Profile`] says how to make one client do each flow
//! (send, fetch, mark-read, flag, move, delete, sync); [`run()`] starts mailrig's model servers
//! for each (flow, TLS mode), prepares the store, runs the client as a subprocess with a
//! deadline, and judges the store afterwards and the recorded transcript (typed checks in
//! [`checks`]). Results are [`Outcome`]s, the same as the server-side suite's, so reports,
//! ledgers and exit codes are shared. User reference: `docs/client-profiles.md`.
//!
//! # Layout
//!
//! - [`template`]: `{placeholder}` strings.
//! - [`profile`]: the TOML format, checked with positions.
//! - [`flow`]: what each flow prepares in the store and expects of it afterwards.
//! - [`checks`]: invariants checked on the transcript, each explaining itself with an excerpt.
//! - [`exec`]: a subprocess with a deadline.
//! - [`listeners`]: where a flow's client connects ([`Listeners`]): mailrig's model servers.
//! - [`scripted`]: a flow against a replay of a `plays: server` scenario ([`Script`]) instead:
//!   the replay's listeners, its verdict joining the transcript checks, no store.
//! - `run`: one (flow, mode) end to end, and [`run()`] over a profile's selection.

pub mod checks;
pub mod exec;
pub mod flow;
pub mod listeners;
pub mod profile;
pub mod scripted;
pub mod template;

mod run;

pub use listeners::Listeners;
pub use profile::{Profile, ProfileError};
pub use run::{ClientConfig, outcome_name, run};
pub use scripted::{Probe, Script, probe};

pub use crate::suite::Outcome;

/// How the client reaches the servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TlsMode {
    /// Plaintext; the servers run without TLS (no STARTTLS offered, AUTH and LOGIN allowed
    /// in the clear).
    None,
    /// Plaintext ports upgraded with STARTTLS (SMTP submission, IMAP).
    Starttls,
    /// Implicit TLS ports (SMTPS, IMAPS).
    Tls,
}

impl TlsMode {
    /// Every mode, in order.
    pub const ALL: [TlsMode; 3] = [TlsMode::None, TlsMode::Starttls, TlsMode::Tls];

    /// The word used in profiles and on the command line.
    pub fn keyword(self) -> &'static str {
        match self {
            TlsMode::None => "none",
            TlsMode::Starttls => "starttls",
            TlsMode::Tls => "tls",
        }
    }

    /// Parses a keyword.
    pub fn from_keyword(text: &str) -> Option<TlsMode> {
        TlsMode::ALL.into_iter().find(|m| m.keyword() == text)
    }
}

/// What the client is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Flow {
    /// Send one message (the message file) from alice to bob.
    Send,
    /// Fetch the message in alice's INBOX.
    Fetch,
    /// Mark the (unseen) message read.
    MarkRead,
    /// Flag the message (`\Flagged`).
    Flag,
    /// Move the message to the target mailbox.
    Move,
    /// Delete the message (expunged from INBOX).
    Delete,
    /// A two-way synchronizer: pull, change locally and on the server, sync again.
    Sync,
}

impl Flow {
    /// Every flow, in order.
    pub const ALL: [Flow; 7] = [
        Flow::Send,
        Flow::Fetch,
        Flow::MarkRead,
        Flow::Flag,
        Flow::Move,
        Flow::Delete,
        Flow::Sync,
    ];

    /// The word used in profiles and on the command line.
    pub fn keyword(self) -> &'static str {
        match self {
            Flow::Send => "send",
            Flow::Fetch => "fetch",
            Flow::MarkRead => "mark-read",
            Flow::Flag => "flag",
            Flow::Move => "move",
            Flow::Delete => "delete",
            Flow::Sync => "sync",
        }
    }

    /// Parses a keyword.
    pub fn from_keyword(text: &str) -> Option<Flow> {
        Flow::ALL.into_iter().find(|f| f.keyword() == text)
    }

    /// `` `send`, `fetch`, ... `` for messages.
    pub fn list() -> String {
        let words: Vec<String> = Flow::ALL.iter().map(|f| format!("`{}`", f.keyword())).collect();
        words.join(", ")
    }

    /// Whether it speaks SMTP (else IMAP).
    pub fn is_smtp(self) -> bool {
        self == Flow::Send
    }
}
