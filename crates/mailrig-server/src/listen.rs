//! Listeners: bind, accept, and run one recorded session per connection until shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use mailrig_transcript::scenario;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tracing::Instrument;

use crate::conn::{self, Connection, Limits, Protocol};
use crate::recorder::{Recorder, Recordings};

/// Makes the session for a new connection.
pub type SessionFactory = Arc<dyn Fn(&Recorder) -> Box<dyn Protocol> + Send + Sync>;

/// One listening socket and how to serve it.
#[derive(Clone)]
pub struct ListenerSpec {
    /// The key used in ready files and `Server::addr`: `smtp`, `submission`, `smtps`, ...
    pub name: &'static str,
    /// The address to bind; port 0 picks a free port.
    pub addr: SocketAddr,
    /// The protocol it serves, recorded for its sessions.
    pub protocol: scenario::Protocol,
    /// Makes each connection's session.
    pub factory: SessionFactory,
}

impl std::fmt::Debug for ListenerSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListenerSpec")
            .field("name", &self.name)
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// Settings shared by every listener of a server.
#[derive(Clone)]
pub struct Shared {
    /// TLS for STARTTLS and implicit-TLS listeners; `None` turns TLS off.
    pub tls: Option<TlsAcceptor>,
    /// Per-connection limits.
    pub limits: Limits,
    /// At most this many connections at once, per listener; more are greeted with a goodbye.
    pub max_connections: usize,
    /// Where transcripts go.
    pub recordings: Recordings,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("tls", &self.tls.is_some())
            .field("limits", &self.limits)
            .field("max_connections", &self.max_connections)
            .finish_non_exhaustive()
    }
}

/// A bound listener, accepting in the background.
#[derive(Debug)]
pub struct Bound {
    /// Its name (`smtp`, ...).
    pub name: &'static str,
    /// The address it actually listens on.
    pub addr: SocketAddr,
}

/// The listeners of one server and their connections.
#[derive(Debug)]
pub struct Listeners {
    bound: Vec<Bound>,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Listeners {
    /// Binds every listener, then starts accepting. Fails if any address cannot be bound.
    pub async fn start(specs: Vec<ListenerSpec>, shared: Shared) -> std::io::Result<Listeners> {
        let (shutdown, _) = watch::channel(false);
        let mut sockets = Vec::new();
        for spec in specs {
            let listener = bind(spec.addr).map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!("cannot listen on {} for {}: {e}", spec.addr, spec.name),
                )
            })?;
            sockets.push((listener, spec));
        }
        let mut tasks = JoinSet::new();
        let mut bound = Vec::new();
        for (listener, spec) in sockets {
            bound.push(Bound {
                name: spec.name,
                addr: listener.local_addr()?,
            });
            let accept = accept_loop(listener, spec, shared.clone(), shutdown.subscribe());
            tasks.spawn(accept);
        }
        Ok(Listeners {
            bound,
            shutdown,
            tasks,
        })
    }

    /// The bound listeners, in the order they were given.
    pub fn bound(&self) -> &[Bound] {
        &self.bound
    }

    /// Stops accepting, asks every session to say goodbye, and waits (at most `grace`) for
    /// connections to close.
    pub async fn shutdown(mut self, grace: Duration) {
        let _ = self.shutdown.send(true);
        let _ = tokio::time::timeout(grace, async { while self.tasks.join_next().await.is_some() {} }).await;
        self.tasks.abort_all();
    }
}

/// Accept-queue length: `TcpListener::bind` asks for only 128 (mio passes `SOMAXCONN` from
/// libc), so a burst of connects (a client pool opening, a benchmark) overflows it and each
/// dropped SYN costs the client a one-second retransmission. The kernel caps this at
/// `net.core.somaxconn`.
const BACKLOG: u32 = 4096;

/// Binds like `TcpListener::bind` (with `SO_REUSEADDR`), with a longer accept queue.
fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

async fn accept_loop(
    listener: TcpListener,
    spec: ListenerSpec,
    shared: Shared,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(shared.max_connections));
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (socket, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(listener = spec.name, error = %e, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                };
                serve(socket, peer, &spec, &shared, &slots, stop.clone(), &mut connections);
            }
            _ = stop.changed() => break,
        }
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

fn serve(
    socket: tokio::net::TcpStream,
    peer: SocketAddr,
    spec: &ListenerSpec,
    shared: &Shared,
    slots: &Arc<Semaphore>,
    stop: watch::Receiver<bool>,
    connections: &mut JoinSet<()>,
) {
    let recorder = shared.recordings.begin(spec.protocol);
    let mut session = (spec.factory)(&recorder);
    let permit = slots.clone().try_acquire_owned().ok();
    if permit.is_none() {
        tracing::warn!(listener = spec.name, %peer, "too many connections; refusing");
        session.shutdown();
    }
    let mut limits = shared.limits;
    if spec.protocol.is_imap() {
        limits.idle_timeout = limits.imap_idle_timeout;
    }
    // Per connection, only `debug` (RUST_LOG=debug): at the default `info` the span is off, so
    // a connection pays neither for formatting its fields nor for lines no one needs; a
    // connection that ends in an error is still logged at `info`, with the same fields.
    let span = tracing::debug_span!("session", name = %recorder.name(), listener = spec.name, %peer);
    let listener = spec.name;
    let named = recorder.clone();
    let conn = Connection {
        socket,
        tls: shared.tls.clone(),
        implicit_tls: spec.protocol.implicit_tls(),
        recorder,
        limits,
        shutdown: stop,
        hook: session.fault_hook(),
    };
    connections.spawn(
        async move {
            tracing::debug!("connected");
            match conn::drive(conn, session.as_mut()).await {
                Ok(()) => tracing::debug!("closed"),
                Err(e) => {
                    tracing::info!(name = %named.name(), listener, %peer, error = %e, "connection ended")
                }
            }
            drop(permit);
        }
        .instrument(span),
    );
}
