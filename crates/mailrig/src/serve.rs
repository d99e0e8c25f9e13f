//! `mailrig serve`: the fake servers from a shell, with fixed ports, printed credentials, a
//! CA file, one log line per accepted message, and an optional JSON ready file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use mailrig::{ImapOptions, Protocol, SmtpOptions, Store, StoreLimits, User};
use mailrig_imap::Versions;
use mailrig_server::tls::Identity;
use mailrig_server::{Server, ServerConfig, TlsSetting};
use mailrig_transcript::record::{RecordOptions, print_transcript};
use tokio::sync::Notify;

/// `mailrig serve` options.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// SMTP listener (STARTTLS offered, no AUTH required). `off` disables it.
    #[arg(long, default_value = "127.0.0.1:2525", value_name = "ADDR|off")]
    smtp: String,
    /// Submission listener (AUTH required, STARTTLS offered). `off` disables it.
    #[arg(long, default_value = "127.0.0.1:2587", value_name = "ADDR|off")]
    submission: String,
    /// SMTPS listener (implicit TLS, AUTH required). `off` disables it.
    #[arg(long, default_value = "127.0.0.1:2465", value_name = "ADDR|off")]
    smtps: String,
    /// IMAP listener (STARTTLS offered). `off` disables it.
    #[arg(long, default_value = "127.0.0.1:2143", value_name = "ADDR|off")]
    imap: String,
    /// IMAPS listener (implicit TLS). `off` disables it.
    #[arg(long, default_value = "127.0.0.1:2993", value_name = "ADDR|off")]
    imaps: String,
    /// A user as LOGIN:PASSWORD:ADDRESS (repeatable). Default: alice and bob on example.test,
    /// password `secret`.
    #[arg(long = "user", value_name = "LOGIN:PASSWORD:ADDRESS")]
    users: Vec<String>,
    /// Seed the store from a TOML fixture (docs/fixtures.md); repeatable.
    #[arg(long = "fixture", value_name = "FILE")]
    fixtures: Vec<PathBuf>,
    /// Import existing mail into a user's INBOX: LOGIN:PATH where PATH is an .eml file, an
    /// mbox file or a Maildir directory (repeatable).
    #[arg(long = "import", value_name = "LOGIN:PATH")]
    imports: Vec<String>,
    /// Turn TLS off (no STARTTLS, no SMTPS or IMAPS listener; LOGIN and AUTH then work in
    /// plaintext).
    #[arg(long)]
    no_tls: bool,
    /// Serve this certificate chain (PEM) instead of a generated one; needs --key.
    #[arg(long, value_name = "PEM", requires = "key")]
    cert: Option<PathBuf>,
    /// The private key (PEM) for --cert.
    #[arg(long, value_name = "PEM", requires = "cert")]
    key: Option<PathBuf>,
    // The help lists the words of the SMTP crate's extension table.
    #[arg(long = "disable", value_name = "EXTENSION", help = format!(
        "Turn an SMTP extension off (repeatable): {}", mailrig::rig::smtp_extension_words()
    ))]
    disabled: Vec<String>,
    // The help lists the words of the IMAP crate's extension table.
    #[arg(long = "imap-disable", value_name = "EXTENSION", help = format!(
        "Turn an IMAP extension off (repeatable): {}", mailrig_imap::Extension::names()
    ))]
    imap_disabled: Vec<String>,
    /// Each user's IMAP storage quota in KiB (RFC 9208 STORAGE): APPEND and COPY beyond it
    /// get NO [OVERQUOTA].
    #[arg(long, value_name = "KIB")]
    imap_quota_storage: Option<u64>,
    /// Each user's IMAP quota in messages (RFC 9208 MESSAGE).
    #[arg(long, value_name = "N")]
    imap_quota_messages: Option<u64>,
    /// Largest IMAP literal accepted, in bytes (an APPEND's message; advertised as
    /// APPENDLIMIT): larger ones get NO [TOOBIG] and are skipped unread into memory.
    #[arg(long, value_name = "BYTES", default_value_t = mailrig_imap::Config::default().max_literal)]
    imap_max_literal: usize,
    /// Start the servers with a deliberate defect (repeatable), to see a client's or a
    /// suite's tests catch it; the names are in docs/defects.md.
    #[arg(long = "defect", value_name = "NAME")]
    defects: Vec<String>,
    /// Make the servers misbehave (repeatable): a fault rule such as `rcpt#2: reply 452 4.2.2
    /// mailbox full`, `connect: bye`, `imap FETCH untagged#2: bye` (syntax in docs/faults.md).
    #[arg(long = "fault", value_name = "RULE")]
    faults: Vec<String>,
    /// The seed for random fault rules that name none (default: from the clock; printed).
    #[arg(long, value_name = "N")]
    fault_seed: Option<u64>,
    /// Which IMAP versions to offer: both (IMAP4rev1 until ENABLE IMAP4rev2), rev1, rev2.
    #[arg(long, value_name = "both|rev1|rev2", default_value = "both")]
    imap_version: String,
    /// Require AUTH before MAIL on the SMTP listener too.
    #[arg(long)]
    require_auth: bool,
    /// Allow SMTP AUTH and IMAP LOGIN/AUTHENTICATE before TLS (refused by default: the
    /// server advertises LOGINDISABLED and hides AUTH until STARTTLS).
    #[arg(long)]
    allow_plaintext_auth: bool,
    /// Accept mail for any recipient (not only known users; unknown ones are logged only).
    #[arg(long)]
    accept_any_recipient: bool,
    /// Largest message accepted, in bytes (SIZE).
    #[arg(long, value_name = "BYTES", default_value_t = 10 * 1024 * 1024)]
    max_message_size: usize,
    /// Prepend Return-Path: and Received: headers to stored messages.
    #[arg(long)]
    trace_headers: bool,
    /// Write each received message (messages/N.eml), the CA (ca.pem) and, at exit, every
    /// session's transcript (transcripts/NAME.scenario) here.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Keep the transcripts of this many recent sessions in memory (and in --out at exit).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    keep_transcripts: usize,
    /// The most messages one mailbox holds; past it APPEND, COPY and MOVE get `NO [LIMIT]`
    /// and SMTP gets `452 4.2.2 Mailbox full`, and nothing is stored.
    #[arg(long, value_name = "N", default_value_t = mailrig_store::DEFAULT_MAX_MESSAGES_PER_MAILBOX)]
    max_messages_per_mailbox: usize,
    /// Connections at once, per listener; more are greeted with a goodbye and closed.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    max_connections: usize,
    /// Once every listener accepts connections, write a JSON object with each listener's
    /// "HOST:PORT", "ca" (the CA file) and "users" here.
    #[arg(long, value_name = "FILE")]
    ready_file: Option<PathBuf>,
}

