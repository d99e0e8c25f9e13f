//! Message names that survive renumbering: `${m1:seq}` binds a name to a message's sequence
//! number in one IMAP session, and every untagged response that session receives afterwards
//! keeps the number current.
//!
//! Heads up: RFC 9051 §7.5.1 (`EXPUNGE`: "each message with a sequence number greater than
//! this message's is decremented"), RFC 7162 §3.2.10 (`VANISHED`, by UID), RFC 9051 §2.3.1.1
//! (UIDs ascend with sequence numbers, which is what lets a UID set renumber a message whose
//! UID is known). `EXISTS` adds messages at the end and renumbers none.

use std::collections::{BTreeMap, HashSet};

use crate::imap::response::{self, Body, Tag, Token, Value};
use crate::pattern::Bindings;

/// The message names of one session: their current sequence numbers, and their UIDs where a
/// response showed them. A name that was expunged (or whose number became unknown) is absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Msgs {
    seq: BTreeMap<String, u64>,
    uid: BTreeMap<String, u64>,
}

impl Msgs {
    /// Takes in the message names that a match of `line` bound (`bound` holds every capture
    /// the match bound; `names` says which are message names).
    pub(crate) fn absorb(&mut self, bound: &Bindings, names: &HashSet<String>, line: &[u8]) {
        for (name, value) in bound.iter().filter(|(n, _)| names.contains(*n)) {
            let Some(seq) = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok()) else {
                continue;
            };
            self.seq.insert(name.clone(), seq);
            self.uid.remove(name);
            if let Some((n, uid)) = fetch_uid(line)
                && n == seq
            {
                self.uid.insert(name.clone(), uid);
            }
        }
    }

    /// Applies what a received server line does to sequence numbers.
    pub(crate) fn observe(&mut self, line: &[u8]) {
        if self.seq.is_empty() {
            return;
        }
        let Ok(response) = response::decode(line) else {
            return;
        };
        let (Tag::Untagged, Body::Data(tokens)) = (&response.tag, &response.body) else {
            return;
        };
        match tokens.as_slice() {
            [n, word] if is_word(word, "EXPUNGE") => {
                if let Value::Number(n) = n.value {
                    self.expunge(n);
                }
            }
            [word, set] if is_word(word, "VANISHED") => {
                if let Some(set) = set.value.bytes().and_then(|b| uid_set(&b)) {
                    self.vanished(&set);
                }
            }
            // `VANISHED (EARLIER)` reports what the client missed before, and renumbers nothing.
            _ => {
                if let Some((n, uid)) = fetch_uid(line) {
                    for (name, _) in self.seq.iter().filter(|(_, s)| **s == n) {
                        self.uid.entry(name.clone()).or_insert(uid);
                    }
                }
            }
        }
    }

    /// Writes the current numbers of `names` into `scope`, and removes the names that have
    /// none (expunged, or unknown).
    pub(crate) fn sync(&self, scope: &mut Bindings, names: &HashSet<String>) {
        for name in names {
            match self.seq.get(name) {
                Some(n) => {
                    scope.insert(name.clone(), n.to_string().into_bytes());
                }
                None => {
                    scope.remove(name);
                }
            }
        }
    }

    /// `* N EXPUNGE`: message N is gone, later ones move down by one.
    fn expunge(&mut self, n: u64) {
        self.seq.retain(|name, seq| {
            let keep = *seq != n;
            if !keep {
                self.uid.remove(name);
            }
            keep
        });
        for seq in self.seq.values_mut().filter(|s| **s > n) {
            *seq -= 1;
        }
    }

    /// `* VANISHED uid-set`: the messages with these UIDs are gone; a message moves down by
    /// the number of them below its UID. A name whose UID is not known cannot follow.
    fn vanished(&mut self, set: &[(u64, u64)]) {
        let uids = self.uid.clone();
        self.seq.retain(|name, _| {
            uids.get(name)
                .is_some_and(|u| !set.iter().any(|(a, b)| (a..=b).contains(&u)))
        });
        self.uid.retain(|name, _| self.seq.contains_key(name));
        for (name, seq) in &mut self.seq {
            let uid = self.uid[name];
            let below: u64 = set
                .iter()
                .map(|(a, b)| if *a >= uid { 0 } else { (*b).min(uid - 1) - a + 1 })
                .sum();
            *seq = seq.saturating_sub(below);
        }
    }
}

fn is_word(token: &Token, word: &str) -> bool {
    matches!(&token.value, Value::Atom(a) if a.eq_ignore_ascii_case(word.as_bytes()))
}

