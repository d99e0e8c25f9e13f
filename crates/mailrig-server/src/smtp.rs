//! The SMTP services: `mailrig_smtp::Session` driven over a connection, backed by the store.
//!
//! Accepted mail goes into INBOX of every local recipient (for postmaster, RFC 5321 §4.5.1, the
//! store's [postmaster](Store::postmaster) user) and into the store's envelope log, before the
//! session replies 250 (RFC 5321 §4.1.1.4: the 250 means the server has taken responsibility
//! for the message).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use mailrig_fault::FaultSet;
use mailrig_smtp::{
    Backend, Config, DeliveryError, Envelope, Output, RecipientCheck, Reply as SmtpReply, Session,
};
use mailrig_store::{Store, StoreError};
use mailrig_transcript::scenario::Protocol;
use tokio::sync::Notify;

use crate::conn::{self, Action, FaultHook, Reply, ReplyHook, ReplyKind, Step};
use crate::listen::SessionFactory;

/// SMTP behaviour shared by the SMTP listeners of a server.
#[derive(Debug, Clone, Default)]
pub struct SmtpOptions {
    /// The session configuration (personality: extensions, limits, policies). Per service,
    /// mailrig adjusts `implicit_tls`, `tls_available` and (for submission) `require_auth`;
    /// with TLS off it turns `require_tls_for_auth` off (there would be no way to log in).
    pub config: Config,
    /// Mock OAuth tokens accepted by XOAUTH2/OAUTHBEARER, by login. A user without an entry
    /// is accepted with a token equal to their password.
    pub tokens: BTreeMap<String, String>,
    /// Prepend `Return-Path:` and `Received:` trace headers (RFC 5321 §4.4) to stored mail.
    pub trace_headers: bool,
}

/// Makes the session factory for one SMTP service.
pub(crate) fn smtp_factory(
    protocol: Protocol,
    options: &SmtpOptions,
    store: Store,
    tls: bool,
    delivered: Arc<Notify>,
    faults: Option<Arc<FaultSet>>,
) -> SessionFactory {
    let mut config = options.config.clone();
    config.implicit_tls = protocol == Protocol::Smtps;
    config.tls_available = tls && protocol != Protocol::Smtps && config.extensions.starttls;
    // With TLS off there is no way to meet "TLS before AUTH": plaintext AUTH is the only way
    // to use submission at all (the IMAP side does the same with LOGINDISABLED).
    config.require_tls_for_auth = config.require_tls_for_auth && tls;
    if protocol != Protocol::Smtp {
        config.require_auth = true;
    }
    let tokens = Arc::new(options.tokens.clone());
    let trace = options.trace_headers;
    static SESSIONS: AtomicU64 = AtomicU64::new(1);
    Arc::new(move |_| {
        let id = SESSIONS.fetch_add(1, Ordering::Relaxed);
        let faults = faults
            .as_ref()
            .map(|set| FaultHook::new(set, mailrig_fault::Protocol::Smtp));
        let backend = StoreBackend {
            store: store.clone(),
            session_id: id,
            tokens: tokens.clone(),
            trace,
            delivered: delivered.clone(),
            faults: faults.clone(),
        };
        let mut session_config = config.clone();
        session_config.nonce = id;
        Box::new(SmtpSession {
            session: Session::new(session_config),
            backend,
            hook: faults,
        })
    })
}

impl From<Output> for Action {
    fn from(output: Output) -> Action {
        match output {
            Output::Reply { to, code, bytes } => Action::Write(Reply {
                step: match to {
                    mailrig_smtp::Step::Greeting => Step::Greeting,
                    mailrig_smtp::Step::Command(verb) => Step::Command(verb.name()),
                    mailrig_smtp::Step::MessageEnd => Step::MessageEnd,
                    mailrig_smtp::Step::Chunk => Step::Chunk,
                    mailrig_smtp::Step::SaslResponse => Step::SaslResponse,
                    mailrig_smtp::Step::Unknown => Step::Unknown,
                    mailrig_smtp::Step::Shutdown => Step::Shutdown,
                },
                // RFC 5321 §4.2.1: 3yz is a positive intermediate reply.
                kind: if (300..400).contains(&code) {
                    ReplyKind::Continuation
                } else {
                    ReplyKind::Final
                },
                data: None,
                bytes,
            }),
            Output::StartTls => Action::StartTls,
            Output::Close => Action::Close,
        }
    }
}

