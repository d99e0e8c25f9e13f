//! SMTP commands: one command line (without its CRLF) to a typed [`Command`].
//!
//! Read first: RFC 5321 §4.1.1 (the commands), §4.1.2 (their ABNF), §2.4 (verbs are
//! case-insensitive), §4.1.1.11 (`MAIL FROM:<...>` with no space after the colon). Extension
//! commands: RFC 3030 §2 (`BDAT`), RFC 3207 §4 (`STARTTLS`), RFC 4954 §4 (`AUTH`).
//!
//! Parsing knows only grammar. Whether a command is allowed now, and whether its parameters
//! belong to an extension on offer, is the session's business.

use crate::params::{Param, ParamError, esmtp_param};
use crate::path::{self, PathError, address_literal, domain, strip_prefix_ci};
use crate::reply::Reply;

/// A command's name (RFC 5321 §4.1 and the extensions'): what a reply answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    /// `HELO`.
    Helo,
    /// `EHLO`.
    Ehlo,
    /// `MAIL`.
    Mail,
    /// `RCPT`.
    Rcpt,
    /// `DATA`.
    Data,
    /// `BDAT`.
    Bdat,
    /// `RSET`.
    Rset,
    /// `NOOP`.
    Noop,
    /// `QUIT`.
    Quit,
    /// `VRFY`.
    Vrfy,
    /// `EXPN`.
    Expn,
    /// `HELP`.
    Help,
    /// `STARTTLS`.
    StartTls,
    /// `AUTH`.
    Auth,
}

impl Verb {
    /// Every verb, in declaration order.
    pub const ALL: [Verb; 14] = [
        Verb::Helo,
        Verb::Ehlo,
        Verb::Mail,
        Verb::Rcpt,
        Verb::Data,
        Verb::Bdat,
        Verb::Rset,
        Verb::Noop,
        Verb::Quit,
        Verb::Vrfy,
        Verb::Expn,
        Verb::Help,
        Verb::StartTls,
        Verb::Auth,
    ];

    /// The verb named `name` (case-insensitive, RFC 5321 §2.4), if mailrig knows it.
    pub fn from_name(name: &str) -> Option<Verb> {
        Verb::ALL
            .into_iter()
            .find(|verb| verb.name().eq_ignore_ascii_case(name))
    }

    /// The name as the RFC spells it, upper-case.
    pub fn name(self) -> &'static str {
        match self {
            Verb::Helo => "HELO",
            Verb::Ehlo => "EHLO",
            Verb::Mail => "MAIL",
            Verb::Rcpt => "RCPT",
            Verb::Data => "DATA",
            Verb::Bdat => "BDAT",
            Verb::Rset => "RSET",
            Verb::Noop => "NOOP",
            Verb::Quit => "QUIT",
            Verb::Vrfy => "VRFY",
            Verb::Expn => "EXPN",
            Verb::Help => "HELP",
            Verb::StartTls => "STARTTLS",
            Verb::Auth => "AUTH",
        }
    }
}

impl std::fmt::Display for Verb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Command {
    /// The command's name.
    pub(crate) fn verb(&self) -> Verb {
        match self {
            Command::Helo(_) => Verb::Helo,
            Command::Ehlo(_) => Verb::Ehlo,
            Command::Mail { .. } => Verb::Mail,
            Command::Rcpt { .. } => Verb::Rcpt,
            Command::Data => Verb::Data,
            Command::Bdat { .. } => Verb::Bdat,
            Command::Rset => Verb::Rset,
            Command::Noop => Verb::Noop,
            Command::Quit => Verb::Quit,
            Command::Vrfy => Verb::Vrfy,
            Command::Expn => Verb::Expn,
            Command::Help => Verb::Help,
            Command::StartTls => Verb::StartTls,
            Command::Auth { .. } => Verb::Auth,
        }
    }
}

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    /// `HELO SP Domain` (an address literal is accepted too).
    Helo(String),
    /// `EHLO SP ( Domain / address-literal )`.
    Ehlo(String),
    /// `MAIL FROM:Reverse-path [SP Mail-parameters]`; the path is empty for `<>`.
    Mail {
        reverse_path: String,
        params: Vec<Param>,
    },
    /// `RCPT TO:Forward-path [SP Rcpt-parameters]`; `<Postmaster>` gives `Postmaster`.
    Rcpt {
        forward_path: String,
        params: Vec<Param>,
    },
    /// `DATA`.
    Data,
    /// `BDAT SP chunk-size [SP end-marker]` (RFC 3030 §2).
    Bdat { size: u64, last: bool },
    /// `RSET`.
    Rset,
    /// `NOOP [SP String]`.
    Noop,
    /// `QUIT`.
    Quit,
    /// `VRFY SP String`.
    Vrfy,
    /// `EXPN SP String`.
    Expn,
    /// `HELP [SP String]`.
    Help,
    /// `STARTTLS` (RFC 3207 §4).
    StartTls,
    /// `AUTH SP mechanism [SP initial-response]` (RFC 4954 §4).
    Auth {
        mechanism: String,
        initial_response: Option<String>,
    },
}

