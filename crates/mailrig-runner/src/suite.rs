//! Running a set of scenario files: finding and loading them, selecting by name, tag and
//! partition, giving each one a target (mailrig's own servers, fresh per scenario, or the
//! servers under test), skipping what cannot run there with the reason, and judging the
//! results against known-failure ledgers.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mailrig_server::fault::Rule;
use mailrig_server::{Server, ServerConfig};
use mailrig_store::{Store, User};
use mailrig_transcript::engine::EngineConfig;
use mailrig_transcript::scenario::{Protocol, Role};
use mailrig_transcript::{Scenario, Transcript, parse_bytes};
use tokio_rustls::{TlsConnector, rustls};

use crate::ledger::Ledger;
use crate::net::play_client;
use crate::probe::{self, Advertised};
use crate::state::{Access, AccountLoad, Unprepared, clean_up, plan_fixture, prepare};
use crate::target::{Endpoint, Endpoints, Trust};

/// A user account on the target: `${user}`/`${password}` for the first, `${user2}` for the
/// second.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Login name.
    pub login: String,
    /// Password.
    pub password: String,
    /// Mail address (`login@example.test` when not given).
    pub address: String,
}

impl Account {
    /// Parses `LOGIN:PASSWORD[:ADDRESS]`. The login ends at the first `:`; the password may
    /// contain `:`, and what follows its last `:` is taken as the address only when it holds
    /// an `@`.
    pub fn parse(text: &str) -> Option<Account> {
        let (login, rest) = text.split_once(':').filter(|(l, _)| !l.is_empty())?;
        let (password, address) = match rest.rsplit_once(':') {
            Some((password, address)) if address.contains('@') => (password, address.to_owned()),
            _ => (rest, format!("{login}@example.test")),
        };
        Some(Account {
            login: login.to_owned(),
            password: password.to_owned(),
            address,
        })
    }
}

/// The accounts mailrig's own servers have: alice and bob on example.test, password `secret`.
pub fn own_accounts() -> Vec<Account> {
    ["alice", "bob"]
        .iter()
        .map(|login| Account {
            login: (*login).to_owned(),
            password: "secret".to_owned(),
            address: format!("{login}@example.test"),
        })
        .collect()
}

/// What the scenarios run against.
#[derive(Debug, Clone)]
// One value per run: the size of the remote variant does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Target {
    /// mailrig's own model servers, started in this process for each scenario (on
    /// 127.0.0.1), with the scenario's fixture loaded.
    Own,
    /// Servers under test.
    Remote {
        /// Where each protocol's sessions go.
        endpoints: Endpoints,
        /// Which certificates to accept.
        trust: Trust,
        /// The accounts to log in with.
        accounts: Vec<Account>,
    },
}

/// How to run.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The target.
    pub target: Target,
    /// Scenarios played at the same time.
    pub jobs: usize,
    /// How long to wait for the peer at each step.
    pub timeout: Duration,
    /// Known failures.
    pub ledger: Ledger,
}

/// One scenario file, read and parsed.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The path as found.
    pub path: PathBuf,
    /// The scenario, or why it could not be read (a parse error, rendered).
    pub scenario: Result<Scenario, String>,
    /// The file's text (for rendering reports).
    pub text: String,
    /// Named on its own (not found by walking a directory).
    pub named: bool,
}

impl Entry {
    /// The scenario's `name:`, or the file stem when it could not be parsed.
    pub fn name(&self) -> String {
        match &self.scenario {
            Ok(s) => s.header.name.clone(),
            Err(_) => self
                .path
                .file_stem()
                .map_or_else(String::new, |s| s.to_string_lossy().into_owned()),
        }
    }

    /// The path for display.
    pub fn display(&self) -> String {
        self.path.display().to_string()
    }
}

/// Why a set of scenarios could not be gathered.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    /// A path could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Nothing to run.
    #[error("no `*.scenario` files under {0}")]
    Empty(String),
}

