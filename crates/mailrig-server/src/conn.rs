//! The connection driver: runs one sans-IO session over a TCP (or TLS) stream.
//!
//! The loop is the one every sans-IO protocol crate expects: read → `handle_input` → drain the
//! session's actions → write. Every byte in both directions, the TLS start and the close are
//! recorded. Each reply (one SMTP reply, one IMAP response: a [`Reply`] with the [`Step`] it
//! answers) and the connection events (accepted, TLS about to start) pass through the
//! connection's [`ReplyHook`] when it has one: the fault layer ([`FaultHook`], mailrig-fault's
//! engine), which answers with a [`Plan`] of writes, delays and a close, reset or stall. A
//! connection without one writes replies as they are, batched, with no work per reply.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailrig_fault::{ConnFaults, FaultSet, Protocol as FaultProtocol};
pub use mailrig_fault::{Plan, Reply, ReplyKind, Step, Then, Write};

use mailrig_transcript::scenario::Side;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Notify, watch};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::compress::Deflate;
use crate::recorder::Recorder;

/// What a session asks its driver to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Write one complete reply (SMTP) or response (IMAP).
    Write(Reply),
    /// Run the server side of a TLS handshake now (STARTTLS), then call `tls_started`.
    StartTls,
    /// Compress both directions with raw DEFLATE from now on (IMAP COMPRESS, RFC 4978), then
    /// call `compression_started` and feed back what it returns, inflated.
    StartCompression,
    /// Close the connection.
    Close,
}

/// A sans-IO server session the driver can run.
pub trait Protocol: Send {
    /// Feeds bytes received from the client.
    fn handle_input(&mut self, input: &[u8]);
    /// The next action, if any. Call until `None` after every input.
    fn poll_action(&mut self) -> Option<Action>;
    /// The STARTTLS handshake completed.
    fn tls_started(&mut self);
    /// Compression started (after [`Action::StartCompression`]): returns the client's bytes
    /// the session held back unread, still compressed. The default has none.
    fn compression_started(&mut self) -> Vec<u8> {
        Vec::new()
    }
    /// The server is shutting down or the client was idle too long: say goodbye (421 / BYE).
    fn shutdown(&mut self);
    /// Notified when the session has something to say without new input (an IMAP session
    /// in IDLE learning of a delivery); the driver then drains [`Protocol::poll_action`].
    fn wakeup(&self) -> Option<Arc<Notify>> {
        None
    }
    /// The fault hook this session shares its fault state with, if rules are configured (taken
    /// once, by the listener, when it makes the connection).
    fn fault_hook(&mut self) -> Option<Box<dyn ReplyHook>> {
        None
    }
}

/// What happens to the replies and connection events of one connection: the fault seam.
pub trait ReplyHook: Send {
    /// The connection from `peer` was accepted (before the greeting; on an implicit-TLS port
    /// before the handshake). The default does nothing.
    fn connected(&mut self, peer: Option<IpAddr>) -> Plan {
        let _ = peer;
        Plan::default()
    }

    /// A TLS handshake is about to start; writes go out in plaintext. The default does nothing.
    fn tls(&mut self) -> Plan {
        Plan::default()
    }

    /// What to write for `reply` (no writes: drop it), and what then.
    fn reply(&mut self, reply: Reply) -> Plan;
}

/// mailrig-fault's engine for one connection as the hook. The engine is shared with the
/// session's backend (SMTP), which asks it before storing, so it sits behind a mutex.
#[derive(Debug, Clone)]
pub struct FaultHook(pub Arc<Mutex<ConnFaults>>);

impl FaultHook {
    /// A new connection's fault state under `set`'s rules.
    pub(crate) fn new(set: &FaultSet, protocol: FaultProtocol) -> FaultHook {
        FaultHook(Arc::new(Mutex::new(set.connection(protocol))))
    }

    /// Runs `f` on the shared fault state (a poisoned lock is used as it is).
    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut ConnFaults) -> T) -> T {
        let mut faults = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut faults)
    }
}

impl ReplyHook for FaultHook {
    fn connected(&mut self, peer: Option<IpAddr>) -> Plan {
        self.with(|faults| {
            if let Some(peer) = peer {
                faults.set_peer(peer);
            }
            faults.on_connect()
        })
    }

    fn tls(&mut self) -> Plan {
        self.with(ConnFaults::on_tls)
    }

    fn reply(&mut self, reply: Reply) -> Plan {
        self.with(|faults| faults.on_reply(reply))
    }
}

/// Limits applied to every connection.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Close an SMTP connection (after a goodbye) when the client sends nothing for this long
    /// (RFC 5321 §4.5.3.2 suggests 5 minutes).
    pub idle_timeout: Duration,
    /// The same for IMAP connections; RFC 9051 §5.4 says at least 30 minutes.
    pub imap_idle_timeout: Duration,
    /// How long a TLS handshake may take.
    pub handshake_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            idle_timeout: Duration::from_secs(300),
            imap_idle_timeout: Duration::from_secs(30 * 60),
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

