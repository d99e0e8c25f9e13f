//! `--generalize`: values that change from run to run or from server to server become
//! captures and holes, so a recording passes again as a test of the same server.
//!
//! Every hole keeps the recorded value (`${_:num=7}`, `${uid1:num=7}`), so the file can still
//! be sent in both directions; only matching loosens. What changes:
//!
//! - the greeting's text (after an IMAP `[...]` code), and the host name opening an EHLO reply;
//! - the text of IMAP status responses (RFC 9051 §7.1: for people; Dovecot puts timings in it);
//! - IMAP tags: `${tag1:atom=A1}` where the client sends one, `${tag1}` in the server's reply;
//! - UIDVALIDITY (captured once per value, `${uidvalidity}` afterwards, APPENDUID/COPYUID too);
//! - UIDs the server reports (`UID n` in FETCH, APPENDUID) become captures `${uidN}`, and a
//!   later `UID FETCH|STORE|COPY|MOVE|EXPUNGE` of that single UID refers to it;
//! - counts and sizes (`EXISTS`, `RECENT`, `UIDNEXT`, `UNSEEN`, `RFC822.SIZE`, modseqs);
//! - dates (INTERNALDATE, RFC 5322 dates on server lines).
//!
//! Literal contents and client lines other than tags and UIDs stay exact.

use std::collections::HashMap;
use std::sync::LazyLock;

use mailrig_transcript::scenario::{Class, Family, Hole, Part, Side};
use regex::bytes::{Captures, Regex};

/// Per-recording state of the generalization.
#[derive(Debug, Default)]
pub(crate) struct Generalizer {
    /// Per session: whether its first server line (the greeting) was seen, whether the next
    /// server line opens an EHLO reply, and its tags by value.
    sessions: HashMap<usize, SessionState>,
    /// Captured values by kind (`uidvalidity`, `uid`) → name, shared by all sessions.
    captured: HashMap<(&'static str, Vec<u8>), String>,
    counts: HashMap<&'static str, usize>,
    tag_count: usize,
}

#[derive(Debug, Default)]
struct SessionState {
    greeted: bool,
    after_ehlo: bool,
    tags: HashMap<Vec<u8>, String>,
}

/// A value on the wire turned into a pattern part.
enum Replace {
    /// `${_:CLASS=value}`.
    Hole(Class),
    /// A capture of a kind: the first time `${kindN:num=value}`, then `${kindN}`.
    Capture(&'static str),
}

/// What a rule turns its group into.
type Make = fn() -> Replace;

/// `(regex, group to replace, what it becomes)`; the whole match is kept around the group.
type Rule = (Regex, usize, Make);

fn rules(list: &[(&str, usize, Make)]) -> Vec<Rule> {
    list.iter()
        .map(|(re, group, f)| (Regex::new(re).expect("static regex is valid"), *group, *f))
        .collect()
}

/// IMAP server lines.
static IMAP_SERVER: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    rules(&[
        // The UID first: the UIDVALIDITY rule then still sees `APPENDUID v` whole.
        (r"(?i)APPENDUID \d+ (\d+)\]", 1, || Replace::Capture("uid")),
        (r"(?i)(?:UIDVALIDITY|APPENDUID|COPYUID) (\d+)", 1, || {
            Replace::Capture("uidvalidity")
        }),
        (r"(?i)(?:[( ])UID (\d+)", 1, || Replace::Capture("uid")),
        (
            r"(?i)(?:UIDNEXT|UNSEEN|HIGHESTMODSEQ|RFC822\.SIZE) (\d+)",
            1,
            || Replace::Hole(Class::Num),
        ),
        (r"(?i)MODSEQ \((\d+)\)", 1, || Replace::Hole(Class::Num)),
        (r"(?i)^\* (\d+) (?:EXISTS|RECENT)", 1, || {
            Replace::Hole(Class::Num)
        }),
        (
            r#""(\d{1,2}-[A-Za-z]{3}-\d{4} \d\d:\d\d:\d\d [+-]\d{4})""#,
            1,
            || Replace::Hole(Class::Text),
        ),
        (
            r"((?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?\d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d(?::\d\d)? [+-]\d{4})",
            1,
            || Replace::Hole(Class::Text),
        ),
    ])
});

