//! NOTIFY (RFC 5465): which events the client asked for, and the unsolicited responses that
//! report them.
//!
//! Read first: RFC 5465 §3.1 (the command, `SET STATUS`, BADEVENT), §5 (event types and the
//! rules that tie them together), §5.2–§5.5 (what each event sends), §6 (mailbox
//! specifiers), §8 (syntax).
//!
//! Events in mailboxes other than the selected one come from the store's account journal
//! (`Store::watch_account`), which the session polls at the points where it reports the
//! selected mailbox's changes: before each tagged completion and while IDLE pushes. Each
//! event is judged by the first event group whose mailbox specifier matches its mailbox (so
//! `(mailboxes Trash NONE)` before `(personal ...)` leaves Trash out). Message events send
//! one `STATUS` per mailbox per batch, with the counts at that moment. The selected mailbox
//! keeps IMAP's own updates (EXISTS, EXPUNGE, FETCH); a `selected` group with message events
//! lets EXPUNGE go out after FETCH, STORE and SEARCH too (§5.3, where `selected-delayed` keeps
//! RFC 9051 §7.5.1's rule), and MessageNew's fetch attributes add a FETCH for each new
//! message (§5.2), except those the session's own APPEND, COPY or MOVE added (`Selected`'s
//! `own_arrivals`).
//!
//! Events the session caused itself are left out (§5: "The server SHOULD omit notifying the
//! client if the event is caused by this client"): the session works through its own store
//! handle ([`Store::actor`](mailrig_store::Store::actor)), and its journal watch skips what
//! that handle did. RENAME INBOX is an extended LIST of the new name with `OLDNAME
//! ("INBOX")` and nothing for INBOX's name (§5.4), then STATUS of both mailboxes. A session
//! further behind than the journal keeps (the store's change-log limit) gets `* OK
//! [NOTIFICATIONOVERFLOW]` and no more notifications, as after NOTIFY NONE (§5.8).
//!
//! Not done: metadata and annotation events are refused with `BADEVENT` (mailrig has no
//! METADATA or ANNOTATE).

use std::collections::HashMap;

use mailrig_store::{AccountChange, AccountWatch, INBOX, MailboxInfo, MessageEvents, SEPARATOR};

use crate::command::{Command, Token};
use crate::completion::{Completion, Refusal};
use crate::condstore::Condstore;
use crate::data::{Data, DataKind};
use crate::defect::Defect;
use crate::error::SyntaxError;
use crate::fetch::{Item, fetch_items};
use crate::response::Responses;
use crate::session::Session;

/// The events this server can report, as `BADEVENT` lists them (RFC 5465 §3.1).
const SUPPORTED: &str = "BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)";

/// A session's NOTIFY state after `NOTIFY SET`.
#[derive(Debug)]
pub(crate) struct Notify {
    watch: AccountWatch,
    /// The groups for mailboxes other than the selected one, in the command's order.
    groups: Vec<Group>,
    /// The `selected` or `selected-delayed` group, if any.
    selected: Option<SelectedGroup>,
}

/// `event-group = "(" filter-mailboxes SP events ")"` for other mailboxes.
#[derive(Debug)]
struct Group {
    filter: Filter,
    events: Events,
}

/// The `selected` / `selected-delayed` group (RFC 5465 §6.1).
#[derive(Debug)]
struct SelectedGroup {
    delayed: bool,
    events: Events,
    /// MessageNew's fetch attributes.
    fetch: Vec<Item>,
}

/// `filter-mailboxes-other` (RFC 5465 §6.2–§6.6).
#[derive(Debug)]
enum Filter {
    Inboxes,
    Personal,
    Subscribed,
    Subtree(Vec<String>),
    Mailboxes(Vec<String>),
}

/// The events of one group; MessageNew and MessageExpunge come together (§5).
#[derive(Debug, Default, Clone, Copy)]
struct Events {
    messages: bool,
    flags: bool,
    names: bool,
    subscriptions: bool,
}

