//! Command syntax (RFC 9051 §9 `command`, §4 data formats): a tag, a command name and
//! arguments made of atoms, quoted strings, literals and parenthesized lists.
//!
//! Read first: RFC 9051 §4.1 (atoms), §4.3 (strings: quoted and literal), §4.4 (lists).
//! Arguments are tokenized generically here and interpreted by each command handler.

use crate::error::SyntaxError;

/// One parsed command: `command = tag SP (command-any / ...) CRLF`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Command {
    /// The client's tag.
    pub(crate) tag: String,
    /// The command.
    pub(crate) verb: Verb,
    /// The arguments.
    pub(crate) args: Vec<Token>,
    /// Which of `args` were sent as a `literal` (their indices): APPEND's message must be
    /// one (RFC 9051 §9 `append-data`).
    pub(crate) literals: Vec<usize>,
    /// Whether some argument was a `literal8` (`~{n}`, RFC 3516 §4.3), which may hold NUL:
    /// only with BINARY.
    pub(crate) literal8: bool,
}

impl Command {
    /// Whether argument `index` was sent as a `literal`.
    pub(crate) fn is_literal(&self, index: usize) -> bool {
        self.literals.contains(&index)
    }
}

/// A command name mailrig knows (RFC 9051 §6 and the extensions'), `UID` forms included:
/// what a response answers, and what the session dispatches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    /// `CAPABILITY`.
    Capability,
    /// `NOOP`.
    Noop,
    /// `LOGOUT`.
    Logout,
    /// `ID`.
    Id,
    /// `ENABLE`.
    Enable,
    /// `CHECK`.
    Check,
    /// `STARTTLS`.
    StartTls,
    /// `LOGIN`.
    Login,
    /// `AUTHENTICATE`.
    Authenticate,
    /// `NAMESPACE`.
    Namespace,
    /// `IDLE`.
    Idle,
    /// `SELECT`.
    Select,
    /// `EXAMINE`.
    Examine,
    /// `CREATE`.
    Create,
    /// `DELETE`.
    Delete,
    /// `RENAME`.
    Rename,
    /// `SUBSCRIBE`.
    Subscribe,
    /// `UNSUBSCRIBE`.
    Unsubscribe,
    /// `LIST`.
    List,
    /// `LSUB`.
    Lsub,
    /// `STATUS`.
    Status,
    /// `APPEND`.
    Append,
    /// `FETCH`.
    Fetch,
    /// `UID FETCH`.
    UidFetch,
    /// `STORE`.
    Store,
    /// `UID STORE`.
    UidStore,
    /// `EXPUNGE`.
    Expunge,
    /// `UID EXPUNGE`.
    UidExpunge,
    /// `SEARCH`.
    Search,
    /// `UID SEARCH`.
    UidSearch,
    /// `CANCELUPDATE` (RFC 5267 §4.3.5).
    CancelUpdate,
    /// `COPY`.
    Copy,
    /// `UID COPY`.
    UidCopy,
    /// `MOVE`.
    Move,
    /// `UID MOVE`.
    UidMove,
    /// `CLOSE`.
    Close,
    /// `UNSELECT`.
    Unselect,
    /// `COMPRESS` (RFC 4978).
    Compress,
    /// `SORT` (RFC 5256).
    Sort,
    /// `UID SORT` (RFC 5256).
    UidSort,
    /// `THREAD` (RFC 5256).
    Thread,
    /// `UID THREAD` (RFC 5256).
    UidThread,
    /// `GETQUOTA` (RFC 9208).
    GetQuota,
    /// `GETQUOTAROOT` (RFC 9208).
    GetQuotaRoot,
    /// `NOTIFY` (RFC 5465).
    Notify,
}

