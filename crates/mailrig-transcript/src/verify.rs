//! Checking a [`Transcript`] against a [`Scenario`]: a verdict per session, and on failure a
//! [`Failure`] that [`crate::report`] renders as a diff.
//!
//! Steps run in file order across sessions. Within a session, `C:` lines consume the client's
//! stream and `S:` lines the server's. Server lines are matched in *groups*: in IMAP the
//! untagged lines up to a tagged (or `+`) response, in SMTP one (multi-line) reply. Defaults:
//! IMAP groups match in any order with extra lines allowed; SMTP replies match in order with
//! no extra lines; `@match` changes that for one group.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use crate::framing::{Frame, next_line};
use crate::pattern::{Bindings, Pattern, PatternError, normalize_reply_line};
use crate::scenario::{
    Directive, Family, Line, Literal, MatchMode, Part, Pos, Presence, Scenario, Side, Step, StepKind,
};
use crate::transcript::{EventKind, SessionRecord, Transcript};

const FORBIDDEN: &str = "the server sent a line that must not appear here";
const UNTAGGED_MISSING: &str = "required untagged lines did not arrive before the tagged response";

/// How many exchanged lines before a failure the report shows.
const HISTORY: usize = 8;

/// The outcome of verifying a transcript against a scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The scenario's `name:`.
    pub scenario: String,
    /// One verdict per declared session, in header order.
    pub sessions: Vec<SessionVerdict>,
}

/// The verdict for one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionVerdict {
    /// The session name.
    pub name: String,
    /// What happened.
    pub outcome: Outcome,
}

/// Pass, fail, or not checked to the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every step of the session matched.
    Pass,
    /// A step did not match.
    Fail(Box<Failure>),
    /// Another session failed first, so this one's remaining steps were not checked.
    Unfinished,
}

/// A step that did not match, with everything needed to show why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The session whose step failed.
    pub session: String,
    /// Where the failing step is in the scenario file.
    pub pos: Pos,
    /// What went wrong, in one lowercase sentence.
    pub reason: String,
    /// The expected and received lines of the failing group, marked.
    pub diff: Vec<DiffLine>,
    /// The received line closest to the first missing expected line.
    pub closest: Option<Closest>,
    /// The lines exchanged in this session just before the failing group.
    pub history: Vec<(Side, Vec<u8>)>,
}

/// One line of a failure's diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffLine {
    /// Expected and received (shown as received).
    Matched(Side, Vec<u8>),
    /// Expected, never received: the line as written in the scenario (prefix included).
    Missing(String),
    /// Received, not expected.
    Unexpected(Side, Vec<u8>),
    /// Received, not listed in the scenario, and allowed (the group accepts extra lines).
    Allowed(Side, Vec<u8>),
    /// Received, and the scenario says it must not appear (the `!` line that matched it).
    Forbidden(Side, Vec<u8>, String),
}

/// A received line next to the expected line it resembles most.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closest {
    /// The expected line as written (without prefix).
    pub expected: String,
    /// The received bytes.
    pub received: Vec<u8>,
    /// How many bytes of `received` matched before the difference.
    pub matched: usize,
}

/// The harness could not verify at all (as opposed to a mismatch, which is a [`Failure`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The transcript has no session of that name.
    #[error("the transcript has no session `{0}`")]
    MissingSession(String),
    /// A variable the scenario uses was not supplied.
    #[error("the scenario uses `${{{0}}}`, but the run does not set it (pass it as a variable)")]
    UnsetVariable(String),
    /// A line could not be compiled.
    #[error("line {pos}: {source}")]
    Pattern {
        /// The line's position.
        pos: Pos,
        /// Why.
        source: PatternError,
    },
}

impl Report {
    /// Whether every session passed.
    pub fn passed(&self) -> bool {
        self.sessions.iter().all(|s| s.outcome == Outcome::Pass)
    }

    /// The first failure, if any.
    pub fn failure(&self) -> Option<&Failure> {
        self.sessions.iter().find_map(|s| match &s.outcome {
            Outcome::Fail(f) => Some(&**f),
            _ => None,
        })
    }
}

/// Verifies `transcript` against `scenario`. `vars` are the run's variables; they override the
/// scenario's `vars:` defaults.
pub fn verify(
    scenario: &Scenario,
    transcript: &Transcript,
    vars: &BTreeMap<String, String>,
) -> Result<Report, VerifyError> {
    verify_prefix(scenario, transcript, vars, usize::MAX).map(|(report, _)| report)
}

