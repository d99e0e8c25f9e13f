//! The mail transaction: MAIL, RCPT, DATA or BDAT, RSET, and delivery.
//!
//! Read first: RFC 5321 §3.3 (the transaction), §4.1.1.2–§4.1.1.5 (MAIL, RCPT, DATA, RSET),
//! §4.1.4 (MAIL needs HELO/EHLO first; a second MAIL is out of sequence), §4.3.2 (allowed
//! replies), §6.1 (`250` only once the message is safe), RFC 1870 §6 (`552` for SIZE),
//! RFC 3030 §2 (BDAT), RFC 6531 §3.5 (UTF-8 addresses need `SMTPUTF8`), RFC 4954 §6
//! (`530` when authentication is required).
//!
//! Choices where the RFCs leave one:
//! - DATA or BDAT without an accepted recipient: `503 5.5.1` (RFC 5321 §3.3 allows 503 or 554).
//! - A text line over the limit: the message is read to its end, then refused with
//!   `554 5.6.0` (one of the replies §4.3.2 allows after the message; `500` there would read
//!   as "the final dot was not understood").
//! - A refused BDAT still consumes its chunk (RFC 3030 §2). After `552` for a chunk that
//!   does not fit, the transaction is gone: later chunks get `503`.

use super::{Session, State};
use crate::backend::{Backend, DeliveryError, Envelope, RecipientCheck};
use crate::chunking::{Chunk, Disposition};
use crate::data::{DataError, DataReceiver};
use crate::defect::Defect;
use crate::params::{MailParams, Param, ParamContext, RcptParams};
use crate::reply::Reply;

/// A mail transaction in progress: after MAIL, until the message is done or RSET.
#[derive(Debug)]
pub(super) struct Transaction {
    mail_from: String,
    params: MailParams,
    rcpt_to: Vec<String>,
    rcpt_params: Vec<RcptParams>,
    /// `Some` once a BDAT was accepted: the chunks so far. DATA and RCPT are then refused.
    chunks: Option<Vec<u8>>,
}

impl Transaction {
    /// Appends the octets of an accepted BDAT chunk.
    pub(super) fn append_chunk(&mut self, bytes: &[u8]) {
        self.chunks.get_or_insert_default().extend_from_slice(bytes);
    }

    fn chunk_len(&self) -> u64 {
        self.chunks.as_ref().map_or(0, |c| c.len() as u64)
    }
}

fn bad_sequence(text: &str) -> Reply {
    Reply::with_status(503, [5, 5, 1], text)
}

fn too_big() -> Reply {
    Reply::with_status(552, [5, 3, 4], "Message size exceeds fixed maximum message size")
}

