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
//!   counts, tags never sent, early `* BYE`/`421`, stalls, connections cut mid-line, invalid
//!   UTF-8, NUL, bare CR/LF), plus a response injected after the STARTTLS go-ahead, which a
//!   correct client discards and so must again behave identically.
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
//! - `mutation`: [`Mutation`] and how a list of them rewrites the canonical scenario.
//! - `imap`: meaning-preserving byte rewrites of one IMAP line (item order, literals, case).
//! - `case`: [`Case`], its [`Expect`]ation and its scenario.
//! - `strategy`: the proptest strategies [`legal`] and [`hostile`].
//! - `harness`: [`Harness`], the in-process harness for Rust clients (a fresh replay per case
//!   on loopback, the client closure on the harness's tokio runtime, a time limit).
//!
//! # Example
//!
//! A Rust client that reads the greeting of the IMAP flow, fuzzed with legal variations: its
//! outcome must not change, it must not panic or hang.
//!
//! ```
//! use mailrig_fuzz::{Endpoint, Flow, Harness, HarnessConfig, legal};
//! use mailrig_transcript::scenario::Protocol;
//! use proptest::test_runner::{Config, TestRunner};
//! use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
//!
//! async fn client(endpoint: Endpoint) -> Result<String, String> {
//!     let stream = tokio::net::TcpStream::connect(endpoint.addr(Protocol::Imap))
//!         .await
//!         .map_err(|e| e.to_string())?;
//!     let mut stream = BufReader::new(stream);
//!     let mut greeting = String::new();
//!     stream.read_line(&mut greeting).await.map_err(|e| e.to_string())?;
//!     // Give up after the greeting: the replay reports that, and the outcome is the same
//!     // every time, which is what the harness compares.
//!     stream.get_mut().shutdown().await.map_err(|e| e.to_string())?;
//!     Ok(greeting.split(' ').next().unwrap_or_default().to_owned())
//! }
//!
//! let canonical = Flow::ImapFetch.canonical();
//! # let run = || -> Result<(), Box<dyn std::error::Error>> {
//! let harness = Harness::new(&canonical, HarnessConfig::default(), client)?;
//! let mut runner = TestRunner::new(Config { cases: 16, ..Config::default() });
//! runner.run(&legal(&canonical), |case| harness.check(&case))?;
//! # Ok(()) };
//! ```
//!
//! Inside `proptest!`, build the harness once (a `static` `OnceLock`, or per test) and write
//! `harness.check(&case)?` in the body.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod canonical;
mod case;
mod harness;
mod imap;
mod mutation;
mod strategy;

pub use canonical::{Canonical, CanonicalError, Flow};
pub use case::{Case, Expect};
pub use harness::{Ended, Endpoint, Harness, HarnessConfig, HarnessError, Run};
pub use mutation::{BadBytes, Extra, Mutation};
pub use strategy::{MAX_MUTATIONS, hostile, hostile_mutation, legal, legal_mutation};
