//! The scenario engine: plays one side of a scenario incrementally, with no I/O.
//!
//! In the style of quinn-proto's `Connection`: the driver (in-process or over sockets) feeds
//! the engine what the peer sent ([`Engine::handle_received`]) and what happened to the
//! connections ([`Engine::handle_connected`], [`Engine::handle_tls_started`],
//! [`Engine::handle_closed`]), takes what to do next ([`Engine::poll_transmit`]), asks when it
//! must be woken ([`Engine::poll_timeout`], then [`Engine::handle_timeout`]), and reads the
//! verdict ([`Engine::result`]). Time is a [`Duration`] since the start of the run, given by
//! the driver: a real clock over sockets, a fake one in tests.
//!
//! The engine plays **either side**. Playing the client ([`Role::Client`]), it sends the `C:`
//! lines and checks the server's `S:` lines; playing the server, the reverse. Both use the same
//! step checker as [`crate::verify()`], which decides each unit of steps (a directive, or a run
//! of one session's lines on one side) as bytes arrive: a unit that needs more than has arrived
//! undoes its reads and is checked again from the same place when more comes (never from the
//! start of the scenario), until its deadline, and a unit that cannot match whatever comes next
//! fails at once. So the verdicts of a live run and of verifying its transcript afterwards are
//! the same.
//!
//! Deadlines: every wait for the peer ends after [`EngineConfig::receive_timeout`], or after
//! the `@within` limit of the step, measured from the end of the previous step (a wait for a
//! connection: from when it was asked for). A wait that ends fails the step with what arrived
//! so far; it ends only that step's wait. `@sleep` delays the engine's next write in that
//! session.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use crate::pattern::{Bindings, PatternError};
use crate::scenario::{Directive, LiteralSource, Part, Protocol, Role, Scenario, Side, Step, StepKind};
use crate::transcript::{SessionRecord, Transcript};
use crate::verify::{Failure, Live, Progress, Report, Run, VerifyError, initial_bindings, report};

mod answer;
mod send;

use answer::Tracker;
pub use answer::{Answer, AnswerKind, Answered};
use send::{Sending, Sent};

/// Settings of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineConfig {
    /// How long to wait for the peer before a step fails with what arrived so far (a
    /// connection, a line, a handshake, a close).
    pub receive_timeout: Duration,
    /// How many bytes the peer may have sent on one session beyond what the engine has read,
    /// on top of what the scenario's lines from the peer in that session hold (their text and
    /// literals). Past it the run fails as a divergence ("the client sent N bytes the script
    /// does not expect") and ends, so a peer that floods a session the engine is not reading
    /// (or sends one endless line) cannot make the engine buffer without bound.
    pub max_unread: usize,
}

/// The default of [`EngineConfig::max_unread`]: 4 MiB.
pub const DEFAULT_MAX_UNREAD: usize = 4 << 20;

impl Default for EngineConfig {
    /// Five seconds; 4 MiB unread.
    fn default() -> EngineConfig {
        EngineConfig {
            receive_timeout: Duration::from_secs(5),
            max_unread: DEFAULT_MAX_UNREAD,
        }
    }
}

/// Something the driver must do on a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transmit {
    /// Open the connection of this session (client role only); for `smtps`/`imaps` run the
    /// TLS handshake too. Then call [`Engine::handle_connected`].
    Connect {
        /// Index into the scenario's sessions.
        session: usize,
    },
    /// Write these bytes, as one write.
    Data {
        /// Index into the scenario's sessions.
        session: usize,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// Run the TLS handshake now (STARTTLS), then call [`Engine::handle_tls_started`].
    StartTls {
        /// Index into the scenario's sessions.
        session: usize,
    },
    /// Close the connection.
    Close {
        /// Index into the scenario's sessions.
        session: usize,
    },
}

