//! The shipped SMTP scenarios (`scenarios/smtp`, `scenarios/security`), played by
//! mailrig-transcript's client player against a session with the default configuration.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use mailrig_smtp::{Config, Output, Session};
use mailrig_transcript::parse;
use mailrig_transcript::play::{Target, play_client};
use mailrig_transcript::report::render;
use mailrig_transcript::scenario::Protocol;

use crate::support::TestBackend;

/// One session per scenario session name, each with the test backend.
#[derive(Default)]
struct Sessions {
    open: HashMap<String, (Session, TestBackend, bool)>,
}

impl Target for Sessions {
    fn connect(&mut self, session: &str, protocol: Protocol) {
        let config = Config {
            hostname: "mail.example.test".into(),
            implicit_tls: protocol == Protocol::Smtps,
            ..Config::default()
        };
        self.open.insert(
            session.to_owned(),
            (Session::new(config), TestBackend::default(), false),
        );
    }

    fn send(&mut self, session: &str, bytes: &[u8]) {
        if let Some((s, backend, _)) = self.open.get_mut(session) {
            s.handle_input(bytes, backend);
        }
    }

    fn receive(&mut self, session: &str) -> Vec<Vec<u8>> {
        let mut writes = Vec::new();
        if let Some((s, _, closed)) = self.open.get_mut(session) {
            while let Some(output) = s.poll_output() {
                match output {
                    Output::Reply { bytes, .. } => writes.push(bytes),
                    Output::Close => *closed = true,
                    Output::StartTls => {}
                }
            }
        }
        writes
    }

    fn start_tls(&mut self, session: &str) {
        if let Some((s, _, _)) = self.open.get_mut(session) {
            s.tls_started();
        }
    }

    fn close(&mut self, session: &str) {
        if let Some((_, _, closed)) = self.open.get_mut(session) {
            *closed = true;
        }
    }

    fn is_closed(&mut self, session: &str) -> bool {
        self.open.get(session).is_some_and(|(_, _, closed)| *closed)
    }
}

