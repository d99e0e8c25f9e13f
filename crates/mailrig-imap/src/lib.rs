//! mailrig's sans-IO IMAP server session: bytes in, responses and driver actions out, over
//! a shared [`mailrig_store::Store`]. It does no I/O and reads no clock (the driver passes the
//! time with [`Session::set_time`]).
//!
//! It is not a client and not a general IMAP codec: it parses commands into generic tokens
//! (atoms, strings, literals, lists) and each command handler interprets them.
//!
//! # Layout
//!
//! - `session.rs`: [`Session`], [`Output`]; input modes, the one dispatch on [`Verb`], any-state commands
//!   (CAPABILITY, NOOP, LOGOUT, ENABLE), IDLE; `session/auth.rs`: STARTTLS, LOGIN,
//!   AUTHENTICATE (PLAIN, LOGIN, XOAUTH2, OAUTHBEARER); `session/oauth.rs`: the OAuth messages;
//!   `session/compress.rs`: COMPRESS (RFC 4978; the driver compresses).
//! - `list_extended.rs`: LIST-EXTENDED and LIST-STATUS (RFC 5258, RFC 5819): what an
//!   extended LIST returns (`\NonExistent`, CHILDINFO, a STATUS per mailbox).
//! - `append.rs`: APPEND, with MULTIAPPEND (RFC 3502; all or none); `catenate.rs`:
//!   CATENATE (RFC 4469), messages made of TEXT parts and IMAP URLs.
//! - `mailbox.rs`: authenticated-state commands (SELECT, EXAMINE, CREATE, DELETE, RENAME,
//!   SUBSCRIBE, UNSUBSCRIBE, LIST, LSUB, STATUS).
//! - `fetch.rs`: FETCH and UID FETCH, their items and modifiers; `binary.rs`: BINARY's
//!   items (RFC 3516), decoded base64 and quoted-printable.
//! - `selected.rs`: selected-state commands (STORE, EXPUNGE, COPY, MOVE, CLOSE,
//!   UNSELECT, their UID forms) and the synchronization of other sessions' changes (RFC 9051
//!   §7.5.1).
//! - `search.rs`: SEARCH and UID SEARCH (ESEARCH answers in IMAP4rev2, and to RETURN in
//!   IMAP4rev1). `section.rs`: FETCH body sections (by part number too) and partials.
//! - `context.rs`: CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 §4): PARTIAL results, the
//!   searches a client asked to keep UPDATEd (ADDTO, REMOVEFROM), CANCELUPDATE.
//! - `sort.rs`: SORT and UID SORT (RFC 5256), the base subject and sent date;
//!   `thread.rs`: THREAD with ORDEREDSUBJECT and REFERENCES (RFC 5256 §3).
//! - `mime.rs`: BODYSTRUCTURE and BODY, the MIME part tree (over mail-parser);
//!   `envelope.rs`: ENVELOPE and address lists.
//! - `quota.rs`: [`Quota`], QUOTA (RFC 9208): GETQUOTA, GETQUOTAROOT, the OVERQUOTA check.
//! - `objectid.rs`: OBJECTID (RFC 8474): `EMAILID`, `MAILBOXID`, and `THREADID` (always
//!   `NIL`).
//! - `notify.rs`: NOTIFY (RFC 5465): the session's event groups, and the STATUS and LIST
//!   responses for events in other mailboxes (from the store's account journal).
//! - `recent.rs`: IMAP4rev1's `\Recent` messages of a selection.
//! - `condstore.rs`: CONDSTORE and QRESYNC (RFC 7162): what is enabled, the SELECT, FETCH
//!   and STORE modifiers, `VANISHED`.
//! - `framing.rs`: lines and literals (sync and LITERAL+), with size caps.
//! - `command.rs`: tag, [`Verb`] (the command name, typed) and argument tokens.
//! - `sequence.rs`: sequence sets. `sequence_map.rs`: the UIDs by sequence number a
//!   selection's client knows, shared between sessions that know the same.
//! - `response.rs`: the response model ([`Step`], [`Kind`], [`Status`]; handlers add whole
//!   responses, the session emits one [`Output::Response`] each), strings, flag lists, dates.
//! - `data.rs`: the untagged data responses, typed (`Data`), named ([`DataKind`]) and
//!   encoded in one place.
//! - `config.rs`: [`Config`], [`Extensions`], [`Versions`]. `error.rs`: [`SyntaxError`].
//! - `completion.rs`: [`Refusal`] (a `NO`/`BAD` with an optional response code) and the
//!   tagged completion.
//! - `storage.rs`: [`Storage`], the seam consulted before each store-changing or selecting
//!   [`Operation`] (default [`AllowAll`]), which can refuse it with a [`Refusal`].
//! - `extension.rs`: [`EXTENSIONS`], the table of switchable extensions (name, capability,
//!   switch) that CAPABILITY, the command check, `serve` and `Rig` read.
//! - `defect.rs`: [`Defect`], [`Defects`]: deliberate, test-only RFC violations that show a
//!   conformance suite catches bugs (off by default).
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
//! while let Some(Output::Response { bytes, .. }) = session.poll_output() {
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

mod append;
mod binary;
mod catenate;
mod command;
mod completion;
mod condstore;
mod config;
mod context;
mod data;
mod defect;
mod envelope;
mod error;
mod extension;
mod fetch;
mod framing;
mod list_extended;
mod mailbox;
mod mime;
mod notify;
mod objectid;
mod quota;
mod recent;
mod response;
mod search;
mod section;
mod selected;
mod sequence;
mod sequence_map;
mod session;
mod sort;
mod storage;
mod thread;

pub use command::Verb;
pub use completion::Refusal;
pub use config::{Config, Extensions, Versions};
pub use data::DataKind;
pub use defect::{Defect, Defects};
pub use error::SyntaxError;
pub use extension::{EXTENSIONS, Extension, Listed};
pub use quota::Quota;
pub use response::{Kind, Status, Step, date_time};
pub use session::{OUTPUT_HIGH_WATER, Output, Session};
pub use storage::{AllowAll, Operation, Storage, StorageHook};
