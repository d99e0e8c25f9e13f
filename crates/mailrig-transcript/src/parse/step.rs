//! A body step: its session prefix, then a directive or a `C:`/`S:` line with its prefix
//! modifiers (`?`, `!`, `=`).

use crate::error::{ParseError, closest};
use crate::scenario::{Item, Line, Pos, Presence, Role, Side, Step, StepKind};

use super::text::TextCtx;
use super::{Parser, is_session_name};

impl<'a> Parser<'a> {
    pub(super) fn step(&mut self, number: usize, raw: &'a str, indent: usize) -> Result<(), ParseError> {
        let rest = &raw[indent..];
        let Some((session, start)) = self.session_prefix(number, indent, rest)? else {
            // A line of a session whose declaration has an error cannot be checked.
            self.bad_lines.insert(number);
            return Ok(());
        };
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

    /// Splits `a C: ...` into the session index and the byte offset of `C`; `None` for a line
    /// of a session whose declaration had an error.
    fn session_prefix(
        &self,
        number: usize,
        indent: usize,
        rest: &str,
    ) -> Result<Option<(usize, usize)>, ParseError> {
        let word_len = rest.find(' ').unwrap_or(rest.len());
        let word = &rest[..word_len];
        let has_prefix = word_len < rest.len() && is_session_name(word);
        if has_prefix && self.bad_sessions.contains(word) {
            return Ok(None);
        }
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
                    .error(
                        number,
                        self.col_at(number, indent),
                        format!("unknown session `{word}`"),
                    )
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
            return Ok(Some((index, start)));
        }
        if self.scenario.header.sessions.len() == 1 {
            return Ok(Some((0, indent)));
        }
        Err(self
            .error(
                number,
                self.col_at(number, indent),
                "this scenario has several sessions, so each line names its session",
            )
            .expected(format!(
                "a session name, e.g. `{} C: ...`",
                self.scenario.header.sessions[0].name
            )))
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
        let ctx = TextCtx {
            side,
            family,
            sends,
            session,
        };
        let (parts, crlf) = self.text(number, raw, text_start, ctx)?;
        Ok(Line {
            side,
            presence,
            exact_case,
            parts,
            crlf,
        })
    }

    /// Whether mailrig ever sends lines of `side` (given the header's `plays:`; `false` when
    /// that field has an error, so its lines are not reported again).
    fn role_sends(&self, side: Side) -> bool {
        !self.bad_fields.contains("plays")
            && matches!(
                (self.scenario.header.plays, side),
                (None, _) | (Some(Role::Client), Side::Client) | (Some(Role::Server), Side::Server)
            )
    }
}
