//! BDAT chunks (CHUNKING): exactly `n` octets after the command line, no dot-stuffing.
//!
//! Read first: RFC 3030 §2 (BDAT syntax; the chunk follows the command line immediately and
//! is binary; "the receiver-SMTP MUST" read the whole chunk even when it rejects the command;
//! DATA and BDAT cannot be mixed in one transaction: `503`; after a 5xx to BDAT the client
//! must not send more chunks and should RSET), §4.2 (BDAT with PIPELINING).

use crate::reply::Reply;

/// What happens to the octets of a chunk once it has been read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Disposition {
    /// Append them to the message.
    Keep,
    /// Drop them and send this reply (a refused BDAT still consumes its chunk).
    Refuse(Reply),
}

/// A chunk being read.
#[derive(Debug)]
pub(crate) struct Chunk {
    /// Octets still to read.
    remaining: u64,
    /// The command said `LAST`.
    pub(crate) last: bool,
    /// The chunk's declared size.
    pub(crate) size: u64,
    /// What to do with it.
    pub(crate) disposition: Disposition,
}

impl Chunk {
    /// A chunk of `size` octets.
    pub(crate) fn new(size: u64, last: bool, disposition: Disposition) -> Chunk {
        Chunk {
            remaining: size,
            last,
            size,
            disposition,
        }
    }

    /// Takes up to the rest of the chunk from the front of `input` and returns it.
    pub(crate) fn take<'a>(&mut self, input: &mut &'a [u8]) -> &'a [u8] {
        let n = usize::try_from(self.remaining)
            .unwrap_or(usize::MAX)
            .min(input.len());
        let (taken, rest) = input.split_at(n);
        *input = rest;
        self.remaining -= n as u64;
        taken
    }

    /// Every octet of the chunk has been read.
    pub(crate) fn is_complete(&self) -> bool {
        self.remaining == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_exactly_the_declared_octets() {
        let mut c = Chunk::new(5, true, Disposition::Keep);
        let mut input = &b"ab\r\n.\r\nQUIT\r\n"[..];
        assert_eq!(c.take(&mut input), b"ab\r\n.");
        assert!(c.is_complete());
        assert_eq!(input, b"\r\nQUIT\r\n");
    }

    #[test]
    fn chunk_across_inputs() {
        let mut c = Chunk::new(4, false, Disposition::Keep);
        let mut a = &b"ab"[..];
        assert_eq!(c.take(&mut a), b"ab");
        assert!(!c.is_complete());
        let mut b = &b"cdNOOP"[..];
        assert_eq!(c.take(&mut b), b"cd");
        assert!(c.is_complete());
        assert_eq!(b, b"NOOP");
    }
}
