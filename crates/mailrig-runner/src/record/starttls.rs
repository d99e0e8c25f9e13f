//! Where a proxied STARTTLS happens: watches the client's commands and the server's replies
//! (sans-IO) and says at which byte both sides must switch to TLS.
//!
//! RFC 3207 §4 (SMTP): after `STARTTLS` the server answers `220` and both sides start the
//! handshake; RFC 9051 §6.2.1 (IMAP): the tagged `OK` to `STARTTLS` is the last plaintext.
//! Bytes a client sends after its `STARTTLS` line and before the handshake are held; when the
//! server agrees they are dropped (RFC 3207 §4.2, RFC 9051 §11.1: plaintext pipelined behind
//! STARTTLS must not reach the TLS session), when it refuses they are forwarded.

use mailrig_transcript::framing::literal_size;
use mailrig_transcript::scenario::Family;

/// How much of a line the watcher keeps: enough for a tag, a command and a reply code.
const HEAD: usize = 256;

/// What the server's bytes mean for a pending STARTTLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServerSays {
    /// Nothing decided: forward everything.
    Nothing,
    /// The server agreed; forward this many bytes (its reply), drop the rest, then handshake.
    Upgrade(usize),
    /// The server refused; forward everything and release the held client bytes.
    Refused,
}

/// Watches one proxied connection for STARTTLS.
#[derive(Debug)]
pub(crate) struct StartTlsWatch {
    family: Family,
    client: Lines,
    server: Lines,
    /// A STARTTLS command was forwarded and awaits its reply: its IMAP tag (empty for SMTP).
    pending: Option<Vec<u8>>,
    /// SMTP: where DATA stands, so message lines are never read as commands.
    data: Data,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Data {
    No,
    /// `DATA` sent, its reply not yet seen.
    Requested,
    /// `354` seen: message lines until `.`.
    Body,
}

impl StartTlsWatch {
    /// A watcher for a connection of `family`.
    pub(crate) fn new(family: Family) -> StartTlsWatch {
        StartTlsWatch {
            family,
            client: Lines::new(family),
            server: Lines::new(family),
            pending: None,
            data: Data::No,
        }
    }

    /// Whether a STARTTLS command awaits its reply (client bytes must be held meanwhile).
    #[cfg(test)]
    pub(crate) fn is_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// Reads client bytes and returns how many may be forwarded now: all of them, or those up
    /// to the end of a `STARTTLS` command line (the rest must be held). Returns 0 while a
    /// STARTTLS is pending.
    pub(crate) fn client(&mut self, bytes: &[u8]) -> usize {
        if self.pending.is_some() {
            return 0;
        }
        let mut at = 0;
        while let Some((used, line)) = self.client.next(&bytes[at..]) {
            at += used;
            if self.client_line(&line) {
                return at;
            }
        }
        bytes.len()
    }

    /// Reads server bytes (see [`ServerSays`]).
    pub(crate) fn server(&mut self, bytes: &[u8]) -> ServerSays {
        let mut at = 0;
        while let Some((used, line)) = self.server.next(&bytes[at..]) {
            at += used;
            if let Some(says) = self.server_line(&line) {
                if matches!(says, ServerSays::Upgrade(_)) {
                    return ServerSays::Upgrade(at);
                }
                return says;
            }
        }
        ServerSays::Nothing
    }

    /// Whether this client line is a STARTTLS command.
    fn client_line(&mut self, line: &[u8]) -> bool {
        match self.family {
            Family::Smtp => {
                let command = trim_crlf(line);
                match self.data {
                    Data::Body | Data::Requested => {
                        if command == b"." {
                            self.data = Data::No;
                        }
                        false
                    }
                    Data::No if command.eq_ignore_ascii_case(b"DATA") => {
                        self.data = Data::Requested;
                        false
                    }
                    Data::No if command.eq_ignore_ascii_case(b"STARTTLS") => {
                        self.pending = Some(Vec::new());
                        true
                    }
                    Data::No => false,
                }
            }
            Family::Imap => {
                let text = trim_crlf(line);
                let Some((tag, command)) = split_word(text) else {
                    return false;
                };
                if command.eq_ignore_ascii_case(b"STARTTLS") {
                    self.pending = Some(tag.to_vec());
                    return true;
                }
                false
            }
        }
    }

    fn server_line(&mut self, line: &[u8]) -> Option<ServerSays> {
        let text = trim_crlf(line);
        match self.family {
            Family::Smtp => {
                // A multi-line reply continues while the code is followed by `-`.
                if text.get(3) == Some(&b'-') {
                    return None;
                }
                let code = text.get(..3)?;
                if self.data == Data::Requested {
                    self.data = if code == b"354" { Data::Body } else { Data::No };
                }
                self.pending.take()?;
                Some(if code == b"220" {
                    ServerSays::Upgrade(0)
                } else {
                    ServerSays::Refused
                })
            }
            Family::Imap => {
                let tag = self.pending.as_deref()?;
                let (got, rest) = split_word(text)?;
                if got != tag {
                    return None;
                }
                let ok = rest.len() >= 2 && rest[..2].eq_ignore_ascii_case(b"OK");
                self.pending = None;
                Some(if ok {
                    ServerSays::Upgrade(0)
                } else {
                    ServerSays::Refused
                })
            }
        }
    }
}

/// Splits `word rest` at the first space.
fn split_word(text: &[u8]) -> Option<(&[u8], &[u8])> {
    let space = text.iter().position(|b| *b == b' ')?;
    Some((&text[..space], &text[space + 1..]))
}

fn trim_crlf(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r\n").unwrap_or(line)
}

/// Finds protocol lines in a stream in bounded memory: keeps only the head of each line,
/// and skips IMAP literal data.
#[derive(Debug)]
struct Lines {
    family: Family,
    head: Vec<u8>,
    /// The previous byte was CR (a CRLF may be split across reads).
    cr: bool,
    /// IMAP literal bytes still to skip.
    skip: u64,
}

impl Lines {
    fn new(family: Family) -> Lines {
        Lines {
            family,
            head: Vec::new(),
            cr: false,
            skip: 0,
        }
    }

