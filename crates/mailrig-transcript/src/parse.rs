//! The scenario parser: text in, [`Scenario`] or a [`ParseError`] with `file:line:col` out.
//!
//! Grammar (informal; `docs/scenario-format.md` is the reference):
//!
//! ```text
//! file      = *(header-field / comment / blank) *(step / comment / blank)
//! header    = key ":" SP value            ; key is lowercase: name, summary, rfc, ...
//! step      = [session SP] (line / directive)
//! line      = ("C" / "S") ["?" / "!"] ["="] ":" [SP text]
//! directive = "@" word *(SP argument)
//! text      = *(char / "$$" / "${" expr "}" / "{{{" literal)
//! ```

use std::collections::HashSet;

use crate::error::{ParseError, closest};
use crate::scenario::{
    Class, Directive, Family, Hole, Item, Line, Literal, LiteralSource, MatchMode, Part, Pos, Presence,
    Protocol, Requirement, Role, Scenario, SessionDecl, Side, Step, StepKind, parse_duration,
};

/// Variables a run always supplies, so scenarios may use them without declaring them.
pub const BUILTIN_VARS: [&str; 7] = ["host", "port", "user", "password", "user2", "password2", "domain"];

const HEADER_KEYS: [&str; 9] = [
    "name", "summary", "rfc", "sessions", "requires", "tags", "fixture", "vars", "plays",
];
const DIRECTIVES: [&str; 5] = ["starttls", "close", "within", "sleep", "match"];

/// Parses scenario text. `file` is only used in error messages.
pub fn parse(file: &str, text: &str) -> Result<Scenario, ParseError> {
    Parser::new(file, text).run()
}

/// Parses scenario bytes, reporting invalid UTF-8 as a positioned error.
pub fn parse_bytes(file: &str, bytes: &[u8]) -> Result<Scenario, ParseError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse(file, text),
        Err(e) => {
            let before = &bytes[..e.valid_up_to()];
            let line = before.iter().filter(|b| **b == b'\n').count() + 1;
            let start = before.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            let prefix = String::from_utf8_lossy(&bytes[start..e.valid_up_to()]);
            let end = bytes[start..]
                .iter()
                .position(|b| *b == b'\n')
                .map_or(bytes.len(), |i| start + i);
            let source = String::from_utf8_lossy(&bytes[start..end]);
            let pos = Pos {
                line,
                col: prefix.chars().count() + 1,
            };
            Err(ParseError::new(file, pos, &source, "the file is not valid UTF-8")
                .expected("UTF-8 text")
                .hint("write bytes that are not UTF-8 as escapes, e.g. `${\\xff}`, or put them in a literal file"))
        }
    }
}

struct Parser<'a> {
    file: &'a str,
    lines: Vec<&'a str>,
    next: usize,
    scenario: Scenario,
    in_body: bool,
    /// A header field has been read.
    fields_seen: bool,
    /// A blank line followed the last header field.
    after_blank: bool,
    /// Comments and blank lines after the header's blank line, before the first step.
    pending: Vec<Item>,
    bound: HashSet<String>,
}

/// A `${...}` expression.
enum Expr {
    Bytes(Vec<u8>),
    Part(Part),
    NoCrlf,
}

impl<'a> Parser<'a> {
    fn new(file: &'a str, text: &'a str) -> Self {
        let lines = text
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .collect::<Vec<_>>();
        let mut lines = lines;
        if text.ends_with('\n') {
            lines.pop();
        }
        Parser {
            file,
            lines,
            next: 0,
            scenario: Scenario::default(),
            in_body: false,
            fields_seen: false,
            after_blank: false,
            pending: Vec::new(),
            bound: HashSet::new(),
        }
    }

    fn run(mut self) -> Result<Scenario, ParseError> {
        while self.next < self.lines.len() {
            let number = self.next + 1;
            let raw = self.lines[self.next];
            self.next += 1;
            self.line(number, raw)?;
        }
        if !self.in_body {
            self.finish_header(self.lines.len().max(1))?;
            self.scenario.body = std::mem::take(&mut self.pending);
        }
        while self.scenario.body.last() == Some(&Item::Blank) {
            self.scenario.body.pop();
        }
        self.check_match_directives()?;
        Ok(self.scenario)
    }

