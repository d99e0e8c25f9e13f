//! Authenticated-state commands (RFC 9051 §6.3): SELECT, EXAMINE (§6.3.2–3), CREATE
//! (§6.3.4), DELETE (§6.3.5), RENAME (§6.3.6), SUBSCRIBE and UNSUBSCRIBE (§6.3.7–8),
//! LSUB (RFC 3501 §6.3.9), LIST (§6.3.9, with RFC 6154 special-use attributes and RFC 3348
//! child attributes; the extended forms' listing is in `list_extended.rs`), STATUS
//! (§6.3.11); SELECT's CONDSTORE and QRESYNC parameters and STATUS HIGHESTMODSEQ (RFC 7162
//! §3.1.2, §3.2.5). APPEND is in `append.rs`.

use std::collections::{BTreeMap, BTreeSet};

use mailrig_store::{Flag, Flags, MailboxInfo, SEPARATOR, Snapshot, Watch};

use crate::command::{Command, Token, Verb};
use crate::completion::{Completion, Refusal};
use crate::condstore::{self, Condstore, Qresync, SelectParams};
use crate::config::Extensions;
use crate::data::{Data, DataKind};
use crate::defect::{Defect, Defects};
use crate::error::SyntaxError;
use crate::fetch::Item;
use crate::list_extended::{Selection, StatusItems, status_option};
use crate::objectid;
use crate::recent::Recent;
use crate::response::Responses;
use crate::selected::{Selected, flag_lists};
use crate::sequence_map::SequenceMap;
use crate::session::Session;
use crate::storage::Operation;

impl Session {
    /// `create = "CREATE" SP mailbox`.
    pub(crate) fn create(&mut self, command: &Command) -> Result<Completion, Refusal> {
        let name = one_mailbox(command)?;
        let login = self.authenticated()?;
        self.config
            .storage
            .check(login, &Operation::Create { mailbox: &name })?;
        self.create_defects(login, &name)?;
        self.store.create_mailbox(login, &name)?;
        let completion = Completion::ok("CREATE completed");
        if !self.config.extensions.objectid {
            return Ok(completion);
        }
        // RFC 8474 §4.1. A trailing separator is not part of the name the store keeps.
        let id = self.store.mailbox_id(login, name.trim_end_matches(SEPARATOR))?;
        Ok(completion.with_code(objectid::mailbox_id_code(&id)))
    }

    /// `delete = "DELETE" SP mailbox`.
    pub(crate) fn delete(&mut self, command: &Command) -> Result<Completion, Refusal> {
        let name = one_mailbox(command)?;
        let login = self.authenticated()?;
        self.config
            .storage
            .check(login, &Operation::Delete { mailbox: &name })?;
        if self.config.defects.has(Defect::DeleteRemovesInferiors) {
            // Deepest first, so each is a leaf when it goes.
            let prefix = format!("{name}{SEPARATOR}");
            let mut inferiors: Vec<String> = self
                .store
                .list_mailboxes(login)?
                .into_iter()
                .map(|info| info.name)
                .filter(|n| n.starts_with(&prefix))
                .collect();
            inferiors.sort_by_key(|n| std::cmp::Reverse(n.len()));
            for inferior in inferiors {
                self.store.delete_mailbox(login, &inferior)?;
            }
        }
        self.store.delete_mailbox(login, &name)?;
        if self.config.defects.has(Defect::DeleteUnsubscribes) {
            self.store.unsubscribe(login, &name)?;
        }
        Ok(Completion::ok("DELETE completed"))
    }

