//! SEARCH and UID SEARCH (RFC 9051 §6.4.4): flags, sizes, sequence and UID sets, internal
//! and sent dates, header and text substrings, NOT/OR/parenthesized AND groups, IMAP4rev1's
//! RECENT/NEW/OLD (RFC 3501 §6.4.4), and MODSEQ (RFC 7162 §3.1.5). Answered with RFC 3501
//! §7.2.5 `* SEARCH` in IMAP4rev1 (plus `(MODSEQ n)` when MODSEQ was searched), and with RFC
//! 9051 §7.3.4 `* ESEARCH` (`RETURN (MIN MAX ALL COUNT)`, plus `MODSEQ n`) in IMAP4rev2 and,
//! for a SEARCH with RETURN, in IMAP4rev1 with the ESEARCH extension (RFC 4731 §3.1).

use mailrig_store::{Flag, Message};

use crate::command::{Command, Token};
use crate::completion::{Completion, Refusal};
use crate::condstore::mod_sequence;
use crate::data::{Data, Esearch};
use crate::defect::Defect;
use crate::envelope::address_texts;
use crate::error::SyntaxError;
use crate::objectid;
use crate::recent::Recent;
use crate::response::{Responses, parse_date};
use crate::section::{body, field_name, fields};
use crate::selected::Selection;
use crate::sequence::SequenceSet;
use crate::session::Session;

/// How deep NOT/OR/groups may nest (a long `NOT NOT NOT ...` chain must not overflow the
/// stack).
const MAX_DEPTH: usize = 64;

