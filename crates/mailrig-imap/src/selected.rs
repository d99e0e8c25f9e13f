//! Selected-state commands and synchronization: STORE (§6.4.6; FETCH is in `fetch.rs`),
//! EXPUNGE (§6.4.3, RFC 4315 UID EXPUNGE), COPY (§6.4.7), MOVE (RFC 6851), CLOSE (§6.4.1), UNSELECT (RFC 3691), and the
//! reporting of changes made by other sessions (§7.5.1, §5.2, §7.4.1 EXPUNGE arithmetic).
//!
//! Read first: RFC 9051 §7.5.1: EXPUNGE is never sent while responding to FETCH, STORE or
//! SEARCH (nor, here, SORT or THREAD), because the client's sequence numbers must stay valid
//! until the command ends; unless NOTIFY asked for the selected mailbox's message events
//! undelayed (RFC 5465 §5.3, `Session::expunges_anytime`).
//! Changes are read from the store's feed ([`Watch`]) in order; when expunges may not be sent
//! yet, the feed is read up to the first expunge and the rest waits in `pending`. With
//! CONDSTORE on (RFC 7162 §3.1), flag updates carry `UID` and `MODSEQ`; with QRESYNC on
//! (§3.2.10), expunges are reported as `VANISHED`, under the same rule. A keyword the
//! client's FLAGS did not list is announced with `* FLAGS` and `* OK [PERMANENTFLAGS]`
//! before the first response that carries it (RFC 9051 §7.3.5), whoever brought it.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use mailrig_store::{Change, Flag, FlagOp, Flags, Keyword, Message, Store, Watch};

use crate::command::{Command, Token, Verb};
use crate::completion::{Completion, Refusal};
use crate::condstore::{self, Condstore};
use crate::config::Config;
use crate::context::Contexts;
use crate::data::{Data, DataKind};
use crate::defect::{Defect, Defects};
use crate::error::SyntaxError;
use crate::fetch::Item;
use crate::mailbox::parse_flags;
use crate::recent::{self, Recent};
use crate::response::Responses;
use crate::sequence::SequenceSet;
use crate::sequence_map::SequenceMap;
use crate::session::Session;
use crate::storage::Operation;

/// The selected mailbox as this session's client knows it.
#[derive(Debug)]
pub(crate) struct Selected {
    pub(crate) watch: Watch,
    /// UIDs by sequence number (index 0 is message 1), as last reported to the client;
    /// shared with the other sessions that reported the same.
    uids: SequenceMap,
    read_only: bool,
    /// Changes read from the feed but not reported yet.
    pending: VecDeque<Change>,
    /// Modification sequences of flag changes this session made and already reported.
    own: HashSet<u64>,
    /// The modseq of each message whose state a FETCH or STORE response reported since
    /// the feed was last drained: feed entries up to it are older than what the client
    /// has, and sending them would roll its flags (and modseq) back.
    reported: HashMap<u32, u64>,
    /// IMAP4rev1's `\Recent` messages (`None` in IMAP4rev2).
    pub(crate) recent: Option<Recent>,
    /// The keywords the client's last FLAGS response listed.
    keywords: BTreeSet<Keyword>,
    /// The session's deliberate defects (see [`Defect`]).
    defects: Defects,
    /// The searches kept updated (RFC 5267 §4.3); they end with the selection.
    pub(crate) contexts: Contexts,
    /// UIDs this session's own APPEND, COPY or MOVE added to this mailbox and the client
    /// has not been told of yet: NOTIFY's MessageNew sends them no FETCH (RFC 5465 §5.2).
    pub(crate) own_arrivals: Vec<u32>,
}

impl Selected {
    /// A selection whose client knows `uids` (from the watch's snapshot) and, from SELECT's
    /// FLAGS, `keywords`.
    pub(crate) fn new(
        watch: Watch,
        (mut uids, keywords): (SequenceMap, &[Keyword]),
        read_only: bool,
        defects: Defects,
    ) -> Selected {
        uids.settle(watch.current_uids());
        Selected {
            watch,
            uids,
            read_only,
            pending: VecDeque::new(),
            own: HashSet::new(),
            reported: HashMap::new(),
            recent: None,
            keywords: keywords.iter().cloned().collect(),
            defects,
            contexts: Contexts::default(),
            own_arrivals: Vec::new(),
        }
    }