/// Verifies only the first `steps` steps (lines and directives) of `scenario`, and returns the
/// values bound so far too. A player that sends `C:` lines uses it to learn captures (a UID,
/// a tag) before rendering the next line.
pub fn verify_prefix(
    scenario: &Scenario,
    transcript: &Transcript,
    vars: &BTreeMap<String, String>,
    steps: usize,
) -> Result<(Report, Bindings), VerifyError> {
    let bindings = initial_bindings(scenario, vars)?;
    let mut sessions = Vec::new();
    for decl in scenario.sessions() {
        let record = transcript
            .session(&decl.name)
            .ok_or_else(|| VerifyError::MissingSession(decl.name.clone()))?;
        sessions.push(Live::new(record, decl.protocol.family()));
    }
    let mut run = Run {
        sessions,
        bindings,
        clock: Duration::ZERO,
    };
    let steps: Vec<&Step> = scenario.steps().take(steps).collect();
    let failure = run.all(scenario, &steps)?;
    let failed_at = failure.as_ref().map(|(i, _)| *i);
    let mut failure = failure.map(|(_, f)| f);
    let verdicts = scenario
        .sessions()
        .iter()
        .enumerate()
        .map(|(index, decl)| {
            let outcome = if let Some(f) = failure.take_if(|f| f.session == decl.name) {
                Outcome::Fail(Box::new(f))
            } else if failed_at.is_some_and(|at| steps[at..].iter().any(|s| s.session == index)) {
                Outcome::Unfinished
            } else {
                Outcome::Pass
            };
            SessionVerdict {
                name: decl.name.clone(),
                outcome,
            }
        })
        .collect();
    let report = Report {
        scenario: scenario.header.name.clone(),
        sessions: verdicts,
    };
    Ok((report, run.bindings))
}

fn initial_bindings(scenario: &Scenario, vars: &BTreeMap<String, String>) -> Result<Bindings, VerifyError> {
    let mut bindings: Bindings = scenario
        .header
        .vars
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
        .collect();
    bindings.extend(vars.iter().map(|(k, v)| (k.clone(), v.clone().into_bytes())));
    let mut captured = HashSet::new();
    for step in scenario.steps() {
        let StepKind::Line(line) = &step.kind else {
            continue;
        };
        for part in &line.parts {
            match part {
                Part::Hole(hole) => {
                    captured.extend(hole.name.clone());
                }
                Part::Ref(name) if !captured.contains(name) && !bindings.contains_key(name) => {
                    return Err(VerifyError::UnsetVariable(name.clone()));
                }
                _ => {}
            }
        }
    }
    Ok(bindings)
}

/// One direction of one session.
struct Stream {
    bytes: Vec<u8>,
    /// End offset and time of each write.
    writes: Vec<(usize, Duration)>,
    cursor: usize,
}

impl Stream {
    fn time_at(&self, end: usize) -> Duration {
        let i = self.writes.partition_point(|(e, _)| *e < end);
        self.writes
            .get(i)
            .or(self.writes.last())
            .map_or(Duration::ZERO, |(_, t)| *t)
    }
}

/// A session being verified.
struct Live {
    family: Family,
    client: Stream,
    server: Stream,
    /// Stream offsets (client, server) at each TLS handshake.
    tls: Vec<(usize, usize)>,
    tls_next: usize,
    closed_by: Option<Side>,
    mode: Option<MatchMode>,
    within: Option<Duration>,
    history: Vec<(Side, Vec<u8>)>,
}

impl Live {
    fn new(record: &SessionRecord, family: Family) -> Live {
        let mut client = Stream {
            bytes: Vec::new(),
            writes: Vec::new(),
            cursor: 0,
        };
        let mut server = Stream {
            bytes: Vec::new(),
            writes: Vec::new(),
            cursor: 0,
        };
        let mut tls = Vec::new();
        let mut closed_by = None;
        for event in &record.events {
            match &event.kind {
                EventKind::Data { from, bytes } => {
                    let stream = if *from == Side::Client {
                        &mut client
                    } else {
                        &mut server
                    };
                    stream.bytes.extend_from_slice(bytes);
                    stream.writes.push((stream.bytes.len(), event.at));
                }
                EventKind::TlsStarted => tls.push((client.bytes.len(), server.bytes.len())),
                EventKind::Closed { by } => closed_by = closed_by.or(Some(*by)),
            }
        }
        Live {
            family,
            client,
            server,
            tls,
            tls_next: 0,
            closed_by,
            mode: None,
            within: None,
            history: Vec::new(),
        }
    }

    fn stream(&self, side: Side) -> &Stream {
        if side == Side::Client {
            &self.client
        } else {
            &self.server
        }
    }

    fn stream_mut(&mut self, side: Side) -> &mut Stream {
        if side == Side::Client {
            &mut self.client
        } else {
            &mut self.server
        }
    }

    /// Where reading `side` must stop: the next TLS boundary, or the end.
    fn limit(&self, side: Side) -> usize {
        match (self.tls.get(self.tls_next), side) {
            (Some((c, _)), Side::Client) => *c,
            (Some((_, s)), Side::Server) => *s,
            (None, _) => self.stream(side).bytes.len(),
        }
    }

