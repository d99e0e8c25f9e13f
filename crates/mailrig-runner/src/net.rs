//! The network driver of the scenario engine: plays the client side of a scenario over TCP,
//! STARTTLS and implicit TLS, with a real clock. Every connect, handshake, write and wait has
//! a deadline, so a server that stops answering fails the step instead of hanging the run.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use mailrig_transcript::engine::{Engine, EngineConfig, EngineError, Transmit};
use mailrig_transcript::scenario::{Role, Scenario};
use mailrig_transcript::{Report, Transcript};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::{TlsConnector, rustls};

use crate::stream::{Readiness, Stream, close_all, shutdown, wait_any, write_within};
use crate::target::{Endpoint, Endpoints};

/// What one play produced.
#[derive(Debug, Clone)]
pub struct Played {
    /// Every byte exchanged, per session, with times since the start.
    pub transcript: Transcript,
    /// The verdicts.
    pub report: Report,
}

/// Why a scenario could not be played at all (a mismatch is in the [`Report`] instead).
#[derive(Debug, Clone, thiserror::Error)]
pub enum PlayError {
    /// The engine refused the scenario or could not carry it out.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A session's protocol has no endpoint.
    #[error("{0}")]
    NoEndpoint(String),
}

/// Plays `scenario` as the client against `endpoints`. TLS peers are checked with `tls`.
pub async fn play_client(
    scenario: Scenario,
    endpoints: &Endpoints,
    tls: Arc<rustls::ClientConfig>,
    vars: &BTreeMap<String, String>,
    config: EngineConfig,
) -> Result<Played, PlayError> {
    let protocols = scenario.sessions().iter().map(|s| s.protocol);
    if let Some(missing) = endpoints.missing_for(protocols) {
        return Err(PlayError::NoEndpoint(missing));
    }
    let engine = Engine::new(scenario, Role::Client, vars, config)?;
    let connections = (0..engine.scenario().sessions().len()).map(|_| None).collect();
    let mut driver = Driver {
        engine,
        endpoints,
        tls: TlsConnector::from(tls),
        connections,
        start: Instant::now(),
        io_timeout: config.receive_timeout,
        buf: vec![0u8; 64 * 1024],
    };
    driver.run().await;
    let transcript = driver.engine.transcript();
    match driver.engine.result().cloned() {
        Some(Ok(report)) => Ok(Played { transcript, report }),
        Some(Err(e)) => Err(e.into()),
        None => unreachable!("Driver::run returns only once the engine has finished"),
    }
}

struct Driver<'a> {
    engine: Engine,
    endpoints: &'a Endpoints,
    tls: TlsConnector,
    connections: Vec<Option<Stream>>,
    start: Instant,
    /// The limit on one connect, handshake or write.
    io_timeout: Duration,
    /// Where reads land (one buffer for the whole run).
    buf: Vec<u8>,
}

impl Driver<'_> {
    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    async fn run(&mut self) {
        loop {
            // Drained even once the run is decided: a scenario that ends on `C:` lines still
            // sends them.
            while let Some(transmit) = self.engine.poll_transmit() {
                self.transmit(transmit).await;
            }
            if self.engine.is_finished() {
                break;
            }
            let ready = wait_any(&self.engine, self.start, &mut self.connections, &mut self.buf).await;
            let now = self.now();
            ready.hand_to(&mut self.engine, &mut self.connections, now);
        }
        close_all(&mut self.connections).await;
    }

    async fn transmit(&mut self, transmit: Transmit) {
        match transmit {
            Transmit::Connect { session } => {
                let protocol = self.engine.scenario().sessions()[session].protocol;
                let endpoint = self.endpoints.get(protocol).cloned();
                let result = match endpoint {
                    Some(endpoint) => self.connect(&endpoint).await,
                    None => Err("no endpoint for this protocol".to_owned()),
                };
                match result {
                    Ok(stream) => {
                        self.connections[session] = Some(stream);
                        let now = self.now();
                        self.engine.handle_connected(session, now);
                    }
                    Err(reason) => self.engine.handle_connect_failed(session, reason),
                }
            }
            Transmit::Data { session, bytes } => {
                let Some(stream) = self.connections[session].as_mut() else {
                    return;
                };
                if !write_within(stream, &bytes, self.io_timeout).await {
                    let now = self.now();
                    Readiness::Closed(session).hand_to(&mut self.engine, &mut self.connections, now);
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

    async fn connect(&self, endpoint: &Endpoint) -> Result<Stream, String> {
        let address = (endpoint.host.as_str(), endpoint.port);
        let tcp = match tokio::time::timeout(self.io_timeout, TcpStream::connect(address)).await {
            Ok(Ok(tcp)) => tcp,
            Ok(Err(e)) => return Err(format!("{endpoint}: {e}")),
            Err(_) => return Err(format!("{endpoint}: no answer within {:?}", self.io_timeout)),
        };
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        if !endpoint.implicit_tls {
            return Ok(Stream::Plain(tcp));
        }
        let name = endpoint.server_name().map_err(|e| e.to_string())?;
        match tokio::time::timeout(self.io_timeout, self.tls.connect(name, tcp)).await {
            Ok(Ok(tls)) => Ok(Stream::Client(Box::new(tls))),
            Ok(Err(e)) => Err(format!("{endpoint}: TLS handshake failed: {e}")),
            Err(_) => Err(format!("{endpoint}: TLS handshake did not finish")),
        }
    }

    async fn start_tls(&mut self, session: usize) {
        let protocol = self.engine.scenario().sessions()[session].protocol;
        let Some(endpoint) = self.endpoints.get(protocol).cloned() else {
            return;
        };
        let Some(Stream::Plain(tcp)) = self.connections[session].take() else {
            // Already encrypted or closed: the engine's check at `@starttls` reports it.
            let now = self.now();
            self.engine.handle_closed(session, now);
            return;
        };
        let result = match endpoint.server_name() {
            Ok(name) => tokio::time::timeout(self.io_timeout, self.tls.connect(name, tcp))
                .await
                .map_err(|_| "the handshake did not finish".to_owned())
                .and_then(|r| r.map_err(|e| e.to_string())),
            Err(e) => Err(e.to_string()),
        };
        let now = self.now();
        match result {
            Ok(tls) => {
                self.connections[session] = Some(Stream::Client(Box::new(tls)));
                self.engine.handle_tls_started(session, now);
            }
            Err(reason) => self.engine.handle_tls_failed(session, &reason, now),
        }
    }
}
