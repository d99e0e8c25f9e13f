//! The canonical scenario a fuzzing run varies, indexed: every `S:` line with what the
//! strategies need to know about it (its bytes when it has no holes, whether it is an IMAP
//! tagged completion and of which command, what the session was told before it), and the
//! shipped canonical flows.

use std::sync::Arc;

use mailrig_transcript::scenario::{Directive, Item, Line, Part, Role, Scenario, Side, StepKind};

use crate::imap;
use crate::target::Target;

/// A shipped canonical flow: a `plays: server` scenario a correct client of that flow
/// follows exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// SMTP: EHLO, STARTTLS, EHLO, one message to one recipient, QUIT
    /// (`crates/mailrig-fuzz/flows/smtp-send.scenario`).
    SmtpSend,
    /// IMAP: LOGIN, LIST, SELECT INBOX, FETCH 1 (UID FLAGS BODY[]), STORE +FLAGS (\Flagged),
    /// LOGOUT (`crates/mailrig-fuzz/flows/imap-fetch.scenario`).
    ImapFetch,
}

impl Flow {
    /// The scenario text of the flow.
    pub fn text(self) -> &'static str {
        match self {
            Flow::SmtpSend => include_str!("../flows/smtp-send.scenario"),
            Flow::ImapFetch => include_str!("../flows/imap-fetch.scenario"),
        }
    }

    /// The flow's file name, for error messages and printed cases.
    pub fn file_name(self) -> &'static str {
        match self {
            Flow::SmtpSend => "smtp-send.scenario",
            Flow::ImapFetch => "imap-fetch.scenario",
        }
    }

    /// The flow, indexed.
    pub fn canonical(self) -> Canonical {
        let parsed = mailrig_transcript::parse(self.file_name(), self.text());
        // The shipped flows are checked by this crate's tests; a parse failure is a build bug.
        #[allow(clippy::expect_used)]
        let scenario = parsed.expect("the shipped flows parse");
        #[allow(clippy::expect_used)]
        Canonical::new(scenario).expect("the shipped flows are `plays: server`")
    }
}

/// Why a scenario cannot be the canonical of a fuzzing run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    /// The scenario declares `plays: client`: mailrig cannot play its server side.
    #[error(
        "the scenario declares `plays: client`; fuzzing a client needs a scenario mailrig can play the server side of"
    )]
    ClientOnly,
    /// The scenario has no `S:` line to vary.
    #[error("the scenario has no `S:` line to vary")]
    NoServerLines,
}

/// A canonical scenario, indexed for the strategies. Cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct Canonical {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) scenario: Scenario,
    pub(crate) lines: Vec<ServerLine>,
    /// Per `S:` line, the replay's reply it belongs to, for fault rules.
    pub(crate) targets: Vec<Target>,
}

/// One `S:` line of the canonical scenario.
#[derive(Debug, Clone)]
pub(crate) struct ServerLine {
    /// Its index in the scenario's body.
    pub(crate) item: usize,
    pub(crate) session: usize,
    pub(crate) imap: bool,
    /// Its bytes, when it is made of text and inline literals only (no holes or references).
    pub(crate) flat: Option<Vec<u8>>,
    /// An IMAP tagged completion (the line starts with a reference to the client's tag).
    pub(crate) tagged: bool,
    /// The verb of the client command it answers (upper case; empty before any).
    pub(crate) command: String,
    /// The last line before `@starttls` in its session: the STARTTLS go-ahead.
    pub(crate) starttls_go_ahead: bool,
    /// IMAP: the last `* N EXISTS` count the session was told before this line.
    pub(crate) exists: Option<u32>,
    /// IMAP: the last capability list the session was told before this line.
    pub(crate) capability: Option<Vec<u8>>,
    /// IMAP: the last `* N FETCH (... FLAGS (...) ...)` before this line: N and the flag list.
    pub(crate) flags: Option<(u32, Vec<u8>)>,
    /// SMTP: the first line of a multi-line reply to EHLO.
    pub(crate) ehlo_start: bool,
    /// SMTP: a line after `NNN-`, inside a multi-line reply.
    pub(crate) continues_reply: bool,
}

impl Canonical {
    /// Indexes `scenario`, which must let mailrig play the server (`plays: server`, `both`
    /// or no `plays:`) and have inline literals only (or its files loaded).
    pub fn new(scenario: Scenario) -> Result<Canonical, CanonicalError> {
        if scenario.header.plays == Some(Role::Client) {
            return Err(CanonicalError::ClientOnly);
        }
        let lines = index(&scenario);
        if lines.is_empty() {
            return Err(CanonicalError::NoServerLines);
        }
        let targets = crate::target::targets(&scenario);
        Ok(Canonical {
            inner: Arc::new(Inner {
                scenario,
                lines,
                targets,
            }),
        })
    }

    /// The canonical scenario itself.
    pub fn scenario(&self) -> &Scenario {
        &self.inner.scenario
    }

    /// How many `S:` lines it has (the indices mutations refer to).
    pub fn server_lines(&self) -> usize {
        self.inner.lines.len()
    }

    pub(crate) fn lines(&self) -> &[ServerLine] {
        &self.inner.lines
    }

    /// The reply `S:` line `line` belongs to, as a fault target.
    pub(crate) fn target(&self, line: usize) -> Option<&Target> {
        self.inner.targets.get(line)
    }

    /// Indices of the lines for which `pick` holds.
    pub(crate) fn select(&self, pick: impl Fn(&ServerLine) -> bool) -> Vec<usize> {
        (0..self.inner.lines.len())
            .filter(|i| pick(&self.inner.lines[*i]))
            .collect()
    }
}

