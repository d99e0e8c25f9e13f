//! The not-authenticated state's commands (RFC 9051 §6.2): STARTTLS (§6.2.1), AUTHENTICATE
//! PLAIN (§6.2.2, RFC 4616) and LOGIN (draft-murchison-sasl-login), both with RFC 4959
//! SASL-IR, and LOGIN (§6.2.3).

use base64::Engine;

use super::{Completion, Mode, Session};
use crate::command::Command;
use crate::error::SyntaxError;

/// Where an AUTHENTICATE exchange is: what the next client line carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SaslStep {
    /// The PLAIN message.
    Plain,
    /// The LOGIN user name.
    LoginUser,
    /// The LOGIN password, for this user.
    LoginPassword(String),
}

/// `Password:` in base64, LOGIN's second challenge.
const PASSWORD_CHALLENGE: &[u8] = b"+ UGFzc3dvcmQ6\r\n";

impl Session {
    fn not_authenticated(&self) -> Result<(), Completion> {
        match self.login {
            Some(_) => Err(Completion::bad("already authenticated")),
            None => Ok(()),
        }
    }

    /// STARTTLS (RFC 9051 §6.2.1).
    pub(super) fn starttls(&mut self, args: usize) -> Result<Completion, Completion> {
        if args != 0 {
            return Err(SyntaxError::Arguments.into());
        }
        self.not_authenticated()?;
        if self.tls || !self.config.starttls {
            return Err(Completion::bad("STARTTLS not available"));
        }
        self.mode = Mode::AwaitTls;
        self.framer.reset();
        Ok(Completion::ok("Begin TLS negotiation now"))
    }

    /// LOGIN (RFC 9051 §6.2.3): `login = "LOGIN" SP userid SP password`.
    pub(super) fn login_command(&mut self, command: &Command) -> Result<Completion, Completion> {
        self.not_authenticated()?;
        let [user, password] = &command.args[..] else {
            return Err(SyntaxError::Arguments.into());
        };
        let (Some(user), Some(password)) = (user.astring(), password.astring()) else {
            return Err(SyntaxError::Arguments.into());
        };
        if self.login_disabled() {
            return Err(Completion::no(
                "[PRIVACYREQUIRED] LOGIN is disabled before STARTTLS",
            ));
        }
        self.log_in(&user, &password, "LOGIN")
    }

    fn log_in(&mut self, user: &str, password: &str, what: &str) -> Result<Completion, Completion> {
        if !self.store.authenticate(user, password) {
            return Err(Completion::no("[AUTHENTICATIONFAILED] invalid credentials"));
        }
        self.login = Some(user.to_owned());
        Ok(Completion::ok(format!(
            "[CAPABILITY {}] {what} completed",
            self.capabilities()
        )))
    }

    /// AUTHENTICATE PLAIN (RFC 9051 §6.2.2, RFC 4616), with an initial response (RFC 4959).
    pub(super) fn authenticate(
        &mut self,
        command: &Command,
        out: &mut Vec<u8>,
    ) -> Result<Completion, Completion> {
        self.not_authenticated()?;
        let (mechanism, initial) = match &command.args[..] {
            [mechanism] => (mechanism.astring(), None),
            [mechanism, initial] => (mechanism.astring(), initial.astring()),
            _ => return Err(SyntaxError::Arguments.into()),
        };
        let mechanism = mechanism.unwrap_or_default().to_ascii_uppercase();
        if mechanism != "PLAIN" && mechanism != "LOGIN" {
            return Err(Completion::no("[CANNOT] unsupported mechanism"));
        }
        if self.login_disabled() {
            return Err(Completion::no(
                "[PRIVACYREQUIRED] authentication is disabled before STARTTLS",
            ));
        }
        let tag = command.tag.clone();
        match (mechanism.as_str(), initial) {
            ("PLAIN", Some(initial)) => self.plain(&initial),
            ("PLAIN", None) => {
                out.extend_from_slice(b"+ \r\n");
                self.mode = Mode::Sasl(tag, SaslStep::Plain);
                Ok(Completion::ok("waiting"))
            }
            (_, Some(initial)) => {
                let user = decode(&initial)?;
                out.extend_from_slice(PASSWORD_CHALLENGE);
                self.mode = Mode::Sasl(tag, SaslStep::LoginPassword(user));
                Ok(Completion::ok("waiting"))
            }
            (_, None) => {
                // `Username:` in base64.
                out.extend_from_slice(b"+ VXNlcm5hbWU6\r\n");
                self.mode = Mode::Sasl(tag, SaslStep::LoginUser);
                Ok(Completion::ok("waiting"))
            }
        }
    }

    pub(super) fn sasl_response(&mut self, tag: &str, step: SaslStep, line: &[u8]) {
        let completion = match (std::str::from_utf8(line), step) {
            (Ok("*"), _) => Completion::bad("AUTHENTICATE cancelled"),
            (Err(_), _) => Completion::bad("invalid base64"),
            (Ok(text), SaslStep::Plain) => self.plain(text).unwrap_or_else(|c| c),
            (Ok(text), SaslStep::LoginUser) => match decode(text) {
                Ok(user) => {
                    self.mode = Mode::Sasl(tag.to_owned(), SaslStep::LoginPassword(user));
                    return self.push(PASSWORD_CHALLENGE.to_vec());
                }
                Err(completion) => completion,
            },
            (Ok(text), SaslStep::LoginPassword(user)) => decode(text)
                .and_then(|password| self.log_in(&user, &password, "AUTHENTICATE"))
                .unwrap_or_else(|c| c),
        };
        self.push(format!("{tag} {} {}\r\n", completion.status, completion.text).into_bytes());
    }

    /// `message = [authzid] UTF8NUL authcid UTF8NUL passwd`, base64-encoded (`=` is empty).
    pub(super) fn plain(&mut self, encoded: &str) -> Result<Completion, Completion> {
        let encoded = if encoded == "=" { "" } else { encoded };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|_| Completion::bad("invalid base64"))?;
        let parts: Vec<&[u8]> = decoded.split(|&b| b == 0).collect();
        let [authzid, user, password] = parts[..] else {
            return Err(Completion::bad("invalid PLAIN message"));
        };
        let (Ok(authzid), Ok(user), Ok(password)) = (
            std::str::from_utf8(authzid),
            std::str::from_utf8(user),
            std::str::from_utf8(password),
        ) else {
            return Err(Completion::bad("invalid PLAIN message"));
        };
        if !authzid.is_empty() && authzid != user {
            return Err(Completion::no("[AUTHORIZATIONFAILED] cannot act as another user"));
        }
        self.log_in(user, password, "AUTHENTICATE")
    }
}

/// A base64 SASL response as UTF-8 text (`=` is empty).
fn decode(encoded: &str) -> Result<String, Completion> {
    let encoded = if encoded == "=" { "" } else { encoded };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| Completion::bad("invalid base64"))?;
    String::from_utf8(bytes).map_err(|_| Completion::bad("invalid UTF-8"))
}
