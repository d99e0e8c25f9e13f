//! A running set of fake mail servers sharing one store: what `mailrig serve` and the `Rig`
//! test API start.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use mailrig_fault::{FaultSet, Rule};
use mailrig_store::Store;
use mailrig_transcript::Transcript;
use mailrig_transcript::scenario::Protocol;
use tokio::sync::Notify;
use tokio_rustls::TlsAcceptor;

use crate::conn::Limits;
use crate::imap::{ImapOptions, imap_factory};
use crate::listen::{Bound, ListenerSpec, Listeners, Shared};
use crate::recorder::Recordings;
use crate::smtp::{SmtpOptions, smtp_factory};
use crate::tls::{Identity, TlsError};

/// Where TLS material comes from.
#[derive(Debug, Clone, Default)]
pub enum TlsSetting {
    /// Generate a CA and a `localhost` certificate at start (the default).
    #[default]
    Generate,
    /// Use this identity (e.g. loaded from PEM files, or shared between servers).
    Identity(Identity),
    /// No TLS: STARTTLS is not offered and implicit-TLS listeners cannot start.
    Off,
}

/// What to start.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Listeners to start, each on its address (port 0 picks a free port).
    pub listeners: Vec<(Protocol, SocketAddr)>,
    /// TLS material.
    pub tls: TlsSetting,
    /// SMTP behaviour shared by the SMTP listeners.
    pub smtp: SmtpOptions,
    /// IMAP behaviour shared by the IMAP listeners.
    pub imap: ImapOptions,
    /// Per-connection limits.
    pub limits: Limits,
    /// Connections per listener.
    pub max_connections: usize,
    /// The mail store the servers share.
    pub store: Store,
    /// Keep the transcripts of at most this many recent sessions (`None`: every session).
    pub keep_transcripts: Option<usize>,
    /// Keep at most this many bytes per direction of each session's transcript (`None`:
    /// every byte); the rest is counted, and the printed transcript says how much was left
    /// out. Default [`DEFAULT_BYTE_LIMIT`](crate::recorder::DEFAULT_BYTE_LIMIT), 4 MiB.
    pub transcript_byte_limit: Option<u64>,
    /// Fault rules applied to every connection (empty: none, and no cost per reply).
    pub faults: Vec<Rule>,
    /// The seed for random fault rules that name none (`None`: one from the clock, logged and
    /// available from [`Server::faults`]).
    pub fault_seed: Option<u64>,
}

impl ServerConfig {
    /// Every service (SMTP and IMAP) on 127.0.0.1 with a free port, TLS generated, default behaviour.
    pub fn loopback(store: Store) -> ServerConfig {
        let any = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        ServerConfig {
            listeners: Protocol::ALL.iter().map(|s| (*s, any)).collect(),
            tls: TlsSetting::Generate,
            smtp: SmtpOptions::default(),
            imap: ImapOptions::default(),
            limits: Limits::default(),
            max_connections: 1000,
            store,
            keep_transcripts: None,
            transcript_byte_limit: Some(crate::recorder::DEFAULT_BYTE_LIMIT),
            faults: Vec::new(),
            fault_seed: None,
        }
    }
}

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// TLS material could not be made or loaded.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// A listener could not bind.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// An implicit-TLS listener was asked for with TLS off.
    #[error("the {0} listener needs TLS, but TLS is off")]
    NeedsTls(&'static str),
}

/// Running servers. Dropping it without [`Server::shutdown`] aborts the connections.
#[derive(Debug)]
pub struct Server {
    listeners: Listeners,
    faults: Option<Arc<FaultSet>>,
    identity: Option<Identity>,
    store: Store,
    recordings: Recordings,
    delivered: Arc<Notify>,
}

