//! Playing a scenario as the client against an in-process target, then verifying what
//! happened. No I/O here: the [`Target`] is a set of sans-IO server sessions (the model
//! servers), so every reply is available as soon as a line has been sent.
//!
//! The player walks the steps in file order. It sends `C:` lines (rendering holes, captures
//! and literals; waiting for the `+` of a synchronizing literal), runs `@starttls` and
//! `@close client`, and records every byte into a [`Transcript`]. Before each `C:` line it
//! verifies the steps so far, so captures (`${uid}`) are bound when they are needed and a
//! mismatch stops the run where it happened. The result is the same [`Report`] that
//! [`crate::verify()`] gives.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::pattern::{Output, PatternError, render};
use crate::scenario::{Directive, Presence, Protocol, Role, Scenario, Side, StepKind};
use crate::transcript::{SessionRecord, Transcript};
use crate::verify::{Report, VerifyError, verify, verify_prefix};

/// An in-process server with one connection per scenario session.
pub trait Target {
    /// Opens the connection for `session` (speaking `protocol`).
    fn connect(&mut self, session: &str, protocol: Protocol);
    /// Delivers bytes from the client; the server processes them at once.
    fn send(&mut self, session: &str, bytes: &[u8]);
    /// Everything the server wrote since the last call, one entry per write.
    fn receive(&mut self, session: &str) -> Vec<Vec<u8>>;
    /// Completes a TLS handshake on the connection (STARTTLS, or implicit TLS at connect).
    fn start_tls(&mut self, session: &str);
    /// The client closes the connection.
    fn close(&mut self, session: &str);
    /// Whether the server has closed the connection.
    fn is_closed(&mut self, session: &str) -> bool;
}

/// Why a scenario could not be played (as opposed to a mismatch, which is in the report).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlayError {
    /// The scenario declares `plays: server` only.
    #[error("this scenario is for testing clients (`plays: server`); mailrig cannot play its client side")]
    WrongRole,
    /// A `C:` line could not be rendered.
    #[error("line {line}: {source}")]
    Render {
        /// The line number in the scenario.
        line: usize,
        /// Why.
        source: PatternError,
    },
    /// Verification could not run.
    #[error(transparent)]
    Verify(#[from] VerifyError),
}

/// What a play produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Played {
    /// Every byte exchanged.
    pub transcript: Transcript,
    /// The verdicts.
    pub report: Report,
}

/// Plays `scenario` as the client against `target`. `vars` are the run's variables.
pub fn play_client(
    scenario: &Scenario,
    target: &mut dyn Target,
    vars: &BTreeMap<String, String>,
) -> Result<Played, PlayError> {
    if scenario.header.plays == Some(Role::Server) {
        return Err(PlayError::WrongRole);
    }
    let mut player = Player {
        scenario,
        target,
        records: Vec::new(),
        tick: 0,
    };
    player.connect_all();
    let steps: Vec<_> = scenario.steps().collect();
    for (index, step) in steps.iter().enumerate() {
        player.pump_all();
        let name = scenario.sessions()[step.session].name.clone();
        match &step.kind {
            StepKind::Line(line) if line.side == Side::Client && line.presence != Presence::Forbidden => {
                let (report, mut bindings) = verify_prefix(scenario, &player.transcript(), vars, index)?;
                if !report.passed() {
                    return Ok(Played {
                        transcript: player.transcript(),
                        report,
                    });
                }
                let outputs = render(line, &mut bindings).map_err(|source| PlayError::Render {
                    line: step.pos.line,
                    source,
                })?;
                player.send(step.session, &name, outputs);
            }
            StepKind::Directive(Directive::StartTls) => {
                player.target.start_tls(&name);
                let at = player.now();
                player.records[step.session].tls_started(at);
            }
            StepKind::Directive(Directive::Close(Side::Client)) => {
                player.target.close(&name);
                let at = player.now();
                player.records[step.session].closed(at, Side::Client);
            }
            _ => {}
        }
    }
    player.pump_all();
    let transcript = player.transcript();
    let report = verify(scenario, &transcript, vars)?;
    Ok(Played { transcript, report })
}

struct Player<'a> {
    scenario: &'a Scenario,
    target: &'a mut dyn Target,
    records: Vec<SessionRecord>,
    /// A fake clock: one millisecond per event, so transcripts are deterministic.
    tick: u64,
}

impl Player<'_> {
    fn now(&mut self) -> Duration {
        self.tick += 1;
        Duration::from_millis(self.tick)
    }

    fn connect_all(&mut self) {
        for decl in self.scenario.sessions() {
            let mut record = SessionRecord::new(decl.name.clone(), decl.protocol);
            self.target.connect(&decl.name, decl.protocol);
            if decl.protocol.implicit_tls() {
                self.target.start_tls(&decl.name);
                record.tls_started(Duration::ZERO);
            }
            self.records.push(record);
        }
    }

    /// Records whatever every session's server has written, and closes.
    fn pump_all(&mut self) {
        for index in 0..self.records.len() {
            self.pump(index);
        }
    }

    fn pump(&mut self, index: usize) {
        let name = self.records[index].name.clone();
        for write in self.target.receive(&name) {
            let at = self.now();
            self.records[index].data(at, Side::Server, write);
        }
        let closed = self.records[index]
            .events
            .iter()
            .any(|e| matches!(e.kind, crate::transcript::EventKind::Closed { .. }));
        if !closed && self.target.is_closed(&name) {
            let at = self.now();
            self.records[index].closed(at, Side::Server);
        }
    }

    fn send(&mut self, index: usize, name: &str, outputs: Vec<Output>) {
        for output in outputs {
            match output {
                Output::Bytes(bytes) => {
                    let at = self.now();
                    self.records[index].data(at, Side::Client, bytes.clone());
                    self.target.send(name, &bytes);
                }
                Output::Split => {}
                // In process, the continuation request is already there once the
                // announcement has been processed.
                Output::AwaitContinuation => self.pump(index),
            }
        }
    }

    fn transcript(&self) -> Transcript {
        Transcript {
            sessions: self.records.clone(),
        }
    }
}

#[cfg(test)]
mod tests;