/// Why a run could not be carried out (as opposed to a mismatch, which is in the [`Report`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// The scenario does not allow mailrig to play this role (`plays:`).
    #[error("this scenario is only for mailrig playing the {allowed} (`plays: {allowed}`)")]
    WrongRole {
        /// The role the scenario allows.
        allowed: &'static str,
    },
    /// The scenario cannot be checked with the run's variables.
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// A line mailrig must send could not be rendered.
    #[error("line {line}: {source}")]
    Render {
        /// The line number in the scenario.
        line: usize,
        /// Why.
        source: PatternError,
    },
    /// The driver could not open a connection.
    #[error("session `{session}`: cannot connect: {reason}")]
    Connect {
        /// The session name.
        session: String,
        /// What the driver reported.
        reason: String,
    },
}

/// Per-session connection state.
#[derive(Debug, Clone, Default)]
struct Conn {
    connect_requested: bool,
    connected: bool,
    tls_requested: bool,
    /// The engine's own side has closed.
    closed_here: bool,
    /// The peer closed the connection.
    closed_there: bool,
    /// No write before this time (`@sleep`).
    sleep_until: Duration,
    /// Server role, IMAP: how far the client's stream has been scanned for synchronizing
    /// literal announcements to answer with `+`.
    literal_scan: usize,
    /// Client role: how far the server's stream has been scanned for `+` continuations.
    plus_scan: usize,
}

/// What the engine does at the next unit of steps.
#[derive(Debug, Clone, Copy)]
enum Next {
    /// Send its lines.
    OurLines,
    /// Wait for the peer's lines.
    PeerLines,
    /// Ask for the TLS handshake.
    StartTls,
    /// Close the connection.
    OurClose,
    /// Pause the next write.
    Sleep(Duration),
    /// Only check (`@match`, `@within`, the peer's `@close`).
    Other,
}

/// Plays one side of a scenario; see the module documentation.
#[derive(Debug)]
pub struct Engine {
    scenario: Scenario,
    role: Role,
    config: EngineConfig,
    run: Run,
    records: Vec<SessionRecord>,
    conns: Vec<Conn>,
    /// Per session: the most unread bytes from the peer before the run fails.
    unread_limits: Vec<usize>,
    /// The index (into the scenario's steps) of the next unit to check.
    next: usize,
    sending: Option<Sending>,
    /// What the driver must do, with the replies each write completes when described.
    transmits: VecDeque<(Transmit, Vec<Answer>)>,
    /// Server role: describe the replies of each write ([`Engine::set_describe_answers`]).
    describe: bool,
    /// Per session: what has been described so far.
    trackers: Vec<Tracker>,
    now: Duration,
    /// When the last unit of steps completed (the base of `@within`).
    last_done: Duration,
    /// The current wait for the peer: its deadline and which session and side it waits on.
    wait: Option<(Duration, usize, Side)>,
    /// The unit of steps whose wait has run out: if it is still undecided, it fails.
    expired: Option<usize>,
    result: Option<Result<Report, EngineError>>,
}

impl Engine {
    /// An engine that plays `role` in `scenario`. `vars` are the run's variables (they
    /// override the scenario's `vars:`). Literal files must have been loaded
    /// ([`Scenario::load_literals`]).
    pub fn new(
        scenario: Scenario,
        role: Role,
        vars: &BTreeMap<String, String>,
        config: EngineConfig,
    ) -> Result<Engine, EngineError> {
        if let Some(allowed) = scenario.header.plays.filter(|p| *p != role) {
            let allowed = match allowed {
                Role::Client => "client",
                Role::Server => "server",
            };
            return Err(EngineError::WrongRole { allowed });
        }
        let bindings = initial_bindings(&scenario, vars)?;
        let sessions = scenario
            .sessions()
            .iter()
            .map(|d| Live::growing(d.protocol.family()))
            .collect();
        let records = scenario
            .sessions()
            .iter()
            .map(|d| SessionRecord::new(d.name.clone(), d.protocol))
            .collect();
        let conns = vec![Conn::default(); scenario.sessions().len()];
        let trackers = vec![Tracker::default(); scenario.sessions().len()];
        let unread_limits = unread_limits(&scenario, role, config.max_unread);
        let run = Run::new(&scenario, sessions, bindings);
        let mut engine = Engine {
            scenario,
            role,
            config,
            run,
            records,
            conns,
            unread_limits,
            next: 0,
            sending: None,
            transmits: VecDeque::new(),
            describe: false,
            trackers,
            now: Duration::ZERO,
            last_done: Duration::ZERO,
            wait: None,
            expired: None,
            result: None,
        };
        engine.advance();
        Ok(engine)
    }

