//! The kill table: every shipped scenario (`scenarios/smtp`, `imap`, `flows`, `security`)
//! played against mailrig's model servers started with one deliberate defect at a time
//! (`mailrig_server::Defect`, catalogue in docs/defects.md). Every defect must make at least
//! one scenario fail, and with no defect every scenario must pass: a suite that passes a
//! broken server, or fails a correct one, is not telling the truth.
//!
//! The servers are in process, as in `tests/scenarios.rs` (whose `Servers` this file copies,
//! with the defects added): mailrig's sans-IO SMTP and IMAP sessions over one store, played
//! by `mailrig_transcript::play::play_client`. A defect of one protocol is only played
//! against the scenarios with a session of that protocol; the others cannot reach it.
//!
//! `cargo test -p mailrig-server --test defects -- --nocapture` prints the table: each defect
//! with the scenarios that caught it, each scenario with the defects it kills, and the
//! scenarios no defect kills.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use mailrig_server::Defect;
use mailrig_server::smtp::StoreBackend;
use mailrig_store::{Store, User};
use mailrig_transcript::play::{Target, play_client};
use mailrig_transcript::report::render;
use mailrig_transcript::scenario::{Protocol, Scenario};
use mailrig_transcript::{parse, verify::Report};

/// A fixed clock (2024-01-01T00:00:00Z), so APPEND's internal dates are deterministic.
const NOW: i64 = 1_704_067_200;

/// The scenario directories the table covers.
const DIRS: [&str; 4] = ["smtp", "imap", "flows", "security"];

/// One server-side session of either protocol.
enum Conn {
    Imap(mailrig_imap::Session),
    Smtp(mailrig_smtp::Session, StoreBackend),
}

/// A connection and whether either side has closed it.
struct Open {
    conn: Conn,
    closed: bool,
}

/// mailrig's model servers in process, with `defect` switched on: one session per scenario
/// session, one store.
struct Servers {
    store: Store,
    open: HashMap<String, Open>,
    next_id: u64,
    defect: Option<Defect>,
}

impl Servers {
    /// Users alice/secret (alice@example.test) and bob/hunter2 (bob@example.test).
    fn new(defect: Option<Defect>) -> Servers {
        let store = Store::new();
        store
            .add_user(User::new("alice", "secret", ["alice@example.test"]))
            .expect("fresh store");
        store
            .add_user(User::new("bob", "hunter2", ["bob@example.test"]))
            .expect("fresh store");
        Servers {
            store,
            open: HashMap::new(),
            next_id: 1,
            defect,
        }
    }

    fn imap_config(&self) -> mailrig_imap::Config {
        let mut config = mailrig_imap::Config::default();
        if let Some(Defect::Imap(defect)) = self.defect {
            config.defects.insert(defect);
        }
        config
    }

    /// As `mailrig serve` sets up its SMTP services: submission and smtps need AUTH.
    fn smtp_config(&self, protocol: Protocol) -> mailrig_smtp::Config {
        let mut config = mailrig_smtp::Config {
            hostname: "mail.example.test".into(),
            implicit_tls: protocol == Protocol::Smtps,
            require_auth: protocol != Protocol::Smtp,
            ..mailrig_smtp::Config::default()
        };
        if let Some(Defect::Smtp(defect)) = self.defect {
            config.defects.insert(defect);
        }
        config
    }
}

impl Target for Servers {
    fn connect(&mut self, session: &str, protocol: Protocol) {
        let conn = match protocol {
            Protocol::Imap | Protocol::Imaps => {
                let mut imap = mailrig_imap::Session::new(self.imap_config(), self.store.clone());
                imap.set_time(NOW);
                Conn::Imap(imap)
            }
            Protocol::Smtp | Protocol::Submission | Protocol::Smtps => {
                let backend = StoreBackend::new(self.store.clone(), self.next_id);
                Conn::Smtp(mailrig_smtp::Session::new(self.smtp_config(protocol)), backend)
            }
        };
        self.next_id += 1;
        self.open.insert(session.to_owned(), Open { conn, closed: false });
    }

    fn send(&mut self, session: &str, bytes: &[u8]) {
        match self.open.get_mut(session).map(|open| &mut open.conn) {
            Some(Conn::Imap(imap)) => imap.handle_input(bytes),
            Some(Conn::Smtp(smtp, backend)) => smtp.handle_input(bytes, backend),
            None => {}
        }
    }

