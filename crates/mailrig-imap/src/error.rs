//! Typed errors: why a command line could not be parsed.

/// Why a command is syntactically wrong (answered with `BAD`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyntaxError {
    /// The line does not start with a valid tag.
    #[error("missing or invalid tag")]
    Tag,
    /// Something else was expected at this point.
    #[error("expected {0}")]
    Expected(&'static str),
    /// Parenthesized lists nest too deep.
    #[error("lists nested too deep")]
    TooDeep,
    /// An argument is missing, extra or not understood.
    #[error("invalid arguments")]
    Arguments,
    /// A sequence set is malformed or out of range.
    #[error("invalid sequence set")]
    SequenceSet,
    /// A quoted string or a literal holds a NUL octet, which no `CHAR8` is (RFC 9051 §4.3:
    /// binary data needs `literal8`, `~{n}`, with BINARY).
    #[error("NUL is not allowed in a string")]
    Nul,
    /// The command is not known.
    #[error("unknown command")]
    UnknownCommand,
}
