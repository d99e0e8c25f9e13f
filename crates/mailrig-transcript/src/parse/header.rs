//! The header block: `key: value` fields (`name:`, `sessions:`, `requires:`, `vars:`,
//! `plays:`, ...) and the check that the header is complete before the first step.

use crate::error::{ParseError, closest};
use crate::scenario::{Family, FaultRule, Pos, Protocol, Requirement, Role, SessionDecl};

use super::{Parser, col_of, is_name, is_session_name};

const HEADER_KEYS: [&str; 10] = [
    "name", "summary", "rfc", "sessions", "requires", "tags", "fixture", "vars", "plays", "faults",
];

impl Parser<'_> {
    pub(super) fn header_field(
        &mut self,
        number: usize,
        raw: &str,
        indent: usize,
        key: &str,
    ) -> Result<(), ParseError> {
        let value_start = indent + key.len() + 1;
        let value = raw[value_start..].trim();
        let value_col = raw[..value_start].chars().count()
            + 1
            + (raw[value_start..].len() - raw[value_start..].trim_start().len());
        match key {
            "name" => self.scenario.header.name = self.single(number, value_col, "name", value)?,
            "summary" => {
                self.scenario.header.summary = Some(self.single(number, value_col, "summary", value)?)
            }
            "fixture" => {
                self.scenario.header.fixture = Some(self.single(number, value_col, "fixture", value)?)
            }
            "rfc" => self.scenario.header.rfc.extend(list(value).map(str::to_owned)),
            "tags" => self.scenario.header.tags.extend(list(value).map(str::to_owned)),
            "sessions" => {
                for item in list(value) {
                    match self.session_decl(number, raw, item) {
                        Ok(decl) => self.scenario.header.sessions.push(decl),
                        Err(error) => {
                            let name = item.split_once('=').map_or(item, |(name, _)| name);
                            self.bad_sessions.insert(name.trim().to_owned());
                            self.bad_field("sessions", error);
                        }
                    }
                }
            }
            "requires" => {
                for item in list(value) {
                    match self.requirement(number, raw, item) {
                        Ok(req) => self.scenario.header.requires.push(req),
                        Err(error) => self.bad_field("requires", error),
                    }
                }
            }
            "vars" => {
                for item in list(value) {
                    match self.var(number, raw, item) {
                        Ok(var) => self.scenario.header.vars.push(var),
                        Err(error) => {
                            let name = item.split_once('=').map_or(item, |(name, _)| name);
                            self.bound.insert(name.trim().to_owned());
                            self.bad_field("vars", error);
                        }
                    }
                }
            }
            "plays" => self.plays(number, raw, value, value_col)?,
            // One rule per line (rules contain commas); the fault crate checks the syntax.
            "faults" => {
                let text = self.single(number, value_col, "faults", value)?;
                self.scenario.header.faults.push(FaultRule {
                    text,
                    pos: Pos {
                        line: number,
                        col: value_col,
                    },
                });
            }
            other => {
                let mut err = self
                    .error(
                        number,
                        self.col_at(number, indent),
                        format!("unknown header field `{other}:`"),
                    )
                    .len(other.len())
                    .expected(format!(
                        "one of {}",
                        HEADER_KEYS.map(|k| format!("`{k}:`")).join(", ")
                    ));
                if let Some(near) = closest(other, &HEADER_KEYS) {
                    // Probably meant as `near:`: do not report `near:` missing as well.
                    self.bad_fields.insert(near);
                    err = err.hint(format!("did you mean `{near}:`?"));
                }
                return Err(err);
            }
        }
        Ok(())
    }

    /// Records an error in header field `key`, which may be reported once more (its line).
    fn bad_field(&mut self, key: &'static str, error: ParseError) {
        self.bad_fields.insert(key);
        self.report(error);
    }

    /// One `name=value` item of `vars:`.
    fn var(&self, number: usize, raw: &str, item: &str) -> Result<(String, String), ParseError> {
        let col = col_of(raw, item);
        let Some((name, val)) = item.split_once('=') else {
            return Err(self
                .error(number, col, format!("variable `{item}` has no value"))
                .len(item.chars().count())
                .expected("`name=value`"));
        };
        let name = name.trim();
        if !is_name(name) {
            return Err(self
                .error(number, col, format!("`{name}` is not a valid variable name"))
                .expected("letters, digits and `_`, starting with a letter"));
        }
        Ok((name.to_owned(), val.trim().to_owned()))
    }

    /// `plays: client`, `plays: server`, `plays: both` (or `plays: client, server`).
    fn plays(&mut self, number: usize, raw: &str, value: &str, value_col: usize) -> Result<(), ParseError> {
        const EXPECTED: &str = "`client`, `server` or `both`";
        let mut roles = Vec::new();
        for item in list(value) {
            match item {
                "client" => roles.push(Role::Client),
                "server" => roles.push(Role::Server),
                "both" => roles.extend([Role::Client, Role::Server]),
                other => {
                    let mut err = self
                        .error(number, col_of(raw, other), format!("unknown role `{other}`"))
                        .len(other.chars().count())
                        .expected(EXPECTED);
                    if let Some(near) = closest(other, &["client", "server", "both"]) {
                        err = err.hint(format!("did you mean `{near}`?"));
                    }
                    self.bad_fields.insert("plays");
                    return Err(err);
                }
            }
        }
        let header = &mut self.scenario.header;
        (header.plays, header.plays_both) = match roles.as_slice() {
            [one] => (Some(*one), false),
            [a, b] if a != b => (None, true),
            _ => {
                self.bad_fields.insert("plays");
                return Err(self
                    .error(number, value_col, "`plays:` needs one role, or `both`")
                    .len(value.chars().count())
                    .expected(EXPECTED));
            }
        };
        Ok(())
    }

    fn single(
        &mut self,
        number: usize,
        col: usize,
        key: &'static str,
        value: &str,
    ) -> Result<String, ParseError> {
        if value.is_empty() {
            self.bad_fields.insert(key);
            return Err(self
                .error(number, col, format!("`{key}:` is empty"))
                .expected("a value"));
        }
        Ok(value.to_owned())
    }

    fn session_decl(&self, number: usize, raw: &str, item: &str) -> Result<SessionDecl, ParseError> {
        let col = col_of(raw, item);
        let Some((name, proto)) = item.split_once('=') else {
            return Err(self
                .error(number, col, format!("session `{item}` has no protocol"))
                .len(item.chars().count())
                .expected("`name=protocol`, e.g. `a=imap`"));
        };
        let (name, proto) = (name.trim(), proto.trim());
        if !is_session_name(name) {
            return Err(self
                .error(number, col, format!("`{name}` is not a valid session name"))
                .len(name.chars().count().max(1))
                .expected("lowercase letters, digits and `_`, starting with a letter")
                .hint(
                    "`C` and `S` are line prefixes, so sessions are named in lowercase: `a`, `b`, `smtp1`",
                ));
        }
        if self.scenario.header.sessions.iter().any(|s| s.name == name) {
            return Err(self
                .error(number, col, format!("session `{name}` is declared twice"))
                .len(name.len()));
        }
        let Some(protocol) = Protocol::from_keyword(proto) else {
            let keywords = Protocol::ALL.map(Protocol::keyword);
            let mut err = self
                .error(number, col_of(raw, proto), format!("unknown protocol `{proto}`"))
                .len(proto.chars().count())
                .expected(format!("one of {}", keywords.join(", ")));
            if let Some(near) = closest(proto, &keywords) {
                err = err.hint(format!("did you mean `{near}`?"));
            }
            return Err(err);
        };
        Ok(SessionDecl {
            name: name.to_owned(),
            protocol,
        })
    }

    fn requirement(&self, number: usize, raw: &str, item: &str) -> Result<Requirement, ParseError> {
        let family = match item.split_once(':') {
            Some(("smtp", cap)) if !cap.is_empty() => Some((Family::Smtp, cap)),
            Some(("imap", cap)) if !cap.is_empty() => Some((Family::Imap, cap)),
            _ => None,
        };
        let Some((family, cap)) = family else {
            return Err(self
                .error(
                    number,
                    col_of(raw, item),
                    format!("requirement `{item}` does not name its protocol"),
                )
                .len(item.chars().count())
                .expected("`imap:CAPABILITY` or `smtp:EHLO-KEYWORD`, e.g. `imap:IDLE`"));
        };
        Ok(Requirement {
            family,
            capability: cap.to_owned(),
        })
    }

    /// Reports a missing `name:` or `sessions:` (unless a bad field of that name was reported
    /// already). Without sessions no step can be checked, so steps are skipped from here on.
    pub(super) fn finish_header(&mut self, number: usize) {
        let header = &self.scenario.header;
        let no_name = header.name.is_empty() && !self.bad_fields.contains("name");
        let no_sessions = header.sessions.is_empty() && !self.bad_fields.contains("sessions");
        self.skip_steps = header.sessions.is_empty();
        if no_name {
            let error = self
                .error(number, 1, "the header has no `name:`")
                .expected("`name: NAME` before the first step")
                .hint("every scenario starts with `name:` and `sessions:` lines");
            self.report(error);
        }
        if no_sessions {
            let error = self
                .error(number, 1, "the header has no `sessions:`")
                .expected("`sessions: NAME=PROTOCOL, ...` before the first step")
                .hint("for one IMAP connection write `sessions: a=imap`");
            self.report(error);
        }
    }
}

/// `key` if the line is `key: ...` with a lowercase key.
pub(super) fn header_key(line: &str) -> Option<&str> {
    let end = line.find(|c: char| !(c.is_ascii_lowercase() || c == '-'))?;
    (end > 0 && line[end..].starts_with(':')).then(|| &line[..end])
}

fn list(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty())
}
