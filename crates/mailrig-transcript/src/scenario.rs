//! The parsed form of a scenario file: a header of metadata and an ordered list of steps.
//!
//! `docs/scenario-format.md` is the user-facing reference; this module is its data model.

use std::fmt;
use std::time::Duration;

/// A parsed scenario: metadata plus the steps of every session, in file order.
///
/// Equality ignores source positions, so `parse(print(s)) == s` holds for any scenario.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scenario {
    /// The metadata at the top of the file.
    pub header: Header,
    /// Every line, directive, comment and blank line after the header, in file order.
    pub body: Vec<Item>,
}

/// One element of the body. Comments and blank lines are kept so `mailrig fmt` preserves them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A protocol line or directive.
    Step(Step),
    /// A `#` comment line; the text after `#`.
    Comment(String),
    /// A blank line (runs of blank lines collapse to one).
    Blank,
}

/// The metadata block at the top of a scenario file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Header {
    /// `#` comment lines written above or among the header fields.
    pub comments: Vec<String>,
    /// Short identifier, e.g. `imap-flag-sync`.
    pub name: String,
    /// One sentence saying what the scenario checks.
    pub summary: Option<String>,
    /// RFC sections the scenario checks, e.g. `RFC 9051 §6.4.6`.
    pub rfc: Vec<String>,
    /// The named sessions (connections) and their protocols.
    pub sessions: Vec<SessionDecl>,
    /// Capabilities the target must advertise; otherwise the scenario is skipped.
    pub requires: Vec<Requirement>,
    /// Free-form tags for selecting scenarios.
    pub tags: Vec<String>,
    /// Initial mailbox contents for a model server, relative to the scenario file.
    pub fixture: Option<String>,
    /// Variables with default values; a run may override them.
    pub vars: Vec<(String, String)>,
    /// Which roles mailrig may play with this file; `None` means both.
    pub plays: Option<Role>,
    /// Whether the file says `plays: both` (or `plays: client, server`) explicitly, so that
    /// the printer keeps the line. Only meaningful when `plays` is `None`.
    pub plays_both: bool,
    /// Fault rules (`faults: RULE`, one per line) for mailrig's own servers while this
    /// scenario runs. Kept as text: this crate does not know the rule syntax; `mailrig check`
    /// validates each one and the runner applies them (docs/faults.md).
    pub faults: Vec<FaultRule>,
}

/// One `faults:` line of a header: the rule's text and where it starts.
#[derive(Debug, Clone, Eq)]
pub struct FaultRule {
    /// The rule, as written (trimmed).
    pub text: String,
    /// Where the rule's text starts (ignored by equality).
    pub pos: Pos,
}

impl FaultRule {
    /// A rule at no position (for scenarios built in code).
    pub fn new(text: impl Into<String>) -> FaultRule {
        FaultRule {
            text: text.into(),
            pos: Pos::default(),
        }
    }
}

impl PartialEq for FaultRule {
    fn eq(&self, other: &FaultRule) -> bool {
        self.text == other.text
    }
}

/// A session declared in the header: `name=protocol`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDecl {
    /// The name used as a line prefix (`a C: ...`).
    pub name: String,
    /// The protocol and its transport.
    pub protocol: Protocol,
}

/// The protocol (and transport) of one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// SMTP relay port, plaintext (STARTTLS possible).
    Smtp,
    /// SMTP submission port (RFC 6409), plaintext (STARTTLS possible).
    Submission,
    /// SMTP over implicit TLS (RFC 8314).
    Smtps,
    /// IMAP, plaintext (STARTTLS possible).
    Imap,
    /// IMAP over implicit TLS (RFC 8314).
    Imaps,
}

/// The two protocol families mailrig speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// SMTP (RFC 5321) in any of its transports.
    Smtp,
    /// IMAP (RFC 3501 / RFC 9051) in any of its transports.
    Imap,
}

impl Protocol {
    /// All protocols, in the order the documentation lists them.
    pub const ALL: [Protocol; 5] = [
        Protocol::Smtp,
        Protocol::Submission,
        Protocol::Smtps,
        Protocol::Imap,
        Protocol::Imaps,
    ];

