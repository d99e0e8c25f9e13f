//! One mailbox: its messages, UIDs (RFC 9051 §2.3.1.1), modification sequences (RFC 7162
//! §3) and change feed, behind one `Mutex`; plus the public views of it.

use std::collections::BTreeSet;
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::account::MessageEvents;
use crate::feed::{Change, Feed};
use crate::vanished::{self, ExpungeLog};
use crate::{Flag, FlagOp, Flags, Keyword, SpecialUse, StoreError, StoreLimits};

/// One stored message. Cloning is cheap: the body is shared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Its UID: strictly ascending in its mailbox, never reused (for one UIDVALIDITY).
    pub uid: u32,
    /// Its flags and keywords.
    pub flags: Flags,
    /// When it was delivered or appended (unix seconds), as IMAP `INTERNALDATE` shows it.
    pub internal_date: i64,
    /// Its size in bytes (`RFC822.SIZE`), i.e. `raw.len()`.
    pub size: u64,
    /// The modification sequence of its last change (RFC 7162).
    pub modseq: u64,
    /// The message exactly as accepted.
    pub raw: Arc<[u8]>,
    /// Its store-wide id (RFC 8474 `EMAILID`): new for each message that arrives, kept by its
    /// copies (COPY, MOVE, RENAME INBOX), as RFC 8474 §5.1 allows, so equal ids mean equal
    /// bytes.
    pub email_id: u64,
}

/// A consistent view of one mailbox, taken under its lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The mailbox's UIDVALIDITY.
    pub uidvalidity: u32,
    /// The UID the next message will get.
    pub uidnext: u32,
    /// The highest modification sequence so far (at least 1).
    pub highestmodseq: u64,
    /// Every keyword ever used in the mailbox, alphabetically (for the `FLAGS` response).
    pub keywords: Vec<Keyword>,
    /// Its messages in UID order.
    pub messages: Vec<Message>,
}

/// A mailbox's counters, for IMAP `STATUS` without copying the message list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    /// `UIDVALIDITY`.
    pub uidvalidity: u32,
    /// `UIDNEXT`.
    pub uidnext: u32,
    /// `HIGHESTMODSEQ`.
    pub highestmodseq: u64,
    /// `MESSAGES`: how many messages.
    pub messages: usize,
    /// `UNSEEN`: how many without `\Seen`.
    pub unseen: usize,
    /// `DELETED`: how many with `\Deleted`.
    pub deleted: usize,
    /// `SIZE`: the total size of the messages in bytes.
    pub size: u64,
    /// `RECENT` (RFC 3501 §6.3.10): how many messages no session has claimed as `\Recent`
    /// yet (see [`Watch::claim_recent`](crate::Watch::claim_recent)).
    pub recent: usize,
}

/// Where an appended or delivered message went (for `APPENDUID`, RFC 4315).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// The mailbox's UIDVALIDITY.
    pub uidvalidity: u32,
    /// The message's UID.
    pub uid: u32,
}

/// One message whose flags `store_flags` changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagChange {
    /// The message.
    pub uid: u32,
    /// All its flags now.
    pub flags: Flags,
    /// Its new modification sequence.
    pub modseq: u64,
}

/// What `store_flags` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlagUpdate {
    /// The messages whose flags changed, by UID. Messages whose flags already were as
    /// requested are not listed and keep their modification sequence.
    pub changed: Vec<FlagChange>,
    /// UIDs left alone because they changed after `unchanged_since` (RFC 7162 §3.1.3: the
    /// `MODIFIED` response code).
    pub modified: Vec<u32>,
}

/// What `copy_messages` or `move_messages` did (for `COPYUID`, RFC 4315).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Copied {
    /// The destination's UIDVALIDITY.
    pub uidvalidity: u32,
    /// The source UIDs that existed, ascending.
    pub source: Vec<u32>,
    /// Their new UIDs in the destination, in the same order.
    pub dest: Vec<u32>,
}

/// A mailbox. Its UIDVALIDITY and special use never change, so they live outside the lock.
#[derive(Debug)]
pub(crate) struct Mailbox {
    pub(crate) uidvalidity: u32,
    pub(crate) special_use: Option<SpecialUse>,
    state: Mutex<MailboxState>,
}

