//! The shipped client profiles (`fixtures/clients/`) run through every flow and TLS mode they
//! declare, as `mailrig run --client` runs them, and pass; the deliberately broken clients
//! fail with the check that names their mistake. curl and python3 are all `cargo test` needs;
//! swaks, msmtp and mbsync run only with `--features interop`.

use std::path::Path;

use mailrig_runner::Verdict;
use mailrig_runner::client::{self, ClientConfig, Flow, Outcome, Profile, Script, TlsMode};

fn run_profile(name: &str) -> Vec<Outcome> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../fixtures/clients/{name}.toml"));
    let profile = Profile::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(client::run(&profile, &ClientConfig::default(), |_| {}))
}

/// Every (flow, mode) of the profile passes; returns how many ran.
fn passes(name: &str) -> usize {
    let outcomes = run_profile(name);
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| o.verdict != Verdict::Pass)
        .map(|o| format!("{} {}: {:?}", o.verdict.word(), o.name, o.verdict))
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
    outcomes.len()
}

#[test]
fn curl_sends_and_fetches_in_every_tls_mode() {
    assert_eq!(passes("curl"), 6);
}

#[test]
fn python_smtplib_sends_in_every_tls_mode() {
    assert_eq!(passes("python-smtplib"), 3);
}

#[test]
fn python_imaplib_fetches_marks_flags_moves_and_deletes_in_every_tls_mode() {
    assert_eq!(passes("python-imaplib"), 15);
}

/// The one failure of a broken client's profile, as text.
fn failure(name: &str) -> String {
    let outcomes = run_profile(name);
    let [outcome] = outcomes.as_slice() else {
        panic!("one outcome: {outcomes:?}")
    };
    match &outcome.verdict {
        Verdict::Fail(text) => text.clone(),
        other => panic!("{name} must fail, got {other:?}"),
    }
}

#[test]
fn a_client_that_authenticates_before_starttls_is_caught() {
    let text = failure("broken-auth-before-starttls");
    assert!(
        text.contains("check `starttls-before-auth` failed: the client sent AUTH before STARTTLS"),
        "{text}"
    );
    assert!(text.contains("check `no-cleartext-credentials` failed"), "{text}");
    assert!(text.contains("  > C: AUTH PLAIN "), "{text}");
}

#[test]
fn a_client_that_does_not_dot_stuff_is_caught() {
    let text = failure("broken-no-dot-stuffing");
    assert!(
        text.contains("check `dot-stuffing` failed: line 7 of the message starts with `.`"),
        "{text}"
    );
    assert!(
        text.contains("  > C: .starts with a dot    (message content)"),
        "{text}"
    );
    assert!(text.contains("check `store` failed"), "{text}");
    assert!(!text.contains("starttls-before-auth"), "{text}");
}

#[cfg(feature = "interop")]
#[test]
fn swaks_sends_in_every_tls_mode() {
    assert_eq!(passes("swaks"), 3);
}

#[cfg(feature = "interop")]
#[test]
fn msmtp_sends_with_a_config_file_and_a_password_command() {
    assert_eq!(passes("msmtp"), 3);
}

#[cfg(feature = "interop")]
#[test]
fn mbsync_syncs_both_ways_with_a_password_file() {
    assert_eq!(passes("mbsync"), 2);
}

