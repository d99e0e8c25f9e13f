//! `mailrig record`: a transparent proxy between a real client and a real server that writes
//! what passes as a scenario file (reference for users: docs/record.md).
//!
//! Each accepted connection is proxied to the upstream (`proxy`), with TLS terminated on
//! both sides (implicit TLS, or at the point STARTTLS succeeds, `starttls`); every forwarded
//! write goes through a bounded channel to one writer thread, which turns it into scenario
//! lines ([`recorder`], [`assemble`]), redacts credentials (`credentials`) and appends them
//! to the file ([`mod@file`]), so the file on disk is valid after every write.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use mailrig_server::tls::Identity;
use mailrig_transcript::scenario::Protocol;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::target::{Endpoint, TargetError, Trust};

pub mod assemble;
mod credentials;
pub mod file;
mod generalize;
mod proxy;
pub mod recorder;
mod starttls;

pub use credentials::auth_plain;
pub use file::ScenarioFile;
pub use recorder::{Recorder, RecorderOptions};

use proxy::{Event, Shared};

/// What to record and where.
#[derive(Debug, Clone)]
pub struct RecordConfig {
    /// Where clients connect (loopback by default in the CLI).
    pub listen: SocketAddr,
    /// The protocol of the upstream, which is also every session's.
    pub protocol: Protocol,
    /// The real server.
    pub upstream: Endpoint,
    /// How the upstream's certificate is checked.
    pub trust: Trust,
    /// The certificate shown to clients.
    pub identity: Identity,
    /// The scenario file to write.
    pub out: PathBuf,
    /// Comments for the top of the file.
    pub comments: Vec<String>,
    /// Replace credentials with variables.
    pub redact: bool,
    /// Replace volatile values with captures and holes.
    pub generalize: bool,
    /// The limit on each connect, handshake and write.
    pub timeout: Duration,
}

/// Why a recording could not start or could not be written.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The `--upstream` URL is not usable.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// A TLS configuration could not be built.
    #[error("TLS configuration: {0}")]
    Tls(String),
    /// The scenario file or a literal file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The scenario file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// Parses an `--upstream` URL: `smtp://`, `submission://`, `smtps://`, `imap://` or `imaps://`
/// followed by `HOST:PORT`.
pub fn parse_upstream(url: &str) -> Result<(Protocol, Endpoint), TargetError> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| TargetError::Malformed(url.to_owned()))?;
    let protocol =
        Protocol::from_keyword(&scheme.to_ascii_lowercase()).ok_or_else(|| TargetError::Scheme {
            url: url.to_owned(),
            expected: "smtp://, submission://, smtps://, imap:// or imaps://",
        })?;
    let as_target = match protocol {
        Protocol::Submission => format!("smtp://{rest}"),
        _ => url.to_owned(),
    };
    Ok((protocol, Endpoint::parse(&as_target, protocol)?))
}

/// What a finished recording wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Sessions (connections) recorded.
    pub sessions: usize,
    /// Literal files written beside the scenario.
    pub literal_files: usize,
}

/// A bound recording proxy, not yet accepting.
#[derive(Debug)]
pub struct Recording {
    listener: TcpListener,
    config: RecordConfig,
}

impl Recording {
    /// Binds the listen address.
    pub async fn bind(config: RecordConfig) -> Result<Recording, RecordError> {
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| RecordError::Bind {
                addr: config.listen,
                source,
            })?;
        Ok(Recording { listener, config })
    }

    /// The address clients connect to.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or(self.config.listen)
    }

    /// Proxies and records until `stop` completes (Ctrl-C in the CLI), then closes every
    /// connection and finishes the file.
    pub async fn run(self, stop: impl std::future::Future<Output = ()>) -> Result<Summary, RecordError> {
        let config = self.config;
        let connector = TlsConnector::from(config.trust.client_config().map_err(RecordError::Tls)?);
        let server_config = config
            .identity
            .server_config()
            .map_err(|e| RecordError::Tls(e.to_string()))?;
        let (events, receive) = mpsc::channel(256);
        let shared = Arc::new(Shared {
            protocol: config.protocol,
            upstream: config.upstream.clone(),
            connector,
            acceptor: TlsAcceptor::from(server_config),
            timeout: config.timeout,
            events: events.clone(),
        });
        let options = RecorderOptions {
            name: scenario_name(&config.out),
            comments: config.comments.clone(),
            protocol: config.protocol,
            redact: config.redact,
            generalize: config.generalize,
        };
        let out = config.out.clone();
        let writer =
            std::thread::spawn(move || write_events(receive, Recorder::new(options), ScenarioFile::new(out)));
        accept(&self.listener, shared, &events, stop).await;
        drop(events);
        writer
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the writer thread panicked")))
            .map_err(|source| RecordError::Write {
                path: config.out.display().to_string(),
                source,
            })
    }
}

/// Accepts connections until `stop`; each becomes the next session.
async fn accept(
    listener: &TcpListener,
    shared: Arc<Shared>,
    events: &mpsc::Sender<Event>,
    stop: impl std::future::Future<Output = ()>,
) {
    let mut connections = JoinSet::new();
    let mut next = 0;
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => {
                let (client, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors and the like: say so, and do not spin.
                        tracing::warn!("cannot accept a connection: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        continue;
                    }
                };
                tracing::info!("s{}: connection from {peer}", next + 1);
                if events.send(Event::Open).await.is_err() {
                    break;
                }
                connections.spawn(proxy::proxy(shared.clone(), next, client));
                next += 1;
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
}

/// The writer thread: events to scenario text to the file, flushed after each event.
fn write_events(
    mut receive: mpsc::Receiver<Event>,
    mut recorder: Recorder,
    mut file: ScenarioFile,
) -> std::io::Result<Summary> {
    let mut sessions = 0;
    while let Some(event) = receive.blocking_recv() {
        match event {
            Event::Open => {
                recorder.open();
                sessions += 1;
            }
            Event::Data(session, side, bytes) => recorder.data(session, side, &bytes, &mut file),
            Event::TlsStarted(session) => recorder.tls_started(session, &mut file),
            Event::Closed(session, by) => recorder.closed(session, by, &mut file),
            Event::Note(session, text) => recorder.note(&format!("s{}: {text}", session + 1)),
        }
        let header = recorder.take_header();
        let body = recorder.take_text();
        file.write(header.as_deref(), &body)?;
    }
    recorder.finish(&mut file);
    let body = recorder.take_text();
    file.write(None, &body)?;
    Ok(Summary {
        sessions,
        literal_files: file.literal_files(),
    })
}

/// The file's stem, as a scenario name (`bug` for `bug.scenario`).
fn scenario_name(out: &std::path::Path) -> String {
    let stem = out
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    let name: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if name.is_empty() {
        "recording".to_owned()
    } else {
        name
    }
}