pub(crate) fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(run(args))
}

async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let store = Store::with_limits(StoreLimits {
        messages_per_mailbox: args.max_messages_per_mailbox,
        ..StoreLimits::default()
    });
    let imports = imports(&args.imports)?;
    let counts = mailrig::rig::seed_store(&store, users(&args.users)?, &args.fixtures, &imports)?;
    for ((login, path), count) in imports.iter().zip(counts) {
        let path = path.display();
        println!("imported {count} message(s) into {login}'s INBOX from {path}");
    }
    let mut config = ServerConfig::loopback(store.clone());
    config.listeners = listeners(&args)?;
    config.tls = tls(&args)?;
    config.smtp = smtp_options(&args)?;
    config.imap = imap_options(&args)?;
    config.keep_transcripts = Some(args.keep_transcripts);
    config.max_connections = args.max_connections;
    for name in &args.defects {
        let defect = mailrig_server::Defect::from_name(name).with_context(|| {
            format!("--defect {name}: not a defect of mailrig's servers (see docs/defects.md)")
        })?;
        config.add_defect(defect);
    }
    config.faults = fault_rules(&args.faults)?;
    config.fault_seed = args.fault_seed;
    let server = Server::start(config).await?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("mailrig-{}", std::process::id())));
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let out = std::fs::canonicalize(&out).unwrap_or(out);
    let ca = match server.ca_pem() {
        Some(pem) => {
            let path = out.join("ca.pem");
            std::fs::write(&path, pem).with_context(|| format!("cannot write {}", path.display()))?;
            Some(path)
        }
        None => None,
    };
    announce(&server, &store, ca.as_deref());
    if let Some(path) = &args.ready_file {
        write_ready_file(path, &server, &store, ca.as_deref())?;
    }
    let saved = Arc::new(AtomicUsize::new(0));
    let saver = tokio::spawn(save_messages(
        server.delivered().clone(),
        store.clone(),
        args.out.clone(),
        saved.clone(),
    ));
    stop_signal().await?;
    eprintln!("mailrig: stopping");
    saver.abort();
    // abort() takes effect at the saver's next await, and the saver may be saving on another
    // worker right now: wait, so that the final save below never runs beside it.
    let _ = saver.await;
    let recordings = server.recordings().clone();
    server.shutdown(Duration::from_secs(2)).await;
    let transcript = recordings.transcript();
    // The saver may have been stopped mid-way: save (and log) whatever it had not reached.
    let mut seen = saved.load(Ordering::SeqCst);
    save_messages_now(&store, args.out.as_deref(), &mut seen)?;
    if let Some(dir) = &args.out {
        save_transcripts(&transcript, dir)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Waits for Ctrl-C (SIGINT) or SIGTERM.
pub(crate) async fn stop_signal() -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot wait for SIGTERM")?;
    tokio::select! {
        interrupted = tokio::signal::ctrl_c() => interrupted.context("cannot wait for Ctrl-C"),
        _ = term.recv() => Ok(()),
    }
}

