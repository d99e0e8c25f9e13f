//! STARTTLS: `220`, then the TLS handshake, then a fresh session.
//!
//! Read first: RFC 3207 §4 (`220 Ready to start TLS`, `501` for parameters, `454` when TLS
//! is unavailable), §4.2 (after the handshake the server "MUST discard any knowledge obtained
//! from the client" and must not offer STARTTLS again), RFC 2920 §3.1 (STARTTLS ends a
//! pipelined group: anything after it in the buffer is plaintext injection, CVE-2011-0411).
//!
//! Choices where the RFCs leave one: STARTTLS during a mail transaction and STARTTLS once TLS
//! is up both get `503 5.5.1`; STARTTLS before EHLO is allowed.

use super::{Output, Session, State};
use crate::reply::Reply;

impl Session {
    /// `STARTTLS`.
    pub(super) fn starttls(&mut self) {
        if !self.config.extensions.starttls {
            return self.reply(Reply::with_status(502, [5, 5, 1], "STARTTLS not available"));
        }
        if self.tls {
            return self.reply(Reply::with_status(503, [5, 5, 1], "TLS already active"));
        }
        if !self.offers_starttls() {
            return self.reply(Reply::with_status(
                454,
                [4, 7, 0],
                "TLS not available due to temporary reason",
            ));
        }
        if self.transaction.is_some() {
            return self.reply(Reply::with_status(
                503,
                [5, 5, 1],
                "STARTTLS not permitted during a mail transaction",
            ));
        }
        self.reply(Reply::with_status(220, [2, 0, 0], "Ready to start TLS"));
        self.output.push_back(Output::StartTls);
        // Anything already buffered came in plaintext behind STARTTLS: never execute it.
        self.discarded_after_starttls += self.reader.clear();
        self.state = State::AwaitingTls;
    }
}
