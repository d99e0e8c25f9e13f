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

use crate::error::ParseError;
use crate::scenario::{Item, Pos, Scenario};

mod directive;
mod header;
mod literal;
mod step;
mod text;

use header::header_key;

/// Variables a run always supplies, so scenarios may use them without declaring them.
pub const BUILTIN_VARS: [&str; 7] = ["host", "port", "user", "password", "user2", "password2", "domain"];

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
