//! The storage seam: [`Storage`], consulted before every operation that changes the store or
//! selects a mailbox, so a test (or a fault rule) can refuse one — `NO [OVERQUOTA]` for an
//! APPEND, `NO [LIMIT]` for a COPY — without editing the session. What SMTP's `Backend` is to
//! the SMTP session, in the small: the store itself stays the session's.
//!
//! A refused operation changes nothing in the store; the client gets the [`Refusal`] as the
//! command's tagged completion (after any updates pending for its selected mailbox, as for any
//! other completion). Delaying a reply is not the seam's business: the connection driver
//! delays what the session writes.

use std::fmt;
use std::sync::Arc;

use mailrig_store::{FlagOp, Flags};

use crate::completion::Refusal;

/// One operation the session is about to perform for a logged-in user. Mailbox names are as
/// the client gave them (`INBOX` in any case), or the selected mailbox's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Operation<'a> {
    /// SELECT (`read_only: false`) or EXAMINE (`true`) of `mailbox`. Refusing it leaves no
    /// mailbox selected, as any failed SELECT does (RFC 9051 §6.3.2).
    Select {
        /// The mailbox to open.
        mailbox: &'a str,
        /// EXAMINE.
        read_only: bool,
    },
    /// APPEND of a message of `size` bytes with `flags` to `mailbox`.
    Append {
        /// The target mailbox.
        mailbox: &'a str,
        /// The message's size in bytes.
        size: usize,
        /// The flags the client gave.
        flags: &'a Flags,
    },
    /// COPY or MOVE (`moving`), plain or UID, of the messages with `uids` from the selected
    /// mailbox `from` to `to`.
    Copy {
        /// The selected mailbox.
        from: &'a str,
        /// The target mailbox.
        to: &'a str,
        /// The messages' UIDs.
        uids: &'a [u32],
        /// MOVE rather than COPY.
        moving: bool,
        /// UID COPY or UID MOVE (so a caller can name the command).
        uid: bool,
    },
    /// STORE (plain or UID) of `flags` with `op` on the messages with `uids` in `mailbox`.
    /// The `\Seen` a FETCH of `BODY[]` sets is not consulted.
    Store {
        /// The selected mailbox.
        mailbox: &'a str,
        /// The messages' UIDs.
        uids: &'a [u32],
        /// Replace, add or remove.
        op: FlagOp,
        /// The flags given.
        flags: &'a Flags,
        /// UID STORE (so a caller can name the command).
        uid: bool,
    },
    /// EXPUNGE (`uids: None`) or UID EXPUNGE of `mailbox`. CLOSE's silent expunge is not
    /// consulted (CLOSE always closes).
    Expunge {
        /// The selected mailbox.
        mailbox: &'a str,
        /// UID EXPUNGE's UIDs.
        uids: Option<&'a [u32]>,
    },
    /// CREATE of `mailbox`.
    Create {
        /// The new mailbox.
        mailbox: &'a str,
    },
    /// DELETE of `mailbox`.
    Delete {
        /// The mailbox to delete.
        mailbox: &'a str,
    },
    /// RENAME of `from` to `to`.
    Rename {
        /// The current name.
        from: &'a str,
        /// The new name.
        to: &'a str,
    },
}

/// What a session consults before each [`Operation`]: `Ok(())` lets it happen, `Err` refuses
/// it with that [`Refusal`] (usually a `NO` with a code: `OVERQUOTA`, `LIMIT`, `CANNOT`, ...).
/// Shared by the sessions a [`Config`](crate::Config) makes (so `&self`; count occurrences
/// with atomics or a mutex), or set for one session with
/// [`Session::set_storage`](crate::Session::set_storage).
///
/// ```
/// use mailrig_imap::{Config, Operation, Output, Refusal, Session, Storage, StorageHook};
/// use mailrig_store::{Store, User};
///
/// /// Every APPEND above 1 KiB is over quota.
/// struct Quota;
///
/// impl Storage for Quota {
///     fn check(&self, _login: &str, operation: &Operation<'_>) -> Result<(), Refusal> {
///         match operation {
///             Operation::Append { size, .. } if *size > 1024 => {
///                 Err(Refusal::no("quota exceeded").with_code("OVERQUOTA"))
///             }
///             _ => Ok(()),
///         }
///     }
/// }
///
/// let store = Store::new();
/// store.add_user(User::new("alice", "secret", ["alice@example.test"]))?;
/// let config = Config { storage: StorageHook::new(Quota), ..Config::default() };
/// let mut session = Session::new(config, store);
/// session.handle_input(b"a LOGIN alice secret\r\nb APPEND INBOX {2000+}\r\n");
/// session.handle_input(&[b'x'; 2000]);
/// session.handle_input(b"\r\n");
/// let mut last = Vec::new();
/// while let Some(output) = session.poll_output() {
///     if let Output::Response { bytes, .. } = output {
///         last = bytes;
///     }
/// }
/// assert_eq!(last, b"b NO [OVERQUOTA] quota exceeded\r\n");
/// # Ok::<(), mailrig_store::StoreError>(())
/// ```
pub trait Storage: Send + Sync {
    /// Whether `login` may perform `operation` now.
    fn check(&self, login: &str, operation: &Operation<'_>) -> Result<(), Refusal>;
}

/// The default [`Storage`]: allows everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllowAll;

impl Storage for AllowAll {
    fn check(&self, _login: &str, _operation: &Operation<'_>) -> Result<(), Refusal> {
        Ok(())
    }
}

/// A shared [`Storage`], as [`Config::storage`](crate::Config::storage) holds it: the
/// default is [`AllowAll`]. Two hooks are equal when they are the same one.
#[derive(Clone, Default)]
pub struct StorageHook(Option<Arc<dyn Storage>>);

impl StorageHook {
    /// Wraps `storage`.
    pub fn new(storage: impl Storage + 'static) -> StorageHook {
        StorageHook(Some(Arc::new(storage)))
    }

    /// Asks the storage about `operation`.
    pub(crate) fn check(&self, login: &str, operation: &Operation<'_>) -> Result<(), Refusal> {
        match &self.0 {
            Some(storage) => storage.check(login, operation),
            None => AllowAll.check(login, operation),
        }
    }
}

impl From<Arc<dyn Storage>> for StorageHook {
    fn from(storage: Arc<dyn Storage>) -> StorageHook {
        StorageHook(Some(storage))
    }
}

impl PartialEq for StorageHook {
    fn eq(&self, other: &StorageHook) -> bool {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (a, b) => a.is_none() && b.is_none(),
        }
    }
}

impl Eq for StorageHook {}

impl fmt::Debug for StorageHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "StorageHook"
        } else {
            "StorageHook(AllowAll)"
        })
    }
}
