//! Invariants checked on the transcript of a client's sessions, each a named [`Finding`] that
//! explains itself with the transcript lines around the problem:
//!
//! - `starttls-before-auth`: no AUTH/AUTHENTICATE/LOGIN before TLS where STARTTLS was offered
//!   (RFC 3207 §4, RFC 9051 §6.2.1).
//! - `no-cleartext-credentials`: the password (plain or base64, as SASL sends it) never
//!   crosses before TLS where STARTTLS was offered (RFC 8314 §3).
//! - `data-after-354`: message content only after the server's `354` (RFC 5321 §4.1.1.4).
//! - `literal-after-continuation`: a synchronizing literal's bytes only after the server's
//!   `+` (RFC 9051 §4.3).
//! - `dot-stuffing`: a message line starting with `.` goes out with the dot doubled
//!   (RFC 5321 §4.5.2).
//! - `nothing-after-quit`: nothing after QUIT or LOGOUT (RFC 5321 §4.1.1.10, RFC 9051 §6.1.3).
//! - `store-flags`: STORE adds only the flags the flow asked for.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mailrig_transcript::scenario::Side;
use mailrig_transcript::transcript::EventKind;
use mailrig_transcript::{SessionRecord, Transcript};

/// One failed check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The check's name (`starttls-before-auth`, `store`, ...).
    pub check: &'static str,
    /// What went wrong, with the transcript lines that show it.
    pub explanation: String,
}

/// What the checks need to know beyond the transcript.
#[derive(Debug, Clone)]
pub struct Expect<'a> {
    /// The password the client logs in with.
    pub login: &'a str,
    /// Its password.
    pub password: &'a str,
    /// The message `send` sends (for `dot-stuffing`), if the flow sends one.
    pub message: Option<&'a [u8]>,
    /// The flags a STORE may add.
    pub store_flags: &'a [&'a str],
}

/// Runs every check over every session.
pub fn check(transcript: &Transcript, expect: &Expect<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for session in &transcript.sessions {
        let timeline = Timeline::of(session);
        findings.extend(starttls_before_auth(&timeline));
        findings.extend(no_cleartext_credentials(&timeline, expect));
        findings.extend(data_after_354(&timeline));
        findings.extend(literal_after_continuation(&timeline));
        if let Some(message) = expect.message {
            findings.extend(dot_stuffing(&timeline, message));
        }
        findings.extend(nothing_after_quit(&timeline));
        findings.extend(store_flags(&timeline, expect.store_flags));
    }
    findings
}

/// What one item of a session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A command or response line (without its CRLF).
    Line,
    /// An IMAP literal's bytes; `sync` when it needed a `+` first.
    Literal { sync: bool },
    /// A line of SMTP message content (dot-stuffed, as sent), or its final `.`.
    Data,
    /// The TLS handshake completed.
    Tls,
}

/// One item of a session, in the order it completed.
#[derive(Debug, Clone)]
struct Item {
    side: Side,
    kind: Kind,
    bytes: Vec<u8>,
    /// The index of the event holding its first byte, and its last.
    first: usize,
    last: usize,
    tls: bool,
}

/// A session cut into lines, literals and message content.
struct Timeline {
    name: String,
    imap: bool,
    items: Vec<Item>,
}

/// A side's partial item: bytes so far and the event it started in.
#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    first: Option<usize>,
    /// Bytes of literal still to come.
    literal: usize,
    literal_sync: bool,
    in_data: bool,
}

impl Timeline {
    fn of(session: &SessionRecord) -> Timeline {
        let imap = session.protocol.family() == mailrig_transcript::scenario::Family::Imap;
        let mut timeline = Timeline {
            name: session.name.clone(),
            imap,
            items: Vec::new(),
        };
        let (mut client, mut server) = (Pending::default(), Pending::default());
        let mut tls = false;
        for (index, event) in session.events.iter().enumerate() {
            match &event.kind {
                EventKind::Data { from, bytes } => {
                    let pending = if *from == Side::Client {
                        &mut client
                    } else {
                        &mut server
                    };
                    for byte in bytes {
                        timeline.push_byte(pending, *from, *byte, index, tls);
                    }
                }
                EventKind::TlsStarted => {
                    tls = true;
                    timeline.items.push(Item {
                        side: Side::Server,
                        kind: Kind::Tls,
                        bytes: Vec::new(),
                        first: index,
                        last: index,
                        tls,
                    });
                }
                EventKind::Closed { .. } | EventKind::Elided { .. } => {}
            }
        }
        timeline
    }

