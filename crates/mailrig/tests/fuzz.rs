//! Client fuzzing finds planted bugs: three small Rust clients with one bug each (FETCH items
//! read by position, a LIST mailbox sent as a literal, a reply injected after the STARTTLS
//! go-ahead read as if it came over TLS) are fuzzed in process with `mailrig-fuzz`; each bug
//! is found within a bounded number of cases, the shrunk case is small, and `mailrig replay` of
//! the written scenario file reproduces it. The same clients without their bugs pass the same
//! number of legal and hostile cases (so the findings come from the bugs); for the injection,
//! discarding the injected bytes and giving up are both correct.

#[path = "fuzz_clients/imap.rs"]
mod imap;
#[path = "fuzz_clients/smtp.rs"]
mod smtp;

use std::cell::Cell;
use std::fmt::Debug;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mailrig_fuzz::{Case, Endpoint, Flow, Harness, HarnessConfig, Mutation, hostile, legal};
use mailrig_transcript::scenario::Protocol;
use proptest::strategy::Strategy;
use proptest::test_runner::{Config, TestError, TestRunner};

/// How many cases a hunt may take to find a planted bug (each is found in far fewer with the
/// workspace's fixed proptest seed; the bound leaves room for other seeds).
const CASE_BUDGET: u32 = 200;
/// The most mutations a shrunk case may keep.
const SHRUNK_BOUND: usize = 2;

struct Found {
    tried: usize,
    minimal: Case,
    reason: String,
}

/// Runs up to `cases` cases and returns the first failure, shrunk.
fn hunt<C, F, T>(harness: &Harness<C, T>, strategy: impl Strategy<Value = Case>, cases: u32) -> Option<Found>
where
    C: Fn(Endpoint) -> F,
    F: Future<Output = T> + Send + 'static,
    T: PartialEq + Debug + Send + 'static,
{
    let tried = Cell::new(0usize);
    let first = Cell::new(None);
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 256,
        ..Config::default()
    };
    let result = TestRunner::new(config).run(&strategy, |case| {
        if first.get().is_none() {
            tried.set(tried.get() + 1);
        }
        let verdict = harness.check(&case);
        if verdict.is_err() && first.get().is_none() {
            first.set(Some(tried.get()));
        }
        verdict
    });
    match result {
        Err(TestError::Fail(reason, minimal)) => Some(Found {
            tried: first.get().unwrap_or(0),
            minimal,
            reason: reason.to_string(),
        }),
        _ => None,
    }
}

fn config() -> HarnessConfig {
    HarnessConfig {
        timeout: Duration::from_secs(5),
        ..HarnessConfig::default()
    }
}

/// A client closure with its future boxed, so harnesses can be returned from helpers.
type Client<T> = Box<dyn Fn(Endpoint) -> Pin<Box<dyn Future<Output = T> + Send>>>;

fn imap_harness(
    bugs: imap::Bugs,
) -> Harness<Client<Result<imap::Fetched, String>>, Result<imap::Fetched, String>> {
    let client: Client<_> = Box::new(move |e| Box::pin(imap::fetch(e, bugs)));
    Harness::new(&Flow::ImapFetch.canonical(), config(), client).expect("the canonical passes")
}

fn smtp_harness(leftover: smtp::Leftover) -> Harness<Client<Result<String, String>>, Result<String, String>> {
    let client: Client<_> = Box::new(move |e| Box::pin(smtp::send(e, leftover)));
    Harness::new(&Flow::SmtpSend.canonical(), config(), client).expect("the canonical passes")
}