impl Session {
    /// `notify = "NOTIFY" SP (notify-set / notify-none)`, `notify-set = "SET"
    /// [status-indicator] SP event-groups` (RFC 5465 §8).
    pub(crate) fn notify_command(
        &mut self,
        command: &Command,
        out: &mut Responses,
    ) -> Result<Completion, Refusal> {
        let login = self.authenticated()?.to_owned();
        let rest = match &command.args[..] {
            [Token::Atom(none)] if none.eq_ignore_ascii_case("NONE") => {
                self.notify = None;
                return Ok(Completion::ok("NOTIFY completed"));
            }
            [Token::Atom(set), rest @ ..] if set.eq_ignore_ascii_case("SET") => rest,
            _ => return Err(SyntaxError::Arguments.into()),
        };
        let (status, groups) = match rest {
            [Token::Atom(status), groups @ ..] if status.eq_ignore_ascii_case("STATUS") => (true, groups),
            groups => (false, groups),
        };
        if groups.is_empty() {
            return Err(SyntaxError::Arguments.into());
        }
        let (groups, selected) = parse_groups(groups)?;
        let watch = self.store.watch_account(&login)?;
        if let Some(waker) = &self.waker {
            watch.set_waker(waker.0.clone());
        }
        // Boxed: most sessions never ask, and every idle connection holds a `Session`.
        self.notify = Some(Box::new(Notify {
            watch,
            groups,
            selected,
        }));
        if status {
            self.status_all(&login, out)?;
        }
        Ok(Completion::ok("NOTIFY completed"))
    }

    /// `SET STATUS`: a STATUS for every existing mailbox with message events, now (§3.1).
    fn status_all(&self, login: &str, out: &mut Responses) -> Result<(), Refusal> {
        for info in self.store.list_mailboxes(login)? {
            if self.notify_events(login, &info.name).messages {
                self.notify_status(login, &info.name, out);
            }
        }
        Ok(())
    }

    /// Whether EXPUNGE may go out after any command (a `selected` group with message
    /// events, RFC 5465 §5.3), not only where RFC 9051 §7.5.1 allows it.
    pub(crate) fn expunges_anytime(&self) -> bool {
        let selected = self.notify.as_ref().and_then(|n| n.selected.as_ref());
        selected.is_some_and(|s| !s.delayed && s.events.messages)
    }

    /// Installs the driver's waker on the account journal's watch too.
    pub(crate) fn set_notify_waker(&self, waker: &std::sync::Arc<dyn Fn() + Send + Sync>) {
        if let Some(notify) = &self.notify {
            notify.watch.set_waker(waker.clone());
        }
    }

    /// Whether the account journal has events this session has not reported.
    pub(crate) fn has_notify_updates(&self) -> bool {
        self.notify.as_ref().is_some_and(|n| n.watch.has_changes())
    }

    /// The last UID the client knows in the selected mailbox (for [`Session::fetch_new`]).
    pub(crate) fn last_known_uid(&self) -> Option<u32> {
        let selected = self.selected.as_ref()?;
        Some(selected.uids().last().copied().unwrap_or(0))
    }

    /// MessageNew's fetch attributes: a FETCH for each message the client learnt of since
    /// it knew UIDs up to `before`, except those its own APPEND, COPY or MOVE added (RFC 5465
    /// §5.2: "A FETCH response SHOULD NOT be generated for a new message created by the
    /// client on this particular connection").
    pub(crate) fn fetch_new(&mut self, out: &mut Responses, before: Option<u32>) {
        // The client knows every UID now, its own arrivals included: forget them.
        let mut own = self
            .selected
            .as_mut()
            .map(|s| std::mem::take(&mut s.own_arrivals))
            .unwrap_or_default();
        own.sort_unstable();
        let Some(before) = before else {
            return;
        };
        let items = match self.notify.as_ref().and_then(|n| n.selected.as_ref()) {
            Some(group) if group.events.messages && !group.fetch.is_empty() => group.fetch.clone(),
            _ => return,
        };
        let (Some(login), Some(selected)) = (self.login.clone(), self.selected.as_mut()) else {
            return;
        };
        let known = selected.uids();
        let new: Vec<u32> = known[known.partition_point(|&uid| uid <= before)..]
            .iter()
            .copied()
            .filter(|uid| own.binary_search(uid).is_err())
            .collect();
        if new.is_empty() {
            return;
        }
        let name = selected.watch.mailbox_name();
        let Ok(messages) = self.store.messages_with_uids(&login, &name, &new) else {
            return;
        };
        for message in &messages {
            if let Ok(position) = selected.uids().binary_search(&message.uid) {
                selected.report(out, position, message, &items, self.condstore);
            }
        }
    }

