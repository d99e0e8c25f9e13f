//! The IMAP server session: bytes in, responses and driver actions out. No I/O, no clock.
//!
//! Read first: RFC 9051 §3 (states: not authenticated, authenticated, selected, logout),
//! §2.2.2 (every command ends with a tagged response), §6.1 (any-state commands), §6.2
//! (STARTTLS, AUTHENTICATE, LOGIN), §7.1 (status responses), RFC 4959 (SASL-IR).
//!
//! Like the SMTP session, [`Mode`] says how the next input is read (commands, a SASL
//! response, IDLE's DONE, nothing while TLS starts); the protocol state is the pair
//! (`login`, `selected`), because most commands are valid in several states and only
//! their checks differ. The not-authenticated commands are in [`auth`].

mod auth;
mod compress;
mod oauth;

use std::collections::VecDeque;
use std::sync::Arc;

use mailrig_store::{SEPARATOR, Store};

use crate::command::{self, Command, Needs, Token, Verb};
use crate::completion::{Completion, Refusal};
use crate::condstore::Condstore;
use crate::config::{Config, Versions};
use crate::data::{Data, DataKind};
use crate::defect::Defect;
use crate::error::SyntaxError;
use crate::extension::{EXTENSIONS, Listed};
use crate::framing::{Frame, Framer};
use crate::notify::Notify;
use crate::response::{Entry, Kind, Responses, Status, Step, condition_bytes};
use crate::selected::Selected;
use crate::storage::StorageHook;

/// What the session asks its driver to do, in order. See [`Session::poll_output`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Write one complete response (RFC 9051 §2.2.2): an untagged response, a continuation
    /// request or a tagged completion, CRLF included (and any literals inside it), so a fault
    /// layer can delay, split, corrupt, replace or add any single response.
    Response {
        /// What it answers.
        to: Step,
        /// Untagged, continuation request or tagged completion.
        kind: Kind,
        /// Which data response it is (`* 3 FETCH ...` is [`DataKind::Fetch`]); `None` for
        /// status responses, continuation requests and completions.
        data: Option<DataKind>,
        /// The bytes to write.
        bytes: Vec<u8>,
    },
    /// Run the server side of the TLS handshake now, then call [`Session::tls_started`].
    /// Input received until then is discarded.
    StartTls,
    /// Compress both directions with raw DEFLATE (RFC 1951) from now on (RFC 4978 §4: flush
    /// the compressor after each batch of responses so the client can read them), then call
    /// [`Session::compression_started`] and hand back what it returns, inflated. Keep feeding
    /// and taking uncompressed protocol bytes.
    StartCompression,
    /// Close the connection (after writing everything before this).
    Close,
}

/// The driver's wake-up call (a newtype only so that [`Session`] stays `Debug`).
#[derive(Clone)]
pub(crate) struct Waker(pub(crate) Arc<dyn Fn() + Send + Sync>);

impl std::fmt::Debug for Waker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Waker")
    }
}

/// How many bytes of responses may wait in a session's queue before it stops reading further
/// commands (one response may be larger: a whole message).
pub const OUTPUT_HIGH_WATER: usize = 256 * 1024;

/// A sans-IO IMAP server session for one connection.
///
/// The driver loop: read bytes → [`handle_input`](Session::handle_input) → drain
/// [`poll_output`](Session::poll_output) until `None`, performing each [`Output`] in order.
/// While the client IDLEs, also call `poll_output` when the waker registered with
/// [`Session::set_waker`] runs (or whenever [`Session::has_pending_updates`] says so): it
/// pushes other sessions' changes.
#[derive(Debug)]
pub struct Session {
    pub(crate) config: Config,
    pub(crate) store: Store,
    framer: Framer,
    mode: Mode,
    tls: bool,
    /// The authenticated user (authenticated and selected states).
    pub(crate) login: Option<String>,
    /// The selected mailbox (selected state).
    pub(crate) selected: Option<Selected>,
    output: VecDeque<Output>,
    /// Installed on each selection's watch ([`Session::set_waker`]).
    pub(crate) waker: Option<Waker>,
    /// Bytes of `Output::Response`s in `output`.
    queued: usize,
    /// Input received but not read yet: held back while `queued` is above
    /// [`OUTPUT_HIGH_WATER`], so a client that pipelines commands and stops reading cannot
    /// make the session queue their responses without bound.
    unread: Vec<u8>,
    /// Unix seconds, as last told by the driver (APPEND's default internal date).
    pub(crate) now: i64,
    /// Whether the session speaks IMAP4rev2 (from the start, or since `ENABLE IMAP4rev2`).
    pub(crate) rev2: bool,
    /// Whether CONDSTORE or QRESYNC is on (RFC 7162).
    pub(crate) condstore: Condstore,
    /// Whether COMPRESS DEFLATE was accepted (RFC 4978).
    compressed: bool,
    /// The events NOTIFY SET asked for (RFC 5465); `None` before it and after NOTIFY NONE.
    pub(crate) notify: Option<Box<Notify>>,
}

