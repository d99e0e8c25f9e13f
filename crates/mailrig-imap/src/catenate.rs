//! CATENATE (RFC 4469): an APPEND whose message is put together from `TEXT` literals and
//! `URL`s naming messages, or parts of them, already in the user's mailboxes.
//!
//! Read first: RFC 4469 §5 (the grammar; "the server MUST ... NO \[BADURL\]" for a URL it
//! cannot resolve), RFC 5092 §6 (IMAP URLs: `/mailbox;UIDVALIDITY=n/;UID=m/;SECTION=s/;PARTIAL=o.l`,
//! `imap://user@host` before that path, and the path alone relative to the selected mailbox).

use std::cell::OnceCell;

use crate::command::Token;
use crate::completion::Refusal;
use crate::defect::Defect;
use crate::error::SyntaxError;
use crate::section::BodyItem;
use crate::session::Session;

/// What an IMAP URL names (RFC 5092 §6 `imessagepart`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Url {
    /// The mailbox, percent-decoded; `None` for a URL relative to the selected mailbox.
    mailbox: Option<String>,
    uidvalidity: Option<u32>,
    uid: u32,
    /// `;SECTION=` (a FETCH `section-spec`), empty for the whole message.
    section: String,
    /// `;PARTIAL=origin[.length]`.
    partial: Option<(usize, Option<usize>)>,
}

impl Session {
    /// `"CATENATE" SP "(" cat-part *(SP cat-part) ")"`, `cat-part = text-literal / url`,
    /// `text-literal = "TEXT" SP literal`, `url = "URL" SP astring` (RFC 4469 §5): the
    /// message they make, in order.
    pub(crate) fn catenate(&self, parts: &[Token]) -> Result<Vec<u8>, Refusal> {
        if parts.is_empty() || !parts.len().is_multiple_of(2) {
            return Err(SyntaxError::Arguments.into());
        }
        let mut message = Vec::new();
        for pair in parts.chunks(2) {
            match pair {
                [Token::Atom(kind), Token::String(text)] if kind.eq_ignore_ascii_case("TEXT") => {
                    message.extend_from_slice(text);
                }
                [Token::Atom(kind), url] if kind.eq_ignore_ascii_case("URL") => {
                    let url = url.astring().ok_or(SyntaxError::Arguments)?;
                    message.extend(self.resolve(&url)?);
                }
                _ => return Err(SyntaxError::Arguments.into()),
            }
            if message.len() > self.config.max_literal {
                return Err(Refusal::no("catenated message too large").with_code("TOOBIG"));
            }
        }
        Ok(message)
    }

    /// The octets `url` names, or `NO [BADURL url]`.
    fn resolve(&self, text: &str) -> Result<Vec<u8>, Refusal> {
        let bad =
            |why: &str| Refusal::no(why.to_owned()).with_code(format!("BADURL {}", text.replace(']', "%5D")));
        let url = parse_url(text).ok_or_else(|| bad("invalid IMAP URL"))?;
        let login = self.authenticated()?;
        let mailbox = match (&url.mailbox, &self.selected) {
            (Some(mailbox), _) => mailbox.clone(),
            (None, Some(selected)) => selected.watch.mailbox_name(),
            (None, None) => return Err(bad("relative URL without a selected mailbox")),
        };
        let status = self
            .store
            .status(login, &mailbox)
            .map_err(|_| bad("no such mailbox"))?;
        if url.uidvalidity.is_some_and(|v| v != status.uidvalidity) {
            return Err(bad("UIDVALIDITY does not match"));
        }
        let found = self.store.messages_with_uids(login, &mailbox, &[url.uid]);
        let message = found
            .ok()
            .and_then(|m| m.into_iter().next())
            .ok_or_else(|| bad("no such message"))?;
        let section = if self.config.defects.has(Defect::CatenateSectionIgnored) {
            ""
        } else {
            &url.section
        };
        let mut item = BodyItem::parse(&format!("BODY.PEEK[{}]", section.to_ascii_uppercase()))
            .ok_or_else(|| bad("invalid SECTION"))?;
        // `;PARTIAL=` cuts like FETCH's `<origin.count>`; without a length, to the end.
        item.partial = url
            .partial
            .map(|(origin, length)| (origin, length.unwrap_or(usize::MAX)));
        Ok(item.extract_from(&message.raw, &OnceCell::new()))
    }
}

/// `imessagepart` (RFC 5092 §11), optionally after `imap://` and an authority (the user's
/// own server is assumed): `[/enc-mailbox [;UIDVALIDITY=n]] /;UID=m [/;SECTION=s]
/// [/;PARTIAL=o[.l]]`. A URL without a mailbox is relative to the selected one.
fn parse_url(text: &str) -> Option<Url> {
    let path = match text.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case("imap://") => &text[text[7..].find('/')? + 7..],
        _ => text,
    };
    let mut segments = path.strip_prefix('/')?.split('/');
    let mut first = segments.next()?;
    let mut url = Url {
        mailbox: None,
        uidvalidity: None,
        uid: 0,
        section: String::new(),
        partial: None,
    };
    if !first.starts_with(';') {
        let (name, validity) = match first.split_once(';') {
            Some((name, param)) => (name, Some(param.strip_prefix("UIDVALIDITY=")?.parse().ok()?)),
            None => (first, None),
        };
        url.mailbox = Some(percent_decode(name)?);
        url.uidvalidity = validity;
        first = segments.next()?;
    }
    url.uid = first.strip_prefix(";UID=")?.parse().ok()?;
    for segment in segments {
        if let Some(section) = segment.strip_prefix(";SECTION=") {
            url.section = percent_decode(section)?;
        } else if let Some(partial) = segment.strip_prefix(";PARTIAL=") {
            url.partial = Some(match partial.split_once('.') {
                Some((origin, length)) => (origin.parse().ok()?, Some(length.parse().ok()?)),
                None => (partial.parse().ok()?, None),
            });
        } else {
            return None;
        }
    }
    (url.uid > 0).then_some(url)
}

/// `%XX` escapes undone (RFC 3986 §2.1); `None` for a broken escape or invalid UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4469 §5's example URLs and RFC 5092 forms.
    #[test]
    fn urls() {
        let url = parse_url("/Drafts;UIDVALIDITY=385759045/;UID=20/;SECTION=HEADER").unwrap();
        assert_eq!(url.mailbox.as_deref(), Some("Drafts"));
        assert_eq!(
            (url.uidvalidity, url.uid, url.section.as_str()),
            (Some(385_759_045), 20, "HEADER")
        );
        let url = parse_url("imap://alice@example.test/a%20b/;UID=3/;SECTION=1.2/;PARTIAL=4.5").unwrap();
        assert_eq!(url.mailbox.as_deref(), Some("a b"));
        assert_eq!((url.uid, url.partial), (3, Some((4, Some(5)))));
        let url = parse_url("/;UID=7").unwrap();
        assert_eq!((url.mailbox, url.uid), (None, 7));
        for bad in [
            "INBOX/;UID=1",
            "/INBOX/;UID=0",
            "/INBOX",
            "/INBOX/;UID=1/;BOGUS=2",
            "/a%zz/;UID=1",
        ] {
            assert_eq!(parse_url(bad), None, "{bad}");
        }
    }
}