/// What the mailbox lock guards.
#[derive(Debug)]
pub(crate) struct MailboxState {
    name: String,
    uidnext: u32,
    highestmodseq: u64,
    messages: Vec<Message>,
    /// The UIDs of `messages`, built when a watch first asks after a message arrives or
    /// leaves, and shared by every watch that asks until the next one does
    /// ([`Watch::current_uids`](crate::Watch::current_uids)).
    uids: Option<Arc<[u32]>>,
    /// Keywords ever used here, in the spelling first used.
    keywords: BTreeSet<Keyword>,
    deleted: bool,
    /// The highest UID some session has claimed as `\Recent` (RFC 3501 §2.3.2): messages
    /// above it are recent and unclaimed.
    recent_claimed: u32,
    pub(crate) feed: Feed,
    /// What happened to messages since the account's journal was last told
    /// ([`MailboxState::take_events`]).
    events: MessageEvents,
    /// Which UIDs were expunged and when (QRESYNC).
    expunged: ExpungeLog,
    /// The most messages this mailbox holds; adding past it is refused.
    max_messages: usize,
    /// The store's source of [`Message::email_id`]s.
    email_ids: Arc<AtomicU64>,
}

impl Snapshot {
    /// The changes that turn `old` (an earlier view of the same mailbox) into `self`:
    /// expunges, then flag changes, then additions, each by ascending UID. Expunges carry
    /// `self.highestmodseq`.
    pub fn changes_since(&self, old: &Snapshot) -> Vec<Change> {
        let find = |messages: &[Message], uid: u32| {
            messages
                .binary_search_by_key(&uid, |m| m.uid)
                .ok()
                .map(|i| messages[i].clone())
        };
        let expunged = old
            .messages
            .iter()
            .filter(|m| find(&self.messages, m.uid).is_none());
        let mut changes: Vec<Change> = expunged
            .map(|m| Change::Expunged {
                uid: m.uid,
                modseq: self.highestmodseq,
            })
            .collect();
        let mut added = Vec::new();
        for message in &self.messages {
            match find(&old.messages, message.uid) {
                None => added.push(Change::Added(message.clone())),
                Some(before) if before.flags != message.flags || before.modseq != message.modseq => {
                    changes.push(Change::Flags {
                        uid: message.uid,
                        flags: message.flags.clone(),
                        modseq: message.modseq,
                    });
                }
                Some(_) => {}
            }
        }
        changes.extend(added);
        changes
    }
}

impl Mailbox {
    /// An empty mailbox within `limits` (its change log's length, its message count).
    pub(crate) fn new(
        name: &str,
        uidvalidity: u32,
        special_use: Option<SpecialUse>,
        limits: StoreLimits,
        email_ids: Arc<AtomicU64>,
    ) -> Mailbox {
        let log_limit = limits.change_log;
        let state = MailboxState {
            name: name.to_owned(),
            uidnext: 1,
            // RFC 7162 §3.1.2.1: HIGHESTMODSEQ is a positive number even when nothing changed.
            highestmodseq: 1,
            messages: Vec::new(),
            uids: None,
            keywords: BTreeSet::new(),
            deleted: false,
            recent_claimed: 0,
            feed: Feed::new(log_limit),
            events: MessageEvents::default(),
            expunged: ExpungeLog::new(log_limit),
            max_messages: limits.messages_per_mailbox,
            email_ids,
        };
        Mailbox {
            uidvalidity,
            special_use,
            state: Mutex::new(state),
        }
    }

    /// Its state, deleted or not. Never hold it while taking a user or mailbox-table lock.
    pub(crate) fn lock(&self) -> MutexGuard<'_, MailboxState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Its state, unless it was deleted.
    pub(crate) fn lock_live(&self) -> Result<MutexGuard<'_, MailboxState>, StoreError> {
        let state = self.lock();
        if state.deleted {
            return Err(StoreError::NoSuchMailbox(state.name.clone()));
        }
        Ok(state)
    }
}

