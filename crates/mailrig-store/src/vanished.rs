//! The UIDs a mailbox expunged and when (RFC 7162 §3.2.5.2 and §3.2.6: QRESYNC's
//! `VANISHED (EARLIER)`), kept in bounded memory.
//!
//! Runs of consecutive expunged UIDs are merged, keeping the highest modification sequence of
//! the run; when there are too many runs, the oldest is forgotten and a floor records that
//! answers for earlier modification sequences are no longer complete. Both only ever make the
//! answer larger than exact, which RFC 7162 §3.2.5.2 allows; they never report a live UID.

use std::collections::BTreeMap;

/// The expunge history of one mailbox.
#[derive(Debug)]
pub(crate) struct ExpungeLog {
    /// Runs of consecutive expunged UIDs: first UID → (last UID, highest modseq in the run).
    runs: BTreeMap<u32, (u32, u64)>,
    /// Expunges at or below this modification sequence may have been forgotten.
    forgotten: u64,
    /// The most runs kept (at least one).
    limit: usize,
}

impl ExpungeLog {
    /// An empty log keeping at most `limit` runs.
    pub(crate) fn new(limit: usize) -> ExpungeLog {
        ExpungeLog {
            runs: BTreeMap::new(),
            forgotten: 0,
            limit: limit.max(1),
        }
    }

    /// Records that `uid` was expunged at `modseq`.
    pub(crate) fn record(&mut self, uid: u32, modseq: u64) {
        let (mut first, mut last, mut top) = (uid, uid, modseq);
        if let Some((&start, &(end, seq))) = self.runs.range(..uid).next_back()
            && end.checked_add(1) == Some(uid)
        {
            first = start;
            top = top.max(seq);
        }
        if let Some(next) = uid.checked_add(1)
            && let Some((end, seq)) = self.runs.remove(&next)
        {
            last = end;
            top = top.max(seq);
        }
        self.runs.insert(first, (last, top));
        if self.runs.len() > self.limit {
            let oldest = self
                .runs
                .iter()
                .min_by_key(|(_, (_, seq))| *seq)
                .map(|(&k, &(_, seq))| (k, seq));
            if let Some((start, seq)) = oldest {
                self.runs.remove(&start);
                self.forgotten = self.forgotten.max(seq);
            }
        }
    }

    /// The runs of UIDs expunged after `modseq`, ascending (a run may also hold UIDs expunged
    /// earlier); `None` if some of them may have been forgotten.
    pub(crate) fn since(&self, modseq: u64) -> Option<Vec<(u32, u32)>> {
        if modseq < self.forgotten {
            return None;
        }
        Some(
            self.runs
                .iter()
                .filter(|(_, (_, seq))| *seq > modseq)
                .map(|(&first, &(last, _))| (first, last))
                .collect(),
        )
    }
}

/// The runs of UIDs below `uidnext` that are not in `live` (ascending): every expunged UID,
/// when the log cannot say which expunges are recent.
pub(crate) fn gaps(live: impl Iterator<Item = u32>, uidnext: u32) -> Vec<(u32, u32)> {
    let mut runs = Vec::new();
    let mut next = 1u32;
    for uid in live.chain(std::iter::once(uidnext)) {
        if uid > next {
            runs.push((next, uid - 1));
        }
        next = next.max(uid.saturating_add(1));
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_merge_and_keep_their_highest_modseq() {
        let mut log = ExpungeLog::new(10);
        log.record(3, 10);
        log.record(5, 11);
        log.record(4, 12);
        log.record(9, 13);
        assert_eq!(log.since(0), Some(vec![(3, 5), (9, 9)]));
        assert_eq!(log.since(12), Some(vec![(9, 9)]));
        assert_eq!(log.since(13), Some(vec![]));
    }

    #[test]
    fn forgetting_raises_the_floor() {
        let mut log = ExpungeLog::new(2);
        log.record(1, 5);
        log.record(3, 6);
        log.record(5, 7);
        assert_eq!(log.since(4), None);
        assert_eq!(log.since(5), Some(vec![(3, 3), (5, 5)]));
        assert_eq!(log.since(6), Some(vec![(5, 5)]));
    }

    #[test]
    fn gaps_are_the_missing_uids() {
        assert_eq!(gaps([2, 3, 6].into_iter(), 9), vec![(1, 1), (4, 5), (7, 8)]);
        assert_eq!(gaps([1, 2].into_iter(), 3), vec![]);
        assert_eq!(gaps(std::iter::empty(), 1), vec![]);
    }
}
