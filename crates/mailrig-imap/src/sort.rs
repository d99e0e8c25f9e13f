//! SORT and UID SORT (RFC 5256 §3): sort criteria ARRIVAL, CC, DATE, FROM, SIZE, SUBJECT, TO,
//! each optionally REVERSE, over the messages a search finds; ties go to sequence order. The
//! base subject (§2.1) and the sent date (§2.2) live here and are shared with `thread.rs`.
//! With ESORT (RFC 5267 §3), `SORT RETURN (...)` is answered with `* ESEARCH`.
//!
//! Read first: RFC 5256 §2.1 (base subject), §2.2 (sent date), §3 (SORT), §4 (`* SORT`);
//! RFC 5267 §3 (ESORT: MIN and MAX are the first and last in sort order, ALL in sort order).
//! Strings compare with `i;ascii-casemap` (ASCII upper-cased, then octet by octet), the
//! collation RFC 5256 §3 names as the default.

use std::cmp::Ordering;

use mail_parser::{Address, MessageParser};
use mailrig_store::Message;

use crate::command::{Command, Token};
use crate::completion::{Completion, Refusal};
use crate::data::Data;
use crate::defect::Defect;
use crate::error::SyntaxError;
use crate::response::Responses;
use crate::search::{Hit, Returns, charset_supported};
use crate::session::Session;

/// `sort-key = "ARRIVAL" / "CC" / "DATE" / "FROM" / "SIZE" / "SUBJECT" / "TO"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SortKey {
    Arrival,
    Cc,
    Date,
    From,
    Size,
    Subject,
    To,
}

/// `sort-criterion = ["REVERSE" SP] sort-key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Criterion {
    reverse: bool,
    key: SortKey,
}

impl Session {
    /// `sort = ["UID" SP] "SORT" [SP sort-return-opts] SP sort-criteria SP search-criteria`
    /// (RFC 5256 §4, RFC 5267 §3.1), `search-criteria = charset 1*(SP search-key)`.
    pub(crate) fn sort(
        &mut self,
        command: &Command,
        uid: bool,
        out: &mut Responses,
    ) -> Result<Completion, Refusal> {
        let mut args = &command.args[..];
        let mut returns = None;
        let context = self.context_sort();
        if let [Token::Atom(word), Token::List(options), rest @ ..] = args
            && self.config.extensions.esort
            && word.eq_ignore_ascii_case("RETURN")
        {
            returns = Some(Returns::parse(options, context)?);
            args = rest;
        }
        let [Token::List(criteria), charset, keys @ ..] = args else {
            return Err(SyntaxError::Arguments.into());
        };
        let criteria = parse_criteria(criteria)?;
        charset_supported(charset)?;
        let update = returns.is_some_and(|r| r.update);
        if update {
            self.check_update_tag(&command.tag)?;
        }
        let program = self.program(keys, out)?;
        let (hits, highest) = self.evaluate(&program)?;
        let mut sortables: Vec<Sortable> = hits.iter().map(Sortable::of).collect();
        if self.config.defects.has(Defect::SortBaseSubjectIgnored) {
            for (sortable, hit) in sortables.iter_mut().zip(&hits) {
                sortable.subject = whole_subject(&hit.message).to_ascii_uppercase();
            }
        }
        sort_sortables(&mut sortables, &criteria);
        let sorted: Vec<u32> = sortables
            .iter()
            .map(|s| if uid { s.uid } else { s.seq })
            .collect();
        match returns {
            Some(returns) => {
                let mut sorted = sorted;
                if self.config.defects.has(Defect::EsortAllAscending) {
                    sorted.sort_unstable();
                }
                returns.write(out, &command.tag, uid, &sorted, highest);
            }
            None => out.data(Data::Sort {
                found: &sorted,
                modseq: highest,
            }),
        }
        if update {
            let uids = sortables.iter().map(|s| s.uid).collect();
            self.keep_updated(out, &command.tag, uid, program, Some(criteria), uids);
        }
        Ok(Completion::ok(format!("{} completed", command.verb)))
    }
}

