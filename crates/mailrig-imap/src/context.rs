//! CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 §4): the searches a client asked to keep
//! updated (`RETURN (UPDATE)`), the `ADDTO` and `REMOVEFROM` results that follow the selected
//! mailbox's changes, and CANCELUPDATE. PARTIAL and the RETURN options are in `search.rs`.
//!
//! Read first: RFC 5267 §4.3 (a kept search is named by its command's tag; reusing the tag
//! of one is `BAD`; updates end when the mailbox is no longer selected), §4.3.1 (`* NO
//! [NOUPDATE "tag"]` beyond a limit), §4.3.2 (results stay in the requested order; a
//! REMOVEFROM for an expunged message goes before its EXPUNGE, an ADDTO for a new one after
//! its EXISTS), §4.3.3 and §4.3.4 (context positions: 0 for SEARCH, the position in sort
//! order for SORT), §4.3.5 (CANCELUPDATE).
//!
//! The kept searches live in the selection ([`Selected`](crate::selected::Selected)), so a
//! new SELECT, CLOSE or UNSELECT ends them. Results are kept as UIDs in the requested order
//! and written as sequence numbers for SEARCH and SORT, at the client's current numbering.
//! They are compared with a fresh evaluation whenever the session reports the mailbox's
//! changes (after each command and while it IDLEs), and an expunged message is taken out
//! the moment its EXPUNGE (or VANISHED) is written, just before it.

use std::collections::HashSet;

use mailrig_store::Message;

use crate::command::{Command, Token};
use crate::completion::{Completion, Refusal};
use crate::data::{Data, DataKind, Esearch, ResultUpdate};
use crate::defect::{Defect, Defects};
use crate::error::SyntaxError;
use crate::recent::Recent;
use crate::response::Responses;
use crate::search::Program;
use crate::session::Session;
use crate::sort::{Criterion, sorted_uids};

/// How many searches one selection keeps updated; the next UPDATE gets `* NO [NOUPDATE]`
/// (RFC 5267 §4.3.1: at least one, and more SHOULD be offered).
pub(crate) const MAX_KEPT: usize = 8;

/// A selection's kept searches.
#[derive(Debug, Default)]
pub(crate) struct Contexts {
    kept: Vec<Kept>,
    /// Whether the mailbox changed since the results were last compared.
    pub(crate) stale: bool,
}

/// One search kept updated.
#[derive(Debug)]
struct Kept {
    /// The searching command's tag, its correlator in every update.
    tag: String,
    /// UID SEARCH or UID SORT: results are UIDs, else sequence numbers.
    uid: bool,
    /// The search program, message sequence numbers frozen to the messages they named.
    program: Program,
    /// The sort criteria of a SORT; `None` for SEARCH (mailbox order, position 0).
    sort: Option<Vec<Criterion>>,
    /// The results as the client was last told, UIDs in the requested order.
    results: Vec<u32>,
}

impl Contexts {
    fn has(&self, tag: &str) -> bool {
        self.kept.iter().any(|kept| kept.tag == tag)
    }

    /// Writes `REMOVEFROM` for message `uid` (number `seq` to the client) to each kept
    /// search it is a result of; call it just before writing the message's EXPUNGE or
    /// taking it out of the client's numbering.
    pub(crate) fn expunged(&mut self, out: &mut Responses, uid: u32, seq: usize) {
        for kept in &mut self.kept {
            let Some(at) = kept.results.iter().position(|&r| r == uid) else {
                continue;
            };
            kept.results.remove(at);
            let position = if kept.sort.is_some() { at + 1 } else { 0 };
            let update = ResultUpdate {
                add: false,
                position: u32::try_from(position).unwrap_or(u32::MAX),
                ids: vec![uid],
            };
            kept.write(out, vec![update], |_| u32::try_from(seq).ok());
        }
    }

    /// Evaluates each kept search again over `view` (the client's numbering) and `messages`
    /// (the mailbox now, by UID) and writes what changed.
    fn refresh(
        &mut self,
        out: &mut Responses,
        view: &[u32],
        messages: &[Message],
        recent: Option<&Recent>,
        defects: Defects,
    ) {
        for kept in &mut self.kept {
            let (hits, _) = kept.program.run(view, messages, recent);
            let now: Vec<u32> = match &kept.sort {
                Some(criteria) => sorted_uids(&hits, criteria),
                None => hits.iter().map(|hit| hit.message.uid).collect(),
            };
            let mut updates = if kept.sort.is_some() {
                sorted_changes(&kept.results, &now)
            } else {
                unsorted_changes(&kept.results, &now)
            };
            deliberate_defects(&mut updates, defects);
            kept.results = now;
            if !updates.is_empty() {
                let seq = |uid| {
                    let at = view.iter().position(|&v| v == uid)?;
                    u32::try_from(at + 1).ok()
                };
                kept.write(out, updates, seq);
            }
        }
    }
}

