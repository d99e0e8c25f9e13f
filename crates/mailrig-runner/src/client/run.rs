//! Running a profile's flows: one fresh set of servers per (flow, TLS mode), the client run
//! with a deadline, then the store and the transcript judged.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mailrig_transcript::Transcript;

use crate::client::checks::{self, Expect, Finding};
use crate::client::exec::{self, Ran};
use crate::client::flow::{self, MESSAGE};
use crate::client::listeners::{Listeners, ModelServers};
use crate::client::profile::{Command, Compare, FileSpec, FlowSpec, ModeVar, Output, Profile};
use crate::client::scripted::{self, Script};
use crate::client::template::{Value, shell_quote};
use crate::client::{Flow, TlsMode};
use crate::ledger::Ledger;
use crate::suite::{Outcome, Verdict, own_accounts};

/// Which flows and modes to run, and the known failures.
#[derive(Debug, Clone, Default)]
pub struct ClientConfig {
    /// Flows to run (empty: every flow of the profile).
    pub flows: Vec<Flow>,
    /// TLS modes (empty: every mode each flow supports).
    pub modes: Vec<TlsMode>,
    /// Known failures, by outcome name (`PROFILE-FLOW-MODE`, or `PROFILE-FLOW-MODE@SCENARIO`
    /// against a replay).
    pub ledger: Ledger,
    /// Scenarios to run the flows against instead of mailrig's model servers (empty: the
    /// model servers); one result per (flow, mode, scenario).
    pub scripts: Vec<Script>,
    /// Fault rules for the servers the client talks to (docs/faults.md): mailrig's model
    /// servers, or a replay's own writes.
    pub faults: Vec<mailrig_server::fault::Rule>,
    /// The seed for random rules that name none (`None`: 0). Print it: the same seed and the
    /// same exchanges give the same faults.
    pub fault_seed: Option<u64>,
}

/// Runs the selected (flow, mode) pairs of `profile` one after the other, calling `progress`
/// as each finishes. A flow or mode asked for that the profile lacks is a skip.
pub async fn run(
    profile: &Profile,
    config: &ClientConfig,
    mut progress: impl FnMut(&Outcome),
) -> Vec<Outcome> {
    let flows = if config.flows.is_empty() {
        profile.flows.keys().copied().collect()
    } else {
        config.flows.clone()
    };
    let mut outcomes = Vec::new();
    for flow in flows {
        if !config.scripts.is_empty() {
            for script in &config.scripts {
                if config.flows.is_empty() && !script.serves(flow) {
                    continue;
                }
                for mut outcome in scripted_flow(profile, flow, config, script).await {
                    outcome.verdict = config.ledger.judge(&outcome.name, outcome.verdict);
                    progress(&outcome);
                    outcomes.push(outcome);
                }
            }
            continue;
        }
        let modes = if config.modes.is_empty() {
            profile.modes_of(flow).to_vec()
        } else {
            config.modes.clone()
        };
        if modes.is_empty() {
            let outcome = skipped(
                profile,
                flow,
                None,
                format!("the profile has no `{}` flow", flow.keyword()),
            );
            progress(&outcome);
            outcomes.push(outcome);
        }
        for mode in modes {
            let mut outcome = match profile.flows.get(&flow) {
                Some(spec) if spec.modes.contains(&mode) => run_one(profile, flow, spec, mode, config).await,
                Some(_) => skipped(
                    profile,
                    flow,
                    Some(mode),
                    format!(
                        "the `{}` flow does not support TLS mode `{}`",
                        flow.keyword(),
                        mode.keyword()
                    ),
                ),
                None => skipped(
                    profile,
                    flow,
                    Some(mode),
                    format!("the profile has no `{}` flow", flow.keyword()),
                ),
            };
            outcome.verdict = config.ledger.judge(&outcome.name, outcome.verdict);
            progress(&outcome);
            outcomes.push(outcome);
        }
    }
    outcomes
}