/// The `--import LOGIN:PATH` values.
fn imports(specs: &[String]) -> anyhow::Result<Vec<(String, PathBuf)>> {
    specs
        .iter()
        .map(|spec| match spec.split_once(':') {
            Some((login, path)) => Ok((login.to_owned(), PathBuf::from(path))),
            None => bail!("--import {spec}: expected LOGIN:PATH, e.g. alice:mail/Maildir"),
        })
        .collect()
}

/// The `--user` values; none means the default users (see `seed_store`).
fn users(specs: &[String]) -> anyhow::Result<Vec<User>> {
    specs
        .iter()
        .map(|spec| match spec.splitn(3, ':').collect::<Vec<_>>().as_slice() {
            [login, password, address] if !login.is_empty() => Ok(User::new(login, password, [*address])),
            _ => {
                bail!("--user {spec}: expected LOGIN:PASSWORD:ADDRESS, e.g. alice:secret:alice@example.test")
            }
        })
        .collect()
}

fn listeners(args: &ServeArgs) -> anyhow::Result<Vec<(Protocol, SocketAddr)>> {
    let mut out = Vec::new();
    for (service, value) in [
        (Protocol::Smtp, &args.smtp),
        (Protocol::Submission, &args.submission),
        (Protocol::Smtps, &args.smtps),
        (Protocol::Imap, &args.imap),
        (Protocol::Imaps, &args.imaps),
    ] {
        if value == "off" || (args.no_tls && service.implicit_tls()) {
            continue;
        }
        let addr: SocketAddr = value
            .parse()
            .with_context(|| format!("--{} {value}: expected HOST:PORT or off", service.keyword()))?;
        out.push((service, addr));
    }
    if out.is_empty() {
        bail!("every listener is off: nothing to serve");
    }
    Ok(out)
}

fn tls(args: &ServeArgs) -> anyhow::Result<TlsSetting> {
    Ok(match (&args.cert, &args.key) {
        _ if args.no_tls => TlsSetting::Off,
        (Some(cert), Some(key)) => TlsSetting::Identity(Identity::from_pem_files(cert, key, None)?),
        _ => TlsSetting::Generate,
    })
}

fn smtp_options(args: &ServeArgs) -> anyhow::Result<SmtpOptions> {
    let mut options = SmtpOptions::default();
    let config = &mut options.config;
    config.require_auth = args.require_auth;
    config.require_tls_for_auth = !args.allow_plaintext_auth;
    config.accept_any_recipient = args.accept_any_recipient;
    config.max_message_size = Some(args.max_message_size);
    options.trace_headers = args.trace_headers;
    for word in &args.disabled {
        mailrig::rig::disable_smtp(&mut options, word).map_err(|e| anyhow::anyhow!("--disable {e}"))?;
    }
    Ok(options)
}

fn imap_options(args: &ServeArgs) -> anyhow::Result<ImapOptions> {
    let mut options = ImapOptions::default();
    let config = &mut options.config;
    config.login_disabled_before_tls = !args.allow_plaintext_auth;
    config.versions = match args.imap_version.to_ascii_lowercase().as_str() {
        "both" => Versions::Both,
        "rev1" | "imap4rev1" => Versions::Rev1,
        "rev2" | "imap4rev2" => Versions::Rev2,
        other => bail!("--imap-version {other}: expected both, rev1 or rev2"),
    };
    config.max_literal = args.imap_max_literal;
    config.quota = mailrig_imap::Quota {
        storage_kib: args.imap_quota_storage,
        messages: args.imap_quota_messages,
    };
    for word in &args.imap_disabled {
        mailrig::rig::disable_imap(&mut options, word).map_err(|e| anyhow::anyhow!("--imap-disable {e}"))?;
    }
    Ok(options)
}

/// Parses `--fault` rules; an error shows the rule with a caret under the problem.
pub(crate) fn fault_rules(texts: &[String]) -> anyhow::Result<Vec<mailrig_fault::Rule>> {
    mailrig_fault::parse_rules(texts).map_err(|(i, e)| anyhow::anyhow!("--fault:\n{}", e.render(&texts[i])))
}

