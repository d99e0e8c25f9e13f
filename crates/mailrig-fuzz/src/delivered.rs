//! What a client asked the server to store, read from the client's side of a transcript: the
//! messages it sent (SMTP DATA with its dot-stuffing undone, BDAT chunks up to `LAST`, IMAP
//! APPEND literals) and the flag changes it asked for (IMAP STORE). A replay keeps no store,
//! so this is the store a correct server would hold after the run; under a legal variation it
//! must be the canonical run's ([`Delivered::differs`]).

use std::fmt;

use mailrig_transcript::Transcript;
use mailrig_transcript::scenario::{Family, Side};

/// The messages and flag changes a client asked for, in the order it sent them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivered {
    /// Each message's bytes: SMTP DATA content (dots unstuffed, without the final `.`), the
    /// BDAT chunks of one transaction, or an IMAP APPEND literal.
    pub messages: Vec<Vec<u8>>,
    /// Each IMAP STORE's arguments after the verb (message set, operation, flags), upper case
    /// with single spaces (`1 +FLAGS (\FLAGGED)`; `UID STORE` keeps a `UID ` prefix).
    pub flags: Vec<String>,
}

impl Delivered {
    /// Reads every session of `transcript` (the client's bytes only).
    pub fn from_transcript(transcript: &Transcript) -> Delivered {
        let mut out = Delivered::default();
        for session in &transcript.sessions {
            let bytes = session.bytes_from(Side::Client);
            match session.protocol.family() {
                Family::Smtp => smtp(&bytes, &mut out),
                Family::Imap => imap(&bytes, &mut out),
            }
        }
        out
    }

    /// How `self` (a case's) differs from `canonical`, for people; `None` when it does not.
    pub fn differs(&self, canonical: &Delivered) -> Option<String> {
        if self.messages.len() != canonical.messages.len() {
            return Some(format!(
                "the client delivered {} message(s), under the canonical {}",
                self.messages.len(),
                canonical.messages.len()
            ));
        }
        for (i, (got, want)) in self.messages.iter().zip(&canonical.messages).enumerate() {
            if got != want {
                return Some(format!(
                    "message {} differs from the one it delivered under the canonical: {}",
                    i + 1,
                    first_difference(want, got)
                ));
            }
        }
        if self.flags != canonical.flags {
            return Some(format!(
                "the client asked for other flag changes: {} (under the canonical: {})",
                List(&self.flags),
                List(&canonical.flags)
            ));
        }
        None
    }
}

impl Delivered {
    /// The index of the first of `canonical`'s messages that `self` (a case's) does not have
    /// as it is, changed or missing; `None` when every one is there.
    pub fn first_changed_message(&self, canonical: &Delivered) -> Option<usize> {
        (0..canonical.messages.len()).find(|&i| self.messages.get(i) != Some(&canonical.messages[i]))
    }
}

/// `[a; b]`, or `none`.
struct List<'a>(&'a [String]);

impl fmt::Display for List<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("none");
        }
        write!(f, "[{}]", self.0.join("; "))
    }
}

/// The first line that differs, both versions quoted.
fn first_difference(want: &[u8], got: &[u8]) -> String {
    let lines = |m: &'_ [u8]| -> Vec<Vec<u8>> {
        m.split(|b| *b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l).to_vec())
            .collect()
    };
    let (want_lines, got_lines) = (lines(want), lines(got));
    for i in 0..want_lines.len().max(got_lines.len()) {
        let (w, g) = (want_lines.get(i), got_lines.get(i));
        if w != g {
            let show = |l: Option<&Vec<u8>>| {
                l.map_or_else(
                    || "(no line)".to_owned(),
                    |l| format!("{:?}", String::from_utf8_lossy(l)),
                )
            };
            return format!(
                "line {}: canonical {}, this case {} ({} bytes against {})",
                i + 1,
                show(w),
                show(g),
                want.len(),
                got.len()
            );
        }
    }
    format!("{} bytes against {}", want.len(), got.len())
}

/// The next CRLF-ended line at `at` (without its CRLF) and where the following one starts.
fn line(bytes: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let rest = bytes.get(at..)?;
    let end = rest.windows(2).position(|w| w == b"\r\n")?;
    Some((&rest[..end], at + end + 2))
}

fn smtp(bytes: &[u8], out: &mut Delivered) {
    out.messages
        .extend(smtp_messages(bytes).into_iter().map(|m| m.content));
}

/// One message of an SMTP session.
pub(crate) struct SmtpMessage {
    /// What the server stores (dots unstuffed, chunks joined).
    pub(crate) content: Vec<u8>,
    /// For DATA, its lines as sent (dot-stuffed, without CRLF); `None` for BDAT.
    pub(crate) data_lines: Option<Vec<Vec<u8>>>,
}

