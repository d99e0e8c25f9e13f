//! mailrig's sans-IO IMAP server session: bytes in, responses and driver actions out, over
//! a shared [`mailrig_store::Store`]. It does no I/O and reads no clock (the driver passes the
//! time with [`Session::set_time`]).
//!
//! It is not a client and not a general IMAP codec: it parses commands into generic tokens
//! (atoms, strings, literals, lists) and each command handler interprets them.
//!
//! # Layout
//!
//! - `session.rs`: [`Session`], [`Output`]; input modes, dispatch, any-state commands
//!   (CAPABILITY, NOOP, LOGOUT), IDLE; `session/auth.rs`: STARTTLS, LOGIN, AUTHENTICATE PLAIN.
//! - `mailbox.rs`: authenticated-state commands (SELECT, EXAMINE, CREATE, DELETE, RENAME,
//!   SUBSCRIBE, UNSUBSCRIBE, LIST, LSUB, STATUS, APPEND).
//! - `selected.rs`: selected-state commands (FETCH, STORE, EXPUNGE, COPY, MOVE, CLOSE,
//!   UNSELECT, their UID forms) and the synchronization of other sessions' changes (RFC 9051
//!   §7.5.1).
//! - `condstore.rs`: CONDSTORE and QRESYNC (RFC 7162): what is enabled, the SELECT, FETCH
//!   and STORE modifiers, `VANISHED`.
//! - `search.rs`: SEARCH and UID SEARCH. `section.rs`: FETCH body sections and partials.
//! - `framing.rs`: lines and literals (sync and LITERAL+), with size caps.
//! - `command.rs`: tag, command name and argument tokens.
//! - `sequence.rs`: sequence sets.
//! - `response.rs`: strings, flag lists, dates.
//! - `config.rs`: [`Config`]. `error.rs`: [`SyntaxError`].
//!
//! # Example
//!
//! ```
//! use mailrig_imap::{Config, Output, Session};
//! use mailrig_store::{Store, User};
//!
//! let store = Store::new();
//! store.add_user(User::new("alice", "secret", ["alice@example.test"]))?;
//! let mut session = Session::new(Config::default(), store);
//! session.handle_input(b"a LOGIN alice secret\r\nb SELECT INBOX\r\n");
//! let mut text = Vec::new();
//! while let Some(Output::Data(bytes)) = session.poll_output() {
//!     text.extend(bytes);
//! }
//! let text = String::from_utf8(text).unwrap();
//! assert!(text.starts_with("* OK [CAPABILITY "));
//! assert!(text.contains("* 0 EXISTS\r\n"));
//! assert!(text.ends_with("b OK [READ-WRITE] SELECT completed\r\n"));
//! # Ok::<(), mailrig_store::StoreError>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod command;
mod condstore;
mod config;
mod error;
mod framing;
mod mailbox;
mod response;
mod search;
mod section;
mod selected;
mod sequence;
mod session;

pub use config::Config;
pub use error::SyntaxError;
pub use session::{Output, Session};