/// Checks the bounds, then serves the shrunk case with `mailrig replay` and runs `client`
/// against it: the outcome must differ from the canonical one.
fn reproduce<F, T>(found: &Found, protocol: Protocol, baseline: &T, client: impl Fn(Endpoint) -> F)
where
    F: Future<Output = T>,
    T: PartialEq + Debug,
{
    println!(
        "found after {} case(s): {}\nshrunk to {:?}",
        found.tried, found.reason, found.minimal
    );
    assert!(found.tried <= CASE_BUDGET as usize);
    assert!(
        (1..=SHRUNK_BOUND).contains(&found.minimal.mutations().len()),
        "the shrunk case has {} mutations",
        found.minimal.mutations().len()
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("fuzz-failure.scenario");
    std::fs::write(&file, found.minimal.to_text()).expect("write the case");
    let mut replay = Replaying::start(&file, dir.path());
    let endpoint = replay.endpoint(protocol);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let outcome = runtime.block_on(client(endpoint));
    assert_ne!(
        &outcome, baseline,
        "mailrig replay of the shrunk case reproduces the failure"
    );
    replay.wait();
}

/// `mailrig replay FILE` as a subprocess, with its ready file.
struct Replaying {
    child: Child,
    ready: serde_json::Value,
}

impl Replaying {
    fn start(file: &Path, dir: &Path) -> Replaying {
        let ready_file = dir.join("ready.json");
        let child = Command::new(assert_cmd::cargo::cargo_bin!("mailrig"))
            .arg("replay")
            .arg(file)
            .arg("--ready-file")
            .arg(&ready_file)
            .args(["--timeout", "2s", "--connect-timeout", "20s"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mailrig replay");
        let start = Instant::now();
        let ready = loop {
            if let Ok(text) = std::fs::read_to_string(&ready_file) {
                break serde_json::from_str(&text).expect("ready JSON");
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "mailrig replay never got ready"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        Replaying { child, ready }
    }

    fn endpoint(&self, protocol: Protocol) -> Endpoint {
        let addr = self.ready[protocol.keyword()]
            .as_str()
            .expect("an address")
            .parse()
            .expect("addr");
        let ca = self.ready["ca"].as_str().expect("the CA file");
        Endpoint {
            listeners: vec![(protocol, addr)],
            ca_pem: std::fs::read_to_string(ca).expect("CA"),
        }
    }

    fn wait(&mut self) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if self.child.try_wait().expect("wait").is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        panic!("mailrig replay did not end");
    }
}

/// Legal variations of the IMAP fetch flow find the fetch client's `bugs`: the shrunk case
/// holds a mutation `kind` accepts, and its file reproduces the finding.
fn imap_bug_is_found(bugs: imap::Bugs, kind: fn(&Mutation) -> bool) {
    let harness = imap_harness(bugs);
    let found = hunt(&harness, legal(&Flow::ImapFetch.canonical()), CASE_BUDGET).expect("the bug is found");
    assert!(found.minimal.mutations().iter().any(kind), "{:?}", found.minimal);
    reproduce(&found, Protocol::Imap, harness.baseline(), |e| {
        imap::fetch(e, bugs)
    });
}

#[test]
fn fuzzing_finds_fetch_items_read_by_position() {
    imap_bug_is_found(
        imap::Bugs {
            fixed_fetch_order: true,
            ..imap::Bugs::default()
        },
        |m| matches!(m, Mutation::Permute { .. }),
    );
}

#[test]
fn fuzzing_finds_list_literals_mishandled() {
    imap_bug_is_found(
        imap::Bugs {
            list_literals: true,
            ..imap::Bugs::default()
        },
        |m| matches!(m, Mutation::Literal { .. }),
    );
}

#[test]
fn fuzzing_finds_a_reply_injected_after_starttls_accepted() {
    let harness = smtp_harness(smtp::Leftover::Keep);
    let found = hunt(&harness, hostile(&Flow::SmtpSend.canonical()), CASE_BUDGET).expect("the bug is found");
    assert_eq!(found.minimal.mutations(), [Mutation::InjectAfterStartTls]);
    reproduce(&found, Protocol::Smtp, harness.baseline(), |e| {
        smtp::send(e, smtp::Leftover::Keep)
    });
}

/// The negative control: without their bugs the clients pass legal cases (same outcome, the
/// script followed) and survive hostile ones.
#[test]
fn the_clients_without_their_bugs_pass() {
    let imap = imap_harness(imap::Bugs::default());
    let canonical = Flow::ImapFetch.canonical();
    for strategy in [legal(&canonical).boxed(), hostile(&canonical).boxed()] {
        if let Some(found) = hunt(&imap, strategy, 48) {
            panic!(
                "the correct IMAP client failed: {}\n{:?}",
                found.reason, found.minimal
            );
        }
    }
    let canonical = Flow::SmtpSend.canonical();
    // Discarding what was injected before TLS and giving up are both correct.
    for leftover in [smtp::Leftover::Discard, smtp::Leftover::Abort] {
        let smtp = smtp_harness(leftover);
        for strategy in [legal(&canonical).boxed(), hostile(&canonical).boxed()] {
            if let Some(found) = hunt(&smtp, strategy, 48) {
                panic!(
                    "the correct SMTP client ({leftover:?}) failed: {}\n{:?}",
                    found.reason, found.minimal
                );
            }
        }
        let injected = Case::new(&canonical, vec![Mutation::InjectAfterStartTls]);
        smtp.check(&injected)
            .expect("an injection discarded or refused passes");
    }
}
