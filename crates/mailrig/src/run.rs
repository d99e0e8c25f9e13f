//! `mailrig run`: plays scenarios against servers (the servers under test, or mailrig's own
//! when no target is given) and reports, as lines, JUnit XML and JSON. Exit codes: 0 every
//! scenario passed (or was skipped, or is a known failure), 1 failures, 2 harness or usage
//! error (an unreachable target, a bad flag).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use mailrig_runner::suite::{self, Account, Entry};
use mailrig_runner::target::{Endpoint, Endpoints, Trust};
use mailrig_runner::{Ledger, Outcome, RunConfig, Selection, Target, Verdict};
use mailrig_transcript::record::{RecordOptions, print_transcript};
use mailrig_transcript::scenario::Protocol;

/// Arguments of `mailrig run`.
#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    /// Scenario files or directories (searched recursively). Default: `scenarios/`.
    #[arg(value_name = "FILE|DIR")]
    paths: Vec<PathBuf>,
    /// SMTP server under test for `smtp` sessions: smtp://HOST:PORT.
    #[arg(long, value_name = "URL")]
    smtp: Option<String>,
    /// Submission server for `submission` sessions: smtp://HOST:PORT (STARTTLS).
    #[arg(long, value_name = "URL")]
    submission: Option<String>,
    /// SMTP over implicit TLS for `smtps` sessions: smtps://HOST:PORT.
    #[arg(long, value_name = "URL")]
    smtps: Option<String>,
    /// IMAP server for `imap` sessions: imap://HOST:PORT (or imaps://, which then also serves
    /// `imaps` sessions).
    #[arg(long, value_name = "URL")]
    imap: Option<String>,
    /// IMAP over implicit TLS for `imaps` sessions: imaps://HOST:PORT.
    #[arg(long, value_name = "URL")]
    imaps: Option<String>,
    /// An account on the target, LOGIN:PASSWORD[:ADDRESS]; repeat for a second account. The
    /// first is ${user}/${password}, the second ${user2}/${password2}.
    #[arg(long = "user", value_name = "LOGIN:PASSWORD[:ADDRESS]")]
    users: Vec<String>,
    /// Trust the CA certificates in this PEM file (default: the system roots).
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// Accept any server certificate (for servers with self-signed certificates).
    #[arg(long, conflicts_with = "ca")]
    insecure: bool,
    /// Only scenarios whose name matches this glob (`*`, `?`); repeatable.
    #[arg(long = "filter", value_name = "GLOB")]
    filters: Vec<String>,
    /// Only scenarios with this tag; repeatable (any of them).
    #[arg(long = "tag", value_name = "TAG")]
    tags: Vec<String>,
    /// Known-failure ledger (TOML); repeatable.
    #[arg(long = "ledger", value_name = "FILE")]
    ledgers: Vec<PathBuf>,
    /// Scenarios played at the same time.
    #[arg(short = 'j', long, default_value_t = 1, value_name = "N")]
    jobs: usize,
    /// Run only shard K of N (1-based; deterministic over the sorted file list).
    #[arg(long, value_name = "K/N", value_parser = parse_partition)]
    partition: Option<(usize, usize)>,
    /// How long to wait for the server at each step, e.g. 5s or 500ms.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    timeout: Duration,
    /// Write a JUnit XML report here.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write a JSON report here.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write each failed scenario's full transcript here, as a scenario file.
    #[arg(long, value_name = "DIR")]
    artifacts: Option<PathBuf>,
    /// Print only failures and the summary.
    #[arg(short, long)]
    quiet: bool,
}

fn parse_partition(text: &str) -> Result<(usize, usize), String> {
    let bad = || format!("`{text}` is not K/N with 1 <= K <= N");
    let (k, n) = text.split_once('/').ok_or_else(bad)?;
    let (k, n): (usize, usize) = (k.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
    if k == 0 || n == 0 || k > n {
        return Err(bad());
    }
    Ok((k, n))
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    mailrig_transcript::scenario::parse_duration(text)
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("`{text}` is not a duration such as 5s or 500ms"))
}

