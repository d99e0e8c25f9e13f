//! A test backend with fixed accounts, and a client that scripts a session.

use mailrig_smtp::{Backend, Config, DeliveryError, Envelope, Output, RecipientCheck, Reply, Session};

/// alice/secret and bob/hunter2; tokens `token-<user>`; mailboxes alice@ and bob@example.test.
#[derive(Debug, Default)]
pub(crate) struct TestBackend {
    /// Every message delivered, in order.
    pub(crate) delivered: Vec<Envelope>,
    /// When set, `deliver` refuses with this error.
    pub(crate) fail_with: Option<DeliveryError>,
    /// Every address `recipient` was asked about.
    pub(crate) recipient_checks: Vec<String>,
    /// Recipients refused through `refuse_recipient`, with the reply.
    pub(crate) refuse: Vec<(String, Reply)>,
}

impl Backend for TestBackend {
    fn authenticate(&mut self, login: &str, password: &str) -> bool {
        matches!((login, password), ("alice", "secret") | ("bob", "hunter2"))
    }

    fn cram_md5_secret(&mut self, login: &str) -> Option<String> {
        match login {
            "alice" => Some("secret".to_owned()),
            "bob" => Some("hunter2".to_owned()),
            _ => None,
        }
    }

    fn check_token(&mut self, login: &str, token: &str) -> bool {
        token == format!("token-{login}")
    }

    fn recipient(&mut self, address: &str) -> RecipientCheck {
        self.recipient_checks.push(address.to_owned());
        // Domains are case-insensitive (RFC 5321 §2.4); local parts are compared as given.
        let (local, domain) = address.rsplit_once('@').unwrap_or((address, ""));
        match format!("{local}@{}", domain.to_ascii_lowercase()).as_str() {
            "alice@example.test" | "bob@example.test" => RecipientCheck::Local,
            _ => RecipientCheck::Unknown,
        }
    }

    fn local_domain(&mut self, domain: &str) -> bool {
        domain.eq_ignore_ascii_case("example.test")
    }

    fn deliver(&mut self, envelope: &Envelope) -> Result<(), DeliveryError> {
        if let Some(error) = &self.fail_with {
            return Err(error.clone());
        }
        self.delivered.push(envelope.clone());
        Ok(())
    }

    fn refuse_recipient(&mut self, address: &str) -> Option<Reply> {
        let refused = self.refuse.iter().find(|(a, _)| a == address);
        refused.map(|(_, reply)| reply.clone())
    }
}

/// A session plus its backend, driven like the real driver does.
pub(crate) struct Client {
    pub(crate) session: Session,
    pub(crate) backend: TestBackend,
}

/// Marker for [`Output::StartTls`] in reply lists.
pub(crate) const STARTTLS: &str = "<starttls>";
/// Marker for [`Output::Close`] in reply lists.
pub(crate) const CLOSE: &str = "<close>";

impl Client {
    /// A session with the default configuration; the greeting is consumed.
    pub(crate) fn new() -> Client {
        Client::with(Config::default())
    }

    /// A session with `config`; the greeting is consumed.
    pub(crate) fn with(config: Config) -> Client {
        let mut client = Client {
            session: Session::new(config),
            backend: TestBackend::default(),
        };
        let greeting = client.drain();
        assert_eq!(greeting.len(), 1);
        assert!(greeting[0].starts_with("220 "), "{greeting:?}");
        client
    }

    /// A default session without the TLS requirement for AUTH, after EHLO.
    pub(crate) fn plain_auth() -> Client {
        let mut c = Client::with(Config {
            require_tls_for_auth: false,
            ..Config::default()
        });
        c.ehlo();
        c
    }

    /// Sends `input` in one piece and returns what the session produced.
    pub(crate) fn send(&mut self, input: impl AsRef<[u8]>) -> Vec<String> {
        self.session.handle_input(input.as_ref(), &mut self.backend);
        self.drain()
    }

    /// Sends `input` and returns the reply codes (or markers) only.
    pub(crate) fn codes(&mut self, input: impl AsRef<[u8]>) -> Vec<String> {
        codes(&self.send(input))
    }

    /// `EHLO client.example.test`, expecting a 250.
    pub(crate) fn ehlo(&mut self) -> String {
        let replies = self.send("EHLO client.example.test\r\n");
        assert_eq!(replies.len(), 1);
        assert!(replies[0].starts_with("250"), "{replies:?}");
        replies.into_iter().next().unwrap_or_default()
    }

    /// Every output so far, replies as text.
    pub(crate) fn drain(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(output) = self.session.poll_output() {
            out.push(match output {
                Output::Reply { bytes, .. } => String::from_utf8(bytes).expect("replies are UTF-8"),
                Output::StartTls => STARTTLS.to_owned(),
                Output::Close => CLOSE.to_owned(),
            });
        }
        out
    }
}

/// The three-digit codes of `replies` (markers kept as they are).
pub(crate) fn codes(replies: &[String]) -> Vec<String> {
    replies
        .iter()
        .map(|r| {
            if r.starts_with('<') {
                r.clone()
            } else {
                r.chars().take(3).collect()
            }
        })
        .collect()
}