/// A status response's human-readable text (RFC 9051 §7.1 `resp-text`), after the status
/// word and any `[code]`: servers put timings and host names there (Dovecot: `Select
/// completed (0.001 + 0.000 secs).`).
static STATUS_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^((?:[^ ]+ )?(?:OK|NO|BAD|BYE|PREAUTH) (?:\[[^\]]*\] ?)?)(.+)$")
        .expect("static regex is valid")
});

/// A client command on a single UID: `A5 UID FETCH 7 (FLAGS)`.
static UID_COMMAND: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^UID (?:FETCH|STORE|COPY|MOVE|EXPUNGE) (\d+)(?:[ \r]|$)").expect("static regex is valid")
});

impl Generalizer {
    /// One line's parts, generalized.
    pub(crate) fn line(&mut self, session: usize, family: Family, side: Side, parts: Vec<Part>) -> Vec<Part> {
        let state = self.sessions.entry(session).or_default();
        let greeting = side == Side::Server && !std::mem::replace(&mut state.greeted, true);
        let ehlo = side == Side::Server && std::mem::take(&mut state.after_ehlo);
        let Some(Part::Text(first)) = parts.first() else {
            return parts;
        };
        if side == Side::Client && family == Family::Smtp {
            let word = first.split(|b| *b == b' ').next().unwrap_or_default();
            state.after_ehlo = word.eq_ignore_ascii_case(b"EHLO") || word.eq_ignore_ascii_case(b"HELO");
            return parts;
        }
        if greeting || ehlo {
            return greeting_text(family, parts);
        }
        if family == Family::Smtp {
            return parts;
        }
        let mut parts = self.tag(session, side, parts);
        if side == Side::Server {
            parts = status_text(parts);
            for rule in IMAP_SERVER.iter() {
                parts = self.apply(rule, parts);
            }
        } else {
            parts = self.uid_command(parts);
        }
        parts
    }

    /// The tag opening an IMAP line: the client's becomes a capture with its value, the
    /// server's a reference to it.
    fn tag(&mut self, session: usize, side: Side, mut parts: Vec<Part>) -> Vec<Part> {
        let Some(Part::Text(text)) = parts.first() else {
            return parts;
        };
        let end = text.iter().position(|b| *b == b' ').unwrap_or(text.len());
        let tag = text[..end].to_vec();
        if tag.is_empty() || tag == b"*" || tag == b"+" || !tag.iter().all(|b| Class::Atom.admits(*b)) {
            return parts;
        }
        let rest = text[end..].to_vec();
        let known = self.sessions.entry(session).or_default().tags.get(&tag).cloned();
        let head = match (known, side) {
            (Some(name), _) => Part::Ref(name),
            (None, Side::Client) => {
                self.tag_count += 1;
                let name = format!("tag{}", self.tag_count);
                self.sessions
                    .entry(session)
                    .or_default()
                    .tags
                    .insert(tag.clone(), name.clone());
                valued(Some(name), Class::Atom, &tag).unwrap_or(Part::Text(tag))
            }
            (None, Side::Server) => return parts,
        };
        parts.remove(0);
        if !rest.is_empty() {
            parts.insert(0, Part::Text(rest));
        }
        parts.insert(0, head);
        parts
    }

    /// `UID FETCH 7` where 7 is a captured UID → `UID FETCH ${uid1}`.
    fn uid_command(&mut self, mut parts: Vec<Part>) -> Vec<Part> {
        let Some(index) = parts.iter().position(|p| matches!(p, Part::Text(_))) else {
            return parts;
        };
        let Part::Text(text) = &parts[index] else {
            return parts;
        };
        let command = text.strip_prefix(b" ").unwrap_or(text);
        let offset = text.len() - command.len();
        let Some(found) = UID_COMMAND.captures(command).and_then(|c| c.get(1)) else {
            return parts;
        };
        let Some(name) = self.captured.get(&("uid", found.as_bytes().to_vec())).cloned() else {
            return parts;
        };
        let (before, after) = (
            text[..offset + found.start()].to_vec(),
            text[offset + found.end()..].to_vec(),
        );
        let mut replaced = vec![Part::Text(before), Part::Ref(name)];
        if !after.is_empty() {
            replaced.push(Part::Text(after));
        }
        parts.splice(index..=index, replaced);
        parts
    }

