//! [`StoreError`]: why a store operation was refused. Each variant maps onto one IMAP or SMTP
//! reply (e.g. `NoSuchMailbox` → `NO [TRYCREATE]`, `HasChildren` → `NO [HASCHILDREN]`).

/// Why a store operation was refused. Nothing is changed when an operation fails.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// No user has this login.
    #[error("no such user: {0}")]
    NoSuchUser(String),
    /// A user with this login exists already.
    #[error("user {0} exists already")]
    UserExists(String),
    /// The user has no mailbox of this name (or it was deleted meanwhile).
    #[error("no such mailbox: {0}")]
    NoSuchMailbox(String),
    /// A mailbox of this name exists already.
    #[error("mailbox {0} exists already")]
    MailboxExists(String),
    /// The name cannot name a mailbox (empty, an empty level, a control character, a wildcard,
    /// or a rename into its own subtree).
    #[error("invalid mailbox name {name:?}: {reason}")]
    InvalidMailboxName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// INBOX cannot be deleted (RFC 9051 §6.3.5).
    #[error("INBOX cannot be deleted")]
    CannotDeleteInbox,
    /// The mailbox has inferior names, so it is not deleted (RFC 9051 §6.3.5: `HASCHILDREN`).
    #[error("mailbox {0} has inferior mailboxes")]
    HasChildren(String),
    /// The mailbox holds its most messages ([`StoreLimits::messages_per_mailbox`]); nothing
    /// was added (IMAP `NO [LIMIT]`, SMTP `452 4.2.2`).
    ///
    /// [`StoreLimits::messages_per_mailbox`]: crate::StoreLimits::messages_per_mailbox
    #[error("mailbox {name} is full ({limit} messages)")]
    MailboxFull {
        /// The mailbox.
        name: String,
        /// Its limit.
        limit: usize,
    },
    /// The mailbox has used every UID (2^32 - 2) and would need a new UIDVALIDITY.
    #[error("mailbox {0} has no UIDs left")]
    UidsExhausted(String),
}
