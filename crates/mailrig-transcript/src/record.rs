//! Printing a [`Transcript`] as a scenario: what `mailrig serve --out` writes for each
//! connection (credentials redacted) and, fully redacted, stable snapshots.
//!
//! Events of all sessions are merged by time. Each complete protocol line becomes a `C:` or
//! `S:` step; write boundaries inside a run of lines become `${|}`; TLS becomes `@starttls`;
//! a close becomes `@close`; bytes over the recorder's cap become a `#` comment saying how many
//! were left out. IMAP literals whose content is CRLF-terminated text become
//! `{{{` blocks (their `+` continuation requests are then implied); other literals stay as
//! escaped bytes.

use std::sync::LazyLock;

use regex::bytes::Regex;

use crate::framing::{Frame, literal_size, next_line};
use crate::scenario::{
    Class, Directive, Family, Header, Hole, Item, Line, Literal, LiteralSource, Part, Pos, Presence,
    Scenario, SessionDecl, Side, Step, StepKind,
};
use crate::transcript::{EventKind, Transcript};

/// What to print.
#[derive(Debug, Clone, Default)]
pub struct RecordOptions {
    /// The scenario's `name:`.
    pub name: String,
    /// Replace values that change from run to run (tags, dates, UIDVALIDITY, ports, sizes,
    /// credentials) with holes and leave out write boundaries, for snapshots. The result
    /// documents a run; it is not meant to be replayed.
    pub redact: bool,
    /// Replace credentials (IMAP `LOGIN` and `AUTHENTICATE`, SMTP `AUTH`, and every client line
    /// of a SASL exchange) with holes, keeping everything else exact. Implied by `redact`.
    pub redact_credentials: bool,
}

/// Converts a transcript into a scenario.
pub fn to_scenario(transcript: &Transcript, options: &RecordOptions) -> Scenario {
    let mut recorder = Recorder::new(transcript, options.redact);
    recorder.redact_credentials = options.redact || options.redact_credentials;
    for (session, event) in merged(transcript) {
        recorder.event(session, event);
    }
    recorder.finish(options.name.clone())
}

/// Converts and prints in one go.
pub fn print_transcript(transcript: &Transcript, options: &RecordOptions) -> String {
    crate::print(&to_scenario(transcript, options))
}

/// Events of all sessions by time, keeping each session's order.
fn merged(transcript: &Transcript) -> Vec<(usize, &EventKind)> {
    let mut heads = vec![0usize; transcript.sessions.len()];
    let mut out = Vec::new();
    loop {
        let next = transcript
            .sessions
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.events.get(heads[i]).map(|e| (e.at, i)))
            .min();
        let Some((_, i)) = next else { return out };
        out.push((i, &transcript.sessions[i].events[heads[i]].kind));
        heads[i] += 1;
    }
}

/// Per-session, per-side line assembly.
#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    /// Offsets in `bytes` where a write ended.
    boundaries: Vec<usize>,
}

struct SessionState {
    family: Family,
    client: Pending,
    server: Pending,
    /// `+` lines held back while the client's line waits for literal data.
    held: Vec<Vec<u8>>,
    /// Client tags seen so far and their numbers (`${tagN}`).
    tags: Vec<(Vec<u8>, usize)>,
    /// Inside a SASL exchange: client lines are credentials.
    in_sasl: bool,
}

struct Recorder {
    sessions: Vec<SessionState>,
    decls: Vec<SessionDecl>,
    body: Vec<Item>,
    redact: bool,
    redact_credentials: bool,
    tag_count: usize,
}