    /// `rename = "RENAME" SP mailbox SP mailbox`.
    pub(crate) fn rename(&mut self, command: &Command) -> Result<Completion, Refusal> {
        let [from, to] = &command.args[..] else {
            return Err(SyntaxError::Arguments.into());
        };
        let (Some(from), Some(to)) = (from.astring(), to.astring()) else {
            return Err(SyntaxError::Arguments.into());
        };
        let login = self.authenticated()?;
        self.config
            .storage
            .check(login, &Operation::Rename { from: &from, to: &to })?;
        let defects = self.config.defects;
        if defects.has(Defect::RenameInboxBad) && from.eq_ignore_ascii_case("INBOX") {
            return Err(Refusal::bad("cannot rename INBOX"));
        }
        if defects.has(Defect::RenameOntoExisting) && from != to {
            // The target is replaced; it may not exist, which is fine here.
            let _replaced = self.store.delete_mailbox(login, &to);
        }
        self.store.rename_mailbox(login, &from, &to)?;
        Ok(Completion::ok("RENAME completed"))
    }

    /// `subscribe = "SUBSCRIBE" SP mailbox`, `unsubscribe = "UNSUBSCRIBE" SP mailbox`.
    pub(crate) fn subscribe(&mut self, command: &Command) -> Result<Completion, Refusal> {
        let name = one_mailbox(command)?;
        let login = self.authenticated()?;
        if command.verb == Verb::Subscribe {
            self.store.subscribe(login, &name)?;
        } else {
            self.store.unsubscribe(login, &name)?;
        }
        Ok(Completion::ok(format!("{} completed", command.verb)))
    }

    /// `select = "SELECT" SP mailbox [select-params]`; `examine` likewise, read-only.
    pub(crate) fn select(
        &mut self,
        command: &Command,
        read_only: bool,
        out: &mut Responses,
    ) -> Result<Completion, Refusal> {
        let (name, params) = match &command.args[..] {
            [name] => (name, SelectParams::default()),
            [name, Token::List(params)] => (name, SelectParams::parse(params)?),
            _ => return Err(SyntaxError::Arguments.into()),
        };
        let name = name.astring().ok_or(SyntaxError::Arguments)?;
        if params.qresync.is_some() {
            self.require_qresync()?;
        }
        // RFC 9051 §6.3.2: a failed SELECT leaves no mailbox selected.
        if self.selected.take().is_some() && (self.condstore == Condstore::Qresync || self.rev2) {
            // RFC 7162 §3.2.11, RFC 9051 §6.3.2: what follows is about the new mailbox.
            out.condition(DataKind::Ok, Some("CLOSED"), "Previous mailbox closed");
        }
        if params.condstore {
            self.enable_condstore(out)?;
        }
        let login = self.authenticated()?;
        let operation = Operation::Select {
            mailbox: &name,
            read_only,
        };
        self.config.storage.check(login, &operation)?;
        let mut watch = self.store.watch(login, &name)?;
        let snapshot = watch.snapshot()?;
        let (list, permanent) = flag_lists(&snapshot.keywords, read_only);
        let uids = SequenceMap::own(snapshot.messages.iter().map(|m| m.uid).collect());
        out.data(Data::Flags(&list));
        out.data(Data::Exists(uids.len()));
        // IMAP4rev1 only (RFC 9051 Appendix E): RECENT, and the UNSEEN response code.
        let every_session = self.config.defects.has(Defect::RecentToEverySession);
        let mut recent = (!self.rev2).then(|| Recent::new(!read_only, every_session));
        if let Some(recent) = &mut recent {
            recent.claim(&watch, &uids);
            out.data(Data::Recent(recent.count(&uids)));
            let unseen = snapshot
                .messages
                .iter()
                .position(|m| !m.flags.contains(&Flag::Seen));
            if let Some(unseen) = unseen {
                out.condition(
                    DataKind::Ok,
                    Some(&format!("UNSEEN {}", unseen + 1)),
                    "first unseen",
                );
            }
        }
        let uidvalidity = snapshot.uidvalidity;
        out.condition(
            DataKind::Ok,
            Some(&format!("UIDVALIDITY {uidvalidity}")),
            "UIDs valid",
        );
        let uidnext = self.uidnext(snapshot.uidnext);
        out.condition(
            DataKind::Ok,
            Some(&format!("UIDNEXT {uidnext}")),
            "predicted next UID",
        );
        out.condition(
            DataKind::Ok,
            Some(&format!("PERMANENTFLAGS {permanent}")),
            "limited",
        );
        if self.condstore != Condstore::Off {
            // RFC 7162 §3.1.2.1; never NOMODSEQ, since every mailbox has modseqs.
            let highest = snapshot.highestmodseq;
            out.condition(DataKind::Ok, Some(&format!("HIGHESTMODSEQ {highest}")), "Highest");
        }
        if self.config.extensions.objectid {
            // RFC 8474 §4.2: SELECT and EXAMINE say the mailbox's id.
            let id = self.store.mailbox_id(login, &watch.mailbox_name())?;
            out.condition(DataKind::Ok, Some(&objectid::mailbox_id_code(&id)), "Ok");
        }
        if self.rev2 {
            // RFC 9051 §6.3.2: "The server MUST return a LIST response with the mailbox name."
            let name = watch.mailbox_name();
            let special_use = self.config.extensions.special_use;
            let infos = self.store.list_mailboxes(login)?;
            if let Some(info) = infos.iter().find(|info| info.name == name) {
                list_line(out, info, special_use, false);
            }
        }
        if let Some(qresync) = params.qresync.filter(|q| q.uidvalidity == snapshot.uidvalidity) {
            resynchronize(out, &watch, &snapshot, &qresync);
        }
        if let Some(waker) = &self.waker {
            watch.set_waker(waker.0.clone());
        }
        let known = (uids, &snapshot.keywords[..]);
        let mut selected = Selected::new(watch, known, read_only, self.config.defects);
        selected.recent = recent;
        self.selected = Some(selected);
        Ok(
            if read_only && !self.config.defects.has(Defect::ExamineSaysReadWrite) {
                Completion::ok("EXAMINE completed").with_code("READ-ONLY")
            } else if read_only {
                Completion::ok("EXAMINE completed").with_code("READ-WRITE")
            } else {
                Completion::ok("SELECT completed").with_code("READ-WRITE")
            },
        )
    }

