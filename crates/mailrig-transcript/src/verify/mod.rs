//! Checking a [`Transcript`] against a [`Scenario`]: a verdict per session, and on failure a
//! [`Failure`] that [`crate::report`] renders as a diff.
//!
//! Steps run in file order across sessions. Within a session, `C:` lines consume the client's
//! stream and `S:` lines the server's. Server lines are matched in *groups*: in IMAP the
//! untagged lines up to a tagged (or `+`) response, in SMTP one (multi-line) reply. Defaults:
//! IMAP groups match in any order with extra lines allowed; SMTP replies match in order with
//! no extra lines; `@match` changes that for one group.

use crate::pattern::{Bindings, PatternError};
use crate::scenario::{Line, Part, Pos, Scenario, Side, Step, StepKind};
use crate::transcript::Transcript;
use std::collections::{BTreeMap, HashSet};

mod batch;
mod group;
mod live;
mod msgs;
mod steps;

pub(crate) use group::is_reply_continuation;
pub(crate) use live::Live;
pub(crate) use steps::{Progress, Run};

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
/// values bound so far too (the captures a transcript's first steps bind).
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
    let mut run = Run::new(scenario, sessions, bindings);
    let steps: Vec<&Step> = scenario.steps().take(steps).collect();
    let failure = run.all(scenario, &steps)?;
    let report = report(scenario, &steps, failure);
    Ok((report, run.bindings))
}

/// The report for a run over `steps` that failed at step `index` (or passed, with `None`):
/// the failing session fails, sessions with steps after the failure are unfinished.
pub(crate) fn report(scenario: &Scenario, steps: &[&Step], failure: Option<(usize, Failure)>) -> Report {
    let failed_at = failure.as_ref().map(|(i, _)| *i);
    let mut failure = failure.map(|(_, f)| f);
    let sessions = scenario
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
    Report {
        scenario: scenario.header.name.clone(),
        sessions,
    }
}

pub(crate) fn initial_bindings(
    scenario: &Scenario,
    vars: &BTreeMap<String, String>,
) -> Result<Bindings, VerifyError> {
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

/// The line as written in the scenario, prefix included.
fn written(line: &Line) -> String {
    format!("{} {}", crate::print::prefix(line), crate::pattern::display(line))
        .trim_end()
        .to_owned()
}

#[cfg(test)]
mod tests;
