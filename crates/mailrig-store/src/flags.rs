//! Message flags (RFC 9051 §2.3.2): the five system flags and keywords. Flags compare
//! case-insensitively; system flags and registered keywords are stored in their RFC spelling.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

/// The system flags in RFC 9051 order, with their bit in [`Flags`].
const SYSTEM: [(Flag, &str, u8); 5] = [
    (Flag::Seen, "\\Seen", 1),
    (Flag::Answered, "\\Answered", 2),
    (Flag::Flagged, "\\Flagged", 4),
    (Flag::Deleted, "\\Deleted", 8),
    (Flag::Draft, "\\Draft", 16),
];

/// Keywords from the IANA "IMAP Keywords" registry (RFC 5788), stored in this spelling
/// whatever case a client uses.
const REGISTERED_KEYWORDS: [&str; 8] = [
    "$Forwarded",
    "$MDNSent",
    "$Junk",
    "$NotJunk",
    "$Phishing",
    "$Important",
    "$SubmitPending",
    "$Submitted",
];

/// One flag: a system flag or a keyword.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Flag {
    /// `\Seen`: the message has been read.
    Seen,
    /// `\Answered`: the message has been answered.
    Answered,
    /// `\Flagged`: the message is flagged for urgent or special attention.
    Flagged,
    /// `\Deleted`: the message is marked for removal by a later EXPUNGE.
    Deleted,
    /// `\Draft`: the message is a draft.
    Draft,
    /// A keyword such as `$Forwarded` or `Work`.
    Keyword(Keyword),
}

/// A keyword (RFC 9051 `flag-keyword`, an atom). Compares, orders and hashes ASCII
/// case-insensitively; registered keywords (`$Forwarded`, `$Junk`, ...) are normalised to their
/// registered spelling, others keep the spelling they were created with.
#[derive(Debug, Clone)]
pub struct Keyword(String);

/// A set of flags: system flags plus keywords, without duplicates (compared
/// case-insensitively). Iterates system flags in RFC order, then keywords alphabetically.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Flags {
    system: u8,
    keywords: BTreeSet<Keyword>,
}

/// How `store_flags` combines the given flags with a message's flags (RFC 9051 §6.4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagOp {
    /// `+FLAGS`: add them.
    Add,
    /// `-FLAGS`: remove them.
    Remove,
    /// `FLAGS`: replace the message's flags with them.
    Replace,
}

/// What [`Flags::contains`] looks for: a [`Flag`], or a flag's spelling such as `"\\Seen"`
/// (system flags in any case; a string that is no valid flag is never contained).
pub trait FlagQuery {
    /// The flag meant, if any.
    fn as_flag(&self) -> Option<Cow<'_, Flag>>;
}

/// Why a string is not a flag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlagError {
    /// Starts with `\` but is none of the five system flags (`\Recent` included: IMAP4rev2
    /// has no such flag and clients may never set it).
    #[error("unknown system flag {0:?}")]
    UnknownSystemFlag(String),
    /// Not an atom: empty, non-ASCII, or containing a space, control or `(){%*"\]`.
    #[error("invalid keyword {0:?}")]
    InvalidKeyword(String),
}

impl Flag {
    /// Its spelling: `\Seen`, ..., or the keyword.
    pub fn as_str(&self) -> &str {
        match self {
            Flag::Keyword(keyword) => keyword.as_str(),
            system => SYSTEM
                .iter()
                .find(|(flag, _, _)| flag == system)
                .map_or("", |(_, name, _)| name),
        }
    }

    /// Its bit in [`Flags`]; 0 for a keyword.
    fn bit(&self) -> u8 {
        SYSTEM
            .iter()
            .find(|(flag, _, _)| flag == self)
            .map_or(0, |(_, _, bit)| *bit)
    }
}

impl FromStr for Flag {
    type Err = FlagError;

    /// Parses `\Seen` (any case) or a keyword.
    fn from_str(text: &str) -> Result<Flag, FlagError> {
        if text.starts_with('\\') {
            return SYSTEM
                .iter()
                .find(|(_, name, _)| name.eq_ignore_ascii_case(text))
                .map(|(flag, _, _)| flag.clone())
                .ok_or_else(|| FlagError::UnknownSystemFlag(text.to_owned()));
        }
        Keyword::new(text).map(Flag::Keyword)
    }
}

impl FlagQuery for Flag {
    fn as_flag(&self) -> Option<Cow<'_, Flag>> {
        Some(Cow::Borrowed(self))
    }
}

impl FlagQuery for str {
    fn as_flag(&self) -> Option<Cow<'_, Flag>> {
        self.parse().ok().map(Cow::Owned)
    }
}

