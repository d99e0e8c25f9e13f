//! Live recording (sans-IO): proxied bytes in, scenario text out, a line at a time.
//!
//! Unlike [`mailrig_transcript::record`], which prints a finished transcript, this turns each
//! protocol line into scenario text as soon as it is complete, so the file on disk grows with
//! the sessions and memory stays bounded. The output has the same shape: `C:`/`S:` lines,
//! `{{{` literals (their `+` continuation implied), `@starttls`, `@close`. Every line carries
//! its session prefix (`s1 C: ...`), since a later connection may add a session.

use mailrig_transcript::print::print_line;
use mailrig_transcript::scenario::{
    Family, Header, Line, Literal, LiteralSource, Part, Presence, Protocol, Scenario, SessionDecl, Side,
};

use super::assemble::{Assembled, Assembler, LiteralSink, Seg};
use super::credentials::{Credentials, Sasl};
use super::generalize::{Generalizer, push_text};

/// How a recording is written.
#[derive(Debug, Clone)]
pub struct RecorderOptions {
    /// The scenario's `name:`.
    pub name: String,
    /// Comment lines for the top of the file (without `#`).
    pub comments: Vec<String>,
    /// The protocol of every session.
    pub protocol: Protocol,
    /// Replace credentials with variables (the default).
    pub redact: bool,
    /// Replace volatile values with captures and holes (`--generalize`).
    pub generalize: bool,
}

/// Turns proxied traffic into scenario text.
#[derive(Debug)]
pub struct Recorder {
    options: RecorderOptions,
    sessions: Vec<Session>,
    credentials: Credentials,
    generalizer: Generalizer,
    /// Body text produced and not yet taken.
    out: String,
    /// The last step printed: its session and side (`None` for a directive).
    last: Option<(usize, Option<Side>)>,
    header_dirty: bool,
}

#[derive(Debug, Default)]
struct Session {
    client: Assembler,
    server: Assembler,
    sasl: Sasl,
    /// The client announced a synchronizing literal; the server's `+` is implied.
    awaiting_continuation: bool,
    closed: bool,
}

impl Recorder {
    /// A recorder with no session yet.
    pub fn new(options: RecorderOptions) -> Recorder {
        Recorder {
            options,
            sessions: Vec::new(),
            credentials: Credentials::default(),
            generalizer: Generalizer::default(),
            out: String::new(),
            last: None,
            header_dirty: true,
        }
    }

    /// A new connection: the next session (`s1`, `s2`, ...); returns its index.
    pub fn open(&mut self) -> usize {
        self.sessions.push(Session::default());
        self.header_dirty = true;
        self.sessions.len() - 1
    }

    /// Bytes one side sent (and the proxy forwarded).
    pub fn data(&mut self, session: usize, side: Side, bytes: &[u8], sink: &mut dyn LiteralSink) {
        let family = self.options.protocol.family();
        let mut assembled = Vec::new();
        let state = &mut self.sessions[session];
        match side {
            Side::Client => state.client.feed(bytes, family, sink, &mut assembled),
            Side::Server => state.server.feed(bytes, family, sink, &mut assembled),
        }
        for item in assembled {
            match item {
                Assembled::SyncLiteral if side == Side::Client => {
                    self.sessions[session].awaiting_continuation = true;
                }
                Assembled::SyncLiteral => {}
                Assembled::Line(segs) => self.line(session, side, segs, sink),
            }
        }
    }

    /// Both sides finished a TLS handshake after STARTTLS.
    pub fn tls_started(&mut self, session: usize, sink: &mut dyn LiteralSink) {
        self.flush(session, sink);
        self.directive(session, "@starttls");
    }

    /// One side closed the connection (only the first close of a session is recorded).
    pub fn closed(&mut self, session: usize, by: Side, sink: &mut dyn LiteralSink) {
        if self.sessions[session].closed {
            return;
        }
        self.flush(session, sink);
        self.sessions[session].closed = true;
        self.directive(session, &format!("@close {}", by.word()));
    }

