//! Credentials out of recorded client lines: IMAP `LOGIN` and `AUTHENTICATE`, SMTP `AUTH`, and
//! every client line of a SASL exchange (RFC 9051 §6.2.2, §6.2.3; RFC 4954 §4) become
//! variables the runner fills in, so a recording can be shared and run again.
//!
//! - `LOGIN user pass` → `LOGIN ${user} ${password}` (the second login seen becomes `${user2}`
//!   and `${password2}`; further ones `${userN}`/`${passwordN}`, declared in `vars:`);
//! - a SASL PLAIN response (RFC 4616: `[authzid] NUL authcid NUL passwd`, base64) for a known
//!   login → `${auth_plain}` (`${auth_plain2}`), which `mailrig run` computes from `--user`;
//! - any other SASL client line → `${saslN}`, declared in `vars:` with the value `redacted`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mailrig_transcript::scenario::{Family, Part};

/// What a recording keeps about logins, across sessions.
#[derive(Debug, Default)]
pub(crate) struct Credentials {
    /// Logins in the order first seen: index 0 is `${user}`.
    users: Vec<Vec<u8>>,
    /// Variables the file must declare (`vars:`), with their values.
    pub(crate) declared: Vec<(String, String)>,
    sasl_count: usize,
}

/// Per-session SASL state.
#[derive(Debug, Default)]
pub(crate) struct Sasl {
    /// Inside an exchange: the mechanism, upper-cased.
    mechanism: Option<Vec<u8>>,
}

impl Credentials {
    /// The client line (CRLF stripped) with credentials replaced, or `None` when it holds none.
    pub(crate) fn client_line(&mut self, family: Family, sasl: &mut Sasl, line: &[u8]) -> Option<Vec<Part>> {
        if let Some(mechanism) = sasl.mechanism.clone() {
            if line == b"*" {
                return None;
            }
            return Some(self.sasl_response(&mechanism, line));
        }
        let words: Vec<&[u8]> = line.splitn(4, |b| *b == b' ').collect();
        let (command, args) = match family {
            Family::Imap => (words.get(1)?, &words[2.min(words.len())..]),
            Family::Smtp => (words.first()?, &words[1.min(words.len())..]),
        };
        let upper = command.to_ascii_uppercase();
        if family == Family::Imap && upper == b"LOGIN" {
            let at = words[0].len() + 1 + command.len() + 1;
            return self.login(&line[..at], line.get(at..)?);
        }
        let sasl_verb = match family {
            Family::Imap => &b"AUTHENTICATE"[..],
            Family::Smtp => &b"AUTH"[..],
        };
        if upper != sasl_verb {
            return None;
        }
        let mechanism = args.first()?.to_ascii_uppercase();
        sasl.mechanism = Some(mechanism.clone());
        let initial = args.get(1)?;
        let head_len = line.len() - initial.len();
        let mut parts = vec![Part::Text(line[..head_len].to_vec())];
        parts.extend(self.sasl_response(&mechanism, initial));
        Some(parts)
    }

    /// A server line: a challenge (`+`, `334`) keeps a SASL exchange going, anything else ends it.
    pub(crate) fn server_line(sasl: &mut Sasl, line: &[u8]) {
        if !(line.starts_with(b"+") || line.starts_with(b"334")) {
            sasl.mechanism = None;
        }
    }

    /// `LOGIN user password`: each as written (atom, quoted or literal) becomes a variable.
    fn login(&mut self, head: &[u8], args: &[u8]) -> Option<Vec<Part>> {
        let (user, user_quoted, rest) = astring(args)?;
        let rest = rest.strip_prefix(b" ")?;
        let (_, pass_quoted, rest) = astring(rest)?;
        if !rest.is_empty() {
            return None;
        }
        let n = self.user_index(&user);
        let mut parts = vec![Part::Text(head.to_vec())];
        push_var(&mut parts, &self.var("user", n), user_quoted);
        parts.push(Part::Text(b" ".to_vec()));
        push_var(&mut parts, &self.var("password", n), pass_quoted);
        Some(merge(parts))
    }

    /// One SASL client response.
    fn sasl_response(&mut self, mechanism: &[u8], response: &[u8]) -> Vec<Part> {
        if mechanism == b"PLAIN"
            && let Some(user) = plain_user(response)
        {
            let n = self.user_index(&user);
            if n < 2 {
                let suffix = if n == 0 { "" } else { "2" };
                return vec![Part::Ref(format!("auth_plain{suffix}"))];
            }
        }
        self.sasl_count += 1;
        let name = format!("sasl{}", self.sasl_count);
        self.declared.push((name.clone(), "redacted".to_owned()));
        vec![Part::Ref(name)]
    }

    fn user_index(&mut self, login: &[u8]) -> usize {
        if let Some(n) = self.users.iter().position(|u| u == login) {
            return n;
        }
        self.users.push(login.to_vec());
        self.users.len() - 1
    }

    /// `user`, `user2`, then declared `user3`...
    fn var(&mut self, base: &str, n: usize) -> String {
        match n {
            0 => base.to_owned(),
            1 => format!("{base}2"),
            _ => {
                let name = format!("{base}{}", n + 1);
                if !self.declared.iter().any(|(k, _)| *k == name) {
                    self.declared.push((name.clone(), "redacted".to_owned()));
                }
                name
            }
        }
    }
}

fn push_var(parts: &mut Vec<Part>, name: &str, quoted: bool) {
    if quoted {
        parts.push(Part::Text(b"\"".to_vec()));
    }
    parts.push(Part::Ref(name.to_owned()));
    if quoted {
        parts.push(Part::Text(b"\"".to_vec()));
    }
}