    /// Reports the account journal's events for other mailboxes (RFC 5465 §5): STATUS for
    /// message events, LIST for mailbox names and subscriptions.
    pub(crate) fn push_events(&mut self, out: &mut Responses) {
        let Some(notify) = self.notify.as_mut() else {
            return;
        };
        let Some(login) = self.login.clone() else {
            return;
        };
        let changes = notify.watch.poll();
        if changes.contains(&AccountChange::Resync) {
            // RFC 5465 §5.8: too much to report; behave as after NOTIFY NONE.
            self.notify = None;
            out.condition(DataKind::Ok, Some("NOTIFICATIONOVERFLOW"), "notifications off");
            return;
        }
        // One STATUS per mailbox: at its last event of the batch, for all its events together
        // (an arrival followed by a flag change still reports the arrival).
        let mut batched: HashMap<&str, (usize, MessageEvents)> = HashMap::new();
        for (i, change) in changes.iter().enumerate() {
            if let AccountChange::Messages { mailbox, events } = change {
                let (last, all) = batched.entry(mailbox).or_default();
                *last = i;
                all.arrived |= events.arrived;
                all.expunged |= events.expunged;
                all.flags |= events.flags;
            }
        }
        for (i, change) in changes.iter().enumerate() {
            match change {
                AccountChange::Messages { mailbox, .. } => {
                    if let Some(&(last, events)) = batched.get(mailbox.as_str())
                        && last == i
                        && self.wants_messages(&login, mailbox, events)
                    {
                        self.notify_status(&login, mailbox, out);
                    }
                }
                AccountChange::Created { name } if self.notify_events(&login, name).names => {
                    self.notify_list(&login, name, out);
                }
                AccountChange::Deleted { name } if self.notify_events(&login, name).names => {
                    list(out, &["\\NonExistent"], name);
                }
                AccountChange::Renamed { from, to } => {
                    let names =
                        self.notify_events(&login, from).names || self.notify_events(&login, to).names;
                    if names {
                        self.notify_renamed(&login, from, to, out);
                    }
                }
                AccountChange::Subscription { name, .. }
                    if self.notify_events(&login, name).subscriptions =>
                {
                    self.notify_list(&login, name, out);
                }
                _ => {}
            }
        }
    }

    /// Whether message `events` in `mailbox` are reported (never for the selected mailbox,
    /// which IMAP's own updates cover).
    fn wants_messages(&self, login: &str, mailbox: &str, events: MessageEvents) -> bool {
        let selected = self.selected.as_ref().map(|s| s.watch.mailbox_name());
        if selected.as_deref() == Some(mailbox) {
            return false;
        }
        let wanted = self.notify_events(login, mailbox);
        (wanted.messages && (events.arrived || events.expunged)) || (wanted.flags && events.flags)
    }

    /// The events the first group matching `name` asks for (none if no group matches).
    fn notify_events(&self, login: &str, name: &str) -> Events {
        let Some(notify) = &self.notify else {
            return Events::default();
        };
        let subscribed = || self.store.subscriptions(login).unwrap_or_default();
        notify
            .groups
            .iter()
            .find(|group| group.filter.matches(name, subscribed))
            .map(|group| group.events)
            .unwrap_or_default()
    }

    /// `* STATUS name (MESSAGES UIDNEXT UIDVALIDITY UNSEEN [HIGHESTMODSEQ])` (RFC 5465
    /// §5.1–§5.3; HIGHESTMODSEQ once CONDSTORE is enabled). Nothing if it is gone.
    fn notify_status(&self, login: &str, name: &str, out: &mut Responses) {
        let mut items: Vec<Token> = ["MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN"]
            .into_iter()
            .filter(|item| {
                *item != "UIDVALIDITY" || !self.config.defects.has(Defect::NotifyStatusWithoutUidvalidity)
            })
            .map(|item| Token::Atom(item.into()))
            .collect();
        if self.condstore != Condstore::Off {
            items.push(Token::Atom("HIGHESTMODSEQ".into()));
        }
        if let Ok((parts, _)) = self.status_items(login, name, &items) {
            out.data(Data::Status {
                mailbox: name.as_bytes(),
                items: &parts,
                mailbox_id: None,
            });
        }
    }