    /// The recording ends (Ctrl-C): partial lines of sessions still open are printed, and a
    /// comment says which sessions were still open (no `@close` is invented for them).
    pub fn finish(&mut self, sink: &mut dyn LiteralSink) {
        for session in 0..self.sessions.len() {
            if self.sessions[session].closed {
                continue;
            }
            self.flush(session, sink);
            self.note(&format!(
                "{}: still open when the recording ended",
                session_name(session)
            ));
        }
    }

    /// A comment line about a session (e.g. bytes the proxy did not forward).
    pub fn note(&mut self, text: &str) {
        for line in text.lines() {
            self.out.push_str(&format!("# {line}\n"));
        }
    }

    /// The body text produced since the last call.
    pub fn take_text(&mut self) -> String {
        std::mem::take(&mut self.out)
    }

    /// The header, if it changed since the last call (a new session or variable).
    pub fn take_header(&mut self) -> Option<String> {
        if !std::mem::take(&mut self.header_dirty) {
            return None;
        }
        Some(self.header())
    }

    /// The header text, ending with the blank line before the body.
    pub fn header(&self) -> String {
        let sessions = (0..self.sessions.len())
            .map(|i| SessionDecl {
                name: session_name(i),
                protocol: self.options.protocol,
            })
            .collect();
        // `${auth_plain}` is a run variable (`mailrig run` and `replay` set it from the
        // accounts), so only the other redacted SASL lines are declared.
        let vars = self.credentials.declared.clone();
        // Every hole `--generalize` writes keeps its recorded value, so the file can still be
        // sent in both directions.
        let header = Header {
            comments: self.options.comments.iter().map(|c| format!(" {c}")).collect(),
            name: self.options.name.clone(),
            sessions,
            vars,
            plays_both: true,
            ..Header::default()
        };
        let mut text = mailrig_transcript::print(&Scenario {
            header,
            body: Vec::new(),
        });
        text.push('\n');
        text
    }

    /// Prints whatever partial lines a session holds.
    fn flush(&mut self, session: usize, sink: &mut dyn LiteralSink) {
        for side in [Side::Client, Side::Server] {
            let state = &mut self.sessions[session];
            let assembler = match side {
                Side::Client => &mut state.client,
                Side::Server => &mut state.server,
            };
            if let Some(segs) = assembler.flush(sink) {
                self.line(session, side, segs, sink);
            }
        }
    }

    fn line(&mut self, session: usize, side: Side, segs: Vec<Seg>, sink: &mut dyn LiteralSink) {
        let family = self.options.protocol.family();
        if side == Side::Server && family == Family::Imap && self.sessions[session].awaiting_continuation {
            self.sessions[session].awaiting_continuation = false;
            if starts_with(&segs, b"+") {
                return;
            }
            if !starts_with(&segs, b"* ") {
                // A tagged reply instead of `+`: the literal was refused (RFC 9051 §4.3).
                let refused = self.sessions[session].client.refuse_literal(sink);
                if let Some(refused) = refused {
                    self.line(session, Side::Client, refused, sink);
                }
            }
        }
        let (mut parts, crlf) = to_parts(&segs, family, sink);
        if let [Seg::Bytes(bytes)] = &segs[..] {
            let text = bytes.strip_suffix(b"\r\n").unwrap_or(bytes);
            let state = &mut self.sessions[session];
            match side {
                Side::Client if self.options.redact => {
                    let declared = self.credentials.declared.len();
                    if let Some(redacted) = self.credentials.client_line(family, &mut state.sasl, text) {
                        // A newly declared `${saslN}` changes the header.
                        self.header_dirty |= declared != self.credentials.declared.len();
                        parts = redacted;
                    }
                }
                Side::Client => {}
                Side::Server => Credentials::server_line(&mut state.sasl, text),
            }
        }
        if self.options.generalize {
            parts = self.generalizer.line(session, family, side, parts);
        }
        let line = Line {
            side,
            presence: Presence::Required,
            exact_case: false,
            parts,
            crlf,
        };
        let mut text = String::new();
        print_line(&line, &mut text);
        let starts_exchange = side == Side::Client && self.last != Some((session, Some(Side::Client)));
        if starts_exchange && self.last.is_some() {
            self.out.push('\n');
        }
        self.out.push_str(&format!("{} {text}\n", session_name(session)));
        self.last = Some((session, Some(side)));
    }