impl Recorder {
    fn new(transcript: &Transcript, redact: bool) -> Recorder {
        let decls = transcript
            .sessions
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let name = if crate::parse::is_session_name(&s.name) {
                    s.name.clone()
                } else {
                    format!("s{}", i + 1)
                };
                SessionDecl {
                    name,
                    protocol: s.protocol,
                }
            })
            .collect();
        let sessions = transcript
            .sessions
            .iter()
            .map(|s| SessionState {
                family: s.protocol.family(),
                client: Pending::default(),
                server: Pending::default(),
                held: Vec::new(),
                tags: Vec::new(),
                in_sasl: false,
            })
            .collect();
        Recorder {
            sessions,
            decls,
            body: Vec::new(),
            redact,
            redact_credentials: redact,
            tag_count: 0,
        }
    }

    fn event(&mut self, session: usize, event: &EventKind) {
        match event {
            EventKind::Data { from, bytes } => {
                let pending = self.pending(session, *from);
                pending.bytes.extend_from_slice(bytes);
                let end = pending.bytes.len();
                pending.boundaries.push(end);
                self.drain(session, *from, false);
            }
            EventKind::TlsStarted => {
                self.drain(session, Side::Client, true);
                self.drain(session, Side::Server, true);
                let implicit = self.decls[session].protocol.implicit_tls()
                    && !self.body.iter().any(|i| is_step_of(i, session));
                if !implicit {
                    self.push(session, StepKind::Directive(Directive::StartTls));
                }
            }
            EventKind::Closed { by } => {
                self.drain(session, Side::Client, true);
                self.drain(session, Side::Server, true);
                self.push(session, StepKind::Directive(Directive::Close(*by)));
            }
            EventKind::Elided { from, bytes } => {
                // Said, never hidden: the scenario shows where the recording of a side stops
                // and how much it left out, so it is never mistaken for the whole exchange.
                self.drain(session, *from, true);
                let who = if *from == Side::Client { "client" } else { "server" };
                let name = &self.decls[session].name;
                self.body.push(Item::Comment(format!(
                    " mailrig: {bytes} more byte(s) from the {who} of {name} were not recorded (the recording cap)"
                )));
            }
        }
    }

    fn pending(&mut self, session: usize, side: Side) -> &mut Pending {
        let state = &mut self.sessions[session];
        if side == Side::Client {
            &mut state.client
        } else {
            &mut state.server
        }
    }

    /// Emits every complete line of one side; with `all`, also a trailing partial line.
    fn drain(&mut self, session: usize, side: Side, all: bool) {
        let family = self.sessions[session].family;
        loop {
            let pending = self.pending(session, side);
            if pending.bytes.is_empty() {
                return;
            }
            let len = match next_line(&pending.bytes, family, usize::MAX) {
                Frame::Line(n) => n,
                _ if all => pending.bytes.len(),
                _ => return,
            };
            let line: Vec<u8> = pending.bytes.drain(..len).collect();
            let starts_write = pending.boundaries.first() == Some(&0);
            let inner: Vec<usize> = pending
                .boundaries
                .iter()
                .copied()
                .filter(|b| *b > 0 && *b < len)
                .collect();
            pending.boundaries = pending
                .boundaries
                .iter()
                .filter(|b| **b >= len)
                .map(|b| b - len)
                .collect();
            self.line(session, side, &line, &inner, starts_write);
        }
    }

    fn line(&mut self, session: usize, side: Side, bytes: &[u8], splits: &[usize], starts_write: bool) {
        let family = self.sessions[session].family;
        if family == Family::Imap
            && side == Side::Server
            && bytes.starts_with(b"+")
            && self.client_waits_for_literal(session)
        {
            self.sessions[session].held.push(bytes.to_vec());
            return;
        }
        let (parts, literals_inline) = self.parts(session, side, bytes, splits);
        let held = std::mem::take(&mut self.sessions[session].held);
        if side == Side::Server || !literals_inline {
            for plus in held {
                let (parts, _) = self.parts(session, Side::Server, &plus, &[]);
                self.push_line(session, Side::Server, parts, plus.ends_with(b"\r\n"), false);
            }
        }
        self.push_line(session, side, parts, bytes.ends_with(b"\r\n"), starts_write);
    }

    fn client_waits_for_literal(&self, session: usize) -> bool {
        let pending = &self.sessions[session].client.bytes;
        let Some(crlf) = pending.windows(2).rposition(|w| w == b"\r\n") else {
            return false;
        };
        let before = &pending[..crlf];
        let line_start = before.windows(2).rposition(|w| w == b"\r\n").map_or(0, |i| i + 2);
        literal_size(&before[line_start..]).is_some() && !before.ends_with(b"+}")
    }

    fn push_line(
        &mut self,
        session: usize,
        side: Side,
        mut parts: Vec<Part>,
        crlf: bool,
        starts_write: bool,
    ) {
        if crlf {
            trim_crlf(&mut parts);
        }
        let continues_run = matches!(self.body.last(), Some(Item::Step(Step { session: s, kind: StepKind::Line(l), .. })) if *s == session && l.side == side);
        // Write boundaries depend on timing, so snapshots (redacted output) leave them out.
        if continues_run && starts_write && !self.redact {
            parts.insert(0, Part::Split);
        }
        let line = Line {
            side,
            presence: Presence::Required,
            exact_case: false,
            parts,
            crlf,
        };
        self.push(session, StepKind::Line(line));
    }

    fn push(&mut self, session: usize, kind: StepKind) {
        self.body.push(Item::Step(Step {
            pos: Pos::default(),
            session,
            kind,
        }));
    }

    /// Splits a received line into parts: text, `${|}` at write boundaries, inline literals.
    /// Returns whether every literal became an inline `{{{` block.
    fn parts(&mut self, session: usize, side: Side, bytes: &[u8], splits: &[usize]) -> (Vec<Part>, bool) {
        let family = self.sessions[session].family;
        let mut parts = Vec::new();
        let mut all_inline = true;
        let mut start = 0;
        let mut cuts: Vec<usize> = if self.redact { Vec::new() } else { splits.to_vec() };
        let literals = if family == Family::Imap {
            literal_spans(bytes)
        } else {
            Vec::new()
        };
        cuts.retain(|c| !literals.iter().any(|(s, e, _)| c > s && c < e));
        let mut edges: Vec<(usize, Edge)> = cuts.iter().map(|c| (*c, Edge::Split)).collect();
        for (s, e, non_sync) in &literals {
            match inline_content(&bytes[*s..*e]) {
                Some(lines) => edges.push((*s, Edge::Literal(*e, *non_sync, lines))),
                None => all_inline = false,
            }
        }
        edges.sort_by_key(|(at, _)| *at);
        for (at, edge) in edges {
            if at < start {
                continue;
            }
            self.text(session, side, &bytes[start..at], &mut parts);
            match edge {
                Edge::Split => {
                    parts.push(Part::Split);
                    start = at;
                }
                Edge::Literal(end, non_sync, lines) => {
                    let lines = if self.redact {
                        lines.into_iter().map(|l| redact_text(&l)).collect()
                    } else {
                        lines
                    };
                    parts.push(Part::Literal(Literal {
                        non_sync,
                        source: LiteralSource::Inline(lines),
                    }));
                    start = end;
                }
            }
        }
        self.text(session, side, &bytes[start..], &mut parts);
        (parts, all_inline)
    }

    fn text(&mut self, session: usize, side: Side, bytes: &[u8], parts: &mut Vec<Part>) {
        if bytes.is_empty() {
            return;
        }
        if !self.redact {
            if self.redact_credentials {
                for part in self.credentials(session, side, bytes) {
                    match part {
                        Part::Text(t) => push_text(parts, &t),
                        other => parts.push(other),
                    }
                }
            } else {
                push_text(parts, bytes);
            }
            return;
        }
        let first = parts.is_empty();
        for part in self.redacted(session, side, bytes, first) {
            match part {
                Part::Text(t) => push_text(parts, &t),
                other => parts.push(other),
            }
        }
    }

    fn finish(mut self, name: String) -> Scenario {
        for session in 0..self.sessions.len() {
            self.drain(session, Side::Client, true);
            self.drain(session, Side::Server, true);
        }
        // A recording whose client lines lost their credentials can only be replayed as the
        // server (the client supplies them); say so, so the file stays a valid scenario.
        let client_holes = self.body.iter().any(|item| {
            matches!(item, Item::Step(Step { kind: StepKind::Line(l), .. })
                if l.side == Side::Client && l.parts.iter().any(|p| matches!(p, Part::Hole(_))))
        });
        let plays = (client_holes && !self.redact).then_some(crate::scenario::Role::Server);
        let header = Header {
            name,
            sessions: self.decls,
            plays,
            ..Header::default()
        };
        Scenario {
            header,
            body: self.body,
        }
    }
}

