//! mailrig's in-memory mail store, shared by the fake SMTP server (which delivers into it)
//! and the fake IMAP server (which reads and changes it). No I/O: no files, sockets or clock;
//! times are unix seconds passed in by the caller.
//!
//! Concurrency: the user table is behind a `RwLock` taken briefly to find an account; each
//! account's mailbox table has its own `RwLock`, and each mailbox its own `Mutex`. Sessions
//! working on different mailboxes never contend, and message bodies are `Arc<[u8]>`, so
//! snapshots copy no message data.
//!
//! # Layout
//!
//! - [`Store`]: users, mailboxes, delivery, snapshots, the SMTP envelope log.
//! - [`fixture`]: seeding a store from a TOML description, `.eml` files or an mbox file.
//!
//! # Example
//!
//! ```
//! use mailrig_store::{Store, User};
//!
//! let store = Store::new();
//! store.add_user(User::new("alice", "secret", ["alice@example.test"])).unwrap();
//! assert_eq!(store.resolve("Alice@EXAMPLE.test"), None); // local parts are case-sensitive
//! assert_eq!(store.resolve("alice@EXAMPLE.test").as_deref(), Some("alice"));
//! let delivered = store.deliver("alice", b"Subject: hi\r\n\r\nhello\r\n".to_vec(), 0).unwrap();
//! let inbox = store.messages("alice", "INBOX").unwrap();
//! assert_eq!(inbox.messages[0].uid, delivered.uid);
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod fixture;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

/// The mailboxes every new user gets, with their RFC 6154 special-use attribute.
pub const DEFAULT_MAILBOXES: [(&str, Option<&str>); 5] = [
    ("INBOX", None),
    ("Sent", Some("\\Sent")),
    ("Drafts", Some("\\Drafts")),
    ("Trash", Some("\\Trash")),
    ("Junk", Some("\\Junk")),
];

/// A shared, thread-safe mail store. Cloning is cheap and clones share the same data.
#[derive(Debug, Clone, Default)]
pub struct Store {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    users: RwLock<BTreeMap<String, Arc<Account>>>,
    envelopes: Mutex<Vec<Envelope>>,
    /// Bumped on every accepted message.
    version: AtomicU64,
    /// Source of UIDVALIDITY values: a recreated mailbox gets a new one.
    uidvalidity: AtomicU32,
}

/// A user: login, password and the addresses mail for them is delivered to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The login name (IMAP LOGIN, SMTP AUTH).
    pub login: String,
    /// The password, kept in clear: this is a test server.
    pub password: String,
    /// Addresses delivered to this user's INBOX.
    pub addresses: Vec<String>,
}

impl User {
    /// A user with these addresses.
    pub fn new<I, S>(login: &str, password: &str, addresses: I) -> User
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        User {
            login: login.to_owned(),
            password: password.to_owned(),
            addresses: addresses.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Debug)]
struct Account {
    user: User,
    mailboxes: RwLock<BTreeMap<String, Arc<Mutex<MailboxState>>>>,
}

#[derive(Debug)]
struct MailboxState {
    uidvalidity: u32,
    uidnext: u32,
    highestmodseq: u64,
    special_use: Option<String>,
    messages: Vec<Message>,
}

/// One stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Its UID: strictly ascending in its mailbox, never reused.
    pub uid: u32,
    /// System flags (`\Seen`, ...) and keywords, as stored.
    pub flags: BTreeSet<String>,
    /// When it was delivered or appended (unix seconds).
    pub internal_date: i64,
    /// The modification sequence of its last change (RFC 7162).
    pub modseq: u64,
    /// The message exactly as accepted.
    pub raw: Arc<[u8]>,
}

/// A consistent view of one mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The mailbox's UIDVALIDITY.
    pub uidvalidity: u32,
    /// The UID the next message will get.
    pub uidnext: u32,
    /// The highest modification sequence so far.
    pub highestmodseq: u64,
    /// Its messages in UID order.
    pub messages: Vec<Message>,
}

/// A mailbox as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxInfo {
    /// Its full name, `/` separating levels.
    pub name: String,
    /// Its special-use attribute (`\Sent`, ...), if any.
    pub special_use: Option<String>,
}

/// Where a delivered or appended message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// The mailbox's UIDVALIDITY.
    pub uidvalidity: u32,
    /// The message's UID.
    pub uid: u32,
}

