//! Expected IMAP server lines as structural patterns: a scenario [`Line`] read with the same
//! token grammar as [`super::response`], where holes and back-references stand for tokens.
//!
//! A line that this module cannot read (a continuation request, a tag written as a wildcard,
//! unbalanced parentheses, a named `text` capture among tokens, ...) yields `None`, and the
//! caller keeps matching it as text.

use crate::pattern::Pattern;
use crate::pattern::pieces::{self, Piece, flatten};
use crate::scenario::{Class, Line, Part};

use super::response::is_atom_char;

/// How deep an expected line's parentheses may nest.
const MAX_DEPTH: usize = 64;

/// A whole expected response.
#[derive(Debug, Clone)]
pub(crate) struct ResponsePattern {
    /// `None` for `*`, the tag's pattern otherwise.
    pub(crate) tag: Option<TokenPattern>,
    pub(crate) body: BodyPattern,
    /// `S=:`: atoms compare case-sensitively too.
    pub(crate) exact_case: bool,
    /// FETCH and STATUS items that the line does not name are allowed.
    pub(crate) extra_items: bool,
}

/// What follows the tag.
#[derive(Debug, Clone)]
pub(crate) enum BodyPattern {
    /// A status response: its word, its response code, and its text matched as text.
    Status {
        status: TokenPattern,
        code: Option<Group>,
        text: Pattern,
    },
    /// An untagged data response.
    Data(Group),
}

/// A run of tokens and how it is compared.
#[derive(Debug, Clone)]
pub(crate) enum Group {
    /// In order; [`TokenPattern::Any`] stands for any number of tokens.
    Ordered(Vec<TokenPattern>),
    /// `head` in order, then `items` in any order; `others` (a `${_}` among them) allows
    /// received tokens that no item matches.
    Set {
        head: Vec<TokenPattern>,
        items: Vec<TokenPattern>,
        others: bool,
    },
    /// FETCH or STATUS items: names (uppercased) with values, in any order.
    Map {
        pairs: Vec<(Vec<u8>, TokenPattern)>,
        others: bool,
    },
    /// An ESEARCH response (RFC 4731 §3.1, RFC 5267 §4): `head` (`ESEARCH`, the correlator,
    /// `UID`) in order, then its return data as name and value pairs in any order, except
    /// ADDTO and REMOVEFROM, which keep their order among themselves (`updates`, flattened).
    /// Other pairs only with a `${_}` among them.
    Returns {
        head: Vec<TokenPattern>,
        pairs: Vec<(Vec<u8>, TokenPattern)>,
        updates: Vec<TokenPattern>,
        others: bool,
    },
}

/// One expected token.
#[derive(Debug, Clone)]
pub(crate) enum TokenPattern {
    /// An atom, compared ASCII case-insensitively (unless `S=:`); also matches a string with
    /// the same value, unless it is a flag (`\...`).
    Atom(Vec<u8>),
    /// A number, compared as a number.
    Number(u64),
    /// A quoted string or a literal: matches a string, atom or number with exactly this value.
    Str(Vec<u8>),
    /// `NIL`.
    Nil,
    /// A parenthesized list.
    List(Group),
    /// `${_}` alone: any number of tokens (any one token where exactly one must stand).
    Any,
    /// A hole of class `num`, `atom` or `word` alone: one scalar token of that class.
    Hole { name: Option<String>, class: Class },
    /// `${name}` alone: one token whose value (or whose bytes) is the bound value.
    Ref(String),
    /// A token written with holes inside it (`mailrig-tree${sep}child`, `"${sep:atom}"`): its
    /// value is matched as text.
    Mixed(Pattern),
}

/// Compiles an expected server line, or `None` when it must be matched as text.
pub(crate) fn compile(line: &Line, extra_items: bool) -> Option<ResponsePattern> {
    let pieces = flatten(line);
    let mut r = Reader {
        pieces: &pieces,
        pos: 0,
        depth: 0,
        in_code: false,
        exact_case: line.exact_case,
    };
    let tag = r.tag()?;
    r.expect_byte(b' ')?;
    let body = r.body(tag.is_some())?;
    Some(ResponsePattern {
        tag,
        body,
        exact_case: line.exact_case,
        extra_items,
    })
}

/// An unnamed `text` hole (`${_}`): among tokens, any number of them.
fn is_any(piece: Option<&Piece<'_>>) -> bool {
    matches!(piece, Some(Piece::Part(Part::Hole(h))) if h.name.is_none() && h.class == Class::Text)
}

struct Reader<'a> {
    pieces: &'a [Piece<'a>],
    pos: usize,
    depth: usize,
    /// Inside a response code's `[...]`, where `]` ends the code (elsewhere it may continue
    /// an astring, as in the decoder).
    in_code: bool,
    exact_case: bool,
}

