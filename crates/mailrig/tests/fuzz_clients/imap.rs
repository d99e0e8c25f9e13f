//! A small async IMAP client for the fuzzing tests: LOGIN, LIST, SELECT INBOX, FETCH 1 (UID
//! FLAGS BODY[]), STORE +FLAGS (\Flagged), LOGOUT. It reads whole responses (literals
//! included) and parses their values. Two switchable bugs:
//!
//! - `fixed_fetch_order`: it reads FETCH items by position, as if every server sent them in
//!   the order it asked for (RFC 9051 §7.5.2 lets the server choose);
//! - `list_literals`: it takes a LIST response's mailbox as the last word of the response's
//!   first line, so a mailbox sent as a literal (RFC 9051 §4.3) comes out as `{10}`.

use std::time::Duration;

use mailrig_fuzz::Endpoint;
use mailrig_transcript::scenario::Protocol;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// How long one read may take before the client gives up.
const READ: Duration = Duration::from_secs(1);

/// The client's bugs, all off for the correct client.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Bugs {
    pub(crate) fixed_fetch_order: bool,
    pub(crate) list_literals: bool,
}

/// What the client got: the mailboxes listed, message 1's UID, flags and body, and the
/// flags after STORE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fetched {
    pub(crate) mailboxes: Vec<String>,
    pub(crate) uid: String,
    pub(crate) flags: String,
    pub(crate) body: Vec<u8>,
}

/// A value of an IMAP response.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Atom(String),
    Str(Vec<u8>),
    List(Vec<Value>),
}

pub(crate) async fn fetch(endpoint: Endpoint, bugs: Bugs) -> Result<Fetched, String> {
    let tcp = TcpStream::connect(endpoint.addr(Protocol::Imap))
        .await
        .map_err(|e| e.to_string())?;
    let mut s = BufReader::new(tcp);
    let greeting = response(&mut s).await?;
    if !greeting.0.to_ascii_uppercase().starts_with(b"* OK") {
        return Err("no OK greeting".to_owned());
    }
    run(&mut s, "a1 LOGIN alice secret").await?;
    let listed = run(&mut s, "a2 LIST \"\" *").await?;
    let mailboxes = listed
        .iter()
        .filter(|(r, _)| r.to_ascii_uppercase().starts_with(b"* LIST "))
        .map(|r| mailbox(r, bugs))
        .collect::<Result<Vec<_>, _>>()?;
    run(&mut s, "a3 SELECT INBOX").await?;
    let fetched = run(&mut s, "a4 FETCH 1 (UID FLAGS BODY[])").await?;
    let (uid, flags, body) = fetched
        .iter()
        .filter(|(r, _)| r.to_ascii_uppercase().starts_with(b"* 1 FETCH ("))
        .find_map(|r| message(r, bugs).ok().filter(|(_, _, body)| !body.is_empty()))
        .ok_or("no FETCH response with the body")?;
    run(&mut s, "a5 STORE 1 +FLAGS (\\Flagged)").await?;
    run(&mut s, "a6 LOGOUT").await?;
    Ok(Fetched {
        mailboxes,
        uid,
        flags,
        body,
    })
}

