//! The connections of the engine's network drivers and of the recording proxy: plain TCP, or
//! TLS as the client (`net`, testing servers; the proxy's upstream side) or as the server
//! (`replay`, testing clients; the proxy's client side); the wait both engine drivers share
//! (a read from whichever of a run's connections has something first, or the engine's next
//! deadline) and how its outcome reaches the engine.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use mailrig_transcript::engine::Engine;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::{client, server};

/// A connection, before or after TLS.
pub(crate) enum Stream {
    Plain(TcpStream),
    /// TLS with mailrig as the client.
    Client(Box<client::TlsStream<TcpStream>>),
    /// TLS with mailrig as the server.
    Server(Box<server::TlsStream<TcpStream>>),
}

/// Evaluates `$call` with `$s` bound to the stream inside `$stream`, whichever kind it is.
macro_rules! each {
    ($stream:expr, $s:ident => $call:expr) => {
        match $stream.get_mut() {
            Stream::Plain($s) => $call,
            Stream::Client($s) => $call,
            Stream::Server($s) => $call,
        }
    };
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        each!(self, s => Pin::new(s).poll_read(cx, buf))
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        each!(self, s => Pin::new(s).poll_write(cx, buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(self, s => Pin::new(s).poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(self, s => Pin::new(s).poll_shutdown(cx))
    }
}

impl Stream {
    /// The TCP connection under any TLS.
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Client(s) => s.get_ref().0,
            Stream::Server(s) => s.get_ref().0,
        }
    }

    /// The peer's IP address, if the socket still knows it.
    pub(crate) fn peer_ip(&self) -> Option<std::net::IpAddr> {
        self.tcp().peer_addr().ok().map(|a| a.ip())
    }

    /// Resets the connection: `SO_LINGER` 0, so dropping the socket sends RST (no TLS
    /// close_notify).
    pub(crate) fn reset(self) {
        let _ = self.tcp().set_zero_linger();
        drop(self);
    }
}

/// Closes `stream` (TLS close_notify, then FIN), ignoring errors: the peer may be gone.
pub(crate) async fn shutdown(mut stream: Stream) {
    drop(stream.shutdown().await);
}

/// What came first on a run's connections, or the engine's deadline.
pub(crate) enum Readiness {
    /// Bytes from this session's connection.
    Read(usize, Vec<u8>),
    /// This session's connection closed (or failed).
    Closed(usize),
    /// The engine's deadline passed.
    Timer,
}

impl Readiness {
    /// Hands what happened to `engine` at `now`; a closed connection leaves `connections`.
    pub(crate) fn hand_to(self, engine: &mut Engine, connections: &mut [Option<Stream>], now: Duration) {
        match self {
            Readiness::Read(session, bytes) => engine.handle_received(session, &bytes, now),
            Readiness::Closed(session) => {
                connections[session] = None;
                engine.handle_closed(session, now);
            }
            Readiness::Timer => engine.handle_timeout(now),
        }
    }
}

/// Waits for bytes or a close on any of `connections` (read into `buf`), or for the engine's
/// next deadline; `start` is time zero of the engine's clock.
pub(crate) async fn wait_any(
    engine: &Engine,
    start: Instant,
    connections: &mut [Option<Stream>],
    buf: &mut [u8],
) -> Readiness {
    // An engine that waits always has a deadline; the hour is a guard, never reached.
    let deadline = engine
        .poll_timeout()
        .unwrap_or(start.elapsed() + Duration::from_secs(3600));
    let read = std::future::poll_fn(|cx| poll_read_any(cx, connections, buf));
    tokio::select! {
        ready = read => ready,
        () = tokio::time::sleep_until(start + deadline) => Readiness::Timer,
    }
}

/// Writes all of `bytes` and flushes, within `limit`, so a write boundary reaches the wire;
/// `false` if the write failed or did not finish in time.
pub(crate) async fn write_within(stream: &mut Stream, bytes: &[u8], limit: Duration) -> bool {
    let written = tokio::time::timeout(limit, async {
        stream.write_all(bytes).await?;
        stream.flush().await
    })
    .await;
    matches!(written, Ok(Ok(())))
}

/// Closes every connection still open, giving each 100 ms.
pub(crate) async fn close_all(connections: &mut [Option<Stream>]) {
    for stream in connections.iter_mut().filter_map(Option::take) {
        drop(tokio::time::timeout(Duration::from_millis(100), shutdown(stream)).await);
    }
}

/// Polls every open connection of `connections` (indexed by session) for bytes, read into
/// `buf`; a read of nothing or an error is a close.
fn poll_read_any(
    cx: &mut Context<'_>,
    connections: &mut [Option<Stream>],
    buf: &mut [u8],
) -> Poll<Readiness> {
    for (session, slot) in connections.iter_mut().enumerate() {
        let Some(stream) = slot.as_mut() else { continue };
        let mut read = ReadBuf::new(buf);
        match Pin::new(stream).poll_read(cx, &mut read) {
            Poll::Ready(Ok(())) if read.filled().is_empty() => {
                return Poll::Ready(Readiness::Closed(session));
            }
            Poll::Ready(Ok(())) => return Poll::Ready(Readiness::Read(session, read.filled().to_vec())),
            Poll::Ready(Err(_)) => return Poll::Ready(Readiness::Closed(session)),
            Poll::Pending => {}
        }
    }
    Poll::Pending
}