/// The UIDs of `hits` in the order `criteria` gives them (ties in sequence order).
pub(crate) fn sorted_uids(hits: &[Hit], criteria: &[Criterion]) -> Vec<u32> {
    let mut sortables: Vec<Sortable> = hits.iter().map(Sortable::of).collect();
    sort_sortables(&mut sortables, criteria);
    sortables.iter().map(|s| s.uid).collect()
}

/// Sorts by `criteria`, then sequence order.
fn sort_sortables(sortables: &mut [Sortable], criteria: &[Criterion]) {
    sortables.sort_by(|a, b| compare(a, b, criteria).then(a.seq.cmp(&b.seq)));
}

/// `sort-criteria = "(" sort-criterion *(SP sort-criterion) ")"`.
fn parse_criteria(tokens: &[Token]) -> Result<Vec<Criterion>, Refusal> {
    let bad = || Refusal::from(SyntaxError::Arguments);
    let mut criteria = Vec::new();
    let mut reverse = false;
    for token in tokens {
        let Token::Atom(word) = token else {
            return Err(bad());
        };
        let key = match word.to_ascii_uppercase().as_str() {
            "REVERSE" if !reverse => {
                reverse = true;
                continue;
            }
            "ARRIVAL" => SortKey::Arrival,
            "CC" => SortKey::Cc,
            "DATE" => SortKey::Date,
            "FROM" => SortKey::From,
            "SIZE" => SortKey::Size,
            "SUBJECT" => SortKey::Subject,
            "TO" => SortKey::To,
            other => return Err(Refusal::bad(format!("unknown sort criterion {other}"))),
        };
        criteria.push(Criterion { reverse, key });
        reverse = false;
    }
    if criteria.is_empty() || reverse {
        return Err(bad());
    }
    Ok(criteria)
}

