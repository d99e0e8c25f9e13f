//! MIME structure of a stored message: `BODYSTRUCTURE` and `BODY` (RFC 9051 §7.5.2, RFC 3501
//! §7.4.2) and the part numbers of `BODY[section]` (RFC 9051 §6.4.5), over mail-parser's tree.
//!
//! Read first: RFC 9051 §7.5.2 `body` ABNF and RFC 2045 §5.1 (Content-Type syntax). The tree
//! keeps absolute byte ranges into the raw message, so sizes and sections are the encoded bytes
//! as stored. Values are written as the message spells them (no RFC 2047 decoding); types,
//! subtypes, parameter names and transfer encodings are lower-cased, and a `text/*` part
//! without a charset gets `("charset" "us-ascii")`, as Dovecot 2.3 does.

use std::ops::Range;

use mail_parser::{Message, MessageParser, PartType};

use crate::envelope::{envelope_of, nstring};
use crate::response::string;
use crate::section;

/// Parts nest at most this deep; deeper parts are treated as leaves (no recursion limit
/// should depend on the peer's message).
const MAX_DEPTH: usize = 32;

/// `body-fld-param` pairs: lower-cased name, raw value.
type Params = Vec<(String, Vec<u8>)>;

/// `body` as sent for `BODYSTRUCTURE` (`extensible`) or `BODY`.
#[cfg(test)]
pub(crate) fn body_structure(raw: &[u8], extensible: bool) -> Vec<u8> {
    body_structure_of(raw, &Part::parse(raw), extensible)
}

/// The same, from the message's already parsed tree.
pub(crate) fn body_structure_of(raw: &[u8], tree: &Part, extensible: bool) -> Vec<u8> {
    let mut out = Vec::new();
    write_body(&mut out, raw, tree, extensible);
    out
}

/// One node of a message's MIME tree, with ranges into the raw message.
#[derive(Debug)]
pub(crate) struct Part {
    /// Header fields: lower-cased name and the range of the raw value (after the colon).
    fields: Vec<(String, Range<usize>)>,
    /// The part's MIME header (for a message's root: the message header), with its empty
    /// line.
    pub(crate) header: Range<usize>,
    /// The part's body.
    pub(crate) body: Range<usize>,
    pub(crate) kind: Kind,
}

/// What a part contains.
#[derive(Debug)]
pub(crate) enum Kind {
    /// `multipart/*`: the body parts.
    Multipart(Vec<Part>),
    /// `message/rfc822` (identity transfer encoding): the root of the encapsulated message.
    Message(Box<Part>),
    /// Anything else.
    Leaf,
}

/// Where a part number points (RFC 9051 §6.4.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Located {
    /// `section-part` alone: the part's body.
    pub(crate) body: Range<usize>,
    /// `section-part ".MIME"`: the part's MIME header.
    pub(crate) mime: Range<usize>,
    /// For a `message/rfc822` part, the encapsulated message's header and text.
    pub(crate) message: Option<(Range<usize>, Range<usize>)>,
}

impl Part {
    /// The MIME tree of a whole message.
    pub(crate) fn parse(raw: &[u8]) -> Part {
        message(raw, 0..raw.len(), 0)
    }

    /// The first value of header field `name` (lower-case), raw, as stored.
    pub(crate) fn field<'a>(&self, raw: &'a [u8], name: &str) -> Option<&'a [u8]> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, range)| raw.get(range.clone()))
    }

    /// Follows `section-part = nz-number *("." nz-number)`; `None` if there is no such part.
    /// A part number indexes the body parts of a multipart, and the body of an encapsulated
    /// message; a non-multipart body has only part 1 (RFC 9051 §6.4.5).
    pub(crate) fn locate(&self, path: &[u32]) -> Option<Located> {
        let part = self.part(path)?;
        Some(Located {
            body: part.body.clone(),
            mime: part.header.clone(),
            message: part.message_root().map(|m| (m.header.clone(), m.body.clone())),
        })
    }

    /// The part `path` names (see [`Part::locate`]).
    pub(crate) fn part(&self, path: &[u32]) -> Option<&Part> {
        let mut part = self;
        for (i, &n) in path.iter().enumerate() {
            let n = usize::try_from(n).ok()?.checked_sub(1)?;
            let next = if i == 0 { Some(self) } else { part.message_root() };
            part = match next {
                Some(root) => match &root.kind {
                    Kind::Multipart(children) => children.get(n)?,
                    _ if n == 0 => root,
                    _ => return None,
                },
                None => match &part.kind {
                    Kind::Multipart(children) => children.get(n)?,
                    _ => return None,
                },
            };
        }
        Some(part)
    }

    fn message_root(&self) -> Option<&Part> {
        match &self.kind {
            Kind::Message(root) => Some(root),
            _ => None,
        }
    }
}

