//! The listeners of a replay: which sessions each protocol's connections become, one accept
//! task per listener, and implicit TLS at accept.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use mailrig_transcript::scenario::{Protocol, Scenario};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::stream::Stream;

/// One bound listener and the sessions its connections become, in order.
pub(super) struct Bound {
    pub(super) protocol: Protocol,
    pub(super) addr: SocketAddr,
    /// Shared when the caller keeps it for later replays ([`super::ReplayConfig::bound`]).
    pub(super) listener: Arc<TcpListener>,
    pub(super) sessions: Vec<usize>,
}

/// A connection that arrived: the session it is assigned to (`None`: one too many), and the
/// stream, or why its implicit TLS handshake failed.
pub(super) struct Arrival {
    pub(super) protocol: Protocol,
    pub(super) session: Option<usize>,
    pub(super) stream: Result<Stream, String>,
}

/// Per protocol the scenario uses (in [`Protocol::ALL`] order), its sessions in the order
/// connections are assigned to them: by first line in the file, then sessions without lines
/// in header order.
pub(super) fn plan(scenario: &Scenario) -> Vec<(Protocol, Vec<usize>)> {
    let mut order: Vec<usize> = Vec::new();
    for step in scenario.steps() {
        if !order.contains(&step.session) {
            order.push(step.session);
        }
    }
    for index in 0..scenario.sessions().len() {
        if !order.contains(&index) {
            order.push(index);
        }
    }
    Protocol::ALL
        .into_iter()
        .map(|protocol| {
            let sessions = order
                .iter()
                .copied()
                .filter(|i| scenario.sessions()[*i].protocol == protocol)
                .collect::<Vec<_>>();
            (protocol, sessions)
        })
        .filter(|(_, sessions)| !sessions.is_empty())
        .collect()
}

/// Starts one accept task per listener; every connection is reported on the channel.
/// Dropping the set (or aborting its tasks) closes the listeners, unless the caller keeps
/// them ([`super::ReplayConfig::bound`]).
pub(super) fn spawn(
    bound: Vec<Bound>,
    tls: TlsAcceptor,
    handshake_timeout: Duration,
) -> (mpsc::UnboundedReceiver<Arrival>, JoinSet<()>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut tasks = JoinSet::new();
    for b in bound {
        tasks.spawn(accept_loop(b, tls.clone(), handshake_timeout, tx.clone()));
    }
    (rx, tasks)
}

async fn accept_loop(bound: Bound, tls: TlsAcceptor, limit: Duration, tx: mpsc::UnboundedSender<Arrival>) {
    let mut next = 0;
    loop {
        let tcp = match bound.listener.accept().await {
            Ok((tcp, _)) => tcp,
            Err(_) => {
                // Out of file descriptors or a connection reset before accept: try again
                // shortly rather than spin.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let session = bound.sessions.get(next).copied();
        next += 1;
        let protocol = bound.protocol;
        if session.is_none() || !protocol.implicit_tls() {
            let arrival = Arrival {
                protocol,
                session,
                stream: Ok(Stream::Plain(tcp)),
            };
            if tx.send(arrival).is_err() {
                return;
            }
            continue;
        }
        // In its own task, so a client that never finishes its handshake delays nobody.
        let (tls, tx) = (tls.clone(), tx.clone());
        tokio::spawn(async move {
            let stream = handshake(&tls, tcp, limit).await;
            let _ = tx.send(Arrival {
                protocol,
                session,
                stream,
            });
        });
    }
}

/// The server side of a TLS handshake, with a deadline.
pub(super) async fn handshake(tls: &TlsAcceptor, tcp: TcpStream, limit: Duration) -> Result<Stream, String> {
    match tokio::time::timeout(limit, tls.accept(tcp)).await {
        Ok(Ok(stream)) => Ok(Stream::Server(Box::new(stream))),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!(
            "it did not finish within {}",
            mailrig_transcript::scenario::format_duration(limit)
        )),
    }
}
