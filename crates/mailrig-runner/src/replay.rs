//! Replay: the scenario engine's server role over sockets. [`Replay::start`] listens on one
//! port per protocol the scenario's sessions use, serves each session to the client
//! connection assigned to it (it sends the `S:` lines and checks the client's bytes against
//! the `C:` lines, with implicit TLS, STARTTLS and exact write boundaries), and
//! [`Replay::finish`] gives the engine's verdict and the transcript.
//!
//! **Which connection is which session.** Per protocol, in connect order: the first
//! connection to the `imap` listener is the `imap` session whose first line comes first in
//! the file, the second connection the next such session, and so on (sessions with no lines
//! come last, in header order). A connection beyond the last session of its protocol is
//! closed at once and fails the run (a divergence of the client, never a hang).
//!
//! **Time.** The engine's clock starts with the first connection: until then the replay waits
//! up to [`ReplayConfig::connect_timeout`] (a person may still be starting the client). After
//! it, every wait has the engine's deadlines ([`ReplayConfig::receive_timeout`], `@within`),
//! and every handshake and write the receive timeout. When the run is decided the listeners
//! and connections close.
//!
//! **Faults.** The scenario's `faults:` rules, and those given to
//! [`Replay::start_with_faults`], act on the replay's own writes as they do on mailrig's model
//! servers (docs/faults.md): keyed by the step the `S:` lines answer, which the engine names
//! from the client's bytes before them. The verdict is still judged on what the client sends:
//! a rule that changes what the client hears usually makes it diverge, and the report shows
//! how.

use std::collections::BTreeMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use mailrig_server::fault::{FaultSet, Rule};
use mailrig_server::tls::{Identity, TlsError};
use mailrig_transcript::engine::{Engine, EngineConfig, EngineError};
use mailrig_transcript::scenario::{Protocol, Role, Scenario};
use mailrig_transcript::{Report, Transcript};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

mod accept;
mod driver;
mod faults;

pub use faults::known_verb;

/// How to run a replay.
#[derive(Debug, Clone)]
pub struct ReplayConfig {
    /// Where to listen, per protocol. A protocol the scenario uses that is not listed listens
    /// on 127.0.0.1 with a free port; listing one it does not use is an error.
    pub listen: Vec<(Protocol, SocketAddr)>,
    /// Listeners already bound, per protocol, used instead of binding new ones (and left open
    /// when the replay ends): a caller running many replays one after another (the fuzzing
    /// harness) binds once, since binding a fresh port per replay costs more than the replay
    /// itself once thousands of closed connections wait out TIME_WAIT. Only one replay may
    /// use a listener at a time; ones for protocols the scenario does not use are left alone.
    pub bound: Vec<(Protocol, Arc<TcpListener>)>,
    /// The TLS identity for implicit TLS and STARTTLS; `None`: the generated one (a test CA
    /// and a `localhost` certificate, one per process).
    pub identity: Option<Identity>,
    /// The run's variables; they override the scenario's `vars:`.
    pub vars: BTreeMap<String, String>,
    /// How long to wait for the client at each step (and for each handshake and write).
    pub receive_timeout: Duration,
    /// How long to wait for the first connection.
    pub connect_timeout: Duration,
    /// How many bytes a client may send on one session beyond what the replay has read, on
    /// top of what the scenario expects from it there ([`EngineConfig::max_unread`]); past it
    /// the run fails as a divergence and the connection is closed.
    pub max_unread: usize,
}

impl Default for ReplayConfig {
    /// Loopback listeners on free ports, the generated identity, no variables, 5 s per
    /// step, 30 s for the first connection.
    fn default() -> ReplayConfig {
        ReplayConfig {
            listen: Vec::new(),
            bound: Vec::new(),
            identity: None,
            vars: BTreeMap::new(),
            receive_timeout: EngineConfig::default().receive_timeout,
            connect_timeout: Duration::from_secs(30),
            max_unread: EngineConfig::default().max_unread,
        }
    }
}

