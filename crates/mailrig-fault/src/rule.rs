//! The rule model: a [`Trigger`] (which step, which occurrence, which connection) and an
//! [`Action`] (what to do to that reply or connection). Built by code or parsed from text
//! ([`Rule::parse`]); [`Rule`]'s `Display` prints the text form back, seeds included, so a rule
//! built by a fuzzer can be printed as a repro.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use crate::reply::{Protocol, ReplyKind, Step};

/// One fault: when it fires and what it does.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// When it fires.
    pub when: Trigger,
    /// What it does.
    pub action: Action,
}

/// When a rule fires. Every field left `None` matches anything.
#[derive(Debug, Clone, PartialEq)]
pub struct Trigger {
    /// Only on connections of this protocol.
    pub protocol: Option<Protocol>,
    /// The step or connection event.
    pub event: Event,
    /// Only the Nth occurrence (1-based) of the event in a connection, counted per rule (so
    /// `rcpt <bob@example.test>#2` is the second RCPT to that address).
    pub nth: Option<u32>,
    /// Only on the Nth connection (1-based) of this protocol family to the server.
    pub connection: Option<u32>,
    /// Only for this recipient (RCPT; compared case-insensitively).
    pub address: Option<String>,
    /// Only on connections from this client address (`from 127.0.0.2`).
    pub from: Option<IpAddr>,
    /// Which replies of a matching step (default: every reply that is not untagged data).
    pub response: Option<Response>,
    /// Fire only with a probability, from a seeded generator.
    pub random: Option<Random>,
}

/// A protocol step or connection event a rule keys on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A connection was accepted (before the greeting).
    Connect,
    /// A TLS handshake is about to start (STARTTLS after its go-ahead, or implicit TLS).
    Tls,
    /// The greeting.
    Greeting,
    /// A command, by verb in upper case (`RCPT`, `STARTTLS`, `UID FETCH`).
    Command(String),
    /// SMTP: DATA's final dot.
    DataEnd,
    /// SMTP: a BDAT chunk.
    Chunk,
    /// IMAP: a synchronizing literal's continuation request.
    Literal,
    /// SMTP: a SASL response line during AUTH.
    Sasl,
    /// A line the server did not understand.
    Unknown,
    /// The server's own goodbye (shutdown, idle timeout).
    Shutdown,
    /// Every reply.
    Any,
    /// IMAP: every untagged data response of this name (`EXISTS`, `FETCH`), whatever step it
    /// belongs to, unsolicited ones (NOOP, IDLE) included; `#N` counts them per connection.
    Untagged(String),
}

/// Which replies of a step a rule acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The kind of reply (untagged, continuation, final); `None` is every reply.
    pub kind: Option<ReplyKind>,
    /// Only the Nth reply (1-based) of that kind within the step (with `data`: the Nth
    /// data response of that name).
    pub nth: Option<u32>,
    /// IMAP: only untagged data responses of this name (`FETCH`, `EXISTS`), upper case.
    pub data: Option<String>,
}

/// A random trigger: fires with probability `p` on each occurrence that otherwise matches.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Random {
    /// The seed; `None` until [`crate::FaultSet::new`] picks one (printed with the rules).
    pub seed: Option<u64>,
    /// The probability, 0 to 1.
    pub p: f64,
}

/// What a rule does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Replace the reply with this text (SMTP: code and text; IMAP: the status and text, the
    /// reply's tag or `*` kept unless the text starts with `*` or `+`). CRLF is added.
    Reply(String),
    /// Say goodbye instead (SMTP `421 4.3.2 TEXT`, IMAP `* BYE TEXT`), then close.
    Bye(Option<String>),
    /// Close silently (FIN) instead of replying.
    Close,
    /// Reset the connection (RST: linger 0, then close) instead of replying.
    Reset,
    /// Write the reply after this delay.
    Delay(Duration),
    /// Write the reply at this many bytes per second.
    Throttle(u32),
    /// Never write this reply or anything after it; keep the connection open.
    Stall,
    /// Write the reply in segments of this many bytes.
    SplitEvery(usize),
    /// Write the reply in segments cut at these byte offsets.
    SplitAt(Vec<usize>),
    /// Hold the reply and write it together with the next one.
    Merge,
    /// Write these bytes before or after the reply.
    Inject {
        /// Before or after.
        position: Position,
        /// The bytes, exactly (the parser adds CRLF unless told `raw`).
        bytes: Vec<u8>,
    },
    /// Keep only the first N bytes of the reply (a truncated line).
    Truncate(usize),
    /// Add this to the first literal count `{n}` of the reply.
    LiteralCount(i64),
    /// Replace every CRLF of the reply with a bare LF.
    BareLf,
    /// Put invalid UTF-8 (`FF FE`) into the reply's text.
    InvalidUtf8,
    /// Replace an IMAP tagged reply's tag with one the client never sent.
    WrongTag(String),
    /// Remove a capability (IMAP) or EHLO keyword (SMTP) from the reply.
    DropCapability(String),
    /// Rename a capability or EHLO keyword.
    RenameCapability(String, String),
    /// Add a capability or EHLO keyword.
    AddCapability(String),
}

