//! Server lines in groups: splitting a run of `S:` lines into groups (IMAP: up to the tagged
//! or continuation line; SMTP: one reply), reading each group from the stream, matching it as a
//! set or a sequence with optional and forbidden lines, and reporting a group that differs.

use std::collections::HashSet;

use crate::pattern::{Bindings, normalize_reply_line};
use crate::scenario::{Family, Line, Part, Pos, Presence, Scenario, Side, Step, StepKind};

use super::msgs::Msgs;
use super::steps::{Expect, Run};
use super::{Closest, DiffLine, Failure, written};

pub(super) const FORBIDDEN: &str = "the server sent a line that must not appear here";
const UNTAGGED_MISSING: &str = "required untagged lines did not arrive before the tagged response";

/// The assignment of received lines to expected lines in one group.
#[derive(Default)]
pub(super) struct GroupResult {
    /// For each received line: the index of the expected line it matched.
    pub(super) assigned: Vec<Option<usize>>,
    /// For each received line that matched a forbidden line: that line's index.
    pub(super) forbidden: Vec<(usize, usize)>,
    /// Required expected lines that nothing matched.
    pub(super) missing: Vec<usize>,
    pub(super) bound: Bindings,
    /// The session's message names after the group's lines renumbered them.
    pub(super) msgs: Msgs,
}

impl GroupResult {
    pub(super) fn unexpected(&self) -> impl Iterator<Item = usize> + '_ {
        let forbidden: HashSet<usize> = self.forbidden.iter().map(|(a, _)| *a).collect();
        (0..self.assigned.len()).filter(move |i| self.assigned[*i].is_none() && !forbidden.contains(i))
    }
}

impl Run {
    pub(super) fn imap_group(
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
        let mut result = self.match_lines(ctx.session, untagged, &received, ctx.ordered);
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
        result.msgs.sync(&mut scope, &self.seq_names);
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
        self.set_msgs(ctx.session, result.msgs.clone());
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
            let mut result = self.match_lines(ctx.session, expects, &received, ctx.ordered);
            if !result.forbidden.is_empty() || (!ctx.extra && result.unexpected().next().is_some()) {
                // Lines still missing may simply not have arrived yet: report only what broke.
                result.missing.clear();
                let reason = group_problem(&result, ctx.extra, "").unwrap_or_default();
                return Some(self.group_failure(ctx, expects, &received, &result, reason));
            }
            if result.missing.is_empty() {
                self.bindings.extend(result.bound);
                self.set_msgs(ctx.session, result.msgs);
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

    pub(super) fn smtp_reply(
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
        let result = match_group(expects, &compare, ordered, &self.bindings, &Tracked::default());
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

    /// Matches a group's received lines against its expected lines, following the session's
    /// message names through the renumbering those lines do.
    fn match_lines(
        &self,
        session: usize,
        expects: &[&Expect<'_>],
        received: &[Vec<u8>],
        ordered: bool,
    ) -> GroupResult {
        let tracked = Tracked {
            names: self.seq_names.clone(),
            msgs: self.sessions[session].msgs.clone(),
        };
        match_group(expects, received, ordered, &self.bindings, &tracked)
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn group_failure(
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
pub(super) struct GroupCtx<'a> {
    pub(super) scenario: &'a Scenario,
    pub(super) session: usize,
    pub(super) ordered: bool,
    pub(super) extra: bool,
    /// The session's history length before the group: lines after it belong to the group.
    pub(super) start: usize,
}

/// The index of a group's closing line: its last required line (optional and forbidden lines
/// written after it still belong to the group).
pub(super) fn closing_line(group: &[&Expect<'_>]) -> usize {
    group
        .iter()
        .rposition(|e| e.line.presence == Presence::Required)
        .unwrap_or(group.len().saturating_sub(1))
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

/// The message names of a session and their numbers when a group starts.
#[derive(Default)]
pub(super) struct Tracked {
    pub(super) names: HashSet<String>,
    pub(super) msgs: Msgs,
}

/// Matches received lines against a group of expected lines, in the order they arrived; after
/// each line, the session's message names follow the renumbering it did (`* 3 EXPUNGE`).
fn match_group(
    expects: &[&Expect<'_>],
    received: &[Vec<u8>],
    ordered: bool,
    bindings: &Bindings,
    tracked: &Tracked,
) -> GroupResult {
    let mut result = GroupResult {
        assigned: vec![None; received.len()],
        msgs: tracked.msgs.clone(),
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
            result.msgs.absorb(&m.bound, &tracked.names, line);
            result.bound.extend(m.bound);
            taken[ei] = true;
            cursor = ei + 1;
            result.assigned[ai] = Some(ei);
        }
        result.msgs.observe(line);
        result.msgs.sync(&mut scope, &tracked.names);
    }
    result.missing = (0..expects.len())
        .filter(|&ei| expects[ei].line.presence == Presence::Required && !taken[ei])
        .collect();
    result
}

/// The first `S!:` line among `expects` that `line` matches.
pub(super) fn forbidden_match(expects: &[&Expect<'_>], line: &[u8], scope: &Bindings) -> Option<usize> {
    expects
        .iter()
        .position(|e| e.line.presence == Presence::Forbidden && e.pattern.matches(line, scope).is_ok())
}

/// Splits a run of `S:` lines into groups: IMAP up to each tagged/continuation line, SMTP one
/// reply each (up to a line without `NNN-`).
pub(super) fn groups<'s>(run: &[&'s Step], family: Family) -> Vec<Vec<&'s Step>> {
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
    line.presence == Presence::Required && !leading_text(line).starts_with(b"*")
}

/// An SMTP reply line written `NNN-...` (a write boundary inside `NNN-` does not hide it).
pub(crate) fn is_reply_continuation(line: &Line) -> bool {
    let t = leading_text(line);
    t.len() >= 4 && t[..3].iter().all(u8::is_ascii_digit) && t[3] == b'-'
}

/// The text the line starts with, across write boundaries (`S: ${|}* 2 EXISTS` and
/// `S: 25${|}0-PIPELINING` start like the lines without them), up to its first hole,
/// reference or literal.
fn leading_text(line: &Line) -> Vec<u8> {
    let mut out = Vec::new();
    for part in &line.parts {
        match part {
            Part::Text(t) => out.extend_from_slice(t),
            Part::Split => {}
            _ => break,
        }
        if out.len() >= 4 {
            break;
        }
    }
    out
}
