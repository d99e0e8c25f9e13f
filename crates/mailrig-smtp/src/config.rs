//! What a session offers and enforces: extensions ("personality"), limits and policies.
//!
//! Read first: RFC 5321 §4.5.3 (size limits), RFC 1869 / RFC 5321 §4.1.1.1 (EHLO keywords),
//! RFC 4954 §4 (AUTH over plaintext), RFC 3207 §4 (STARTTLS).

use crate::defect::Defects;

/// Everything a [`Session`](crate::Session) offers and enforces.
///
/// [`Config::default()`] offers every extension and every SASL mechanism, with RFC 5321's
/// limits. Switch things off with struct update syntax:
///
/// ```
/// use mailrig_smtp::{Config, Extensions};
///
/// // An old server: no ESMTP extensions at all, but it still says EHLO.
/// let config = Config {
///     hostname: "old.example.test".into(),
///     extensions: Extensions::none(),
///     ..Config::default()
/// };
/// assert!(!config.extensions.pipelining);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The server's name, used in the greeting, the EHLO reply and the 421/221 replies.
    pub hostname: String,
    /// Text after the hostname in the `220` greeting (RFC 5321 §4.3.1).
    pub greeting: String,
    /// The service extensions listed in the EHLO reply and accepted in commands.
    pub extensions: Extensions,
    /// The longest command line, CRLF included (RFC 5321 §4.5.3.1.4: 512 at least; the
    /// default 1000 matches the text line limit) and the longest line of DATA text, CRLF
    /// included (RFC 5321 §4.5.3.1.6: 1000). A longer command line gets `500 5.5.6` at once
    /// and is discarded up to its CRLF; a message with a longer text line is rejected with
    /// `554 5.6.0` after its end. Values below 3 are treated as 3.
    pub max_line_len: usize,
    /// The longest SASL response line during AUTH, CRLF included (RFC 4954 §4: 12288 octets
    /// "is considered to be a sufficient line length limit"). Longer lines fail the exchange
    /// with `500 5.5.6`.
    pub max_auth_line_len: usize,
    /// The largest message accepted, in octets after dot-unstuffing. Advertised as `SIZE n`.
    /// `None` means no limit (and `SIZE` without a number): the session then buffers whatever
    /// the client sends as one message.
    pub max_message_size: Option<usize>,
    /// The most recipients in one transaction; further RCPTs get `452 4.5.3`
    /// (RFC 5321 §4.5.3.1.8 asks for at least 100, §4.5.3.1.10 names the reply).
    pub max_recipients: usize,
    /// Refuse AUTH (`538 5.7.11`) and hide it from EHLO until TLS is up (RFC 4954 §4, §6).
    pub require_tls_for_auth: bool,
    /// Refuse MAIL (`530 5.7.0`) until the client has authenticated (RFC 4954 §6).
    pub require_auth: bool,
    /// Accept every recipient without asking [`Backend::recipient`](crate::Backend::recipient).
    pub accept_any_recipient: bool,
    /// The driver can run a TLS handshake, so STARTTLS is offered (if
    /// [`Extensions::starttls`] is on) until TLS is active.
    pub tls_available: bool,
    /// The connection is TLS from the first byte (RFC 8314 §3.3): STARTTLS is never offered
    /// and AUTH counts as protected.
    pub implicit_tls: bool,
    /// Accept common deviations from the RFC grammar: spaces after `FROM:`/`TO:` and between
    /// parameters, a path without angle brackets, trailing spaces, base64 without padding,
    /// upper-case CRAM-MD5 digests, an AUTH command line up to
    /// [`max_auth_line_len`](Config::max_auth_line_len), and any non-empty HELO/EHLO
    /// argument. Lines still end only with CRLF, and DATA still ends only with CRLF.CRLF.
    pub lenient_syntax: bool,
    /// Makes CRAM-MD5 challenges differ between connections (RFC 2195 §2 wants them unique).
    /// This crate has no clock and no random numbers; a driver may pass a per-connection
    /// value. Challenges look like `<attempt.nonce@hostname>`.
    pub nonce: u64,
    /// Deliberate RFC violations, for testing a test suite (see [`Defect`](crate::Defect)); empty by
    /// default. Never set outside such tests.
    pub defects: Defects,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            hostname: "localhost".to_owned(),
            greeting: "ESMTP mailrig".to_owned(),
            extensions: Extensions::default(),
            max_line_len: 1000,
            max_auth_line_len: 12288,
            max_message_size: Some(10 * 1024 * 1024),
            max_recipients: 100,
            require_tls_for_auth: true,
            require_auth: false,
            accept_any_recipient: false,
            tls_available: true,
            implicit_tls: false,
            lenient_syntax: false,
            nonce: 0,
            defects: Defects::none(),
        }
    }
}

