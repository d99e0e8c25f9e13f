//! The `Rig` test API: mailrig's fake servers inside your own `cargo test`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mailrig_fault::Rule;
use mailrig_server::tls::Identity;
use mailrig_server::{ImapOptions, Protocol, Server, ServerConfig, ServerError, SmtpOptions, TlsSetting};
use mailrig_store::fixture::{FixtureError, Seed};
use mailrig_store::{Envelope, Message, Store, StoreError, StoreLimits, User};
use mailrig_transcript::Transcript;
use mailrig_transcript::record::{RecordOptions, print_transcript};

/// The users a rig has when the builder names none: `alice` and `bob` on `example.test`,
/// both with the password `secret`.
pub const DEFAULT_USERS: [(&str, &str, &str); 2] = [
    ("alice", "secret", "alice@example.test"),
    ("bob", "secret", "bob@example.test"),
];

/// The [`DEFAULT_USERS`] as store users.
pub fn default_users() -> Vec<User> {
    DEFAULT_USERS
        .iter()
        .map(|(login, password, address)| User::new(login, password, [*address]))
        .collect()
}

/// Fills a new store: `users` (the [`default_users`] when empty, unless a fixture is given: a
/// fixture brings its own users, and the default ones would clash with them), then each
/// fixture, then each `(login, path)` import of existing mail. Returns how many messages each
/// import brought. [`RigBuilder::start`] and `mailrig serve` both use it.
pub fn seed_store(
    store: &Store,
    users: Vec<User>,
    fixtures: &[PathBuf],
    imports: &[(String, PathBuf)],
) -> Result<Vec<usize>, RigError> {
    let users = if users.is_empty() && fixtures.is_empty() {
        default_users()
    } else {
        users
    };
    for user in users {
        store.add_user(user)?;
    }
    for path in fixtures {
        apply_fixture(store, path)?;
    }
    imports
        .iter()
        .map(|(login, path)| Ok(crate::import::import(store, login, path)?))
        .collect()
}

/// Seeds `store` from the TOML fixture at `path` (`docs/fixtures.md`); message files are read
/// relative to it. [`RigBuilder::fixture`] and `mailrig serve --fixture` both use it.
pub fn apply_fixture(store: &Store, path: &Path) -> Result<(), RigError> {
    let fixture_error = |source| RigError::Fixture {
        path: path.display().to_string(),
        source,
    };
    let text = std::fs::read_to_string(path).map_err(|source| RigError::FixtureRead {
        path: path.display().to_string(),
        source,
    })?;
    let seed = Seed::from_toml(&text).map_err(fixture_error)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    store
        .apply(&seed, |file| {
            std::fs::read(dir.join(file)).map_err(|e| e.to_string())
        })
        .map_err(fixture_error)
}

/// Switches off the SMTP extension `word` names in `options`: a row of
/// [`mailrig_smtp::EXTENSIONS`] (`chunking`, `auth`, ...) or one AUTH mechanism (`cram-md5`).
/// [`RigBuilder::disable_smtp`] and `mailrig serve --disable` both use it.
pub fn disable_smtp(options: &mut SmtpOptions, word: &str) -> Result<(), RigError> {
    let extensions = &mut options.config.extensions;
    if let Some(extension) = mailrig_smtp::Extension::by_name(word) {
        extension.set(extensions, false);
    } else if let Some(mechanism) = mailrig_smtp::Mechanism::from_name(word) {
        extensions.auth.retain(|m| *m != mechanism);
    } else {
        return Err(RigError::UnknownSmtpExtension(word.to_owned()));
    }
    Ok(())
}

/// Switches off the IMAP extension `word` names in `options`: a row of
/// [`mailrig_imap::EXTENSIONS`] (`idle`, `literal+`, ...). [`RigBuilder::disable_imap`] and
/// `mailrig serve --imap-disable` both use it.
pub fn disable_imap(options: &mut ImapOptions, word: &str) -> Result<(), RigError> {
    let extension = mailrig_imap::Extension::by_name(word)
        .ok_or_else(|| RigError::UnknownImapExtension(word.to_owned()))?;
    extension.set(&mut options.config, false);
    Ok(())
}

/// The words [`disable_smtp`] takes, for help texts.
pub fn smtp_extension_words() -> String {
    let mechanisms: Vec<String> = mailrig_smtp::Mechanism::ALL
        .iter()
        .map(|m| m.name().to_ascii_lowercase())
        .collect();
    format!(
        "{}, or one AUTH mechanism ({})",
        mailrig_smtp::Extension::names(),
        mechanisms.join(", ")
    )
}

