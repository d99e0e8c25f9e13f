//! AUTH: the SMTP side of a SASL exchange (`334` challenges, base64, `*` to cancel).
//!
//! Read first: RFC 4954 §4 (the AUTH command, initial response, `=` for an empty one, `*`
//! cancels with `501`, responses up to 12288 octets, `500 5.5.6` for longer), §4 again (`503`
//! after a successful AUTH and during a transaction), §6 (status codes: `235 2.7.0`,
//! `535 5.7.8`, `538 5.7.11`, `501 5.5.2` for bad base64, `504 5.5.4` for an unknown
//! mechanism). The mechanisms themselves are in [`crate::sasl`].
//!
//! Choices where the RFCs leave one: AUTH needs EHLO first (`503 5.5.1`; it is an extension
//! command); with `require_tls_for_auth` every mechanism counts as needing encryption (`538
//! 5.7.11`; RFC 5248's `523 5.7.10` is not used); an initial response to CRAM-MD5 gets `501
//! 5.5.4` as RFC 4954 §4 requires.

use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};

use super::{Session, State};
use crate::backend::Backend;
use crate::config::Mechanism;
use crate::defect::Defect;
use crate::line::Framed;
use crate::reply::Reply;
use crate::sasl::{Exchange, Step};

/// Base64 that accepts missing padding, for lenient syntax.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

impl Session {
    /// `AUTH mechanism [initial-response]`.
    pub(super) fn auth(
        &mut self,
        mechanism: &str,
        initial_response: Option<&str>,
        backend: &mut dyn Backend,
    ) {
        if let Some(refusal) = self.refuse_auth() {
            return self.reply(refusal);
        }
        let Some(mechanism) =
            Mechanism::from_name(mechanism).filter(|m| self.config.extensions.auth.contains(m))
        else {
            return self.reply(Reply::with_status(
                504,
                [5, 5, 4],
                "Unrecognized authentication type",
            ));
        };
        self.auth_attempts += 1;
        let challenge = format!(
            "<{}.{}@{}>",
            self.auth_attempts, self.config.nonce, self.config.hostname
        );
        let exchange = Exchange::begin(mechanism, || challenge);
        let Some(initial) = initial_response else {
            let first = exchange.first_challenge();
            self.challenge(&first);
            self.state = State::Auth(exchange);
            return;
        };
        if !exchange.allows_initial_response() {
            return self.reply(Reply::with_status(
                501,
                [5, 5, 4],
                "This mechanism does not allow an initial response",
            ));
        }
        // RFC 4954 §4: "=" is a zero-length initial response.
        let message = if initial == "=" {
            Some(Vec::new())
        } else {
            self.decode(initial.as_bytes())
        };
        match message {
            Some(message) => self.auth_step(exchange.respond(&message, backend, self.config.lenient_syntax)),
            None => self.reply(cannot_decode()),
        }
    }

    /// Why AUTH cannot start now, if it cannot.
    fn refuse_auth(&self) -> Option<Reply> {
        let bad_sequence = |text: &str| Some(Reply::with_status(503, [5, 5, 1], text));
        if self.config.extensions.auth.is_empty() {
            return Some(Reply::with_status(502, [5, 5, 1], "AUTH not available"));
        }
        if !self.greeting.as_ref().is_some_and(|g| g.extended) {
            return bad_sequence("Send EHLO first");
        }
        if self.authenticated_as.is_some() && !self.config.defects.has(Defect::SecondAuthAccepted) {
            return bad_sequence("Already authenticated");
        }
        if self.transaction.is_some() {
            return bad_sequence("AUTH not permitted during a mail transaction");
        }
        if self.auth_needs_tls() && !self.tls {
            return Some(Reply::with_status(
                538,
                [5, 7, 11],
                "Encryption required for requested authentication mechanism",
            ));
        }
        None
    }

    /// A line received during the exchange.
    pub(super) fn auth_response(&mut self, framed: Framed, backend: &mut dyn Backend) {
        let State::Auth(exchange) = std::mem::replace(&mut self.state, State::Command) else {
            return;
        };
        let line = match framed {
            Framed::TooLong => {
                return self.reply(Reply::with_status(
                    500,
                    [5, 5, 6],
                    "Authentication Exchange line is too long",
                ));
            }
            Framed::Line(line) => line,
        };
        if line == b"*" {
            return self.reply(Reply::with_status(501, [5, 7, 0], "Authentication canceled"));
        }
        match self.decode(&line) {
            Some(message) => self.auth_step(exchange.respond(&message, backend, self.config.lenient_syntax)),
            None => self.reply(cannot_decode()),
        }
    }

    fn auth_step(&mut self, step: Step) {
        match step {
            Step::Continue(exchange, challenge) => {
                self.challenge(&challenge);
                self.state = State::Auth(exchange);
            }
            Step::Success(user) => {
                self.authenticated_as = Some(user);
                self.reply(Reply::with_status(235, [2, 7, 0], "Authentication successful"));
            }
            Step::Failure => self.reply(Reply::with_status(
                535,
                [5, 7, 8],
                "Authentication credentials invalid",
            )),
        }
    }

    /// `334 SP base64(challenge)`.
    fn challenge(&mut self, challenge: &[u8]) {
        self.reply(Reply::plain(334, STANDARD.encode(challenge)));
    }

    fn decode(&self, text: &[u8]) -> Option<Vec<u8>> {
        if self.config.lenient_syntax {
            LENIENT_BASE64.decode(text).ok()
        } else {
            STANDARD.decode(text).ok()
        }
    }
}

fn cannot_decode() -> Reply {
    Reply::with_status(501, [5, 5, 2], "Cannot Base64-decode client response")
}
