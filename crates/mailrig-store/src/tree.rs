//! Each user's mailbox table: CREATE, DELETE, RENAME, LIST and subscriptions (RFC 9051
//! §6.3.4–§6.3.9). The table maps full names to mailboxes and sits behind its own `RwLock`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::account::{AccountChange, Journal};
use crate::mailbox::Mailbox;
use crate::mailbox_name::{self, DEFAULT_MAILBOXES, INBOX, SEPARATOR};
use crate::store::wake;
use crate::{SpecialUse, Store, StoreError, User};

/// A mailbox as LIST shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxInfo {
    /// Its full name, `/` separating levels.
    pub name: String,
    /// Its special-use attribute (`\Sent`, ...), if any.
    pub special_use: Option<SpecialUse>,
    /// Whether the name is subscribed.
    pub subscribed: bool,
    /// Whether mailboxes exist below it (`\HasChildren`, else `\HasNoChildren`).
    pub has_children: bool,
}

/// A user and their mailboxes.
#[derive(Debug)]
pub(crate) struct Account {
    pub(crate) user: User,
    tree: RwLock<Tree>,
    /// What happened in the account, for NOTIFY (a leaf lock: log with no other lock held).
    pub(crate) journal: Journal,
}

/// The mailbox table. Every mailbox is selectable: creating `a/b` creates `a` too.
#[derive(Debug, Default)]
struct Tree {
    mailboxes: BTreeMap<String, Arc<Mailbox>>,
    /// Subscribed names; they may outlive their mailbox (RFC 9051 §6.3.7).
    subscribed: BTreeSet<String>,
}

