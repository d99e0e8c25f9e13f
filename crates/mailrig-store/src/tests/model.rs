//! A model test in the proptest state-machine style: random sequences of append, store,
//! expunge, copy and move over two mailboxes, with three watches (two on INBOX, one on the
//! other mailbox) polled at random. After every step the store's invariants hold, and each
//! watch's view rebuilt from its changes alone equals the store's snapshot whenever it polls.
//! Every flag store is also checked against an expectation computed here from the snapshot
//! before it (set arithmetic and RFC 7162 §3.1.3's UNCHANGEDSINCE test), not from the store's
//! own flag code: which messages change, to what, and which are reported MODIFIED.

use std::collections::BTreeMap;

use proptest::prelude::*;

use crate::{Change, Flag, FlagOp, Flags, Keyword, Snapshot, Store, User, Watch};

const MAILBOXES: [&str; 2] = ["INBOX", "Other"];

#[derive(Debug, Clone)]
enum Op {
    Append {
        mailbox: usize,
        flags: u8,
    },
    Store {
        mailbox: usize,
        picks: Vec<usize>,
        op: FlagOp,
        flags: u8,
        since: Since,
    },
    Expunge {
        mailbox: usize,
        picks: Option<Vec<usize>>,
    },
    Transfer {
        from: usize,
        to: usize,
        picks: Vec<usize>,
        remove: bool,
    },
    Poll {
        watch: usize,
    },
}

/// The UNCHANGEDSINCE value of a generated store.
#[derive(Debug, Clone, Copy)]
enum Since {
    /// No condition.
    None,
    /// Half the mailbox's HIGHESTMODSEQ: some messages pass, some fail.
    Half,
    /// The HIGHESTMODSEQ: every message passes.
    Highest,
    /// 0: every message fails (mod-sequences start at 1).
    Zero,
}

/// What a watch knows, rebuilt from its changes.
#[derive(Debug, PartialEq, Eq)]
struct View {
    uidnext: u32,
    highestmodseq: u64,
    messages: BTreeMap<u32, (Flags, u64)>,
}

struct Watcher {
    mailbox: usize,
    watch: Watch,
    view: View,
}

fn flags(bits: u8) -> Flags {
    let keyword = |k: &str| Flag::Keyword(Keyword::new(k).expect("keyword"));
    let all = [
        Flag::Seen,
        Flag::Deleted,
        Flag::Flagged,
        keyword("Alpha"),
        keyword("beta"),
    ];
    all.into_iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, f)| f)
        .collect()
}

fn op() -> impl Strategy<Value = Op> {
    let mailbox = 0..MAILBOXES.len();
    let picks = proptest::collection::vec(0usize..16, 0..4);
    let flag_op = prop_oneof![Just(FlagOp::Add), Just(FlagOp::Remove), Just(FlagOp::Replace)];
    prop_oneof![
        3 => (mailbox.clone(), any::<u8>()).prop_map(|(mailbox, flags)| Op::Append { mailbox, flags }),
        3 => (mailbox.clone(), picks.clone(), flag_op, any::<u8>(), since()).prop_map(
            |(mailbox, picks, op, flags, since)| Op::Store { mailbox, picks, op, flags, since }
        ),
        1 => (mailbox.clone(), proptest::option::of(picks.clone()))
            .prop_map(|(mailbox, picks)| Op::Expunge { mailbox, picks }),
        1 => (mailbox.clone(), mailbox, picks, any::<bool>())
            .prop_map(|(from, to, picks, remove)| Op::Transfer { from, to, picks, remove }),
        2 => (0usize..3).prop_map(|watch| Op::Poll { watch }),
    ]
}

fn since() -> impl Strategy<Value = Since> {
    prop_oneof![
        3 => Just(Since::None),
        2 => Just(Since::Half),
        1 => Just(Since::Highest),
        1 => Just(Since::Zero),
    ]
}

impl View {
    fn of(snapshot: &Snapshot) -> View {
        View {
            uidnext: snapshot.uidnext,
            highestmodseq: snapshot.highestmodseq,
            messages: snapshot
                .messages
                .iter()
                .map(|m| (m.uid, (m.flags.clone(), m.modseq)))
                .collect(),
        }
    }