    fn push_byte(&mut self, pending: &mut Pending, side: Side, byte: u8, index: usize, tls: bool) {
        pending.first.get_or_insert(index);
        pending.bytes.push(byte);
        if pending.literal > 0 {
            pending.literal -= 1;
            if pending.literal == 0 {
                let kind = Kind::Literal {
                    sync: pending.literal_sync,
                };
                self.finish(pending, side, kind, index, tls);
            }
            return;
        }
        if !pending.bytes.ends_with(b"\r\n") {
            return;
        }
        let line = &pending.bytes[..pending.bytes.len() - 2];
        let kind = if pending.in_data { Kind::Data } else { Kind::Line };
        if side == Side::Client && !self.imap {
            if pending.in_data && line == b"." {
                pending.in_data = false;
            } else if !pending.in_data && verb(line, false).eq_ignore_ascii_case("DATA") {
                pending.in_data = true;
            }
        }
        let literal = (side == Side::Client && self.imap)
            .then(|| literal_announced(line))
            .flatten();
        self.finish(pending, side, kind, index, tls);
        if let Some((size, sync)) = literal.filter(|(size, _)| *size > 0) {
            pending.literal = size;
            pending.literal_sync = sync;
        }
    }

    fn finish(&mut self, pending: &mut Pending, side: Side, kind: Kind, index: usize, tls: bool) {
        let mut bytes = std::mem::take(&mut pending.bytes);
        if matches!(kind, Kind::Line | Kind::Data) {
            bytes.truncate(bytes.len().saturating_sub(2));
        }
        self.items.push(Item {
            side,
            kind,
            bytes,
            first: pending.first.take().unwrap_or(index),
            last: index,
            tls,
        });
    }

    fn verb(&self, item: &Item) -> String {
        verb(&item.bytes, self.imap)
    }

    /// The items around `at`, `>` marking it, as `C:`/`S:` lines.
    fn excerpt(&self, at: usize) -> String {
        let from = at.saturating_sub(5);
        let to = (at + 3).min(self.items.len());
        let mut out = format!("  in session {}:\n", self.name);
        if from > 0 {
            out += "    ...\n";
        }
        for (i, item) in self.items.iter().enumerate().take(to).skip(from) {
            let mark = if i == at { ">" } else { " " };
            out += &format!("  {mark} {}\n", show(item));
        }
        if to < self.items.len() {
            out += "    ...\n";
        }
        out
    }

    fn advertised_starttls(&self) -> bool {
        self.items.iter().any(|i| {
            i.side == Side::Server
                && !i.tls
                && i.kind == Kind::Line
                && String::from_utf8_lossy(&i.bytes)
                    .split(|c: char| !c.is_ascii_alphanumeric())
                    .any(|w| w.eq_ignore_ascii_case("STARTTLS"))
        })
    }
}

fn show(item: &Item) -> String {
    let side = if item.side == Side::Client { "C:" } else { "S:" };
    let text = String::from_utf8_lossy(&item.bytes);
    match item.kind {
        Kind::Tls => "   (TLS started)".to_owned(),
        Kind::Literal { .. } => format!("{side} {{literal, {} bytes}}", item.bytes.len()),
        Kind::Data => format!("{side} {text}    (message content)"),
        Kind::Line => format!("{side} {text}"),
    }
}

/// The command verb: SMTP's first word, IMAP's word after the tag (`UID STORE` for UID
/// commands), upper-cased.
fn verb(line: &[u8], imap: bool) -> String {
    let text = String::from_utf8_lossy(line);
    let mut words = text.split_ascii_whitespace();
    if imap {
        words.next();
    }
    let first = words.next().unwrap_or("").to_ascii_uppercase();
    let first = first.split(':').next().unwrap_or("").to_owned();
    if imap && first == "UID" {
        return format!("UID {}", words.next().unwrap_or("").to_ascii_uppercase());
    }
    first
}