    /// Drains the session's output. For an IDLEing IMAP session `poll_output` also pushes
    /// other sessions' changes (EXISTS after an SMTP delivery), as the waker would trigger.
    fn receive(&mut self, session: &str) -> Vec<Vec<u8>> {
        let mut writes = Vec::new();
        let Some(open) = self.open.get_mut(session) else {
            return writes;
        };
        match &mut open.conn {
            Conn::Imap(imap) => {
                while let Some(output) = imap.poll_output() {
                    match output {
                        mailrig_imap::Output::Data(bytes) => writes.push(bytes),
                        mailrig_imap::Output::Close => open.closed = true,
                        mailrig_imap::Output::StartTls => {}
                    }
                }
            }
            Conn::Smtp(smtp, _) => {
                while let Some(output) = smtp.poll_output() {
                    match output {
                        mailrig_smtp::Output::Data(bytes) => writes.push(bytes),
                        mailrig_smtp::Output::Close => open.closed = true,
                        mailrig_smtp::Output::StartTls => {}
                    }
                }
            }
        }
        writes
    }

    fn start_tls(&mut self, session: &str) {
        match self.open.get_mut(session).map(|open| &mut open.conn) {
            Some(Conn::Imap(imap)) => imap.tls_started(),
            Some(Conn::Smtp(smtp, _)) => smtp.tls_started(),
            None => {}
        }
    }

    fn close(&mut self, session: &str) {
        if let Some(open) = self.open.get_mut(session) {
            open.closed = true;
        }
    }

    fn is_closed(&mut self, session: &str) -> bool {
        self.open.get(session).is_some_and(|open| open.closed)
    }
}

/// A shipped scenario, parsed once.
struct Shipped {
    /// The path under `scenarios/`, e.g. `smtp/auth.scenario`.
    relative: String,
    text: String,
    scenario: Scenario,
}

impl Shipped {
    /// Whether the scenario has a session that `defect`'s protocol serves.
    fn reaches(&self, defect: Defect) -> bool {
        self.scenario.sessions().iter().any(|decl| {
            let imap = matches!(decl.protocol, Protocol::Imap | Protocol::Imaps);
            imap == matches!(defect, Defect::Imap(_))
        })
    }
}

fn scenarios_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios")
}

/// Every `.scenario` file under the table's directories, parsed, literals loaded.
fn shipped() -> Vec<Shipped> {
    let root = scenarios_root();
    let mut found = Vec::new();
    for dir in DIRS {
        for entry in std::fs::read_dir(root.join(dir)).expect("scenario directory readable") {
            let path = entry.expect("directory entry").path();
            if path.extension().is_some_and(|e| e == "scenario") {
                found.push(load(&root, &path));
            }
        }
    }
    found.sort_by(|a, b| a.relative.cmp(&b.relative));
    found
}

fn load(root: &Path, path: &Path) -> Shipped {
    let relative = path
        .strip_prefix(root)
        .expect("under scenarios/")
        .to_string_lossy()
        .replace('\\', "/");
    let text = std::fs::read_to_string(path).expect("scenario readable");
    let mut scenario = parse(&relative, &text).expect("scenario parses");
    let dir = path.parent().expect("a scenario is in a directory").to_owned();
    scenario
        .load_literals(|file| std::fs::read(dir.join(file)).map_err(|e| e.to_string()))
        .expect("the scenario's literal files are readable");
    Shipped {
        relative,
        text,
        scenario,
    }
}

fn vars() -> BTreeMap<String, String> {
    [
        ("user", "alice"),
        ("password", "secret"),
        ("user2", "bob"),
        ("password2", "hunter2"),
        ("mailbox", "mailrig-test"),
        ("domain", "example.test"),
        ("host", "127.0.0.1"),
        ("port", "143"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Plays `shipped` against fresh servers with `defect` (or none).
fn play(shipped: &Shipped, defect: Option<Defect>, vars: &BTreeMap<String, String>) -> Report {
    let mut servers = Servers::new(defect);
    play_client(&shipped.scenario, &mut servers, vars)
        .expect("the scenario can be played")
        .report
}

/// Runs `jobs` on two threads (the machines this runs on have two cores); returns each
/// job's result in the order of `jobs`.
fn run_all<J: Sync, R: Send>(jobs: &[J], run: impl Fn(&J) -> R + Sync) -> Vec<R> {
    let next = Mutex::new(0..jobs.len());
    let results = Mutex::new(Vec::with_capacity(jobs.len()));
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                while let Some(i) = next.lock().expect("not poisoned").next() {
                    let result = run(&jobs[i]);
                    results.lock().expect("not poisoned").push((i, result));
                }
            });
        }
    });
    let mut results = results.into_inner().expect("not poisoned");
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, result)| result).collect()
}