/// How strictly to read command lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Syntax {
    /// See [`Config::lenient_syntax`](crate::Config::lenient_syntax).
    pub(crate) lenient: bool,
    /// UTF-8 domain names (U-labels) are allowed in HELO/EHLO (SMTPUTF8 is on offer).
    pub(crate) utf8_domains: bool,
}

/// A command line that cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CommandError {
    /// Not a verb this server knows.
    #[error("command unrecognized")]
    Unrecognized,
    /// Bare CR, bare LF, NUL or invalid UTF-8 in the line.
    #[error("bare CR, LF, NUL or invalid UTF-8 in command")]
    BadCharacters,
    /// Arguments that do not match the command's grammar; the text says what was expected.
    #[error("syntax error, expected: {0}")]
    Syntax(&'static str),
    /// A malformed path; `sender` tells MAIL from RCPT.
    #[error("{error}")]
    Path { sender: bool, error: PathError },
    /// A malformed parameter.
    #[error(transparent)]
    Param(#[from] ParamError),
}

impl CommandError {
    /// The reply for this error (see the table in [`crate::reply`]).
    pub(crate) fn reply(&self) -> Reply {
        let text = self.to_string();
        match self {
            CommandError::Unrecognized | CommandError::BadCharacters => {
                Reply::with_status(500, [5, 5, 2], text)
            }
            CommandError::Syntax(_) => Reply::with_status(501, [5, 5, 4], text),
            CommandError::Path {
                error: PathError::Brackets | PathError::PathTooLong,
                ..
            } => Reply::with_status(501, [5, 5, 4], text),
            CommandError::Path { sender: true, .. } => Reply::with_status(553, [5, 1, 7], text),
            CommandError::Path { sender: false, .. } => Reply::with_status(553, [5, 1, 3], text),
            CommandError::Param(e) => e.reply(),
        }
    }
}

impl Command {
    /// Parses one command line, CRLF already removed.
    pub(crate) fn parse(line: &[u8], syntax: Syntax) -> Result<Command, CommandError> {
        if line.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0)) {
            return Err(CommandError::BadCharacters);
        }
        let mut text = std::str::from_utf8(line).map_err(|_| CommandError::BadCharacters)?;
        if syntax.lenient {
            text = text.trim_end_matches([' ', '\t']);
        }
        let (verb, rest) = match text.split_once(' ') {
            Some((verb, rest)) => (verb, Some(rest)),
            None => (text, None),
        };
        match verb.to_ascii_uppercase().as_str() {
            "HELO" => Ok(Command::Helo(helo_domain(rest, syntax, "HELO SP Domain")?)),
            "EHLO" => Ok(Command::Ehlo(helo_domain(rest, syntax, "EHLO SP Domain")?)),
            "MAIL" => mail(rest, syntax),
            "RCPT" => rcpt(rest, syntax),
            "DATA" => no_args(rest, Command::Data, "DATA"),
            "BDAT" => bdat(rest),
            "RSET" => no_args(rest, Command::Rset, "RSET"),
            "NOOP" => Ok(Command::Noop),
            "QUIT" => no_args(rest, Command::Quit, "QUIT"),
            "VRFY" => string_arg(rest, Command::Vrfy, "VRFY SP String"),
            "EXPN" => string_arg(rest, Command::Expn, "EXPN SP String"),
            "HELP" => Ok(Command::Help),
            "STARTTLS" => no_args(rest, Command::StartTls, "STARTTLS (no parameters allowed)"),
            "AUTH" => auth(rest),
            _ => Err(CommandError::Unrecognized),
        }
    }
}

