//! mailrig's in-memory mail store, shared by the fake SMTP server (which delivers into it)
//! and the fake IMAP server (which reads and changes it, and must see every change any other
//! session makes).
//!
//! It is not a protocol implementation and does no I/O: no files, sockets, clock or
//! runtime. Times are unix seconds passed in by the caller, and fixture files are read by the
//! caller through a callback.
//!
//! # Model
//!
//! - A [`Store`] holds users ([`User`]: login, password, addresses). Each user starts with
//!   INBOX, Sent, Drafts, Trash and Junk ([`DEFAULT_MAILBOXES`]); `/` separates levels.
//! - A mailbox has a UIDVALIDITY (unique store-wide, so a recreated mailbox never reuses
//!   one), UIDNEXT, HIGHESTMODSEQ and [`Message`]s in UID order. UIDs only ascend and are
//!   never reused; modification sequences only grow (RFC 7162).
//! - Every change to a mailbox goes to its change feed; a session follows it with a
//!   [`Watch`] ([`Store::watch`], [`Watch::poll`], an optional waker for IDLE).
//! - SMTP deliveries are also logged as [`Envelope`]s, with a store-wide
//!   [`version`](Store::version) counter and wakers for "wait until a message arrives".
//!
//! # Concurrency
//!
//! `Store` is `Clone + Send + Sync`; clones share one `Arc`. There is no global lock on
//! reads: the user table is an `RwLock` held only to find an account; each account's mailbox
//! table is its own `RwLock`; each mailbox's state (messages and feed) is its own `Mutex`, so
//! sessions on different mailboxes never contend. Message bodies are `Arc<[u8]>`, so
//! snapshots and feed entries copy no message data. Wakers run after every lock is released.
//!
//! # Layout
//!
//! - `store.rs`: [`Store`], users, address resolution, envelopes, the version counter.
//! - `tree.rs`: per-user mailbox tables: create, delete, rename, list, subscriptions.
//! - `messages.rs`: append, deliver, snapshots, status, flags, expunge, copy, move, watch.
//! - `mailbox.rs`: one mailbox's state and its public views ([`Message`], [`Snapshot`], ...).
//! - `feed.rs`: the change feed: [`Change`], [`Watch`].
//! - `account.rs`: each account's journal of events in all its mailboxes, for IMAP NOTIFY:
//!   [`AccountChange`], [`AccountWatch`] ([`Store::watch_account`]).
//! - `vanished.rs`: which UIDs were expunged and when, for QRESYNC's `VANISHED (EARLIER)`.
//! - `flags.rs`: [`Flag`], [`Keyword`], [`Flags`], [`FlagOp`].
//! - `mailbox_name.rs`: name rules and [`SpecialUse`].
//! - [`fixture`]: [`Seed`], the TOML fixture format (`docs/fixtures.md`).
//! - `mbox.rs`: [`parse_mbox`] and [`maildir_flags`].
//!
//! # Example
//!
//! ```
//! use mailrig_store::{Change, Flag, FlagOp, Flags, Store, User};
//!
//! let store = Store::new();
//! store.add_user(User::new("alice", "secret", ["alice@example.test"]))?;
//! assert_eq!(store.resolve("alice@EXAMPLE.test").as_deref(), Some("alice"));
//! assert_eq!(store.resolve("Alice@example.test"), None); // local parts are case-sensitive
//!
//! // An IMAP session selects INBOX and follows it.
//! let mut watch = store.watch("alice", "INBOX")?;
//! let view = watch.snapshot()?;
//! assert!(view.messages.is_empty());
//!
//! // The SMTP side delivers; another session marks the message seen.
//! let delivered = store.deliver("alice", b"Subject: hi\r\n\r\nhello\r\n".to_vec(), 1_700_000_000)?;
//! let seen = Flags::from([Flag::Seen]);
//! store.store_flags("alice", "INBOX", &[delivered.uid], FlagOp::Add, &seen, None)?;
//!
//! let changes = watch.poll();
//! assert!(matches!(&changes[0], Change::Added(m) if m.uid == delivered.uid));
//! assert!(matches!(&changes[1], Change::Flags { flags, .. } if flags.contains(&Flag::Seen)));
//! assert!(watch.poll().is_empty());
//! # Ok::<(), mailrig_store::StoreError>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod account;
mod error;
mod feed;
pub mod fixture;
mod flags;
mod mailbox;
mod mailbox_name;
mod mbox;
mod messages;
mod store;
mod tree;
mod vanished;

pub use account::{AccountChange, AccountWatch, MessageEvents};
pub use error::StoreError;
pub use feed::{Change, Watch};
pub use fixture::{FixtureError, MessageSource, Seed, SeedMailbox, SeedMessage};
pub use flags::{Flag, FlagError, FlagOp, FlagQuery, Flags, Keyword};
pub use mailbox::{Appended, Copied, FlagChange, FlagUpdate, Message, Snapshot, Status};
pub use mailbox_name::{DEFAULT_MAILBOXES, INBOX, SEPARATOR, SpecialUse};
pub use mbox::{maildir_flags, parse_mbox};
pub use store::{
    DEFAULT_CHANGE_LOG_LIMIT, DEFAULT_MAX_MESSAGES_PER_MAILBOX, Envelope, Store, StoreLimits, User,
    WakerRegistration,
};
pub use tree::MailboxInfo;

#[cfg(test)]
mod tests;
