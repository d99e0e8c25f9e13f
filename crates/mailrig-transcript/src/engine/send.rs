//! The engine's own lines: rendering a unit of `C:` (client role) or `S:` (server role)
//! lines, writing them with their `${|}` boundaries and `@sleep`s, and synchronizing literals
//! (RFC 9051 §4.3, §7.5): waiting for the server's `+` before a literal's data, a server that
//! refuses the literal instead, and, playing the server, answering the client's announcements.

use std::collections::VecDeque;

use crate::framing::literal_size;
use crate::pattern::{Bindings, Output, PatternError, render};
use crate::scenario::{Family, Presence, Role, Side, Step, StepKind};
use crate::verify::Run;

use super::{Engine, EngineError, Transmit};

/// The lines of a run mailrig is in the middle of sending.
#[derive(Debug)]
pub(super) struct Sending {
    /// The index of the unit of steps being sent.
    pub(super) at: usize,
    outputs: VecDeque<Output>,
    /// The length of the engine's own stream when the unit started.
    start: usize,
    /// The values bound by rendering the unit (named holes with values).
    bindings: Bindings,
}

/// How far sending a unit got.
pub(super) enum Sent {
    /// Everything is written: check the unit.
    All,
    /// Waiting (for time, or for a `+` continuation request).
    Waiting,
    /// The server answered a synchronizing literal with a completion instead of `+`: the
    /// rest of the unit was not sent, and the unit is done; the next steps judge the answer.
    Refused,
}

/// What arrived while waiting for a `+` continuation request.
enum Continuation {
    Arrived,
    NotYet,
    /// A completion (tagged line) starting at this offset of the server's stream.
    Refused(usize),
    /// The run is over (closed, or the wait ran out).
    Failed,
}

impl Engine {
    /// Sends the lines of the unit at `next` (rendering them first).
    pub(super) fn send_unit(&mut self, session: usize) -> Sent {
        if self.sending.as_ref().is_none_or(|s| s.at != self.next) {
            match self.render_unit() {
                Ok((outputs, bindings)) => {
                    let start = self.run.sessions[session].stream(self.our_side()).bytes.len();
                    self.sending = Some(Sending {
                        at: self.next,
                        outputs,
                        start,
                        bindings,
                    })
                }
                // The session's own responses took the message's number away: a verdict.
                Err(EngineError::Render {
                    source: PatternError::NoSequenceNumber(name),
                    ..
                }) => {
                    let reason = format!(
                        "`${{{name}}}` names a message this session was told is expunged (or whose number a VANISHED response made unknown), so this line cannot be sent"
                    );
                    let failure = self.failure_here(session, &reason);
                    self.finish(Some(failure));
                    return Sent::Waiting;
                }
                Err(e) => {
                    self.result = Some(Err(e));
                    return Sent::Waiting;
                }
            }
        }
        if self.conns[session].sleep_until > self.now {
            return Sent::Waiting;
        }
        let mut pending = Vec::new();
        while let Some(output) = self.sending.as_mut().and_then(|s| s.outputs.pop_front()) {
            match output {
                Output::Bytes(bytes) => pending.extend_from_slice(&bytes),
                Output::Split => self.write(session, &mut pending),
                // Only a client waits for `+` before a literal's data (RFC 9051 §4.3): a
                // server sends its literals straight through.
                Output::AwaitContinuation if self.role == Role::Server => {}
                Output::AwaitContinuation => {
                    self.write(session, &mut pending);
                    match self.continuation(session) {
                        Continuation::Arrived => {}
                        Continuation::NotYet => {
                            if let Some(s) = self.sending.as_mut() {
                                s.outputs.push_front(Output::AwaitContinuation);
                            }
                            self.wait_for(session, Side::Server);
                            return Sent::Waiting;
                        }
                        Continuation::Refused(at) => {
                            self.refused(session, at);
                            return Sent::Refused;
                        }
                        Continuation::Failed => return Sent::Waiting,
                    }
                }
            }
        }
        self.write(session, &mut pending);
        self.sending = None;
        Sent::All
    }

    /// The server refused a synchronizing literal (RFC 9051 §7.5: a server may answer the
    /// announcement with a tagged NO or BAD): what was sent of the unit counts as sent, the
    /// `+` requests before the refusal as received, and the steps after the unit go on.
    fn refused(&mut self, session: usize, at: usize) {
        let Some(sending) = self.sending.take() else {
            return;
        };
        let ours = self.our_side();
        self.run.accept_refused(session, ours, sending.start, at);
        self.run.bindings.extend(sending.bindings);
        let steps: Vec<&Step> = self.scenario.steps().collect();
        self.next = Run::unit_end(&steps, self.next);
        self.wait = None;
        self.last_done = self.now;
    }

    /// Writes what has been gathered, as one write.
    fn write(&mut self, session: usize, pending: &mut Vec<u8>) {
        self.write_answering(session, pending, false);
    }

