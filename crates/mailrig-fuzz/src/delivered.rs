//! What a client asked the server to store, read from the client's side of a transcript: the
//! messages it sent (SMTP DATA with its dot-stuffing undone, BDAT chunks up to `LAST`, IMAP
//! APPEND literals, with the mailbox and flags each was appended with) and the flag changes it
//! asked for (IMAP STORE). A replay keeps no store,
//! so this is the store a correct server would hold after the run; under a legal variation it
//! must be the canonical run's ([`Delivered::differs`]).

use std::collections::BTreeSet;
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
    /// Where each IMAP APPEND put its message, in order.
    pub appends: Vec<Append>,
}

/// One IMAP APPEND's destination (RFC 9051 §6.3.12): the mailbox and the flags its message
/// was appended with (the date-time argument is not judged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Append {
    /// The index of its message in [`Delivered::messages`].
    pub message: usize,
    /// The mailbox name's value (atom, quoted string or literal alike); `INBOX` in any case
    /// as `INBOX` (RFC 9051 §5.1: INBOX is case-insensitive), every other name exactly as
    /// sent.
    pub mailbox: Vec<u8>,
    /// The flags, upper case, as a set (their order and case mean nothing).
    pub flags: BTreeSet<String>,
}

impl fmt::Display for Append {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flags: Vec<&str> = self.flags.iter().map(String::as_str).collect();
        write!(
            f,
            "message {} to {:?} with ({})",
            self.message + 1,
            String::from_utf8_lossy(&self.mailbox),
            flags.join(" ")
        )
    }
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

    /// The index of the first of `canonical`'s messages that `self` (a case's) does not have
    /// as it is, changed or missing; `None` when every one is there.
    pub fn first_changed_message(&self, canonical: &Delivered) -> Option<usize> {
        (0..canonical.messages.len()).find(|&i| self.messages.get(i) != Some(&canonical.messages[i]))
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
        if self.appends != canonical.appends {
            let show = |a: &[Append]| a.iter().map(ToString::to_string).collect::<Vec<_>>();
            return Some(format!(
                "the client appended to other mailboxes or with other flags: {} (under the canonical: {})",
                List(&show(&self.appends)),
                List(&show(&canonical.appends))
            ));
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
        let start = at;
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
                let args = start + after_words(command, verb_at + 1);
                if let Some(end) = append(bytes, args, out) {
                    at = end;
                } else if let Some(size) = literal_size(command) {
                    // Arguments it cannot read: the message is the literal the line ends with.
                    let end = (at + size).min(bytes.len());
                    out.messages.push(bytes[at..end].to_vec());
                    at = end;
                }
            }
            _ => {}
        }
    }
}

/// Where the `n`th space-separated word of `line` ends, and the spaces after it.
fn after_words(line: &[u8], n: usize) -> usize {
    let mut at = 0;
    for _ in 0..n {
        while line.get(at) == Some(&b' ') {
            at += 1;
        }
        while line.get(at).is_some_and(|b| *b != b' ') {
            at += 1;
        }
    }
    while line.get(at) == Some(&b' ') {
        at += 1;
    }
    at
}

/// Reads APPEND's arguments at `at` (`mailbox [flags] [date-time] literal`, repeated after a
/// space for MULTIAPPEND, RFC 3502): pushes each message and its [`Append`], and returns where
/// the command ends. `None` when the arguments do not read so (nothing is pushed).
fn append(bytes: &[u8], at: usize, out: &mut Delivered) -> Option<usize> {
    let mut cursor = Cursor { bytes, at };
    let mailbox = cursor.astring()?;
    let mailbox = if mailbox.eq_ignore_ascii_case(b"INBOX") {
        b"INBOX".to_vec()
    } else {
        mailbox
    };
    let mut found = Vec::new();
    loop {
        cursor.expect(b" ")?;
        let mut flags = BTreeSet::new();
        if cursor.peek() == Some(b'(') {
            let list = cursor.until(b')')?;
            let list = String::from_utf8_lossy(&list[1..]).to_ascii_uppercase();
            flags = list
                .split(' ')
                .filter(|f| !f.is_empty())
                .map(str::to_owned)
                .collect();
            cursor.expect(b" ")?;
        }
        if cursor.peek() == Some(b'"') {
            cursor.quoted()?;
            cursor.expect(b" ")?;
        }
        let message = cursor.literal()?;
        found.push((message, flags));
        if cursor.expect(b"\r\n").is_some() {
            break;
        }
    }
    for (message, flags) in found {
        out.appends.push(Append {
            message: out.messages.len(),
            mailbox: mailbox.clone(),
            flags,
        });
        out.messages.push(message);
    }
    Some(cursor.at)
}

