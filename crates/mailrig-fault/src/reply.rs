//! What the fault layer sees of a server's output: one reply with the protocol step it answers.
//!
//! Both protocols' sessions (mailrig-smtp, mailrig-imap) emit one output per reply/response;
//! the server maps them to this protocol-neutral [`Reply`], and rules key on its [`Step`] and
//! [`ReplyKind`].

/// Which protocol a connection speaks; some actions depend on it (the form of a goodbye, where
/// an IMAP tag goes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// SMTP, submission or SMTPS.
    Smtp,
    /// IMAP or IMAPS.
    Imap,
}

impl Protocol {
    /// `smtp` or `imap`, as rules spell it.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Smtp => "smtp",
            Protocol::Imap => "imap",
        }
    }
}

/// One complete SMTP reply or IMAP response, with the protocol step it answers and its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// What it answers.
    pub step: Step,
    /// Whether it asks for more, ends its step, or (IMAP) is untagged data.
    pub kind: ReplyKind,
    /// IMAP: the name of an untagged data response as it is written (`FETCH`, `EXISTS`,
    /// `EXPUNGE`, `CAPABILITY`, ...), so rules can key on it; `None` for status responses,
    /// continuation requests, tagged completions and every SMTP reply.
    pub data: Option<&'static str>,
    /// The bytes to write.
    pub bytes: Vec<u8>,
}

impl Reply {
    /// A reply that is not untagged data.
    pub fn new(step: Step, kind: ReplyKind, bytes: impl Into<Vec<u8>>) -> Reply {
        Reply {
            step,
            kind,
            data: None,
            bytes: bytes.into(),
        }
    }

    /// The same reply, an untagged data response named `name` (`EXISTS`).
    #[must_use]
    pub fn with_data(mut self, name: &'static str) -> Reply {
        self.data = Some(name);
        self
    }
}

/// The protocol step a reply answers, for either protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// The greeting (SMTP `220`, IMAP `* OK`/`* PREAUTH`).
    Greeting,
    /// A command, by its verb as the RFC spells it (`RCPT`, `UID FETCH`).
    Command(&'static str),
    /// SMTP: DATA's final dot.
    MessageEnd,
    /// SMTP: a BDAT chunk's octets.
    Chunk,
    /// SMTP: a SASL response line during AUTH.
    SaslResponse,
    /// IMAP: a synchronizing literal's continuation request.
    Literal,
    /// A line that is not a command the server knows (syntax error, unknown, too long).
    Unknown,
    /// The goodbye of a server shutting down or timing out (SMTP `421`, IMAP `* BYE`).
    Shutdown,
}

/// What a reply is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplyKind {
    /// IMAP `* ...`: untagged data or status; more follows for the same step.
    Untagged,
    /// A request for more from the client: IMAP `+`, SMTP `354` and `334`.
    Continuation,
    /// The reply that ends its step: an SMTP reply, an IMAP tagged completion, a greeting.
    Final,
}
