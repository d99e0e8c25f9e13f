//! One proxied connection: connect upstream, TLS on both sides (implicit, or at STARTTLS),
//! copy bytes both ways and report each forwarded write to the recording.
//!
//! Every connect, handshake and write has a deadline; a side that closes or fails closes the
//! other. Bytes are read straight from the sockets (no read-ahead buffer), so at a STARTTLS
//! upgrade the proxy knows exactly which plaintext bytes it holds.

use std::sync::Arc;
use std::time::Duration;

use mailrig_transcript::scenario::{Protocol, Side};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use super::starttls::{ServerSays, StartTlsWatch};
use crate::stream::{Stream, write_within};
use crate::target::Endpoint;

/// The most plaintext a client may send behind STARTTLS before the reply.
const MAX_HELD: usize = 64 * 1024;

/// What a connection reports to the recording.
#[derive(Debug)]
pub(crate) enum Event {
    /// A connection was accepted (sent by the accept loop, in connect order).
    Open,
    /// Bytes one side sent that the proxy forwarded.
    Data(usize, Side, Vec<u8>),
    /// Both handshakes after STARTTLS finished.
    TlsStarted(usize),
    /// One side closed (or failed); the other was closed too.
    Closed(usize, Side),
    /// Something the file should say in a comment.
    Note(usize, String),
}

/// What every connection shares.
pub(crate) struct Shared {
    pub(crate) protocol: Protocol,
    pub(crate) upstream: Endpoint,
    pub(crate) connector: TlsConnector,
    pub(crate) acceptor: TlsAcceptor,
    pub(crate) timeout: Duration,
    pub(crate) events: mpsc::Sender<Event>,
}

/// Proxies one client connection until either side closes.
pub(crate) async fn proxy(shared: Arc<Shared>, session: usize, client: TcpStream) {
    let mut link = match connect(&shared, client).await {
        Ok(link) => link,
        Err(reason) => {
            note(&shared, session, format!("connection not proxied: {reason}")).await;
            drop(shared.events.send(Event::Closed(session, Side::Server)).await);
            return;
        }
    };
    let by = loop {
        match link.copy(&shared, session).await {
            Stop::Closed(side) => break side,
            Stop::Upgrade => match link.handshake(&shared).await {
                Ok(secured) => {
                    link = secured;
                    drop(shared.events.send(Event::TlsStarted(session)).await);
                }
                Err(reason) => {
                    note(&shared, session, format!("STARTTLS failed: {reason}")).await;
                    drop(shared.events.send(Event::Closed(session, Side::Server)).await);
                    return;
                }
            },
        }
    };
    drop(shared.events.send(Event::Closed(session, by)).await);
    let timeout = shared.timeout;
    drop(tokio::time::timeout(timeout, link.client.shutdown()).await);
    drop(tokio::time::timeout(timeout, link.upstream.shutdown()).await);
}

async fn note(shared: &Shared, session: usize, text: String) {
    tracing::warn!("s{}: {text}", session + 1);
    drop(shared.events.send(Event::Note(session, text)).await);
}

/// Connects upstream and runs the implicit TLS handshakes.
async fn connect(shared: &Shared, client: TcpStream) -> Result<Link, String> {
    let endpoint = &shared.upstream;
    let address = (endpoint.host.as_str(), endpoint.port);
    let tcp = match tokio::time::timeout(shared.timeout, TcpStream::connect(address)).await {
        Ok(Ok(tcp)) => tcp,
        Ok(Err(e)) => return Err(format!("cannot connect to {endpoint}: {e}")),
        Err(_) => return Err(format!("{endpoint}: no answer within {:?}", shared.timeout)),
    };
    drop(tcp.set_nodelay(true));
    drop(client.set_nodelay(true));
    let link = Link {
        client: Stream::Plain(client),
        upstream: Stream::Plain(tcp),
        watch: (!shared.protocol.implicit_tls()).then(|| StartTlsWatch::new(shared.protocol.family())),
    };
    if shared.protocol.implicit_tls() {
        return link.handshake(shared).await;
    }
    Ok(link)
}

/// Both sides of one proxied connection.
struct Link {
    client: Stream,
    upstream: Stream,
    /// Watches for STARTTLS until TLS is up (`None` afterwards, and with implicit TLS).
    watch: Option<StartTlsWatch>,
}

/// Why [`Link::copy`] stopped.
enum Stop {
    /// This side closed (or failed).
    Closed(Side),
    /// The server accepted STARTTLS: both handshakes are next.
    Upgrade,
}

