//! A model test in the proptest state-machine style: random sequences of append, store,
//! expunge, copy and move over two mailboxes, with three watches (two on INBOX, one on the
//! other mailbox) polled at random. After every step the store's invariants hold, and each
//! watch's view rebuilt from its changes alone equals the store's snapshot whenever it polls.

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
        conditional: bool,
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
        3 => (mailbox.clone(), picks.clone(), flag_op, any::<u8>(), any::<bool>()).prop_map(
            |(mailbox, picks, op, flags, conditional)| Op::Store { mailbox, picks, op, flags, conditional }
        ),
        1 => (mailbox.clone(), proptest::option::of(picks.clone()))
            .prop_map(|(mailbox, picks)| Op::Expunge { mailbox, picks }),
        1 => (mailbox.clone(), mailbox, picks, any::<bool>())
            .prop_map(|(from, to, picks, remove)| Op::Transfer { from, to, picks, remove }),
        2 => (0usize..3).prop_map(|watch| Op::Poll { watch }),
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

fn run(store: &Store, op: &Op, watchers: &mut [Watcher]) {
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
            conditional,
        } => {
            let uids = pick(store, *mailbox, picks);
            let since = conditional.then(|| {
                store
                    .status("alice", MAILBOXES[*mailbox])
                    .expect("status")
                    .highestmodseq
                    / 2
            });
            store
                .store_flags("alice", MAILBOXES[*mailbox], &uids, *op, &flags(*bits), since)
                .expect("store");
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

proptest! {
    #[test]
    fn watches_rebuild_the_store(ops in proptest::collection::vec(op(), 1..60), limit in prop_oneof![Just(2usize), Just(8), Just(1000)]) {
        let store = Store::with_change_log_limit(limit);
        store.add_user(User::new("alice", "secret", ["alice@example.test"])).expect("alice");
        store.create_mailbox("alice", "Other").expect("create");
        let mut watchers: Vec<Watcher> = [0, 0, 1]
            .into_iter()
            .map(|mailbox| {
                let mut watch = store.watch("alice", MAILBOXES[mailbox]).expect("watch");
                let view = View::of(&watch.snapshot().expect("snapshot"));
                Watcher { mailbox, watch, view }
            })
            .collect();
        for op in &ops {
            let before: Vec<Snapshot> = MAILBOXES.iter().map(|m| store.messages("alice", m).expect("snapshot")).collect();
            run(&store, op, &mut watchers);
            for (mailbox, before) in MAILBOXES.iter().zip(&before) {
                check_invariants(before, &store.messages("alice", mailbox).expect("snapshot"));
            }
        }
        for watch in 0..watchers.len() {
            run(&store, &Op::Poll { watch }, &mut watchers);
        }
    }
}