    fn error(&self, number: usize, col: usize, message: impl Into<String>) -> ParseError {
        let source = self.lines.get(number - 1).copied().unwrap_or("");
        ParseError::new(self.file, Pos { line: number, col }, source, message)
    }

    fn line(&mut self, number: usize, raw: &'a str) -> Result<(), ParseError> {
        let trimmed = raw.trim_start();
        let indent = raw.len() - trimmed.len();
        if trimmed.is_empty() {
            self.after_blank |= self.fields_seen;
            let body = if self.in_body {
                &mut self.scenario.body
            } else {
                &mut self.pending
            };
            if !body.is_empty() && body.last() != Some(&Item::Blank) {
                body.push(Item::Blank);
            }
            return Ok(());
        }
        if let Some(comment) = trimmed.strip_prefix('#') {
            let comment = comment.to_owned();
            match (self.in_body, self.after_blank) {
                (true, _) => self.scenario.body.push(Item::Comment(comment)),
                // After the header's blank line a comment belongs to the body, unless another
                // header field follows (then it moves up with the header's comments).
                (false, true) => self.pending.push(Item::Comment(comment)),
                (false, false) => self.scenario.header.comments.push(comment),
            }
            return Ok(());
        }
        if let Some(key) = header_key(trimmed) {
            if self.in_body {
                return Err(self
                    .error(
                        number,
                        indent + 1,
                        format!("header field `{key}:` after the first step"),
                    )
                    .len(key.len() + 1)
                    .expected("a `C:`/`S:` line, a directive or a comment")
                    .hint("move header fields above the first line of the exchange"));
            }
            self.fields_seen = true;
            self.after_blank = false;
            for item in std::mem::take(&mut self.pending) {
                if let Item::Comment(c) = item {
                    self.scenario.header.comments.push(c);
                }
            }
            return self.header_field(number, raw, indent, key);
        }
        if !self.in_body {
            self.finish_header(number)?;
            self.in_body = true;
            self.scenario.body = std::mem::take(&mut self.pending);
        }
        self.step(number, raw, indent)
    }

    fn header_field(&mut self, number: usize, raw: &str, indent: usize, key: &str) -> Result<(), ParseError> {
        let value_start = indent + key.len() + 1;
        let value = raw[value_start..].trim();
        let value_col = raw[..value_start].chars().count()
            + 1
            + (raw[value_start..].len() - raw[value_start..].trim_start().len());
        match key {
            "name" => self.scenario.header.name = self.single(number, value_col, key, value)?,
            "summary" => self.scenario.header.summary = Some(self.single(number, value_col, key, value)?),
            "fixture" => self.scenario.header.fixture = Some(self.single(number, value_col, key, value)?),
            "rfc" => self.scenario.header.rfc.extend(list(value).map(str::to_owned)),
            "tags" => self.scenario.header.tags.extend(list(value).map(str::to_owned)),
            "sessions" => {
                for item in list(value) {
                    let decl = self.session_decl(number, raw, item)?;
                    self.scenario.header.sessions.push(decl);
                }
            }
            "requires" => {
                for item in list(value) {
                    let req = self.requirement(number, raw, item)?;
                    self.scenario.header.requires.push(req);
                }
            }
            "vars" => {
                for item in list(value) {
                    let col = col_of(raw, item);
                    let Some((name, val)) = item.split_once('=') else {
                        return Err(self
                            .error(number, col, format!("variable `{item}` has no value"))
                            .len(item.chars().count())
                            .expected("`name=value`"));
                    };
                    let name = name.trim();
                    if !is_name(name) {
                        return Err(self
                            .error(number, col, format!("`{name}` is not a valid variable name"))
                            .expected("letters, digits and `_`, starting with a letter"));
                    }
                    self.scenario
                        .header
                        .vars
                        .push((name.to_owned(), val.trim().to_owned()));
                }
            }
            "plays" => {
                let mut roles = Vec::new();
                for item in list(value) {
                    match item {
                        "client" => roles.push(Role::Client),
                        "server" => roles.push(Role::Server),
                        other => {
                            return Err(self
                                .error(number, col_of(raw, other), format!("unknown role `{other}`"))
                                .len(other.chars().count())
                                .expected("`client`, `server` or `client, server`"));
                        }
                    }
                }
                self.scenario.header.plays = match roles.as_slice() {
                    [one] => Some(*one),
                    [_, _] if roles[0] != roles[1] => None,
                    _ => {
                        return Err(self
                            .error(number, value_col, "`plays:` needs one or both roles")
                            .expected("`client`, `server` or `client, server`"));
                    }
                };
            }
            other => {
                let mut err = self
                    .error(number, indent + 1, format!("unknown header field `{other}:`"))
                    .len(other.len())
                    .expected(format!(
                        "one of {}",
                        HEADER_KEYS.map(|k| format!("`{k}:`")).join(", ")
                    ));
                if let Some(near) = closest(other, &HEADER_KEYS) {
                    err = err.hint(format!("did you mean `{near}:`?"));
                }
                return Err(err);
            }
        }
        Ok(())
    }

