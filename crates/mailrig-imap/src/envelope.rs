//! `ENVELOPE` (RFC 9051 §7.5.2 `envelope`, RFC 3501 §7.4.2) from a message's raw header,
//! with RFC 5322 §3.4 address lists parsed into `(name adl mailbox host)` and groups.
//!
//! Read first: RFC 3501 §7.4.2 ENVELOPE (group syntax, Sender/Reply-To defaulting to From).
//! Values are sent as the message spells them, unfolded: encoded words are not decoded. Broken
//! addresses get Dovecot's placeholders `MISSING_MAILBOX` and `MISSING_DOMAIN`, because a NIL
//! host would turn an address into a group marker.

use crate::mime::{Part, unfold};
use crate::response::string;

/// `envelope` of the message `raw`.
#[cfg(test)]
pub(crate) fn envelope(raw: &[u8]) -> Vec<u8> {
    envelope_of(raw, &Part::parse(raw))
}

/// `envelope = "(" env-date SP env-subject SP env-from SP env-sender SP env-reply-to SP
/// env-to SP env-cc SP env-bcc SP env-in-reply-to SP env-message-id ")"`, from the header
/// of `root`, a message's root part.
pub(crate) fn envelope_of(raw: &[u8], root: &Part) -> Vec<u8> {
    let field = |name| root.field(raw, name);
    let addresses = |name| field(name).map(address_list).unwrap_or_default();
    let from = addresses("from");
    let or_from = |list: Vec<Address>| if list.is_empty() { from.clone() } else { list };
    let mut out = vec![b'('];
    nstring(&mut out, field("date").map(unfold).as_deref());
    out.push(b' ');
    nstring(&mut out, field("subject").map(unfold).as_deref());
    for list in [
        &from,
        &or_from(addresses("sender")),
        &or_from(addresses("reply-to")),
        &addresses("to"),
        &addresses("cc"),
        &addresses("bcc"),
    ] {
        out.push(b' ');
        write_addresses(&mut out, list);
    }
    for name in ["in-reply-to", "message-id"] {
        out.push(b' ');
        nstring(&mut out, field(name).map(unfold).as_deref());
    }
    out.push(b')');
    out
}

/// The addresses of an address-list field's `value` as SEARCH FROM/TO/CC/BCC match them
/// (RFC 3501 §6.4.4: "the envelope structure's" field, so RFC 5322 §3.4 as ENVELOPE reads
/// it): for each mailbox `local@domain`, and with a display name `name <local@domain>`;
/// for a group, its name. The placeholders of missing parts are not text to match.
pub(crate) fn address_texts(value: &[u8]) -> Vec<Vec<u8>> {
    let mut texts = Vec::new();
    for address in address_list(value) {
        let (name, mailbox, host) = (address.name, address.mailbox, address.host);
        let Some(host) = host.filter(|host| host != MISSING_DOMAIN) else {
            // A group's start (its name) or end (nothing), or a broken address.
            texts.extend(mailbox.filter(|m| m != MISSING_MAILBOX));
            continue;
        };
        let Some(mailbox) = mailbox.filter(|m| m != MISSING_MAILBOX) else {
            continue;
        };
        let addr_spec = [&mailbox[..], b"@", &host].concat();
        if let Some(name) = name {
            texts.push([&name[..], b" <", &addr_spec, b">"].concat());
        }
        texts.push(addr_spec);
    }
    texts
}

/// `nstring = string / nil`.
pub(crate) fn nstring(out: &mut Vec<u8>, value: Option<&[u8]>) {
    match value {
        Some(value) => string(out, value),
        None => out.extend_from_slice(b"NIL"),
    }
}

/// `address = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"`. A group starts
/// with `(NIL NIL "name" NIL)` and ends with `(NIL NIL NIL NIL)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Address {
    name: Option<Vec<u8>>,
    adl: Option<Vec<u8>>,
    mailbox: Option<Vec<u8>>,
    host: Option<Vec<u8>>,
}

/// `"(" 1*address ")" / nil`.
fn write_addresses(out: &mut Vec<u8>, list: &[Address]) {
    if list.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for address in list {
        out.push(b'(');
        nstring(out, address.name.as_deref());
        for part in [&address.adl, &address.mailbox, &address.host] {
            out.push(b' ');
            nstring(out, part.as_deref());
        }
        out.push(b')');
    }
    out.push(b')');
}