/// Joins adjacent text parts (the format never has two in a row).
fn merge(parts: Vec<Part>) -> Vec<Part> {
    let mut out: Vec<Part> = Vec::new();
    for part in parts {
        match (out.last_mut(), part) {
            (Some(Part::Text(a)), Part::Text(b)) => a.extend_from_slice(&b),
            (_, Part::Text(t)) if t.is_empty() => {}
            (_, part) => out.push(part),
        }
    }
    out
}

/// Reads one IMAP astring (RFC 9051 §9: atom, quoted string or literal): its value, whether
/// it was not an atom, and what follows.
fn astring(input: &[u8]) -> Option<(Vec<u8>, bool, &[u8])> {
    match input.first()? {
        b'"' => {
            let mut value = Vec::new();
            let mut i = 1;
            while i < input.len() {
                match input[i] {
                    b'\\' => {
                        value.push(*input.get(i + 1)?);
                        i += 2;
                    }
                    b'"' => return Some((value, true, &input[i + 1..])),
                    b => {
                        value.push(b);
                        i += 1;
                    }
                }
            }
            None
        }
        b'{' => {
            let close = input.iter().position(|b| *b == b'}')?;
            let size = mailrig_transcript::framing::literal_size(&input[..=close])?;
            let data = input.get(close + 1..)?.strip_prefix(b"\r\n")?;
            Some((data.get(..size)?.to_vec(), true, &data[size..]))
        }
        _ => {
            let end = input.iter().position(|b| *b == b' ').unwrap_or(input.len());
            Some((input[..end].to_vec(), false, &input[end..]))
        }
    }
}

/// The login in a SASL PLAIN response (RFC 4616 §2) whose authorization identity is empty or
/// the same login, so that `${auth_plain}` reproduces it.
fn plain_user(response: &[u8]) -> Option<Vec<u8>> {
    let decoded = STANDARD.decode(response).ok()?;
    let mut fields = decoded.split(|b| *b == 0);
    let (authz, user, _pass) = (fields.next()?, fields.next()?, fields.next()?);
    if fields.next().is_some() || !(authz.is_empty() || authz == user) || user.is_empty() {
        return None;
    }
    Some(user.to_vec())
}

/// `base64(NUL login NUL password)`: the value of `${auth_plain}` for an account.
pub fn auth_plain(login: &str, password: &str) -> String {
    STANDARD.encode(format!("\0{login}\0{password}"))
}

#[cfg(test)]
mod tests {
    use mailrig_transcript::print::text;

    use super::*;

    fn redact(c: &mut Credentials, family: Family, sasl: &mut Sasl, line: &str) -> Option<String> {
        c.client_line(family, sasl, line.as_bytes())
            .map(|parts| text(&parts, true))
    }

    #[test]
    fn imap_login_becomes_variables_in_the_form_it_was_written() {
        let mut c = Credentials::default();
        let mut sasl = Sasl::default();
        let f = Family::Imap;
        assert_eq!(
            redact(&mut c, f, &mut sasl, "a1 LOGIN alice secret").as_deref(),
            Some("a1 LOGIN ${user} ${password}")
        );
        assert_eq!(
            redact(&mut c, f, &mut sasl, r#"B2 login "bob" "p\"w""#).as_deref(),
            Some(r#"B2 login "${user2}" "${password2}""#)
        );
        assert_eq!(
            redact(&mut c, f, &mut sasl, "c LOGIN {5}\r\nalice {2}\r\npw").as_deref(),
            Some(r#"c LOGIN "${user}" "${password}""#)
        );
        assert_eq!(
            redact(&mut c, f, &mut sasl, "c LOGIN carol x").as_deref(),
            Some("c LOGIN ${user3} ${password3}")
        );
        assert_eq!(c.declared.len(), 2);
        assert_eq!(redact(&mut c, f, &mut sasl, "a2 SELECT INBOX"), None);
    }

    #[test]
    fn sasl_plain_for_a_known_login_becomes_auth_plain_and_others_are_declared() {
        let mut c = Credentials::default();
        let mut sasl = Sasl::default();
        let plain = auth_plain("alice", "secret");
        assert_eq!(plain, "AGFsaWNlAHNlY3JldA==");
        let line = format!("AUTH PLAIN {plain}");
        assert_eq!(
            redact(&mut c, Family::Smtp, &mut sasl, &line).as_deref(),
            Some("AUTH PLAIN ${auth_plain}")
        );
        Credentials::server_line(&mut sasl, b"235 2.7.0 ok");
        // AUTH LOGIN: the command itself holds nothing, each line after a 334 does.
        assert_eq!(redact(&mut c, Family::Smtp, &mut sasl, "AUTH LOGIN"), None);
        Credentials::server_line(&mut sasl, b"334 VXNlcm5hbWU6");
        assert_eq!(
            redact(&mut c, Family::Smtp, &mut sasl, "YWxpY2U=").as_deref(),
            Some("${sasl1}")
        );
        Credentials::server_line(&mut sasl, b"235 ok");
        assert_eq!(redact(&mut c, Family::Smtp, &mut sasl, "QUIT"), None);
        assert_eq!(c.declared, vec![("sasl1".to_owned(), "redacted".to_owned())]);
    }

    #[test]
    fn imap_authenticate_continuation_is_redacted() {
        let mut c = Credentials::default();
        let mut sasl = Sasl::default();
        assert_eq!(
            redact(&mut c, Family::Imap, &mut sasl, "A1 AUTHENTICATE PLAIN"),
            None
        );
        Credentials::server_line(&mut sasl, b"+ ");
        let plain = auth_plain("bob", "pw");
        assert_eq!(
            redact(&mut c, Family::Imap, &mut sasl, &plain).as_deref(),
            Some("${auth_plain}")
        );
    }
}