/// The SMTP service extensions a session offers. Each one switched off is neither listed in
/// the EHLO reply nor accepted: its command gets `502 5.5.1`, its parameters `555 5.5.4`.
///
/// The default turns everything on; [`Extensions::none()`] turns everything off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extensions {
    /// `PIPELINING` (RFC 2920). Only changes the EHLO reply: commands are always processed
    /// in order, one reply each, however they arrive.
    pub pipelining: bool,
    /// `SIZE` (RFC 1870): the `SIZE=` MAIL parameter and the advertised limit.
    pub size: bool,
    /// `8BITMIME` (RFC 6152): the `BODY=7BIT|8BITMIME` MAIL parameter.
    pub eight_bit_mime: bool,
    /// `SMTPUTF8` (RFC 6531): the `SMTPUTF8` MAIL parameter and UTF-8 addresses.
    pub smtputf8: bool,
    /// `ENHANCEDSTATUSCODES` (RFC 2034, codes from RFC 3463) in replies.
    pub enhanced_status_codes: bool,
    /// `CHUNKING` (RFC 3030): the BDAT command.
    pub chunking: bool,
    /// `DSN` (RFC 3461): the `RET`/`ENVID` MAIL and `NOTIFY`/`ORCPT` RCPT parameters.
    pub dsn: bool,
    /// `STARTTLS` (RFC 3207), offered only while [`Config::tls_available`] and before TLS.
    pub starttls: bool,
    /// `AUTH` (RFC 4954) with these mechanisms, in this order; empty means no AUTH (nor the
    /// `AUTH=` MAIL parameter).
    pub auth: Vec<Mechanism>,
}

impl Default for Extensions {
    fn default() -> Self {
        Extensions {
            pipelining: true,
            size: true,
            eight_bit_mime: true,
            smtputf8: true,
            enhanced_status_codes: true,
            chunking: true,
            dsn: true,
            starttls: true,
            auth: Mechanism::ALL.to_vec(),
        }
    }
}

impl Extensions {
    /// No extension at all: a plain RFC 5321 server.
    pub fn none() -> Self {
        Extensions {
            pipelining: false,
            size: false,
            eight_bit_mime: false,
            smtputf8: false,
            enhanced_status_codes: false,
            chunking: false,
            dsn: false,
            starttls: false,
            auth: Vec::new(),
        }
    }
}

/// A SASL mechanism the AUTH command can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// `PLAIN` (RFC 4616): authzid, authcid and password in one message.
    Plain,
    /// `LOGIN` (draft-murchison-sasl-login): user name and password, each after a prompt.
    Login,
    /// `CRAM-MD5` (RFC 2195): HMAC-MD5 of a server challenge, keyed by the password.
    CramMd5,
    /// `XOAUTH2` (Google's OAuth 2.0 profile): user and bearer token.
    XOAuth2,
    /// `OAUTHBEARER` (RFC 7628): GS2 header and bearer token.
    OAuthBearer,
}

impl Mechanism {
    /// Every mechanism, in the order the default EHLO reply lists them.
    pub const ALL: [Mechanism; 5] = [
        Mechanism::Plain,
        Mechanism::Login,
        Mechanism::CramMd5,
        Mechanism::XOAuth2,
        Mechanism::OAuthBearer,
    ];

    /// The registered name, as listed after `AUTH` in the EHLO reply.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::CramMd5 => "CRAM-MD5",
            Mechanism::XOAuth2 => "XOAUTH2",
            Mechanism::OAuthBearer => "OAUTHBEARER",
        }
    }

    /// The mechanism with this name, compared case-insensitively (RFC 4422 §3.1 names are
    /// upper-case, RFC 4954 §4 mechanism names in commands are case-insensitive).
    pub fn from_name(name: &str) -> Option<Mechanism> {
        Mechanism::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mechanism_names_round_trip_case_insensitively() {
        for m in Mechanism::ALL {
            assert_eq!(Mechanism::from_name(m.name()), Some(m));
            assert_eq!(Mechanism::from_name(&m.name().to_lowercase()), Some(m));
        }
        assert_eq!(Mechanism::from_name("GSSAPI"), None);
    }

    #[test]
    fn default_is_everything_on() {
        let c = Config::default();
        let e = &c.extensions;
        assert!(e.pipelining && e.size && e.eight_bit_mime && e.smtputf8);
        assert!(e.enhanced_status_codes && e.chunking && e.dsn && e.starttls);
        assert_eq!(e.auth.len(), 5);
        assert!(c.tls_available);
    }
}
