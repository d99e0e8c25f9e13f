//! Responses (RFC 9051 §7): what one response is ([`Kind`], [`Status`], and the [`Step`] it
//! answers), the list a command's handlers fill one response at a time ([`Responses`]), the
//! encoding of status responses, and strings, flag lists and dates as the server writes them.
//!
//! Read first: RFC 9051 §2.2.2 (untagged data, continuation requests, the tagged completion),
//! §7.1 (status responses), §7.5 (continuation requests).

use std::fmt;

use mailrig_store::Flags;

use crate::command::Verb;
use crate::data::{Data, DataKind};

/// What a response is (RFC 9051 §2.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `* ...`: data or an untagged status (OK, NO, BAD, BYE, PREAUTH).
    Untagged,
    /// `+ ...`: a command continuation request.
    Continuation,
    /// `tag OK/NO/BAD ...`: the command's completion.
    Tagged(Status),
}

/// A tagged completion's status (RFC 9051 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// `OK`: the command succeeded.
    Ok,
    /// `NO`: the command failed.
    No,
    /// `BAD`: the command was not understood or not allowed.
    Bad,
}

impl Status {
    /// The word on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::No => "NO",
            Status::Bad => "BAD",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a response answers: the protocol step a fault rule can key on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The greeting (`* OK`, `* PREAUTH`).
    Greeting,
    /// A command: its continuation requests, untagged responses and completion. Also a known
    /// command the configuration switched off (answered `BAD unknown command`), and the
    /// updates IDLE pushes.
    Command(Verb),
    /// A line that is not a command mailrig knows: a syntax error, an unknown command, or too
    /// long to read.
    Unknown,
    /// `+ Ready for literal data`: a synchronizing literal may follow (RFC 9051 §7.5), before
    /// the command it belongs to is complete.
    Literal,
    /// `* BYE` because the server shuts down.
    Shutdown,
}

/// One response of a [`Responses`] list.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) kind: Kind,
    /// Which data response it is, if it is one.
    pub(crate) data: Option<DataKind>,
    pub(crate) bytes: Vec<u8>,
}

/// The responses a command (or a push) produces, in order, one entry per response.
/// Handlers add whole responses: [`Responses::data`] a typed data response, which it
/// encodes; [`Responses::push`] an untagged status response or a continuation request.
#[derive(Debug, Default)]
pub(crate) struct Responses {
    list: Vec<Entry>,
}

impl Responses {
    /// Adds one complete response that is not data, CRLF included: an untagged status
    /// response (`* OK [code] text`, `* BYE`), or a continuation request if it starts with
    /// `+`.
    pub(crate) fn push(&mut self, bytes: Vec<u8>) {
        let kind = if bytes.first() == Some(&b'+') {
            Kind::Continuation
        } else {
            Kind::Untagged
        };
        self.list.push(Entry {
            kind,
            data: None,
            bytes,
        });
    }

    /// Adds an untagged status response (RFC 9051 §7.1): `* OK [code] text`, `* NO ...`,
    /// `* BAD ...`, `* BYE text`.
    pub(crate) fn condition(&mut self, condition: DataKind, code: Option<&str>, text: &str) {
        self.list.push(Entry {
            kind: Kind::Untagged,
            data: Some(condition),
            bytes: condition_bytes(condition, code, text),
        });
    }

    /// Adds one data response, encoded.
    pub(crate) fn data(&mut self, data: Data<'_>) {
        let mut bytes = Vec::new();
        data.encode(&mut bytes);
        let data = Some(data.kind());
        self.list.push(Entry {
            kind: Kind::Untagged,
            data,
            bytes,
        });
    }

    /// Adds a tagged completion (RFC 9051 §7.1): `tag status [code] text`.
    pub(crate) fn tagged(&mut self, tag: &str, status: Status, code: Option<&str>, text: &str) {
        let bytes = match code {
            Some(code) => format!("{tag} {status} [{code}] {text}\r\n"),
            None => format!("{tag} {status} {text}\r\n"),
        }
        .into_bytes();
        let kind = Kind::Tagged(status);
        self.list.push(Entry {
            kind,
            data: None,
            bytes,
        });
    }

    /// Adds every response of `other`, after these.
    pub(crate) fn append(&mut self, other: Responses) {
        self.list.extend(other.list);
    }

    /// The responses, in order.
    pub(crate) fn into_list(self) -> Vec<Entry> {
        self.list
    }
}

