//! Authenticated-state commands (RFC 9051 §6.3): SELECT, EXAMINE (§6.3.2–3), CREATE
//! (§6.3.4), DELETE (§6.3.5), RENAME (§6.3.6), SUBSCRIBE and UNSUBSCRIBE (§6.3.7–8),
//! LSUB (RFC 3501 §6.3.9), LIST (§6.3.9, with RFC 6154 special-use attributes and RFC 3348
//! child attributes), STATUS (§6.3.11), APPEND (§6.3.12, RFC 4315 APPENDUID); SELECT's
//! CONDSTORE and QRESYNC parameters and STATUS HIGHESTMODSEQ (RFC 7162 §3.1.2, §3.2.5).

use mailrig_store::{Flag, Flags, MailboxInfo, SEPARATOR, Snapshot, Watch};

use crate::command::{Command, Token};
use crate::condstore::{self, Condstore, Qresync, SelectParams};
use crate::error::SyntaxError;
use crate::response::{self, flag_list};
use crate::selected::Selected;
use crate::session::{Completion, Session};

impl Session {
    /// Runs an authenticated-state command.
    pub(crate) fn mailbox_command(
        &mut self,
        command: &Command,
        out: &mut Vec<u8>,
    ) -> Result<Completion, Completion> {
        match command.name.as_str() {
            "SELECT" => self.select(command, false, out),
            "EXAMINE" => self.select(command, true, out),
            "CREATE" => {
                let name = one_mailbox(command)?;
                let login = self.authenticated()?;
                self.store.create_mailbox(login, &name)?;
                Ok(Completion::ok("CREATE completed"))
            }
            "DELETE" => {
                let name = one_mailbox(command)?;
                let login = self.authenticated()?;
                self.store.delete_mailbox(login, &name)?;
                Ok(Completion::ok("DELETE completed"))
            }
            "RENAME" => {
                let [from, to] = &command.args[..] else {
                    return Err(SyntaxError::Arguments.into());
                };
                let (Some(from), Some(to)) = (from.astring(), to.astring()) else {
                    return Err(SyntaxError::Arguments.into());
                };
                let login = self.authenticated()?;
                self.store.rename_mailbox(login, &from, &to)?;
                Ok(Completion::ok("RENAME completed"))
            }
            "SUBSCRIBE" | "UNSUBSCRIBE" => {
                let name = one_mailbox(command)?;
                let login = self.authenticated()?;
                if command.name == "SUBSCRIBE" {
                    self.store.subscribe(login, &name)?;
                } else {
                    self.store.unsubscribe(login, &name)?;
                }
                Ok(Completion::ok(format!("{} completed", command.name)))
            }
            "LIST" | "LSUB" => self.list(command, out),
            "STATUS" => self.status(command, out),
            _ => self.append(command),
        }
    }