    /// The scenario being played.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The side mailrig plays.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The connection of `session` is open (and, for `smtps`/`imaps`, its TLS handshake is
    /// done). Client role: after a [`Transmit::Connect`]. Server role: when a client connected
    /// and the driver assigned the connection to this session.
    pub fn handle_connected(&mut self, session: usize, now: Duration) {
        self.tick(now);
        let Some(conn) = self.conns.get_mut(session) else {
            return;
        };
        conn.connected = true;
        self.expired = None;
        if self.scenario.sessions()[session].protocol.implicit_tls() {
            self.run.sessions[session].tls_started();
            self.run.sessions[session].tls_next = 1;
            self.records[session].tls_started(now);
        }
        self.advance();
    }

    /// The connection of `session` could not be opened: the run ends with
    /// [`EngineError::Connect`].
    pub fn handle_connect_failed(&mut self, session: usize, reason: impl Into<String>) {
        if self.result.is_none() {
            let name = self.session_name(session);
            self.result = Some(Err(EngineError::Connect {
                session: name,
                reason: reason.into(),
            }));
        }
    }

    /// Server role: a client opened one more `protocol` connection than the scenario has
    /// `protocol` sessions (the driver closed it). The run fails at the current step, as a
    /// divergence of the client.
    pub fn handle_extra_connection(&mut self, protocol: Protocol, now: Duration) {
        self.tick(now);
        if self.result.is_some() {
            return;
        }
        let count = self
            .scenario
            .sessions()
            .iter()
            .filter(|d| d.protocol == protocol)
            .count();
        let keyword = protocol.keyword();
        let reason = format!(
            "the client opened {} `{keyword}` connection(s), but the scenario has {count} `{keyword}` session(s)",
            count + 1
        );
        let session = self
            .scenario
            .steps()
            .nth(self.next)
            .map_or(0, |step| step.session);
        let failure = self.failure_here(session, &reason);
        self.finish(Some(failure));
    }

    /// The peer sent `bytes` on `session`.
    pub fn handle_received(&mut self, session: usize, bytes: &[u8], now: Duration) {
        self.tick(now);
        if session >= self.conns.len() || bytes.is_empty() {
            return;
        }
        let peer = self.our_side().peer();
        self.run.sessions[session].push(peer, bytes, now);
        self.records[session].data(now, peer, bytes);
        self.advance();
        self.check_unread(session);
    }

    /// The TLS handshake asked for by [`Transmit::StartTls`] completed.
    pub fn handle_tls_started(&mut self, session: usize, now: Duration) {
        self.tick(now);
        if session >= self.conns.len() {
            return;
        }
        self.run.sessions[session].tls_started();
        self.records[session].tls_started(now);
        self.advance();
    }

    /// The TLS handshake asked for by [`Transmit::StartTls`] failed: the `@starttls` step
    /// fails with `reason`.
    pub fn handle_tls_failed(&mut self, session: usize, reason: &str, now: Duration) {
        self.tick(now);
        if session >= self.conns.len() || self.result.is_some() {
            return;
        }
        let failure = self.failure_here(session, &format!("the TLS handshake failed: {reason}"));
        self.finish(Some(failure));
    }

