//! [`Store`] itself: the user table, address resolution, the SMTP envelope log, and the
//! store-wide version counter with its wakers.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};

use crate::feed::WakeFn;
use crate::mailbox::Mailbox;
use crate::tree::Account;
use crate::{SpecialUse, StoreError};

/// How many unread changes a mailbox's log keeps by default before a lagging watch gets
/// [`Change::Resync`](crate::Change::Resync).
pub const DEFAULT_CHANGE_LOG_LIMIT: usize = 10_000;

/// The most messages one mailbox holds by default. A client controls how a mailbox grows
/// (`COPY 1:* INBOX` doubles INBOX every time), so the store refuses to grow one past this.
pub const DEFAULT_MAX_MESSAGES_PER_MAILBOX: usize = 1_000_000;

/// How large a store lets its mailboxes grow (see [`Store::with_limits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreLimits {
    /// How many unread changes a mailbox's log keeps before a lagging watch gets
    /// [`Change::Resync`](crate::Change::Resync) (at least 1).
    pub change_log: usize,
    /// The most messages one mailbox holds: an append, delivery, copy or move that would go
    /// past it is refused whole with [`StoreError::MailboxFull`], and nothing is stored.
    pub messages_per_mailbox: usize,
}

impl Default for StoreLimits {
    fn default() -> StoreLimits {
        StoreLimits {
            change_log: DEFAULT_CHANGE_LOG_LIMIT,
            messages_per_mailbox: DEFAULT_MAX_MESSAGES_PER_MAILBOX,
        }
    }
}

/// A shared, thread-safe mail store. Cloning is cheap (an `Arc`) and clones share the data.
#[derive(Clone, Default)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
    /// Who changes go on the account journal as made by ([`Store::actor`]); `None` for
    /// nobody in particular.
    pub(crate) actor: Option<u64>,
}

/// The shared state. Lock order: `users`, then an account's mailbox table, then one or two
/// mailboxes (two in ascending UIDVALIDITY order). `envelopes` and `wakers` are leaves.
pub(crate) struct Inner {
    users: RwLock<BTreeMap<String, Arc<Account>>>,
    envelopes: Mutex<Vec<Envelope>>,
    /// Bumped for every accepted message (see [`Store::version`]).
    version: AtomicU64,
    /// Source of UIDVALIDITY values: unique store-wide, so a recreated mailbox gets a new one.
    uidvalidity: AtomicU32,
    /// Source of watch and waker ids.
    ids: AtomicU64,
    /// Source of message ids ([`Message::email_id`](crate::Message::email_id)), shared with
    /// every mailbox, which hands them out as messages arrive.
    email_ids: Arc<AtomicU64>,
    wakers: Mutex<BTreeMap<u64, WakeFn>>,
    limits: StoreLimits,
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

/// Keeps a store-wide waker registered (see [`Store::on_message`]); dropping it unregisters.
#[must_use = "dropping the registration unregisters the waker"]
pub struct WakerRegistration {
    inner: Weak<Inner>,
    id: u64,
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

impl Default for Inner {
    fn default() -> Inner {
        Inner {
            users: RwLock::default(),
            envelopes: Mutex::default(),
            version: AtomicU64::new(0),
            uidvalidity: AtomicU32::new(0),
            ids: AtomicU64::new(0),
            email_ids: Arc::new(AtomicU64::new(0)),
            wakers: Mutex::default(),
            limits: StoreLimits::default(),
        }
    }
}

impl Store {
    /// An empty store.
    pub fn new() -> Store {
        Store::default()
    }

    /// An empty store whose mailbox change logs keep at most `limit` unread changes (at
    /// least 1); a watch further behind gets [`Change::Resync`](crate::Change::Resync).
    pub fn with_change_log_limit(limit: usize) -> Store {
        Store::with_limits(StoreLimits {
            change_log: limit,
            ..StoreLimits::default()
        })
    }

