//! The step runner: runs a scenario's steps in file order across sessions (directives,
//! `C:` lines, raw lines, `@within`) and hands each run of `S:` lines over in groups.

use std::collections::HashSet;
use std::time::Duration;

use crate::pattern::{Bindings, Pattern};
use crate::scenario::{
    Class, Directive, Family, Hole, Line, Literal, MatchMode, Part, Pos, Presence, Scenario, Side, Step,
    StepKind,
};

use super::group::{GroupCtx, groups};
use super::live::Live;
use super::msgs::Msgs;
use super::{Closest, DiffLine, Failure, VerifyError, written};

#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) sessions: Vec<Live>,
    /// The values bound so far. While a unit of steps of one session is checked, its message
    /// names (`${m1:seq}`) are in here too, with their current numbers in that session.
    pub(crate) bindings: Bindings,
    /// Arrival time of the latest line consumed so far, for `@within`.
    pub(crate) clock: Duration,
    /// The names the scenario captures as message sequence numbers.
    pub(crate) seq_names: HashSet<String>,
}

/// A compiled expected line.
pub(crate) struct Expect<'s> {
    pub(crate) line: &'s Line,
    pub(crate) pattern: Pattern,
    pub(crate) pos: Pos,
}

type StepFailure = Option<(usize, Failure)>;

/// What checking one unit of steps found.
#[derive(Debug)]
pub(crate) enum Progress {
    /// The steps matched; the next unit starts at this index.
    Done(usize),
    /// A step did not match.
    Failed(Failure),
    /// More input is needed to decide.
    Pending,
}

impl Run {
    pub(crate) fn new(scenario: &Scenario, sessions: Vec<Live>, bindings: Bindings) -> Run {
        let seq_names = scenario
            .steps()
            .filter_map(|s| match &s.kind {
                StepKind::Line(line) => Some(line),
                StepKind::Directive(_) => None,
            })
            .flat_map(|line| &line.parts)
            .filter_map(|p| match p {
                Part::Hole(Hole {
                    name: Some(name),
                    class: Class::Seq,
                    ..
                }) => Some(name.clone()),
                _ => None,
            })
            .collect();
        Run {
            sessions,
            bindings,
            clock: Duration::ZERO,
            seq_names,
        }
    }

    /// The bindings as a line of `session` sees them: with the session's message names.
    pub(crate) fn scope(&self, session: usize) -> Bindings {
        let mut scope = self.bindings.clone();
        self.sessions[session].msgs.sync(&mut scope, &self.seq_names);
        scope
    }

    /// Brings the session's message names into [`Run::bindings`] for a unit of its steps.
    fn enter(&mut self, session: usize) {
        self.sessions[session]
            .msgs
            .sync(&mut self.bindings, &self.seq_names);
    }

    /// Takes the message names back out of [`Run::bindings`] after a unit of steps; a name
    /// bound by a line that does not track numbers (a `C:` line) starts being tracked here.
    fn leave(&mut self, session: usize) {
        let names: Vec<String> = self.seq_names.iter().cloned().collect();
        let mut fresh = Bindings::new();
        for name in names {
            if let Some(value) = self.bindings.remove(&name) {
                fresh.insert(name, value);
            }
        }
        let msgs = &mut self.sessions[session].msgs;
        let mut known = Bindings::new();
        msgs.sync(&mut known, &self.seq_names);
        fresh.retain(|name, _| !known.contains_key(name));
        msgs.absorb(&fresh, &self.seq_names, b"");
    }

    /// Stores the session's message names after a group tracked them, and refreshes
    /// [`Run::bindings`] with them.
    pub(super) fn set_msgs(&mut self, session: usize, msgs: Msgs) {
        msgs.sync(&mut self.bindings, &self.seq_names);
        self.sessions[session].msgs = msgs;
    }

    pub(crate) fn all(&mut self, scenario: &Scenario, steps: &[&Step]) -> Result<StepFailure, VerifyError> {
        if let Some(failure) = self.implicit_tls(scenario, steps) {
            return Ok(Some((0, failure)));
        }
        let mut i = 0;
        while i < steps.len() {
            match self.step(scenario, steps, i)? {
                Progress::Done(end) => i = end,
                Progress::Failed(failure) => return Ok(Some((i, failure))),
                // A finished transcript never leaves a step undecided; should one be, it fails.
                Progress::Pending => {
                    let reason = "the transcript ends before this step could be checked".to_owned();
                    let failure = self.fail(scenario, steps[i].session, steps[i].pos, reason);
                    return Ok(Some((i, failure)));
                }
            }
        }
        Ok(None)
    }