/// The profile's `flow` against a replay of each scenario (paths relative to the repository),
/// in `modes` (empty: the default for each scenario), as `mailrig run --client --replay` runs it.
fn run_against(name: &str, flow: &str, modes: &[&str], scenarios: &[&str]) -> Vec<Outcome> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let profile =
        Profile::load(&root.join(format!("fixtures/clients/{name}.toml"))).unwrap_or_else(|e| panic!("{e}"));
    let scripts = scenarios
        .iter()
        .map(|s| Script::load(&root.join(s)).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let config = ClientConfig {
        flows: vec![Flow::from_keyword(flow).expect("a flow")],
        modes: modes
            .iter()
            .map(|m| TlsMode::from_keyword(m).expect("a mode"))
            .collect(),
        scripts,
        ..ClientConfig::default()
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(client::run(&profile, &config, |_| {}))
}

#[test]
fn curl_sends_against_a_replay_of_a_script_it_follows() {
    let outcomes = run_against("curl", "send", &[], &["tests/replay/curl-smtp-send.scenario"]);
    let [outcome] = outcomes.as_slice() else {
        panic!("one outcome (starttls, the scenario's plaintext session): {outcomes:?}")
    };
    assert_eq!(outcome.name, "curl-send-starttls@replay-curl-smtp-send");
    assert_eq!(outcome.verdict, Verdict::Pass, "{:?}", outcome.verdict);
    // The replay's transcript, with mailrig's own writes: the client's message went out stuffed.
    let session = &outcome.transcript.sessions[0];
    let sent = session.bytes_from(mailrig_transcript::scenario::Side::Client);
    assert!(
        sent.windows(20).any(|w| w == b"..starts with a dot\r"),
        "{}",
        String::from_utf8_lossy(&sent)
    );
}

#[test]
fn curl_diverging_from_a_replayed_script_fails_with_the_diff() {
    let outcomes = run_against(
        "curl",
        "send",
        &["starttls"],
        &["tests/replay/curl-smtp-send-diverges.scenario"],
    );
    let [outcome] = outcomes.as_slice() else {
        panic!("one outcome: {outcomes:?}")
    };
    let Verdict::Fail(text) = &outcome.verdict else {
        panic!("must fail: {:?}", outcome.verdict)
    };
    assert!(
        text.contains("check `replay` failed: the client did not follow the script"),
        "{text}"
    );
    assert!(
        text.contains("tests/replay/curl-smtp-send-diverges.scenario:27:1\n"),
        "{text}"
    );
    assert!(text.contains("- C: RCPT TO:<carol@example.test>"), "{text}");
    assert!(text.contains("+ C: RCPT TO:<bob@example.test>"), "{text}");
    assert!(text.contains("(not judged against a replay)"), "{text}");
}

/// Every client-side security scenario (`scenarios/client/`) that can serve `flow`, against the
/// profile in mode `starttls`, judged with `ledgers/clients.toml`: a result must pass or be a
/// listed finding, so a client that changes its behaviour either way fails here. Returns how
/// many results there were.
fn security_scenarios(name: &str, flow: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let profile =
        Profile::load(&root.join(format!("fixtures/clients/{name}.toml"))).unwrap_or_else(|e| panic!("{e}"));
    let flow = Flow::from_keyword(flow).expect("a flow");
    let mut paths: Vec<_> = std::fs::read_dir(root.join("scenarios/client"))
        .expect("scenarios/client")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "scenario"))
        .collect();
    paths.sort();
    let scripts: Vec<Script> = paths
        .iter()
        .map(|p| Script::load(p).unwrap_or_else(|e| panic!("{e}")))
        .filter(|s| s.serves(flow))
        .collect();
    let mut ledger = mailrig_runner::Ledger::default();
    ledger.load(&root.join("ledgers/clients.toml")).expect("ledger");
    let config = ClientConfig {
        flows: vec![flow],
        modes: vec![TlsMode::Starttls],
        scripts,
        ledger,
        ..ClientConfig::default()
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let outcomes = runtime.block_on(client::run(&profile, &config, |_| {}));
    let wrong: Vec<String> = outcomes
        .iter()
        .filter(|o| !matches!(o.verdict, Verdict::Pass | Verdict::KnownFailure(_)))
        .map(|o| format!("{} {}: {:?}", o.verdict.word(), o.name, o.verdict))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
    outcomes.len()
}

#[test]
fn curl_against_the_client_security_scenarios() {
    assert_eq!(security_scenarios("curl", "send"), 4);
    assert_eq!(security_scenarios("curl", "fetch"), 5);
}

#[test]
fn python_smtplib_and_imaplib_against_the_client_security_scenarios() {
    assert_eq!(security_scenarios("python-smtplib", "send"), 4);
    assert_eq!(security_scenarios("python-imaplib", "fetch"), 5);
}

#[test]
fn a_client_that_authenticates_in_the_clear_fails_the_stripping_scenario() {
    // The deliberately broken client sends AUTH without STARTTLS: the `C!: AUTH` line says so.
    let outcomes = run_against(
        "broken-auth-before-starttls",
        "send",
        &[],
        &["scenarios/client/smtp-starttls-missing.scenario"],
    );
    let [outcome] = outcomes.as_slice() else {
        panic!("one outcome: {outcomes:?}")
    };
    let Verdict::Fail(text) = &outcome.verdict else {
        panic!("must fail: {:?}", outcome.verdict)
    };
    assert!(
        text.contains("the client sent a line that must not appear here"),
        "{text}"
    );
    assert!(text.contains("! C: AUTH PLAIN "), "{text}");
}

#[cfg(feature = "interop")]
#[test]
fn swaks_msmtp_and_mbsync_against_the_client_security_scenarios() {
    assert_eq!(security_scenarios("swaks", "send"), 4);
    assert_eq!(security_scenarios("msmtp", "send"), 4);
    assert_eq!(security_scenarios("mbsync", "sync"), 5);
}

/// imaplib's `move` flow in plaintext with `faults` on mailrig's model servers.
fn imaplib_move_with(faults: &[&str]) -> Outcome {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/clients/python-imaplib.toml");
    let profile = Profile::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let config = ClientConfig {
        flows: vec![Flow::from_keyword("move").expect("a flow")],
        modes: vec![TlsMode::None],
        faults: faults
            .iter()
            .map(|r| mailrig_fault::Rule::parse(r).expect("a rule"))
            .collect(),
        ..ClientConfig::default()
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let outcomes = runtime.block_on(client::run(&profile, &config, |_| {}));
    let [outcome] = <[Outcome; 1]>::try_from(outcomes).expect("one outcome");
    outcome
}

#[test]
fn a_fault_rule_on_the_model_servers_reaches_the_client_under_test() {
    let refused = imaplib_move_with(&[
        "imap MOVE: reply NO [LIMIT] moving is off today",
        "imap UID MOVE: reply NO [LIMIT] moving is off today",
    ]);
    let Verdict::Fail(text) = &refused.verdict else {
        panic!("a refused MOVE fails the flow: {:?}", refused.verdict)
    };
    assert!(text.contains("moving is off today"), "{text}");
    assert_eq!(imaplib_move_with(&[]).verdict, Verdict::Pass);
}
