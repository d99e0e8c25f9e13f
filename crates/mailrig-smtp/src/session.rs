//! The SMTP server session: bytes in, replies and driver actions out. No I/O, no clock.
//!
//! Read first: RFC 5321 §3.1–§3.3 (session, greeting, mail transaction), §4.1.4 (command
//! order), §4.3.2 (which replies each command may get), RFC 2920 §3 (pipelining: every
//! command gets its own reply, in order), RFC 3207 §4.2 (after STARTTLS: discard plaintext,
//! reset the session).
//!
//! The input loop hands bytes to whatever the [`State`] says comes next: command lines,
//! message text after DATA, a BDAT chunk, SASL responses, or nothing (waiting for TLS,
//! closed). Command handling is split by topic: [`ehlo`] (HELO/EHLO), [`transaction`]
//! (MAIL, RCPT, DATA, BDAT, RSET), [`starttls`], [`auth`].
//!
//! The phase is not a state of its own (as in the usual `ExpectMail`, `ExpectRcpt`, `Data`
//! state machine): [`State`] says
//! how to read the next bytes, and the transaction phase is [`Session::transaction`]: `None`
//! (expect MAIL), no recipients yet (expect RCPT), recipients (expect RCPT, DATA or BDAT).
//! HELO, AUTH, RSET, NOOP and friends are valid in every phase, and BDAT chunks alternate
//! with commands inside one transaction, so splitting the phase across input modes would
//! repeat every command handler per phase.

mod auth;
mod ehlo;
mod starttls;
mod transaction;

use std::collections::VecDeque;

use crate::backend::Backend;
use crate::chunking::Chunk;
use crate::command::{Command, Syntax, Verb};
use crate::config::Config;
use crate::data::DataReceiver;
use crate::defect::Defect;
use crate::line::{Framed, LineReader};
use crate::path::strip_prefix_ci;
use crate::reply::Reply;
use crate::sasl::Exchange;

use transaction::Transaction;

/// What the session asks its driver to do, in order. See [`Session::poll_output`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Write exactly one complete reply (possibly multi-line), so a fault layer can delay,
    /// split, corrupt or replace any single reply.
    Reply {
        /// What it answers.
        to: Step,
        /// Its reply code (RFC 5321 §4.2): 3xx asks for more (354 after DATA, 334 in AUTH).
        code: u16,
        /// The bytes to write.
        bytes: Vec<u8>,
    },
    /// Run the server side of the TLS handshake now (everything before this has been written),
    /// then call [`Session::tls_started`]. Input received until then is discarded.
    StartTls,
    /// Close the connection (after writing everything before this).
    Close,
}

/// What a reply answers: the protocol step a fault rule can key on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The `220` greeting (RFC 5321 §3.1).
    Greeting,
    /// A command line, by its verb: each RCPT, DATA's `354`, AUTH's first challenge.
    Command(Verb),
    /// The end of a message: DATA's final dot (RFC 5321 §4.1.1.4).
    MessageEnd,
    /// A BDAT chunk, once all its octets arrived (RFC 3030 §2).
    Chunk,
    /// A SASL response line during AUTH (RFC 4954 §4).
    SaslResponse,
    /// A line that is not a command: a syntax error, an unknown verb, or too long.
    Unknown,
    /// `421` because the server shuts down or the client idled too long (RFC 5321 §3.8).
    Shutdown,
}