/// Finds `*.scenario` files (directories recursively), sorted, and reads and parses each.
/// Scenarios for testing clients (`plays: server`) found in a directory are left out: `run`
/// tests servers. Named on their own, they are kept, to be skipped with that reason.
pub fn load(paths: &[PathBuf]) -> Result<Vec<Entry>, SuiteError> {
    let mut files = Vec::new();
    for path in paths {
        collect(path, &mut files)?;
    }
    files.sort();
    files.dedup();
    if files.is_empty() {
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(SuiteError::Empty(shown.join(", ")));
    }
    let entries: Vec<Entry> = files
        .iter()
        .map(|f| read_entry(f, paths.contains(f)))
        .collect::<Result<_, _>>()?;
    Ok(entries
        .into_iter()
        .filter(|e| {
            e.named
                || !e
                    .scenario
                    .as_ref()
                    .is_ok_and(|s| s.header.plays == Some(Role::Server))
        })
        .collect())
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), SuiteError> {
    let io = |source| SuiteError::Io {
        path: path.display().to_string(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.is_file() {
        out.push(path.to_owned());
        return Ok(());
    }
    for entry in std::fs::read_dir(path).map_err(io)? {
        let entry = entry.map_err(io)?;
        let child = entry.path();
        if child.is_dir() {
            collect(&child, out)?;
        } else if child.extension().is_some_and(|e| e == "scenario") {
            out.push(child);
        }
    }
    Ok(())
}

fn read_entry(path: &Path, named: bool) -> Result<Entry, SuiteError> {
    let bytes = std::fs::read(path).map_err(|source| SuiteError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let display = path.display().to_string();
    let scenario = parse_bytes(&display, &bytes)
        .map_err(|e| e.to_string())
        .and_then(|mut s| {
            let dir = path.parent().unwrap_or(Path::new("."));
            s.load_literals(|file| std::fs::read(dir.join(file)).map_err(|e| e.to_string()))
                .map_err(|(pos, e)| format!("{display}:{pos}: {e}"))?;
            Ok(s)
        });
    Ok(Entry {
        path: path.to_owned(),
        scenario,
        text,
        named,
    })
}

/// Which scenarios to run.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Glob patterns (`*`, `?`) on the scenario name; any may match.
    pub filters: Vec<String>,
    /// Tags; the scenario must have at least one.
    pub tags: Vec<String>,
    /// `(k, n)`: only the k-th of n shards (1-based), by position in the sorted list.
    pub partition: Option<(usize, usize)>,
}

impl Selection {
    /// Keeps the selected entries, in order.
    pub fn apply(&self, entries: Vec<Entry>) -> Vec<Entry> {
        entries
            .into_iter()
            .filter(|e| self.filters.is_empty() || self.filters.iter().any(|f| glob(f, &e.name())))
            .filter(|e| {
                self.tags.is_empty()
                    || e.scenario
                        .as_ref()
                        .is_ok_and(|s| s.header.tags.iter().any(|t| self.tags.contains(t)))
            })
            .enumerate()
            .filter(|(i, _)| self.partition.is_none_or(|(k, n)| i % n == k - 1))
            .map(|(_, e)| e)
            .collect()
    }
}

/// Shell-style glob: `*` any run of characters, `?` one character.
pub fn glob(pattern: &str, text: &str) -> bool {
    fn go(p: &[char], t: &[char]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    go(&p, &t)
}

/// The verdict on one scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every step matched.
    Pass,
    /// A step did not match: the rendered report (a diff).
    Fail(String),
    /// Not run, with the reason (an unmet `requires:`, no target for a protocol, a scenario
    /// for testing clients).
    Skip(String),
    /// The harness could not run it (an unreadable file, a connection refused).
    Error(String),
    /// Failed, and a ledger lists it: the reason and RFC citation from the ledger.
    KnownFailure(String),
    /// Passed, but a ledger lists it as failing: the ledger is out of date.
    UnexpectedPass(String),
}

impl Verdict {
    /// Whether the run fails because of this verdict.
    pub fn fails_run(&self) -> bool {
        matches!(
            self,
            Verdict::Fail(_) | Verdict::Error(_) | Verdict::UnexpectedPass(_)
        )
    }

    /// A short word for listings.
    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail(_) => "FAIL",
            Verdict::Skip(_) => "SKIP",
            Verdict::Error(_) => "ERROR",
            Verdict::KnownFailure(_) => "KNOWN",
            Verdict::UnexpectedPass(_) => "XPASS",
        }
    }
}

