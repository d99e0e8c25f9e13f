//! FETCH and UID FETCH (RFC 9051 §6.4.5, §6.4.9): the data items, their macros, the
//! CONDSTORE modifiers (RFC 7162 §3.1.4.1 CHANGEDSINCE, §3.2.6 VANISHED) and the `* n FETCH`
//! response; BINARY's items are in `binary.rs`. Message structure comes from `mime.rs` and
//! `envelope.rs`, body sections from `section.rs`.

use std::io::Write;

use mailrig_store::{Flag, FlagOp, Flags, Message};

use crate::binary::BinaryItem;
use crate::command::{Command, Token};
use crate::completion::{Completion, Refusal};
use crate::condstore::{self, Condstore, FetchModifiers};
use crate::defect::{Defect, Defects};
use crate::envelope::envelope_of;
use crate::error::SyntaxError;
use crate::mime::{Part, body_structure_of};
use crate::objectid;
use crate::recent::{self, Recent};
use crate::response::{Responses, date_time};
use crate::section::BodyItem;
use crate::selected::Selection;
use crate::sequence::SequenceSet;
use crate::session::Session;

/// One FETCH data item this server knows (`fetch-att`, RFC 9051 §6.4.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Item {
    Flags,
    Uid,
    InternalDate,
    Size,
    /// `MODSEQ` (RFC 7162 §3.1.4.1).
    Modseq,
    /// `ENVELOPE`.
    Envelope,
    /// `BODYSTRUCTURE` (`extensible`) or `BODY`.
    Structure {
        extensible: bool,
    },
    /// `BODY[section]<partial>`, `BODY.PEEK[...]`, `RFC822`, `RFC822.HEADER`, `RFC822.TEXT`.
    Body(BodyItem),
    /// `BINARY[part]<partial>`, `BINARY.PEEK[...]`, `BINARY.SIZE[...]` (RFC 3516).
    Binary(BinaryItem),
    /// `EMAILID` (RFC 8474 §5.1).
    EmailId,
    /// `THREADID` (RFC 8474 §5.2), always `NIL`.
    ThreadId,
}

pub(crate) fn fetch_items(token: &Token) -> Result<Vec<Item>, Refusal> {
    let atoms: Vec<&Token> = match token {
        Token::List(items) => items.iter().collect(),
        atom => vec![atom],
    };
    let mut items = Vec::new();
    for atom in atoms {
        let Token::Atom(name) = atom else {
            return Err(SyntaxError::Arguments.into());
        };
        match name.to_ascii_uppercase().as_str() {
            "FAST" => items.extend([Item::Flags, Item::InternalDate, Item::Size]),
            "FLAGS" => items.push(Item::Flags),
            "UID" => items.push(Item::Uid),
            "INTERNALDATE" => items.push(Item::InternalDate),
            "RFC822.SIZE" => items.push(Item::Size),
            "MODSEQ" => items.push(Item::Modseq),
            "ALL" | "FULL" => {
                items.extend([Item::Flags, Item::InternalDate, Item::Size, Item::Envelope]);
                if name.eq_ignore_ascii_case("FULL") {
                    items.push(Item::Structure { extensible: false });
                }
            }
            "ENVELOPE" => items.push(Item::Envelope),
            "BODYSTRUCTURE" => items.push(Item::Structure { extensible: true }),
            "BODY" => items.push(Item::Structure { extensible: false }),
            "EMAILID" => items.push(Item::EmailId),
            "THREADID" => items.push(Item::ThreadId),
            other => match (BodyItem::parse(other), BinaryItem::parse(other)) {
                (Some(body), _) => items.push(Item::Body(body)),
                (None, Some(binary)) => items.push(Item::Binary(binary)),
                (None, None) => return Err(Refusal::bad(format!("unsupported FETCH item {other}"))),
            },
        }
    }
    Ok(items)
}

