//! The fault rules a case aims at a canonical `S:` line (`target.rs` names the line's reply
//! from the scenario's own lines) hit that reply when a replay serves the case (the replay
//! names its replies from the client's bytes, `mailrig_transcript::engine` and mailrig-fault's
//! occurrence counting). Nothing else ties the two together, so this test does: for every
//! canonical shipped for fuzzing (the `Flow`s, `fixtures/clients/fuzz/`, the `split` client's
//! of `crates/mailrig/tests/fuzz_clients/`) and a few written here (SMTP AUTH `334`s, BDAT
//! chunks, DATA, multi-line replies; IMAP `+` continuations, untagged lines, an APPEND
//! literal; two sessions of one protocol), and every `S:` line `i`, it serves the case with a
//! single `reset` at line `i` (and the same rule with `close`) and drives it with the engine's
//! own client role over sockets, following the canonical exactly (`mailrig run`'s driver,
//! `mailrig_runner::net::play_client`; the canonical's client holes get values, `plays:
//! client`). The client must receive exactly the canonical's server bytes of that session
//! before the reply holding line `i`, and fail there: its run's failure points at the first
//! line of that reply or a later line of the same run of `S:` lines (an IMAP client waiting
//! for untagged responses and their completion reports the completion). Which line starts a
//! reply is worked out here on its own (an SMTP reply's lines run while the one before has `-`
//! after its code; an IMAP response is one line), not with `target.rs`.
//!
//! It can fail, and did: it found that `target.rs` took the `C:` lines holding a BDAT chunk's
//! octets for commands, so every rule after a chunk was aimed at the wrong reply (fixed there;
//! `smtp_auth_bdat_and_data` fails without the fix). With `target.rs` counting untagged
//! occurrences one short (`untagged#0` for the first), the three tests with IMAP untagged lines
//! fail; with the reply to DATA's final dot named `DATA#1 final` instead of `data-end#1 final`,
//! the rule never fires and the client reads the whole script, and both SMTP tests fail. Both
//! breakages were tried and reverted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mailrig_fuzz::{Canonical, Case, Flow, Mutation};
use mailrig_runner::net::{Played, play_client};
use mailrig_runner::replay::{Replay, ReplayConfig};
use mailrig_runner::target::{Endpoint, Endpoints, Trust};
use mailrig_transcript::engine::EngineConfig;
use mailrig_transcript::pattern::{Bindings, Output, render};
use mailrig_transcript::scenario::{Class, Family, FaultRule, Item, Part, Role, Scenario, Side, StepKind};

/// SMTP: a multi-line greeting, AUTH LOGIN's two `334`s, BDAT chunks, then DATA with a
/// multi-line reply to the final dot.
const SMTP_AUTH_BDAT_DATA: &str = "\
name: targets-smtp
sessions: s=submission
plays: server

S: 220-mx.example.test
S: 220 ready
C: EHLO ${_:word}
S: 250-mx.example.test
S: 250-CHUNKING
S: 250 AUTH LOGIN PLAIN
C: AUTH LOGIN
S: 334 VXNlcm5hbWU6
C: YWxpY2U=
S: 334 UGFzc3dvcmQ6
C: c2VjcmV0
S: 235 2.7.0 authenticated
C: MAIL FROM:<alice@example.test>
S: 250 2.1.0 ok
C: RCPT TO:<bob@example.test>
S: 250 2.1.5 ok
C: BDAT 14
C: Subject: one
S: 250 2.0.0 chunk received
C: BDAT 7 LAST
C: hello
S: 250 2.0.0 queued as 1
C: MAIL FROM:<alice@example.test>
S: 250 2.1.0 ok
C: RCPT TO:<bob@example.test>
S: 250 2.1.5 ok
C: DATA
S: 354 go ahead
C: Subject: two
C:
C: body
C: .
S: 250-2.0.0 queued
S: 250 2.0.0 as 2
C: QUIT
S: 221 bye
@close server
";