pub(crate) fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let paths = if args.paths.is_empty() {
        let default = PathBuf::from("scenarios");
        if !default.is_dir() {
            bail!(
                "no scenarios/ directory here: run from a mailrig checkout, or pass scenario files or directories"
            );
        }
        vec![default]
    } else {
        args.paths.clone()
    };
    let target = target(&args)?;
    let mut ledger = Ledger::default();
    for path in &args.ledgers {
        ledger.load(path)?;
    }
    let entries = suite::load(&paths)?;
    let selection = Selection {
        filters: args.filters.clone(),
        tags: args.tags.clone(),
        partition: args.partition,
    };
    let entries = selection.apply(entries);
    if entries.is_empty() {
        bail!("no scenario matches the selection");
    }
    let config = RunConfig {
        target,
        jobs: args.jobs,
        timeout: args.timeout,
        ledger,
    };
    let started = Instant::now();
    let total = entries.len();
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let quiet = args.quiet;
    let outcomes = runtime
        .block_on(suite::run(entries.clone(), &config, |o| show(o, quiet)))
        .map_err(anyhow::Error::msg)?;
    let elapsed = started.elapsed();
    if let Some(path) = &args.junit {
        std::fs::write(path, junit(&outcomes, elapsed))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.json {
        std::fs::write(path, json(&outcomes)).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(dir) = &args.artifacts {
        artifacts(dir, &outcomes, &entries)?;
    }
    summary(&outcomes, total, elapsed);
    Ok(if outcomes.iter().any(|o| o.verdict.fails_run()) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The target from the flags: mailrig's own servers when none is given.
fn target(args: &RunArgs) -> anyhow::Result<Target> {
    let mut endpoints = Endpoints::default();
    let given = [
        (&args.smtp, Protocol::Smtp),
        (&args.submission, Protocol::Submission),
        (&args.smtps, Protocol::Smtps),
        (&args.imap, Protocol::Imap),
        (&args.imaps, Protocol::Imaps),
    ];
    for (url, protocol) in given {
        let Some(url) = url else { continue };
        let endpoint = Endpoint::parse(url, protocol)?;
        let protocol = match (protocol, endpoint.implicit_tls) {
            (Protocol::Imap, true) => Protocol::Imaps,
            (Protocol::Smtp, true) => Protocol::Smtps,
            (p, tls) if p.implicit_tls() && !tls => {
                bail!("--{} needs an {}s:// URL", p.keyword(), p.family().keyword())
            }
            (p, _) => p,
        };
        endpoints.set(protocol, endpoint);
    }
    if endpoints.is_empty() {
        if !args.users.is_empty() || args.ca.is_some() || args.insecure {
            bail!(
                "--user, --ca and --insecure need a target (--smtp, --submission, --smtps, --imap or --imaps)"
            );
        }
        return Ok(Target::Own);
    }
    let accounts = args
        .users
        .iter()
        .map(|u| {
            Account::parse(u).with_context(|| format!("--user `{u}`: expected LOGIN:PASSWORD[:ADDRESS]"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    if accounts.is_empty() {
        bail!("a target needs at least one --user LOGIN:PASSWORD[:ADDRESS] to log in with");
    }
    let trust = match (&args.ca, args.insecure) {
        (Some(path), _) => Trust::ca_file(path)?,
        (None, true) => Trust::Insecure,
        (None, false) => Trust::system()?,
    };
    Ok(Target::Remote {
        endpoints,
        trust,
        accounts,
    })
}

/// One line per scenario as it finishes; a failure's diff under it.
fn show(outcome: &Outcome, quiet: bool) {
    let mut out = std::io::stdout().lock();
    let ms = outcome.duration.as_millis();
    let line = format!(
        "{:<5} {} ({}, {ms} ms)",
        outcome.verdict.word(),
        outcome.path,
        outcome.name
    );
    match &outcome.verdict {
        Verdict::Pass if quiet => {}
        Verdict::Pass => drop(writeln!(out, "{line}")),
        Verdict::Skip(reason) | Verdict::KnownFailure(reason) if !quiet => {
            drop(writeln!(out, "{line}: {reason}"));
        }
        Verdict::Skip(_) | Verdict::KnownFailure(_) => {}
        Verdict::Fail(diff) => drop(writeln!(out, "{line}\n{diff}")),
        Verdict::Error(reason) | Verdict::UnexpectedPass(reason) => drop(writeln!(out, "{line}: {reason}")),
    }
    if let Some(warning) = &outcome.warning {
        drop(writeln!(out, "WARN  {}: {warning}", outcome.path));
    }
}

fn summary(outcomes: &[Outcome], total: usize, elapsed: Duration) {
    let count = |word: &str| outcomes.iter().filter(|o| o.verdict.word() == word).count();
    let mut parts = vec![
        format!("{} passed", count("PASS")),
        format!("{} failed", count("FAIL")),
        format!("{} skipped", count("SKIP")),
    ];
    for (word, label) in [
        ("KNOWN", "known failures"),
        ("XPASS", "listed but passed"),
        ("ERROR", "errors"),
    ] {
        let n = count(word);
        if n > 0 {
            parts.push(format!("{n} {label}"));
        }
    }
    println!(
        "\nran {total} scenario(s) in {:.2}s: {}",
        elapsed.as_secs_f64(),
        parts.join(", ")
    );
}

fn artifacts(dir: &Path, outcomes: &[Outcome], entries: &[Entry]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (outcome, entry) in outcomes.iter().zip(entries) {
        if !matches!(outcome.verdict, Verdict::Fail(_) | Verdict::KnownFailure(_)) {
            continue;
        }
        let file = dir.join(format!("{}.scenario", entry.name()));
        let text = print_transcript(&outcome.transcript, &RecordOptions::default());
        std::fs::write(&file, text).with_context(|| format!("cannot write {}", file.display()))?;
    }
    Ok(())
}

/// JUnit XML as CI systems render it: one testsuite, one testcase per scenario, the diff as
/// the failure text, skips with their reasons.
fn junit(outcomes: &[Outcome], elapsed: Duration) -> String {
    let count = |f: fn(&Verdict) -> bool| outcomes.iter().filter(|o| f(&o.verdict)).count();
    let failures = count(|v| matches!(v, Verdict::Fail(_) | Verdict::UnexpectedPass(_)));
    let errors = count(|v| matches!(v, Verdict::Error(_)));
    let skipped = count(|v| matches!(v, Verdict::Skip(_) | Verdict::KnownFailure(_)));
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    xml += &format!(
        "<testsuites name=\"mailrig\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{:.3}\">\n",
        outcomes.len(),
        elapsed.as_secs_f64()
    );
    xml += &format!(
        "  <testsuite name=\"mailrig run\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{:.3}\">\n",
        outcomes.len(),
        elapsed.as_secs_f64()
    );
    for o in outcomes {
        xml += &format!(
            "    <testcase name=\"{}\" classname=\"{}\" file=\"{}\" time=\"{:.3}\"",
            escape(&o.name),
            escape(&o.path.replace(['/', '\\'], ".")),
            escape(&o.path),
            o.duration.as_secs_f64()
        );
        let body = match &o.verdict {
            Verdict::Pass => None,
            Verdict::Fail(diff) => Some(format!(
                "<failure message=\"scenario failed\">{}</failure>",
                escape(diff)
            )),
            Verdict::UnexpectedPass(reason) => Some(format!("<failure message=\"{}\"/>", escape(reason))),
            Verdict::Error(reason) => Some(format!("<error message=\"{}\"/>", escape(reason))),
            Verdict::Skip(reason) => Some(format!("<skipped message=\"{}\"/>", escape(reason))),
            Verdict::KnownFailure(reason) => Some(format!(
                "<skipped message=\"known failure: {}\"/>",
                escape(reason)
            )),
        };
        match body {
            None => xml += "/>\n",
            Some(body) => xml += &format!(">\n      {body}\n    </testcase>\n"),
        }
    }
    xml += "  </testsuite>\n</testsuites>\n";
    xml
}

/// XML text and attribute escaping; characters XML 1.0 cannot carry become U+FFFD.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' | '\t' => out.push(c),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// A JSON report: one object per scenario (file, name, verdict, detail, milliseconds).
/// Reports of several `--partition` shards concatenate into one list.
fn json(outcomes: &[Outcome]) -> String {
    let items: Vec<serde_json::Value> = outcomes
        .iter()
        .map(|o| {
            let detail = match &o.verdict {
                Verdict::Pass => None,
                Verdict::Fail(s)
                | Verdict::Skip(s)
                | Verdict::Error(s)
                | Verdict::KnownFailure(s)
                | Verdict::UnexpectedPass(s) => Some(s.clone()),
            };
            serde_json::json!({
                "file": o.path,
                "name": o.name,
                "verdict": o.verdict.word().to_ascii_lowercase(),
                "detail": detail,
                "ms": o.duration.as_millis() as u64,
            })
        })
        .collect();
    let mut text =
        serde_json::to_string_pretty(&serde_json::json!({ "scenarios": items })).unwrap_or_default();
    text.push('\n');
    text
}