impl Verb {
    /// Every verb.
    pub const ALL: [Verb; 45] = [
        Verb::Capability,
        Verb::Noop,
        Verb::Logout,
        Verb::Id,
        Verb::Enable,
        Verb::Check,
        Verb::StartTls,
        Verb::Login,
        Verb::Authenticate,
        Verb::Namespace,
        Verb::Idle,
        Verb::Select,
        Verb::Examine,
        Verb::Create,
        Verb::Delete,
        Verb::Rename,
        Verb::Subscribe,
        Verb::Unsubscribe,
        Verb::List,
        Verb::Lsub,
        Verb::Status,
        Verb::Append,
        Verb::Fetch,
        Verb::UidFetch,
        Verb::Store,
        Verb::UidStore,
        Verb::Expunge,
        Verb::UidExpunge,
        Verb::Search,
        Verb::UidSearch,
        Verb::CancelUpdate,
        Verb::Copy,
        Verb::UidCopy,
        Verb::Move,
        Verb::UidMove,
        Verb::Close,
        Verb::Unselect,
        Verb::Compress,
        Verb::Sort,
        Verb::UidSort,
        Verb::Thread,
        Verb::UidThread,
        Verb::GetQuota,
        Verb::GetQuotaRoot,
        Verb::Notify,
    ];

    /// The name as the RFC spells it, upper-case; `UID` forms with one space (`UID FETCH`).
    pub fn name(self) -> &'static str {
        match self {
            Verb::Capability => "CAPABILITY",
            Verb::Noop => "NOOP",
            Verb::Logout => "LOGOUT",
            Verb::Id => "ID",
            Verb::Enable => "ENABLE",
            Verb::Check => "CHECK",
            Verb::StartTls => "STARTTLS",
            Verb::Login => "LOGIN",
            Verb::Authenticate => "AUTHENTICATE",
            Verb::Namespace => "NAMESPACE",
            Verb::Idle => "IDLE",
            Verb::Select => "SELECT",
            Verb::Examine => "EXAMINE",
            Verb::Create => "CREATE",
            Verb::Delete => "DELETE",
            Verb::Rename => "RENAME",
            Verb::Subscribe => "SUBSCRIBE",
            Verb::Unsubscribe => "UNSUBSCRIBE",
            Verb::List => "LIST",
            Verb::Lsub => "LSUB",
            Verb::Status => "STATUS",
            Verb::Append => "APPEND",
            Verb::Fetch => "FETCH",
            Verb::UidFetch => "UID FETCH",
            Verb::Store => "STORE",
            Verb::UidStore => "UID STORE",
            Verb::Expunge => "EXPUNGE",
            Verb::UidExpunge => "UID EXPUNGE",
            Verb::Search => "SEARCH",
            Verb::UidSearch => "UID SEARCH",
            Verb::CancelUpdate => "CANCELUPDATE",
            Verb::Copy => "COPY",
            Verb::UidCopy => "UID COPY",
            Verb::Move => "MOVE",
            Verb::UidMove => "UID MOVE",
            Verb::Close => "CLOSE",
            Verb::Unselect => "UNSELECT",
            Verb::Compress => "COMPRESS",
            Verb::Sort => "SORT",
            Verb::UidSort => "UID SORT",
            Verb::Thread => "THREAD",
            Verb::UidThread => "UID THREAD",
            Verb::GetQuota => "GETQUOTA",
            Verb::GetQuotaRoot => "GETQUOTAROOT",
            Verb::Notify => "NOTIFY",
        }
    }

    /// The verb named `name` (upper-case, `UID` forms with one space), if mailrig knows it.
    pub fn from_name(name: &str) -> Option<Verb> {
        Verb::ALL.into_iter().find(|verb| verb.name() == name)
    }
}

/// The state a command needs before its own checks run (RFC 9051 §3, §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Needs {
    /// Nothing, or checks of its own (any-state commands, the not-authenticated ones, and
    /// NAMESPACE, ENABLE, IDLE and CHECK, which check after their arguments).
    Nothing,
    /// A logged-in user (`BAD not authenticated`).
    Login,
    /// A selected mailbox (`BAD no mailbox selected`).
    Selection,
}

