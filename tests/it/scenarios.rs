//! Snapshots of how mailrig reads every file under `scenarios/`: sessions, steps, groups,
//! holes and literal sizes. A parser change that alters the meaning of a shipped scenario
//! shows up here as a snapshot diff.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use mailrig_transcript::scenario::{Directive, Item, Literal, LiteralSource, Part, Presence, StepKind};
use mailrig_transcript::{Scenario, parse, print};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

fn scenario_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("scenarios/ exists")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            scenario_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "scenario") {
            out.push(path);
        }
    }
}

fn load(path: &Path) -> (String, Scenario) {
    let text = std::fs::read_to_string(path).expect("readable scenario");
    let mut scenario = parse(&path.display().to_string(), &text).unwrap_or_else(|e| panic!("{e}"));
    let dir = path.parent().expect("file in a directory");
    scenario
        .load_literals(|p| std::fs::read(dir.join(p)).map_err(|e| e.to_string()))
        .unwrap_or_else(|(pos, e)| panic!("{}:{pos}: {e}", path.display()));
    (text, scenario)
}

/// One line per step: position, session, what the step is, and its pieces.
fn explain(scenario: &Scenario) -> String {
    let h = &scenario.header;
    let mut out = String::new();
    let sessions: Vec<String> = h
        .sessions
        .iter()
        .map(|s| format!("{}={}", s.name, s.protocol.keyword()))
        .collect();
    let _ = writeln!(out, "name: {}\nsessions: {}", h.name, sessions.join(", "));
    for fault in &h.faults {
        let _ = writeln!(out, "fault {}: {}", fault.pos, fault.text);
    }
    let plays = match h.plays {
        None => "client and server".to_owned(),
        Some(role) => format!("{role:?} only").to_lowercase(),
    };
    let _ = writeln!(
        out,
        "plays: {plays}\nrequires: {:?}\n",
        h.requires
            .iter()
            .map(|r| format!("{}:{}", r.family.keyword(), r.capability))
            .collect::<Vec<_>>()
    );
    for item in &scenario.body {
        let Item::Step(step) = item else { continue };
        let session = &h.sessions[step.session].name;
        let what = match &step.kind {
            StepKind::Directive(d) => directive(d),
            StepKind::Line(line) => {
                let presence = match line.presence {
                    Presence::Required => "must",
                    Presence::Optional => "may",
                    Presence::Forbidden => "must-not",
                };
                let case = if line.exact_case { " exact-case" } else { "" };
                let eol = if line.crlf { "" } else { " (no CRLF)" };
                let parts: Vec<String> = line.parts.iter().map(part).collect();
                format!(
                    "{} {presence}{case}{eol}: {}",
                    line.side.letter(),
                    parts.join(" ")
                )
            }
        };
        let _ = writeln!(
            out,
            "{:>4}:{:<3} {session:<2} {what}",
            step.pos.line, step.pos.col
        );
    }
    out
}

fn directive(d: &Directive) -> String {
    mailrig_transcript::print::directive(d)
}

fn part(part: &Part) -> String {
    match part {
        Part::Text(bytes) => format!("{:?}", String::from_utf8_lossy(bytes)),
        Part::Hole(h) => format!(
            "<{}:{}{}>",
            h.name.as_deref().unwrap_or("_"),
            h.class.keyword(),
            h.value.as_ref().map(|v| format!("={v}")).unwrap_or_default()
        ),
        Part::Ref(name) => format!("<={name}>"),
        Part::Split => "<write boundary>".to_owned(),
        Part::Literal(l) => literal(l),
    }
}

fn literal(l: &Literal) -> String {
    let kind = if l.non_sync { "non-sync" } else { "sync" };
    let size = l.data().map_or("?".to_owned(), |d| d.len().to_string());
    match &l.source {
        LiteralSource::Inline(lines) => {
            format!("<{kind} literal, {size} bytes, {} inline lines>", lines.len())
        }
        LiteralSource::File { path, .. } => format!("<{kind} literal, {size} bytes from {path}>"),
    }
}

#[test]
fn every_shipped_scenario() {
    let root = corpus();
    let mut files = Vec::new();
    scenario_files(&root, &mut files);
    assert!(
        files.len() >= 12,
        "expected at least 12 shipped scenarios, found {}",
        files.len()
    );
    for path in files {
        let (text, scenario) = load(&path);
        assert_eq!(
            print(&scenario),
            text,
            "{} is not in canonical form (run `mailrig fmt`)",
            path.display()
        );
        let relative = path
            .strip_prefix(&root)
            .expect("under scenarios/")
            .with_extension("");
        let name = relative.to_string_lossy().replace(['/', '\\'], "__");
        insta::assert_snapshot!(name, explain(&scenario));
    }
}
