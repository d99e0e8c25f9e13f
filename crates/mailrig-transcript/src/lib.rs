//! The mailrig scenario format and transcript engine. No I/O.
//!
//! A *scenario* is an RFC-style transcript of one or more SMTP/IMAP sessions (`C:` and `S:`
//! lines, `@` directives, a metadata header) that runs in both directions: mailrig can play the
//! client against a real server, or the server against a real client. A [`Transcript`] is what
//! actually happened on the wire. [`verify()`] checks a transcript against a scenario and returns
//! a [`Report`] whose failures render as readable diffs.
//!
//! This crate never touches sockets, files or clocks: callers pass text, bytes and timestamps.
//!
//! # Layout
//!
//! - [`scenario`]: the data model of a parsed scenario.
//! - [`parse`](mod@parse): text to [`Scenario`], with `file:line:col` errors ([`ParseError`];
//!   [`parse_all`] reports every error of a file as [`ParseErrors`]).
//! - [`print`](mod@print): the canonical printer (`parse(print(s)) == s`).
//! - [`pattern`]: compiling lines into matchers, matching bytes, rendering lines to send.
//! - [`imap`]: IMAP server lines matched by meaning (a response decoder and structural patterns).
//! - `reply`: SMTP replies matched by meaning (code and enhanced status code).
//! - [`engine`]: the incremental, sans-IO engine that plays either side of a scenario.
//! - [`play`]: the in-process driver of the engine (against sans-IO servers).
//! - [`framing`]: splitting a byte stream into protocol lines (IMAP literals included).
//! - [`transcript`]: the record of a session: writes, TLS start, close, timestamps.
//! - [`verify`](mod@verify): scenario + transcript to a [`Report`] of verdicts and diffs.
//! - [`report`]: rendering a [`Report`] with diffs.
//! - [`record`]: printing a transcript as a scenario, optionally redacted for snapshots.
//!
//! # Example
//!
//! ```
//! use mailrig_transcript::{parse, print};
//!
//! let text = "\
//! name: noop
//! sessions: a=imap
//!
//! C: A1 NOOP
//! S: A1 OK ${_:text=NOOP completed}
//! ";
//! let scenario = parse("noop.scenario", text).unwrap();
//! assert_eq!(print(&scenario), text);
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]
// A `ParseError` carries the offending line for its message; it is built once per bad line, on
// a cold path, so its size does not matter and boxing would only complicate field access.
#![allow(clippy::result_large_err)]

pub mod engine;
mod error;
pub mod framing;
pub mod imap;
pub mod parse;
pub mod pattern;
pub mod play;
pub mod print;
pub mod record;
mod reply;
pub mod report;
pub mod scenario;
pub mod transcript;
pub mod verify;

#[cfg(test)]
mod proptests;

pub use error::{ParseError, ParseErrors};
pub use parse::{parse, parse_all, parse_bytes, parse_bytes_all};
pub use print::print;
pub use scenario::Scenario;

pub use transcript::{SessionRecord, Transcript};
pub use verify::{Report, verify, verify_prefix};