    /// An empty store with these limits.
    ///
    /// ```
    /// use mailrig_store::{Store, StoreError, StoreLimits, User};
    ///
    /// let store = Store::with_limits(StoreLimits { messages_per_mailbox: 2, ..StoreLimits::default() });
    /// store.add_user(User::new("alice", "secret", ["alice@example.test"]))?;
    /// store.deliver("alice", b"Subject: 1\r\n\r\n".to_vec(), 0)?;
    /// store.deliver("alice", b"Subject: 2\r\n\r\n".to_vec(), 0)?;
    /// let full = store.deliver("alice", b"Subject: 3\r\n\r\n".to_vec(), 0);
    /// assert!(matches!(full, Err(StoreError::MailboxFull { limit: 2, .. })));
    /// # Ok::<(), StoreError>(())
    /// ```
    pub fn with_limits(limits: StoreLimits) -> Store {
        let inner = Inner {
            limits,
            ..Inner::default()
        };
        Store {
            inner: Arc::new(inner),
            actor: None,
        }
    }

    /// A handle on the same data that acts as a new actor: the account journal marks what is
    /// changed through it (or its clones) as that actor's, and an
    /// [`AccountWatch`](crate::AccountWatch) opened through it leaves those entries out. An
    /// IMAP session takes one, so NOTIFY does not tell a client what it did itself (RFC 5465
    /// §5: "The server SHOULD omit notifying the client if the event is caused by this
    /// client"). Every other handle still sees the changes.
    ///
    /// ```
    /// use mailrig_store::{AccountChange, Store, User};
    /// # let store = Store::new();
    /// # store.add_user(User::new("alice", "secret", ["alice@example.test"])).unwrap();
    /// let session = store.actor();
    /// let mut own = session.watch_account("alice")?;
    /// let mut other = store.watch_account("alice")?;
    /// session.create_mailbox("alice", "Archive")?;
    /// assert!(own.poll().is_empty());
    /// assert_eq!(other.poll(), [AccountChange::Created { name: "Archive".into() }]);
    /// # Ok::<(), mailrig_store::StoreError>(())
    /// ```
    #[must_use]
    pub fn actor(&self) -> Store {
        Store {
            inner: self.inner.clone(),
            actor: Some(self.next_id()),
        }
    }

    /// The limits this store was made with.
    pub fn limits(&self) -> StoreLimits {
        self.inner.limits
    }

