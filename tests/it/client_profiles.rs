//! The shipped client profiles (`fixtures/clients/`) run through every flow and TLS mode they
//! declare, as `mailrig run --client` runs them, and pass; the deliberately broken clients
//! fail with the check that names their mistake. curl and python3 are all `cargo test` needs;
//! swaks, msmtp and mbsync run only with `--features interop`.

use std::path::Path;

use mailrig_runner::Verdict;
use mailrig_runner::client::{self, ClientConfig, Outcome, Profile};

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