/// Orders two messages by `criteria`, each in turn (sequence order is the caller's tie-break).
fn compare(a: &Sortable, b: &Sortable, criteria: &[Criterion]) -> Ordering {
    criteria
        .iter()
        .map(|criterion| {
            let order = match criterion.key {
                SortKey::Arrival => a.arrival.cmp(&b.arrival),
                SortKey::Cc => a.cc.cmp(&b.cc),
                SortKey::Date => a.sent.cmp(&b.sent),
                SortKey::From => a.from.cmp(&b.from),
                SortKey::Size => a.size.cmp(&b.size),
                SortKey::Subject => a.subject.cmp(&b.subject),
                SortKey::To => a.to.cmp(&b.to),
            };
            if criterion.reverse { order.reverse() } else { order }
        })
        .find(|order| order.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// What SORT and THREAD read of one message.
#[derive(Debug, Clone)]
pub(crate) struct Sortable {
    pub(crate) seq: u32,
    pub(crate) uid: u32,
    /// INTERNALDATE (RFC 5256 §3 ARRIVAL).
    arrival: i64,
    size: u64,
    /// The sent date (§2.2), unix seconds, UTC.
    pub(crate) sent: i64,
    /// The base subject (§2.1), upper-cased for `i;ascii-casemap`.
    pub(crate) subject: String,
    /// Whether the subject had a reply or forward marker the base subject left out (§3's
    /// REFERENCES step 5.C).
    pub(crate) reply: bool,
    /// The first address's `addr-mailbox` of From, To and Cc, upper-cased.
    from: String,
    to: String,
    cc: String,
    /// The `Message-ID`, without its angle brackets, if it has a valid one.
    pub(crate) message_id: Option<String>,
    /// References (or, without one, the first In-Reply-To), oldest first.
    pub(crate) references: Vec<String>,
}

impl Sortable {
    /// Reads a found message's header (RFC 2047 words decoded, as §2.1 step 1 asks).
    pub(crate) fn of(hit: &Hit) -> Sortable {
        let message: &Message = &hit.message;
        let parsed = MessageParser::default().parse_headers(&message.raw[..]);
        let parsed = parsed.as_ref();
        let sent = parsed
            .and_then(|p| p.date())
            .filter(|date| date.is_valid())
            .map_or(message.internal_date, |date| date.to_timestamp());
        let (subject, reply) = base_subject(parsed.and_then(|p| p.subject()).unwrap_or_default());
        let mailbox = |address: Option<&Address<'_>>| {
            let address = address.and_then(|a| a.first()).and_then(|a| a.address.as_deref());
            let address = address.unwrap_or_default();
            let local = address.rsplit_once('@').map_or(address, |(local, _)| local);
            local.to_ascii_uppercase()
        };
        let ids = |value: &mail_parser::HeaderValue<'_>| -> Vec<String> {
            value
                .as_text_list()
                .unwrap_or_default()
                .iter()
                .map(|id| normalize_id(id))
                .filter(|id| !id.is_empty())
                .collect()
        };
        let mut references = parsed.map(|p| ids(p.references())).unwrap_or_default();
        if references.is_empty() {
            let in_reply_to = parsed.map(|p| ids(p.in_reply_to())).unwrap_or_default();
            references.extend(in_reply_to.into_iter().take(1));
        }
        Sortable {
            seq: hit.seq,
            uid: message.uid,
            arrival: message.internal_date,
            size: message.size,
            sent,
            subject: subject.to_ascii_uppercase(),
            reply,
            from: mailbox(parsed.and_then(|p| p.from())),
            to: mailbox(parsed.and_then(|p| p.to())),
            cc: mailbox(parsed.and_then(|p| p.cc())),
            message_id: parsed
                .and_then(|p| p.message_id())
                .map(normalize_id)
                .filter(|id| !id.is_empty()),
            references,
        }
    }
}

/// The decoded subject as it stands (for [`Defect::SortBaseSubjectIgnored`]).
fn whole_subject(message: &Message) -> String {
    let parsed = MessageParser::default().parse_headers(&message.raw[..]);
    parsed
        .as_ref()
        .and_then(|p| p.subject())
        .unwrap_or_default()
        .to_string()
}

/// A msg-id as §3 REFERENCES compares them: quoting removed, so `<"a"@b>` and `<a@b>` are
/// the same.
fn normalize_id(id: &str) -> String {
    id.trim_matches(|c: char| c == '<' || c == '>' || c.is_whitespace())
        .replace('"', "")
}

/// The base subject of `subject` (RFC 5256 §2.1) and whether it was a reply or forward (a
/// `subj-refwd`, `(fwd)` trailer or `[fwd: ...]` was removed).
pub(crate) fn base_subject(subject: &str) -> (String, bool) {
    // Step 1: tabs and runs of whitespace become one space (folding is already undone).
    let mut text = String::with_capacity(subject.len());
    for c in subject.chars() {
        let c = if c == '\t' || c == '\r' || c == '\n' {
            ' '
        } else {
            c
        };
        if !(c == ' ' && text.ends_with(' ')) {
            text.push(c);
        }
    }
    let mut reply = false;
    loop {
        // Step 2: remove trailing `subj-trailer = "(fwd)" / WSP`, repeatedly.
        loop {
            if text.ends_with(' ') {
                text.pop();
            } else if ends_with_ignore_case(&text, "(fwd)") {
                text.truncate(text.len() - 5);
                reply = true;
            } else {
                break;
            }
        }
        // Steps 3 to 5: leaders and blobs, until neither matches.
        loop {
            let leader = subj_leader(&text);
            if leader > 0 {
                reply |= text[..leader].contains(':');
                text.drain(..leader);
                continue;
            }
            match subj_blob(&text) {
                Some(blob) if text[blob..].chars().any(|c| c != ' ') => {
                    text.drain(..blob);
                }
                _ => break,
            }
        }
        // Step 6: `subj-fwd-hdr = "[fwd:"`, `subj-fwd-trl = "]"`, then again from step 2.
        if starts_with_ignore_case(&text, "[fwd:") && text.ends_with(']') {
            text = text[5..text.len() - 1].to_string();
            reply = true;
            continue;
        }
        return (text, reply);
    }
}

