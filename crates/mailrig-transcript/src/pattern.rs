//! Lines as patterns: matching received bytes against a [`Line`], and rendering a line to the
//! bytes mailrig sends.
//!
//! Matching rules (`docs/scenario-format.md`, "Matching"): letters compare ASCII
//! case-insensitively outside double-quoted strings and literals (RFC 9051 §4 and RFC 5321 §2.4
//! make keywords case-insensitive) unless the line is written `=`; holes match their class and
//! never CR or LF; a named hole binds on first match and must match the same bytes afterwards;
//! back-references match the bound bytes exactly; a back-reference or `num` hole never starts or
//! ends inside a run of digits. IMAP `S:` lines compiled with [`Pattern::compile_imap_server`]
//! are matched by meaning instead ([`crate::imap`]).

use std::collections::BTreeMap;

use crate::imap::expected::{self, ResponsePattern};
use crate::imap::response;
use crate::reply::{self, ReplyPattern};
use crate::scenario::{Class, Compare, Family, Line, MatchMode, Part};

/// Values bound by captures and run variables, by name.
pub type Bindings = BTreeMap<String, Vec<u8>>;

/// Upper bound on backtracking steps for one line, so hostile input cannot stall a match.
const STEP_BUDGET: usize = 200_000;

/// A line compiled for matching.
#[derive(Debug, Clone)]
pub struct Pattern {
    elems: Vec<Elem>,
    /// The line as an IMAP response pattern, when it is matched by meaning.
    imap: Option<Box<ResponsePattern>>,
    /// The line as an SMTP reply pattern, when it is matched by meaning too.
    smtp: Option<Box<ReplyPattern>>,
}

#[derive(Debug, Clone)]
enum Elem {
    /// A byte; `fold` compares ASCII letters case-insensitively.
    Byte {
        byte: u8,
        fold: bool,
    },
    /// Exact bytes (literal content).
    Exact(Vec<u8>),
    Hole {
        name: Option<String>,
        class: Class,
    },
    Ref(String),
}

/// Why a line cannot be compiled or rendered; these are harness errors, not mismatches.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// A back-reference names a value that is neither captured nor supplied by the run.
    #[error("`${{{0}}}` has no value: it is not captured before this line and the run does not set it")]
    Unbound(String),
    /// A message name (`${m1:seq}`) whose message this session has seen expunged, or whose
    /// number a `VANISHED` response made unknown (its UID was never seen).
    #[error(
        "`${{{0}}}` has no sequence number in this session: the message was expunged, or a VANISHED response renumbered the mailbox before its UID was seen"
    )]
    NoSequenceNumber(String),
    /// A hole in a line that mailrig must send has no value.
    #[error("a hole in a line mailrig sends has no value (write `${{_:text=VALUE}}`)")]
    NoValue,
    /// A `{{{file:...}}}` literal was not loaded with `Scenario::load_literals`.
    #[error("the literal file `{0}` was not loaded")]
    NotLoaded(String),
}

/// One piece of what mailrig writes for a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Bytes to write.
    Bytes(Vec<u8>),
    /// End the current write here (`${|}`).
    Split,
    /// Wait for the server's `+` continuation request before writing on (synchronizing
    /// literal, RFC 9051 §4.3).
    AwaitContinuation,
}

/// The result of matching one received line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// Captures bound by this match that were not bound before.
    pub bound: Bindings,
}