/// A sans-IO SMTP server session for one connection.
///
/// The driver loop: read bytes → [`handle_input`](Session::handle_input) → drain
/// [`poll_output`](Session::poll_output) until `None`, performing each [`Output`] in order →
/// repeat. Commands are processed in the order they arrive, however the input is split and
/// however many arrive at once (RFC 2920), and each gets exactly one reply.
///
/// ```
/// use mailrig_smtp::{Backend, Config, DeliveryError, Envelope, Output, RecipientCheck, Session};
///
/// struct Sink(Vec<Envelope>);
/// impl Backend for Sink {
///     fn authenticate(&mut self, _: &str, _: &str) -> bool { false }
///     fn cram_md5_secret(&mut self, _: &str) -> Option<String> { None }
///     fn check_token(&mut self, _: &str, _: &str) -> bool { false }
///     fn recipient(&mut self, _: &str) -> RecipientCheck { RecipientCheck::Local }
///     fn local_domain(&mut self, _: &str) -> bool { true }
///     fn deliver(&mut self, e: &Envelope) -> Result<(), DeliveryError> {
///         self.0.push(e.clone());
///         Ok(())
///     }
/// }
///
/// let mut session = Session::new(Config::default());
/// let mut sink = Sink(Vec::new());
/// session.handle_input(
///     b"HELO client.example\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n\
///       DATA\r\nHi\r\n.\r\nQUIT\r\n",
///     &mut sink,
/// );
/// let mut codes = Vec::new();
/// while let Some(output) = session.poll_output() {
///     if let Output::Reply { code, .. } = output {
///         codes.push(code.to_string());
///     }
/// }
/// assert_eq!(codes, ["220", "250", "250", "250", "354", "250", "221"]);
/// assert_eq!(sink.0[0].data, b"Hi\r\n");
/// assert!(session.is_closed());
/// ```
#[derive(Debug)]
pub struct Session {
    config: Config,
    state: State,
    /// The HELO/EHLO argument and whether it was EHLO; reset by STARTTLS.
    greeting: Option<Greeting>,
    authenticated_as: Option<String>,
    tls: bool,
    /// The mail transaction in progress, from MAIL to the end of the message or RSET.
    transaction: Option<Transaction>,
    reader: LineReader,
    output: VecDeque<Output>,
    /// What the replies queued now answer.
    step: Step,
    discarded_after_starttls: usize,
    /// [`Defect::SmtpStartTlsInjection`]: plaintext received behind STARTTLS, kept to be run
    /// after the handshake. Always empty in a correct session.
    held: Vec<u8>,
    /// AUTH commands started, for unique CRAM-MD5 challenges.
    auth_attempts: u64,
    /// The last message's buffer, emptied, for the next DATA: a busy session then does not
    /// allocate (and free) a message-sized buffer per message.
    spare: Vec<u8>,
}

/// What the next input bytes are.
#[derive(Debug)]
enum State {
    /// Command lines.
    Command,
    /// Message text after `354`, up to `<CRLF>.<CRLF>`.
    Data(Box<DataReceiver>),
    /// The octets of a BDAT chunk.
    Bdat(Chunk),
    /// SASL responses after a `334` challenge.
    Auth(Exchange),
    /// Nothing: `220` to STARTTLS was sent; waiting for [`Session::tls_started`].
    AwaitingTls,
    /// Nothing: the session is over.
    Closed,
}

/// What the client said in HELO or EHLO.
#[derive(Debug, Clone)]
struct Greeting {
    name: String,
    /// EHLO rather than HELO: extensions are in use.
    extended: bool,
}

impl Session {
    /// A new session; the `220` greeting is queued at once (RFC 5321 §3.1). With
    /// [`Config::implicit_tls`] the driver completes the TLS handshake before writing it.
    pub fn new(config: Config) -> Session {
        let tls = config.implicit_tls;
        let greeting = Reply::plain(220, format!("{} {}", config.hostname, config.greeting));
        let mut session = Session {
            config,
            state: State::Command,
            greeting: None,
            authenticated_as: None,
            tls,
            transaction: None,
            reader: LineReader::default(),
            output: VecDeque::new(),
            step: Step::Greeting,
            discarded_after_starttls: 0,
            held: Vec::new(),
            auth_attempts: 0,
            spare: Vec::new(),
        };
        session.reply(greeting);
        session
    }

