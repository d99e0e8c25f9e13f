//! Client fuzzing for mailrig: generated server behaviour thrown at a mail client until it
//! misbehaves, then shrunk to a small scenario file that `mailrig replay` serves to reproduce
//! the failure.
//!
//! Every generated case **is a scenario**: a canonical `plays: server` scenario (a shipped
//! [`Flow`], or any file mailrig can play the server side of) with a list of [`Mutation`]s
//! applied to its `S:` lines. The strategies draw those lists:
//!
//! - [`legal`]: variations a correct client must handle identically (write boundaries, short
//!   sleeps, keyword case, strings as literals, FETCH item, CAPABILITY and EHLO keyword order,
//!   extra untagged EXISTS, FETCH FLAGS, `OK [ALERT]` and CAPABILITY responses);
//! - [`hostile`]: behaviour a client must survive (malformed lines, wrong and huge literal
//!   counts, tags never sent, early `* BYE`/`421`, stalls, connections cut mid-line or reset,
//!   invalid UTF-8, NUL, bare CR/LF), plus a response injected after the STARTTLS go-ahead,
//!   which a correct client discards and so must again behave identically. The ones that are
//!   protocol-step faults (goodbye, stall, cut, reset) are mailrig-fault rules in the case
//!   scenario's `faults:` header, aimed at the reply of a canonical line, which a replay
//!   applies.
//!
//! proptest shrinks a failing case toward fewer mutations, earlier lines, smaller offsets and
//! shorter garbage; [`Case::to_text`] prints it with the canonical printer.
//!
//! What this crate is not: it does not run subprocess clients (`mailrig fuzz` does, with
//! client profiles) and does not fuzz mailrig's own parsers (`fuzz/`, cargo-fuzz).
//!
//! # Layout
//!
//! - `canonical`: [`Flow`] (the shipped canonical scenarios, `flows/`) and [`Canonical`], a
//!   scenario indexed for the strategies.
//! - `mutation`: [`Mutation`] and how a list of them rewrites the canonical scenario (and
//!   the fault rules the step-fault kinds add).
//! - `target`: each canonical `S:` line's reply as a fault-rule trigger.
//! - `imap`: meaning-preserving byte rewrites of one IMAP line (item order, literals, case).
//! - `case`: [`Case`], its [`Expect`]ation and its scenario.
//! - `delivered`: [`Delivered`], what a client asked the server to store (messages, flag
//!   changes), read from a transcript: the store judge of legal cases.
//! - `pin`: [`pin_message`], a store finding's message written into the case's client lines,
//!   so a replay of the file reproduces it.
//! - `strategy`: the proptest strategies [`legal`] and [`hostile`].
//! - `harness`: [`Harness`], the in-process harness for Rust clients (a fresh replay per case
//!   on loopback listeners bound once, the client closure on the harness's tokio runtime, a
//!   time limit).
//!
//! # Example
//!
//! A complete fuzzing test of a small Rust IMAP client against a canonical scenario of its
//! own (any `plays: server` scenario will do; [`Flow`] has shipped ones): under legal
//! variations its outcome must not change, and it must not panic or hang.
//!
//! ```
//! use mailrig_fuzz::{Canonical, Endpoint, Harness, HarnessConfig, legal};
//! use mailrig_transcript::scenario::Protocol;
//! use proptest::test_runner::{Config, TestRunner};
//! use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
//!
//! const CANONICAL: &str = "\
//! name: noop-logout
//! sessions: a=imap
//! plays: server
//!
//! S: * OK [CAPABILITY IMAP4rev1 IDLE] ready
//! C: ${t1:atom} NOOP
//! S: ${t1} OK NOOP completed
//! C: ${t2:atom} LOGOUT
//! S: * BYE bye
//! S: ${t2} OK LOGOUT completed
//! ";
//!
//! /// The client under test: NOOP, then LOGOUT; its outcome is the two completions' status.
//! async fn client(endpoint: Endpoint) -> Result<Vec<String>, String> {
//!     let tcp = tokio::net::TcpStream::connect(endpoint.addr(Protocol::Imap)).await.map_err(|e| e.to_string())?;
//!     let mut conn = BufReader::new(tcp);
//!     let mut line = String::new();
//!     conn.read_line(&mut line).await.map_err(|e| e.to_string())?;
//!     let mut statuses = Vec::new();
//!     for (tag, command) in [("a1", "NOOP"), ("a2", "LOGOUT")] {
//!         conn.get_mut().write_all(format!("{tag} {command}\r\n").as_bytes()).await.map_err(|e| e.to_string())?;
//!         loop {
//!             line.clear();
//!             if conn.read_line(&mut line).await.map_err(|e| e.to_string())? == 0 {
//!                 return Err("closed".into());
//!             }
//!             if let Some(rest) = line.strip_prefix(&format!("{tag} ")) {
//!                 // Status words are case-insensitive (RFC 9051 §9): `ok` is OK.
//!                 statuses.push(rest.split(' ').next().unwrap_or_default().to_ascii_uppercase());
//!                 break;
//!             }
//!         }
//!     }
//!     Ok(statuses)
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let scenario = mailrig_transcript::parse("noop-logout.scenario", CANONICAL)?;
//! let canonical = Canonical::new(scenario)?;
//! let harness = Harness::new(&canonical, HarnessConfig::default(), client)?;
//! assert_eq!(harness.baseline(), &Ok(vec!["OK".to_owned(), "OK".to_owned()]));
//! let mut runner = TestRunner::new(Config { cases: 32, failure_persistence: None, ..Config::default() });
//! // On failure: the shrunk case, whose `to_text()` is a file `mailrig replay` serves.
//! runner.run(&legal(&canonical), |case| harness.check(&case))?;
//! # Ok(())
//! # }
//! ```
//!
//! Inside `proptest!`, build the harness once (a `static` `OnceLock`, or per test) and write
//! `harness.check(&case)?` in the body.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod canonical;
mod case;
mod delivered;
mod harness;
mod imap;
mod mutation;
mod pin;
mod strategy;
mod target;

pub use canonical::{Canonical, CanonicalError, Flow};
pub use case::{Case, Expect, gave_up_at_tls};
pub use delivered::{Append, Delivered};
pub use harness::{Ended, Endpoint, Harness, HarnessConfig, HarnessError, Run};
pub use mutation::{BadBytes, Extra, Mutation};
pub use pin::{pin_message, pinned_case_text};
pub use strategy::{MAX_MUTATIONS, hostile, hostile_mutation, legal, legal_mutation};