impl Account {
    /// An account with the default mailboxes, all subscribed; `make` creates a mailbox, and
    /// the journal keeps at most `log_limit` unread entries.
    pub(crate) fn new<F>(user: User, log_limit: usize, mut make: F) -> Account
    where
        F: FnMut(&str, Option<SpecialUse>) -> Arc<Mailbox>,
    {
        let mut tree = Tree::default();
        for (name, special_use) in DEFAULT_MAILBOXES {
            tree.mailboxes.insert(name.to_owned(), make(name, special_use));
            tree.subscribed.insert(name.to_owned());
        }
        Account {
            user,
            tree: RwLock::new(tree),
            journal: Journal::new(log_limit),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, Tree> {
        self.tree.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Tree> {
        self.tree.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Store {
    /// Creates a mailbox, and any missing mailboxes above it (`a/b/c` creates `a` and
    /// `a/b`). A trailing `/` is dropped; a first level spelled `inbox` in any case means
    /// `INBOX`. The new mailbox is not subscribed.
    pub fn create_mailbox(&self, login: &str, name: &str) -> Result<(), StoreError> {
        self.create(login, name, None)
    }

    /// Creates a mailbox with a special-use attribute (RFC 6154 §3, `CREATE ... USE`).
    pub fn create_special_use_mailbox(
        &self,
        login: &str,
        name: &str,
        special_use: SpecialUse,
    ) -> Result<(), StoreError> {
        self.create(login, name, Some(special_use))
    }

    /// Deletes a mailbox and its messages (RFC 9051 §6.3.5). INBOX cannot be deleted, nor a
    /// mailbox with mailboxes below it ([`StoreError::HasChildren`]). Watches of the mailbox
    /// report [`Change::MailboxDeleted`]. Subscriptions are kept. Recreating the name gives a
    /// new UIDVALIDITY.
    ///
    /// [`Change::MailboxDeleted`]: crate::Change::MailboxDeleted
    pub fn delete_mailbox(&self, login: &str, name: &str) -> Result<(), StoreError> {
        let name = mailbox_name::canonical(name);
        if name == INBOX {
            return Err(StoreError::CannotDeleteInbox);
        }
        let account = self.account(login)?;
        let mailbox = {
            let mut tree = account.write();
            if tree.has_children(&name) {
                return Err(StoreError::HasChildren(name.into_owned()));
            }
            tree.mailboxes
                .remove(name.as_ref())
                .ok_or_else(|| StoreError::NoSuchMailbox(name.to_string()))?
        };
        let wakers = {
            let mut state = mailbox.lock();
            state.delete();
            state.feed.take_wakers()
        };
        wake(&wakers);
        let name = name.into_owned();
        account.journal.log(self.actor, [AccountChange::Deleted { name }]);
        Ok(())
    }

    /// Renames a mailbox and every mailbox below it (RFC 9051 §6.3.6), creating missing
    /// mailboxes above the new name and moving subscriptions along. Messages, UIDs and
    /// UIDVALIDITY are kept; watches report [`Change::Renamed`].
    ///
    /// Renaming INBOX instead moves all its messages to a new mailbox of that name (new
    /// UIDs, a new UIDVALIDITY) and leaves INBOX empty; mailboxes below INBOX stay. The
    /// account journal logs that as INBOX renamed ([`AccountChange::Renamed`]), then the
    /// messages leaving INBOX and arriving in the new mailbox.
    ///
    /// [`Change::Renamed`]: crate::Change::Renamed
    pub fn rename_mailbox(&self, login: &str, from: &str, to: &str) -> Result<(), StoreError> {
        let from = mailbox_name::canonical(from);
        let to = mailbox_name::new_name(to)?;
        if from == INBOX {
            return self.rename_inbox(login, &to);
        }
        let account = self.account(login)?;
        let (moved, created) = account
            .write()
            .rename(&from, &to, |name| self.new_mailbox(name, None))?;
        let mut journal: Vec<AccountChange> = created
            .into_iter()
            .map(|name| AccountChange::Created { name })
            .collect();
        for (old, name, mailbox) in moved {
            let wakers = {
                let mut state = mailbox.lock();
                state.rename(&name);
                state.feed.take_wakers()
            };
            wake(&wakers);
            journal.push(AccountChange::Renamed { from: old, to: name });
        }
        account.journal.log(self.actor, journal);
        Ok(())
    }

    /// The mailbox's id (RFC 8474 `MAILBOXID`): made from the number it got when it was
    /// created, which is unique store-wide and never reused (its UIDVALIDITY), so it stays
    /// through RENAME and a mailbox deleted and created again gets a new one.
    pub fn mailbox_id(&self, login: &str, name: &str) -> Result<String, StoreError> {
        let mailbox = self.mailbox(login, name)?;
        // A deleted mailbox (still held by a session) has no id to give.
        drop(mailbox.lock_live()?);
        Ok(format!("M{}", mailbox.uidvalidity))
    }

    /// The user's mailboxes, by name.
    pub fn list_mailboxes(&self, login: &str) -> Result<Vec<MailboxInfo>, StoreError> {
        let account = self.account(login)?;
        let tree = account.read();
        let info = tree.mailboxes.iter().map(|(name, mailbox)| MailboxInfo {
            name: name.clone(),
            special_use: mailbox.special_use,
            subscribed: tree.subscribed.contains(name),
            has_children: tree.has_children(name),
        });
        Ok(info.collect())
    }

    /// Subscribes to a name (RFC 9051 §6.3.7); it need not exist. Subscribing twice is fine.
    pub fn subscribe(&self, login: &str, name: &str) -> Result<(), StoreError> {
        let name = mailbox_name::new_name(name)?;
        let account = self.account(login)?;
        let new = account.write().subscribed.insert(name.clone());
        if new {
            let subscribed = true;
            account
                .journal
                .log(self.actor, [AccountChange::Subscription { name, subscribed }]);
        }
        Ok(())
    }

    /// Unsubscribes from a name (RFC 9051 §6.3.8). Unsubscribing a name that is not
    /// subscribed is fine.
    pub fn unsubscribe(&self, login: &str, name: &str) -> Result<(), StoreError> {
        let name = mailbox_name::canonical(name);
        let account = self.account(login)?;
        let removed = account.write().subscribed.remove(name.as_ref());
        if removed {
            let (name, subscribed) = (name.into_owned(), false);
            account
                .journal
                .log(self.actor, [AccountChange::Subscription { name, subscribed }]);
        }
        Ok(())
    }

    /// Every subscribed name, existing or not, alphabetically (for `LIST (SUBSCRIBED)`).
    pub fn subscriptions(&self, login: &str) -> Result<Vec<String>, StoreError> {
        let account = self.account(login)?;
        let tree = account.read();
        Ok(tree.subscribed.iter().cloned().collect())
    }

    /// The mailbox now called `name`.
    pub(crate) fn mailbox(&self, login: &str, name: &str) -> Result<Arc<Mailbox>, StoreError> {
        let account = self.account(login)?;
        let tree = account.read();
        tree.mailboxes
            .get(mailbox_name::canonical(name).as_ref())
            .cloned()
            .ok_or_else(|| StoreError::NoSuchMailbox(name.to_owned()))
    }

    fn create(&self, login: &str, name: &str, special_use: Option<SpecialUse>) -> Result<(), StoreError> {
        let (account, created) = self.insert(login, name, special_use)?;
        let created = created.into_iter().map(|name| AccountChange::Created { name });
        account.journal.log(self.actor, created);
        Ok(())
    }

    /// RENAME INBOX (RFC 9051 §6.3.6): a new mailbox `to` takes all of INBOX's messages. The
    /// journal has it as INBOX renamed to `to` (after any levels created above it), then the
    /// messages leaving INBOX and arriving in `to`: RFC 5465 §5.4 reports it as a rename
    /// ("When INBOX is renamed, a new INBOX is assumed to be created. No MailboxName event is
    /// sent for INBOX in this case").
    fn rename_inbox(&self, login: &str, to: &str) -> Result<(), StoreError> {
        let (account, mut created) = self.insert(login, to, None)?;
        let to = created.pop().expect("`insert` lists the mailbox it made last");
        let mut journal: Vec<AccountChange> = created
            .into_iter()
            .map(|name| AccountChange::Created { name })
            .collect();
        journal.push(AccountChange::Renamed {
            from: INBOX.to_owned(),
            to: to.clone(),
        });
        account.journal.log(self.actor, journal);
        self.transfer(login, INBOX, &to, None, true).map(|_| ())
    }

    /// Makes mailbox `name` and the missing levels above it, logging nothing; returns the
    /// account and the names made, outermost first (`name` last).
    fn insert(
        &self,
        login: &str,
        name: &str,
        special_use: Option<SpecialUse>,
    ) -> Result<(Arc<Account>, Vec<String>), StoreError> {
        let name = mailbox_name::new_name(name)?;
        let account = self.account(login)?;
        let mut created = {
            let mut tree = account.write();
            if tree.mailboxes.contains_key(&name) {
                return Err(StoreError::MailboxExists(name));
            }
            let created = tree.create_ancestors(&name, |parent| self.new_mailbox(parent, None));
            let mailbox = self.new_mailbox(&name, special_use);
            tree.mailboxes.insert(name.clone(), mailbox);
            created
        };
        created.push(name);
        Ok((account, created))
    }
}

impl Tree {
    fn has_children(&self, name: &str) -> bool {
        let prefix = format!("{name}{SEPARATOR}");
        self.mailboxes
            .range(prefix.clone()..)
            .next()
            .is_some_and(|(child, _)| child.starts_with(&prefix))
    }

    /// Creates the missing mailboxes above `name`; returns their names, outermost first.
    fn create_ancestors<F>(&mut self, name: &str, mut make: F) -> Vec<String>
    where
        F: FnMut(&str) -> Arc<Mailbox>,
    {
        let mut created = Vec::new();
        for parent in mailbox_name::ancestors(name) {
            if !self.mailboxes.contains_key(parent) {
                self.mailboxes.insert(parent.to_owned(), make(parent));
                created.push(parent.to_owned());
            }
        }
        created
    }

    /// Moves `from` and everything below it to `to`; returns each moved mailbox with its old
    /// and new names, and the mailboxes created above `to`. Checks everything before changing
    /// anything.
    #[allow(clippy::type_complexity)]
    fn rename<F>(
        &mut self,
        from: &str,
        to: &str,
        make: F,
    ) -> Result<(Vec<(String, String, Arc<Mailbox>)>, Vec<String>), StoreError>
    where
        F: FnMut(&str) -> Arc<Mailbox>,
    {
        if !self.mailboxes.contains_key(from) {
            return Err(StoreError::NoSuchMailbox(from.to_owned()));
        }
        if self.mailboxes.contains_key(to) {
            return Err(StoreError::MailboxExists(to.to_owned()));
        }
        if mailbox_name::is_within(to, from) {
            return Err(StoreError::InvalidMailboxName {
                name: to.to_owned(),
                reason: "inside the mailbox being renamed",
            });
        }
        let renamed = |old: &str| format!("{to}{}", &old[from.len()..]);
        let olds: Vec<String> = self
            .mailboxes
            .keys()
            .filter(|name| mailbox_name::is_within(name, from))
            .cloned()
            .collect();
        if let Some(taken) = olds
            .iter()
            .map(|old| renamed(old))
            .find(|new| self.mailboxes.contains_key(new))
        {
            return Err(StoreError::MailboxExists(taken));
        }
        let mut moved = Vec::with_capacity(olds.len());
        for old in &olds {
            if let Some(mailbox) = self.mailboxes.remove(old) {
                moved.push((old.clone(), renamed(old), mailbox));
            }
        }
        for (_, new, mailbox) in &moved {
            self.mailboxes.insert(new.clone(), mailbox.clone());
        }
        let created = self.create_ancestors(to, make);
        let subscribed: Vec<String> = self
            .subscribed
            .iter()
            .filter(|name| mailbox_name::is_within(name, from))
            .cloned()
            .collect();
        for old in subscribed {
            self.subscribed.remove(&old);
            self.subscribed.insert(renamed(&old));
        }
        Ok((moved, created))
    }
}