    /// `* LIST (attributes) "/" name` as the mailbox is now (RFC 5465 §5.4, §5.5):
    /// `\NonExistent` if it does not exist, `\Subscribed` if the name is subscribed.
    fn notify_list(&self, login: &str, name: &str, out: &mut Responses) {
        list(out, &self.attributes(login, name), name);
    }

    /// The extended LIST of a renamed mailbox, with `OLDNAME` (RFC 5465 §5.4).
    fn notify_renamed(&self, login: &str, from: &str, to: &str, out: &mut Responses) {
        let attributes = self.attributes(login, to);
        out.data(Data::Renamed {
            attributes: &attributes,
            name: to.as_bytes(),
            oldname: from.as_bytes(),
        });
    }

    fn attributes(&self, login: &str, name: &str) -> Vec<&'static str> {
        let mailboxes = self.store.list_mailboxes(login).unwrap_or_default();
        let subscribed = self
            .store
            .subscriptions(login)
            .unwrap_or_default()
            .iter()
            .any(|s| s == name);
        let info: Option<&MailboxInfo> = mailboxes.iter().find(|info| info.name == name);
        let mut attributes = match info {
            None => vec!["\\NonExistent"],
            Some(info) if info.has_children => vec!["\\HasChildren"],
            Some(_) => vec!["\\HasNoChildren"],
        };
        if subscribed {
            attributes.push("\\Subscribed");
        }
        attributes
    }
}

impl Filter {
    /// Whether mailbox `name` is one of this specifier's (RFC 5465 §6); mailrig delivers
    /// only to INBOX, so `inboxes` is INBOX.
    fn matches(&self, name: &str, subscribed: impl FnOnce() -> Vec<String>) -> bool {
        match self {
            Filter::Inboxes => name == INBOX,
            Filter::Personal => true,
            Filter::Subscribed => subscribed().iter().any(|s| s == name),
            Filter::Subtree(roots) => roots.iter().any(|root| {
                name == root
                    || name
                        .strip_prefix(root.as_str())
                        .is_some_and(|rest| rest.starts_with(SEPARATOR))
            }),
            Filter::Mailboxes(names) => names.iter().any(|n| n == name),
        }
    }
}

/// `* LIST (attributes) "/" name`.
fn list(out: &mut Responses, attributes: &[&str], name: &str) {
    out.data(Data::List {
        lsub: false,
        attributes,
        name: name.as_bytes(),
        childinfo: false,
    });
}

/// The event groups: those for other mailboxes, and the selected one. Syntax errors and
/// broken rules are `BAD`; unsupported events `NO [BADEVENT ...]` (RFC 5465 §3.1, §5, §6.1).
fn parse_groups(tokens: &[Token]) -> Result<(Vec<Group>, Option<SelectedGroup>), Refusal> {
    let mut groups = Vec::new();
    let mut selected = None;
    let mut unsupported = false;
    for token in tokens {
        let Token::List(group) = token else {
            return Err(SyntaxError::Arguments.into());
        };
        let (filter, events) = match &group[..] {
            [Token::Atom(word), events] => (word.to_ascii_lowercase(), events),
            [Token::Atom(word), names, events] => {
                let names = mailbox_names(names)?;
                let filter = match word.to_ascii_lowercase().as_str() {
                    "subtree" => Filter::Subtree(names),
                    "mailboxes" => Filter::Mailboxes(names),
                    _ => return Err(SyntaxError::Arguments.into()),
                };
                let (events, fetch, bad) = parse_events(events)?;
                check_fetch(&fetch)?;
                unsupported |= bad;
                groups.push(Group { filter, events });
                continue;
            }
            _ => return Err(SyntaxError::Arguments.into()),
        };
        let (parsed, fetch, bad) = parse_events(events)?;
        unsupported |= bad;
        let filter = match filter.as_str() {
            "selected" | "selected-delayed" => {
                if selected.is_some() {
                    return Err(Refusal::bad("only one of selected and selected-delayed"));
                }
                if parsed.names || parsed.subscriptions {
                    return Err(Refusal::bad("only message events for the selected mailbox"));
                }
                let delayed = filter == "selected-delayed";
                selected = Some(SelectedGroup {
                    delayed,
                    events: parsed,
                    fetch,
                });
                continue;
            }
            "inboxes" => Filter::Inboxes,
            "personal" => Filter::Personal,
            "subscribed" => Filter::Subscribed,
            _ => return Err(SyntaxError::Arguments.into()),
        };
        check_fetch(&fetch)?;
        groups.push(Group {
            filter,
            events: parsed,
        });
    }
    if unsupported {
        return Err(Refusal::no("unsupported NOTIFY event").with_code(SUPPORTED));
    }
    Ok((groups, selected))
}

