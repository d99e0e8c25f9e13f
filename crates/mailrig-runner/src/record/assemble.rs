//! Protocol lines out of one side's byte stream, in bounded memory (sans-IO).
//!
//! A line ends with CRLF (RFC 5321 §2.3.8, RFC 9051 §2.2). An IMAP line that ends in a literal
//! announcement `{N}`/`{N+}` (RFC 9051 §4.3, RFC 7888) goes on after N bytes of data; data of
//! up to [`SMALL_LITERAL`] bytes stays in the line, larger data is streamed to a
//! [`LiteralSink`] as it arrives and the line refers to the file. A line longer than
//! [`MAX_LINE`] without CRLF is cut there (written with `${nocrlf}`), so no peer can make the
//! recorder hold more than that.

use mailrig_transcript::framing::literal_size;
use mailrig_transcript::scenario::Family;

/// Literal data up to this size stays in memory and in the scenario file.
pub const SMALL_LITERAL: usize = 64 * 1024;

/// The longest stretch without CRLF kept as one line.
pub const MAX_LINE: usize = 1024 * 1024;

/// Where large literal data goes: one file per literal, written as it arrives.
pub trait LiteralSink {
    /// Starts a literal file; returns its id and its path as the scenario refers to it.
    fn begin(&mut self) -> (usize, String);
    /// Appends data to a literal file.
    fn write(&mut self, id: usize, bytes: &[u8]);
    /// Ends a literal file.
    fn end(&mut self, id: usize);
    /// Drops a literal file whose data never came (the server refused the literal).
    fn discard(&mut self, id: usize);
}

/// A piece of a logical line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    /// Bytes of the line, small literals (announcement and data) included.
    Bytes(Vec<u8>),
    /// A large literal's data, in a file (its announcement is not in the bytes).
    File {
        /// The path the scenario writes.
        path: String,
        /// `{N+}`.
        non_sync: bool,
    },
}

/// What [`Assembler::feed`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Assembled {
    /// A complete logical line (the last `Bytes` ends with CRLF unless it was cut).
    Line(Vec<Seg>),
    /// A synchronizing literal was announced: the peer's `+` is implied by the format.
    SyncLiteral,
}

/// One side's pending line.
#[derive(Debug, Default)]
pub(crate) struct Assembler {
    segs: Vec<Seg>,
    buf: Vec<u8>,
    literal: Option<Open>,
}

#[derive(Debug)]
struct Open {
    remaining: u64,
    /// The sink's id when the data goes to a file.
    file: Option<usize>,
    /// `{N}\r\n`, to put back if the literal is refused.
    announcement: Vec<u8>,
}

impl Assembler {
    /// Reads bytes; appends what completed to `out`.
    pub(crate) fn feed(
        &mut self,
        mut input: &[u8],
        family: Family,
        sink: &mut dyn LiteralSink,
        out: &mut Vec<Assembled>,
    ) {
        while !input.is_empty() {
            if let Some(open) = &mut self.literal {
                let n = usize::try_from(open.remaining)
                    .unwrap_or(usize::MAX)
                    .min(input.len());
                match open.file {
                    Some(id) => sink.write(id, &input[..n]),
                    None => self.buf.extend_from_slice(&input[..n]),
                }
                open.remaining -= n as u64;
                input = &input[n..];
                if open.remaining == 0 {
                    if let Some(id) = open.file {
                        sink.end(id);
                    }
                    self.literal = None;
                }
                continue;
            }
            match input.iter().position(|b| *b == b'\n') {
                Some(i) => {
                    self.buf.extend_from_slice(&input[..=i]);
                    input = &input[i + 1..];
                    if self.buf.ends_with(b"\r\n") {
                        self.segment_end(family, sink, out);
                    }
                }
                None => {
                    self.buf.extend_from_slice(input);
                    input = &[];
                }
            }
            if self.literal.is_none() && self.buf.len() >= MAX_LINE {
                out.push(Assembled::Line(self.take()));
            }
        }
    }

    /// The partial line, if any (at a close or TLS start).
    pub(crate) fn flush(&mut self, sink: &mut dyn LiteralSink) -> Option<Vec<Seg>> {
        if let Some(Open { file: Some(id), .. }) = self.literal.take() {
            sink.end(id);
        }
        let segs = self.take();
        (!segs.is_empty()).then_some(segs)
    }

    /// The server refused a synchronizing literal (a tagged reply instead of `+`): the line
    /// ends at its announcement, and the next bytes are a new command.
    pub(crate) fn refuse_literal(&mut self, sink: &mut dyn LiteralSink) -> Option<Vec<Seg>> {
        let open = self.literal.take()?;
        if let Some(id) = open.file {
            sink.discard(id);
            self.segs.pop();
            self.buf = open.announcement;
        }
        Some(self.take())
    }

    fn take(&mut self) -> Vec<Seg> {
        if !self.buf.is_empty() {
            self.segs.push(Seg::Bytes(std::mem::take(&mut self.buf)));
        }
        std::mem::take(&mut self.segs)
    }

