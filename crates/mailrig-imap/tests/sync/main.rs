//! Multi-session synchronization checked against an independent reference model.
//!
//! Five sessions (INBOX plain, INBOX with CONDSTORE, INBOX with QRESYNC, `Other` plain, INBOX
//! opened with EXAMINE) and a sixth that only APPENDs (deliveries from outside) run generated
//! steps: SELECT/EXAMINE, STORE and UID STORE (+FLAGS, -FLAGS, FLAGS, .SILENT,
//! UNCHANGEDSINCE; keywords new to the mailbox among the flags), EXPUNGE, UID EXPUNGE, COPY
//! and MOVE (to the other mailbox or into the selected one), NOOP, IDLE/DONE with other
//! sessions' changes during it, FETCH FLAGS, SEARCH with several keys. Every response of every
//! session is checked against the model (`model.rs`, `driver.rs`, `announce.rs` for
//! FLAGS/PERMANENTFLAGS and `\Recent`) and decoded by imap-codec (`codec.rs`).
//!
//! The planted-bug tests switch on one deliberate defect (`mailrig_imap::Defect`) at a time and
//! assert that the same property fails: each shows the model catches that bug.
//!
//! Cases: `PROPTEST_CASES` (default 64 here, to keep `cargo test -p mailrig-imap` quick); for
//! a longer hunt, `PROPTEST_CASES=5000 cargo test -p mailrig-imap --test sync --release`.

mod announce;
mod codec;
mod driver;
mod model;
mod reader;

use mailrig_imap::{Defect, Defects};
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestCaseError, TestRunner};

use driver::{Pick, Run, SEARCH_KEYS, SESSIONS, Since, Step};
use model::Op;

fn pick() -> impl Strategy<Value = Pick> {
    (0..8usize, proptest::bool::weighted(0.25)).prop_map(|(at, to_end)| Pick { at, to_end })
}

fn session() -> impl Strategy<Value = usize> {
    0..SESSIONS.len()
}

/// Steps other than IDLE (which nests these).
fn simple_step() -> impl Strategy<Value = Step> {
    let op = prop_oneof![Just(Op::Add), Just(Op::Remove), Just(Op::Replace)];
    let since = prop_oneof![
        4 => Just(Since::None),
        1 => Just(Since::Zero),
        2 => Just(Since::Known),
        1 => Just(Since::Huge),
    ];
    let store = (
        session(),
        pick(),
        any::<bool>(),
        op,
        0..64u8,
        any::<bool>(),
        since,
    );
    prop_oneof![
        4 => (0..2usize, 0..64u8).prop_map(|(mailbox, flags)| Step::Append { mailbox, flags }),
        6 => store.prop_map(|(s, pick, uid, op, flags, silent, since)| Step::Store {
            s, pick, uid, op, flags, silent, since
        }),
        2 => (session(), proptest::option::of(pick())).prop_map(|(s, uid)| Step::Expunge { s, uid }),
        2 => (session(), pick(), any::<bool>(), any::<bool>(), proptest::bool::weighted(0.3))
            .prop_map(|(s, pick, uid, moving, same)| Step::Transfer { s, pick, uid, moving, same }),
        2 => session().prop_map(|s| Step::Noop { s }),
        1 => (session(), any::<bool>()).prop_map(|(s, uid)| Step::Fetch { s, uid }),
        2 => (session(), proptest::collection::vec(0..SEARCH_KEYS.len(), 1..4), any::<bool>())
            .prop_map(|(s, keys, uid)| Step::Search { s, keys, uid }),
        1 => session().prop_map(|s| Step::Select { s }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        12 => simple_step(),
        1 => (session(), proptest::collection::vec(simple_step(), 1..4))
            .prop_map(|(s, during)| Step::Idle { s, during }),
    ]
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    proptest::collection::vec(step(), 1..40)
}

/// Runs `steps` with `defects` on every session; `Err` says which response broke the model.
fn run(steps: &[Step], defects: Defects) -> Result<usize, String> {
    let mut run = Run::start(defects)?;
    for (i, step) in steps.iter().enumerate() {
        run.step(step).map_err(|e| format!("step {i} {step:?}: {e}"))?;
    }
    run.finish()?;
    Ok(run.decoded)
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(64)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    /// A correct server agrees with the model on every response of every session.
    #[test]
    fn sessions_agree_with_the_reference_model(steps in steps()) {
        run(&steps, Defects::none()).map_err(TestCaseError::fail)?;
    }
}

/// Runs the property with `defect` on and returns the (shrunk) failure it must produce.
fn planted(defect: Defect) -> String {
    let config = RunnerConfig {
        cases: cases().max(64),
        failure_persistence: None,
        max_shrink_iters: 256,
        ..RunnerConfig::default()
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&steps(), |steps| {
        run(&steps, Defects::from(defect))
            .map(drop)
            .map_err(TestCaseError::fail)
    });
    match result {
        Ok(()) => panic!("the reference model did not catch {defect}"),
        Err(failure) => {
            let text = failure.to_string();
            eprintln!("{defect} caught: {text}");
            text
        }
    }
}

macro_rules! planted_bugs {
    ($($name:ident: $defect:ident,)*) => {$(
        /// The reference model catches this planted bug (docs/defects.md).
        #[test]
        fn $name() {
            planted(Defect::$defect);
        }
    )*};
}

planted_bugs! {
    catches_flags_not_pushed: FlagsNotPushed,
    catches_expunge_number_off_by_one: ExpungeNumberOffByOne,
    catches_expunge_ignores_deleted: ExpungeIgnoresDeleted,
    catches_expunge_removes_nothing: ExpungeRemovesNothing,
    catches_plus_minus_flags_swapped: PlusMinusFlagsSwapped,
    catches_plus_flags_replaces: PlusFlagsReplaces,
    catches_unchanged_since_ignored: UnchangedSinceIgnored,
    catches_expunge_during_fetch: ExpungeDuringFetch,
    catches_idle_pushes_nothing: IdlePushesNothing,
    catches_move_without_expunge: MoveWithoutExpunge,
    catches_copyuid_source_uidvalidity: CopyuidSourceUidvalidity,
    catches_uidnext_not_advanced: UidnextNotAdvanced,
    catches_recent_to_every_session: RecentToEverySession,
    catches_search_first_key_only: SearchFirstKeyOnly,
    catches_examine_allows_store: ExamineAllowsStore,
    catches_examine_says_read_write: ExamineSaysReadWrite,
}

/// The oracle rejects malformed CONDSTORE/QRESYNC output the server must never write.
#[test]
fn codec_rejects_malformed_vanished_and_modseq() {
    for bad in [
        &b"* VANISHED\r\n"[..],
        b"* VANISHED 3:\r\n",
        b"* VANISHED (EARLIER 1:3\r\n",
        b"* VANISHED x\r\n",
        b"* 1 FETCH (FLAGS () MODSEQ 5)\r\n",
        b"* 1 FETCH (MODSEQ (0))\r\n",
        b"* 1 FETCH (MODSEQ ())\r\n",
        b"* 1 FETCH (UID 1 MODSEQ (x))\r\n",
    ] {
        assert!(
            codec::decode(bad, false).is_err(),
            "accepted {:?}",
            String::from_utf8_lossy(bad)
        );
    }
    let good = b"* VANISHED 1:3,5\r\n* 1 FETCH (FLAGS () UID 4 MODSEQ (5))\r\n";
    assert_eq!(codec::decode(good, false), Ok(2));
}
