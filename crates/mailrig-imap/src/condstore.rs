//! CONDSTORE and QRESYNC (RFC 7162): which of them the client turned on, the modifiers they
//! add to SELECT, FETCH and STORE, and the `VANISHED` response.
//!
//! Read first: RFC 7162 §3.1 (CONDSTORE-enabling commands; once one ran, every untagged FETCH
//! caused by STORE or by other sessions carries UID and MODSEQ), §3.1.2.1 (HIGHESTMODSEQ),
//! §3.1.3 (UNCHANGEDSINCE, MODIFIED), §3.1.4.1 (CHANGEDSINCE), §3.2.3 (ENABLE QRESYNC),
//! §3.2.5 (SELECT's QRESYNC parameter), §3.2.6 (FETCH's VANISHED modifier), §3.2.10
//! (VANISHED replaces EXPUNGE), §3.2.11 (the CLOSED response code).

use crate::command::Token;
use crate::completion::Refusal;
use crate::data::{Data, DataKind};
use crate::error::SyntaxError;
use crate::response::Responses;
use crate::sequence::SequenceSet;
use crate::session::Session;

/// How far the client turned on RFC 7162. Each level includes the ones before it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Condstore {
    /// No CONDSTORE-enabling command yet: responses look as in RFC 9051.
    #[default]
    Off,
    /// CONDSTORE is on: untagged FETCH for flag changes carry `UID` and `MODSEQ`, and
    /// SELECT reports `HIGHESTMODSEQ`.
    On,
    /// QRESYNC is on too (RFC 7162 §3.2.3): expunges are reported as `VANISHED`.
    Qresync,
}

/// SELECT/EXAMINE's `select-param`s (RFC 4466 §2.2, RFC 7162 §3.1.8 and §3.2.5).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SelectParams {
    /// `CONDSTORE`: a CONDSTORE-enabling command.
    pub(crate) condstore: bool,
    /// `QRESYNC (...)`.
    pub(crate) qresync: Option<Qresync>,
}

/// `qresync-param = "QRESYNC" SP "(" uidvalidity SP mod-sequence-value [SP known-uids]
/// [SP seq-match-data] ")"`. The sequence match data only helps servers that forget
/// expunges sooner than this one, so it is checked and then ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Qresync {
    pub(crate) uidvalidity: u32,
    pub(crate) modseq: u64,
    pub(crate) known_uids: Option<SequenceSet>,
}

/// FETCH's `fetch-modifier`s (RFC 7162 §3.1.4.1, §3.2.6).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct FetchModifiers {
    /// `CHANGEDSINCE n`: only messages whose modseq is above `n`.
    pub(crate) changed_since: Option<u64>,
    /// `VANISHED`: also report the UIDs in the set expunged since then.
    pub(crate) vanished: bool,
}

/// `mod-sequence-valzer = "0" / mod-sequence-value`, `mod-sequence-value = 1*DIGIT` (at most
/// 2^63 - 1).
pub(crate) fn mod_sequence(token: Option<&Token>) -> Result<u64, SyntaxError> {
    let Some(Token::Atom(text)) = token else {
        return Err(SyntaxError::Expected("a mod-sequence"));
    };
    match text.parse::<u64>() {
        Ok(n) if n <= i64::MAX as u64 && text.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(SyntaxError::Expected("a mod-sequence")),
    }
}

impl SelectParams {
    /// Parses `"(" select-param *(SP select-param) ")"`'s contents.
    pub(crate) fn parse(tokens: &[Token]) -> Result<SelectParams, SyntaxError> {
        let mut params = SelectParams::default();
        let mut tokens = tokens.iter();
        while let Some(token) = tokens.next() {
            let Token::Atom(name) = token else {
                return Err(SyntaxError::Arguments);
            };
            match name.to_ascii_uppercase().as_str() {
                "CONDSTORE" => params.condstore = true,
                "QRESYNC" => match tokens.next() {
                    Some(Token::List(list)) => params.qresync = Some(Qresync::parse(list)?),
                    _ => return Err(SyntaxError::Expected("QRESYNC parameters")),
                },
                _ => return Err(SyntaxError::Arguments),
            }
        }
        Ok(params)
    }
}

