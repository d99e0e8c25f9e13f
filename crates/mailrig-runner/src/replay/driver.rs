//! The loop of a replay: connections arrive from the accept tasks and are handed to their
//! sessions, the client's bytes go to the engine, and the engine's transmits go out (one
//! write per [`Transmit::Data`], the server side of STARTTLS, closes), until the engine has
//! decided the run.

use std::time::Duration;

use mailrig_transcript::engine::{Engine, Transmit};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

use super::accept::{Arrival, handshake};
use super::{ReplayError, Replayed};
use crate::stream::{Readiness, Stream, poll_read_any, shutdown};

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
}

/// What happened while the engine waited.
enum Event {
    Arrived(Arrival),
    Read(usize, Vec<u8>),
    Closed(usize),
    Timer,
}

impl Driver {
    pub(super) fn new(
        engine: Engine,
        arrivals: mpsc::UnboundedReceiver<Arrival>,
        acceptors: JoinSet<()>,
        tls: TlsAcceptor,
        io_timeout: Duration,
    ) -> Driver {
        let connections = (0..engine.scenario().sessions().len()).map(|_| None).collect();
        Driver {
            engine,
            arrivals,
            acceptors,
            tls,
            connections,
            start: Instant::now(),
            io_timeout,
            buf: vec![0u8; 64 * 1024],
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
        self.acceptors.abort_all();
        self.arrivals.close();
        for stream in self.connections.iter_mut().filter_map(Option::take) {
            drop(tokio::time::timeout(Duration::from_millis(100), shutdown(stream)).await);
        }
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
            while let Some(transmit) = self.engine.poll_transmit() {
                self.transmit(transmit).await;
            }
            if self.engine.is_finished() {
                break;
            }
            match self.wait().await {
                Event::Arrived(arrival) => self.arrived(arrival).await,
                Event::Read(session, bytes) => {
                    let now = self.now();
                    self.engine.handle_received(session, &bytes, now);
                }
                Event::Closed(session) => {
                    self.connections[session] = None;
                    let now = self.now();
                    self.engine.handle_closed(session, now);
                }
                Event::Timer => {
                    let now = self.now();
                    self.engine.handle_timeout(now);
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
                self.connections[session] = Some(stream);
                self.engine.handle_connected(session, now);
            }
            (Some(session), Err(reason)) => self.engine.handle_tls_failed(session, &reason, now),
        }
    }

    async fn transmit(&mut self, transmit: Transmit) {
        match transmit {
            // Only the client role connects.
            Transmit::Connect { .. } => {}
            Transmit::Data { session, bytes } => {
                let Some(stream) = self.connections[session].as_mut() else {
                    return;
                };
                // One write (and flush) per transmit: `${|}` boundaries reach the wire.
                let written = tokio::time::timeout(self.io_timeout, async {
                    stream.write_all(&bytes).await?;
                    stream.flush().await
                })
                .await;
                if !matches!(written, Ok(Ok(()))) {
                    self.connections[session] = None;
                    let now = self.now();
                    self.engine.handle_closed(session, now);
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

    /// The server side of STARTTLS. Nothing the client sent is read between the positive
    /// reply and the handshake: the engine asks for both in one go.
    async fn start_tls(&mut self, session: usize) {
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
        // An engine that waits always has a deadline; the hour is a guard, never reached.
        let deadline = self
            .engine
            .poll_timeout()
            .unwrap_or(self.now() + Duration::from_secs(3600));
        let sleep = tokio::time::sleep_until(self.start + deadline);
        let (buf, connections) = (&mut self.buf, &mut self.connections);
        let read = std::future::poll_fn(|cx| poll_read_any(cx, connections, buf));
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
            ready = read => match ready {
                Readiness::Read(session, bytes) => Event::Read(session, bytes),
                Readiness::Closed(session) => Event::Closed(session),
            },
            () = sleep => Event::Timer,
        }
    }
}