fn no_args(rest: Option<&str>, command: Command, usage: &'static str) -> Result<Command, CommandError> {
    match rest {
        None => Ok(command),
        Some(_) => Err(CommandError::Syntax(usage)),
    }
}

fn string_arg(rest: Option<&str>, command: Command, usage: &'static str) -> Result<Command, CommandError> {
    match rest {
        Some(s) if !s.is_empty() => Ok(command),
        _ => Err(CommandError::Syntax(usage)),
    }
}

/// `Domain / address-literal` after HELO/EHLO; any non-empty text when lenient.
fn helo_domain(rest: Option<&str>, syntax: Syntax, usage: &'static str) -> Result<String, CommandError> {
    let arg = rest
        .map(|r| if syntax.lenient { r.trim() } else { r })
        .unwrap_or("");
    let ok = if syntax.lenient {
        !arg.is_empty()
    } else {
        domain(arg, syntax.utf8_domains) || address_literal(arg)
    };
    if ok {
        Ok(arg.to_owned())
    } else {
        Err(CommandError::Syntax(usage))
    }
}

/// `mail = "MAIL FROM:" Reverse-path [SP Mail-parameters]`, `Reverse-path = Path / "<>"`.
fn mail(rest: Option<&str>, syntax: Syntax) -> Result<Command, CommandError> {
    const USAGE: &str = "MAIL FROM:<address> [parameters]";
    let after = rest
        .and_then(|r| strip_prefix_ci(r, "FROM:"))
        .ok_or(CommandError::Syntax(USAGE))?;
    let (path_text, params) = split_path(after, syntax).ok_or(CommandError::Syntax(USAGE))?;
    let reverse_path = if path_text == "<>" {
        String::new()
    } else {
        path::path(&path_text)
            .map_err(|error| CommandError::Path { sender: true, error })?
            .to_owned()
    };
    Ok(Command::Mail {
        reverse_path,
        params: parameters(params, syntax)?,
    })
}

/// `rcpt = "RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" / Forward-path )
/// [SP Rcpt-parameters]`.
fn rcpt(rest: Option<&str>, syntax: Syntax) -> Result<Command, CommandError> {
    const USAGE: &str = "RCPT TO:<address> [parameters]";
    let after = rest
        .and_then(|r| strip_prefix_ci(r, "TO:"))
        .ok_or(CommandError::Syntax(USAGE))?;
    let (path_text, params) = split_path(after, syntax).ok_or(CommandError::Syntax(USAGE))?;
    let forward_path = if path_text.eq_ignore_ascii_case("<Postmaster>") {
        path_text[1..path_text.len() - 1].to_owned()
    } else {
        path::path(&path_text)
            .map_err(|error| CommandError::Path { sender: false, error })?
            .to_owned()
    };
    Ok(Command::Rcpt {
        forward_path,
        params: parameters(params, syntax)?,
    })
}

/// Splits `<path> params` after the colon. The path ends at the first `>` outside a quoted
/// string. Lenient syntax allows spaces before the path and a path without brackets (which is
/// then wrapped in brackets).
fn split_path(text: &str, syntax: Syntax) -> Option<(String, &str)> {
    let text = if syntax.lenient {
        text.trim_start_matches(' ')
    } else {
        text
    };
    if !text.starts_with('<') {
        if !syntax.lenient || text.is_empty() {
            return None;
        }
        let (bare, params) = text.split_once(' ').unwrap_or((text, ""));
        return Some((format!("<{bare}>"), params));
    }
    let end = closing_bracket(text)?;
    let (path_text, after) = text.split_at(end + 1);
    let params = match after {
        "" => "",
        _ if syntax.lenient => after.strip_prefix(' ')?,
        _ => after.strip_prefix(' ').filter(|p| !p.is_empty())?,
    };
    Some((path_text.to_owned(), params))
}

/// The index of the `>` closing a path that starts with `<`, skipping quoted strings.
fn closing_bracket(text: &str) -> Option<usize> {
    let mut in_quote = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quote => escaped = true,
            '"' => in_quote = !in_quote,
            '>' if !in_quote => return Some(i),
            _ => {}
        }
    }
    None
}