    /// Processes bytes received from the client: every complete command (or message, chunk,
    /// SASL response) they finish, in order. An incomplete line is kept for the next call, up
    /// to the configured line limit. Never panics and never buffers more than the configured
    /// limits; the replies queued are proportional to `input`, so pass what one read returned
    /// and drain [`poll_output`](Session::poll_output) afterwards.
    ///
    /// Bytes received after STARTTLS's `220` and before [`tls_started`](Session::tls_started)
    /// are discarded unexecuted (RFC 3207 §4.2), as is everything after the session closed.
    pub fn handle_input(&mut self, input: &[u8], backend: &mut dyn Backend) {
        if !self.held.is_empty() && !matches!(self.state, State::AwaitingTls) {
            // Defect::SmtpStartTlsInjection: the plaintext held since STARTTLS runs first.
            let mut held = std::mem::take(&mut self.held);
            held.extend_from_slice(input);
            return self.handle_input(&held, backend);
        }
        let mut input = input;
        while !input.is_empty() {
            match &mut self.state {
                State::Closed => return,
                State::AwaitingTls if self.config.defects.has(Defect::SmtpStartTlsInjection) => {
                    self.held.extend_from_slice(input);
                    return;
                }
                State::AwaitingTls => {
                    self.discarded_after_starttls += input.len();
                    return;
                }
                State::Data(receiver) => {
                    if receiver.feed(&mut input) {
                        self.step = Step::MessageEnd;
                        self.end_of_data(backend);
                    }
                }
                State::Bdat(chunk) => {
                    let taken = chunk.take(&mut input);
                    if chunk.disposition == crate::chunking::Disposition::Keep
                        && let Some(t) = &mut self.transaction
                    {
                        t.append_chunk(taken);
                    }
                    if chunk.is_complete() {
                        self.step = Step::Chunk;
                        self.end_of_chunk(backend);
                    }
                }
                State::Auth(_) => {
                    let cap = self.config.max_auth_line_len;
                    if let Some(framed) = self.reader.read(&mut input, cap) {
                        self.step = Step::SaslResponse;
                        self.auth_response(framed, backend);
                    }
                }
                State::Command => {
                    let cap = self.command_cap();
                    if let Some(framed) = self.reader.read(&mut input, cap) {
                        self.step = Step::Unknown;
                        self.command_line(framed, backend);
                    }
                }
            }
        }
    }

