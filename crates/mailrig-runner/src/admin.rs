//! A minimal IMAP client for preparing and cleaning up a scenario's state (not for judging:
//! that is the engine's job): log in (over implicit TLS, or STARTTLS whenever the server offers
//! it), run one command at a time and read its responses, literals included, and APPEND with a
//! synchronizing literal, which every IMAP server accepts.

use std::time::Duration;

use mailrig_transcript::framing;
use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader,
};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::target::Endpoint;

/// Why talking to the server failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AdminError {
    /// The connection failed, closed or timed out.
    #[error("{0}")]
    Io(String),
    /// The server refused a command: the command (credentials hidden) and its tagged answer.
    #[error("`{command}` got `{answer}`")]
    Refused {
        /// The command, without its tag.
        command: String,
        /// The tagged response.
        answer: String,
    },
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A logged-in IMAP connection.
pub(crate) struct Admin {
    stream: BufReader<Box<dyn Io>>,
    tag: u32,
    limit: Duration,
}

/// The longest response line or literal read (a guard, far above what setup needs).
const MAX: u64 = 1 << 20;

impl Admin {
    /// Connects to `endpoint`, upgrades with STARTTLS when the server offers it, and logs in.
    pub(crate) async fn login(
        endpoint: &Endpoint,
        tls: &TlsConnector,
        login: &str,
        password: &str,
        limit: Duration,
    ) -> Result<Admin, AdminError> {
        let (mut admin, _) = Admin::connect(endpoint, tls, limit).await?;
        admin.authenticate(login, password).await?;
        Ok(admin)
    }

    /// Connects to `endpoint` (implicit TLS, or STARTTLS whenever the server offers it),
    /// without logging in; also returns the responses read before TLS and the greeting.
    pub(crate) async fn connect(
        endpoint: &Endpoint,
        tls: &TlsConnector,
        limit: Duration,
    ) -> Result<(Admin, Vec<Vec<u8>>), AdminError> {
        let tcp = within(limit, TcpStream::connect((endpoint.host.as_str(), endpoint.port)))
            .await?
            .map_err(|e| AdminError::Io(format!("{endpoint}: {e}")))?;
        let (stream, mut seen): (Box<dyn Io>, _) = if endpoint.implicit_tls {
            (Box::new(handshake(endpoint, tls, tcp, limit).await?), Vec::new())
        } else {
            plain_then_starttls(endpoint, tls, tcp, limit).await?
        };
        let mut admin = Admin {
            stream: BufReader::new(stream),
            tag: 0,
            limit,
        };
        if endpoint.implicit_tls {
            // On a plain connection the greeting was read before STARTTLS.
            seen.push(read_response(&mut admin.stream, limit).await?);
        }
        Ok((admin, seen))
    }

    /// LOGIN; a refusal names the command with the password hidden.
    pub(crate) async fn authenticate(&mut self, login: &str, password: &str) -> Result<(), AdminError> {
        let command = format!("LOGIN {} {}", quote(login), quote(password));
        self.run(&command).await.map(drop).map_err(|e| match e {
            AdminError::Refused { answer, .. } => AdminError::Refused {
                command: format!("LOGIN {} ***", quote(login)),
                answer,
            },
            other => other,
        })
    }

    /// Runs one command; returns its untagged responses, or `Refused` unless it ends in OK.
    pub(crate) async fn run(&mut self, command: &str) -> Result<Vec<Vec<u8>>, AdminError> {
        let tag = self.send(command.as_bytes()).await?;
        self.finish(&tag, command).await
    }

    /// `APPEND mailbox (flags) "date" {n}` with a synchronizing literal.
    pub(crate) async fn append(&mut self, head: &str, message: &[u8]) -> Result<(), AdminError> {
        let announce = format!("{head} {{{}}}", message.len());
        let tag = self.send(announce.as_bytes()).await?;
        loop {
            let response = read_response(&mut self.stream, self.limit).await?;
            if response.starts_with(b"+") {
                break;
            }
            if response.starts_with(tag.as_bytes()) {
                return Err(refused(head, &response));
            }
        }
        let mut data = message.to_vec();
        data.extend_from_slice(b"\r\n");
        self.write(&data).await?;
        self.finish(&tag, head).await.map(drop)
    }

    /// Says LOGOUT and closes, ignoring what goes wrong (the work is done).
    pub(crate) async fn logout(mut self) {
        drop(within(self.limit, self.run("LOGOUT")).await);
    }

    async fn send(&mut self, command: &[u8]) -> Result<String, AdminError> {
        self.tag += 1;
        let tag = format!("M{}", self.tag);
        let mut line = format!("{tag} ").into_bytes();
        line.extend_from_slice(command);
        line.extend_from_slice(b"\r\n");
        self.write(&line).await?;
        Ok(tag)
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), AdminError> {
        let stream = self.stream.get_mut();
        within(self.limit, async {
            stream.write_all(bytes).await?;
            stream.flush().await
        })
        .await?
        .map_err(|e| AdminError::Io(e.to_string()))
    }

