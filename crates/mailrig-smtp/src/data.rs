//! Message text after DATA: dot-unstuffing and the end-of-data indicator.
//!
//! Read first: RFC 5321 §4.1.1.4 (the message ends with `<CRLF>.<CRLF>`), §4.5.2
//! (transparency: a leading dot is removed from every line that has other characters),
//! §2.3.8 (bare CR and bare LF are not line endings), §4.5.3.1.6 (text lines are at most 1000
//! octets, CRLF included), RFC 1870 §6.3 (a message over the size limit gets `552` after its
//! end).
//!
//! **SMTP smuggling.** Only CR LF "." CR LF ends the message. The look-alikes `\n.\n`,
//! `\n.\r\n`, `\r.\r\n`, `\r\n.\n` and `\r\n.\r` are content: a line starts only after CRLF, and
//! a line holding a single dot ends only with CRLF. Everything but the removed dots is stored
//! exactly as sent, bare CRs and LFs included.
//!
//! The CRLF of the DATA command itself counts as the CRLF before the first line, so
//! `DATA\r\n.\r\n` is an empty message, and the CRLF before the final dot belongs to the last
//! line of the message.
//!
//! Two deliberate defects live here (off unless configured): [`Defect::NoDotUnstuffing`] and
//! [`Defect::BareLfEndsData`].

use crate::defect::{Defect, Defects};

/// Where the scanner is within the current line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scan {
    /// Just after CRLF: a dot here is removed.
    LineStart,
    /// Inside a line.
    Text,
    /// Inside a line, just after a CR (a following LF ends the line).
    Cr,
    /// After a leading dot (removed).
    Dot,
    /// After a leading dot and a CR (held back: a following LF ends the message).
    DotCr,
}

/// Why a complete message is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DataError {
    /// More octets than the size limit (RFC 1870 §6.3: `552`).
    #[error("message exceeds fixed maximum message size")]
    TooBig,
    /// A text line over the line limit (RFC 5321 §4.5.3.1.6).
    #[error("message has a line longer than allowed (RFC 5321 4.5.3.1.6)")]
    LineTooLong,
}

/// Receives the message text after `354`, up to and including `<CRLF>.<CRLF>`.
#[derive(Debug)]
pub(crate) struct DataReceiver {
    scan: Scan,
    data: Vec<u8>,
    max_size: Option<usize>,
    max_line_len: usize,
    /// Octets of the current line so far, as sent (dots and CRLF included).
    line_len: usize,
    too_big: bool,
    line_too_long: bool,
    /// [`Defect::NoDotUnstuffing`]: leading dots are kept.
    keep_dots: bool,
    /// [`Defect::BareLfEndsData`]: a bare LF ends a line, so `<LF>.<LF>` ends the message.
    bare_lf: bool,
}

impl DataReceiver {
    /// A receiver for one message, with a new buffer.
    #[cfg(test)]
    pub(crate) fn new(max_size: Option<usize>, max_line_len: usize) -> DataReceiver {
        DataReceiver::with_buffer(Vec::new(), max_size, max_line_len, Defects::none())
    }

    /// A receiver for one message that fills `buffer` (emptied first), reusing its capacity.
    /// `defects` may switch on the deliberate defects of this module.
    pub(crate) fn with_buffer(
        mut buffer: Vec<u8>,
        max_size: Option<usize>,
        max_line_len: usize,
        defects: Defects,
    ) -> DataReceiver {
        buffer.clear();
        DataReceiver {
            scan: Scan::LineStart,
            data: buffer,
            max_size,
            max_line_len: max_line_len.max(3),
            line_len: 0,
            too_big: false,
            line_too_long: false,
            keep_dots: defects.has(Defect::NoDotUnstuffing),
            bare_lf: defects.has(Defect::BareLfEndsData),
        }
    }