    /// The peer closed `session` (or a read or write on it failed).
    pub fn handle_closed(&mut self, session: usize, now: Duration) {
        self.tick(now);
        let Some(conn) = self.conns.get_mut(session) else {
            return;
        };
        if conn.closed_here || conn.closed_there {
            return;
        }
        conn.closed_there = true;
        let peer = self.our_side().peer();
        self.run.sessions[session].closed(peer);
        self.records[session].closed(now, peer);
        self.advance();
    }

    /// The driver closed or reset `session` of its own accord (a fault rule on a replay's
    /// writes): recorded as closed by mailrig's side; nothing more is written or read there,
    /// and a step still waiting for the peer on it fails.
    pub fn handle_closed_here(&mut self, session: usize, now: Duration) {
        self.tick(now);
        if session < self.conns.len() && self.mark_closed_here(session) {
            self.advance();
        }
    }

    /// Time has passed: a wait whose deadline is reached ends, a `@sleep` that is over lets
    /// the next write go.
    pub fn handle_timeout(&mut self, now: Duration) {
        self.tick(now);
        if let Some((deadline, session, side)) = self.wait
            && now >= deadline
        {
            let waited = deadline.saturating_sub(self.last_done);
            self.run.sessions[session].time_out(side, waited);
            self.wait = None;
            self.expired = Some(self.next);
        }
        self.advance();
    }