/// One SMTP connection: the sans-IO session and its store backend.
struct SmtpSession {
    session: Session,
    backend: StoreBackend,
    /// The fault rules' state, shared with the backend; taken by the driver.
    hook: Option<FaultHook>,
}

impl conn::Protocol for SmtpSession {
    fn handle_input(&mut self, input: &[u8]) {
        self.session.handle_input(input, &mut self.backend);
    }

    fn poll_action(&mut self) -> Option<Action> {
        self.session.poll_output().map(Action::from)
    }

    fn tls_started(&mut self) {
        self.session.tls_started();
    }

    fn shutdown(&mut self) {
        self.session.shutdown();
    }

    fn fault_hook(&mut self) -> Option<Box<dyn ReplyHook>> {
        self.hook.take().map(|hook| Box::new(hook) as Box<dyn ReplyHook>)
    }
}

/// The store, seen from an SMTP session: authentication against the store's users, recipient
/// checks, and delivery into INBOX of every local recipient plus the envelope log.
///
/// Public so that in-process drivers (tests, the scenario player) can run an SMTP session
/// against the same store as the servers without sockets.
#[derive(Debug)]
pub struct StoreBackend {
    store: Store,
    session_id: u64,
    tokens: Arc<BTreeMap<String, String>>,
    trace: bool,
    /// Woken after every accepted message (for `wait_for_message`).
    delivered: Arc<Notify>,
    /// Fault rules, asked before a recipient or a message is accepted: a rule that refuses
    /// makes this backend refuse, so a message is stored exactly when the client gets 250.
    faults: Option<FaultHook>,
}

impl StoreBackend {
    /// A backend over `store` with no trace headers and no mock tokens.
    pub fn new(store: Store, session_id: u64) -> Self {
        Self {
            store,
            session_id,
            tokens: Arc::default(),
            trace: false,
            delivered: Arc::default(),
            faults: None,
        }
    }
}

impl StoreBackend {
    /// What the fault rules say about `step` before it is answered.
    fn fault_refusal(&self, step: Step, address: Option<&str>) -> Option<SmtpReply> {
        let refusal = self
            .faults
            .as_ref()?
            .with(|faults| faults.refusal(step, address))?;
        Some(SmtpReply::plain(refusal.code, refusal.text))
    }

    /// `452 4.2.2` if the INBOX `rcpt` is delivered to holds as many messages as the store
    /// allows (RFC 5321 §4.5.3.1.10 allows 452 for a recipient that cannot take more now).
    fn full_inbox(&self, rcpt: &str) -> Option<SmtpReply> {
        let login = self.local_login(rcpt)?;
        let count = self.store.message_count(&login, mailrig_store::INBOX).ok()?;
        (count >= self.store.limits().messages_per_mailbox).then(mailbox_full)
    }

    /// The login that gets mail for `rcpt`: its owner, or for postmaster (RFC 5321 §4.5.1)
    /// the store's [postmaster](Store::postmaster).
    fn local_login(&self, rcpt: &str) -> Option<String> {
        self.store.resolve(rcpt).or_else(|| match rcpt.rsplit_once('@') {
            None if rcpt.eq_ignore_ascii_case("postmaster") => self.store.postmaster(None),
            Some((local, domain)) if local.eq_ignore_ascii_case("postmaster") => {
                self.store.postmaster(Some(domain))
            }
            _ => None,
        })
    }
}

impl Backend for StoreBackend {
    fn authenticate(&mut self, login: &str, password: &str) -> bool {
        self.store.authenticate(login, password)
    }

    fn cram_md5_secret(&mut self, login: &str) -> Option<String> {
        self.store.password(login)
    }

    fn check_token(&mut self, login: &str, token: &str) -> bool {
        match self.tokens.get(login) {
            Some(expected) => expected == token,
            None => self.store.authenticate(login, token),
        }
    }