/// One flow against a replay of `script`, in each mode it applies to (a mode the scenario
/// cannot serve is an error the command line reports before running).
async fn scripted_flow(
    profile: &Profile,
    flow: Flow,
    config: &ClientConfig,
    script: &Script,
) -> Vec<Outcome> {
    let modes = match script.modes(profile, flow, &config.modes) {
        Ok(modes) => modes,
        Err(e) => {
            let mut outcome = skipped(profile, flow, None, String::new());
            outcome.verdict = Verdict::Error(e);
            return vec![outcome];
        }
    };
    let mut outcomes = Vec::new();
    for mode in modes {
        outcomes.push(match profile.flows.get(&flow) {
            Some(spec) if spec.modes.contains(&mode) => {
                scripted::run_one(profile, flow, spec, mode, script, config).await
            }
            _ => scripted::skipped(
                profile,
                flow,
                mode,
                script,
                format!(
                    "the profile's `{}` flow does not support TLS mode `{}`",
                    flow.keyword(),
                    mode.keyword()
                ),
            ),
        });
    }
    outcomes
}

/// The outcome name the ledger uses: `PROFILE-FLOW-MODE`.
pub fn outcome_name(profile: &Profile, flow: Flow, mode: Option<TlsMode>) -> String {
    let mode = mode.map_or("any", TlsMode::keyword);
    format!("{}-{}-{mode}", profile.name, flow.keyword())
}

fn outcome_path(profile: &Profile, flow: Flow, mode: Option<TlsMode>) -> String {
    let mode = mode.map_or("any", TlsMode::keyword);
    format!("{}#{}/{mode}", profile.path.display(), flow.keyword())
}

fn skipped(profile: &Profile, flow: Flow, mode: Option<TlsMode>, reason: String) -> Outcome {
    Outcome {
        path: outcome_path(profile, flow, mode),
        name: outcome_name(profile, flow, mode),
        verdict: Verdict::Skip(reason),
        duration: Duration::ZERO,
        transcript: Transcript::default(),
        warning: None,
    }
}

async fn run_one(
    profile: &Profile,
    flow: Flow,
    spec: &FlowSpec,
    mode: TlsMode,
    config: &ClientConfig,
) -> Outcome {
    let started = Instant::now();
    let servers = ModelServers::start(mode, &config.faults, config.fault_seed).await;
    let (verdict, transcript, warning) = match servers {
        Err(e) => (Verdict::Error(e), Transcript::default(), None),
        Ok(servers) => {
            let work = WorkDir::create();
            let verdict = match &work {
                Ok(work) => drive(profile, flow, spec, mode, &servers, work).await,
                Err(e) => Err(Verdict::Error(e.clone())),
            };
            let transcript = servers.finish().await;
            let warning = work.ok().and_then(WorkDir::remove);
            let verdict = match verdict {
                Err(verdict) => verdict,
                Ok(mut findings) => {
                    findings.extend(checks::check(&transcript, &expect(flow)));
                    judged(findings)
                }
            };
            (verdict, transcript, warning)
        }
    };
    Outcome {
        path: outcome_path(profile, flow, Some(mode)),
        name: outcome_name(profile, flow, Some(mode)),
        verdict,
        duration: started.elapsed(),
        transcript,
        warning,
    }
}

pub(super) fn expect(flow: Flow) -> Expect<'static> {
    Expect {
        login: flow::USER,
        password: "secret",
        message: (flow == Flow::Send).then_some(MESSAGE),
        store_flags: flow::allowed_store_flags(flow),
    }
}

pub(super) fn judged(findings: Vec<Finding>) -> Verdict {
    if findings.is_empty() {
        return Verdict::Pass;
    }
    let text: Vec<String> = findings
        .iter()
        .map(|f| format!("check `{}` failed: {}", f.check, f.explanation.trim_end()))
        .collect();
    Verdict::Fail(text.join("\n\n"))
}

/// Prepares, runs the client (twice for `sync`) and judges the store and the output. `Ok` holds
/// the findings so far (the transcript is checked after the servers stop); `Err` a verdict
/// that ends the flow early (the client failed, timed out, or could not start).
async fn drive(
    profile: &Profile,
    flow: Flow,
    spec: &FlowSpec,
    mode: TlsMode,
    servers: &ModelServers,
    work: &WorkDir,
) -> Result<Vec<Finding>, Verdict> {
    flow::prepare(flow, servers.store()).map_err(Verdict::Error)?;
    let values = work
        .setup(profile, spec, mode, &servers.listeners)
        .map_err(Verdict::Error)?;
    let ran = client(&spec.command, &values, work, spec, "the client").await?;
    if flow == Flow::Sync {
        flow::change_on_server(servers.store()).map_err(Verdict::Error)?;
        if let Some(between) = &spec.between {
            client(
                between,
                &values,
                work,
                &with_exit(spec, 0),
                "the `between` command",
            )
            .await?;
        }
        client(&spec.command, &values, work, spec, "the client's second run").await?;
        if let Some(verify) = &spec.verify {
            client(
                verify,
                &values,
                work,
                &with_exit(spec, 0),
                "the `verify` command (the client's local side)",
            )
            .await?;
        }
    }
    let mut findings = Vec::new();
    if let Some(output) = &spec.output {
        findings.extend(compare_output(output, spec.compare, &ran, &values, work));
    }
    findings.extend(flow::judge(flow, servers.store()));
    Ok(findings)
}