/// `astring`/`string` output: an atom-safe name as is, else quoted, else a literal.
pub(crate) fn string(out: &mut Vec<u8>, text: &[u8]) {
    let quotable = text
        .iter()
        .all(|&b| b != b'\r' && b != b'\n' && b != 0 && b < 0x80);
    if quotable {
        out.push(b'"');
        for &b in text {
            if b == b'"' || b == b'\\' {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(format!("{{{}}}\r\n", text.len()).as_bytes());
        out.extend_from_slice(text);
    }
}

/// `flag-list = "(" [flag *(SP flag)] ")"`.
pub(crate) fn flag_list(flags: &Flags) -> String {
    let names: Vec<String> = flags.iter().map(|f| f.as_str().to_owned()).collect();
    format!("({})", names.join(" "))
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE`,
/// in UTC (RFC 9051 §9), quotes included: what INTERNALDATE carries and APPEND takes.
pub fn date_time(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let month = MONTHS[usize::try_from(m - 1).unwrap_or(0).min(11)];
    format!(
        "\"{d:>2}-{month}-{y:04} {:02}:{:02}:{:02} +0000\"",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Parses a `date-time` (without its quotes) into unix seconds: `date-day-fixed "-"
/// date-month "-" date-year SP time SP zone` (RFC 9051 §9), exactly: `date-day-fixed = (SP
/// DIGIT) / 2DIGIT`, `date-year = 4DIGIT`, `time = 2DIGIT ":" 2DIGIT ":" 2DIGIT`, `zone =
/// ("+" / "-") 4DIGIT`. A fixed layout of 26 characters.
pub(crate) fn parse_date_time(text: &str) -> Option<i64> {
    if text.len() != 26 || !text.is_ascii() {
        return None;
    }
    let bytes = text.as_bytes();
    if !(bytes[0] == b' ' || bytes[0].is_ascii_digit()) || bytes[11] != b' ' || bytes[20] != b' ' {
        return None;
    }
    let day = parse_date(text[..11].trim_start())?;
    let mut hms = text[12..20].split(':').map(two_digits);
    let (h, mi, s) = (hms.next()??, hms.next()??, hms.next()??);
    if hms.next().is_some() || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let sign = match bytes[21] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let z = digits(&text[22..26]).filter(|_| text[22..26].len() == 4)?;
    let offset = sign * (z / 100 * 3600 + z % 100 * 60);
    Some(day + h * 3600 + mi * 60 + s - offset)
}

/// Parses a `date-text = date-day "-" date-month "-" date-year` (RFC 9051 §9: `date-day =
/// 1*2DIGIT`, `date-year = 4DIGIT`, months case-insensitive) into the unix seconds of its
/// midnight, UTC: what SEARCH's date keys take.
pub(crate) fn parse_date(text: &str) -> Option<i64> {
    let mut parts = text.split('-');
    let (day, month, year) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || day.len() > 2 || year.len() != 4 {
        return None;
    }
    let (day, year) = (digits(day)?, digits(year)?);
    let month = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(month))? as i64 + 1;
    if !(1..=9999).contains(&year) || !(1..=31).contains(&day) {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400)
}

/// Exactly two digits (`2DIGIT`).
fn two_digits(text: &str) -> Option<i64> {
    digits(text).filter(|_| text.len() == 2)
}

/// An unsigned decimal number (`str::parse` would also take a sign), at most 4 digits as
/// every `date-time` field is.
fn digits(text: &str) -> Option<i64> {
    if text.is_empty() || text.len() > 4 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Howard Hinnant's `days_from_civil`.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Howard Hinnant's `civil_from_days`.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// `* OK [code] text` and its kin (`condition` is [`DataKind::Ok`], `No`, `Bad`, `Preauth` or
/// `Bye`), CRLF included: the one place untagged status responses are written.
pub(crate) fn condition_bytes(condition: DataKind, code: Option<&str>, text: &str) -> Vec<u8> {
    let word = condition.name();
    match code {
        Some(code) => format!("* {word} [{code}] {text}\r\n"),
        None => format!("* {word} {text}\r\n"),
    }
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(date_time(1_700_000_000), "\"14-Nov-2023 22:13:20 +0000\"");
        assert_eq!(parse_date_time("14-Nov-2023 23:13:20 +0100"), Some(1_700_000_000));
        assert_eq!(parse_date_time(" 4-Jan-1970 00:00:00 +0000"), Some(3 * 86_400));
        assert_eq!(parse_date_time("bogus"), None);
        // `time = 2DIGIT ":" 2DIGIT ":" 2DIGIT`, `zone = ("+" / "-") 4DIGIT`: no signs inside.
        assert_eq!(parse_date_time("14-Nov-2023 -1:13:20 +0000"), None);
        assert_eq!(parse_date_time("14-Nov-2023 23:-13:20 +0000"), None);
        assert_eq!(parse_date_time("+4-Nov-2023 23:13:20 +0000"), None);
        assert_eq!(parse_date_time("14-Nov-2023 23:13:20 +-100"), None);
        assert_eq!(parse_date_time("14-Nov-2023 23:13:20:00 +0000"), None);
        assert_eq!(parse_date_time("14-Nov-2023-1 23:13:20 +0000"), None);
        // `date-day-fixed = (SP DIGIT) / 2DIGIT`, `date-year = 4DIGIT` (RFC 9051 §9).
        assert_eq!(parse_date_time("4-Jan-1970 00:00:00 +0000"), None);
        assert_eq!(parse_date_time("04-Jan-70 00:00:00 +0000"), None);
        assert_eq!(parse_date_time("04-Jan-1970 0:00:00 +00000"), None);
        assert_eq!(parse_date_time("04-Jan-1970 00:00:00 +0000"), Some(3 * 86_400));
        // `date-text` (SEARCH): `date-day = 1*2DIGIT`, `date-year = 4DIGIT`.
        assert_eq!(parse_date("4-Jan-1970"), Some(3 * 86_400));
        assert_eq!(parse_date("04-jan-1970"), Some(3 * 86_400));
        assert_eq!(parse_date("4-Jan-70"), None);
        assert_eq!(parse_date("004-Jan-1970"), None);
    }

    #[test]
    fn strings() {
        let mut out = Vec::new();
        string(&mut out, b"a\"b");
        string(&mut out, b"\r\n");
        assert_eq!(out, b"\"a\\\"b\"{2}\r\n\r\n");
    }
}
