//! The scenario parser: text in, [`Scenario`] or [`ParseError`]s with `file:line:col` out.
//!
//! After an error the parser recovers and goes on with the next line (skipping the content of
//! a literal the bad line opened), so [`parse_all`] reports every bad line of a file. Names a
//! bad line or header field would have defined count as defined afterwards, so one mistake is
//! reported once, not again at every later use.
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

use crate::error::{ParseError, ParseErrors};
use crate::scenario::{Item, Pos, Scenario};

mod directive;
mod header;
mod literal;
mod step;
mod text;

use header::header_key;

/// Variables a run always supplies, so scenarios may use them without declaring them.
/// `mailbox` is the fresh mailbox the runner creates for each scenario.
pub const BUILTIN_VARS: [&str; 12] = [
    "host",
    "port",
    "user",
    "password",
    "address",
    "user2",
    "password2",
    "address2",
    "auth_plain",
    "auth_plain2",
    "domain",
    "mailbox",
];

/// Parses scenario text. `file` is only used in error messages. On failure, returns the first
/// error in file order; [`parse_all`] returns all of them.
pub fn parse(file: &str, text: &str) -> Result<Scenario, ParseError> {
    parse_all(file, text).map_err(ParseErrors::into_first)
}

/// Parses scenario text, reporting every error of the file.
pub fn parse_all(file: &str, text: &str) -> Result<Scenario, ParseErrors> {
    Parser::new(file, text).run()
}

/// Parses scenario bytes, reporting invalid UTF-8 as a positioned error. On failure, returns
/// the first error in file order; [`parse_bytes_all`] returns all of them.
pub fn parse_bytes(file: &str, bytes: &[u8]) -> Result<Scenario, ParseError> {
    parse_bytes_all(file, bytes).map_err(ParseErrors::into_first)
}

/// Parses scenario bytes, reporting every error of the file: one for each line that is not
/// valid UTF-8, and the errors of the other lines.
pub fn parse_bytes_all(file: &str, bytes: &[u8]) -> Result<Scenario, ParseErrors> {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return parse_all(file, text);
    }
    let mut errors = utf8_errors(file, bytes);
    let bad_lines: HashSet<usize> = errors.iter().map(|e| e.pos.line).collect();
    if let Err(more) = parse_all(file, &String::from_utf8_lossy(bytes)) {
        errors.extend(more.into_iter().filter(|e| !bad_lines.contains(&e.pos.line)));
    }
    Err(ParseErrors::new(errors))
}

/// One error for each line of `bytes` that is not valid UTF-8.
fn utf8_errors(file: &str, bytes: &[u8]) -> Vec<ParseError> {
    let mut errors = Vec::new();
    for (index, line) in bytes.split(|b| *b == b'\n').enumerate() {
        let Err(e) = std::str::from_utf8(line) else {
            continue;
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let prefix = String::from_utf8_lossy(&line[..e.valid_up_to().min(line.len())]);
        let pos = Pos {
            line: index + 1,
            col: prefix.chars().count() + 1,
        };
        let source = String::from_utf8_lossy(line);
        errors.push(
            ParseError::new(file, pos, &source, "the file is not valid UTF-8")
                .expected("UTF-8 text")
                .hint("write bytes that are not UTF-8 as escapes, e.g. `${\\xff}`, or put them in a literal file"),
        );
    }
    errors
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
    /// Names captured as message sequence numbers (`${m1:seq}`).
    seq_names: HashSet<String>,
    /// The (session, name) pairs where a message name has been captured.
    seq_bound: HashSet<(usize, String)>,
    /// Names captured with any other class.
    plain_names: HashSet<String>,
    /// Every error so far.
    errors: Vec<ParseError>,
    /// The lines that had an error or could not be checked (1-based).
    bad_lines: HashSet<usize>,
    /// Header fields that had an error, or that a misspelled field was probably meant to be.
    bad_fields: HashSet<&'static str>,
    /// Sessions whose declaration had an error: their lines are not checked.
    bad_sessions: HashSet<String>,
    /// The header declares no usable session, so no step can be checked.
    skip_steps: bool,
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
            seq_names: HashSet::new(),
            seq_bound: HashSet::new(),
            plain_names: HashSet::new(),
            errors: Vec::new(),
            bad_lines: HashSet::new(),
            bad_fields: HashSet::new(),
            bad_sessions: HashSet::new(),
            skip_steps: false,
        }
    }

    fn run(mut self) -> Result<Scenario, ParseErrors> {
        while self.next < self.lines.len() {
            let number = self.next + 1;
            let raw = self.lines[self.next];
            self.next += 1;
            if let Err(error) = self.line(number, raw) {
                self.recover(number, raw, error);
            }
        }
        if !self.in_body {
            self.finish_header(self.lines.len().max(1));
            self.scenario.body = std::mem::take(&mut self.pending);
        }
        while self.scenario.body.last() == Some(&Item::Blank) {
            self.scenario.body.pop();
        }
        self.check_match_directives();
        self.check_directives_inside_replies();
        if self.errors.is_empty() {
            Ok(self.scenario)
        } else {
            Err(ParseErrors::new(self.errors))
        }
    }

    /// Records an error (and its line as bad).
    fn report(&mut self, error: ParseError) {
        self.bad_lines.insert(error.pos.line);
        self.errors.push(error);
    }

    /// Records the error of line `number` (`raw`) and gets ready for the next line: a capture
    /// the line names counts as bound, and a literal it opened but did not read is skipped.
    fn recover(&mut self, number: usize, raw: &'a str, error: ParseError) {
        self.report(error);
        self.bad_lines.insert(number);
        if header_key(raw.trim_start()).is_some() {
            return;
        }
        for line in &self.lines[number - 1..self.next] {
            bind_names(line, &mut self.bound);
        }
        let mut last = self.lines[self.next - 1];
        while last.ends_with("{{{") || last.ends_with("{{{+") {
            let Some(close) = self.lines[self.next..].iter().position(|l| l.starts_with("}}}")) else {
                self.next = self.lines.len();
                return;
            };
            self.next += close + 1;
            last = self.lines[self.next - 1];
            bind_names(last, &mut self.bound);
        }
    }

    /// The 1-based column, in characters, of byte offset `at` of line `number`.
    fn col_at(&self, number: usize, at: usize) -> usize {
        let line = self.lines.get(number - 1).copied().unwrap_or("");
        line.get(..at).map_or(at + 1, |s| s.chars().count() + 1)
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
                        self.col_at(number, indent),
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
            self.finish_header(number);
            self.in_body = true;
            self.scenario.body = std::mem::take(&mut self.pending);
        }
        if self.skip_steps {
            return Ok(());
        }
        self.step(number, raw, indent)
    }
}

/// Adds the names of the captures `${name:...}` written in `line` to `bound`.
fn bind_names(line: &str, bound: &mut HashSet<String>) {
    for (at, _) in line.match_indices("${") {
        let expr = &line[at + 2..];
        let Some((name, _)) = expr.split_once(':') else {
            continue;
        };
        if is_name(name) {
            bound.insert(name.to_owned());
        }
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
