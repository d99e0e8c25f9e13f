//! APPEND (RFC 9051 §6.3.12, RFC 4315 APPENDUID) and MULTIAPPEND (RFC 3502): one or more
//! messages, each with optional flags and internal date, stored all or none. A message is a
//! literal (a `literal8` with BINARY) or, with CATENATE, made of parts (`catenate.rs`).
//!
//! Read first: RFC 3502 §6.3.11 ("If the server is unable to append all of the messages
//! ... the server MUST NOT add any of the messages to the mailbox"), RFC 4315 §3
//! (`APPENDUID uidvalidity uid-set` for several messages).

use std::sync::Arc;

use mailrig_store::Flags;

use crate::command::{Command, Token};
use crate::completion::{Completion, Refusal};
use crate::defect::Defect;
use crate::error::SyntaxError;
use crate::mailbox::parse_flags;
use crate::response;
use crate::session::Session;
use crate::storage::Operation;

/// One message of an APPEND, as the client gave it.
#[derive(Debug)]
pub(crate) struct NewMessage {
    /// `flag-list`, empty if none was given.
    pub(crate) flags: Flags,
    /// `date-time`, or now.
    pub(crate) date: i64,
    /// The message.
    pub(crate) data: Vec<u8>,
}

impl Session {
    /// `append = "APPEND" SP mailbox 1*append-message` (RFC 3502 §6.3.11), `append-message =
    /// [SP flag-list] [SP date-time] SP literal`: the message is a `literal`, never a quoted
    /// string (RFC 9051 §9 `append-data`). Without MULTIAPPEND only one message is allowed.
    pub(crate) fn append(&mut self, command: &mut Command) -> Result<Completion, Refusal> {
        let (mailbox, _) = command.args.split_first().ok_or(SyntaxError::Arguments)?;
        let name = mailbox.astring().ok_or(SyntaxError::Arguments)?;
        let (messages, error) = self.append_messages(command);
        if let Some(error) = error {
            if self.config.defects.has(Defect::MultiappendNotAtomic) && !messages.is_empty() {
                // The messages read before the bad one are kept.
                let login = self.authenticated()?;
                let items = messages
                    .into_iter()
                    .map(|m| (Arc::<[u8]>::from(m.data), m.flags, m.date));
                self.store.append_all(login, &name, items.collect())?;
            }
            return Err(error);
        }
        let login = self.authenticated()?;
        // All are asked about before any is stored: a refusal stores nothing.
        for message in &messages {
            let operation = Operation::Append {
                mailbox: &name,
                size: message.data.len(),
                flags: &message.flags,
            };
            self.config.storage.check(login, &operation)?;
        }
        let bytes = messages.iter().map(|m| m.data.len() as u64).sum();
        self.check_quota(bytes, messages.len() as u64)?;
        let items = messages
            .into_iter()
            .map(|m| (Arc::<[u8]>::from(m.data), m.flags, m.date))
            .collect();
        let appended = self
            .store
            .append_all(login, &name, items)
            .map_err(Refusal::try_create)?;
        let (Some(first), Some(last)) = (appended.first(), appended.last()) else {
            return Err(SyntaxError::Arguments.into());
        };
        if let Some(selected) = self.selected.as_mut()
            && selected.watch.uidvalidity() == first.uidvalidity
        {
            selected.own_arrivals.extend(appended.iter().map(|a| a.uid));
        }
        if !self.config.extensions.uidplus {
            return Ok(Completion::ok("APPEND completed"));
        }
        // RFC 4315 §3 `append-uid = uid-set` with MULTIAPPEND; the UIDs are consecutive.
        let uids = if first.uid == last.uid {
            first.uid.to_string()
        } else {
            format!("{}:{}", first.uid, last.uid)
        };
        let code = format!("APPENDUID {} {uids}", first.uidvalidity);
        Ok(Completion::ok("APPEND completed").with_code(code))
    }

    /// The `append-message`s after the mailbox: at least one, several only with MULTIAPPEND.
    /// A bad one ends the list: the messages before it, and the error.
    fn append_messages(&self, command: &mut Command) -> (Vec<NewMessage>, Option<Refusal>) {
        let mut messages = Vec::new();
        let mut i = 1;
        while i < command.args.len() {
            if !messages.is_empty() && !self.config.extensions.multiappend {
                return (messages, Some(SyntaxError::Arguments.into()));
            }
            match self.append_message(command, &mut i) {
                Ok(message) => messages.push(message),
                Err(error) => return (messages, Some(error)),
            }
        }
        let error = messages.is_empty().then(|| SyntaxError::Arguments.into());
        (messages, error)
    }

    /// `append-message = [SP flag-list] [SP date-time] SP append-data` at argument `*i`,
    /// which is moved past it; `append-data` is a literal or, with CATENATE, its parts.
    fn append_message(&self, command: &mut Command, i: &mut usize) -> Result<NewMessage, Refusal> {
        let args = &command.args;
        let mut flags = Flags::new();
        let mut date = self.now;
        if let Some(Token::List(list)) = args.get(*i) {
            flags = parse_flags(list)?;
            *i += 1;
        }
        if let Some(Token::String(text)) = args.get(*i).filter(|_| !command.is_literal(*i)) {
            let text = std::str::from_utf8(text).map_err(|_| SyntaxError::Arguments)?;
            date = response::parse_date_time(text).ok_or(SyntaxError::Arguments)?;
            *i += 1;
        }
        let data = match (args.get(*i), args.get(*i + 1)) {
            (Some(Token::String(_)), _) if command.is_literal(*i) => {
                // Taken, not copied: a large literal is then held once until the store's copy.
                match command.args.get_mut(*i) {
                    Some(Token::String(data)) => std::mem::take(data),
                    _ => Vec::new(),
                }
            }
            // RFC 4469 §5: `append-data =/ "CATENATE" SP "(" cat-part *(SP cat-part) ")"`.
            (Some(Token::Atom(catenate)), Some(Token::List(parts)))
                if catenate.eq_ignore_ascii_case("CATENATE") && self.config.extensions.catenate =>
            {
                *i += 1;
                self.catenate(parts)?
            }
            _ => return Err(SyntaxError::Arguments.into()),
        };
        *i += 1;
        Ok(NewMessage { flags, date, data })
    }
}