    /// Writes `* FLAGS` and `* OK [PERMANENTFLAGS]` if `flags` has a keyword the client's
    /// FLAGS did not list (RFC 9051 §7.3.5); call it before writing any response that carries
    /// `flags`.
    fn announce(&mut self, out: &mut Responses, flags: &Flags) {
        if flags.keywords().all(|keyword| self.keywords.contains(keyword)) {
            return;
        }
        self.keywords.extend(flags.keywords().cloned());
        let (list, permanent) = flag_lists(&self.keywords, self.read_only);
        out.data(Data::Flags(&list));
        out.condition(
            DataKind::Ok,
            Some(&format!("PERMANENTFLAGS {permanent}")),
            "limited",
        );
    }

    /// UIDs by sequence number, as the client knows them.
    pub(crate) fn uids(&self) -> &[u32] {
        self.uids.as_slice()
    }

    /// Notes flag changes this session made itself: the feed's copies of them are not
    /// reported back.
    pub(crate) fn note_own(&mut self, modseqs: impl IntoIterator<Item = u64>) {
        self.own.extend(modseqs);
    }

    /// Whether the mailbox was opened with EXAMINE.
    pub(crate) fn read_only(&self) -> bool {
        self.read_only
    }

    pub(crate) fn has_pending(&self) -> bool {
        !self.pending.is_empty() || self.watch.has_changes()
    }

    /// Writes the untagged responses for the changes since the last call: `EXISTS` for new
    /// messages, `FETCH (FLAGS .. UID .. [MODSEQ ..])` for flag changes, and `EXPUNGE` or
    /// `VANISHED` (only if `expunges`) with sequence numbers as the client counts them at
    /// that point. Returns whether the mailbox was deleted.
    pub(crate) fn sync(&mut self, out: &mut Responses, expunges: bool, condstore: Condstore) -> bool {
        let deleted = self.apply(out, expunges, condstore);
        // Told everything it read: the client's view is the mailbox's, unless more came since.
        let current = self.pending.is_empty().then(|| self.watch.current_uids());
        self.uids.settle(current.flatten());
        deleted
    }

    /// What [`Selected::sync`] does before it settles the sequence map.
    fn apply(&mut self, out: &mut Responses, expunges: bool, condstore: Condstore) -> bool {
        self.pending.extend(self.watch.poll());
        let mut owed = Owed::default();
        while let Some(change) = self.pending.front() {
            let ordered = matches!(
                change,
                Change::Expunged { .. } | Change::Resync | Change::MailboxDeleted
            );
            if ordered && !expunges {
                break;
            }
            let Some(change) = self.pending.pop_front() else {
                break;
            };
            self.contexts.stale = true;
            match change {
                Change::Added(message) => {
                    if self.uids.last().is_none_or(|last| last < message.uid) {
                        self.announce(out, &message.flags);
                        self.uids.push(message.uid);
                        owed.exists = true;
                    }
                }
                Change::Flags { uid, flags, modseq } => {
                    if self.own.remove(&modseq)
                        || self.reported.get(&uid).is_some_and(|&seen| seen >= modseq)
                        || self.defects.has(Defect::FlagsNotPushed)
                    {
                        continue;
                    }
                    if let Some(i) = self.uids.position(uid) {
                        self.flush(out, &mut owed);
                        self.announce(out, &flags);
                        let recent = self.recent.as_ref();
                        let with_uid = !self.defects.has(Defect::UnsolicitedFetchWithoutUid);
                        let seq = (i + 1, uid, with_uid);
                        flag_update(out, seq, &flags, modseq, condstore, recent);
                    }
                }
                Change::Expunged { uid, .. } => {
                    if let Some(i) = self.uids.position(uid) {
                        if condstore == Condstore::Qresync {
                            // An EXISTS owed counts this message, so it goes first.
                            if owed.exists {
                                self.flush(out, &mut owed);
                            }
                            self.contexts.expunged(out, uid, i + 1);
                            owed.vanished.push(uid);
                        } else {
                            self.flush(out, &mut owed);
                            self.contexts.expunged(out, uid, i + 1);
                            let off = usize::from(self.defects.has(Defect::ExpungeNumberOffByOne));
                            out.data(Data::Expunge(i + 1 + off));
                        }
                        self.uids.remove(i);
                    }
                }
                Change::Renamed { .. } => {}
                Change::MailboxDeleted => {
                    self.flush(out, &mut owed);
                    return true;
                }
                Change::Resync => self.resync(out, &mut owed, condstore),
            }
        }
        self.flush(out, &mut owed);
        if self.pending.is_empty() {
            // Every change made before those responses has been read and judged.
            self.reported.clear();
        }
        false
    }

