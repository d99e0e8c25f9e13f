//! Importing existing mail into a user's INBOX: an `.eml` file, an mbox file, or a Maildir.

use std::path::Path;

use mailrig_store::{Flags, Store, maildir_flags, parse_mbox};

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The store refused the message (unknown user, ...).
    #[error(transparent)]
    Store(#[from] mailrig_store::StoreError),
}

/// Appends the messages at `path` to `login`'s INBOX and returns how many:
///
/// - a directory is a Maildir: the files in `cur/` and `new/`, sorted by name, flags taken from
///   the `:2,FRS` suffix (messages in `new/` are unseen);
/// - a file ending in `.mbox` (or starting with a `From ` line) is an mbox file;
/// - any other file is one message (`.eml`), stored byte for byte.
pub fn import(store: &Store, login: &str, path: &Path) -> Result<usize, ImportError> {
    let io = |source| ImportError::Io {
        path: path.display().to_string(),
        source,
    };
    if path.is_dir() {
        return import_maildir(store, login, path);
    }
    let bytes = std::fs::read(path).map_err(io)?;
    let is_mbox = path.extension().is_some_and(|e| e == "mbox") || bytes.starts_with(b"From ");
    let messages = if is_mbox { parse_mbox(&bytes) } else { vec![bytes] };
    let count = messages.len();
    for message in messages {
        store.append(login, "INBOX", message, Flags::default(), 0)?;
    }
    Ok(count)
}

fn import_maildir(store: &Store, login: &str, dir: &Path) -> Result<usize, ImportError> {
    let mut files = Vec::new();
    for sub in ["cur", "new"] {
        let folder = dir.join(sub);
        let entries = std::fs::read_dir(&folder).map_err(|source| ImportError::Io {
            path: folder.display().to_string(),
            source,
        })?;
        for entry in entries {
            let path = entry
                .map_err(|source| ImportError::Io {
                    path: folder.display().to_string(),
                    source,
                })?
                .path();
            if path.is_file() {
                files.push(path);
            }
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    for file in &files {
        let bytes = std::fs::read(file).map_err(|source| ImportError::Io {
            path: file.display().to_string(),
            source,
        })?;
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        store.append(login, "INBOX", bytes, maildir_flags(name), 0)?;
    }
    Ok(files.len())
}

#[cfg(test)]
mod tests {
    use mailrig_store::User;

    use super::*;

    fn store() -> Store {
        let store = Store::new();
        store
            .add_user(User::new("alice", "secret", ["alice@example.test"]))
            .expect("user");
        store
    }

    #[test]
    fn eml_mbox_and_maildir() {
        let dir = tempfile::tempdir().expect("dir");
        let eml = dir.path().join("one.eml");
        std::fs::write(&eml, b"Subject: one\r\n\r\nbody\r\n").expect("eml");
        let mbox = dir.path().join("two.mbox");
        std::fs::write(&mbox, b"From a@b Sat Jan  3 00:00:00 2026\nSubject: two\n\n>From x\n\nFrom c@d Sat Jan  3 00:00:00 2026\nSubject: three\n\nz\n").expect("mbox");
        let maildir = dir.path().join("Maildir");
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(maildir.join(sub)).expect("maildir");
        }
        std::fs::write(maildir.join("cur/1.host:2,FS"), b"Subject: four\r\n\r\n").expect("cur");
        std::fs::write(maildir.join("new/2.host"), b"Subject: five\r\n\r\n").expect("new");

        let store = store();
        assert_eq!(import(&store, "alice", &eml).expect("eml"), 1);
        assert_eq!(import(&store, "alice", &mbox).expect("mbox"), 2);
        assert_eq!(import(&store, "alice", &maildir).expect("maildir"), 2);
        let inbox = store.messages("alice", "INBOX").expect("inbox").messages;
        assert_eq!(&*inbox[0].raw, b"Subject: one\r\n\r\nbody\r\n");
        assert_eq!(&*inbox[1].raw, b"Subject: two\r\n\r\nFrom x\r\n");
        assert!(inbox[3].flags.contains("\\Flagged") && inbox[3].flags.contains("\\Seen"));
        assert!(!inbox[4].flags.contains("\\Seen"));
        assert!(import(&store, "nobody", &eml).is_err());
        assert!(import(&store, "alice", &dir.path().join("missing.eml")).is_err());
    }
}