/// Where injected bytes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// Before the reply.
    Before,
    /// After the reply.
    After,
}

/// A rule whose action cannot happen at its event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{action}` cannot act on `{event}`: {why}")]
pub struct RuleError {
    /// The event, as written.
    pub event: String,
    /// The action's name.
    pub action: &'static str,
    /// Why not.
    pub why: &'static str,
}

impl Rule {
    /// A rule: `when` → `action`. Use [`Rule::validate`] (the parser does) to check the pair.
    pub fn new(when: Trigger, action: Action) -> Rule {
        Rule { when, action }
    }

    /// Checks that the action can happen at the event: connection events (`connect`, `tls`)
    /// have no reply to rewrite, only ones to refuse, delay, stall or precede with bytes.
    pub fn validate(&self) -> Result<(), RuleError> {
        let connection_event = matches!(self.when.event, Event::Connect | Event::Tls);
        let fine_at_connection = matches!(
            self.action,
            Action::Reply(_)
                | Action::Bye(_)
                | Action::Close
                | Action::Reset
                | Action::Delay(_)
                | Action::Stall
                | Action::Inject { .. }
        );
        if connection_event && !fine_at_connection {
            return Err(RuleError {
                event: self.when.event.to_string(),
                action: self.action.name(),
                why: "a connection event has no reply to change (use `greeting` or a command)",
            });
        }
        if matches!(self.when.event, Event::Untagged(_)) && self.when.response.is_some() {
            return Err(RuleError {
                event: self.when.event.to_string(),
                action: self.action.name(),
                why: "`untagged NAME` already selects the responses",
            });
        }
        if self.when.address.is_some() && !matches!(&self.when.event, Event::Command(v) if v == "RCPT") {
            return Err(RuleError {
                event: self.when.event.to_string(),
                action: self.action.name(),
                why: "`<address>` selects RCPT commands only (`rcpt <bob@example.test>`)",
            });
        }
        if connection_event && self.when.response.is_some() {
            return Err(RuleError {
                event: self.when.event.to_string(),
                action: self.action.name(),
                why: "a connection event has no responses to select",
            });
        }
        Ok(())
    }
}

impl Trigger {
    /// A trigger on `event` alone: every occurrence, every connection, both protocols.
    pub fn on(event: Event) -> Trigger {
        Trigger {
            protocol: None,
            event,
            nth: None,
            connection: None,
            address: None,
            from: None,
            response: None,
            random: None,
        }
    }

    /// Only the Nth occurrence (1-based).
    pub fn nth(mut self, n: u32) -> Trigger {
        self.nth = Some(n);
        self
    }

    /// Only connections of `protocol`.
    pub fn protocol(mut self, protocol: Protocol) -> Trigger {
        self.protocol = Some(protocol);
        self
    }

    /// Only the Nth connection (1-based).
    pub fn connection(mut self, n: u32) -> Trigger {
        self.connection = Some(n);
        self
    }

    /// Only replies of this kind (and, with `nth`, only the Nth of them in the step).
    pub fn response(mut self, kind: Option<ReplyKind>, nth: Option<u32>) -> Trigger {
        self.response = Some(Response {
            kind,
            nth,
            data: None,
        });
        self
    }

    /// Only untagged data responses named `name` (`FETCH`), the Nth of them with `nth`.
    pub fn data(mut self, name: &str, nth: Option<u32>) -> Trigger {
        self.response = Some(Response {
            kind: Some(ReplyKind::Untagged),
            nth,
            data: Some(name.to_ascii_uppercase()),
        });
        self
    }

    /// Only connections from `address`.
    pub fn from(mut self, address: IpAddr) -> Trigger {
        self.from = Some(address);
        self
    }

    /// Only RCPT of this address.
    pub fn address(mut self, address: impl Into<String>) -> Trigger {
        self.address = Some(address.into());
        self
    }

    /// Fire with probability `p`, seeded.
    pub fn random(mut self, seed: Option<u64>, p: f64) -> Trigger {
        self.random = Some(Random { seed, p });
        self
    }
}

impl Event {
    /// A command by verb (upper-cased).
    pub fn command(verb: &str) -> Event {
        Event::Command(verb.to_ascii_uppercase())
    }

    /// Every untagged data response named `name` (upper-cased).
    pub fn untagged(name: &str) -> Event {
        Event::Untagged(name.to_ascii_uppercase())
    }

