//! The loop of a replay: connections arrive from the accept tasks and are handed to their
//! sessions, the client's bytes go to the engine, and the engine's transmits go out (one
//! write per [`Transmit::Data`], the server side of STARTTLS, closes), until the engine has
//! decided the run. With fault rules, each connection gets the rules' state and the engine's
//! writes go through it (`faults.rs`): delayed, rewritten, split, or the connection closed,
//! reset or stalled instead.

use std::sync::Arc;
use std::time::Duration;

use mailrig_server::fault::{FaultSet, Plan, Then};
use mailrig_transcript::engine::{Answer, Engine, Transmit};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

use super::accept::{Arrival, handshake};
use super::faults::{Outcome, SessionFaults, fault_protocol};
use super::{ReplayError, Replayed};
use crate::stream::{Readiness, Stream, close_all, shutdown, wait_any, write_within};

pub(super) struct Driver {
    engine: Engine,
    arrivals: mpsc::UnboundedReceiver<Arrival>,
    /// The accept tasks; dropped (so the listeners close) when the run is decided.
    acceptors: JoinSet<()>,
    tls: TlsAcceptor,
    connections: Vec<Option<Stream>>,
    /// When the first client connected: time zero of the engine's clock.
    start: Instant,
    /// The limit on one handshake or write.
    io_timeout: Duration,
    /// Where reads land (one buffer for the whole run).
    buf: Vec<u8>,
    /// The fault rules, if any.
    faults: Option<Arc<FaultSet>>,
    /// Per session: its connection's fault state (with rules, once connected).
    session_faults: Vec<Option<SessionFaults>>,
}

/// What happened while the engine waited.
enum Event {
    Arrived(Arrival),
    Ready(Readiness),
}

impl Driver {
    pub(super) fn new(
        engine: Engine,
        arrivals: mpsc::UnboundedReceiver<Arrival>,
        acceptors: JoinSet<()>,
        tls: TlsAcceptor,
        io_timeout: Duration,
        faults: Option<Arc<FaultSet>>,
    ) -> Driver {
        let mut engine = engine;
        engine.set_describe_answers(faults.is_some());
        let connections = (0..engine.scenario().sessions().len()).map(|_| None).collect();
        let session_faults = (0..engine.scenario().sessions().len()).map(|_| None).collect();
        Driver {
            engine,
            arrivals,
            acceptors,
            tls,
            connections,
            start: Instant::now(),
            io_timeout,
            buf: vec![0u8; 64 * 1024],
            faults,
            session_faults,
        }
    }

    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    /// Waits for the first connection (at most `connect_timeout`), then plays the run to its
    /// end and closes everything.
    pub(super) async fn run(mut self, connect_timeout: Duration) -> Result<Replayed, ReplayError> {
        let first = match tokio::time::timeout(connect_timeout, self.arrivals.recv()).await {
            Ok(Some(arrival)) => arrival,
            Ok(None) | Err(_) => return Err(ReplayError::NoClient(connect_timeout)),
        };
        self.start = Instant::now();
        self.arrived(first).await;
        self.play().await;
        // Waited for, not only aborted: a listener the caller keeps for the next replay must
        // have no accept task of this one left on it.
        self.acceptors.shutdown().await;
        self.arrivals.close();
        close_all(&mut self.connections).await;
        let transcript = self.engine.transcript();
        match self.engine.result().cloned() {
            Some(Ok(report)) => Ok(Replayed { report, transcript }),
            Some(Err(e)) => Err(e.into()),
            None => Err(ReplayError::Stopped("the engine did not finish".to_owned())),
        }
    }

    async fn play(&mut self) {
        loop {
            // Drained even once the run is decided: its last lines still go out.
            while let Some((transmit, answers)) = self.engine.poll_transmit_described() {
                self.transmit(transmit, answers).await;
            }
            if self.engine.is_finished() {
                break;
            }
            match self.wait().await {
                Event::Arrived(arrival) => self.arrived(arrival).await,
                Event::Ready(ready) => {
                    let now = self.now();
                    ready.hand_to(&mut self.engine, &mut self.connections, now);
                }
            }
        }
    }

    /// Hands a new connection to its session, or closes it and fails the run when the
    /// scenario has no session left for it.
    async fn arrived(&mut self, arrival: Arrival) {
        let now = self.now();
        match (arrival.session, arrival.stream) {
            (None, stream) => {
                if let Ok(stream) = stream {
                    drop(tokio::time::timeout(Duration::from_millis(100), shutdown(stream)).await);
                }
                self.engine.handle_extra_connection(arrival.protocol, now);
            }
            (Some(session), Ok(stream)) => {
                let connect = self.faults.as_ref().map(|faults| {
                    let family = self.engine.scenario().sessions()[session].protocol.family();
                    let mut conn = faults.connection(fault_protocol(family));
                    if let Some(peer) = stream.peer_ip() {
                        conn.set_peer(peer);
                    }
                    let plan = conn.on_connect();
                    self.session_faults[session] = Some(SessionFaults::new(conn, family));
                    plan
                });
                self.connections[session] = Some(stream);
                let then = match connect {
                    Some(plan) => self.write_plan(session, plan).await,
                    None => Then::Continue,
                };
                self.engine.handle_connected(session, self.now());
                self.then(session, then).await;
            }
            (Some(session), Err(reason)) => self.engine.handle_tls_failed(session, &reason, now),
        }
    }

