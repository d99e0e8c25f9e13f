//! A small reader for the server responses the sync tests provoke: one line at a time, into
//! just the facts the reference model checks (no literals: the tests never fetch bodies).

use std::collections::BTreeSet;

/// A set of flags by name, `\Recent` included when the server sent it.
pub(crate) type FlagSet = BTreeSet<String>;

/// One response line, as far as the model cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Response {
    /// `* n EXISTS`.
    Exists(usize),
    /// `* n EXPUNGE`.
    Expunge(usize),
    /// `* VANISHED [(EARLIER)] uids` (RFC 7162 §3.2.10).
    Vanished { earlier: bool, uids: Vec<u32> },
    /// `* n FETCH (...)` with the items the model reads.
    Fetch {
        seq: usize,
        uid: Option<u32>,
        flags: Option<FlagSet>,
        modseq: Option<u64>,
    },
    /// `* SEARCH n...` (numbers as sent).
    Search(Vec<u32>),
    /// `* OK [CODE args] text` and other untagged status lines: the code's text.
    Code(String),
    /// `tag OK|NO|BAD [code] text`.
    Tagged {
        tag: String,
        status: String,
        code: Option<String>,
    },
    /// `+ ...`.
    Continuation,
    /// Any other untagged line (`* FLAGS`, `* n RECENT`, `* ENABLED`, ...).
    Other(String),
}

/// Splits `text` into CRLF-terminated lines and reads each.
///
/// # Errors
/// A line the reader does not understand, or output not ending in CRLF.
pub(crate) fn read_all(text: &str) -> Result<Vec<Response>, String> {
    if !text.is_empty() && !text.ends_with("\r\n") {
        return Err(format!("output does not end with CRLF: {text:?}"));
    }
    text.split_terminator("\r\n").map(read_line).collect()
}

/// Reads one response line (without its CRLF).
///
/// # Errors
/// A line whose shape the model's responses never have.
pub(crate) fn read_line(line: &str) -> Result<Response, String> {
    if line.starts_with('+') {
        return Ok(Response::Continuation);
    }
    let Some(rest) = line.strip_prefix("* ") else {
        let (tag, rest) = line.split_once(' ').ok_or(format!("no tag: {line:?}"))?;
        let (status, text) = rest.split_once(' ').unwrap_or((rest, ""));
        return Ok(Response::Tagged {
            tag: tag.to_owned(),
            status: status.to_owned(),
            code: code(text),
        });
    };
    let bad = |what: &str| format!("{what}: {line:?}");
    if let Some(set) = rest.strip_prefix("VANISHED ") {
        let (earlier, set) = match set.strip_prefix("(EARLIER) ") {
            Some(set) => (true, set),
            None => (false, set),
        };
        let uids = uid_set(set).ok_or_else(|| bad("bad VANISHED set"))?;
        return Ok(Response::Vanished { earlier, uids });
    }
    if let Some(numbers) = rest.strip_prefix("SEARCH") {
        let numbers: Result<Vec<u32>, _> = numbers.split_whitespace().map(str::parse).collect();
        return Ok(Response::Search(numbers.map_err(|_| bad("bad SEARCH"))?));
    }
    for status in ["OK ", "NO ", "BAD ", "BYE "] {
        if let Some(text) = rest.strip_prefix(status) {
            return Ok(Response::Code(code(text).unwrap_or_default()));
        }
    }
    let (number, what) = rest.split_once(' ').unwrap_or((rest, ""));
    let Ok(n) = number.parse::<usize>() else {
        return Ok(Response::Other(rest.to_owned()));
    };
    match what {
        "EXISTS" => Ok(Response::Exists(n)),
        "EXPUNGE" => Ok(Response::Expunge(n)),
        "RECENT" => Ok(Response::Other(rest.to_owned())),
        _ => {
            let items = what
                .strip_prefix("FETCH (")
                .and_then(|i| i.strip_suffix(')'))
                .ok_or_else(|| bad("unknown numbered response"))?;
            fetch(n, items).map_err(|e| bad(&e))
        }
    }
}