/// One scenario's result.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The file.
    pub path: String,
    /// The scenario name.
    pub name: String,
    /// The verdict.
    pub verdict: Verdict,
    /// How long it took.
    pub duration: Duration,
    /// What was exchanged (empty when nothing was played).
    pub transcript: Transcript,
    /// Something that went wrong around the scenario without changing its verdict (its
    /// mailbox could not be removed).
    pub warning: Option<String>,
}

/// Runs `entries`, calling `progress` as each finishes; returns the outcomes in `entries`'
/// order. `Err` when the target itself is unusable (nothing could be probed).
pub async fn run(
    entries: Vec<Entry>,
    config: &RunConfig,
    mut progress: impl FnMut(&Outcome),
) -> Result<Vec<Outcome>, String> {
    let shared = Arc::new(Shared::prepare(config).await?);
    let semaphore = Arc::new(tokio::sync::Semaphore::new(config.jobs.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for (index, entry) in entries.into_iter().enumerate() {
        let shared = shared.clone();
        let semaphore = semaphore.clone();
        tasks.spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            (index, run_one(entry, &shared).await)
        });
    }
    let mut outcomes = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (index, outcome) = done.map_err(|e| format!("a scenario task failed: {e}"))?;
        progress(&outcome);
        outcomes.push((index, outcome));
    }
    outcomes.sort_by_key(|(i, _)| *i);
    Ok(outcomes.into_iter().map(|(_, o)| o).collect())
}

/// What every scenario of a run shares.
struct Shared {
    target: Target,
    tls: Arc<rustls::ClientConfig>,
    advertised: Advertised,
    timeout: Duration,
    ledger: Ledger,
}

impl Shared {
    async fn prepare(config: &RunConfig) -> Result<Shared, String> {
        let (endpoints, trust, accounts, own) = match &config.target {
            Target::Remote {
                endpoints,
                trust,
                accounts,
            } => (endpoints.clone(), trust.clone(), accounts.clone(), None),
            Target::Own => {
                let own = OwnServers::start(Vec::new()).await?;
                let endpoints = own.endpoints.clone();
                let trust = own.trust.clone();
                (endpoints, trust, own_accounts(), Some(own))
            }
        };
        let tls = trust.client_config()?;
        let advertised = advertised(&endpoints, &tls, accounts.first(), config.timeout).await?;
        if let Some(own) = own {
            own.stop().await;
        }
        Ok(Shared {
            target: config.target.clone(),
            tls,
            advertised,
            timeout: config.timeout,
            ledger: config.ledger.clone(),
        })
    }
}

/// Probes each endpoint's capabilities; an endpoint that cannot be reached at all makes the
/// run a harness error.
async fn advertised(
    endpoints: &Endpoints,
    tls: &Arc<rustls::ClientConfig>,
    account: Option<&Account>,
    limit: Duration,
) -> Result<Advertised, String> {
    let connector = TlsConnector::from(tls.clone());
    let mut out = Advertised::default();
    let login = account.map(|a| (a.login.as_str(), a.password.as_str()));
    for protocol in [Protocol::Imap, Protocol::Imaps] {
        if let Some(endpoint) = endpoints.get(protocol) {
            let caps = probe::imap(endpoint, &connector, login, limit)
                .await
                .map_err(|e| format!("cannot reach the {} target: {e}", protocol.keyword()))?;
            out.imap.extend(caps);
        }
    }
    for protocol in [Protocol::Smtp, Protocol::Submission, Protocol::Smtps] {
        if let Some(endpoint) = endpoints.get(protocol) {
            let keywords = probe::smtp(endpoint, &connector, limit)
                .await
                .map_err(|e| format!("cannot reach the {} target: {e}", protocol.keyword()))?;
            out.smtp.extend(keywords);
        }
    }
    Ok(out)
}