impl Kept {
    /// `* ESEARCH (TAG "tag") [UID] ADDTO (...) / REMOVEFROM (...)`, UIDs turned into
    /// sequence numbers by `seq` unless the search was a UID one.
    fn write(&self, out: &mut Responses, mut updates: Vec<ResultUpdate>, seq: impl Fn(u32) -> Option<u32>) {
        if !self.uid {
            for update in &mut updates {
                update.ids = update.ids.iter().filter_map(|&uid| seq(uid)).collect();
            }
        }
        out.data(Data::Esearch(Esearch {
            tag: &self.tag,
            uid: self.uid,
            updates: &updates,
            ..Esearch::default()
        }));
    }
}

/// The deliberate defects of kept searches (`Defect::ContextRemovefromMissing`,
/// `Defect::ContextSortPositionOffByOne`), for testing test suites.
fn deliberate_defects(updates: &mut Vec<ResultUpdate>, defects: Defects) {
    if defects.has(Defect::ContextRemovefromMissing) {
        updates.retain(|update| update.add);
    }
    if defects.has(Defect::ContextSortPositionOffByOne) {
        for update in updates.iter_mut().filter(|u| u.add && u.position > 1) {
            update.position -= 1;
        }
    }
}

/// SEARCH's changes (RFC 5267 §4.3.3, §4.3.4 with position 0): `REMOVEFROM (0 gone)`, then
/// `ADDTO (0 new)`, each in mailbox order.
fn unsorted_changes(before: &[u32], now: &[u32]) -> Vec<ResultUpdate> {
    let was: HashSet<u32> = before.iter().copied().collect();
    let is: HashSet<u32> = now.iter().copied().collect();
    let gone: Vec<u32> = before.iter().copied().filter(|uid| !is.contains(uid)).collect();
    let new: Vec<u32> = now.iter().copied().filter(|uid| !was.contains(uid)).collect();
    let mut updates = Vec::new();
    if !gone.is_empty() {
        updates.push(ResultUpdate {
            add: false,
            position: 0,
            ids: gone,
        });
    }
    if !new.is_empty() {
        updates.push(ResultUpdate {
            add: true,
            position: 0,
            ids: new,
        });
    }
    updates
}

/// SORT's changes with real positions: applied in order to `before`, they give `now`.
/// Removals first (a run of neighbours is one pair), then insertions at their place in
/// `now`. A message's sort keys never change, so the messages in both keep their order;
/// should they not, everything is removed and added again.
fn sorted_changes(before: &[u32], now: &[u32]) -> Vec<ResultUpdate> {
    let was: HashSet<u32> = before.iter().copied().collect();
    let is: HashSet<u32> = now.iter().copied().collect();
    let stay_before: Vec<u32> = before.iter().copied().filter(|uid| is.contains(uid)).collect();
    let stay_now: Vec<u32> = now.iter().copied().filter(|uid| was.contains(uid)).collect();
    if stay_before != stay_now {
        return [(false, before), (true, now)]
            .into_iter()
            .filter(|(_, ids)| !ids.is_empty())
            .map(|(add, ids)| ResultUpdate {
                add,
                position: 1,
                ids: ids.to_vec(),
            })
            .collect();
    }
    let mut updates: Vec<ResultUpdate> = Vec::new();
    let mut position = 1;
    for &uid in before {
        if is.contains(&uid) {
            position += 1;
            continue;
        }
        match updates.last_mut() {
            Some(last) if last.position == position => last.ids.push(uid),
            _ => updates.push(ResultUpdate {
                add: false,
                position,
                ids: vec![uid],
            }),
        }
    }
    let mut previous = None;
    for (j, &uid) in now.iter().enumerate() {
        if was.contains(&uid) {
            continue;
        }
        match updates.last_mut() {
            Some(last) if last.add && previous.is_some_and(|p: usize| p + 1 == j) => last.ids.push(uid),
            _ => updates.push(ResultUpdate {
                add: true,
                position: u32::try_from(j + 1).unwrap_or(u32::MAX),
                ids: vec![uid],
            }),
        }
        previous = Some(j);
    }
    updates
}

impl Session {
    /// Whether CONTEXT=SEARCH is in effect: switched on, and SEARCH takes RETURN options
    /// (ESEARCH, or IMAP4rev2), which it extends (RFC 5267 §4.1).
    pub(crate) fn context_search(&self) -> bool {
        let extensions = &self.config.extensions;
        extensions.context_search && (self.rev2 || extensions.esearch)
    }

    /// Whether CONTEXT=SORT is in effect: switched on, with ESORT, which it extends.
    pub(crate) fn context_sort(&self) -> bool {
        self.config.extensions.context_sort && self.config.extensions.esort
    }

    /// RFC 5267 §4.3: a searching command with UPDATE may not reuse the tag of a search
    /// still kept updated.
    pub(crate) fn check_update_tag(&self, tag: &str) -> Result<(), Refusal> {
        if self.selected.as_ref().is_some_and(|s| s.contexts.has(tag)) {
            return Err(Refusal::bad(format!("tag {tag} names a search kept updated")));
        }
        Ok(())
    }