/// MessageNew's fetch attributes only for the selected mailbox (RFC 5465 §5.2: they
/// describe the FETCH sent for new messages there).
fn check_fetch(fetch: &[Item]) -> Result<(), Refusal> {
    if !fetch.is_empty() {
        return Err(Refusal::bad(
            "MessageNew fetch attributes only for the selected mailbox",
        ));
    }
    Ok(())
}

/// `one-or-more-mailbox = mailbox / many-mailboxes`, `many-mailboxes = "(" mailbox *(SP
/// mailbox) ")"`. No wildcard expansion (§6.6); INBOX in any case is INBOX.
fn mailbox_names(token: &Token) -> Result<Vec<String>, Refusal> {
    let tokens: Vec<&Token> = match token {
        Token::List(names) if !names.is_empty() => names.iter().collect(),
        Token::List(_) => return Err(SyntaxError::Arguments.into()),
        name => vec![name],
    };
    tokens
        .into_iter()
        .map(|name| {
            let name = name.list_mailbox().ok_or(SyntaxError::Arguments)?;
            Ok(if name.eq_ignore_ascii_case(INBOX) {
                INBOX.to_owned()
            } else {
                name
            })
        })
        .collect()
}

/// `events = ( "(" event *(SP event) ")" ) / "NONE"`; returns the events, MessageNew's
/// fetch attributes, and whether an unsupported event was named. `BAD` for MessageNew
/// without MessageExpunge (or the reverse), FlagChange without both (§5), an empty list.
fn parse_events(token: &Token) -> Result<(Events, Vec<Item>, bool), Refusal> {
    let list = match token {
        Token::Atom(none) if none.eq_ignore_ascii_case("NONE") => {
            return Ok((Events::default(), Vec::new(), false));
        }
        Token::List(list) if !list.is_empty() => list,
        _ => return Err(SyntaxError::Arguments.into()),
    };
    let (mut new, mut expunge, mut annotation) = (false, false, false);
    let mut events = Events::default();
    let mut fetch = Vec::new();
    let mut unsupported = false;
    let mut tokens = list.iter().peekable();
    while let Some(token) = tokens.next() {
        let Token::Atom(name) = token else {
            return Err(SyntaxError::Arguments.into());
        };
        match name.to_ascii_lowercase().as_str() {
            "messagenew" => {
                new = true;
                if let Some(Token::List(_)) = tokens.peek() {
                    let atts = tokens.next().ok_or(SyntaxError::Arguments)?;
                    fetch = fetch_items(atts)?;
                }
            }
            "messageexpunge" => expunge = true,
            "flagchange" => events.flags = true,
            "mailboxname" => events.names = true,
            "subscriptionchange" => events.subscriptions = true,
            "annotationchange" => {
                annotation = true;
                unsupported = true;
            }
            // RFC 5465 §5.6, §5.7: only with METADATA; `event-ext = atom`.
            _ => unsupported = true,
        }
    }
    if new != expunge {
        return Err(Refusal::bad("MessageNew and MessageExpunge go together"));
    }
    if (events.flags || annotation) && !new {
        return Err(Refusal::bad("FlagChange needs MessageNew and MessageExpunge"));
    }
    events.messages = new;
    Ok((events, fetch, unsupported))
}
