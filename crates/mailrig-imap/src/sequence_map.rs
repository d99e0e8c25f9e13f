//! The message sequence numbers a selected session's client knows (RFC 9051 §2.3.1.2): the
//! UID of each, shared with every other session whose client knows the same list.
//!
//! Sessions that have reported every change hold the store's one list of the mailbox's UIDs
//! ([`Watch::current_uids`]), so 10,000 sessions on a 10,000-message mailbox hold one 40 KB
//! list, not 10,000. A session whose client has been told less (an expunge cannot be sent
//! during FETCH, STORE or SEARCH) holds its own copy until it catches up. While a session
//! applies changes, new messages go to a short `tail`, so a delivery does not copy the shared
//! list in every session; [`SequenceMap::settle`] ends that.
//!
//! [`Watch::current_uids`]: mailrig_store::Watch::current_uids

use std::ops::RangeInclusive;
use std::sync::Arc;

/// UIDs by sequence number (index 0 is message 1), ascending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SequenceMap {
    /// The first messages: the store's shared list, or this session's own copy.
    base: Base,
    /// The messages after a shared `base`, until [`SequenceMap::settle`] (empty otherwise,
    /// and always empty after an own `base`).
    tail: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Base {
    Shared(Arc<[u32]>),
    Own(Vec<u32>),
}

impl SequenceMap {
    /// This session's own list.
    pub(crate) fn own(uids: Vec<u32>) -> SequenceMap {
        SequenceMap {
            base: Base::Own(uids),
            tail: Vec::new(),
        }
    }

    /// The whole list, contiguous. Between a [`SequenceMap::push`] and the next
    /// [`SequenceMap::settle`] it lacks the pushed UIDs; nothing outside `Selected::sync`
    /// sees that state.
    pub(crate) fn as_slice(&self) -> &[u32] {
        debug_assert!(self.tail.is_empty(), "read as a slice before settle");
        self.base()
    }

    pub(crate) fn len(&self) -> usize {
        self.base().len() + self.tail.len()
    }

    pub(crate) fn first(&self) -> Option<u32> {
        self.base().first().or(self.tail.first()).copied()
    }

    pub(crate) fn last(&self) -> Option<u32> {
        self.tail.last().or(self.base().last()).copied()
    }

    /// The UID of the message at `position` (0-based).
    pub(crate) fn get(&self, position: usize) -> Option<u32> {
        let base = self.base();
        match position.checked_sub(base.len()) {
            None => base.get(position).copied(),
            Some(i) => self.tail.get(i).copied(),
        }
    }

    /// The position (0-based) of the message with `uid`, if the client knows it.
    pub(crate) fn position(&self, uid: u32) -> Option<usize> {
        let base = self.base();
        match base.binary_search(&uid) {
            Ok(i) => Some(i),
            Err(_) => self.tail.binary_search(&uid).ok().map(|i| base.len() + i),
        }
    }

    /// How many of the messages have a UID in `range`.
    pub(crate) fn count_in(&self, range: &RangeInclusive<u32>) -> usize {
        let (lo, hi) = (*range.start(), *range.end());
        let count = |uids: &[u32]| {
            let start = uids.partition_point(|&u| u < lo);
            uids.partition_point(|&u| u <= hi).saturating_sub(start)
        };
        count(self.base()) + count(&self.tail)
    }

    /// Adds a message after the last (its UID is higher than every other).
    pub(crate) fn push(&mut self, uid: u32) {
        match &mut self.base {
            Base::Own(uids) => uids.push(uid),
            Base::Shared(_) => self.tail.push(uid),
        }
    }

    /// Removes the message at `position` (0-based; nothing if there is none); copies a
    /// shared list first.
    pub(crate) fn remove(&mut self, position: usize) {
        let base_len = self.base().len();
        if let Some(i) = position.checked_sub(base_len) {
            if i < self.tail.len() {
                self.tail.remove(i);
            }
            return;
        }
        self.make_own();
        if let Base::Own(uids) = &mut self.base
            && position < uids.len()
        {
            uids.remove(position);
        }
    }