    /// CREATE's refusals under [`Defect::CreateTrailingSeparatorRefused`] and
    /// [`Defect::CreateNeedsSuperiors`]; a correct session refuses nothing here.
    fn create_defects(&self, login: &str, name: &str) -> Result<(), Refusal> {
        let defects = self.config.defects;
        if defects.has(Defect::CreateTrailingSeparatorRefused) && name.ends_with(SEPARATOR) {
            return Err(Refusal::no("invalid mailbox name").with_code("CANNOT"));
        }
        let superior = name.trim_end_matches(SEPARATOR).rsplit_once(SEPARATOR);
        if let (true, Some((superior, _))) = (defects.has(Defect::CreateNeedsSuperiors), superior) {
            let exists = self
                .store
                .list_mailboxes(login)?
                .iter()
                .any(|m| m.name == superior);
            if !exists {
                return Err(Refusal::no("superior mailbox does not exist").with_code("NONEXISTENT"));
            }
        }
        Ok(())
    }

    /// The UIDNEXT to report for a mailbox whose next UID is `uidnext`: one less under
    /// [`Defect::UidnextNotAdvanced`].
    fn uidnext(&self, uidnext: u32) -> u32 {
        if self.config.defects.has(Defect::UidnextNotAdvanced) {
            return uidnext.saturating_sub(1).max(1);
        }
        uidnext
    }