/// How the next input is read.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Mode {
    /// Command lines.
    Commands,
    /// An AUTHENTICATE response line for the command with this tag, at this step.
    Sasl(String, auth::SaslStep),
    /// `DONE` ends the IDLE command with this tag (RFC 2177).
    Idle(String),
    /// STARTTLS was accepted: everything is discarded until TLS starts.
    AwaitTls,
    /// COMPRESS was accepted: input waits, unread, until the driver compresses.
    AwaitCompression,
    /// LOGOUT or shutdown: nothing more is read.
    Closed,
}

impl Session {
    /// A new session over `store`; the greeting is queued.
    pub fn new(config: Config, store: Store) -> Session {
        let tls = config.implicit_tls;
        let max_literal = if config.defects.has(Defect::LiteralLimitIgnored) {
            usize::MAX
        } else {
            config.max_literal
        };
        let mut framer = Framer::new(config.max_line, max_literal);
        framer.set_non_sync_limit(if config.extensions.literal_plus {
            None
        } else if config.versions == Versions::Rev1 {
            Some(0)
        } else {
            // RFC 9051 §4.3: IMAP4rev2 includes LITERAL- (RFC 7888 §5).
            Some(4096)
        });
        framer.set_continue_non_sync(config.defects.has(Defect::LiteralPlusContinuation));
        let rev2 = config.versions == Versions::Rev2;
        let mut session = Session {
            config,
            // Its own actor: NOTIFY leaves out what this session did (RFC 5465 §5).
            store: store.actor(),
            framer,
            mode: Mode::Commands,
            tls,
            login: None,
            selected: None,
            output: VecDeque::new(),
            waker: None,
            queued: 0,
            unread: Vec::new(),
            now: 0,
            rev2,
            condstore: Condstore::Off,
            compressed: false,
            notify: None,
        };
        session.login = session.config.preauth.clone();
        let status = if session.login.is_some() {
            DataKind::Preauth
        } else {
            DataKind::Ok
        };
        let code = format!("CAPABILITY {}", session.capabilities());
        let greeting = condition_bytes(status, Some(&code), &session.config.greeting);
        session.queue(
            Step::Greeting,
            Entry {
                kind: Kind::Untagged,
                data: Some(status),
                bytes: greeting,
            },
        );
        session
    }

    /// Handles bytes from the client. Commands are executed in order as soon as they are
    /// complete; responses are queued for [`Session::poll_output`]. While more than
    /// [`OUTPUT_HIGH_WATER`] bytes of responses wait, further commands wait too (they run as
    /// [`Session::poll_output`] drains the queue), so memory stays bounded whatever the client
    /// pipelines.
    pub fn handle_input(&mut self, input: &[u8]) {
        self.unread.extend_from_slice(input);
        self.read_input();
    }

    /// Executes the commands in `unread` until it is used up or the output queue is full.
    fn read_input(&mut self) {
        let input = std::mem::take(&mut self.unread);
        let mut used = 0;
        while used < input.len() {
            if self.mode == Mode::AwaitCompression {
                // Compressed already: the driver inflates it (`compression_started`).
                break;
            }
            if matches!(self.mode, Mode::AwaitTls | Mode::Closed) {
                if self.mode == Mode::AwaitTls && self.config.defects.has(Defect::ImapStartTlsInjection) {
                    // The plaintext stays in `unread` and runs once TLS has started.
                    break;
                }
                // RFC 9051 §6.2.1: plaintext pipelined behind STARTTLS is never executed.
                used = input.len();
                break;
            }
            if self.queued > OUTPUT_HIGH_WATER {
                break;
            }
            let (frame, n) = self.framer.next(&input[used..]);
            used += n;
            let command = matches!(frame, Some(Frame::Command(_)));
            if let Some(frame) = frame {
                self.frame(frame);
            }
            if command && self.config.defects.has(Defect::PipelinedCommandsDropped) {
                // The rest of this read is lost.
                used = input.len();
                break;
            }
        }
        self.unread = input;
        self.unread.drain(..used);
    }