async fn run_one(entry: Entry, shared: &Shared) -> Outcome {
    let started = Instant::now();
    let name = entry.name();
    let path = entry.display();
    let (verdict, transcript, warning) = match &entry.scenario {
        Err(e) => (Verdict::Error(e.clone()), Transcript::default(), None),
        Ok(scenario) => play(scenario, &entry, shared).await,
    };
    let verdict = shared.ledger.judge(&name, verdict);
    Outcome {
        path,
        name,
        verdict,
        duration: started.elapsed(),
        transcript,
        warning,
    }
}

/// The scenario's `faults:` as rules, or the errors (with their places in the file) as one
/// message.
fn own_faults(scenario: &Scenario, entry: &Entry) -> Result<Vec<Rule>, String> {
    let file = entry.path.display().to_string();
    crate::faults::scenario_faults(scenario, &file).map_err(|errors| errors.join("\n"))
}

/// Why `scenario` cannot run against this target, if it cannot.
fn skip_reason(scenario: &Scenario, shared: &Shared) -> Option<String> {
    if scenario.header.plays == Some(Role::Server) {
        return Some(
            "a scenario for testing clients (`plays: server`); `mailrig run` tests servers".to_owned(),
        );
    }
    let imap: Vec<&str> = shared.advertised.imap.iter().map(String::as_str).collect();
    let smtp: Vec<&str> = shared.advertised.smtp.iter().map(String::as_str).collect();
    if let Some(reason) = scenario.unmet_requirement(&imap, &smtp) {
        return Some(reason);
    }
    if let Target::Remote { endpoints, .. } = &shared.target {
        if !scenario.header.faults.is_empty() {
            return Some(crate::faults::REMOTE_SKIP.to_owned());
        }
        let protocols = scenario.sessions().iter().map(|s| s.protocol);
        if let Some(missing) = endpoints.missing_for(protocols) {
            return Some(missing);
        }
        if scenario.header.fixture.is_some() && imap_endpoint(endpoints).is_none() {
            return Some("the scenario's fixture is loaded through IMAP: give --imap or --imaps".to_owned());
        }
    }
    None
}

/// The endpoint for preparing state: implicit TLS if there is one, else plain IMAP.
fn imap_endpoint(endpoints: &Endpoints) -> Option<&Endpoint> {
    endpoints
        .get(Protocol::Imaps)
        .or_else(|| endpoints.get(Protocol::Imap))
}

/// What the scenario needs prepared: its fixture's plan, if any, and whether it uses
/// `${mailbox}` at all (a scenario that never names it gets none).
struct Needs {
    plan: Vec<AccountLoad>,
    mailbox: bool,
}

fn needs(scenario: &Scenario, entry: &Entry, shared: &Shared) -> Result<Needs, Unprepared> {
    let accounts = match &shared.target {
        Target::Own => own_accounts().len(),
        Target::Remote { accounts, .. } => accounts.len(),
    };
    let plan = match &scenario.header.fixture {
        Some(fixture) => {
            let path = entry.path.parent().unwrap_or(Path::new(".")).join(fixture);
            plan_fixture(&path, accounts, &shared.advertised.imap)?
        }
        None => Vec::new(),
    };
    let mailbox = !plan.is_empty() || scenario.header.fixture.is_some() || entry.text.contains("${mailbox");
    Ok(Needs { plan, mailbox })
}

/// What happened around the play: the verdict, the transcript and a clean-up warning.
type Played = (Verdict, Transcript, Option<String>);