/// A message accepted by the SMTP server, as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The server session that accepted it.
    pub session_id: u64,
    /// The reverse-path (`MAIL FROM`), without angle brackets; empty for `<>`.
    pub mail_from: String,
    /// Every accepted forward-path (`RCPT TO`).
    pub rcpt_to: Vec<String>,
    /// The message data as stored.
    pub data: Arc<[u8]>,
    /// When it was accepted (unix seconds).
    pub received_at: i64,
}

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// No user has this login.
    #[error("no such user: {0}")]
    NoSuchUser(String),
    /// The user has no mailbox of this name.
    #[error("no such mailbox: {0}")]
    NoSuchMailbox(String),
    /// A user with this login exists already.
    #[error("user {0} exists already")]
    UserExists(String),
    /// A mailbox of this name exists already.
    #[error("mailbox {0} exists already")]
    MailboxExists(String),
    /// The mailbox has used every UID (2^32 - 1) and needs a new UIDVALIDITY.
    #[error("mailbox {0} has no UIDs left")]
    UidsExhausted(String),
}

impl Store {
    /// An empty store.
    pub fn new() -> Store {
        Store::default()
    }

    /// Adds a user with the default mailboxes (INBOX, Sent, Drafts, Trash, Junk).
    pub fn add_user(&self, user: User) -> Result<(), StoreError> {
        let mut users = self.inner.users.write().unwrap_or_else(PoisonError::into_inner);
        if users.contains_key(&user.login) {
            return Err(StoreError::UserExists(user.login));
        }
        let mut mailboxes = BTreeMap::new();
        for (name, special_use) in DEFAULT_MAILBOXES {
            mailboxes.insert(
                name.to_owned(),
                Arc::new(Mutex::new(self.new_mailbox(special_use))),
            );
        }
        let account = Account {
            user: user.clone(),
            mailboxes: RwLock::new(mailboxes),
        };
        users.insert(user.login, Arc::new(account));
        Ok(())
    }

    /// Every user, by login.
    pub fn users(&self) -> Vec<User> {
        let users = self.inner.users.read().unwrap_or_else(PoisonError::into_inner);
        users.values().map(|a| a.user.clone()).collect()
    }

    /// Whether `login` exists and `password` is theirs.
    pub fn authenticate(&self, login: &str, password: &str) -> bool {
        self.account(login).is_ok_and(|a| a.user.password == password)
    }

    /// The password of `login` (for challenge-response mechanisms such as CRAM-MD5).
    pub fn password(&self, login: &str) -> Option<String> {
        self.account(login).ok().map(|a| a.user.password.clone())
    }

    /// The login whose addresses include `address` (domain compared case-insensitively, the
    /// local part exactly, RFC 5321 §2.4); a bare login also resolves to itself.
    pub fn resolve(&self, address: &str) -> Option<String> {
        let users = self.inner.users.read().unwrap_or_else(PoisonError::into_inner);
        if users.contains_key(address) {
            return Some(address.to_owned());
        }
        users
            .values()
            .find(|a| a.user.addresses.iter().any(|known| same_address(known, address)))
            .map(|a| a.user.login.clone())
    }

    /// Creates a mailbox (`/` separates levels).
    pub fn create_mailbox(&self, login: &str, name: &str) -> Result<(), StoreError> {
        let account = self.account(login)?;
        let mut mailboxes = account.mailboxes.write().unwrap_or_else(PoisonError::into_inner);
        if mailboxes.contains_key(name) {
            return Err(StoreError::MailboxExists(name.to_owned()));
        }
        mailboxes.insert(name.to_owned(), Arc::new(Mutex::new(self.new_mailbox(None))));
        Ok(())
    }

    /// Deletes a mailbox and its messages. Recreating it later gives a new UIDVALIDITY.
    pub fn delete_mailbox(&self, login: &str, name: &str) -> Result<(), StoreError> {
        let account = self.account(login)?;
        let mut mailboxes = account.mailboxes.write().unwrap_or_else(PoisonError::into_inner);
        mailboxes
            .remove(name)
            .map(|_| ())
            .ok_or_else(|| StoreError::NoSuchMailbox(name.to_owned()))
    }

    /// The user's mailboxes, by name.
    pub fn mailboxes(&self, login: &str) -> Result<Vec<MailboxInfo>, StoreError> {
        let account = self.account(login)?;
        let mailboxes = account.mailboxes.read().unwrap_or_else(PoisonError::into_inner);
        Ok(mailboxes
            .iter()
            .map(|(name, state)| MailboxInfo {
                name: name.clone(),
                special_use: lock(state).special_use.clone(),
            })
            .collect())
    }