impl Session {
    /// `fetch = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" / fetch-att / "(" ... ")")
    /// [fetch-modifiers]` (RFC 7162 §3.1.4.1 CHANGEDSINCE, §3.2.6 VANISHED).
    pub(crate) fn fetch(
        &mut self,
        command: &Command,
        uid: bool,
        out: &mut Responses,
    ) -> Result<Completion, Refusal> {
        let (set, items, modifiers) = match &command.args[..] {
            [set, items] => (set, items, FetchModifiers::default()),
            [set, items, Token::List(modifiers)] => (set, items, FetchModifiers::parse(modifiers)?),
            _ => return Err(SyntaxError::Arguments.into()),
        };
        let mut items = fetch_items(items)?;
        let binary = items.iter().any(|item| matches!(item, Item::Binary(_)));
        if binary && !self.config.extensions.binary {
            return Err(Refusal::bad("unsupported FETCH item BINARY"));
        }
        let objectid = items
            .iter()
            .any(|item| matches!(item, Item::EmailId | Item::ThreadId));
        if objectid && !self.config.extensions.objectid {
            return Err(Refusal::bad("unsupported FETCH item EMAILID/THREADID"));
        }
        if modifiers.vanished {
            if !uid {
                return Err(Refusal::bad("VANISHED needs UID FETCH"));
            }
            self.require_qresync()?;
        }
        if modifiers.changed_since.is_some() && !items.contains(&Item::Modseq) {
            items.push(Item::Modseq);
        }
        if uid && !items.contains(&Item::Uid) {
            items.insert(0, Item::Uid);
        }
        if items.contains(&Item::Modseq) {
            self.enable_condstore(out)?;
        }
        let condstore = self.condstore;
        let Selection {
            store,
            login,
            name,
            selected,
            ..
        } = self.selection()?;
        let (positions, uids) = selected.named(set, uid)?;
        if binary {
            // RFC 3516 §4.2: NO [UNKNOWN-CTE] before any data, and without setting \Seen.
            for message in store.messages_with_uids(login, &name, &uids)? {
                check_binary(&message, &items)?;
            }
        }
        let marks_seen = items.iter().any(|item| match item {
            Item::Body(body) => !body.peek,
            Item::Binary(binary) => !binary.peek,
            _ => false,
        });
        if marks_seen && !selected.read_only() {
            // BODY[] sets \Seen (RFC 9051 §6.4.5); the new flags go in this response, with
            // UID and MODSEQ under CONDSTORE (RFC 7162 §3.1).
            let seen = Flags::from([Flag::Seen]);
            let update = store.store_flags(login, &name, &uids, FlagOp::Add, &seen, None)?;
            selected.note_own(update.changed.iter().map(|c| c.modseq));
            let mut implied = vec![Item::Flags];
            if condstore != Condstore::Off {
                implied.extend([Item::Uid, Item::Modseq]);
            }
            for item in implied {
                if !items.contains(&item) {
                    items.push(item);
                }
            }
        }
        if let (true, Some(since), Token::Atom(text)) = (modifiers.vanished, modifiers.changed_since, set) {
            // `*` may stand for UIDs above the last one left: ask about all of them.
            let asked = SequenceSet::parse(text)?;
            let gone = condstore::intersect(&selected.watch.expunged_since(since), &asked, u32::MAX);
            condstore::vanished(out, true, &condstore::subtract(&gone, selected.uids()));
        }
        let messages = store.messages_with_uids(login, &name, &uids)?;
        for (&i, &uid) in positions.iter().zip(&uids) {
            // A message expunged by another session but not yet reported is left out.
            if let Ok(found) = messages.binary_search_by_key(&uid, |m| m.uid) {
                let message = &messages[found];
                if modifiers.changed_since.is_none_or(|since| message.modseq > since) {
                    selected.report(out, i, message, &items, condstore);
                }
            }
        }
        Ok(Completion::ok(format!("{} completed", command.verb)))
    }
}

/// Whether every BINARY item of `items` can be decoded in `message`.
fn check_binary(message: &Message, items: &[Item]) -> Result<(), Refusal> {
    let tree = Part::parse(&message.raw);
    for item in items {
        if let Item::Binary(binary) = item {
            binary.decoded(&message.raw, &tree)?;
        }
    }
    Ok(())
}

/// `message-data = nz-number SP "FETCH" SP msg-att`, CRLF included, written straight into
/// `out` (the one encoder for it is [`Data::Fetch`](crate::data::Data::Fetch)). Writing to a
/// `Vec` cannot fail, so the results of `write!` are ignored.
pub(crate) fn fetch_response(
    out: &mut Vec<u8>,
    seq: usize,
    message: &Message,
    items: &[Item],
    recent: Option<&Recent>,
    defects: Defects,
) {
    let _ = write!(out, "* {seq} FETCH (");
    let raw = &message.raw[..];
    // The MIME tree, parsed once per message and only if an item needs it.
    let tree = std::cell::OnceCell::new();
    let parsed = || tree.get_or_init(|| Part::parse(raw));
    let mut seen = Vec::new();
    for item in items {
        if seen.contains(item) {
            continue;
        }
        seen.push(item.clone());
        if seen.len() > 1 {
            out.push(b' ');
        }
        let _ = match item {
            Item::Flags => write!(
                out,
                "FLAGS {}",
                recent::flag_list(recent, &message.flags, message.uid)
            ),
            Item::Uid => write!(out, "UID {}", message.uid),
            Item::InternalDate => write!(out, "INTERNALDATE {}", date_time(message.internal_date)),
            Item::Size if defects.has(Defect::WrongRfc822Size) => {
                let line_ends = raw.windows(2).filter(|w| w == b"\r\n").count() as u64;
                write!(out, "RFC822.SIZE {}", message.size - line_ends)
            }
            Item::Size => write!(out, "RFC822.SIZE {}", message.size),
            Item::Modseq => write!(out, "MODSEQ ({})", message.modseq),
            Item::EmailId if defects.has(Defect::EmailIdFromUid) => {
                write!(out, "EMAILID (E{})", message.uid)
            }
            Item::EmailId => write!(out, "EMAILID ({})", objectid::email_id(message)),
            Item::ThreadId => write!(out, "THREADID NIL"),
            Item::Envelope => {
                out.extend_from_slice(b"ENVELOPE ");
                out.extend_from_slice(&envelope_of(raw, parsed()));
                Ok(())
            }
            Item::Structure { extensible } => {
                out.extend_from_slice(if *extensible { b"BODYSTRUCTURE " } else { b"BODY " });
                out.extend_from_slice(&body_structure_of(raw, parsed(), *extensible));
                Ok(())
            }
            Item::Binary(binary) => {
                let encoded = defects.has(Defect::BinaryNotDecoded);
                binary.write(out, raw, parsed(), encoded);
                Ok(())
            }
            Item::Body(body) => {
                let bytes = body.extract_from(raw, &tree);
                let _ = write!(out, "{} {{{}}}\r\n", body.name, bytes.len());
                out.extend_from_slice(&bytes);
                Ok(())
            }
        };
    }
    out.extend_from_slice(b")\r\n");
}