    /// `select = "SELECT" SP mailbox [select-params]`; `examine` likewise, read-only.
    fn select(
        &mut self,
        command: &Command,
        read_only: bool,
        out: &mut Vec<u8>,
    ) -> Result<Completion, Completion> {
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
        if self.selected.take().is_some() && self.condstore == Condstore::Qresync {
            // RFC 7162 §3.2.11: what follows is about the new mailbox.
            out.extend_from_slice(b"* OK [CLOSED] Previous mailbox closed\r\n");
        }
        if params.condstore {
            self.enable_condstore(out);
        }
        let login = self.authenticated()?;
        let mut watch = self.store.watch(login, &name)?;
        let snapshot = watch.snapshot()?;
        let mut flags = Flags::from([
            Flag::Answered,
            Flag::Flagged,
            Flag::Deleted,
            Flag::Seen,
            Flag::Draft,
        ]);
        for keyword in &snapshot.keywords {
            flags.insert(Flag::Keyword(keyword.clone()));
        }
        let list = flag_list(&flags);
        let permanent = if read_only {
            "()".to_owned()
        } else {
            format!("{} \\*)", &list[..list.len() - 1])
        };
        let unseen = snapshot
            .messages
            .iter()
            .position(|m| !m.flags.contains(&Flag::Seen));
        let mut text = format!(
            "* FLAGS {list}\r\n* {} EXISTS\r\n* 0 RECENT\r\n",
            snapshot.messages.len()
        );
        if let Some(unseen) = unseen {
            text.push_str(&format!("* OK [UNSEEN {}] first unseen\r\n", unseen + 1));
        }
        text.push_str(&format!(
            "* OK [UIDVALIDITY {}] UIDs valid\r\n* OK [UIDNEXT {}] predicted next UID\r\n\
             * OK [PERMANENTFLAGS {permanent}] limited\r\n",
            snapshot.uidvalidity, snapshot.uidnext
        ));
        if self.condstore != Condstore::Off {
            // RFC 7162 §3.1.2.1; never NOMODSEQ, since every mailbox has modseqs.
            text.push_str(&format!(
                "* OK [HIGHESTMODSEQ {}] Highest\r\n",
                snapshot.highestmodseq
            ));
        }
        out.extend_from_slice(text.as_bytes());
        if let Some(qresync) = params.qresync.filter(|q| q.uidvalidity == snapshot.uidvalidity) {
            resynchronize(out, &watch, &snapshot, &qresync);
        }
        let uids = snapshot.messages.iter().map(|m| m.uid).collect();
        self.selected = Some(Selected::new(watch, uids, read_only));
        Ok(if read_only {
            Completion::ok("[READ-ONLY] EXAMINE completed")
        } else {
            Completion::ok("[READ-WRITE] SELECT completed")
        })
    }

    /// `list = "LIST" SP mailbox SP list-mailbox`.
    fn list(&mut self, command: &Command, out: &mut Vec<u8>) -> Result<Completion, Completion> {
        let [reference, pattern] = &command.args[..] else {
            return Err(SyntaxError::Arguments.into());
        };
        let (Some(reference), Some(pattern)) = (reference.astring(), pattern.astring()) else {
            return Err(SyntaxError::Arguments.into());
        };
        if pattern.is_empty() {
            let line = format!("* {} (\\Noselect) \"{SEPARATOR}\" \"\"\r\n", command.name);
            out.extend_from_slice(line.as_bytes());
            return Ok(Completion::ok(format!("{} completed", command.name)));
        }
        let login = self.authenticated()?;
        let pattern = format!("{reference}{pattern}");
        if command.name == "LSUB" {
            // RFC 3501 §6.3.9 (LSUB is deprecated in RFC 9051): subscribed names only.
            for name in self.store.subscriptions(login)? {
                if wildcard_match(pattern.as_bytes(), name.as_bytes()) {
                    out.extend_from_slice(format!("* LSUB () \"{SEPARATOR}\" ").as_bytes());
                    response::string(out, name.as_bytes());
                    out.extend_from_slice(b"\r\n");
                }
            }
            return Ok(Completion::ok("LSUB completed"));
        }
        for info in self.store.list_mailboxes(login)? {
            if wildcard_match(pattern.as_bytes(), info.name.as_bytes()) {
                list_line(out, &info);
            }
        }
        Ok(Completion::ok("LIST completed"))
    }

    /// `status = "STATUS" SP mailbox SP "(" status-att *(SP status-att) ")"`.
    fn status(&mut self, command: &Command, out: &mut Vec<u8>) -> Result<Completion, Completion> {
        let [mailbox, Token::List(items)] = &command.args[..] else {
            return Err(SyntaxError::Arguments.into());
        };
        let name = mailbox.astring().ok_or(SyntaxError::Arguments)?;
        let highestmodseq =
            |item: &Token| matches!(item, Token::Atom(a) if a.eq_ignore_ascii_case("HIGHESTMODSEQ"));
        if items.iter().any(highestmodseq) {
            // RFC 7162 §3.1: a CONDSTORE-enabling command.
            self.enable_condstore(out);
        }
        let login = self.authenticated()?;
        let status = self.store.status(login, &name)?;
        let mut parts = Vec::new();
        for item in items {
            let Token::Atom(item) = item else {
                return Err(SyntaxError::Arguments.into());
            };
            let item = item.to_ascii_uppercase();
            let value = match item.as_str() {
                "MESSAGES" => status.messages as u64,
                "UIDNEXT" => u64::from(status.uidnext),
                "UIDVALIDITY" => u64::from(status.uidvalidity),
                "UNSEEN" => status.unseen as u64,
                "DELETED" => status.deleted as u64,
                "SIZE" => status.size,
                "HIGHESTMODSEQ" => status.highestmodseq,
                "RECENT" => 0,
                _ => return Err(Completion::bad(format!("unknown STATUS item {item}"))),
            };
            parts.push(format!("{item} {value}"));
        }
        out.extend_from_slice(b"* STATUS ");
        response::string(out, name.as_bytes());
        out.extend_from_slice(format!(" ({})\r\n", parts.join(" ")).as_bytes());
        Ok(Completion::ok("STATUS completed"))
    }