    fn apply(&mut self, rule: &Rule, parts: Vec<Part>) -> Vec<Part> {
        let mut out = Vec::new();
        for part in parts {
            let Part::Text(text) = part else {
                out.push(part);
                continue;
            };
            let mut last = 0;
            let found: Vec<(usize, usize, Vec<u8>)> = rule
                .0
                .captures_iter(&text)
                .filter_map(|c: Captures<'_>| c.get(rule.1))
                .map(|m| (m.start(), m.end(), m.as_bytes().to_vec()))
                .collect();
            for (start, end, value) in found {
                if start < last {
                    continue;
                }
                push_text(&mut out, &text[last..start]);
                out.push(self.replace((rule.2)(), &value));
                last = end;
            }
            push_text(&mut out, &text[last..]);
        }
        out
    }

    fn replace(&mut self, replace: Replace, value: &[u8]) -> Part {
        match replace {
            Replace::Hole(class) => valued(None, class, value).unwrap_or_else(|| Part::Text(value.to_vec())),
            Replace::Capture(kind) => {
                if let Some(name) = self.captured.get(&(kind, value.to_vec())) {
                    return Part::Ref(name.clone());
                }
                let n = self.counts.entry(kind).or_default();
                *n += 1;
                let name = if kind == "uidvalidity" && *n == 1 {
                    kind.to_owned()
                } else {
                    format!("{kind}{n}")
                };
                self.captured.insert((kind, value.to_vec()), name.clone());
                valued(Some(name), Class::Num, value).unwrap_or_else(|| Part::Text(value.to_vec()))
            }
        }
    }
}

/// The text of a status response (tagged or untagged) → a hole with its value.
fn status_text(mut parts: Vec<Part>) -> Vec<Part> {
    let index = usize::from(matches!(parts.first(), Some(Part::Ref(_) | Part::Hole(_))));
    let Some(Part::Text(text)) = parts.get(index) else {
        return parts;
    };
    let body = if index == 1 {
        text.strip_prefix(b" ")
    } else {
        Some(&text[..])
    };
    let Some(found) = body.and_then(|b| STATUS_TEXT.captures(b)).and_then(|c| c.get(2)) else {
        return parts;
    };
    let start = text.len() - body.map_or(0, <[u8]>::len) + found.start();
    let Some(hole) = valued(None, Class::Text, &text[start..]) else {
        return parts;
    };
    let head = text[..start].to_vec();
    parts.splice(index..=index, [Part::Text(head), hole]);
    parts
}

/// `* OK [CODE] text` → the text a hole; `220 text` and an EHLO reply's first line likewise.
fn greeting_text(family: Family, mut parts: Vec<Part>) -> Vec<Part> {
    let Some(Part::Text(text)) = parts.first() else {
        return parts;
    };
    let keep = match family {
        Family::Imap => {
            let Some(after) = text
                .strip_prefix(b"* OK ")
                .or_else(|| text.strip_prefix(b"* PREAUTH "))
            else {
                return parts;
            };
            let code = match after.first() {
                Some(b'[') => after.iter().position(|b| *b == b']').map_or(0, |i| i + 2),
                _ => 0,
            };
            (text.len() - after.len() + code).min(text.len())
        }
        Family::Smtp if text.len() > 4 && text[..3].iter().all(u8::is_ascii_digit) => 4,
        Family::Smtp => return parts,
    };
    let value = text[keep..].to_vec();
    let Some(hole) = valued(None, Class::Text, &value) else {
        return parts;
    };
    let head = text[..keep].to_vec();
    parts[0] = Part::Text(head);
    parts.insert(1, hole);
    parts
}

/// A hole (or capture) that sends `value`, if the format can write that value.
fn valued(name: Option<String>, class: Class, value: &[u8]) -> Option<Part> {
    let value = std::str::from_utf8(value).ok()?;
    if value.contains(['{', '}', '$', '\r', '\n']) || value.starts_with('\\') || value.ends_with(' ') {
        return None;
    }
    if !value.bytes().all(|b| class.admits(b)) || (value.is_empty() && !class.admits_empty()) {
        return None;
    }
    Some(Part::Hole(Hole {
        name,
        class,
        value: Some(value.to_owned()),
    }))
}

/// Appends `bytes` to `parts`, joined to a `Text` part already last (parts keep no empty or
/// adjacent `Text`).
pub(super) fn push_text(parts: &mut Vec<Part>, bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    match parts.last_mut() {
        Some(Part::Text(t)) => t.extend_from_slice(bytes),
        _ => parts.push(Part::Text(bytes.to_vec())),
    }
}

#[cfg(test)]
mod tests {
    use mailrig_transcript::print::text;

