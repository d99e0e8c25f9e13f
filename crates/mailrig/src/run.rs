//! `mailrig run`: plays scenarios against servers (the servers under test, or mailrig's own
//! when no target is given) and reports, as lines, JUnit XML and JSON. Exit codes: 0 every
//! scenario passed (or was skipped, or is a known failure), 1 failures, 2 harness or usage
//! error (an unreachable target, a bad flag).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use mailrig_runner::suite::{self, Account};
use mailrig_runner::target::{Endpoint, Endpoints, Trust};
use mailrig_runner::{Ledger, Outcome, RunConfig, Selection, Target, Verdict};
use mailrig_transcript::record::{RecordOptions, print_transcript};
use mailrig_transcript::scenario::Protocol;

use crate::report::Report;

/// Arguments of `mailrig run`.
#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    /// Scenario files or directories (searched recursively). Default: `scenarios/`.
    #[arg(value_name = "FILE|DIR")]
    paths: Vec<PathBuf>,
    /// Test a mail client instead of servers: run the flows of this client profile
    /// (docs/client-profiles.md) against mailrig's own servers.
    #[arg(long, value_name = "PROFILE", conflicts_with_all = ["paths", "smtp", "submission", "smtps", "imap", "imaps", "users", "ca", "insecure", "filters", "tags", "partition"])]
    pub(crate) client: Option<PathBuf>,
    /// With --client: only this flow (send, fetch, mark-read, flag, move, delete, sync);
    /// repeatable. Default: every flow of the profile.
    #[arg(long = "flow", value_name = "FLOW", requires = "client")]
    pub(crate) flows: Vec<String>,
    /// With --client: only this TLS mode (none, starttls, tls); repeatable. Default: every
    /// mode each flow supports.
    #[arg(long = "tls", value_name = "MODE", requires = "client")]
    pub(crate) tls: Vec<String>,
    /// With --client: run the flows against a replay of this `plays: server` (or
    /// both-direction) scenario instead of mailrig's own servers (docs/client-profiles.md);
    /// repeatable, one result per (flow, mode, scenario). Default modes: `starttls` for a
    /// plaintext session, `tls` for an implicit-TLS one.
    #[arg(long = "replay", value_name = "FILE", requires = "client")]
    pub(crate) replays: Vec<PathBuf>,
    /// With --client: make mailrig's model servers (or, with --replay, the replay's own
    /// writes) misbehave (repeatable): a fault rule such as `imap APPEND: reply NO
    /// [OVERQUOTA] quota exceeded` (syntax in docs/faults.md).
    #[arg(long = "fault", value_name = "RULE", requires = "client")]
    pub(crate) faults: Vec<String>,
    /// With --fault: the seed for random rules that name none (default 0; printed).
    #[arg(long, value_name = "N", requires = "faults")]
    pub(crate) fault_seed: Option<u64>,
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
    pub(crate) ledgers: Vec<PathBuf>,
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
    pub(crate) quiet: bool,
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

pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    mailrig_transcript::scenario::parse_duration(text)
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("`{text}` is not a duration such as 5s or 500ms"))
}

pub(crate) fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    if args.client.is_some() {
        return crate::client::run(args);
    }
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
    let progress = Progress::new(total, args.quiet);
    let outcomes = runtime
        .block_on(suite::run(entries, &config, |o| progress.show(o)))
        .map_err(anyhow::Error::msg);
    progress.finish();
    let outcomes = outcomes?;
    finish(&args, &outcomes, total, started.elapsed())
}