/// A reader of IMAP arguments over a client's bytes.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn expect(&mut self, what: &[u8]) -> Option<()> {
        self.bytes
            .get(self.at..)?
            .starts_with(what)
            .then(|| self.at += what.len())
    }

    /// The bytes up to and including `end` (not across a line end).
    fn until(&mut self, end: u8) -> Option<Vec<u8>> {
        let rest = self.bytes.get(self.at..)?;
        let len = rest.iter().position(|b| *b == end || *b == b'\r')?;
        (rest[len] == end).then_some(())?;
        self.at += len + 1;
        Some(rest[..len].to_vec())
    }

    /// An atom, a quoted string or a literal, by its value.
    fn astring(&mut self) -> Option<Vec<u8>> {
        match self.peek()? {
            b'"' => self.quoted(),
            b'{' => self.literal(),
            _ => {
                let rest = self.bytes.get(self.at..)?;
                let len = rest.iter().position(|b| *b == b' ' || *b == b'\r')?;
                self.at += len;
                (len > 0).then(|| rest[..len].to_vec())
            }
        }
    }

    /// A quoted string's value (`\"` and `\\` unescaped).
    fn quoted(&mut self) -> Option<Vec<u8>> {
        self.expect(b"\"")?;
        let mut out = Vec::new();
        loop {
            match self.peek()? {
                b'"' => {
                    self.at += 1;
                    return Some(out);
                }
                b'\\' => {
                    out.push(*self.bytes.get(self.at + 1)?);
                    self.at += 2;
                }
                b'\r' | b'\n' => return None,
                b => {
                    out.push(b);
                    self.at += 1;
                }
            }
        }
    }

    /// A literal's content (`{n}` or `{n+}`, CRLF, n bytes).
    fn literal(&mut self) -> Option<Vec<u8>> {
        self.expect(b"{")?;
        let digits = self.until(b'}')?;
        let digits = digits.strip_suffix(b"+").unwrap_or(&digits);
        let size: usize = std::str::from_utf8(digits).ok()?.parse().ok()?;
        self.expect(b"\r\n")?;
        let content = self.bytes.get(self.at..self.at.checked_add(size)?)?.to_vec();
        self.at += size;
        Some(content)
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
        assert_eq!(
            got.appends,
            [Append {
                message: 0,
                mailbox: b"INBOX".to_vec(),
                flags: BTreeSet::from(["\\SEEN".to_owned()]),
            }]
        );
    }

    fn appended(client: &str) -> Delivered {
        Delivered::from_transcript(&transcript(Protocol::Imap, client))
    }

    /// APPEND's mailbox and flags are judged: INBOX in any case, other names exactly, flags
    /// as a set in any case and order, the mailbox as an atom, a quoted string or a literal.
    #[test]
    fn append_mailbox_and_flags_are_judged() {
        let canonical = appended("a1 APPEND INBOX (\\Seen \\Flagged) {5}\r\nhello\r\n");
        for same in [
            "a1 append inbox (\\flagged \\SEEN) {5}\r\nhello\r\n",
            "a1 APPEND \"INBOX\" (\\Seen \\Flagged) \"04-Dec-2026 10:00:00 +0000\" {5+}\r\nhello\r\n",
            "a1 APPEND {5}\r\nInbox (\\Seen \\Flagged \\Seen) {5}\r\nhello\r\n",
        ] {
            assert_eq!(appended(same).differs(&canonical), None, "{same:?}");
        }
        for (other, shown) in [
            (
                "a1 APPEND Sent (\\Seen \\Flagged) {5}\r\nhello\r\n",
                "to \"Sent\"",
            ),
            ("a1 APPEND INBOX (\\Seen) {5}\r\nhello\r\n", "with (\\SEEN)"),
            ("a1 APPEND INBOX {5}\r\nhello\r\n", "with ()"),
        ] {
            let why = appended(other).differs(&canonical).expect(other);
            assert!(
                why.contains("other mailboxes or with other flags") && why.contains(shown),
                "{why}"
            );
        }
        let sent = appended("a1 APPEND \"Sent Items\" () {5}\r\nhello\r\n");
        let lower = appended("a1 APPEND \"sent items\" () {5}\r\nhello\r\n");
        assert!(lower.differs(&sent).is_some(), "names other than INBOX are exact");
    }

    #[test]
    fn a_multiappend_appends_each_message() {
        let got = appended("a1 APPEND Drafts (\\Draft) {2}\r\nhi (\\Seen) {3}\r\nbye\r\na2 NOOP\r\n");
        assert_eq!(got.messages, [b"hi".to_vec(), b"bye".to_vec()]);
        let flags: Vec<_> = got.appends.iter().map(|a| (a.message, a.flags.clone())).collect();
        assert_eq!(
            flags,
            [
                (0, BTreeSet::from(["\\DRAFT".to_owned()])),
                (1, BTreeSet::from(["\\SEEN".to_owned()]))
            ]
        );
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
