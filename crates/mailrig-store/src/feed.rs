//! The change feed: every mutation of a mailbox is logged as a [`Change`], and each [`Watch`]
//! (one per IMAP session that selected the mailbox) reads the log from its own cursor.
//!
//! Memory stays bounded two ways: an entry is dropped as soon as every live watch has read
//! past it (watches register their cursor, and unregister when dropped), and the log never
//! holds more than the store's change-log limit. A watch that fell further behind than that
//! gets [`Change::Resync`] instead of the changes it missed.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::ops::RangeInclusive;
use std::sync::Arc;

use crate::mailbox::{Mailbox, Message, Snapshot};
use crate::{Flags, StoreError};

/// A callback run after a change (outside every lock), e.g. to wake an IDLE session.
pub(crate) type WakeFn = Arc<dyn Fn() + Send + Sync>;

/// One change to a mailbox, as a [`Watch`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A message arrived (append, delivery, copy, move, or a rename of INBOX).
    Added(Message),
    /// A message's flags changed; `modseq` is its new modification sequence.
    Flags {
        /// The message.
        uid: u32,
        /// All its flags now.
        flags: Flags,
        /// Its new modification sequence (the mailbox's HIGHESTMODSEQ at that moment).
        modseq: u64,
    },
    /// A message was expunged (by EXPUNGE, or moved away).
    Expunged {
        /// The message.
        uid: u32,
        /// The mailbox's HIGHESTMODSEQ after the expunge (RFC 7162 §3.2.10).
        modseq: u64,
    },
    /// The mailbox (or one above it) was renamed; `name` is its full new name.
    Renamed {
        /// The new name.
        name: String,
    },
    /// The mailbox was deleted. It is the last change the watch reports.
    MailboxDeleted,
    /// The watch fell too far behind and missed changes: call [`Watch::snapshot`] and
    /// compare it with the view you had ([`Snapshot::changes_since`] does that).
    Resync,
}

/// A session's subscription to one mailbox's changes; made by [`Store::watch`].
///
/// Call [`Watch::snapshot`] once to get the starting view, then [`Watch::poll`] whenever a
/// change may have happened (after each command, or when the waker runs). Changes made by
/// the watching session itself are reported too, in the same order as everyone else's; a
/// session recognises its own flag changes by the `modseq` that `store_flags` returned.
///
/// Dropping the watch unregisters it, so the log no longer keeps entries for it.
///
/// [`Store::watch`]: crate::Store::watch
pub struct Watch {
    mailbox: Arc<Mailbox>,
    id: u64,
    /// Whether `MailboxDeleted` has been reported.
    ended: bool,
}

/// The log of one mailbox (or, with [`AccountChange`](crate::AccountChange)s, of one account)
/// and the cursors of its watches. Positions count every change ever logged; `entries[0]` is
/// at position `start`.
pub(crate) struct Feed<T = Change> {
    start: u64,
    entries: VecDeque<T>,
    cursors: BTreeMap<u64, Cursor>,
    limit: usize,
    /// Whether something changed since wakers were last taken.
    dirty: bool,
}

/// Where one watch is: the position of the next change it will read.
struct Cursor {
    next: u64,
    waker: Option<WakeFn>,
}

impl Watch {
    /// Registers a watch on `mailbox`, starting after its latest change.
    pub(crate) fn register(mailbox: Arc<Mailbox>, id: u64) -> Result<Watch, StoreError> {
        mailbox.lock_live()?.feed.register(id);
        Ok(Watch {
            mailbox,
            id,
            ended: false,
        })
    }

    /// The changes since the last poll (or snapshot), oldest first; empty if none. After a
    /// [`Change::MailboxDeleted`] it only ever returns an empty list.
    #[must_use]
    pub fn poll(&mut self) -> Vec<Change> {
        let mut state = self.mailbox.lock();
        let mut changes = state.feed.read(self.id, Change::Resync);
        if state.is_deleted() && !self.ended {
            changes.push(Change::MailboxDeleted);
            self.ended = true;
        }
        changes
    }