    fn single(&self, number: usize, col: usize, key: &str, value: &str) -> Result<String, ParseError> {
        if value.is_empty() {
            return Err(self
                .error(number, col, format!("`{key}:` is empty"))
                .expected("a value"));
        }
        Ok(value.to_owned())
    }

    fn session_decl(&self, number: usize, raw: &str, item: &str) -> Result<SessionDecl, ParseError> {
        let col = col_of(raw, item);
        let Some((name, proto)) = item.split_once('=') else {
            return Err(self
                .error(number, col, format!("session `{item}` has no protocol"))
                .len(item.chars().count())
                .expected("`name=protocol`, e.g. `a=imap`"));
        };
        let (name, proto) = (name.trim(), proto.trim());
        if !is_session_name(name) {
            return Err(self
                .error(number, col, format!("`{name}` is not a valid session name"))
                .len(name.chars().count().max(1))
                .expected("lowercase letters, digits and `_`, starting with a letter")
                .hint(
                    "`C` and `S` are line prefixes, so sessions are named in lowercase: `a`, `b`, `smtp1`",
                ));
        }
        if self.scenario.header.sessions.iter().any(|s| s.name == name) {
            return Err(self
                .error(number, col, format!("session `{name}` is declared twice"))
                .len(name.len()));
        }
        let Some(protocol) = Protocol::from_keyword(proto) else {
            let keywords = Protocol::ALL.map(Protocol::keyword);
            let mut err = self
                .error(number, col_of(raw, proto), format!("unknown protocol `{proto}`"))
                .len(proto.chars().count())
                .expected(format!("one of {}", keywords.join(", ")));
            if let Some(near) = closest(proto, &keywords) {
                err = err.hint(format!("did you mean `{near}`?"));
            }
            return Err(err);
        };
        Ok(SessionDecl {
            name: name.to_owned(),
            protocol,
        })
    }

    fn requirement(&self, number: usize, raw: &str, item: &str) -> Result<Requirement, ParseError> {
        let family = match item.split_once(':') {
            Some(("smtp", cap)) if !cap.is_empty() => Some((Family::Smtp, cap)),
            Some(("imap", cap)) if !cap.is_empty() => Some((Family::Imap, cap)),
            _ => None,
        };
        let Some((family, cap)) = family else {
            return Err(self
                .error(
                    number,
                    col_of(raw, item),
                    format!("requirement `{item}` does not name its protocol"),
                )
                .len(item.chars().count())
                .expected("`imap:CAPABILITY` or `smtp:EHLO-KEYWORD`, e.g. `imap:IDLE`"));
        };
        Ok(Requirement {
            family,
            capability: cap.to_owned(),
        })
    }

    fn finish_header(&self, number: usize) -> Result<(), ParseError> {
        let header = &self.scenario.header;
        if header.name.is_empty() {
            return Err(self
                .error(number, 1, "the header has no `name:`")
                .expected("`name: NAME` before the first step")
                .hint("every scenario starts with `name:` and `sessions:` lines"));
        }
        if header.sessions.is_empty() {
            return Err(self
                .error(number, 1, "the header has no `sessions:`")
                .expected("`sessions: NAME=PROTOCOL, ...` before the first step")
                .hint("for one IMAP connection write `sessions: a=imap`"));
        }
        Ok(())
    }