/// The stream, before or after TLS.
enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    /// Transiently, while the handshake owns the socket.
    Upgrading,
}

impl Stream {
    async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf).await,
            Stream::Tls(s) => s.read(buf).await,
            Stream::Upgrading => Ok(0),
        }
    }

    async fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Stream::Plain(s) => s.write_all(bytes).await,
            Stream::Tls(s) => {
                s.write_all(bytes).await?;
                s.flush().await
            }
            Stream::Upgrading => Ok(()),
        }
    }

    /// Resets the connection: `SO_LINGER` 0, so dropping the socket sends RST (a TLS
    /// stream's close_notify is not sent).
    fn reset(&mut self) {
        let socket = match std::mem::replace(self, Stream::Upgrading) {
            Stream::Plain(s) => s,
            Stream::Tls(s) => s.into_inner().0,
            Stream::Upgrading => return,
        };
        let _ = socket.set_zero_linger();
        drop(socket);
    }

    async fn shutdown(&mut self) {
        let _ = match self {
            Stream::Plain(s) => s.shutdown().await,
            Stream::Tls(s) => s.shutdown().await,
            Stream::Upgrading => Ok(()),
        };
    }
}

/// Everything a connection needs besides its session.
pub struct Connection {
    /// The accepted socket.
    pub socket: TcpStream,
    /// TLS for STARTTLS or implicit TLS; `None` when TLS is off.
    pub tls: Option<TlsAcceptor>,
    /// Start with a TLS handshake (SMTPS, IMAPS).
    pub implicit_tls: bool,
    /// Where the transcript goes.
    pub recorder: Recorder,
    /// Connection limits.
    pub limits: Limits,
    /// Flips to `true` when the server shuts down.
    pub shutdown: watch::Receiver<bool>,
    /// The fault seam; `None` writes every reply as it is.
    pub hook: Option<Box<dyn ReplyHook>>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("socket", &self.socket)
            .field("tls", &self.tls.is_some())
            .field("implicit_tls", &self.implicit_tls)
            .field("recorder", &self.recorder)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// Why a connection ended early; logged, never propagated further.
#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    /// The socket failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The TLS handshake failed or timed out.
    #[error("TLS handshake failed: {0}")]
    Handshake(String),
}

/// The parts of a [`Connection`] the loop uses once the socket became a [`Stream`].
struct Ctx {
    tls: Option<TlsAcceptor>,
    recorder: Recorder,
    limits: Limits,
    shutdown: watch::Receiver<bool>,
    hook: Option<Box<dyn ReplyHook>>,
    /// DEFLATE of both directions once the session asked for it; the recorder and the
    /// session see the bytes uncompressed.
    deflate: Option<Deflate>,
}

impl Ctx {
    /// The protocol bytes in `received` (inflated if compression is on), recorded; `None`
    /// if the client's compressed stream is corrupt.
    fn received(&mut self, received: &[u8]) -> Option<Vec<u8>> {
        let bytes = match self.deflate.as_mut() {
            Some(deflate) => deflate.decompress(received).ok()?,
            None => received.to_vec(),
        };
        self.recorder.data(Side::Client, &bytes);
        Some(bytes)
    }
}

/// Runs `session` on `conn` until either side closes.
pub async fn drive(conn: Connection, session: &mut dyn Protocol) -> Result<(), ConnError> {
    let Connection {
        socket,
        tls,
        implicit_tls,
        recorder,
        limits,
        shutdown,
        hook,
    } = conn;
    let _ = socket.set_nodelay(true);
    let peer = socket.peer_addr().ok().map(|addr| addr.ip());
    let mut conn = Ctx {
        tls,
        recorder,
        limits,
        shutdown,
        hook,
        deflate: None,
    };
    let mut stream = Stream::Plain(socket);
    if let Some(plan) = conn.hook.as_mut().map(|h| h.connected(peer))
        && carry_out(&mut conn, &mut stream, plan).await?
    {
        return Ok(());
    }
    if implicit_tls {
        if let Some(plan) = conn.hook.as_mut().map(|h| h.tls())
            && carry_out(&mut conn, &mut stream, plan).await?
        {
            return Ok(());
        }
        stream = handshake(&mut conn, stream).await?;
    }
    let mut buf = ReadBuffer::new();
    let mut shutting_down = false;
    let wakeup = session.wakeup();
    loop {
        if flush(&mut conn, &mut stream, session).await? {
            return Ok(());
        }
        tokio::select! {
            read = tokio::time::timeout(conn.limits.idle_timeout, stream.read(buf.space())) => match read {
                Ok(Ok(0)) | Ok(Err(_)) => {
                    conn.recorder.closed(Side::Client);
                    return Ok(());
                }
                Ok(Ok(n)) if conn.deflate.is_none() => {
                    conn.recorder.data(Side::Client, buf.data(n));
                    session.handle_input(buf.data(n));
                    buf.adapt(n);
                }
                Ok(Ok(n)) => {
                    let Some(input) = conn.received(buf.data(n)) else {
                        close(&mut conn, &mut stream).await;
                        return Ok(());
                    };
                    session.handle_input(&input);
                    buf.adapt(n);
                }
                Err(_) => session.shutdown(),
            },
            _ = conn.shutdown.changed(), if !shutting_down => {
                shutting_down = true;
                session.shutdown();
            }
            () = woken(wakeup.as_deref()) => {}
        }
    }
}