    /// The next thing to do, or `None` when there is nothing until more input arrives (or,
    /// while the client IDLEs, until the store changes). Call it after every
    /// [`Session::handle_input`] and whenever the waker set by [`Session::set_waker`] runs.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        if self.queued <= OUTPUT_HIGH_WATER && !self.unread.is_empty() {
            self.read_input();
        }
        if self.output.is_empty()
            && matches!(self.mode, Mode::Idle(_))
            && !self.config.defects.has(Defect::IdlePushesNothing)
        {
            let mut out = Responses::default();
            self.sync(&mut out, true);
            self.push_events(&mut out);
            self.emit(Step::Command(Verb::Idle), out);
            if self.mode == Mode::Closed {
                self.output.push_back(Output::Close);
            }
        }
        let next = self.output.pop_front();
        if let Some(Output::Response { bytes, .. }) = &next {
            self.queued = self.queued.saturating_sub(bytes.len());
        }
        next
    }

    /// The TLS handshake the session asked for with [`Output::StartTls`] is done: read
    /// commands again (RFC 9051 §6.2.1: no new greeting).
    pub fn tls_started(&mut self) {
        self.tls = true;
        self.framer.reset();
        if self.mode == Mode::AwaitTls {
            self.mode = Mode::Commands;
        }
    }

    /// Ends the session from the server side (shutdown): `* BYE`, then close.
    pub fn shutdown(&mut self) {
        if self.mode != Mode::Closed {
            self.mode = Mode::Closed;
            let bye = condition_bytes(DataKind::Bye, None, "server shutting down");
            let entry = Entry {
                kind: Kind::Untagged,
                data: Some(DataKind::Bye),
                bytes: bye,
            };
            self.queue(Step::Shutdown, entry);
            self.output.push_back(Output::Close);
        }
    }

    /// Sets the current time (unix seconds), used as APPEND's default internal date.
    pub fn set_time(&mut self, now: i64) {
        self.now = now;
    }

    /// Whether the selected mailbox has changes this session has not reported yet.
    pub fn has_pending_updates(&self) -> bool {
        self.selected.as_ref().is_some_and(Selected::has_pending) || self.has_notify_updates()
    }

    /// Runs `waker` after each later change to the selected mailbox, for this and every later
    /// selection (see [`mailrig_store::Watch::set_waker`]): a driver sets it once and polls
    /// the session whenever it runs.
    pub fn set_waker(&mut self, waker: Arc<dyn Fn() + Send + Sync>) {
        if let Some(selected) = &self.selected {
            selected.watch.set_waker(waker.clone());
        }
        self.set_notify_waker(&waker);
        self.waker = Some(Waker(waker));
    }

    /// Replaces the [`Storage`](crate::Storage) seam this session consults (by default the
    /// one in [`Config::storage`]), e.g. with one made for this connection.
    pub fn set_storage(&mut self, storage: StorageHook) {
        self.config.storage = storage;
    }

    /// Whether the session has ended (LOGOUT or shutdown).
    pub fn is_closed(&self) -> bool {
        self.mode == Mode::Closed
    }

    /// The capabilities to advertise now (RFC 9051 §6.1.1), from the extension table.
    fn capabilities(&self) -> String {
        let mut caps = vec![match self.config.versions {
            Versions::Rev1 => "IMAP4rev1",
            Versions::Rev2 => "IMAP4rev2",
            Versions::Both => "IMAP4rev1 IMAP4rev2",
        }];
        if !self.config.extensions.literal_plus && self.config.versions != Versions::Rev1 {
            // RFC 9051 §4.3: IMAP4rev2 includes LITERAL- (RFC 7888 §5).
            caps.push("LITERAL-");
        }
        let on = |listed: Listed| {
            EXTENSIONS
                .iter()
                .filter(move |e| e.listed == listed && e.is_on(&self.config))
                // RFC 4978 §3: COMPRESS is not listed once compression is active.
                .filter(|e| !(self.compressed && e.commands.contains(&Verb::Compress)))
                // RFC 5267 §4.1: each CONTEXT needs the RETURN syntax it extends.
                .filter(|e| match e.capability {
                    "CONTEXT=SEARCH" => self.context_search(),
                    "CONTEXT=SORT" => self.context_sort(),
                    _ => true,
                })
                .map(|e| e.capability)
        };
        // RFC 7889 §3: one limit for every mailbox, given with the capability.
        let appendlimit = format!("APPENDLIMIT={}", self.config.max_literal);
        let valued = |capability| match capability {
            "APPENDLIMIT" => appendlimit.as_str(),
            // RFC 9208 §3.1: QUOTA with the resources it counts.
            "QUOTA" => "QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE",
            other => other,
        };
        caps.extend(on(Listed::Always).map(valued));
        // RFC 8438; STATUS SIZE is part of IMAP4rev2, and answered in both versions.
        caps.push("STATUS=SIZE");
        if self.login.is_none() {
            let after_tls = self.config.defects.has(Defect::ImapStartTlsAfterTls);
            if !self.tls || after_tls {
                caps.extend(on(Listed::BeforeTls));
            }
            if self.login_disabled() {
                caps.push("LOGINDISABLED");
            } else {
                caps.extend(["AUTH=PLAIN", "AUTH=LOGIN", "AUTH=XOAUTH2", "AUTH=OAUTHBEARER"]);
            }
        }
        caps.join(" ")
    }

    /// Whether the command is offered: those of a switched-off extension are unknown
    /// commands.
    fn offers(&self, verb: Verb) -> bool {
        if matches!(verb, Verb::Thread | Verb::UidThread) {
            let extensions = &self.config.extensions;
            return extensions.thread_orderedsubject || extensions.thread_references;
        }
        if verb == Verb::CancelUpdate {
            return self.context_search() || self.context_sort();
        }
        EXTENSIONS
            .iter()
            .filter(|e| e.commands.contains(&verb))
            .all(|e| e.is_on(&self.config))
    }

    fn login_disabled(&self) -> bool {
        self.config.login_disabled_before_tls && !self.tls
    }

    /// Queues one response that is not data.
    fn push(&mut self, to: Step, kind: Kind, bytes: Vec<u8>) {
        self.queue(
            to,
            Entry {
                kind,
                data: None,
                bytes,
            },
        );
    }

    /// Queues one response.
    fn queue(&mut self, to: Step, Entry { kind, data, bytes }: Entry) {
        self.queued += bytes.len();
        self.output.push_back(Output::Response {
            to,
            kind,
            data,
            bytes,
        });
    }

    /// Queues each of `responses`, answering `to`.
    fn emit(&mut self, to: Step, responses: Responses) {
        for entry in responses.into_list() {
            self.queue(to, entry);
        }
    }

    /// What the command the current mode belongs to answers: AUTHENTICATE's SASL exchange or
    /// IDLE, else `step`.
    fn mode_step(&self, step: Step) -> Step {
        match self.mode {
            Mode::Sasl(..) => Step::Command(Verb::Authenticate),
            Mode::Idle(_) => Step::Command(Verb::Idle),
            _ => step,
        }
    }

    fn frame(&mut self, frame: Frame) {
        match frame {
            Frame::Continue if self.config.defects.has(Defect::LiteralWithoutContinuation) => {}
            Frame::Continue => {
                let ready = b"+ Ready for literal data\r\n".to_vec();
                self.push(Step::Literal, Kind::Continuation, ready);
            }
            Frame::LineTooLong { head } => self.refuse(&head, Refusal::bad("line too long")),
            Frame::LiteralTooBig { head, .. } => {
                self.refuse(&head, Refusal::no("literal too large").with_code("TOOBIG"));
            }
            Frame::NonSyncRefused { head, too_big: true } => {
                let refusal = Refusal::bad("non-synchronizing literal larger than 4096 bytes");
                self.refuse(&head, refusal.with_code("TOOBIG"));
            }
            Frame::NonSyncRefused { head, too_big: false } => {
                self.refuse(
                    &head,
                    Refusal::bad("non-synchronizing literals are not supported"),
                );
            }
            Frame::Command(line) => match std::mem::replace(&mut self.mode, Mode::Commands) {
                Mode::Commands => self.command(line),
                Mode::Sasl(tag, step) => self.sasl_response(&tag, step, &line),
                Mode::Idle(tag) => self.idle_done(&tag, &line),
                mode @ (Mode::AwaitTls | Mode::AwaitCompression | Mode::Closed) => self.mode = mode,
            },
        }
    }

    /// Answers input that was too big: the command it belongs to (a SASL response or IDLE's
    /// DONE belong to the command that asked for them) ends with `text`.
    fn refuse(&mut self, head: &[u8], refusal: Refusal) {
        let to = self.mode_step(Step::Unknown);
        match std::mem::replace(&mut self.mode, Mode::Commands) {
            Mode::Sasl(tag, _) | Mode::Idle(tag) => {
                let mut out = Responses::default();
                out.tagged(&tag, refusal.status(), refusal.code(), refusal.text());
                self.emit(to, out);
            }
            Mode::Commands => self.reject(head, refusal),
            mode @ (Mode::AwaitTls | Mode::AwaitCompression | Mode::Closed) => self.mode = mode,
        }
    }

    /// Answers a command that could not be read with its tag, or `* BAD` without one.
    fn reject(&mut self, line: &[u8], refusal: Refusal) {
        let mut out = Responses::default();
        match command::tag(line) {
            Some(tag) => out.tagged(&tag, refusal.status(), refusal.code(), refusal.text()),
            None => {
                let word = match refusal.status() {
                    Status::Ok => DataKind::Ok,
                    Status::No => DataKind::No,
                    Status::Bad => DataKind::Bad,
                };
                out.condition(word, refusal.code(), refusal.text());
            }
        }
        self.emit(Step::Unknown, out);
    }

    fn command(&mut self, line: Vec<u8>) {
        let tag = command::tag(&line);
        let command = match (command::parse(line), tag) {
            (Ok(command), _) => command,
            (Err(SyntaxError::UnknownCommand), Some(tag)) => {
                // Answered like a command: pending updates first, then the completion.
                let unknown = Refusal::from(SyntaxError::UnknownCommand).into();
                return self.complete(&tag, Step::Unknown, Responses::default(), unknown, true);
            }
            // `reject` reads only the tag from the line.
            (Err(error), tag) => return self.reject(tag.unwrap_or_default().as_bytes(), error.into()),
        };
        let to = Step::Command(command.verb);
        let mut out = Responses::default();
        let mut command = command;
        let completion = self
            .dispatch(&mut command, &mut out)
            .unwrap_or_else(Completion::from);
        if matches!(self.mode, Mode::Sasl(..) | Mode::Idle(_)) {
            // A continuation request: the command completes later.
            return self.emit(to, out);
        }
        // RFC 9051 §7.5.1: no EXPUNGE while responding to FETCH, STORE or SEARCH.
        let expunges = !matches!(
            command.verb,
            Verb::Fetch | Verb::Store | Verb::Search | Verb::Sort | Verb::Thread
        ) || self.config.defects.has(Defect::ExpungeDuringFetch)
            || self.expunges_anytime();
        if command.verb == Verb::Logout {
            return self.complete_without_sync(&command.tag, to, out, completion);
        }
        self.complete(&command.tag, to, out, completion, expunges);
    }

    /// Ends a command: the selected mailbox's pending updates (EXPUNGEs only if `expunges`),
    /// then the tagged completion, then whatever the mode asks of the driver.
    fn complete(&mut self, tag: &str, to: Step, mut out: Responses, completion: Completion, expunges: bool) {
        if self.mode == Mode::Commands {
            self.sync(&mut out, expunges);
            self.push_events(&mut out);
        }
        self.complete_without_sync(tag, to, out, completion);
    }

    /// Ends a command with its tagged completion (RFC 9051 §7.1), the one place it is encoded.
    fn complete_without_sync(&mut self, tag: &str, to: Step, mut out: Responses, completion: Completion) {
        let status = match completion.status {
            Status::Bad if self.config.defects.has(Defect::BadAnsweredAsNo) => Status::No,
            status => status,
        };
        let tag = if self.config.defects.has(Defect::LongTagTruncated) {
            &tag[..tag.len().min(32)]
        } else {
            tag
        };
        out.tagged(tag, status, completion.code.as_deref(), &completion.text);
        self.emit(to, out);
        match self.mode {
            Mode::AwaitTls => self.output.push_back(Output::StartTls),
            Mode::AwaitCompression => self.output.push_back(Output::StartCompression),
            Mode::Closed => self.output.push_back(Output::Close),
            _ => {}
        }
    }

    /// Runs a command; APPEND takes its messages out of `command` rather than copying them.
    fn dispatch(&mut self, command: &mut Command, out: &mut Responses) -> Result<Completion, Refusal> {
        let args = command.args.len();
        let no_args = || {
            if args == 0 {
                Ok(())
            } else {
                Err(Refusal::from(SyntaxError::Arguments))
            }
        };
        if !self.offers(command.verb) {
            return Err(SyntaxError::UnknownCommand.into());
        }
        // RFC 3516 §4.3: `literal8` only in APPEND, and only with BINARY.
        if command.literal8 && !(self.config.extensions.binary && command.verb == Verb::Append) {
            return Err(Refusal::bad("literal8 is not allowed here"));
        }
        match command.verb.needs() {
            Needs::Login => {
                self.authenticated()?;
            }
            Needs::Selection if self.selected.is_none() => {
                return Err(Refusal::bad("no mailbox selected"));
            }
            Needs::Selection | Needs::Nothing => {}
        }
        match command.verb {
            Verb::Capability => {
                no_args()?;
                out.data(Data::Capability(&self.capabilities()));
                Ok(Completion::ok("CAPABILITY completed"))
            }
            Verb::Noop => {
                no_args()?;
                Ok(Completion::ok("NOOP completed"))
            }
            Verb::Check => {
                // RFC 3501 §6.4.1: a selected-state command (a checkpoint is a no-op here).
                if self.selected.is_none() && !self.config.defects.has(Defect::CheckWithoutSelect) {
                    return Err(Refusal::bad("no mailbox selected"));
                }
                no_args()?;
                Ok(Completion::ok("CHECK completed"))
            }
            Verb::Logout => {
                no_args()?;
                out.condition(DataKind::Bye, None, "mailrig logging out");
                self.mode = Mode::Closed;
                self.selected = None;
                Ok(Completion::ok("LOGOUT completed"))
            }
            Verb::Id => {
                // RFC 2971 §4: `id ::= "ID" SPACE id_params_list`, `id_params_list ::= "("
                // #(string SPACE nstring) ")" / nil`: field-value pairs, or NIL.
                let valid = match &command.args[..] {
                    [Token::List(pairs)] => pairs.chunks(2).all(|pair| match pair {
                        [Token::String(_), Token::String(_)] => true,
                        [Token::String(_), value] => is_nil(value),
                        _ => false,
                    }),
                    [nil] => is_nil(nil),
                    _ => false,
                };
                if !valid {
                    return Err(SyntaxError::Arguments.into());
                }
                if !self.config.defects.has(Defect::IdWithoutResponse) {
                    out.data(Data::Id);
                }
                Ok(Completion::ok("ID completed"))
            }
            Verb::Namespace => {
                no_args()?;
                self.authenticated()?;
                // RFC 2342 §5: one personal namespace, no others.
                let separator = if self.config.defects.has(Defect::NamespaceWrongDelimiter) {
                    '.'
                } else {
                    SEPARATOR
                };
                out.data(Data::Namespace(separator));
                Ok(Completion::ok("NAMESPACE completed"))
            }
            Verb::Enable => self.enable(command, out),
            Verb::StartTls => self.starttls(args),
            Verb::Login => self.login_command(command),
            Verb::Authenticate => self.authenticate(command, out),
            Verb::Idle => {
                no_args()?;
                self.authenticated()?;
                out.push(b"+ idling\r\n".to_vec());
                self.mode = Mode::Idle(command.tag.clone());
                Ok(Completion::ok("IDLE"))
            }
            Verb::Select => self.select(command, false, out),
            Verb::Examine => self.select(command, true, out),
            Verb::Create => self.create(command),
            Verb::Delete => self.delete(command),
            Verb::Rename => self.rename(command),
            Verb::Subscribe | Verb::Unsubscribe => self.subscribe(command),
            Verb::List | Verb::Lsub => self.list(command, out),
            Verb::Status => self.status(command, out),
            Verb::Append => self.append(command),
            Verb::Fetch | Verb::UidFetch => self.fetch(command, command.verb.is_uid(), out),
            Verb::Store | Verb::UidStore => self.store_command(command, command.verb.is_uid(), out),
            Verb::Expunge | Verb::UidExpunge => self.expunge(command),
            Verb::Copy | Verb::UidCopy | Verb::Move | Verb::UidMove => self.copy(command, out),
            Verb::Search | Verb::UidSearch => self.search(command, command.verb.is_uid(), out),
            Verb::CancelUpdate => self.cancel_update(command),
            Verb::Close | Verb::Unselect => self.close(command),
            Verb::Compress => self.compress(command),
            Verb::Sort | Verb::UidSort => self.sort(command, command.verb.is_uid(), out),
            Verb::Thread | Verb::UidThread => self.thread(command, command.verb.is_uid(), out),
            Verb::GetQuota => self.get_quota(command, out),
            Verb::GetQuotaRoot => self.get_quota_root(command, out),
            Verb::Notify => self.notify_command(command, out),
        }
    }

    /// `enable = "ENABLE" 1*(SP capability)` (RFC 5161 §3.1, RFC 9051 §6.3.1): valid in the
    /// authenticated state only. `* ENABLED` lists the requested capabilities now enabled;
    /// unknown ones are ignored.
    fn enable(&mut self, command: &Command, out: &mut Responses) -> Result<Completion, Refusal> {
        if command.args.is_empty() {
            return Err(SyntaxError::Arguments.into());
        }
        self.authenticated()?;
        if self.selected.is_some() {
            return Err(Refusal::bad("ENABLE is only valid before SELECT"));
        }
        // RFC 5161 §3.1: `* ENABLED` lists what this command turned on.
        let mut names = Vec::new();
        let mut unknown = Vec::new();
        let mut notes = Responses::default();
        for capability in &command.args {
            let capability = capability.astring().ok_or(SyntaxError::Arguments)?;
            if capability.eq_ignore_ascii_case("IMAP4rev2") {
                if self.config.versions != Versions::Rev1 && !self.rev2 {
                    self.rev2 = true;
                    names.push("IMAP4rev2");
                }
            } else if let Some(name) = self.enable_extension(&capability, &mut notes) {
                names.push(name);
            } else if self.config.defects.has(Defect::EnableListsUnknown) {
                unknown.push(capability);
            }
        }
        names.extend(unknown.iter().map(String::as_str));
        out.data(Data::Enabled(&names));
        out.append(notes);
        Ok(Completion::ok("ENABLE completed"))
    }

    /// Fails unless a user is logged in.
    pub(crate) fn authenticated(&self) -> Result<&str, Refusal> {
        self.login
            .as_deref()
            .ok_or_else(|| Refusal::bad("not authenticated"))
    }

    fn idle_done(&mut self, tag: &str, line: &[u8]) {
        let mut out = Responses::default();
        self.sync(&mut out, true);
        self.push_events(&mut out);
        if line.eq_ignore_ascii_case(b"DONE") {
            out.tagged(tag, Status::Ok, None, "IDLE terminated");
        } else {
            out.tagged(tag, Status::Bad, None, "expected DONE");
        }
        self.emit(Step::Command(Verb::Idle), out);
        if self.mode == Mode::Closed {
            self.output.push_back(Output::Close);
        }
    }

    /// Reports the selected mailbox's changes (see `selected.rs`); a deleted mailbox ends
    /// the session.
    fn sync(&mut self, out: &mut Responses, expunges: bool) {
        let before = self.last_known_uid();
        let Some(selected) = &mut self.selected else {
            return;
        };
        if selected.sync(out, expunges, self.condstore) {
            out.condition(DataKind::Bye, None, "selected mailbox was deleted");
            self.selected = None;
            self.mode = Mode::Closed;
            return;
        }
        self.fetch_new(out, before);
        // RFC 5267 §4.3: ADDTO and REMOVEFROM after the EXISTS and FETCH that caused them.
        self.update_contexts(out);
    }
}

/// Whether `token` is the atom `nil = "NIL"` (case-insensitive).
fn is_nil(token: &Token) -> bool {
    matches!(token, Token::Atom(nil) if nil.eq_ignore_ascii_case("NIL"))
}

#[cfg(test)]
mod tests;