    fn step(&mut self, number: usize, raw: &'a str, indent: usize) -> Result<(), ParseError> {
        let rest = &raw[indent..];
        let (session, start) = self.session_prefix(number, indent, rest)?;
        let col = raw[..start].chars().count() + 1;
        let rest = &raw[start..];
        let kind = if let Some(directive) = rest.strip_prefix('@') {
            StepKind::Directive(self.directive(number, raw, start + 1, directive)?)
        } else if rest.starts_with('C') || rest.starts_with('S') {
            StepKind::Line(self.protocol_line(number, raw, start, session)?)
        } else {
            return Err(self
                .error(number, col, "this line is not a step")
                .len(rest.chars().count().min(20))
                .expected("`C:`, `S:`, `@directive`, a `#` comment or a header field")
                .hint("protocol lines start with `C: ` (client) or `S: ` (server)"));
        };
        let pos = Pos { line: number, col };
        self.scenario.body.push(Item::Step(Step { pos, session, kind }));
        Ok(())
    }

    /// Splits `a C: ...` into the session index and the byte offset of `C`.
    fn session_prefix(&self, number: usize, indent: usize, rest: &str) -> Result<(usize, usize), ParseError> {
        let word_len = rest.find(' ').unwrap_or(rest.len());
        let word = &rest[..word_len];
        let has_prefix = word_len < rest.len() && is_session_name(word);
        if has_prefix {
            let Some(index) = self.scenario.session_index(word) else {
                let names: Vec<&str> = self
                    .scenario
                    .header
                    .sessions
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect();
                let mut err = self
                    .error(number, indent + 1, format!("unknown session `{word}`"))
                    .len(word.len())
                    .expected(format!(
                        "one of the sessions declared in the header: {}",
                        names.join(", ")
                    ));
                if let Some(near) = closest(word, &names) {
                    err = err.hint(format!("did you mean `{near}`?"));
                }
                return Err(err);
            };
            let after = &rest[word_len..];
            let start = indent + word_len + (after.len() - after.trim_start().len());
            return Ok((index, start));
        }
        if self.scenario.header.sessions.len() == 1 {
            return Ok((0, indent));
        }
        Err(self
            .error(
                number,
                indent + 1,
                "this scenario has several sessions, so each line names its session",
            )
            .expected(format!(
                "a session name, e.g. `{} C: ...`",
                self.scenario.header.sessions[0].name
            )))
    }

    fn directive(&self, number: usize, raw: &str, at: usize, text: &str) -> Result<Directive, ParseError> {
        let col = raw[..at].chars().count() + 1;
        let mut words = text.split_whitespace();
        let name = words.next().unwrap_or("");
        let args: Vec<&str> = words.collect();
        let arg_col = |i: usize| col_of(raw, args[i]);
        match (name, args.as_slice()) {
            ("starttls", []) => Ok(Directive::StartTls),
            ("close", ["server"]) => Ok(Directive::Close(Side::Server)),
            ("close", ["client"]) => Ok(Directive::Close(Side::Client)),
            ("close", _) => Err(self
                .error(number, col, "`@close` needs the side that closes")
                .len(text.chars().count())
                .expected("`@close server` or `@close client`")),
            ("within" | "sleep", [arg]) => {
                let Some(d) = parse_duration(arg) else {
                    return Err(self
                        .error(number, arg_col(0), format!("`{arg}` is not a duration"))
                        .len(arg.chars().count())
                        .expected("a whole number with `ms`, `s` or `m`, e.g. `500ms`"));
                };
                Ok(if name == "within" {
                    Directive::Within(d)
                } else {
                    Directive::Sleep(d)
                })
            }
            ("within" | "sleep", _) => Err(self
                .error(number, col, format!("`@{name}` takes one duration"))
                .len(text.chars().count())
                .expected(format!("`@{name} 500ms`"))),
            ("match", [_, ..]) => self.match_mode(number, raw, &args),
            ("match", []) => Err(self
                .error(number, col, "`@match` needs at least one mode")
                .len(5)
                .expected("`ordered`, `unordered`, `extra` or `no-extra`")),
            ("starttls", _) => Err(self
                .error(number, col, "`@starttls` takes no arguments")
                .len(text.chars().count())),
            (other, _) => {
                let mut err = self
                    .error(number, col - 1, format!("unknown directive `@{other}`"))
                    .len(other.chars().count() + 1)
                    .expected(format!(
                        "one of {}",
                        DIRECTIVES.map(|d| format!("`@{d}`")).join(", ")
                    ));
                if let Some(near) = closest(other, &DIRECTIVES) {
                    err = err.hint(format!("did you mean `@{near}`?"));
                }
                Err(err)
            }
        }
    }