/// The text inside a leading `[...]` response code.
fn code(text: &str) -> Option<String> {
    let inner = text.strip_prefix('[')?;
    inner.find(']').map(|end| inner[..end].to_owned())
}

/// `FLAGS (...)`, `UID n` and `MODSEQ (n)` out of a FETCH's item list.
fn fetch(seq: usize, items: &str) -> Result<Response, String> {
    let tokens = tokens(items)?;
    let (mut uid, mut flags, mut modseq) = (None, None, None);
    let mut pairs = tokens.chunks(2);
    for pair in &mut pairs {
        let [Token::Atom(name), value] = pair else {
            return Err("FETCH items are not name-value pairs".to_owned());
        };
        match (name.to_ascii_uppercase().as_str(), value) {
            ("UID", Token::Atom(n)) => uid = Some(n.parse().map_err(|_| "bad UID")?),
            ("FLAGS", Token::List(list)) => flags = Some(list.iter().cloned().collect()),
            ("MODSEQ", Token::List(list)) if list.len() == 1 => {
                modseq = Some(list[0].parse().map_err(|_| "bad MODSEQ")?);
            }
            (other, _) => return Err(format!("unexpected FETCH item {other}")),
        }
    }
    Ok(Response::Fetch {
        seq,
        uid,
        flags,
        modseq,
    })
}

#[derive(Debug)]
enum Token {
    Atom(String),
    List(Vec<String>),
}

/// Atoms and one level of parenthesized atoms: all a flag FETCH holds.
fn tokens(text: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        if let Some(inner) = rest.strip_prefix('(') {
            let end = inner.find(')').ok_or("unbalanced parenthesis")?;
            let list = inner[..end].split_whitespace().map(str::to_owned).collect();
            out.push(Token::List(list));
            rest = &inner[end + 1..];
        } else {
            let end = rest.find([' ', '(', ')']).unwrap_or(rest.len());
            if end == 0 {
                return Err(format!("unexpected {rest:?}"));
            }
            out.push(Token::Atom(rest[..end].to_owned()));
            rest = &rest[end..];
        }
        rest = rest.trim_start();
    }
    Ok(out)
}

/// `uid-set` (RFC 4315 §4): numbers and ranges, comma-separated.
pub(crate) fn uid_set(text: &str) -> Option<Vec<u32>> {
    let mut uids = Vec::new();
    for part in text.split(',') {
        let (a, b) = part.split_once(':').unwrap_or((part, part));
        let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
        uids.extend(a.min(b)..=a.max(b));
    }
    Some(uids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_model_checks() {
        let fetch = read_line("* 3 FETCH (FLAGS (\\Seen $Work) UID 7 MODSEQ (12))").unwrap();
        let flags: FlagSet = ["\\Seen", "$Work"].map(str::to_owned).into();
        let expected = Response::Fetch {
            seq: 3,
            uid: Some(7),
            flags: Some(flags),
            modseq: Some(12),
        };
        assert_eq!(fetch, expected);
        assert_eq!(
            read_line("* VANISHED 1:3,5").unwrap(),
            Response::Vanished {
                earlier: false,
                uids: vec![1, 2, 3, 5]
            }
        );
        assert_eq!(
            read_line("t OK [MODIFIED 2] x").unwrap(),
            Response::Tagged {
                tag: "t".into(),
                status: "OK".into(),
                code: Some("MODIFIED 2".into())
            }
        );
        // What the model must not silently accept.
        for bad in [
            "* 1 FETCH (FLAGS (\\Seen)",
            "* 1 FETCH (UID)",
            "* 2 FROB",
            "* VANISHED x",
        ] {
            assert!(read_line(bad).is_err(), "{bad}");
        }
        assert!(read_all("* 1 EXISTS").is_err());
    }
}