    /// The current segment ends with CRLF: the line ends, or a literal starts.
    fn segment_end(&mut self, family: Family, sink: &mut dyn LiteralSink, out: &mut Vec<Assembled>) {
        let body = &self.buf[..self.buf.len() - 2];
        let literal = match family {
            Family::Imap => literal_size(body),
            Family::Smtp => None,
        };
        let Some(size) = literal else {
            out.push(Assembled::Line(self.take()));
            return;
        };
        let non_sync = body.ends_with(b"+}");
        if !non_sync {
            out.push(Assembled::SyncLiteral);
        }
        if size <= SMALL_LITERAL {
            self.literal = (size > 0).then_some(Open {
                remaining: size as u64,
                file: None,
                announcement: Vec::new(),
            });
            return;
        }
        let open = body.iter().rposition(|b| *b == b'{').unwrap_or(body.len());
        let announcement = self.buf.split_off(open);
        self.segs.push(Seg::Bytes(std::mem::take(&mut self.buf)));
        let (id, path) = sink.begin();
        self.segs.push(Seg::File { path, non_sync });
        self.literal = Some(Open {
            remaining: size as u64,
            file: Some(id),
            announcement,
        });
    }
}

/// A sink that keeps literals in memory, for tests.
#[cfg(test)]
#[derive(Debug, Default)]
pub(crate) struct MemorySink {
    pub(crate) files: Vec<(String, Vec<u8>, bool)>,
}

#[cfg(test)]
impl LiteralSink for MemorySink {
    fn begin(&mut self) -> (usize, String) {
        let id = self.files.len();
        self.files
            .push((format!("lit/{}.bin", id + 1), Vec::new(), false));
        (id, self.files[id].0.clone())
    }

    fn write(&mut self, id: usize, bytes: &[u8]) {
        self.files[id].1.extend_from_slice(bytes);
    }

    fn end(&mut self, id: usize) {
        self.files[id].2 = true;
    }

    fn discard(&mut self, id: usize) {
        self.files[id].1.clear();
        self.files[id].0.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_all(family: Family, chunks: &[&[u8]], sink: &mut MemorySink) -> Vec<Assembled> {
        let mut a = Assembler::default();
        let mut out = Vec::new();
        for chunk in chunks {
            a.feed(chunk, family, sink, &mut out);
        }
        out
    }

    #[test]
    fn lines_split_anywhere_come_out_whole() {
        let mut sink = MemorySink::default();
        let out = feed_all(Family::Smtp, &[b"EHLO x\r", b"\nMAIL FROM:<a>\r\nRC"], &mut sink);
        assert_eq!(
            out,
            vec![
                Assembled::Line(vec![Seg::Bytes(b"EHLO x\r\n".to_vec())]),
                Assembled::Line(vec![Seg::Bytes(b"MAIL FROM:<a>\r\n".to_vec())]),
            ]
        );
    }

    #[test]
    fn small_literals_stay_in_the_line_and_large_ones_stream_to_a_file() {
        let mut sink = MemorySink::default();
        let out = feed_all(Family::Imap, &[b"a1 LOGIN {5}\r\nal", b"ice x\r\n"], &mut sink);
        assert_eq!(out[0], Assembled::SyncLiteral);
        assert_eq!(
            out[1],
            Assembled::Line(vec![Seg::Bytes(b"a1 LOGIN {5}\r\nalice x\r\n".to_vec())])
        );
        let big = vec![b'x'; SMALL_LITERAL + 1];
        let head = format!("a2 APPEND INBOX {{{}+}}\r\n", big.len());
        let out = feed_all(
            Family::Imap,
            &[head.as_bytes(), &big[..1000], &big[1000..], b")\r\n"],
            &mut sink,
        );
        assert_eq!(
            out,
            vec![Assembled::Line(vec![
                Seg::Bytes(b"a2 APPEND INBOX ".to_vec()),
                Seg::File {
                    path: "lit/1.bin".into(),
                    non_sync: true
                },
                Seg::Bytes(b")\r\n".to_vec()),
            ])]
        );
        assert_eq!(sink.files[0].1, big);
        assert!(sink.files[0].2, "the file was ended");
    }

    #[test]
    fn a_refused_literal_ends_the_line_at_its_announcement() {
        let mut sink = MemorySink::default();
        let mut a = Assembler::default();
        let mut out = Vec::new();
        let head = format!("a1 APPEND x {{{}}}\r\n", SMALL_LITERAL + 5);
        a.feed(head.as_bytes(), Family::Imap, &mut sink, &mut out);
        let line = a.refuse_literal(&mut sink).expect("a literal was open");
        assert_eq!(sink.files[0].0, "", "the file was discarded");
        assert_eq!(
            line,
            vec![
                Seg::Bytes(b"a1 APPEND x ".to_vec()),
                Seg::Bytes(format!("{{{}}}\r\n", SMALL_LITERAL + 5).into_bytes())
            ]
        );
        a.feed(b"a2 NOOP\r\n", Family::Imap, &mut sink, &mut out);
        assert_eq!(
            out.last(),
            Some(&Assembled::Line(vec![Seg::Bytes(b"a2 NOOP\r\n".to_vec())]))
        );
    }

    #[test]
    fn an_endless_line_is_cut_at_the_limit() {
        let mut sink = MemorySink::default();
        let chunk = vec![b'a'; MAX_LINE / 2];
        let out = feed_all(Family::Smtp, &[&chunk, &chunk, b"b"], &mut sink);
        assert_eq!(out.len(), 1);
    }
}