/// Why a replay could not start or be carried out (a divergence is in the [`Report`]).
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The scenario is `plays: client`: it tests servers.
    #[error(
        "this scenario declares `plays: client` (it tests servers), so mailrig cannot play its server side; replay needs `plays: server`, `plays: both` or no `plays:`"
    )]
    ClientOnly,
    /// The engine refused the scenario (a variable it needs is not set, a line that cannot
    /// be rendered) or could not carry out the run.
    #[error(transparent)]
    Engine(EngineError),
    /// A listen address was given for a protocol no session of the scenario uses.
    #[error("the scenario has no `{0}` session to listen for")]
    UnusedProtocol(&'static str),
    /// A listener could not be opened.
    #[error("cannot listen for `{protocol}` on {addr}: {source}")]
    Bind {
        /// The protocol's keyword.
        protocol: &'static str,
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
    /// The TLS identity could not be made.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// No client connected within [`ReplayConfig::connect_timeout`].
    #[error("no client connected within {}", mailrig_transcript::scenario::format_duration(*.0))]
    NoClient(Duration),
    /// A rule of the scenario's `faults:` does not parse (each message with its position).
    #[error("{}", .0.join("\n"))]
    Faults(Vec<String>),
    /// The replay task ended without a result (it panicked or was cancelled).
    #[error("the replay stopped unexpectedly: {0}")]
    Stopped(String),
}

impl From<EngineError> for ReplayError {
    fn from(e: EngineError) -> ReplayError {
        match e {
            EngineError::WrongRole { .. } => ReplayError::ClientOnly,
            other => ReplayError::Engine(other),
        }
    }
}

/// What a replay produced.
#[derive(Debug, Clone)]
pub struct Replayed {
    /// The verdicts: passed when the client followed the script.
    pub report: Report,
    /// Every byte exchanged, per session, with times since the first connection; mailrig's
    /// writes keep their boundaries (one data event per write).
    pub transcript: Transcript,
}

/// A running replay; see the module documentation. Dropping it stops the replay.
#[derive(Debug)]
pub struct Replay {
    listeners: Vec<(Protocol, SocketAddr)>,
    ca_pem: String,
    faults: Option<Arc<FaultSet>>,
    task: Option<JoinHandle<Result<Replayed, ReplayError>>>,
}

impl Replay {
    /// Checks that mailrig can play the server side of `scenario`, opens its listeners and
    /// starts serving in a task. Literal files must have been loaded
    /// ([`Scenario::load_literals`]).
    /// The scenario's own `faults:` rules apply (random ones without a seed get 0).
    pub async fn start(scenario: Scenario, config: ReplayConfig) -> Result<Replay, ReplayError> {
        Replay::start_with_faults(scenario, config, Vec::new(), 0).await
    }

    /// [`Replay::start`] with fault rules on the replay's own writes: the scenario's
    /// `faults:` and then `rules`; random rules without a seed of their own get `seed`.
    pub async fn start_with_faults(
        scenario: Scenario,
        config: ReplayConfig,
        rules: Vec<Rule>,
        seed: u64,
    ) -> Result<Replay, ReplayError> {
        let mut all =
            crate::faults::scenario_faults(&scenario, &scenario.header.name).map_err(ReplayError::Faults)?;
        all.extend(rules);
        let faults = (!all.is_empty()).then(|| Arc::new(FaultSet::new(all, seed)));
        let engine_config = EngineConfig {
            receive_timeout: config.receive_timeout,
            max_unread: config.max_unread,
        };
        let plan = accept::plan(&scenario);
        let engine = Engine::new(scenario, Role::Server, &config.vars, engine_config)?;
        let identity = match config.identity {
            Some(identity) => identity,
            None => Identity::shared()?,
        };
        let tls = TlsAcceptor::from(identity.server_config()?);
        let bound = bind(&plan, &config.listen, &config.bound).await?;
        let listeners = bound.iter().map(|b| (b.protocol, b.addr)).collect();
        let (arrivals, acceptors) = accept::spawn(bound, tls.clone(), config.receive_timeout);
        let driver = driver::Driver::new(
            engine,
            arrivals,
            acceptors,
            tls,
            config.receive_timeout,
            faults.clone(),
        );
        let task = tokio::spawn(driver.run(config.connect_timeout));
        Ok(Replay {
            listeners,
            ca_pem: identity.ca_pem().to_owned(),
            faults,
            task: Some(task),
        })
    }

    /// The fault rules in force (seeds filled in; print [`FaultSet::describe`] so a run can
    /// be repeated), if there are any.
    pub fn faults(&self) -> Option<&FaultSet> {
        self.faults.as_deref()
    }

    /// Every listener: the protocol and the address it is bound to.
    pub fn listeners(&self) -> &[(Protocol, SocketAddr)] {
        &self.listeners
    }

    /// The address of the `protocol` listener, if the scenario has such sessions.
    pub fn addr(&self, protocol: Protocol) -> Option<SocketAddr> {
        self.listeners
            .iter()
            .find(|(p, _)| *p == protocol)
            .map(|(_, addr)| *addr)
    }

    /// The CA certificate (PEM) clients must trust for implicit TLS and STARTTLS.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Waits for the run to be decided (the scenario's last step, the first divergence, or a
    /// deadline) and returns the verdict and the transcript.
    pub async fn finish(mut self) -> Result<Replayed, ReplayError> {
        let Some(task) = self.task.take() else {
            return Err(ReplayError::Stopped("already finished".to_owned()));
        };
        match task.await {
            Ok(result) => result,
            Err(e) => Err(ReplayError::Stopped(e.to_string())),
        }
    }
}

impl Drop for Replay {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// One listener per protocol of `plan`: the one given in `given`, or one bound at its address
/// in `listen` or on 127.0.0.1 with a free port.
async fn bind(
    plan: &[(Protocol, Vec<usize>)],
    listen: &[(Protocol, SocketAddr)],
    given: &[(Protocol, Arc<TcpListener>)],
) -> Result<Vec<accept::Bound>, ReplayError> {
    if let Some((unused, _)) = listen.iter().find(|(p, _)| plan.iter().all(|(q, _)| q != p)) {
        return Err(ReplayError::UnusedProtocol(unused.keyword()));
    }
    let mut bound = Vec::new();
    for (protocol, sessions) in plan {
        if let Some((_, listener)) = given.iter().find(|(p, _)| p == protocol) {
            let error = |source| ReplayError::Bind {
                protocol: protocol.keyword(),
                addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
                source,
            };
            bound.push(accept::Bound {
                protocol: *protocol,
                addr: listener.local_addr().map_err(error)?,
                listener: listener.clone(),
                sessions: sessions.clone(),
            });
            continue;
        }
        let addr = listen
            .iter()
            .rev()
            .find(|(p, _)| p == protocol)
            .map_or(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), |(_, a)| *a);
        let error = |source| ReplayError::Bind {
            protocol: protocol.keyword(),
            addr,
            source,
        };
        let listener = TcpListener::bind(addr).await.map_err(error)?;
        bound.push(accept::Bound {
            protocol: *protocol,
            addr: listener.local_addr().map_err(error)?,
            listener: Arc::new(listener),
            sessions: sessions.clone(),
        });
    }
    Ok(bound)
}
