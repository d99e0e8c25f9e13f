//! Fault rules for mailrig's fake servers, sans-IO: make a server misbehave on purpose,
//! deterministically, at any protocol step.
//!
//! A [`Rule`] is a [`Trigger`] (a protocol step or connection event, which occurrence, which
//! connection, which recipient, optionally a seeded probability) and an [`Action`] (replace the
//! reply, say goodbye and close, close, reset, delay, throttle, stall, split, merge, inject
//! bytes, corrupt, edit capabilities). Rules are built in code or parsed from a compact text
//! form ([`Rule::parse`]; reference in docs/faults.md), and print back to it.
//!
//! The engine ([`FaultSet`] per server, [`ConnFaults`] per connection) sees each reply with the
//! step it answers ([`Reply`]) and the connection events, and answers with a [`Plan`]: the
//! writes, their delays, and whether to go on, close, reset or stall. It does no I/O and reads
//! no clock; the server's driver carries plans out. A backend can ask it first
//! ([`ConnFaults::refusal`]) so a refused message is never stored.
//!
//! It depends on nothing of mailrig's: the server maps its sessions' outputs to [`Reply`], and a
//! fuzzer can generate rules without a server.
//!
//! # Layout
//!
//! - `reply` — what the layer sees: [`Reply`], [`Step`], [`ReplyKind`], [`Protocol`].
//! - `rule` — the model: [`Rule`], [`Trigger`], [`Event`], [`Action`]; printing.
//! - `parse` — the text form and [`ParseError`].
//! - `engine` — [`FaultSet`], [`ConnFaults`], [`Plan`].
//! - `transform` — the byte-level actions (replace, corrupt, capabilities, segments).
//!
//! # Example
//!
//! ```
//! use mailrig_fault::{FaultSet, Protocol, Reply, ReplyKind, Rule, Step};
//!
//! let rule = Rule::parse("rcpt#2: reply 452 4.2.2 mailbox full").unwrap();
//! let faults = FaultSet::new(vec![rule], 7);
//! let mut conn = faults.connection(Protocol::Smtp);
//! let rcpt = || Reply::new(Step::Command("RCPT"), ReplyKind::Final, "250 2.1.5 Ok\r\n");
//! assert_eq!(conn.on_reply(rcpt()).writes[0].bytes, b"250 2.1.5 Ok\r\n");
//! assert_eq!(conn.on_reply(rcpt()).writes[0].bytes, b"452 4.2.2 mailbox full\r\n");
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod engine;
mod parse;
mod reply;
mod rule;
mod transform;

pub use engine::{ConnFaults, FaultSet, ImapRefusal, Plan, Refusal, Then, Write};
pub use parse::ParseError;
pub use reply::{Protocol, Reply, ReplyKind, Step};
pub use rule::{Action, Event, Position, Random, Response, Rule, RuleError, Trigger};

/// Parses rules, one per item, each error with the rule's index (0-based).
pub fn parse_rules<S: AsRef<str>>(rules: &[S]) -> Result<Vec<Rule>, (usize, ParseError)> {
    rules
        .iter()
        .enumerate()
        .map(|(i, text)| Rule::parse(text.as_ref()).map_err(|e| (i, e)))
        .collect()
}