    fn apply(&mut self, change: Change) {
        match change {
            Change::Added(m) => {
                assert!(m.uid >= self.uidnext, "UID {} reused", m.uid);
                self.uidnext = m.uid + 1;
                self.highestmodseq = self.highestmodseq.max(m.modseq);
                self.messages.insert(m.uid, (m.flags, m.modseq));
            }
            Change::Flags { uid, flags, modseq } => {
                let entry = self.messages.get_mut(&uid).expect("flags of a known message");
                assert!(modseq > entry.1, "modseq grows");
                *entry = (flags, modseq);
                self.highestmodseq = self.highestmodseq.max(modseq);
            }
            Change::Expunged { uid, modseq } => {
                assert!(self.messages.remove(&uid).is_some(), "expunge of a known message");
                self.highestmodseq = self.highestmodseq.max(modseq);
            }
            other => panic!("unexpected change {other:?}"),
        }
    }
}

impl Watcher {
    fn poll(&mut self) {
        for change in self.watch.poll() {
            if change == Change::Resync {
                self.view = View::of(&self.watch.snapshot().expect("snapshot"));
            } else {
                self.view.apply(change);
            }
        }
    }
}

fn pick(store: &Store, mailbox: usize, picks: &[usize]) -> Vec<u32> {
    let snapshot = store.messages("alice", MAILBOXES[mailbox]).expect("snapshot");
    if snapshot.messages.is_empty() {
        return picks.iter().map(|p| *p as u32 + 1000).collect();
    }
    picks
        .iter()
        .map(|p| snapshot.messages[p % snapshot.messages.len()].uid)
        .collect()
}

/// How the test calls the store: correctly, or (to show the expectation catches it) dropping
/// the UNCHANGEDSINCE condition as a store that ignored it would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    Faithful,
    IgnoringUnchangedSince,
}

fn run(store: &Store, op: &Op, watchers: &mut [Watcher], call: Call) {
    match op {
        Op::Append { mailbox, flags: bits } => {
            let raw = format!("Subject: {bits}\r\n\r\n").into_bytes();
            store
                .append("alice", MAILBOXES[*mailbox], raw, flags(*bits), 0)
                .expect("append");
        }
        Op::Store {
            mailbox,
            picks,
            op,
            flags: bits,
            since,
        } => {
            let name = MAILBOXES[*mailbox];
            let uids = pick(store, *mailbox, picks);
            let before = store.messages("alice", name).expect("snapshot");
            let since = match since {
                Since::None => None,
                Since::Half => Some(before.highestmodseq / 2),
                Since::Highest => Some(before.highestmodseq),
                Since::Zero => Some(0),
            };
            let given = flags(*bits);
            let passed = since.filter(|_| call == Call::Faithful);
            let update = store
                .store_flags("alice", name, &uids, *op, &given, passed)
                .expect("store");
            let after = store.messages("alice", name).expect("snapshot");
            check_store(&before, &after, &uids, (*op, &given, since), &update);
        }
        Op::Expunge { mailbox, picks } => {
            let uids = picks.as_ref().map(|p| pick(store, *mailbox, p));
            store
                .expunge("alice", MAILBOXES[*mailbox], uids.as_deref())
                .expect("expunge");
        }
        Op::Transfer {
            from,
            to,
            picks,
            remove,
        } => {
            let uids = pick(store, *from, picks);
            let (from, to) = (MAILBOXES[*from], MAILBOXES[*to]);
            let copied = if *remove {
                store.move_messages("alice", from, to, &uids)
            } else {
                store.copy_messages("alice", from, to, &uids)
            };
            let copied = copied.expect("transfer");
            assert_eq!(copied.source.len(), copied.dest.len());
        }
        Op::Poll { watch } => {
            let watcher = &mut watchers[*watch];
            watcher.poll();
            let snapshot = store
                .messages("alice", MAILBOXES[watcher.mailbox])
                .expect("snapshot");
            assert_eq!(watcher.view, View::of(&snapshot), "watch {watch} after polling");
        }
    }
}

/// `flags` changed by `op` with `given`, by set arithmetic.
fn expected_flags(flags: &Flags, op: FlagOp, given: &Flags) -> Flags {
    let mut out = match op {
        FlagOp::Replace => Flags::new(),
        FlagOp::Add | FlagOp::Remove => flags.clone(),
    };
    for flag in given.iter() {
        match op {
            FlagOp::Remove => {
                out.remove(&flag);
            }
            FlagOp::Add | FlagOp::Replace => {
                out.insert(flag);
            }
        }
    }
    out
}