    /// The next line from `side` without consuming it; a partial last line counts.
    fn peek(&self, side: Side) -> Option<Vec<u8>> {
        let stream = self.stream(side);
        let rest = &stream.bytes[stream.cursor..self.limit(side)];
        if rest.is_empty() {
            return None;
        }
        match next_line(rest, self.family, usize::MAX) {
            Frame::Line(n) => Some(rest[..n].to_vec()),
            Frame::Incomplete | Frame::TooLong => Some(rest.to_vec()),
        }
    }

    fn consume(&mut self, side: Side, line: &[u8]) {
        self.stream_mut(side).cursor += line.len();
        self.history.push((side, line.to_vec()));
    }

    /// Why nothing more can be read from `side`.
    fn end_reason(&self, side: Side) -> String {
        let stream = self.stream(side);
        if stream.cursor < stream.bytes.len() {
            return "a TLS handshake happened here, but the scenario has no `@starttls` at this point"
                .to_owned();
        }
        match self.closed_by {
            Some(by) => format!("the {} closed the connection", by.word()),
            None => format!(
                "the transcript ends: nothing more was received from the {}",
                side.word()
            ),
        }
    }

    fn recent_history(&self, before: usize) -> Vec<(Side, Vec<u8>)> {
        let end = self.history.len().saturating_sub(before);
        self.history[end.saturating_sub(HISTORY)..end].to_vec()
    }
}

struct Run {
    sessions: Vec<Live>,
    bindings: Bindings,
    /// Arrival time of the latest line consumed so far, for `@within`.
    clock: Duration,
}

/// A compiled expected line.
struct Expect<'s> {
    line: &'s Line,
    pattern: Pattern,
    pos: Pos,
}

/// The assignment of received lines to expected lines in one group.
#[derive(Default)]
struct GroupResult {
    /// For each received line: the index of the expected line it matched.
    assigned: Vec<Option<usize>>,
    /// For each received line that matched a forbidden line: that line's index.
    forbidden: Vec<(usize, usize)>,
    /// Required expected lines that nothing matched.
    missing: Vec<usize>,
    bound: Bindings,
}

impl GroupResult {
    fn unexpected(&self) -> impl Iterator<Item = usize> + '_ {
        let forbidden: HashSet<usize> = self.forbidden.iter().map(|(a, _)| *a).collect();
        (0..self.assigned.len()).filter(move |i| self.assigned[*i].is_none() && !forbidden.contains(i))
    }
}

type StepFailure = Option<(usize, Failure)>;

impl Run {
    fn all(&mut self, scenario: &Scenario, steps: &[&Step]) -> Result<StepFailure, VerifyError> {
        for (index, decl) in scenario.sessions().iter().enumerate() {
            if decl.protocol.implicit_tls() {
                let live = &mut self.sessions[index];
                if live.tls.first() != Some(&(0, 0)) {
                    let pos = steps
                        .iter()
                        .find(|s| s.session == index)
                        .map_or(Pos { line: 1, col: 1 }, |s| s.pos);
                    let reason = format!(
                        "session `{}` is `{}`, but the transcript shows no TLS handshake before the first byte",
                        decl.name,
                        decl.protocol.keyword()
                    );
                    return Ok(Some((0, self.fail(scenario, index, pos, reason))));
                }
                live.tls_next = 1;
            }
        }
        let mut i = 0;
        while i < steps.len() {
            let step = steps[i];
            let end = match &step.kind {
                StepKind::Directive(_) => i + 1,
                StepKind::Line(line) => {
                    let same = |s: &&&Step| {
                        s.session == step.session
                            && matches!(&s.kind, StepKind::Line(l) if l.side == line.side)
                    };
                    i + steps[i..].iter().take_while(same).count()
                }
            };
            let result = match &step.kind {
                StepKind::Directive(d) => self.directive(scenario, step, d),
                StepKind::Line(line) if line.side == Side::Client => {
                    self.client_run(scenario, &steps[i..end])?
                }
                StepKind::Line(_) => self.server_run(scenario, &steps[i..end])?,
            };
            if let Some(failure) = result {
                return Ok(Some((i, failure)));
            }
            i = end;
        }
        Ok(None)
    }

    fn fail(&self, scenario: &Scenario, session: usize, pos: Pos, reason: String) -> Failure {
        Failure {
            session: scenario.sessions()[session].name.clone(),
            pos,
            reason,
            diff: Vec::new(),
            closest: None,
            history: self.sessions[session].recent_history(0),
        }
    }

    fn directive(&mut self, scenario: &Scenario, step: &Step, directive: &Directive) -> Option<Failure> {
        let live = &mut self.sessions[step.session];
        match directive {
            Directive::StartTls => return self.start_tls(scenario, step),
            Directive::Close(side) => return self.close(scenario, step, *side),
            Directive::Within(d) => live.within = Some(*d),
            Directive::Match(mode) => live.mode = Some(*mode),
            Directive::Sleep(_) => {}
        }
        None
    }