/// The tree of the message stored at `range`. A message mail-parser finds no header in
/// gets the same split as `BODY[HEADER]`.
fn message(raw: &[u8], range: Range<usize>, depth: usize) -> Part {
    let slice = raw.get(range.clone()).unwrap_or_default();
    match MessageParser::new().parse(slice) {
        Some(parsed) if !parsed.parts.is_empty() => convert(raw, range.start, &parsed, 0, depth, false),
        _ => {
            let split = range.end - section::body(slice).len();
            Part {
                fields: Vec::new(),
                header: range.start..split,
                body: split..range.end,
                kind: Kind::Leaf,
            }
        }
    }
}

fn convert(raw: &[u8], base: usize, parsed: &Message<'_>, id: usize, depth: usize, digest: bool) -> Part {
    let clamp = |offset: u32| (base + offset as usize).min(raw.len());
    let part = &parsed.parts[id];
    let fields = part
        .headers
        .iter()
        .map(|h| {
            (
                h.name.as_str().to_ascii_lowercase(),
                clamp(h.offset_start)..clamp(h.offset_end),
            )
        })
        .collect();
    let header = clamp(part.offset_header)..clamp(part.offset_body);
    let body = header.end..clamp(part.offset_end).max(header.end);
    let mut node = Part {
        fields,
        header,
        body,
        kind: Kind::Leaf,
    };
    if depth >= MAX_DEPTH {
        return node;
    }
    let fields = Fields::of(raw, &node, digest);
    node.kind = match &part.body {
        PartType::Multipart(ids) => Kind::Multipart(
            ids.iter()
                .map(|&child| child as usize)
                // Children come after their parent; anything else would be a cycle.
                .filter(|&child| child > id && child < parsed.parts.len())
                .map(|child| {
                    convert(
                        raw,
                        base,
                        parsed,
                        child,
                        depth + 1,
                        fields.is("multipart", "digest"),
                    )
                })
                .collect(),
        ),
        _ if fields.is_message() => Kind::Message(Box::new(message(raw, node.body.clone(), depth + 1))),
        _ => Kind::Leaf,
    };
    node
}

/// `body-type-1part` or `body-type-mpart`, with extension data when `extensible`.
fn write_body(out: &mut Vec<u8>, raw: &[u8], part: &Part, extensible: bool) {
    let fields = Fields::of(raw, part, false);
    out.push(b'(');
    match &part.kind {
        Kind::Multipart(children) if !children.is_empty() => {
            for child in children {
                write_body(out, raw, child, extensible);
            }
            write_multipart_rest(out, &fields, extensible);
        }
        // A multipart mail-parser found no parts in (no boundary): one empty text part, so
        // the response stays valid (`1*body`); Dovecot 2.3 does the same.
        _ if fields.media_type == "multipart" => {
            out.extend_from_slice(EMPTY_TEXT);
            if extensible {
                out.extend_from_slice(b" NIL NIL NIL NIL)");
            } else {
                out.push(b')');
            }
            write_multipart_rest(out, &fields, extensible);
        }
        kind => {
            string(out, fields.media_type.as_bytes());
            out.push(b' ');
            string(out, fields.subtype.as_bytes());
            out.push(b' ');
            write_params(out, &fields.params);
            for value in [&fields.id, &fields.description] {
                out.push(b' ');
                nstring(out, value.as_deref());
            }
            out.push(b' ');
            string(out, fields.encoding.as_bytes());
            let body = raw.get(part.body.clone()).unwrap_or_default();
            out.extend_from_slice(format!(" {}", body.len()).as_bytes());
            if let Kind::Message(root) = kind {
                out.push(b' ');
                out.extend_from_slice(&envelope_of(raw, root));
                out.push(b' ');
                write_body(out, raw, root, extensible);
            }
            if matches!(kind, Kind::Message(_)) || fields.media_type == "text" {
                out.extend_from_slice(format!(" {}", lines(body)).as_bytes());
            }
            if extensible {
                // body-fld-md5: not computed.
                out.extend_from_slice(b" NIL ");
                write_extension(out, &fields);
            }
            out.push(b')');
        }
    }
}

/// `("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0`, without the closing paren.
const EMPTY_TEXT: &[u8] = b"(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0";

/// `SP media-subtype [SP body-ext-mpart] ")"`.
fn write_multipart_rest(out: &mut Vec<u8>, fields: &Fields, extensible: bool) {
    out.push(b' ');
    string(out, fields.subtype.as_bytes());
    if extensible {
        out.push(b' ');
        write_params(out, &fields.params);
        out.push(b' ');
        write_extension(out, fields);
    }
    out.push(b')');
}

