//! mailrig: fake SMTP and IMAP servers for your tests, and the `mailrig` command.
//!
//! [`Rig`] starts mailrig's fake servers inside a test, on `127.0.0.1` with free ports, in a
//! few milliseconds; [`blocking::Rig`] does the same for synchronous tests. Messages accepted
//! over SMTP land in the [`Store`] (and in IMAP at once), where tests inspect them or wait for them
//! ([`Rig::wait_for_message`]); every connection is recorded as a transcript.
//!
//! # Layout
//!
//! - [`rig`]: the async test API.
//! - [`blocking`]: the same for synchronous tests.
//! - [`import`]: existing mail (`.eml`, mbox, Maildir) into a user's INBOX.
//!
//! The crates underneath: `mailrig-runner` (`mailrig run`), `mailrig-transcript` (the scenario
//! format and engine), `mailrig-smtp` and `mailrig-imap` (the sans-IO sessions),
//! `mailrig-store` (the mail store), `mailrig-server` (sockets and TLS).

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod blocking;
pub mod import;
pub mod rig;

pub use mailrig_server::{ImapOptions, Protocol, SmtpOptions, tls::Identity};
pub use mailrig_store::{Envelope, Flag, Flags, Message, Store, StoreLimits, User};
pub use rig::{Rig, RigBuilder, RigError};

/// The README's Rust examples are compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