    /// Ends a run of changes. With `current` (the store's list, from a watch that has read
    /// every change this map applied), shares it; otherwise keeps an own copy of what the
    /// client knows. A `current` that does not match (it never should) is not taken.
    pub(crate) fn settle(&mut self, current: Option<Arc<[u32]>>) {
        if let Some(current) = current {
            if let Base::Shared(base) = &self.base
                && self.tail.is_empty()
                && Arc::ptr_eq(base, &current)
            {
                return;
            }
            let matches = current.len() == self.len() && current.last().copied() == self.last();
            debug_assert!(
                !matches || self.iter().eq(current.iter().copied()),
                "the shared list differs from the client's view"
            );
            if matches {
                self.base = Base::Shared(current);
                self.tail = Vec::new();
                return;
            }
        }
        if !self.tail.is_empty() {
            self.make_own();
        }
    }

    /// Whether the list is the store's shared one (for tests).
    #[cfg(test)]
    pub(crate) fn is_shared(&self) -> bool {
        matches!(self.base, Base::Shared(_))
    }

    /// Whether both hold the same shared list (for tests).
    #[cfg(test)]
    pub(crate) fn shares_with(&self, other: &SequenceMap) -> bool {
        match (&self.base, &other.base) {
            (Base::Shared(a), Base::Shared(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    fn base(&self) -> &[u32] {
        match &self.base {
            Base::Shared(uids) => uids,
            Base::Own(uids) => uids,
        }
    }

    fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.base().iter().chain(&self.tail).copied()
    }

    /// Turns a shared list and the tail into an own list.
    fn make_own(&mut self) {
        if let Base::Shared(shared) = &self.base {
            let mut uids = Vec::with_capacity(shared.len() + self.tail.len());
            uids.extend_from_slice(shared);
            uids.append(&mut self.tail);
            self.base = Base::Own(uids);
            self.tail = Vec::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(uids: &[u32]) -> SequenceMap {
        let mut map = SequenceMap::own(uids.to_vec());
        map.settle(Some(uids.into()));
        map
    }

    #[test]
    fn a_shared_list_takes_new_messages_in_its_tail_and_is_not_copied() {
        let store: Arc<[u32]> = Arc::from(&[2, 4, 6][..]);
        let mut map = SequenceMap::own(vec![2, 4, 6]);
        map.settle(Some(store.clone()));
        assert!(map.is_shared());
        map.push(8);
        map.push(9);
        assert!(map.is_shared());
        assert_eq!((map.len(), map.first(), map.last()), (5, Some(2), Some(9)));
        assert_eq!((map.get(2), map.get(3), map.get(5)), (Some(6), Some(8), None));
        assert_eq!(
            (map.position(8), map.position(4), map.position(5)),
            (Some(3), Some(1), None)
        );
        assert_eq!(map.count_in(&(5..=8)), 2);
        map.remove(4);
        assert!(map.is_shared());
        assert_eq!(map.last(), Some(8));
        // The store's list is untouched whatever the session does.
        map.remove(0);
        assert!(!map.is_shared());
        assert_eq!(map.as_slice(), &[4, 6, 8]);
        assert_eq!(&store[..], &[2, 4, 6]);
    }

    #[test]
    fn settling_shares_a_matching_list_and_keeps_a_copy_otherwise() {
        let mut map = shared(&[1, 2]);
        map.push(3);
        map.settle(None);
        assert!(!map.is_shared());
        assert_eq!(map.as_slice(), &[1, 2, 3]);
        map.settle(Some(Arc::from(&[1, 2, 3][..])));
        assert!(map.is_shared());
        assert_eq!(map.as_slice(), &[1, 2, 3]);
        // A list that is not the client's view is refused.
        let mut own = SequenceMap::own(vec![1, 2]);
        own.settle(Some(Arc::from(&[1, 2, 3][..])));
        assert!(!own.is_shared());
        assert_eq!(own.as_slice(), &[1, 2]);
        own.remove(7);
        assert_eq!(own.as_slice(), &[1, 2]);
    }
}