    /// Takes bytes from the front of `input`; returns `true` once the end-of-data indicator
    /// has been consumed (the bytes after it stay in `input`).
    pub(crate) fn feed(&mut self, input: &mut &[u8]) -> bool {
        while let Some((&byte, rest)) = input.split_first() {
            if self.scan == Scan::Text {
                self.text_run(input);
                continue;
            }
            *input = rest;
            self.count(1);
            if self.step(byte) {
                return true;
            }
        }
        false
    }

    /// The message, once [`feed`](Self::feed) has returned `true`.
    pub(crate) fn finish(self) -> Result<Vec<u8>, DataError> {
        if self.too_big {
            Err(DataError::TooBig)
        } else if self.line_too_long {
            Err(DataError::LineTooLong)
        } else {
            Ok(self.data)
        }
    }

    /// Copies a run of ordinary text up to the next CR in one go.
    fn text_run(&mut self, input: &mut &[u8]) {
        let n = if self.bare_lf {
            // Defect::BareLfEndsData: a bare LF ends the line too.
            memchr::memchr2(b'\r', b'\n', input)
        } else {
            memchr::memchr(b'\r', input)
        };
        let n = n.unwrap_or(input.len());
        let (run, rest) = input.split_at(n);
        self.count(run.len());
        self.store(run);
        *input = rest;
        if let Some((&end, rest)) = input.split_first() {
            *input = rest;
            self.count(1);
            self.step(end);
        }
    }

    /// Advances the scanner by one byte; `true` at the end of the message.
    fn step(&mut self, byte: u8) -> bool {
        match (self.scan, byte) {
            (Scan::LineStart, b'.') => {
                if self.keep_dots {
                    // Defect::NoDotUnstuffing: the stuffing dot stays in the message.
                    self.store(b".");
                }
                self.scan = Scan::Dot;
            }
            (Scan::Dot, b'\r') => self.scan = Scan::DotCr,
            (Scan::DotCr, b'\n') => return self.end(),
            // Defect::BareLfEndsData: `<LF>.<LF>` and `<CRLF>.<LF>` end the message.
            (Scan::Dot, b'\n') if self.bare_lf => return self.end(),
            (Scan::LineStart | Scan::Text, b'\n') if self.bare_lf => {
                self.store(b"\n");
                self.scan = Scan::LineStart;
                self.line_len = 0;
            }
            (Scan::DotCr, _) => {
                // ".\r" then not LF: the dot was stuffing; the CR is text.
                self.store(b"\r");
                self.scan = Scan::Cr;
                return self.step(byte);
            }
            (Scan::Cr, b'\n') => {
                self.store(b"\n");
                self.scan = Scan::LineStart;
                self.line_len = 0;
            }
            (_, b'\r') => {
                self.store(b"\r");
                self.scan = Scan::Cr;
            }
            (_, _) => {
                self.store(&[byte]);
                self.scan = Scan::Text;
            }
        }
        false
    }

    /// The end-of-data indicator is complete; returns `true`.
    fn end(&mut self) -> bool {
        if self.keep_dots {
            // The final dot was kept as content by Defect::NoDotUnstuffing; it is not.
            self.data.pop();
        }
        true
    }

    fn count(&mut self, n: usize) {
        self.line_len += n;
        if self.line_len > self.max_line_len {
            self.line_too_long = true;
        }
    }