/// `Mail-parameters = esmtp-param *(SP esmtp-param)`; lenient syntax allows runs of spaces.
fn parameters(text: &str, syntax: Syntax) -> Result<Vec<Param>, CommandError> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let pieces: Vec<&str> = if syntax.lenient {
        text.split(' ').filter(|p| !p.is_empty()).collect()
    } else {
        text.split(' ').collect()
    };
    Ok(pieces
        .into_iter()
        .map(esmtp_param)
        .collect::<Result<Vec<_>, _>>()?)
}

/// `bdat-cmd = "BDAT" SP chunk-size [SP end-marker]`, `chunk-size = 1*DIGIT`, `end-marker =
/// "LAST"` (RFC 3030 §2).
fn bdat(rest: Option<&str>) -> Result<Command, CommandError> {
    const USAGE: &str = "BDAT chunk-size [LAST]";
    let rest = rest.ok_or(CommandError::Syntax(USAGE))?;
    let (size_text, last) = match rest.split_once(' ') {
        Some((s, marker)) if marker.eq_ignore_ascii_case("LAST") => (s, true),
        Some(_) => return Err(CommandError::Syntax(USAGE)),
        None => (rest, false),
    };
    if size_text.is_empty() || !size_text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CommandError::Syntax(USAGE));
    }
    let size = size_text.parse().map_err(|_| CommandError::Syntax(USAGE))?;
    Ok(Command::Bdat { size, last })
}