    /// The keyword used in scenario files.
    pub fn keyword(self) -> &'static str {
        match self {
            Protocol::Smtp => "smtp",
            Protocol::Submission => "submission",
            Protocol::Smtps => "smtps",
            Protocol::Imap => "imap",
            Protocol::Imaps => "imaps",
        }
    }

    /// Parses the keyword used in scenario files.
    pub fn from_keyword(word: &str) -> Option<Protocol> {
        Protocol::ALL.into_iter().find(|p| p.keyword() == word)
    }

    /// SMTP or IMAP.
    pub fn family(self) -> Family {
        match self {
            Protocol::Smtp | Protocol::Submission | Protocol::Smtps => Family::Smtp,
            Protocol::Imap | Protocol::Imaps => Family::Imap,
        }
    }

    /// Whether the connection starts with a TLS handshake (implicit TLS), so a server needs
    /// a TLS identity to offer it at all.
    pub fn implicit_tls(self) -> bool {
        matches!(self, Protocol::Smtps | Protocol::Imaps)
    }

    /// Whether it speaks IMAP (else SMTP).
    pub fn is_imap(self) -> bool {
        self.family() == Family::Imap
    }
}

impl Family {
    /// The keyword used in `requires:` entries.
    pub fn keyword(self) -> &'static str {
        match self {
            Family::Smtp => "smtp",
            Family::Imap => "imap",
        }
    }
}

/// A capability the target must advertise: `imap:IDLE`, `smtp:PIPELINING`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// The protocol whose capability list is consulted.
    pub family: Family,
    /// The capability (IMAP) or EHLO keyword (SMTP), compared case-insensitively.
    pub capability: String,
}

/// Which side mailrig plays when it runs a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// mailrig sends the `C:` lines and checks a real server's `S:` lines.
    Client,
    /// mailrig sends the `S:` lines and checks a real client's `C:` lines.
    Server,
}

/// Which peer wrote some bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The client (`C:` lines).
    Client,
    /// The server (`S:` lines).
    Server,
}

impl Side {
    /// The line prefix letter: `C` or `S`.
    pub fn letter(self) -> char {
        match self {
            Side::Client => 'C',
            Side::Server => 'S',
        }
    }

    /// The other side.
    pub fn peer(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }

    /// The lowercase word used in directives and messages.
    pub fn word(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }
}

/// A position in a scenario file, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord, Hash)]
pub struct Pos {
    /// Line number, starting at 1.
    pub line: usize,
    /// Column (in characters), starting at 1.
    pub col: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// One step of one session: a protocol line or a directive.
#[derive(Debug, Clone, Eq)]
pub struct Step {
    /// Where the step starts in the file (ignored by equality).
    pub pos: Pos,
    /// Index into [`Header::sessions`].
    pub session: usize,
    /// What the step does.
    pub kind: StepKind,
}

impl PartialEq for Step {
    fn eq(&self, other: &Step) -> bool {
        self.session == other.session && self.kind == other.kind
    }
}

/// A protocol line or a directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepKind {
    /// A `C:` or `S:` line.
    Line(Line),
    /// An `@` directive.
    Directive(Directive),
}

/// A `C:` or `S:` line: who sends it, whether it must appear, and its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Who writes the line.
    pub side: Side,
    /// Must appear (`S:`), may appear (`S?:`) or must not appear (`S!:`).
    pub presence: Presence,
    /// `S=:` compares letters exactly instead of case-insensitively.
    pub exact_case: bool,
    /// The content, in order.
    pub parts: Vec<Part>,
    /// Whether CRLF ends the line (false when written with `${nocrlf}`).
    pub crlf: bool,
}

/// Whether a line must, may or must not appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// The line must appear (`C:` / `S:`).
    Required,
    /// The line may appear (`C?:` / `S?:`).
    Optional,
    /// The line must not appear in its group (`C!:` / `S!:`).
    Forbidden,
}

