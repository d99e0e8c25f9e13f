//! What the session asks of the world: credentials, recipients, delivery.
//!
//! Read first: RFC 5321 §3.3 (a mail transaction: reverse-path, forward-paths, content),
//! §4.1.1.3 (RCPT replies), §6.1 (a `250` after DATA means the server took responsibility
//! for the message).

use crate::params::{MailParams, RcptParams};
use crate::reply::Reply;

/// The session's view of accounts, mailboxes and the mail store. The session calls it
/// synchronously while it handles input, so implementations should be quick (an in-memory
/// store, a mock).
pub trait Backend {
    /// Checks a user name and password (AUTH PLAIN, AUTH LOGIN).
    fn authenticate(&mut self, login: &str, password: &str) -> bool;

    /// The shared secret (password) of `login` for the CRAM-MD5 check (RFC 2195 §2), or
    /// `None` for an unknown user.
    fn cram_md5_secret(&mut self, login: &str) -> Option<String>;

    /// Checks a bearer token for `login` (XOAUTH2, OAUTHBEARER). `login` is empty when an
    /// OAUTHBEARER client sent no authorization identity.
    fn check_token(&mut self, login: &str, token: &str) -> bool;

    /// Whether `address` (a mailbox as sent, source route removed) may receive mail here.
    /// Not called for `<Postmaster>` nor `postmaster@` a [local
    /// domain](Backend::local_domain) (always accepted, RFC 5321 §4.5.1), nor when
    /// [`Config::accept_any_recipient`](crate::Config::accept_any_recipient) is set.
    fn recipient(&mut self, address: &str) -> RecipientCheck;

    /// Whether this server delivers mail for `domain` (as sent; domains are case-insensitive,
    /// RFC 5321 §2.4). `postmaster@domain`, in any case, is accepted for every local domain
    /// (RFC 5321 §4.5.1: a delivering server "MUST support the reserved mailbox "postmaster"
    /// as a case-insensitive local name"); [`deliver`](Backend::deliver) decides where its
    /// mail goes.
    fn local_domain(&mut self, domain: &str) -> bool;

    /// Takes responsibility for a complete message. Called once the end of DATA or
    /// `BDAT ... LAST` has been read and the message passed the size and line checks; the
    /// session replies `250` only if this returns `Ok`.
    fn deliver(&mut self, envelope: &Envelope) -> Result<(), DeliveryError>;

    /// Asked first for every RCPT whose syntax and sequence are right (before the postmaster
    /// and [`recipient`](Backend::recipient) checks): a reply to refuse it with instead, or
    /// `None` (the default) to judge it as usual. A refused recipient is not added to the
    /// transaction. mailrig's fault rules refuse recipients through it, so that a recipient the
    /// client was told was refused never gets the message.
    fn refuse_recipient(&mut self, _address: &str) -> Option<Reply> {
        None
    }
}

/// What [`Backend::recipient`] says about an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecipientCheck {
    /// A mailbox here: `250 2.1.5`.
    Local,
    /// No such mailbox: `550 5.1.1`.
    Unknown,
}

/// Why [`Backend::deliver`] refused a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Try again later: `451 4.3.0` followed by the text.
    #[error("temporary delivery failure: {0}")]
    Temporary(String),
    /// Never: `554 5.3.0` followed by the text.
    #[error("permanent delivery failure: {0}")]
    Permanent(String),
    /// Refused with this exact reply (a fault rule's `452 4.3.1 ...`); nothing was stored.
    #[error("refused with {}", .0.code())]
    Refused(Reply),
}

/// One complete mail transaction, as handed to [`Backend::deliver`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The reverse-path's mailbox, empty for the null path `<>`.
    pub mail_from: String,
    /// The accepted recipients as sent, in RCPT order (`Postmaster` for `<Postmaster>`).
    pub rcpt_to: Vec<String>,
    /// The parameters of each accepted recipient, same order as [`rcpt_to`](Self::rcpt_to).
    pub rcpt_params: Vec<RcptParams>,
    /// The message: after DATA, the octets exactly as sent with the stuffed dots removed
    /// (bare CR and LF kept); after BDAT, the chunks' octets concatenated.
    pub data: Vec<u8>,
    /// The MAIL parameters.
    pub params: MailParams,
    /// The user the client authenticated as, if any.
    pub authenticated_as: Option<String>,
    /// The HELO/EHLO argument.
    pub helo: Option<String>,
    /// The message arrived over TLS.
    pub tls: bool,
    /// The message came in BDAT chunks rather than after DATA.
    pub chunked: bool,
}
