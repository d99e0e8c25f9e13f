//! Seeding a store: a TOML description of users and messages, `.eml` files, mbox files.
//! Parsing only; the caller reads files (`docs/fixtures.md` documents the TOML format).

use std::collections::BTreeSet;

use serde::Deserialize;

use crate::{Store, StoreError, User};

/// A parsed TOML fixture.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    /// Users to create.
    #[serde(default)]
    pub users: Vec<SeedUser>,
    /// Extra mailboxes to create (besides the default ones).
    #[serde(default)]
    pub mailboxes: Vec<SeedMailbox>,
    /// Messages to append, in order.
    #[serde(default)]
    pub messages: Vec<SeedMessage>,
}

/// `[[users]]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedUser {
    /// Login name.
    pub login: String,
    /// Password.
    pub password: String,
    /// Addresses delivered to this user.
    #[serde(default)]
    pub addresses: Vec<String>,
}

/// `[[mailboxes]]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedMailbox {
    /// Whose.
    pub user: String,
    /// Its name (`/` separates levels).
    pub name: String,
}

/// `[[messages]]`: exactly one of `file` and `raw`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedMessage {
    /// Whose.
    pub user: String,
    /// Which mailbox (default `INBOX`).
    #[serde(default = "inbox")]
    pub mailbox: String,
    /// A file with the message, relative to the fixture file, read byte for byte.
    pub file: Option<String>,
    /// The message inline; bare LF line endings become CRLF.
    pub raw: Option<String>,
    /// Flags and keywords, e.g. `["\\Seen", "$Important"]`.
    #[serde(default)]
    pub flags: Vec<String>,
    /// Internal date, unix seconds (default 0).
    #[serde(default)]
    pub internal_date: i64,
}

fn inbox() -> String {
    "INBOX".to_owned()
}

