//! The in-process harness for Rust clients: each case is served by a fresh
//! [`mailrig_runner::replay::Replay`] on the harness's loopback listeners (bound once, lent to
//! each case's replay), the client closure runs against it on the harness's own tokio runtime, and the result is judged against the canonical run: the same
//! outcome (for [`Expect::Same`] cases), no panic, no hang past the time limit.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use mailrig_runner::replay::{Replay, ReplayConfig, ReplayError};
use mailrig_transcript::scenario::{Protocol, Scenario};
use mailrig_transcript::{Report, Transcript};
use proptest::test_runner::TestCaseError;
use tokio::net::TcpListener;
use tokio::runtime::Runtime;

use crate::canonical::Canonical;
use crate::case::{Case, Expect};
use crate::delivered::Delivered;
use crate::pin::pinned_case_text;

/// Where the client under test connects: one loopback address per protocol of the scenario,
/// and the CA certificate to trust for TLS (the certificate names `localhost`).
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The listeners.
    pub listeners: Vec<(Protocol, SocketAddr)>,
    /// The CA (PEM).
    pub ca_pem: String,
}

impl Endpoint {
    /// The address of the `protocol` listener.
    ///
    /// # Panics
    ///
    /// When the scenario has no session of that protocol (a bug in the test).
    pub fn addr(&self, protocol: Protocol) -> SocketAddr {
        match self.listeners.iter().find(|(p, _)| *p == protocol) {
            Some((_, addr)) => *addr,
            None => panic!("the scenario has no `{}` session", protocol.keyword()),
        }
    }
}

/// Limits of one run.
#[derive(Debug, Clone)]
pub struct HarnessConfig {
    /// How long the client may take before it counts as hung (default 5 s).
    pub timeout: Duration,
    /// How long the replay waits for the client at each step (default 2 s).
    pub receive_timeout: Duration,
    /// The run's variables (override the scenario's `vars:`).
    pub vars: BTreeMap<String, String>,
}

impl Default for HarnessConfig {
    fn default() -> HarnessConfig {
        HarnessConfig {
            timeout: Duration::from_secs(5),
            receive_timeout: Duration::from_secs(2),
            vars: BTreeMap::new(),
        }
    }
}

/// Why the harness could not run a case (as opposed to a client that failed it).
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// The tokio runtime could not be built.
    #[error("cannot start a tokio runtime: {0}")]
    Runtime(std::io::Error),
    /// The replay could not start.
    #[error(transparent)]
    Replay(#[from] ReplayError),
    /// The client does not pass the canonical scenario itself, so nothing can be compared.
    #[error("the client fails the canonical scenario: {0}")]
    Canonical(String),
}

/// How the client's run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended<T> {
    /// It returned this outcome.
    Returned(T),
    /// It panicked, with this message.
    Panicked(String),
    /// It was still running at the time limit.
    Hung(Duration),
}

/// One run of the client against one scenario.
#[derive(Debug)]
pub struct Run<T> {
    /// How the client ended.
    pub ended: Ended<T>,
    /// The replay's verdict on the client's bytes, when the replay ended in time (a hung
    /// client's replay is dropped).
    pub report: Option<Report>,
    /// Every byte exchanged, when the replay ended in time.
    pub transcript: Option<Transcript>,
}

/// The in-process harness: a runtime, a client, and its outcome under the canonical
/// scenario. See the crate documentation for a complete test.
pub struct Harness<C, T> {
    runtime: Runtime,
    /// One loopback listener per protocol of the canonical, bound once and lent to each
    /// case's replay (a fresh port per case made `bind` the harness's main cost).
    listeners: Listeners,
    config: HarnessConfig,
    client: C,
    baseline: T,
    /// What the client asked to store under the canonical (the store judge).
    delivered: Delivered,
    /// The canonical run's transcript, to pin a changed message in a failure's case file.
    baseline_run: Transcript,
}