/// IMAP: `+` continuations (AUTHENTICATE, IDLE), an APPEND literal (the replay's own `+`),
/// untagged lines before completions and inside IDLE.
const IMAP_CONTINUATIONS: &str = "\
name: targets-imap
sessions: a=imap
plays: server

S: * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN IDLE] ready
C: ${t1:atom} AUTHENTICATE PLAIN
S: +
C: AGFsaWNlAHNlY3JldA==
S: ${t1} OK AUTHENTICATE completed
C: ${t2:atom} SELECT INBOX
S: * FLAGS (\\Seen)
S: * 1 EXISTS
S: ${t2} OK [READ-WRITE] SELECT completed
C: ${t3:atom} APPEND INBOX (\\Seen) {{{
Subject: appended

hi
}}}
S: * 2 EXISTS
S: ${t3} OK APPEND completed
C: ${t4:atom} IDLE
S: + idling
S: * 3 EXISTS
C: DONE
S: ${t4} OK IDLE terminated
C: ${t5:atom} UID FETCH 1:* (FLAGS)
S: * 1 FETCH (UID 1 FLAGS (\\Seen))
S: * 2 FETCH (UID 2 FLAGS (\\Seen))
S: ${t5} OK UID FETCH completed
C: ${t6:atom} LOGOUT
S: * BYE bye
S: ${t6} OK LOGOUT completed
";

/// Two IMAP sessions, interleaved: rules need `conn#N`.
const TWO_IMAP_SESSIONS: &str = "\
name: targets-two-imap
sessions: a=imap, b=imap
plays: server

a S: * OK first ready
a C: ${t1:atom} LOGIN alice secret
a S: ${t1} OK LOGIN completed
b S: * OK second ready
b C: ${u1:atom} LOGIN bob secret
b S: ${u1} OK LOGIN completed
a C: ${t2:atom} NOOP
a S: * 1 EXISTS
a S: ${t2} OK NOOP completed
b C: ${u2:atom} NOOP
b S: ${u2} OK NOOP completed
a C: ${t3:atom} LOGOUT
a S: * BYE bye
a S: ${t3} OK LOGOUT completed
b C: ${u3:atom} LOGOUT
b S: * BYE bye
b S: ${u3} OK LOGOUT completed
";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every canonical scenario shipped for fuzzing.
fn shipped() -> Vec<Scenario> {
    let mut out = vec![
        Flow::ImapFetch.canonical().scenario().clone(),
        Flow::SmtpSend.canonical().scenario().clone(),
    ];
    let mut files: Vec<PathBuf> = std::fs::read_dir(workspace().join("fixtures/clients/fuzz"))
        .expect("fixtures/clients/fuzz")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "scenario"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "the profiles' canonicals: {files:?}");
    files.push(workspace().join("crates/mailrig/tests/fuzz_clients/split/fuzz/send.scenario"));
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable");
        out.push(mailrig_transcript::parse(&path.display().to_string(), &text).expect("valid"));
    }
    out
}

fn written(text: &str) -> Scenario {
    mailrig_transcript::parse("targets.scenario", text).expect("valid")
}

/// The canonical for the engine's client role: every `C:` hole without a value gets one
/// that fits its class (tags `A1`, `A2`, ...), and `plays: client`.
fn as_client(canonical: &Scenario) -> Scenario {
    let mut scenario = canonical.clone();
    scenario.header.plays = Some(Role::Client);
    scenario.header.faults.clear();
    let mut tags = 0;
    for item in &mut scenario.body {
        let Item::Step(step) = item else { continue };
        let StepKind::Line(line) = &mut step.kind else {
            continue;
        };
        if line.side != Side::Client {
            continue;
        }
        for part in &mut line.parts {
            let Part::Hole(hole) = part else { continue };
            if hole.value.is_none() {
                hole.value = Some(match hole.class {
                    Class::Atom => {
                        tags += 1;
                        format!("A{tags}")
                    }
                    Class::Num | Class::Seq => "1".to_owned(),
                    _ => "x".to_owned(),
                });
            }
        }
    }
    scenario
}