/// What one session was told so far, while indexing.
#[derive(Default, Clone)]
struct Told {
    command: String,
    exists: Option<u32>,
    capability: Option<Vec<u8>>,
    flags: Option<(u32, Vec<u8>)>,
    previous_server: Option<Vec<u8>>,
}

fn index(scenario: &Scenario) -> Vec<ServerLine> {
    let sessions = scenario.sessions();
    let mut told = vec![Told::default(); sessions.len()];
    let mut lines: Vec<ServerLine> = Vec::new();
    for (item, entry) in scenario.body.iter().enumerate() {
        let Item::Step(step) = entry else { continue };
        let session = step.session;
        let state = &mut told[session];
        match &step.kind {
            StepKind::Directive(Directive::StartTls) => {
                if let Some(last) = lines.iter_mut().rev().find(|l| l.session == session) {
                    last.starttls_go_ahead = true;
                }
            }
            StepKind::Directive(_) => {}
            StepKind::Line(line) if line.side == Side::Client => {
                state.command = command_verb(line);
                state.previous_server = None;
            }
            StepKind::Line(line) => {
                let imap = sessions.get(session).is_some_and(|d| d.protocol.is_imap());
                let flat = flatten(line);
                let ehlo_start = !imap
                    && state.command == "EHLO"
                    && state.previous_server.is_none()
                    && flat.as_deref().is_some_and(|f| f.starts_with(b"250-"));
                lines.push(ServerLine {
                    item,
                    session,
                    imap,
                    tagged: imap && matches!(line.parts.first(), Some(Part::Ref(_))),
                    command: state.command.clone(),
                    starttls_go_ahead: false,
                    exists: state.exists,
                    capability: state.capability.clone(),
                    flags: state.flags.clone(),
                    ehlo_start,
                    continues_reply: !imap
                        && state
                            .previous_server
                            .as_deref()
                            .is_some_and(|p| p.get(3) == Some(&b'-')),
                    flat: flat.clone(),
                });
                if let Some(bytes) = flat {
                    learn(state, &bytes);
                    state.previous_server = Some(bytes);
                } else {
                    state.previous_server = Some(Vec::new());
                }
            }
        }
    }
    lines
}

/// Updates what the session was told from one server line.
fn learn(state: &mut Told, line: &[u8]) {
    if let Some(words) = imap::capability_words(line) {
        state.capability = Some(words);
    }
    let upper = line.to_ascii_uppercase();
    if let Some(rest) = upper.strip_prefix(b"* ") {
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let number = std::str::from_utf8(&rest[..digits])
            .ok()
            .and_then(|d| d.parse::<u32>().ok());
        if let Some(n) = number {
            if &rest[digits..] == b" EXISTS" {
                state.exists = Some(n);
            }
            if let Some(at) = imap::find(&upper, b"FLAGS (") {
                let start = at + 6;
                if let Some(len) = line[start..].iter().position(|b| *b == b')') {
                    state.flags = Some((n, line[start..=start + len].to_vec()));
                }
            }
        }
    }
}

/// The verb of a client line: its first word after the tag (IMAP) or its first word (SMTP),
/// upper case.
fn command_verb(line: &Line) -> String {
    let mut words = Vec::new();
    for part in &line.parts {
        match part {
            Part::Text(bytes) => words.extend_from_slice(bytes),
            _ => words.push(b'\x01'),
        }
    }
    let text = String::from_utf8_lossy(&words).to_ascii_uppercase();
    let mut tokens = text.split(' ').filter(|t| !t.is_empty());
    let first = tokens.next().unwrap_or_default();
    if first.starts_with('\x01') {
        tokens.next().unwrap_or_default().to_owned()
    } else {
        first.to_owned()
    }
}

/// The line's bytes when it has only text and inline literals.
pub(crate) fn flatten(line: &Line) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for part in &line.parts {
        match part {
            Part::Text(bytes) => out.extend_from_slice(bytes),
            Part::Literal(literal) => out.extend_from_slice(&literal.wire_bytes()?),
            Part::Split | Part::Hole(_) | Part::Ref(_) => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_imap_flow_is_indexed() {
        let canonical = Flow::ImapFetch.canonical();
        let lines = canonical.lines();
        assert_eq!(lines.len(), 17);
        let fetch = lines
            .iter()
            .find(|l| l.command == "FETCH" && l.tagged)
            .expect("FETCH's completion");
        assert_eq!(fetch.exists, Some(2));
        assert_eq!(fetch.flags, Some((1, b"(\\Seen)".to_vec())));
        assert_eq!(fetch.capability.as_deref(), Some(&b"IMAP4rev1 LITERAL+ IDLE"[..]));
        assert!(lines[0].flat.is_some() && !lines[0].tagged);
    }

    #[test]
    fn the_smtp_flow_is_indexed() {
        let canonical = Flow::SmtpSend.canonical();
        let lines = canonical.lines();
        assert_eq!(lines.iter().filter(|l| l.ehlo_start).count(), 2);
        let go_ahead = lines.iter().find(|l| l.starttls_go_ahead).expect("the go-ahead");
        assert_eq!(
            go_ahead.flat.as_deref(),
            Some(&b"220 2.0.0 ready to start TLS"[..])
        );
        assert_eq!(go_ahead.command, "STARTTLS");
    }

    #[test]
    fn a_client_only_scenario_is_refused() {
        let text = "name: x\nsessions: a=imap\nplays: client\n\nC: A1 NOOP\nS: A1 OK done\n";
        let scenario = mailrig_transcript::parse("x", text).expect("valid");
        assert_eq!(Canonical::new(scenario).err(), Some(CanonicalError::ClientOnly));
    }
}
