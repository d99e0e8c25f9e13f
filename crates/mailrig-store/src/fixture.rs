//! Seeding a store from a TOML description (`docs/fixtures.md` documents the format). This
//! module only parses; the caller reads message files through the `load` callback.

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use crate::mailbox_name::INBOX;
use crate::mbox::{crlf, maildir_flags, parse_mbox};
use crate::{Flags, SpecialUse, Store, StoreError, User};

/// A parsed, checked TOML fixture: users, extra mailboxes and messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seed {
    /// `[[users]]`: users to create, each with the default mailboxes.
    pub users: Vec<User>,
    /// `[[mailboxes]]`: mailboxes to create besides the default ones.
    pub mailboxes: Vec<SeedMailbox>,
    /// `[[messages]]`: messages to append, in order.
    pub messages: Vec<SeedMessage>,
}

/// One `[[mailboxes]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedMailbox {
    /// Whose (a login).
    pub user: String,
    /// Its full name (`/` separates levels; missing levels above are created).
    pub name: String,
    /// Its special-use attribute (`special_use = "\\Archive"`).
    pub special_use: Option<SpecialUse>,
    /// Whether to subscribe it (`subscribed`, default true).
    pub subscribed: bool,
}

/// One `[[messages]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedMessage {
    /// Whose (a login).
    pub user: String,
    /// Which mailbox (`mailbox`, default `INBOX`).
    pub mailbox: String,
    /// Where the bytes come from.
    pub source: MessageSource,
    /// Its flags (`flags`), added to those of a maildir file name.
    pub flags: Flags,
    /// Its internal date in unix seconds (`internal_date`, default 0).
    pub internal_date: i64,
}

/// Where a seeded message's bytes come from: exactly one of `file`, `raw` and `mbox`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageSource {
    /// `file = "..."`: one message, read byte for byte through `load`. A maildir info suffix
    /// in the name (`...:2,FS`) adds flags (see [`maildir_flags`]).
    File(String),
    /// `raw = """..."""`: the message inline; bare LF line endings were turned into CRLF.
    Raw(Vec<u8>),
    /// `mbox = "..."`: every message of an mbox file read through `load` (see
    /// [`parse_mbox`]), all with the entry's flags and internal date.
    Mbox(String),
}

/// Why a fixture could not be parsed or applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FixtureError {
    /// The TOML is malformed, has an unknown field, or a value is invalid (a flag, a special
    /// use, a message with no or several sources). Positions are 1-based.
    #[error("line {line}, column {col}: {message}")]
    Toml {
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        col: usize,
        /// What is wrong.
        message: String,
    },
    /// A message file could not be loaded.
    #[error("message {index}: cannot read {path}: {reason}")]
    Load {
        /// Which message (0-based, in file order).
        index: usize,
        /// The file, as written in the fixture.
        path: String,
        /// Why, as `load` said.
        reason: String,
    },
    /// The store refused a user or mailbox (e.g. a user that exists already).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store refused a message (e.g. its user or mailbox does not exist).
    #[error("message {index}: {source}")]
    Message {
        /// Which message (0-based, in file order).
        index: usize,
        /// Why.
        source: StoreError,
    },
}

impl Seed {
    /// Parses and checks a TOML fixture. Every error carries a line and column.
    pub fn from_toml(text: &str) -> Result<Seed, FixtureError> {
        let raw: RawSeed = toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            error_at(text, span, e.message().trim_end())
        })?;
        let at = |span: Range<usize>, message: String| error_at(text, span, &message);
        Ok(Seed {
            users: raw.users.into_iter().map(RawUser::into_user).collect(),
            mailboxes: raw
                .mailboxes
                .into_iter()
                .map(|m| m.into_inner().check(&at))
                .collect::<Result<_, _>>()?,
            messages: raw
                .messages
                .into_iter()
                .map(|m| RawMessage::check(m, &at))
                .collect::<Result<_, _>>()?,
        })
    }
}

