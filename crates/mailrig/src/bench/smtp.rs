//! `mailrig bench smtp`: an SMTP load generator.
//!
//! Measures (1) messages per second accepted *and stored* with N concurrent sessions, (2) how
//! long starting the servers takes (what `Rig::builder().start()` costs), and (3) resident
//! memory per idle connection. With `--target` it loads any SMTP server instead.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use mailrig::{Protocol, Store, User};
use mailrig_server::{Server, ServerConfig, TlsSetting};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::{ms, rss_kib};

/// `mailrig bench smtp` options.
#[derive(Debug, Args)]
pub(crate) struct SmtpBench {
    /// Load this server instead of an in-process mailrig (recipient: `--rcpt`).
    #[arg(long, value_name = "HOST:PORT")]
    target: Option<SocketAddr>,
    /// Concurrent sessions (like smtp-source -s).
    #[arg(long, default_value_t = 20)]
    sessions: usize,
    /// Messages in total (like smtp-source -m).
    #[arg(long, default_value_t = 20_000)]
    messages: usize,
    /// Message size in bytes (like smtp-source -l).
    #[arg(long, default_value_t = 5000)]
    size: usize,
    /// The recipient.
    #[arg(long, default_value = "bench@example.test")]
    rcpt: String,
    /// Idle connections to open for the memory measurement (in-process only; 0 skips it).
    #[arg(long, default_value_t = 1000)]
    idle: usize,
}

pub(super) async fn smtp(args: SmtpBench) -> anyhow::Result<ExitCode> {
    if args.sessions == 0 || args.messages == 0 {
        bail!("--sessions and --messages must be at least 1");
    }
    let store = Store::new();
    store.add_user(User::new("bench", "bench", [args.rcpt.as_str()]))?;
    let (server, target) = match args.target {
        Some(target) => (None, target),
        None => {
            println!("start-up: {}", startup().await?);
            let server = Server::start(config(store.clone())).await?;
            let addr = server.addr(Protocol::Smtp).context("smtp listener")?;
            (Some(server), addr)
        }
    };
    let (elapsed, sent) = load(target, &args).await?;
    let rate = sent as f64 / elapsed.as_secs_f64();
    println!(
        "throughput: {sent} messages of {} bytes over {} sessions in {:.2} s = {rate:.0} msg/s",
        args.size,
        args.sessions,
        elapsed.as_secs_f64()
    );
    if let Some(server) = server {
        let stored = store
            .messages("bench", "INBOX")
            .map(|s| s.messages.len())
            .unwrap_or(0);
        println!("stored: {stored} of {sent} accepted messages");
        if stored != sent {
            bail!("{} accepted messages were not stored", sent - stored);
        }
        if args.idle > 0 {
            println!("idle connections: {}", idle_memory(&server, args.idle).await?);
        }
        server.shutdown(Duration::from_secs(2)).await;
    }
    Ok(ExitCode::SUCCESS)
}

fn config(store: Store) -> ServerConfig {
    let mut config = ServerConfig::loopback(store);
    config.listeners.retain(|(s, _)| *s == Protocol::Smtp);
    config.tls = TlsSetting::Off;
    config.max_connections = 100_000;
    config.smtp.config.max_message_size = Some(64 * 1024 * 1024);
    config
}

/// Median time to start a server like `Rig` does (TLS identity shared, every listener).
async fn startup() -> anyhow::Result<String> {
    let mut times = Vec::new();
    for _ in 0..21 {
        let store = Store::new();
        let start = Instant::now();
        let server = Server::start(ServerConfig::loopback(store)).await?;
        times.push(start.elapsed());
        server.shutdown(Duration::from_millis(100)).await;
    }
    let first = times.remove(0);
    times.sort();
    Ok(format!(
        "first {:.2} ms (generates the TLS identity), then median {:.3} ms",
        ms(first),
        ms(times[times.len() / 2])
    ))
}

/// Runs the sessions; returns the wall time and the number of messages accepted.
async fn load(target: SocketAddr, args: &SmtpBench) -> anyhow::Result<(Duration, usize)> {
    let body = message(args.size);
    let remaining = Arc::new(AtomicUsize::new(args.messages));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.sessions {
        let (body, remaining, rcpt) = (body.clone(), remaining.clone(), args.rcpt.clone());
        tasks.push(tokio::spawn(async move {
            session(target, &rcpt, &body, &remaining).await
        }));
    }
    let mut sent = 0;
    for task in tasks {
        sent += task.await.context("session task")??;
    }
    Ok((start.elapsed(), sent))
}

/// One connection sending messages until the shared budget is used up.
async fn session(
    target: SocketAddr,
    rcpt: &str,
    body: &[u8],
    remaining: &AtomicUsize,
) -> anyhow::Result<usize> {
    let stream = TcpStream::connect(target)
        .await
        .with_context(|| format!("cannot connect to {target}"))?;
    stream.set_nodelay(true)?;
    let mut stream = BufReader::new(stream);
    let mut line = String::new();
    expect(&mut stream, &mut line, "220").await?;
    stream.get_mut().write_all(b"EHLO bench\r\n").await?;
    expect(&mut stream, &mut line, "250").await?;
    let envelope = format!("MAIL FROM:<load@example.test>\r\nRCPT TO:<{rcpt}>\r\nDATA\r\n");
    let mut sent = 0;
    while remaining
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
        .is_ok()
    {
        stream.get_mut().write_all(envelope.as_bytes()).await?;
        for code in ["250", "250", "354"] {
            expect(&mut stream, &mut line, code).await?;
        }
        stream.get_mut().write_all(body).await?;
        expect(&mut stream, &mut line, "250").await?;
        sent += 1;
    }
    stream.get_mut().write_all(b"QUIT\r\n").await?;
    Ok(sent)
}

/// Reads one reply (skipping continuation lines) and checks its code.
async fn expect(stream: &mut BufReader<TcpStream>, line: &mut String, code: &str) -> anyhow::Result<()> {
    loop {
        line.clear();
        if stream.read_line(line).await? == 0 {
            bail!("the server closed the connection while {code} was expected");
        }
        if line.as_bytes().get(3) != Some(&b'-') {
            break;
        }
    }
    if !line.starts_with(code) {
        bail!("expected {code}, got {}", line.trim_end());
    }
    Ok(())
}

/// A message of `size` bytes: headers, then 76-character lines, then the end of DATA.
fn message(size: usize) -> Vec<u8> {
    let mut body = b"From: load@example.test\r\nSubject: bench\r\n\r\n".to_vec();
    while body.len() + 78 <= size {
        body.extend_from_slice(&[b'x'; 76]);
        body.extend_from_slice(b"\r\n");
    }
    while body.len() + 2 < size {
        body.push(b'y');
    }
    body.extend_from_slice(b"\r\n.\r\n");
    body
}

/// Opens `count` greeted, idle connections and reports the resident memory they add.
async fn idle_memory(server: &Server, count: usize) -> anyhow::Result<String> {
    let addr = server.addr(Protocol::Smtp).context("smtp listener")?;
    let before = rss_kib(None)?;
    let mut open = Vec::with_capacity(count);
    for _ in 0..count {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("cannot connect to {addr}"))?;
        let mut stream = BufReader::new(stream);
        let mut line = String::new();
        expect(&mut stream, &mut line, "220").await?;
        open.push(stream);
    }
    let after = rss_kib(None)?;
    let per = (after.saturating_sub(before) as f64) / count as f64;
    Ok(format!(
        "{count} open, resident memory +{} KiB = {per:.1} KiB per connection (client sockets included)",
        after.saturating_sub(before)
    ))
}
