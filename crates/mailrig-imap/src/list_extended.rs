//! LIST-EXTENDED (RFC 5258) and LIST-STATUS (RFC 5819): which names an extended LIST returns
//! and what it says about each. Offered in IMAP4rev1 with their capabilities and always in
//! IMAP4rev2 (RFC 9051 §6.3.9, which includes both); the switches win, as everywhere.
//!
//! Read first: RFC 5258 §3 (selection options; RECURSIVEMATCH "MUST NOT occur as the only
//! selection option (or only with REMOTE)"), §3.4 (`\NonExistent`, which implies
//! `\Noselect`), §3.5 and §4 (CHILDINFO: a name that matches the pattern is returned with
//! `("CHILDINFO" ("SUBSCRIBED"))` when one of its descendants is subscribed but does not match
//! the pattern itself, whether or not the name is subscribed or exists), RFC 5819 §2 (a
//! `* STATUS` after the LIST line of each selectable mailbox).

use std::collections::{BTreeMap, BTreeSet};

use mailrig_store::{MailboxInfo, SEPARATOR};

use crate::command::Token;
use crate::completion::Refusal;
use crate::data::Data;
use crate::error::SyntaxError;
use crate::response::Responses;
use crate::session::Session;

/// The STATUS items LIST-STATUS accepts (RFC 5819 §2: those of STATUS; `RECENT` only in
/// IMAP4rev1, as in STATUS).
pub(crate) type StatusItems = Vec<String>;

/// What to return for one name.
#[derive(Debug, Default)]
struct Entry {
    /// The mailbox, `None` if the name does not exist (`\NonExistent`).
    info: Option<MailboxInfo>,
    subscribed: bool,
    /// A descendant is subscribed but does not match the pattern (RFC 5258 §4).
    childinfo: bool,
}

/// What an extended LIST selects and returns (built by `mailbox.rs`'s option parser).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Selection {
    /// `SUBSCRIBED`: only subscribed names, existing or not.
    pub(crate) subscribed_only: bool,
    /// `SPECIAL-USE` (RFC 6154 §3): only special-use mailboxes.
    pub(crate) special_use_only: bool,
    /// `RECURSIVEMATCH`: parents of what the other options select get CHILDINFO.
    pub(crate) recursive_match: bool,
    /// `\Subscribed` is returned (`RETURN (SUBSCRIBED)` or the SUBSCRIBED selection).
    pub(crate) subscribed: bool,
}

impl Selection {
    /// RFC 5258 §3: RECURSIVEMATCH needs another selection option it can modify (REMOTE
    /// does not count; SPECIAL-USE has no CHILDINFO here, so only SUBSCRIBED does).
    pub(crate) fn check(self) -> Result<(), Refusal> {
        if self.recursive_match && !self.subscribed_only && !self.special_use_only {
            return Err(Refusal::bad(
                "RECURSIVEMATCH must not be the only selection option",
            ));
        }
        Ok(())
    }
}

impl Session {
    /// Writes the LIST lines for every name `matching` accepts under `selection`, each
    /// followed by its `* STATUS` when `status` asks for items (LIST-STATUS).
    pub(crate) fn list_selected(
        &mut self,
        out: &mut Responses,
        selection: Selection,
        status: Option<&StatusItems>,
        matching: &dyn Fn(&str) -> bool,
    ) -> Result<(), Refusal> {
        let login = self.authenticated()?.to_owned();
        let subscriptions: BTreeSet<String> = self.store.subscriptions(&login)?.into_iter().collect();
        let mut names: Vec<String> = Vec::new();
        let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
        for info in self.store.list_mailboxes(&login)? {
            let name = info.name.clone();
            let entry = Entry {
                subscribed: subscriptions.contains(&name),
                info: Some(info),
                childinfo: false,
            };
            names.push(name.clone());
            entries.insert(name, entry);
        }
        if selection.subscribed_only {
            for name in &subscriptions {
                entries.entry(name.clone()).or_insert_with(|| {
                    names.push(name.clone());
                    Entry {
                        subscribed: true,
                        ..Entry::default()
                    }
                });
            }
        }
        if selection.recursive_match && selection.subscribed_only {
            for parent in childinfo_parents(&subscriptions, matching) {
                let entry = entries.entry(parent.clone()).or_insert_with(|| {
                    names.push(parent.clone());
                    Entry::default()
                });
                entry.childinfo = true;
            }
        }
        let special_use = self.config.extensions.special_use;
        for name in names {
            let Some(entry) = entries.get(&name) else {
                continue;
            };
            let special = entry.info.as_ref().is_some_and(|i| i.special_use.is_some());
            let selected = matching(&name)
                && (!selection.subscribed_only || entry.subscribed)
                && (!selection.special_use_only || special);
            if !selected && !entry.childinfo {
                continue;
            }
            list_line(out, &name, entry, special_use, selection.subscribed);
            if let (Some(items), Some(_)) = (status, &entry.info) {
                self.list_status(out, &login, &name, items);
            }
        }
        Ok(())
    }

