//! Message operations on [`Store`]: APPEND and delivery, snapshots and STATUS, STORE
//! (RFC 9051 §6.4.6, RFC 7162 §3.1.3), EXPUNGE, COPY and MOVE (RFC 6851), and watches.
//!
//! Each operation finds the mailbox under the account's read lock, releases it, then works
//! under the mailbox's own lock; wakers run, and the account's journal is told what happened
//! (`account.rs`), after every lock is released.

use std::sync::{Arc, MutexGuard};

use crate::account::MessageEvents;
use crate::feed::Watch;
use crate::mailbox::{Appended, Copied, FlagUpdate, Mailbox, MailboxState, Message, Snapshot, Status};
use crate::mailbox_name::INBOX;
use crate::store::wake;
use crate::{FlagOp, Flags, Store, StoreError};

impl Store {
    /// Appends a message to a mailbox with the given flags (RFC 9051 §6.3.12). Its UID is the
    /// mailbox's UIDNEXT, and its modification sequence a new HIGHESTMODSEQ. Fails with
    /// [`StoreError::NoSuchMailbox`] (IMAP: `NO [TRYCREATE]`) if the mailbox does not exist.
    ///
    /// `raw` may be a `Vec<u8>` or an `Arc<[u8]>` shared with other mailboxes or the envelope
    /// log, so one message sent to many recipients is kept once.
    pub fn append(
        &self,
        login: &str,
        mailbox: &str,
        raw: impl Into<Arc<[u8]>>,
        flags: Flags,
        internal_date: i64,
    ) -> Result<Appended, StoreError> {
        let raw: Arc<[u8]> = raw.into();
        let appended = self.change(login, mailbox, |state, uidvalidity| {
            let uid = state.append(raw, &flags, internal_date)?;
            Ok(Appended { uidvalidity, uid })
        })?;
        self.messages_accepted(1);
        Ok(appended)
    }

    /// Appends several messages to one mailbox, all or none (MULTIAPPEND, RFC 3502 §6.3.11:
    /// "the server MUST NOT add any of the messages to the mailbox" if one fails), under one
    /// lock, so their UIDs are consecutive and no other change comes between them. Each item
    /// is (message, flags, internal date); the result has one [`Appended`] per message.
    pub fn append_all(
        &self,
        login: &str,
        mailbox: &str,
        messages: Vec<(Arc<[u8]>, Flags, i64)>,
    ) -> Result<Vec<Appended>, StoreError> {
        let count = messages.len();
        let appended = self.change(login, mailbox, |state, uidvalidity| {
            state.append_all(messages).map(|uids| {
                uids.into_iter()
                    .map(|uid| Appended { uidvalidity, uid })
                    .collect::<Vec<_>>()
            })
        })?;
        self.messages_accepted(count);
        Ok(appended)
    }

    /// Delivers a message to the user's INBOX, with no flags (see [`Store::append`]).
    pub fn deliver(
        &self,
        login: &str,
        raw: impl Into<Arc<[u8]>>,
        internal_date: i64,
    ) -> Result<Appended, StoreError> {
        self.append(login, INBOX, raw, Flags::new(), internal_date)
    }

    /// Delivers one message to the INBOX of every listed user (each once), all or none: if
    /// any INBOX is missing or full ([`StoreError::MailboxFull`]) nothing is stored, so an
    /// SMTP server can answer the whole transaction with one reply that is true for every
    /// recipient. Every INBOX shares the one copy of `raw`; the result has one entry per
    /// distinct INBOX.
    pub fn deliver_all(
        &self,
        logins: &[&str],
        raw: impl Into<Arc<[u8]>>,
        internal_date: i64,
    ) -> Result<Vec<Appended>, StoreError> {
        let raw: Arc<[u8]> = raw.into();
        let mut inboxes = Vec::new();
        let mut owners = Vec::new();
        for login in logins {
            let inbox = self.mailbox(login, INBOX)?;
            if !inboxes.iter().any(|known| Arc::ptr_eq(known, &inbox)) {
                inboxes.push(inbox);
                owners.push(*login);
            }
        }
        // One lock order everywhere (ascending UIDVALIDITY, as `lock_pair`), so deliveries
        // and transfers cannot deadlock.
        inboxes.sort_by_key(|m| m.uidvalidity);
        let (appended, wakers) = {
            let mut states = Vec::with_capacity(inboxes.len());
            for inbox in &inboxes {
                let state = inbox.lock_live()?;
                state.check_room(1)?;
                states.push(state);
            }
            let mut appended = Vec::with_capacity(states.len());
            let mut wakers = Vec::new();
            for (state, inbox) in states.iter_mut().zip(&inboxes) {
                let uid = state.append(raw.clone(), &Flags::new(), internal_date)?;
                appended.push(Appended {
                    uidvalidity: inbox.uidvalidity,
                    uid,
                });
                wakers.extend(state.feed.take_wakers());
                state.take_events();
            }
            (appended, wakers)
        };
        wake(&wakers);
        let arrived = MessageEvents {
            arrived: true,
            ..MessageEvents::default()
        };
        for login in owners {
            self.log_messages(login, INBOX.to_owned(), arrived);
        }
        self.messages_accepted(appended.len());
        Ok(appended)
    }

