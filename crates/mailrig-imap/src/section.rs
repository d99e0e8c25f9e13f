//! Body sections (RFC 9051 §6.4.5 `section`, `partial`): `BODY[]`, `BODY[HEADER]`,
//! `BODY[TEXT]`, `BODY[HEADER.FIELDS (...)]`, `BODY[HEADER.FIELDS.NOT (...)]`, the same after a
//! part number (`BODY[2.1]`, `BODY[2.MIME]`, `BODY[2.HEADER]`), each with an optional
//! `<origin.count>`, and their RFC822 aliases.
//!
//! A part that does not exist, or `HEADER`/`TEXT` of a part that is not `message/rfc822`,
//! gives an empty string: RFC 9051 §6.4.5 has no error for it, and an empty string keeps
//! `BODY[...]` a valid `nstring` that every client reads (Dovecot 2.3 does the same).

use crate::mime::Part;

/// Which bytes of a message a FETCH body item returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Section {
    /// The whole message.
    Full,
    /// The header, with its terminating empty line.
    Header,
    /// The body.
    Text,
    /// After a part number: the part's MIME header.
    Mime,
    /// Only the header fields named (or, with `not`, all others), then an empty line.
    HeaderFields {
        /// Field names, upper-cased.
        names: Vec<String>,
        /// `HEADER.FIELDS.NOT`.
        not: bool,
    },
}

/// A parsed body fetch item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BodyItem {
    /// `BODY.PEEK` (or `RFC822.HEADER`): does not set `\Seen`.
    pub(crate) peek: bool,
    /// `section-part`: part numbers, empty for the whole message.
    pub(crate) part: Vec<u32>,
    pub(crate) section: Section,
    /// `<origin.count>`.
    pub(crate) partial: Option<(usize, usize)>,
    /// The item's name in the response (`BODY[HEADER]<0>`, `RFC822`, ...).
    pub(crate) name: String,
}

impl BodyItem {
    /// Parses `"BODY" [".PEEK"] section [partial]` or an RFC822 alias (upper-cased input);
    /// `None` if `item` is not a body item this server knows.
    pub(crate) fn parse(item: &str) -> Option<BodyItem> {
        let alias = |peek, section, name: &str| BodyItem {
            peek,
            part: Vec::new(),
            section,
            partial: None,
            name: name.to_owned(),
        };
        match item {
            "RFC822" => return Some(alias(false, Section::Full, "RFC822")),
            "RFC822.HEADER" => return Some(alias(true, Section::Header, "RFC822.HEADER")),
            "RFC822.TEXT" => return Some(alias(false, Section::Text, "RFC822.TEXT")),
            _ => {}
        }
        let (peek, rest) = match item.strip_prefix("BODY.PEEK[") {
            Some(rest) => (true, rest),
            None => (false, item.strip_prefix("BODY[")?),
        };
        // The last `]`: a quoted or literal field name may hold one, a partial cannot.
        let (inner, after) = rest.rsplit_once(']')?;
        let (part, text) = section_part(inner)?;
        let section = match text {
            "" => Section::Full,
            "MIME" if !part.is_empty() => Section::Mime,
            "HEADER" => Section::Header,
            "TEXT" => Section::Text,
            _ => {
                let (not, list) = match text.strip_prefix("HEADER.FIELDS.NOT ") {
                    Some(list) => (true, list),
                    None => (false, text.strip_prefix("HEADER.FIELDS ")?),
                };
                Section::HeaderFields {
                    names: header_list(list)?,
                    not,
                }
            }
        };
        let partial = match after {
            "" => None,
            _ => {
                let (origin, count) = after.strip_prefix('<')?.strip_suffix('>')?.split_once('.')?;
                let count: usize = count.parse().ok()?;
                (count > 0).then_some(())?;
                Some((origin.parse().ok()?, count))
            }
        };
        let mut name = match &section {
            // The names as astrings, not as sent (a literal's announcement is no response).
            Section::HeaderFields { names, .. } => {
                let list_start = inner.find('(').unwrap_or(inner.len());
                let names: Vec<String> = names.iter().map(|n| astring_text(n)).collect();
                format!("BODY[{}({})]", &inner[..list_start], names.join(" "))
            }
            _ => format!("BODY[{inner}]"),
        };
        if let Some((origin, _)) = partial {
            name.push_str(&format!("<{origin}>"));
        }
        Some(BodyItem {
            peek,
            part,
            section,
            partial,
            name,
        })
    }

    /// The bytes this item returns for a message.
    #[cfg(test)]
    pub(crate) fn extract(&self, raw: &[u8]) -> Vec<u8> {
        self.extract_from(raw, &std::cell::OnceCell::new())
    }