/// `body-fld-dsp SP body-fld-lang SP body-fld-loc`.
fn write_extension(out: &mut Vec<u8>, fields: &Fields) {
    match &fields.disposition {
        Some((kind, params)) => {
            out.push(b'(');
            string(out, kind);
            out.push(b' ');
            write_params(out, params);
            out.push(b')');
        }
        None => out.extend_from_slice(b"NIL"),
    }
    out.push(b' ');
    if fields.languages.is_empty() {
        out.extend_from_slice(b"NIL");
    } else {
        out.push(b'(');
        for (i, language) in fields.languages.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            string(out, language);
        }
        out.push(b')');
    }
    out.push(b' ');
    nstring(out, fields.location.as_deref());
}

/// `body-fld-param = "(" string SP string *(SP string SP string) ")" / nil`.
fn write_params(out: &mut Vec<u8>, params: &[(String, Vec<u8>)]) {
    if params.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for (i, (name, value)) in params.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        string(out, name.as_bytes());
        out.push(b' ');
        string(out, value);
    }
    out.push(b')');
}

/// `body-fld-lines`: the number of line ends in the body.
fn lines(body: &[u8]) -> usize {
    body.iter().filter(|&&b| b == b'\n').count()
}

/// A part's MIME header fields, interpreted (RFC 2045, RFC 2183, RFC 3282, RFC 2557).
#[derive(Debug)]
struct Fields {
    media_type: String,
    subtype: String,
    params: Params,
    id: Option<Vec<u8>>,
    description: Option<Vec<u8>>,
    encoding: String,
    disposition: Option<(Vec<u8>, Params)>,
    languages: Vec<Vec<u8>>,
    location: Option<Vec<u8>>,
}

impl Fields {
    /// `digest`: the part is a child of `multipart/digest`, whose default type is
    /// `message/rfc822` (RFC 2046 §5.1.5).
    fn of(raw: &[u8], part: &Part, digest: bool) -> Fields {
        let field = |name| part.field(raw, name);
        let (media_type, subtype, mut params) = match field("content-type").and_then(content_type) {
            Some(parsed) => parsed,
            None if digest => ("message".to_owned(), "rfc822".to_owned(), Vec::new()),
            None => ("text".to_owned(), "plain".to_owned(), Vec::new()),
        };
        if media_type == "text" && !params.iter().any(|(name, _)| name == "charset") {
            params.push(("charset".to_owned(), b"us-ascii".to_vec()));
        }
        let encoding = field("content-transfer-encoding")
            .and_then(|value| Lexer::new(value).token())
            .map_or_else(
                || "7bit".to_owned(),
                |token| String::from_utf8_lossy(token).to_ascii_lowercase(),
            );
        let disposition = field("content-disposition").and_then(|value| {
            let mut lexer = Lexer::new(value);
            let kind = lexer.token()?.to_vec();
            Some((kind, lexer.params()))
        });
        let languages = field("content-language").map_or_else(Vec::new, |value| {
            value
                .split(|&b| b == b',')
                .filter_map(|item| Lexer::new(item).token().map(<[u8]>::to_vec))
                .collect()
        });
        Fields {
            media_type,
            subtype,
            params,
            id: field("content-id").map(unfold),
            description: field("content-description").map(unfold),
            encoding,
            disposition,
            languages,
            location: field("content-location").map(unfold),
        }
    }

    fn is(&self, media_type: &str, subtype: &str) -> bool {
        self.media_type == media_type && self.subtype == subtype
    }

    /// An encapsulated message this server parses: `message/rfc822` (or `message/global`) in
    /// an identity transfer encoding; an encoded one stays a leaf.
    fn is_message(&self) -> bool {
        (self.is("message", "rfc822") || self.is("message", "global"))
            && ["7bit", "8bit", "binary"].contains(&self.encoding.as_str())
    }
}

/// A raw header value without its line breaks and outer white space (RFC 5322 §2.2.3
/// unfolding).
pub(crate) fn unfold(value: &[u8]) -> Vec<u8> {
    value
        .iter()
        .copied()
        .filter(|&b| b != b'\r' && b != b'\n')
        .collect::<Vec<u8>>()
        .trim_ascii()
        .to_vec()
}

/// `content := "Content-Type" ":" type "/" subtype *(";" parameter)` (RFC 2045 §5.1), with
/// type and subtype lower-cased; `None` if it is malformed.
fn content_type(value: &[u8]) -> Option<(String, String, Params)> {
    let mut lexer = Lexer::new(value);
    let media_type = lexer.token()?.to_ascii_lowercase();
    lexer.special(b'/')?;
    let subtype = lexer.token()?.to_ascii_lowercase();
    let params = lexer.params();
    Some((
        String::from_utf8_lossy(&media_type).into_owned(),
        String::from_utf8_lossy(&subtype).into_owned(),
        params,
    ))
}