    /// Appends a message to a mailbox with the given flags.
    pub fn append(
        &self,
        login: &str,
        mailbox: &str,
        raw: impl Into<Arc<[u8]>>,
        flags: BTreeSet<String>,
        internal_date: i64,
    ) -> Result<Appended, StoreError> {
        let state = self.mailbox(login, mailbox)?;
        let mut state = lock(&state);
        if state.uidnext == u32::MAX {
            return Err(StoreError::UidsExhausted(mailbox.to_owned()));
        }
        let uid = state.uidnext;
        state.uidnext += 1;
        state.highestmodseq += 1;
        let modseq = state.highestmodseq;
        state.messages.push(Message {
            uid,
            flags,
            internal_date,
            modseq,
            raw: raw.into(),
        });
        Ok(Appended {
            uidvalidity: state.uidvalidity,
            uid,
        })
    }

    /// Delivers a message to the user's INBOX, with no flags.
    /// `raw` may be an `Arc<[u8]>` shared with other mailboxes or the envelope log, so one
    /// message sent to many recipients is kept once.
    pub fn deliver(
        &self,
        login: &str,
        raw: impl Into<Arc<[u8]>>,
        internal_date: i64,
    ) -> Result<Appended, StoreError> {
        self.append(login, "INBOX", raw, BTreeSet::new(), internal_date)
    }

    /// A consistent view of a mailbox.
    pub fn messages(&self, login: &str, mailbox: &str) -> Result<Snapshot, StoreError> {
        let state = self.mailbox(login, mailbox)?;
        let state = lock(&state);
        Ok(Snapshot {
            uidvalidity: state.uidvalidity,
            uidnext: state.uidnext,
            highestmodseq: state.highestmodseq,
            messages: state.messages.clone(),
        })
    }

    /// Records a message accepted over SMTP (after it was delivered) and bumps [`version`].
    ///
    /// [`version`]: Store::version
    pub fn record_envelope(&self, envelope: Envelope) {
        self.inner
            .envelopes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(envelope);
        self.inner.version.fetch_add(1, Ordering::SeqCst);
    }

    /// Every message accepted over SMTP, in order.
    pub fn envelopes(&self) -> Vec<Envelope> {
        self.inner
            .envelopes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The messages accepted over SMTP after the first `start` ones (cheap for watchers that
    /// remember how many they have seen).
    pub fn envelopes_since(&self, start: usize) -> Vec<Envelope> {
        let envelopes = self
            .inner
            .envelopes
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        envelopes
            .get(start..)
            .map(<[Envelope]>::to_vec)
            .unwrap_or_default()
    }

    /// How many messages have been accepted over SMTP so far.
    pub fn version(&self) -> u64 {
        self.inner.version.load(Ordering::SeqCst)
    }

    fn new_mailbox(&self, special_use: Option<&str>) -> MailboxState {
        MailboxState {
            uidvalidity: self.inner.uidvalidity.fetch_add(1, Ordering::SeqCst) + 1,
            uidnext: 1,
            highestmodseq: 0,
            special_use: special_use.map(str::to_owned),
            messages: Vec::new(),
        }
    }

    fn account(&self, login: &str) -> Result<Arc<Account>, StoreError> {
        let users = self.inner.users.read().unwrap_or_else(PoisonError::into_inner);
        users
            .get(login)
            .cloned()
            .ok_or_else(|| StoreError::NoSuchUser(login.to_owned()))
    }

    fn mailbox(&self, login: &str, name: &str) -> Result<Arc<Mutex<MailboxState>>, StoreError> {
        let account = self.account(login)?;
        let mailboxes = account.mailboxes.read().unwrap_or_else(PoisonError::into_inner);
        // INBOX is case-insensitive (RFC 9051 §5.1); other names are not.
        let key = if name.eq_ignore_ascii_case("INBOX") {
            "INBOX"
        } else {
            name
        };
        mailboxes
            .get(key)
            .cloned()
            .ok_or_else(|| StoreError::NoSuchMailbox(name.to_owned()))
    }
}

fn lock(state: &Mutex<MailboxState>) -> MutexGuard<'_, MailboxState> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Compares addresses: local parts exactly, domains case-insensitively.
fn same_address(a: &str, b: &str) -> bool {
    match (a.rsplit_once('@'), b.rsplit_once('@')) {
        (Some((la, da)), Some((lb, db))) => la == lb && da.eq_ignore_ascii_case(db),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests;