    /// The messages among `changed` (UID → the modseq this session's change gave it) with
    /// another session's flag change before this one that the client has not heard of.
    fn unreported_before(&mut self, changed: &HashMap<u32, u64>) -> HashSet<u32> {
        self.pending.extend(self.watch.poll());
        self.pending
            .iter()
            .filter_map(|change| match change {
                Change::Flags { uid, modseq, .. }
                    if !self.own.contains(modseq) && changed.get(uid).is_some_and(|own| modseq < own) =>
                {
                    Some(*uid)
                }
                _ => None,
            })
            .collect()
    }

    /// Writes `* n FETCH` for the message at `position` and notes what it reported: its
    /// flags, or under CONDSTORE its modseq. Flags without the modseq under CONDSTORE still
    /// make every older update stale (sending one would roll the flags back), but the update
    /// that carries the current modseq is still owed.
    pub(crate) fn report(
        &mut self,
        out: &mut Responses,
        position: usize,
        message: &Message,
        items: &[Item],
        condstore: Condstore,
    ) {
        let shown = if condstore == Condstore::Off {
            Item::Flags
        } else {
            Item::Modseq
        };
        let stale_up_to = if items.contains(&shown) {
            Some(message.modseq)
        } else if items.contains(&Item::Flags) {
            Some(message.modseq.saturating_sub(1))
        } else {
            None
        };
        if let Some(up_to) = stale_up_to {
            let seen = self.reported.entry(message.uid).or_default();
            *seen = (*seen).max(up_to);
        }
        if items.contains(&Item::Flags) {
            self.announce(out, &message.flags);
        }
        out.data(Data::Fetch {
            seq: position + 1,
            message,
            items,
            recent: self.recent.as_ref(),
            defects: self.defects,
        });
    }

    /// Writes what `owed` holds: the `VANISHED` UIDs (already gone from `uids`), then
    /// `EXISTS` and, in IMAP4rev1, `RECENT` after claiming the new messages no other session
    /// was told about first.
    fn flush(&mut self, out: &mut Responses, owed: &mut Owed) {
        if !owed.vanished.is_empty() {
            owed.vanished.sort_unstable();
            condstore::vanished(out, false, &condstore::runs_of(&owed.vanished));
            owed.vanished.clear();
        }
        if std::mem::take(&mut owed.exists) {
            out.data(Data::Exists(self.uids.len()));
            if let Some(recent) = &mut self.recent {
                recent.claim(&self.watch, &self.uids);
                out.data(Data::Recent(recent.count(&self.uids)));
            }
        }
    }

    /// The feed lost changes: compare the client's view with a fresh snapshot, expunging
    /// from the highest sequence number down so each number is right when sent.
    fn resync(&mut self, out: &mut Responses, owed: &mut Owed, condstore: Condstore) {
        self.flush(out, owed);
        self.pending.clear();
        // Own changes the feed dropped will never be seen; all flags are re-sent below.
        self.own.clear();
        self.reported.clear();
        let Ok(snapshot) = self.watch.snapshot() else {
            return;
        };
        let live: HashSet<u32> = snapshot.messages.iter().map(|m| m.uid).collect();
        for i in (0..self.uids.len()).rev() {
            let Some(uid) = self.uids.get(i) else {
                continue;
            };
            if !live.contains(&uid) {
                self.contexts.expunged(out, uid, i + 1);
                if condstore == Condstore::Qresync {
                    owed.vanished.push(uid);
                } else {
                    out.data(Data::Expunge(i + 1));
                }
                self.uids.remove(i);
            }
        }
        self.flush(out, owed);
        for message in &snapshot.messages {
            if self.uids.last().is_none_or(|last| last < message.uid) {
                self.uids.push(message.uid);
                owed.exists = true;
            }
        }
        self.flush(out, owed);
        for message in &snapshot.messages {
            if let Some(i) = self.uids.position(message.uid) {
                self.announce(out, &message.flags);
                let recent = self.recent.as_ref();
                let with_uid = !self.defects.has(Defect::UnsolicitedFetchWithoutUid);
                flag_update(
                    out,
                    (i + 1, message.uid, with_uid),
                    &message.flags,
                    message.modseq,
                    condstore,
                    recent,
                );
            }
        }
    }

