//! `mailrig record`: flags to a [`RecordConfig`], the CA file for clients, and Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use mailrig_runner::record::{RecordConfig, Recording, parse_upstream};
use mailrig_runner::target::Trust;
use mailrig_server::tls::Identity;

/// Arguments of `mailrig record`.
#[derive(Debug, clap::Args)]
pub(crate) struct RecordArgs {
    /// The real server: smtp://, submission://, smtps://, imap:// or imaps://HOST:PORT.
    /// STARTTLS on smtp/submission/imap is proxied with TLS on both sides.
    #[arg(long, value_name = "URL")]
    upstream: String,
    /// Where clients connect (port 0: any free port, printed at start).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The scenario file to write (large literals go to FILE_STEM.literals/ beside it).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Trust the upstream's certificate if it chains to a CA in this PEM file (default: the
    /// system roots).
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// Accept any upstream certificate (for servers with self-signed certificates).
    #[arg(long, conflicts_with = "ca")]
    insecure: bool,
    /// Keep credentials in the file instead of replacing them with variables.
    #[arg(long)]
    no_redact: bool,
    /// Write volatile values (tags, UIDVALIDITY, UIDs, dates, sizes, greeting text) as
    /// captures and holes, so the file passes again as a test of the same server.
    #[arg(long)]
    generalize: bool,
    /// Write the CA certificate clients must trust here (default: a fresh file under the
    /// temporary directory; its path is printed).
    #[arg(long, value_name = "FILE")]
    ca_out: Option<PathBuf>,
    /// The limit on each connect, TLS handshake and write, e.g. 10s.
    #[arg(long, default_value = "10s", value_parser = crate::run::parse_duration)]
    timeout: Duration,
    /// Once listening, write a JSON object with "listen" (HOST:PORT) and "ca" (the CA file).
    #[arg(long, value_name = "FILE")]
    ready_file: Option<PathBuf>,
}

pub(crate) fn record(args: RecordArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(run(args))
}

async fn run(args: RecordArgs) -> anyhow::Result<ExitCode> {
    let (protocol, upstream) = parse_upstream(&args.upstream)?;
    let trust = match (&args.ca, args.insecure) {
        (Some(path), _) => Trust::ca_file(path)?,
        (None, true) => Trust::Insecure,
        (None, false) => Trust::system()?,
    };
    if args.no_redact {
        eprintln!(
            "warning: --no-redact: credentials are written to {} as sent; do not share the file",
            args.out.display()
        );
    }
    let identity = Identity::generate().context("cannot generate the TLS certificate")?;
    let ca_path = write_ca(args.ca_out.as_deref(), identity.ca_pem())?;
    let config = RecordConfig {
        listen: args.listen,
        protocol,
        upstream: upstream.clone(),
        trust,
        identity,
        out: args.out.clone(),
        comments: vec![format!("Recorded by `mailrig record` from {}.", args.upstream)],
        redact: !args.no_redact,
        generalize: args.generalize,
        timeout: args.timeout,
    };
    if !args.listen.ip().is_loopback() {
        eprintln!(
            "warning: listening on {}: anyone who reaches it talks to {} through this proxy",
            args.listen, args.upstream
        );
    }
    let recording = Recording::bind(config).await?;
    let listen = recording.local_addr();
    println!("mailrig record: {} on {listen} -> {upstream}", protocol.keyword());
    println!("  writing {}", args.out.display());
    println!("  clients must trust the CA in {}", ca_path.display());
    println!("  Ctrl-C ends the recording");
    if let Some(path) = &args.ready_file {
        let ready = serde_json::json!({ "listen": listen.to_string(), "ca": ca_path });
        crate::serve::write_ready(path, &ready.to_string())?;
    }
    let stop = async {
        if let Err(e) = crate::serve::stop_signal().await {
            eprintln!("mailrig: {e:#}");
        }
    };
    let summary = recording.run(stop).await?;
    eprintln!(
        "mailrig record: {} session(s) written to {}{}",
        summary.sessions,
        args.out.display(),
        match summary.literal_files {
            0 => String::new(),
            n => format!(" ({n} literal file(s) beside it)"),
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes the CA certificate for clients and returns where.
fn write_ca(path: Option<&std::path::Path>, pem: &str) -> anyhow::Result<PathBuf> {
    let path = match path {
        Some(path) => path.to_owned(),
        None => {
            let dir = std::env::temp_dir().join(format!("mailrig-record-{}", std::process::id()));
            std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
            dir.join("ca.pem")
        }
    };
    std::fs::write(&path, pem).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(std::fs::canonicalize(&path).unwrap_or(path))
}