impl Reader<'_> {
    fn byte(&self) -> Option<u8> {
        match self.pieces.get(self.pos) {
            Some(Piece::Byte(b)) => Some(*b),
            _ => None,
        }
    }

    fn expect_byte(&mut self, byte: u8) -> Option<()> {
        (self.byte() == Some(byte)).then(|| self.pos += 1)
    }

    fn at_end(&self) -> bool {
        self.pos == self.pieces.len()
    }

    /// `*` → `None`; a tag (text, a capture or a back-reference) → its pattern. A `+` line or
    /// a tag written as `${_}` is not compiled.
    fn tag(&mut self) -> Option<Option<TokenPattern>> {
        match self.byte() {
            Some(b'*') => {
                self.pos += 1;
                Some(None)
            }
            Some(b'+') => None,
            _ if is_any(self.pieces.get(self.pos)) => None,
            _ => self.word().map(Some),
        }
    }

    /// After the tag: a status word with code and text, or (untagged) data tokens.
    fn body(&mut self, tagged: bool) -> Option<BodyPattern> {
        let start = self.pos;
        let first = if is_any(self.pieces.get(self.pos)) {
            None
        } else {
            self.word()
        };
        let status = match &first {
            Some(TokenPattern::Atom(word)) => is_status(word, tagged),
            Some(TokenPattern::Hole { .. } | TokenPattern::Ref(_) | TokenPattern::Mixed(_)) => tagged,
            _ => false,
        };
        if !status {
            if tagged {
                return None;
            }
            self.pos = start;
            let items = self.tokens(None)?;
            return Some(BodyPattern::Data(classify_data(items)?));
        }
        let code = if self.byte() == Some(b' ')
            && matches!(self.pieces.get(self.pos + 1), Some(Piece::Byte(b'[')))
        {
            self.pos += 2;
            self.in_code = true;
            let items = self.tokens(Some(b']'));
            self.in_code = false;
            let items = items?;
            self.expect_byte(b']')?;
            Some(classify_code(items)?)
        } else {
            None
        };
        let text = pieces::text_pattern(&self.pieces[self.pos..], self.exact_case, false)?;
        Some(BodyPattern::Status {
            status: first?,
            code,
            text,
        })
    }

    /// Tokens up to `until` (not consumed) or the end; spaces separate them, and `${_}` stands
    /// alone whether or not spaces surround it.
    fn tokens(&mut self, until: Option<u8>) -> Option<Vec<TokenPattern>> {
        let mut items = Vec::new();
        loop {
            while self.byte() == Some(b' ') {
                self.pos += 1;
            }
            if self.at_end() || (until.is_some() && self.byte() == until) {
                return Some(items);
            }
            items.push(self.token()?);
        }
    }

    fn token(&mut self) -> Option<TokenPattern> {
        match self.pieces.get(self.pos)? {
            Piece::Byte(b'(') => {
                self.pos += 1;
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return None;
                }
                let items = self.tokens(Some(b')'))?;
                self.expect_byte(b')')?;
                self.depth -= 1;
                Some(TokenPattern::List(classify_list(items)))
            }
            Piece::Byte(b'"') => self.quoted(),
            Piece::Part(Part::Literal(literal)) => {
                self.pos += 1;
                Some(TokenPattern::Str(literal.data()?.into_owned()))
            }
            _ if is_any(self.pieces.get(self.pos)) => {
                self.pos += 1;
                Some(TokenPattern::Any)
            }
            _ => self.word(),
        }
    }

    /// A quoted string; holes inside make it [`TokenPattern::Mixed`], compared exactly.
    fn quoted(&mut self) -> Option<TokenPattern> {
        self.expect_byte(b'"')?;
        let mut inner: Vec<Piece<'_>> = Vec::new();
        loop {
            match *self.pieces.get(self.pos)? {
                Piece::Byte(b'"') => break,
                Piece::Byte(b'\\') => {
                    self.pos += 1;
                    match self.byte()? {
                        b @ (b'"' | b'\\') => inner.push(Piece::Byte(b)),
                        _ => return None,
                    }
                }
                Piece::Part(Part::Literal(_)) => return None,
                piece => inner.push(piece),
            }
            self.pos += 1;
        }
        self.pos += 1;
        if let Some(bytes) = plain_bytes(&inner) {
            return Some(TokenPattern::Str(bytes));
        }
        pieces::text_pattern(&inner, true, false).map(TokenPattern::Mixed)
    }

    /// An atom-like word: atom bytes, a `[...]` section after them, holes and back-references,
    /// up to a space, a parenthesis, a quote or a `${_}`; inside a response code also up to
    /// `]`. Elsewhere `[` and `]` are astring characters, as the decoder reads them.
    fn word(&mut self) -> Option<TokenPattern> {
        let start = self.pos;
        while let Some(piece) = self.pieces.get(self.pos) {
            match piece {
                Piece::Byte(b'[') if self.pos > start => {
                    let before = self.pos;
                    if self.section().is_none() {
                        if self.in_code {
                            return None;
                        }
                        self.pos = before + 1;
                    }
                }
                Piece::Byte(b) if is_atom_char(*b) => self.pos += 1,
                Piece::Byte(b'[' | b']') if !self.in_code => self.pos += 1,
                Piece::Part(Part::Hole(_)) if is_any(Some(piece)) => break,
                Piece::Part(Part::Hole(_) | Part::Ref(_)) => self.pos += 1,
                _ => break,
            }
        }
        let pieces = &self.pieces[start..self.pos];
        match pieces {
            [] => None,
            [Piece::Part(Part::Hole(hole))] if hole.class == Class::Text => None,
            [Piece::Part(Part::Hole(hole))] => Some(TokenPattern::Hole {
                name: hole.name.clone(),
                class: hole.class,
            }),
            [Piece::Part(Part::Ref(name))] => Some(TokenPattern::Ref(name.clone())),
            _ => match plain_bytes(pieces) {
                Some(bytes) => Some(atom_pattern(bytes)),
                None => pieces::text_pattern(pieces, self.exact_case, false).map(TokenPattern::Mixed),
            },
        }
    }

    /// `[...]` inside a word, up to the matching `]`.
    fn section(&mut self) -> Option<()> {
        self.expect_byte(b'[')?;
        loop {
            match self.pieces.get(self.pos)? {
                Piece::Byte(b']') => {
                    self.pos += 1;
                    return Some(());
                }
                Piece::Byte(b'[') | Piece::Part(Part::Literal(_)) => return None,
                _ => self.pos += 1,
            }
        }
    }
}