    /// The positions of the messages a sequence set (UIDs for `uid`) names, and their UIDs.
    pub(crate) fn named(&self, set: &Token, uid: bool) -> Result<(Vec<usize>, Vec<u32>), Refusal> {
        let Token::Atom(text) = set else {
            return Err(SyntaxError::SequenceSet.into());
        };
        let set = SequenceSet::parse(text)?;
        let known = self.uids.as_slice();
        let positions = if uid {
            set.uid_positions(known)
        } else {
            set.positions(known.len())?
        };
        let uids = positions.iter().map(|&i| known[i]).collect();
        Ok((positions, uids))
    }
}

/// What a selected-state command works with: the session's fields it needs, borrowed apart
/// so that the selection can change while the store, configuration and login are read.
pub(crate) struct Selection<'s> {
    pub(crate) store: &'s Store,
    pub(crate) config: &'s Config,
    pub(crate) login: &'s str,
    /// The selected mailbox's current name.
    pub(crate) name: String,
    pub(crate) selected: &'s mut Selected,
}

/// Responses `Selected::sync` owes the client, written before anything that depends on them.
#[derive(Debug, Default)]
struct Owed {
    /// The mailbox grew: `* n EXISTS`.
    exists: bool,
    /// Expunged UIDs for one `* VANISHED` (QRESYNC).
    vanished: Vec<u32>,
}

/// The `flag-list`s of FLAGS and PERMANENTFLAGS for a mailbox with `keywords`: the system
/// flags and the keywords, and for PERMANENTFLAGS also `\*` (new keywords may be created),
/// or nothing when the selection is read-only (RFC 9051 §7.1: PERMANENTFLAGS).
pub(crate) fn flag_lists<'a>(
    keywords: impl IntoIterator<Item = &'a Keyword>,
    read_only: bool,
) -> (String, String) {
    let mut flags = Flags::from([
        Flag::Answered,
        Flag::Flagged,
        Flag::Deleted,
        Flag::Seen,
        Flag::Draft,
    ]);
    for keyword in keywords {
        flags.insert(Flag::Keyword(keyword.clone()));
    }
    let list = crate::response::flag_list(&flags);
    let permanent = if read_only {
        "()".to_owned()
    } else {
        format!("{} \\*)", &list[..list.len() - 1])
    };
    (list, permanent)
}

/// `* n FETCH (FLAGS (...) UID u)`, with `MODSEQ (m)` once CONDSTORE is on (RFC 7162 §3.1),
/// and `\Recent` for one of the session's recent messages. Without `UID u` unless `with_uid`
/// ([`Defect::UnsolicitedFetchWithoutUid`]).
fn flag_update(
    out: &mut Responses,
    (seq, uid, with_uid): (usize, u32, bool),
    flags: &Flags,
    modseq: u64,
    condstore: Condstore,
    recent: Option<&Recent>,
) {
    out.data(Data::FlagUpdate {
        seq,
        uid: with_uid.then_some(uid),
        flags: &recent::flag_list(recent, flags, uid),
        modseq: (condstore != Condstore::Off).then_some(modseq),
    });
}

impl Session {
    /// `close = "CLOSE"` (RFC 9051 §6.4.1: expunges silently, unless selected read-only),
    /// `unselect = "UNSELECT"` (RFC 3691).
    pub(crate) fn close(&mut self, command: &Command) -> Result<Completion, Refusal> {
        if !command.args.is_empty() {
            return Err(SyntaxError::Arguments.into());
        }
        let selected = self.selected.take();
        if let (Some(selected), Some(login)) = (selected, &self.login)
            && command.verb == Verb::Close
            && !selected.read_only
        {
            let name = selected.watch.mailbox_name();
            // A deleted mailbox has nothing left to expunge, so the error is moot.
            let _ = self.store.expunge(login, &name, None);
        }
        Ok(Completion::ok(format!("{} completed", command.verb)))
    }