impl Qresync {
    fn parse(tokens: &[Token]) -> Result<Qresync, SyntaxError> {
        let bad = SyntaxError::Expected("QRESYNC parameters");
        let (uidvalidity, rest) = tokens.split_first().ok_or(bad.clone())?;
        let uidvalidity = match uidvalidity {
            Token::Atom(text) => text.parse::<u32>().ok().filter(|&n| n > 0),
            _ => None,
        }
        .ok_or(bad.clone())?;
        let (modseq, rest) = rest.split_first().ok_or(bad.clone())?;
        let modseq = mod_sequence(Some(modseq))?;
        if modseq == 0 {
            return Err(bad);
        }
        let mut rest = rest.iter();
        let mut next = rest.next();
        let mut known_uids = None;
        if let Some(Token::Atom(set)) = next {
            known_uids = Some(SequenceSet::parse(set)?);
            next = rest.next();
        }
        if let Some(Token::List(pair)) = next {
            // seq-match-data = "(" known-sequence-set SP known-uid-set ")"
            let [Token::Atom(seqs), Token::Atom(uids)] = &pair[..] else {
                return Err(bad);
            };
            SequenceSet::parse(seqs)?;
            SequenceSet::parse(uids)?;
            next = rest.next();
        }
        if next.is_some() {
            return Err(bad);
        }
        Ok(Qresync {
            uidvalidity,
            modseq,
            known_uids,
        })
    }
}

impl FetchModifiers {
    /// Parses `"(" fetch-modifier *(SP fetch-modifier) ")"`'s contents.
    pub(crate) fn parse(tokens: &[Token]) -> Result<FetchModifiers, SyntaxError> {
        let mut modifiers = FetchModifiers::default();
        let mut tokens = tokens.iter();
        while let Some(token) = tokens.next() {
            let Token::Atom(name) = token else {
                return Err(SyntaxError::Arguments);
            };
            match name.to_ascii_uppercase().as_str() {
                "CHANGEDSINCE" => modifiers.changed_since = Some(mod_sequence(tokens.next())?),
                "VANISHED" => modifiers.vanished = true,
                _ => return Err(SyntaxError::Arguments),
            }
        }
        if tokens.len() > 0 || (modifiers.vanished && modifiers.changed_since.is_none()) {
            // RFC 7162 §3.2.6: VANISHED only goes with CHANGEDSINCE.
            return Err(SyntaxError::Arguments);
        }
        Ok(modifiers)
    }
}

/// `store-modifier = "UNCHANGEDSINCE" SP mod-sequence-valzer`, the list's contents.
pub(crate) fn unchanged_since(tokens: &[Token]) -> Result<u64, SyntaxError> {
    match tokens {
        [Token::Atom(name), value] if name.eq_ignore_ascii_case("UNCHANGEDSINCE") => {
            mod_sequence(Some(value))
        }
        _ => Err(SyntaxError::Arguments),
    }
}

impl Session {
    /// Runs ENABLE's CONDSTORE and QRESYNC (RFC 5161, RFC 7162 §3.2.3); returns the name to
    /// list in `* ENABLED`, or `None` for an extension this session does not know or had
    /// already enabled.
    pub(crate) fn enable_extension(&mut self, name: &str, out: &mut Responses) -> Option<&'static str> {
        let ext = &self.config.extensions;
        let (level, name) = match name.to_ascii_uppercase().as_str() {
            "CONDSTORE" if ext.condstore => (Condstore::On, "CONDSTORE"),
            "QRESYNC" if ext.qresync => (Condstore::Qresync, "QRESYNC"),
            _ => return None,
        };
        if self.condstore >= level {
            return None;
        }
        self.enable_condstore(out).ok()?;
        self.condstore = level;
        Some(name)
    }

    /// A CONDSTORE-enabling command ran (RFC 7162 §3.1). The first one tells a client with
    /// a mailbox selected its HIGHESTMODSEQ.
    /// With CONDSTORE switched off (`Extensions::condstore`), such a command is refused with
    /// `BAD`, as its syntax is unknown to a server without the extension.
    pub(crate) fn enable_condstore(&mut self, out: &mut Responses) -> Result<(), Refusal> {
        if !self.config.extensions.condstore {
            return Err(Refusal::bad("CONDSTORE is not offered"));
        }
        if self.condstore != Condstore::Off {
            return Ok(());
        }
        self.condstore = Condstore::On;
        let (Some(login), Some(selected)) = (&self.login, &self.selected) else {
            return Ok(());
        };
        if let Ok(status) = self.store.status(login, &selected.watch.mailbox_name()) {
            let code = format!("HIGHESTMODSEQ {}", status.highestmodseq);
            out.condition(DataKind::Ok, Some(&code), "Highest");
        }
        Ok(())
    }

    /// Fails with BAD unless QRESYNC is on (RFC 7162 §3.2.5, §3.2.6).
    pub(crate) fn require_qresync(&self) -> Result<(), Refusal> {
        if self.condstore == Condstore::Qresync {
            Ok(())
        } else {
            Err(Refusal::bad("QRESYNC is not enabled"))
        }
    }
}