    /// The mailbox as it is now, and the watch moved past every change so far (they are all
    /// in the snapshot). Use it to start, and after [`Change::Resync`].
    pub fn snapshot(&mut self) -> Result<Snapshot, StoreError> {
        let mut state = self.mailbox.lock_live()?;
        state.feed.skip(self.id);
        Ok(state.snapshot(self.mailbox.uidvalidity))
    }

    /// Runs `(first, last)` of the UIDs expunged after modification sequence `modseq`,
    /// ascending (RFC 7162 §3.2.5.2 `VANISHED (EARLIER)`). The answer may include UIDs
    /// expunged earlier (the history is bounded), but never a UID that still exists. Empty
    /// for a deleted mailbox.
    pub fn expunged_since(&self, modseq: u64) -> Vec<(u32, u32)> {
        let state = self.mailbox.lock();
        if state.is_deleted() {
            return Vec::new();
        }
        state.expunged_since(modseq)
    }

    /// The mailbox's UIDs, ascending, if this watch has read every change so far (so a
    /// session that applied every change it read knows exactly this list); `None` if
    /// [`Watch::poll`] would return something, or the mailbox was deleted.
    ///
    /// Every watch that asks gets the same `Arc` until a message arrives or leaves, so
    /// sessions that are up to date share one list instead of a copy each.
    pub fn current_uids(&self) -> Option<Arc<[u32]>> {
        let mut state = self.mailbox.lock();
        if state.is_deleted() || state.feed.has_pending(self.id) {
            return None;
        }
        Some(state.uids())
    }

    /// Whether [`Watch::poll`] would return something.
    pub fn has_changes(&self) -> bool {
        let state = self.mailbox.lock();
        state.feed.has_pending(self.id) || (state.is_deleted() && !self.ended)
    }

    /// Runs `waker` after every later change to the mailbox (outside every lock, on the
    /// thread that made the change). If changes are already pending, runs it once right
    /// away, so a driver that registers and then waits never misses a wake-up.
    pub fn set_waker(&self, waker: Arc<dyn Fn() + Send + Sync>) {
        let pending = {
            let mut state = self.mailbox.lock();
            let deleted_unseen = state.is_deleted() && !self.ended;
            state.feed.set_waker(self.id, Some(waker.clone())) || deleted_unseen
        };
        if pending {
            waker();
        }
    }

    /// Claims the messages up to UID `up_to` that no session has claimed yet as this
    /// session's `\Recent` messages (RFC 3501 §2.3.2: exactly one session is "the first
    /// session to have been notified about this message"). The claim is atomic: of two
    /// sessions claiming the same UIDs, one gets them and the other nothing. Messages
    /// copied or moved in are new messages and recent too. `None` if nothing was left to
    /// claim, or the mailbox was deleted.
    pub fn claim_recent(&self, up_to: u32) -> Option<RangeInclusive<u32>> {
        let mut state = self.mailbox.lock();
        if state.is_deleted() {
            return None;
        }
        state.claim_recent(up_to)
    }

    /// The highest UID some session has claimed as `\Recent` ([`Watch::claim_recent`]):
    /// the messages above it are recent and nobody's yet. A read-only session (EXAMINE)
    /// reports those as recent without claiming them (RFC 3501 §6.3.2). 0 for a deleted
    /// mailbox.
    pub fn recent_claimed(&self) -> u32 {
        let state = self.mailbox.lock();
        if state.is_deleted() {
            return 0;
        }
        state.recent_claimed()
    }

    /// Stops running the waker.
    pub fn clear_waker(&self) {
        self.mailbox.lock().feed.set_waker(self.id, None);
    }

    /// The mailbox's current full name (it follows renames).
    pub fn mailbox_name(&self) -> String {
        self.mailbox.lock().name().to_owned()
    }

    /// The mailbox's UIDVALIDITY (it never changes for a watch).
    pub fn uidvalidity(&self) -> u32 {
        self.mailbox.uidvalidity
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.mailbox.lock().feed.unregister(self.id);
    }
}