/// The read buffer. Most reads are one command line, and an idle connection reads nothing
/// for minutes, so the buffer starts small (10,000 idle IMAP connections cost 134 MiB with a
/// 16 KiB buffer each, 65 MiB with 1 KiB); it doubles, up to 16 KiB, when a read fills it
/// (bulk data: a message, a literal), and shrinks back after a run of reads that the small
/// size holds (so a busy SMTP session that alternates commands and messages keeps it).
#[derive(Debug)]
struct ReadBuffer {
    buf: Vec<u8>,
    /// Consecutive reads that would have fit in `MIN` bytes.
    small_reads: u32,
}

impl ReadBuffer {
    const MIN: usize = 1024;
    const MAX: usize = 16 * 1024;
    /// How many small reads in a row shrink a grown buffer.
    const SHRINK_AFTER: u32 = 16;

    fn new() -> ReadBuffer {
        ReadBuffer {
            buf: vec![0; Self::MIN],
            small_reads: 0,
        }
    }

    /// Where the next read goes.
    fn space(&mut self) -> &mut [u8] {
        &mut self.buf
    }

    /// The first `n` bytes, as read.
    fn data(&self, n: usize) -> &[u8] {
        &self.buf[..n]
    }

    /// Resizes for the next read after one of `n` bytes (call after using the data).
    fn adapt(&mut self, n: usize) {
        let len = self.buf.len();
        self.small_reads = if n <= Self::MIN { self.small_reads + 1 } else { 0 };
        if n == len && len < Self::MAX {
            self.buf = vec![0; len * 2];
        } else if self.small_reads >= Self::SHRINK_AFTER && len > Self::MIN {
            self.buf = vec![0; Self::MIN];
        }
    }
}

/// Waits for the session's wake-up call; never returns for sessions without one.
async fn woken(wakeup: Option<&Notify>) {
    match wakeup {
        Some(notify) => notify.notified().await,
        None => std::future::pending().await,
    }
}

/// Batched replies are written once they reach this size, so that the session's own limits
/// on queued output (and a slow reader's back-pressure) are not undone by the batch.
const BATCH_LIMIT: usize = 64 * 1024;

/// Performs the session's queued actions. Returns `true` once the connection is closed.
///
/// Replies written whole and at once (every reply without a hook, and those the hook leaves
/// alone) are gathered and written together: the answers to a pipelined group (RFC 2920) leave
/// in one write, as a server that batches its replies does, and the transcript records that
/// write. Replies a hook splits or delays are written exactly as it says.
async fn flush(conn: &mut Ctx, stream: &mut Stream, session: &mut dyn Protocol) -> Result<bool, ConnError> {
    let mut batch = Vec::new();
    while let Some(action) = session.poll_action() {
        match action {
            Action::Write(reply) => {
                let whole = match conn.hook.as_mut() {
                    None => reply.bytes,
                    Some(hook) => {
                        let mut plan = hook.reply(reply);
                        let Some(whole) = whole_at_once(&mut plan) else {
                            write(conn, stream, &mut batch).await?;
                            if carry_out(conn, stream, plan).await? {
                                return Ok(true);
                            }
                            continue;
                        };
                        whole
                    }
                };
                append(&mut batch, whole);
                if batch.len() >= BATCH_LIMIT {
                    // A client that stops reading blocks this write, and so the session.
                    write(conn, stream, &mut batch).await?;
                }
            }
            Action::StartTls => {
                write(conn, stream, &mut batch).await?;
                if let Some(plan) = conn.hook.as_mut().map(|h| h.tls())
                    && carry_out(conn, stream, plan).await?
                {
                    return Ok(true);
                }
                let plain = std::mem::replace(stream, Stream::Upgrading);
                *stream = handshake(conn, plain).await?;
                session.tls_started();
            }
            Action::StartCompression => {
                // The tagged OK leaves uncompressed; everything after it is compressed.
                write(conn, stream, &mut batch).await?;
                conn.deflate = Some(Deflate::new());
                let held = session.compression_started();
                if !held.is_empty() {
                    let Some(input) = conn.received(&held) else {
                        close(conn, stream).await;
                        return Ok(true);
                    };
                    session.handle_input(&input);
                }
            }
            Action::Close => {
                write(conn, stream, &mut batch).await?;
                close(conn, stream).await;
                return Ok(true);
            }
        }
    }
    write(conn, stream, &mut batch).await?;
    Ok(false)
}