    fn start_tls(&mut self, scenario: &Scenario, step: &Step) -> Option<Failure> {
        let live = &self.sessions[step.session];
        let Some(&(client_at, server_at)) = live.tls.get(live.tls_next) else {
            return Some(self.fail(
                scenario,
                step.session,
                step.pos,
                "a TLS handshake was expected here, but the session stayed in plaintext".to_owned(),
            ));
        };
        for (side, at) in [(Side::Client, client_at), (Side::Server, server_at)] {
            let stream = live.stream(side);
            if stream.cursor < at {
                let mut failure = self.fail(
                    scenario,
                    step.session,
                    step.pos,
                    format!("the {} sent plaintext after STARTTLS, before the TLS handshake (command injection, RFC 3207 §4.2 / RFC 9051 §11.1)", side.word()),
                );
                let extra = &stream.bytes[stream.cursor..at];
                failure.diff = crate::framing::split_lines(extra, live.family)
                    .into_iter()
                    .map(|l| DiffLine::Unexpected(side, l.to_vec()))
                    .collect();
                return Some(failure);
            }
        }
        self.sessions[step.session].tls_next += 1;
        None
    }

    fn close(&mut self, scenario: &Scenario, step: &Step, side: Side) -> Option<Failure> {
        let live = &self.sessions[step.session];
        let reason = match live.closed_by {
            None => format!(
                "the {} was expected to close the connection here, but the connection stayed open",
                side.word()
            ),
            Some(by) if by != side => format!(
                "the {} was expected to close the connection here, but the {} closed it",
                side.word(),
                by.word()
            ),
            Some(_) => {
                let stream = live.stream(side);
                if stream.cursor == stream.bytes.len() {
                    return None;
                }
                let extra = &stream.bytes[stream.cursor..];
                let mut failure = self.fail(
                    scenario,
                    step.session,
                    step.pos,
                    format!("the {} sent more before closing the connection", side.word()),
                );
                failure.diff = crate::framing::split_lines(extra, live.family)
                    .into_iter()
                    .map(|l| DiffLine::Unexpected(side, l.to_vec()))
                    .collect();
                return Some(failure);
            }
        };
        Some(self.fail(scenario, step.session, step.pos, reason))
    }