/// RFC 5322 §3.2 lexical tokens of an address field.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// An atom, or a quoted string's content.
    Word(Vec<u8>),
    /// `domain-literal`, brackets included.
    Literal(Vec<u8>),
    /// One of `<>:;@,.` (and any stray `]` or `\`).
    Special(u8),
    /// A comment's content.
    Comment(Vec<u8>),
}

fn lex(input: &[u8]) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut pos = 0;
    while let Some(&b) = input.get(pos) {
        match b {
            b' ' | b'\t' | b'\r' | b'\n' => pos += 1,
            b'"' => {
                let (word, end) = delimited(input, pos + 1, b'"', false);
                tokens.push(Token::Word(word));
                pos = end;
            }
            b'(' => {
                let (comment, end) = delimited(input, pos + 1, b')', true);
                tokens.push(Token::Comment(comment));
                pos = end;
            }
            b'[' => {
                let end = input[pos..]
                    .iter()
                    .position(|&b| b == b']')
                    .map_or(input.len(), |at| pos + at + 1);
                tokens.push(Token::Literal(input[pos..end].to_vec()));
                pos = end;
            }
            b'<' | b'>' | b':' | b';' | b'@' | b',' | b'.' | b']' | b'\\' | b')' => {
                tokens.push(Token::Special(b));
                pos += 1;
            }
            _ => {
                let start = pos;
                while input
                    .get(pos)
                    .is_some_and(|&b| b > b' ' && b != 0x7f && !b"()<>[]:;@\\,.\"".contains(&b))
                {
                    pos += 1;
                }
                if pos == start {
                    // A control character: skipped.
                    pos += 1;
                } else {
                    tokens.push(Token::Word(input[start..pos].to_vec()));
                }
            }
        }
    }
    tokens
}

/// A quoted string's or (nesting) comment's content from `start` to its closing byte, with
/// quoted-pairs resolved and line breaks dropped; the position after it.
fn delimited(input: &[u8], start: usize, close: u8, nests: bool) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut pos = start;
    while let Some(&b) = input.get(pos) {
        pos += 1;
        match b {
            b'\\' => {
                if let Some(&next) = input.get(pos) {
                    out.push(next);
                    pos += 1;
                }
            }
            b'\r' | b'\n' => {}
            b'(' if nests => {
                depth += 1;
                out.push(b);
            }
            _ if b == close && depth == 0 => return (out, pos),
            b')' if nests => {
                depth -= 1;
                out.push(b);
            }
            _ => out.push(b),
        }
    }
    (out, pos)
}

/// `address-list` (RFC 5322 §3.4), leniently: whatever cannot be an address is skipped.
fn address_list(value: &[u8]) -> Vec<Address> {
    let tokens = lex(value);
    let mut parser = Parser {
        tokens: &tokens,
        pos: 0,
    };
    let mut out = Vec::new();
    let mut in_group = false;
    while let Some(token) = parser.peek() {
        match token {
            Token::Special(b',') | Token::Comment(_) => parser.pos += 1,
            Token::Special(b';') => {
                parser.pos += 1;
                if std::mem::take(&mut in_group) {
                    out.push(Address::default());
                }
            }
            _ => match parser.mailbox_or_group(in_group) {
                Some(Entry::Group(name)) => {
                    in_group = true;
                    out.push(Address {
                        mailbox: Some(name),
                        ..Address::default()
                    });
                }
                Some(Entry::Mailbox(address)) => out.push(address),
                None => {}
            },
        }
    }
    if in_group {
        out.push(Address::default());
    }
    out
}

enum Entry {
    Group(Vec<u8>),
    Mailbox(Address),
}

struct Parser<'a> {
    tokens: &'a [Token],
    pos: usize,
}