impl Verb {
    /// The state the command needs.
    pub(crate) fn needs(self) -> Needs {
        use Verb::*;
        match self {
            Select | Examine | Create | Delete | Rename | Subscribe | Unsubscribe | List | Lsub | Status
            | Append | Compress | GetQuota | GetQuotaRoot | Notify => Needs::Login,
            Fetch | UidFetch | Store | UidStore | Expunge | UidExpunge | Search | UidSearch | Copy
            | UidCopy | Move | UidMove | Close | Unselect | Sort | UidSort | Thread | UidThread
            | CancelUpdate => Needs::Selection,
            _ => Needs::Nothing,
        }
    }

    /// Whether this is a `UID` form (RFC 9051 §6.4.9).
    pub(crate) fn is_uid(self) -> bool {
        self.name().starts_with("UID ")
    }
}

impl std::fmt::Display for Verb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// An argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Token {
    /// `atom` (may include a `[section]` part, as in `BODY.PEEK[]`), or `NIL`.
    Atom(String),
    /// `quoted` or `literal` (its bytes).
    String(Vec<u8>),
    /// `"(" ... ")"`.
    List(Vec<Token>),
}

impl Token {
    /// The token as an `astring` (`1*ASTRING-CHAR / string`), if it is one: also what a
    /// `mailbox` is. Unquoted, the `list-wildcards` `%` and `*` are `atom-specials` (RFC 9051
    /// §9), so an atom holding one is not an astring.
    pub(crate) fn astring(&self) -> Option<String> {
        match self {
            Token::Atom(atom) if atom.contains(['%', '*']) => None,
            _ => self.list_mailbox(),
        }
    }

    /// The token as a `list-mailbox` (`1*list-char / string`, `list-char = ATOM-CHAR /
    /// list-wildcards / resp-specials`): LIST's and LSUB's patterns.
    pub(crate) fn list_mailbox(&self) -> Option<String> {
        match self {
            Token::Atom(atom) => Some(atom.clone()),
            Token::String(bytes) => String::from_utf8(bytes.clone()).ok(),
            Token::List(_) => None,
        }
    }
}

/// `tag = 1*<any ASTRING-CHAR except "+">` (so no list-wildcards either): the tag of a line, if it has a valid one.
pub(crate) fn tag(line: &[u8]) -> Option<String> {
    let end = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
    let tag = &line[..end];
    let valid = !tag.is_empty()
        && tag
            .iter()
            .all(|&b| is_atom_char(b) && !b"+%*".contains(&b) || b == b']');
    valid.then(|| String::from_utf8_lossy(tag).into_owned())
}

/// Parses a framed command (literals inline, final CRLF removed). A literal that ends the
/// command (APPEND's message) becomes its token without a copy: the buffer is shifted to it.
pub(crate) fn parse(mut input: Vec<u8>) -> Result<Command, SyntaxError> {
    let mut command = parse_slice(&input)?;
    if let Some(start) = command.tail {
        input.drain(..start);
        if let Some(last) = command.command.args.last_mut() {
            *last = Token::String(input);
        }
    }
    Ok(command.command)
}

/// A parsed command whose last argument may still be a placeholder.
struct Parsed {
    command: Command,
    /// Where the data of a literal ending the input starts: the last argument's bytes.
    tail: Option<usize>,
}