    /// Whether a reply to `step` is an occurrence of this event.
    pub fn matches(&self, step: Step) -> bool {
        match (self, step) {
            (Event::Any, _) => true,
            (Event::Greeting, Step::Greeting) => true,
            (Event::Command(verb), Step::Command(name)) => verb.eq_ignore_ascii_case(name),
            (Event::DataEnd, Step::MessageEnd) => true,
            (Event::Chunk, Step::Chunk) => true,
            (Event::Literal, Step::Literal) => true,
            (Event::Sasl, Step::SaslResponse) => true,
            (Event::Unknown, Step::Unknown) => true,
            (Event::Shutdown, Step::Shutdown) => true,
            _ => false,
        }
    }
}

impl Action {
    /// The action's name as the text syntax spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Reply(_) => "reply",
            Action::Bye(_) => "bye",
            Action::Close => "close",
            Action::Reset => "reset",
            Action::Delay(_) => "delay",
            Action::Throttle(_) => "throttle",
            Action::Stall => "stall",
            Action::SplitEvery(_) | Action::SplitAt(_) => "split",
            Action::Merge => "merge",
            Action::Inject { .. } => "inject",
            Action::Truncate(_) => "truncate",
            Action::LiteralCount(_) => "literal-count",
            Action::BareLf => "bare-lf",
            Action::InvalidUtf8 => "invalid-utf8",
            Action::WrongTag(_) => "wrong-tag",
            Action::DropCapability(_) => "drop-cap",
            Action::RenameCapability(..) => "rename-cap",
            Action::AddCapability(_) => "add-cap",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.when, self.action)
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(protocol) = self.protocol {
            write!(f, "{} ", protocol.name())?;
        }
        if let Some(random) = self.random {
            match random.seed {
                Some(seed) => write!(f, "random(seed={seed}, p={}) ", random.p)?,
                None => write!(f, "random(p={}) ", random.p)?,
            }
        }
        write!(f, "{}", self.event)?;
        if let Some(n) = self.nth {
            write!(f, "#{n}")?;
        }
        if let Some(address) = &self.address {
            write!(f, " <{address}>")?;
        }
        if let Some(from) = self.from {
            write!(f, " from {from}")?;
        }
        if let Some(n) = self.connection {
            write!(f, " conn#{n}")?;
        }
        if let Some(response) = &self.response {
            let kind = match response.kind {
                None => "each",
                Some(ReplyKind::Untagged) => "untagged",
                Some(ReplyKind::Continuation) => "continuation",
                Some(ReplyKind::Final) => "final",
            };
            write!(f, " {kind}")?;
            if let Some(data) = &response.data {
                write!(f, " {data}")?;
            }
            if let Some(n) = response.nth {
                write!(f, "#{n}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Event::Connect => "connect",
            Event::Tls => "tls",
            Event::Greeting => "greeting",
            Event::Command(verb) => verb,
            Event::DataEnd => "data-end",
            Event::Chunk => "chunk",
            Event::Literal => "literal",
            Event::Sasl => "sasl",
            Event::Unknown => "unknown",
            Event::Shutdown => "shutdown",
            Event::Any => "any",
            Event::Untagged(data) => return write!(f, "untagged {data}"),
        };
        f.write_str(name)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.name();
        match self {
            Action::Reply(text) => write!(f, "{name} {text}"),
            Action::Bye(Some(text)) => write!(f, "{name} {text}"),
            Action::Delay(d) => write!(f, "{name} {}ms", d.as_millis()),
            Action::Throttle(n) => write!(f, "{name} {n}"),
            Action::SplitEvery(n) => write!(f, "{name} {n}"),
            Action::SplitAt(offsets) => {
                let list: Vec<String> = offsets.iter().map(usize::to_string).collect();
                write!(f, "{name} at {}", list.join(","))
            }
            Action::Inject { position, bytes } => {
                let position = match position {
                    Position::Before => "before ",
                    Position::After => "",
                };
                write!(f, "{name} {position}raw \"{}\"", escape(bytes))
            }
            Action::Truncate(n) => write!(f, "{name} {n}"),
            Action::LiteralCount(delta) => write!(f, "{name} {delta:+}"),
            Action::WrongTag(tag) => write!(f, "{name} {tag}"),
            Action::DropCapability(cap) | Action::AddCapability(cap) => write!(f, "{name} {cap}"),
            Action::RenameCapability(from, to) => write!(f, "{name} {from} {to}"),
            Action::Bye(None)
            | Action::Close
            | Action::Reset
            | Action::Stall
            | Action::Merge
            | Action::BareLf
            | Action::InvalidUtf8 => f.write_str(name),
        }
    }
}

/// Bytes as a quoted string's body: `\r`, `\n`, `\t`, `\"`, `\\` and `\xNN` for the rest of
/// what is not printable ASCII.
pub(crate) fn escape(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes {
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}