    /// `list = "LIST" SP mailbox SP list-mailbox` (RFC 3501), and in IMAP4rev2 `list =
    /// "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat [SP list-return-opts]` (RFC 9051
    /// §6.3.9, LIST-EXTENDED): `\Subscribed` only on request.
    pub(crate) fn list(&mut self, command: &Command, out: &mut Responses) -> Result<Completion, Refusal> {
        let extensions = &self.config.extensions;
        let options = if (self.rev2 || extensions.list_extended) && command.verb == Verb::List {
            ListOptions::parse(&command.args, extensions, self.rev2)?
        } else {
            ListOptions::basic(&command.args)?
        };
        let modseq = |items: &StatusItems| items.iter().any(|item| item == "HIGHESTMODSEQ");
        if options.status.as_ref().is_some_and(modseq) {
            // RFC 7162 §3.1: STATUS (HIGHESTMODSEQ) enables CONDSTORE, inside LIST too.
            self.enable_condstore(out)?;
        }
        if options.patterns.iter().all(String::is_empty) {
            let lsub = command.verb == Verb::Lsub;
            out.data(Data::List {
                lsub,
                attributes: &["\\Noselect"],
                name: b"",
                childinfo: false,
            });
            return Ok(Completion::ok(format!("{} completed", command.verb)));
        }
        let login = self.authenticated()?;
        // A mailbox matching several patterns is listed once (RFC 5258 §3).
        let patterns: Vec<String> = options
            .patterns
            .iter()
            .filter(|pattern| !pattern.is_empty())
            .map(|pattern| format!("{}{pattern}", options.reference))
            .collect();
        let end_only = self.config.defects.has(Defect::ListWildcardsAtEndOnly);
        let matching = |name: &str| {
            patterns.iter().any(|pattern| {
                if end_only {
                    return wildcards_at_end_only(pattern.as_bytes(), name.as_bytes());
                }
                wildcard_match(pattern.as_bytes(), name.as_bytes())
            })
        };
        if command.verb == Verb::Lsub {
            lsub(out, self.store.subscriptions(login)?, matching);
            return Ok(Completion::ok("LSUB completed"));
        }
        self.list_selected(out, options.selection, options.status.as_ref(), &matching)?;
        Ok(Completion::ok("LIST completed"))
    }

    /// `status = "STATUS" SP mailbox SP "(" status-att *(SP status-att) ")"`.
    pub(crate) fn status(&mut self, command: &Command, out: &mut Responses) -> Result<Completion, Refusal> {
        let [mailbox, Token::List(items)] = &command.args[..] else {
            return Err(SyntaxError::Arguments.into());
        };
        let name = mailbox.astring().ok_or(SyntaxError::Arguments)?;
        let highestmodseq =
            |item: &Token| matches!(item, Token::Atom(a) if a.eq_ignore_ascii_case("HIGHESTMODSEQ"));
        if items.iter().any(highestmodseq) {
            // RFC 7162 §3.1: a CONDSTORE-enabling command.
            self.enable_condstore(out)?;
        }
        let login = self.authenticated()?;
        let (parts, mailbox_id) = self.status_items(login, &name, items)?;
        let mailbox = name.as_bytes();
        out.data(Data::Status {
            mailbox,
            items: &parts,
            mailbox_id: mailbox_id.as_deref(),
        });
        Ok(Completion::ok("STATUS completed"))
    }

