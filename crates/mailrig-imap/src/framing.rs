//! Command framing: CRLF-terminated lines with literals spanning them (RFC 9051 §2.2.1,
//! §4.3 `literal`; RFC 7888 LITERAL+ `{n+}`). Every buffer is capped: an over-long line is
//! discarded up to its end, and a literal larger than the cap is refused before any of it is
//! buffered.

/// What the framer found in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Frame {
    /// A complete command: its lines (CRLF kept before each literal) and literal data, without
    /// the final CRLF.
    Command(Vec<u8>),
    /// A synchronizing literal was announced and accepted: send `+ Ready for literal data`.
    Continue,
    /// A line longer than the cap was discarded; `head` is its start, to find the tag.
    LineTooLong {
        /// The first bytes of the line.
        head: Vec<u8>,
    },
    /// A literal larger than the cap was announced; the command so far is dropped.
    LiteralTooBig {
        /// The command so far (to find the tag).
        head: Vec<u8>,
        /// Whether it was a LITERAL+ literal, whose data the client sends regardless.
        non_sync: bool,
    },
    /// A non-synchronizing literal was announced but is not allowed (no LITERAL+), or is
    /// larger than LITERAL-'s limit; its data is skipped and the command so far dropped.
    NonSyncRefused {
        /// The command so far (to find the tag).
        head: Vec<u8>,
        /// Whether some non-synchronizing literals are allowed (LITERAL-: this one was too
        /// big).
        too_big: bool,
    },
}

/// Splits a byte stream into commands.
#[derive(Debug)]
pub(crate) struct Framer {
    max_line: usize,
    max_literal: usize,
    /// The command being assembled.
    command: Vec<u8>,
    /// Where the current line starts in `command`.
    line_start: usize,
    /// Literal bytes still expected.
    literal: usize,
    /// Discarding the rest of an over-long line.
    discarding: bool,
    /// Literal bytes to skip (a refused LITERAL+ literal).
    skip: u64,
    /// After a skipped literal: drop the rest of its command line too, silently (it belongs
    /// to the command already refused).
    drop_line: bool,
    /// The largest non-synchronizing literal allowed: `None` with LITERAL+, 4096 with
    /// LITERAL- (RFC 7888 §4), `Some(0)` with neither.
    non_sync_limit: Option<u64>,
    /// [`Defect::LiteralPlusContinuation`](crate::Defect::LiteralPlusContinuation): ask for
    /// non-synchronizing literals too.
    continue_non_sync: bool,
}

/// How many bytes of a discarded line are kept to find its tag.
const HEAD: usize = 64;

/// Line bytes reserved after a literal (APPEND's closing CRLF, or a few more arguments).
const LINE_SLACK: usize = 1024;

impl Framer {
    /// A framer with these caps (bytes per line, bytes per literal).
    pub(crate) fn new(max_line: usize, max_literal: usize) -> Framer {
        Framer {
            max_line,
            max_literal,
            command: Vec::new(),
            line_start: 0,
            literal: 0,
            discarding: false,
            skip: 0,
            drop_line: false,
            non_sync_limit: None,
            continue_non_sync: false,
        }
    }

    /// Sets the largest non-synchronizing literal allowed (`None`: any size).
    pub(crate) fn set_non_sync_limit(&mut self, limit: Option<u64>) {
        self.non_sync_limit = limit;
    }

    /// Sends [`Frame::Continue`] for non-synchronizing literals too (a deliberate defect).
    pub(crate) fn set_continue_non_sync(&mut self, on: bool) {
        self.continue_non_sync = on;
    }

    /// Forgets everything buffered (after STARTTLS).
    pub(crate) fn reset(&mut self) {
        let (limit, continue_non_sync) = (self.non_sync_limit, self.continue_non_sync);
        *self = Framer::new(self.max_line, self.max_literal);
        self.non_sync_limit = limit;
        self.continue_non_sync = continue_non_sync;
    }