/// One `S:` line: its session, its line in the file, where its reply starts in its session's
/// server bytes, that reply's first line in the file, and the last line of the run of the
/// session's `S:` lines it is in (an IMAP client waiting for a group of responses reports
/// the group's completion when the connection ends before it).
#[derive(Debug)]
struct Expected {
    session: usize,
    line: usize,
    reply_start: usize,
    reply_line: usize,
    run_end: usize,
}

fn bytes(outputs: Vec<Output>) -> Vec<u8> {
    outputs
        .into_iter()
        .filter_map(|o| match o {
            Output::Bytes(b) => Some(b),
            _ => None,
        })
        .flatten()
        .collect()
}

/// Every `S:` line's [`Expected`], and each session's server bytes, rendered with the client
/// scenario's hole values.
fn expected(client: &Scenario) -> (Vec<Expected>, Vec<Vec<u8>>) {
    let sessions = client.sessions();
    let mut sent: Vec<Vec<u8>> = vec![Vec::new(); sessions.len()];
    // Per session: the reply still open (an SMTP line with `-` after its code), as its start
    // and first line.
    let mut open: Vec<Option<(usize, usize)>> = vec![None; sessions.len()];
    let mut bindings = Bindings::new();
    let mut runs = vec![0usize; sessions.len()];
    let mut out: Vec<(usize, Expected)> = Vec::new();
    for item in &client.body {
        let Item::Step(step) = item else { continue };
        let StepKind::Line(line) = &step.kind else {
            continue;
        };
        let s = step.session;
        let outputs = render(line, &mut bindings).expect("renders");
        let waits = outputs.contains(&Output::AwaitContinuation);
        let rendered = bytes(outputs);
        if line.side == Side::Client {
            if waits {
                // The replay's own `+` for a synchronizing literal (the engine's text).
                sent[s].extend_from_slice(b"+ Ready for literal data\r\n");
            }
            open[s] = None;
            runs[s] += 1;
            continue;
        }
        let (reply_start, reply_line) = open[s].unwrap_or((sent[s].len(), step.pos.line));
        let smtp = sessions[s].protocol.family() == Family::Smtp;
        open[s] = (smtp && rendered.get(3) == Some(&b'-')).then_some((reply_start, reply_line));
        let expected = Expected {
            session: s,
            line: step.pos.line,
            reply_start,
            reply_line,
            run_end: step.pos.line,
        };
        out.push((runs[s], expected));
        sent[s].extend_from_slice(&rendered);
    }
    let ends: Vec<usize> = out
        .iter()
        .map(|(run, e)| {
            out.iter()
                .filter(|(r, o)| r == run && o.session == e.session)
                .map(|(_, o)| o.line)
                .max()
                .unwrap_or(e.line)
        })
        .collect();
    let out = out
        .into_iter()
        .zip(ends)
        .map(|((_, e), run_end)| Expected { run_end, ..e })
        .collect();
    (out, sent)
}

/// Serves `served` with a replay and plays `client` against it.
fn play(runtime: &tokio::runtime::Runtime, served: Scenario, client: &Scenario) -> Played {
    runtime.block_on(async {
        let config = ReplayConfig {
            receive_timeout: Duration::from_secs(3),
            connect_timeout: Duration::from_secs(3),
            ..ReplayConfig::default()
        };
        let replay = Replay::start(served, config).await.expect("the replay starts");
        let mut endpoints = Endpoints::default();
        for (protocol, addr) in replay.listeners() {
            let endpoint = Endpoint {
                host: "localhost".to_owned(),
                port: addr.port(),
                implicit_tls: protocol.implicit_tls(),
            };
            endpoints.set(*protocol, endpoint);
        }
        let tls = Trust::ca_pem(replay.ca_pem().as_bytes())
            .and_then(|t| t.client_config())
            .expect("the replay's CA");
        let engine = EngineConfig {
            receive_timeout: Duration::from_secs(3),
            ..EngineConfig::default()
        };
        let played = play_client(client.clone(), &endpoints, tls, &BTreeMap::new(), engine)
            .await
            .expect("the client plays");
        drop(tokio::time::timeout(Duration::from_secs(1), replay.finish()).await);
        played
    })
}

