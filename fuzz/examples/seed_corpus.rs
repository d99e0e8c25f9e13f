//! Writes the seed corpora of the fuzz targets from the shipped scenarios (`fuzz/seed-corpus.sh`
//! runs it): the files themselves for `scenario_parse`, each SMTP/IMAP session's client bytes
//! for `smtp_session`/`imap_session`, and the `S:` lines for `line_match`/`imap_response`.
//!
//! Usage: `seed-corpus SCENARIOS_DIR CORPUS_DIR`. Files are named by a hash of their content,
//! so running it twice adds nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mailrig_transcript::pattern::{self, Bindings, Output};
use mailrig_transcript::scenario::{Family, Line, Side, StepKind};
use mailrig_transcript::{Scenario, parse};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, scenarios, corpus] = args.as_slice() else {
        return Err("usage: seed-corpus SCENARIOS_DIR CORPUS_DIR".into());
    };
    let mut files = Vec::new();
    collect(Path::new(scenarios), &mut files)?;
    let mut seeds: BTreeMap<&str, Vec<Vec<u8>>> = BTreeMap::new();
    for file in &files {
        let text = std::fs::read_to_string(file)?;
        seeds
            .entry("scenario_parse")
            .or_default()
            .push(text.clone().into_bytes());
        let Ok(scenario) = parse(&file.display().to_string(), &text) else {
            continue;
        };
        sessions(&scenario, &mut seeds);
        server_lines(&scenario, &mut seeds);
    }
    for (target, inputs) in &seeds {
        let dir = Path::new(corpus).join(target);
        std::fs::create_dir_all(&dir)?;
        for input in inputs {
            std::fs::write(dir.join(format!("seed-{:016x}", fnv(input))), input)?;
        }
        println!("{target}: {} seeds", inputs.len());
    }
    Ok(())
}

/// Every `*.scenario` file under `dir`.
fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "scenario") {
            out.push(path);
        }
    }
    Ok(())
}

/// Each session's client bytes, rendered as mailrig would send them (lines whose values only
/// a run knows are left out), behind the targets' options byte and a one-read chunk seed.
fn sessions(scenario: &Scenario, seeds: &mut BTreeMap<&str, Vec<Vec<u8>>>) {
    for (index, decl) in scenario.header.sessions.iter().enumerate() {
        let (target, options) = match decl.protocol.family() {
            Family::Smtp => ("smtp_session", 0u8),
            Family::Imap => ("imap_session", 2u8),
        };
        let mut bytes = vec![options, 0];
        let mut bindings = run_values();
        for line in lines(scenario, index).filter(|l| l.side == Side::Client) {
            let Ok(outputs) = pattern::render(line, &mut bindings) else {
                continue;
            };
            for output in outputs {
                if let Output::Bytes(b) = output {
                    bytes.extend(b);
                }
            }
        }
        if bytes.len() > 2 {
            seeds.entry(target).or_default().push(bytes);
        }
    }
}

/// Each `S:` line as written, followed by a received line that resembles it (its text with
/// the `${...}` expressions left out).
fn server_lines(scenario: &Scenario, seeds: &mut BTreeMap<&str, Vec<Vec<u8>>>) {
    for (index, decl) in scenario.header.sessions.iter().enumerate() {
        let family = decl.protocol.family();
        for line in lines(scenario, index).filter(|l| l.side == Side::Server) {
            let written = pattern::display(line);
            let received = format!("{}\r\n", without_expressions(&written));
            let options = if family == Family::Imap { 0u8 } else { 1 };
            let mut input = vec![options];
            input.extend(format!("{written}\n{received}").into_bytes());
            seeds.entry("line_match").or_default().push(input);
            if family == Family::Imap {
                let mut input = vec![0u8];
                input.extend(received.into_bytes());
                seeds.entry("imap_response").or_default().push(input);
            }
        }
    }
}

/// The protocol lines of one session.
fn lines(scenario: &Scenario, session: usize) -> impl Iterator<Item = &Line> {
    scenario
        .steps()
        .filter(move |s| s.session == session)
        .filter_map(|s| match &s.kind {
            StepKind::Line(line) => Some(line),
            StepKind::Directive(_) => None,
        })
}

/// The values a run gives the built-in variables (the fuzz targets' user is alice).
fn run_values() -> Bindings {
    [
        ("host", "localhost"),
        ("port", "25"),
        ("user", "alice"),
        ("password", "secret"),
        ("user2", "bob"),
        ("password2", "secret"),
        ("domain", "example.test"),
        ("mailbox", "INBOX"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.as_bytes().to_vec()))
    .collect()
}

/// `text` with every `${...}` removed.
fn without_expressions(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        match rest[start..].find('}') {
            Some(end) => rest = &rest[start + end + 1..],
            None => rest = "",
        }
    }
    out.push_str(rest);
    out
}

/// FNV-1a, for content-addressed file names.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}
