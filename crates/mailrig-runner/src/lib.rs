//! mailrig's conformance runner: plays scenarios over the network against SMTP and IMAP
//! servers (the servers under test, or mailrig's own model servers started in process) and
//! collects verdicts.
//!
//! The judging is done by [`mailrig_transcript::engine::Engine`], the same sans-IO engine
//! that `cargo test` drives in process; this crate only moves its bytes over sockets, with
//! TLS and a real clock, so a scenario means the same thing in both places.
//!
//! # Layout
//!
//! - [`net`]: the network driver of the engine (TCP, STARTTLS, implicit TLS, deadlines).
//! - [`replay`]: the engine's server role over sockets: serves a scenario to a real client
//!   (`mailrig replay`).
//! - [`target`]: endpoints from URLs (`imap://host:port`, ...) and which certificates to trust.
//! - [`probe`]: what a target advertises (IMAP capabilities, SMTP EHLO keywords), for
//!   `requires:`.
//! - [`suite`]: finding, selecting and running scenario files, one target per scenario.
//! - [`state`]: what each scenario can rely on: its own `${mailbox}`, created and removed
//!   through IMAP, and its fixture loaded with APPEND.
//! - [`ledger`]: known-failure ledgers.
//! - [`client`]: real mail clients under test, driven by profiles (`mailrig run --client`).
//! - [`record`]: `mailrig record`, a recording proxy that writes what passes as a scenario.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod admin;
pub mod client;
pub mod faults;
pub mod ledger;
pub mod net;
pub mod probe;
pub mod record;
pub mod replay;
pub mod state;
mod stream;
pub mod suite;
pub mod target;

pub use ledger::Ledger;
pub use suite::{Outcome, RunConfig, Selection, Target, Verdict};
