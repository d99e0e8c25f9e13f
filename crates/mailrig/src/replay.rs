//! `mailrig replay`: serves one scenario's server side to a real client and says whether the
//! client followed the script. Prints the listeners and the CA file, waits for the client,
//! then prints the verdict (on divergence, the diff at the file position). Exit codes: 0 the
//! client followed the script, 1 it diverged, 2 usage or I/O error (also: no client came).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use mailrig_runner::replay::{Replay, ReplayConfig, Replayed};
use mailrig_runner::suite;
use mailrig_runner::target::Endpoints;
use mailrig_server::tls::Identity;
use mailrig_transcript::Scenario;
use mailrig_transcript::record::{RecordOptions, print_transcript};
use mailrig_transcript::scenario::Protocol;

/// Arguments of `mailrig replay`.
#[derive(Debug, clap::Args)]
pub(crate) struct ReplayArgs {
    /// The scenario to serve (`plays: server`, `plays: both` or no `plays:`).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Listen for PROTO (smtp, submission, smtps, imap, imaps) on ADDR; repeatable. Default:
    /// 127.0.0.1 with a free port, for each protocol the scenario's sessions use.
    #[arg(long = "listen", value_name = "PROTO=ADDR", value_parser = parse_listen)]
    listen: Vec<(Protocol, SocketAddr)>,
    /// Serve this certificate chain (PEM) instead of a generated one; needs --key.
    #[arg(long, value_name = "PEM", requires = "key")]
    cert: Option<PathBuf>,
    /// The private key (PEM) for --cert.
    #[arg(long, value_name = "PEM", requires = "cert")]
    key: Option<PathBuf>,
    /// A variable for the scenario, NAME=VALUE (repeatable); overrides its `vars:` and the
    /// defaults (user=alice, password=secret, user2=bob, password2=secret, domain=example.test).
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    vars: Vec<(String, String)>,
    /// How long to wait for the client at each step, e.g. 5s or 500ms.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    timeout: Duration,
    /// How long to wait for the first connection.
    #[arg(long, default_value = "60s", value_parser = parse_duration, value_name = "DURATION")]
    connect_timeout: Duration,
    /// Write the CA (ca.pem) and, at the end, the transcript (transcript.scenario) here.
    /// Default for the CA: a mailrig-replay-PID directory in the system's temporary directory.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Once the listeners accept connections, write a JSON object with each protocol's
    /// "HOST:PORT" and "ca" (the CA file) here.
    #[arg(long, value_name = "FILE")]
    ready_file: Option<PathBuf>,
    /// Write the verdict as JSON here.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Make the replay's own writes misbehave (repeatable), after the file's `faults:`: a
    /// fault rule keyed by the step the `S:` lines answer, such as `rcpt#2: reply 452 4.2.2
    /// full` or `greeting: reply 421 busy` (syntax in docs/faults.md).
    #[arg(long = "fault", value_name = "RULE")]
    faults: Vec<String>,
    /// The seed for random fault rules that name none (default 0; printed).
    #[arg(long, value_name = "N")]
    fault_seed: Option<u64>,
}

fn parse_listen(text: &str) -> Result<(Protocol, SocketAddr), String> {
    let bad = || format!("`{text}` is not PROTO=HOST:PORT, e.g. imap=127.0.0.1:1143");
    let (proto, addr) = text.split_once('=').ok_or_else(bad)?;
    let protocol = Protocol::from_keyword(proto)
        .ok_or_else(|| format!("`{proto}` is not one of smtp, submission, smtps, imap, imaps"))?;
    Ok((protocol, addr.parse().map_err(|_| bad())?))
}

fn parse_var(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(format!("`{text}` is not NAME=VALUE")),
    }
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    mailrig_transcript::scenario::parse_duration(text)
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("`{text}` is not a duration such as 5s or 500ms"))
}

