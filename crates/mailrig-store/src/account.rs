//! The account's journal: one log per user of what happened anywhere in their mailboxes
//! (messages arrived, left or changed flags; mailboxes created, deleted, renamed; names
//! subscribed), for IMAP NOTIFY (RFC 5465 §5), which reports events in mailboxes a session
//! has not selected. A session follows it with an [`AccountWatch`].
//!
//! It reuses the mailbox feed's log (`Feed`): entries are kept only while some watch has not
//! read them, at most the store's change-log limit, and a watch further behind gets
//! [`AccountChange::Resync`]. Each entry remembers the actor whose handle made it
//! ([`Store::actor`]); a watch opened through an actor's handle skips that actor's entries
//! (they still count towards the limit). The journal's lock is a leaf, taken after every other lock is
//! released, so logging cannot deadlock; wakers run after it is released too.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::feed::{Feed, WakeFn};
use crate::store::wake;
use crate::tree::Account;
use crate::{Store, StoreError};

/// What happened to the messages of one mailbox (RFC 5465 §5.1–§5.3 event types).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MessageEvents {
    /// Messages arrived (MessageNew).
    pub arrived: bool,
    /// Messages were expunged (MessageExpunge).
    pub expunged: bool,
    /// Flags changed (FlagChange).
    pub flags: bool,
}

/// One entry of an account's journal, as an [`AccountWatch`] reports it. Names are full
/// mailbox names as they were when the event happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountChange {
    /// Messages of a mailbox arrived, left or changed flags.
    Messages {
        /// The mailbox.
        mailbox: String,
        /// What happened.
        events: MessageEvents,
    },
    /// A mailbox was created (also the missing levels above a created or renamed one).
    Created {
        /// Its name.
        name: String,
    },
    /// A mailbox was deleted.
    Deleted {
        /// Its name.
        name: String,
    },
    /// A mailbox was renamed (each mailbox below it too, with its own entry). For INBOX
    /// (`from` is `INBOX`), its messages moved to a new mailbox `to`, and INBOX stays, empty
    /// (RFC 9051 §6.3.6); a `Messages` entry for each follows.
    Renamed {
        /// The old name.
        from: String,
        /// The new name.
        to: String,
    },
    /// A name was subscribed or unsubscribed.
    Subscription {
        /// The name.
        name: String,
        /// Whether it is subscribed now.
        subscribed: bool,
    },
    /// The watch fell too far behind and missed entries.
    Resync,
}

/// A session's subscription to one account's journal; made by [`Store::watch_account`].
/// Dropping it unregisters it.
pub struct AccountWatch {
    account: Arc<Account>,
    id: u64,
    /// The actor whose own entries it skips.
    actor: Option<u64>,
}

/// The journal itself, inside [`Account`].
pub(crate) struct Journal(Mutex<Feed<Entry>>);

/// One journal entry and the actor that made it.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    actor: Option<u64>,
    change: AccountChange,
}

impl MessageEvents {
    /// Whether nothing happened.
    pub fn is_empty(&self) -> bool {
        *self == MessageEvents::default()
    }
}

impl AccountWatch {
    /// The entries since the last poll, oldest first, without the watch's own actor's
    /// ([`Store::actor`]); empty if none.
    #[must_use]
    pub fn poll(&mut self) -> Vec<AccountChange> {
        let resync = Entry {
            actor: None,
            change: AccountChange::Resync,
        };
        let entries = self.account.journal.lock().read(self.id, resync);
        entries
            .into_iter()
            .filter(|entry| !self.is_own(entry))
            .map(|entry| entry.change)
            .collect()
    }

    /// Whether [`AccountWatch::poll`] would return something.
    pub fn has_changes(&self) -> bool {
        let journal = self.account.journal.lock();
        journal.has_pending_where(self.id, |entry| !self.is_own(entry))
    }

    /// Runs `waker` after every later entry (outside every lock, on the thread that made the
    /// change, its own actor's too); runs it once right away if entries are pending already.
    pub fn set_waker(&self, waker: Arc<dyn Fn() + Send + Sync>) {
        let pending = {
            let mut journal = self.account.journal.lock();
            journal.set_waker(self.id, Some(waker.clone()));
            journal.has_pending_where(self.id, |entry| !self.is_own(entry))
        };
        if pending {
            waker();
        }
    }

    fn is_own(&self, entry: &Entry) -> bool {
        entry.actor.is_some() && entry.actor == self.actor
    }
}

impl Drop for AccountWatch {
    fn drop(&mut self) {
        self.account.journal.lock().unregister(self.id);
    }
}

impl fmt::Debug for AccountWatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountWatch")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Journal {
    /// An empty journal keeping at most `limit` unread entries.
    pub(crate) fn new(limit: usize) -> Journal {
        Journal(Mutex::new(Feed::new(limit)))
    }

    fn lock(&self) -> MutexGuard<'_, Feed<Entry>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Logs `changes`, made by `actor`, and runs the watches' wakers. Call it with no other
    /// lock held.
    pub(crate) fn log(&self, actor: Option<u64>, changes: impl IntoIterator<Item = AccountChange>) {
        let wakers: Vec<WakeFn> = {
            let mut feed = self.lock();
            for change in changes {
                feed.push(Entry { actor, change });
            }
            feed.take_wakers()
        };
        wake(&wakers);
    }
}

impl fmt::Debug for Journal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.lock().fmt(f)
    }
}

impl Store {
    /// Starts following everything that happens in a user's mailboxes; see [`AccountWatch`].
    /// Through an actor's handle ([`Store::actor`]), what that actor does is left out.
    ///
    /// ```
    /// use mailrig_store::{AccountChange, MessageEvents, Store, User};
    /// # let store = Store::new();
    /// # store.add_user(User::new("alice", "secret", ["alice@example.test"])).unwrap();
    /// let mut watch = store.watch_account("alice")?;
    /// store.deliver("alice", b"Subject: hi\r\n\r\n".to_vec(), 0)?;
    /// store.subscribe("alice", "News")?;
    /// let arrived = MessageEvents { arrived: true, ..MessageEvents::default() };
    /// assert_eq!(watch.poll(), [
    ///     AccountChange::Messages { mailbox: "INBOX".into(), events: arrived },
    ///     AccountChange::Subscription { name: "News".into(), subscribed: true },
    /// ]);
    /// # Ok::<(), mailrig_store::StoreError>(())
    /// ```
    pub fn watch_account(&self, login: &str) -> Result<AccountWatch, StoreError> {
        let account = self.account(login)?;
        let id = self.next_id();
        account.journal.lock().register(id);
        let actor = self.actor;
        Ok(AccountWatch { account, id, actor })
    }

    /// Logs what happened to the messages of `mailbox` (if anything) in `login`'s journal.
    pub(crate) fn log_messages(&self, login: &str, mailbox: String, events: MessageEvents) {
        if events.is_empty() {
            return;
        }
        if let Ok(account) = self.account(login) {
            let change = AccountChange::Messages { mailbox, events };
            account.journal.log(self.actor, [change]);
        }
    }
}