impl Server {
    /// Binds every listener and starts serving.
    pub async fn start(config: ServerConfig) -> Result<Server, ServerError> {
        let identity = match config.tls {
            TlsSetting::Generate => Some(Identity::shared()?),
            TlsSetting::Identity(identity) => Some(identity),
            TlsSetting::Off => None,
        };
        let tls = match &identity {
            Some(identity) => Some(TlsAcceptor::from(identity.server_config()?)),
            None => None,
        };
        let recordings =
            Recordings::with_limit(config.keep_transcripts).with_byte_limit(config.transcript_byte_limit);
        let faults = (!config.faults.is_empty()).then(|| {
            let seed = config.fault_seed.unwrap_or_else(clock_seed);
            let set = FaultSet::new(config.faults.clone(), seed);
            tracing::info!("{}", set.describe());
            Arc::new(set)
        });
        let delivered = Arc::new(Notify::new());
        let mut specs = Vec::new();
        for (protocol, addr) in &config.listeners {
            if protocol.implicit_tls() && tls.is_none() {
                return Err(ServerError::NeedsTls(protocol.keyword()));
            }
            let factory = if protocol.is_imap() {
                imap_factory(
                    *protocol,
                    &config.imap,
                    config.store.clone(),
                    tls.is_some(),
                    faults.clone(),
                )
            } else {
                smtp_factory(
                    *protocol,
                    &config.smtp,
                    config.store.clone(),
                    tls.is_some(),
                    delivered.clone(),
                    faults.clone(),
                )
            };
            specs.push(ListenerSpec {
                name: protocol.keyword(),
                addr: *addr,
                protocol: *protocol,
                factory,
            });
        }
        let shared = Shared {
            tls,
            limits: config.limits,
            max_connections: config.max_connections,
            recordings: recordings.clone(),
        };
        let listeners = Listeners::start(specs, shared).await?;
        Ok(Server {
            listeners,
            faults,
            identity,
            store: config.store,
            recordings,
            delivered,
        })
    }

    /// The bound listeners.
    pub fn listeners(&self) -> &[Bound] {
        self.listeners.bound()
    }

    /// The address of one listener, if it runs.
    pub fn addr(&self, protocol: Protocol) -> Option<SocketAddr> {
        self.listeners
            .bound()
            .iter()
            .find(|b| b.name == protocol.keyword())
            .map(|b| b.addr)
    }

    /// The CA certificate clients should trust (PEM), when TLS is on.
    pub fn ca_pem(&self) -> Option<&str> {
        self.identity.as_ref().map(Identity::ca_pem)
    }

    /// The fault rules in force (seeds filled in), if any; print
    /// [`FaultSet::describe`] so a random run can be repeated.
    pub fn faults(&self) -> Option<&FaultSet> {
        self.faults.as_deref()
    }

    /// The shared mail store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Notified (`notify_waiters`) after every message an SMTP session accepted and stored.
    pub fn delivered(&self) -> &Arc<Notify> {
        &self.delivered
    }

    /// The recordings handle; it outlives [`Server::shutdown`], so the goodbyes of the last
    /// sessions can be read after it.
    pub fn recordings(&self) -> &Recordings {
        &self.recordings
    }

    /// Every connection so far, recorded.
    pub fn transcript(&self) -> Transcript {
        self.recordings.transcript()
    }

    /// Says goodbye to every session (421, `* BYE`), closes the listeners and waits up to `grace`.
    pub async fn shutdown(self, grace: Duration) {
        self.listeners.shutdown(grace).await;
    }
}

/// A seed for random fault rules when none was given: the clock's nanoseconds.
fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Shared so that the many servers a test suite starts reuse one generated identity.
pub(crate) fn shared_identity() -> Result<Identity, TlsError> {
    static IDENTITY: std::sync::OnceLock<Identity> = std::sync::OnceLock::new();
    if let Some(identity) = IDENTITY.get() {
        return Ok(identity.clone());
    }
    let identity = Identity::generate()?;
    Ok(IDENTITY.get_or_init(|| identity).clone())
}

impl Identity {
    /// One generated identity per process, made on first use and reused after (generating
    /// keys is the slowest part of starting a server).
    pub fn shared() -> Result<Identity, TlsError> {
        shared_identity()
    }
}