    async fn finish(&mut self, tag: &str, command: &str) -> Result<Vec<Vec<u8>>, AdminError> {
        let mut untagged = Vec::new();
        loop {
            let response = read_response(&mut self.stream, self.limit).await?;
            let Some(rest) = response.strip_prefix(format!("{tag} ").as_bytes()) else {
                untagged.push(response);
                continue;
            };
            if rest.len() >= 2 && rest[..2].eq_ignore_ascii_case(b"OK") {
                return Ok(untagged);
            }
            return Err(refused(command, &response));
        }
    }
}

fn refused(command: &str, answer: &[u8]) -> AdminError {
    AdminError::Refused {
        command: command.to_owned(),
        answer: String::from_utf8_lossy(answer).into_owned(),
    }
}

async fn within<F: std::future::Future>(limit: Duration, future: F) -> Result<F::Output, AdminError> {
    tokio::time::timeout(limit, future)
        .await
        .map_err(|_| AdminError::Io(format!("no answer within {limit:?}")))
}

async fn handshake(
    endpoint: &Endpoint,
    tls: &TlsConnector,
    tcp: TcpStream,
    limit: Duration,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, AdminError> {
    let name = endpoint
        .server_name()
        .map_err(|e| AdminError::Io(e.to_string()))?;
    within(limit, tls.connect(name, tcp))
        .await?
        .map_err(|e| AdminError::Io(format!("{endpoint}: TLS handshake failed: {e}")))
}

/// Reads the greeting and CAPABILITY in plaintext and upgrades with STARTTLS when offered;
/// returns the stream and the plaintext responses.
async fn plain_then_starttls(
    endpoint: &Endpoint,
    tls: &TlsConnector,
    tcp: TcpStream,
    limit: Duration,
) -> Result<(Box<dyn Io>, Vec<Vec<u8>>), AdminError> {
    let mut plain = BufReader::new(tcp);
    let mut seen = vec![read_response(&mut plain, limit).await?];
    write_line(&mut plain, b"M0 CAPABILITY\r\n", limit).await?;
    seen.extend(until_tagged(&mut plain, b"M0 ", limit).await?);
    if !seen.iter().any(|r| contains_word(r, b"STARTTLS")) {
        return Ok((Box::new(plain), seen));
    }
    write_line(&mut plain, b"M00 STARTTLS\r\n", limit).await?;
    let answers = until_tagged(&mut plain, b"M00 ", limit).await?;
    let ok = answers
        .last()
        .is_some_and(|a| a.get(4..6).is_some_and(|s| s.eq_ignore_ascii_case(b"OK")));
    if !ok || !plain.buffer().is_empty() {
        return Err(AdminError::Io(format!("{endpoint}: STARTTLS failed")));
    }
    let stream = handshake(endpoint, tls, plain.into_inner(), limit).await?;
    Ok((Box::new(stream), seen))
}

async fn write_line<S: AsyncWrite + Unpin>(
    stream: &mut S,
    bytes: &[u8],
    limit: Duration,
) -> Result<(), AdminError> {
    within(limit, stream.write_all(bytes))
        .await?
        .map_err(|e| AdminError::Io(e.to_string()))
}

async fn until_tagged<S: AsyncBufRead + Unpin>(
    stream: &mut S,
    tag: &[u8],
    limit: Duration,
) -> Result<Vec<Vec<u8>>, AdminError> {
    let mut responses = Vec::new();
    loop {
        let response = read_response(stream, limit).await?;
        let done = response.starts_with(tag);
        responses.push(response);
        if done {
            return Ok(responses);
        }
    }
}

fn contains_word(response: &[u8], word: &[u8]) -> bool {
    response
        .split(|b| matches!(b, b' ' | b'[' | b']'))
        .any(|w| w.eq_ignore_ascii_case(word))
}

/// Reads one response: a line, and when it ends in a literal `{n}` (or `{n+}`), the literal's
/// bytes and the rest of the response after it. CRLF is kept inside, dropped at the end.
async fn read_response<S: AsyncBufRead + Unpin>(
    stream: &mut S,
    limit: Duration,
) -> Result<Vec<u8>, AdminError> {
    let mut response = Vec::new();
    loop {
        let mut line = Vec::new();
        let read = within(limit, (&mut *stream).take(MAX).read_until(b'\n', &mut line)).await?;
        match read {
            Ok(0) => return Err(AdminError::Io("the connection closed".to_owned())),
            Ok(_) => {}
            Err(e) => return Err(AdminError::Io(e.to_string())),
        }
        response.extend_from_slice(&line);
        let Some(size) = literal_size(&line) else {
            while response.last().is_some_and(|b| matches!(b, b'\r' | b'\n')) {
                response.pop();
            }
            return Ok(response);
        };
        if size > MAX as usize {
            return Err(AdminError::Io(format!(
                "the server announced a {size}-byte literal, more than the {MAX} bytes mailrig reads here"
            )));
        }
        let mut data = vec![0u8; size];
        within(limit, stream.read_exact(&mut data))
            .await?
            .map_err(|e| AdminError::Io(e.to_string()))?;
        response.extend_from_slice(&data);
    }
}

/// The size of the literal a line announces at its end (`{12}` or `{12+}` before its line
/// end), as `mailrig_transcript::framing` reads it.
fn literal_size(line: &[u8]) -> Option<usize> {
    let line = line.strip_suffix(b"\n")?;
    framing::literal_size(line.strip_suffix(b"\r").unwrap_or(line))
}

/// A mailbox name or password as an IMAP quoted string.
pub(crate) fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// One `* LIST` or `* LSUB` response: the hierarchy delimiter (None for NIL) and the name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Listed {
    /// The hierarchy delimiter.
    pub delimiter: Option<char>,
    /// The mailbox name, as the server spells it.
    pub name: String,
}