    fn match_mode(&self, number: usize, raw: &str, args: &[&str]) -> Result<Directive, ParseError> {
        let mut mode = MatchMode::default();
        for arg in args {
            let (slot, value) = match *arg {
                "ordered" => (&mut mode.ordered, true),
                "unordered" => (&mut mode.ordered, false),
                "extra" => (&mut mode.extra, true),
                "no-extra" => (&mut mode.extra, false),
                other => {
                    return Err(self
                        .error(
                            number,
                            col_of(raw, other),
                            format!("unknown match mode `{other}`"),
                        )
                        .len(other.chars().count())
                        .expected("`ordered`, `unordered`, `extra` or `no-extra`"));
                }
            };
            if slot.is_some() {
                return Err(self
                    .error(
                        number,
                        col_of(raw, arg),
                        format!("`{arg}` conflicts with an earlier mode on this line"),
                    )
                    .len(arg.len()));
            }
            *slot = Some(value);
        }
        Ok(Directive::Match(mode))
    }

    fn protocol_line(
        &mut self,
        number: usize,
        raw: &'a str,
        start: usize,
        session: usize,
    ) -> Result<Line, ParseError> {
        let bytes = raw.as_bytes();
        let side = if bytes[start] == b'C' {
            Side::Client
        } else {
            Side::Server
        };
        let mut i = start + 1;
        let mut presence = Presence::Required;
        let mut exact_case = false;
        while i < bytes.len() && bytes[i] != b':' {
            match bytes[i] {
                b'?' if presence == Presence::Required => presence = Presence::Optional,
                b'!' if presence == Presence::Required => presence = Presence::Forbidden,
                b'=' if !exact_case => exact_case = true,
                _ => {
                    let col = raw[..i].chars().count() + 1;
                    return Err(self
                        .error(number, col, format!("malformed `{}` line prefix", side.letter()))
                        .expected(format!("`{0}:`, `{0}?:`, `{0}!:` or `{0}=:` (`?` optional, `!` must not appear, `=` exact case)", side.letter())));
                }
            }
            i += 1;
        }
        if i >= bytes.len() {
            return Err(self
                .error(
                    number,
                    raw[..start].chars().count() + 2,
                    "missing `:` after the line prefix",
                )
                .expected(format!("`{}: text`", side.letter())));
        }
        let text_start = match bytes.get(i + 1) {
            None => i + 1,
            Some(b' ') => i + 2,
            Some(_) => {
                let col = raw[..i + 1].chars().count() + 1;
                return Err(self
                    .error(number, col, format!("missing space after `{}`", &raw[start..=i]))
                    .expected("one space between the prefix and the text")
                    .hint("the text starts after exactly one space; further spaces are part of the text"));
            }
        };
        let family = self.scenario.header.sessions[session].protocol.family();
        let sends = self.role_sends(side) && presence != Presence::Forbidden;
        let ctx = TextCtx { side, family, sends };
        let (parts, crlf) = self.text(number, raw, text_start, ctx)?;
        Ok(Line {
            side,
            presence,
            exact_case,
            parts,
            crlf,
        })
    }

    /// Whether mailrig ever sends lines of `side` (given the header's `plays:`).
    fn role_sends(&self, side: Side) -> bool {
        matches!(
            (self.scenario.header.plays, side),
            (None, _) | (Some(Role::Client), Side::Client) | (Some(Role::Server), Side::Server)
        )
    }