/// Prints the fault rules as they run, seed included, so the run can be repeated
/// (`serve` and `replay` both show them).
pub(crate) fn announce_faults(faults: &mailrig_server::fault::FaultSet) {
    println!("  fault seed  {}", faults.seed());
    for rule in faults.rules() {
        println!("  fault       {rule}");
    }
}

/// Prints what is running, for people.
fn announce(server: &Server, store: &Store, ca: Option<&Path>) {
    println!("mailrig is serving (Ctrl-C stops it)");
    for bound in server.listeners() {
        println!("  {:<11} {}", bound.name, bound.addr);
    }
    match ca {
        Some(path) => println!(
            "  CA          {} (trust it in your client; the certificate names localhost)",
            path.display()
        ),
        None => println!("  TLS         off"),
    }
    if let Some(faults) = server.faults() {
        announce_faults(faults);
    }
    for user in store.users() {
        println!(
            "  user        {} / {}  <{}>",
            user.login,
            user.password,
            user.addresses.join(", ")
        );
    }
}

fn write_ready_file(path: &Path, server: &Server, store: &Store, ca: Option<&Path>) -> anyhow::Result<()> {
    let mut ready = serde_json::Map::new();
    for bound in server.listeners() {
        ready.insert(bound.name.to_owned(), bound.addr.to_string().into());
    }
    ready.insert("ca".to_owned(), ca.map(|p| p.display().to_string()).into());
    let users: Vec<serde_json::Value> = store
        .users()
        .iter()
        .map(
            |u| serde_json::json!({"login": u.login, "password": u.password, "address": u.addresses.first()}),
        )
        .collect();
    ready.insert("users".to_owned(), users.into());
    let text = serde_json::to_string_pretty(&serde_json::Value::Object(ready))?;
    write_ready(path, &text)
}

/// Writes a ready file: to a `.partial` file first, then renamed, so a script polling for the
/// file never reads half of it (`serve`, `replay` and `record` all write one).
pub(crate) fn write_ready(path: &Path, text: &str) -> anyhow::Result<()> {
    let partial = path.with_extension("partial");
    std::fs::write(&partial, text).with_context(|| format!("cannot write {}", partial.display()))?;
    std::fs::rename(&partial, path).with_context(|| format!("cannot write {}", path.display()))
}

/// Logs every accepted message and, with `--out`, writes it as `messages/N.eml`.
async fn save_messages(delivered: Arc<Notify>, store: Store, out: Option<PathBuf>, saved: Arc<AtomicUsize>) {
    loop {
        let notified = delivered.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let mut seen = saved.load(Ordering::SeqCst);
        // File writes block: let the runtime (multi-threaded, see `serve`) move the worker's
        // other tasks, the connections, elsewhere meanwhile. Without `--out` there are none,
        // and handing the worker over on every delivery would cost more than the log line.
        let result = match out.as_deref() {
            Some(dir) => tokio::task::block_in_place(|| save_messages_now(&store, Some(dir), &mut seen)),
            None => save_messages_now(&store, None, &mut seen),
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "cannot save a message");
        }
        saved.store(seen, Ordering::SeqCst);
        notified.await;
    }
}

/// Logs (and with `dir`, saves) the messages accepted since the first `seen`.
fn save_messages_now(store: &Store, dir: Option<&Path>, seen: &mut usize) -> anyhow::Result<()> {
    let fresh = store.envelopes_since(*seen);
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir.join("messages"))?;
    }
    for envelope in &fresh {
        let number = *seen + 1;
        tracing::info!(number, session = envelope.session_id, from = %envelope.mail_from, to = ?envelope.rcpt_to, bytes = envelope.data.len(), "message accepted");
        if let Some(dir) = dir {
            std::fs::write(
                dir.join("messages").join(format!("{number:04}.eml")),
                &envelope.data,
            )?;
        }
        // Counted one by one: after a failed write, the next call starts at that message
        // instead of logging and writing the earlier ones again.
        *seen = number;
    }
    Ok(())
}

fn save_transcripts(transcript: &mailrig_transcript::Transcript, dir: &Path) -> anyhow::Result<()> {
    let target = dir.join("transcripts");
    std::fs::create_dir_all(&target)?;
    for session in &transcript.sessions {
        let one = mailrig_transcript::Transcript {
            sessions: vec![session.clone()],
        };
        let options = RecordOptions {
            name: session.name.clone(),
            redact: false,
            redact_credentials: true,
        };
        let text = print_transcript(&one, &options);
        std::fs::write(target.join(format!("{}.scenario", session.name)), text)?;
    }
    Ok(())
}