    /// Every `smtps`/`imaps` session must start with a TLS handshake before the first byte.
    fn implicit_tls(&mut self, scenario: &Scenario, steps: &[&Step]) -> Option<Failure> {
        for (index, decl) in scenario.sessions().iter().enumerate() {
            if !decl.protocol.implicit_tls() {
                continue;
            }
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
                return Some(self.fail(scenario, index, pos, reason));
            }
            live.tls_next = 1;
        }
        None
    }

    /// The end (exclusive) of the unit of steps starting at `i`: a directive alone, or the
    /// run of lines of one session and one side.
    pub(crate) fn unit_end(steps: &[&Step], i: usize) -> usize {
        let step = steps[i];
        match &step.kind {
            StepKind::Directive(_) => i + 1,
            StepKind::Line(line) => {
                let same = |s: &&&Step| {
                    s.session == step.session && matches!(&s.kind, StepKind::Line(l) if l.side == line.side)
                };
                i + steps[i..].iter().take_while(same).count()
            }
        }
    }

    /// Checks the unit of steps starting at `i` against what has arrived. When it needs more
    /// than has arrived from a side that may still send, nothing is consumed and the answer is
    /// [`Progress::Pending`]: call again once more has arrived (or the side has ended).
    pub(crate) fn step(
        &mut self,
        scenario: &Scenario,
        steps: &[&Step],
        i: usize,
    ) -> Result<Progress, VerifyError> {
        let step = steps[i];
        let end = Run::unit_end(steps, i);
        let session = step.session;
        let mark = self.sessions[session].mark();
        let (bindings, clock) = (self.bindings.clone(), self.clock);
        self.sessions[session].clear_starved();
        self.enter(session);
        let result = match &step.kind {
            StepKind::Directive(d) => Ok(self.directive(scenario, step, d)),
            StepKind::Line(line) if line.side == Side::Client => self.client_run(scenario, &steps[i..end]),
            StepKind::Line(_) => self.server_run(scenario, &steps[i..end]),
        };
        self.leave(session);
        let result = result?;
        Ok(match result {
            None => Progress::Done(end),
            Some(_) if self.sessions[session].is_starved() => {
                self.sessions[session].reset(mark);
                self.bindings = bindings;
                self.clock = clock;
                Progress::Pending
            }
            Some(failure) => Progress::Failed(failure),
        })
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
            live.starve_both();
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
            None if live.starve(side) => String::new(),
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

    fn compile<'s>(
        &self,
        step: &'s Step,
        normalize: bool,
        group: Option<MatchMode>,
    ) -> Result<Expect<'s>, VerifyError> {
        let StepKind::Line(line) = &step.kind else {
            unreachable!("runs hold only lines")
        };
        let pattern = match group {
            Some(mode) => Pattern::compile_server(line, self.sessions[step.session].family, mode, normalize),
            None => Pattern::compile(line, normalize),
        };
        let pattern = pattern.map_err(|source| VerifyError::Pattern {
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
            let expect = self.compile(step, false, None)?;
            let consumed = match self.single_line(scenario, session, Side::Client, &expect) {
                Ok(consumed) => consumed,
                // The server refused a synchronizing literal before its data (the engine then
                // sends nothing more of the run); the next steps judge the refusal.
                Err(_) if self.refused_literal(session, step) => return Ok(None),
                Err(f) => return Ok(Some(f)),
            };
            if consumed && let Some(f) = self.continuations(scenario, session, &expect) {
                return Ok(Some(f));
            }
        }
        Ok(self.check_within(scenario, session, Side::Client, run[0].pos, before))
    }

    /// Whether the client sent `step`'s line up to its first synchronizing literal's
    /// announcement and the server answered that with a completion instead of `+` (RFC 9051
    /// §7.5 lets it); if so, what was sent is consumed.
    fn refused_literal(&mut self, session: usize, step: &Step) -> bool {
        let StepKind::Line(line) = &step.kind else {
            return false;
        };
        let Some(at) = line
            .parts
            .iter()
            .position(|p| matches!(p, Part::Literal(Literal { non_sync: false, .. })))
        else {
            return false;
        };
        let Some(size) = (match &line.parts[at] {
            Part::Literal(literal) => literal.data().map(|d| d.len()),
            _ => None,
        }) else {
            return false;
        };
        let mut parts = line.parts[..at].to_vec();
        parts.push(Part::Text(format!("{{{size}}}").into_bytes()));
        let head = Line {
            parts,
            crlf: true,
            ..line.clone()
        };
        let Ok(pattern) = Pattern::compile(&head, false) else {
            return false;
        };
        let live = &self.sessions[session];
        let answered = live
            .peek(Side::Server)
            .is_some_and(|l| !l.starts_with(b"+") && !l.starts_with(b"*"));
        let stream = live.stream(Side::Client);
        let rest = &stream.bytes[stream.cursor..live.limit(Side::Client)];
        match pattern.matches_prefix(rest, &self.bindings) {
            Ok((m, len)) if answered && len > 0 => {
                let sent = rest[..len].to_vec();
                self.bindings.extend(m.bound);
                self.take(session, Side::Client, &sent);
                true
            }
            _ => false,
        }
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
            // The pattern got to the end of what has arrived: more may make it match.
            Err(furthest) if furthest >= rest.len() && live.starve(side) => {
                return Err(self.fail(scenario, session, expect.pos, String::new()));
            }
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
                None if live.is_starved() => {
                    return Some(self.fail(scenario, session, expect.pos, String::new()));
                }
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

    /// A line mailrig sent was cut short because the server refused a synchronizing literal:
    /// `side`'s bytes from `from` to the end count as consumed, and so do the server's `+`
    /// lines before offset `refusal` (those of earlier literals of the same line).
    pub(crate) fn accept_refused(&mut self, session: usize, side: Side, from: usize, refusal: usize) {
        let live = &self.sessions[session];
        let sent = live.stream(side).bytes[from.max(live.stream(side).cursor)..].to_vec();
        if !sent.is_empty() {
            self.take(session, side, &sent);
        }
        while self.sessions[session].stream(Side::Server).cursor < refusal {
            match self.sessions[session].peek(Side::Server) {
                Some(line) if line.starts_with(b"+") => self.take(session, Side::Server, &line),
                _ => break,
            }
        }
    }

    pub(crate) fn take(&mut self, session: usize, side: Side, line: &[u8]) {
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

    /// `@match pipelined`: every group of the run is one batch (the parser made sure each ends
    /// with a tagged response); the other modes of the `@match` apply to all of them.
    fn batch(
        &mut self,
        scenario: &Scenario,
        run: &[&Step],
        mode: MatchMode,
    ) -> Result<Option<Failure>, VerifyError> {
        let session = run[0].session;
        let mut compiled = Vec::new();
        for group in groups(run, Family::Imap) {
            let group = group
                .iter()
                .map(|s| self.compile(s, false, Some(mode)))
                .collect::<Result<Vec<_>, _>>()?;
            compiled.push(group);
        }
        let groups: Vec<Vec<&Expect<'_>>> = compiled.iter().map(|g| g.iter().collect()).collect();
        let ctx = GroupCtx {
            scenario,
            session,
            ordered: false,
            extra: mode.extra.unwrap_or(true),
            start: self.sessions[session].history.len(),
        };
        Ok(self.imap_batch(&ctx, &groups))
    }

    /// `S:` lines, split into groups.
    fn server_run(&mut self, scenario: &Scenario, run: &[&Step]) -> Result<Option<Failure>, VerifyError> {
        let session = run[0].session;
        let family = self.sessions[session].family;
        let before = self.clock;
        if family == Family::Imap
            && let Some(mode) = self.sessions[session].mode.filter(|m| m.pipelined == Some(true))
        {
            self.sessions[session].mode = None;
            if let Some(f) = self.batch(scenario, run, mode)? {
                return Ok(Some(f));
            }
            return Ok(self.check_within(scenario, session, Side::Server, run[0].pos, before));
        }
        for group in groups(run, family) {
            if let [step] = group.as_slice()
                && let StepKind::Line(line) = &step.kind
                && crate::pattern::is_raw(line)
            {
                let expect = self.compile(step, false, None)?;
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
                .map(|s| self.compile(s, normalize, Some(mode)))
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
}