/// Why a fixture could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FixtureError {
    /// The TOML is malformed or has unknown fields.
    #[error("line {line}, column {col}: {message}")]
    Toml {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// What is wrong.
        message: String,
    },
    /// A message has neither or both of `file` and `raw`.
    #[error("message {0}: give exactly one of `file` and `raw`")]
    MessageSource(usize),
    /// A file could not be loaded.
    #[error("message {index}: cannot read {path}: {reason}")]
    Load {
        /// Which message (0-based).
        index: usize,
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The store refused an operation.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Seed {
    /// Parses a TOML fixture.
    pub fn from_toml(text: &str) -> Result<Seed, FixtureError> {
        toml::from_str(text).map_err(|e| {
            let (line, col) = e.span().map_or((1, 1), |span| line_col(text, span.start));
            FixtureError::Toml {
                line,
                col,
                message: e.message().to_owned(),
            }
        })
    }
}

impl Store {
    /// Creates the seed's users and mailboxes and appends its messages. `load` reads a
    /// message file given as written in the fixture.
    pub fn apply<F>(&self, seed: &Seed, mut load: F) -> Result<(), FixtureError>
    where
        F: FnMut(&str) -> Result<Vec<u8>, String>,
    {
        for user in &seed.users {
            self.add_user(User::new(&user.login, &user.password, user.addresses.clone()))?;
        }
        for mailbox in &seed.mailboxes {
            self.create_mailbox(&mailbox.user, &mailbox.name)?;
        }
        for (index, message) in seed.messages.iter().enumerate() {
            let raw = match (&message.file, &message.raw) {
                (Some(path), None) => load(path).map_err(|reason| FixtureError::Load {
                    index,
                    path: path.clone(),
                    reason,
                })?,
                (None, Some(raw)) => crlf(raw.as_bytes()),
                _ => return Err(FixtureError::MessageSource(index)),
            };
            let flags: BTreeSet<String> = message.flags.iter().cloned().collect();
            self.append(&message.user, &message.mailbox, raw, flags, message.internal_date)?;
        }
        Ok(())
    }
}

/// Splits an mbox file into messages (mboxo and mboxrd): a line starting with `From ` at the
/// start of the file or after a blank line begins a message; `>From ` (and `>>From `, ...)
/// lose one `>`. Messages with bare LF line endings get CRLF.
pub fn parse_mbox(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut messages: Vec<Vec<u8>> = Vec::new();
    let mut current: Option<Vec<u8>> = None;
    let mut previous_blank = true;
    for line in bytes.split_inclusive(|b| *b == b'\n') {
        let content = line.strip_suffix(b"\n").unwrap_or(line);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        if previous_blank && content.starts_with(b"From ") {
            if let Some(done) = current.take() {
                messages.push(finish_mbox_message(done));
            }
            current = Some(Vec::new());
            previous_blank = false;
            continue;
        }
        previous_blank = content.is_empty();
        let Some(message) = current.as_mut() else { continue };
        let unquoted = match content.iter().position(|b| *b != b'>') {
            Some(n) if n > 0 && content[n..].starts_with(b"From ") => &content[1..],
            _ => content,
        };
        message.extend_from_slice(unquoted);
        message.extend_from_slice(b"\r\n");
    }
    if let Some(done) = current {
        messages.push(finish_mbox_message(done));
    }
    messages
}

/// Drops the blank line that separates a message from the next `From ` line.
fn finish_mbox_message(mut message: Vec<u8>) -> Vec<u8> {
    if message.ends_with(b"\r\n\r\n") {
        message.truncate(message.len() - 2);
    }
    message
}

/// Turns bare LF into CRLF; CRLF stays.
fn crlf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 40);
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'\n' && (i == 0 || bytes[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(*b);
    }
    out
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = r#"
[[users]]
login = "alice"
password = "secret"
addresses = ["alice@example.test"]

[[mailboxes]]
user = "alice"
name = "Archive/2026"

[[messages]]
user = "alice"
raw = """
Subject: one

hello
"""
flags = ["\\Seen"]

[[messages]]
user = "alice"
mailbox = "Archive/2026"
file = "two.eml"
internal_date = 1700000000
"#;

    #[test]
    fn seed_applies_users_mailboxes_and_messages() {
        let seed = Seed::from_toml(SEED).expect("valid");
        let store = Store::new();
        store
            .apply(&seed, |path| {
                if path == "two.eml" {
                    Ok(b"Subject: two\r\n\r\n".to_vec())
                } else {
                    Err("missing".into())
                }
            })
            .expect("applies");
        let inbox = store.messages("alice", "INBOX").expect("inbox");
        assert_eq!(&*inbox.messages[0].raw, b"Subject: one\r\n\r\nhello\r\n");
        assert!(inbox.messages[0].flags.contains("\\Seen"));
        let archive = store.messages("alice", "Archive/2026").expect("archive");
        assert_eq!(archive.messages[0].internal_date, 1_700_000_000);
    }

    #[test]
    fn seed_errors_have_positions() {
        let err = Seed::from_toml("[[users]]\nlogin = \"a\"\npasword = \"x\"\n").expect_err("unknown field");
        assert!(matches!(err, FixtureError::Toml { line: 3, .. }), "{err}");
        let seed = Seed::from_toml("[[messages]]\nuser = \"a\"\n").expect("parses");
        assert_eq!(
            Store::new().apply(&seed, |_| Ok(Vec::new())),
            Err(FixtureError::MessageSource(0))
        );
    }

    #[test]
    fn mbox_splits_and_unescapes() {
        let mbox = b"From a@b Mon Jan  1 00:00:00 2024\nSubject: 1\n\n>From here\nbody\n\nFrom c@d Mon Jan  1 00:00:00 2024\nSubject: 2\n\n>>From quoted twice\n";
        let messages = parse_mbox(mbox);
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0], b"Subject: 1\r\n\r\nFrom here\r\nbody\r\n".to_vec());
        assert_eq!(messages[1], b"Subject: 2\r\n\r\n>From quoted twice\r\n".to_vec());
    }
}