    /// `append = "APPEND" SP mailbox [SP flag-list] [SP date-time] SP literal`.
    fn append(&mut self, command: &Command) -> Result<Completion, Completion> {
        let (mailbox, rest) = command.args.split_first().ok_or(SyntaxError::Arguments)?;
        let (message, options) = rest.split_last().ok_or(SyntaxError::Arguments)?;
        let (Some(name), Token::String(message)) = (mailbox.astring(), message) else {
            return Err(SyntaxError::Arguments.into());
        };
        let mut flags = Flags::new();
        let mut date = self.now;
        let mut options = options.iter();
        let mut next = options.next();
        if let Some(Token::List(list)) = next {
            flags = parse_flags(list)?;
            next = options.next();
        }
        if let Some(Token::String(text)) = next {
            let text = std::str::from_utf8(text).map_err(|_| SyntaxError::Arguments)?;
            date = response::parse_date_time(text).ok_or(SyntaxError::Arguments)?;
            next = options.next();
        }
        if next.is_some() {
            return Err(SyntaxError::Arguments.into());
        }
        let login = self.authenticated()?;
        let appended = self.store.append(login, &name, message.clone(), flags, date)?;
        Ok(Completion::ok(format!(
            "[APPENDUID {} {}] APPEND completed",
            appended.uidvalidity, appended.uid
        )))
    }
}

/// SELECT's QRESYNC answer (RFC 7162 §3.2.5): `* VANISHED (EARLIER)` for the known UIDs
/// expunged since the client's modseq, then `FETCH (UID FLAGS MODSEQ)` for the messages
/// changed since then.
fn resynchronize(out: &mut Vec<u8>, watch: &Watch, snapshot: &Snapshot, qresync: &Qresync) {
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
            let line = format!(
                "* {} FETCH (UID {} FLAGS {} MODSEQ ({}))\r\n",
                i + 1,
                message.uid,
                flag_list(&message.flags),
                message.modseq
            );
            out.extend_from_slice(line.as_bytes());
        }
    }
}

/// The single `mailbox` argument of CREATE, DELETE, SUBSCRIBE, UNSUBSCRIBE.
fn one_mailbox(command: &Command) -> Result<String, Completion> {
    match &command.args[..] {
        [name] => name.astring().ok_or_else(|| SyntaxError::Arguments.into()),
        _ => Err(SyntaxError::Arguments.into()),
    }
}

/// `flag-list` contents: system flags and keywords (`\Recent` cannot be set).
pub(crate) fn parse_flags(tokens: &[Token]) -> Result<Flags, Completion> {
    let mut names = Vec::new();
    for token in tokens {
        match token {
            Token::Atom(name) => names.push(name.as_str()),
            _ => return Err(Completion::bad("invalid flag")),
        }
    }
    Flags::parse(names).map_err(|e| Completion::bad(e.to_string()))
}

/// `mailbox-list = "(" [mbx-list-flags] ")" SP (DQUOTE QUOTED-CHAR DQUOTE / nil) SP mailbox`.
fn list_line(out: &mut Vec<u8>, info: &MailboxInfo) {
    let mut attributes = vec![if info.has_children {
        "\\HasChildren"
    } else {
        "\\HasNoChildren"
    }];
    if let Some(special_use) = info.special_use {
        attributes.push(special_use.as_str());
    }
    out.extend_from_slice(format!("* LIST ({}) \"{SEPARATOR}\" ", attributes.join(" ")).as_bytes());
    response::string(out, info.name.as_bytes());
    out.extend_from_slice(b"\r\n");
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