const MISSING_MAILBOX: &[u8] = b"MISSING_MAILBOX";
const MISSING_DOMAIN: &[u8] = b"MISSING_DOMAIN";

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&'a Token> {
        self.tokens.get(self.pos)
    }

    /// `mailbox / group` up to (not including) the next `,` or `;`.
    fn mailbox_or_group(&mut self, in_group: bool) -> Option<Entry> {
        let mut phrase: Vec<u8> = Vec::new();
        let mut local: Vec<u8> = Vec::new();
        let mut comment = None;
        while let Some(token) = self.peek() {
            self.pos += 1;
            match token {
                Token::Word(word) | Token::Literal(word) => {
                    if !phrase.is_empty() {
                        phrase.push(b' ');
                    }
                    phrase.extend_from_slice(word);
                    local.extend_from_slice(word);
                }
                Token::Special(b'.') => {
                    phrase.push(b'.');
                    local.push(b'.');
                }
                Token::Comment(text) => comment = Some(text.clone()),
                Token::Special(b':') if !in_group => return Some(Entry::Group(phrase)),
                Token::Special(b'<') => {
                    let mut address = self.angle_addr();
                    address.name = (!phrase.is_empty()).then_some(phrase);
                    return Some(Entry::Mailbox(address));
                }
                Token::Special(b'@') => {
                    let (host, after) = self.domain();
                    return Some(Entry::Mailbox(Address {
                        name: after.or(comment),
                        adl: None,
                        mailbox: Some(local),
                        host: Some(host),
                    }));
                }
                Token::Special(b',' | b';') => {
                    self.pos -= 1;
                    break;
                }
                Token::Special(_) => {}
            }
        }
        (!local.is_empty()).then(|| {
            Entry::Mailbox(Address {
                name: comment,
                adl: None,
                mailbox: Some(local),
                host: Some(MISSING_DOMAIN.to_vec()),
            })
        })
    }

    /// After `<`: `[obs-route] addr-spec ">"` (`obs-route = obs-domain-list ":"`).
    fn angle_addr(&mut self) -> Address {
        let mut address = Address::default();
        if self.peek() == Some(&Token::Special(b'@')) {
            let mut route = Vec::new();
            while let Some(token) = self.peek() {
                self.pos += 1;
                match token {
                    Token::Special(b':') => break,
                    Token::Special(b'>') => {
                        self.pos -= 1;
                        break;
                    }
                    Token::Special(b) => route.push(*b),
                    Token::Word(word) | Token::Literal(word) => route.extend_from_slice(word),
                    Token::Comment(_) => {}
                }
            }
            address.adl = Some(route);
        }
        let mut local = Vec::new();
        let mut host = None;
        while let Some(token) = self.peek() {
            self.pos += 1;
            match token {
                Token::Special(b'>') => break,
                Token::Special(b'@') => {
                    let (domain, _) = self.domain();
                    host = Some(domain);
                    if self.peek() == Some(&Token::Special(b'>')) {
                        self.pos += 1;
                    }
                    break;
                }
                Token::Special(b'.') => local.push(b'.'),
                Token::Word(word) | Token::Literal(word) => local.extend_from_slice(word),
                Token::Special(b',' | b';') => {
                    self.pos -= 1;
                    break;
                }
                Token::Special(_) | Token::Comment(_) => {}
            }
        }
        // Anything after the angle address up to the next separator is ignored.
        while let Some(token) = self.peek() {
            if matches!(token, Token::Special(b',' | b';')) {
                break;
            }
            self.pos += 1;
        }
        address.mailbox = Some(if local.is_empty() {
            MISSING_MAILBOX.to_vec()
        } else {
            local
        });
        address.host = Some(host.unwrap_or_else(|| MISSING_DOMAIN.to_vec()));
        address
    }

    /// After `@`: the domain (dot-atoms and literals) and a comment after it (a name, as in
    /// `addr@host (Name)`); stops before `,` `;` `>`.
    fn domain(&mut self) -> (Vec<u8>, Option<Vec<u8>>) {
        let mut domain = Vec::new();
        let mut comment = None;
        // `obs-domain = atom *("." atom)`, with CFWS around each part: a word continues the
        // domain at its start or after a dot, whatever comments stand between.
        let mut expects_word = true;
        while let Some(token) = self.peek() {
            match token {
                Token::Special(b',' | b';' | b'>') => break,
                Token::Special(b'.') => {
                    domain.push(b'.');
                    expects_word = true;
                }
                Token::Word(word) | Token::Literal(word) if expects_word => {
                    domain.extend_from_slice(word);
                    expects_word = false;
                }
                Token::Comment(text) => comment = Some(text.clone()),
                _ => {}
            }
            self.pos += 1;
        }
        if domain.is_empty() {
            domain = MISSING_DOMAIN.to_vec();
        }
        (domain, comment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 9: comments (CFWS) on either side of the `@` and around the dots of the
    /// domain are not part of the address (RFC 5322 §3.4.1, §4.4 `obs-domain`).
    #[test]
    fn comments_around_the_at_sign_are_dropped() {
        assert_eq!(
            list("<user-from (comment)@ (comment) domain.org>"),
            "((NIL NIL \"user-from\" \"domain.org\"))"
        );
        assert_eq!(
            list("a @ (c) b (d) . org (Name) trailing"),
            "((\"Name\" NIL \"a\" \"b.org\"))"
        );
        assert_eq!(
            address_texts(b"\"J o\" <j@x.org>, g: k@y.org;"),
            [&b"J o <j@x.org>"[..], b"j@x.org", b"g", b"k@y.org"]
        );
    }

    fn list(value: &str) -> String {
        let mut out = Vec::new();
        write_addresses(&mut out, &address_list(value.as_bytes()));
        String::from_utf8(out).expect("ASCII input")
    }

    #[test]
    fn addresses() {
        assert_eq!(
            list("\"Joe Q. Public\" <john.q.public@example.com>"),
            "((\"Joe Q. Public\" NIL \"john.q.public\" \"example.com\"))"
        );
        assert_eq!(
            list("Joe Q. Public <j@x>"),
            "((\"Joe Q. Public\" NIL \"j\" \"x\"))"
        );
        assert_eq!(
            list("a@b (Comment), <c@[1.2.3.4]>"),
            "((\"Comment\" NIL \"a\" \"b\")(NIL NIL \"c\" \"[1.2.3.4]\"))"
        );
        // RFC 5322 §A.1.3 groups; checked against Dovecot 2.3.
        assert_eq!(
            list("A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;, x@y"),
            "((NIL NIL \"A Group\" NIL)(\"Ed Jones\" NIL \"c\" \"a.test\")(NIL NIL \"joe\" \"where.test\")\
             (\"John\" NIL \"jdoe\" \"one.test\")(NIL NIL NIL NIL)(NIL NIL \"x\" \"y\"))"
        );
        assert_eq!(
            list("Undisclosed recipients:;"),
            "((NIL NIL \"Undisclosed recipients\" NIL)(NIL NIL NIL NIL))"
        );
        assert_eq!(
            list("Unterminated: a@b"),
            "((NIL NIL \"Unterminated\" NIL)(NIL NIL \"a\" \"b\")(NIL NIL NIL NIL))"
        );
    }

    /// Checked against Dovecot 2.3.19: `To: foo, "x" <@route1,@route2:bar@baz>, <>, bad@`.
    #[test]
    fn broken_addresses_and_routes() {
        assert_eq!(
            list("foo, \"x\" <@route1,@route2:bar@baz>, <>, bad@"),
            "((NIL NIL \"foo\" \"MISSING_DOMAIN\")(\"x\" \"@route1,@route2\" \"bar\" \"baz\")\
             (NIL NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")(NIL NIL \"bad\" \"MISSING_DOMAIN\"))"
        );
        assert_eq!(list(""), "NIL");
        assert_eq!(list(" ,, ;(c)"), "NIL");
        assert_eq!(list("<a@b"), "((NIL NIL \"a\" \"b\"))");
        assert_eq!(
            list("\"unterminated <a@b>"),
            "((NIL NIL \"unterminated <a@b>\" \"MISSING_DOMAIN\"))"
        );
    }

    #[test]
    fn envelope_defaults_sender_and_reply_to_to_from() {
        let raw = b"From: a@b\r\nSender:\r\nSubject: folded\r\n  twice\r\n\r\n";
        assert_eq!(
            String::from_utf8(envelope(raw)).expect("ASCII"),
            "(NIL \"folded  twice\" ((NIL NIL \"a\" \"b\")) ((NIL NIL \"a\" \"b\")) ((NIL NIL \"a\" \"b\")) NIL NIL NIL NIL NIL)"
        );
    }
}
