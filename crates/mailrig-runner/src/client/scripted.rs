//! A flow against a replay (`mailrig run --client PROFILE --replay FILE`): instead of mailrig's
//! model servers, the client runs against [`crate::replay::Replay`] of a `plays: server` (or
//! both-direction) scenario, a [`Script`]. The replay's listeners fill the placeholders (the
//! TLS mode decides which session protocol serves the flow), the store is neither prepared
//! nor judged, and the client's exit status and output are shown but not judged: the script
//! says what the client must do. The transcript checks run over the replay's transcript and
//! the replay's verdict (its diff at the first divergence) joins the findings.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mailrig_transcript::scenario::{Protocol, Role, Scenario};
use mailrig_transcript::{Transcript, report};

use crate::client::checks::{self, Finding};
use crate::client::exec::Ran;
use crate::client::listeners::Listeners;
use crate::client::profile::{FlowSpec, Profile};
use crate::client::run::{WorkDir, expect, judged, launch};
use crate::client::{Flow, TlsMode};
use crate::replay::{Replay, ReplayConfig, Replayed};
use crate::suite::{Outcome, Verdict, own_accounts, variables};
use crate::target::Endpoints;

/// A scenario a flow's client is run against, with the text its diffs quote.
#[derive(Debug, Clone)]
pub struct Script {
    /// The file, as given.
    pub path: PathBuf,
    /// Its text.
    pub text: String,
    /// The parsed scenario, literal files loaded.
    pub scenario: Scenario,
}

impl Script {
    /// Reads, parses and loads a scenario mailrig can play the server side of. Errors are
    /// for people (usage errors: the file, its position, what is wrong).
    pub fn load(path: &Path) -> Result<Script, String> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
        let mut scenario = mailrig_transcript::parse(&shown, &text).map_err(|e| e.to_string())?;
        let dir = path.parent().unwrap_or(Path::new("."));
        scenario
            .load_literals(|p| std::fs::read(dir.join(p)).map_err(|e| e.to_string()))
            .map_err(|(pos, e)| format!("{shown}:{pos}: {e}"))?;
        // The replay applies the file's `faults:` to its own writes; a bad rule is said here,
        // with its place in the file, rather than when the flow runs.
        crate::faults::scenario_faults(&scenario, &shown).map_err(|errors| errors.join("\n"))?;
        if scenario.header.plays == Some(Role::Client) {
            return Err(format!(
                "{shown} declares `plays: client` (it tests servers); a client flow runs against `plays: server` or both-direction scenarios"
            ));
        }
        Ok(Script {
            path: path.to_owned(),
            text,
            scenario,
        })
    }

    fn has(&self, protocol: Protocol) -> bool {
        self.scenario.sessions().iter().any(|s| s.protocol == protocol)
    }

    /// The session protocol that serves `flow` in `mode`, if the scenario has one.
    fn serving(&self, flow: Flow, mode: TlsMode) -> Option<Protocol> {
        candidates(flow, mode).iter().copied().find(|p| self.has(*p))
    }

    /// Whether the scenario has a session that can serve `flow` in some TLS mode. With no
    /// `--flow`, the flows it cannot serve are left out.
    pub fn serves(&self, flow: Flow) -> bool {
        TlsMode::ALL.into_iter().any(|m| self.serving(flow, m).is_some())
    }

    /// The TLS modes to run `flow` in against this scenario. `asked` (from `--tls`) must all
    /// be served; by default, `starttls` when the scenario has the flow's plaintext protocol
    /// and `tls` when it has the implicit-TLS one (`none` only when asked for), among the modes
    /// the profile's flow supports. Usage errors when nothing fits.
    pub fn modes(&self, profile: &Profile, flow: Flow, asked: &[TlsMode]) -> Result<Vec<TlsMode>, String> {
        if let Some(mode) = asked.iter().find(|m| self.serving(flow, **m).is_none()) {
            return Err(format!(
                "{} has no {} session, which the `{}` flow needs in TLS mode `{}`",
                self.path.display(),
                names(candidates(flow, *mode)),
                flow.keyword(),
                mode.keyword()
            ));
        }
        if !asked.is_empty() {
            return Ok(asked.to_vec());
        }
        let modes: Vec<TlsMode> = [TlsMode::Starttls, TlsMode::Tls]
            .into_iter()
            .filter(|m| self.serving(flow, *m).is_some() && profile.modes_of(flow).contains(m))
            .collect();
        if modes.is_empty() {
            return Err(format!(
                "{} has no session the `{}` flow of {} can use: it needs {} (`starttls`) or {} (`tls`), in a mode the profile supports",
                self.path.display(),
                flow.keyword(),
                profile.path.display(),
                names(candidates(flow, TlsMode::Starttls)),
                names(candidates(flow, TlsMode::Tls)),
            ));
        }
        Ok(modes)
    }
}