/// A STORE of `uids` did what RFC 9051 §6.4.6 and RFC 7162 §3.1.3 say: a message whose
/// mod-sequence is above UNCHANGEDSINCE is left alone and reported MODIFIED; every other
/// one gets the new flags, with a greater mod-sequence if they differ (and is reported
/// changed exactly then); messages not named do not change.
fn check_store(
    before: &Snapshot,
    after: &Snapshot,
    uids: &[u32],
    (op, given, since): (FlagOp, &Flags, Option<u64>),
    update: &crate::FlagUpdate,
) {
    let mut modified = Vec::new();
    for old in &before.messages {
        let new = after
            .messages
            .iter()
            .find(|m| m.uid == old.uid)
            .expect("a store removes nothing");
        let named = uids.contains(&old.uid);
        let fails = since.is_some_and(|s| old.modseq > s);
        let expected = if !named || fails {
            old.flags.clone()
        } else {
            expected_flags(&old.flags, op, given)
        };
        modified.extend((named && fails).then_some(old.uid));
        assert_eq!(
            new.flags, expected,
            "UID {} after STORE (UNCHANGEDSINCE {since:?})",
            old.uid
        );
        let changed = new.flags != old.flags;
        assert_eq!(new.modseq > old.modseq, changed, "UID {} modseq", old.uid);
        let reported = update.changed.iter().any(|c| c.uid == old.uid);
        assert_eq!(reported, changed, "UID {} reported changed", old.uid);
    }
    let mut reported = update.modified.clone();
    reported.sort_unstable();
    reported.dedup();
    assert_eq!(reported, modified, "MODIFIED (UNCHANGEDSINCE {since:?})");
}

/// UIDs ascend and stay below UIDNEXT; UIDNEXT and HIGHESTMODSEQ never go back; no message
/// has a modseq above HIGHESTMODSEQ; a message's modseq never goes back.
fn check_invariants(before: &Snapshot, after: &Snapshot) {
    assert!(after.messages.windows(2).all(|w| w[0].uid < w[1].uid));
    assert!(after.messages.iter().all(|m| m.uid < after.uidnext));
    assert!(after.messages.iter().all(|m| m.modseq <= after.highestmodseq));
    assert!(after.uidnext >= before.uidnext);
    assert!(after.highestmodseq >= before.highestmodseq);
    for message in &after.messages {
        match before.messages.binary_search_by_key(&message.uid, |m| m.uid) {
            Ok(i) => assert!(message.modseq >= before.messages[i].modseq),
            Err(_) => assert!(message.uid >= before.uidnext, "UID {} reused", message.uid),
        }
    }
}

/// Runs `ops` on a fresh store with three watches, checking as it goes (panics on a failure).
fn run_all(ops: &[Op], limit: usize, call: Call) {
    let store = Store::with_change_log_limit(limit);
    store
        .add_user(User::new("alice", "secret", ["alice@example.test"]))
        .expect("alice");
    store.create_mailbox("alice", "Other").expect("create");
    let mut watchers: Vec<Watcher> = [0, 0, 1]
        .into_iter()
        .map(|mailbox| {
            let mut watch = store.watch("alice", MAILBOXES[mailbox]).expect("watch");
            let view = View::of(&watch.snapshot().expect("snapshot"));
            Watcher { mailbox, watch, view }
        })
        .collect();
    for op in ops {
        let before: Vec<Snapshot> = MAILBOXES
            .iter()
            .map(|m| store.messages("alice", m).expect("snapshot"))
            .collect();
        run(&store, op, &mut watchers, call);
        for (mailbox, before) in MAILBOXES.iter().zip(&before) {
            check_invariants(before, &store.messages("alice", mailbox).expect("snapshot"));
        }
    }
    for watch in 0..watchers.len() {
        run(&store, &Op::Poll { watch }, &mut watchers, call);
    }
}

fn limit() -> impl Strategy<Value = usize> {
    prop_oneof![Just(2usize), Just(8), Just(1000)]
}

proptest! {
    #[test]
    fn watches_rebuild_the_store(ops in proptest::collection::vec(op(), 1..60), limit in limit()) {
        run_all(&ops, limit, Call::Faithful);
    }
}

/// The expectation catches a store that ignores UNCHANGEDSINCE (what the IMAP defect
/// `unchanged-since-ignored` does one layer up): the same property fails.
#[test]
fn the_model_catches_unchanged_since_ignored() {
    let config = proptest::test_runner::Config {
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let strategy = (proptest::collection::vec(op(), 1..60), limit());
    let result = runner.run(&strategy, |(ops, limit)| {
        run_all(&ops, limit, Call::IgnoringUnchangedSince);
        Ok(())
    });
    let failure = result.expect_err("a store ignoring UNCHANGEDSINCE passed the model");
    let text = failure.to_string();
    assert!(
        text.contains("UNCHANGEDSINCE") || text.contains("MODIFIED"),
        "{text}"
    );
}
