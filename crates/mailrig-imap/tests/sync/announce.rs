//! What a session has been told about its mailbox as a whole, and the model's rules for it:
//! the `FLAGS` and `PERMANENTFLAGS` announcements that must come before any FETCH carrying a
//! keyword (RFC 9051 §7.3.5, §7.1), and `\Recent` (RFC 3501 §2.3.2: a message is recent in
//! exactly one session, the first to be notified of it; EXAMINE must not take `\Recent` away,
//! §6.3.2, so a read-only session sees as recent what no session has claimed, without claiming
//! it).
//!
//! `\Recent` is modelled as the store's high-water mark per mailbox would have it if it were
//! right: a read-write session claims every unclaimed message up to the highest UID it has
//! been told exists, at SELECT and at each EXISTS; UIDs only ascend and every session hears of
//! new messages in UID order, so the unclaimed messages are exactly those above the mark.

use std::collections::BTreeSet;

use crate::model::Mailbox;
use crate::reader::FlagSet;

/// The system flags every mailbox's `FLAGS` lists (RFC 9051 §2.3.2).
pub(crate) const SYSTEM: [&str; 5] = ["\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"];

type Checked<T = ()> = Result<T, String>;

/// One session's view of its mailbox beyond single messages.
#[derive(Debug, Clone, Default)]
pub(crate) struct Heard {
    /// Opened with EXAMINE.
    pub(crate) read_only: bool,
    /// The last `* FLAGS` list.
    flags: FlagSet,
    /// The last `PERMANENTFLAGS` list.
    permanent: FlagSet,
    /// The UIDs recent in this session.
    recent: BTreeSet<u32>,
}

/// Whether `flag` is a keyword (not a system flag, RFC 9051 §2.3.2).
pub(crate) fn is_keyword(flag: &str) -> bool {
    !flag.starts_with('\\')
}

/// The flags of a `flag-list` text `(a b c)`.
fn flag_list(text: &str) -> Option<FlagSet> {
    let inner = text.strip_prefix('(')?.strip_suffix(')')?;
    Some(inner.split_whitespace().map(str::to_owned).collect())
}

impl Heard {
    pub(crate) fn new(read_only: bool) -> Heard {
        Heard {
            read_only,
            ..Heard::default()
        }
    }

    /// A new selection: nothing heard yet, nothing recent.
    pub(crate) fn reset(&mut self) {
        *self = Heard::new(self.read_only);
    }

    /// `* FLAGS (...)`: the system flags and every keyword announced so far (a FLAGS update
    /// never withdraws a keyword a message still carries; the model only requires the ones
    /// already announced to stay).
    pub(crate) fn flags_line(&mut self, text: &str) -> Checked {
        let list = text.strip_prefix("FLAGS ").and_then(flag_list);
        let list = list.ok_or(format!("bad * {text}"))?;
        if let Some(missing) = SYSTEM.iter().find(|f| !list.contains(**f)) {
            return Err(format!("* {text} leaves out {missing}"));
        }
        if let Some(gone) = self.flags.iter().find(|f| !list.contains(*f)) {
            return Err(format!("* {text} withdrew {gone}, announced before"));
        }
        self.flags = list;
        Ok(())
    }

    /// `* OK [PERMANENTFLAGS (...)]`: empty for a read-only selection; otherwise every flag
    /// FLAGS listed and `\*` (clients may create keywords; RFC 9051 §7.1).
    pub(crate) fn permanent_code(&mut self, list: &str) -> Checked {
        let list = flag_list(list).ok_or(format!("bad PERMANENTFLAGS {list}"))?;
        if self.read_only {
            if !list.is_empty() {
                return Err(format!("read-only selection: PERMANENTFLAGS {list:?}"));
            }
            return Ok(());
        }
        let mut expected = self.flags.clone();
        expected.insert("\\*".to_owned());
        if list != expected {
            return Err(format!("PERMANENTFLAGS {list:?} after FLAGS {:?}", self.flags));
        }
        self.permanent = list;
        Ok(())
    }

    /// `* n RECENT`: how many of the session's messages are recent in it.
    pub(crate) fn recent_line(&self, n: usize, told: &[u32]) -> Checked {
        let expected = told.iter().filter(|u| self.recent.contains(u)).count();
        if n != expected {
            return Err(format!(
                "{n} RECENT, the model {expected} (recent UIDs {:?}, known {told:?})",
                self.recent
            ));
        }
        Ok(())
    }

    /// The session has been told (SELECT, EXISTS) that `told` exist: a read-write session
    /// claims the unclaimed ones, a read-only one notes them as recent.
    pub(crate) fn claim(&mut self, mailbox: &mut Mailbox, told: &[u32]) {
        let mark = mailbox.recent_mark;
        let unclaimed = told.iter().copied().filter(|&u| u > mark);
        self.recent.extend(unclaimed);
        if let (false, Some(&last)) = (self.read_only, told.last()) {
            mailbox.recent_mark = mark.max(last);
        }
    }

    /// A FETCH told `flags` for `uid`: `\Recent` exactly when it is recent here, and every
    /// keyword announced by FLAGS (and, read-write, PERMANENTFLAGS) first (RFC 9051 §7.3.5).
    pub(crate) fn fetch_flags(&self, uid: u32, flags: &FlagSet) -> Checked {
        let recent = flags.contains("\\Recent");
        if recent != self.recent.contains(&uid) {
            return Err(format!(
                "UID {uid} FLAGS {flags:?}: \\Recent {}expected (recent here: {:?})",
                if recent { "not " } else { "" },
                self.recent
            ));
        }
        for keyword in flags.iter().filter(|f| is_keyword(f)) {
            if !self.flags.contains(keyword) {
                return Err(format!(
                    "UID {uid} FLAGS {flags:?}: {keyword} before a * FLAGS listing it \
                     (last: {:?})",
                    self.flags
                ));
            }
            if !self.read_only && !self.permanent.contains(keyword) {
                return Err(format!(
                    "UID {uid} FLAGS {flags:?}: {keyword} before a PERMANENTFLAGS listing it"
                ));
            }
        }
        Ok(())
    }

    /// After SELECT: FLAGS listed every keyword a message in the mailbox carries.
    pub(crate) fn covers(&self, mailbox: &Mailbox) -> Checked {
        let carried = mailbox
            .messages
            .iter()
            .filter(|m| !m.expunged)
            .flat_map(|m| m.current().flags.iter());
        match carried
            .filter(|f| is_keyword(f))
            .find(|f| !self.flags.contains(*f))
        {
            Some(keyword) => Err(format!("SELECT's FLAGS {:?} lack {keyword}", self.flags)),
            None => Ok(()),
        }
    }
}