    /// The values of STATUS `items` for mailbox `name` (also LIST-STATUS's, RFC 5819): the
    /// numeric ones, and the mailbox's id if `MAILBOXID` was asked (RFC 8474 §4.3).
    pub(crate) fn status_items(
        &self,
        login: &str,
        name: &str,
        items: &[Token],
    ) -> Result<StatusValues, Refusal> {
        let status = self.store.status(login, name)?;
        let mut parts: Vec<(&str, u64)> = Vec::with_capacity(items.len());
        let mut mailbox_id = None;
        for item in items {
            let Token::Atom(item) = item else {
                return Err(SyntaxError::Arguments.into());
            };
            let (item, value) = match item.to_ascii_uppercase().as_str() {
                "MAILBOXID" if self.config.extensions.objectid => {
                    mailbox_id = Some(self.store.mailbox_id(login, name)?);
                    continue;
                }
                "MESSAGES" => ("MESSAGES", status.messages as u64),
                "UIDNEXT" => ("UIDNEXT", u64::from(self.uidnext(status.uidnext))),
                "UIDVALIDITY" => ("UIDVALIDITY", u64::from(status.uidvalidity)),
                "UNSEEN" => ("UNSEEN", status.unseen as u64),
                "DELETED" => ("DELETED", status.deleted as u64),
                "SIZE" => ("SIZE", status.size),
                "HIGHESTMODSEQ" => ("HIGHESTMODSEQ", status.highestmodseq),
                // RFC 7889 §4: the same limit as the capability's, for every mailbox.
                "APPENDLIMIT" if self.config.extensions.appendlimit => {
                    ("APPENDLIMIT", self.config.max_literal as u64)
                }
                // RFC 9051 Appendix E: IMAP4rev2 has no RECENT status item.
                "RECENT" if !self.rev2 => ("RECENT", status.recent as u64),
                item => return Err(Refusal::bad(format!("unknown STATUS item {item}"))),
            };
            parts.push((item, value));
        }
        Ok((parts, mailbox_id))
    }
}