enum Edge {
    Split,
    Literal(usize, bool, Vec<String>),
}

fn is_step_of(item: &Item, session: usize) -> bool {
    matches!(item, Item::Step(s) if s.session == session)
}

/// `(start, end, non_sync)` of each literal in a logical IMAP line: from the `{` of the
/// announcement to the end of the data.
fn literal_spans(line: &[u8]) -> Vec<(usize, usize, bool)> {
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(crlf) = line[from..]
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|i| from + i)
    {
        let head = &line[from..crlf];
        let Some(size) = literal_size(head) else { break };
        let open = from + head.iter().rposition(|b| *b == b'{').unwrap_or(0);
        let end = (crlf + 2 + size).min(line.len());
        spans.push((open, end, head.ends_with(b"+}")));
        from = end;
    }
    spans
}

/// The content lines of a literal (`{N}\r\n` + data) if it can be written as a `{{{` block.
fn inline_content(literal: &[u8]) -> Option<Vec<String>> {
    let data_start = literal.windows(2).position(|w| w == b"\r\n")? + 2;
    let text = std::str::from_utf8(&literal[data_start..]).ok()?;
    let body = text.strip_suffix("\r\n")?;
    let lines: Vec<String> = body.split("\r\n").map(str::to_owned).collect();
    let clean = lines
        .iter()
        .all(|l| !l.contains(['\r', '\n']) && !l.starts_with("}}}"));
    clean.then_some(lines)
}