    /// Adds a user with the default mailboxes ([`DEFAULT_MAILBOXES`]: INBOX, Sent, Drafts,
    /// Trash, Junk, with their special uses), all subscribed.
    ///
    /// [`DEFAULT_MAILBOXES`]: crate::DEFAULT_MAILBOXES
    pub fn add_user(&self, user: User) -> Result<(), StoreError> {
        let mut users = self.inner.users.write().unwrap_or_else(PoisonError::into_inner);
        if users.contains_key(&user.login) {
            return Err(StoreError::UserExists(user.login));
        }
        let log_limit = self.inner.limits.change_log;
        let account = Account::new(user.clone(), log_limit, |name, special_use| {
            self.new_mailbox(name, special_use)
        });
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

    /// The login whose addresses include `address`: the domain compared case-insensitively,
    /// the local part exactly (RFC 5321 §2.4). A bare login also resolves to itself.
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

    /// Whether some user has an address at `domain` (compared case-insensitively): a domain
    /// this store receives mail for.
    pub fn is_local_domain(&self, domain: &str) -> bool {
        let users = self.inner.users.read().unwrap_or_else(PoisonError::into_inner);
        users.values().any(|a| {
            a.user.addresses.iter().any(|known| {
                known
                    .rsplit_once('@')
                    .is_some_and(|(_, d)| d.eq_ignore_ascii_case(domain))
            })
        })
    }

    /// The login that receives mail for the reserved mailbox "postmaster" (RFC 5321 §4.5.1)
    /// of `domain` (`None` for the bare `<Postmaster>`): the user who has the address
    /// `postmaster@domain` (local part in any case; for `None`, any postmaster address),
    /// otherwise the first user in login order. `None` if `domain` is not
    /// [local](Store::is_local_domain) or there are no users.
    pub fn postmaster(&self, domain: Option<&str>) -> Option<String> {
        if domain.is_some_and(|d| !self.is_local_domain(d)) {
            return None;
        }
        let users = self.inner.users.read().unwrap_or_else(PoisonError::into_inner);
        let is_postmaster = |known: &String| match known.rsplit_once('@') {
            Some((local, d)) => {
                local.eq_ignore_ascii_case("postmaster") && domain.is_none_or(|w| d.eq_ignore_ascii_case(w))
            }
            None => false,
        };
        users
            .values()
            .find(|a| a.user.addresses.iter().any(is_postmaster))
            .or_else(|| users.values().next())
            .map(|a| a.user.login.clone())
    }

    /// Records a message accepted over SMTP (after it was delivered), bumps
    /// [`version`](Store::version) and runs the store-wide wakers.
    pub fn record_envelope(&self, envelope: Envelope) {
        self.inner
            .envelopes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(envelope);
        self.messages_accepted(1);
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

    /// A counter bumped once for every accepted message: each recorded envelope and each
    /// message added to a mailbox (append, delivery, copy, move). It only grows; compare it
    /// before and after waiting to know whether anything arrived.
    pub fn version(&self) -> u64 {
        self.inner.version.load(Ordering::SeqCst)
    }

    /// Runs `waker` after every bump of [`version`](Store::version), outside every lock, on
    /// the thread that made the change; until the returned registration is dropped. Pair it
    /// with `version` so a wait never misses a message: read the version, check, then wait
    /// for a wake-up unless the version moved meanwhile.
    pub fn on_message(&self, waker: Arc<dyn Fn() + Send + Sync>) -> WakerRegistration {
        let id = self.next_id();
        self.inner
            .wakers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, waker);
        WakerRegistration {
            inner: Arc::downgrade(&self.inner),
            id,
        }
    }

    /// Bumps the version by `count` and runs the store-wide wakers (if `count > 0`).
    pub(crate) fn messages_accepted(&self, count: usize) {
        if count == 0 {
            return;
        }
        self.inner.version.fetch_add(count as u64, Ordering::SeqCst);
        let wakers: Vec<WakeFn> = self
            .inner
            .wakers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        wake(&wakers);
    }

    pub(crate) fn account(&self, login: &str) -> Result<Arc<Account>, StoreError> {
        let users = self.inner.users.read().unwrap_or_else(PoisonError::into_inner);
        users
            .get(login)
            .cloned()
            .ok_or_else(|| StoreError::NoSuchUser(login.to_owned()))
    }

    /// A new, empty mailbox with a fresh UIDVALIDITY.
    pub(crate) fn new_mailbox(&self, name: &str, special_use: Option<SpecialUse>) -> Arc<Mailbox> {
        let uidvalidity = self.inner.uidvalidity.fetch_add(1, Ordering::SeqCst) + 1;
        Arc::new(Mailbox::new(
            name,
            uidvalidity,
            special_use,
            self.inner.limits,
            self.inner.email_ids.clone(),
        ))
    }

    pub(crate) fn next_id(&self) -> u64 {
        self.inner.ids.fetch_add(1, Ordering::SeqCst)
    }
}

/// Runs wakers; call it with no lock held.
pub(crate) fn wake(wakers: &[WakeFn]) {
    for waker in wakers {
        waker();
    }
}

/// Compares addresses: local parts exactly, domains case-insensitively.
fn same_address(a: &str, b: &str) -> bool {
    match (a.rsplit_once('@'), b.rsplit_once('@')) {
        (Some((la, da)), Some((lb, db))) => la == lb && da.eq_ignore_ascii_case(db),
        _ => a == b,
    }
}

impl Drop for WakerRegistration {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.upgrade() {
            inner
                .wakers
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&self.id);
        }
    }
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No locks here: a Debug print must not deadlock against a writer.
        f.debug_struct("Store")
            .field("version", &self.version())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for WakerRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WakerRegistration").field("id", &self.id).finish()
    }
}
