//! Subcommands and their exit codes: 0 success, 1 findings (invalid or unformatted
//! scenarios), 2 usage or I/O error.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use mailrig_transcript::{ParseError, Scenario, parse_bytes_all, print};

/// mailrig: a test harness for SMTP and IMAP clients and servers.
///
/// Scenarios are RFC-style `C:`/`S:` transcripts (see docs/scenario-format.md). Exit codes:
/// 0 success, 1 findings (an invalid or unformatted scenario), 2 usage or I/O error.
#[derive(Debug, Parser)]
#[command(name = "mailrig", version, about, long_about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate scenario files: syntax, sessions, captures, literal files and fixtures.
    ///
    /// Directories are searched recursively for `*.scenario` files. Each error is reported as
    /// `file:line:col` with the offending line, what was expected and a hint.
    Check {
        /// Scenario files or directories.
        #[arg(required = true, value_name = "FILE|DIR")]
        paths: Vec<PathBuf>,
        /// Print nothing for valid files, only errors and the summary.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Play scenarios against SMTP/IMAP servers and check every exchange (the main job).
    ///
    /// With no target, plays the shipped suite (`scenarios/`) against mailrig's own servers,
    /// started in process for each scenario. With --smtp/--submission/--smtps/--imap/--imaps,
    /// plays against the servers under test. Scenarios whose `requires:` the target does not
    /// advertise are skipped with the reason. Exit codes: 0 passed, 1 failures, 2 harness or
    /// usage error (an unreachable target, a bad flag). With --client PROFILE, tests a mail
    /// client instead: its flows run against mailrig's own servers, or with --replay FILE
    /// against a replay of a `plays: server` scenario (docs/client-profiles.md).
    Run(Box<crate::run::RunArgs>),
    /// Serve a scenario's server side to a real client and check what the client does.
    ///
    /// Listens on 127.0.0.1 (a free port per protocol the scenario's sessions use, or
    /// --listen), prints the addresses and the CA file to trust, and assigns connections to
    /// the scenario's sessions in connect order, per protocol. Exit codes: 0 the client
    /// followed the script, 1 it diverged (the diff is printed), 2 usage or I/O error.
    Replay(Box<crate::replay::ReplayArgs>),
    /// Fuzz a mail client: run a profile's flow against generated server behaviour.
    ///
    /// Each case is a variation of a canonical `plays: server` scenario (legal variations the
    /// client must handle exactly as the canonical, hostile behaviour it must survive),
    /// served by a replay. The seed is printed on every run; a failure is shrunk and written
    /// as fuzz-failure-SEED.scenario with a repro command (docs/fuzzing.md). Exit codes: 0 no
    /// finding, 1 a finding, 2 usage or harness error.
    Fuzz(Box<crate::fuzz::FuzzArgs>),
    /// Work with `mailrig run` reports: merge the JSON reports of `--partition` shards.
    #[command(subcommand)]
    Report(crate::report::ReportCommand),
    /// Start fake SMTP and IMAP servers sharing one in-memory store.
    ///
    /// Listens on 127.0.0.1 by default: smtp 2525, submission 2587, smtps 2465, imap 2143,
    /// imaps 2993. Prints the
    /// addresses, users and the CA file to trust, logs one line per session and message, and
    /// stops cleanly on Ctrl-C or SIGTERM. With port 0 and --ready-file, scripts learn the ports from the
    /// JSON file.
    Serve(Box<crate::serve::ServeArgs>),
    /// Record a real client and server through a proxy, as a scenario file.
    ///
    /// Listens on 127.0.0.1 (by default), proxies each connection to --upstream with TLS on
    /// both sides (implicit TLS, or at STARTTLS) and writes what passes to --out as it goes:
    /// a valid scenario after every write, credentials replaced with variables. Ctrl-C ends
    /// the recording. See docs/record.md.
    Record(Box<crate::record::RecordArgs>),
    /// Measure performance (see docs/performance.md); build with --release for real numbers.
    #[command(subcommand)]
    Bench(crate::bench::BenchCommand),
    /// Rewrite scenario files in canonical form (the form `mailrig serve --out` records in).
    ///
    /// Directories are searched recursively for `*.scenario` files. Comments and single blank
    /// lines are kept.
    Fmt {
        /// Scenario files or directories.
        #[arg(required = true, value_name = "FILE|DIR")]
        paths: Vec<PathBuf>,
        /// Change nothing; list the files that are not in canonical form and exit 1 if any.
        #[arg(long)]
        check: bool,
    },
}

/// Runs a parsed command line.
pub(crate) fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check { paths, quiet } => check(&paths, quiet),
        Command::Fmt { paths, check } => fmt(&paths, check),
        Command::Bench(command) => crate::bench::bench(command),
        Command::Run(args) => crate::run::run(*args),
        Command::Replay(args) => crate::replay::replay(*args),
        Command::Fuzz(args) => crate::fuzz::fuzz(*args),
        Command::Report(command) => crate::report::report(command),
        Command::Record(args) => {
            init_logging();
            crate::record::record(*args)
        }
        Command::Serve(args) => {
            init_logging();
            crate::serve::serve(*args)
        }
    }
}

/// Logs to stderr, one line per event; `RUST_LOG` adjusts the level (default `info`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .compact()
        .init();
}