    /// The next thing for the driver to do, in order; `None` when there is nothing left.
    /// Call it until `None` after [`new`](Session::new), after every
    /// [`handle_input`](Session::handle_input), and after [`shutdown`](Session::shutdown).
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        self.output.pop_front()
    }

    /// The driver finished the TLS handshake. After [`Output::StartTls`], the session starts
    /// over as RFC 3207 §4.2 requires: no HELO/EHLO, not authenticated, no transaction, no
    /// buffered input, and STARTTLS no longer offered. At any other time this only records
    /// that the connection is now encrypted.
    pub fn tls_started(&mut self) {
        self.tls = true;
        if matches!(self.state, State::AwaitingTls) {
            self.state = State::Command;
            self.greeting = None;
            self.authenticated_as = None;
            self.transaction = None;
            self.reader = LineReader::default();
        }
    }

    /// The server is going away (shutdown, idle timeout): queues `421` and
    /// [`Output::Close`] (RFC 5321 §3.8), unless the session is already closed.
    pub fn shutdown(&mut self) {
        if self.is_closed() {
            return;
        }
        let text = format!(
            "{} Service not available, closing transmission channel",
            self.config.hostname
        );
        self.step = Step::Shutdown;
        self.reply(Reply::with_status(421, [4, 3, 2], text));
        self.close();
    }

    /// The session has queued [`Output::Close`]: after QUIT or [`shutdown`](Session::shutdown).
    /// Later input is ignored.
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// How many bytes were thrown away unexecuted after STARTTLS's `220`: plaintext pipelined
    /// behind STARTTLS (a command injection attempt, CVE-2011-0411) or sent before the
    /// handshake.
    pub fn discarded_after_starttls(&self) -> usize {
        self.discarded_after_starttls
    }

    /// Whether the connection is encrypted (implicit TLS or after STARTTLS).
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The user the client authenticated as, if it has.
    pub fn authenticated_as(&self) -> Option<&str> {
        self.authenticated_as.as_deref()
    }

    /// Queues one reply, with its enhanced status code if they are in use: ENHANCEDSTATUSCODES
    /// is on and was advertised, i.e. the client sent EHLO (RFC 2034 §3).
    fn reply(&mut self, reply: Reply) {
        let enhanced = self.config.extensions.enhanced_status_codes
            && self.greeting.as_ref().is_some_and(|g| g.extended);
        let mut out = Vec::new();
        reply.encode(enhanced, &mut out);
        if self.config.defects.has(Defect::MultilineWithoutContinuation) {
            // Every line says it is the last: `250 ` where `250-` belongs.
            for line in out.split_mut(|&b| b == b'\n') {
                if line.get(3) == Some(&b'-') {
                    line[3] = b' ';
                }
            }
        }
        self.output.push_back(Output::Reply {
            to: self.step,
            code: reply.code(),
            bytes: out,
        });
    }

    /// Queues [`Output::Close`]; nothing more will be read.
    fn close(&mut self) {
        self.output.push_back(Output::Close);
        self.state = State::Closed;
    }

    /// The most a command line may take in the reader. With lenient syntax an AUTH line may
    /// be as long as a SASL response, so the reader's cap is the larger of the two and
    /// [`command_line`](Session::command_line) checks other verbs against the normal limit.
    fn command_cap(&self) -> usize {
        if self.config.lenient_syntax {
            self.config.max_line_len.max(self.config.max_auth_line_len)
        } else {
            self.config.max_line_len
        }
    }

    fn command_line(&mut self, framed: Framed, backend: &mut dyn Backend) {
        let line_too_long = || Reply::with_status(500, [5, 5, 6], "Line too long");
        let line = match framed {
            Framed::TooLong => return self.reply(line_too_long()),
            Framed::Line(line) => line,
        };
        let is_auth = std::str::from_utf8(&line).is_ok_and(|l| strip_prefix_ci(l, "AUTH ").is_some());
        if line.len() + 2 > self.config.max_line_len.max(3) && !is_auth {
            return self.reply(line_too_long());
        }
        let syntax = Syntax {
            lenient: self.config.lenient_syntax,
            utf8_domains: self.config.extensions.smtputf8,
        };
        match Command::parse(&line, syntax) {
            Ok(command) => {
                self.step = Step::Command(command.verb());
                self.dispatch(command, backend);
            }
            Err(error) => self.reply(error.reply()),
        }
    }

    fn dispatch(&mut self, command: Command, backend: &mut dyn Backend) {
        match command {
            Command::Helo(name) => self.helo(name, false),
            Command::Ehlo(name) => self.helo(name, true),
            Command::Mail { reverse_path, params } => self.mail(reverse_path, &params),
            Command::Rcpt { forward_path, params } => self.rcpt(forward_path, &params, backend),
            Command::Data => self.data(),
            Command::Bdat { size, last } => self.bdat(size, last, backend),
            Command::Rset => self.rset(),
            Command::Noop => self.reply(Reply::with_status(250, [2, 0, 0], "Ok")),
            Command::Quit => {
                if !self.config.defects.has(Defect::QuitWithout221) {
                    let text = format!("{} closing connection", self.config.hostname);
                    self.reply(Reply::with_status(221, [2, 0, 0], text));
                }
                self.close();
            }
            // RFC 5321 §3.5.3: 252 when the server will not verify but will accept mail.
            Command::Vrfy => self.reply(Reply::with_status(
                252,
                [2, 0, 0],
                "Cannot VRFY user, but will accept message and attempt delivery",
            )),
            Command::Expn => self.reply(Reply::with_status(502, [5, 5, 1], "EXPN not available")),
            Command::Help => self.reply(Reply::with_status(214, [2, 0, 0], self.help_text())),
            Command::StartTls => self.starttls(),
            Command::Auth {
                mechanism,
                initial_response,
            } => self.auth(&mechanism, initial_response.as_deref(), backend),
        }
    }

    /// The commands this personality implements, for HELP (RFC 5321 §4.1.1.8).
    fn help_text(&self) -> String {
        let ext = &self.config.extensions;
        let mut verbs = vec!["HELO", "EHLO", "MAIL", "RCPT", "DATA"];
        verbs.extend(ext.chunking.then_some("BDAT"));
        verbs.extend(["RSET", "NOOP", "QUIT", "VRFY", "HELP"]);
        verbs.extend(ext.starttls.then_some("STARTTLS"));
        verbs.extend((!ext.auth.is_empty()).then_some("AUTH"));
        format!("Commands: {}", verbs.join(" "))
    }
}
