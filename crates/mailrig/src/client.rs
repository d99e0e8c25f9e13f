//! `mailrig run --client PROFILE`: runs a mail client's flows (from its profile) against
//! mailrig's own servers, one result per (flow, TLS mode), or with `--replay FILE` against a
//! replay of each scenario, one result per (flow, mode, scenario); reported like scenarios:
//! the same lines or progress bar, JSON and JUnit reports, ledgers and exit codes.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use mailrig_runner::Ledger;
use mailrig_runner::client::{self, ClientConfig, Flow, Profile, Script, TlsMode};

use crate::run::{Progress, RunArgs, finish};

pub(crate) fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let path = args.client.clone().context("--client is set")?;
    let profile = Profile::load(&path).map_err(anyhow::Error::msg)?;
    let flows = args
        .flows
        .iter()
        .map(|f| {
            Flow::from_keyword(f).with_context(|| format!("--flow `{f}`: expected one of {}", Flow::list()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let modes = args
        .tls
        .iter()
        .map(|m| {
            TlsMode::from_keyword(m).with_context(|| format!("--tls `{m}`: expected none, starttls or tls"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    if let Some(flow) = flows.iter().find(|f| !profile.flows.contains_key(f)) {
        bail!("{} has no `{}` flow", path.display(), flow.keyword());
    }
    let mut ledger = Ledger::default();
    for path in &args.ledgers {
        ledger.load(path)?;
    }
    let scripts = args
        .replays
        .iter()
        .map(|p| Script::load(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)?;
    let faults = crate::serve::fault_rules(&args.faults)?;
    let fault_seed = args.fault_seed.unwrap_or(0);
    if !faults.is_empty() && !args.quiet {
        eprintln!("fault seed {fault_seed}");
        for rule in &faults {
            eprintln!("fault: {rule}");
        }
    }
    let config = ClientConfig {
        flows,
        modes,
        ledger,
        scripts,
        faults,
        fault_seed: Some(fault_seed),
    };
    let total = count(&profile, &config)?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let started = Instant::now();
    let progress = Progress::new(total, args.quiet);
    let outcomes = runtime.block_on(client::run(&profile, &config, |o| progress.show(o)));
    progress.finish();
    finish(&args, &outcomes, outcomes.len(), started.elapsed())
}

fn path_of(profile: &Profile) -> String {
    profile.path.display().to_string()
}

/// How many results the run will have (for the progress bar); a scenario that cannot serve a
/// flow in the modes asked for is a usage error.
fn count(profile: &Profile, config: &ClientConfig) -> anyhow::Result<usize> {
    let flows: Vec<Flow> = if config.flows.is_empty() {
        profile.flows.keys().copied().collect()
    } else {
        config.flows.clone()
    };
    if config.scripts.is_empty() {
        return Ok(flows
            .iter()
            .map(|f| {
                if config.modes.is_empty() {
                    profile.modes_of(*f).len()
                } else {
                    config.modes.len()
                }
            })
            .sum());
    }
    let mut total = 0;
    for script in &config.scripts {
        // With no --flow, a scenario runs the flows it has a session for.
        let served: Vec<Flow> = flows
            .iter()
            .copied()
            .filter(|f| !config.flows.is_empty() || script.serves(*f))
            .collect();
        if served.is_empty() {
            bail!(
                "{} has no session any flow of {} can use (SMTP flows need `submission`, `smtp` or `smtps`; IMAP flows `imap` or `imaps`)",
                script.path.display(),
                path_of(profile)
            );
        }
        for flow in served {
            total += script
                .modes(profile, flow, &config.modes)
                .map_err(anyhow::Error::msg)?
                .len();
        }
    }
    Ok(total)
}