/// `search-key`, the subset this server understands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Key {
    All,
    Flag(Flag, bool),
    Larger(u64),
    Smaller(u64),
    Sequence(SequenceSet),
    /// The messages a sequence set named when a kept search was made (UIDs, ascending).
    Messages(Vec<u32>),
    Uid(SequenceSet),
    /// BEFORE/ON/SINCE on the internal date: (start of day, which).
    Date(i64, DateTest),
    /// SENTBEFORE/SENTON/SENTSINCE on the `Date:` header's day (the internal date's for a
    /// message without a readable one).
    Sent(i64, DateTest),
    /// MODSEQ: a modification sequence at least this.
    Modseq(u64),
    /// A header field (empty name: any of SUBJECT/FROM/...) containing a string.
    Header(String, Vec<u8>),
    /// FROM/TO/CC/BCC: an address field containing a string, in its text or in one of its
    /// addresses as the envelope reads it.
    Address(String, Vec<u8>),
    Body(Vec<u8>),
    Text(Vec<u8>),
    /// `RECENT` (`true`) or `OLD` (`false`): this session's `\Recent` messages or not.
    Recent(bool),
    /// `EMAILID` (RFC 8474 §6): the message with this store-wide number (`None`: an id this
    /// server never gives, matching nothing).
    EmailId(Option<u64>),
    /// `THREADID` (RFC 8474 §6): matches nothing, since every `THREADID` is `NIL`.
    ThreadId,
    Not(Box<Key>),
    Or(Box<Key>, Box<Key>),
    And(Vec<Key>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DateTest {
    Before,
    On,
    Since,
}

impl Session {
    /// `search = "SEARCH" [SP "CHARSET" SP charset] 1*(SP search-key)`.
    pub(crate) fn search(
        &mut self,
        command: &Command,
        uid: bool,
        out: &mut Responses,
    ) -> Result<Completion, Refusal> {
        let mut args = &command.args[..];
        // Without RETURN, ESEARCH answers with ALL (RFC 9051 §6.4.4).
        let mut returns = Returns {
            all: true,
            ..Returns::default()
        };
        let context = self.context_search();
        // RFC 4731 §3.1: in IMAP4rev1, only a SEARCH with RETURN gets an ESEARCH answer.
        let mut esearch = self.rev2;
        if let [Token::Atom(word), Token::List(options), rest @ ..] = args
            && (self.rev2 || self.config.extensions.esearch)
            && word.eq_ignore_ascii_case("RETURN")
        {
            returns = Returns::parse(options, context)?;
            esearch = true;
            args = rest;
        }
        if let [Token::Atom(charset), name, rest @ ..] = args
            && charset.eq_ignore_ascii_case("CHARSET")
        {
            charset_supported(name)?;
            args = rest;
        }
        if returns.update {
            self.check_update_tag(&command.tag)?;
        }
        let program = self.program(args, out)?;
        let (hits, highest) = self.evaluate(&program)?;
        let found: Vec<u32> = hits
            .iter()
            .map(|hit| if uid { hit.message.uid } else { hit.seq })
            .collect();
        if esearch {
            returns.write(out, &command.tag, uid, &found, highest);
        } else {
            out.data(Data::Search {
                found: &found,
                modseq: highest,
            });
        }
        if returns.update {
            let uids = hits.iter().map(|hit| hit.message.uid).collect();
            self.keep_updated(out, &command.tag, uid, program, None, uids);
        }
        Ok(Completion::ok(format!("{} completed", command.verb)))
    }

    /// The selected messages that match the `search-key`s in `args` (SEARCH, SORT and THREAD
    /// share it), in sequence order, and, if MODSEQ was searched, the highest modseq among
    /// them (RFC 7162 §3.1.5). A MODSEQ key enables CONDSTORE.
    pub(crate) fn matching(
        &mut self,
        args: &[Token],
        out: &mut Responses,
    ) -> Result<(Vec<Hit>, Option<u64>), Refusal> {
        let program = self.program(args, out)?;
        self.evaluate(&program)
    }

    /// Parses the `search-key`s in `args` into one [`Program`]. A MODSEQ key enables
    /// CONDSTORE.
    pub(crate) fn program(&mut self, args: &[Token], out: &mut Responses) -> Result<Program, Refusal> {
        if args.is_empty() {
            return Err(SyntaxError::Arguments.into());
        }
        let mut tokens = args.iter();
        let mut keys = Vec::new();
        while tokens.len() > 0 {
            keys.push(search_key(&mut tokens, 0)?);
        }
        if self.config.defects.has(Defect::SearchFirstKeyOnly) {
            keys.truncate(1);
        }
        let key = Key::And(keys);
        if self.rev2 && uses_recent(&key) {
            return Err(Refusal::bad("RECENT, NEW and OLD are not IMAP4rev2 search keys"));
        }
        if !self.config.extensions.objectid && uses_objectid(&key) {
            return Err(Refusal::bad("EMAILID and THREADID need OBJECTID"));
        }
        let modseq = uses_modseq(&key);
        if modseq {
            self.enable_condstore(out)?;
        }
        Ok(Program { key, modseq })
    }

    /// The selected messages `program` matches now, and the highest modseq among them if it
    /// searched MODSEQ (see [`Session::matching`]).
    pub(crate) fn evaluate(&mut self, program: &Program) -> Result<(Vec<Hit>, Option<u64>), Refusal> {
        let Selection {
            store,
            login,
            name,
            selected,
            ..
        } = self.selection()?;
        let snapshot = store.messages(login, &name)?;
        let (hits, highest) = program.run(selected.uids(), &snapshot.messages, selected.recent.as_ref());
        Ok((hits, (program.modseq && highest > 0).then_some(highest)))
    }
}

/// A parsed search program (`1*(SP search-key)`, all of which must hold).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Program {
    key: Key,
    /// Whether it searched MODSEQ (RFC 7162 §3.1.5).
    modseq: bool,
}

impl Program {
    /// The messages of `uids` (the client's view, by sequence number) that match, found in
    /// `messages` (by UID, ascending; those missing are gone and match nothing), in
    /// sequence order, and the highest modseq among them.
    pub(crate) fn run(&self, uids: &[u32], messages: &[Message], recent: Option<&Recent>) -> (Vec<Hit>, u64) {
        let mut hits = Vec::new();
        let mut highest = 0;
        for (i, &message_uid) in uids.iter().enumerate() {
            let Ok(at) = messages.binary_search_by_key(&message_uid, |m| m.uid) else {
                continue;
            };
            let message = &messages[at];
            if matches(&self.key, i, uids, message, recent) {
                highest = highest.max(message.modseq);
                hits.push(Hit {
                    seq: u32::try_from(i + 1).unwrap_or(u32::MAX),
                    message: message.clone(),
                });
            }
        }
        (hits, highest)
    }

    /// The same program with its message sequence numbers replaced by the messages they
    /// name in `uids` now: RFC 5267 §4.3 has them "evaluated at the time the command is
    /// received", so a kept search does not follow renumbering.
    pub(crate) fn frozen(&self, uids: &[u32]) -> Program {
        Program {
            key: freeze(&self.key, uids),
            modseq: self.modseq,
        }
    }
}

