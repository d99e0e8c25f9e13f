//! Command-line framing: lines end only with CRLF, and no line is buffered past a cap.
//!
//! Read first: RFC 5321 §2.3.8 (a line ends with CRLF; bare CR and bare LF are not line
//! endings), §4.5.3.1.4 (command lines are at most 512 octets, CRLF included; servers may
//! accept more), RFC 4954 §4 (12288 octets for SASL responses).
//!
//! A line over the cap is reported once, as soon as the cap is reached, and everything up to
//! its CRLF is dropped without being stored, so a peer cannot make the reader allocate more
//! than the cap.

/// What the reader found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Framed {
    /// A complete line, without its CRLF.
    Line(Vec<u8>),
    /// A line reached the cap; the rest of it, up to CRLF, will be discarded.
    TooLong,
}

/// Splits a byte stream into CRLF-terminated lines of bounded length.
#[derive(Debug, Default)]
pub(crate) struct LineReader {
    /// The start of a line whose CRLF has not arrived yet.
    partial: Vec<u8>,
    /// Inside an over-long line: dropping bytes until CRLF.
    discarding: bool,
    /// While discarding: the last byte dropped was CR.
    prev_cr: bool,
}

impl LineReader {
    /// Takes bytes from the front of `input` until a line completes, a line reaches `cap`
    /// octets (CRLF included) without ending, or `input` is used up (`None`). Consumes at least
    /// one byte when `input` is not empty. A `cap` below 3 is treated as 3.
    pub(crate) fn read(&mut self, input: &mut &[u8], cap: usize) -> Option<Framed> {
        let cap = cap.max(3);
        while !input.is_empty() {
            if self.discarding {
                self.discard(input);
                continue;
            }
            let room = cap.saturating_sub(self.partial.len()).min(input.len());
            let window = &input[..room];
            if let Some(end) = self.crlf_end(window) {
                self.partial.extend_from_slice(&window[..end]);
                *input = &input[end..];
                let mut line = std::mem::take(&mut self.partial);
                line.truncate(line.len() - 2);
                return Some(Framed::Line(line));
            }
            self.partial.extend_from_slice(window);
            *input = &input[room..];
            if self.partial.len() >= cap {
                self.prev_cr = self.partial.last() == Some(&b'\r');
                self.partial = Vec::new();
                self.discarding = true;
                return Some(Framed::TooLong);
            }
        }
        None
    }

    /// Drops everything buffered (the start of a line) and returns how many bytes that was.
    pub(crate) fn clear(&mut self) -> usize {
        let n = self.partial.len();
        *self = LineReader::default();
        n
    }

    /// The index just past the first CRLF in `partial + window` that ends inside `window`.
    fn crlf_end(&self, window: &[u8]) -> Option<usize> {
        let mut from = 0;
        while let Some(offset) = window[from..].iter().position(|&b| b == b'\n') {
            let lf = from + offset;
            let before = if lf == 0 {
                self.partial.last()
            } else {
                window.get(lf - 1)
            };
            if before == Some(&b'\r') {
                return Some(lf + 1);
            }
            from = lf + 1;
        }
        None
    }

    /// Drops bytes up to and including the CRLF that ends the over-long line.
    fn discard(&mut self, input: &mut &[u8]) {
        let mut from = 0;
        while let Some(offset) = input[from..].iter().position(|&b| b == b'\n') {
            let lf = from + offset;
            let cr_before = if lf == 0 {
                self.prev_cr
            } else {
                input[lf - 1] == b'\r'
            };
            if cr_before {
                *input = &input[lf + 1..];
                self.discarding = false;
                self.prev_cr = false;
                return;
            }
            from = lf + 1;
        }
        self.prev_cr = input.last() == Some(&b'\r');
        *input = &[];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(reader: &mut LineReader, mut input: &[u8], cap: usize) -> Vec<Framed> {
        let mut out = Vec::new();
        while let Some(f) = reader.read(&mut input, cap) {
            out.push(f);
        }
        out
    }

    #[test]
    fn only_crlf_ends_a_line() {
        let mut r = LineReader::default();
        let got = all(&mut r, b"a\nb\rc\r\nd\r\n", 100);
        assert_eq!(
            got,
            vec![Framed::Line(b"a\nb\rc".to_vec()), Framed::Line(b"d".to_vec())]
        );
    }

    #[test]
    fn crlf_split_across_inputs() {
        let mut r = LineReader::default();
        assert_eq!(all(&mut r, b"NOOP\r", 100), vec![]);
        assert_eq!(
            all(&mut r, b"\nQUIT\r\n", 100),
            vec![Framed::Line(b"NOOP".to_vec()), Framed::Line(b"QUIT".to_vec())]
        );
    }

    #[test]
    fn cap_includes_crlf() {
        let mut r = LineReader::default();
        // 8 octets with CRLF: fits a cap of 8, not 7.
        assert_eq!(
            all(&mut r, b"123456\r\n", 8),
            vec![Framed::Line(b"123456".to_vec())]
        );
        assert_eq!(
            all(&mut r, b"123456\r\nok\r\n", 7),
            vec![Framed::TooLong, Framed::Line(b"ok".to_vec())]
        );
    }

    #[test]
    fn over_long_line_is_dropped_without_buffering() {
        let mut r = LineReader::default();
        let mut big = vec![b'x'; 1 << 20];
        assert_eq!(all(&mut r, &big, 1000), vec![Framed::TooLong]);
        assert!(r.partial.capacity() <= 1000);
        big.extend_from_slice(b"\r\nNOOP\r\n");
        assert_eq!(all(&mut r, &big, 1000), vec![Framed::Line(b"NOOP".to_vec())]);
    }

    #[test]
    fn discard_ends_at_crlf_split_across_inputs() {
        let mut r = LineReader::default();
        assert_eq!(all(&mut r, b"0123456789\r", 5), vec![Framed::TooLong]);
        assert_eq!(all(&mut r, b"\nok\r\n", 5), vec![Framed::Line(b"ok".to_vec())]);
    }
}