/// A piece of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Bytes to match or send: plain text, plus any bytes written as escapes (`${\r\n}`,
    /// `${\x00}`). Letters match case-insensitively outside quoted strings unless the line
    /// is `=`. Never empty; two `Text` parts are never adjacent.
    Text(Vec<u8>),
    /// A wildcard or a capture: `${_}`, `${uid:num}`, `${tag:atom=A1}`.
    Hole(Hole),
    /// A back-reference to a capture or variable: `${uid}`.
    Ref(String),
    /// A write boundary: `${|}`. The bytes before and after are sent in separate writes.
    Split,
    /// An IMAP literal whose size is computed: `{{{ ... }}}`.
    Literal(Literal),
}

/// A wildcard (`name == None`) or a named capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hole {
    /// The capture name, `None` for `_`.
    pub name: Option<String>,
    /// What the hole may match.
    pub class: Class,
    /// What mailrig sends in place of the hole when it writes this line.
    pub value: Option<String>,
}

/// What a hole matches. No class matches CR or LF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// One or more ASCII digits.
    Num,
    /// One or more IMAP atom characters (RFC 9051 `ATOM-CHAR`).
    Atom,
    /// One or more characters other than space.
    Word,
    /// Any characters, possibly none (the default).
    Text,
    /// One IMAP string by its value, whatever its encoding (atom, quoted string or literal),
    /// CR and LF included, possibly empty: `${body:string}` captures a literal's content. In
    /// lines matched as text it matches like `text`.
    String,
    /// IMAP only: a message sequence number that names a message in this session
    /// (`${m1:seq}`). The engine keeps the name's value current as EXPUNGE and VANISHED
    /// responses renumber the session's messages (RFC 9051 §7.5.1).
    Seq,
}

impl Class {
    /// All classes.
    pub const ALL: [Class; 6] = [
        Class::Num,
        Class::Atom,
        Class::Word,
        Class::Text,
        Class::String,
        Class::Seq,
    ];

    /// The keyword used in scenario files.
    pub fn keyword(self) -> &'static str {
        match self {
            Class::Num => "num",
            Class::Atom => "atom",
            Class::Word => "word",
            Class::Text => "text",
            Class::String => "string",
            Class::Seq => "seq",
        }
    }

    /// Parses the keyword used in scenario files.
    pub fn from_keyword(word: &str) -> Option<Class> {
        Class::ALL.into_iter().find(|c| c.keyword() == word)
    }

    /// Whether `byte` may be part of a match of this class.
    pub fn admits(self, byte: u8) -> bool {
        match self {
            Class::Num | Class::Seq => byte.is_ascii_digit(),
            Class::Atom => is_atom_char(byte),
            Class::Word => !matches!(byte, b' ' | b'\r' | b'\n'),
            Class::Text | Class::String => !matches!(byte, b'\r' | b'\n'),
        }
    }

    /// Whether the class matches whole numbers only (a match never cuts a run of digits).
    pub fn is_numeric(self) -> bool {
        matches!(self, Class::Num | Class::Seq)
    }

    /// Whether the class matches the empty string.
    pub fn admits_empty(self) -> bool {
        matches!(self, Class::Text | Class::String)
    }
}

/// RFC 9051 `ATOM-CHAR`: any CHAR except atom-specials.
fn is_atom_char(byte: u8) -> bool {
    byte.is_ascii()
        && !byte.is_ascii_control()
        && !matches!(
            byte,
            b'(' | b')' | b'{' | b' ' | b'%' | b'*' | b'"' | b'\\' | b']'
        )
}

/// An IMAP literal with a computed size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Literal {
    /// `{N+}` (LITERAL+, RFC 7888) instead of `{N}`.
    pub non_sync: bool,
    /// Where the content comes from.
    pub source: LiteralSource,
}

/// The content of a literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiteralSource {
    /// Lines written in the scenario between `{{{` and `}}}`; each ends with CRLF.
    Inline(Vec<String>),
    /// A file, relative to the scenario file, read byte for byte.
    File {
        /// The path as written.
        path: String,
        /// The file's bytes once [`Scenario::load_literals`] has run.
        data: Option<Vec<u8>>,
    },
}

