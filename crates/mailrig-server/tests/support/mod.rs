//! What the in-process scenario tests share: mailrig's model servers as a
//! `mailrig_transcript::play::Target` (one sans-IO SMTP or IMAP session per scenario session,
//! one store, optionally one deliberate defect switched on) and the run's variables.

// Each test binary uses its own part of this module.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};

use mailrig_server::Defect;
use mailrig_server::smtp::StoreBackend;
use mailrig_store::{Store, User};
use mailrig_transcript::play::Target;
use mailrig_transcript::scenario::Protocol;

/// A fixed clock (2024-01-01T00:00:00Z), so APPEND's internal dates are deterministic.
pub(crate) const NOW: i64 = 1_704_067_200;

/// One server-side session of either protocol.
pub(crate) enum Conn {
    Imap(mailrig_imap::Session),
    Smtp(mailrig_smtp::Session, StoreBackend),
}

/// A connection and whether either side has closed it.
pub(crate) struct Open {
    conn: Conn,
    closed: bool,
}

/// mailrig's model servers in process, with `defect` switched on: one session per scenario
/// session, one store.
pub(crate) struct Servers {
    pub(crate) store: Store,
    pub(crate) open: HashMap<String, Open>,
    next_id: u64,
    defect: Option<Defect>,
}

impl Servers {
    /// Users alice/secret (alice@example.test) and bob/hunter2 (bob@example.test).
    pub(crate) fn new() -> Servers {
        Servers::with_defect(None)
    }

    /// The same, with `defect` switched on.
    pub(crate) fn with_defect(defect: Option<Defect>) -> Servers {
        let store = Store::new();
        store
            .add_user(User::new("alice", "secret", ["alice@example.test"]))
            .expect("fresh store");
        store
            .add_user(User::new("bob", "hunter2", ["bob@example.test"]))
            .expect("fresh store");
        // `${mailbox}`, as `mailrig run` creates it before each scenario that uses it.
        store.create_mailbox("alice", MAILBOX).expect("fresh store");
        Servers {
            store,
            open: HashMap::new(),
            next_id: 1,
            defect,
        }
    }

    fn imap_config(&self) -> mailrig_imap::Config {
        let mut config = mailrig_imap::Config::default();
        if let Some(Defect::Imap(defect)) = self.defect {
            config.defects.insert(defect);
        }
        config
    }

    /// As `mailrig serve` sets up its SMTP services: submission and smtps need AUTH.
    fn smtp_config(&self, protocol: Protocol) -> mailrig_smtp::Config {
        let mut config = mailrig_smtp::Config {
            hostname: "mail.example.test".into(),
            implicit_tls: protocol == Protocol::Smtps,
            require_auth: protocol != Protocol::Smtp,
            ..mailrig_smtp::Config::default()
        };
        if let Some(Defect::Smtp(defect)) = self.defect {
            config.defects.insert(defect);
        }
        config
    }
}

impl Target for Servers {
    fn connect(&mut self, session: &str, protocol: Protocol) {
        let conn = match protocol {
            Protocol::Imap | Protocol::Imaps => {
                let mut imap = mailrig_imap::Session::new(self.imap_config(), self.store.clone());
                imap.set_time(NOW);
                Conn::Imap(imap)
            }
            Protocol::Smtp | Protocol::Submission | Protocol::Smtps => {
                let backend = StoreBackend::new(self.store.clone(), self.next_id);
                Conn::Smtp(mailrig_smtp::Session::new(self.smtp_config(protocol)), backend)
            }
        };
        self.next_id += 1;
        self.open.insert(session.to_owned(), Open { conn, closed: false });
    }

    fn send(&mut self, session: &str, bytes: &[u8]) {
        match self.open.get_mut(session).map(|open| &mut open.conn) {
            Some(Conn::Imap(imap)) => imap.handle_input(bytes),
            Some(Conn::Smtp(smtp, backend)) => smtp.handle_input(bytes, backend),
            None => {}
        }
    }

    /// Drains the session's output. For an IDLEing IMAP session `poll_output` also pushes
    /// other sessions' changes (EXISTS after an SMTP delivery), as the waker would trigger.
    fn receive(&mut self, session: &str) -> Vec<Vec<u8>> {
        let mut writes = Vec::new();
        let Some(open) = self.open.get_mut(session) else {
            return writes;
        };
        match &mut open.conn {
            Conn::Imap(imap) => {
                let mut group: Option<Vec<u8>> = None;
                while let Some(output) = imap.poll_output() {
                    match output {
                        // One write per command's responses, as the session used to emit them.
                        mailrig_imap::Output::Response { to, kind, bytes, .. } => {
                            let ends = !matches!(kind, mailrig_imap::Kind::Untagged)
                                || to == mailrig_imap::Step::Greeting
                                || to == mailrig_imap::Step::Shutdown;
                            match (&mut group, ends) {
                                (Some(open), _) => open.extend_from_slice(&bytes),
                                (None, _) => group = Some(bytes),
                            }
                            if ends {
                                writes.extend(group.take());
                            }
                        }
                        mailrig_imap::Output::Close => open.closed = true,
                        mailrig_imap::Output::StartTls => {}
                        // In process nothing is compressed: the scenario's bytes stay as they
                        // are (over sockets, the driver deflates both directions).
                        mailrig_imap::Output::StartCompression => {
                            let held = imap.compression_started();
                            imap.handle_input(&held);
                        }
                    }
                }
                // Unsolicited updates (IDLE) end with the drain.
                writes.extend(group);
            }
            Conn::Smtp(smtp, _) => {
                while let Some(output) = smtp.poll_output() {
                    match output {
                        mailrig_smtp::Output::Reply { bytes, .. } => writes.push(bytes),
                        mailrig_smtp::Output::Close => open.closed = true,
                        mailrig_smtp::Output::StartTls => {}
                    }
                }
            }
        }
        writes
    }

    fn start_tls(&mut self, session: &str) {
        match self.open.get_mut(session).map(|open| &mut open.conn) {
            Some(Conn::Imap(imap)) => imap.tls_started(),
            Some(Conn::Smtp(smtp, _)) => smtp.tls_started(),
            None => {}
        }
    }

    fn close(&mut self, session: &str) {
        if let Some(open) = self.open.get_mut(session) {
            open.closed = true;
        }
    }

    fn is_closed(&mut self, session: &str) -> bool {
        self.open.get(session).is_some_and(|open| open.closed)
    }
}

/// The value of `${mailbox}`: a mailbox of alice's that exists when a scenario starts.
pub(crate) const MAILBOX: &str = "mailrig-test";

/// The run variables the shipped scenarios use.
pub(crate) fn vars() -> BTreeMap<String, String> {
    [
        ("user", "alice"),
        ("password", "secret"),
        ("user2", "bob"),
        ("password2", "hunter2"),
        ("mailbox", MAILBOX),
        ("domain", "example.test"),
        ("host", "127.0.0.1"),
        ("port", "143"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}
