//! `\Recent` (RFC 3501 §2.3.2; IMAP4rev1 only, RFC 9051 Appendix E removed it): the messages
//! this session was the first to be told about.
//!
//! The store keeps one high-water mark per mailbox ([`Watch::claim_recent`]); a session
//! claims up to the highest UID it reports, at SELECT and whenever it reports `EXISTS`, so
//! exactly one read-write session gets each new message as `\Recent`. EXAMINE must not take
//! `\Recent` away (RFC 3501 §6.3.2) but reports what SELECT would: a read-only session
//! counts the messages above the mark as recent without moving it.

use std::collections::BTreeSet;

use mailrig_store::{Flags, Watch};

use crate::response;

/// One IMAP4rev1 selection's `\Recent` messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Recent {
    /// Whether this session claims new messages (SELECT); EXAMINE only notes the unclaimed.
    claims: bool,
    /// [`Defect::RecentToEverySession`](crate::Defect::RecentToEverySession): every message
    /// reported is taken, whoever claimed it.
    every_session: bool,
    /// The UIDs claimed so far (expunged ones may linger; they are never reused).
    uids: BTreeSet<u32>,
}

impl Recent {
    /// No recent messages yet; `claims` for a read-write selection; `every_session` for the
    /// defect that ignores other sessions' claims.
    pub(crate) fn new(claims: bool, every_session: bool) -> Recent {
        Recent {
            claims,
            every_session,
            uids: BTreeSet::new(),
        }
    }

    /// Claims the messages up to the last of `uids` (the selection's, ascending) that no
    /// session has claimed yet; a read-only selection takes note of them without claiming.
    pub(crate) fn claim(&mut self, watch: &Watch, uids: &[u32]) {
        if !self.claims {
            let mark = watch.recent_claimed();
            let unclaimed = uids.partition_point(|&uid| uid <= mark);
            self.uids.extend(&uids[unclaimed..]);
            return;
        }
        let Some(&up_to) = uids.last() else {
            return;
        };
        let claimed = watch.claim_recent(up_to);
        if self.every_session {
            self.uids.extend(uids);
        } else {
            self.uids.extend(claimed.into_iter().flatten());
        }
    }

    /// Whether the message is one of this session's recent messages.
    pub(crate) fn contains(&self, uid: u32) -> bool {
        self.uids.contains(&uid)
    }

    /// How many of `uids` (ascending) are recent: the `* n RECENT` number.
    pub(crate) fn count(&self, uids: &[u32]) -> usize {
        self.uids
            .iter()
            .filter(|uid| uids.binary_search(uid).is_ok())
            .count()
    }
}

/// `flag-list`, with `\Recent` last for one of the session's recent messages.
pub(crate) fn flag_list(recent: Option<&Recent>, flags: &Flags, uid: u32) -> String {
    let list = response::flag_list(flags);
    if !recent.is_some_and(|recent| recent.contains(uid)) {
        return list;
    }
    let separator = if flags.is_empty() { "" } else { " " };
    format!("{}{separator}\\Recent)", &list[..list.len() - 1])
}

#[cfg(test)]
mod tests {
    use mailrig_store::Flag;

    use super::*;

    #[test]
    fn flag_lists() {
        let mut recent = Recent::new(true, false);
        recent.uids.extend([2, 3]);
        let seen = Flags::from([Flag::Seen]);
        assert_eq!(flag_list(Some(&recent), &seen, 1), "(\\Seen)");
        assert_eq!(flag_list(Some(&recent), &seen, 2), "(\\Seen \\Recent)");
        assert_eq!(flag_list(Some(&recent), &Flags::new(), 3), "(\\Recent)");
        assert_eq!(flag_list(None, &Flags::new(), 3), "()");
        assert_eq!(recent.count(&[1, 3, 4]), 1);
    }
}