impl FlagQuery for String {
    fn as_flag(&self) -> Option<Cow<'_, Flag>> {
        self.as_str().as_flag()
    }
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Keyword {
    /// A keyword, if `text` is an IMAP atom (`1*ATOM-CHAR`) not starting with `\`.
    pub fn new(text: &str) -> Result<Keyword, FlagError> {
        let atom_char = |b: u8| b.is_ascii_graphic() && !b"(){%*\"\\]".contains(&b);
        if text.is_empty() || !text.bytes().all(atom_char) {
            return Err(FlagError::InvalidKeyword(text.to_owned()));
        }
        let registered = REGISTERED_KEYWORDS.iter().find(|k| k.eq_ignore_ascii_case(text));
        Ok(Keyword(registered.copied().unwrap_or(text).to_owned()))
    }

    /// Its spelling.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn folded(&self) -> impl Iterator<Item = u8> + '_ {
        self.0.bytes().map(|b| b.to_ascii_lowercase())
    }
}

impl PartialEq for Keyword {
    fn eq(&self, other: &Keyword) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}

impl Eq for Keyword {}

impl Ord for Keyword {
    fn cmp(&self, other: &Keyword) -> Ordering {
        self.folded().cmp(other.folded())
    }
}

impl PartialOrd for Keyword {
    fn partial_cmp(&self, other: &Keyword) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Hash for Keyword {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for b in self.folded() {
            state.write_u8(b);
        }
        state.write_u8(0xff);
    }
}

impl fmt::Display for Keyword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Flags {
    /// No flags.
    pub fn new() -> Flags {
        Flags::default()
    }

    /// Parses each string as a [`Flag`].
    pub fn parse<I, S>(flags: I) -> Result<Flags, FlagError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        flags.into_iter().map(|f| f.as_ref().parse::<Flag>()).collect()
    }

    /// Whether `flag` is set (keywords compared case-insensitively): `contains(&Flag::Seen)`
    /// or `contains("\\Seen")`.
    pub fn contains<Q: FlagQuery + ?Sized>(&self, flag: &Q) -> bool {
        match flag.as_flag().as_deref() {
            Some(Flag::Keyword(keyword)) => self.keywords.contains(keyword),
            Some(system) => self.system & system.bit() != 0,
            None => false,
        }
    }

    /// Sets `flag`; returns whether it was not set before. A keyword already present in
    /// another case keeps its first spelling.
    pub fn insert(&mut self, flag: Flag) -> bool {
        match flag {
            Flag::Keyword(keyword) => self.keywords.insert(keyword),
            system => {
                let bit = system.bit();
                let added = self.system & bit == 0;
                self.system |= bit;
                added
            }
        }
    }

    /// Clears `flag`; returns whether it was set.
    pub fn remove(&mut self, flag: &Flag) -> bool {
        match flag {
            Flag::Keyword(keyword) => self.keywords.remove(keyword),
            system => {
                let bit = system.bit();
                let removed = self.system & bit != 0;
                self.system &= !bit;
                removed
            }
        }
    }

    /// How many flags are set.
    pub fn len(&self) -> usize {
        self.system.count_ones() as usize + self.keywords.len()
    }

    /// Whether no flag is set.
    pub fn is_empty(&self) -> bool {
        self.system == 0 && self.keywords.is_empty()
    }

    /// Every flag: system flags in RFC 9051 order, then keywords alphabetically.
    pub fn iter(&self) -> impl Iterator<Item = Flag> + '_ {
        SYSTEM
            .iter()
            .filter(|(_, _, bit)| self.system & bit != 0)
            .map(|(flag, _, _)| flag.clone())
            .chain(self.keywords.iter().cloned().map(Flag::Keyword))
    }

    /// The keywords, alphabetically.
    pub fn keywords(&self) -> impl Iterator<Item = &Keyword> + '_ {
        self.keywords.iter()
    }

    /// The result of applying `op` with `flags` to these flags.
    pub fn apply(&self, op: FlagOp, flags: &Flags) -> Flags {
        match op {
            FlagOp::Replace => flags.clone(),
            FlagOp::Add => Flags {
                system: self.system | flags.system,
                keywords: self.keywords.union(&flags.keywords).cloned().collect(),
            },
            FlagOp::Remove => Flags {
                system: self.system & !flags.system,
                keywords: self.keywords.difference(&flags.keywords).cloned().collect(),
            },
        }
    }

    /// Replaces each keyword by the spelling it already has in `known`, adding the new ones
    /// to `known` (a mailbox's keyword table, so one mailbox uses one spelling).
    pub(crate) fn canonical_in(&self, known: &mut BTreeSet<Keyword>) -> Flags {
        let keywords = self
            .keywords
            .iter()
            .map(|keyword| match known.get(keyword) {
                Some(spelling) => spelling.clone(),
                None => {
                    known.insert(keyword.clone());
                    keyword.clone()
                }
            })
            .collect();
        Flags {
            system: self.system,
            keywords,
        }
    }
}

