//! [`Config`]: the personality switches and limits of a session.

/// How a [`Session`](crate::Session) behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Offer STARTTLS (RFC 9051 §6.2.1) while the connection is in plaintext.
    pub starttls: bool,
    /// Refuse LOGIN and AUTHENTICATE before TLS and advertise `LOGINDISABLED`.
    pub login_disabled_before_tls: bool,
    /// Longest command line accepted, in bytes, not counting CRLF or literals.
    pub max_line: usize,
    /// Largest literal accepted, in bytes (`NO [TOOBIG]` above it).
    pub max_literal: usize,
    /// Start authenticated as this user, with a `* PREAUTH` greeting (RFC 9051 §7.1.4).
    /// The login is not checked against the store.
    pub preauth: Option<String>,
    /// The text of the greeting after `* OK [CAPABILITY ...]`.
    pub greeting: String,
    /// The connection started with a TLS handshake (IMAPS, RFC 8314): the session is secure
    /// from the greeting on, so STARTTLS is not offered and LOGIN is allowed.
    pub implicit_tls: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            starttls: true,
            login_disabled_before_tls: false,
            max_line: 64 * 1024,
            max_literal: 32 * 1024 * 1024,
            preauth: None,
            greeting: "mailrig ready".to_owned(),
            implicit_tls: false,
        }
    }
}