    fn recipient(&mut self, address: &str) -> RecipientCheck {
        match self.store.resolve(address) {
            Some(_) => RecipientCheck::Local,
            None => RecipientCheck::Unknown,
        }
    }

    fn local_domain(&mut self, domain: &str) -> bool {
        self.store.is_local_domain(domain)
    }

    fn refuse_recipient(&mut self, address: &str) -> Option<SmtpReply> {
        self.fault_refusal(Step::Command("RCPT"), Some(address))
            .or_else(|| self.full_inbox(address))
    }

    fn deliver(&mut self, envelope: &Envelope) -> Result<(), DeliveryError> {
        let step = if envelope.chunked {
            Step::Chunk
        } else {
            Step::MessageEnd
        };
        if let Some(refusal) = self.fault_refusal(step, None) {
            return Err(DeliveryError::Refused(refusal));
        }
        let now = unix_now();
        let data: Arc<[u8]> = if self.trace {
            with_trace_headers(envelope, now).into()
        } else {
            envelope.data.as_slice().into()
        };
        let logins: Vec<String> = envelope
            .rcpt_to
            .iter()
            .filter_map(|rcpt| self.local_login(rcpt))
            .collect();
        let logins: Vec<&str> = logins.iter().map(String::as_str).collect();
        // All or none, so the one reply is true for every recipient; every mailbox and the
        // envelope log share one copy of the bytes.
        self.store
            .deliver_all(&logins, data.clone(), now)
            .map_err(|e| match e {
                StoreError::MailboxFull { .. } => DeliveryError::Refused(mailbox_full()),
                other => DeliveryError::Temporary(other.to_string()),
            })?;
        self.store.record_envelope(mailrig_store::Envelope {
            session_id: self.session_id,
            mail_from: envelope.mail_from.clone(),
            rcpt_to: envelope.rcpt_to.clone(),
            data,
            received_at: now,
        });
        self.delivered.notify_waiters();
        Ok(())
    }
}

/// RFC 3463 §3.3: X.2.2 "Mailbox full"; 452 keeps it temporary, as the mailbox can empty.
fn mailbox_full() -> SmtpReply {
    SmtpReply::with_status(452, [4, 2, 2], "Mailbox full")
}

fn with_trace_headers(envelope: &Envelope, now: i64) -> Vec<u8> {
    let helo = envelope.helo.as_deref().unwrap_or("unknown");
    let with = match (envelope.tls, envelope.authenticated_as.is_some()) {
        (false, false) => "ESMTP",
        (true, false) => "ESMTPS",
        (false, true) => "ESMTPA",
        (true, true) => "ESMTPSA",
    };
    let mut out = format!(
        "Return-Path: <{}>\r\nReceived: from {helo} by mailrig with {with}; {}\r\n",
        envelope.mail_from,
        rfc5322_date(now)
    )
    .into_bytes();
    out.extend_from_slice(&envelope.data);
    out
}

pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// `Thu, 26 Nov 2026 19:31:41 +0000` (RFC 5322 §3.3), in UTC.
pub(crate) fn rfc5322_date(unix: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let weekday = DAYS[days.rem_euclid(7) as usize];
    let month_name = MONTHS[(month - 1) as usize];
    format!(
        "{weekday}, {day} {month_name} {year} {:02}:{:02}:{:02} +0000",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 5321 §4.5.1: mail for postmaster, bare or at a local domain in any case, is
    /// delivered once, to the user with the postmaster address or else the first user.
    #[test]
    fn postmaster_mail_reaches_a_user() {
        let store = Store::new();
        for login in ["bob", "alice"] {
            let user = mailrig_store::User::new(login, "x", [format!("{login}@example.test")]);
            store.add_user(user).expect("user");
        }
        let mut backend = StoreBackend::new(store.clone(), 1);
        assert!(backend.local_domain("EXAMPLE.TEST"));
        assert!(!backend.local_domain("elsewhere.example"));
        let envelope = Envelope {
            mail_from: String::new(),
            rcpt_to: vec!["Postmaster".into(), "POSTMASTER@Example.Test".into()],
            rcpt_params: vec![Default::default(); 2],
            data: b"Subject: hi\r\n\r\n".to_vec(),
            params: Default::default(),
            authenticated_as: None,
            helo: None,
            tls: false,
            chunked: false,
        };
        backend.deliver(&envelope).expect("delivered");
        let inbox = |login| store.messages(login, "INBOX").expect("inbox").messages.len();
        assert_eq!((inbox("alice"), inbox("bob")), (1, 0));
    }

    /// Feeds `input` to `session` and returns the replies written, as text.
    fn exchange(session: &mut Session, backend: &mut StoreBackend, input: &str) -> String {
        session.handle_input(input.as_bytes(), backend);
        let mut text = Vec::new();
        while let Some(output) = session.poll_output() {
            if let Output::Reply { bytes, .. } = output {
                text.extend(bytes);
            }
        }
        String::from_utf8_lossy(&text).into_owned()
    }

    /// A full INBOX refuses its recipient with `452 4.2.2` (RFC 3463 §3.3), and a message
    /// whose recipient's INBOX filled up during DATA is refused whole: every message
    /// answered 250 is stored in every recipient's INBOX, and no other.
    #[test]
    fn a_full_inbox_is_refused_and_stores_nothing() {
        let limits = mailrig_store::StoreLimits {
            messages_per_mailbox: 2,
            ..Default::default()
        };
        let store = Store::with_limits(limits);
        for login in ["alice", "bob"] {
            let user = mailrig_store::User::new(login, "x", [format!("{login}@example.test")]);
            store.add_user(user).expect("user");
        }
        store
            .deliver("alice", b"Subject: 0\r\n\r\n".to_vec(), 0)
            .expect("deliver");
        let mut backend = StoreBackend::new(store.clone(), 1);
        let mut session = Session::new(Config::default());
        let mut say = |input: &str| exchange(&mut session, &mut backend, input);
        assert!(say("EHLO c\r\n").contains("250 "));
        let both = "MAIL FROM:<c@x.test>\r\nRCPT TO:<alice@example.test>\r\nRCPT TO:<bob@example.test>\r\n";
        let text = say(both);
        assert_eq!(text.matches("250 ").count(), 3, "{text}");
        assert!(say("DATA\r\n").starts_with("354 "));
        assert!(say("Subject: 1\r\n\r\n.\r\n").starts_with("250 "));
        // alice's INBOX is full now: her RCPT is refused, bob's accepted.
        let text = say(both);
        assert!(text.contains("452 4.2.2 Mailbox full\r\n"), "{text}");
        assert_eq!(text.matches("250 ").count(), 2, "{text}");
        assert!(say("DATA\r\n").starts_with("354 "));
        // bob's INBOX fills up before the final dot: the message is refused, for bob too.
        store
            .deliver("bob", b"Subject: elsewhere\r\n\r\n".to_vec(), 0)
            .expect("deliver");
        let text = say("Subject: 2\r\n\r\n.\r\n");
        assert_eq!(text, "452 4.2.2 Mailbox full\r\n");
        let subjects = |login| {
            let inbox = store.messages(login, "INBOX").expect("inbox");
            let raw: Vec<String> = inbox
                .messages
                .iter()
                .map(|m| String::from_utf8_lossy(&m.raw).into_owned())
                .collect();
            raw
        };
        assert_eq!(subjects("alice"), ["Subject: 0\r\n\r\n", "Subject: 1\r\n\r\n"]);
        assert_eq!(
            subjects("bob"),
            ["Subject: 1\r\n\r\n", "Subject: elsewhere\r\n\r\n"]
        );
        let logged: Vec<Vec<String>> = store.envelopes().iter().map(|e| e.rcpt_to.clone()).collect();
        assert_eq!(
            logged,
            [vec![
                "alice@example.test".to_owned(),
                "bob@example.test".to_owned()
            ]]
        );
    }

    #[test]
    fn dates_are_rfc5322() {
        assert_eq!(rfc5322_date(0), "Thu, 1 Jan 1970 00:00:00 +0000");
        assert_eq!(rfc5322_date(1_795_721_501), "Thu, 26 Nov 2026 19:31:41 +0000");
        assert_eq!(rfc5322_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 +0000");
    }
}