    /// Consumes bytes up to the end of the next complete line; returns how many and the
    /// line's head (CRLF included when it fits). `None` when `bytes` hold no line end (all
    /// of them consumed).
    fn next(&mut self, bytes: &[u8]) -> Option<(usize, Vec<u8>)> {
        let mut at = 0;
        while at < bytes.len() {
            if self.skip > 0 {
                let n = usize::try_from(self.skip)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len() - at);
                at += n;
                self.skip -= n as u64;
                continue;
            }
            let byte = bytes[at];
            at += 1;
            if self.head.len() < HEAD {
                self.head.push(byte);
            }
            let end = self.cr && byte == b'\n';
            self.cr = byte == b'\r';
            if !end {
                continue;
            }
            let line = std::mem::take(&mut self.head);
            if self.family == Family::Imap
                && let Some(size) = literal_size(trim_crlf(&line))
            {
                // The line continues after the literal; what matters is its start.
                self.skip = size as u64;
                let open = line.iter().rposition(|b| *b == b'{').unwrap_or(0);
                self.head = line[..open].to_vec();
                continue;
            }
            return Some((at, line));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_upgrades_after_220_and_holds_pipelined_plaintext() {
        let mut watch = StartTlsWatch::new(Family::Smtp);
        assert_eq!(watch.client(b"EHLO x\r\n"), 8);
        assert_eq!(watch.server(b"250-hi\r\n250 STARTTLS\r\n"), ServerSays::Nothing);
        // RFC 3207 §4.2: the injected command after STARTTLS is not forwarded.
        let sent = b"STARTTLS\r\nMAIL FROM:<evil@x>\r\n";
        assert_eq!(watch.client(sent), 10);
        assert!(watch.is_pending());
        assert_eq!(watch.client(b"more"), 0);
        let reply = b"220 go ahead\r\n250 injected\r\n";
        assert_eq!(watch.server(reply), ServerSays::Upgrade(14));
        assert!(!watch.is_pending());
    }

    #[test]
    fn a_refused_starttls_releases_the_client() {
        let mut watch = StartTlsWatch::new(Family::Smtp);
        assert_eq!(watch.client(b"STARTTLS\r\n"), 10);
        assert_eq!(watch.server(b"454 4.7.0 not now\r\n"), ServerSays::Refused);
        assert_eq!(watch.client(b"QUIT\r\n"), 6);
    }

    #[test]
    fn smtp_message_lines_are_not_commands() {
        let mut watch = StartTlsWatch::new(Family::Smtp);
        watch.client(b"DATA\r\n");
        assert_eq!(watch.server(b"354 go\r\n"), ServerSays::Nothing);
        assert_eq!(watch.client(b"STARTTLS\r\n.\r\n"), 13);
        assert!(!watch.is_pending());
        assert_eq!(watch.client(b"STARTTLS\r\n"), 10);
        assert!(watch.is_pending());
    }

    #[test]
    fn imap_upgrades_on_the_tagged_ok_of_its_own_tag() {
        let mut watch = StartTlsWatch::new(Family::Imap);
        assert_eq!(watch.client(b"a1 STARTTLS\r\n"), 13);
        assert_eq!(watch.server(b"* OK still plain\r\n"), ServerSays::Nothing);
        assert_eq!(watch.server(b"a0 OK other\r\n"), ServerSays::Nothing);
        assert_eq!(
            watch.server(b"a1 OK Begin TLS\r\n* injected\r\n"),
            ServerSays::Upgrade(17)
        );
        let mut refused = StartTlsWatch::new(Family::Imap);
        refused.client(b"a1 STARTTLS\r\n");
        assert_eq!(refused.server(b"a1 BAD no\r\n"), ServerSays::Refused);
    }

    #[test]
    fn imap_literal_data_is_not_a_command_and_lines_may_split() {
        let mut watch = StartTlsWatch::new(Family::Imap);
        let append = b"a1 APPEND x {13}\r\na2 STARTTLS\r\n\r\n";
        assert_eq!(watch.client(append), append.len());
        assert!(!watch.is_pending());
        assert_eq!(watch.client(b"a3 START"), 8);
        assert_eq!(watch.client(b"TLS\r"), 4);
        assert_eq!(watch.client(b"\n"), 1);
        assert!(watch.is_pending());
    }
}