impl Pattern {
    /// Compiles a line. `normalize_reply_separator` turns an SMTP `250-` into `250 ` so reply
    /// lines can match in any order.
    pub fn compile(line: &Line, normalize_reply_separator: bool) -> Result<Pattern, PatternError> {
        let mut elems = Vec::new();
        let mut in_quote = false;
        let mut escaped = false;
        for part in &line.parts {
            match part {
                Part::Text(bytes) => {
                    for &byte in bytes {
                        let fold = !line.exact_case && !in_quote && byte.is_ascii_alphabetic();
                        elems.push(Elem::Byte { byte, fold });
                        if in_quote && byte == b'\\' && !escaped {
                            escaped = true;
                            continue;
                        }
                        if byte == b'"' && !escaped {
                            in_quote = !in_quote;
                        }
                        escaped = false;
                    }
                }
                Part::Hole(hole) => elems.push(Elem::Hole {
                    name: hole.name.clone(),
                    class: hole.class,
                }),
                Part::Ref(name) => elems.push(Elem::Ref(name.clone())),
                Part::Split => {}
                Part::Literal(literal) => {
                    let bytes = literal.wire_bytes().ok_or_else(|| not_loaded(literal))?;
                    elems.push(Elem::Exact(bytes));
                }
            }
        }
        if line.crlf {
            elems.push(Elem::Exact(b"\r\n".to_vec()));
        }
        if normalize_reply_separator {
            normalize_separator(&mut elems);
        }
        Ok(Pattern {
            elems,
            imap: None,
            smtp: None,
        })
    }

    /// Compiles an IMAP `S:` line to be matched **by meaning** (`docs/scenario-format.md`,
    /// "Matching by meaning"): the received response is decoded and compared as data. A line
    /// that cannot be read as a response (a raw line, a `+` line, a tag written as `${_}`, ...)
    /// and `@match text` keep text matching, and so does any received line that does not
    /// decode or whose shape (tagged, untagged, status, data) differs from the line's.
    pub fn compile_imap_server(line: &Line, mode: MatchMode) -> Result<Pattern, PatternError> {
        let mut pattern = Pattern::compile(line, false)?;
        if mode.compare != Some(Compare::Text) && !is_raw(line) {
            let extra_items = mode.extra_items.unwrap_or(true);
            pattern.imap = expected::compile(line, extra_items).map(Box::new);
        }
        Ok(pattern)
    }

    /// Compiles a server line of a group (`S:`, `S?:`, `S!:`), by meaning unless `@match text`
    /// says otherwise: IMAP lines with [`Pattern::compile_imap_server`], SMTP replies with
    /// [`Pattern::compile_smtp_reply`].
    pub fn compile_server(
        line: &Line,
        family: Family,
        mode: MatchMode,
        normalize_reply_separator: bool,
    ) -> Result<Pattern, PatternError> {
        match family {
            Family::Imap => Pattern::compile_imap_server(line, mode),
            Family::Smtp => Pattern::compile_smtp_reply(line, mode, normalize_reply_separator),
        }
    }

    /// Compiles an SMTP reply line to be matched **by meaning** as well as text
    /// (`docs/scenario-format.md`, "Matching by meaning"): a received reply matches when its
    /// text matches, or when its code and enhanced status code do and the line leaves the text
    /// after the enhanced status code free. `@match text` and raw lines keep text matching.
    pub fn compile_smtp_reply(
        line: &Line,
        mode: MatchMode,
        normalize_reply_separator: bool,
    ) -> Result<Pattern, PatternError> {
        let mut pattern = Pattern::compile(line, normalize_reply_separator)?;
        if mode.compare != Some(Compare::Text) && !is_raw(line) {
            pattern.smtp = reply::compile(line, normalize_reply_separator).map(Box::new);
        }
        Ok(pattern)
    }

    /// Whether received lines are compared by meaning (see [`Pattern::compile_server`]).
    pub fn by_meaning(&self) -> bool {
        self.imap.is_some() || self.smtp.is_some()
    }

    /// Matches a whole received line (including its CRLF) against the pattern.
    ///
    /// On success returns the new bindings; on failure returns how many bytes of `input`
    /// matched before the pattern could not go on (for pointing at the difference).
    pub fn matches(&self, input: &[u8], bindings: &Bindings) -> Result<Match, usize> {
        if let Some(imap) = &self.imap
            && let Ok(response) = response::decode(input)
            && let Some(result) = imap.matches(&response, input, bindings)
        {
            return result;
        }
        match (self.run(input, bindings, false), &self.smtp) {
            (Ok((m, _)), _) => Ok(m),
            (Err(at), Some(reply)) => reply.matches(input, bindings).ok_or(at),
            (Err(at), None) => Err(at),
        }
    }

