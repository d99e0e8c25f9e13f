//! The in-process driver of the [`Engine`]: plays a scenario as the client against a
//! [`Target`] of sans-IO servers (mailrig's model servers in `cargo test`), with a fake clock.
//! No I/O here: every reply is available as soon as the target has processed the bytes, so
//! when the engine waits and the target has nothing more to say, the clock jumps to the
//! engine's next deadline. A missing line therefore fails at once, and `@within`/`@sleep` are
//! judged exactly as they are over sockets, only without waiting.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::engine::{Engine, EngineConfig, EngineError, Transmit};
use crate::scenario::{Protocol, Role, Scenario};
use crate::transcript::Transcript;
use crate::verify::Report;

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
    /// The engine could not carry out the run.
    #[error(transparent)]
    Engine(EngineError),
}

impl From<EngineError> for PlayError {
    fn from(e: EngineError) -> PlayError {
        match e {
            EngineError::WrongRole { .. } => PlayError::WrongRole,
            other => PlayError::Engine(other),
        }
    }
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
    let engine = Engine::new(scenario.clone(), Role::Client, vars, EngineConfig::default())?;
    let mut driver = Driver {
        engine,
        target,
        connected: vec![false; scenario.sessions().len()],
        closed: vec![false; scenario.sessions().len()],
        clock: Duration::ZERO,
    };
    driver.run();
    let transcript = driver.engine.transcript();
    match driver.engine.result().cloned() {
        Some(Ok(report)) => Ok(Played { transcript, report }),
        Some(Err(e)) => Err(e.into()),
        None => unreachable!("Driver::run returns only once the engine has finished"),
    }
}

struct Driver<'a> {
    engine: Engine,
    target: &'a mut dyn Target,
    connected: Vec<bool>,
    closed: Vec<bool>,
    /// A fake clock: one millisecond per event, so transcripts are deterministic.
    clock: Duration,
}

impl Driver<'_> {
    fn run(&mut self) {
        while !self.engine.is_finished() {
            let mut busy = self.transmit();
            busy |= self.pump();
            if busy || self.engine.is_finished() {
                continue;
            }
            // Nothing moves in process unless time does.
            let Some(deadline) = self.engine.poll_timeout() else {
                // Cannot happen: an unfinished engine that is not waiting for time has
                // something to transmit or is waiting for a peer, which has a deadline.
                let now = self.tick();
                self.engine.handle_timeout(now + Duration::from_secs(3600));
                continue;
            };
            self.clock = self.clock.max(deadline);
            self.engine.handle_timeout(self.clock);
        }
    }

    fn tick(&mut self) -> Duration {
        self.clock += Duration::from_millis(1);
        self.clock
    }

    fn name(&self, session: usize) -> (String, Protocol) {
        let decl = &self.engine.scenario().sessions()[session];
        (decl.name.clone(), decl.protocol)
    }

    /// Carries out what the engine asks; true if it asked for anything.
    fn transmit(&mut self) -> bool {
        let mut any = false;
        while let Some(transmit) = self.engine.poll_transmit() {
            any = true;
            match transmit {
                Transmit::Connect { session } => {
                    let (name, protocol) = self.name(session);
                    self.target.connect(&name, protocol);
                    if protocol.implicit_tls() {
                        self.target.start_tls(&name);
                    }
                    self.connected[session] = true;
                    let now = self.tick();
                    self.engine.handle_connected(session, now);
                }
                Transmit::Data { session, bytes } => {
                    let (name, _) = self.name(session);
                    self.target.send(&name, &bytes);
                }
                Transmit::StartTls { session } => {
                    let (name, _) = self.name(session);
                    self.target.start_tls(&name);
                    let now = self.tick();
                    self.engine.handle_tls_started(session, now);
                }
                Transmit::Close { session } => {
                    let (name, _) = self.name(session);
                    self.target.close(&name);
                    self.closed[session] = true;
                }
            }
        }
        any
    }

    /// Hands whatever the servers wrote to the engine; true if there was anything.
    fn pump(&mut self) -> bool {
        let mut any = false;
        for session in 0..self.connected.len() {
            if !self.connected[session] || self.closed[session] {
                continue;
            }
            let (name, _) = self.name(session);
            for write in self.target.receive(&name) {
                any = true;
                let now = self.tick();
                self.engine.handle_received(session, &write, now);
            }
            if self.target.is_closed(&name) {
                any = true;
                self.closed[session] = true;
                let now = self.tick();
                self.engine.handle_closed(session, now);
            }
        }
        any
    }
}

#[cfg(test)]
mod tests;
