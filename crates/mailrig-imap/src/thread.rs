//! THREAD and UID THREAD (RFC 5256 §3) with the ORDEREDSUBJECT and REFERENCES algorithms,
//! over the messages a search finds, answered with `* THREAD` (§4).
//!
//! Read first: RFC 5256 §3 (both algorithms; REFERENCES's steps 1 to 6 are numbered the same
//! here), §2.1 and §2.2 (base subject and sent date, in `sort.rs`), §4 (`thread-list`: a
//! message with one child continues its list, one with several opens a list per child).

use std::collections::HashMap;
use std::fmt::Write;

use crate::command::{Command, Token};
use crate::completion::{Completion, Refusal};
use crate::data::Data;
use crate::defect::Defect;
use crate::error::SyntaxError;
use crate::response::Responses;
use crate::search::charset_supported;
use crate::session::Session;
use crate::sort::Sortable;

/// One node of a thread tree: a message (an index into the found messages) or a dummy.
#[derive(Debug, Clone, Default)]
struct Node {
    message: Option<usize>,
    parent: Option<usize>,
    children: Vec<usize>,
}

/// The thread trees being built: nodes by index, and the sent-date order of messages.
struct Forest<'a> {
    nodes: Vec<Node>,
    messages: &'a [Sortable],
    /// Sort siblings by sent date (off only for [`Defect::ThreadSiblingsUnsorted`]).
    by_date: bool,
}

impl Session {
    /// `thread = ["UID" SP] "THREAD" SP thread-alg SP search-criteria` (RFC 5256 §4),
    /// `search-criteria = charset 1*(SP search-key)`.
    pub(crate) fn thread(
        &mut self,
        command: &Command,
        uid: bool,
        out: &mut Responses,
    ) -> Result<Completion, Refusal> {
        let [Token::Atom(algorithm), charset, keys @ ..] = &command.args[..] else {
            return Err(SyntaxError::Arguments.into());
        };
        let extensions = &self.config.extensions;
        let references = match algorithm.to_ascii_uppercase().as_str() {
            "REFERENCES" if extensions.thread_references => true,
            "ORDEREDSUBJECT" if extensions.thread_orderedsubject => false,
            _ => {
                return Err(Refusal::bad(format!(
                    "unsupported threading algorithm {algorithm}"
                )));
            }
        };
        charset_supported(charset)?;
        let (hits, _) = self.matching(keys, out)?;
        let messages: Vec<Sortable> = hits.iter().map(Sortable::of).collect();
        let mut forest = Forest {
            nodes: Vec::new(),
            messages: &messages,
            by_date: !self.config.defects.has(Defect::ThreadSiblingsUnsorted),
        };
        let roots = if references {
            forest.references()
        } else {
            forest.ordered_subject()
        };
        let mut text = String::new();
        for root in roots {
            text.push('(');
            forest.write(&mut text, root, uid);
            text.push(')');
        }
        out.data(Data::Thread(&text));
        Ok(Completion::ok(format!("{} completed", command.verb)))
    }
}

