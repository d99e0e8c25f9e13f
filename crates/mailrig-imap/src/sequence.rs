//! Sequence sets (RFC 9051 §9 `sequence-set`, §6.4.8 for UIDs): `1:3,5,7:*`.

use crate::error::SyntaxError;

/// `sequence-set = (seq-number / seq-range) ["," sequence-set]`; `*` is `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SequenceSet(Vec<(Option<u32>, Option<u32>)>);

impl SequenceSet {
    /// Parses a sequence set. Zero is invalid (`seq-number = nz-number / "*"`).
    pub(crate) fn parse(text: &str) -> Result<SequenceSet, SyntaxError> {
        let number = |part: &str| -> Result<Option<u32>, SyntaxError> {
            if part == "*" {
                return Ok(None);
            }
            match part.parse::<u32>() {
                Ok(n) if n > 0 && part.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(n)),
                _ => Err(SyntaxError::SequenceSet),
            }
        };
        let mut ranges = Vec::new();
        for item in text.split(',') {
            let range = match item.split_once(':') {
                Some((a, b)) => (number(a)?, number(b)?),
                None => {
                    let n = number(item)?;
                    (n, n)
                }
            };
            ranges.push(range);
        }
        Ok(SequenceSet(ranges))
    }

    /// The positions (0-based) of the messages with these sequence numbers among `count`
    /// messages, ascending. A number above `count` is an error (RFC 9051 §6.4.5 answers BAD).
    pub(crate) fn positions(&self, count: usize) -> Result<Vec<usize>, SyntaxError> {
        let max = u32::try_from(count).unwrap_or(u32::MAX);
        // Merged first, so overlapping ranges (`1:*,1:*,...`) cost nothing extra.
        let ranges = self.ranges(max);
        let (Some(&(lo, _)), Some(&(_, hi))) = (ranges.first(), ranges.last()) else {
            return Ok(Vec::new());
        };
        if hi > max || lo == 0 {
            return Err(SyntaxError::SequenceSet);
        }
        Ok(ranges
            .into_iter()
            .flat_map(|(lo, hi)| lo as usize - 1..hi as usize)
            .collect())
    }

    /// Whether `n` is in the set, `*` standing for `last` (no range test allocates).
    pub(crate) fn contains(&self, n: u32, last: u32) -> bool {
        self.0.iter().any(|&(a, b)| {
            let (a, b) = (a.unwrap_or(last), b.unwrap_or(last));
            (a.min(b)..=a.max(b)).contains(&n)
        })
    }

    /// The set as ascending, disjoint `(first, last)` ranges, `*` standing for `last`.
    pub(crate) fn ranges(&self, last: u32) -> Vec<(u32, u32)> {
        let mut ranges: Vec<(u32, u32)> = self
            .0
            .iter()
            .map(|&(a, b)| {
                let (a, b) = (a.unwrap_or(last), b.unwrap_or(last));
                (a.min(b), a.max(b))
            })
            .collect();
        ranges.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(ranges.len());
        for (a, b) in ranges {
            match merged.last_mut() {
                Some((_, end)) if a <= end.saturating_add(1) => *end = (*end).max(b),
                _ => merged.push((a, b)),
            }
        }
        merged
    }

    /// The positions of the messages whose UIDs (ascending, in `uids`) are in the set. `*`
    /// is the largest UID; `n:*` always includes the last message (RFC 9051 §6.4.8).
    pub(crate) fn uid_positions(&self, uids: &[u32]) -> Vec<usize> {
        let Some(&last) = uids.last() else {
            return Vec::new();
        };
        // Merged first (ascending and disjoint), so no position comes twice.
        let mut out = Vec::new();
        for (lo, hi) in self.ranges(last) {
            let start = uids.partition_point(|&u| u < lo);
            let end = uids.partition_point(|&u| u <= hi);
            out.extend(start..end);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves() {
        let set = SequenceSet::parse("2:*,1").unwrap();
        assert_eq!(set.positions(3).unwrap(), vec![0, 1, 2]);
        assert!(SequenceSet::parse("4").unwrap().positions(3).is_err());
        assert!(SequenceSet::parse("0").is_err());
        assert!(SequenceSet::parse("*").unwrap().positions(0).is_err());
        assert_eq!(
            SequenceSet::parse("3,1:2,2:3").unwrap().positions(3).unwrap(),
            vec![0, 1, 2]
        );
        assert_eq!(
            SequenceSet::parse("9:7,3").unwrap().uid_positions(&[3, 7, 9]),
            vec![0, 1, 2]
        );
        let uids = [3, 7, 9];
        assert_eq!(SequenceSet::parse("4:8").unwrap().uid_positions(&uids), vec![1]);
        assert_eq!(SequenceSet::parse("100:*").unwrap().uid_positions(&uids), vec![2]);
        assert_eq!(SequenceSet::parse("7:*,1,2,3:4").unwrap().ranges(5), vec![(1, 7)]);
        assert_eq!(
            SequenceSet::parse("9,3:1").unwrap().ranges(5),
            vec![(1, 3), (9, 9)]
        );
    }
}