    async fn transmit(&mut self, transmit: Transmit, answers: Vec<Answer>) {
        match transmit {
            // Only the client role connects.
            Transmit::Connect { .. } => {}
            Transmit::Data { session, bytes } => {
                if self.session_faults[session].is_some() {
                    self.write_faulted(session, &bytes, answers).await;
                } else {
                    self.write(session, &bytes).await;
                }
            }
            Transmit::StartTls { session } => self.start_tls(session).await,
            Transmit::Close { session } => {
                if let Some(stream) = self.connections[session].take() {
                    drop(tokio::time::timeout(self.io_timeout, shutdown(stream)).await);
                }
            }
        }
    }

    /// One write (and flush): `${|}` boundaries reach the wire. A failed write is a close.
    async fn write(&mut self, session: usize, bytes: &[u8]) {
        let Some(stream) = self.connections[session].as_mut() else {
            return;
        };
        if !write_within(stream, bytes, self.io_timeout).await {
            let now = self.now();
            Readiness::Closed(session).hand_to(&mut self.engine, &mut self.connections, now);
        }
    }

    /// A write of the engine through the session's fault rules: each reply it completes as
    /// the rules say (untouched replies with the scenario's own write boundaries).
    async fn write_faulted(&mut self, session: usize, bytes: &[u8], answers: Vec<Answer>) {
        let Some(faults) = self.session_faults[session].as_mut() else {
            return;
        };
        if faults.silenced {
            return;
        }
        for outcome in faults.write(bytes, answers) {
            match outcome {
                Outcome::Untouched(pieces) => {
                    for piece in pieces {
                        self.write(session, &piece).await;
                    }
                }
                Outcome::Planned(plan) => {
                    let then = self.write_plan(session, plan).await;
                    if then != Then::Continue {
                        self.then(session, then).await;
                        return;
                    }
                }
            }
        }
    }

    /// A plan's writes, each after its delay; returns what the connection does next.
    async fn write_plan(&mut self, session: usize, plan: Plan) -> Then {
        for write in plan.writes {
            if !write.delay.is_zero() {
                tokio::time::sleep(write.delay).await;
            }
            if !write.bytes.is_empty() {
                self.write(session, &write.bytes).await;
            }
        }
        plan.then
    }

    /// After a fault plan: a close (FIN) or a stall write nothing more but go on reading, so
    /// the engine judges how the client reacts; a reset ends the connection at once.
    async fn then(&mut self, session: usize, then: Then) {
        if then == Then::Continue {
            return;
        }
        if let Some(faults) = self.session_faults[session].as_mut() {
            faults.silenced = true;
        }
        match then {
            Then::Continue | Then::Stall => {}
            Then::Close => {
                if let Some(stream) = self.connections[session].as_mut() {
                    drop(tokio::time::timeout(self.io_timeout, stream.shutdown()).await);
                }
            }
            Then::Reset => {
                if let Some(stream) = self.connections[session].take() {
                    stream.reset();
                }
                let now = self.now();
                self.engine.handle_closed_here(session, now);
            }
        }
    }

    /// The server side of STARTTLS. Nothing the client sent is read between the positive
    /// reply and the handshake: the engine asks for both in one go. Fault rules on `tls` act
    /// first (what they write goes out in plaintext).
    async fn start_tls(&mut self, session: usize) {
        let tls_plan = self.session_faults[session]
            .as_mut()
            .filter(|f| !f.silenced)
            .map(|f| f.conn.on_tls());
        if let Some(plan) = tls_plan {
            let then = self.write_plan(session, plan).await;
            if then != Then::Continue {
                self.then(session, then).await;
                let now = self.now();
                self.engine.handle_tls_failed(
                    session,
                    "a fault rule ended the connection before the handshake",
                    now,
                );
                return;
            }
        }
        let Some(Stream::Plain(tcp)) = self.connections[session].take() else {
            // Already encrypted or closed: the engine's check at `@starttls` reports it.
            let now = self.now();
            self.engine.handle_closed(session, now);
            return;
        };
        let result = handshake(&self.tls, tcp, self.io_timeout).await;
        let now = self.now();
        match result {
            Ok(stream) => {
                self.connections[session] = Some(stream);
                self.engine.handle_tls_started(session, now);
            }
            Err(reason) => self.engine.handle_tls_failed(session, &reason, now),
        }
    }

    /// Waits for a connection, bytes or a close on any connection, or the engine's next
    /// deadline.
    async fn wait(&mut self) -> Event {
        let ready = wait_any(&self.engine, self.start, &mut self.connections, &mut self.buf);
        let arrivals = &mut self.arrivals;
        let arrival = async {
            match arrivals.recv().await {
                Some(arrival) => arrival,
                // Every accept task has ended: no more connections can come.
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            arrival = arrival => Event::Arrived(arrival),
            ready = ready => Event::Ready(ready),
        }
    }
}