    fn compile<'s>(&self, step: &'s Step, normalize: bool) -> Result<Expect<'s>, VerifyError> {
        let StepKind::Line(line) = &step.kind else {
            unreachable!("runs hold only lines")
        };
        let pattern = Pattern::compile(line, normalize).map_err(|source| VerifyError::Pattern {
            pos: step.pos,
            source,
        })?;
        Ok(Expect {
            line,
            pattern,
            pos: step.pos,
        })
    }

    /// `C:` lines: one received line each, in order.
    fn client_run(&mut self, scenario: &Scenario, run: &[&Step]) -> Result<Option<Failure>, VerifyError> {
        let session = run[0].session;
        let before = self.clock;
        for step in run {
            let expect = self.compile(step, false)?;
            let consumed = match self.single_line(scenario, session, Side::Client, &expect) {
                Ok(consumed) => consumed,
                Err(f) => return Ok(Some(f)),
            };
            if consumed && let Some(f) = self.continuations(scenario, session, &expect) {
                return Ok(Some(f));
            }
        }
        Ok(self.check_within(scenario, session, Side::Client, run[0].pos, before))
    }

    /// Matches one line against the start of `side`'s remaining stream (any number of
    /// physical lines, with or without a final CRLF): every `C:` line, and raw `S:` lines.
    /// Returns whether the line was consumed.
    fn single_line(
        &mut self,
        scenario: &Scenario,
        session: usize,
        side: Side,
        expect: &Expect<'_>,
    ) -> Result<bool, Failure> {
        let live = &self.sessions[session];
        let stream = live.stream(side);
        let rest = &stream.bytes[stream.cursor..live.limit(side)];
        let matched = match expect.pattern.matches_prefix(rest, &self.bindings) {
            Ok((m, len)) if len > 0 || rest.is_empty() => Some((rest[..len].to_vec(), m)),
            _ => None,
        };
        match (expect.line.presence, matched) {
            (Presence::Forbidden, Some((line, _))) => {
                let reason = format!("the {} sent a line that must not appear here", side.word());
                let mut f = self.fail(scenario, session, expect.pos, reason);
                f.diff = vec![DiffLine::Forbidden(side, line, written(expect.line))];
                Err(f)
            }
            (Presence::Optional | Presence::Forbidden, None) => Ok(false),
            (Presence::Required, None) => Err(self.mismatch(scenario, session, side, expect)),
            (Presence::Required | Presence::Optional, Some((line, m))) => {
                self.bindings.extend(m.bound);
                self.take(session, side, &line);
                Ok(true)
            }
        }
    }

    /// A required line that did not match (or did not arrive).
    fn mismatch(&self, scenario: &Scenario, session: usize, side: Side, expect: &Expect<'_>) -> Failure {
        let live = &self.sessions[session];
        let Some(got) = live.peek(side) else {
            let reason = format!(
                "this {} line never arrived: {}",
                side.word(),
                live.end_reason(side)
            );
            let mut f = self.fail(scenario, session, expect.pos, reason);
            f.diff = vec![DiffLine::Missing(written(expect.line))];
            return f;
        };
        let mut f = self.fail(
            scenario,
            session,
            expect.pos,
            format!("the {} sent something else", side.word()),
        );
        let matched = expect.pattern.matches(&got, &self.bindings).err().unwrap_or(0);
        f.closest = Some(Closest {
            expected: crate::pattern::display(expect.line),
            received: got.clone(),
            matched,
        });
        f.diff = vec![
            DiffLine::Missing(written(expect.line)),
            DiffLine::Unexpected(side, got),
        ];
        f
    }

    /// After a `C:` line with synchronizing literals, the server must have sent one `+`
    /// continuation request per literal (RFC 9051 §7.5).
    fn continuations(&mut self, scenario: &Scenario, session: usize, expect: &Expect<'_>) -> Option<Failure> {
        let count = expect
            .line
            .parts
            .iter()
            .filter(|p| matches!(p, Part::Literal(Literal { non_sync: false, .. })))
            .count();
        for _ in 0..count {
            let live = &self.sessions[session];
            match live.peek(Side::Server) {
                Some(line) if line.starts_with(b"+") => self.take(session, Side::Server, &line),
                other => {
                    let mut f = self.fail(scenario, session, expect.pos, "the server did not send a `+` continuation request for this synchronizing literal (RFC 9051 §7.5)".to_owned());
                    f.diff = other
                        .into_iter()
                        .map(|l| DiffLine::Unexpected(Side::Server, l))
                        .collect();
                    return Some(f);
                }
            }
        }
        None
    }

    fn take(&mut self, session: usize, side: Side, line: &[u8]) {
        let live = &mut self.sessions[session];
        live.consume(side, line);
        let stream = live.stream(side);
        self.clock = self.clock.max(stream.time_at(stream.cursor));
    }

    fn check_within(
        &mut self,
        scenario: &Scenario,
        session: usize,
        side: Side,
        pos: Pos,
        before: Duration,
    ) -> Option<Failure> {
        let limit = self.sessions[session].within.take()?;
        let stream = self.sessions[session].stream(side);
        let took = stream.time_at(stream.cursor).saturating_sub(before);
        (took > limit).then(|| {
            let reason = format!(
                "these lines arrived after {} ms, but `@within` allows {} ms",
                took.as_millis(),
                limit.as_millis()
            );
            self.fail(scenario, session, pos, reason)
        })
    }

    /// `S:` lines, split into groups.
    fn server_run(&mut self, scenario: &Scenario, run: &[&Step]) -> Result<Option<Failure>, VerifyError> {
        let session = run[0].session;
        let family = self.sessions[session].family;
        let before = self.clock;
        for group in groups(run, family) {
            if let [step] = group.as_slice()
                && let StepKind::Line(line) = &step.kind
                && crate::pattern::is_raw(line)
            {
                let expect = self.compile(step, false)?;
                if let Err(f) = self.single_line(scenario, session, Side::Server, &expect) {
                    return Ok(Some(f));
                }
                continue;
            }
            let mode = self.sessions[session].mode.take().unwrap_or_default();
            let (ordered, extra) = match family {
                Family::Imap => (mode.ordered.unwrap_or(false), mode.extra.unwrap_or(true)),
                Family::Smtp => (mode.ordered.unwrap_or(true), mode.extra.unwrap_or(false)),
            };
            let normalize = family == Family::Smtp && !ordered;
            let compiled = group
                .iter()
                .map(|s| self.compile(s, normalize))
                .collect::<Result<Vec<_>, _>>()?;
            let expects: Vec<&Expect<'_>> = compiled.iter().collect();
            let failure = match family {
                Family::Imap => self.imap_group(scenario, session, &expects, ordered, extra),
                Family::Smtp => self.smtp_reply(scenario, session, &expects, ordered, extra, normalize),
            };
            if failure.is_some() {
                return Ok(failure);
            }
        }
        Ok(self.check_within(scenario, session, Side::Server, run[0].pos, before))
    }

    fn imap_group(
        &mut self,
        scenario: &Scenario,
        session: usize,
        expects: &[&Expect<'_>],
        ordered: bool,
        extra: bool,
    ) -> Option<Failure> {
        let ctx = GroupCtx {
            scenario,
            session,
            ordered,
            extra,
            start: self.sessions[session].history.len(),
        };
        // The group's closing line is its last required line; optional and forbidden lines
        // written after it still belong to the group.
        let closing = expects
            .iter()
            .rposition(|e| e.line.presence == Presence::Required);
        match closing {
            Some(i) if is_terminal(expects[i].line) => {
                let mut untagged = expects.to_vec();
                let last = untagged.remove(i);
                self.imap_tagged_group(&ctx, &untagged, last)
            }
            _ => self.imap_open_group(&ctx, expects),
        }
    }

    /// Untagged lines up to a tagged (or `+`) response: read them all, then match once.
    fn imap_tagged_group(
        &mut self,
        ctx: &GroupCtx<'_>,
        untagged: &[&Expect<'_>],
        last: &Expect<'_>,
    ) -> Option<Failure> {
        let (mut received, terminal) = self.read_to_tagged(ctx.session);
        let mut result = match_group(untagged, &received, ctx.ordered, &self.bindings);
        let Some(line) = terminal else {
            let reason = format!(
                "the tagged response never arrived: {}",
                self.sessions[ctx.session].end_reason(Side::Server)
            );
            let mut f = self.group_failure(ctx, untagged, &received, &result, &reason);
            f.pos = last.pos;
            f.diff.push(DiffLine::Missing(written(last.line)));
            return Some(f);
        };
        // `S!:` lines apply to the closing line too: "this command must not succeed".
        let mut scope = self.bindings.clone();
        scope.extend(result.bound.clone());
        if let Some(forbidden) = forbidden_match(untagged, &line, &scope) {
            result.forbidden.push((received.len(), forbidden));
            received.push(line);
            return Some(self.group_failure(ctx, untagged, &received, &result, FORBIDDEN));
        }
        if let Some(reason) = group_problem(&result, ctx.extra, UNTAGGED_MISSING) {
            let mut f = self.group_failure(ctx, untagged, &received, &result, reason);
            f.diff.push(match last.pattern.matches(&line, &self.bindings) {
                Ok(_) => DiffLine::Matched(Side::Server, line),
                Err(_) => DiffLine::Unexpected(Side::Server, line),
            });
            return Some(f);
        }
        self.bindings.extend(result.bound.clone());
        let matched = match last.pattern.matches(&line, &self.bindings) {
            Ok(m) => {
                self.bindings.extend(m.bound);
                return None;
            }
            Err(matched) => matched,
        };
        let mut f = self.group_failure(ctx, untagged, &received, &result, "the tagged response differs");
        f.pos = last.pos;
        f.diff.push(DiffLine::Missing(written(last.line)));
        f.diff.push(DiffLine::Unexpected(Side::Server, line.clone()));
        f.closest = Some(Closest {
            expected: crate::pattern::display(last.line),
            received: line,
            matched,
        });
        Some(f)
    }

    /// Reads untagged lines up to and including the next line that is not untagged (the
    /// tagged response or a `+`); `None` if the stream ends first.
    fn read_to_tagged(&mut self, session: usize) -> (Vec<Vec<u8>>, Option<Vec<u8>>) {
        let mut received = Vec::new();
        while let Some(line) = self.sessions[session].peek(Side::Server) {
            self.take(session, Side::Server, &line);
            if !line.starts_with(b"*") {
                return (received, Some(line));
            }
            received.push(line);
        }
        (received, None)
    }

    /// Untagged lines with no tagged response after them (an IDLE push, a greeting): read
    /// until every required line has arrived, never past a tagged line.
    fn imap_open_group(&mut self, ctx: &GroupCtx<'_>, expects: &[&Expect<'_>]) -> Option<Failure> {
        let mut received: Vec<Vec<u8>> = Vec::new();
        loop {
            let mut result = match_group(expects, &received, ctx.ordered, &self.bindings);
            if !result.forbidden.is_empty() || (!ctx.extra && result.unexpected().next().is_some()) {
                // Lines still missing may simply not have arrived yet: report only what broke.
                result.missing.clear();
                let reason = group_problem(&result, ctx.extra, "").unwrap_or_default();
                return Some(self.group_failure(ctx, expects, &received, &result, reason));
            }
            if result.missing.is_empty() {
                self.bindings.extend(result.bound);
                return None;
            }
            match self.sessions[ctx.session].peek(Side::Server) {
                Some(line) if line.starts_with(b"*") => {
                    self.take(ctx.session, Side::Server, &line);
                    received.push(line);
                }
                next => {
                    let reason = match next {
                        Some(_) => "required untagged lines did not arrive before the next tagged response"
                            .to_owned(),
                        None => format!(
                            "expected lines did not arrive: {}",
                            self.sessions[ctx.session].end_reason(Side::Server)
                        ),
                    };
                    return Some(self.group_failure(ctx, expects, &received, &result, &reason));
                }
            }
        }
    }

    fn smtp_reply(
        &mut self,
        scenario: &Scenario,
        session: usize,
        expects: &[&Expect<'_>],
        ordered: bool,
        extra: bool,
        normalize: bool,
    ) -> Option<Failure> {
        let start = self.sessions[session].history.len();
        let mut received = Vec::new();
        let complete = loop {
            let Some(line) = self.sessions[session].peek(Side::Server) else {
                break false;
            };
            self.take(session, Side::Server, &line);
            let last = !(line.len() >= 4 && line[..3].iter().all(u8::is_ascii_digit) && line[3] == b'-');
            received.push(line);
            if last {
                break true;
            }
        };
        let compare: Vec<Vec<u8>> = if normalize {
            received.iter().map(|l| normalize_reply_line(l)).collect()
        } else {
            received.clone()
        };
        let result = match_group(expects, &compare, ordered, &self.bindings);
        let ok = complete
            && result.missing.is_empty()
            && result.forbidden.is_empty()
            && (extra || result.unexpected().next().is_none());
        if ok {
            self.bindings.extend(result.bound);
            return None;
        }
        let reason = if !complete {
            format!(
                "the reply did not arrive: {}",
                self.sessions[session].end_reason(Side::Server)
            )
        } else {
            match group_problem(&result, true, "") {
                Some(forbidden) if !result.forbidden.is_empty() => forbidden.to_owned(),
                _ => "the server's reply differs".to_owned(),
            }
        };
        let ctx = GroupCtx {
            scenario,
            session,
            ordered,
            extra,
            start,
        };
        Some(self.group_failure(&ctx, expects, &received, &result, &reason))
    }

    #[allow(clippy::too_many_arguments)]
    fn group_failure(
        &self,
        ctx: &GroupCtx<'_>,
        expects: &[&Expect<'_>],
        received: &[Vec<u8>],
        result: &GroupResult,
        reason: &str,
    ) -> Failure {
        let live = &self.sessions[ctx.session];
        let shown = live.history.len() - ctx.start;
        let pos = result
            .forbidden
            .first()
            .map(|(_, e)| e)
            .or(result.missing.first())
            .map_or(expects.first().map_or(Pos::default(), |e| e.pos), |i| {
                expects[*i].pos
            });
        let mut diff: Vec<DiffLine> = result
            .missing
            .iter()
            .map(|i| DiffLine::Missing(written(expects[*i].line)))
            .collect();
        for (ai, line) in received.iter().enumerate() {
            let forbidden = result.forbidden.iter().find(|(a, _)| *a == ai);
            diff.push(match (result.assigned.get(ai).copied().flatten(), forbidden) {
                (_, Some((_, e))) => {
                    DiffLine::Forbidden(Side::Server, line.clone(), written(expects[*e].line))
                }
                (Some(_), None) => DiffLine::Matched(Side::Server, line.clone()),
                (None, None) if ctx.extra => DiffLine::Allowed(Side::Server, line.clone()),
                (None, None) => DiffLine::Unexpected(Side::Server, line.clone()),
            });
        }
        let closest = result
            .missing
            .first()
            .and_then(|&e| closest(expects[e], received, result, &self.bindings));
        Failure {
            session: ctx.scenario.sessions()[ctx.session].name.clone(),
            pos,
            reason: reason.to_owned(),
            diff,
            closest,
            history: live.recent_history(shown),
        }
    }
}

/// What a group is being matched in, for reporting.
struct GroupCtx<'a> {
    scenario: &'a Scenario,
    session: usize,
    ordered: bool,
    extra: bool,
    /// The session's history length before the group: lines after it belong to the group.
    start: usize,
}

/// What is wrong with a matched group, if anything: a forbidden line, then lines that are not
/// allowed, then missing lines (described by `missing`).
fn group_problem(result: &GroupResult, extra: bool, missing: &'static str) -> Option<&'static str> {
    if !result.forbidden.is_empty() {
        Some(FORBIDDEN)
    } else if !extra && result.unexpected().next().is_some() {
        Some("the server sent lines the scenario does not list, and this group allows no extra lines")
    } else if !result.missing.is_empty() {
        Some(missing)
    } else {
        None
    }
}

/// The received line that gets furthest into the expected line's pattern.
fn closest(
    expect: &Expect<'_>,
    received: &[Vec<u8>],
    result: &GroupResult,
    bindings: &Bindings,
) -> Option<Closest> {
    let written = crate::pattern::display(expect.line);
    let unassigned = |i: &usize| result.assigned.get(*i).copied().flatten().is_none();
    // Rank by how far the pattern got, then by how much of the line's end agrees.
    let best = (0..received.len())
        .filter(unassigned)
        .map(|i| {
            let matched = expect.pattern.matches(&received[i], bindings).err().unwrap_or(0);
            let line = received[i].strip_suffix(b"\r\n").unwrap_or(&received[i]);
            let suffix = line
                .iter()
                .rev()
                .zip(written.bytes().rev())
                .take_while(|(a, b)| a.eq_ignore_ascii_case(b))
                .count();
            ((matched, suffix, std::cmp::Reverse(i)), i, matched)
        })
        .max_by_key(|(key, _, _)| *key)?;
    Some(Closest {
        expected: written,
        received: received[best.1].clone(),
        matched: best.2,
    })
}

/// Matches received lines against a group of expected lines.
fn match_group(
    expects: &[&Expect<'_>],
    received: &[Vec<u8>],
    ordered: bool,
    bindings: &Bindings,
) -> GroupResult {
    let mut result = GroupResult {
        assigned: vec![None; received.len()],
        ..GroupResult::default()
    };
    let mut scope = bindings.clone();
    let mut taken = vec![false; expects.len()];
    let mut cursor = 0;
    for (ai, line) in received.iter().enumerate() {
        let matches = |e: &Expect<'_>, scope: &Bindings| e.pattern.matches(line, scope).ok();
        // A forbidden line still fills the expected line it matches, so that the report
        // does not also call that line missing.
        result
            .forbidden
            .extend(forbidden_match(expects, line, &scope).map(|ei| (ai, ei)));
        let found = if ordered {
            let mut found = None;
            for (ei, e) in expects.iter().enumerate().skip(cursor) {
                match e.line.presence {
                    Presence::Forbidden => continue,
                    _ if matches(e, &scope).is_some() => {
                        found = Some(ei);
                        break;
                    }
                    Presence::Optional => continue,
                    Presence::Required => break,
                }
            }
            found
        } else {
            let free = |p: Presence| {
                (0..expects.len()).find(|&ei| {
                    !taken[ei] && expects[ei].line.presence == p && matches(expects[ei], &scope).is_some()
                })
            };
            free(Presence::Required).or_else(|| free(Presence::Optional))
        };
        if let Some(ei) = found {
            let m = matches(expects[ei], &scope).expect("matched just above");
            scope.extend(m.bound.clone());
            result.bound.extend(m.bound);
            taken[ei] = true;
            cursor = ei + 1;
            result.assigned[ai] = Some(ei);
        }
    }
    result.missing = (0..expects.len())
        .filter(|&ei| expects[ei].line.presence == Presence::Required && !taken[ei])
        .collect();
    result
}

/// The first `S!:` line among `expects` that `line` matches.
fn forbidden_match(expects: &[&Expect<'_>], line: &[u8], scope: &Bindings) -> Option<usize> {
    expects
        .iter()
        .position(|e| e.line.presence == Presence::Forbidden && e.pattern.matches(line, scope).is_ok())
}

/// Splits a run of `S:` lines into groups: IMAP up to each tagged/continuation line, SMTP one
/// reply each (up to a line without `NNN-`).
fn groups<'s>(run: &[&'s Step], family: Family) -> Vec<Vec<&'s Step>> {
    let mut groups: Vec<Vec<&'s Step>> = Vec::new();
    let mut current = Vec::new();
    for step in run {
        let StepKind::Line(line) = &step.kind else {
            continue;
        };
        if crate::pattern::is_raw(line) {
            // Raw lines are matched alone, against the byte stream.
            if !current.is_empty() {
                groups.push(std::mem::take(&mut current));
            }
            groups.push(vec![*step]);
            continue;
        }
        current.push(*step);
        let ends = match family {
            Family::Imap => is_terminal(line),
            Family::Smtp => line.presence == Presence::Required && !is_reply_continuation(line),
        };
        if ends {
            groups.push(std::mem::take(&mut current));
        }
    }
    // `S?:`/`S!:` lines written after a group's closing line belong to that group.
    let trailing = current
        .iter()
        .all(|s| matches!(&s.kind, StepKind::Line(l) if l.presence != Presence::Required));
    match groups.last_mut() {
        Some(last) if trailing && !is_raw_group(last) => last.extend(current),
        _ if !current.is_empty() => groups.push(current),
        _ => {}
    }
    groups
}

fn is_raw_group(group: &[&Step]) -> bool {
    matches!(group, [step] if matches!(&step.kind, StepKind::Line(l) if crate::pattern::is_raw(l)))
}

/// A required IMAP line that is not untagged: a tagged response or a continuation request.
fn is_terminal(line: &Line) -> bool {
    line.presence == Presence::Required
        && !matches!(line.parts.first(), Some(Part::Text(t)) if t.starts_with(b"*"))
}

/// An SMTP reply line written `NNN-...`.
fn is_reply_continuation(line: &Line) -> bool {
    matches!(line.parts.first(), Some(Part::Text(t)) if t.len() >= 4 && t[..3].iter().all(u8::is_ascii_digit) && t[3] == b'-')
}

/// The line as written in the scenario, prefix included.
fn written(line: &Line) -> String {
    format!("{} {}", crate::print::prefix(line), crate::pattern::display(line))
        .trim_end()
        .to_owned()
}

#[cfg(test)]
mod tests;
