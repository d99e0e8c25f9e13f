//! `\Recent` (RFC 3501 §2.3.2; IMAP4rev1 only, RFC 9051 Appendix E removed it): the messages
//! this session was the first to be told about.
//!
//! The store keeps one high-water mark per mailbox ([`Watch::claim_recent`]); a session
//! claims up to the highest UID it reports, at SELECT and whenever it reports `EXISTS`, so
//! exactly one read-write session gets each new message as `\Recent`. EXAMINE must not take
//! `\Recent` away (RFC 3501 §6.3.2) but reports what SELECT would: a read-only session
//! counts the messages above the mark as recent without moving it.
//!
//! The recent UIDs are kept as ranges: what a session claims or notes is always every message
//! it knows between two UIDs, and a UID in a range that the session does not know was
//! expunged (it never comes back), so a session costs a few bytes here however many
//! messages are recent.

use std::ops::RangeInclusive;

use mailrig_store::{Flags, Watch};

use crate::response;
use crate::sequence_map::SequenceMap;

/// One IMAP4rev1 selection's `\Recent` messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Recent {
    /// Whether this session claims new messages (SELECT); EXAMINE only notes the unclaimed.
    claims: bool,
    /// [`Defect::RecentToEverySession`](crate::Defect::RecentToEverySession): every message
    /// reported is taken, whoever claimed it.
    every_session: bool,
    /// The UIDs claimed so far, as ascending, disjoint ranges (they may cover expunged UIDs,
    /// which are never reused, and UIDs the session never knew, which were expunged).
    uids: Vec<RangeInclusive<u32>>,
}

impl Recent {
    /// No recent messages yet; `claims` for a read-write selection; `every_session` for the
    /// defect that ignores other sessions' claims.
    pub(crate) fn new(claims: bool, every_session: bool) -> Recent {
        Recent {
            claims,
            every_session,
            uids: Vec::new(),
        }
    }

    /// Claims the messages up to the last of `uids` (the selection's) that no session has
    /// claimed yet; a read-only selection takes note of them without claiming.
    pub(crate) fn claim(&mut self, watch: &Watch, uids: &SequenceMap) {
        let (Some(first), Some(up_to)) = (uids.first(), uids.last()) else {
            return;
        };
        if !self.claims {
            let mark = watch.recent_claimed();
            if up_to > mark {
                self.add(mark + 1..=up_to);
            }
            return;
        }
        let claimed = watch.claim_recent(up_to);
        if self.every_session {
            self.add(first..=up_to);
        } else if let Some(claimed) = claimed {
            self.add(claimed);
        }
    }

    /// Whether the message is one of this session's recent messages.
    pub(crate) fn contains(&self, uid: u32) -> bool {
        let after = self.uids.partition_point(|range| *range.start() <= uid);
        after > 0 && self.uids[after - 1].contains(&uid)
    }

    /// How many of `uids` are recent: the `* n RECENT` number.
    pub(crate) fn count(&self, uids: &SequenceMap) -> usize {
        self.uids.iter().map(|range| uids.count_in(range)).sum()
    }

    /// Adds `range`, merging it with the ranges it touches.
    fn add(&mut self, range: RangeInclusive<u32>) {
        let (mut lo, mut hi) = (*range.start(), *range.end());
        // The ranges that overlap or adjoin it: ends at lo - 1 or later, starts at hi + 1 or before.
        let from = self.uids.partition_point(|r| r.end().saturating_add(1) < lo);
        let to = self.uids.partition_point(|r| *r.start() <= hi.saturating_add(1));
        if from < to {
            lo = lo.min(*self.uids[from].start());
            hi = hi.max(*self.uids[to - 1].end());
        }
        self.uids.splice(from..to, [lo..=hi]);
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
        recent.add(2..=3);
        let seen = Flags::from([Flag::Seen]);
        assert_eq!(flag_list(Some(&recent), &seen, 1), "(\\Seen)");
        assert_eq!(flag_list(Some(&recent), &seen, 2), "(\\Seen \\Recent)");
        assert_eq!(flag_list(Some(&recent), &Flags::new(), 3), "(\\Recent)");
        assert_eq!(flag_list(None, &Flags::new(), 3), "()");
        assert_eq!(recent.count(&SequenceMap::own(vec![1, 3, 4])), 1);
    }

    #[test]
    fn ranges_merge_and_count_only_known_messages() {
        let mut recent = Recent::new(true, false);
        recent.add(10..=12);
        recent.add(3..=4);
        recent.add(5..=5);
        recent.add(20..=30);
        recent.add(11..=21);
        assert_eq!(recent.uids, vec![3..=5, 10..=30]);
        assert!(recent.contains(3) && recent.contains(5) && recent.contains(30));
        assert!(!recent.contains(2) && !recent.contains(6) && !recent.contains(31));
        let known = SequenceMap::own(vec![1, 4, 7, 10, 25, 31]);
        assert_eq!(recent.count(&known), 3);
        recent.add(0..=u32::MAX);
        assert_eq!(recent.uids, vec![0..=u32::MAX]);
        assert_eq!(recent.count(&known), 6);
    }
}
