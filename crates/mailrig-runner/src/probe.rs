//! Asking a target what it advertises (IMAP `CAPABILITY`, SMTP `EHLO` keywords), before and
//! after STARTTLS and, for IMAP, after logging in, so that a scenario whose `requires:` the
//! target does not meet is skipped with the reason.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::admin::Admin;
use crate::target::Endpoint;

/// What a target advertises.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Advertised {
    /// IMAP capabilities, as listed (e.g. `IDLE`, `AUTH=PLAIN`).
    pub imap: Vec<String>,
    /// SMTP EHLO keywords with their parameters (e.g. `SIZE 10240000`, `AUTH PLAIN LOGIN`).
    pub smtp: Vec<String>,
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Reads one CRLF-terminated line (at most 64 KiB) with a deadline.
async fn line(reader: &mut BufReader<Box<dyn Io>>, limit: Duration) -> Result<String, String> {
    let mut buf = Vec::new();
    let read = tokio::time::timeout(limit, async {
        let mut taken = (&mut *reader).take(64 * 1024);
        taken.read_until(b'\n', &mut buf).await
    });
    match read.await {
        Ok(Ok(0)) => Err("the connection closed".to_owned()),
        Ok(Ok(_)) => Ok(String::from_utf8_lossy(&buf).trim_end().to_owned()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {limit:?}")),
    }
}

async fn send(reader: &mut BufReader<Box<dyn Io>>, text: &str) -> Result<(), String> {
    let stream = reader.get_mut();
    stream
        .write_all(format!("{text}\r\n").as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    stream.flush().await.map_err(|e| e.to_string())
}

async fn open(
    endpoint: &Endpoint,
    tls: &TlsConnector,
    limit: Duration,
) -> Result<BufReader<Box<dyn Io>>, String> {
    let tcp = tokio::time::timeout(limit, TcpStream::connect((endpoint.host.as_str(), endpoint.port)))
        .await
        .map_err(|_| format!("{endpoint}: no answer within {limit:?}"))?
        .map_err(|e| format!("{endpoint}: {e}"))?;
    if !endpoint.implicit_tls {
        return Ok(BufReader::new(Box::new(tcp)));
    }
    let stream = handshake(endpoint, tls, tcp, limit).await?;
    Ok(BufReader::new(stream))
}

async fn handshake(
    endpoint: &Endpoint,
    tls: &TlsConnector,
    tcp: TcpStream,
    limit: Duration,
) -> Result<Box<dyn Io>, String> {
    let name = endpoint.server_name().map_err(|e| e.to_string())?;
    let tls = tokio::time::timeout(limit, tls.connect(name, tcp))
        .await
        .map_err(|_| format!("{endpoint}: the TLS handshake did not finish"))?
        .map_err(|e| format!("{endpoint}: TLS handshake failed: {e}"))?;
    Ok(Box::new(tls))
}

/// IMAP: the capabilities from the greeting and `CAPABILITY` before and after STARTTLS, and
/// after LOGIN with `login` when given (a refused login only means fewer capabilities).
pub async fn imap(
    endpoint: &Endpoint,
    tls: &TlsConnector,
    login: Option<(&str, &str)>,
    limit: Duration,
) -> Result<Vec<String>, String> {
    let (mut admin, seen) = Admin::connect(endpoint, tls, limit)
        .await
        .map_err(|e| e.to_string())?;
    let mut caps = Vec::new();
    imap_caps(&seen, &mut caps);
    let answer = admin.run("CAPABILITY").await.map_err(|e| e.to_string())?;
    imap_caps(&answer, &mut caps);
    if let Some((user, password)) = login
        && admin.authenticate(user, password).await.is_ok()
    {
        let answer = admin.run("CAPABILITY").await.map_err(|e| e.to_string())?;
        imap_caps(&answer, &mut caps);
    }
    admin.logout().await;
    caps.sort_by_key(|c| c.to_ascii_uppercase());
    caps.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    Ok(caps)
}

fn imap_caps(responses: &[Vec<u8>], caps: &mut Vec<String>) {
    for response in responses {
        let line = String::from_utf8_lossy(response);
        words_after(&line, "* CAPABILITY ", caps);
        words_after(&line, "[CAPABILITY ", caps);
    }
}

/// The words after `marker` (case-insensitive) up to a `]`, added to `out`.
fn words_after(line: &str, marker: &str, out: &mut Vec<String>) {
    let upper = line.to_ascii_uppercase();
    if let Some(at) = upper.find(marker) {
        let rest = &line[at + marker.len()..];
        let rest = rest.split(']').next().unwrap_or(rest);
        out.extend(rest.split_whitespace().map(str::to_owned));
    }
}

/// Reads one line byte by byte, so nothing after it is buffered (before STARTTLS).
async fn raw_line(tcp: &mut TcpStream, limit: Duration) -> Result<String, String> {
    let mut out = Vec::new();
    let read = async {
        let mut byte = [0u8; 1];
        while out.len() < 64 * 1024 {
            if tcp.read(&mut byte).await.map_err(|e| e.to_string())? == 0 {
                return Err("the connection closed".to_owned());
            }
            out.push(byte[0]);
            if byte[0] == b'\n' {
                break;
            }
        }
        Ok(())
    };
    tokio::time::timeout(limit, read)
        .await
        .map_err(|_| format!("no answer within {limit:?}"))??;
    Ok(String::from_utf8_lossy(&out).trim_end().to_owned())
}

async fn raw_send(tcp: &mut TcpStream, text: &str) -> Result<(), String> {
    tcp.write_all(format!("{text}\r\n").as_bytes())
        .await
        .map_err(|e| e.to_string())
}

async fn raw_reply(tcp: &mut TcpStream, limit: Duration) -> Result<Vec<String>, String> {
    let mut lines = Vec::new();
    for _ in 0..1000 {
        let l = raw_line(tcp, limit).await?;
        let last = !(l.len() >= 4 && l.as_bytes()[3] == b'-');
        lines.push(l);
        if last {
            return Ok(lines);
        }
    }
    Err("too many lines".to_owned())
}

async fn reply(reader: &mut BufReader<Box<dyn Io>>, limit: Duration) -> Result<Vec<String>, String> {
    let mut lines = Vec::new();
    for _ in 0..1000 {
        let l = line(reader, limit).await?;
        let last = !(l.len() >= 4 && l.as_bytes()[3] == b'-');
        lines.push(l);
        if last {
            return Ok(lines);
        }
    }
    Err("too many lines".to_owned())
}

fn ehlo_keywords(lines: &[String], out: &mut Vec<String>) {
    out.extend(lines.iter().skip(1).filter_map(|l| l.get(4..)).map(str::to_owned));
}

/// SMTP: the EHLO keywords before and after STARTTLS.
pub async fn smtp(endpoint: &Endpoint, tls: &TlsConnector, limit: Duration) -> Result<Vec<String>, String> {
    let mut keywords = Vec::new();
    let mut reader = if endpoint.implicit_tls {
        let mut reader = open(endpoint, tls, limit).await?;
        reply(&mut reader, limit).await?;
        reader
    } else {
        let mut tcp =
            tokio::time::timeout(limit, TcpStream::connect((endpoint.host.as_str(), endpoint.port)))
                .await
                .map_err(|_| format!("{endpoint}: no answer within {limit:?}"))?
                .map_err(|e| format!("{endpoint}: {e}"))?;
        raw_reply(&mut tcp, limit).await?;
        raw_send(&mut tcp, "EHLO probe.mailrig.invalid").await?;
        let lines = raw_reply(&mut tcp, limit).await?;
        ehlo_keywords(&lines, &mut keywords);
        if !keywords.iter().any(|k| k.eq_ignore_ascii_case("STARTTLS")) {
            let mut reader: BufReader<Box<dyn Io>> = BufReader::new(Box::new(tcp));
            drop(send(&mut reader, "QUIT").await);
            return Ok(keywords);
        }
        raw_send(&mut tcp, "STARTTLS").await?;
        let ready = raw_reply(&mut tcp, limit).await?;
        if !ready.last().is_some_and(|l| l.starts_with("220")) {
            return Ok(keywords);
        }
        BufReader::new(handshake(endpoint, tls, tcp, limit).await?)
    };
    send(&mut reader, "EHLO probe.mailrig.invalid").await?;
    let lines = reply(&mut reader, limit).await?;
    ehlo_keywords(&lines, &mut keywords);
    drop(send(&mut reader, "QUIT").await);
    Ok(keywords)
}