fn parse_slice(input: &[u8]) -> Result<Parsed, SyntaxError> {
    let tag = tag(input).ok_or(SyntaxError::Tag)?;
    let mut p = Parser {
        input,
        pos: tag.len(),
        sections: false,
        fetch_att_sections: false,
        tail: None,
        literal8: false,
    };
    p.space()?;
    let mut name = p.atom()?.to_ascii_uppercase();
    if name == "UID" {
        p.space()?;
        name = format!("UID {}", p.atom()?.to_ascii_uppercase());
    }
    // Only FETCH's `fetch-att` has `section`s (RFC 9051 §9); everywhere else `[` and `]`
    // are ASTRING-CHARs of mailbox names, patterns and strings. NOTIFY's MessageNew takes
    // fetch-atts too (RFC 5465 §8) beside mailbox names, so there only a `[` right after
    // BODY, BODY.PEEK or BINARY[.PEEK|.SIZE] opens one.
    p.sections = matches!(name.as_str(), "FETCH" | "UID FETCH");
    p.fetch_att_sections = name == "NOTIFY";
    let mut args = Vec::new();
    let mut literals = Vec::new();
    while p.pos < input.len() {
        p.space()?;
        if p.peek() == Some(b'{') || p.at_literal8() {
            literals.push(args.len());
        }
        args.push(p.token(0)?);
    }
    // An unknown name is reported after the arguments' syntax, as before typed commands.
    let verb = Verb::from_name(&name).ok_or(SyntaxError::UnknownCommand)?;
    let command = Command {
        tag,
        verb,
        args,
        literals,
        literal8: p.literal8,
    };
    Ok(Parsed {
        command,
        tail: p.tail,
    })
}

/// `ATOM-CHAR = <any CHAR except atom-specials>`, and the `list-wildcards` (`list-char`:
/// LIST patterns; sequence sets use `*` too). `]` (`resp-specials`) is not one: the callers
/// add it where an ASTRING-CHAR may stand.
fn is_atom_char(b: u8) -> bool {
    b > b' ' && b < 0x7f && !b"(){%*\"\\]".contains(&b) || b == b'%' || b == b'*'
}

/// Whether `atom` is a fetch-att name followed by a `section` (RFC 9051 §9 `fetch-att`,
/// RFC 3516 §4.2 `BINARY`).
fn takes_section(atom: &[u8]) -> bool {
    ["BODY", "BODY.PEEK", "BINARY", "BINARY.PEEK", "BINARY.SIZE"]
        .iter()
        .any(|name| atom.eq_ignore_ascii_case(name.as_bytes()))
}

/// Lists nest at most this deep.
const MAX_DEPTH: usize = 16;

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
    /// Whether a `[` opens a `section` (FETCH): its brackets may hold spaces and strings.
    /// Otherwise `[` and `]` are plain characters of an atom.
    sections: bool,
    /// Whether a `[` opens a `section` after a fetch-att name that takes one (NOTIFY).
    fetch_att_sections: bool,
    /// Where the data of a literal that ends the input starts (its token is left empty, for
    /// [`parse`] to fill without copying). Only a top-level argument can end the input: a
    /// list's `)` or a section's `]` would follow.
    tail: Option<usize>,
    /// A `literal8` was read.
    literal8: bool,
}

