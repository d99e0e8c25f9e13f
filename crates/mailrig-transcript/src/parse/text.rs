//! The text of a protocol line: `$$`, `${...}` expressions (holes, references, escapes,
//! `${|}`, `${nocrlf}`), checked against the session and role, and where literals start.

use crate::error::{ParseError, closest};
use crate::scenario::{Class, Family, Hole, Part, Side};

use super::literal::Resume;
use super::{BUILTIN_VARS, Parser, is_name};

/// A `${...}` expression.
enum Expr {
    Bytes(Vec<u8>),
    Part(Part),
    NoCrlf,
}

impl<'a> Parser<'a> {
    /// Parses the text of a line from byte offset `from` of `raw`, following `{{{` blocks.
    pub(super) fn text(
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
            self.check_message_ref(number, col, name, ctx)?;
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
                .expected("`num`, `atom`, `word`, `text`, `string` or `seq`");
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
            self.check_capture_class(number, col, name, class, ctx)?;
            self.bound.insert(name.clone());
        }
        Ok(Expr::Part(Part::Hole(Hole { name, class, value })))
    }

    /// A name is a message name (`${m1:seq}`, IMAP only) everywhere or nowhere; a message name
    /// is bound per session.
    fn check_capture_class(
        &mut self,
        number: usize,
        col: usize,
        name: &str,
        class: Class,
        ctx: TextCtx,
    ) -> Result<(), ParseError> {
        let seq = class == Class::Seq;
        if seq && ctx.family != Family::Imap {
            return Err(self
                .error(
                    number,
                    col,
                    format!("`{name}` is captured as a message sequence number, which is IMAP"),
                )
                .len(name.chars().count())
                .expected("`num`, `atom`, `word`, `text` or `string` in an SMTP line"));
        }
        let other = if seq { &self.plain_names } else { &self.seq_names };
        if other.contains(name) {
            let (was, now) = if seq {
                ("a value", "a message name (`seq`)")
            } else {
                ("a message name (`seq`)", "a value")
            };
            return Err(self
                .error(
                    number,
                    col,
                    format!("`{name}` is captured as {was} earlier, so it cannot be {now} here"),
                )
                .len(name.chars().count())
                .expected(format!("another name, or `${{{name}}}` to refer to it")));
        }
        if seq {
            self.seq_names.insert(name.to_owned());
            self.seq_bound.insert((ctx.session, name.to_owned()));
        } else {
            self.plain_names.insert(name.to_owned());
        }
        Ok(())
    }

    /// `${m1}` for a message name needs the name bound in the same session: sequence numbers
    /// are per session.
    fn check_message_ref(
        &self,
        number: usize,
        col: usize,
        name: &str,
        ctx: TextCtx,
    ) -> Result<(), ParseError> {
        if !self.seq_names.contains(name) || self.seq_bound.contains(&(ctx.session, name.to_owned())) {
            return Ok(());
        }
        let session = &self.scenario.header.sessions[ctx.session].name;
        Err(self
            .error(number, col, format!("`{name}` names a message by its sequence number in another session, and sequence numbers are per session"))
            .len(name.chars().count())
            .expected(format!("a capture of `{name}` in session `{session}` first, e.g. `* ${{{name}:seq}} FETCH (UID ${{uid}})`"))
            .hint("find the message in this session by its UID: `UID FETCH ${uid} (UID)`"))
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
}

#[derive(Clone, Copy)]
pub(super) struct TextCtx {
    pub(super) side: Side,
    pub(super) family: Family,
    pub(super) sends: bool,
    pub(super) session: usize,
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