    /// The selection, with the store, the configuration and the login borrowed beside it.
    pub(crate) fn selection(&mut self) -> Result<Selection<'_>, Refusal> {
        let Session {
            store,
            config,
            login,
            selected,
            ..
        } = self;
        let login = login
            .as_deref()
            .ok_or_else(|| Refusal::bad("not authenticated"))?;
        let selected = selected
            .as_mut()
            .ok_or_else(|| Refusal::bad("no mailbox selected"))?;
        // Read each time: the mailbox may have been renamed since it was selected.
        let name = selected.watch.mailbox_name();
        Ok(Selection {
            store,
            config,
            login,
            name,
            selected,
        })
    }

    /// `store = "STORE" SP sequence-set [SP store-modifiers] SP store-att-flags`,
    /// `store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list / (flag *(SP flag)))`,
    /// `store-modifier = "UNCHANGEDSINCE" SP mod-sequence-valzer` (RFC 7162 §3.1.3).
    pub(crate) fn store_command(
        &mut self,
        command: &Command,
        uid: bool,
        out: &mut Responses,
    ) -> Result<Completion, Refusal> {
        let (set, unchanged_since, rest) = match &command.args[..] {
            [set, Token::List(modifiers), rest @ ..] => {
                (set, Some(condstore::unchanged_since(modifiers)?), rest)
            }
            [set, rest @ ..] => (set, None, rest),
            [] => return Err(SyntaxError::Arguments.into()),
        };
        let [Token::Atom(kind), flags @ ..] = rest else {
            return Err(SyntaxError::Arguments.into());
        };
        let flags = match flags {
            [Token::List(list)] => parse_flags(list)?,
            [] => return Err(SyntaxError::Arguments.into()),
            atoms => parse_flags(atoms)?,
        };
        let kind = kind.to_ascii_uppercase();
        let (kind, silent) = match kind.strip_suffix(".SILENT") {
            Some(kind) => (kind, true),
            None => (kind.as_str(), false),
        };
        let op = match kind {
            "FLAGS" => FlagOp::Replace,
            "+FLAGS" if self.config.defects.has(Defect::PlusFlagsReplaces) => FlagOp::Replace,
            "+FLAGS" | "-FLAGS" if self.config.defects.has(Defect::PlusMinusFlagsSwapped) => {
                if kind == "+FLAGS" {
                    FlagOp::Remove
                } else {
                    FlagOp::Add
                }
            }
            "+FLAGS" => FlagOp::Add,
            "-FLAGS" => FlagOp::Remove,
            _ => return Err(SyntaxError::Arguments.into()),
        };
        if self.selected.as_ref().is_some_and(|s| s.read_only)
            && !self.config.defects.has(Defect::ExamineAllowsStore)
        {
            return Err(Refusal::no("mailbox is read-only").with_code("READ-ONLY"));
        }
        if unchanged_since.is_some() {
            self.enable_condstore(out)?;
        }
        let self_condstore = self.condstore;
        let condstore = self_condstore != Condstore::Off;
        let Selection {
            store,
            config,
            login,
            name,
            selected,
        } = self.selection()?;
        let (positions, uids) = selected.named(set, uid)?;
        let operation = Operation::Store {
            mailbox: &name,
            uids: &uids,
            op,
            flags: &flags,
            uid,
        };
        config.storage.check(login, &operation)?;
        let unchanged_since =
            unchanged_since.filter(|_| !selected.defects.has(Defect::UnchangedSinceIgnored));
        let update = store.store_flags(login, &name, &uids, op, &flags, unchanged_since)?;
        selected.own.extend(update.changed.iter().map(|c| c.modseq));
        let modified: HashSet<u32> = update.modified.iter().copied().collect();
        let changed: HashMap<u32, u64> = update.changed.iter().map(|c| (c.uid, c.modseq)).collect();
        let stale = selected.unreported_before(&changed);
        let full = match (condstore, uid) {
            (false, false) => &[Item::Flags][..],
            (false, true) => &[Item::Flags, Item::Uid][..],
            (true, _) => &[Item::Flags, Item::Uid, Item::Modseq][..],
        };
        let messages = store.messages_with_uids(login, &name, &uids)?;
        for (&i, &uid) in positions.iter().zip(&uids) {
            // .SILENT still answers when the client cannot work the flags out itself (it
            // has not heard of another session's change yet) and, under CONDSTORE, with
            // each new MODSEQ (RFC 7162 §3.1.3).
            let items = match (silent, condstore) {
                _ if modified.contains(&uid) => continue,
                (false, _) => full,
                (true, _) if stale.contains(&uid) => full,
                (true, true) if changed.contains_key(&uid) => &[Item::Uid, Item::Modseq][..],
                (true, _) => continue,
            };
            if let Ok(found) = messages.binary_search_by_key(&uid, |m| m.uid) {
                selected.report(out, i, &messages[found], items, self_condstore);
            }
        }
        if modified.is_empty() {
            return Ok(Completion::ok(format!("{} completed", command.verb)));
        }
        let numbers: Vec<u32> = positions
            .iter()
            .zip(&uids)
            .filter(|(_, u)| modified.contains(u))
            .map(|(&i, &u)| {
                if uid {
                    u
                } else {
                    u32::try_from(i + 1).unwrap_or(u32::MAX)
                }
            })
            .collect();
        let code = format!("MODIFIED {}", uid_set(&numbers));
        Ok(Completion::ok("Conditional STORE failed").with_code(code))
    }

    /// EXPUNGE, or `uid-expunge = "UID" SP "EXPUNGE" SP sequence-set`. The EXPUNGE
    /// responses come from the feed when the command ends, like everyone else's.
    pub(crate) fn expunge(&mut self, command: &Command) -> Result<Completion, Refusal> {
        let Selection {
            store,
            config,
            login,
            name,
            selected,
        } = self.selection()?;
        if selected.read_only {
            return Err(Refusal::no("mailbox is read-only").with_code("READ-ONLY"));
        }
        let uids = match (&command.args[..], command.verb) {
            ([], Verb::Expunge) => None,
            ([set], Verb::UidExpunge) => Some(selected.named(set, true)?.1),
            _ => return Err(SyntaxError::Arguments.into()),
        };
        let operation = Operation::Expunge {
            mailbox: &name,
            uids: uids.as_deref(),
        };
        config.storage.check(login, &operation)?;
        if selected.defects.has(Defect::ExpungeIgnoresDeleted) {
            // Everything covered is marked \Deleted first, so everything covered goes.
            let all = uids.clone().unwrap_or_else(|| selected.uids().to_vec());
            let deleted = Flags::from([Flag::Deleted]);
            let update = store.store_flags(login, &name, &all, FlagOp::Add, &deleted, None)?;
            selected.note_own(update.changed.iter().map(|c| c.modseq));
        }
        if !selected.defects.has(Defect::ExpungeRemovesNothing) {
            store.expunge(login, &name, uids.as_deref())?;
        }
        Ok(Completion::ok(format!("{} completed", command.verb)))
    }
}