impl Parser<'_> {
    /// Whether a `literal8 = "~{" number64 "}" CRLF *OCTET` starts here (RFC 3516 §4.3).
    fn at_literal8(&self) -> bool {
        self.peek() == Some(b'~') && self.input.get(self.pos + 1) == Some(&b'{')
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn space(&mut self) -> Result<(), SyntaxError> {
        if self.peek() == Some(b' ') {
            self.pos += 1;
            Ok(())
        } else {
            Err(SyntaxError::Expected("a space"))
        }
    }

    fn token(&mut self, depth: usize) -> Result<Token, SyntaxError> {
        match self.peek() {
            Some(b'(') => self.list(depth),
            Some(b'"') => self.quoted().map(Token::String),
            Some(b'{') => self.literal().map(Token::String),
            Some(b'~') if self.at_literal8() => {
                self.pos += 1;
                self.literal8 = true;
                self.literal().map(Token::String)
            }
            _ => self.atom().map(Token::Atom),
        }
    }

    fn list(&mut self, depth: usize) -> Result<Token, SyntaxError> {
        if depth >= MAX_DEPTH {
            return Err(SyntaxError::TooDeep);
        }
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            match self.peek() {
                Some(b')') => {
                    self.pos += 1;
                    return Ok(Token::List(items));
                }
                None => return Err(SyntaxError::Expected("\")\"")),
                _ => {
                    if !items.is_empty() {
                        self.space()?;
                    }
                    items.push(self.token(depth + 1)?);
                }
            }
        }
    }

    /// `quoted = DQUOTE *QUOTED-CHAR DQUOTE`, `QUOTED-CHAR = ... / "\" quoted-specials`;
    /// `TEXT-CHAR` is a `CHAR` (`%x01-7F`) or UTF-8, never NUL.
    fn quoted(&mut self) -> Result<Vec<u8>, SyntaxError> {
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    let next = self.input.get(self.pos + 1).copied();
                    match next {
                        Some(c @ (b'"' | b'\\')) => out.push(c),
                        _ => return Err(SyntaxError::Expected("a quoted-special after \\")),
                    }
                    self.pos += 2;
                }
                Some(b'\r' | b'\n') | None => return Err(SyntaxError::Expected("'\"'")),
                Some(0) => return Err(SyntaxError::Nul),
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// `literal = "{" number64 ["+"] "}" CRLF *CHAR8`, `CHAR8 = %x01-ff` (no NUL: binary
    /// data needs `literal8`, RFC 9051 §4.3); the framer put the data inline.
    fn literal(&mut self) -> Result<Vec<u8>, SyntaxError> {
        let close = self.input[self.pos..]
            .iter()
            .position(|&b| b == b'}')
            .ok_or(SyntaxError::Expected("\"}\""))?;
        let header = &self.input[self.pos..=self.pos + close];
        let (size, _) =
            crate::framing::literal_announcement(header).ok_or(SyntaxError::Expected("a literal"))?;
        let start = self.pos + close + 1;
        if self.input.get(start..start + 2) != Some(b"\r\n") {
            return Err(SyntaxError::Expected("CRLF after a literal"));
        }
        let size = usize::try_from(size).map_err(|_| SyntaxError::Expected("a literal"))?;
        let data = self
            .input
            .get(start + 2..start + 2 + size)
            .ok_or(SyntaxError::Expected("literal data"))?;
        // `self.pos` is still at the `{`: a `~` before it makes this a literal8.
        if data.contains(&0) && self.input.get(self.pos.wrapping_sub(1)) != Some(&b'~') {
            return Err(SyntaxError::Nul);
        }
        self.pos = start + 2 + size;
        if self.pos == self.input.len() {
            self.tail = Some(start + 2);
            return Ok(Vec::new());
        }
        Ok(data.to_vec())
    }

    /// `astring-chars = 1*ASTRING-CHAR`, `ASTRING-CHAR = ATOM-CHAR / resp-specials` (a
    /// mailbox, an astring, and with the `list-wildcards` a `list-mailbox`: RFC 9051 §9),
    /// also taking a leading `\` (`flag-extension`). In FETCH a `[...]` section is taken
    /// whole instead (with a `<...>` partial after it, which is plain atom characters).
    /// Handlers that need a strict `atom` (flags, keywords) check it themselves.
    fn atom(&mut self) -> Result<String, SyntaxError> {
        let start = self.pos;
        while let Some(b) = self.peek() {
            let section =
                self.sections || self.fetch_att_sections && takes_section(&self.input[start..self.pos]);
            if b == b'[' && section {
                self.section_brackets()?;
            } else if is_atom_char(b)
                || b == b']' && (self.pos > start || !self.sections)
                || self.pos == start && b == b'\\'
            {
                self.pos += 1;
            } else {
                break;
            }
        }
        if self.pos == start {
            return Err(SyntaxError::Expected("an atom"));
        }
        std::str::from_utf8(&self.input[start..self.pos])
            .map(str::to_owned)
            .map_err(|_| SyntaxError::Expected("an atom"))
    }

    /// `"[" section-spec "]"`, kept raw for `section.rs`. Quoted strings and literals in it
    /// (a `header-list` holds astrings, RFC 9051 §9) are skipped whole, so a `]` inside one
    /// does not end the section.
    fn section_brackets(&mut self) -> Result<(), SyntaxError> {
        self.pos += 1;
        loop {
            match self.peek() {
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'"') => {
                    self.quoted()?;
                }
                Some(b'{') => {
                    self.literal()?;
                }
                Some(_) => self.pos += 1,
                None => return Err(SyntaxError::Expected("\"]\"")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_arguments() {
        let c = parse(b"a1 uid fetch 1:* (FLAGS BODY.PEEK[]) \"x\\\"y\" {2}\r\nab".to_vec()).unwrap();
        assert_eq!(c.tag, "a1");
        assert_eq!(c.verb, Verb::UidFetch);
        assert_eq!(
            c.args,
            vec![
                Token::Atom("1:*".into()),
                Token::List(vec![
                    Token::Atom("FLAGS".into()),
                    Token::Atom("BODY.PEEK[]".into())
                ]),
                Token::String(b"x\"y".to_vec()),
                Token::String(b"ab".to_vec()),
            ]
        );
    }

    /// Issue 9: outside FETCH, `[` opens nothing, so `a[b c]d` is two astrings (RENAME's
    /// two mailboxes), not one section holding a space.
    #[test]
    fn brackets_are_astring_chars_outside_fetch() {
        let c = parse(b"r RENAME a[b c]d".to_vec()).unwrap();
        assert_eq!(c.args, vec![Token::Atom("a[b".into()), Token::Atom("c]d".into())]);
        let c = parse(b"l LIST ]x[ %]*".to_vec()).unwrap();
        assert_eq!(c.args, vec![Token::Atom("]x[".into()), Token::Atom("%]*".into())]);
        let c = parse(b"f FETCH 1 BODY[HEADER.FIELDS (A B)]<0.5>".to_vec()).unwrap();
        assert_eq!(c.args[1], Token::Atom("BODY[HEADER.FIELDS (A B)]<0.5>".into()));
        assert!(parse(b"f FETCH 1 BODY[TEXT".to_vec()).is_err());
    }

    /// NOTIFY's MessageNew takes fetch-atts (RFC 5465 §8; §3's example asks for
    /// `body.peek[header.fields (from to subject)]`): a section after BODY, BODY.PEEK or
    /// BINARY is one atom, while mailbox names keep `[` and `]` as plain characters.
    #[test]
    fn notify_fetch_atts_have_sections_and_mailboxes_do_not() {
        let c =
            parse(b"n NOTIFY SET (selected (MessageNew (uid body.peek[header.fields (from to)])))".to_vec())
                .unwrap();
        let Token::List(group) = &c.args[1] else {
            panic!("{:?}", c.args)
        };
        let Token::List(events) = &group[1] else {
            panic!("{group:?}")
        };
        assert_eq!(
            events[1],
            Token::List(vec![
                Token::Atom("uid".into()),
                Token::Atom("body.peek[header.fields (from to)]".into())
            ])
        );
        let c = parse(b"n NOTIFY SET (mailboxes (a[b c]d [x]) NONE)".to_vec()).unwrap();
        let Token::List(group) = &c.args[1] else {
            panic!("{:?}", c.args)
        };
        assert_eq!(
            group[1],
            Token::List(vec![
                Token::Atom("a[b".into()),
                Token::Atom("c]d".into()),
                Token::Atom("[x]".into())
            ])
        );
    }

    #[test]
    fn rejects_unbalanced() {
        assert!(parse(b"a FETCH 1 (FLAGS".to_vec()).is_err());
        assert!(parse(b"a FETCH 1 FLAGS)".to_vec()).is_err());
        assert!(parse(b"+ NOOP".to_vec()).is_err());
    }
}