/// The length of a leading `subj-leader = (*subj-blob subj-refwd) / WSP`, 0 if none.
fn subj_leader(text: &str) -> usize {
    if text.starts_with(' ') {
        return 1;
    }
    let mut at = 0;
    while let Some(blob) = subj_blob(&text[at..]) {
        at += blob;
    }
    subj_refwd(&text[at..]).map_or(0, |refwd| at + refwd)
}

/// The length of a leading `subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"`.
fn subj_refwd(text: &str) -> Option<usize> {
    let mut at = if starts_with_ignore_case(text, "re") {
        2
    } else if starts_with_ignore_case(text, "fwd") {
        3
    } else if starts_with_ignore_case(text, "fw") {
        2
    } else {
        return None;
    };
    at += text[at..].len() - text[at..].trim_start_matches(' ').len();
    if let Some(blob) = subj_blob(&text[at..]) {
        at += blob;
    }
    text[at..].starts_with(':').then_some(at + 1)
}

/// The length of a leading `subj-blob = "[" *BLOBCHAR "]" *WSP`, BLOBCHAR being any CHAR
/// but `[` and `]`.
fn subj_blob(text: &str) -> Option<usize> {
    let rest = text.strip_prefix('[')?;
    let close = rest.find(['[', ']'])?;
    if !rest[close..].starts_with(']') {
        return None;
    }
    let after = &rest[close + 1..];
    Some(1 + close + 1 + (after.len() - after.trim_start_matches(' ').len()))
}

fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

fn ends_with_ignore_case(text: &str, suffix: &str) -> bool {
    text.len() >= suffix.len()
        && text
            .get(text.len() - suffix.len()..)
            .is_some_and(|tail| tail.eq_ignore_ascii_case(suffix))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 5256 §2.1's rules, one example each.
    #[test]
    fn base_subjects() {
        let cases = [
            ("Hello", "Hello", false),
            ("Re: Hello", "Hello", true),
            ("RE:  re: Hello", "Hello", true),
            ("Fwd: Hello (fwd)", "Hello", true),
            ("Hello (FWD)  ", "Hello", true),
            ("[list] Re: Hello", "Hello", true),
            ("Re [list]: Hello", "Hello", true),
            ("[list] Hello", "Hello", false),
            ("[Fwd: Re: Hello]", "Hello", true),
            ("[only a blob]", "[only a blob]", false),
            ("Re:", "", true),
            ("  spaced\t\tout  ", "spaced out", false),
            ("Reply later", "Reply later", false),
            ("fw:fwd:re: x", "x", true),
        ];
        for (subject, base, reply) in cases {
            assert_eq!(base_subject(subject), (base.to_string(), reply), "{subject:?}");
        }
    }

    #[test]
    fn criteria_parse() {
        let atoms = |text: &str| -> Vec<Token> { text.split(' ').map(|w| Token::Atom(w.into())).collect() };
        let parsed = parse_criteria(&atoms("REVERSE date subject")).unwrap();
        assert_eq!(
            parsed,
            [
                Criterion {
                    reverse: true,
                    key: SortKey::Date
                },
                Criterion {
                    reverse: false,
                    key: SortKey::Subject
                }
            ]
        );
        for bad in ["REVERSE", "REVERSE REVERSE DATE", "COLOUR"] {
            assert!(parse_criteria(&atoms(bad)).is_err(), "{bad}");
        }
        assert!(parse_criteria(&[]).is_err());
    }
}