impl Store {
    /// Creates the seed's users and mailboxes, then appends its messages in order. `load`
    /// reads a `file` or `mbox` path exactly as written in the fixture (resolving it, e.g.
    /// against the fixture's directory, is the caller's business).
    pub fn apply<F>(&self, seed: &Seed, mut load: F) -> Result<(), FixtureError>
    where
        F: FnMut(&str) -> Result<Vec<u8>, String>,
    {
        for user in &seed.users {
            self.add_user(user.clone())?;
        }
        for mailbox in &seed.mailboxes {
            match mailbox.special_use {
                Some(special_use) => {
                    self.create_special_use_mailbox(&mailbox.user, &mailbox.name, special_use)?
                }
                None => self.create_mailbox(&mailbox.user, &mailbox.name)?,
            }
            if mailbox.subscribed {
                self.subscribe(&mailbox.user, &mailbox.name)?;
            }
        }
        for (index, message) in seed.messages.iter().enumerate() {
            self.apply_message(index, message, &mut load)?;
        }
        Ok(())
    }

    fn apply_message<F>(&self, index: usize, message: &SeedMessage, load: &mut F) -> Result<(), FixtureError>
    where
        F: FnMut(&str) -> Result<Vec<u8>, String>,
    {
        let mut load = |path: &String| {
            load(path).map_err(|reason| FixtureError::Load {
                index,
                path: path.clone(),
                reason,
            })
        };
        let mut flags = message.flags.clone();
        let bodies = match &message.source {
            MessageSource::Raw(raw) => vec![raw.clone()],
            MessageSource::File(path) => {
                flags.extend(maildir_flags(path).iter());
                vec![load(path)?]
            }
            MessageSource::Mbox(path) => parse_mbox(&load(path)?),
        };
        for raw in bodies {
            self.append(
                &message.user,
                &message.mailbox,
                raw,
                flags.clone(),
                message.internal_date,
            )
            .map_err(|source| FixtureError::Message { index, source })?;
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSeed {
    #[serde(default)]
    users: Vec<RawUser>,
    #[serde(default)]
    mailboxes: Vec<Spanned<RawMailbox>>,
    #[serde(default)]
    messages: Vec<Spanned<RawMessage>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUser {
    login: String,
    password: String,
    #[serde(default)]
    addresses: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMailbox {
    user: String,
    name: String,
    special_use: Option<Spanned<String>>,
    subscribed: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMessage {
    user: String,
    mailbox: Option<String>,
    file: Option<String>,
    raw: Option<String>,
    mbox: Option<String>,
    #[serde(default)]
    flags: Vec<Spanned<String>>,
    #[serde(default)]
    internal_date: i64,
}

impl RawUser {
    fn into_user(self) -> User {
        User {
            login: self.login,
            password: self.password,
            addresses: self.addresses,
        }
    }
}

impl RawMailbox {
    fn check<E>(self, at: &E) -> Result<SeedMailbox, FixtureError>
    where
        E: Fn(Range<usize>, String) -> FixtureError,
    {
        let special_use = match self.special_use {
            None => None,
            Some(text) => Some(
                SpecialUse::parse(text.get_ref())
                    .ok_or_else(|| at(text.span(), format!("unknown special use {:?}", text.get_ref())))?,
            ),
        };
        Ok(SeedMailbox {
            user: self.user,
            name: self.name,
            special_use,
            subscribed: self.subscribed.unwrap_or(true),
        })
    }
}

impl RawMessage {
    fn check<E>(spanned: Spanned<RawMessage>, at: &E) -> Result<SeedMessage, FixtureError>
    where
        E: Fn(Range<usize>, String) -> FixtureError,
    {
        let span = spanned.span();
        let message = spanned.into_inner();
        let source = match (message.file, message.raw, message.mbox) {
            (Some(file), None, None) => MessageSource::File(file),
            (None, Some(raw), None) => MessageSource::Raw(crlf(raw.as_bytes())),
            (None, None, Some(mbox)) => MessageSource::Mbox(mbox),
            _ => {
                let problem = "a message needs exactly one of `file`, `raw` and `mbox`";
                return Err(at(span, problem.to_owned()));
            }
        };
        let mut flags = Flags::new();
        for flag in message.flags {
            let parsed = flag
                .get_ref()
                .parse()
                .map_err(|e| at(flag.span(), format!("{e}")))?;
            flags.insert(parsed);
        }
        Ok(SeedMessage {
            user: message.user,
            mailbox: message.mailbox.unwrap_or_else(|| INBOX.to_owned()),
            source,
            flags,
            internal_date: message.internal_date,
        })
    }
}

/// An error at the start of `span` in `text`.
fn error_at(text: &str, span: Range<usize>, message: &str) -> FixtureError {
    let mut start = span.start.min(text.len());
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let before = &text[..start];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    FixtureError::Toml {
        line,
        col,
        message: message.to_owned(),
    }
}

#[cfg(test)]
mod tests;