/// The messages of an SMTP session's client bytes.
pub(crate) fn smtp_messages(bytes: &[u8]) -> Vec<SmtpMessage> {
    let mut out = Vec::new();
    let mut at = 0;
    let mut chunks: Vec<u8> = Vec::new();
    while let Some((command, next)) = line(bytes, at) {
        at = next;
        let upper = command.to_ascii_uppercase();
        if upper == b"DATA" {
            let mut message = Vec::new();
            let mut wire = Vec::new();
            while let Some((text, next)) = line(bytes, at) {
                at = next;
                if text == b"." {
                    break;
                }
                wire.push(text.to_vec());
                message.extend_from_slice(text.strip_prefix(b".").unwrap_or(text));
                message.extend_from_slice(b"\r\n");
            }
            out.push(SmtpMessage {
                content: message,
                data_lines: Some(wire),
            });
        } else if let Some(args) = upper.strip_prefix(b"BDAT ") {
            let mut words = args.split(|b| *b == b' ');
            let size: usize = words
                .next()
                .and_then(|w| std::str::from_utf8(w).ok()?.parse().ok())
                .unwrap_or(0);
            let end = (at + size).min(bytes.len());
            chunks.extend_from_slice(&bytes[at..end]);
            at = end;
            if words.any(|w| w == b"LAST") {
                out.push(SmtpMessage {
                    content: std::mem::take(&mut chunks),
                    data_lines: None,
                });
            }
        }
    }
    out
}

pub(crate) fn imap(bytes: &[u8], out: &mut Delivered) {
    let mut at = 0;
    while let Some((command, next)) = line(bytes, at) {
        at = next;
        let text = String::from_utf8_lossy(command).to_ascii_uppercase();
        let words: Vec<&str> = text.split(' ').filter(|w| !w.is_empty()).collect();
        let (uid, verb_at) = match words.get(1) {
            Some(&"UID") => ("UID ", 2),
            _ => ("", 1),
        };
        match words.get(verb_at) {
            Some(&"STORE") => out.flags.push(format!("{uid}{}", words[verb_at + 1..].join(" "))),
            Some(&"APPEND") => {
                // The message is the literal the line ends with (`{n}` or `{n+}`).
                if let Some(size) = literal_size(command) {
                    let end = (at + size).min(bytes.len());
                    out.messages.push(bytes[at..end].to_vec());
                    at = end;
                }
            }
            _ => {}
        }
    }
}

/// The size of the literal a line announces at its end (`{12}`, `{12+}`).
fn literal_size(line: &[u8]) -> Option<usize> {
    let body = line.strip_suffix(b"}")?;
    let open = body.iter().rposition(|b| *b == b'{')?;
    let digits = &body[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    std::str::from_utf8(digits).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use mailrig_transcript::scenario::Protocol;
    use mailrig_transcript::transcript::{Event, EventKind, SessionRecord};

    use super::*;

    fn transcript(protocol: Protocol, client: &str) -> Transcript {
        Transcript {
            sessions: vec![SessionRecord {
                name: "a".to_owned(),
                protocol,
                events: vec![Event {
                    at: Default::default(),
                    kind: EventKind::Data {
                        from: Side::Client,
                        bytes: client.as_bytes().to_vec(),
                    },
                }],
            }],
        }
    }

    #[test]
    fn smtp_data_is_unstuffed_and_bdat_chunks_join() {
        let t = transcript(
            Protocol::Smtp,
            "EHLO x\r\nDATA\r\nSubject: a\r\n\r\n..dot\r\n.\r\nBDAT 3\r\nabcBDAT 2 LAST\r\nde\r\nQUIT\r\n",
        );
        let got = Delivered::from_transcript(&t);
        assert_eq!(
            got.messages,
            [b"Subject: a\r\n\r\n.dot\r\n".to_vec(), b"abcde".to_vec()]
        );
    }

    #[test]
    fn imap_append_literals_and_store_changes() {
        let t = transcript(
            Protocol::Imap,
            "a1 APPEND INBOX (\\Seen) {5+}\r\nhello\r\na2 uid store 4 +flags  (\\Flagged)\r\na3 STORE 1 -FLAGS (\\Seen)\r\n",
        );
        let got = Delivered::from_transcript(&t);
        assert_eq!(got.messages, [b"hello".to_vec()]);
        assert_eq!(got.flags, ["UID 4 +FLAGS (\\FLAGGED)", "1 -FLAGS (\\SEEN)"]);
    }

    #[test]
    fn a_difference_names_the_first_line_that_differs() {
        let canonical =
            Delivered::from_transcript(&transcript(Protocol::Smtp, "DATA\r\none\r\ntwo\r\n.\r\n"));
        let case = Delivered::from_transcript(&transcript(Protocol::Smtp, "DATA\r\none\r\ntw\r\n.\r\n"));
        assert_eq!(canonical.differs(&canonical), None);
        let why = case.differs(&canonical).expect("differs");
        assert!(
            why.contains("line 2: canonical \"two\", this case \"tw\""),
            "{why}"
        );
        let none = Delivered::default();
        assert!(
            none.differs(&canonical)
                .expect("differs")
                .contains("0 message(s)")
        );
    }
}