/// `auth-command = "AUTH" SP sasl-mech [SP initial-response]`, `sasl-mech = 1*20mech-char`,
/// `initial-response = base64 / "="` (RFC 4954 §4).
fn auth(rest: Option<&str>) -> Result<Command, CommandError> {
    const USAGE: &str = "AUTH mechanism [initial-response]";
    let rest = rest.ok_or(CommandError::Syntax(USAGE))?;
    let (mechanism, initial_response) = match rest.split_once(' ') {
        Some((m, r)) => (m, Some(r)),
        None => (rest, None),
    };
    let mech_ok = (1..=20).contains(&mechanism.len())
        && mechanism
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let response_ok = initial_response.is_none_or(|r| !r.is_empty() && !r.contains(' '));
    if !(mech_ok && response_ok) {
        return Err(CommandError::Syntax(USAGE));
    }
    Ok(Command::Auth {
        mechanism: mechanism.to_owned(),
        initial_response: initial_response.map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: Syntax = Syntax {
        lenient: false,
        utf8_domains: true,
    };
    const LENIENT: Syntax = Syntax {
        lenient: true,
        utf8_domains: true,
    };

    fn parse(line: &str) -> Result<Command, CommandError> {
        Command::parse(line.as_bytes(), STRICT)
    }

    #[test]
    fn every_verb_is_found_by_its_name_in_any_case() {
        for verb in Verb::ALL {
            assert_eq!(Verb::from_name(verb.name()), Some(verb));
            assert_eq!(Verb::from_name(&verb.name().to_ascii_lowercase()), Some(verb));
        }
        assert_eq!(Verb::from_name("XCLIENT"), None);
    }

    fn code(line: &str, syntax: Syntax) -> u16 {
        Command::parse(line.as_bytes(), syntax)
            .expect_err(line)
            .reply()
            .code()
    }

    #[test]
    fn verbs_are_case_insensitive() {
        // RFC 5321 §2.4; Python's smtplib sends "mail FROM:<...>".
        assert_eq!(parse("noop"), Ok(Command::Noop));
        assert_eq!(parse("QuIt"), Ok(Command::Quit));
        assert!(matches!(parse("mail from:<a@b.c>"), Ok(Command::Mail { .. })));
        assert!(matches!(parse("rcpt to:<a@b.c>"), Ok(Command::Rcpt { .. })));
    }

    #[test]
    fn mail_from_rfc_5321_examples() {
        // RFC 5321 Appendix D.1.
        assert_eq!(
            parse("MAIL FROM:<Smith@bar.com>"),
            Ok(Command::Mail {
                reverse_path: "Smith@bar.com".into(),
                params: vec![]
            })
        );
        assert_eq!(
            parse("MAIL FROM:<>"),
            Ok(Command::Mail {
                reverse_path: String::new(),
                params: vec![]
            })
        );
        let Ok(Command::Mail { params, .. }) = parse("MAIL FROM:<a@b.c> SIZE=10 BODY=8BITMIME") else {
            panic!("expected MAIL")
        };
        assert_eq!(params.len(), 2);
    }

    #[test]
    fn strict_mail_syntax() {
        assert_eq!(code("MAIL FROM: <a@b.c>", STRICT), 501);
        assert_eq!(code("MAIL FROM:a@b.c", STRICT), 501);
        assert_eq!(code("MAIL FROM:<a@b.c>  SIZE=1", STRICT), 501);
        assert_eq!(code("MAIL FROM:<a@b.c> ", STRICT), 501);
        assert_eq!(code("MAIL FROM:<a@b.c", STRICT), 501);
        assert_eq!(code("MAIL TO:<a@b.c>", STRICT), 501);
        assert_eq!(code("MAIL FROM:<a@@b.c>", STRICT), 553);
        assert_eq!(code("MAIL FROM:<a@b.c> =x", STRICT), 501);
        assert_eq!(code("RCPT TO:<bad>", STRICT), 553);
    }

    #[test]
    fn lenient_mail_syntax() {
        for line in [
            "MAIL FROM: <a@b.c>",
            "MAIL FROM:a@b.c",
            "MAIL FROM:<a@b.c>  SIZE=1 ",
            "MAIL FROM: a@b.c SIZE=1",
        ] {
            assert!(
                matches!(Command::parse(line.as_bytes(), LENIENT), Ok(Command::Mail { .. })),
                "{line}"
            );
        }
    }

    #[test]
    fn quoted_local_part_may_hold_brackets() {
        assert_eq!(
            parse("RCPT TO:<\"a>b\"@example.test>"),
            Ok(Command::Rcpt {
                forward_path: "\"a>b\"@example.test".into(),
                params: vec![]
            })
        );
    }

    #[test]
    fn postmaster() {
        assert_eq!(
            parse("RCPT TO:<postmaster>"),
            Ok(Command::Rcpt {
                forward_path: "postmaster".into(),
                params: vec![]
            })
        );
    }

    #[test]
    fn bdat_and_auth() {
        assert_eq!(
            parse("BDAT 100 LAST"),
            Ok(Command::Bdat {
                size: 100,
                last: true
            })
        );
        assert_eq!(parse("bdat 0"), Ok(Command::Bdat { size: 0, last: false }));
        assert_eq!(code("BDAT", STRICT), 501);
        assert_eq!(code("BDAT x", STRICT), 501);
        assert_eq!(code("BDAT 1 FIRST", STRICT), 501);
        assert_eq!(code("BDAT 99999999999999999999999", STRICT), 501);
        assert_eq!(
            parse("AUTH PLAIN AGFsaWNlAHNlY3JldA=="),
            Ok(Command::Auth {
                mechanism: "PLAIN".into(),
                initial_response: Some("AGFsaWNlAHNlY3JldA==".into())
            })
        );
        assert_eq!(code("AUTH", STRICT), 501);
    }

    #[test]
    fn bad_bytes_and_unknown_verbs() {
        assert_eq!(code("NOOP\rX", STRICT), 500);
        assert_eq!(code("NO\nOP", STRICT), 500);
        assert_eq!(code("", STRICT), 500);
        assert_eq!(code("XYZZY", STRICT), 500);
        assert_eq!(
            Command::parse(b"NOOP \xff", STRICT).map_err(|e| e.reply().code()),
            Err(500)
        );
    }

    #[test]
    fn no_argument_commands() {
        assert_eq!(code("DATA x", STRICT), 501);
        assert_eq!(code("STARTTLS x", STRICT), 501);
        assert_eq!(code("QUIT now", STRICT), 501);
        assert_eq!(parse("NOOP anything"), Ok(Command::Noop));
        assert_eq!(code("VRFY", STRICT), 501);
        assert_eq!(code("EHLO", STRICT), 501);
        assert_eq!(code("EHLO bad_name", STRICT), 501);
        assert_eq!(parse("EHLO [127.0.0.1]"), Ok(Command::Ehlo("[127.0.0.1]".into())));
        assert!(Command::parse(b"EHLO bad_name", LENIENT).is_ok());
    }
}
