//! Received IMAP responses as values: one framed response line (CRLF and literals included)
//! parsed into a tag, a status with its response code and text, or a list of tokens.
//!
//! Heads up: RFC 9051 §7 (server responses), §9 (`response`, `resp-text`, `astring`,
//! `nstring`, `literal`), §4.3 (literals). The parser is deliberately generic: it knows the
//! token grammar shared by all responses, not each response's own syntax, so that a response
//! it has never heard of still parses. It is strict about what the token grammar fixes (one
//! space between tokens, balanced parentheses, literal sizes), because a response that breaks
//! it is not the same response spelled differently.

use std::ops::Range;

/// How deep parentheses and brackets may nest before a line is refused (a hostile peer must
/// not be able to exhaust the stack).
const MAX_DEPTH: usize = 64;

/// One received response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Untagged, tagged or a continuation request.
    pub tag: Tag,
    /// What follows the tag.
    pub body: Body,
}

/// The first token of a response (RFC 9051 §2.2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tag {
    /// `*`: an untagged response.
    Untagged,
    /// A tagged completion; the tag's bytes.
    Tagged(Vec<u8>),
    /// `+`: a command continuation request.
    Continuation,
}

/// What follows the tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// `OK`, `NO`, `BAD`, `PREAUTH` or `BYE` with a response code and human-readable text
    /// (RFC 9051 `resp-cond-state`, `resp-cond-auth`, `resp-cond-bye`); for a continuation
    /// request `status` is `None`.
    Status {
        /// The status word, uppercased; `None` for `+` lines.
        status: Option<Token>,
        /// The `[...]` response code, as the tokens between the brackets.
        code: Option<Code>,
        /// Where the text after the status word (or after the code's `]`) starts and ends in
        /// the line, CRLF excluded. It includes the space that separates it.
        text: Range<usize>,
    },
    /// Any other untagged response: `* 3 EXISTS`, `* 1 FETCH (...)`, `* CAPABILITY ...`.
    Data(Vec<Token>),
}

/// A `[...]` response code (RFC 9051 `resp-text-code`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    /// The tokens between the brackets: the code's name first.
    pub tokens: Vec<Token>,
    /// Where the code is in the line, brackets included.
    pub span: Range<usize>,
}

/// A token and where it is in the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The token's value.
    pub value: Value,
    /// Its bytes in the line.
    pub span: Range<usize>,
}

/// A token's value. Strings are compared by value, whatever their encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// An atom, a flag (`\Seen`), a sequence set, or a FETCH item name with its section
    /// (`BODY[HEADER.FIELDS (SUBJECT)]<0>`), as sent.
    Atom(Vec<u8>),
    /// An atom made only of digits that fits a `u64` (RFC 9051 `number64`).
    Number(u64),
    /// A quoted string (unescaped) or a literal's content.
    String(Vec<u8>),
    /// `NIL`.
    Nil,
    /// A parenthesized list.
    List(Vec<Token>),
}

impl Value {
    /// The bytes a scalar value stands for: an atom's text, a number's digits, a string's
    /// content, `NIL`. `None` for a list.
    pub fn bytes(&self) -> Option<std::borrow::Cow<'_, [u8]>> {
        match self {
            Value::Atom(a) | Value::String(a) => Some(a.as_slice().into()),
            Value::Number(n) => Some(n.to_string().into_bytes().into()),
            Value::Nil => Some(b"NIL".as_slice().into()),
            Value::List(_) => None,
        }
    }
}

/// Why a line is not a response; `at` is the byte offset where parsing stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not an IMAP response: unexpected input at byte {at}")]
pub struct DecodeError {
    /// Byte offset of the first byte that does not fit.
    pub at: usize,
}

/// Parses one complete response line as framed by [`crate::framing::next_line`]; the final
/// CRLF may be missing (the last line of a stream).
///
/// ```abnf
/// response-data = "*" SP (resp-cond-state / resp-cond-bye / mailbox-data / message-data
///                 / capability-data / enable-data) CRLF
/// response-tagged = tag SP resp-cond-state CRLF
/// continue-req  = "+" SP (resp-text / base64) CRLF
/// ```
pub fn decode(line: &[u8]) -> Result<Response, DecodeError> {
    let end = line.strip_suffix(b"\r\n").map_or(line.len(), <[u8]>::len);
    let mut r = Reader {
        buf: &line[..end],
        pos: 0,
        depth: 0,
        in_code: false,
    };
    let tag = r.tag()?;
    let body = match tag {
        Tag::Continuation => r.continuation()?,
        Tag::Untagged | Tag::Tagged(_) => r.after_tag(matches!(tag, Tag::Tagged(_)))?,
    };
    Ok(Response { tag, body })
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    depth: usize,
    /// Inside `[...]` of a response code, where `]` ends the code rather than continuing an
    /// astring.
    in_code: bool,
}

