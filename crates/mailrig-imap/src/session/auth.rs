//! The not-authenticated state's commands (RFC 9051 §6.2): STARTTLS (§6.2.1), AUTHENTICATE
//! (§6.2.2) with PLAIN (RFC 4616), LOGIN (draft-murchison-sasl-login), XOAUTH2 and
//! OAUTHBEARER (RFC 7628, mock tokens from [`Config::tokens`](crate::Config::tokens)), each
//! with or without an RFC 4959 SASL-IR initial response, and LOGIN (§6.2.3).

use base64::Engine;

use super::oauth;
use super::{Mode, Session};
use crate::command::{Command, Verb};
use crate::completion::{Completion, Refusal};
use crate::defect::Defect;
use crate::error::SyntaxError;
use crate::response::{Kind, Responses, Step};

/// Where an AUTHENTICATE exchange is: what the next client line carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SaslStep {
    /// The PLAIN message.
    Plain,
    /// The LOGIN user name.
    LoginUser,
    /// The LOGIN password, for this user.
    LoginPassword(String),
    /// The XOAUTH2 (`true`) or OAUTHBEARER (`false`) message.
    OAuth(bool),
    /// The client's dummy response to the OAuth error challenge; the exchange then fails.
    OAuthFailed,
}

/// `Password:` in base64, LOGIN's second challenge.
const PASSWORD_CHALLENGE: &[u8] = b"+ UGFzc3dvcmQ6\r\n";

impl Session {
    fn not_authenticated(&self) -> Result<(), Refusal> {
        match self.login {
            Some(_) => Err(Refusal::bad("already authenticated")),
            None => Ok(()),
        }
    }

    /// STARTTLS (RFC 9051 §6.2.1).
    pub(super) fn starttls(&mut self, args: usize) -> Result<Completion, Refusal> {
        if args != 0 {
            return Err(SyntaxError::Arguments.into());
        }
        self.not_authenticated()?;
        if self.tls || !self.config.starttls {
            return Err(Refusal::bad("STARTTLS not available"));
        }
        self.mode = Mode::AwaitTls;
        self.framer.reset();
        Ok(Completion::ok("Begin TLS negotiation now"))
    }

    /// LOGIN (RFC 9051 §6.2.3): `login = "LOGIN" SP userid SP password`.
    pub(super) fn login_command(&mut self, command: &Command) -> Result<Completion, Refusal> {
        if !self.config.defects.has(Defect::LoginTwiceAccepted) {
            self.not_authenticated()?;
        }
        let [user, password] = &command.args[..] else {
            return Err(SyntaxError::Arguments.into());
        };
        let (Some(user), Some(password)) = (user.astring(), password.astring()) else {
            return Err(SyntaxError::Arguments.into());
        };
        if self.login_disabled() {
            return Err(Refusal::no("LOGIN is disabled before STARTTLS").with_code("PRIVACYREQUIRED"));
        }
        self.log_in(&user, &password, "LOGIN")
    }

    fn log_in(&mut self, user: &str, password: &str, what: &str) -> Result<Completion, Refusal> {
        if !self.store.authenticate(user, password) {
            return Err(Refusal::no("invalid credentials").with_code("AUTHENTICATIONFAILED"));
        }
        Ok(self.logged_in(user, what))
    }

    fn logged_in(&mut self, user: &str, what: &str) -> Completion {
        self.login = Some(user.to_owned());
        let code = format!("CAPABILITY {}", self.capabilities());
        Completion::ok(format!("{what} completed")).with_code(code)
    }

    /// `authenticate = "AUTHENTICATE" SP auth-type [SP initial-resp] *(CRLF base64)`
    /// (RFC 9051 §6.2.2; `initial-resp` from RFC 4959, `=` for an empty one).
    pub(super) fn authenticate(
        &mut self,
        command: &Command,
        out: &mut Responses,
    ) -> Result<Completion, Refusal> {
        self.not_authenticated()?;
        let (mechanism, initial) = match &command.args[..] {
            [mechanism] => (mechanism.astring(), None),
            [mechanism, initial] => (mechanism.astring(), initial.astring()),
            _ => return Err(SyntaxError::Arguments.into()),
        };
        let mechanism = mechanism.unwrap_or_default().to_ascii_uppercase();
        if !["PLAIN", "LOGIN", "XOAUTH2", "OAUTHBEARER"].contains(&mechanism.as_str()) {
            return Err(Refusal::no("unsupported mechanism").with_code("CANNOT"));
        }
        if initial.is_some() && !self.config.extensions.sasl_ir {
            return Err(SyntaxError::Arguments.into());
        }
        if self.login_disabled() {
            let refusal = Refusal::no("authentication is disabled before STARTTLS");
            return Err(refusal.with_code("PRIVACYREQUIRED"));
        }
        let tag = command.tag.clone();
        // Defect::InitialResponseIgnored: the exchange starts as if none had been given.
        let initial = initial.filter(|_| !self.config.defects.has(Defect::InitialResponseIgnored));
        match (mechanism.as_str(), initial) {
            ("PLAIN", Some(initial)) => self.plain(&initial),
            ("XOAUTH2" | "OAUTHBEARER", Some(initial)) => {
                self.oauth(&tag, mechanism == "XOAUTH2", &initial, out)
            }
            ("PLAIN" | "XOAUTH2" | "OAUTHBEARER", None) => {
                out.push(b"+ \r\n".to_vec());
                let step = match mechanism.as_str() {
                    "PLAIN" => SaslStep::Plain,
                    other => SaslStep::OAuth(other == "XOAUTH2"),
                };
                self.mode = Mode::Sasl(tag, step);
                Ok(Completion::ok("waiting"))
            }
            (_, Some(initial)) => {
                let user = decode(&initial)?;
                out.push(PASSWORD_CHALLENGE.to_vec());
                self.mode = Mode::Sasl(tag, SaslStep::LoginPassword(user));
                Ok(Completion::ok("waiting"))
            }
            (_, None) => {
                // `Username:` in base64.
                out.push(b"+ VXNlcm5hbWU6\r\n".to_vec());
                self.mode = Mode::Sasl(tag, SaslStep::LoginUser);
                Ok(Completion::ok("waiting"))
            }
        }
    }