    /// The same, parsing the MIME tree into `tree` only if a part number needs it (so one
    /// FETCH parses each message at most once).
    pub(crate) fn extract_from(&self, raw: &[u8], tree: &std::cell::OnceCell<Part>) -> Vec<u8> {
        let bytes = if self.part.is_empty() {
            let text = body(raw);
            self.message_section(raw, &raw[..raw.len() - text.len()], text)
        } else {
            self.part_section(raw, tree.get_or_init(|| Part::parse(raw)))
        };
        match self.partial {
            Some((origin, count)) => {
                let start = origin.min(bytes.len());
                let end = start.saturating_add(count).min(bytes.len());
                bytes[start..end].to_vec()
            }
            None => bytes,
        }
    }

    /// The section of one part of the message (see the module doc for missing parts).
    fn part_section(&self, raw: &[u8], tree: &Part) -> Vec<u8> {
        let Some(located) = tree.locate(&self.part) else {
            return Vec::new();
        };
        let slice = |range: std::ops::Range<usize>| raw.get(range).unwrap_or_default();
        match (&self.section, located.message) {
            (Section::Full, _) => slice(located.body).to_vec(),
            (Section::Mime, _) => slice(located.mime).to_vec(),
            (_, Some((header, text))) => {
                self.message_section(slice(header.start..text.end), slice(header), slice(text))
            }
            (_, None) => Vec::new(),
        }
    }

    /// `HEADER`, `TEXT`, `HEADER.FIELDS` or the whole of a message (the top-level one or an
    /// encapsulated one) split into `header` and `text`.
    fn message_section(&self, message: &[u8], header: &[u8], text: &[u8]) -> Vec<u8> {
        match &self.section {
            Section::Full | Section::Mime => message.to_vec(),
            Section::Header => header.to_vec(),
            Section::Text => text.to_vec(),
            Section::HeaderFields { names, not } => {
                let mut out = Vec::new();
                for field in fields(header) {
                    let name = field_name(&field);
                    let listed = names.iter().any(|n| n.as_bytes().eq_ignore_ascii_case(name));
                    if listed != *not {
                        out.extend_from_slice(&field);
                    }
                }
                out.extend_from_slice(b"\r\n");
                out
            }
        }
    }
}

/// `header-list = "(" header-fld-name *(SP header-fld-name) ")"` with `header-fld-name =
/// astring` (RFC 9051 §9): atoms, quoted strings and literals (put inline by the framer),
/// decoded.
fn header_list(list: &str) -> Option<Vec<String>> {
    let mut rest = list.strip_prefix('(')?.strip_suffix(')')?;
    let mut names = Vec::new();
    loop {
        let (name, after) = astring(rest)?;
        names.push(name);
        match after.strip_prefix(' ') {
            Some(more) => rest = more,
            None if after.is_empty() => return Some(names),
            None => return None,
        }
    }
}

/// `astring = 1*ASTRING-CHAR / string` at the start of `s`: its value and the rest.
fn astring(s: &str) -> Option<(String, &str)> {
    match s.as_bytes().first()? {
        b'"' => {
            let mut out = String::new();
            let mut chars = s.char_indices().skip(1);
            while let Some((i, c)) = chars.next() {
                match c {
                    '"' => return Some((out, &s[i + 1..])),
                    '\\' => match chars.next()? {
                        (_, e @ ('"' | '\\')) => out.push(e),
                        _ => return None,
                    },
                    '\r' | '\n' => return None,
                    c => out.push(c),
                }
            }
            None
        }
        b'{' => {
            // `literal = "{" number64 ["+"] "}" CRLF *CHAR8`.
            let close = s.find('}')?;
            let digits = s[1..close].strip_suffix('+').unwrap_or(&s[1..close]);
            let size: usize = digits.parse().ok()?;
            let data = s[close + 1..].strip_prefix("\r\n")?;
            Some((data.get(..size)?.to_owned(), data.get(size..)?))
        }
        _ => {
            let end = s.find(' ').unwrap_or(s.len());
            let atom = &s[..end];
            let valid = !atom.is_empty()
                && atom
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && !b"(){\"".contains(&b));
            valid.then(|| (atom.to_owned(), &s[end..]))
        }
    }
}

/// `value` as an astring in a response: an atom where every octet is an ATOM-CHAR, else a
/// quoted string, else (CR, LF or 8-bit octets) a literal.
fn astring_text(value: &str) -> String {
    let atom_char = |b: u8| b.is_ascii_graphic() && !b"(){%*\"\\]".contains(&b);
    if !value.is_empty() && value.bytes().all(atom_char) {
        value.to_owned()
    } else if value.bytes().all(|b| b.is_ascii() && !b.is_ascii_control()) {
        format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        format!("{{{}}}\r\n{value}", value.len())
    }
}