/// Parses `* LIST (attributes) delimiter name` (or LSUB); the name may be an atom, a quoted
/// string or a literal. None for any other response.
pub(crate) fn parse_list(response: &[u8]) -> Option<Listed> {
    let rest = response.strip_prefix(b"* ")?;
    let space = rest.iter().position(|&b| b == b' ')?;
    let kind = &rest[..space];
    if !kind.eq_ignore_ascii_case(b"LIST") && !kind.eq_ignore_ascii_case(b"LSUB") {
        return None;
    }
    let rest = rest[space + 1..].strip_prefix(b"(")?;
    let close = rest.iter().position(|&b| b == b')')?;
    let rest = rest[close + 1..].strip_prefix(b" ")?;
    let (delimiter, rest) = if rest.len() >= 3 && rest[..3].eq_ignore_ascii_case(b"NIL") {
        (None, &rest[3..])
    } else {
        let (text, rest) = string(rest)?;
        (text.chars().next(), rest)
    };
    let (name, _) = string(rest.strip_prefix(b" ")?)?;
    Some(Listed { delimiter, name })
}

/// An IMAP astring at the start of `input`: quoted, literal or atom; and what follows it.
fn string(input: &[u8]) -> Option<(String, &[u8])> {
    match input.first()? {
        b'"' => {
            let mut out = Vec::new();
            let mut i = 1;
            while i < input.len() {
                match input[i] {
                    b'\\' => {
                        out.push(*input.get(i + 1)?);
                        i += 2;
                    }
                    b'"' => return Some((String::from_utf8_lossy(&out).into_owned(), &input[i + 1..])),
                    b => {
                        out.push(b);
                        i += 1;
                    }
                }
            }
            None
        }
        b'{' => {
            let end = input.iter().position(|&b| b == b'\n')?;
            let size = literal_size(&input[..=end])?;
            let data = input.get(end + 1..end + 1 + size)?;
            Some((
                String::from_utf8_lossy(data).into_owned(),
                &input[end + 1 + size..],
            ))
        }
        _ => {
            let end = input.iter().position(|&b| b == b' ').unwrap_or(input.len());
            Some((String::from_utf8_lossy(&input[..end]).into_owned(), &input[end..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_names_as_atom_quoted_or_literal() {
        let parsed = |text: &[u8]| parse_list(text).map(|l| (l.delimiter, l.name));
        assert_eq!(
            parsed(b"* LIST (\\HasNoChildren) \".\" mailrig-1-x"),
            Some((Some('.'), "mailrig-1-x".into()))
        );
        assert_eq!(
            parsed(b"* LSUB () \"/\" \"a \\\"b\\\"\""),
            Some((Some('/'), "a \"b\"".into()))
        );
        assert_eq!(
            parsed(b"* LIST (\\Noselect) NIL {5}\r\nab cd"),
            Some((None, "ab cd".into()))
        );
        assert_eq!(
            parsed(b"* LIST (\\Noselect) \"/\" \"\""),
            Some((Some('/'), String::new()))
        );
        // Not a LIST response, or a truncated one.
        assert_eq!(parsed(b"* 3 EXISTS"), None);
        assert_eq!(parsed(b"* LIST (\\Noselect) \"/\" \"open"), None);
        assert_eq!(parsed(b"* LIST (\\Noselect) NIL {9}\r\nshort"), None);
    }

    #[test]
    fn literal_announcements() {
        assert_eq!(literal_size(b"* LIST () \"/\" {12}\r\n"), Some(12));
        assert_eq!(literal_size(b"A1 APPEND x {3+}\r\n"), Some(3));
        assert_eq!(literal_size(b"* OK {not}\r\n"), None);
        assert_eq!(literal_size(b"* OK {}\r\n"), None);
        assert_eq!(literal_size(b"* OK no literal\r\n"), None);
    }

    #[test]
    fn quoting_escapes_backslash_and_quote() {
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
    }

    #[test]
    fn words_are_found_inside_response_codes() {
        assert!(contains_word(
            b"* OK [CAPABILITY IMAP4rev1 STARTTLS] hi",
            b"starttls"
        ));
        assert!(!contains_word(
            b"* OK [CAPABILITY IMAP4rev1 NOSTARTTLS] hi",
            b"STARTTLS"
        ));
    }
}