async fn play(scenario: &Scenario, entry: &Entry, shared: &Shared) -> Played {
    if let Some(reason) = skip_reason(scenario, shared) {
        return (Verdict::Skip(reason), Transcript::default(), None);
    }
    let needs = match needs(scenario, entry, shared) {
        Ok(needs) => needs,
        Err(Unprepared::Skip(reason)) => return (Verdict::Skip(reason), Transcript::default(), None),
        Err(Unprepared::Error(reason)) => return (Verdict::Error(reason), Transcript::default(), None),
    };
    let (endpoints, accounts, own) = match &shared.target {
        Target::Remote {
            endpoints, accounts, ..
        } => (endpoints.clone(), accounts.clone(), None),
        Target::Own => match own_faults(scenario, entry) {
            Err(e) => return (Verdict::Error(e), Transcript::default(), None),
            Ok(faults) => match OwnServers::start(faults).await {
                Ok(own) => (own.endpoints.clone(), own_accounts(), Some(own)),
                Err(e) => return (Verdict::Error(e), Transcript::default(), None),
            },
        },
    };
    // mailrig's own servers all use the process's one generated identity (`Identity::shared`),
    // which the run's TLS configuration already trusts.
    let tls = shared.tls.clone();
    let played = play_prepared(scenario, entry, shared, &needs, &endpoints, &accounts, tls).await;
    if let Some(own) = own {
        own.stop().await;
    }
    played
}

/// Prepares `${mailbox}` and the fixture (when the target has IMAP and the scenario needs
/// them), plays, and cleans up.
async fn play_prepared(
    scenario: &Scenario,
    entry: &Entry,
    shared: &Shared,
    needs: &Needs,
    endpoints: &Endpoints,
    accounts: &[Account],
    tls: Arc<rustls::ClientConfig>,
) -> Played {
    let mailbox = fresh_mailbox_name();
    let mut vars = variables(accounts, endpoints);
    vars.insert("mailbox".to_owned(), mailbox.clone());
    let connector = TlsConnector::from(tls.clone());
    let access = imap_endpoint(endpoints)
        .filter(|_| needs.mailbox)
        .map(|endpoint| Access {
            endpoint,
            tls: &connector,
            limit: shared.timeout,
        });
    if let Some(access) = &access {
        let prepared = prepare(access, accounts, &mailbox, &needs.plan).await;
        if let Err(unprepared) = prepared {
            let warning = clean_up(access, accounts, &mailbox, needs.plan.len()).await.err();
            let verdict = match unprepared {
                Unprepared::Skip(reason) => Verdict::Skip(reason),
                Unprepared::Error(reason) => Verdict::Error(reason),
            };
            return (verdict, Transcript::default(), warning);
        }
    }
    let config = EngineConfig {
        receive_timeout: shared.timeout,
        ..EngineConfig::default()
    };
    let played = play_client(scenario.clone(), endpoints, tls, &vars, config).await;
    let warning = match &access {
        Some(access) => clean_up(access, accounts, &mailbox, needs.plan.len()).await.err(),
        None => None,
    };
    let (verdict, transcript) = match played {
        Ok(played) if played.report.passed() => (Verdict::Pass, played.transcript),
        Ok(played) => {
            let shown = mailrig_transcript::report::render(&played.report, &entry.display(), &entry.text);
            (Verdict::Fail(shown), played.transcript)
        }
        Err(e) => (Verdict::Error(e.to_string()), Transcript::default()),
    };
    (verdict, transcript, warning)
}

/// The run variables: `${user}`, `${password}`, `${user2}`, `${password2}`, `${auth_plain}`,
/// `${auth_plain2}`, `${domain}`,
/// `${host}`, `${port}` (of the IMAP target, else the SMTP one).
pub fn variables(accounts: &[Account], endpoints: &Endpoints) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    for (i, account) in accounts.iter().take(2).enumerate() {
        let suffix = if i == 0 { "" } else { "2" };
        vars.insert(format!("user{suffix}"), account.login.clone());
        vars.insert(format!("password{suffix}"), account.password.clone());
        vars.insert(format!("address{suffix}"), account.address.clone());
        // What `mailrig record` writes for a SASL PLAIN response (RFC 4616: NUL login NUL
        // password, base64), so a recorded AUTH runs with this run's accounts.
        let plain = crate::record::auth_plain(&account.login, &account.password);
        vars.insert(format!("auth_plain{suffix}"), plain);
    }
    let domain = accounts
        .first()
        .and_then(|a| a.address.split_once('@'))
        .map_or("example.test", |(_, d)| d);
    vars.insert("domain".to_owned(), domain.to_owned());
    let main = [
        Protocol::Imap,
        Protocol::Imaps,
        Protocol::Smtp,
        Protocol::Submission,
        Protocol::Smtps,
    ]
    .iter()
    .find_map(|p| endpoints.get(*p));
    if let Some(endpoint) = main {
        vars.insert("host".to_owned(), endpoint.host.clone());
        vars.insert("port".to_owned(), endpoint.port.to_string());
    }
    vars
}