/// The bytes of pieces that hold no hole or back-reference.
fn plain_bytes(pieces: &[Piece<'_>]) -> Option<Vec<u8>> {
    pieces
        .iter()
        .map(|p| match p {
            Piece::Byte(b) => Some(*b),
            Piece::Part(_) => None,
        })
        .collect()
}

/// `NIL`, a number, or an atom.
fn atom_pattern(bytes: Vec<u8>) -> TokenPattern {
    if bytes.eq_ignore_ascii_case(b"NIL") {
        return TokenPattern::Nil;
    }
    if bytes.iter().all(u8::is_ascii_digit)
        && let Some(n) = std::str::from_utf8(&bytes).ok().and_then(|d| d.parse().ok())
    {
        return TokenPattern::Number(n);
    }
    TokenPattern::Atom(bytes)
}

fn is_status(word: &[u8], tagged: bool) -> bool {
    let word = word.to_ascii_uppercase();
    matches!(word.as_slice(), b"OK" | b"NO" | b"BAD")
        || (!tagged && matches!(word.as_slice(), b"PREAUTH" | b"BYE"))
}

fn is_word(token: &TokenPattern, word: &str) -> bool {
    matches!(token, TokenPattern::Atom(a) if a.eq_ignore_ascii_case(word.as_bytes()))
}

/// A list: a set right after `FLAGS` or `PERMANENTFLAGS` (see [`mark_flag_sets`]), in order
/// otherwise.
fn classify_list(mut items: Vec<TokenPattern>) -> Group {
    mark_flag_sets(&mut items);
    Group::Ordered(items)
}

/// Lists written right after `FLAGS` or `PERMANENTFLAGS` are sets of flags (RFC 9051 §7.3.5,
/// §7.5.2 `FLAGS`, §7.1 `PERMANENTFLAGS`).
fn mark_flag_sets(items: &mut [TokenPattern]) {
    for i in 1..items.len() {
        if (is_word(&items[i - 1], "FLAGS") || is_word(&items[i - 1], "PERMANENTFLAGS"))
            && let TokenPattern::List(group) = &mut items[i]
        {
            *group = into_set(std::mem::replace(group, Group::Ordered(Vec::new())), 0);
        }
    }
}

/// Turns an ordered group into a set of everything after its first `head` tokens.
fn into_set(group: Group, head: usize) -> Group {
    let Group::Ordered(mut items) = group else {
        return group;
    };
    if items.len() < head || items[..head].iter().any(|t| matches!(t, TokenPattern::Any)) {
        return Group::Ordered(items);
    }
    let rest = items.split_off(head);
    let others = rest.iter().any(|t| matches!(t, TokenPattern::Any));
    Group::Set {
        head: items,
        items: rest
            .into_iter()
            .filter(|t| !matches!(t, TokenPattern::Any))
            .collect(),
        others,
    }
}

/// FETCH or STATUS items: `${_}` between items, then name and value pairs.
fn into_map(group: Group) -> Option<Group> {
    let Group::Ordered(items) = group else {
        return None;
    };
    let mut pairs = Vec::new();
    let mut others = false;
    let mut items = items.into_iter();
    while let Some(item) = items.next() {
        match item {
            TokenPattern::Any => others = true,
            // Item names start with a letter (`msg-att`, `status-att`); a flag here means the
            // line is not a list of items.
            TokenPattern::Atom(name) if name.first().is_some_and(u8::is_ascii_alphabetic) => {
                pairs.push((name.to_ascii_uppercase(), items.next()?));
            }
            _ => return None,
        }
    }
    Some(Group::Map { pairs, others })
}

/// Whether `name` is a result update of RFC 5267 §4.3.2, applied in order.
pub(crate) fn is_update(name: &[u8]) -> bool {
    name.eq_ignore_ascii_case(b"ADDTO") || name.eq_ignore_ascii_case(b"REMOVEFROM")
}

/// `esearch-response = "ESEARCH" [search-correlator] [SP "UID"] *(SP search-return-data)`
/// (RFC 9051 §7.3.4), `search-return-data = search-modifier-name SP search-return-value`
/// (RFC 4466 §2.6.2): the head in order, the pairs as [`Group::Returns`]. A line whose data
/// are not pairs of a name and a value stays in order.
fn into_returns(items: Vec<TokenPattern>) -> Group {
    let mut head = 1;
    if matches!(items.get(head), Some(TokenPattern::List(_))) {
        head += 1;
    }
    if items.get(head).is_some_and(|t| is_word(t, "UID")) {
        head += 1;
    }
    if items[..head].iter().any(|t| matches!(t, TokenPattern::Any)) {
        return Group::Ordered(items);
    }
    let (mut pairs, mut updates, mut others) = (Vec::new(), Vec::new(), false);
    let mut rest = items[head..].iter().cloned();
    while let Some(item) = rest.next() {
        match item {
            TokenPattern::Any => others = true,
            TokenPattern::Atom(name) if name.first().is_some_and(u8::is_ascii_alphabetic) => {
                let Some(value) = rest.next() else {
                    return Group::Ordered(items);
                };
                if is_update(&name) {
                    updates.extend([TokenPattern::Atom(name.to_ascii_uppercase()), value]);
                } else {
                    pairs.push((name.to_ascii_uppercase(), value));
                }
            }
            _ => return Group::Ordered(items),
        }
    }
    Group::Returns {
        head: items[..head].to_vec(),
        pairs,
        updates,
        others,
    }
}

/// The untagged data responses that have their own rules (RFC 9051 §7.2–§7.5).
fn classify_data(mut items: Vec<TokenPattern>) -> Option<Group> {
    mark_flag_sets(&mut items);
    let first = items.first().cloned();
    let first = first.as_ref();
    // §7.2.2 CAPABILITY, RFC 5161 §4 ENABLED, §7.3.5 (RFC 3501 §7.2.5) SEARCH: lists of
    // capabilities or numbers whose order means nothing.
    if ["CAPABILITY", "ENABLED", "SEARCH"]
        .iter()
        .any(|w| first.is_some_and(|f| is_word(f, w)))
    {
        return Some(into_set(Group::Ordered(items), 1));
    }
    // §7.3.4 ESEARCH: return data in any order.
    if first.is_some_and(|f| is_word(f, "ESEARCH")) {
        return Some(into_returns(items));
    }
    // §7.3.1 LIST (and RFC 3501 §7.2.3 LSUB): the name attributes are a set.
    if (first.is_some_and(|f| is_word(f, "LIST")) || first.is_some_and(|f| is_word(f, "LSUB")))
        && let Some(TokenPattern::List(group)) = items.get_mut(1)
    {
        *group = into_set(std::mem::replace(group, Group::Ordered(Vec::new())), 0);
    }
    // §7.5.2 FETCH: `* N FETCH (items)`; §7.3.4 STATUS: `* STATUS mailbox (items)`.
    let fetch = items.len() == 3 && is_word(&items[1], "FETCH");
    let status = first.is_some_and(|f| is_word(f, "STATUS"));
    if (fetch || status)
        && let Some(TokenPattern::List(group)) = items.last_mut()
    {
        *group = into_map(std::mem::replace(group, Group::Ordered(Vec::new())))?;
    }
    Some(Group::Ordered(items))
}

/// A response code: `[CAPABILITY ...]` is a set (RFC 9051 §7.1); `PERMANENTFLAGS` lists are
/// sets of flags.
fn classify_code(mut items: Vec<TokenPattern>) -> Option<Group> {
    mark_flag_sets(&mut items);
    if items.first().is_some_and(|f| is_word(f, "CAPABILITY")) {
        return Some(into_set(Group::Ordered(items), 1));
    }
    (!items.is_empty()).then_some(Group::Ordered(items))
}
