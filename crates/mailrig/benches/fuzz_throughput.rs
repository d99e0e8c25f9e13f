//! Fuzzing throughput in process (docs/performance.md, "Client fuzzing"): the correct Rust
//! test clients of `tests/fuzz.rs` (`tests/fuzz_clients/`) against legal cases of the shipped
//! flows, every case a fresh replay on loopback judged by the harness. Prints cases per second
//! per flow; a benchmark (`harness = false`), so `cargo test` never times anything.
//!
//! ```sh
//! cargo bench -p mailrig --bench fuzz_throughput             # 1,000 cases per flow, 3 rounds
//! cargo bench -p mailrig --bench fuzz_throughput -- 5000 5   # 5,000 cases, 5 rounds
//! cargo bench -p mailrig --bench fuzz_throughput -- no-sleep  # the cases without `@sleep`
//! ```

// The test clients are shared with tests/fuzz.rs, which uses more of them.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, dead_code)]

#[path = "../tests/fuzz_clients/imap.rs"]
mod imap;
#[path = "../tests/fuzz_clients/smtp.rs"]
mod smtp;

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use mailrig_fuzz::{Canonical, Case, Endpoint, Flow, Harness, HarnessConfig, legal};
use proptest::test_runner::{Config, RngSeed, TestRunner};

/// A client closure with its future boxed.
type Client<T> = Box<dyn Fn(Endpoint) -> Pin<Box<dyn Future<Output = T> + Send>>>;

fn config() -> HarnessConfig {
    HarnessConfig {
        timeout: Duration::from_secs(5),
        ..HarnessConfig::default()
    }
}

/// Cases per second over `cases` legal cases of `canonical` (a fixed seed per round, so old
/// and new builds run the same cases).
fn rate<C, F, T>(harness: &Harness<C, T>, canonical: &Canonical, cases: u32, round: u64, sleeps: bool) -> f64
where
    C: Fn(Endpoint) -> F,
    F: Future<Output = T> + Send + 'static,
    T: PartialEq + Debug + Send + 'static,
{
    let config = Config {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(round),
        ..Config::default()
    };
    let start = Instant::now();
    let without_sleeps = |case: Case| {
        let kept = case
            .mutations()
            .iter()
            .filter(|m| m.kind() != "sleep")
            .cloned()
            .collect();
        Case::new(case.canonical(), kept)
    };
    TestRunner::new(config)
        .run(&legal(canonical), |case| {
            let case = if sleeps { case } else { without_sleeps(case) };
            harness.check(&case)
        })
        .expect("the correct client passes");
    f64::from(cases) / start.elapsed().as_secs_f64()
}

fn main() {
    let numbers: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let cases = numbers
        .first()
        .map_or(1000, |n| u32::try_from(*n).unwrap_or(u32::MAX));
    let rounds = numbers.get(1).copied().unwrap_or(3);
    // `no-sleep`: the cases without their `@sleep`s (0-3 ms each), to see the harness's own
    // cost apart from the waits the cases ask for.
    let sleeps = !std::env::args().any(|a| a == "no-sleep");
    let imap_canonical = Flow::ImapFetch.canonical();
    let imap_client: Client<_> = Box::new(|e| Box::pin(imap::fetch(e, imap::Bugs::default())));
    let imap = Harness::new(&imap_canonical, config(), imap_client).expect("the canonical passes");
    let smtp_canonical = Flow::SmtpSend.canonical();
    let smtp_client: Client<_> = Box::new(|e| Box::pin(smtp::send(e, smtp::Leftover::Discard)));
    let smtp = Harness::new(&smtp_canonical, config(), smtp_client).expect("the canonical passes");
    for round in 1..=rounds {
        let imap_rate = rate(&imap, &imap_canonical, cases, round, sleeps);
        let smtp_rate = rate(&smtp, &smtp_canonical, cases, round, sleeps);
        println!(
            "round {round}: imap-fetch {imap_rate:.0} cases/s, smtp-send (STARTTLS) {smtp_rate:.0} cases/s ({cases} cases each)"
        );
    }
}