fn push_text(parts: &mut Vec<Part>, bytes: &[u8]) {
    match parts.last_mut() {
        Some(Part::Text(t)) => t.extend_from_slice(bytes),
        _ => parts.push(Part::Text(bytes.to_vec())),
    }
}

fn trim_crlf(parts: &mut Vec<Part>) {
    if let Some(Part::Text(t)) = parts.last_mut() {
        t.truncate(t.len().saturating_sub(2));
        if t.is_empty() {
            parts.pop();
        }
    }
}

/// How a rule turns a regex match into parts.
type Replace = fn(&regex::bytes::Captures<'_>) -> Vec<Part>;

/// A rule that replaces a volatile value: the regex, and how its captures become parts.
type Rule = (Regex, Replace);

fn hole(class: Class) -> Part {
    Part::Hole(Hole {
        name: None,
        class,
        value: None,
    })
}

fn group(c: &regex::bytes::Captures<'_>, i: usize) -> Part {
    Part::Text(c.get(i).map_or(Vec::new(), |m| m.as_bytes().to_vec()))
}

/// Values that change between runs: dates, UIDVALIDITY, sizes, modseqs, ports.
static VOLATILE: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    let rules: [(&str, Replace); 4] = [
        (r#""\d{1,2}-[A-Za-z]{3}-\d{4} \d\d:\d\d:\d\d [+-]\d{4}""#, |_| {
            vec![
                Part::Text(b"\"".to_vec()),
                hole(Class::Text),
                Part::Text(b"\"".to_vec()),
            ]
        }),
        (
            r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?\d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d(?::\d\d)? [+-]\d{4}(?: \([A-Za-z ]+\))?",
            |_| vec![hole(Class::Text)],
        ),
        (
            r"(?i)((?:UIDVALIDITY|RFC822\.SIZE|HIGHESTMODSEQ|MODSEQ \(?|APPENDUID|COPYUID) ?)\d+",
            |c| vec![group(c, 1), hole(Class::Num)],
        ),
        (
            r"((?:127\.0\.0\.1|localhost|\[::1\]|\[127\.0\.0\.1\])[:.])\d{2,5}\b",
            |c| vec![group(c, 1), hole(Class::Num)],
        ),
    ];
    rules
        .into_iter()
        .map(|(re, f)| (Regex::new(re).expect("static regex is valid"), f))
        .collect()
});

/// Credentials in client commands: IMAP LOGIN, AUTHENTICATE with an initial response, SMTP AUTH.
static CREDENTIALS: LazyLock<Rule> = LazyLock::new(|| {
    let re = Regex::new(r"(?i)^(\s*(?:\S+ )?(?:LOGIN|AUTHENTICATE \S+|AUTH \S+) )[^\r\n]+(\r\n)?$")
        .expect("static regex is valid");
    (re, |c| vec![group(c, 1), hole(Class::Text), group(c, 2)])
});