/// A mailbox name no other scenario of any run uses, `mailrig-PID-NANOS-N`, for `${mailbox}`.
/// No such name is another one followed by a non-digit, which [`crate::state::clean_up`]
/// relies on to remove only this scenario's mailboxes.
fn fresh_mailbox_name() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("mailrig-{}-{nanos:x}-{n}", std::process::id())
}

/// A fresh store holding the [`own_accounts`], for mailrig's own servers.
pub(crate) fn own_store() -> Result<Store, String> {
    let store = Store::new();
    for account in own_accounts() {
        let user = User::new(&account.login, &account.password, [account.address.as_str()]);
        store.add_user(user).map_err(|e| e.to_string())?;
    }
    Ok(store)
}

/// mailrig's own servers for one scenario: every service on 127.0.0.1, a fresh store with
/// the [`own_accounts`], IMAP LOGIN allowed before STARTTLS. A fixture is loaded through IMAP,
/// as on any target.
struct OwnServers {
    server: Server,
    endpoints: Endpoints,
    trust: Trust,
}

impl OwnServers {
    /// Starts the servers, misbehaving as `faults` say (the scenario's `faults:`; random
    /// rules without a seed of their own get seed 0, so a run is repeatable).
    async fn start(faults: Vec<Rule>) -> Result<OwnServers, String> {
        let store = own_store()?;
        let mut config = ServerConfig::loopback(store);
        // The shipped scenarios log in over plain `imap` sessions, as a server configured
        // for tests allows (Dovecot's `disable_plaintext_auth = no`); only loopback is bound.
        config.imap.config.login_disabled_before_tls = false;
        config.faults = faults;
        config.fault_seed = Some(0);
        let server = Server::start(config)
            .await
            .map_err(|e| format!("cannot start mailrig's servers: {e}"))?;
        let mut endpoints = Endpoints::default();
        for protocol in Protocol::ALL {
            if let Some(addr) = server.addr(protocol) {
                endpoints.set(
                    protocol,
                    Endpoint {
                        host: addr.ip().to_string(),
                        port: addr.port(),
                        implicit_tls: protocol.implicit_tls(),
                    },
                );
            }
        }
        let ca = server.ca_pem().ok_or("mailrig's servers started without TLS")?;
        let trust = Trust::ca_pem(ca.as_bytes())?;
        Ok(OwnServers {
            server,
            endpoints,
            trust,
        })
    }

    async fn stop(self) {
        self.server.shutdown(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("imap-*", "imap-idle"));
        assert!(glob("*idle*", "imap-idle-push"));
        assert!(glob("smtp-?uth", "smtp-auth"));
        assert!(!glob("imap-*", "smtp-imap-x"));
        assert!(!glob("smtp-?uth", "smtp-oauth"));
    }

    #[test]
    fn accounts_parse() {
        // A password may hold `:`; only a last part with `@` is an address.
        assert_eq!(
            Account::parse("alice:s:e:cret"),
            Some(Account {
                login: "alice".into(),
                password: "s:e:cret".into(),
                address: "alice@example.test".into()
            })
        );
        assert_eq!(
            Account::parse("alice:pa:ss:a@mx.test"),
            Some(Account {
                login: "alice".into(),
                password: "pa:ss".into(),
                address: "a@mx.test".into()
            })
        );
        assert_eq!(
            Account::parse("bob:pw").map(|a| a.address),
            Some("bob@example.test".into())
        );
        assert_eq!(Account::parse("bob"), None);
        assert_eq!(Account::parse(":pw"), None);
    }
}