    /// Writes what has been gathered, as one write, described when asked to be (`literal`:
    /// it is the engine's own `+` for a synchronizing literal).
    fn write_answering(&mut self, session: usize, pending: &mut Vec<u8>, literal: bool) {
        if pending.is_empty() {
            return;
        }
        let bytes = std::mem::take(pending);
        let ours = self.our_side();
        let live = &mut self.run.sessions[session];
        let start = live.stream(ours).bytes.len();
        live.push(ours, &bytes, self.now);
        self.records[session].data(self.now, ours, &bytes[..]);
        let answers = if self.describe {
            let (family, client) = (live.family, live.stream(Side::Client));
            let own = &live.stream(ours).bytes;
            self.trackers[session].describe(family, &client.bytes, client.cursor, own, start, literal)
        } else {
            Vec::new()
        };
        if !self.conns[session].closed_there {
            self.transmits
                .push_back((Transmit::Data { session, bytes }, answers));
        }
    }

    /// The outputs of every line of the unit at `next` that mailrig sends (required and
    /// optional lines; never forbidden ones).
    fn render_unit(&self) -> Result<(VecDeque<Output>, Bindings), EngineError> {
        let steps: Vec<&Step> = self.scenario.steps().collect();
        let end = Run::unit_end(&steps, self.next);
        let mut bindings = self.run.scope(steps[self.next].session);
        let names = self.run.seq_names.clone();
        let mut outputs = VecDeque::new();
        for step in &steps[self.next..end] {
            let StepKind::Line(line) = &step.kind else {
                continue;
            };
            if line.presence == Presence::Forbidden {
                continue;
            }
            let rendered = render(line, &mut bindings).map_err(|source| EngineError::Render {
                line: step.pos.line,
                source: match source {
                    PatternError::Unbound(name) if self.run.seq_names.contains(&name) => {
                        PatternError::NoSequenceNumber(name)
                    }
                    other => other,
                },
            })?;
            outputs.extend(rendered);
        }
        // Message names stay per session: the unit's check binds the ones it captures.
        bindings.retain(|name, _| !names.contains(name));
        Ok((outputs, bindings))
    }

    /// Client role, synchronizing literal: whether the server's `+` has arrived (consumed), not
    /// yet, or the server answered with a completion instead (RFC 9051 §7.5 lets it: the line
    /// ends there and the next steps judge the answer); `Failed` when the run is over.
    fn continuation(&mut self, session: usize) -> Continuation {
        let live = &self.run.sessions[session];
        let stream = live.stream(Side::Server);
        let mut at = self.conns[session].plus_scan.max(stream.cursor);
        let mut refused = None;
        while let Some(len) = complete_line(&stream.bytes[at..], live.family) {
            let line = &stream.bytes[at..at + len];
            if line.starts_with(b"+") {
                self.conns[session].plus_scan = at + len;
                return Continuation::Arrived;
            }
            if !line.starts_with(b"*") {
                refused = Some(at);
                break;
            }
            at += len;
        }
        self.conns[session].plus_scan = at;
        if let Some(at) = refused {
            return Continuation::Refused(at);
        }
        if live.closed_by.is_some() {
            let failure = self.failure_here(
                session,
                "the connection closed while waiting for a `+` continuation request (RFC 9051 §7.5)",
            );
            self.finish(Some(failure));
            return Continuation::Failed;
        }
        let expired = self.wait.is_some_and(|(deadline, ..)| self.now >= deadline);
        if expired || self.expired == Some(self.next) {
            let failure = self.failure_here(
                session,
                "no `+` continuation request arrived for this synchronizing literal (RFC 9051 §7.5)",
            );
            self.finish(Some(failure));
            return Continuation::Failed;
        }
        Continuation::NotYet
    }

    /// Server role, IMAP: answers each synchronizing literal the client has announced with a
    /// `+` continuation request, as a server must before the client sends the data.
    pub(super) fn answer_literals(&mut self, session: usize) {
        if self.run.sessions[session].family != Family::Imap {
            return;
        }
        loop {
            let live = &self.run.sessions[session];
            let bytes = &live.stream(Side::Client).bytes;
            let at = self.conns[session]
                .literal_scan
                .max(live.stream(Side::Client).cursor);
            if at >= bytes.len() {
                return;
            }
            let Some(lf) = bytes[at..].windows(2).position(|w| w == b"\r\n") else {
                return;
            };
            let line = &bytes[at..at + lf];
            let mut next = at + lf + 2;
            if let Some(size) = literal_size(line) {
                next += size;
                if !line.ends_with(b"+}") {
                    let mut plus = b"+ Ready for literal data\r\n".to_vec();
                    self.write_answering(session, &mut plus, true);
                }
            }
            self.conns[session].literal_scan = next;
        }
    }
}

/// The length of the first complete protocol line of `buf`, if there is one.
fn complete_line(buf: &[u8], family: Family) -> Option<usize> {
    match crate::framing::next_line(buf, family, usize::MAX) {
        crate::framing::Frame::Line(n) => Some(n),
        _ => None,
    }
}