    use super::*;

    fn run(g: &mut Generalizer, family: Family, side: Side, line: &str) -> String {
        let parts = g.line(0, family, side, vec![Part::Text(line.as_bytes().to_vec())]);
        text(&parts, true)
    }

    #[test]
    fn imap_volatile_values_become_holes_and_captures_with_their_values() {
        let mut g = Generalizer::default();
        let (f, c, s) = (Family::Imap, Side::Client, Side::Server);
        assert_eq!(
            run(&mut g, f, s, "* OK [CAPABILITY IMAP4rev1] mail.example ready"),
            "* OK [CAPABILITY IMAP4rev1] ${_=mail.example ready}".replace("${_=", "${_:text=")
        );
        assert_eq!(
            run(&mut g, f, c, "XY1 SELECT INBOX"),
            "${tag1:atom=XY1} SELECT INBOX"
        );
        assert_eq!(run(&mut g, f, s, "* 3 EXISTS"), "* ${_:num=3} EXISTS");
        assert_eq!(
            run(&mut g, f, s, "* OK [UIDVALIDITY 1700] UIDs valid"),
            "* OK [UIDVALIDITY ${uidvalidity:num=1700}] ${_:text=UIDs valid}"
        );
        assert_eq!(
            run(&mut g, f, s, "XY1 OK [READ-WRITE] done"),
            "${tag1} OK [READ-WRITE] ${_:text=done}"
        );
        assert_eq!(
            run(&mut g, f, s, "XY2 OK [APPENDUID 1700 9] done"),
            "XY2 OK [APPENDUID ${uidvalidity} ${uid1:num=9}] ${_:text=done}"
        );
        assert_eq!(
            run(
                &mut g,
                f,
                s,
                r#"* 1 FETCH (UID 9 RFC822.SIZE 120 INTERNALDATE "04-Dec-2026 16:01:45 +0000")"#
            ),
            r#"* 1 FETCH (UID ${uid1} RFC822.SIZE ${_:num=120} INTERNALDATE "${_:text=04-Dec-2026 16:01:45 +0000}")"#
        );
        assert_eq!(
            run(&mut g, f, c, "XY3 UID FETCH 9 (FLAGS)"),
            "${tag2:atom=XY3} UID FETCH ${uid1} (FLAGS)"
        );
        // Dovecot's timings are in the status text.
        assert_eq!(
            run(&mut g, f, s, "XY3 OK Fetch completed (0.001 + 0.000 secs)."),
            "${tag2} OK ${_:text=Fetch completed (0.001 + 0.000 secs).}"
        );
        // A UID nobody reported stays as written.
        assert_eq!(
            run(&mut g, f, c, "XY4 UID FETCH 10 (FLAGS)"),
            "${tag3:atom=XY4} UID FETCH 10 (FLAGS)"
        );
    }

    #[test]
    fn smtp_greeting_and_ehlo_host_become_holes_and_the_rest_stays() {
        let mut g = Generalizer::default();
        let (f, c, s) = (Family::Smtp, Side::Client, Side::Server);
        assert_eq!(
            run(&mut g, f, s, "220 mx.example ESMTP"),
            "220 ${_:text=mx.example ESMTP}"
        );
        assert_eq!(run(&mut g, f, c, "EHLO me"), "EHLO me");
        assert_eq!(run(&mut g, f, s, "250-mx.example"), "250-${_:text=mx.example}");
        assert_eq!(run(&mut g, f, s, "250 SIZE 100"), "250 SIZE 100");
        assert_eq!(run(&mut g, f, c, "MAIL FROM:<a@b>"), "MAIL FROM:<a@b>");
    }
}