/// The session protocols that can serve `flow` in `mode`, preferred first.
fn candidates(flow: Flow, mode: TlsMode) -> &'static [Protocol] {
    match (flow.is_smtp(), mode) {
        (true, TlsMode::Tls) => &[Protocol::Smtps],
        (true, _) => &[Protocol::Submission, Protocol::Smtp],
        (false, TlsMode::Tls) => &[Protocol::Imaps],
        (false, _) => &[Protocol::Imap],
    }
}

fn names(protocols: &[Protocol]) -> String {
    let words: Vec<String> = protocols.iter().map(|p| format!("`{}`", p.keyword())).collect();
    words.join(" or ")
}

/// The outcome name the ledger uses: `PROFILE-FLOW-MODE@SCENARIO` (the scenario's `name:`).
pub fn outcome_name(profile: &Profile, flow: Flow, mode: TlsMode, script: &Script) -> String {
    format!(
        "{}-{}-{}@{}",
        profile.name,
        flow.keyword(),
        mode.keyword(),
        script.scenario.header.name
    )
}

fn outcome_path(profile: &Profile, flow: Flow, mode: TlsMode, script: &Script) -> String {
    format!(
        "{}#{}/{}@{}",
        profile.path.display(),
        flow.keyword(),
        mode.keyword(),
        script.path.display()
    )
}

/// A skipped (flow, mode, script) with the reason.
pub(super) fn skipped(
    profile: &Profile,
    flow: Flow,
    mode: TlsMode,
    script: &Script,
    reason: String,
) -> Outcome {
    Outcome {
        path: outcome_path(profile, flow, mode, script),
        name: outcome_name(profile, flow, mode, script),
        verdict: Verdict::Skip(reason),
        duration: Duration::ZERO,
        transcript: Transcript::default(),
        warning: None,
    }
}

/// Runs one (flow, mode) of `profile` against a replay of `script`.
pub(super) async fn run_one(
    profile: &Profile,
    flow: Flow,
    spec: &FlowSpec,
    mode: TlsMode,
    script: &Script,
    config: &super::ClientConfig,
) -> Outcome {
    let started = Instant::now();
    let (verdict, transcript, warning) = match start(script, spec, config).await {
        Err(e) => (Verdict::Error(e), Transcript::default(), None),
        Ok(replay) => {
            let listeners = listeners(&replay, flow, mode);
            match WorkDir::create() {
                Err(e) => (Verdict::Error(e), Transcript::default(), None),
                Ok(work) => {
                    let (verdict, transcript) =
                        drive(profile, flow, spec, mode, script, replay, &listeners, &work).await;
                    (verdict, transcript, work.remove())
                }
            }
        }
    };
    Outcome {
        path: outcome_path(profile, flow, mode, script),
        name: outcome_name(profile, flow, mode, script),
        verdict,
        duration: started.elapsed(),
        transcript,
        warning,
    }
}

/// Everything one run of a flow against a replay tells a fuzzer (`mailrig fuzz`), unjudged:
/// how the client ended, whether it followed the script, and the transcript checks alone.
#[derive(Debug)]
pub struct Probe {
    /// How the client ended; `None` when it could not be started.
    pub ran: Option<Ran>,
    /// Whether the client followed the script; `None` when the replay was never decided (the
    /// client never connected).
    pub followed: Option<bool>,
    /// The transcript checks' findings (STARTTLS before AUTH, nothing after a refused
    /// STARTTLS, no password in the clear, ...), without the replay's verdict.
    pub findings: Vec<Finding>,
    /// What was exchanged.
    pub transcript: Transcript,
    /// Why the harness could not run it (the replay or the work directory failed).
    pub error: Option<String>,
}

/// Runs one (flow, mode) of `profile` against a replay of `script` and reports, without a
/// verdict, what happened (for `mailrig fuzz`, which judges it per case).
pub async fn probe(profile: &Profile, flow: Flow, mode: TlsMode, script: &Script) -> Probe {
    let mut probe = Probe {
        ran: None,
        followed: None,
        findings: Vec::new(),
        transcript: Transcript::default(),
        error: None,
    };
    let Some(spec) = profile.flows.get(&flow) else {
        probe.error = Some(format!("the profile has no `{}` flow", flow.keyword()));
        return probe;
    };
    let replay = match start(script, spec, &super::ClientConfig::default()).await {
        Ok(replay) => replay,
        Err(e) => {
            probe.error = Some(e);
            return probe;
        }
    };
    let listeners = listeners(&replay, flow, mode);
    let work = match WorkDir::create() {
        Ok(work) => work,
        Err(e) => {
            probe.error = Some(e);
            return probe;
        }
    };
    match launch(profile, spec, mode, &listeners, &work).await {
        Ok(ran) => probe.ran = Some(ran),
        Err(e) => probe.error = Some(e),
    }
    let grace = ReplayConfig::default().receive_timeout + Duration::from_secs(1);
    if let Ok(Ok(replayed)) = tokio::time::timeout(grace, replay.finish()).await {
        probe.followed = Some(replayed.report.passed());
        probe.findings = checks::check(&replayed.transcript, &expect(flow));
        probe.transcript = replayed.transcript;
    }
    let _ = work.remove();
    probe
}