/// `key` with each [`Key::Sequence`] replaced by the UIDs it names in `uids`.
fn freeze(key: &Key, uids: &[u32]) -> Key {
    match key {
        Key::Sequence(set) => {
            let count = u32::try_from(uids.len()).unwrap_or(u32::MAX);
            let named = uids
                .iter()
                .enumerate()
                .filter(|(i, _)| u32::try_from(i + 1).is_ok_and(|n| set.contains(n, count)))
                .map(|(_, &uid)| uid)
                .collect();
            Key::Messages(named)
        }
        Key::Not(key) => Key::Not(Box::new(freeze(key, uids))),
        Key::Or(a, b) => Key::Or(Box::new(freeze(a, uids)), Box::new(freeze(b, uids))),
        Key::And(keys) => Key::And(keys.iter().map(|k| freeze(k, uids)).collect()),
        other => other.clone(),
    }
}

/// A message a search found: its sequence number in this session and the message.
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    pub(crate) seq: u32,
    pub(crate) message: Message,
}

/// `charset`: UTF-8 and US-ASCII are supported; anything else is `NO [BADCHARSET]` (RFC 9051
/// §6.4.4).
pub(crate) fn charset_supported(name: &Token) -> Result<(), Refusal> {
    let name = name.astring().unwrap_or_default().to_ascii_uppercase();
    if name != "UTF-8" && name != "US-ASCII" {
        let refusal = Refusal::no("unsupported charset");
        return Err(refusal.with_code("BADCHARSET (UTF-8 US-ASCII)"));
    }
    Ok(())
}

/// `search-return-opts = SP "RETURN" SP "(" [search-return-opt *(SP search-return-opt)] ")"`
/// (RFC 9051 §6.4.4): what an ESEARCH response carries, and (RFC 5267 §4) whether the
/// search is kept updated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Returns {
    min: bool,
    max: bool,
    all: bool,
    count: bool,
    /// `PARTIAL m:n` (RFC 5267 §4.4), as the client wrote it.
    partial: Option<(u32, u32)>,
    /// `UPDATE` (RFC 5267 §4.3).
    pub(crate) update: bool,
}

impl Returns {
    /// `search-return-opt = "MIN" / "MAX" / "ALL" / "COUNT" / "SAVE" / ...`; SAVE (SEARCHRES)
    /// is not supported. With `context` (CONTEXT=SEARCH or CONTEXT=SORT, RFC 5267 §5) also
    /// `modifier-context = "CONTEXT"` (a hint, ignored), `modifier-update = "UPDATE"` and
    /// `modifier-partial = "PARTIAL" SP partial-range`. An empty list, or one of only
    /// CONTEXT, means ALL; UPDATE asks for no result of its own.
    pub(crate) fn parse(options: &[Token], context: bool) -> Result<Returns, Refusal> {
        let mut returns = Returns::default();
        let mut options = options.iter();
        while let Some(option) = options.next() {
            let Token::Atom(option) = option else {
                return Err(SyntaxError::Arguments.into());
            };
            match option.to_ascii_uppercase().as_str() {
                "MIN" => returns.min = true,
                "MAX" => returns.max = true,
                "ALL" => returns.all = true,
                "COUNT" => returns.count = true,
                "CONTEXT" if context => {}
                "UPDATE" if context => returns.update = true,
                "PARTIAL" if context && returns.partial.is_none() => {
                    returns.partial = Some(partial_range(options.next())?);
                }
                "PARTIAL" if context => return Err(Refusal::bad("PARTIAL given twice")),
                other => return Err(Refusal::bad(format!("unsupported RETURN option {other}"))),
            }
        }
        // RFC 5267 §4.4: "either one PARTIAL, one ALL, or neither PARTIAL nor ALL".
        if returns.all && returns.partial.is_some() {
            return Err(Refusal::bad("PARTIAL and ALL cannot be combined"));
        }
        if returns == Returns::default() {
            returns.all = true;
        }
        Ok(returns)
    }