/// `section-part = nz-number *("." nz-number)` at the start of a section, and the rest
/// (`section-text`, after a dot); `None` for a zero or out-of-range part number.
pub(crate) fn section_part(inner: &str) -> Option<(Vec<u32>, &str)> {
    let mut part = Vec::new();
    let mut rest = inner;
    while rest.starts_with(|c: char| c.is_ascii_digit()) {
        let end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let number: u32 = rest[..end].parse().ok()?;
        if number == 0 {
            return None;
        }
        part.push(number);
        rest = &rest[end..];
        match rest.strip_prefix('.') {
            Some(after) if !after.is_empty() => rest = after,
            Some(_) => return None,
            None if rest.is_empty() => break,
            None => return None,
        }
    }
    Some((part, rest))
}

/// The message after its header (RFC 5322 §2.1: the first empty line); empty if none.
pub(crate) fn body(raw: &[u8]) -> &[u8] {
    raw.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(&[][..], |at| &raw[at + 4..])
}

/// The header's fields, each with its continuation lines and line ends.
pub(crate) fn fields(header: &[u8]) -> Vec<Vec<u8>> {
    let mut fields: Vec<Vec<u8>> = Vec::new();
    for line in header.split_inclusive(|&b| b == b'\n') {
        match (line.first(), fields.last_mut()) {
            (Some(b' ' | b'\t'), Some(field)) => field.extend_from_slice(line),
            (Some(b'\r' | b'\n'), _) | (None, _) => {}
            (Some(_), _) => fields.push(line.to_vec()),
        }
    }
    fields
}

/// A field's name (before the colon; the whole field if it has none).
pub(crate) fn field_name(field: &[u8]) -> &[u8] {
    let colon = field.iter().position(|&b| b == b':').unwrap_or(field.len());
    field[..colon].trim_ascii()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAW: &[u8] = b"From: a\r\nSubject: b\r\n c\r\nTo: d\r\n\r\nbody\r\n";

    #[test]
    fn sections() {
        let get = |item: &str| BodyItem::parse(item).expect("a known item").extract(RAW);
        assert_eq!(get("BODY[TEXT]"), b"body\r\n");
        assert_eq!(
            get("BODY.PEEK[HEADER]"),
            b"From: a\r\nSubject: b\r\n c\r\nTo: d\r\n\r\n"
        );
        assert_eq!(get("BODY[HEADER.FIELDS (SUBJECT)]"), b"Subject: b\r\n c\r\n\r\n");
        assert_eq!(get("BODY[HEADER.FIELDS.NOT (SUBJECT TO)]"), b"From: a\r\n\r\n");
        assert_eq!(get("BODY[]<2.3>"), b"om:");
        assert_eq!(
            BodyItem::parse("BODY[]<2.3>").map(|b| b.name),
            Some("BODY[]<2>".to_owned())
        );
        assert_eq!(
            BodyItem::parse("BODY[1.2.MIME]").map(|b| (b.part, b.section)),
            Some((vec![1, 2], Section::Mime))
        );
        assert_eq!(BodyItem::parse("BODY[0]"), None);
        assert_eq!(BodyItem::parse("BODY[1..2]"), None);
        assert_eq!(BodyItem::parse("BODY[1TEXT]"), None);
        assert_eq!(BodyItem::parse("BODY[99999999999]"), None);
    }

    /// RFC 9051 §9: `header-fld-name = astring`, decoded from an atom, a quoted string or a
    /// literal; anything else in the list is refused.
    #[test]
    fn header_field_names_are_decoded_astrings() {
        let names = |list: &str| header_list(list);
        let decoded = Some(vec!["A".to_owned(), "B\"]".to_owned(), "C D".to_owned()]);
        assert_eq!(names("(A \"B\\\"]\" {3}\r\nC D)"), decoded);
        for bad in [
            "()",
            "(A  B)",
            "(\"A)",
            "(\"A\\x\")",
            "({9}\r\nA)",
            "(A(B)",
            "(A )",
        ] {
            assert_eq!(names(bad), None, "{bad}");
        }
        assert_eq!(astring_text("X-TAG"), "X-TAG");
        assert_eq!(astring_text("A]\"\\"), "\"A]\\\"\\\\\"");
        assert_eq!(astring_text("A\r\nB"), "{4}\r\nA\r\nB");
        assert_eq!(astring_text(""), "\"\"");
    }
}