    pub(super) fn sasl_response(&mut self, tag: &str, step: SaslStep, line: &[u8]) {
        let result = match (std::str::from_utf8(line), step) {
            (Ok("*"), _) if self.config.defects.has(Defect::AuthenticateCancelAnsweredNo) => {
                Err(Refusal::no("AUTHENTICATE cancelled"))
            }
            (Ok("*"), _) => Err(Refusal::bad("AUTHENTICATE cancelled")),
            (Err(_), _) => Err(Refusal::bad("invalid base64")),
            (Ok(text), SaslStep::Plain) => self.plain(text),
            (Ok(text), SaslStep::LoginUser) => match decode(text) {
                Ok(user) => {
                    self.mode = Mode::Sasl(tag.to_owned(), SaslStep::LoginPassword(user));
                    let to = Step::Command(Verb::Authenticate);
                    return self.push(to, Kind::Continuation, PASSWORD_CHALLENGE.to_vec());
                }
                Err(refusal) => Err(refusal),
            },
            (Ok(text), SaslStep::LoginPassword(user)) => {
                decode(text).and_then(|password| self.log_in(&user, &password, "AUTHENTICATE"))
            }
            (Ok(text), SaslStep::OAuth(xoauth2)) => {
                let mut out = Responses::default();
                let result = self.oauth(tag, xoauth2, text, &mut out);
                if matches!(self.mode, Mode::Sasl(..)) {
                    return self.emit(Step::Command(Verb::Authenticate), out);
                }
                result
            }
            // RFC 7628 §3.2.3: whatever the client answers to the error, the exchange fails.
            (Ok(_), SaslStep::OAuthFailed) => {
                Err(Refusal::no("invalid token").with_code("AUTHENTICATIONFAILED"))
            }
        };
        let completion = result.unwrap_or_else(Completion::from);
        let mut out = Responses::default();
        out.tagged(
            tag,
            completion.status,
            completion.code.as_deref(),
            &completion.text,
        );
        self.emit(Step::Command(Verb::Authenticate), out);
    }

    /// Checks an XOAUTH2 or OAUTHBEARER message (base64): logs in, or writes the error
    /// challenge to `out` and waits for the client's answer (RFC 7628 §3.2.2).
    fn oauth(
        &mut self,
        tag: &str,
        xoauth2: bool,
        encoded: &str,
        out: &mut Responses,
    ) -> Result<Completion, Refusal> {
        let message = decode_bytes(encoded)?;
        let parsed = if xoauth2 {
            oauth::xoauth2(&message)
        } else {
            oauth::oauthbearer(&message)
        };
        let (login, token) =
            parsed.ok_or_else(|| Refusal::no("invalid OAuth message").with_code("AUTHENTICATIONFAILED"))?;
        let valid = match self.config.tokens.get(&login) {
            Some(expected) => *expected == token && self.store.password(&login).is_some(),
            None => self.store.authenticate(&login, &token),
        };
        if valid {
            return Ok(self.logged_in(&login, "AUTHENTICATE"));
        }
        let error = if xoauth2 {
            oauth::XOAUTH2_ERROR
        } else {
            oauth::OAUTHBEARER_ERROR
        };
        let challenge = base64::engine::general_purpose::STANDARD.encode(error);
        out.push(format!("+ {challenge}\r\n").into_bytes());
        self.mode = Mode::Sasl(tag.to_owned(), SaslStep::OAuthFailed);
        Ok(Completion::ok("waiting"))
    }

    /// `message = [authzid] UTF8NUL authcid UTF8NUL passwd`, base64-encoded (`=` is empty).
    pub(super) fn plain(&mut self, encoded: &str) -> Result<Completion, Refusal> {
        let decoded = decode_bytes(encoded)?;
        let parts: Vec<&[u8]> = decoded.split(|&b| b == 0).collect();
        let [authzid, user, password] = parts[..] else {
            return Err(Refusal::bad("invalid PLAIN message"));
        };
        let (Ok(authzid), Ok(user), Ok(password)) = (
            std::str::from_utf8(authzid),
            std::str::from_utf8(user),
            std::str::from_utf8(password),
        ) else {
            return Err(Refusal::bad("invalid PLAIN message"));
        };
        if !authzid.is_empty() && authzid != user {
            return Err(Refusal::no("cannot act as another user").with_code("AUTHORIZATIONFAILED"));
        }
        self.log_in(user, password, "AUTHENTICATE")
    }
}

/// A base64 SASL response as UTF-8 text (`=` is empty).
fn decode(encoded: &str) -> Result<String, Refusal> {
    String::from_utf8(decode_bytes(encoded)?).map_err(|_| Refusal::bad("invalid UTF-8"))
}

/// A base64 SASL response (`=` is empty).
fn decode_bytes(encoded: &str) -> Result<Vec<u8>, Refusal> {
    let encoded = if encoded == "=" { "" } else { encoded };
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| Refusal::bad("invalid base64"))
}