impl fmt::Debug for Watch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watch")
            .field("id", &self.id)
            .field("uidvalidity", &self.mailbox.uidvalidity)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl<T: Clone> Feed<T> {
    /// An empty log that keeps at most `limit` unread changes (at least one).
    pub(crate) fn new(limit: usize) -> Feed<T> {
        Feed {
            start: 0,
            entries: VecDeque::new(),
            cursors: BTreeMap::new(),
            limit: limit.max(1),
            dirty: false,
        }
    }

    /// Logs a change. With no watch registered nothing is kept, only the position advances.
    pub(crate) fn push(&mut self, change: T) {
        self.dirty = true;
        if self.cursors.is_empty() {
            self.start += 1;
            return;
        }
        self.entries.push_back(change);
        if self.entries.len() > self.limit {
            self.entries.pop_front();
            self.start += 1;
        }
    }

    /// Marks the mailbox as changed without logging anything (its deletion), so wakers run.
    pub(crate) fn touch(&mut self) {
        self.dirty = true;
    }

    /// The wakers to run for the changes since the last call (none if nothing changed).
    pub(crate) fn take_wakers(&mut self) -> Vec<WakeFn> {
        if !std::mem::take(&mut self.dirty) {
            return Vec::new();
        }
        self.cursors.values().filter_map(|c| c.waker.clone()).collect()
    }

    fn end(&self) -> u64 {
        self.start + self.entries.len() as u64
    }

    pub(crate) fn register(&mut self, id: u64) {
        let next = self.end();
        self.cursors.insert(id, Cursor { next, waker: None });
    }

    pub(crate) fn unregister(&mut self, id: u64) {
        self.cursors.remove(&id);
        self.compact();
    }

    /// The changes watch `id` has not read (just `resync` if it missed some), and its cursor
    /// moved to the end.
    pub(crate) fn read(&mut self, id: u64, resync: T) -> Vec<T> {
        let (start, end) = (self.start, self.end());
        let Some(cursor) = self.cursors.get_mut(&id) else {
            return Vec::new();
        };
        let from = std::mem::replace(&mut cursor.next, end);
        let changes = if from < start {
            vec![resync]
        } else {
            let skip = usize::try_from(from - start).unwrap_or(usize::MAX);
            self.entries.iter().skip(skip).cloned().collect()
        };
        self.compact();
        changes
    }

    fn skip(&mut self, id: u64) {
        let end = self.end();
        if let Some(cursor) = self.cursors.get_mut(&id) {
            cursor.next = end;
        }
        self.compact();
    }

    pub(crate) fn has_pending(&self, id: u64) -> bool {
        self.cursors.get(&id).is_some_and(|c| c.next < self.end())
    }

    /// Whether watch `id` has an unread entry that `wanted` accepts, or missed some (which
    /// reads as a resync).
    pub(crate) fn has_pending_where(&self, id: u64, wanted: impl Fn(&T) -> bool) -> bool {
        let Some(cursor) = self.cursors.get(&id) else {
            return false;
        };
        if cursor.next < self.start {
            return true;
        }
        let skip = usize::try_from(cursor.next - self.start).unwrap_or(usize::MAX);
        self.entries.iter().skip(skip).any(wanted)
    }

    /// Sets or clears the waker of watch `id`; returns whether changes are pending for it.
    pub(crate) fn set_waker(&mut self, id: u64, waker: Option<WakeFn>) -> bool {
        if let Some(cursor) = self.cursors.get_mut(&id) {
            cursor.waker = waker;
        }
        self.has_pending(id)
    }

    /// Drops the entries every watch has read.
    fn compact(&mut self) {
        let end = self.end();
        let oldest = self.cursors.values().map(|c| c.next).min().unwrap_or(end);
        while self.start < oldest && self.entries.pop_front().is_some() {
            self.start += 1;
        }
    }

    /// How many entries the log holds (for tests of compaction).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

impl<T> fmt::Debug for Feed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Feed")
            .field("start", &self.start)
            .field("entries", &self.entries.len())
            .field("watches", &self.cursors.len())
            .field("limit", &self.limit)
            .finish()
    }
}