impl Literal {
    /// The content bytes, if known (inline content, or a loaded file).
    pub fn data(&self) -> Option<std::borrow::Cow<'_, [u8]>> {
        match &self.source {
            LiteralSource::Inline(lines) => {
                let mut out = Vec::new();
                for line in lines {
                    out.extend_from_slice(line.as_bytes());
                    out.extend_from_slice(b"\r\n");
                }
                Some(out.into())
            }
            LiteralSource::File { data, .. } => data.as_deref().map(Into::into),
        }
    }

    /// The literal's announcement and content: `{N}\r\n` followed by the data.
    pub fn wire_bytes(&self) -> Option<Vec<u8>> {
        let data = self.data()?;
        let plus = if self.non_sync { "+" } else { "" };
        let mut out = format!("{{{}{plus}}}\r\n", data.len()).into_bytes();
        out.extend_from_slice(&data);
        Some(out)
    }
}

/// Something that is not a protocol line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Directive {
    /// `@starttls`: both sides run a TLS handshake here; the session continues encrypted.
    StartTls,
    /// `@close server` / `@close client`: that side closes the connection here.
    Close(Side),
    /// `@within 500ms`: the next expected lines must arrive within this time.
    Within(Duration),
    /// `@sleep 100ms`: the sending side pauses before its next write.
    Sleep(Duration),
    /// `@match ...`: how the next group of `S:` lines is matched.
    Match(MatchMode),
}

/// How a group of server lines is matched (`@match`). `None` fields keep the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MatchMode {
    /// `ordered` / `unordered`.
    pub ordered: Option<bool>,
    /// `extra` / `no-extra`: whether unlisted lines are allowed.
    pub extra: Option<bool>,
    /// `text` / `meaning`: whether IMAP lines are compared as text or as parsed responses.
    pub compare: Option<Compare>,
    /// `extra-items` / `no-extra-items`: whether FETCH and STATUS responses may carry items
    /// the line does not name.
    pub extra_items: Option<bool>,
    /// `pipelined` / `sequential`: whether the tagged completions of the run of groups that
    /// follows may arrive in any order (IMAP only, RFC 9051 §5.5).
    pub pipelined: Option<bool>,
}

/// How the lines of a group are compared with what arrived (`@match text`, `@match meaning`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    /// Byte by byte, with the text rules (case folding, holes): for scenarios about bytes.
    Text,
    /// IMAP responses parsed and compared as data (the default for IMAP `S:` lines).
    Meaning,
}

impl Scenario {
    /// The session declarations, in header order.
    pub fn sessions(&self) -> &[SessionDecl] {
        &self.header.sessions
    }

    /// Fills in the content of every `{{{file:...}}}` literal.
    ///
    /// `load` receives the path as written in the scenario (relative to the scenario file) and
    /// returns its bytes or an error message; the first failure is returned with its position.
    pub fn load_literals<F>(&mut self, mut load: F) -> Result<(), (Pos, String)>
    where
        F: FnMut(&str) -> Result<Vec<u8>, String>,
    {
        for item in &mut self.body {
            let Item::Step(step) = item else { continue };
            let StepKind::Line(line) = &mut step.kind else {
                continue;
            };
            for part in &mut line.parts {
                if let Part::Literal(Literal {
                    source: LiteralSource::File { path, data },
                    ..
                }) = part
                {
                    *data = Some(load(path).map_err(|e| (step.pos, e))?);
                }
            }
        }
        Ok(())
    }

    /// The protocol lines and directives, without comments and blank lines.
    pub fn steps(&self) -> impl Iterator<Item = &Step> {
        self.body.iter().filter_map(|item| match item {
            Item::Step(step) => Some(step),
            _ => None,
        })
    }