/// The case with one `reset` at `line`, or the same rule as `close`.
fn case(canonical: &Canonical, line: usize, close: bool) -> Scenario {
    let mut scenario = Case::new(canonical, vec![Mutation::Reset { line }]).scenario();
    let rules = &mut scenario.header.faults;
    assert_eq!(rules.len(), 1, "one rule for line {line}: {rules:?}");
    if close {
        let text = rules[0].text.strip_suffix("reset").expect("a reset rule");
        rules[0] = FaultRule::new(format!("{text}close"));
    }
    scenario
}

/// Checks every `S:` line of `canonical`; returns the failures, one line each.
fn check(runtime: &tokio::runtime::Runtime, canonical: &Scenario) -> Vec<String> {
    let name = &canonical.header.name;
    let client = as_client(canonical);
    let (lines, sent) = expected(&client);
    let baseline = play(runtime, canonical.clone(), &client);
    assert!(
        baseline.report.passed(),
        "{name}: the client role follows the canonical: {:?}",
        baseline.report.failure()
    );
    for (s, session) in baseline.transcript.sessions.iter().enumerate() {
        assert_eq!(
            String::from_utf8_lossy(&session.bytes_from(Side::Server)),
            String::from_utf8_lossy(&sent[s]),
            "{name}: the rendering of session {s}'s server lines"
        );
    }
    let indexed = Canonical::new(canonical.clone()).expect("canonical");
    let mut failures = Vec::new();
    for (i, want) in lines.iter().enumerate() {
        for close in [false, true] {
            let served = case(&indexed, i, close);
            let rule = served.header.faults[0].text.clone();
            let played = play(runtime, served, &client);
            let got = played.transcript.sessions[want.session].bytes_from(Side::Server);
            let prefix = &sent[want.session][..want.reply_start];
            let at = played.report.failure().map(|f| f.pos.line);
            let fine = got == prefix && at.is_some_and(|at| (want.reply_line..=want.run_end).contains(&at));
            if !fine {
                failures.push(format!(
                    "{name}: server line {i} (file line {}, reply from line {}), `{rule}`: the client failed at {at:?} having received {:?}, expected {:?}",
                    want.line,
                    want.reply_line,
                    String::from_utf8_lossy(&got),
                    String::from_utf8_lossy(prefix),
                ));
            }
        }
    }
    failures
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn assert_all(scenarios: Vec<Scenario>) {
    let runtime = runtime();
    let failures: Vec<String> = scenarios.iter().flat_map(|s| check(&runtime, s)).collect();
    assert!(
        failures.is_empty(),
        "{} rule(s) missed their reply:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn fault_rules_hit_the_reply_of_their_line_in_every_shipped_canonical() {
    assert_all(shipped());
}

#[test]
fn fault_rules_hit_the_reply_of_their_line_in_smtp_auth_bdat_and_data() {
    assert_all(vec![written(SMTP_AUTH_BDAT_DATA)]);
}

#[test]
fn fault_rules_hit_the_reply_of_their_line_in_imap_continuations_and_untagged_lines() {
    assert_all(vec![written(IMAP_CONTINUATIONS)]);
}

#[test]
fn fault_rules_hit_the_reply_of_their_line_across_two_sessions_of_one_protocol() {
    assert_all(vec![written(TWO_IMAP_SESSIONS)]);
}
