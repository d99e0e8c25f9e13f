//! The IMAP services: `mailrig_imap::Session` driven over a connection, over the shared store.
//!
//! An IMAP session must also speak when the client is silent: a session in IDLE is told about
//! messages delivered over SMTP or flags changed by another session at once (RFC 9051
//! §6.3.13). The store's change feed calls a waker; the waker notifies the connection's
//! driver ([`conn::Protocol::wakeup`]), which then drains the session's output.
//!
//! With fault rules, each session's storage seam ([`mailrig_imap::Storage`]) asks the
//! connection's fault engine before every operation that changes the store or selects a
//! mailbox, so a rule that answers an APPEND or COPY with `NO` refuses it in the store too:
//! the client is never told NO about a message that was stored (the rule SMTP's backend
//! follows).

use std::sync::Arc;

use mailrig_fault::FaultSet;
use mailrig_imap::{Config, Kind, Operation, Output, Refusal, Session, Storage, StorageHook, Verb};
use mailrig_store::Store;
use mailrig_transcript::scenario::Protocol;
use tokio::sync::Notify;

use crate::conn::{self, Action, FaultHook, Reply, ReplyHook, ReplyKind, Step};
use crate::listen::SessionFactory;
use crate::smtp::unix_now;

/// IMAP behaviour shared by the IMAP listeners of a server.
#[derive(Debug, Clone)]
pub struct ImapOptions {
    /// The session configuration (personality: extensions, limits, policies). Per service,
    /// mailrig sets `implicit_tls`; with TLS off it turns `starttls` and
    /// `login_disabled_before_tls` off (there would be no way to log in).
    pub config: Config,
}

impl Default for ImapOptions {
    /// Secure by default, like the SMTP side: no LOGIN or AUTHENTICATE before TLS
    /// (`LOGINDISABLED`, RFC 9051 §6.2.3).
    fn default() -> Self {
        ImapOptions {
            config: Config {
                login_disabled_before_tls: true,
                ..Config::default()
            },
        }
    }
}

/// Makes the session factory for one IMAP service.
pub(crate) fn imap_factory(
    protocol: Protocol,
    options: &ImapOptions,
    store: Store,
    tls: bool,
    faults: Option<Arc<FaultSet>>,
) -> SessionFactory {
    let mut config = options.config.clone();
    config.implicit_tls = protocol == Protocol::Imaps;
    config.starttls = config.starttls && tls && protocol != Protocol::Imaps;
    config.login_disabled_before_tls = config.login_disabled_before_tls && tls;
    Arc::new(move |_| {
        let mut session = Session::new(config.clone(), store.clone());
        session.set_time(unix_now());
        // Every selection's store watch wakes the connection's driver.
        let wake = Arc::new(Notify::new());
        let notify = wake.clone();
        session.set_waker(Arc::new(move || notify.notify_one()));
        let hook = faults
            .as_ref()
            .map(|set| FaultHook::new(set, mailrig_fault::Protocol::Imap));
        if let Some(hook) = &hook {
            session.set_storage(StorageHook::new(FaultStorage(hook.clone())));
        }
        Box::new(ImapSession { session, wake, hook })
    })
}

impl From<Output> for Action {
    fn from(output: Output) -> Action {
        match output {
            Output::Response {
                to,
                kind,
                data,
                bytes,
            } => Action::Write(Reply {
                step: match to {
                    mailrig_imap::Step::Greeting => Step::Greeting,
                    mailrig_imap::Step::Command(verb) => Step::Command(verb.name()),
                    mailrig_imap::Step::Literal => Step::Literal,
                    mailrig_imap::Step::Unknown => Step::Unknown,
                    mailrig_imap::Step::Shutdown => Step::Shutdown,
                },
                kind: match kind {
                    Kind::Untagged if to == mailrig_imap::Step::Greeting => ReplyKind::Final,
                    Kind::Untagged => ReplyKind::Untagged,
                    Kind::Continuation => ReplyKind::Continuation,
                    Kind::Tagged(_) => ReplyKind::Final,
                },
                data: data.map(mailrig_imap::DataKind::name),
                bytes,
            }),
            Output::StartTls => Action::StartTls,
            Output::StartCompression => Action::StartCompression,
            Output::Close => Action::Close,
        }
    }
}

/// One IMAP connection: the sans-IO session and the notifier its store watch wakes.
struct ImapSession {
    session: Session,
    wake: Arc<Notify>,
    /// The fault rules' state; taken by the driver.
    hook: Option<FaultHook>,
}

impl conn::Protocol for ImapSession {
    fn handle_input(&mut self, input: &[u8]) {
        self.session.set_time(unix_now());
        self.session.handle_input(input);
    }

    fn poll_action(&mut self) -> Option<Action> {
        self.session.poll_output().map(Action::from)
    }

    fn tls_started(&mut self) {
        self.session.tls_started();
    }

    fn compression_started(&mut self) -> Vec<u8> {
        self.session.compression_started()
    }

    fn shutdown(&mut self) {
        self.session.shutdown();
    }

    fn wakeup(&self) -> Option<Arc<Notify>> {
        Some(self.wake.clone())
    }

    fn fault_hook(&mut self) -> Option<Box<dyn ReplyHook>> {
        self.hook.take().map(|hook| Box::new(hook) as Box<dyn ReplyHook>)
    }
}

/// The storage seam of a connection with fault rules: asks the rules before each operation, as
/// the command the operation belongs to.
struct FaultStorage(FaultHook);

impl Storage for FaultStorage {
    fn check(&self, _login: &str, operation: &Operation<'_>) -> Result<(), Refusal> {
        let refusal = self
            .0
            .with(|faults| faults.imap_refusal(Step::Command(verb(operation))));
        let Some(refusal) = refusal else {
            return Ok(());
        };
        let answer = if refusal.bad {
            Refusal::bad(refusal.text)
        } else {
            Refusal::no(refusal.text)
        };
        Err(match refusal.code {
            Some(code) => answer.with_code(code),
            None => answer,
        })
    }
}

/// The command an operation is made for, named as its responses' [`Step`] names it.
fn verb(operation: &Operation<'_>) -> &'static str {
    let verb = match *operation {
        Operation::Select { read_only: false, .. } => Verb::Select,
        Operation::Select { read_only: true, .. } => Verb::Examine,
        Operation::Append { .. } => Verb::Append,
        Operation::Copy {
            moving: false,
            uid: false,
            ..
        } => Verb::Copy,
        Operation::Copy {
            moving: false,
            uid: true,
            ..
        } => Verb::UidCopy,
        Operation::Copy {
            moving: true,
            uid: false,
            ..
        } => Verb::Move,
        Operation::Copy {
            moving: true,
            uid: true,
            ..
        } => Verb::UidMove,
        Operation::Store { uid: false, .. } => Verb::Store,
        Operation::Store { uid: true, .. } => Verb::UidStore,
        Operation::Expunge { uids: None, .. } => Verb::Expunge,
        Operation::Expunge { uids: Some(_), .. } => Verb::UidExpunge,
        Operation::Create { .. } => Verb::Create,
        Operation::Delete { .. } => Verb::Delete,
        Operation::Rename { .. } => Verb::Rename,
        // A new operation: no rule names it yet.
        _ => return "",
    };
    verb.name()
}