/// `* VANISHED [(EARLIER)] known-uids`; nothing for no UIDs.
pub(crate) fn vanished(out: &mut Responses, earlier: bool, runs: &[(u32, u32)]) {
    if runs.is_empty() {
        return;
    }
    out.data(Data::Vanished { earlier, runs });
}

/// A `sequence-set` for ascending runs: `1:3,7`.
pub(crate) fn runs_text(runs: &[(u32, u32)]) -> String {
    let parts: Vec<String> = runs
        .iter()
        .map(|&(a, b)| if a == b { a.to_string() } else { format!("{a}:{b}") })
        .collect();
    parts.join(",")
}

/// Runs of consecutive UIDs in `uids`, in the order given (ascending, disjoint runs for
/// ascending `uids`).
pub(crate) fn runs_of(uids: &[u32]) -> Vec<(u32, u32)> {
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for &uid in uids {
        match runs.last_mut() {
            Some((_, last)) if last.checked_add(1) == Some(uid) => *last = uid,
            _ => runs.push((uid, uid)),
        }
    }
    runs
}

/// The parts of `runs` (ascending, disjoint) that are also in `set`, `*` being `last`.
pub(crate) fn intersect(runs: &[(u32, u32)], set: &SequenceSet, last: u32) -> Vec<(u32, u32)> {
    let ranges = set.ranges(last);
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < runs.len() && j < ranges.len() {
        let (a, b) = runs[i];
        let (c, d) = ranges[j];
        let (lo, hi) = (a.max(c), b.min(d));
        if lo <= hi {
            out.push((lo, hi));
        }
        if b < d { i += 1 } else { j += 1 }
    }
    out
}

/// `runs` (ascending, disjoint) without the UIDs in `uids` (ascending).
pub(crate) fn subtract(runs: &[(u32, u32)], uids: &[u32]) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    for &(a, b) in runs {
        // The first UID of the run not yet handled; `None` past `u32::MAX`.
        let mut from = Some(a);
        let start = uids.partition_point(|&u| u < a);
        for &uid in uids[start..].iter().take_while(|&&u| u <= b) {
            if let Some(from) = from
                && uid > from
            {
                out.push((from, uid - 1));
            }
            from = uid.checked_add(1);
        }
        if let Some(from) = from
            && from <= b
        {
            out.push((from, b));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_runs() {
        assert_eq!(runs_of(&[1, 2, 3, 5, 7, 8]), vec![(1, 3), (5, 5), (7, 8)]);
        assert_eq!(runs_text(&[(1, 3), (5, 5)]), "1:3,5");
        // COPYUID's uid-sets keep the order given (source and destination pair by position).
        assert_eq!(runs_text(&runs_of(&[7, 8, 2, 3, 9])), "7:8,2:3,9");
        let set = SequenceSet::parse("2:4,8:*").unwrap();
        assert_eq!(intersect(&[(1, 3), (5, 9)], &set, 9), vec![(2, 3), (8, 9)]);
        assert_eq!(subtract(&[(1, 5), (7, 7)], &[1, 3, 7]), vec![(2, 2), (4, 5)]);
        assert_eq!(subtract(&[(4, u32::MAX)], &[u32::MAX]), vec![(4, u32::MAX - 1)]);
    }

    #[test]
    fn modifiers() {
        let list = |text: &str| match crate::command::parse(format!("a NOOP {text}").into_bytes()) {
            Ok(command) => match &command.args[..] {
                [Token::List(items)] => items.clone(),
                _ => panic!("not a list: {text}"),
            },
            Err(error) => panic!("{error}"),
        };
        assert_eq!(
            FetchModifiers::parse(&list("(CHANGEDSINCE 12 VANISHED)")),
            Ok(FetchModifiers {
                changed_since: Some(12),
                vanished: true
            })
        );
        assert!(FetchModifiers::parse(&list("(VANISHED)")).is_err());
        assert!(FetchModifiers::parse(&list("(CHANGEDSINCE -1)")).is_err());
        assert!(FetchModifiers::parse(&list("(CHANGEDSINCE 9223372036854775808)")).is_err());
        assert_eq!(unchanged_since(&list("(UNCHANGEDSINCE 0)")), Ok(0));
        let params = SelectParams::parse(&list("(QRESYNC (7 12 1:9 (1:3 2,4:5)))")).unwrap();
        assert_eq!(params.qresync.map(|q| (q.uidvalidity, q.modseq)), Some((7, 12)));
        assert!(SelectParams::parse(&list("(QRESYNC (0 12))")).is_err());
        assert!(SelectParams::parse(&list("(QRESYNC (7 12 1:9 (1:3)))")).is_err());
        assert!(SelectParams::parse(&list("(FOO)")).is_err());
    }
}