/// Writes the reports the flags ask for, prints the summary and returns the exit code: the
/// end of every `mailrig run`, for scenarios and for client profiles alike.
pub(crate) fn finish(
    args: &RunArgs,
    outcomes: &[Outcome],
    total: usize,
    elapsed: Duration,
) -> anyhow::Result<ExitCode> {
    let what = if args.client.is_some() {
        "client flow(s)"
    } else {
        "scenario(s)"
    };
    let report = Report::from_outcomes(outcomes, elapsed);
    if let Some(path) = &args.junit {
        std::fs::write(path, report.junit()).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.json {
        std::fs::write(path, report.to_json()).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(dir) = &args.artifacts {
        artifacts(dir, outcomes)?;
    }
    summary(&report, total, what, elapsed);
    Ok(exit_code(outcomes.iter().map(|o| &o.verdict)))
}

/// 2 when the harness could not run some scenario (an ERROR), else 1 when one failed (or a
/// ledger entry passed), else 0.
pub(crate) fn exit_code<'a>(verdicts: impl Iterator<Item = &'a Verdict>) -> ExitCode {
    let (mut error, mut failed) = (false, false);
    for verdict in verdicts {
        error |= matches!(verdict, Verdict::Error(_));
        failed |= verdict.fails_run();
    }
    match (error, failed) {
        (true, _) => ExitCode::from(2),
        (false, true) => ExitCode::from(1),
        (false, false) => ExitCode::SUCCESS,
    }
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

/// How finished scenarios are shown: plain lines, or on a terminal (stdout is one and
/// `NO_COLOR` is unset) a progress bar with the lines that matter printed above it.
pub(crate) enum Progress {
    Lines {
        quiet: bool,
    },
    Bar {
        bar: indicatif::ProgressBar,
        quiet: bool,
    },
}

impl Progress {
    pub(crate) fn new(total: usize, quiet: bool) -> Progress {
        use std::io::IsTerminal;
        if !wants_bar(
            std::io::stdout().is_terminal(),
            std::env::var_os("NO_COLOR").is_some(),
        ) {
            return Progress::Lines { quiet };
        }
        let target = indicatif::ProgressDrawTarget::stdout();
        let bar = indicatif::ProgressBar::with_draw_target(Some(total as u64), target);
        let style = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {elapsed} {msg}");
        if let Ok(style) = style {
            bar.set_style(style);
        }
        Progress::Bar { bar, quiet }
    }

    /// Shows one finished scenario. With a bar, passes only advance it; every other line is
    /// printed above it (`suspend`, so the bar and the lines never interleave).
    pub(crate) fn show(&self, outcome: &Outcome) {
        match self {
            Progress::Lines { quiet } => print!("{}", lines(outcome, *quiet)),
            Progress::Bar { bar, quiet } => {
                // The bar counts the passes; everything else is a line above it.
                let text = match outcome.verdict {
                    Verdict::Pass => String::new(),
                    _ => lines(outcome, *quiet),
                };
                if !text.is_empty() {
                    bar.suspend(|| print!("{text}"));
                }
                bar.set_message(outcome.name.clone());
                bar.inc(1);
            }
        }
    }

    pub(crate) fn finish(&self) {
        if let Progress::Bar { bar, .. } = self {
            bar.finish_and_clear();
        }
    }
}

/// A bar only on a terminal, and never with `NO_COLOR` set.
fn wants_bar(stdout_is_terminal: bool, no_color: bool) -> bool {
    stdout_is_terminal && !no_color
}

/// One line per scenario as it finishes; a failure's diff under it; a clean-up warning.
fn lines(outcome: &Outcome, quiet: bool) -> String {
    let ms = outcome.duration.as_millis();
    let line = format!(
        "{:<5} {} ({}, {ms} ms)",
        outcome.verdict.word(),
        outcome.path,
        outcome.name
    );
    let mut out = match &outcome.verdict {
        Verdict::Pass if quiet => String::new(),
        Verdict::Pass => format!("{line}\n"),
        Verdict::Skip(reason) | Verdict::KnownFailure(reason) if !quiet => format!("{line}: {reason}\n"),
        Verdict::Skip(_) | Verdict::KnownFailure(_) => String::new(),
        Verdict::Fail(diff) => format!("{line}\n{diff}\n"),
        Verdict::Error(reason) | Verdict::UnexpectedPass(reason) => format!("{line}: {reason}\n"),
    };
    if let Some(warning) = &outcome.warning {
        out += &format!("WARN  {}: {warning}\n", outcome.path);
    }
    out
}

pub(crate) fn summary(report: &Report, total: usize, what: &str, elapsed: Duration) {
    println!(
        "\nran {total} {what} in {:.2}s: {}",
        elapsed.as_secs_f64(),
        report.summary()
    );
}

pub(crate) fn artifacts(dir: &Path, outcomes: &[Outcome]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for outcome in outcomes {
        if !matches!(outcome.verdict, Verdict::Fail(_) | Verdict::KnownFailure(_)) {
            continue;
        }
        let file = dir.join(format!("{}.scenario", outcome.name));
        let text = print_transcript(&outcome.transcript, &RecordOptions::default());
        std::fs::write(&file, text).with_context(|| format!("cannot write {}", file.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bar_only_on_a_terminal_without_no_color() {
        assert!(wants_bar(true, false));
        assert!(!wants_bar(true, true));
        assert!(!wants_bar(false, false));
    }
}