fn with_exit(spec: &FlowSpec, exit: i32) -> FlowSpec {
    FlowSpec { exit, ..spec.clone() }
}

/// Runs `command`; a timeout, a wrong exit status or a program that cannot start ends the flow.
async fn client(
    command: &Command,
    values: &BTreeMap<String, Value>,
    work: &WorkDir,
    spec: &FlowSpec,
    what: &str,
) -> Result<Ran, Verdict> {
    let argv = argv(command, values);
    let ran = exec::run(&argv, &work.path, spec.timeout)
        .await
        .map_err(Verdict::Error)?;
    let shown = argv.join(" ");
    if ran.timed_out {
        return Err(Verdict::Fail(format!(
            "check `exit` failed: {what} timed out after {:?} and was killed: {shown}\n{}",
            spec.timeout,
            ran.shown()
        )));
    }
    if ran.code != Some(spec.exit) {
        let code = ran
            .code
            .map_or("a signal".to_owned(), |c| format!("exit status {c}"));
        return Err(Verdict::Fail(format!(
            "check `exit` failed: {what} ended with {code}, expected {}: {shown}\n{}",
            spec.exit,
            ran.shown()
        )));
    }
    Ok(ran)
}

/// Writes the flow's files and runs its command once, whatever its exit status (a client
/// against a replay: the script judges it); `Err` only when it cannot be started.
pub(super) async fn launch(
    profile: &Profile,
    spec: &FlowSpec,
    mode: TlsMode,
    listeners: &Listeners,
    work: &WorkDir,
) -> Result<Ran, String> {
    let values = work.setup(profile, spec, mode, listeners)?;
    exec::run(&argv(&spec.command, &values), &work.path, spec.timeout).await
}

/// The argv for `command`: list placeholders spliced, or `sh -c` with shell-quoted values.
fn argv(command: &Command, values: &BTreeMap<String, Value>) -> Vec<String> {
    match command {
        Command::Shell(line) => vec!["sh".into(), "-c".into(), line.render(values, shell_quote)],
        Command::Argv(parts) => {
            let mut out = Vec::new();
            for part in parts {
                match part.alone().and_then(|name| values.get(name)) {
                    Some(Value::List(items)) => out.extend(items.iter().cloned()),
                    _ => out.push(part.render(values, str::to_owned)),
                }
            }
            out
        }
    }
}

fn compare_output(
    output: &Output,
    compare: Compare,
    ran: &Ran,
    values: &BTreeMap<String, Value>,
    work: &WorkDir,
) -> Option<Finding> {
    let (got, source) = match output {
        Output::Stdout => (ran.stdout.clone(), "its standard output".to_owned()),
        Output::File(path) => {
            let path = work.resolve(&path.render(values, str::to_owned));
            match std::fs::read(&path) {
                Ok(bytes) => (bytes, path.display().to_string()),
                Err(e) => {
                    return Some(Finding {
                        check: "output",
                        explanation: format!(
                            "the client's output file {} cannot be read: {e}",
                            path.display()
                        ),
                    });
                }
            }
        }
    };
    let normalize = |b: &[u8]| match compare {
        Compare::Exact => b.to_vec(),
        Compare::Newlines => String::from_utf8_lossy(b).replace("\r\n", "\n").into_bytes(),
    };
    let (want, have) = (normalize(MESSAGE), normalize(&got));
    (want != have).then(|| Finding {
        check: "output",
        explanation: format!(
            "what the client fetched ({source}) differs from the stored message:\n{}",
            checks::bytes_diff(&want, &have)
        ),
    })
}

/// The flow's private directory (`{work_dir}`), with the CA, the message and the password.
pub(super) struct WorkDir {
    path: PathBuf,
}

impl WorkDir {
    pub(super) fn create() -> Result<WorkDir, String> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("mailrig-client-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        Ok(WorkDir { path })
    }