/// A command that starts a SASL exchange: `AUTH PLAIN`, `A1 AUTHENTICATE LOGIN`.
static SASL_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:\S+ )?AUTH(?:ENTICATE)? \S+\s*(?:\r\n)?$").expect("static regex is valid")
});

/// Applies a rule to every text part.
fn apply(rule: &Rule, parts: Vec<Part>) -> Vec<Part> {
    let mut out = Vec::new();
    for part in parts {
        let Part::Text(text) = part else {
            out.push(part);
            continue;
        };
        let mut last = 0;
        for captures in rule.0.captures_iter(&text) {
            let whole = captures.get(0).expect("group 0 always exists");
            push_text(&mut out, &text[last..whole.start()]);
            for piece in (rule.1)(&captures) {
                match piece {
                    Part::Text(t) => push_text(&mut out, &t),
                    other => out.push(other),
                }
            }
            last = whole.end();
        }
        push_text(&mut out, &text[last..]);
    }
    out.retain(|p| !matches!(p, Part::Text(t) if t.is_empty()));
    out
}

impl Recorder {
    /// Redacts one stretch of text into parts (text and holes).
    fn redacted(&mut self, session: usize, side: Side, bytes: &[u8], first: bool) -> Vec<Part> {
        let mut parts = Vec::new();
        let mut text = bytes.to_vec();
        if first && self.sessions[session].family == Family::Imap {
            text = self.redact_tag(session, side, &text, &mut parts);
        }
        let mut rest = self.credentials(session, side, &text);
        for rule in VOLATILE.iter() {
            rest = apply(rule, rest);
        }
        parts.extend(rest);
        parts
    }

    /// Replaces credentials in one stretch of text with holes.
    fn credentials(&mut self, session: usize, side: Side, bytes: &[u8]) -> Vec<Part> {
        let state = &mut self.sessions[session];
        if side == Side::Client && state.in_sasl {
            // A SASL exchange (RFC 4954 §4, RFC 9051 §6.2.2): every client line is a credential.
            let crlf = if bytes.ends_with(b"\r\n") {
                &b"\r\n"[..]
            } else {
                &b""[..]
            };
            return vec![hole(Class::Text), Part::Text(crlf.to_vec())]
                .into_iter()
                .filter(|p| !matches!(p, Part::Text(t) if t.is_empty()))
                .collect();
        }
        if side == Side::Client {
            state.in_sasl = SASL_START.is_match(bytes);
            return apply(&CREDENTIALS, vec![Part::Text(bytes.to_vec())]);
        }
        if !(bytes.starts_with(b"+") || bytes.starts_with(b"334")) {
            state.in_sasl = false;
        }
        vec![Part::Text(bytes.to_vec())]
    }

    /// Replaces an IMAP tag at the start of a line with `${tagN}`.
    fn redact_tag(&mut self, session: usize, side: Side, text: &[u8], parts: &mut Vec<Part>) -> Vec<u8> {
        let end = text.iter().position(|b| *b == b' ').unwrap_or(0);
        let tag = &text[..end];
        if end == 0 || tag == b"*" || tag == b"+" || !tag.iter().all(|b| Class::Atom.admits(*b)) {
            return text.to_vec();
        }
        let known = self.sessions[session]
            .tags
            .iter()
            .find(|(t, _)| t == tag)
            .map(|(_, n)| *n);
        match (known, side) {
            (Some(n), _) => parts.push(Part::Ref(format!("tag{n}"))),
            (None, Side::Client) => {
                self.tag_count += 1;
                let n = self.tag_count;
                self.sessions[session].tags.push((tag.to_vec(), n));
                parts.push(Part::Hole(Hole {
                    name: Some(format!("tag{n}")),
                    class: Class::Atom,
                    value: None,
                }));
            }
            (None, Side::Server) => return text.to_vec(),
        }
        text[end..].to_vec()
    }
}

/// Redacts dates inside literal content lines.
fn redact_text(line: &str) -> String {
    let mut out = line.as_bytes().to_vec();
    for (re, _) in VOLATILE.iter().take(2) {
        out = re.replace_all(&out, &b"<date>"[..]).into_owned();
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests;