    /// Appends message octets, or stops storing for good once the size limit is passed.
    fn store(&mut self, bytes: &[u8]) {
        if self.too_big {
            return;
        }
        if self
            .max_size
            .is_some_and(|max| self.data.len() + bytes.len() > max)
        {
            self.too_big = true;
            self.data = Vec::new();
            return;
        }
        self.data.extend_from_slice(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The message (or why it was refused) and the bytes after the end of data.
    type Received = (Result<Vec<u8>, DataError>, Vec<u8>);

    /// Feeds `input` (what follows "DATA\r\n"); `None` if the message did not end.
    fn receive(input: &[u8]) -> Option<Received> {
        let mut r = DataReceiver::new(None, 1000);
        let mut rest = input;
        r.feed(&mut rest).then(|| (r.finish(), rest.to_vec()))
    }

    #[test]
    fn ends_only_at_crlf_dot_crlf() {
        let (msg, rest) = receive(b"a\r\nb\r\n.\r\nQUIT\r\n").expect("ends");
        assert_eq!(msg, Ok(b"a\r\nb\r\n".to_vec()));
        assert_eq!(rest, b"QUIT\r\n");
        assert_eq!(receive(b".\r\n").expect("ends").0, Ok(Vec::new()));
    }

    #[test]
    fn dot_unstuffing() {
        // RFC 5321 §4.5.2.
        let (msg, _) = receive(b"..hidden\r\n..\r\n...\r\nmid.dle\r\n.\r\n").expect("ends");
        assert_eq!(msg, Ok(b".hidden\r\n.\r\n..\r\nmid.dle\r\n".to_vec()));
    }

    #[test]
    fn smuggling_look_alikes_are_content() {
        for seq in [
            &b"\n.\n"[..],
            b"\n.\r\n",
            b"\r.\r\n",
            b"\r\n.\n",
            b"\r\n.\r",
            b"\r.\r",
        ] {
            let mut input = b"x".to_vec();
            input.extend_from_slice(seq);
            input.extend_from_slice(b"MAIL FROM:<a@b>\r\n");
            let mut r = DataReceiver::new(None, 1000);
            let mut rest = &input[..];
            assert!(!r.feed(&mut rest), "{seq:?} ended DATA");
            let mut end = &b"\r\n.\r\n"[..];
            assert!(r.feed(&mut end));
            let data = r.finish().expect("accepted");
            // Only the leading dot of a CRLF-started line goes away.
            let expected: Vec<u8> = {
                let mut e = input.clone();
                if seq.starts_with(b"\r\n.") {
                    let at = 1 + 2;
                    e.remove(at);
                }
                e.extend_from_slice(b"\r\n");
                e
            };
            assert_eq!(data, expected, "{seq:?}");
        }
    }

    #[test]
    fn size_limit_stops_storing() {
        let mut r = DataReceiver::new(Some(10), 1000);
        let mut input = &b"0123456789abc\r\n.\r\n"[..];
        assert!(r.feed(&mut input));
        assert!(r.data.is_empty());
        assert_eq!(r.finish(), Err(DataError::TooBig));
        // Exactly at the limit is fine.
        let mut r = DataReceiver::new(Some(10), 1000);
        let mut input = &b"01234567\r\n.\r\n"[..];
        assert!(r.feed(&mut input));
        assert_eq!(r.finish().map(|d| d.len()), Ok(10));
    }

    #[test]
    fn line_limit_counts_octets_as_sent() {
        let mut line = vec![b'x'; 998];
        line.extend_from_slice(b"\r\n.\r\n");
        assert!(receive(&line).expect("ends").0.is_ok());
        let mut line = vec![b'x'; 999];
        line.extend_from_slice(b"\r\n.\r\n");
        assert_eq!(receive(&line).expect("ends").0, Err(DataError::LineTooLong));
        // A stuffed dot counts: "." + 998 octets + CRLF is 1001 octets on the wire.
        let mut line = b".".to_vec();
        line.extend(vec![b'x'; 998]);
        line.extend_from_slice(b"\r\n.\r\n");
        assert_eq!(receive(&line).expect("ends").0, Err(DataError::LineTooLong));
    }

    #[test]
    fn byte_at_a_time_is_the_same() {
        let input = b"a\r\n..b\r\n.\rc\n.\n\r\n.\r\nrest";
        let whole = receive(input).expect("ends");
        let mut r = DataReceiver::new(None, 1000);
        let mut ended_at = None;
        for (i, b) in input.iter().enumerate() {
            let mut one = std::slice::from_ref(b);
            if r.feed(&mut one) {
                ended_at = Some(i + 1);
                break;
            }
        }
        let end = ended_at.expect("ends");
        assert_eq!(&input[end..], &whole.1[..]);
        assert_eq!(r.finish(), whole.0);
    }
}