/// `* N FETCH (... UID u ...)`: the message number and its UID.
fn fetch_uid(line: &[u8]) -> Option<(u64, u64)> {
    let response = response::decode(line).ok()?;
    let Body::Data(tokens) = &response.body else {
        return None;
    };
    let [n, word, items] = tokens.as_slice() else {
        return None;
    };
    let (Value::Number(n), Value::List(items)) = (&n.value, &items.value) else {
        return None;
    };
    if !is_word(word, "FETCH") {
        return None;
    }
    items.chunks(2).find_map(|pair| match pair {
        [
            name,
            Token {
                value: Value::Number(uid),
                ..
            },
        ] if is_word(name, "UID") => Some((*n, *uid)),
        _ => None,
    })
}

/// RFC 9051 `sequence-set` of UIDs, as inclusive ranges (`*` is not allowed in VANISHED).
fn uid_set(bytes: &[u8]) -> Option<Vec<(u64, u64)>> {
    let text = std::str::from_utf8(bytes).ok()?;
    text.split(',')
        .map(|range| {
            let (a, b) = range.split_once(':').unwrap_or((range, range));
            let (a, b): (u64, u64) = (a.parse().ok()?, b.parse().ok()?);
            Some((a.min(b), a.max(b)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msgs(pairs: &[(&str, u64, Option<u64>)]) -> Msgs {
        let mut m = Msgs::default();
        for (name, seq, uid) in pairs {
            m.seq.insert((*name).to_owned(), *seq);
            if let Some(uid) = uid {
                m.uid.insert((*name).to_owned(), *uid);
            }
        }
        m
    }

    fn seqs(m: &Msgs) -> Vec<(&str, u64)> {
        m.seq.iter().map(|(n, s)| (n.as_str(), *s)).collect()
    }

    /// RFC 9051 §7.5.1's example: expunging messages 3, 4, 7 and 11 of 11 is sent as
    /// `* 3 EXPUNGE`, `* 3 EXPUNGE`, `* 5 EXPUNGE`, `* 8 EXPUNGE`.
    #[test]
    fn expunges_renumber_later_messages_and_remove_the_expunged_one() {
        let mut m = msgs(&[
            ("m3", 3, None),
            ("m4", 4, None),
            ("m5", 5, None),
            ("m9", 9, None),
            ("m1", 1, None),
        ]);
        for line in [
            "* 3 EXPUNGE\r\n",
            "* 3 EXPUNGE\r\n",
            "* 5 EXPUNGE\r\n",
            "* 8 EXPUNGE\r\n",
        ] {
            m.observe(line.as_bytes());
        }
        assert_eq!(seqs(&m), vec![("m1", 1), ("m5", 3), ("m9", 6)]);
    }

    #[test]
    fn exists_and_fetch_renumber_nothing_but_fetch_teaches_the_uid() {
        let mut m = msgs(&[("a", 2, None)]);
        m.observe(b"* 9 EXISTS\r\n");
        m.observe(b"* 2 FETCH (FLAGS () UID 40)\r\n");
        assert_eq!(seqs(&m), vec![("a", 2)]);
        assert_eq!(m.uid.get("a"), Some(&40));
    }

    #[test]
    fn vanished_renumbers_by_uid_and_loses_names_without_one() {
        let mut m = msgs(&[
            ("a", 2, Some(20)),
            ("b", 5, Some(50)),
            ("c", 4, None),
            ("d", 3, Some(30)),
        ]);
        m.observe(b"* VANISHED 10,30:31\r\n");
        // `a` loses UID 10 below it; `b` loses 10, 30 and 31; `d` was UID 30; `c` cannot follow.
        assert_eq!(seqs(&m), vec![("a", 1), ("b", 2)]);
        m.observe(b"* VANISHED (EARLIER) 1:100\r\n");
        assert_eq!(seqs(&m), vec![("a", 1), ("b", 2)], "EARLIER renumbers nothing");
    }

    #[test]
    fn absorb_binds_names_with_the_uid_of_their_fetch() {
        let mut m = Msgs::default();
        let names: HashSet<String> = ["m".to_owned()].into();
        let bound: Bindings = [("m".to_owned(), b"4".to_vec()), ("u".to_owned(), b"9".to_vec())].into();
        m.absorb(&bound, &names, b"* 4 FETCH (UID 9)\r\n");
        assert_eq!(seqs(&m), vec![("m", 4)]);
        assert_eq!(m.uid.get("m"), Some(&9));
        let mut scope = Bindings::new();
        m.sync(&mut scope, &names);
        assert_eq!(scope.get("m"), Some(&b"4".to_vec()));
        m.observe(b"* 4 EXPUNGE\r\n");
        m.sync(&mut scope, &names);
        assert_eq!(scope.get("m"), None, "an expunged message has no number");
    }
}