    /// Matches the pattern against the start of `input`, which may go on after the match
    /// (for lines matched against a raw byte stream). Returns the bindings and the length of
    /// the shortest match.
    pub fn matches_prefix(&self, input: &[u8], bindings: &Bindings) -> Result<(Match, usize), usize> {
        self.run(input, bindings, true)
    }

    fn run(&self, input: &[u8], bindings: &Bindings, prefix: bool) -> Result<(Match, usize), usize> {
        let mut m = Matcher {
            elems: &self.elems,
            input,
            bindings,
            bound: Bindings::new(),
            budget: STEP_BUDGET,
            furthest: 0,
            prefix,
            end: 0,
        };
        if m.run(0, 0) {
            Ok((Match { bound: m.bound }, m.end))
        } else {
            Err(m.furthest)
        }
    }
}

/// Whether a line must be matched against the raw byte stream rather than as one framed line:
/// it contains CR or LF bytes of its own (`${\r\n}`, `${\n}`) or does not end with CRLF.
pub fn is_raw(line: &Line) -> bool {
    !line.crlf
        || line
            .parts
            .iter()
            .any(|p| matches!(p, Part::Text(t) if t.iter().any(|b| matches!(b, b'\r' | b'\n'))))
}

/// Applies an SMTP reply's `250-` → `250 ` normalization to the actual bytes too.
pub fn normalize_reply_line(line: &[u8]) -> Vec<u8> {
    let mut out = line.to_vec();
    if out.len() >= 4 && out[..3].iter().all(u8::is_ascii_digit) && out[3] == b'-' {
        out[3] = b' ';
    }
    out
}

fn normalize_separator(elems: &mut [Elem]) {
    let digits = elems
        .iter()
        .take(3)
        .all(|e| matches!(e, Elem::Byte { byte, .. } if byte.is_ascii_digit()));
    if digits
        && let Some(Elem::Byte { byte, .. }) = elems.get_mut(3)
        && *byte == b'-'
    {
        *byte = b' ';
    }
}

fn not_loaded(literal: &crate::scenario::Literal) -> PatternError {
    match &literal.source {
        crate::scenario::LiteralSource::File { path, .. } => PatternError::NotLoaded(path.clone()),
        crate::scenario::LiteralSource::Inline(_) => PatternError::NotLoaded(String::new()),
    }
}

struct Matcher<'a> {
    elems: &'a [Elem],
    input: &'a [u8],
    bindings: &'a Bindings,
    bound: Bindings,
    budget: usize,
    furthest: usize,
    /// Accept a match that stops before the end of the input.
    prefix: bool,
    /// Where the successful match ended.
    end: usize,
}

