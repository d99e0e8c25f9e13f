//! Splitting a byte stream into protocol lines.
//!
//! SMTP: a line ends with CRLF (RFC 5321 §2.3.8); a bare CR or LF does not end it.
//! IMAP: a line ends with CRLF, except that a line ending in a literal announcement `{N}` or
//! `{N+}` (RFC 9051 §4.3, RFC 7888) continues with N bytes of literal data and then the rest of
//! the line, so one logical line may span several CRLFs.

use crate::scenario::Family;

/// What [`next_line`] found at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// A complete line of this many bytes, CRLF included.
    Line(usize),
    /// No complete line yet: more input is needed.
    Incomplete,
    /// No complete line within `max` bytes.
    TooLong,
}

/// Finds the first complete line of `buf`, at most `max` bytes long (literals included).
pub fn next_line(buf: &[u8], family: Family, max: usize) -> Frame {
    let mut from = 0;
    loop {
        let Some(lf) = find_crlf(&buf[from..]).map(|i| from + i) else {
            return if buf.len() > max {
                Frame::TooLong
            } else {
                Frame::Incomplete
            };
        };
        let end = lf + 2;
        if end > max {
            return Frame::TooLong;
        }
        let literal = match family {
            Family::Imap => literal_size(&buf[from..lf]),
            Family::Smtp => None,
        };
        let Some(size) = literal else {
            return Frame::Line(end);
        };
        let Some(after) = end.checked_add(size).filter(|a| *a <= max) else {
            return Frame::TooLong;
        };
        if after > buf.len() {
            return Frame::Incomplete;
        }
        from = after;
    }
}

/// The size announced by a trailing `{N}` / `{N+}` / `{N-}`, if the line ends with one.
pub fn literal_size(line: &[u8]) -> Option<usize> {
    let inner = line.strip_suffix(b"}")?;
    let inner = inner
        .strip_suffix(b"+")
        .or_else(|| inner.strip_suffix(b"-"))
        .unwrap_or(inner);
    let open = inner.iter().rposition(|b| *b == b'{')?;
    let digits = &inner[open + 1..];
    if digits.is_empty() || digits.len() > 10 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

fn find_crlf(buf: &[u8]) -> Option<usize> {
    buf.windows(2).position(|w| w == b"\r\n")
}

/// Splits a finished stream into lines; a last line without CRLF is returned as it is.
pub fn split_lines(buf: &[u8], family: Family) -> Vec<&[u8]> {
    let mut lines = Vec::new();
    let mut rest = buf;
    while !rest.is_empty() {
        match next_line(rest, family, usize::MAX) {
            Frame::Line(n) => {
                lines.push(&rest[..n]);
                rest = &rest[n..];
            }
            Frame::Incomplete | Frame::TooLong => {
                lines.push(rest);
                break;
            }
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_lines_end_only_at_crlf() {
        let buf = b"MAIL FROM:<a@b>\r\nhello\n.\r\nrest";
        assert_eq!(
            split_lines(buf, Family::Smtp),
            vec![&b"MAIL FROM:<a@b>\r\n"[..], b"hello\n.\r\n", b"rest"]
        );
    }

    #[test]
    fn imap_literal_spans_crlf() {
        // RFC 9051 §4.3: the literal's CRLF-containing data belongs to the same line.
        let buf = b"* 1 FETCH (BODY[] {7}\r\nab\r\ncd\r\n)\r\nA1 OK\r\n";
        assert_eq!(next_line(buf, Family::Imap, 1000), Frame::Line(34));
        assert_eq!(split_lines(buf, Family::Imap).len(), 2);
    }

    #[test]
    fn imap_literal_incomplete_and_too_long() {
        assert_eq!(
            next_line(b"A1 APPEND x {10}\r\nabc", Family::Imap, 1000),
            Frame::Incomplete
        );
        assert_eq!(
            next_line(b"A1 APPEND x {2147483648}\r\n", Family::Imap, 1 << 20),
            Frame::TooLong
        );
        assert_eq!(next_line(b"A1 NOOP", Family::Imap, 4), Frame::TooLong);
    }

    #[test]
    fn literal_plus_and_minus() {
        assert_eq!(literal_size(b"A1 APPEND x {5+}"), Some(5));
        assert_eq!(literal_size(b"A1 APPEND x {5-}"), Some(5));
        assert_eq!(literal_size(b"A1 LOGIN {x}"), None);
    }
}
