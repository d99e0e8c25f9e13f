//! The independent reference model: what each mailbox holds (every message's UID and the
//! history of its flags and mod-sequences) and what each session has been told (its
//! sequence-number map, the flags and MODSEQ it last heard per message). It is written from
//! RFC 9051 and RFC 7162 alone and never asks the store or the session for their state: the
//! only input is what the test did and what the server answered.
//!
//! Mod-sequences are not predicted (RFC 7162 leaves their values to the server) but
//! constrained: a flag change made by a later command must get a greater MODSEQ than every
//! earlier change in the mailbox whose MODSEQ any session has been told, and once a version's
//! MODSEQ is known every session must be told the same one.

use std::collections::{BTreeMap, BTreeSet};

use crate::reader::FlagSet;

/// One state of a message's flags, created by one command.
#[derive(Debug, Clone)]
pub(crate) struct Version {
    pub(crate) flags: FlagSet,
    /// The command that made this version (orders mod-sequences in the mailbox).
    pub(crate) order: u64,
    /// Learnt from the first MODSEQ a session was told for this version.
    pub(crate) modseq: Option<u64>,
}

/// A message as it ever was in a mailbox.
#[derive(Debug, Clone)]
pub(crate) struct Message {
    pub(crate) uid: u32,
    pub(crate) versions: Vec<Version>,
    pub(crate) expunged: bool,
}

impl Message {
    pub(crate) fn current(&self) -> &Version {
        self.versions.last().expect("a message has at least one version")
    }
}

/// A mailbox: every message ever appended, in UID order, expunged ones kept (a session may
/// still hear of them).
#[derive(Debug, Default)]
pub(crate) struct Mailbox {
    pub(crate) messages: Vec<Message>,
    pub(crate) uidvalidity: Option<u32>,
    /// Command counter for [`Version::order`].
    pub(crate) clock: u64,
    /// Every message up to this UID has been claimed as `\Recent` by some session
    /// (`announce.rs`).
    pub(crate) recent_mark: u32,
}

/// How a STORE changes flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Add,
    Remove,
    Replace,
}

impl Op {
    pub(crate) fn apply(self, flags: &FlagSet, given: &FlagSet) -> FlagSet {
        match self {
            Op::Add => flags.union(given).cloned().collect(),
            Op::Remove => flags.difference(given).cloned().collect(),
            Op::Replace => given.clone(),
        }
    }
}

/// The outcome of an UNCHANGEDSINCE test the model can decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unchanged {
    Passes,
    Fails,
}

impl Mailbox {
    pub(crate) fn find(&self, uid: u32) -> Option<&Message> {
        let i = self.messages.binary_search_by_key(&uid, |m| m.uid).ok()?;
        Some(&self.messages[i])
    }

    fn find_mut(&mut self, uid: u32) -> Option<&mut Message> {
        let i = self.messages.binary_search_by_key(&uid, |m| m.uid).ok()?;
        Some(&mut self.messages[i])
    }

    pub(crate) fn live(&self) -> Vec<u32> {
        self.messages
            .iter()
            .filter(|m| !m.expunged)
            .map(|m| m.uid)
            .collect()
    }

    pub(crate) fn is_live(&self, uid: u32) -> bool {
        self.find(uid).is_some_and(|m| !m.expunged)
    }

    /// Starts a command: versions it makes share one order.
    pub(crate) fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// A new message with `uid` (from APPENDUID or COPYUID): UIDs strictly ascend (RFC 9051
    /// §2.3.1.1).
    pub(crate) fn append(&mut self, uid: u32, flags: FlagSet, order: u64) -> Result<(), String> {
        if let Some(last) = self.messages.last()
            && last.uid >= uid
        {
            return Err(format!("new UID {uid} is not above {}", last.uid));
        }
        let version = Version {
            flags,
            order,
            modseq: None,
        };
        self.messages.push(Message {
            uid,
            versions: vec![version],
            expunged: false,
        });
        Ok(())
    }

    /// STORE on `uids`: the live ones are changed (a new version when the flags differ);
    /// returns the UIDs an UNCHANGEDSINCE test excluded (`[MODIFIED]`).
    pub(crate) fn store(
        &mut self,
        uids: &[u32],
        op: Op,
        given: &FlagSet,
        test: impl Fn(&Message) -> Unchanged,
    ) -> BTreeSet<u32> {
        let order = self.tick();
        let mut modified = BTreeSet::new();
        for &uid in uids {
            let Some(message) = self.find_mut(uid).filter(|m| !m.expunged) else {
                continue;
            };
            if test(message) == Unchanged::Fails {
                modified.insert(uid);
                continue;
            }
            let flags = op.apply(&message.current().flags, given);
            if flags != message.current().flags {
                message.versions.push(Version {
                    flags,
                    order,
                    modseq: None,
                });
            }
        }
        modified
    }