    /// RFC 5819 §2: the STATUS response for a listed mailbox. One that cannot be read now
    /// (deleted meanwhile) gets none: "the server SHOULD NOT return an untagged STATUS".
    fn list_status(&self, out: &mut Responses, login: &str, name: &str, items: &StatusItems) {
        let tokens: Vec<Token> = items.iter().cloned().map(Token::Atom).collect();
        if let Ok((parts, mailbox_id)) = self.status_items(login, name, &tokens) {
            out.data(Data::Status {
                mailbox: name.as_bytes(),
                items: &parts,
                mailbox_id: mailbox_id.as_deref(),
            });
        }
    }
}

/// The `status-att` names STATUS answers (RFC 9051 §6.3.11, RFC 7162 §3.1.2.2 HIGHESTMODSEQ;
/// RECENT only in IMAP4rev1; APPENDLIMIT, RFC 7889 §4, only with its extension).
const STATUS_ITEMS: [&str; 9] = [
    "MESSAGES",
    "UIDNEXT",
    "UIDVALIDITY",
    "UNSEEN",
    "DELETED",
    "SIZE",
    "HIGHESTMODSEQ",
    "RECENT",
    "APPENDLIMIT",
];

/// `return-option = "STATUS" SP "(" status-att *(SP status-att) ")"` (RFC 5819 §4): the item
/// names, upper-cased and checked here, so a bad one is `BAD` before any LIST line.
pub(crate) fn status_option(items: &[Token], rev2: bool, appendlimit: bool) -> Result<StatusItems, Refusal> {
    if items.is_empty() {
        return Err(SyntaxError::Arguments.into());
    }
    let known = |item: &str| {
        STATUS_ITEMS.contains(&item) && !(rev2 && item == "RECENT") && (appendlimit || item != "APPENDLIMIT")
    };
    items
        .iter()
        .map(|item| match item {
            Token::Atom(item) if known(&item.to_ascii_uppercase()) => Ok(item.to_ascii_uppercase()),
            Token::Atom(item) => Err(Refusal::bad(format!("unknown STATUS item {item}"))),
            _ => Err(SyntaxError::Arguments.into()),
        })
        .collect()
}

/// The names that get CHILDINFO ("SUBSCRIBED"): every ancestor of a subscribed name that
/// matches the pattern while the subscribed name itself does not (RFC 5258 §4).
fn childinfo_parents(subscriptions: &BTreeSet<String>, matching: &dyn Fn(&str) -> bool) -> BTreeSet<String> {
    let mut parents = BTreeSet::new();
    for name in subscriptions.iter().filter(|name| !matching(name)) {
        let ancestors = name.match_indices(SEPARATOR).map(|(at, _)| &name[..at]);
        for ancestor in ancestors.filter(|a| !a.is_empty() && matching(a)) {
            parents.insert(ancestor.to_owned());
        }
    }
    parents
}

/// `mailbox-list` with RFC 5258's attributes: `\NonExistent` (which implies `\Noselect`,
/// §3.4) for a name that is not a mailbox, else `\HasChildren`/`\HasNoChildren` (RFC 3348),
/// `\Subscribed` when asked for, and the special-use attribute (RFC 6154).
fn list_line(out: &mut Responses, name: &str, entry: &Entry, special_use: bool, subscribed: bool) {
    let mut attributes = Vec::new();
    match &entry.info {
        None => attributes.push("\\NonExistent"),
        Some(info) if info.has_children => attributes.push("\\HasChildren"),
        Some(_) => attributes.push("\\HasNoChildren"),
    }
    if subscribed && entry.subscribed {
        attributes.push("\\Subscribed");
    }
    let special = entry.info.as_ref().and_then(|info| info.special_use);
    if let Some(attribute) = special.filter(|_| special_use) {
        attributes.push(attribute.as_str());
    }
    out.data(Data::List {
        lsub: false,
        attributes: &attributes,
        name: name.as_bytes(),
        childinfo: entry.childinfo,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 5258 §4: with `%`, `Foo` gets CHILDINFO for the subscribed `Foo/Bar` it stops
    /// at; with `*`, `Foo/Bar` matches itself and nobody gets it.
    #[test]
    fn childinfo_goes_to_matching_ancestors_of_unmatched_subscriptions() {
        let subscriptions: BTreeSet<String> = ["Foo/Bar/Baz", "Moo"].map(String::from).into();
        let percent = |name: &str| !name.contains('/');
        let parents = childinfo_parents(&subscriptions, &percent);
        assert_eq!(parents, BTreeSet::from(["Foo".to_owned()]));
        let star = |_: &str| true;
        assert!(childinfo_parents(&subscriptions, &star).is_empty());
        let second_level = |name: &str| name.matches('/').count() == 1;
        let parents = childinfo_parents(&subscriptions, &second_level);
        assert_eq!(parents, BTreeSet::from(["Foo/Bar".to_owned()]));
    }
}