    /// Consumes bytes from `input` until one frame is found; returns it and the bytes used.
    /// `None` means all of `input` was consumed without completing a frame.
    pub(crate) fn next(&mut self, input: &[u8]) -> (Option<Frame>, usize) {
        let mut used = 0;
        while used < input.len() {
            let rest = &input[used..];
            if self.skip > 0 {
                let n = rest.len().min(usize::try_from(self.skip).unwrap_or(usize::MAX));
                self.skip -= n as u64;
                self.drop_line = self.skip == 0;
                used += n;
                continue;
            }
            if self.drop_line {
                let end = rest.iter().position(|&b| b == b'\n');
                self.drop_line = end.is_none();
                used += end.map_or(rest.len(), |i| i + 1);
                continue;
            }
            if self.literal > 0 {
                let n = rest.len().min(self.literal);
                self.command.extend_from_slice(&rest[..n]);
                self.literal -= n;
                used += n;
                if self.literal == 0 {
                    self.line_start = self.command.len();
                }
                continue;
            }
            let (frame, n) = self.line(rest);
            used += n;
            if frame.is_some() {
                return (frame, used);
            }
        }
        (None, used)
    }

    /// Reads line bytes up to and including the next LF.
    fn line(&mut self, rest: &[u8]) -> (Option<Frame>, usize) {
        let end = rest.iter().position(|&b| b == b'\n');
        let take = end.map_or(rest.len(), |i| i + 1);
        let line_len = self.command.len() - self.line_start;
        if self.discarding || line_len + take > self.max_line.saturating_add(2) {
            // Keep the same head however the input was split.
            let keep = HEAD.saturating_sub(self.command.len());
            self.command.extend_from_slice(&rest[..take.min(keep)]);
            self.discarding = true;
            if end.is_some() {
                let mut head = std::mem::take(&mut self.command);
                head.truncate(HEAD);
                self.reset();
                return (Some(Frame::LineTooLong { head }), take);
            }
            return (None, take);
        }
        self.command.extend_from_slice(&rest[..take]);
        if end.is_none() {
            return (None, take);
        }
        // A complete line: strip CRLF (or a bare LF) and look for a literal announcement.
        self.command.pop();
        // A CR that ends a literal's data is data, not part of this line's end.
        if self.command.len() > self.line_start && self.command.last() == Some(&b'\r') {
            self.command.pop();
        }
        let line = &self.command[self.line_start..];
        match literal_announcement(line) {
            None => {
                let command = std::mem::take(&mut self.command);
                self.reset();
                (Some(Frame::Command(command)), take)
            }
            Some((size, non_sync)) => (self.announce(size, non_sync), take),
        }
    }

    /// Handles `{size}` / `{size+}` at the end of the line just read.
    fn announce(&mut self, size: u64, non_sync: bool) -> Option<Frame> {
        if let Some(limit) = self.non_sync_limit.filter(|&limit| non_sync && size > limit) {
            let mut head = std::mem::take(&mut self.command);
            head.truncate(HEAD);
            self.reset();
            self.skip = size;
            return Some(Frame::NonSyncRefused {
                head,
                too_big: limit > 0,
            });
        }
        let total = self.command.len() as u64 + size;
        if size > self.max_literal as u64 || total > self.max_literal.saturating_add(self.max_line) as u64 {
            let mut head = std::mem::take(&mut self.command);
            head.truncate(HEAD);
            self.reset();
            if non_sync {
                self.skip = size;
            }
            return Some(Frame::LiteralTooBig { head, non_sync });
        }
        self.command.extend_from_slice(b"\r\n");
        self.line_start = self.command.len();
        // `size` fits: it is at most `max_literal`.
        self.literal = usize::try_from(size).unwrap_or(0);
        // Room for the data and the rest of a short line, so a large literal is buffered
        // without the reallocations (each a copy, briefly two) of a doubling Vec. Untouched
        // capacity costs no resident memory if the client never sends the data.
        self.command
            .reserve_exact(self.literal.saturating_add(LINE_SLACK));
        if size == 0 {
            self.line_start = self.command.len();
        }
        (!non_sync || self.continue_non_sync).then_some(Frame::Continue)
    }
}