impl Session {
    /// `copy = "COPY" SP sequence-set SP mailbox` (RFC 9051 §6.4.7, RFC 4315 COPYUID);
    /// `move = "MOVE" SP sequence-set SP mailbox` (RFC 6851 §3.3: `* OK [COPYUID ...]`,
    /// then the EXPUNGE responses, from the feed, then the tagged OK).
    pub(crate) fn copy(&mut self, command: &Command, out: &mut Responses) -> Result<Completion, Refusal> {
        let [set, to] = &command.args[..] else {
            return Err(SyntaxError::Arguments.into());
        };
        let to = to.astring().ok_or(SyntaxError::Arguments)?;
        let moving = matches!(command.verb, Verb::Move | Verb::UidMove);
        let uid = command.verb.is_uid();
        let Selection {
            store,
            config,
            login,
            name,
            selected,
        } = self.selection()?;
        if moving && selected.read_only {
            return Err(Refusal::no("mailbox is read-only").with_code("READ-ONLY"));
        }
        let (_, uids) = selected.named(set, uid)?;
        // A MOVE between two mailboxes of one user changes no usage (RFC 9208: one root), and
        // without a quota there is nothing to check: the sizes cost a read of every message.
        if !moving && config.quota != crate::quota::Quota::default() {
            let sizes = store
                .messages_with_uids(login, &name, &uids)?
                .iter()
                .map(|m| m.size)
                .sum();
            crate::quota::check(store, login, config, sizes, uids.len() as u64)?;
        }
        let operation = Operation::Copy {
            from: &name,
            to: &to,
            uids: &uids,
            moving,
            uid,
        };
        config.storage.check(login, &operation)?;
        let source_uidvalidity = selected.watch.uidvalidity();
        let defects = selected.defects;
        let copied = if moving && !defects.has(Defect::MoveWithoutExpunge) {
            store
                .move_messages(login, &name, &to, &uids)
                .map_err(Refusal::try_create)?
        } else {
            store
                .copy_messages(login, &name, &to, &uids)
                .map_err(Refusal::try_create)?
        };
        if copied.uidvalidity == source_uidvalidity {
            selected.own_arrivals.extend(&copied.dest);
        }
        let uidvalidity = if defects.has(Defect::CopyuidSourceUidvalidity) {
            source_uidvalidity
        } else {
            copied.uidvalidity
        };
        let code = (!copied.dest.is_empty() && config.extensions.uidplus).then(|| {
            let (source, dest) = (uid_set(&copied.source), uid_set(&copied.dest));
            format!("COPYUID {uidvalidity} {source} {dest}")
        });
        let completion = Completion::ok(format!("{} completed", command.verb));
        match code {
            Some(code) if moving => out.condition(DataKind::Ok, Some(&code), "moved"),
            Some(code) => return Ok(completion.with_code(code)),
            None => {}
        }
        Ok(completion)
    }
}