    /// Keeps the search `tag` updated from now on, its results being `uids` in the requested
    /// order, or writes `* NO [NOUPDATE "tag"]` when [`MAX_KEPT`] are kept already.
    pub(crate) fn keep_updated(
        &mut self,
        out: &mut Responses,
        tag: &str,
        uid: bool,
        program: Program,
        sort: Option<Vec<Criterion>>,
        uids: Vec<u32>,
    ) {
        let Some(selected) = self.selected.as_mut() else {
            return;
        };
        if selected.contexts.kept.len() >= MAX_KEPT {
            let code = format!("NOUPDATE \"{tag}\"");
            out.condition(DataKind::No, Some(&code), "too many searches kept updated");
            return;
        }
        let program = program.frozen(selected.uids());
        selected.contexts.kept.push(Kept {
            tag: tag.to_owned(),
            uid,
            program,
            sort,
            results: uids,
        });
    }

    /// `"CANCELUPDATE" 1*(SP quoted)` (RFC 5267 §4.3.5): no more updates for these tags. The
    /// RFC gives no answer for a tag that names no kept search; this one is `NO`, and then
    /// none of the tags is cancelled.
    pub(crate) fn cancel_update(&mut self, command: &Command) -> Result<Completion, Refusal> {
        let mut tags = Vec::new();
        for arg in &command.args {
            let Token::String(tag) = arg else {
                return Err(SyntaxError::Arguments.into());
            };
            tags.push(String::from_utf8_lossy(tag).into_owned());
        }
        if tags.is_empty() {
            return Err(SyntaxError::Arguments.into());
        }
        let selected = self
            .selected
            .as_mut()
            .ok_or_else(|| Refusal::bad("no mailbox selected"))?;
        if let Some(unknown) = tags.iter().find(|tag| !selected.contexts.has(tag)) {
            return Err(Refusal::no(format!("no search {unknown} is kept updated")));
        }
        selected.contexts.kept.retain(|kept| !tags.contains(&kept.tag));
        Ok(Completion::ok("CANCELUPDATE completed"))
    }

    /// Writes each kept search's ADDTO and REMOVEFROM if the mailbox changed since they were
    /// last compared; called after the mailbox's changes are reported.
    pub(crate) fn update_contexts(&mut self, out: &mut Responses) {
        let (Some(selected), Some(login)) = (self.selected.as_mut(), self.login.as_deref()) else {
            return;
        };
        if !std::mem::take(&mut selected.contexts.stale) || selected.contexts.kept.is_empty() {
            return;
        }
        let Ok(snapshot) = self.store.messages(login, &selected.watch.mailbox_name()) else {
            return;
        };
        let mut contexts = std::mem::take(&mut selected.contexts);
        let defects = self.config.defects;
        contexts.refresh(
            out,
            selected.uids(),
            &snapshot.messages,
            selected.recent.as_ref(),
            defects,
        );
        selected.contexts = contexts;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Applies `updates` to `list` as a client does (RFC 5267 §4.3.3, §4.3.4).
    fn apply(list: &mut Vec<u32>, updates: &[ResultUpdate]) {
        for update in updates {
            let at = update.position as usize - 1;
            if update.add {
                for (k, &id) in update.ids.iter().enumerate() {
                    list.insert(at + k, id);
                }
            } else {
                for &id in &update.ids {
                    assert_eq!(list.remove(at), id, "{updates:?}");
                }
            }
        }
    }

    #[test]
    fn sorted_changes_rebuild_the_new_order() {
        let cases: [(&[u32], &[u32]); 7] = [
            (&[5, 3, 9], &[5, 3, 9]),
            (&[5, 3, 9], &[7, 5, 3, 9]),
            (&[5, 3, 9], &[5, 9]),
            (&[5, 3, 9, 4], &[5, 4]),
            (&[5, 3, 9], &[1, 5, 2, 8, 3]),
            (&[], &[2, 1]),
            (&[5, 3], &[3, 5]),
        ];
        for (before, now) in cases {
            let updates = sorted_changes(before, now);
            let mut list = before.to_vec();
            apply(&mut list, &updates);
            assert_eq!(list, now, "{before:?} -> {now:?}: {updates:?}");
        }
        // Neighbours share a pair: RFC 5267 §4.3.3's preferred form.
        let updates = sorted_changes(&[2734, 2735], &[2731, 2732, 2733, 2734, 2735]);
        assert_eq!(
            updates,
            [ResultUpdate {
                add: true,
                position: 1,
                ids: vec![2731, 2732, 2733]
            }]
        );
        assert!(sorted_changes(&[1, 2], &[1, 2]).is_empty());
    }

    #[test]
    fn unsorted_changes_use_position_zero() {
        let updates = unsorted_changes(&[1, 4, 6], &[1, 6, 7, 8]);
        assert_eq!(
            updates,
            [
                ResultUpdate {
                    add: false,
                    position: 0,
                    ids: vec![4]
                },
                ResultUpdate {
                    add: true,
                    position: 0,
                    ids: vec![7, 8]
                }
            ]
        );
        assert!(unsorted_changes(&[1], &[1]).is_empty());
    }
}
