//! A small async SMTP client for the fuzzing tests: EHLO, STARTTLS, EHLO, one message, QUIT.
//! With [`Leftover::Keep`] it keeps what its buffered reader had read past the STARTTLS
//! go-ahead and reads it as if it came over TLS: the response-injection bug of RFC 3207 §4.2
//! (CVE-2011-0411 and its many relatives).

use std::sync::Arc;
use std::time::Duration;

use mailrig_fuzz::Endpoint;
use mailrig_transcript::scenario::Protocol;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls;

/// How long one read may take before the client gives up.
const READ: Duration = Duration::from_secs(1);

/// What the client does with bytes read past the STARTTLS go-ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Leftover {
    /// Discards them (RFC 3207 §4.2).
    Discard,
    /// Gives up: closes the connection.
    Abort,
    /// The bug: reads them as if they came over TLS.
    Keep,
}

/// Sends one message; the outcome is the final reply's first line, or why it gave up.
pub(crate) async fn send(endpoint: Endpoint, leftover: Leftover) -> Result<String, String> {
    let tcp = TcpStream::connect(endpoint.addr(Protocol::Smtp))
        .await
        .map_err(|e| e.to_string())?;
    let mut plain = BufReader::new(tcp);
    expect(&mut plain, "220").await?;
    command(&mut plain, "EHLO client.test").await?;
    expect(&mut plain, "250").await?;
    command(&mut plain, "STARTTLS").await?;
    expect(&mut plain, "220").await?;
    if leftover == Leftover::Abort && !plain.buffer().is_empty() {
        return Err("the server sent data after the STARTTLS go-ahead".to_owned());
    }
    // The bug: what the reader buffered beyond the go-ahead survives the upgrade.
    let leftover = if leftover == Leftover::Keep {
        plain.buffer().to_vec()
    } else {
        Vec::new()
    };
    let tls = upgrade(&endpoint.ca_pem, plain.into_inner()).await?;
    let mut tls = BufReader::new(Prefixed {
        prefix: leftover,
        inner: tls,
    });
    command(&mut tls, "EHLO client.test").await?;
    expect(&mut tls, "250").await?;
    for (line, code) in [
        ("MAIL FROM:<bob@example.test>", "250"),
        ("RCPT TO:<alice@example.test>", "250"),
        ("DATA", "354"),
    ] {
        command(&mut tls, line).await?;
        expect(&mut tls, code).await?;
    }
    command(&mut tls, "Subject: fuzz\r\n\r\nhello\r\n.").await?;
    let done = expect(&mut tls, "250").await?;
    command(&mut tls, "QUIT").await?;
    let _ = expect(&mut tls, "221").await;
    Ok(done)
}

async fn command<S: AsyncRead + AsyncWrite + Unpin>(s: &mut BufReader<S>, line: &str) -> Result<(), String> {
    let bytes = format!("{line}\r\n");
    s.get_mut()
        .write_all(bytes.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    s.get_mut().flush().await.map_err(|e| e.to_string())
}

/// Reads one reply (all its lines) and checks its code; returns its last line.
async fn expect<S: AsyncRead + Unpin>(s: &mut BufReader<S>, code: &str) -> Result<String, String> {
    loop {
        let mut line = String::new();
        match tokio::time::timeout(READ, s.read_line(&mut line)).await {
            Err(_) => return Err(format!("no reply within {READ:?} (waiting for {code})")),
            Ok(Err(e)) => return Err(e.to_string()),
            Ok(Ok(0)) => return Err(format!("connection closed (waiting for {code})")),
            Ok(Ok(_)) => {}
        }
        let line = line.trim_end().to_owned();
        if !line.starts_with(code) {
            return Err(format!("expected {code}, got {line:?}"));
        }
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok(line);
        }
    }
}

async fn upgrade(ca_pem: &str, tcp: TcpStream) -> Result<tokio_rustls::client::TlsStream<TcpStream>, String> {
    let mut roots = rustls::RootCertStore::empty();
    let ca = CertificateDer::from_pem_slice(ca_pem.as_bytes()).map_err(|e| e.to_string())?;
    roots.add(ca).map_err(|e| e.to_string())?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    let handshake = TlsConnector::from(Arc::new(config)).connect(name, tcp);
    match tokio::time::timeout(READ, handshake).await {
        Ok(result) => result.map_err(|e| format!("TLS: {e}")),
        Err(_) => Err("TLS handshake timed out".to_owned()),
    }
}

/// A stream that yields `prefix` before the inner stream's bytes.
struct Prefixed<S> {
    prefix: Vec<u8>,
    inner: S,
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.remaining());
            buf.put_slice(&self.prefix[..n]);
            self.prefix.drain(..n);
            return std::task::Poll::Ready(Ok(()));
        }
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Prefixed<S> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