    /// `esearch-response = "ESEARCH" [search-correlator] [SP "UID"] *(SP search-return-data)`
    /// (RFC 9051 §7.3.4). MIN, MAX and ALL are left out when nothing matched; COUNT never.
    /// `MODSEQ n` is RFC 7162 §3.1.5's search-return-data. `found` is in the order to report:
    /// ascending for SEARCH, sort order for ESORT (RFC 5267 §3.1: MIN and MAX are the first
    /// and last in sort order, ALL lists them in sort order). PARTIAL gives the results at
    /// those positions of that order (RFC 5267 §4.4), `NIL` if there are none.
    pub(crate) fn write(
        self,
        out: &mut Responses,
        tag: &str,
        uid: bool,
        found: &[u32],
        highest: Option<u64>,
    ) {
        let any = !found.is_empty();
        let partial = self.partial.map(|(m, n)| {
            let (low, high) = (m.min(n) as usize, m.max(n) as usize);
            let slice = found.get(low - 1..high.min(found.len())).unwrap_or_default();
            ((m, n), slice)
        });
        out.data(Data::Esearch(Esearch {
            tag,
            uid,
            min: found.first().copied().filter(|_| self.min),
            max: found.last().copied().filter(|_| self.max),
            all: Some(found).filter(|_| self.all && any),
            count: self.count.then_some(found.len()),
            partial,
            modseq: highest,
            ..Esearch::default()
        }));
    }
}

/// `partial-range = nz-number ":" nz-number` (RFC 5267 §5: no `*`; `500:400` is `400:500`).
/// RFC 9394's negative ranges are not supported.
fn partial_range(token: Option<&Token>) -> Result<(u32, u32), Refusal> {
    let bad = || Refusal::bad("PARTIAL needs a range m:n of numbers from 1");
    let Some(Token::Atom(range)) = token else {
        return Err(bad());
    };
    let (m, n) = range.split_once(':').ok_or_else(bad)?;
    let number = |text: &str| -> Result<u32, Refusal> {
        let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && !text.starts_with('0');
        text.parse().ok().filter(|_| digits).ok_or_else(bad)
    };
    Ok((number(m)?, number(n)?))
}