/// `literal = "{" number64 ["+"] "}" CRLF` (RFC 9051 §9, RFC 7888 §8): the size and whether
/// it is non-synchronizing, if `line` ends with an announcement.
pub(crate) fn literal_announcement(line: &[u8]) -> Option<(u64, bool)> {
    let inner = line.strip_suffix(b"}")?;
    let open = inner.iter().rposition(|&b| b == b'{')?;
    let mut digits = &inner[open + 1..];
    let non_sync = digits.last() == Some(&b'+');
    if non_sync {
        digits = &digits[..digits.len() - 1];
    }
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let size = digits.iter().fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    });
    Some((size, non_sync))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(framer: &mut Framer, mut input: &[u8]) -> Vec<Frame> {
        let mut out = Vec::new();
        while !input.is_empty() {
            let (frame, used) = framer.next(input);
            input = &input[used..];
            out.extend(frame);
        }
        out
    }

    #[test]
    fn lines_and_literals() {
        let mut f = Framer::new(100, 100);
        let got = frames(&mut f, b"a NOOP\r\nb LOGIN {3}\r\nbob {2+}\r\npw\r\n");
        assert_eq!(
            got,
            vec![
                Frame::Command(b"a NOOP".to_vec()),
                Frame::Continue,
                Frame::Command(b"b LOGIN {3}\r\nbob {2+}\r\npw".to_vec()),
            ]
        );
    }

    /// Found by tests/codec_oracle.rs: a literal ending in CR, then a bare LF, used to panic.
    #[test]
    fn literal_ending_in_cr_then_lf() {
        let mut f = Framer::new(100, 100);
        let got = frames(&mut f, b"a APPEND INBOX {5+}\r\nx\r\ny\r\n");
        assert_eq!(
            got,
            vec![Frame::Command(b"a APPEND INBOX {5+}\r\nx\r\ny\r".to_vec())]
        );
    }

    #[test]
    fn huge_literal_is_refused_without_buffering() {
        let mut f = Framer::new(100, 1000);
        let got = frames(&mut f, b"a APPEND INBOX {2147483648}\r\n");
        assert!(matches!(&got[..], [Frame::LiteralTooBig { non_sync: false, .. }]));
        assert!(f.command.capacity() < 1000);
    }

    #[test]
    fn long_line_is_discarded() {
        let mut f = Framer::new(10, 10);
        let mut input = b"t1 ".to_vec();
        input.extend(std::iter::repeat_n(b'x', 1000));
        input.extend_from_slice(b"\r\nt2 NOOP\r\n");
        let got = frames(&mut f, &input);
        assert!(matches!(&got[0], Frame::LineTooLong { head } if head.starts_with(b"t1 ")));
        assert_eq!(got[1], Frame::Command(b"t2 NOOP".to_vec()));
    }

    #[test]
    fn non_sync_literals_can_be_refused() {
        let mut f = Framer::new(100, 10_000);
        f.set_non_sync_limit(Some(0));
        let got = frames(&mut f, b"a APPEND INBOX {3+}\r\nabc\r\nb NOOP\r\n");
        assert_eq!(
            got,
            vec![
                Frame::NonSyncRefused {
                    head: b"a APPEND INBOX {3+}".to_vec(),
                    too_big: false
                },
                Frame::Command(b"b NOOP".to_vec()),
            ]
        );
        f.set_non_sync_limit(Some(4096));
        let got = frames(&mut f, b"c APPEND INBOX {4096+}\r\n");
        assert_eq!(got, vec![]);
        f.reset();
        let got = frames(&mut f, b"d APPEND INBOX {4097+}\r\n");
        assert!(matches!(&got[..], [Frame::NonSyncRefused { too_big: true, .. }]));
    }

    proptest::proptest! {
        /// Splitting the input at any point yields the same frames.
        #[test]
        fn split_anywhere(input in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300), at in 0usize..300) {
            let at = at.min(input.len());
            let whole = frames(&mut Framer::new(50, 50), &input);
            let mut framer = Framer::new(50, 50);
            let mut split = frames(&mut framer, &input[..at]);
            split.extend(frames(&mut framer, &input[at..]));
            proptest::prop_assert_eq!(whole, split);
        }
    }
}