/// RFC 2045 §5.1 lexical tokens: `token`, `quoted-string`, `tspecials`, with comments and
/// white space (and folding) skipped.
struct Lexer<'a> {
    input: &'a [u8],
    pos: usize,
}

const TSPECIALS: &[u8] = b"()<>@,;:\\\"/[]?=";

impl<'a> Lexer<'a> {
    fn new(input: &'a [u8]) -> Lexer<'a> {
        Lexer { input, pos: 0 }
    }

    fn skip_cfws(&mut self) {
        let mut depth = 0usize;
        while let Some(&b) = self.input.get(self.pos) {
            match b {
                b'(' => depth += 1,
                b')' if depth > 0 => depth -= 1,
                b'\\' if depth > 0 => self.pos += 1,
                b' ' | b'\t' | b'\r' | b'\n' => {}
                _ if depth > 0 => {}
                _ => return,
            }
            self.pos += 1;
        }
    }

    /// `token := 1*<any (US-ASCII) CHAR except SPACE, CTLs, or tspecials>`.
    fn token(&mut self) -> Option<&'a [u8]> {
        self.skip_cfws();
        let start = self.pos;
        while let Some(&b) = self.input.get(self.pos) {
            if b <= b' ' || b == 0x7f || TSPECIALS.contains(&b) {
                break;
            }
            self.pos += 1;
        }
        (self.pos > start).then(|| &self.input[start..self.pos])
    }

    fn special(&mut self, which: u8) -> Option<()> {
        self.skip_cfws();
        (self.input.get(self.pos) == Some(&which)).then(|| self.pos += 1)
    }

    /// `value := token / quoted-string`.
    fn value(&mut self) -> Option<Vec<u8>> {
        self.skip_cfws();
        if self.input.get(self.pos) != Some(&b'"') {
            return self.token().map(<[u8]>::to_vec);
        }
        self.pos += 1;
        let mut out = Vec::new();
        while let Some(&b) = self.input.get(self.pos) {
            self.pos += 1;
            match b {
                b'"' => return Some(out),
                b'\\' => {
                    if let Some(&next) = self.input.get(self.pos) {
                        out.push(next);
                        self.pos += 1;
                    }
                }
                b'\r' | b'\n' => {}
                _ => out.push(b),
            }
        }
        // An unterminated quoted string runs to the end of the field.
        Some(out)
    }

    /// `*(";" attribute "=" value)`, names lower-cased, stopping at the first malformed one;
    /// RFC 2231 continuations (`name*0`, `name*1*`, ...) are joined into `name` (or `name*`
    /// when encoded, with the value still encoded).
    fn params(&mut self) -> Params {
        let mut raw: Params = Vec::new();
        while self.special(b';').is_some() {
            let Some(name) = self.token() else { break };
            let name = String::from_utf8_lossy(name).to_ascii_lowercase();
            if self.special(b'=').is_none() {
                break;
            }
            let Some(value) = self.value() else { break };
            raw.push((name, value));
        }
        join_continuations(raw)
    }
}

/// A parameter split in RFC 2231 sections: its index in the output, its base name, and
/// (section number, encoded, value) for each section.
struct Continued(usize, String, Vec<(u32, bool, Vec<u8>)>);

/// RFC 2231 §3-4: `name*0`, `name*1`, ... (or `name*0*`, ...) in section order, at the
/// place of the first section.
fn join_continuations(raw: Params) -> Params {
    let mut out: Params = Vec::new();
    let mut continued: Vec<Continued> = Vec::new();
    for (name, value) in raw {
        let continuation = name.split_once('*').and_then(|(base, rest)| {
            let (number, encoded) = match rest.strip_suffix('*') {
                Some(number) => (number, true),
                None => (rest, false),
            };
            let number: u32 = number.parse().ok()?;
            Some((base.to_owned(), number, encoded))
        });
        match continuation {
            Some((base, number, encoded)) => match continued.iter_mut().find(|Continued(_, b, _)| *b == base)
            {
                Some(Continued(_, _, sections)) => sections.push((number, encoded, value)),
                None => {
                    continued.push(Continued(out.len(), base.clone(), vec![(number, encoded, value)]));
                    out.push((base, Vec::new()));
                }
            },
            None => out.push((name, value)),
        }
    }
    for Continued(index, _, mut sections) in continued {
        sections.sort_by_key(|(number, _, _)| *number);
        let encoded = sections.first().is_some_and(|(_, encoded, _)| *encoded);
        if let Some(slot) = out.get_mut(index) {
            if encoded {
                slot.0.push('*');
            }
            slot.1 = sections.into_iter().flat_map(|(_, _, value)| value).collect();
        }
    }
    out
}

#[cfg(test)]
mod tests;