/// Starts the replay with the variables `mailrig replay` uses (alice and bob, `secret`) below
/// the file's own `vars:`, with the run's fault rules (after the file's own). The first
/// connection may take as long as the client's deadline.
async fn start(script: &Script, spec: &FlowSpec, run: &super::ClientConfig) -> Result<Replay, String> {
    let mut vars = variables(&own_accounts(), &Endpoints::default());
    vars.retain(|name, _| {
        !script
            .scenario
            .header
            .vars
            .iter()
            .any(|(declared, _)| declared == name)
    });
    let config = ReplayConfig {
        vars,
        connect_timeout: spec.timeout,
        ..ReplayConfig::default()
    };
    let seed = run.fault_seed.unwrap_or(0);
    Replay::start_with_faults(script.scenario.clone(), config, run.faults.clone(), seed)
        .await
        .map_err(|e| format!("cannot replay {}: {e}", script.path.display()))
}

/// Where the client connects: the replay's listener for each placeholder the mode names.
fn listeners(replay: &Replay, flow: Flow, mode: TlsMode) -> Listeners {
    let first = |protocols: &[Protocol]| protocols.iter().find_map(|p| replay.addr(*p));
    let (smtp_flow, imap_flow) = if flow.is_smtp() {
        (flow, Flow::Fetch)
    } else {
        (Flow::Send, flow)
    };
    Listeners {
        smtp: first(candidates(smtp_flow, mode)),
        relay: replay.addr(Protocol::Smtp),
        imap: first(candidates(imap_flow, mode)),
        ca_pem: (mode != TlsMode::None).then(|| replay.ca_pem().to_owned()),
    }
}

/// Runs the client, then waits for the replay's verdict; returns the flow's verdict and the
/// replay's transcript.
#[allow(clippy::too_many_arguments)]
async fn drive(
    profile: &Profile,
    flow: Flow,
    spec: &FlowSpec,
    mode: TlsMode,
    script: &Script,
    replay: Replay,
    listeners: &Listeners,
    work: &WorkDir,
) -> (Verdict, Transcript) {
    let ran = match launch(profile, spec, mode, listeners, work).await {
        Ok(ran) => ran,
        Err(e) => return (Verdict::Error(e), Transcript::default()),
    };
    // The client has ended, so its connections are closed and the replay is decided soon; a
    // client that never connected leaves it waiting for a first connection, so bound the wait.
    let grace = ReplayConfig::default().receive_timeout + Duration::from_secs(1);
    let replayed = match tokio::time::timeout(grace, replay.finish()).await {
        Ok(Ok(replayed)) => replayed,
        Ok(Err(e)) => {
            return (
                Verdict::Error(format!("the replay failed: {e}")),
                Transcript::default(),
            );
        }
        Err(_) => {
            let text = format!(
                "check `replay` failed: the client ended without following {}: it never connected (or never opened every session the script has)\n{}\n{}",
                script.path.display(),
                exited(&ran),
                ran.shown()
            );
            return (Verdict::Fail(text), Transcript::default());
        }
    };
    let findings = findings(flow, script, &replayed);
    let verdict = match judged(findings) {
        Verdict::Fail(text) => Verdict::Fail(format!("{text}\n\n{}\n{}", exited(&ran), ran.shown())),
        other => other,
    };
    (verdict, replayed.transcript)
}

/// The replay's verdict (with its diff), then the transcript checks.
fn findings(flow: Flow, script: &Script, replayed: &Replayed) -> Vec<Finding> {
    let mut findings = Vec::new();
    if !replayed.report.passed() {
        let shown = script.path.display().to_string();
        findings.push(Finding {
            check: "replay",
            explanation: format!(
                "the client did not follow the script:\n{}",
                report::render(&replayed.report, &shown, &script.text)
            ),
        });
    }
    findings.extend(checks::check(&replayed.transcript, &expect(flow)));
    findings
}

fn exited(ran: &crate::client::exec::Ran) -> String {
    match (ran.timed_out, ran.code) {
        (true, _) => "the client timed out and was killed (not judged against a replay)".to_owned(),
        (false, Some(code)) => {
            format!("the client ended with exit status {code} (not judged against a replay)")
        }
        (false, None) => "the client was ended by a signal (not judged against a replay)".to_owned(),
    }
}