/// `{N}` or `{N+}` at the end of an IMAP line: the literal's size and whether it is
/// synchronizing.
fn literal_announced(line: &[u8]) -> Option<(usize, bool)> {
    let size = mailrig_transcript::framing::literal_size(line)?;
    Some((size, !(line.ends_with(b"+}") || line.ends_with(b"-}"))))
}

fn client_commands(timeline: &Timeline) -> impl Iterator<Item = (usize, &Item)> {
    timeline
        .items
        .iter()
        .enumerate()
        .filter(|(_, i)| i.side == Side::Client && i.kind == Kind::Line)
}

fn starttls_before_auth(timeline: &Timeline) -> Option<Finding> {
    if !timeline.advertised_starttls() {
        return None;
    }
    let (at, item) = client_commands(timeline)
        .filter(|(_, i)| !i.tls)
        .find(|(_, i)| ["AUTH", "AUTHENTICATE", "LOGIN"].contains(&timeline.verb(i).as_str()))?;
    Some(Finding {
        check: "starttls-before-auth",
        explanation: format!(
            "the client sent {} before STARTTLS, although the server offered STARTTLS (RFC 3207 §4, RFC 9051 §6.2.1):\n{}",
            timeline.verb(item),
            timeline.excerpt(at)
        ),
    })
}

fn no_cleartext_credentials(timeline: &Timeline, expect: &Expect<'_>) -> Option<Finding> {
    if !timeline.advertised_starttls() || expect.password.is_empty() {
        return None;
    }
    let secrets = [
        expect.password.as_bytes().to_vec(),
        STANDARD.encode(expect.password).into_bytes(),
        STANDARD
            .encode(format!("\0{}\0{}", expect.login, expect.password))
            .into_bytes(),
        STANDARD
            .encode(format!("{0}\0{0}\0{1}", expect.login, expect.password))
            .into_bytes(),
    ];
    let (at, _) =
        timeline.items.iter().enumerate().find(|(_, i)| {
            i.side == Side::Client && !i.tls && secrets.iter().any(|s| contains(&i.bytes, s))
        })?;
    Some(Finding {
        check: "no-cleartext-credentials",
        explanation: format!(
            "the client sent the password before TLS, although the server offered STARTTLS (RFC 8314 §3):\n{}",
            timeline.excerpt(at)
        ),
    })
}

fn data_after_354(timeline: &Timeline) -> Option<Finding> {
    let items = &timeline.items;
    let mut data_command = None;
    for (at, item) in items.iter().enumerate() {
        match (item.side, item.kind) {
            (Side::Client, Kind::Line) if timeline.verb(item) == "DATA" => data_command = Some(item.last),
            (Side::Client, Kind::Data) => {
                let Some(command) = data_command.take() else {
                    continue;
                };
                let answered = items.iter().any(|s| {
                    s.side == Side::Server
                        && s.bytes.starts_with(b"354")
                        && s.last >= command
                        && s.last < item.first
                });
                if !answered {
                    return Some(Finding {
                        check: "data-after-354",
                        explanation: format!(
                            "the client sent message content before the server's 354 reply to DATA (RFC 5321 §4.1.1.4, §3.3):\n{}",
                            timeline.excerpt(at)
                        ),
                    });
                }
            }
            _ => {}
        }
    }
    None
}

fn literal_after_continuation(timeline: &Timeline) -> Option<Finding> {
    let items = &timeline.items;
    for (at, item) in items.iter().enumerate() {
        if item.kind != (Kind::Literal { sync: true }) {
            continue;
        }
        let announced = items[..at]
            .iter()
            .rev()
            .find(|i| i.side == Side::Client && i.kind == Kind::Line)
            .map_or(0, |i| i.last);
        let continued = items.iter().any(|s| {
            s.side == Side::Server
                && s.kind == Kind::Line
                && s.bytes.starts_with(b"+")
                && s.last >= announced
                && s.last < item.first
        });
        if !continued {
            return Some(Finding {
                check: "literal-after-continuation",
                explanation: format!(
                    "the client sent a synchronizing literal's bytes without waiting for the server's `+` (RFC 9051 §4.3, §7.5):\n{}",
                    timeline.excerpt(at)
                ),
            });
        }
    }
    None
}