impl Link {
    /// Copies until a side closes or TLS is to start.
    async fn copy(&mut self, shared: &Shared, session: usize) -> Stop {
        let mut from_client = vec![0u8; 16 * 1024];
        let mut from_server = vec![0u8; 16 * 1024];
        let mut held: Vec<u8> = Vec::new();
        loop {
            let step = tokio::select! {
                read = self.client.read(&mut from_client) => match read {
                    Ok(n @ 1..) => self.client_bytes(shared, session, &from_client[..n], &mut held).await,
                    _ => Err(Stop::Closed(Side::Client)),
                },
                read = self.upstream.read(&mut from_server) => match read {
                    Ok(n @ 1..) => self.server_bytes(shared, session, &from_server[..n], &mut held).await,
                    _ => Err(Stop::Closed(Side::Server)),
                },
            };
            if let Err(stop) = step {
                return stop;
            }
        }
    }

    /// Forwards client bytes, holding what follows a STARTTLS command.
    async fn client_bytes(
        &mut self,
        shared: &Shared,
        session: usize,
        bytes: &[u8],
        held: &mut Vec<u8>,
    ) -> Result<(), Stop> {
        let pass = match &mut self.watch {
            Some(watch) => watch.client(bytes),
            None => bytes.len(),
        };
        held.extend_from_slice(&bytes[pass..]);
        if held.len() > MAX_HELD {
            note(
                shared,
                session,
                format!("the client sent over {MAX_HELD} bytes behind STARTTLS before the reply; closed"),
            )
            .await;
            return Err(Stop::Closed(Side::Client));
        }
        forward(shared, &mut self.upstream, session, Side::Client, &bytes[..pass]).await
    }

    /// Forwards server bytes; at a positive STARTTLS reply, stops for the upgrade.
    async fn server_bytes(
        &mut self,
        shared: &Shared,
        session: usize,
        bytes: &[u8],
        held: &mut Vec<u8>,
    ) -> Result<(), Stop> {
        let says = self
            .watch
            .as_mut()
            .map_or(ServerSays::Nothing, |w| w.server(bytes));
        match says {
            ServerSays::Nothing => forward(shared, &mut self.client, session, Side::Server, bytes).await,
            ServerSays::Refused => {
                forward(shared, &mut self.client, session, Side::Server, bytes).await?;
                let released = std::mem::take(held);
                self.client_bytes(shared, session, &released, held).await
            }
            ServerSays::Upgrade(end) => {
                forward(shared, &mut self.client, session, Side::Server, &bytes[..end]).await?;
                for (side, dropped) in [(Side::Server, &bytes[end..]), (Side::Client, &held[..])] {
                    if !dropped.is_empty() {
                        let who = side.word();
                        let text = format!(
                            "the {who} sent {} byte(s) in plaintext after STARTTLS's reply point; not forwarded: {}",
                            dropped.len(),
                            mailrig_transcript::print::escape_bytes(&dropped[..dropped.len().min(200)])
                        );
                        note(shared, session, text).await;
                    }
                }
                held.clear();
                Err(Stop::Upgrade)
            }
        }
    }

    /// TLS to the upstream (verified with the run's trust), then TLS to the client (with
    /// mailrig's certificate), each within the deadline.
    async fn handshake(self, shared: &Shared) -> Result<Link, String> {
        let (Stream::Plain(client), Stream::Plain(upstream)) = (self.client, self.upstream) else {
            return Err("TLS is already up".to_owned());
        };
        let name = shared.upstream.server_name().map_err(|e| e.to_string())?;
        let upstream = tokio::time::timeout(shared.timeout, shared.connector.connect(name, upstream))
            .await
            .map_err(|_| {
                format!(
                    "the upstream TLS handshake did not finish within {:?}",
                    shared.timeout
                )
            })?
            .map_err(|e| format!("upstream TLS handshake with {}: {e}", shared.upstream))?;
        let client = tokio::time::timeout(shared.timeout, shared.acceptor.accept(client))
            .await
            .map_err(|_| {
                format!(
                    "the client's TLS handshake did not finish within {:?}",
                    shared.timeout
                )
            })?
            .map_err(|e| format!("client TLS handshake: {e} (does the client trust mailrig's CA?)"))?;
        Ok(Link {
            client: Stream::Server(Box::new(client)),
            upstream: Stream::Client(Box::new(upstream)),
            watch: None,
        })
    }
}

/// Writes to one side (within the deadline) and reports the bytes as sent by the other.
async fn forward(
    shared: &Shared,
    to: &mut Stream,
    session: usize,
    from: Side,
    bytes: &[u8],
) -> Result<(), Stop> {
    if bytes.is_empty() {
        return Ok(());
    }
    if !write_within(to, bytes, shared.timeout).await {
        return Err(Stop::Closed(from.peer()));
    }
    // A full channel slows the connection down instead of growing memory.
    drop(
        shared
            .events
            .send(Event::Data(session, from, bytes.to_vec()))
            .await,
    );
    Ok(())
}