    /// Parses the text of a line from byte offset `from` of `raw`, following `{{{` blocks.
    fn text(
        &mut self,
        number: usize,
        raw: &'a str,
        from: usize,
        ctx: TextCtx,
    ) -> Result<(Vec<Part>, bool), ParseError> {
        let mut parts = Vec::new();
        let mut buf = Vec::new();
        let mut i = from;
        while i < raw.len() {
            let rest = &raw[i..];
            let col = raw[..i].chars().count() + 1;
            if rest.starts_with("$$") {
                buf.push(b'$');
                i += 2;
            } else if rest.starts_with("${") {
                let Some(close) = rest.find('}') else {
                    return Err(self
                        .error(number, col, "unterminated `${`")
                        .len(2)
                        .expected("`}` closing the expression"));
                };
                let expr = self.expr(number, col + 2, &rest[2..close], ctx)?;
                i += close + 1;
                match expr {
                    Expr::Bytes(b) => buf.extend_from_slice(&b),
                    Expr::Part(part) => {
                        flush(&mut parts, &mut buf);
                        parts.push(part);
                    }
                    Expr::NoCrlf if i == raw.len() => {
                        flush(&mut parts, &mut buf);
                        return Ok((parts, false));
                    }
                    Expr::NoCrlf => {
                        return Err(self
                            .error(number, col, "`${nocrlf}` must end the line")
                            .len(9)
                            .expected("end of line after `${nocrlf}`"));
                    }
                }
            } else if rest.starts_with("{{{") {
                flush(&mut parts, &mut buf);
                if ctx.family != Family::Imap {
                    return Err(self
                        .error(number, col, "`{{{` literals are IMAP syntax")
                        .len(3)
                        .hint("SMTP message content is written as ordinary `C:` lines after DATA"));
                }
                let (literal, resume) = self.literal(number, raw, i)?;
                parts.push(Part::Literal(literal));
                match resume {
                    Resume::SameLine(next) => i = next,
                    Resume::Closing { number, raw } => {
                        let (more, crlf) = self.text(number, raw, 3, ctx)?;
                        append(&mut parts, more);
                        return Ok((parts, crlf));
                    }
                }
            } else {
                let len = rest.chars().next().map_or(1, char::len_utf8);
                buf.extend_from_slice(&rest.as_bytes()[..len]);
                i += len;
            }
        }
        flush(&mut parts, &mut buf);
        Ok((parts, true))
    }

    /// Parses `{{{...` at byte `at` of `raw`. Inline blocks consume lines up to `}}}`.
    fn literal(
        &mut self,
        number: usize,
        raw: &'a str,
        at: usize,
    ) -> Result<(Literal, Resume<'a>), ParseError> {
        let col = raw[..at].chars().count() + 1;
        let after = &raw[at + 3..];
        let non_sync = after.starts_with('+');
        let after = after.strip_prefix('+').unwrap_or(after);
        if after.is_empty() {
            let mut content = Vec::new();
            while self.next < self.lines.len() {
                let line = self.lines[self.next];
                self.next += 1;
                if line.starts_with("}}}") {
                    let literal = Literal {
                        non_sync,
                        source: LiteralSource::Inline(content),
                    };
                    return Ok((
                        literal,
                        Resume::Closing {
                            number: self.next,
                            raw: line,
                        },
                    ));
                }
                content.push(line.to_owned());
            }
            return Err(self
                .error(number, col, "unterminated literal: no line starts with `}}}`")
                .len(3)
                .expected("the literal's content lines, then a line starting with `}}}`"));
        }
        if let Some(path_and_rest) = after.strip_prefix("file:") {
            let Some(end) = path_and_rest.find("}}}") else {
                return Err(self
                    .error(number, col, "unterminated file literal")
                    .len(3)
                    .expected("`{{{file:PATH}}}` on one line"));
            };
            let path = &path_and_rest[..end];
            if path.is_empty() {
                return Err(self
                    .error(number, col, "file literal with an empty path")
                    .len(3)
                    .expected("a path relative to the scenario file"));
            }
            let next = at + 3 + usize::from(non_sync) + "file:".len() + end + 3;
            let source = LiteralSource::File {
                path: path.to_owned(),
                data: None,
            };
            return Ok((Literal { non_sync, source }, Resume::SameLine(next)));
        }
        Err(self
            .error(number, col, "malformed literal")
            .len(3)
            .expected("end of line after `{{{` (content follows on the next lines) or `{{{file:PATH}}}`")
            .hint("a `+` right after `{{{` makes it a non-synchronizing literal (LITERAL+)"))
    }