impl FromIterator<Flag> for Flags {
    fn from_iter<I: IntoIterator<Item = Flag>>(iter: I) -> Flags {
        let mut flags = Flags::new();
        flags.extend(iter);
        flags
    }
}

impl Extend<Flag> for Flags {
    fn extend<I: IntoIterator<Item = Flag>>(&mut self, iter: I) {
        for flag in iter {
            self.insert(flag);
        }
    }
}

impl<const N: usize> From<[Flag; N]> for Flags {
    fn from(flags: [Flag; N]) -> Flags {
        flags.into_iter().collect()
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Flags({self})")
    }
}

impl fmt::Display for Flags {
    /// Space-separated, as inside an IMAP `FLAGS (...)` list.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, flag) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(flag.as_str())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(list: &[&str]) -> Flags {
        Flags::parse(list).expect("valid flags")
    }

    #[test]
    fn system_flags_parse_in_any_case_and_print_canonically() {
        let parsed = flags(&["\\SEEN", "\\deleted", "\\Draft"]);
        assert_eq!(parsed.to_string(), "\\Seen \\Deleted \\Draft");
        assert!(parsed.contains(&Flag::Deleted));
        assert!(!parsed.contains(&Flag::Flagged));
        assert!(parsed.contains("\\deleted"));
        assert!(!parsed.contains("\\Recent"));
        assert!(!parsed.contains("not a flag"));
        assert_eq!(
            "\\Recent".parse::<Flag>(),
            Err(FlagError::UnknownSystemFlag("\\Recent".into()))
        );
    }

    #[test]
    fn keywords_compare_case_insensitively_and_registered_ones_are_normalised() {
        let parsed = flags(&["Work", "WORK", "$junk", "$MDNSENT"]);
        assert_eq!(parsed.len(), 3);
        assert_eq!(parsed.to_string(), "$Junk $MDNSent Work");
        assert!(parsed.contains(&"work".parse::<Flag>().expect("keyword")));
        assert_eq!(flags(&["a"]), flags(&["A"]));
    }

    #[test]
    fn keywords_must_be_atoms() {
        for bad in ["", "two words", "a]", "x(y", "caf\u{e9}", "a\"b", "*"] {
            assert_eq!(
                Keyword::new(bad),
                Err(FlagError::InvalidKeyword(bad.into())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn ops_are_idempotent() {
        let start = flags(&["\\Seen", "Work"]);
        let more = flags(&["\\Flagged", "work"]);
        let added = start.apply(FlagOp::Add, &more);
        assert_eq!(added, flags(&["\\Seen", "\\Flagged", "Work"]));
        assert_eq!(added.apply(FlagOp::Add, &more), added);
        let removed = added.apply(FlagOp::Remove, &more);
        assert_eq!(removed, flags(&["\\Seen"]));
        assert_eq!(removed.apply(FlagOp::Remove, &more), removed);
        assert_eq!(start.apply(FlagOp::Replace, &more), more);
        assert_eq!(more.apply(FlagOp::Replace, &more), more);
    }

    #[test]
    fn insert_and_remove_report_changes() {
        let mut set = Flags::new();
        assert!(set.insert(Flag::Seen));
        assert!(!set.insert(Flag::Seen));
        assert!(set.insert(Flag::Keyword(Keyword::new("Foo").expect("keyword"))));
        assert!(!set.insert(Flag::Keyword(Keyword::new("FOO").expect("keyword"))));
        assert_eq!(set.to_string(), "\\Seen Foo");
        assert!(set.remove(&Flag::Keyword(Keyword::new("foo").expect("keyword"))));
        assert!(set.remove(&Flag::Seen));
        assert!(!set.remove(&Flag::Seen));
        assert!(set.is_empty());
    }

    #[test]
    fn a_mailbox_keyword_table_fixes_one_spelling() {
        let mut known = BTreeSet::new();
        let first = flags(&["Project"]).canonical_in(&mut known);
        let second = flags(&["PROJECT", "Other"]).canonical_in(&mut known);
        assert_eq!(first.to_string(), "Project");
        assert_eq!(second.to_string(), "Other Project");
        assert_eq!(known.len(), 2);
    }
}