fn dot_stuffing(timeline: &Timeline, message: &[u8]) -> Option<Finding> {
    let sent: Vec<(usize, &Item)> = timeline
        .items
        .iter()
        .enumerate()
        .filter(|(_, i)| i.side == Side::Client && i.kind == Kind::Data)
        .collect();
    if sent.is_empty() {
        return None;
    }
    let expected = message
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    for (number, (line, (at, item))) in expected.zip(&sent).enumerate() {
        if line.starts_with(b".") && item.bytes == line {
            return Some(Finding {
                check: "dot-stuffing",
                explanation: format!(
                    "line {} of the message starts with `.`, and the client sent it without doubling the dot, so the server removes it (RFC 5321 §4.5.2):\n{}",
                    number + 1,
                    timeline.excerpt(*at)
                ),
            });
        }
    }
    None
}

fn nothing_after_quit(timeline: &Timeline) -> Option<Finding> {
    let (quit, _) =
        client_commands(timeline).find(|(_, i)| ["QUIT", "LOGOUT"].contains(&timeline.verb(i).as_str()))?;
    let (at, _) = timeline
        .items
        .iter()
        .enumerate()
        .skip(quit + 1)
        .find(|(_, i)| i.side == Side::Client && !i.bytes.is_empty())?;
    Some(Finding {
        check: "nothing-after-quit",
        explanation: format!(
            "the client sent more after {} (RFC 5321 §4.1.1.10, RFC 9051 §6.1.3):\n{}",
            timeline.verb(&timeline.items[quit]),
            timeline.excerpt(at)
        ),
    })
}

fn store_flags(timeline: &Timeline, allowed: &[&str]) -> Option<Finding> {
    for (at, item) in client_commands(timeline) {
        let verb = timeline.verb(item);
        if verb != "STORE" && verb != "UID STORE" {
            continue;
        }
        let text = String::from_utf8_lossy(&item.bytes).to_ascii_uppercase();
        let words: Vec<&str> = text.split_ascii_whitespace().collect();
        let Some(op) = words
            .iter()
            .position(|w| w.starts_with("+FLAGS") || w.starts_with("FLAGS"))
        else {
            continue;
        };
        let flags: Vec<String> = words[op + 1..]
            .iter()
            .map(|w| w.trim_matches(|c| c == '(' || c == ')').to_owned())
            .filter(|w| !w.is_empty())
            .collect();
        let unwanted: Vec<&String> = flags
            .iter()
            .filter(|f| !allowed.iter().any(|a| a.eq_ignore_ascii_case(f)))
            .collect();
        if !unwanted.is_empty() {
            return Some(Finding {
                check: "store-flags",
                explanation: format!(
                    "the client's STORE sets {unwanted:?}; this flow asks only for {allowed:?}:\n{}",
                    timeline.excerpt(at)
                ),
            });
        }
    }
    None
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// The first line where `received` differs from `expected`, as `-`/`+` lines.
pub fn bytes_diff(expected: &[u8], received: &[u8]) -> String {
    let split = |b: &[u8]| -> Vec<String> {
        b.split_inclusive(|c| *c == b'\n')
            .map(|l| format!("{:?}", String::from_utf8_lossy(l)))
            .collect()
    };
    let (want, got) = (split(expected), split(received));
    let line = want
        .iter()
        .zip(&got)
        .position(|(a, b)| a != b)
        .unwrap_or(want.len().min(got.len()));
    let none = "(nothing)".to_owned();
    format!(
        "  at line {}:\n  - {}\n  + {}\n  ({} bytes expected, {} received)",
        line + 1,
        want.get(line).unwrap_or(&none),
        got.get(line).unwrap_or(&none),
        expected.len(),
        received.len()
    )
}

#[cfg(test)]
mod tests;