pub(crate) fn replay(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let shown = args.file.display().to_string();
    let scenario = load(&args.file, &shown, &text)?;
    mailrig_runner::faults::scenario_faults(&scenario, &shown)
        .map_err(|e| anyhow::anyhow!("{}", e.join("\n")))?;
    let rules = crate::serve::fault_rules(&args.faults)?;
    let config = config(&args, &scenario)?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let replayed = runtime.block_on(async {
        let seed = args.fault_seed.unwrap_or(0);
        let replay = Replay::start_with_faults(scenario.clone(), config, rules, seed)
            .await
            .with_context(|| format!("cannot replay {shown}"))?;
        let ca = announce(&args, &replay, &scenario, &shown)?;
        let result = replay
            .finish()
            .await
            .with_context(|| format!("replay of {shown}"));
        anyhow::Ok((result?, ca))
    })?;
    let (replayed, ca) = replayed;
    let passed = replayed.report.passed();
    if passed {
        println!(
            "PASS  {} ({shown}): the client followed the script",
            scenario.header.name
        );
    } else {
        print!(
            "{}",
            mailrig_transcript::report::render(&replayed.report, &shown, &text)
        );
    }
    if let Some(dir) = &args.out {
        write_transcript(dir, &replayed)?;
    }
    if let Some(path) = &args.json {
        let json = verdict_json(&replayed, &shown, &text, &ca);
        std::fs::write(path, json).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Parses the file and loads its literal files; a malformed file is a usage error (exit 2).
fn load(file: &Path, shown: &str, text: &str) -> anyhow::Result<Scenario> {
    let mut scenario = mailrig_transcript::parse(shown, text).map_err(|e| anyhow::anyhow!("{e}"))?;
    let dir = file.parent().unwrap_or(Path::new("."));
    scenario
        .load_literals(|path| std::fs::read(dir.join(path)).map_err(|e| e.to_string()))
        .map_err(|(pos, e)| anyhow::anyhow!("{shown}:{pos}: {e}"))?;
    Ok(scenario)
}

fn config(args: &ReplayArgs, scenario: &Scenario) -> anyhow::Result<ReplayConfig> {
    let identity = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => Some(Identity::from_pem_files(cert, key, None)?),
        _ => None,
    };
    // The variables `mailrig run` sets for mailrig's own servers, so shipped files replay as
    // they are, below the file's own `vars:`; --var overrides both.
    let mut vars: BTreeMap<String, String> = suite::variables(&suite::own_accounts(), &Endpoints::default());
    vars.retain(|name, _| !scenario.header.vars.iter().any(|(declared, _)| declared == name));
    vars.extend(args.vars.iter().cloned());
    Ok(ReplayConfig {
        listen: args.listen.clone(),
        identity,
        vars,
        receive_timeout: args.timeout,
        connect_timeout: args.connect_timeout,
        ..ReplayConfig::default()
    })
}

/// Writes the CA file and the ready file and prints the listeners; returns the CA path.
fn announce(args: &ReplayArgs, replay: &Replay, scenario: &Scenario, shown: &str) -> anyhow::Result<PathBuf> {
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("mailrig-replay-{}", std::process::id())));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, replay.ca_pem()).with_context(|| format!("cannot write {}", ca.display()))?;
    println!(
        "mailrig is replaying {} ({shown}); waiting for the client",
        scenario.header.name
    );
    for (protocol, addr) in replay.listeners() {
        let sessions: Vec<&str> = scenario
            .sessions()
            .iter()
            .filter(|s| s.protocol == *protocol)
            .map(|s| s.name.as_str())
            .collect();
        println!(
            "  {:<11} {addr}  (session {})",
            protocol.keyword(),
            sessions.join(", ")
        );
    }
    println!(
        "  CA          {} (trust it in your client; the certificate names localhost)",
        ca.display()
    );
    if let Some(faults) = replay.faults() {
        crate::serve::announce_faults(faults);
    }
    if let Some(path) = &args.ready_file {
        write_ready_file(path, replay, &ca)?;
    }
    Ok(ca)
}

fn write_ready_file(path: &Path, replay: &Replay, ca: &Path) -> anyhow::Result<()> {
    let mut ready = serde_json::Map::new();
    for (protocol, addr) in replay.listeners() {
        ready.insert(protocol.keyword().to_owned(), addr.to_string().into());
    }
    ready.insert("ca".to_owned(), ca.display().to_string().into());
    let text = serde_json::to_string_pretty(&serde_json::Value::Object(ready))?;
    crate::serve::write_ready(path, &text)
}

fn write_transcript(dir: &Path, replayed: &Replayed) -> anyhow::Result<()> {
    let options = RecordOptions {
        name: replayed.report.scenario.clone(),
        redact: false,
        redact_credentials: false,
    };
    let path = dir.join("transcript.scenario");
    std::fs::write(&path, print_transcript(&replayed.transcript, &options))
        .with_context(|| format!("cannot write {}", path.display()))
}

fn verdict_json(replayed: &Replayed, shown: &str, text: &str, ca: &Path) -> String {
    let failure = replayed.report.failure().map(|f| {
        serde_json::json!({
            "session": f.session,
            "line": f.pos.line,
            "col": f.pos.col,
            "reason": f.reason,
            "diff": mailrig_transcript::report::render(&replayed.report, shown, text),
        })
    });
    let json = serde_json::json!({
        "scenario": replayed.report.scenario,
        "file": shown,
        "passed": replayed.report.passed(),
        "ca": ca.display().to_string(),
        "failure": failure,
    });
    serde_json::to_string_pretty(&json).unwrap_or_default()
}