/// Parses one `search-key` from `tokens`.
fn search_key(tokens: &mut std::slice::Iter<'_, Token>, depth: usize) -> Result<Key, Refusal> {
    if depth > MAX_DEPTH {
        return Err(SyntaxError::TooDeep.into());
    }
    let bad = || Refusal::from(SyntaxError::Arguments);
    let token = tokens.next().ok_or_else(bad)?;
    let atom = match token {
        Token::List(items) => {
            let mut inner = items.iter();
            let mut keys = Vec::new();
            while inner.len() > 0 {
                keys.push(search_key(&mut inner, depth + 1)?);
            }
            return if keys.is_empty() {
                Err(bad())
            } else {
                Ok(Key::And(keys))
            };
        }
        Token::String(_) => return Err(bad()),
        Token::Atom(atom) => atom.to_ascii_uppercase(),
    };
    let mut string = || -> Result<Vec<u8>, Refusal> {
        match tokens.next() {
            Some(Token::Atom(a)) => Ok(a.as_bytes().to_vec()),
            Some(Token::String(s)) => Ok(s.clone()),
            _ => Err(bad()),
        }
    };
    let flag = |name: &str, set: bool| -> Result<Key, Refusal> {
        let flag = name.parse::<Flag>().map_err(|_| bad())?;
        Ok(Key::Flag(flag, set))
    };
    let key = match atom.as_str() {
        "ALL" => Key::All,
        "ANSWERED" | "DELETED" | "DRAFT" | "FLAGGED" | "SEEN" => flag(&format!("\\{atom}"), true)?,
        "UNANSWERED" | "UNDELETED" | "UNDRAFT" | "UNFLAGGED" | "UNSEEN" => {
            flag(&format!("\\{}", &atom[2..]), false)?
        }
        "KEYWORD" | "UNKEYWORD" => {
            let name = String::from_utf8(string()?).map_err(|_| bad())?;
            flag(&name, atom == "KEYWORD")?
        }
        "LARGER" | "SMALLER" => {
            let n = String::from_utf8(string()?)
                .ok()
                .and_then(|n| n.parse().ok())
                .ok_or_else(bad)?;
            if atom == "LARGER" {
                Key::Larger(n)
            } else {
                Key::Smaller(n)
            }
        }
        "UID" => {
            let set = String::from_utf8(string()?).map_err(|_| bad())?;
            Key::Uid(SequenceSet::parse(&set)?)
        }
        "BEFORE" | "ON" | "SINCE" | "SENTBEFORE" | "SENTON" | "SENTSINCE" => {
            let date = String::from_utf8(string()?).map_err(|_| bad())?;
            let day = parse_date(&date).ok_or_else(bad)?;
            let test = match atom.trim_start_matches("SENT") {
                "BEFORE" => DateTest::Before,
                "ON" => DateTest::On,
                _ => DateTest::Since,
            };
            if atom.starts_with("SENT") {
                Key::Sent(day, test)
            } else {
                Key::Date(day, test)
            }
        }
        "MODSEQ" => {
            // `search-modsequence = "MODSEQ" [search-modseq-ext] SP mod-sequence-valzer`,
            // `search-modseq-ext = SP entry-name SP entry-type-req`. Every flag shares its
            // message's modseq here, so the entry is checked and then ignored.
            if let Some(Token::String(_)) = tokens.clone().next() {
                tokens.next();
                match tokens.next() {
                    Some(Token::Atom(kind))
                        if ["priv", "shared", "all"]
                            .iter()
                            .any(|k| kind.eq_ignore_ascii_case(k)) => {}
                    _ => return Err(bad()),
                }
            }
            Key::Modseq(mod_sequence(tokens.next())?)
        }
        "SUBJECT" => Key::Header(atom.clone(), string()?),
        "FROM" | "TO" | "CC" | "BCC" => Key::Address(atom.clone(), string()?),
        "HEADER" => {
            let name = String::from_utf8(string()?).map_err(|_| bad())?;
            Key::Header(name, string()?)
        }
        "BODY" => Key::Body(string()?),
        "TEXT" => Key::Text(string()?),
        "RECENT" => Key::Recent(true),
        "OLD" => Key::Recent(false),
        "NEW" => Key::And(vec![Key::Recent(true), flag("\\Seen", false)?]),
        "EMAILID" => {
            let id = String::from_utf8(string()?).map_err(|_| bad())?;
            Key::EmailId(objectid::parse_email_id(&id)?)
        }
        "THREADID" => {
            let id = String::from_utf8(string()?).map_err(|_| bad())?;
            if !objectid::is_objectid(&id) {
                return Err(Refusal::bad(format!("not an object id: {id}")));
            }
            Key::ThreadId
        }
        "NOT" => Key::Not(Box::new(search_key(tokens, depth + 1)?)),
        "OR" => {
            let a = search_key(tokens, depth + 1)?;
            let b = search_key(tokens, depth + 1)?;
            Key::Or(Box::new(a), Box::new(b))
        }
        _ => Key::Sequence(SequenceSet::parse(&atom)?),
    };
    Ok(key)
}

/// Whether the message at position `i` (UIDs of all messages in `uids`) matches `key`.
fn matches(key: &Key, i: usize, uids: &[u32], message: &Message, recent: Option<&Recent>) -> bool {
    match key {
        Key::All => true,
        Key::Flag(flag, set) => message.flags.contains(flag) == *set,
        Key::Larger(n) => message.size > *n,
        Key::Smaller(n) => message.size < *n,
        Key::Sequence(set) => {
            let count = u32::try_from(uids.len()).unwrap_or(u32::MAX);
            u32::try_from(i + 1).is_ok_and(|n| set.contains(n, count))
        }
        Key::Messages(named) => named.binary_search(&message.uid).is_ok(),
        Key::Uid(set) => set.contains(message.uid, uids.last().copied().unwrap_or(0)),
        Key::Date(day, test) => test.holds(message.internal_date.div_euclid(86_400) * 86_400, *day),
        Key::Sent(day, test) => {
            let sent = sent_day(&message.raw).unwrap_or(message.internal_date.div_euclid(86_400) * 86_400);
            test.holds(sent, *day)
        }
        Key::Modseq(n) => message.modseq >= *n,
        Key::Header(name, value) => header_contains(&message.raw, name, value),
        Key::Address(name, value) => {
            header_contains(&message.raw, name, value) || address_contains(&message.raw, name, value)
        }
        Key::Body(value) => contains(body(&message.raw), value),
        Key::Text(value) => contains(&message.raw, value),
        Key::Recent(set) => recent.is_some_and(|recent| recent.contains(message.uid)) == *set,
        Key::EmailId(id) => *id == Some(message.email_id),
        Key::ThreadId => false,
        Key::Not(key) => !matches(key, i, uids, message, recent),
        Key::Or(a, b) => matches(a, i, uids, message, recent) || matches(b, i, uids, message, recent),
        Key::And(keys) => keys.iter().all(|key| matches(key, i, uids, message, recent)),
    }
}

