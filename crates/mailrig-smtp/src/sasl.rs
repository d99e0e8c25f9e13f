//! SASL mechanisms as server-side state machines, independent of SMTP and of base64.
//!
//! Read first: RFC 4422 §3 (the exchange: challenges, responses, outcome), then the mechanism
//! files: [`plain`] (RFC 4616), [`login`] (draft-murchison-sasl-login), [`cram_md5`]
//! (RFC 2195), [`oauth`] (XOAUTH2 and RFC 7628 OAUTHBEARER). The SMTP framing (`334`, base64,
//! `*`) lives in the session's AUTH handling (RFC 4954).

mod cram_md5;
mod login;
mod oauth;
mod plain;

use crate::backend::Backend;
use crate::config::Mechanism;

/// A server-side SASL exchange, waiting for the client's next message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Exchange {
    /// PLAIN: waiting for `[authzid] NUL authcid NUL passwd`.
    Plain,
    /// LOGIN: waiting for the user name.
    LoginUser,
    /// LOGIN: waiting for the password of `user`.
    LoginPassword {
        /// The user name already received.
        user: String,
    },
    /// CRAM-MD5: waiting for `user SP digest` over `challenge`.
    CramMd5 {
        /// The challenge sent, e.g. `<1.0@localhost>`.
        challenge: String,
    },
    /// XOAUTH2: waiting for `user=... ^A auth=Bearer ... ^A^A`.
    XOAuth2,
    /// OAUTHBEARER: waiting for the GS2 header and key-value pairs.
    OAuthBearer,
    /// XOAUTH2/OAUTHBEARER after the error challenge: any response fails the exchange
    /// (RFC 7628 §3.2.3).
    OAuthFailed,
}

/// What the server does after a client message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// Send this challenge and keep waiting.
    Continue(Exchange, Vec<u8>),
    /// Authenticated as this user.
    Success(String),
    /// Wrong credentials or a malformed message.
    Failure,
}

impl Exchange {
    /// The exchange for `mechanism`; `challenge` is the unique string CRAM-MD5 will send.
    pub(crate) fn begin(mechanism: Mechanism, challenge: impl FnOnce() -> String) -> Exchange {
        match mechanism {
            Mechanism::Plain => Exchange::Plain,
            Mechanism::Login => Exchange::LoginUser,
            Mechanism::CramMd5 => Exchange::CramMd5 {
                challenge: challenge(),
            },
            Mechanism::XOAuth2 => Exchange::XOAuth2,
            Mechanism::OAuthBearer => Exchange::OAuthBearer,
        }
    }

    /// Whether the client may send the first message with the AUTH command (RFC 4954 §4:
    /// not for mechanisms where the server speaks first, i.e. CRAM-MD5).
    pub(crate) fn allows_initial_response(&self) -> bool {
        !matches!(self, Exchange::CramMd5 { .. })
    }

    /// What to send when the client gave no initial response: an empty challenge, LOGIN's
    /// `Username:` prompt, or CRAM-MD5's challenge.
    pub(crate) fn first_challenge(&self) -> Vec<u8> {
        match self {
            Exchange::LoginUser => login::USERNAME_PROMPT.to_vec(),
            Exchange::CramMd5 { challenge } => challenge.as_bytes().to_vec(),
            _ => Vec::new(),
        }
    }

    /// Handles the client's next (base64-decoded) message.
    pub(crate) fn respond(self, message: &[u8], backend: &mut dyn Backend, lenient: bool) -> Step {
        match self {
            Exchange::Plain => plain::respond(message, backend),
            Exchange::LoginUser => login::user(message),
            Exchange::LoginPassword { user } => login::password(&user, message, backend),
            Exchange::CramMd5 { challenge } => cram_md5::respond(&challenge, message, backend, lenient),
            Exchange::XOAuth2 => oauth::xoauth2(message, backend),
            Exchange::OAuthBearer => oauth::oauthbearer(message, backend),
            Exchange::OAuthFailed => Step::Failure,
        }
    }
}

/// Text of a SASL message as UTF-8, or `None`.
fn utf8(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes).ok()
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::backend::{Backend, DeliveryError, Envelope, RecipientCheck};

    /// alice/secret, tim/tanstaaftanstaaf (RFC 2195's example), token `token-<user>`.
    pub(crate) struct Accounts;

    impl Backend for Accounts {
        fn authenticate(&mut self, login: &str, password: &str) -> bool {
            (login, password) == ("alice", "secret")
        }
        fn cram_md5_secret(&mut self, login: &str) -> Option<String> {
            (login == "tim").then(|| "tanstaaftanstaaf".to_owned())
        }
        fn check_token(&mut self, login: &str, token: &str) -> bool {
            token == format!("token-{login}")
        }
        fn recipient(&mut self, _: &str) -> RecipientCheck {
            RecipientCheck::Local
        }
        fn local_domain(&mut self, _: &str) -> bool {
            true
        }
        fn deliver(&mut self, _: &Envelope) -> Result<(), DeliveryError> {
            Ok(())
        }
    }
}