impl Matcher<'_> {
    fn run(&mut self, ei: usize, ii: usize) -> bool {
        self.furthest = self.furthest.max(ii);
        if self.budget == 0 {
            return false;
        }
        self.budget -= 1;
        let Some(elem) = self.elems.get(ei) else {
            self.end = ii;
            return self.prefix || ii == self.input.len();
        };
        match elem {
            Elem::Byte { byte, fold } => {
                let Some(&got) = self.input.get(ii) else {
                    return false;
                };
                let same = if *fold {
                    got.eq_ignore_ascii_case(byte)
                } else {
                    got == *byte
                };
                same && self.run(ei + 1, ii + 1)
            }
            Elem::Exact(bytes) => self.input[ii..].starts_with(bytes) && self.run(ei + 1, ii + bytes.len()),
            Elem::Ref(name) => {
                let value = self.value(name).cloned().unwrap_or_default();
                self.input[ii..].starts_with(&value)
                    && !self.splits_number(ei, ii, value.len())
                    && self.run(ei + 1, ii + value.len())
            }
            Elem::Hole { name, class } => self.hole(ei, ii, name.as_deref(), *class),
        }
    }

    fn value(&self, name: &str) -> Option<&Vec<u8>> {
        self.bound.get(name).or_else(|| self.bindings.get(name))
    }

    /// Whether `input[at..at + len]`, matched by the element `ei`, would cut a run of
    /// received digits: a back-reference or `num` hole must not stop right before a digit
    /// nor start right after one, so `${uid}` bound to `2` never matches inside `25` or `12`.
    /// Digits the scenario writes next to it are the author's choice: `25${_:num}` matches
    /// `252`, `${n:num}0` matches `10`.
    fn splits_number(&self, ei: usize, at: usize, len: usize) -> bool {
        let digit = |i: Option<usize>| i.and_then(|i| self.input.get(i)).is_some_and(u8::is_ascii_digit);
        let written_digit = |i: Option<usize>| matches!(i.and_then(|i| self.elems.get(i)), Some(Elem::Byte { byte, .. }) if byte.is_ascii_digit());
        len > 0
            && ((digit(Some(at + len - 1)) && digit(Some(at + len)) && !written_digit(Some(ei + 1)))
                || (digit(Some(at)) && digit(at.checked_sub(1)) && !written_digit(ei.checked_sub(1))))
    }

    fn hole(&mut self, ei: usize, ii: usize, name: Option<&str>, class: Class) -> bool {
        if let Some(name) = name
            && let Some(value) = self.value(name).cloned()
        {
            return self.input[ii..].starts_with(&value)
                && !self.splits_number(ei, ii, value.len())
                && self.run(ei + 1, ii + value.len());
        }
        let max = self.input[ii..].iter().take_while(|b| class.admits(**b)).count();
        let min = usize::from(!class.admits_empty());
        for len in min..=max {
            if class.is_numeric() && self.splits_number(ei, ii, len) {
                continue;
            }
            if let Some(name) = name {
                self.bound
                    .insert(name.to_owned(), self.input[ii..ii + len].to_vec());
            }
            if self.run(ei + 1, ii + len) {
                return true;
            }
            if let Some(name) = name {
                self.bound.remove(name);
            }
            if self.budget == 0 {
                return false;
            }
        }
        false
    }
}

/// Renders a line mailrig sends, binding the values of named holes into `bindings`.
pub fn render(line: &Line, bindings: &mut Bindings) -> Result<Vec<Output>, PatternError> {
    let mut out: Vec<Output> = Vec::new();
    let push = |out: &mut Vec<Output>, bytes: &[u8]| match out.last_mut() {
        Some(Output::Bytes(b)) => b.extend_from_slice(bytes),
        _ => out.push(Output::Bytes(bytes.to_vec())),
    };
    for part in &line.parts {
        match part {
            Part::Text(bytes) => push(&mut out, bytes),
            Part::Hole(hole) => {
                let value = hole.value.as_ref().ok_or(PatternError::NoValue)?;
                if let Some(name) = &hole.name {
                    bindings
                        .entry(name.clone())
                        .or_insert_with(|| value.as_bytes().to_vec());
                }
                push(&mut out, value.as_bytes());
            }
            Part::Ref(name) => {
                let value = bindings
                    .get(name)
                    .ok_or_else(|| PatternError::Unbound(name.clone()))?;
                push(&mut out, &value.clone());
            }
            Part::Split => out.push(Output::Split),
            Part::Literal(literal) => {
                let wire = literal.wire_bytes().ok_or_else(|| not_loaded(literal))?;
                let header_len = wire.iter().position(|b| *b == b'\n').map_or(0, |i| i + 1);
                push(&mut out, &wire[..header_len]);
                if !literal.non_sync {
                    out.push(Output::AwaitContinuation);
                }
                push(&mut out, &wire[header_len..]);
            }
        }
    }
    if line.crlf {
        push(&mut out, b"\r\n");
    }
    Ok(out)
}

/// A line's text as written, for messages (the first physical line for inline literals).
pub fn display(line: &Line) -> String {
    crate::print::text(&line.parts, line.crlf)
        .lines()
        .next()
        .unwrap_or("")
        .to_owned()
}

pub(crate) mod pieces;

#[cfg(test)]
mod tests;
