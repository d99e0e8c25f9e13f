//! Mailbox names (RFC 9051 §5.1): `/` separates levels, INBOX is case-insensitive; and the
//! special-use attributes of RFC 6154 / RFC 8457.

use std::borrow::Cow;
use std::fmt;

use crate::StoreError;

/// The hierarchy separator.
pub const SEPARATOR: char = '/';

/// The name of the primary mailbox, in its canonical spelling.
pub const INBOX: &str = "INBOX";

/// The mailboxes every new user gets, with their special use. All are subscribed.
pub const DEFAULT_MAILBOXES: [(&str, Option<SpecialUse>); 5] = [
    (INBOX, None),
    ("Sent", Some(SpecialUse::Sent)),
    ("Drafts", Some(SpecialUse::Drafts)),
    ("Trash", Some(SpecialUse::Trash)),
    ("Junk", Some(SpecialUse::Junk)),
];

/// A special-use mailbox attribute (RFC 6154 §2; `\Important` from RFC 8457).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SpecialUse {
    /// `\All`: every message.
    All,
    /// `\Archive`: archived messages.
    Archive,
    /// `\Drafts`: drafts.
    Drafts,
    /// `\Flagged`: flagged messages.
    Flagged,
    /// `\Important`: messages deemed important (RFC 8457).
    Important,
    /// `\Junk`: junk mail.
    Junk,
    /// `\Sent`: sent messages.
    Sent,
    /// `\Trash`: deleted messages.
    Trash,
}

const SPECIAL_USES: [(SpecialUse, &str); 8] = [
    (SpecialUse::All, "\\All"),
    (SpecialUse::Archive, "\\Archive"),
    (SpecialUse::Drafts, "\\Drafts"),
    (SpecialUse::Flagged, "\\Flagged"),
    (SpecialUse::Important, "\\Important"),
    (SpecialUse::Junk, "\\Junk"),
    (SpecialUse::Sent, "\\Sent"),
    (SpecialUse::Trash, "\\Trash"),
];

impl SpecialUse {
    /// Its attribute as LIST shows it: `\Sent`, ...
    pub fn as_str(self) -> &'static str {
        SPECIAL_USES
            .iter()
            .find(|(use_, _)| *use_ == self)
            .map_or("", |(_, name)| name)
    }

    /// Parses `\Sent` (any case); `None` for anything else.
    pub fn parse(text: &str) -> Option<SpecialUse> {
        SPECIAL_USES
            .iter()
            .find(|(_, name)| name.eq_ignore_ascii_case(text))
            .map(|(use_, _)| *use_)
    }
}

impl fmt::Display for SpecialUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name a mailbox is stored under: a first level spelled `inbox` in any case becomes
/// `INBOX`. Other levels are case-sensitive.
pub(crate) fn canonical(name: &str) -> Cow<'_, str> {
    let (first, rest) = match name.split_once(SEPARATOR) {
        Some((first, _)) => (first, &name[first.len()..]),
        None => (name, ""),
    };
    if first.eq_ignore_ascii_case(INBOX) && first != INBOX {
        Cow::Owned(format!("{INBOX}{rest}"))
    } else {
        Cow::Borrowed(name)
    }
}

/// Checks a name for a new mailbox and returns its canonical form. One trailing separator is
/// dropped (RFC 9051 §6.3.4: it only declares that inferior names will follow).
pub(crate) fn new_name(name: &str) -> Result<String, StoreError> {
    let invalid = |reason| StoreError::InvalidMailboxName {
        name: name.to_owned(),
        reason,
    };
    let trimmed = name.strip_suffix(SEPARATOR).unwrap_or(name);
    if trimmed.is_empty() {
        return Err(invalid("empty"));
    }
    if trimmed.split(SEPARATOR).any(str::is_empty) {
        return Err(invalid("empty level"));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(invalid("control character"));
    }
    if trimmed.contains(['%', '*']) {
        return Err(invalid("wildcard character"));
    }
    Ok(canonical(trimmed).into_owned())
}

/// The names above `name`, outermost first: `a/b/c` → `a`, `a/b`.
pub(crate) fn ancestors(name: &str) -> impl Iterator<Item = &str> {
    name.match_indices(SEPARATOR).map(|(i, _)| &name[..i])
}

/// Whether `name` is `parent` or below it.
pub(crate) fn is_within(name: &str, parent: &str) -> bool {
    name.strip_prefix(parent)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(SEPARATOR))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inbox_is_case_insensitive_as_the_first_level_only() {
        assert_eq!(canonical("inbox"), "INBOX");
        assert_eq!(canonical("Inbox/Lists"), "INBOX/Lists");
        assert_eq!(canonical("Lists/inbox"), "Lists/inbox");
        assert_eq!(canonical("INBOXES"), "INBOXES");
        assert_eq!(canonical("Sent"), "Sent");
    }

    #[test]
    fn new_names_are_checked() {
        assert_eq!(new_name("Archive/2026/").as_deref(), Ok("Archive/2026"));
        assert_eq!(new_name("inbox/x").as_deref(), Ok("INBOX/x"));
        for (bad, reason) in [
            ("", "empty"),
            ("/", "empty"),
            ("a//b", "empty level"),
            ("/a", "empty level"),
            ("a\tb", "control character"),
            ("a*", "wildcard character"),
            ("50%", "wildcard character"),
        ] {
            assert_eq!(
                new_name(bad),
                Err(StoreError::InvalidMailboxName {
                    name: bad.into(),
                    reason
                }),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn hierarchy_helpers() {
        assert_eq!(ancestors("a/b/c").collect::<Vec<_>>(), ["a", "a/b"]);
        assert_eq!(ancestors("a").count(), 0);
        assert!(is_within("a/b", "a"));
        assert!(is_within("a", "a"));
        assert!(!is_within("ab", "a"));
    }

    #[test]
    fn special_uses_round_trip() {
        for (use_, name) in SPECIAL_USES {
            assert_eq!(SpecialUse::parse(name), Some(use_));
            assert_eq!(use_.to_string(), name);
        }
        assert_eq!(SpecialUse::parse("\\sent"), Some(SpecialUse::Sent));
        assert_eq!(SpecialUse::parse("\\Inbox"), None);
    }
}
