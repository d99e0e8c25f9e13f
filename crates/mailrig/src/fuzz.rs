//! `mailrig fuzz`: a client profile's flow run as a subprocess against generated variations
//! of a canonical scenario (mailrig-fuzz's strategies), each served by a replay. Each case is
//! judged by how the client ended (a hang past its deadline fails every case), the transcript
//! checks, and for legal cases by the canonical outcome: the client must store what it stored
//! under the canonical (the messages and flag changes it sent, [`Delivered`]), follow the
//! whole script and end with the canonical exit status. A failure is shrunk within a time
//! budget and written as `fuzz-failure-SEED.scenario` with a one-line repro command (a store
//! finding's message pinned in the file, so the repro fails too). Exit codes: 0 no finding,
//! 1 a finding (in the client), 2 usage or harness error (in mailrig).

use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use mailrig_fuzz::{Canonical, Case, Delivered, Expect, Mutation, hostile, legal, pinned_case_text};
use mailrig_runner::client::{Flow, Probe, Profile, Script, TlsMode, probe};
use mailrig_transcript::Transcript;
use proptest::strategy::{BoxedStrategy, Strategy};
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestError, TestRunner};
use tokio::runtime::Runtime;

/// Arguments of `mailrig fuzz`.
#[derive(Debug, clap::Args)]
pub(crate) struct FuzzArgs {
    /// The client profile (docs/client-profiles.md).
    #[arg(long, value_name = "PROFILE")]
    client: PathBuf,
    /// The profile's flow to fuzz (send, fetch, ...).
    #[arg(long, value_name = "FLOW")]
    flow: String,
    /// The canonical scenario the cases vary (`plays: server`; the client must follow it
    /// exactly). Default: `fuzz/NAME-FLOW.scenario` beside the profile (NAME its `name`).
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// How many cases to run.
    #[arg(long, default_value_t = 100)]
    cases: u32,
    /// The seed (printed on every run; the same seed gives the same cases).
    #[arg(long)]
    seed: Option<u64>,
    /// Legal variations only: the client must behave exactly as under the canonical.
    #[arg(long, conflicts_with = "hostile")]
    legal_only: bool,
    /// Hostile behaviour only: the client must survive (no hang, the transcript checks).
    #[arg(long)]
    hostile: bool,
    /// Leave out mutations of these kinds (comma-separated: split, sleep, keyword-case,
    /// literal, permute, extra, inject-after-starttls, garbage, literal-count, huge-literal,
    /// wrong-tag, bye, stall, cut, reset, bytes), e.g. to look past a finding already known.
    #[arg(long, value_delimiter = ',', value_name = "KIND,...")]
    skip: Vec<String>,
    /// How long shrinking a failure may take.
    #[arg(long, default_value = "60s", value_parser = crate::run::parse_duration)]
    shrink_time: Duration,
    /// Where to write `fuzz-failure-SEED.scenario` (default: the current directory).
    #[arg(long, value_name = "DIR", default_value = ".")]
    out: PathBuf,
}

/// The canonical run: what every legal case must reproduce.
struct Baseline {
    exit: Option<i32>,
    /// What the client asked the server to store: the store judge (a replay keeps no store).
    delivered: Delivered,
    /// What was exchanged, for pinning a store finding's message into the written file.
    transcript: Transcript,
}