    /// The next thing the driver must do, if any. Call after every `handle_*` until `None`.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front().map(|(transmit, _)| transmit)
    }

    /// [`Engine::poll_transmit`] with, for a [`Transmit::Data`], the replies the write
    /// completes and the step each answers (empty unless [`Engine::set_describe_answers`] is
    /// on, and for every other transmit). A driver that applies fault rules to the engine's
    /// writes (a replay with `--fault`) uses this instead of `poll_transmit`.
    #[must_use]
    pub fn poll_transmit_described(&mut self) -> Option<(Transmit, Vec<Answer>)> {
        self.transmits.pop_front()
    }

    /// Server role: describe each write's replies ([`Answer`]: the step it answers, its kind,
    /// where it ends), for [`Engine::poll_transmit_described`]. Off by default (it reads the
    /// client's bytes once more); turn it on before the first connection.
    pub fn set_describe_answers(&mut self, on: bool) {
        self.describe = on && self.role == Role::Server;
    }

    /// When the engine next needs [`Engine::handle_timeout`] (a deadline or the end of a
    /// `@sleep`), if it is waiting for time at all. `None` once the run is finished.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Duration> {
        if self.result.is_some() {
            return None;
        }
        let sleep = self
            .sending
            .as_ref()
            .and_then(|s| self.steps().get(s.at).map(|step| step.session))
            .map(|session| self.conns[session].sleep_until)
            .filter(|until| *until > self.now);
        match (sleep, self.wait.map(|(deadline, ..)| deadline)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether the run is over (passed, failed, or could not be carried out).
    pub fn is_finished(&self) -> bool {
        self.result.is_some()
    }

    /// The outcome, once [`Engine::is_finished`]: the report, or why the run could not be
    /// carried out.
    pub fn result(&self) -> Option<&Result<Report, EngineError>> {
        self.result.as_ref()
    }

    /// Everything exchanged so far, per session, with the engine's timestamps.
    pub fn transcript(&self) -> Transcript {
        Transcript {
            sessions: self.records.clone(),
        }
    }

    /// The values bound so far (run variables and captures).
    pub fn bindings(&self) -> &Bindings {
        &self.run.bindings
    }

    fn tick(&mut self, now: Duration) {
        self.now = self.now.max(now);
    }

    fn our_side(&self) -> Side {
        match self.role {
            Role::Client => Side::Client,
            Role::Server => Side::Server,
        }
    }

    fn session_name(&self, session: usize) -> String {
        self.scenario
            .sessions()
            .get(session)
            .map_or_else(String::new, |d| d.name.clone())
    }

    fn steps(&self) -> Vec<&Step> {
        self.scenario.steps().collect()
    }

    /// Runs steps until one has to wait (for the peer, a connection, a handshake or time).
    fn advance(&mut self) {
        while self.result.is_none() {
            if !self.advance_once() {
                return;
            }
        }
    }

    /// One move; false when the engine must wait.
    fn advance_once(&mut self) -> bool {
        let Some((session, next)) = self.what_next() else {
            self.finish(None);
            return false;
        };
        if !self.ensure_connected(session) {
            return false;
        }
        match next {
            Next::OurLines => match self.send_unit(session) {
                Sent::All => {}
                Sent::Waiting => return false,
                Sent::Refused => return true,
            },
            Next::PeerLines if self.role == Role::Server => self.answer_literals(session),
            Next::StartTls => {
                let conn = &mut self.conns[session];
                if !conn.tls_requested {
                    conn.tls_requested = true;
                    self.transmits
                        .push_back((Transmit::StartTls { session }, Vec::new()));
                }
            }
            Next::OurClose => self.close_here(session),
            Next::Sleep(d) => self.conns[session].sleep_until = self.now + d,
            Next::PeerLines | Next::Other => {}
        }
        self.check(session)
    }

    /// The session of the unit at `next` and what the engine does there; `None` at the end.
    fn what_next(&self) -> Option<(usize, Next)> {
        let step = self.scenario.steps().nth(self.next)?;
        let ours = self.our_side();
        let next = match &step.kind {
            StepKind::Line(line) if line.side == ours => Next::OurLines,
            StepKind::Line(_) => Next::PeerLines,
            StepKind::Directive(Directive::StartTls) => Next::StartTls,
            StepKind::Directive(Directive::Close(side)) if *side == ours => Next::OurClose,
            StepKind::Directive(Directive::Sleep(d)) => Next::Sleep(*d),
            StepKind::Directive(_) => Next::Other,
        };
        Some((step.session, next))
    }

    /// Checks the unit of steps at `next`; true if it completed.
    fn check(&mut self, session: usize) -> bool {
        let progress = {
            let steps: Vec<&Step> = self.scenario.steps().collect();
            self.run.step(&self.scenario, &steps, self.next)
        };
        match progress {
            Ok(Progress::Done(end)) => {
                self.run.sessions[session].forget_timeouts();
                self.next = end;
                self.wait = None;
                self.last_done = self.now;
                true
            }
            Ok(Progress::Failed(failure)) => {
                self.finish(Some(failure));
                false
            }
            Ok(Progress::Pending) if self.expired == Some(self.next) => {
                self.still_waiting(session);
                false
            }
            Ok(Progress::Pending) => {
                self.wait_for(session, self.our_side().peer());
                false
            }
            Err(e) => {
                self.result = Some(Err(e.into()));
                false
            }
        }
    }

    /// Starts (or keeps) a wait on `side` of `session`.
    fn wait_for(&mut self, session: usize, side: Side) {
        if self.wait.is_some() {
            return;
        }
        if self.expired == Some(self.next) {
            // This step already had its time: it never waits twice.
            self.still_waiting(session);
            return;
        }
        let limit = self.run.sessions[session]
            .within
            .unwrap_or(self.config.receive_timeout);
        let base = self.last_done.max(self.conns[session].sleep_until);
        self.wait = Some((base + limit, session, side));
    }

    /// Fails the step whose wait ran out without deciding it.
    fn still_waiting(&mut self, session: usize) {
        let failure = self.failure_here(session, "this step was still undecided when its wait ran out");
        self.finish(Some(failure));
    }

    /// Client role: asks for the connection at the session's first step. Both roles: true
    /// once it is open.
    fn ensure_connected(&mut self, session: usize) -> bool {
        let conn = &mut self.conns[session];
        if conn.connected {
            return true;
        }
        if self.role == Role::Client && !conn.connect_requested {
            conn.connect_requested = true;
            self.transmits
                .push_back((Transmit::Connect { session }, Vec::new()));
        }
        if self.expired == Some(self.next) {
            let name = self.session_name(session);
            let reason = match self.role {
                Role::Client => "the connection did not open in time".to_owned(),
                Role::Server => format!(
                    "no client connected for session `{name}` within {}",
                    crate::scenario::format_duration(self.config.receive_timeout)
                ),
            };
            self.handle_connect_failed(session, reason);
        } else if self.wait.is_none() {
            let deadline = self.now + self.config.receive_timeout;
            self.wait = Some((deadline, session, self.our_side().peer()));
        }
        false
    }

    fn close_here(&mut self, session: usize) {
        if self.mark_closed_here(session) {
            self.transmits
                .push_back((Transmit::Close { session }, Vec::new()));
        }
    }

    /// Records that mailrig's side closed `session`, unless either side already had; returns
    /// whether it did.
    fn mark_closed_here(&mut self, session: usize) -> bool {
        let conn = &mut self.conns[session];
        if conn.closed_here || conn.closed_there {
            return false;
        }
        conn.closed_here = true;
        let ours = self.our_side();
        self.run.sessions[session].closed(ours);
        self.records[session].closed(self.now, ours);
        true
    }

    /// Fails the run and closes `session` if the peer has sent more there than the engine
    /// has read, by more than the session's limit.
    fn check_unread(&mut self, session: usize) {
        let peer = self.our_side().peer();
        let stream = self.run.sessions[session].stream(peer);
        let unread = stream.bytes.len().saturating_sub(stream.cursor);
        if self.result.is_some() || unread <= self.unread_limits[session] {
            return;
        }
        let reason = format!(
            "the {} sent {unread} bytes the script does not expect (more than {} unread)",
            peer.word(),
            self.unread_limits[session]
        );
        let failure = self.failure_here(session, &reason);
        self.finish(Some(failure));
        self.close_here(session);
    }

    fn failure_here(&self, session: usize, reason: &str) -> Failure {
        let pos = self
            .scenario
            .steps()
            .nth(self.next)
            .map(|s| s.pos)
            .unwrap_or_default();
        Failure {
            session: self.session_name(session),
            pos,
            reason: reason.to_owned(),
            diff: Vec::new(),
            closest: None,
            history: Vec::new(),
        }
    }

    fn finish(&mut self, failure: Option<Failure>) {
        if self.result.is_some() {
            return;
        }
        let steps: Vec<&Step> = self.scenario.steps().collect();
        let at = self.next;
        self.wait = None;
        self.result = Some(Ok(report(&self.scenario, &steps, failure.map(|f| (at, f)))));
    }
}

/// Per session: `slack` plus the bytes of every line the peer of `role` writes there (text
/// and literal content; holes and references count nothing).
fn unread_limits(scenario: &Scenario, role: Role, slack: usize) -> Vec<usize> {
    let peer = match role {
        Role::Client => Side::Server,
        Role::Server => Side::Client,
    };
    let mut limits = vec![slack; scenario.sessions().len()];
    for step in scenario.steps() {
        let StepKind::Line(line) = &step.kind else {
            continue;
        };
        if line.side != peer {
            continue;
        }
        let size: usize = line.parts.iter().map(part_size).sum::<usize>() + 2;
        if let Some(limit) = limits.get_mut(step.session) {
            *limit = limit.saturating_add(size);
        }
    }
    limits
}

fn part_size(part: &Part) -> usize {
    match part {
        Part::Text(bytes) => bytes.len(),
        Part::Literal(literal) => match &literal.source {
            LiteralSource::Inline(lines) => lines.iter().map(|l| l.len() + 2).sum::<usize>() + 16,
            LiteralSource::File { data, .. } => data.as_ref().map_or(0, Vec::len) + 16,
        },
        Part::Hole(_) | Part::Ref(_) | Part::Split => 0,
    }
}

#[cfg(test)]
mod tests;