    /// Removes the directory; a warning if that fails.
    pub(super) fn remove(self) -> Option<String> {
        std::fs::remove_dir_all(&self.path)
            .err()
            .map(|e| format!("cannot remove {}: {e}", self.path.display()))
    }

    fn resolve(&self, path: &str) -> PathBuf {
        self.path.join(path)
    }

    fn put(&self, name: &str, bytes: &[u8]) -> Result<String, String> {
        let path = self.path.join(name);
        std::fs::write(&path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(path.display().to_string())
    }

    /// The placeholders' values, with the profile's and the flow's files written.
    fn setup(
        &self,
        profile: &Profile,
        spec: &FlowSpec,
        mode: TlsMode,
        listeners: &Listeners,
    ) -> Result<BTreeMap<String, Value>, String> {
        let values = self.values(profile, spec, mode, listeners)?;
        for file in profile.files.iter().chain(&spec.files) {
            self.write(file, &values)?;
        }
        Ok(values)
    }

    fn write(&self, file: &FileSpec, values: &BTreeMap<String, Value>) -> Result<(), String> {
        let path = self.resolve(&file.path.render(values, str::to_owned));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, file.content.render(values, str::to_owned))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        private(&path)
    }

    /// Every placeholder's value for this flow and mode.
    fn values(
        &self,
        profile: &Profile,
        spec: &FlowSpec,
        mode: TlsMode,
        listeners: &Listeners,
    ) -> Result<BTreeMap<String, Value>, String> {
        let accounts = own_accounts();
        let (user, recipient) = (&accounts[0], &accounts[1]);
        let message = if spec.final_newline {
            MESSAGE
        } else {
            MESSAGE.strip_suffix(b"\r\n").unwrap_or(MESSAGE)
        };
        let message_file = self.put("message.eml", message)?;
        let password_file = self.put("password", user.password.as_bytes())?;
        private(Path::new(&password_file))?;
        let ca_file = match &listeners.ca_pem {
            Some(pem) => self.put("ca.pem", pem.as_bytes())?,
            None => String::new(),
        };
        let port = |addr: Option<std::net::SocketAddr>| addr.map_or(String::new(), |a| a.port().to_string());
        let (smtp_scheme, imap_scheme) = match mode {
            TlsMode::Tls => ("smtps", "imaps"),
            TlsMode::None | TlsMode::Starttls => ("smtp", "imap"),
        };
        let host = "localhost";
        let profile_dir = profile.path.parent().unwrap_or(Path::new("."));
        let profile_dir = std::fs::canonicalize(if profile_dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            profile_dir
        })
        .map_err(|e| format!("cannot resolve the profile's directory: {e}"))?;
        let text = [
            ("host", host.to_owned()),
            ("smtp_port", port(listeners.smtp)),
            ("relay_port", port(listeners.relay)),
            ("imap_port", port(listeners.imap)),
            (
                "smtp_url",
                format!("{smtp_scheme}://{host}:{}", port(listeners.smtp)),
            ),
            (
                "imap_url",
                format!("{imap_scheme}://{host}:{}", port(listeners.imap)),
            ),
            ("tls", mode.keyword().to_owned()),
            ("user", user.login.clone()),
            ("password", user.password.clone()),
            ("password_file", password_file),
            ("from", user.address.clone()),
            ("to", recipient.address.clone()),
            ("ca_file", ca_file),
            ("message_file", message_file),
            ("work_dir", self.path.display().to_string()),
            ("profile_dir", profile_dir.display().to_string()),
            ("mailbox", flow::MAILBOX.to_owned()),
            ("target_mailbox", flow::TARGET_MAILBOX.to_owned()),
            ("uid", flow::UID.to_string()),
        ];
        let mut values: BTreeMap<String, Value> = text
            .into_iter()
            .map(|(k, v)| (k.to_owned(), Value::Text(v)))
            .collect();
        if let Some(vars) = profile.mode_vars.get(&mode) {
            for (name, var) in vars {
                let value = match var {
                    ModeVar::Text(t) => Value::Text(t.render(&values, str::to_owned)),
                    ModeVar::List(items) => {
                        Value::List(items.iter().map(|t| t.render(&values, str::to_owned)).collect())
                    }
                };
                values.insert(name.clone(), value);
            }
        }
        Ok(values)
    }
}

/// Owner-only permissions (msmtp and mbsync refuse configuration files others can read).
fn private(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("cannot make {} private: {e}", path.display()))
}
