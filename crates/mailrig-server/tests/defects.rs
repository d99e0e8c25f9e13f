//! The kill table: every shipped scenario (`scenarios/smtp`, `imap`, `flows`, `security`)
//! played against mailrig's model servers started with one deliberate defect at a time
//! (`mailrig_server::Defect`, catalogue in docs/defects.md). Every defect must make at least
//! one scenario fail, and with no defect every scenario must pass: a suite that passes a
//! broken server, or fails a correct one, is not telling the truth.
//!
//! The servers are in process, as in `tests/scenarios.rs` (both use `support::Servers`):
//! mailrig's sans-IO SMTP and IMAP sessions over one store, played
//! by `mailrig_transcript::play::play_client`. A defect of one protocol is only played
//! against the scenarios with a session of that protocol; the others cannot reach it.
//!
//! The table (each defect with the scenarios that caught it, each scenario with the defects it
//! kills, and the scenarios no defect kills) is printed with `--nocapture` and written to
//! `target/tmp/kill-table.txt`, which ci/check.sh shows after the test run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use mailrig_server::Defect;
use mailrig_transcript::play::play_client;
use mailrig_transcript::report::render;
use mailrig_transcript::scenario::{Protocol, Scenario};
use mailrig_transcript::{parse, verify::Report};

mod support;

use support::{Servers, vars};

/// The scenario directories the table covers.
const DIRS: [&str; 4] = ["smtp", "imap", "flows", "security"];

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

/// Plays `shipped` against fresh servers with `defect` (or none).
fn play(shipped: &Shipped, defect: Option<Defect>, vars: &BTreeMap<String, String>) -> Report {
    let mut servers = Servers::with_defect(defect);
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

fn table_text(shipped: &[Shipped], table: &[(Defect, Vec<usize>)]) -> String {
    let name = |s: &usize| shipped[*s].relative.trim_end_matches(".scenario").to_owned();
    let mut out = String::from("kill table: defect -> scenarios that fail against it\n");
    for (defect, killers) in table {
        let names: Vec<String> = killers.iter().map(name).collect();
        let shown = if names.is_empty() {
            "(none: survives)".to_owned()
        } else {
            names.join(", ")
        };
        out += &format!("  {:<9} {:<34} {shown}\n", defect.protocol(), defect.name());
    }
    out += "\nkill table: scenario -> defects it kills\n";
    for (s, _) in shipped.iter().enumerate() {
        let kills: Vec<&str> = table
            .iter()
            .filter(|(_, killers)| killers.contains(&s))
            .map(|(defect, _)| defect.name())
            .collect();
        out += &format!("  {:<44} {}\n", name(&s), kills.join(", "));
    }
    let survivors: Vec<String> = unkilled(shipped.len(), table).iter().map(name).collect();
    out += &format!(
        "\nscenarios no defect kills ({} of {}): {}\n",
        survivors.len(),
        shipped.len(),
        survivors.join(", ")
    );
    out
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
    // Printed with --nocapture, and kept where ci/check.sh shows it after the test run.
    let text = table_text(&shipped, &table);
    println!("\n{text}");
    let kept = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("kill-table.txt");
    std::fs::write(&kept, &text).expect("the kill table can be written under target/");
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