fn play(relative: &str) -> Sessions {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(relative);
    let text = std::fs::read_to_string(&path).expect("scenario readable");
    let scenario = parse(relative, &text).expect("scenario parses");
    let vars: BTreeMap<String, String> = [
        ("user", "alice"),
        ("password", "secret"),
        ("user2", "bob"),
        ("password2", "hunter2"),
        ("mailbox", "mailrig-test"),
        ("domain", "example.test"),
        ("host", "127.0.0.1"),
        ("port", "25"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let mut target = Sessions::default();
    let played = play_client(&scenario, &mut target, &vars).expect("plays");
    assert!(
        played.report.passed(),
        "{}",
        render(&played.report, relative, &text)
    );
    target
}

fn delivered(target: &Sessions) -> usize {
    target.open.values().map(|(_, b, _)| b.delivered.len()).sum()
}

#[test]
fn pipelining() {
    assert_eq!(delivered(&play("smtp/pipelining.scenario")), 1);
}

#[test]
fn dot_stuffing() {
    let target = play("smtp/send-dot-stuffing.scenario");
    let (_, backend, _) = target.open.values().next().expect("one session");
    let data = String::from_utf8_lossy(&backend.delivered[0].data).into_owned();
    for unstuffed in [
        "\r\n.hidden in plain sight\r\n",
        "DATA:\r\n.\r\nThe",
        "two dots:\r\n..\r\nA dot",
    ] {
        assert!(data.contains(unstuffed), "{data}");
    }
}

#[test]
fn smtps_submission() {
    let target = play("smtp/smtps-submission.scenario");
    let (_, backend, _) = target.open.values().next().expect("one session");
    assert_eq!(backend.delivered[0].authenticated_as.as_deref(), Some("alice"));
    assert!(backend.delivered[0].tls);
}

#[test]
fn smtp_smuggling() {
    assert_eq!(delivered(&play("security/smtp-smuggling.scenario")), 1);
}

#[test]
fn starttls_injection() {
    let target = play("security/starttls-injection.scenario");
    let (session, _, _) = target.open.values().next().expect("one session");
    assert_eq!(session.discarded_after_starttls(), "NOOP\r\n".len());
}

#[test]
fn bad_sequence() {
    assert_eq!(delivered(&play("smtp/bad-sequence.scenario")), 1);
}

#[test]
fn unknown_recipient() {
    let target = play("smtp/unknown-recipient.scenario");
    let (_, backend, _) = target.open.values().next().expect("one session");
    assert_eq!(
        backend.delivered[0].rcpt_to,
        vec!["alice@example.test".to_owned()]
    );
}

#[test]
fn auth() {
    let target = play("smtp/auth.scenario");
    let (session, _, _) = target.open.values().next().expect("one session");
    assert_eq!(session.authenticated_as(), Some("alice"));
}

#[test]
fn chunking() {
    let target = play("smtp/chunking.scenario");
    let (_, backend, _) = target.open.values().next().expect("one session");
    assert_eq!(backend.delivered[0].data, b"Subject: chunks\r\n\r\n.body\r\n");
    assert!(backend.delivered[0].chunked);
}

#[test]
fn auth_needs_tls() {
    let target = play("smtp/auth-needs-tls.scenario");
    let (session, _, _) = target.open.values().next().expect("one session");
    assert_eq!(session.authenticated_as(), Some("alice"));
    assert!(session.is_tls());
}

#[test]
fn size_limit() {
    let target = play("smtp/size-limit.scenario");
    let (_, backend, _) = target.open.values().next().expect("one session");
    assert_eq!(backend.delivered.len(), 1);
    assert_eq!(backend.delivered[0].params.size, Some(100));
}

/// One `#[test]` per scenario that only has to pass.
macro_rules! scenarios {
    ($($name:ident => $file:literal,)*) => {
        $(
            #[test]
            fn $name() {
                play($file);
            }
        )*
        /// The scenarios played by the tests this macro makes.
        const PLAIN: &[&str] = &[$($file,)*];
    };
}

scenarios! {
    ehlo_keywords => "smtp/ehlo-keywords.scenario",
    starttls => "smtp/starttls.scenario",
    size_too_big => "smtp/size-too-big.scenario",
    size_syntax => "smtp/size-syntax.scenario",
    unknown_mail_parameter => "smtp/unknown-mail-parameter.scenario",
    body_8bitmime => "smtp/body-8bitmime.scenario",
    smtputf8 => "smtp/smtputf8.scenario",
    bdat_then_data => "smtp/bdat-then-data.scenario",
    bdat_single_last => "smtp/bdat-single-last.scenario",
    dsn_parameters => "smtp/dsn-parameters.scenario",
    starttls_argument => "smtp/starttls-argument.scenario",
    enhanced_status_codes => "smtp/enhanced-status-codes.scenario",
    pipelining_mixed_replies => "smtp/pipelining-mixed-replies.scenario",
    local_part_64 => "smtp/local-part-64.scenario",
    greeting_quit => "smtp/greeting-quit.scenario",
    helo => "smtp/helo.scenario",
    ehlo_resets_transaction => "smtp/ehlo-resets-transaction.scenario",
    ehlo_no_argument => "smtp/ehlo-no-argument.scenario",
    ehlo_address_literal => "smtp/ehlo-address-literal.scenario",
    rset => "smtp/rset.scenario",
    noop => "smtp/noop.scenario",
    vrfy => "smtp/vrfy.scenario",
    null_sender => "smtp/null-sender.scenario",
    verbs_case_insensitive => "smtp/verbs-case-insensitive.scenario",
    postmaster => "smtp/postmaster.scenario",
    second_transaction => "smtp/second-transaction.scenario",
    auth_bad_base64 => "smtp/auth-bad-base64.scenario",
    auth_cancel => "smtp/auth-cancel.scenario",
    auth_during_transaction => "smtp/auth-during-transaction.scenario",
    auth_plain_authzid => "smtp/auth-plain-authzid.scenario",
    auth_unknown_mechanism => "smtp/auth-unknown-mechanism.scenario",
    command_line_512 => "smtp/command-line-512.scenario",
    helo_after_ehlo => "smtp/helo-after-ehlo.scenario",
    no_argument_commands => "smtp/no-argument-commands.scenario",
    quit_mid_transaction => "smtp/quit-mid-transaction.scenario",
    rcpt_domain_case => "smtp/rcpt-domain-case.scenario",
    rcpt_null_path => "smtp/rcpt-null-path.scenario",
    recipients_100 => "smtp/recipients-100.scenario",
    size_at_limit => "smtp/size-at-limit.scenario",
    starttls_twice => "smtp/starttls-twice.scenario",
    vrfy_unknown => "smtp/vrfy-unknown.scenario",
}

/// The scenarios played by tests that check more than the report.
const CHECKED: &[&str] = &[
    "smtp/pipelining.scenario",
    "smtp/send-dot-stuffing.scenario",
    "smtp/smtps-submission.scenario",
    "security/smtp-smuggling.scenario",
    "security/starttls-injection.scenario",
    "smtp/bad-sequence.scenario",
    "smtp/unknown-recipient.scenario",
    "smtp/auth.scenario",
    "smtp/chunking.scenario",
    "smtp/auth-needs-tls.scenario",
    "smtp/size-limit.scenario",
];

/// A new scenario under `scenarios/smtp` or `scenarios/security` gets a test here.
#[test]
fn every_scenario_is_played() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut found = Vec::new();
    for dir in ["smtp", "security"] {
        for entry in std::fs::read_dir(root.join(dir)).expect("scenario directory readable") {
            let name = entry.expect("directory entry").file_name();
            let name = name.to_string_lossy();
            if name.ends_with(".scenario") {
                found.push(format!("{dir}/{name}"));
            }
        }
    }
    found.sort();
    let mut played: Vec<String> = PLAIN.iter().chain(CHECKED).map(|f| (*f).to_owned()).collect();
    played.sort();
    assert_eq!(found, played);
}
