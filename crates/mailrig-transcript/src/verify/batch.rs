//! A pipelined batch (`@match pipelined`): the groups of a run of IMAP `S:` lines whose tagged
//! completions may arrive in any order, and whose untagged responses interleave.
//!
//! Heads up: RFC 9051 §5.5 (a client may send several commands without waiting; a server may
//! run commands that do not depend on each other in any order) and §2.2.2 (untagged responses
//! carry no tag). A completion names its command by its tag, so completions are matched to
//! groups as they arrive. An untagged response cannot be told apart that way; it may belong to
//! any command still running when it arrived, so it is matched, in arrival order, to an
//! untagged line of a group whose completion came after it, preferring the group that completed
//! first (the one with the least time left).

use crate::scenario::{Presence, Side};

use super::Failure;
use super::group::{FORBIDDEN, GroupCtx, GroupResult, Tracked, closing_line, forbidden_match};
use super::steps::{Expect, Run};

/// The groups of a batch flattened into one list of expected lines.
struct Batch<'e, 's> {
    expects: Vec<&'e Expect<'s>>,
    /// For each expected line: its group.
    owner: Vec<usize>,
    /// For each group: the index of its completion in `expects`.
    closing: Vec<usize>,
}

impl Run {
    /// Reads the batch's lines until every group's completion has arrived, then matches them.
    pub(super) fn imap_batch(&mut self, ctx: &GroupCtx<'_>, groups: &[Vec<&Expect<'_>>]) -> Option<Failure> {
        let batch = flatten(groups);
        let mut result = GroupResult::default();
        let mut received: Vec<Vec<u8>> = Vec::new();
        let mut done: Vec<Option<usize>> = vec![None; groups.len()];
        let mut scope = self.bindings.clone();
        while done.iter().any(Option::is_none) {
            let Some(line) = self.sessions[ctx.session].peek(Side::Server) else {
                break;
            };
            self.take(ctx.session, Side::Server, &line);
            let ai = received.len();
            received.push(line.clone());
            result.assigned.push(None);
            if line.starts_with(b"*") {
                continue;
            }
            let open: Vec<usize> = (0..groups.len()).filter(|g| done[*g].is_none()).collect();
            let found = open.iter().copied().find(|g| {
                batch.expects[batch.closing[*g]]
                    .pattern
                    .matches(&line, &scope)
                    .is_ok()
            });
            let forbidden = forbidden_in(&batch, &open, found, &line, &scope);
            if let Some(ei) = forbidden {
                result.forbidden.push((ai, ei));
                return Some(self.batch_failure(ctx, &batch, &received, result, FORBIDDEN));
            }
            let Some(g) = found else {
                let reason = "this tagged response completes none of the commands still running in the pipelined batch";
                result.missing = open.iter().map(|g| batch.closing[*g]).collect();
                return Some(self.batch_failure(ctx, &batch, &received, result, reason));
            };
            let m = batch.expects[batch.closing[g]]
                .pattern
                .matches(&line, &scope)
                .expect("matched just above");
            scope.extend(m.bound.clone());
            result.bound.extend(m.bound);
            result.assigned[ai] = Some(batch.closing[g]);
            done[g] = Some(ai);
        }
        let tracked = Tracked {
            names: self.seq_names.clone(),
            msgs: self.sessions[ctx.session].msgs.clone(),
        };
        let taken = self.batch_untagged(&batch, &received, &done, &mut result, &mut scope, tracked);
        let incomplete = done.iter().any(Option::is_none);
        result.missing = (0..batch.expects.len())
            .filter(|ei| !taken[*ei] && batch.expects[*ei].line.presence == Presence::Required)
            .collect();
        let reason = if !result.forbidden.is_empty() {
            FORBIDDEN.to_owned()
        } else if !ctx.extra && result.unexpected().next().is_some() {
            "the server sent lines the scenario does not list, and this batch allows no extra lines"
                .to_owned()
        } else if incomplete {
            format!(
                "the tagged responses of the pipelined batch did not all arrive: {}",
                self.sessions[ctx.session].end_reason(Side::Server)
            )
        } else if !result.missing.is_empty() {
            "required untagged lines did not arrive before the tagged response of their command".to_owned()
        } else {
            self.bindings.extend(result.bound);
            self.set_msgs(ctx.session, result.msgs);
            return None;
        };
        Some(self.batch_failure(ctx, &batch, &received, result, &reason))
    }

    /// Matches the untagged lines in arrival order (see the module documentation); returns
    /// which expected lines were filled.
    fn batch_untagged(
        &self,
        batch: &Batch<'_, '_>,
        received: &[Vec<u8>],
        done: &[Option<usize>],
        result: &mut GroupResult,
        scope: &mut crate::pattern::Bindings,
        tracked: Tracked,
    ) -> Vec<bool> {
        let mut taken = vec![false; batch.expects.len()];
        // So far only completions are assigned.
        for ei in result.assigned.iter().flatten() {
            taken[*ei] = true;
        }
        result.msgs = tracked.msgs;
        let deadline = |g: usize| done[g].unwrap_or(usize::MAX);
        for (ai, line) in received.iter().enumerate() {
            if !line.starts_with(b"*") {
                continue;
            }
            let running: Vec<usize> = (0..done.len()).filter(|g| deadline(*g) > ai).collect();
            if let Some(ei) = forbidden_in(batch, &running, None, line, scope) {
                result.forbidden.push((ai, ei));
            }
            let mut candidates: Vec<usize> = (0..batch.expects.len())
                .filter(|ei| {
                    !taken[*ei]
                        && running.contains(&batch.owner[*ei])
                        && *ei != batch.closing[batch.owner[*ei]]
                        && batch.expects[*ei].line.presence != Presence::Forbidden
                })
                .collect();
            candidates.sort_by_key(|ei| {
                let optional = batch.expects[*ei].line.presence == Presence::Optional;
                (optional, deadline(batch.owner[*ei]), *ei)
            });
            let found = candidates.into_iter().find_map(|ei| {
                batch.expects[ei]
                    .pattern
                    .matches(line, scope)
                    .ok()
                    .map(|m| (ei, m))
            });
            if let Some((ei, m)) = found {
                scope.extend(m.bound.clone());
                result.msgs.absorb(&m.bound, &tracked.names, line);
                result.bound.extend(m.bound);
                taken[ei] = true;
                result.assigned[ai] = Some(ei);
            }
            result.msgs.observe(line);
            result.msgs.sync(scope, &tracked.names);
        }
        taken
    }

    fn batch_failure(
        &self,
        ctx: &GroupCtx<'_>,
        batch: &Batch<'_, '_>,
        received: &[Vec<u8>],
        result: GroupResult,
        reason: &str,
    ) -> Failure {
        self.group_failure(ctx, &batch.expects, received, &result, reason)
    }
}

fn flatten<'e, 's>(groups: &'e [Vec<&'e Expect<'s>>]) -> Batch<'e, 's> {
    let mut batch = Batch {
        expects: Vec::new(),
        owner: Vec::new(),
        closing: Vec::new(),
    };
    for (g, group) in groups.iter().enumerate() {
        batch.closing.push(batch.expects.len() + closing_line(group));
        for expect in group {
            batch.expects.push(expect);
            batch.owner.push(g);
        }
    }
    batch
}

/// The first `S!:` line of the groups `open` (only of `only`, when given) that `line` matches.
fn forbidden_in(
    batch: &Batch<'_, '_>,
    open: &[usize],
    only: Option<usize>,
    line: &[u8],
    scope: &crate::pattern::Bindings,
) -> Option<usize> {
    let eligible: Vec<usize> = (0..batch.expects.len())
        .filter(|ei| open.contains(&batch.owner[*ei]) && only.is_none_or(|g| batch.owner[*ei] == g))
        .collect();
    let expects: Vec<&Expect<'_>> = eligible.iter().map(|ei| batch.expects[*ei]).collect();
    forbidden_match(&expects, line, scope).map(|i| eligible[i])
}