/// The bytes of a plan that writes one reply at once and goes on: they can join the batch.
fn whole_at_once(plan: &mut Plan) -> Option<Vec<u8>> {
    match (plan.writes.as_mut_slice(), plan.then) {
        ([only], Then::Continue) if only.delay.is_zero() => Some(std::mem::take(&mut only.bytes)),
        _ => None,
    }
}

fn append(batch: &mut Vec<u8>, bytes: Vec<u8>) {
    if batch.is_empty() {
        *batch = bytes;
    } else {
        batch.extend_from_slice(&bytes);
    }
}

/// Carries out a fault plan: its writes (each after its delay), then a close, a reset or a
/// stall. Returns `true` once the connection is closed.
async fn carry_out(conn: &mut Ctx, stream: &mut Stream, plan: Plan) -> Result<bool, ConnError> {
    for Write { delay, mut bytes } in plan.writes {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        write(conn, stream, &mut bytes).await?;
    }
    match plan.then {
        Then::Continue => return Ok(false),
        Then::Close => close(conn, stream).await,
        Then::Reset => {
            conn.recorder.closed(Side::Server);
            stream.reset();
        }
        Then::Stall => stall(conn, stream).await,
    }
    Ok(true)
}

/// Closes (FIN), recorded first: a client that reads to EOF and then asks for the transcript
/// must find the close in it.
async fn close(conn: &mut Ctx, stream: &mut Stream) {
    conn.recorder.closed(Side::Server);
    stream.shutdown().await;
}

/// Writes nothing more: reads (and records) what the client sends until it closes or the
/// server shuts down, then closes without a goodbye.
async fn stall(conn: &mut Ctx, stream: &mut Stream) {
    let mut buf = [0u8; 1024];
    loop {
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(0) | Err(_) => {
                    conn.recorder.closed(Side::Client);
                    return;
                }
                Ok(n) => {
                    if conn.received(&buf[..n]).is_none() {
                        break;
                    }
                }
            },
            _ = conn.shutdown.changed() => break,
        }
    }
    close(conn, stream).await;
}

/// Writes (compressed and flushed, once compression is on) and records `bytes` (if any),
/// leaving it empty.
async fn write(conn: &mut Ctx, stream: &mut Stream, bytes: &mut Vec<u8>) -> Result<(), ConnError> {
    if !bytes.is_empty() {
        match conn.deflate.as_mut() {
            Some(deflate) => stream.write_all(&deflate.compress(bytes)).await?,
            None => stream.write_all(bytes).await?,
        }
        conn.recorder.data(Side::Server, bytes);
        bytes.clear();
    }
    Ok(())
}

async fn handshake(conn: &mut Ctx, stream: Stream) -> Result<Stream, ConnError> {
    let (Stream::Plain(socket), Some(acceptor)) = (stream, conn.tls.clone()) else {
        return Err(ConnError::Handshake(
            "TLS is not configured for this listener".to_owned(),
        ));
    };
    let accept = tokio::time::timeout(conn.limits.handshake_timeout, acceptor.accept(socket));
    match accept.await {
        Ok(Ok(tls)) => {
            conn.recorder.tls_started();
            Ok(Stream::Tls(Box::new(tls)))
        }
        Ok(Err(e)) => Err(ConnError::Handshake(e.to_string())),
        Err(_) => Err(ConnError::Handshake("timed out".to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_read_buffer_grows_on_full_reads_and_shrinks_on_small_ones() {
        let mut buf = ReadBuffer::new();
        assert_eq!(buf.space().len(), 1024);
        buf.adapt(10);
        assert_eq!(buf.space().len(), 1024);
        for expected in [2048, 4096, 8192, 16384, 16384] {
            let full = buf.space().len();
            buf.adapt(full);
            assert_eq!(buf.space().len(), expected);
        }
        buf.adapt(5000);
        assert_eq!(buf.space().len(), 16384, "a medium read keeps the size");
        for _ in 1..ReadBuffer::SHRINK_AFTER {
            buf.adapt(100);
        }
        assert_eq!(buf.space().len(), 16384, "a few command lines keep the size");
        buf.adapt(1024);
        assert_eq!(buf.space().len(), 1024, "a run of small reads shrinks it");
    }
}