fn check(paths: &[PathBuf], quiet: bool) -> anyhow::Result<ExitCode> {
    let files = scenario_files(paths)?;
    let mut invalid = 0;
    for file in &files {
        // A scenario that parses is still invalid when a `faults:` rule does not.
        let errors = match load(file)? {
            Ok(scenario) => mailrig_runner::faults::scenario_faults(&scenario, &file.display().to_string())
                .err()
                .unwrap_or_default(),
            Err(errors) => errors.iter().map(ToString::to_string).collect(),
        };
        if !errors.is_empty() {
            invalid += 1;
            for error in errors {
                eprintln!("{error}\n");
            }
        } else if !quiet {
            println!("ok    {}", file.display());
        }
    }
    println!(
        "checked {} scenario(s): {} valid, {invalid} invalid",
        files.len(),
        files.len() - invalid
    );
    Ok(if invalid == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn fmt(paths: &[PathBuf], check_only: bool) -> anyhow::Result<ExitCode> {
    let files = scenario_files(paths)?;
    let mut findings = 0;
    for file in &files {
        let original = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        let scenario = match parse_bytes_all(&file.display().to_string(), &original) {
            Ok(scenario) => scenario,
            Err(errors) => {
                findings += 1;
                eprintln!("{errors}\n");
                continue;
            }
        };
        let canonical = print(&scenario);
        if canonical.as_bytes() == original {
            continue;
        }
        if check_only {
            findings += 1;
            println!("not formatted: {}", file.display());
        } else {
            std::fs::write(file, canonical).with_context(|| format!("cannot write {}", file.display()))?;
            println!("formatted {}", file.display());
        }
    }
    if check_only && findings == 0 {
        println!("{} scenario(s) in canonical form", files.len());
    }
    Ok(if findings == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Parses a scenario and loads what it refers to. The outer error is I/O on the file itself;
/// the inner ones are the findings in it (never empty).
fn load(file: &Path) -> anyhow::Result<Result<Scenario, Vec<ParseError>>> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let name = file.display().to_string();
    let mut scenario = match parse_bytes_all(&name, &bytes) {
        Ok(scenario) => scenario,
        Err(errors) => return Ok(Err(errors.into_iter().collect())),
    };
    let dir = file.parent().unwrap_or(Path::new("."));
    let source = String::from_utf8_lossy(&bytes);
    let mut findings = Vec::new();
    if let Err((pos, message)) = scenario.load_literals(|path| {
        std::fs::read(dir.join(path)).map_err(|e| format!("cannot read literal file `{path}`: {e}"))
    }) {
        let line = source.lines().nth(pos.line - 1).unwrap_or("");
        findings.push(finding(
            &name,
            pos,
            line,
            message,
            "a file path relative to the scenario file",
        ));
    }
    if let Some(fixture) = &scenario.header.fixture {
        findings.extend(check_fixture(&name, &source, &scenario, &dir.join(fixture)));
    }
    Ok(if findings.is_empty() {
        Ok(scenario)
    } else {
        Err(findings)
    })
}

/// Seeds a fresh store from the scenario's fixture as `Rig` and `mailrig serve` do, and turns
/// a failure (a missing file, bad TOML, an unknown key, a missing message or mbox file, an
/// unknown user or mailbox) into a finding at the scenario's `fixture:` line.
fn check_fixture(name: &str, source: &str, scenario: &Scenario, path: &Path) -> Option<ParseError> {
    use mailrig::RigError;
    use mailrig_store::fixture::FixtureError;

    let shown = path.display();
    let (message, expected) = match mailrig::rig::apply_fixture(&mailrig::Store::new(), path).err()? {
        RigError::FixtureRead { source, .. } => (
            format!("cannot read the fixture {shown}: {source}"),
            "a fixture file, relative to the scenario file",
        ),
        RigError::Fixture {
            source: FixtureError::Toml { line, col, message },
            ..
        } => (
            format!("invalid fixture {shown}:{line}:{col}: {message}"),
            "a fixture as docs/fixtures.md describes it",
        ),
        RigError::Fixture { source, .. } => (
            format!("invalid fixture {shown}: {source}"),
            "a fixture as docs/fixtures.md describes it",
        ),
        other => (other.to_string(), "a fixture as docs/fixtures.md describes it"),
    };
    // The `fixture:` field is in the header, above the first step; the last one counts.
    let header_lines = scenario
        .steps()
        .next()
        .map_or(usize::MAX, |step| step.pos.line - 1);
    let (index, line) = source
        .lines()
        .take(header_lines)
        .enumerate()
        .filter(|(_, line)| line.trim_start().starts_with("fixture:"))
        .last()
        .unwrap_or((0, ""));
    let value = line.split_once(':').map_or("", |(_, value)| value.trim_start());
    let col = line.chars().count() - value.chars().count() + 1;
    let pos = mailrig_transcript::scenario::Pos { line: index + 1, col };
    Some(finding(name, pos, line, message, expected))
}

fn finding(
    file: &str,
    pos: mailrig_transcript::scenario::Pos,
    line: &str,
    message: String,
    expected: &str,
) -> ParseError {
    ParseError {
        file: file.to_owned(),
        pos,
        len: line.chars().count().saturating_sub(pos.col - 1).max(1),
        source_line: line.to_owned(),
        message,
        expected: Some(expected.to_owned()),
        hint: None,
    }
}

/// Expands directories into their `*.scenario` files, sorted; files are taken as given.
fn scenario_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
        if meta.is_dir() {
            let before = files.len();
            walk(path, &mut files)?;
            if files.len() == before {
                bail!("no .scenario files under {}", path.display());
            }
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read directory {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "scenario") {
            out.push(path);
        }
    }
    Ok(())
}