    fn directive(&mut self, session: usize, text: &str) {
        self.out.push_str(&format!("{} {text}\n", session_name(session)));
        self.last = Some((session, None));
    }
}

/// `s1`, `s2`, ... in connect order.
pub fn session_name(index: usize) -> String {
    format!("s{}", index + 1)
}

fn starts_with(segs: &[Seg], prefix: &[u8]) -> bool {
    matches!(segs.first(), Some(Seg::Bytes(b)) if b.starts_with(prefix))
}

/// A logical line as scenario parts (small literals as `{{{` blocks or files) and whether it
/// ended with CRLF.
fn to_parts(segs: &[Seg], family: Family, sink: &mut dyn LiteralSink) -> (Vec<Part>, bool) {
    let mut parts = Vec::new();
    for seg in segs {
        match seg {
            Seg::File { path, non_sync } => parts.push(Part::Literal(Literal {
                non_sync: *non_sync,
                source: LiteralSource::File {
                    path: path.clone(),
                    data: None,
                },
            })),
            Seg::Bytes(bytes) => bytes_to_parts(bytes, family, sink, &mut parts),
        }
    }
    let crlf = matches!(parts.last(), Some(Part::Text(t)) if t.ends_with(b"\r\n"));
    if crlf && let Some(Part::Text(t)) = parts.last_mut() {
        t.truncate(t.len() - 2);
        if t.is_empty() {
            parts.pop();
        }
    }
    (parts, crlf)
}

/// Text with the small IMAP literals it contains as literal parts.
fn bytes_to_parts(bytes: &[u8], family: Family, sink: &mut dyn LiteralSink, parts: &mut Vec<Part>) {
    let (mut start, mut search) = (0, 0);
    while let Some(rel) = bytes[search..].windows(2).position(|w| w == b"\r\n") {
        let crlf = search + rel;
        let size = match family {
            Family::Imap => mailrig_transcript::framing::literal_size(&bytes[start..crlf]),
            Family::Smtp => None,
        };
        let Some(size) = size.filter(|n| crlf + 2 + n <= bytes.len()) else {
            search = crlf + 2;
            continue;
        };
        let open = bytes[start..crlf]
            .iter()
            .rposition(|b| *b == b'{')
            .map_or(crlf, |i| start + i);
        push_text(parts, &bytes[start..open]);
        let data = &bytes[crlf + 2..crlf + 2 + size];
        parts.push(Part::Literal(Literal {
            non_sync: bytes[..crlf].ends_with(b"+}"),
            source: literal_source(data, sink),
        }));
        start = crlf + 2 + size;
        search = start;
    }
    push_text(parts, &bytes[start..]);
}

/// Literal content as `{{{` lines when it is CRLF-terminated text, else a file.
fn literal_source(data: &[u8], sink: &mut dyn LiteralSink) -> LiteralSource {
    let text = std::str::from_utf8(data)
        .ok()
        .and_then(|t| t.strip_suffix("\r\n"));
    if let Some(body) = text {
        let lines: Vec<String> = body.split("\r\n").map(str::to_owned).collect();
        if lines
            .iter()
            .all(|l| !l.contains(['\r', '\n']) && !l.starts_with("}}}"))
        {
            return LiteralSource::Inline(lines);
        }
    }
    let (id, path) = sink.begin();
    sink.write(id, data);
    sink.end(id);
    LiteralSource::File { path, data: None }
}

#[cfg(test)]
mod tests;