impl Reader<'_> {
    fn fail<T>(&self) -> Result<T, DecodeError> {
        Err(DecodeError { at: self.pos })
    }

    fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let hit = self.peek() == Some(byte);
        self.pos += usize::from(hit);
        hit
    }

    fn expect(&mut self, byte: u8) -> Result<(), DecodeError> {
        if self.eat(byte) { Ok(()) } else { self.fail() }
    }

    /// `tag = 1*<any ASTRING-CHAR except "+">`, or `*`, or `+`.
    fn tag(&mut self) -> Result<Tag, DecodeError> {
        if self.eat(b'*') {
            return Ok(Tag::Untagged);
        }
        if self.eat(b'+') {
            return Ok(Tag::Continuation);
        }
        let start = self.pos;
        while self.peek().is_some_and(|b| is_atom_char(b) && b != b'+') {
            self.pos += 1;
        }
        if self.pos == start {
            return self.fail();
        }
        Ok(Tag::Tagged(self.buf[start..self.pos].to_vec()))
    }

    /// `continue-req = "+" SP (resp-text / base64)`; a bare `+` is tolerated.
    fn continuation(&mut self) -> Result<Body, DecodeError> {
        if self.pos == self.buf.len() {
            return Ok(Body::Status {
                status: None,
                code: None,
                text: self.pos..self.pos,
            });
        }
        self.expect(b' ')?;
        let code = if self.peek() == Some(b'[') {
            Some(self.code()?)
        } else {
            None
        };
        Ok(Body::Status {
            status: None,
            code,
            text: self.pos..self.buf.len(),
        })
    }

    /// After the tag: a status response (`resp-cond-*`) or, untagged, any data response.
    fn after_tag(&mut self, tagged: bool) -> Result<Body, DecodeError> {
        self.expect(b' ')?;
        let first = self.token()?;
        let status = match &first.value {
            Value::Atom(word) => {
                let word = word.to_ascii_uppercase();
                let states: &[&[u8]] = if tagged {
                    &[b"OK", b"NO", b"BAD"]
                } else {
                    &[b"OK", b"NO", b"BAD", b"PREAUTH", b"BYE"]
                };
                states.contains(&word.as_slice()).then_some(word)
            }
            _ => None,
        };
        let Some(word) = status else {
            if tagged {
                return Err(DecodeError { at: first.span.start });
            }
            let mut tokens = vec![first];
            while self.pos < self.buf.len() {
                self.expect(b' ')?;
                tokens.push(self.token()?);
            }
            return Ok(Body::Data(tokens));
        };
        let status = Token {
            value: Value::Atom(word),
            span: first.span,
        };
        self.resp_text(status)
    }

    /// `resp-text = ["[" resp-text-code "]" SP] [text]`. A missing space after `]` or after
    /// the status word (no text at all) is tolerated.
    fn resp_text(&mut self, status: Token) -> Result<Body, DecodeError> {
        let code = if self.buf[self.pos..].starts_with(b" [") {
            self.pos += 1;
            Some(self.code()?)
        } else {
            None
        };
        if self.pos < self.buf.len() && self.peek() != Some(b' ') {
            return self.fail();
        }
        if self.buf[self.pos..].iter().any(|b| matches!(b, b'\r' | b'\n')) {
            return self.fail();
        }
        Ok(Body::Status {
            status: Some(status),
            code,
            text: self.pos..self.buf.len(),
        })
    }

    /// `"[" resp-text-code "]"`: an atom, then tokens separated by single spaces.
    fn code(&mut self) -> Result<Code, DecodeError> {
        let start = self.pos;
        self.expect(b'[')?;
        self.in_code = true;
        let tokens = self.code_tokens();
        self.in_code = false;
        let tokens = tokens?;
        self.expect(b']')?;
        Ok(Code {
            tokens,
            span: start..self.pos,
        })
    }

    /// The tokens of a response code, separated by single spaces.
    fn code_tokens(&mut self) -> Result<Vec<Token>, DecodeError> {
        let mut tokens = vec![self.token()?];
        while self.eat(b' ') {
            tokens.push(self.token()?);
        }
        Ok(tokens)
    }

    /// One token: a list, a quoted string, a literal, `NIL`, a number or an atom.
    fn token(&mut self) -> Result<Token, DecodeError> {
        let start = self.pos;
        let value = match self.peek() {
            Some(b'(') => self.list()?,
            Some(b'"') => Value::String(self.quoted()?),
            Some(b'{') => Value::String(self.literal()?),
            Some(b'~') if self.buf.get(self.pos + 1) == Some(&b'{') => {
                self.pos += 1;
                Value::String(self.literal()?)
            }
            _ => atom_value(self.atom()?),
        };
        Ok(Token {
            value,
            span: start..self.pos,
        })
    }

    /// `"(" [token *(SP token)] ")"`.
    fn list(&mut self) -> Result<Value, DecodeError> {
        self.expect(b'(')?;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.fail();
        }
        let mut items = Vec::new();
        if !self.eat(b')') {
            items.push(self.token()?);
            while self.eat(b' ') {
                items.push(self.token()?);
            }
            self.expect(b')')?;
        }
        self.depth -= 1;
        Ok(Value::List(items))
    }

    /// `quoted = DQUOTE *QUOTED-CHAR DQUOTE`, where `\` escapes `"` and `\` only.
    fn quoted(&mut self) -> Result<Vec<u8>, DecodeError> {
        self.expect(b'"')?;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(b @ (b'"' | b'\\')) => out.push(b),
                        _ => return self.fail(),
                    }
                }
                Some(b'\r' | b'\n') | None => return self.fail(),
                Some(b) => out.push(b),
            }
            self.pos += 1;
        }
    }

    /// `literal = "{" number64 "}" CRLF *CHAR8` (and `literal8 = "~{" ...`).
    fn literal(&mut self) -> Result<Vec<u8>, DecodeError> {
        self.expect(b'{')?;
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        let size = std::str::from_utf8(&self.buf[start..self.pos])
            .ok()
            .and_then(|d| d.parse::<usize>().ok());
        let Some(size) = size.filter(|_| self.pos - start <= 10) else {
            return self.fail();
        };
        self.expect(b'}')?;
        self.expect(b'\r')?;
        self.expect(b'\n')?;
        let Some(data) = self.buf.get(self.pos..self.pos.saturating_add(size)) else {
            return self.fail();
        };
        self.pos += size;
        Ok(data.to_vec())
    }

    /// An atom, with a FETCH item's section and partial kept as part of it: `BODY[1.MIME]`,
    /// `BODY[HEADER.FIELDS (SUBJECT)]<0>` (RFC 9051 `msg-att-static`). Outside a response
    /// code an atom is read as an astring, whose characters include `]` (RFC 9051
    /// `ASTRING-CHAR`), so a mailbox name such as `a]b[c` is one token; a `[` that opens no
    /// complete section is then an ordinary character too.
    fn atom(&mut self) -> Result<Vec<u8>, DecodeError> {
        let start = self.pos;
        while let Some(b) = self.peek() {
            if b == b'[' && self.pos > start {
                let before = self.pos;
                if self.section().is_err() {
                    if self.in_code {
                        return self.fail();
                    }
                    self.pos = before + 1;
                }
            } else if is_atom_char(b) || (!self.in_code && matches!(b, b'[' | b']')) {
                self.pos += 1;
            } else {
                break;
            }
        }
        if self.pos == start {
            return self.fail();
        }
        Ok(self.buf[start..self.pos].to_vec())
    }

    /// A `[...]` section inside an atom: anything but CR/LF up to the matching `]`, quoted
    /// strings skipped whole.
    fn section(&mut self) -> Result<(), DecodeError> {
        self.expect(b'[')?;
        loop {
            match self.peek() {
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'"') => {
                    self.quoted()?;
                }
                Some(b'[' | b'\r' | b'\n') | None => return self.fail(),
                Some(_) => self.pos += 1,
            }
        }
    }
}

/// `NIL`, a number, or an atom.
fn atom_value(atom: Vec<u8>) -> Value {
    if atom.eq_ignore_ascii_case(b"NIL") {
        return Value::Nil;
    }
    if atom.iter().all(u8::is_ascii_digit)
        && let Some(n) = std::str::from_utf8(&atom).ok().and_then(|d| d.parse().ok())
    {
        return Value::Number(n);
    }
    Value::Atom(atom)
}

/// Bytes that may make up an atom in a response: RFC 9051 `ATOM-CHAR` plus the
/// list-wildcards `%` and `*` (which appear in `\*` and in sequence sets such as `1:*`) and
/// `\` (which starts flags), and minus `[` (which starts a section, handled separately).
pub fn is_atom_char(byte: u8) -> bool {
    byte.is_ascii_graphic() && !matches!(byte, b'(' | b')' | b'{' | b'"' | b']' | b'[')
}