pub(crate) fn fuzz(args: FuzzArgs) -> anyhow::Result<ExitCode> {
    let profile = Profile::load(&args.client).map_err(|e| anyhow::anyhow!("{e}"))?;
    let flow = Flow::from_keyword(&args.flow)
        .with_context(|| format!("unknown flow `{}`; flows: {}", args.flow, Flow::list()))?;
    let path = args
        .scenario
        .clone()
        .unwrap_or_else(|| default_scenario(&profile, flow));
    let script = Script::load(&path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mode = *script
        .modes(&profile, flow, &[])
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .first()
        .context("no TLS mode")?;
    let canonical = Canonical::new(script.scenario.clone())?;
    if let Some(unknown) = args.skip.iter().find(|k| !Mutation::KINDS.contains(&k.as_str())) {
        bail!(
            "unknown mutation kind `{unknown}` in --skip; kinds: {}",
            Mutation::KINDS.join(", ")
        );
    }
    let seed = args.seed.unwrap_or_else(clock_seed);
    let kind = if args.legal_only {
        "legal"
    } else if args.hostile {
        "hostile"
    } else {
        "legal and hostile"
    };
    println!(
        "fuzzing {} `{}` (TLS mode {}) with {} {kind} case(s) from {}, seed {seed}",
        profile.name,
        flow.keyword(),
        mode.keyword(),
        args.cases,
        path.display()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let base = runtime.block_on(probe(&profile, flow, mode, &script));
    let baseline = baseline(&base)?;
    let strategy = strategy(&canonical, &args);
    let started = Instant::now();
    let judge = Judge {
        runtime: &runtime,
        profile: &profile,
        flow,
        mode,
        baseline: &baseline,
        store_findings: RefCell::default(),
        count: Cell::new(0),
    };
    let result = run_cases(&args, seed, &strategy, &judge);
    println!();
    let ran = judge.count.get();
    let rate = f64::from(ran) / started.elapsed().as_secs_f64().max(0.001);
    match result {
        Ok(()) => {
            println!(
                "ok: {} case(s) in {:.1}s ({rate:.1} cases/s), no finding; seed {seed}",
                args.cases,
                started.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(TestError::Fail(reason, case)) => {
            let file = written(&judge, &case);
            report_failure(&args, seed, &case, &file, &reason.to_string(), &path)
        }
        Err(TestError::Abort(reason)) => bail!("fuzzing stopped: {reason}"),
    }
}

fn default_scenario(profile: &Profile, flow: Flow) -> PathBuf {
    let dir = profile.path.parent().unwrap_or(Path::new("."));
    dir.join("fuzz")
        .join(format!("{}-{}.scenario", profile.name, flow.keyword()))
}

fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() ^ u64::from(d.subsec_nanos()))
}

/// The client must follow the canonical scenario itself, or nothing can be compared.
fn baseline(probe: &Probe) -> anyhow::Result<Baseline> {
    if let Some(e) = &probe.error {
        bail!("the canonical run failed: {e}");
    }
    let ran = probe.ran.as_ref().context("the client did not run")?;
    if ran.timed_out {
        bail!(
            "the client timed out against the canonical scenario:\n{}",
            ran.shown()
        );
    }
    if probe.followed != Some(true) || !probe.findings.is_empty() {
        bail!(
            "the client does not follow the canonical scenario (fix the scenario or the profile first):\n{}",
            ran.shown()
        );
    }
    Ok(Baseline {
        exit: ran.code,
        delivered: Delivered::from_transcript(&probe.transcript),
        transcript: probe.transcript.clone(),
    })
}

fn strategy(canonical: &Canonical, args: &FuzzArgs) -> BoxedStrategy<Case> {
    let skip = args.skip.clone();
    let canonical_ = canonical.clone();
    unfiltered(canonical, args)
        .prop_map(move |case| {
            let kept = case
                .mutations()
                .iter()
                .filter(|m| !skip.iter().any(|k| k == m.kind()))
                .cloned()
                .collect();
            Case::new(&canonical_, kept)
        })
        .boxed()
}

fn unfiltered(canonical: &Canonical, args: &FuzzArgs) -> BoxedStrategy<Case> {
    if args.legal_only {
        legal(canonical).boxed()
    } else if args.hostile {
        hostile(canonical).boxed()
    } else {
        proptest::prop_oneof![legal(canonical), hostile(canonical)].boxed()
    }
}

struct Judge<'a> {
    runtime: &'a Runtime,
    profile: &'a Profile,
    flow: Flow,
    mode: TlsMode,
    baseline: &'a Baseline,
    /// The cases that failed the store judge, with the first canonical message they changed.
    store_findings: RefCell<Vec<(Vec<Mutation>, usize)>>,
    /// Cases judged so far, shrinking included.
    count: Cell<u32>,
}

impl Judge<'_> {
    /// One case: its scenario replayed to the client, judged.
    fn case(&self, case: &Case) -> Result<(), TestCaseError> {
        self.count.set(self.count.get() + 1);
        // Built once: printing it (`Case::to_text`) would apply the mutations again.
        let scenario = case.scenario();
        let script = Script {
            path: PathBuf::from("fuzz-case.scenario"),
            text: mailrig_transcript::print(&scenario),
            scenario,
        };
        let probe = self
            .runtime
            .block_on(probe(self.profile, self.flow, self.mode, &script));
        let verdict = self.verdict(case.expect(), &probe);
        if verdict.is_err()
            && let Some(message) = self.changed_message(case.expect(), &probe)
        {
            self.store_findings
                .borrow_mut()
                .push((case.mutations().to_vec(), message));
        }
        progress(self.count.get(), verdict.is_ok());
        verdict.map_err(TestCaseError::fail)
    }

    /// The first canonical message the client changed, when the store judge applies.
    fn changed_message(&self, expect: Expect, probe: &Probe) -> Option<usize> {
        if !expect.judges_outcome(&probe.transcript) {
            return None;
        }
        Delivered::from_transcript(&probe.transcript).first_changed_message(&self.baseline.delivered)
    }

    fn verdict(&self, expect: Expect, probe: &Probe) -> Result<(), String> {
        if let Some(e) = &probe.error {
            return Err(format!("harness error: {e}"));
        }
        let Some(ran) = &probe.ran else {
            return Err("the client did not run".to_owned());
        };
        if ran.timed_out {
            return Err(format!("the client hung past its deadline\n{}", ran.shown()));
        }
        if let Some(f) = probe.findings.first() {
            return Err(format!(
                "check `{}` failed: {}\n{}",
                f.check,
                f.explanation,
                ran.shown()
            ));
        }
        if expect.judges_outcome(&probe.transcript) {
            if let Some(why) = Delivered::from_transcript(&probe.transcript).differs(&self.baseline.delivered)
            {
                return Err(format!(
                    "under a variation it must ignore the client stored something else: {why}\n{}",
                    ran.shown()
                ));
            }
            if probe.followed != Some(true) {
                return Err(format!(
                    "under a variation it must ignore the client did not follow the script\n{}",
                    ran.shown()
                ));
            }
            if ran.code != self.baseline.exit {
                return Err(format!(
                    "under a variation it must ignore the client exited with {:?}, not {:?}\n{}",
                    ran.code,
                    self.baseline.exit,
                    ran.shown()
                ));
            }
        }
        Ok(())
    }
}

