//! How a command ends (RFC 9051 §7.1): [`Completion`], the tagged status a handler returns,
//! and [`Refusal`], a `NO` or `BAD` a handler (or the [`Storage`](crate::Storage) seam)
//! answers early with `?`. Both carry an optional response code apart from the text; the
//! session encodes them in one place (`tag status [code] text`).

use std::borrow::Cow;
use std::fmt;

use mailrig_store::StoreError;

use crate::error::SyntaxError;
use crate::response::Status;

/// How a command completed: `tag OK/NO/BAD [code] text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Completion {
    pub(crate) status: Status,
    pub(crate) code: Option<Cow<'static, str>>,
    pub(crate) text: Cow<'static, str>,
}

impl Completion {
    /// `OK text`.
    pub(crate) fn ok(text: impl Into<Cow<'static, str>>) -> Completion {
        Completion {
            status: Status::Ok,
            code: None,
            text: text.into(),
        }
    }

    /// With the response code `code` (see [`Refusal::with_code`]).
    #[must_use]
    pub(crate) fn with_code(mut self, code: impl Into<Cow<'static, str>>) -> Completion {
        self.code = Some(code.into());
        self
    }
}

impl From<Refusal> for Completion {
    fn from(refusal: Refusal) -> Completion {
        Completion {
            status: refusal.status,
            code: refusal.code,
            text: refusal.text,
        }
    }
}

/// A command refused: `NO` (it could not be done) or `BAD` (it was not understood or not
/// allowed now), with an optional response code (RFC 9051 §7.1, RFC 5530) and a text. The
/// session writes it as the command's tagged completion, after the responses the command
/// produced so far and any pending updates.
///
/// ```
/// use mailrig_imap::Refusal;
///
/// let refusal = Refusal::no("quota exceeded").with_code("OVERQUOTA");
/// assert_eq!(refusal.to_string(), "NO [OVERQUOTA] quota exceeded");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    status: Status,
    code: Option<Cow<'static, str>>,
    text: Cow<'static, str>,
}

impl Refusal {
    /// `NO text`: the command was understood but could not be done.
    pub fn no(text: impl Into<Cow<'static, str>>) -> Refusal {
        Refusal {
            status: Status::No,
            code: None,
            text: text.into(),
        }
    }

    /// `BAD text`: the command was not understood, or is not allowed now.
    pub fn bad(text: impl Into<Cow<'static, str>>) -> Refusal {
        Refusal {
            status: Status::Bad,
            code: None,
            text: text.into(),
        }
    }

    /// With the response code `code`, written in brackets before the text: `OVERQUOTA`,
    /// `LIMIT`, `TRYCREATE`, `UIDNEXT 4` (RFC 9051 §7.1, RFC 5530 §3). It is written as
    /// given, so it must be a valid `resp-text-code`.
    #[must_use]
    pub fn with_code(mut self, code: impl Into<Cow<'static, str>>) -> Refusal {
        self.code = Some(code.into());
        self
    }

    /// [`Status::No`] or [`Status::Bad`].
    pub fn status(&self) -> Status {
        self.status
    }

    /// The response code, without brackets.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// The human-readable text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// For a command that puts messages into a mailbox (APPEND, COPY, MOVE): a missing target
    /// is `NO [TRYCREATE]` (RFC 9051 §6.3.12, §6.4.7), so the client may create it and retry.
    pub(crate) fn try_create(error: StoreError) -> Refusal {
        match error {
            StoreError::NoSuchMailbox(_) => Refusal::no(error.to_string()).with_code("TRYCREATE"),
            other => other.into(),
        }
    }
}

impl fmt::Display for Refusal {
    /// `NO [code] text`, as it follows the tag.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{} [{code}] {}", self.status, self.text),
            None => write!(f, "{} {}", self.status, self.text),
        }
    }
}

impl From<SyntaxError> for Refusal {
    fn from(error: SyntaxError) -> Refusal {
        Refusal::bad(error.to_string())
    }
}

impl From<StoreError> for Refusal {
    /// The RFC 5530 response code for each refusal. A missing mailbox is `[NONEXISTENT]`
    /// here; APPEND, COPY and MOVE say `[TRYCREATE]` instead (`Refusal::try_create`).
    fn from(error: StoreError) -> Refusal {
        let code = match &error {
            StoreError::NoSuchMailbox(_) => Some("NONEXISTENT"),
            StoreError::MailboxExists(_) => Some("ALREADYEXISTS"),
            StoreError::HasChildren(_) => Some("HASCHILDREN"),
            StoreError::InvalidMailboxName { .. } => Some("CANNOT"),
            StoreError::CannotDeleteInbox => Some("CANNOT"),
            StoreError::UidsExhausted(_) | StoreError::MailboxFull { .. } => Some("LIMIT"),
            StoreError::NoSuchUser(_) | StoreError::UserExists(_) => None,
        };
        let refusal = Refusal::no(error.to_string());
        match code {
            Some(code) => refusal.with_code(code),
            None => refusal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_go_in_brackets_before_the_text() {
        let refusal = Refusal::no("quota exceeded").with_code("OVERQUOTA");
        assert_eq!(refusal.to_string(), "NO [OVERQUOTA] quota exceeded");
        let completion = Completion::from(refusal);
        assert_eq!(completion.status, Status::No);
        assert_eq!(completion.code.as_deref(), Some("OVERQUOTA"));
        assert_eq!(
            Refusal::bad("no mailbox selected").to_string(),
            "BAD no mailbox selected"
        );
        let missing = StoreError::NoSuchMailbox("x".into());
        assert_eq!(Refusal::try_create(missing).code(), Some("TRYCREATE"));
    }
}