    fn expr(&mut self, number: usize, col: usize, expr: &str, ctx: TextCtx) -> Result<Expr, ParseError> {
        if expr.starts_with('\\') {
            return self.escapes(number, col, expr).map(Expr::Bytes);
        }
        match expr {
            "|" => return Ok(Expr::Part(Part::Split)),
            "nocrlf" => return Ok(Expr::NoCrlf),
            _ => {}
        }
        let (name, spec) = match expr.split_once(':') {
            Some((name, spec)) => (name, Some(spec)),
            None => (expr, None),
        };
        if name != "_" && !is_name(name) {
            return Err(self
                .error(number, col, format!("`${{{expr}}}` is not a valid expression"))
                .len(expr.chars().count().max(1))
                .expected("`_`, a name, `name:class`, `name:class=value`, `\\` escapes, `|` or `nocrlf`")
                .hint("write a literal `$` before `{` as `$$`"));
        }
        let Some(spec) = spec else {
            if name == "_" {
                let hole = Hole {
                    name: None,
                    class: Class::Text,
                    value: None,
                };
                return self.hole(number, col, expr.chars().count() + 3, hole, ctx);
            }
            if !self.bound.contains(name) && !BUILTIN_VARS.contains(&name) && !self.is_var(name) {
                return Err(self.error(number, col, format!("`{name}` is not captured before this line, nor a variable"))
                    .len(name.chars().count())
                    .expected("a name captured earlier (`${name:class}`), declared in `vars:`, or one of the run's variables")
                    .hint(format!("run variables: {}", BUILTIN_VARS.join(", "))));
            }
            return Ok(Expr::Part(Part::Ref(name.to_owned())));
        };
        let (class_word, value) = match spec.split_once('=') {
            Some((c, v)) => (c, Some(v.to_owned())),
            None => (spec, None),
        };
        let Some(class) = Class::from_keyword(class_word) else {
            let mut err = self
                .error(
                    number,
                    col + name.len() + 1,
                    format!("unknown class `{class_word}`"),
                )
                .len(class_word.chars().count())
                .expected("`num`, `atom`, `word` or `text`");
            if let Some(near) = closest(class_word, &Class::ALL.map(Class::keyword)) {
                err = err.hint(format!("did you mean `{near}`?"));
            }
            return Err(err);
        };
        let name = (name != "_").then(|| name.to_owned());
        self.hole(
            number,
            col,
            expr.chars().count() + 3,
            Hole { name, class, value },
            ctx,
        )
    }

    fn is_var(&self, name: &str) -> bool {
        self.scenario.header.vars.iter().any(|(n, _)| n == name)
    }

    /// Checks a hole (its value fits its class; it has one if mailrig sends the line) and
    /// records its capture name as bound. `span` is the length of the whole `${...}`.
    fn hole(
        &mut self,
        number: usize,
        col: usize,
        span: usize,
        hole: Hole,
        ctx: TextCtx,
    ) -> Result<Expr, ParseError> {
        let Hole { name, class, value } = hole;
        if let Some(v) = &value {
            let fits = (v.is_empty() && class.admits_empty())
                || (!v.is_empty() && v.bytes().all(|b| class.admits(b)));
            if !fits {
                return Err(self
                    .error(
                        number,
                        col,
                        format!("the value `{v}` does not fit class `{}`", class.keyword()),
                    )
                    .expected(format!("a value that `{}` matches", class.keyword())));
            }
        }
        if value.is_none() && ctx.sends {
            let role = if ctx.side == Side::Client {
                "client"
            } else {
                "server"
            };
            return Err(self
                .error(number, col - 2, format!("mailrig sends `{}:` lines when it plays the {role}, but this hole has no value to send", ctx.side.letter()))
                .len(span)
                .expected(format!("a value: `${{{}:{}=VALUE}}`", name.as_deref().unwrap_or("_"), class.keyword()))
                .hint(format!("or declare that mailrig only plays the other side: `plays: {}`", ctx.side.peer().word())));
        }
        if let Some(name) = &name {
            self.bound.insert(name.clone());
        }
        Ok(Expr::Part(Part::Hole(Hole { name, class, value })))
    }