/// `uid-set` (RFC 4315 §4), in the order given (COPYUID pairs source and destination UIDs
/// by position), with runs of consecutive UIDs as ranges.
pub(crate) fn uid_set(uids: &[u32]) -> String {
    // `runs_of` only merges neighbours, so it keeps the order given.
    condstore::runs_text(&condstore::runs_of(uids))
}

#[cfg(test)]
mod tests {
    use mailrig_store::{Store, User};

    use crate::sequence_map::SequenceMap;
    use crate::{Config, Output, Session};

    fn session(store: &Store) -> Session {
        let mut session = Session::new(Config::default(), store.clone());
        let text = run(&mut session, "a LOGIN alice secret\r\nb SELECT INBOX\r\n");
        assert!(text.ends_with("b OK [READ-WRITE] SELECT completed\r\n"), "{text}");
        session
    }

    fn run(session: &mut Session, input: &str) -> String {
        session.handle_input(input.as_bytes());
        let mut text = Vec::new();
        while let Some(output) = session.poll_output() {
            if let Output::Response { bytes, .. } = output {
                text.extend(bytes);
            }
        }
        String::from_utf8_lossy(&text).into_owned()
    }

    fn shared(a: &Session, b: &Session) -> bool {
        fn uids(session: &Session) -> &SequenceMap {
            &session.selected.as_ref().expect("selected").uids
        }
        uids(a).shares_with(uids(b))
    }

    fn deliver(store: &Store) {
        store
            .deliver("alice", b"Subject: x\r\n\r\nx\r\n".to_vec(), 0)
            .expect("deliver");
    }

    /// Sessions that told their clients the same messages hold one list; one that is behind
    /// (an expunge it may not send during FETCH) holds its own until it catches up.
    #[test]
    fn sessions_in_step_share_one_uid_list() {
        let store = Store::new();
        store
            .add_user(User::new("alice", "secret", ["alice@example.test"]))
            .expect("alice");
        (0..3).for_each(|_| deliver(&store));
        let (mut a, mut b) = (session(&store), session(&store));
        assert!(shared(&a, &b));

        deliver(&store);
        assert!(run(&mut a, "c NOOP\r\n").contains("* 4 EXISTS\r\n"));
        assert!(!shared(&a, &b), "b has not heard of the new message yet");
        assert!(run(&mut b, "c NOOP\r\n").contains("* 4 EXISTS\r\n"));
        assert!(shared(&a, &b));

        deliver(&store);
        run(&mut a, "d STORE 1 +FLAGS.SILENT (\\Deleted)\r\ne EXPUNGE\r\n");
        let fetched = run(&mut b, "d FETCH 1 (UID)\r\n");
        assert!(
            fetched.contains("* 5 EXISTS\r\n") && !fetched.contains("EXPUNGE"),
            "{fetched}"
        );
        assert!(!shared(&a, &b));
        assert_eq!(b.selected.as_ref().expect("selected").uids(), &[1, 2, 3, 4, 5]);
        assert!(run(&mut b, "e NOOP\r\n").contains("* 1 EXPUNGE\r\n"));
        assert!(shared(&a, &b));
        assert_eq!(b.selected.as_ref().expect("selected").uids(), &[2, 3, 4, 5]);
    }
}
