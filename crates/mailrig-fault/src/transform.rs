//! The byte-level actions on one reply: replacing, corrupting, editing capabilities.
//! Deliberately protocol-breaking; each works on whatever bytes it gets and never panics.

use crate::reply::{Protocol, ReplyKind};

/// The reply replaced by `text` (see [`crate::Action::Reply`]): IMAP keeps the reply's first
/// token (tag, `*` or `+`) unless `text` brings its own.
pub(crate) fn replace(protocol: Protocol, original: &[u8], text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 16);
    if protocol == Protocol::Imap && !text.starts_with(['*', '+']) {
        let head = original.split(|&b| b == b' ').next().unwrap_or(b"*");
        let head = if head.is_empty() || head.ends_with(b"\n") {
            &b"*"[..]
        } else {
            head
        };
        out.extend_from_slice(head);
        out.push(b' ');
    }
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(b"\r\n");
    out
}

/// The goodbye that replaces a reply before a close.
pub(crate) fn bye(protocol: Protocol, text: Option<&str>) -> Vec<u8> {
    match protocol {
        Protocol::Smtp => {
            let text = text.unwrap_or("4.3.2 Service not available, closing transmission channel");
            let line = if text.starts_with(|c: char| c.is_ascii_digit())
                && text.len() >= 3
                && text.as_bytes()[..3].iter().all(u8::is_ascii_digit)
            {
                text.to_owned()
            } else {
                format!("421 {text}")
            };
            format!("{line}\r\n").into_bytes()
        }
        Protocol::Imap => {
            let text = text.unwrap_or("server shutting down");
            let line = if text.starts_with("* ") {
                text.to_owned()
            } else {
                format!("* BYE {text}")
            };
            format!("{line}\r\n").into_bytes()
        }
    }
}

/// Adds `delta` to the first `{n}` (or `{n+}`) literal count.
pub(crate) fn literal_count(bytes: &mut Vec<u8>, delta: i64) {
    let Some(open) = bytes.iter().position(|&b| b == b'{') else {
        return;
    };
    let digits = bytes[open + 1..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let Some(n) = std::str::from_utf8(&bytes[open + 1..open + 1 + digits])
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
    else {
        return;
    };
    let new = n.saturating_add(delta).max(0).to_string();
    bytes.splice(open + 1..open + 1 + digits, new.into_bytes());
}

/// Every CRLF becomes LF.
pub(crate) fn bare_lf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// `FF FE` after the first space (inside the text, not the code or tag).
pub(crate) fn invalid_utf8(bytes: &mut Vec<u8>) {
    let at = bytes.iter().position(|&b| b == b' ').map_or(0, |i| i + 1);
    bytes.splice(at..at, [0xff, 0xfe]);
}

/// The tag of a tagged IMAP reply replaced (untagged and continuation replies are left alone).
pub(crate) fn wrong_tag(kind: ReplyKind, bytes: &mut Vec<u8>, tag: &str) {
    if kind != ReplyKind::Final || bytes.starts_with(b"*") || bytes.starts_with(b"+") {
        return;
    }
    let end = bytes.iter().position(|&b| b == b' ').unwrap_or(0);
    bytes.splice(..end, tag.bytes());
}

/// An edit of advertised capabilities.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CapEdit<'a> {
    Drop(&'a str),
    Rename(&'a str, &'a str),
    Add(&'a str),
}

/// Edits capabilities: IMAP `CAPABILITY` data and `[CAPABILITY ...]` codes; SMTP EHLO
/// keyword lines (`250-KEYWORD params`). Replies with neither are left alone.
pub(crate) fn capabilities(protocol: Protocol, bytes: &[u8], edit: CapEdit<'_>) -> Vec<u8> {
    match protocol {
        Protocol::Imap => imap_capabilities(bytes, edit),
        Protocol::Smtp => ehlo_keywords(bytes, edit),
    }
}

fn imap_capabilities(bytes: &[u8], edit: CapEdit<'_>) -> Vec<u8> {
    let text = String::from_utf8_lossy(bytes);
    let upper = text.to_ascii_uppercase();
    let Some(at) = upper.find("CAPABILITY ") else {
        return bytes.to_vec();
    };
    let start = at + "CAPABILITY ".len();
    let end = text[start..]
        .find([']', '\r', '\n'])
        .map_or(text.len(), |i| start + i);
    let mut words: Vec<String> = text[start..end].split(' ').map(str::to_owned).collect();
    edit_words(&mut words, edit);
    format!("{}{}{}", &text[..start], words.join(" "), &text[end..]).into_bytes()
}

fn ehlo_keywords(bytes: &[u8], edit: CapEdit<'_>) -> Vec<u8> {
    let text = String::from_utf8_lossy(bytes);
    let mut lines: Vec<&str> = text.split_inclusive("\r\n").collect();
    if lines.len() < 2 && !matches!(edit, CapEdit::Add(_)) || !text.starts_with("250") {
        return bytes.to_vec();
    }
    // The first line is the greeting part; each following one a keyword with parameters.
    let head = lines.remove(0).trim_end().get(4..).unwrap_or("").to_owned();
    let mut keywords: Vec<String> = lines
        .iter()
        .map(|l| l.trim_end().get(4..).unwrap_or("").to_owned())
        .collect();
    match edit {
        CapEdit::Drop(name) => keywords.retain(|k| !keyword_is(k, name)),
        CapEdit::Rename(from, to) => {
            for k in &mut keywords {
                if keyword_is(k, from) {
                    let rest = k.get(from.len()..).unwrap_or("").to_owned();
                    *k = format!("{to}{rest}");
                }
            }
        }
        CapEdit::Add(name) => keywords.push(name.to_owned()),
    }
    let mut out = String::new();
    let all: Vec<&String> = std::iter::once(&head).chain(keywords.iter()).collect();
    for (i, line) in all.iter().enumerate() {
        let sep = if i + 1 == all.len() { ' ' } else { '-' };
        out.push_str(&format!("250{sep}{line}\r\n"));
    }
    out.into_bytes()
}

/// `AUTH PLAIN LOGIN` is the keyword `AUTH`.
fn keyword_is(line: &str, name: &str) -> bool {
    let word = line.split(' ').next().unwrap_or("");
    word.eq_ignore_ascii_case(name)
}

fn edit_words(words: &mut Vec<String>, edit: CapEdit<'_>) {
    match edit {
        CapEdit::Drop(name) => words.retain(|w| !w.eq_ignore_ascii_case(name)),
        CapEdit::Rename(from, to) => {
            for w in words.iter_mut() {
                if w.eq_ignore_ascii_case(from) {
                    *w = to.to_owned();
                }
            }
        }
        CapEdit::Add(name) => words.push(name.to_owned()),
    }
}

/// Cuts `bytes` into segments of `size`.
pub(crate) fn segments_of(bytes: Vec<u8>, size: usize) -> Vec<Vec<u8>> {
    if size == 0 || bytes.len() <= size {
        return vec![bytes];
    }
    bytes.chunks(size).map(<[u8]>::to_vec).collect()
}

/// Cuts `bytes` at the given offsets (ignoring ones past the end or out of order).
pub(crate) fn segments_at(bytes: Vec<u8>, offsets: &[usize]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut last = 0;
    for &at in offsets {
        if at > last && at < bytes.len() {
            out.push(bytes[last..at].to_vec());
            last = at;
        }
    }
    out.push(bytes[last..].to_vec());
    out
}
