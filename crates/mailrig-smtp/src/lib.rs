//! A sans-IO SMTP server session: bytes in, replies out. No sockets, no tokio, no clock.
//!
//! [`Session`] is the server side of one SMTP connection (RFC 5321) with the usual extensions:
//! PIPELINING, SIZE, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES, CHUNKING, DSN, STARTTLS and AUTH
//! (PLAIN, LOGIN, CRAM-MD5, XOAUTH2, OAUTHBEARER). Each can be switched off in [`Config`] to
//! give a fake server a different "personality". It is strict by default: lines end only with
//! CRLF, DATA ends only with `<CRLF>.<CRLF>` (so SMTP smuggling look-alikes are content),
//! `MAIL FROM:<...>` has no space after the colon, and plaintext pipelined behind STARTTLS is
//! discarded. Memory is bounded by the configured line and message limits, whatever the peer
//! sends, and no input can make it panic.
//!
//! It is not a mail server: accounts, recipients and delivery are the [`Backend`]'s business,
//! and the driver (mailrig-server) owns the socket and TLS.
//!
//! # Layout
//!
//! - `session` — [`Session`], [`Output`] (one reply each, with the [`Step`] it answers): the
//!   input loop and the states; its children handle HELO/EHLO, the mail transaction, STARTTLS
//!   and AUTH.
//! - `config` — [`Config`], [`Extensions`], [`Mechanism`]; `extension` — [`EXTENSIONS`], the
//!   table of switchable extensions (name, EHLO keyword, switch) that EHLO, `serve` and `Rig`
//!   read.
//! - `backend` — the [`Backend`] trait, [`Envelope`], [`RecipientCheck`], [`DeliveryError`].
//! - `reply` — [`Reply`] and [`EnhancedCode`]; the table of reply codes used.
//! - `line` — command-line framing (CRLF only, length cap).
//! - `command` — parsing a command line.
//! - `path` — paths, mailboxes and domains (RFC 5321 §4.1.2, RFC 6531).
//! - `params` — MAIL/RCPT parameters: [`MailParams`], [`RcptParams`], [`Body`]; `dsn` —
//!   RFC 3461's [`Ret`], [`Notify`], [`Orcpt`].
//! - `data` — message text after DATA: dot-unstuffing, end of data.
//! - `chunking` — BDAT chunks (RFC 3030).
//! - `sasl` — the SASL mechanisms (RFC 4616, RFC 2195, RFC 7628, LOGIN).
//! - `defect` — [`Defect`], [`Defects`]: deliberate, test-only RFC violations that show a
//!   conformance suite catches bugs (off by default).
//!
//! # Example
//!
//! ```
//! use mailrig_smtp::{Backend, Config, DeliveryError, Envelope, Output, RecipientCheck, Session};
//!
//! /// Knows alice@example.test, keeps every message.
//! #[derive(Default)]
//! struct Mailboxes(Vec<Envelope>);
//!
//! impl Backend for Mailboxes {
//!     fn authenticate(&mut self, login: &str, password: &str) -> bool {
//!         (login, password) == ("alice", "secret")
//!     }
//!     fn cram_md5_secret(&mut self, _: &str) -> Option<String> { None }
//!     fn check_token(&mut self, _: &str, _: &str) -> bool { false }
//!     fn recipient(&mut self, address: &str) -> RecipientCheck {
//!         if address == "alice@example.test" { RecipientCheck::Local } else { RecipientCheck::Unknown }
//!     }
//!     fn local_domain(&mut self, domain: &str) -> bool { domain.eq_ignore_ascii_case("example.test") }
//!     fn deliver(&mut self, envelope: &Envelope) -> Result<(), DeliveryError> {
//!         self.0.push(envelope.clone());
//!         Ok(())
//!     }
//! }
//!
//! let mut session = Session::new(Config { hostname: "mx.example.test".into(), ..Config::default() });
//! let mut store = Mailboxes::default();
//! // One write with a whole pipelined transaction (RFC 2920).
//! session.handle_input(
//!     b"EHLO client.example.test\r\n\
//!       MAIL FROM:<bob@example.test>\r\n\
//!       RCPT TO:<nobody@example.test>\r\n\
//!       RCPT TO:<alice@example.test>\r\n\
//!       DATA\r\n",
//!     &mut store,
//! );
//! session.handle_input(b"Subject: hi\r\n\r\n..dot\r\n.\r\n", &mut store);
//!
//! let mut replies = Vec::new();
//! while let Some(output) = session.poll_output() {
//!     if let Output::Reply { bytes, .. } = output {
//!         replies.push(String::from_utf8(bytes).unwrap());
//!     }
//! }
//! assert_eq!(replies[0], "220 mx.example.test ESMTP mailrig\r\n");
//! assert!(replies[1].starts_with("250-mx.example.test\r\n250-PIPELINING\r\n"));
//! assert_eq!(replies[2], "250 2.1.0 Ok\r\n");
//! assert_eq!(replies[3], "550 5.1.1 No such user here\r\n");
//! assert_eq!(replies[4], "250 2.1.5 Ok\r\n");
//! assert_eq!(replies[5], "354 End data with <CR><LF>.<CR><LF>\r\n");
//! assert_eq!(replies[6], "250 2.0.0 Ok: queued\r\n");
//! assert_eq!(store.0[0].rcpt_to, ["alice@example.test"]);
//! assert_eq!(store.0[0].data, b"Subject: hi\r\n\r\n.dot\r\n");
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod backend;
mod chunking;
mod command;
mod config;
mod data;
mod defect;
mod dsn;
mod extension;
mod line;
mod params;
mod path;
mod reply;
mod sasl;
mod session;

pub use backend::{Backend, DeliveryError, Envelope, RecipientCheck};
pub use command::Verb;
pub use config::{Config, Extensions, Mechanism};
pub use defect::{Defect, Defects};
pub use dsn::{Notify, Orcpt, Ret};
pub use extension::{EXTENSIONS, Extension};
pub use params::{Body, MailParams, RcptParams};
pub use reply::{EnhancedCode, Reply};
pub use session::{Output, Session, Step};