impl Forest<'_> {
    /// ORDEREDSUBJECT: messages grouped by base subject, each group sorted by sent date
    /// with its first message the parent of the rest, the groups sorted by the sent date of
    /// their first message.
    fn ordered_subject(&mut self) -> Vec<usize> {
        let messages = self.messages;
        let mut order: Vec<usize> = (0..messages.len()).collect();
        order.sort_by(|&a, &b| {
            let (a, b) = (&messages[a], &messages[b]);
            a.subject
                .cmp(&b.subject)
                .then_with(|| self.date_key(a).cmp(&self.date_key(b)))
        });
        let mut roots: Vec<usize> = Vec::new();
        let mut current: Option<(usize, &str)> = None;
        for index in order {
            let subject = messages[index].subject.as_str();
            let node = self.add(Some(index));
            match current {
                Some((root, root_subject)) if root_subject == subject => self.link(root, node),
                _ => {
                    roots.push(node);
                    current = Some((node, subject));
                }
            }
        }
        self.sort_siblings(&mut roots);
        roots
    }

    /// REFERENCES, RFC 5256 §3 steps 1 to 6.
    fn references(&mut self) -> Vec<usize> {
        self.link_references();
        // Step 2: the root set, the nodes without a parent.
        let roots: Vec<usize> = (0..self.nodes.len())
            .filter(|&n| self.nodes[n].parent.is_none())
            .collect();
        // Step 3 drops the Message-ID table (it was local to step 1); step 4 prunes.
        let mut roots = self.prune(roots, true);
        for &root in &roots {
            self.nodes[root].parent = None;
        }
        // Step 4: sort the root set (a dummy by its first child, its children sorted).
        for &root in &roots {
            if self.nodes[root].message.is_none() {
                let mut children = std::mem::take(&mut self.nodes[root].children);
                self.sort_siblings(&mut children);
                self.nodes[root].children = children;
            }
        }
        self.sort_siblings(&mut roots);
        // Step 5: gather the threads with the same base subject.
        let mut roots = self.group_by_subject(roots);
        // Step 6: sort every set of siblings, the deepest first.
        self.sort_tree(&mut roots);
        roots
    }

    /// Step 1: a node per Message-ID (a missing or repeated one gets a node of its own),
    /// the references linked parent to child (1.A: existing links kept, no loops), and each
    /// message made the child of its last reference (1.B: that link replaces any other).
    fn link_references(&mut self) {
        let mut ids: HashMap<&str, usize> = HashMap::new();
        let messages = self.messages;
        for (index, message) in messages.iter().enumerate() {
            let node = match message.message_id.as_deref() {
                Some(id) => match ids.get(id) {
                    Some(&node) if self.nodes[node].message.is_none() => {
                        self.nodes[node].message = Some(index);
                        node
                    }
                    Some(_) => self.add(Some(index)),
                    None => {
                        let node = self.add(Some(index));
                        ids.insert(id, node);
                        node
                    }
                },
                None => self.add(Some(index)),
            };
            let mut previous: Option<usize> = None;
            for reference in &message.references {
                let referenced = match ids.get(reference.as_str()) {
                    Some(&n) => n,
                    None => {
                        let n = self.add(None);
                        ids.insert(reference, n);
                        n
                    }
                };
                if let Some(parent) = previous
                    && self.nodes[referenced].parent.is_none()
                    && !self.descends(parent, referenced)
                {
                    self.link(parent, referenced);
                }
                previous = Some(referenced);
            }
            if let Some(parent) = self.nodes[node].parent.take() {
                self.nodes[parent].children.retain(|&c| c != node);
            }
            if let Some(parent) = previous
                && !self.descends(parent, node)
            {
                self.link(parent, node);
            }
        }
    }

    /// Step 3 (the RFC's pruning, bottom-up): a dummy without children goes; a dummy with
    /// children is replaced by them, except at the root when it has more than one.
    fn prune(&mut self, siblings: Vec<usize>, root: bool) -> Vec<usize> {
        let mut kept = Vec::new();
        for node in siblings {
            let children = std::mem::take(&mut self.nodes[node].children);
            let children = self.prune(children, false);
            for &child in &children {
                self.nodes[child].parent = Some(node);
            }
            if self.nodes[node].message.is_some() || (root && children.len() > 1) {
                self.nodes[node].children = children;
                kept.push(node);
            } else {
                for &child in &children {
                    self.nodes[child].parent = self.nodes[node].parent;
                }
                kept.extend(children);
            }
        }
        kept
    }

    /// Step 5: threads whose (first) messages share a base subject are gathered under one.
    fn group_by_subject(&mut self, roots: Vec<usize>) -> Vec<usize> {
        // 5.A to 5.C: the subject table, preferring a dummy, then a message that is no reply.
        let mut table: HashMap<String, usize> = HashMap::new();
        for &root in &roots {
            let Some((subject, reply)) = self.subject_of(root) else {
                continue;
            };
            match table.get(&subject) {
                None => {
                    table.insert(subject, root);
                }
                Some(&old) => {
                    let old_reply = self.subject_of(old).is_some_and(|(_, r)| r);
                    if self.is_message(old) && (!self.is_message(root) || (old_reply && !reply)) {
                        table.insert(subject, root);
                    }
                }
            }
        }
        // 5.D: merge each other root into the table's.
        let mut kept: Vec<Option<usize>> = roots.iter().copied().map(Some).collect();
        for (position, &root) in roots.iter().enumerate() {
            let Some((subject, reply)) = self.subject_of(root) else {
                continue;
            };
            let Some(&chosen) = table.get(&subject) else {
                continue;
            };
            if chosen == root {
                continue;
            }
            let chosen_reply = self.subject_of(chosen).is_some_and(|(_, r)| r);
            if !self.is_message(chosen) && !self.is_message(root) {
                for child in std::mem::take(&mut self.nodes[root].children) {
                    self.link(chosen, child);
                }
            } else if !self.is_message(chosen) || (reply && !chosen_reply) {
                self.link(chosen, root);
            } else {
                let dummy = self.add(None);
                self.link(dummy, chosen);
                self.link(dummy, root);
                table.insert(subject, dummy);
                if let Some(slot) = kept.iter_mut().find(|slot| **slot == Some(chosen)) {
                    *slot = Some(dummy);
                }
            }
            kept[position] = None;
        }
        kept.into_iter().flatten().collect()
    }

    /// Step 6: sorts the children of every node, then `siblings` themselves.
    fn sort_tree(&mut self, siblings: &mut [usize]) {
        for &node in siblings.iter() {
            let mut children = std::mem::take(&mut self.nodes[node].children);
            self.sort_tree(&mut children);
            self.nodes[node].children = children;
        }
        self.sort_siblings(siblings);
    }

    /// Sorts `siblings` by sent date, then sequence number; a dummy by its first child.
    fn sort_siblings(&self, siblings: &mut [usize]) {
        siblings.sort_by_key(|&node| self.first_message(node).map(|m| self.date_key(m)));
    }

    /// What siblings sort by: the sent date (§2.2) and the sequence number.
    fn date_key(&self, message: &Sortable) -> (i64, u32) {
        if self.by_date {
            (message.sent, message.seq)
        } else {
            (0, message.seq)
        }
    }

    /// The node's message, or a dummy's first child's.
    fn first_message(&self, node: usize) -> Option<&Sortable> {
        let node = &self.nodes[node];
        match node.message {
            Some(index) => Some(&self.messages[index]),
            None => self.first_message(*node.children.first()?),
        }
    }

    /// The base subject (and whether it was a reply) of a node, a dummy's from its first
    /// child; `None` for an empty one (step 5.B skips those).
    fn subject_of(&self, node: usize) -> Option<(String, bool)> {
        let message = self.first_message(node)?;
        (!message.subject.is_empty()).then(|| (message.subject.clone(), message.reply))
    }

    fn is_message(&self, node: usize) -> bool {
        self.nodes[node].message.is_some()
    }

    /// Whether `node` is `ancestor` or below it.
    fn descends(&self, mut node: usize, ancestor: usize) -> bool {
        loop {
            if node == ancestor {
                return true;
            }
            match self.nodes[node].parent {
                Some(parent) => node = parent,
                None => return false,
            }
        }
    }

    fn add(&mut self, message: Option<usize>) -> usize {
        self.nodes.push(Node {
            message,
            ..Node::default()
        });
        self.nodes.len() - 1
    }

    fn link(&mut self, parent: usize, child: usize) {
        self.nodes[child].parent = Some(parent);
        self.nodes[parent].children.push(child);
    }

    /// `thread-members = nz-number *(SP nz-number) [SP thread-nested]`, `thread-nested = 2*
    /// thread-list`: the node's number, then its only child's members, or a list per child.
    fn write(&self, out: &mut String, node: usize, uid: bool) {
        let node = &self.nodes[node];
        if let Some(index) = node.message {
            let message = &self.messages[index];
            let _ = write!(out, "{}", if uid { message.uid } else { message.seq });
            match node.children[..] {
                [] => return,
                [only] => {
                    out.push(' ');
                    return self.write(out, only, uid);
                }
                _ => out.push(' '),
            }
        }
        for &child in &node.children {
            out.push('(');
            self.write(out, child, uid);
            out.push(')');
        }
    }
}