    /// A consistent view of a mailbox. To follow its changes too, use [`Store::watch`] and
    /// [`Watch::snapshot`], which take the view and start the feed at the same instant.
    pub fn messages(&self, login: &str, mailbox: &str) -> Result<Snapshot, StoreError> {
        let mailbox = self.mailbox(login, mailbox)?;
        let state = mailbox.lock_live()?;
        Ok(state.snapshot(mailbox.uidvalidity))
    }

    /// The messages with these UIDs that exist, by UID (unknown UIDs are ignored): a lookup
    /// for the few messages a command names, without copying the whole mailbox as
    /// [`Store::messages`] does.
    ///
    /// ```
    /// # let store = mailrig_store::Store::new();
    /// # store.add_user(mailrig_store::User::new("alice", "secret", ["alice@example.test"])).unwrap();
    /// for _ in 0..3 {
    ///     store.deliver("alice", b"Subject: hi\r\n\r\n".to_vec(), 0)?;
    /// }
    /// let found = store.messages_with_uids("alice", "INBOX", &[3, 9, 1])?;
    /// assert_eq!(found.iter().map(|m| m.uid).collect::<Vec<_>>(), [1, 3]);
    /// # Ok::<(), mailrig_store::StoreError>(())
    /// ```
    pub fn messages_with_uids(
        &self,
        login: &str,
        mailbox: &str,
        uids: &[u32],
    ) -> Result<Vec<Message>, StoreError> {
        let mailbox = self.mailbox(login, mailbox)?;
        let state = mailbox.lock_live()?;
        Ok(state.select(Some(uids)))
    }

    /// A mailbox's counters (IMAP `STATUS`), without copying its messages.
    pub fn status(&self, login: &str, mailbox: &str) -> Result<Status, StoreError> {
        let mailbox = self.mailbox(login, mailbox)?;
        let state = mailbox.lock_live()?;
        Ok(state.status(mailbox.uidvalidity))
    }

    /// How many messages a mailbox holds: [`Status::messages`] without counting flags, so
    /// it costs the same on a full mailbox as on an empty one (SMTP asks it per recipient).
    ///
    /// ```
    /// # let store = mailrig_store::Store::new();
    /// # store.add_user(mailrig_store::User::new("alice", "secret", ["alice@example.test"])).unwrap();
    /// store.deliver("alice", b"Subject: hi\r\n\r\n".to_vec(), 0)?;
    /// assert_eq!(store.message_count("alice", "INBOX")?, 1);
    /// assert!(store.message_count("alice", "Nowhere").is_err());
    /// # Ok::<(), mailrig_store::StoreError>(())
    /// ```
    pub fn message_count(&self, login: &str, mailbox: &str) -> Result<usize, StoreError> {
        let mailbox = self.mailbox(login, mailbox)?;
        let state = mailbox.lock_live()?;
        Ok(state.len())
    }

    /// Changes the flags of the messages with these UIDs (unknown UIDs are ignored).
    ///
    /// A message whose flags actually change gets a new modification sequence and a
    /// [`Change::Flags`] in the feed; one whose flags already are as requested is left alone.
    /// With `unchanged_since` (CONDSTORE `UNCHANGEDSINCE`), messages whose modification
    /// sequence is greater are left alone and listed in [`FlagUpdate::modified`].
    ///
    /// [`Change::Flags`]: crate::Change::Flags
    pub fn store_flags(
        &self,
        login: &str,
        mailbox: &str,
        uids: &[u32],
        op: FlagOp,
        flags: &Flags,
        unchanged_since: Option<u64>,
    ) -> Result<FlagUpdate, StoreError> {
        self.change(login, mailbox, |state, _| {
            Ok(state.store_flags(uids, op, flags, unchanged_since))
        })
    }

    /// Removes the messages marked `\Deleted`: all of them (EXPUNGE), or only those among
    /// `uids` (UID EXPUNGE, RFC 4315). Returns the removed UIDs, ascending; each one is a
    /// [`Change::Expunged`] with its own new modification sequence.
    ///
    /// [`Change::Expunged`]: crate::Change::Expunged
    pub fn expunge(&self, login: &str, mailbox: &str, uids: Option<&[u32]>) -> Result<Vec<u32>, StoreError> {
        self.change(login, mailbox, |state, _| Ok(state.expunge(uids)))
    }

    /// Copies the messages with these UIDs (unknown UIDs are ignored) to `to`, keeping their
    /// flags and internal dates (RFC 9051 §6.4.7). All or nothing.
    pub fn copy_messages(
        &self,
        login: &str,
        from: &str,
        to: &str,
        uids: &[u32],
    ) -> Result<Copied, StoreError> {
        self.transfer(login, from, to, Some(uids), false)
    }