impl<C, T> fmt::Debug for Harness<C, T>
where
    T: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Harness")
            .field("config", &self.config)
            .field("baseline", &self.baseline)
            .finish_non_exhaustive()
    }
}

impl<C, F, T> Harness<C, T>
where
    C: Fn(Endpoint) -> F,
    F: Future<Output = T> + Send + 'static,
    T: PartialEq + fmt::Debug + Send + 'static,
{
    /// Runs `client` once against `canonical` and keeps its outcome as the baseline. Fails
    /// when the client does not follow the canonical scenario or does not return.
    pub fn new(
        canonical: &Canonical,
        config: HarnessConfig,
        client: C,
    ) -> Result<Harness<C, T>, HarnessError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(HarnessError::Runtime)?;
        let listeners = runtime.block_on(bind(canonical.scenario()))?;
        let run = run_with(
            &runtime,
            &listeners,
            canonical.scenario().clone(),
            &config,
            &client,
        )?;
        let baseline = match run.ended {
            Ended::Returned(outcome) => outcome,
            other => return Err(HarnessError::Canonical(format!("{other:?}"))),
        };
        if let Some(report) = run.report.as_ref().filter(|r| !r.passed()) {
            let reason = report
                .failure()
                .map_or_else(String::new, |f| format!("line {}: {}", f.pos.line, f.reason));
            return Err(HarnessError::Canonical(reason));
        }
        let baseline_run = run.transcript.unwrap_or_default();
        let delivered = Delivered::from_transcript(&baseline_run);
        Ok(Harness {
            runtime,
            listeners,
            config,
            client,
            baseline,
            delivered,
            baseline_run,
        })
    }

    /// The client's outcome under the canonical scenario.
    pub fn baseline(&self) -> &T {
        &self.baseline
    }

    /// Runs the client against `scenario` and reports how it ended.
    pub fn run(&self, scenario: Scenario) -> Result<Run<T>, HarnessError> {
        run_with(
            &self.runtime,
            &self.listeners,
            scenario,
            &self.config,
            &self.client,
        )
    }

    /// Runs the client against `case` and judges it: no panic, no hang, and for
    /// [`Expect::Same`] the baseline outcome, the baseline's messages and flag changes
    /// ([`Delivered`]) and a client that followed the script. For use
    /// inside `proptest!`: a failure carries the reason and the case's scenario file.
    pub fn check(&self, case: &Case) -> Result<(), TestCaseError> {
        let run = self
            .run(case.scenario())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        match self.judge(case.expect(), &run) {
            None => Ok(()),
            Some(reason) => Err(TestCaseError::fail(format!(
                "{reason}\n--- the case as a scenario file:\n{}",
                self.case_text(case, &run)
            ))),
        }
    }

    /// The case's scenario file; when the client changed a message it delivered under the
    /// canonical, that message pinned ([`pinned_case_text`]), so a replay of the file fails
    /// where the message differs.
    fn case_text(&self, case: &Case, run: &Run<T>) -> String {
        run.transcript
            .as_ref()
            .and_then(|t| Delivered::from_transcript(t).first_changed_message(&self.delivered))
            .and_then(|m| pinned_case_text(case, &self.baseline_run, m))
            .unwrap_or_else(|| case.to_text())
    }

    /// Why a run fails its expectation, or `None`.
    pub fn judge(&self, expect: Expect, run: &Run<T>) -> Option<String> {
        let outcome = match &run.ended {
            Ended::Panicked(message) => return Some(format!("the client panicked: {message}")),
            Ended::Hung(limit) => return Some(format!("the client did not finish within {limit:?}")),
            Ended::Returned(outcome) => outcome,
        };
        // Without a transcript (the replay did not end in time) nobody gave up at TLS.
        let judged = run
            .transcript
            .as_ref()
            .map_or(expect != Expect::Survive, |t| expect.judges_outcome(t));
        if !judged {
            return None;
        }
        if *outcome != self.baseline {
            return Some(format!(
                "the client's outcome changed under a variation it must ignore:\n  canonical: {:?}\n  this case: {outcome:?}",
                self.baseline
            ));
        }
        let stored = run.transcript.as_ref().map(Delivered::from_transcript);
        if let Some(why) = stored.and_then(|d| d.differs(&self.delivered)) {
            return Some(format!(
                "the client stored something else under a variation it must ignore: {why}"
            ));
        }
        self.script_verdict(run)
    }

    fn script_verdict(&self, run: &Run<T>) -> Option<String> {
        match &run.report {
            Some(report) if !report.passed() => Some(format!(
                "the client did not follow the script: {}",
                report
                    .failure()
                    .map_or_else(String::new, |f| format!("line {}: {}", f.pos.line, f.reason))
            )),
            _ => None,
        }
    }
}