/// Configures a [`Rig`]. Every listener binds `127.0.0.1` on a free port.
#[derive(Debug, Default)]
pub struct RigBuilder {
    users: Vec<User>,
    tls: TlsSetting,
    smtp: SmtpOptions,
    imap: ImapOptions,
    services: Option<Vec<Protocol>>,
    fixtures: Vec<PathBuf>,
    imports: Vec<(String, PathBuf)>,
    /// Extension words for [`disable_smtp`] and [`disable_imap`], applied at `start`.
    disabled_smtp: Vec<String>,
    disabled_imap: Vec<String>,
    /// Fault rules, or the first rule that did not parse (reported by `start`).
    faults: Vec<Rule>,
    fault_error: Option<String>,
    fault_seed: Option<u64>,
    /// Bytes kept per direction of each recorded connection (`None`: the server's default).
    transcript_byte_limit: Option<Option<u64>>,
    max_messages_per_mailbox: Option<usize>,
}

/// Why a rig could not start or answer.
#[derive(Debug, thiserror::Error)]
pub enum RigError {
    /// The servers could not start.
    #[error(transparent)]
    Server(#[from] ServerError),
    /// A user or message could not be stored.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A fixture file could not be read.
    #[error("cannot read fixture {path}: {source}")]
    FixtureRead {
        /// The fixture file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A fixture is malformed or could not be applied.
    #[error("fixture {path}: {source}")]
    Fixture {
        /// The fixture file.
        path: String,
        /// Why.
        source: FixtureError,
    },
    /// Existing mail could not be imported.
    #[error(transparent)]
    Import(#[from] crate::import::ImportError),
    /// A word that names no SMTP extension or AUTH mechanism
    /// ([`mailrig_smtp::EXTENSIONS`]).
    #[error("{0}: not an SMTP extension or AUTH mechanism mailrig knows (one of: {known})", known = smtp_extension_words())]
    UnknownSmtpExtension(String),
    /// A word that names no IMAP extension ([`mailrig_imap::EXTENSIONS`]).
    #[error("{0}: not an IMAP extension mailrig can switch off (one of: {known})", known = mailrig_imap::Extension::names())]
    UnknownImapExtension(String),
    /// A fault rule did not parse (docs/faults.md).
    #[error("fault rule: {0}")]
    Fault(String),
    /// `wait_for_message` gave up.
    #[error("no matching message arrived within {0:?}")]
    Timeout(Duration),
}

impl RigBuilder {
    /// Adds a user (the default users are then not created).
    pub fn user(mut self, login: &str, password: &str, address: &str) -> Self {
        self.users.push(User::new(login, password, [address]));
        self
    }

    /// Turns TLS off: no STARTTLS, no SMTPS or IMAPS listener.
    pub fn without_tls(mut self) -> Self {
        self.tls = TlsSetting::Off;
        self
    }

    /// Uses this TLS identity instead of the generated one.
    pub fn tls_identity(mut self, identity: Identity) -> Self {
        self.tls = TlsSetting::Identity(identity);
        self
    }

    /// Adjusts SMTP behaviour: extensions on or off, limits, policies (a "personality").
    pub fn smtp(mut self, adjust: impl FnOnce(&mut SmtpOptions)) -> Self {
        adjust(&mut self.smtp);
        self
    }

    /// Adjusts IMAP behaviour: extensions on or off, limits, policies (a "personality").
    pub fn imap(mut self, adjust: impl FnOnce(&mut ImapOptions)) -> Self {
        adjust(&mut self.imap);
        self
    }

    /// Gives every user an IMAP quota (RFC 9208): APPEND and COPY beyond it are `NO
    /// [OVERQUOTA]` and store nothing; GETQUOTA reports it.
    pub fn imap_quota(mut self, quota: mailrig_imap::Quota) -> Self {
        self.imap.config.quota = quota;
        self
    }

    /// Switches an SMTP extension off by the word `mailrig serve --disable` takes (`chunking`,
    /// `auth`, `cram-md5`, ...: [`mailrig_smtp::EXTENSIONS`]); an unknown word fails `start`.
    pub fn disable_smtp(mut self, word: &str) -> Self {
        self.disabled_smtp.push(word.to_owned());
        self
    }

    /// Switches an IMAP extension off by the word `mailrig serve --imap-disable` takes
    /// (`idle`, `condstore`, ...: [`mailrig_imap::EXTENSIONS`]); an unknown word fails `start`.
    pub fn disable_imap(mut self, word: &str) -> Self {
        self.disabled_imap.push(word.to_owned());
        self
    }

    /// Adds a fault rule (docs/faults.md): a [`Rule`] built in code, or its text form
    /// (`"rcpt#2: reply 452 4.2.2 mailbox full"`), which `start` fails on if it does not parse.
    pub fn fault<R>(mut self, rule: R) -> Self
    where
        R: TryInto<Rule>,
        R::Error: std::fmt::Display,
    {
        match rule.try_into() {
            Ok(rule) => self.faults.push(rule),
            Err(e) => {
                self.fault_error.get_or_insert(e.to_string());
            }
        }
        self
    }

    /// The seed for random fault rules that name none (default: from the clock; see
    /// [`Rig::fault_seed`]).
    pub fn fault_seed(mut self, seed: u64) -> Self {
        self.fault_seed = Some(seed);
        self
    }

    /// Keeps at most `limit` bytes per direction of each connection's transcript (`None`:
    /// every byte; default 4 MiB, [`mailrig_server::recorder::DEFAULT_BYTE_LIMIT`]). Bytes
    /// beyond it are counted, and [`Rig::transcript`] says how many were left out.
    pub fn transcript_byte_limit(mut self, limit: Option<u64>) -> Self {
        self.transcript_byte_limit = Some(limit);
        self
    }

    /// Lets each mailbox hold at most `limit` messages (default 1,000,000,
    /// [`mailrig_store::DEFAULT_MAX_MESSAGES_PER_MAILBOX`]): past it, IMAP APPEND, COPY and
    /// MOVE get `NO [LIMIT]` and SMTP gets `452 4.2.2`, and nothing is stored.
    pub fn max_messages_per_mailbox(mut self, limit: usize) -> Self {
        self.max_messages_per_mailbox = Some(limit);
        self
    }

    /// Runs only these services (default: all that the TLS setting allows).
    pub fn services(mut self, services: &[Protocol]) -> Self {
        self.services = Some(services.to_vec());
        self
    }

    /// Seeds the store from a TOML fixture (`docs/fixtures.md`); message files are read
    /// relative to it.
    pub fn fixture(mut self, path: impl AsRef<Path>) -> Self {
        self.fixtures.push(path.as_ref().to_owned());
        self
    }

    /// Imports existing mail into `login`'s INBOX: an `.eml` file, an mbox file or a Maildir
    /// directory (see [`crate::import::import`]).
    pub fn import(mut self, login: &str, path: impl AsRef<Path>) -> Self {
        self.imports.push((login.to_owned(), path.as_ref().to_owned()));
        self
    }

    /// Binds every listener on `127.0.0.1` (port 0) and starts serving.
    pub async fn start(mut self) -> Result<Rig, RigError> {
        if let Some(error) = self.fault_error {
            return Err(RigError::Fault(error));
        }
        for word in &self.disabled_smtp {
            disable_smtp(&mut self.smtp, word)?;
        }
        for word in &self.disabled_imap {
            disable_imap(&mut self.imap, word)?;
        }
        let store = Store::with_limits(StoreLimits {
            messages_per_mailbox: self
                .max_messages_per_mailbox
                .unwrap_or(mailrig_store::DEFAULT_MAX_MESSAGES_PER_MAILBOX),
            ..StoreLimits::default()
        });
        seed_store(&store, self.users, &self.fixtures, &self.imports)?;
        let mut config = ServerConfig::loopback(store);
        let tls_off = matches!(self.tls, TlsSetting::Off);
        config.tls = self.tls;
        config.smtp = self.smtp;
        config.imap = self.imap;
        config.faults = self.faults;
        config.fault_seed = self.fault_seed;
        if let Some(limit) = self.transcript_byte_limit {
            config.transcript_byte_limit = limit;
        }
        let services = self.services.unwrap_or_else(|| Protocol::ALL.to_vec());
        config
            .listeners
            .retain(|(s, _)| services.contains(s) && !(tls_off && s.implicit_tls()));
        Ok(Rig {
            server: Server::start(config).await?,
        })
    }
}

/// Running fake mail servers and the store behind them.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
///
/// let rig = mailrig::Rig::builder().start().await?;
/// let mut smtp = BufReader::new(tokio::net::TcpStream::connect(rig.smtp_addr()).await?);
/// let mut line = String::new();
/// smtp.read_line(&mut line).await?; // 220 greeting
/// smtp.get_mut().write_all(b"HELO me\r\nMAIL FROM:<bob@example.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n").await?;
/// smtp.get_mut().write_all(b"Subject: hi\r\n\r\nhello\r\n.\r\nQUIT\r\n").await?;
///
/// let mail = rig.wait_for_message(|m| m.rcpt_to.contains(&"alice@example.test".to_owned()), Duration::from_secs(5)).await?;
/// assert_eq!(&*mail.data, b"Subject: hi\r\n\r\nhello\r\n");
/// assert_eq!(rig.messages("alice")[0].raw, mail.data);
/// rig.stop().await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Rig {
    server: Server,
}

impl Rig {
    /// Starts configuring a rig.
    pub fn builder() -> RigBuilder {
        RigBuilder::default()
    }

    /// The seed random fault rules use, when there are fault rules (print it when a test
    /// fails, to run the same faults again with [`RigBuilder::fault_seed`]).
    pub fn fault_seed(&self) -> Option<u64> {
        self.server.faults().map(mailrig_fault::FaultSet::seed)
    }

    /// The address of a service. Panics if the service is not running (a test bug).
    ///
    /// # Panics
    ///
    /// When `service` was left out with [`RigBuilder::services`] or needs TLS that is off.
    pub fn addr(&self, service: Protocol) -> SocketAddr {
        match self.server.addr(service) {
            Some(addr) => addr,
            None => panic!("the {} service is not running in this rig", service.keyword()),
        }
    }

    /// SMTP (STARTTLS offered when TLS is on).
    pub fn smtp_addr(&self) -> SocketAddr {
        self.addr(Protocol::Smtp)
    }

    /// Submission (AUTH required, STARTTLS offered).
    pub fn submission_addr(&self) -> SocketAddr {
        self.addr(Protocol::Submission)
    }

    /// SMTPS (implicit TLS, AUTH required).
    pub fn smtps_addr(&self) -> SocketAddr {
        self.addr(Protocol::Smtps)
    }

    /// IMAP (STARTTLS offered when TLS is on).
    pub fn imap_addr(&self) -> SocketAddr {
        self.addr(Protocol::Imap)
    }

    /// IMAPS (implicit TLS).
    pub fn imaps_addr(&self) -> SocketAddr {
        self.addr(Protocol::Imaps)
    }

    /// The CA certificate (PEM) clients should trust; `None` with TLS off.
    pub fn ca_pem(&self) -> Option<&str> {
        self.server.ca_pem()
    }

    /// The store: users, mailboxes, messages, envelopes.
    pub fn store(&self) -> &Store {
        self.server.store()
    }

    /// The messages in a user's INBOX (empty for an unknown user).
    pub fn messages(&self, login: &str) -> Vec<Message> {
        self.store()
            .messages(login, "INBOX")
            .map(|s| s.messages)
            .unwrap_or_default()
    }

    /// Waits until a message accepted over SMTP satisfies `predicate`, and returns it. Returns
    /// as soon as it arrives (no polling); checks messages accepted before the call too.
    pub async fn wait_for_message<P>(&self, predicate: P, timeout: Duration) -> Result<Envelope, RigError>
    where
        P: Fn(&Envelope) -> bool,
    {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut seen = 0;
        loop {
            let notified = self.server.delivered().notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let fresh = self.store().envelopes_since(seen);
            seen += fresh.len();
            if let Some(found) = fresh.into_iter().find(|e| predicate(e)) {
                return Ok(found);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(RigError::Timeout(timeout));
            }
        }
    }

    /// Every connection so far, as recorded.
    pub fn transcript(&self) -> Transcript {
        self.server.transcript()
    }

    /// Every connection so far as a scenario, with run-to-run values (dates, ports, tags,
    /// credentials) replaced by holes: ready for `insta::assert_snapshot!`.
    pub fn redacted_transcript(&self) -> String {
        let options = RecordOptions {
            name: "rig".to_owned(),
            redact: true,
            redact_credentials: true,
        };
        print_transcript(&self.transcript(), &options)
    }

    /// Says goodbye to open sessions and stops the listeners.
    pub async fn stop(self) {
        self.server.shutdown(Duration::from_secs(2)).await;
    }
}