/// A dot per passing case, `F` per failing one (shrinking runs more), 64 to a line; `n`
/// counts the cases so far.
fn progress(n: u32, ok: bool) {
    use std::io::Write as _;
    print!("{}", if ok { '.' } else { 'F' });
    if n.is_multiple_of(64) {
        println!(" {n}");
    }
    let _ = std::io::stdout().flush();
}

fn run_cases(
    args: &FuzzArgs,
    seed: u64,
    strategy: &BoxedStrategy<Case>,
    judge: &Judge<'_>,
) -> Result<(), TestError<Case>> {
    let config = Config {
        cases: args.cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(seed),
        max_shrink_time: u32::try_from(args.shrink_time.as_millis()).unwrap_or(u32::MAX),
        max_shrink_iters: 1024,
        ..Config::default()
    };
    TestRunner::new(config).run(strategy, |case| judge.case(&case))
}

/// The failure file's text: the case's scenario, and when the case changed a message the
/// client delivered under the canonical (the store judge), that message's client lines pinned
/// to what it sent under the canonical (`mailrig_fuzz::pin_message`), so that a replay of the
/// file fails at the first line that differs rather than accepting any message.
fn written(judge: &Judge<'_>, case: &Case) -> String {
    let findings = judge.store_findings.borrow();
    let message = findings
        .iter()
        .rev()
        .find(|(mutations, _)| mutations == case.mutations())
        .map(|(_, message)| *message);
    message
        .and_then(|m| pinned_case_text(case, &judge.baseline.transcript, m))
        .unwrap_or_else(|| case.to_text())
}

fn report_failure(
    args: &FuzzArgs,
    seed: u64,
    case: &Case,
    text: &str,
    reason: &str,
    canonical: &Path,
) -> anyhow::Result<ExitCode> {
    let file = args.out.join(format!("fuzz-failure-{seed}.scenario"));
    std::fs::write(&file, text).with_context(|| format!("cannot write {}", file.display()))?;
    println!(
        "FINDING (seed {seed}), shrunk to {} mutation(s) of {}:",
        case.mutations().len(),
        canonical.display()
    );
    for m in case.mutations() {
        println!("  - {m}");
    }
    println!("{reason}");
    println!("wrote {}", file.display());
    println!(
        "repro: mailrig run --client {} --flow {} --replay {}",
        args.client.display(),
        args.flow,
        file.display()
    );
    Ok(ExitCode::from(1))
}