/// STATUS's answer for one mailbox: the numeric items in the order asked, and the
/// `MAILBOXID` if asked (RFC 8474 §4.3).
pub(crate) type StatusValues = (Vec<(&'static str, u64)>, Option<String>);

/// SELECT's QRESYNC answer (RFC 7162 §3.2.5): `* VANISHED (EARLIER)` for the known UIDs
/// expunged since the client's modseq, then `FETCH (UID FLAGS MODSEQ)` for the messages
/// changed since then.
fn resynchronize(out: &mut Responses, watch: &Watch, snapshot: &Snapshot, qresync: &Qresync) {
    let live: Vec<u32> = snapshot.messages.iter().map(|m| m.uid).collect();
    // Expunges after the snapshot are reported by the feed, not here.
    let before = snapshot.uidnext.saturating_sub(1);
    let mut gone: Vec<(u32, u32)> = watch
        .expunged_since(qresync.modseq)
        .into_iter()
        .filter(|&(first, _)| first <= before)
        .map(|(first, last)| (first, last.min(before)))
        .collect();
    gone = condstore::subtract(&gone, &live);
    if let Some(known) = &qresync.known_uids {
        gone = condstore::intersect(&gone, known, u32::MAX);
    }
    condstore::vanished(out, true, &gone);
    for (i, message) in snapshot.messages.iter().enumerate() {
        let known = qresync
            .known_uids
            .as_ref()
            .is_none_or(|set| set.contains(message.uid, u32::MAX));
        if known && message.modseq > qresync.modseq {
            out.data(Data::Fetch {
                seq: i + 1,
                message,
                items: &[Item::Uid, Item::Flags, Item::Modseq],
                recent: None,
                defects: Defects::none(),
            });
        }
    }
}

/// The single `mailbox` argument of CREATE, DELETE, SUBSCRIBE, UNSUBSCRIBE.
fn one_mailbox(command: &Command) -> Result<String, Refusal> {
    match &command.args[..] {
        [name] => name.astring().ok_or_else(|| SyntaxError::Arguments.into()),
        _ => Err(SyntaxError::Arguments.into()),
    }
}

/// `flag-list` contents: system flags and keywords. `\Recent` cannot be set and is ignored
/// (RFC 3501 §2.3.2).
pub(crate) fn parse_flags(tokens: &[Token]) -> Result<Flags, Refusal> {
    let mut names = Vec::new();
    for token in tokens {
        match token {
            Token::Atom(name) if name.eq_ignore_ascii_case("\\Recent") => {}
            Token::Atom(name) => names.push(name.as_str()),
            _ => return Err(Refusal::bad("invalid flag")),
        }
    }
    Flags::parse(names).map_err(|e| Refusal::bad(e.to_string()))
}

/// What a LIST command asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct ListOptions {
    reference: String,
    patterns: Vec<String>,
    /// The selection options and `\Subscribed` (RFC 5258 §3).
    selection: Selection,
    /// `RETURN (STATUS (...))` (LIST-STATUS, RFC 5819).
    status: Option<StatusItems>,
}

impl ListOptions {
    /// `mailbox SP list-mailbox`.
    fn basic(args: &[Token]) -> Result<ListOptions, Refusal> {
        let [reference, pattern] = args else {
            return Err(SyntaxError::Arguments.into());
        };
        let (Some(reference), Some(pattern)) = (reference.astring(), pattern.list_mailbox()) else {
            return Err(SyntaxError::Arguments.into());
        };
        Ok(ListOptions {
            reference,
            patterns: vec![pattern],
            ..ListOptions::default()
        })
    }

    /// `[list-select-opts SP] mailbox SP mbox-or-pat [SP list-return-opts]`,
    /// `mbox-or-pat = list-mailbox / patterns`, `patterns = "(" list-mailbox *(SP
    /// list-mailbox) ")"` (RFC 5258 §6); `RETURN (STATUS (...))` only with `status` (LIST-STATUS).
    fn parse(mut args: &[Token], extensions: &Extensions, rev2: bool) -> Result<ListOptions, Refusal> {
        let mut options = ListOptions::default();
        let selection = &mut options.selection;
        if let [Token::List(select), rest @ ..] = args {
            for option in select {
                match atom(option)?.as_str() {
                    "SUBSCRIBED" => {
                        selection.subscribed_only = true;
                        selection.subscribed = true;
                    }
                    "SPECIAL-USE" => selection.special_use_only = true,
                    "RECURSIVEMATCH" => selection.recursive_match = true,
                    "REMOTE" => {}
                    other => return Err(Refusal::bad(format!("unsupported LIST option {other}"))),
                }
            }
            selection.check()?;
            args = rest;
        }
        if let [rest @ .., Token::Atom(word), Token::List(returns)] = args
            && word.eq_ignore_ascii_case("RETURN")
        {
            let mut returns = returns.iter();
            while let Some(option) = returns.next() {
                match atom(option)?.as_str() {
                    "SUBSCRIBED" => selection.subscribed = true,
                    "CHILDREN" | "SPECIAL-USE" => {}
                    "STATUS" if extensions.list_status => match returns.next() {
                        Some(Token::List(items)) => {
                            options.status = Some(status_option(items, rev2, extensions.appendlimit)?);
                        }
                        _ => return Err(SyntaxError::Arguments.into()),
                    },
                    other => return Err(Refusal::bad(format!("unsupported RETURN option {other}"))),
                }
            }
            args = rest;
        }
        let [reference, patterns] = args else {
            return Err(SyntaxError::Arguments.into());
        };
        options.reference = reference.astring().ok_or(SyntaxError::Arguments)?;
        options.patterns = match patterns {
            Token::List(items) if !items.is_empty() => items
                .iter()
                .map(Token::list_mailbox)
                .collect::<Option<Vec<String>>>()
                .ok_or(SyntaxError::Arguments)?,
            other => vec![other.list_mailbox().ok_or(SyntaxError::Arguments)?],
        };
        Ok(options)
    }
}

/// An option atom, upper-cased.
fn atom(token: &Token) -> Result<String, Refusal> {
    match token {
        Token::Atom(atom) => Ok(atom.to_ascii_uppercase()),
        _ => Err(SyntaxError::Arguments.into()),
    }
}

/// LSUB's answer (RFC 3501 §6.3.9; LSUB is deprecated in RFC 9051): the subscribed names
/// that match, and "if "foo/bar" is subscribed but "foo" is not, a "%" wildcard to LSUB must
/// return foo, not foo/bar [...] flagged with the \Noselect attribute": a name above a
/// subscribed one that does not match is listed, `\Noselect`, when it matches itself.
fn lsub(out: &mut Responses, subscriptions: Vec<String>, matching: impl Fn(&str) -> bool) {
    let subscribed: BTreeSet<&str> = subscriptions.iter().map(String::as_str).collect();
    let mut listed: BTreeMap<&str, bool> = BTreeMap::new();
    for &name in &subscribed {
        if matching(name) {
            listed.insert(name, false);
            continue;
        }
        let parents = name.match_indices(SEPARATOR).map(|(at, _)| &name[..at]);
        for parent in parents.filter(|parent| !subscribed.contains(parent) && matching(parent)) {
            listed.insert(parent, true);
        }
    }
    for (name, noselect) in listed {
        let attributes: &[&str] = if noselect { &["\\Noselect"] } else { &[] };
        out.data(Data::List {
            lsub: true,
            attributes,
            name: name.as_bytes(),
            childinfo: false,
        });
    }
}

/// `mailbox-list = "(" [mbx-list-flags] ")" SP (DQUOTE QUOTED-CHAR DQUOTE / nil) SP mailbox`.
fn list_line(out: &mut Responses, info: &MailboxInfo, special_use: bool, subscribed: bool) {
    let mut attributes = vec![if info.has_children {
        "\\HasChildren"
    } else {
        "\\HasNoChildren"
    }];
    if subscribed {
        attributes.push("\\Subscribed");
    }
    if let Some(attribute) = info.special_use.filter(|_| special_use) {
        attributes.push(attribute.as_str());
    }
    out.data(Data::List {
        lsub: false,
        attributes: &attributes,
        name: info.name.as_bytes(),
        childinfo: false,
    });
}

/// `list-wildcards = "%" / "*"`: `*` matches anything, `%` anything but the separator
/// (RFC 9051 §6.3.9). A leading `INBOX` matches in any case.
fn wildcard_match(pattern: &[u8], name: &[u8]) -> bool {
    let fold = |text: &[u8]| -> Vec<u8> {
        if text.len() >= 5 && text[..5].eq_ignore_ascii_case(b"INBOX") {
            let mut folded = b"INBOX".to_vec();
            folded.extend_from_slice(&text[5..]);
            folded
        } else {
            text.to_vec()
        }
    };
    matches(&fold(pattern), &fold(name))
}

/// [`Defect::ListWildcardsAtEndOnly`]: only the run of wildcards that ends the pattern is
/// one; every character before it, `*` and `%` included, must match literally.
fn wildcards_at_end_only(pattern: &[u8], name: &[u8]) -> bool {
    let cut = pattern
        .iter()
        .rposition(|&c| c != b'*' && c != b'%')
        .map_or(0, |i| i + 1);
    let (head, tail) = pattern.split_at(cut);
    name.starts_with(head) && matches(tail, &name[head.len()..])
}

/// Wildcard matching by dynamic programming over name prefixes: O(pattern × name), so a
/// hostile pattern cannot make it backtrack exponentially.
fn matches(pattern: &[u8], name: &[u8]) -> bool {
    let mut reach = vec![false; name.len() + 1];
    reach[0] = true;
    for &c in pattern {
        let mut next = vec![false; name.len() + 1];
        let mut on = false;
        for j in 0..=name.len() {
            match c {
                b'*' | b'%' => {
                    on |= reach[j];
                    next[j] = on;
                    if c == b'%' && name.get(j) == Some(&b'/') {
                        on = false;
                    }
                }
                _ => {
                    if j < name.len() {
                        next[j + 1] = reach[j] && name[j] == c;
                    }
                }
            }
        }
        reach = next;
    }
    reach[name.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard_match(b"*", b"a/b"));
        assert!(!wildcard_match(b"%", b"a/b"));
        assert!(wildcard_match(b"a/%", b"a/b"));
        assert!(wildcard_match(b"inbox", b"INBOX"));
        assert!(!wildcard_match(b"x*", b"INBOX"));
    }
}