/// The harness's listeners, per protocol.
type Listeners = Vec<(Protocol, Arc<TcpListener>)>;

/// Binds one loopback listener per protocol `scenario`'s sessions use.
async fn bind(scenario: &Scenario) -> Result<Listeners, HarnessError> {
    let mut listeners: Listeners = Vec::new();
    for session in scenario.sessions() {
        let protocol = session.protocol;
        if listeners.iter().any(|(p, _)| *p == protocol) {
            continue;
        }
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ReplayError::Bind {
                protocol: protocol.keyword(),
                addr,
                source,
            })?;
        listeners.push((protocol, Arc::new(listener)));
    }
    Ok(listeners)
}

/// Closes connections left waiting on the listeners by an earlier case (a client that was
/// stopped at its time limit may have connected after its replay ended), so the next replay
/// does not take one for its own client's.
fn drain(listeners: &Listeners) {
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    for (_, listener) in listeners {
        while let std::task::Poll::Ready(Ok(stale)) = listener.poll_accept(&mut cx) {
            drop(stale);
        }
    }
}

/// Starts a replay of `scenario` on `listeners`, runs the client against it with the time
/// limit, and collects the verdict.
fn run_with<C, F, T>(
    runtime: &Runtime,
    listeners: &Listeners,
    scenario: Scenario,
    config: &HarnessConfig,
    client: &C,
) -> Result<Run<T>, HarnessError>
where
    C: Fn(Endpoint) -> F,
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    runtime.block_on(async {
        drain(listeners);
        let replay_config = ReplayConfig {
            bound: listeners.clone(),
            vars: config.vars.clone(),
            receive_timeout: config.receive_timeout,
            connect_timeout: config.timeout,
            ..ReplayConfig::default()
        };
        let replay = Replay::start(scenario, replay_config).await?;
        let endpoint = Endpoint {
            listeners: replay.listeners().to_vec(),
            ca_pem: replay.ca_pem().to_owned(),
        };
        let task = tokio::spawn(client(endpoint));
        let abort = task.abort_handle();
        let ended = match tokio::time::timeout(config.timeout, task).await {
            Ok(Ok(outcome)) => Ended::Returned(outcome),
            Ok(Err(e)) if e.is_panic() => Ended::Panicked(panic_message(e.into_panic())),
            Ok(Err(e)) => Ended::Panicked(e.to_string()),
            Err(_) => {
                abort.abort();
                Ended::Hung(config.timeout)
            }
        };
        if matches!(ended, Ended::Hung(_)) {
            return Ok(Run {
                ended,
                report: None,
                transcript: None,
            });
        }
        let limit = config.receive_timeout + Duration::from_secs(1);
        let (report, transcript) = match tokio::time::timeout(limit, replay.finish()).await {
            Ok(Ok(replayed)) => (Some(replayed.report), Some(replayed.transcript)),
            // No connection at all, or the replay outlived the client: no verdict to add.
            Ok(Err(_)) | Err(_) => (None, None),
        };
        Ok(Run {
            ended,
            report,
            transcript,
        })
    })
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}