/// Sends a command and reads responses up to its tagged completion, which must be OK; the
/// untagged ones are returned (each with its first physical line).
async fn run(s: &mut BufReader<TcpStream>, command: &str) -> Result<Vec<(Vec<u8>, Vec<u8>)>, String> {
    let tag = command.split(' ').next().unwrap_or_default();
    s.get_mut()
        .write_all(format!("{command}\r\n").as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut untagged = Vec::new();
    loop {
        let (whole, first) = response(s).await?;
        if whole.starts_with(format!("{tag} ").as_bytes()) {
            let status = whole[tag.len() + 1..].to_ascii_uppercase();
            return if status.starts_with(b"OK") {
                Ok(untagged)
            } else {
                Err(format!("{command}: not OK"))
            };
        }
        if whole.to_ascii_uppercase().starts_with(b"* BYE") && !command.ends_with("LOGOUT") {
            return Err("the server said BYE".to_owned());
        }
        untagged.push((whole, first));
    }
}

/// Reads one response, literals included: (the whole response without its final CRLF, its
/// first physical line).
async fn response(s: &mut BufReader<TcpStream>) -> Result<(Vec<u8>, Vec<u8>), String> {
    let mut whole = Vec::new();
    let mut first = None;
    loop {
        let mut line = Vec::new();
        match tokio::time::timeout(READ, s.read_until(b'\n', &mut line)).await {
            Err(_) => return Err(format!("no response within {READ:?}")),
            Ok(Err(e)) => return Err(e.to_string()),
            Ok(Ok(0)) => return Err("connection closed".to_owned()),
            Ok(Ok(_)) => {}
        }
        let line = line.strip_suffix(b"\r\n").ok_or("a line without CRLF")?.to_vec();
        first.get_or_insert_with(|| line.clone());
        whole.extend_from_slice(&line);
        let Some(count) = literal_count(&line) else {
            return Ok((whole, first.unwrap_or_default()));
        };
        if count > 1 << 20 {
            return Err(format!("a literal of {count} bytes is too big"));
        }
        let mut data = vec![0u8; count];
        match tokio::time::timeout(READ, s.read_exact(&mut data)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(e.to_string()),
            Err(_) => return Err("literal data did not come".to_owned()),
        }
        whole.extend_from_slice(b"\r\n");
        whole.extend_from_slice(&data);
    }
}

fn literal_count(line: &[u8]) -> Option<usize> {
    let body = line.strip_suffix(b"}")?;
    let open = body.iter().rposition(|b| *b == b'{')?;
    std::str::from_utf8(&body[open + 1..]).ok()?.parse().ok()
}

/// The mailbox of a LIST response: the last value (or, with the bug, the last word of the
/// first line).
fn mailbox((whole, first): &(Vec<u8>, Vec<u8>), bugs: Bugs) -> Result<String, String> {
    if bugs.list_literals {
        // Quoted names and atoms come out right; a literal's announcement is taken as the name.
        let text = String::from_utf8_lossy(first).into_owned();
        let last = match text.strip_suffix('"') {
            Some(quoted) => quoted.rsplit_once(" \"").map_or(quoted, |(_, name)| name),
            None => text.rsplit(' ').next().unwrap_or_default(),
        };
        return Ok(last.to_owned());
    }
    let values = parse(&whole[7..])?;
    match values.last() {
        Some(Value::Atom(a)) => Ok(a.clone()),
        Some(Value::Str(s)) => Ok(String::from_utf8_lossy(s).into_owned()),
        _ => Err("a LIST response without a mailbox".to_owned()),
    }
}

/// UID, flags and body of a `* 1 FETCH (...)` response.
fn message((whole, first): &(Vec<u8>, Vec<u8>), bugs: Bugs) -> Result<(String, String, Vec<u8>), String> {
    if bugs.fixed_fetch_order {
        // `* 1 FETCH (UID <n> FLAGS (<flags>) BODY[] {n}`, by position.
        let text = String::from_utf8_lossy(first).into_owned();
        let words: Vec<&str> = text.split(' ').collect();
        let uid = words.get(4).ok_or("short FETCH")?.to_string();
        let flags_end = text.find(") BODY[]").ok_or("no BODY[] after FLAGS")?;
        let flags_start = text.find("FLAGS (").ok_or("no FLAGS")? + 6;
        let flags = text.get(flags_start..=flags_end).ok_or("bad FLAGS")?.to_owned();
        let at = whole.windows(2).position(|w| w == b"\r\n").ok_or("no literal")? + 2;
        let body = whole[at..whole.len() - 1].to_vec();
        return Ok((uid, flags, body));
    }
    let values = parse(&whole[10..])?;
    let Some(Value::List(items)) = values.first() else {
        return Err("FETCH without items".to_owned());
    };
    let (mut uid, mut flags, mut body) = (String::new(), String::new(), Vec::new());
    for pair in items.chunks(2) {
        match (&pair[0], pair.get(1)) {
            (Value::Atom(name), Some(Value::Atom(n))) if name.eq_ignore_ascii_case("UID") => uid = n.clone(),
            (Value::Atom(name), Some(Value::List(f))) if name.eq_ignore_ascii_case("FLAGS") => {
                let words: Vec<String> = f
                    .iter()
                    .map(|v| match v {
                        Value::Atom(a) => a.clone(),
                        other => format!("{other:?}"),
                    })
                    .collect();
                flags = format!("({})", words.join(" "));
            }
            (Value::Atom(name), Some(Value::Str(b))) if name.eq_ignore_ascii_case("BODY[]") => {
                body = b.clone()
            }
            _ => {}
        }
    }
    Ok((uid, flags, body))
}

/// The values of a response's rest (after `* LIST ` or `* 1 FETCH `).
fn parse(bytes: &[u8]) -> Result<Vec<Value>, String> {
    let mut at = 0;
    let mut out = Vec::new();
    while at < bytes.len() {
        if bytes[at] == b' ' {
            at += 1;
            continue;
        }
        let (value, next) = value(bytes, at)?;
        out.push(value);
        at = next;
    }
    Ok(out)
}

fn value(b: &[u8], at: usize) -> Result<(Value, usize), String> {
    match b.get(at) {
        Some(b'"') => {
            let mut out = Vec::new();
            let mut i = at + 1;
            while let Some(c) = b.get(i) {
                match c {
                    b'\\' => {
                        out.push(*b.get(i + 1).ok_or("bad escape")?);
                        i += 2;
                    }
                    b'"' => return Ok((Value::Str(out), i + 1)),
                    c => {
                        out.push(*c);
                        i += 1;
                    }
                }
            }
            Err("unterminated quoted string".to_owned())
        }
        Some(b'{') => {
            let close = at + b[at..].iter().position(|c| *c == b'}').ok_or("bad literal")?;
            let n: usize = std::str::from_utf8(&b[at + 1..close])
                .map_err(|e| e.to_string())?
                .parse()
                .map_err(|_| "bad count")?;
            let start = close + 3;
            let data = b.get(start..start + n).ok_or("short literal")?;
            Ok((Value::Str(data.to_vec()), start + n))
        }
        Some(b'(') => {
            let mut items = Vec::new();
            let mut i = at + 1;
            loop {
                match b.get(i) {
                    Some(b')') => return Ok((Value::List(items), i + 1)),
                    Some(b' ') => i += 1,
                    Some(_) => {
                        let (v, next) = value(b, i)?;
                        items.push(v);
                        i = next;
                    }
                    None => return Err("unterminated list".to_owned()),
                }
            }
        }
        Some(_) => {
            let mut depth = 0;
            let mut i = at;
            while let Some(c) = b.get(i) {
                match c {
                    b'[' => depth += 1,
                    b']' => depth -= 1,
                    b' ' | b')' if depth == 0 => break,
                    _ => {}
                }
                i += 1;
            }
            Ok((Value::Atom(String::from_utf8_lossy(&b[at..i]).into_owned()), i))
        }
        None => Err("a value is missing".to_owned()),
    }
}
