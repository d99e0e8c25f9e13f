//! QUOTA (RFC 9208): one quota root per user, named `""`, over all the user's mailboxes, with
//! the resources STORAGE (in units of 1024 octets) and MESSAGE; GETQUOTA, GETQUOTAROOT; APPEND
//! and COPY that would go over a limit are `NO [OVERQUOTA]` and store nothing.
//!
//! Read first: RFC 9208 §4.1.1 (GETQUOTA), §4.1.2 (GETQUOTAROOT), §4.3 (OVERQUOTA: "the
//! server MUST NOT ... " store what would exceed a limit), §5.1 (STORAGE), §5.2 (MESSAGE).
//! SETQUOTA is not offered (no `QUOTASET`): the limits are the server's configuration.

use mailrig_store::Store;

use crate::command::Command;
use crate::completion::{Completion, Refusal};
use crate::config::Config;
use crate::data::Data;
use crate::defect::Defect;
use crate::error::SyntaxError;
use crate::response::Responses;
use crate::session::Session;

/// The name of each user's one quota root.
const ROOT: &str = "";

/// A per-user quota: the limits on each user's messages, all mailboxes together. `None` is no
/// limit; the default has none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Quota {
    /// `STORAGE` (RFC 9208 §5.1): the messages' total size, in units of 1024 octets.
    pub storage_kib: Option<u64>,
    /// `MESSAGE` (RFC 9208 §5.2): how many messages.
    pub messages: Option<u64>,
}

/// What a user's mailboxes hold.
#[derive(Debug, Clone, Copy)]
struct Usage {
    bytes: u64,
    messages: u64,
}

impl Session {
    /// `getquota = "GETQUOTA" SP quota-root-name` (RFC 9208 §4.1.1).
    pub(crate) fn get_quota(
        &mut self,
        command: &Command,
        out: &mut Responses,
    ) -> Result<Completion, Refusal> {
        let [root] = &command.args[..] else {
            return Err(SyntaxError::Arguments.into());
        };
        if root.astring().ok_or(SyntaxError::Arguments)? != ROOT {
            return Err(Refusal::no("no such quota root").with_code("NONEXISTENT"));
        }
        self.quota_response(out)?;
        Ok(Completion::ok("GETQUOTA completed"))
    }

    /// `getquotaroot = "GETQUOTAROOT" SP mailbox` (RFC 9208 §4.1.2): the mailbox's one root
    /// and its QUOTA.
    pub(crate) fn get_quota_root(
        &mut self,
        command: &Command,
        out: &mut Responses,
    ) -> Result<Completion, Refusal> {
        let [mailbox] = &command.args[..] else {
            return Err(SyntaxError::Arguments.into());
        };
        let name = mailbox.astring().ok_or(SyntaxError::Arguments)?;
        let login = self.authenticated()?;
        self.store.status(login, &name)?;
        out.data(Data::QuotaRoot {
            mailbox: name.as_bytes(),
            roots: &[ROOT],
        });
        if !self.config.defects.has(Defect::QuotaRootWithoutQuota) {
            self.quota_response(out)?;
        }
        Ok(Completion::ok("GETQUOTAROOT completed"))
    }

    /// `* QUOTA "" (...)`: each limited resource with its usage and limit.
    fn quota_response(&self, out: &mut Responses) -> Result<(), Refusal> {
        let usage = usage(&self.store, self.authenticated()?)?;
        let quota = self.config.quota;
        let mut resources = Vec::new();
        if let Some(limit) = quota.storage_kib {
            resources.push(("STORAGE", usage.bytes.div_ceil(1024), limit));
        }
        if let Some(limit) = quota.messages {
            resources.push(("MESSAGE", usage.messages, limit));
        }
        out.data(Data::Quota {
            root: ROOT,
            resources: &resources,
        });
        Ok(())
    }

    /// See [`check`].
    pub(crate) fn check_quota(&self, bytes: u64, messages: u64) -> Result<(), Refusal> {
        check(&self.store, self.authenticated()?, &self.config, bytes, messages)
    }
}

/// Fails with `NO [OVERQUOTA]` if adding `messages` messages of `bytes` octets in total would
/// take `login` over a limit (RFC 9208 §4.3). Two sessions of one user adding at the same
/// moment may both pass: the check and the store are not one step.
pub(crate) fn check(
    store: &Store,
    login: &str,
    config: &Config,
    bytes: u64,
    messages: u64,
) -> Result<(), Refusal> {
    let quota = config.quota;
    if quota == Quota::default() {
        return Ok(());
    }
    let usage = usage(store, login)?;
    let over_storage = quota
        .storage_kib
        .is_some_and(|limit| usage.bytes.saturating_add(bytes) > limit.saturating_mul(1024));
    let over_messages = quota
        .messages
        .is_some_and(|limit| usage.messages.saturating_add(messages) > limit);
    if over_storage || over_messages {
        return Err(Refusal::no("quota exceeded").with_code("OVERQUOTA"));
    }
    Ok(())
}

/// `login`'s messages, over every mailbox.
fn usage(store: &Store, login: &str) -> Result<Usage, Refusal> {
    let mut usage = Usage {
        bytes: 0,
        messages: 0,
    };
    for mailbox in store.list_mailboxes(login)? {
        // A mailbox deleted since the listing holds nothing.
        if let Ok(status) = store.status(login, &mailbox.name) {
            usage.bytes += status.size;
            usage.messages += status.messages as u64;
        }
    }
    Ok(usage)
}