/// Which scenarios each defect makes fail (in catalogue order), by index into `shipped`.
fn kill_table(shipped: &[Shipped], defects: &[Defect]) -> Vec<(Defect, Vec<usize>)> {
    let vars = vars();
    let jobs: Vec<(usize, usize)> = (0..defects.len())
        .flat_map(|d| (0..shipped.len()).map(move |s| (d, s)))
        .filter(|&(d, s)| shipped[s].reaches(defects[d]))
        .collect();
    let passed = run_all(&jobs, |&(d, s)| {
        play(&shipped[s], Some(defects[d]), &vars).passed()
    });
    let mut table: Vec<(Defect, Vec<usize>)> = defects.iter().map(|&d| (d, Vec::new())).collect();
    for (&(d, s), passed) in jobs.iter().zip(passed) {
        if !passed {
            table[d].1.push(s);
        }
    }
    table
}

/// The scenarios (indices into the shipped list of `count`) that no defect in `table` kills.
fn unkilled(count: usize, table: &[(Defect, Vec<usize>)]) -> Vec<usize> {
    (0..count)
        .filter(|s| table.iter().all(|(_, killers)| !killers.contains(s)))
        .collect()
}

fn print_table(shipped: &[Shipped], table: &[(Defect, Vec<usize>)]) {
    let name = |s: &usize| shipped[*s].relative.trim_end_matches(".scenario").to_owned();
    println!("\nkill table: defect -> scenarios that fail against it");
    for (defect, killers) in table {
        let names: Vec<String> = killers.iter().map(name).collect();
        let shown = if names.is_empty() {
            "(none: survives)".to_owned()
        } else {
            names.join(", ")
        };
        println!("  {:<9} {:<34} {shown}", defect.protocol(), defect.name());
    }
    println!("\nkill table: scenario -> defects it kills");
    for (s, _) in shipped.iter().enumerate() {
        let kills: Vec<&str> = table
            .iter()
            .filter(|(_, killers)| killers.contains(&s))
            .map(|(defect, _)| defect.name())
            .collect();
        println!("  {:<44} {}", name(&s), kills.join(", "));
    }
    let survivors: Vec<String> = unkilled(shipped.len(), table).iter().map(name).collect();
    println!(
        "\nscenarios no defect kills ({} of {}): {}",
        survivors.len(),
        shipped.len(),
        survivors.join(", ")
    );
}

/// With no defect every shipped scenario passes, every defect makes at least one fail, and
/// every shipped scenario fails against at least one defect (a scenario nothing can fail
/// checks nothing).
#[test]
fn every_defect_is_killed_and_no_scenario_fails_a_correct_server() {
    let shipped = shipped();
    assert!(
        shipped.len() >= 30,
        "only {} shipped scenarios found",
        shipped.len()
    );
    let vars = vars();
    let baseline = run_all(&shipped, |s| play(s, None, &vars));
    let failing: Vec<String> = shipped
        .iter()
        .zip(&baseline)
        .filter(|(_, report)| !report.passed())
        .map(|(s, report)| render(report, &s.relative, &s.text))
        .collect();
    assert!(
        failing.is_empty(),
        "scenarios fail against the correct servers:\n{}",
        failing.join("\n")
    );

    let defects: Vec<Defect> = Defect::all().collect();
    let table = kill_table(&shipped, &defects);
    print_table(&shipped, &table);
    let survivors: Vec<&str> = table
        .iter()
        .filter(|(_, killers)| killers.is_empty())
        .map(|(defect, _)| defect.name())
        .collect();
    assert!(
        survivors.is_empty(),
        "no shipped scenario catches these defects: {}",
        survivors.join(", ")
    );
    let unkilled: Vec<&str> = unkilled(shipped.len(), &table)
        .into_iter()
        .map(|s| shipped[s].relative.as_str())
        .collect();
    assert!(
        unkilled.is_empty(),
        "no defect makes these shipped scenarios fail (add a defect they catch, or fix them): {}",
        unkilled.join(", ")
    );
}

/// The check above can fail: a scenario that no defect's killers include is reported, one
/// that any defect kills is not.
#[test]
fn a_scenario_no_defect_kills_is_reported() {
    let defects: Vec<Defect> = Defect::all().take(2).collect();
    let table = vec![(defects[0], vec![0, 2]), (defects[1], vec![2])];
    assert_eq!(unkilled(4, &table), [1, 3]);
    assert!(unkilled(3, &[(defects[0], vec![0, 1, 2])]).is_empty());
}