impl DateTest {
    /// Whether a message of day `date` passes against day `day` (both at 00:00 UTC).
    fn holds(self, date: i64, day: i64) -> bool {
        match self {
            DateTest::Before => date < day,
            DateTest::On => date == day,
            DateTest::Since => date >= day,
        }
    }
}

/// Whether `key` uses MODSEQ anywhere (a CONDSTORE-enabling SEARCH).
fn uses_modseq(key: &Key) -> bool {
    any_key(key, &|k| matches!(k, Key::Modseq(_)))
}

/// Whether `key` uses EMAILID or THREADID anywhere (RFC 8474 §6).
fn uses_objectid(key: &Key) -> bool {
    any_key(key, &|k| matches!(k, Key::EmailId(_) | Key::ThreadId))
}

/// Whether the search asks about `\Recent` (RECENT, NEW, OLD), which IMAP4rev2 removed
/// (RFC 9051 Appendix E).
fn uses_recent(key: &Key) -> bool {
    any_key(key, &|k| matches!(k, Key::Recent(_)))
}

/// Whether `test` holds for `key` or any key inside it.
fn any_key(key: &Key, test: &dyn Fn(&Key) -> bool) -> bool {
    test(key)
        || match key {
            Key::Not(key) => any_key(key, test),
            Key::Or(a, b) => any_key(a, test) || any_key(b, test),
            Key::And(keys) => keys.iter().any(|k| any_key(k, test)),
            _ => false,
        }
}

/// The day (00:00 UTC, unix seconds) of the message's `Date:` header, time and zone
/// disregarded (RFC 9051 §6.4.4 SENTON): `[day-of-week ","] day month year ...`
/// (RFC 5322 §3.3, with two- and three-digit obsolete years).
fn sent_day(raw: &[u8]) -> Option<i64> {
    let header = &raw[..raw.len() - body(raw).len()];
    let field = fields(header)
        .into_iter()
        .find(|field| field_name(field).eq_ignore_ascii_case(b"Date"))?;
    let colon = field.iter().position(|&b| b == b':')?;
    let value = std::str::from_utf8(&field[colon + 1..]).ok()?;
    let mut words = value
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .skip_while(|w| w.chars().all(|c| c.is_ascii_alphabetic()));
    let day: u32 = words.next()?.parse().ok()?;
    let month = words.next()?;
    let year = words.next()?;
    if !year.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut number: i64 = year.parse().ok()?;
    number += match year.len() {
        2 if number < 50 => 2000,
        2 | 3 => 1900,
        _ => 0,
    };
    let year = number;
    parse_date(&format!("{day}-{month}-{year:04}"))
}

/// Whether a header field called `name` contains `value` (ASCII case-insensitively),
/// continuation lines included.
fn header_contains(raw: &[u8], name: &str, value: &[u8]) -> bool {
    let header = &raw[..raw.len() - body(raw).len()];
    fields(header).iter().any(|field| {
        let colon = field.iter().position(|&b| b == b':').unwrap_or(0);
        field_name(field).eq_ignore_ascii_case(name.as_bytes()) && contains(&field[colon..], value)
    })
}

/// Whether an address field called `name` has an address that contains `value`, with the
/// address written as the envelope has it (RFC 3501 §6.4.4, RFC 5322 §3.4): comments and
/// folding whitespace gone, quoted parts unquoted, group members apart.
fn address_contains(raw: &[u8], name: &str, value: &[u8]) -> bool {
    let header = &raw[..raw.len() - body(raw).len()];
    fields(header).iter().any(|field| {
        let colon = field
            .iter()
            .position(|&b| b == b':')
            .map_or(field.len(), |at| at + 1);
        field_name(field).eq_ignore_ascii_case(name.as_bytes())
            && address_texts(&field[colon..])
                .iter()
                .any(|text| contains(text, value))
    })
}

/// Case-insensitive substring test: ASCII case always, Unicode case too when both sides
/// are UTF-8 and the needle is not ASCII.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    if !needle.is_ascii()
        && let (Ok(haystack), Ok(needle)) = (std::str::from_utf8(haystack), std::str::from_utf8(needle))
    {
        return haystack.to_lowercase().contains(&needle.to_lowercase());
    }
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}