impl MailboxState {
    /// Its current full name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn is_deleted(&self) -> bool {
        self.deleted
    }

    /// Records a new name and tells the watches.
    pub(crate) fn rename(&mut self, name: &str) {
        self.name = name.to_owned();
        self.feed.push(Change::Renamed {
            name: name.to_owned(),
        });
    }

    /// What happened to its messages since the last call: for the account's journal
    /// ([`AccountChange::Messages`](crate::AccountChange::Messages)).
    pub(crate) fn take_events(&mut self) -> MessageEvents {
        std::mem::take(&mut self.events)
    }

    /// Marks it deleted and frees its messages; watches report `MailboxDeleted` next.
    pub(crate) fn delete(&mut self) {
        self.deleted = true;
        self.messages = Vec::new();
        self.uids = None;
        self.feed.touch();
    }

    pub(crate) fn snapshot(&self, uidvalidity: u32) -> Snapshot {
        Snapshot {
            uidvalidity,
            uidnext: self.uidnext,
            highestmodseq: self.highestmodseq,
            keywords: self.keywords.iter().cloned().collect(),
            messages: self.messages.clone(),
        }
    }

    /// The UIDs of its messages, ascending: one list shared by every caller until a message
    /// arrives or leaves.
    pub(crate) fn uids(&mut self) -> Arc<[u32]> {
        let messages = &self.messages;
        self.uids
            .get_or_insert_with(|| messages.iter().map(|m| m.uid).collect())
            .clone()
    }

    pub(crate) fn status(&self, uidvalidity: u32) -> Status {
        let count = |flag: &Flag| self.messages.iter().filter(|m| m.flags.contains(flag)).count();
        Status {
            uidvalidity,
            uidnext: self.uidnext,
            highestmodseq: self.highestmodseq,
            messages: self.messages.len(),
            unseen: self.messages.len() - count(&Flag::Seen),
            deleted: count(&Flag::Deleted),
            size: self.messages.iter().map(|m| m.size).sum(),
            recent: self
                .messages
                .iter()
                .filter(|m| m.uid > self.recent_claimed)
                .count(),
        }
    }

    /// How many messages it holds.
    pub(crate) fn len(&self) -> usize {
        self.messages.len()
    }

    /// Claims the unclaimed recent UIDs up to `up_to` (at most the last UID given out) for
    /// one session; returns them as a range, `None` if another session was first.
    pub(crate) fn claim_recent(&mut self, up_to: u32) -> Option<RangeInclusive<u32>> {
        let up_to = up_to.min(self.uidnext.saturating_sub(1));
        if up_to <= self.recent_claimed {
            return None;
        }
        let claimed = self.recent_claimed + 1..=up_to;
        self.recent_claimed = up_to;
        Some(claimed)
    }

    /// The highest UID claimed as `\Recent` so far.
    pub(crate) fn recent_claimed(&self) -> u32 {
        self.recent_claimed
    }

    /// Adds a message with the next UID.
    pub(crate) fn append(
        &mut self,
        raw: Arc<[u8]>,
        flags: &Flags,
        internal_date: i64,
    ) -> Result<u32, StoreError> {
        self.check_room(1)?;
        let email_id = self.email_ids.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(self.push_message(raw, flags, internal_date, email_id))
    }

    /// Adds new messages (raw, flags, internal date) with consecutive UIDs; all or none.
    pub(crate) fn append_all(
        &mut self,
        messages: Vec<(Arc<[u8]>, Flags, i64)>,
    ) -> Result<Vec<u32>, StoreError> {
        // Room for all first, so no single append below fails.
        self.check_room(messages.len())?;
        messages
            .into_iter()
            .map(|(raw, flags, date)| self.append(raw, &flags, date))
            .collect()
    }

    /// Adds copies of `messages` (flags and internal dates kept) with new UIDs; all or none.
    pub(crate) fn append_copies(&mut self, messages: &[Message]) -> Result<Vec<u32>, StoreError> {
        self.check_room(messages.len())?;
        Ok(messages
            .iter()
            .map(|m| self.push_message(m.raw.clone(), &m.flags, m.internal_date, m.email_id))
            .collect())
    }

    /// Changes the flags of the listed messages (unknown UIDs are ignored), giving each
    /// changed message a new modification sequence.
    pub(crate) fn store_flags(
        &mut self,
        uids: &[u32],
        op: FlagOp,
        flags: &Flags,
        unchanged_since: Option<u64>,
    ) -> FlagUpdate {
        let flags = match op {
            FlagOp::Remove => flags.clone(),
            FlagOp::Add | FlagOp::Replace => flags.canonical_in(&mut self.keywords),
        };
        let mut update = FlagUpdate::default();
        for index in self.indices(Some(uids)) {
            let message = &self.messages[index];
            if unchanged_since.is_some_and(|since| message.modseq > since) {
                update.modified.push(message.uid);
                continue;
            }
            let new = message.flags.apply(op, &flags);
            if new == message.flags {
                continue;
            }
            let modseq = self.next_modseq();
            let message = &mut self.messages[index];
            message.flags = new.clone();
            message.modseq = modseq;
            let change = FlagChange {
                uid: message.uid,
                flags: new,
                modseq,
            };
            self.events.flags = true;
            self.feed.push(Change::Flags {
                uid: change.uid,
                flags: change.flags.clone(),
                modseq,
            });
            update.changed.push(change);
        }
        update
    }

    /// Removes the messages marked `\Deleted` (only those among `uids`, if given); returns
    /// their UIDs, ascending.
    pub(crate) fn expunge(&mut self, uids: Option<&[u32]>) -> Vec<u32> {
        let deleted: Vec<u32> = self
            .indices(uids)
            .into_iter()
            .map(|i| &self.messages[i])
            .filter(|m| m.flags.contains(&Flag::Deleted))
            .map(|m| m.uid)
            .collect();
        self.remove(&deleted);
        deleted
    }

    /// Removes the listed messages whatever their flags (a move).
    pub(crate) fn remove(&mut self, uids: &[u32]) {
        let doomed: BTreeSet<u32> = uids.iter().copied().collect();
        self.messages.retain(|m| !doomed.contains(&m.uid));
        self.uids = None;
        for uid in doomed {
            let modseq = self.next_modseq();
            self.expunged.record(uid, modseq);
            self.events.expunged = true;
            self.feed.push(Change::Expunged { uid, modseq });
        }
    }

    /// Runs of UIDs expunged after `modseq` (RFC 7162 §3.2.5.2), ascending; possibly more
    /// (UIDs expunged earlier), never a live one.
    pub(crate) fn expunged_since(&self, modseq: u64) -> Vec<(u32, u32)> {
        self.expunged
            .since(modseq)
            .unwrap_or_else(|| vanished::gaps(self.messages.iter().map(|m| m.uid), self.uidnext))
    }

    /// Clones of the listed messages that exist (all of them for `None`), by UID.
    pub(crate) fn select(&self, uids: Option<&[u32]>) -> Vec<Message> {
        self.indices(uids)
            .into_iter()
            .map(|i| self.messages[i].clone())
            .collect()
    }

    /// Test hook: pretend this many UIDs were used already.
    #[cfg(test)]
    pub(crate) fn set_uidnext(&mut self, uidnext: u32) {
        self.uidnext = uidnext;
    }

    /// Indices of the listed messages that exist (all for `None`), ascending.
    fn indices(&self, uids: Option<&[u32]>) -> Vec<usize> {
        let Some(uids) = uids else {
            return (0..self.messages.len()).collect();
        };
        let mut found: Vec<usize> = uids
            .iter()
            .filter_map(|uid| self.messages.binary_search_by_key(uid, |m| m.uid).ok())
            .collect();
        found.sort_unstable();
        found.dedup();
        found
    }

    /// Whether `count` more messages fit: under the message limit, and with UIDs left.
    pub(crate) fn check_room(&self, count: usize) -> Result<(), StoreError> {
        if self.messages.len().saturating_add(count) > self.max_messages {
            return Err(StoreError::MailboxFull {
                name: self.name.clone(),
                limit: self.max_messages,
            });
        }
        // The largest UID handed out is u32::MAX - 1, so UIDNEXT always fits.
        if u64::from(self.uidnext) + count as u64 > u64::from(u32::MAX) {
            return Err(StoreError::UidsExhausted(self.name.clone()));
        }
        Ok(())
    }

    /// Adds a message; the caller checked there is a UID left.
    fn push_message(&mut self, raw: Arc<[u8]>, flags: &Flags, internal_date: i64, email_id: u64) -> u32 {
        let uid = self.uidnext;
        self.uidnext += 1;
        let message = Message {
            uid,
            flags: flags.canonical_in(&mut self.keywords),
            internal_date,
            size: raw.len() as u64,
            modseq: self.next_modseq(),
            raw,
            email_id,
        };
        self.events.arrived = true;
        self.feed.push(Change::Added(message.clone()));
        self.messages.push(message);
        self.uids = None;
        uid
    }

    fn next_modseq(&mut self) -> u64 {
        self.highestmodseq += 1;
        self.highestmodseq
    }
}