    /// Moves the messages with these UIDs to `to` (RFC 6851): copies them, then expunges
    /// them from `from` whatever their flags, atomically (both mailboxes are locked).
    pub fn move_messages(
        &self,
        login: &str,
        from: &str,
        to: &str,
        uids: &[u32],
    ) -> Result<Copied, StoreError> {
        self.transfer(login, from, to, Some(uids), true)
    }

    /// Starts following a mailbox's changes; see [`Watch`]. Typically, on SELECT:
    ///
    /// ```
    /// # let store = mailrig_store::Store::new();
    /// # store.add_user(mailrig_store::User::new("alice", "secret", ["alice@example.test"])).unwrap();
    /// let mut watch = store.watch("alice", "INBOX")?;
    /// let view = watch.snapshot()?; // the starting view; later changes come from `poll`
    /// store.deliver("alice", b"Subject: hi\r\n\r\n".to_vec(), 0)?;
    /// assert!(matches!(&watch.poll()[..], [mailrig_store::Change::Added(m)] if m.uid == view.uidnext));
    /// # Ok::<(), mailrig_store::StoreError>(())
    /// ```
    pub fn watch(&self, login: &str, mailbox: &str) -> Result<Watch, StoreError> {
        let mailbox = self.mailbox(login, mailbox)?;
        Watch::register(mailbox, self.next_id())
    }

    /// Copies (or moves) the listed messages (all for `None`) between two mailboxes of one
    /// user, locking both in UIDVALIDITY order.
    pub(crate) fn transfer(
        &self,
        login: &str,
        from: &str,
        to: &str,
        uids: Option<&[u32]>,
        remove: bool,
    ) -> Result<Copied, StoreError> {
        let source = self.mailbox(login, from)?;
        let dest = self.mailbox(login, to)?;
        let ((old, new), wakers, events) = if Arc::ptr_eq(&source, &dest) {
            let mut state = source.lock_live()?;
            let uids = copy_between(None, &mut state, uids, remove)?;
            let events = vec![(state.name().to_owned(), state.take_events())];
            (uids, state.feed.take_wakers(), events)
        } else {
            let (mut src, mut dst) = lock_pair(&source, &dest)?;
            let uids = copy_between(Some(&mut src), &mut dst, uids, remove)?;
            let mut wakers = src.feed.take_wakers();
            wakers.extend(dst.feed.take_wakers());
            let events = vec![
                (src.name().to_owned(), src.take_events()),
                (dst.name().to_owned(), dst.take_events()),
            ];
            (uids, wakers, events)
        };
        wake(&wakers);
        for (name, events) in events {
            self.log_messages(login, name, events);
        }
        self.messages_accepted(new.len());
        Ok(Copied {
            uidvalidity: dest.uidvalidity,
            source: old,
            dest: new,
        })
    }

    /// Runs `f` on a live mailbox's state, then runs the wakers of the changes it made.
    fn change<T, F>(&self, login: &str, mailbox: &str, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut MailboxState, u32) -> Result<T, StoreError>,
    {
        let mailbox = self.mailbox(login, mailbox)?;
        let (result, wakers, name, events) = {
            let mut state = mailbox.lock_live()?;
            let result = f(&mut state, mailbox.uidvalidity);
            let events = state.take_events();
            (result, state.feed.take_wakers(), state.name().to_owned(), events)
        };
        wake(&wakers);
        self.log_messages(login, name, events);
        result
    }
}

/// Copies the listed messages of `source` (or of `dest` itself for `None`) into `dest`,
/// removing them from where they were if `remove`. Returns (source UIDs, new UIDs).
fn copy_between(
    source: Option<&mut MailboxState>,
    dest: &mut MailboxState,
    uids: Option<&[u32]>,
    remove: bool,
) -> Result<(Vec<u32>, Vec<u32>), StoreError> {
    let moving = match &source {
        Some(source) => source.select(uids),
        None => dest.select(uids),
    };
    let new = dest.append_copies(&moving)?;
    let old: Vec<u32> = moving.iter().map(|m| m.uid).collect();
    if remove {
        match source {
            Some(source) => source.remove(&old),
            None => dest.remove(&old),
        }
    }
    Ok((old, new))
}

/// Locks two different live mailboxes in UIDVALIDITY order (unique per mailbox), so two
/// transfers in opposite directions cannot deadlock. Returns the guards as (a, b).
fn lock_pair<'a>(
    a: &'a Mailbox,
    b: &'a Mailbox,
) -> Result<(MutexGuard<'a, MailboxState>, MutexGuard<'a, MailboxState>), StoreError> {
    if a.uidvalidity < b.uidvalidity {
        let first = a.lock_live()?;
        Ok((first, b.lock_live()?))
    } else {
        let first = b.lock_live()?;
        Ok((a.lock_live()?, first))
    }
}