    /// EXPUNGE (all of `within`, or every message): removes the live messages with `\Deleted`.
    pub(crate) fn expunge(&mut self, within: Option<&[u32]>) -> Vec<u32> {
        let mut gone = Vec::new();
        for message in &mut self.messages {
            let named = within.is_none_or(|w| w.contains(&message.uid));
            if named && !message.expunged && message.current().flags.contains("\\Deleted") {
                message.expunged = true;
                gone.push(message.uid);
            }
        }
        gone
    }

    /// Decides `UNCHANGEDSINCE since` for `message` from what is known of mod-sequences
    /// (RFC 7162 §3.1.3: it passes when the message's mod-sequence is at most `since`).
    /// `None` when the known MODSEQs do not settle it.
    pub(crate) fn unchanged_since(&self, message: &Message, since: u64) -> Option<Unchanged> {
        let current = message.current();
        if let Some(modseq) = current.modseq {
            return Some(if modseq <= since {
                Unchanged::Passes
            } else {
                Unchanged::Fails
            });
        }
        if since == 0 {
            return Some(Unchanged::Fails);
        }
        // An earlier change with a known MODSEQ >= since: this one's is greater still.
        let earlier = self
            .known_modseqs()
            .range(..current.order)
            .any(|(_, &m)| m >= since);
        earlier.then_some(Unchanged::Fails)
    }

    /// Every known MODSEQ by the order of the command that made it.
    fn known_modseqs(&self) -> BTreeMap<u64, u64> {
        let mut known = BTreeMap::new();
        for version in self.messages.iter().flat_map(|m| &m.versions) {
            if let Some(modseq) = version.modseq {
                known.insert(version.order, modseq);
            }
        }
        known
    }

    /// Whether `modseq` can be version `index` of `uid`'s: the one other sessions were told,
    /// and ordered as the commands that made the changes were.
    pub(crate) fn modseq_fits(&self, uid: u32, index: usize, modseq: u64) -> Result<(), String> {
        let message = self.find(uid).expect("a message the session knows");
        let version = &message.versions[index];
        if let Some(was) = version.modseq {
            return if was == modseq {
                Ok(())
            } else {
                Err(format!("UID {uid} told MODSEQ {modseq}, another session {was}"))
            };
        }
        for (&other, &m) in &self.known_modseqs() {
            let fine = match other.cmp(&version.order) {
                std::cmp::Ordering::Less => m < modseq,
                std::cmp::Ordering::Greater => m > modseq,
                std::cmp::Ordering::Equal => true,
            };
            if !fine {
                return Err(format!(
                    "UID {uid}: MODSEQ {modseq} out of order with MODSEQ {m} of another change"
                ));
            }
        }
        Ok(())
    }

    /// A session was told `modseq` for version `index` of `uid` (see [`Mailbox::modseq_fits`]).
    pub(crate) fn learn_modseq(&mut self, uid: u32, index: usize, modseq: u64) -> Result<(), String> {
        self.modseq_fits(uid, index, modseq)?;
        let message = self.find_mut(uid).expect("a message the session knows");
        message.versions[index].modseq = Some(modseq);
        Ok(())
    }
}

/// What one session's client has been told about one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Told {
    pub(crate) uid: u32,
    /// The version of the flags it last heard (an index into the message's versions).
    pub(crate) version: Option<usize>,
    pub(crate) flags: Option<FlagSet>,
    pub(crate) modseq: Option<u64>,
}

impl Told {
    pub(crate) fn new(uid: u32) -> Told {
        Told {
            uid,
            version: None,
            flags: None,
            modseq: None,
        }
    }
}

/// `flags` without `\Recent`, which is per session and not part of the mailbox's state
/// (`announce.rs` checks it against the session's recent messages).
pub(crate) fn without_recent(flags: &FlagSet) -> FlagSet {
    flags.iter().filter(|f| *f != "\\Recent").cloned().collect()
}

/// Which version of `message` a FETCH saying `flags` describes: one at least as new as the
/// client last heard (no rollback), holding exactly those flags, that `fits` (its MODSEQ, if
/// one was sent). The oldest such, so later updates can still follow; and whether it is the
/// only one. Flags can return to an earlier state (`\Seen`, then none, then `\Seen`), and a
/// MODSEQ may only be pinned to a version when no other could carry it.
pub(crate) fn version_told(
    message: &Message,
    since: Option<usize>,
    flags: &FlagSet,
    fits: impl Fn(usize) -> bool,
) -> Result<(usize, bool), String> {
    let from = since.unwrap_or(0);
    let mut candidates =
        (from..message.versions.len()).filter(|&i| &message.versions[i].flags == flags && fits(i));
    let first = candidates.next();
    let unique = candidates.next().is_none();
    first.map(|i| (i, unique)).ok_or_else(|| {
        let history: Vec<&FlagSet> = message.versions.iter().map(|v| &v.flags).collect();
        format!(
            "UID {} told FLAGS {flags:?}: not a state it had since the client last heard \
                 (version {from}; history {history:?})",
            message.uid
        )
    })
}