    /// Why the scenario must be skipped against a target advertising these IMAP capabilities
    /// and SMTP EHLO keywords, or `None` when every `requires:` entry is met.
    ///
    /// A scenario whose requirement is not met is reported as skipped with this reason, never
    /// as passed. Comparison is case-insensitive; an EHLO keyword matches on its first word
    /// (`AUTH` is met by `AUTH PLAIN LOGIN`), and an IMAP capability with a number after `=`
    /// meets its name (`APPENDLIMIT` is met by `APPENDLIMIT=35651584`, RFC 7889 §3; `SORT` is
    /// not met by `SORT=DISPLAY`, a capability of its own).
    pub fn unmet_requirement(&self, imap: &[&str], smtp: &[&str]) -> Option<String> {
        self.header.requires.iter().find_map(|req| {
            let (advertised, what) = match req.family {
                Family::Imap => (imap, "IMAP capability"),
                Family::Smtp => (smtp, "SMTP extension"),
            };
            let wanted = &req.capability;
            let met = advertised.iter().any(|a| {
                a.eq_ignore_ascii_case(wanted)
                    || (req.family == Family::Imap
                        && a.split_once('=').is_some_and(|(name, value)| {
                            name.eq_ignore_ascii_case(wanted)
                                && !value.is_empty()
                                && value.bytes().all(|b| b.is_ascii_digit())
                        }))
                    || (req.family == Family::Smtp
                        && a.split_whitespace()
                            .next()
                            .is_some_and(|w| w.eq_ignore_ascii_case(wanted)))
            });
            (!met).then(|| format!("the target does not advertise the {what} {wanted}"))
        })
    }

    /// Finds a session by name.
    pub fn session_index(&self, name: &str) -> Option<usize> {
        self.header.sessions.iter().position(|s| s.name == name)
    }
}

/// Parses `500ms`, `2s`, `1m` into a duration.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits.parse().ok()?;
    match unit {
        "ms" => Some(Duration::from_millis(n)),
        "s" => n.checked_mul(1000).map(Duration::from_millis),
        "m" => n.checked_mul(60_000).map(Duration::from_millis),
        _ => None,
    }
}

/// Prints a duration the way [`parse_duration`] reads it.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(60_000) && ms > 0 {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) && ms > 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmet_requirements_give_a_reason() {
        let mut s = Scenario::default();
        s.header.requires = vec![
            Requirement {
                family: Family::Imap,
                capability: "IDLE".into(),
            },
            Requirement {
                family: Family::Smtp,
                capability: "AUTH".into(),
            },
        ];
        assert_eq!(
            s.unmet_requirement(&["IMAP4rev1", "idle"], &["PIPELINING", "AUTH PLAIN LOGIN"]),
            None
        );
        assert_eq!(
            s.unmet_requirement(&["IMAP4rev1"], &["AUTH PLAIN"]).as_deref(),
            Some("the target does not advertise the IMAP capability IDLE")
        );
        assert_eq!(
            s.unmet_requirement(&["IDLE"], &["AUTHX"]).as_deref(),
            Some("the target does not advertise the SMTP extension AUTH")
        );
        s.header.requires = vec![Requirement {
            family: Family::Imap,
            capability: "APPENDLIMIT".into(),
        }];
        assert_eq!(s.unmet_requirement(&["APPENDLIMIT=1024"], &[]), None);
        assert!(s.unmet_requirement(&["APPENDLIMIT=X"], &[]).is_some());
        assert!(s.unmet_requirement(&["APPENDLIMITS"], &[]).is_some());
        s.header.requires[0].capability = "SORT".into();
        assert!(s.unmet_requirement(&["SORT=DISPLAY"], &[]).is_some());
    }

    #[test]
    fn durations_round_trip() {
        for text in ["0ms", "1ms", "500ms", "1s", "90s", "2m"] {
            let d = parse_duration(text).expect("valid");
            assert_eq!(format_duration(d), if text == "90s" { "90s" } else { text });
        }
        assert_eq!(
            parse_duration("1500ms").map(format_duration).as_deref(),
            Some("1500ms")
        );
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("ms"), None);
        assert_eq!(parse_duration("99999999999999999999s"), None);
    }
}