    /// Decodes `\r\n`-style escapes (the text of `${\r\n}`).
    fn escapes(&self, number: usize, col: usize, expr: &str) -> Result<Vec<u8>, ParseError> {
        let bytes = expr.as_bytes();
        let bad = |offset: usize| {
            self.error(number, col + offset, "unknown escape")
                .expected("`\\r`, `\\n`, `\\t`, `\\0`, `\\\\` or `\\xHH`, one after another: `${\\r\\n}`")
        };
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            let (byte, len) = match (bytes[i], bytes.get(i + 1)) {
                (b'\\', Some(b'r')) => (b'\r', 2),
                (b'\\', Some(b'n')) => (b'\n', 2),
                (b'\\', Some(b't')) => (b'\t', 2),
                (b'\\', Some(b'0')) => (0, 2),
                (b'\\', Some(b'\\')) => (b'\\', 2),
                (b'\\', Some(b'x')) => {
                    let hex = expr.get(i + 2..i + 4).ok_or_else(|| bad(i))?;
                    (u8::from_str_radix(hex, 16).map_err(|_| bad(i))?, 4)
                }
                _ => return Err(bad(i)),
            };
            out.push(byte);
            i += len;
        }
        Ok(out)
    }

    /// `@match` applies to the next step, which must be an `S:` line of the same session.
    fn check_match_directives(&self) -> Result<(), ParseError> {
        let steps: Vec<&Step> = self.scenario.steps().collect();
        for (i, step) in steps.iter().enumerate() {
            if !matches!(step.kind, StepKind::Directive(Directive::Match(_))) {
                continue;
            }
            let ok = steps.get(i + 1).is_some_and(|next| {
                next.session == step.session
                    && matches!(&next.kind, StepKind::Line(l) if l.side == Side::Server)
            });
            if !ok {
                return Err(self
                    .error(
                        step.pos.line,
                        step.pos.col,
                        "`@match` must be followed by an `S:` line of the same session",
                    )
                    .len(6)
                    .expected("the group of `S:` lines it applies to on the next line"));
            }
        }
        Ok(())
    }
}

/// Where parsing continues after a literal.
enum Resume<'a> {
    /// After `{{{file:...}}}`, at this byte offset of the same line.
    SameLine(usize),
    /// After the `}}}` that starts this line.
    Closing { number: usize, raw: &'a str },
}

#[derive(Clone, Copy)]
struct TextCtx {
    side: Side,
    family: Family,
    sends: bool,
}

fn flush(parts: &mut Vec<Part>, buf: &mut Vec<u8>) {
    if !buf.is_empty() {
        parts.push(Part::Text(std::mem::take(buf)));
    }
}

/// Appends `more` to `parts`, merging adjacent text.
fn append(parts: &mut Vec<Part>, more: Vec<Part>) {
    for part in more {
        match (parts.last_mut(), part) {
            (Some(Part::Text(a)), Part::Text(b)) => a.extend_from_slice(&b),
            (_, part) => parts.push(part),
        }
    }
}

/// `key` if the line is `key: ...` with a lowercase key.
fn header_key(line: &str) -> Option<&str> {
    let end = line.find(|c: char| !(c.is_ascii_lowercase() || c == '-'))?;
    (end > 0 && line[end..].starts_with(':')).then(|| &line[..end])
}

fn list(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// The column of `part`, a subslice of `raw`.
fn col_of(raw: &str, part: &str) -> usize {
    let offset = (part.as_ptr() as usize)
        .saturating_sub(raw.as_ptr() as usize)
        .min(raw.len());
    raw.get(..offset).map_or(1, |s| s.chars().count() + 1)
}

/// Capture and variable names: a letter or `_`, then letters, digits, `_`.
pub(crate) fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name != "_"
        && name != "nocrlf"
}

/// Session names: a lowercase letter, then lowercase letters, digits, `_`.
pub(crate) fn is_session_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests;