impl Session {
    fn param_context(&self) -> ParamContext<'_> {
        ParamContext {
            extensions: &self.config.extensions,
            ehlo: self.greeting.as_ref().is_some_and(|g| g.extended),
        }
    }

    /// The largest message accepted: the configured limit, or none under
    /// [`Defect::SizeNotEnforced`] (which still advertises the limit).
    fn size_limit(&self) -> Option<usize> {
        if self.config.defects.has(Defect::SizeNotEnforced) {
            return None;
        }
        self.config.max_message_size
    }

    /// `MAIL FROM:<reverse-path> [parameters]`.
    pub(super) fn mail(&mut self, reverse_path: String, params: &[Param]) {
        if self.greeting.is_none() {
            return self.reply(bad_sequence("Send HELO/EHLO first"));
        }
        if self.config.require_auth && self.authenticated_as.is_none() {
            return self.reply(Reply::with_status(530, [5, 7, 0], "Authentication required"));
        }
        if self.transaction.is_some() {
            return self.reply(bad_sequence("Sender already specified"));
        }
        let params = match MailParams::from_params(params, self.param_context()) {
            Ok(params) => params,
            Err(e) => return self.reply(e.reply()),
        };
        if !params.smtputf8 && !reverse_path.is_ascii() {
            return self.reply(non_ascii());
        }
        if let (Some(size), Some(max)) = (params.size, self.size_limit())
            && size > max as u64
        {
            return self.reply(too_big());
        }
        self.transaction = Some(Transaction {
            mail_from: reverse_path,
            params,
            rcpt_to: Vec::new(),
            rcpt_params: Vec::new(),
            chunks: None,
        });
        self.reply(Reply::with_status(250, [2, 1, 0], "Ok"));
    }

    /// `RCPT TO:<forward-path> [parameters]`.
    pub(super) fn rcpt(&mut self, forward_path: String, params: &[Param], backend: &mut dyn Backend) {
        let parsed = RcptParams::from_params(params, self.param_context());
        let Some(t) = &self.transaction else {
            if self.config.defects.has(Defect::RcptWithoutMail) {
                return self.reply(Reply::with_status(250, [2, 1, 5], "Ok"));
            }
            return self.reply(bad_sequence("Need MAIL before RCPT"));
        };
        if t.chunks.is_some() {
            return self.reply(bad_sequence("RCPT not allowed after BDAT"));
        }
        if t.rcpt_to.len() >= self.config.max_recipients {
            return self.reply(Reply::with_status(452, [4, 5, 3], "Too many recipients"));
        }
        let params = match parsed {
            Ok(params) => params,
            Err(e) => return self.reply(e.reply()),
        };
        if !t.params.smtputf8 && !forward_path.is_ascii() {
            return self.reply(non_ascii());
        }
        if let Some(refusal) = backend.refuse_recipient(&forward_path) {
            return self.reply(refusal);
        }
        let accepted = is_postmaster(&forward_path, backend)
            || self.config.accept_any_recipient
            || backend.recipient(&forward_path) == RecipientCheck::Local;
        if !accepted {
            return self.reply(Reply::with_status(550, [5, 1, 1], "No such user here"));
        }
        if let Some(t) = &mut self.transaction {
            t.rcpt_to.push(forward_path);
            t.rcpt_params.push(params);
        }
        self.reply(Reply::with_status(250, [2, 1, 5], "Ok"));
    }

    /// `RSET`: drop the transaction, keep HELO and authentication (RFC 5321 §4.1.1.5).
    pub(super) fn rset(&mut self) {
        if !self.config.defects.has(Defect::RsetKeepsTransaction) {
            self.transaction = None;
        }
        self.reply(Reply::with_status(250, [2, 0, 0], "Ok"));
    }

    /// `DATA`: `354`, then the message text.
    pub(super) fn data(&mut self) {
        if let Some(refusal) = self.refuse_content() {
            return self.reply(refusal);
        }
        if self.transaction.as_ref().is_some_and(|t| t.chunks.is_some()) {
            return self.reply(bad_sequence("DATA cannot be mixed with BDAT"));
        }
        self.reply(Reply::plain(354, "End data with <CR><LF>.<CR><LF>"));
        let buffer = std::mem::take(&mut self.spare);
        let receiver = DataReceiver::with_buffer(
            buffer,
            self.size_limit(),
            self.config.max_line_len,
            self.config.defects,
        );
        self.state = State::Data(Box::new(receiver));
    }

    /// `BDAT size [LAST]`: read the chunk whatever happens, then reply.
    pub(super) fn bdat(&mut self, size: u64, last: bool, backend: &mut dyn Backend) {
        if !self.config.extensions.chunking {
            return self.reply(Reply::with_status(502, [5, 5, 1], "BDAT not available"));
        }
        let disposition = self.chunk_disposition(size);
        if disposition == Disposition::Keep
            && let Some(t) = &mut self.transaction
        {
            t.chunks.get_or_insert_default();
        }
        self.state = State::Bdat(Chunk::new(size, last, disposition));
        if size == 0 {
            self.end_of_chunk(backend);
        }
    }

    /// Whether a chunk of `size` octets may join the message.
    fn chunk_disposition(&self, size: u64) -> Disposition {
        if let Some(refusal) = self.refuse_content() {
            return Disposition::Refuse(refusal);
        }
        let have = self.transaction.as_ref().map_or(0, Transaction::chunk_len);
        match self.size_limit() {
            Some(max) if have.saturating_add(size) > max as u64 => Disposition::Refuse(too_big()),
            _ => Disposition::Keep,
        }
    }

    /// The reply refusing message content now, if there is no transaction with recipients.
    fn refuse_content(&self) -> Option<Reply> {
        match &self.transaction {
            None => Some(bad_sequence("Need MAIL command")),
            Some(t) if t.rcpt_to.is_empty() && !self.config.defects.has(Defect::DataWithoutRcpt) => {
                Some(bad_sequence("Need RCPT command"))
            }
            Some(_) => None,
        }
    }

    /// The end-of-data indicator has been read.
    pub(super) fn end_of_data(&mut self, backend: &mut dyn Backend) {
        let State::Data(receiver) = std::mem::replace(&mut self.state, State::Command) else {
            return;
        };
        let transaction = self.transaction.take();
        match (receiver.finish(), transaction) {
            (Err(DataError::TooBig), _) => self.reply(too_big()),
            (Err(e @ DataError::LineTooLong), _) => {
                self.reply(Reply::with_status(554, [5, 6, 0], e.to_string()))
            }
            (Ok(data), Some(t)) => self.deliver(t, data, false, backend),
            (Ok(_), None) => self.reply(bad_sequence("Need MAIL command")),
        }
    }

    /// The last octet of a chunk has been read.
    pub(super) fn end_of_chunk(&mut self, backend: &mut dyn Backend) {
        let State::Bdat(chunk) = std::mem::replace(&mut self.state, State::Command) else {
            return;
        };
        match chunk.disposition {
            Disposition::Refuse(reply) => {
                if reply.code() == 552 {
                    self.transaction = None;
                }
                self.reply(reply);
            }
            Disposition::Keep if chunk.last && !self.config.defects.has(Defect::BdatLastIgnored) => {
                match self.transaction.take() {
                    Some(mut t) => {
                        let data = t.chunks.take().unwrap_or_default();
                        self.deliver(t, data, true, backend);
                    }
                    None => self.reply(bad_sequence("Need MAIL command")),
                }
            }
            Disposition::Keep => {
                let text = format!("{} octets received", chunk.size);
                self.reply(Reply::with_status(250, [2, 0, 0], text));
            }
        }
    }

    /// Hands the message to the backend; `250` only if it took it.
    fn deliver(&mut self, t: Transaction, data: Vec<u8>, chunked: bool, backend: &mut dyn Backend) {
        let envelope = Envelope {
            mail_from: t.mail_from,
            rcpt_to: t.rcpt_to,
            rcpt_params: t.rcpt_params,
            data,
            params: t.params,
            authenticated_as: self.authenticated_as.clone(),
            helo: self.greeting.as_ref().map(|g| g.name.clone()),
            tls: self.tls,
            chunked,
        };
        let reply = match backend.deliver(&envelope) {
            Ok(()) => Reply::with_status(250, [2, 0, 0], "Ok: queued"),
            Err(DeliveryError::Temporary(text)) => Reply::with_status(451, [4, 3, 0], text),
            Err(DeliveryError::Permanent(text)) => Reply::with_status(554, [5, 3, 0], text),
            Err(DeliveryError::Refused(reply)) => reply,
        };
        // The backend copied what it keeps; the buffer serves the next message unless it is
        // large (then it goes, so an idle session does not hold a big message's worth).
        if envelope.data.capacity() <= SPARE_LIMIT {
            self.spare = envelope.data;
        }
        self.reply(reply);
    }
}

/// The largest message buffer a session keeps for its next message.
const SPARE_LIMIT: usize = 256 * 1024;

/// RFC 6531 §3.5: a UTF-8 address in a transaction without `SMTPUTF8`.
fn non_ascii() -> Reply {
    Reply::with_status(553, [5, 6, 7], "Non-ASCII address requires SMTPUTF8")
}

/// `<Postmaster>`, or `postmaster` (any case) at a domain the backend delivers for (RFC 5321
/// §4.5.1, §4.1.1.3).
fn is_postmaster(forward_path: &str, backend: &mut dyn Backend) -> bool {
    match forward_path.rsplit_once('@') {
        None => forward_path.eq_ignore_ascii_case("postmaster"),
        Some((local, domain)) => local.eq_ignore_ascii_case("postmaster") && backend.local_domain(domain),
    }
}
