//! One session of a transcript as verification reads it: the client's and the server's byte
//! streams with their read cursors, the TLS boundaries, who closed the connection, and the
//! lines consumed so far.
//!
//! A session can be read while it is still growing (the engine appends bytes as they arrive):
//! a read that reaches the end of what has arrived from a side that has not *ended* (closed,
//! timed out, or a finished transcript) marks the session *starved*, and the step that read it
//! is retried when more arrives instead of failing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::framing::{Frame, next_line};
use crate::scenario::{Family, MatchMode, Side};
use crate::transcript::{EventKind, SessionRecord};

use super::msgs::Msgs;

/// How many exchanged lines before a failure the report shows.
const HISTORY: usize = 8;

/// One direction of one session.
#[derive(Debug)]
pub(crate) struct Stream {
    pub(crate) bytes: Vec<u8>,
    /// End offset and time of each write.
    writes: Vec<(usize, Duration)>,
    pub(crate) cursor: usize,
}

impl Stream {
    fn new() -> Stream {
        Stream {
            bytes: Vec::new(),
            writes: Vec::new(),
            cursor: 0,
        }
    }

    fn push(&mut self, bytes: &[u8], at: Duration) {
        self.bytes.extend_from_slice(bytes);
        self.writes.push((self.bytes.len(), at));
    }

    pub(crate) fn time_at(&self, end: usize) -> Duration {
        let i = self.writes.partition_point(|(e, _)| *e < end);
        self.writes
            .get(i)
            .or(self.writes.last())
            .map_or(Duration::ZERO, |(_, t)| *t)
    }
}

/// A session being verified.
#[derive(Debug)]
pub(crate) struct Live {
    pub(crate) family: Family,
    client: Stream,
    server: Stream,
    /// Stream offsets (client, server) at each TLS handshake.
    pub(crate) tls: Vec<(usize, usize)>,
    pub(crate) tls_next: usize,
    pub(crate) closed_by: Option<Side>,
    pub(crate) mode: Option<MatchMode>,
    pub(crate) within: Option<Duration>,
    pub(crate) history: Vec<(Side, Vec<u8>)>,
    /// The session's message names (`${m1:seq}`) and their current sequence numbers.
    pub(crate) msgs: Msgs,
    /// Per side (client, server): nothing more will arrive.
    ended: [bool; 2],
    /// Why a side ended early: it said nothing for this long.
    pub(crate) timed_out: [Option<Duration>; 2],
    /// Set by a read that ran out of data from a side that has not ended.
    starved: AtomicBool,
}

/// Where a session's read position is, to undo a step that has to wait for more data.
#[derive(Debug, Clone)]
pub(crate) struct Mark {
    client: usize,
    server: usize,
    history: usize,
    tls_next: usize,
    mode: Option<MatchMode>,
    within: Option<Duration>,
    msgs: Msgs,
}

impl Live {
    /// A session still to be filled by [`Live::push`] and friends.
    pub(crate) fn growing(family: Family) -> Live {
        Live {
            family,
            client: Stream::new(),
            server: Stream::new(),
            tls: Vec::new(),
            tls_next: 0,
            closed_by: None,
            mode: None,
            within: None,
            history: Vec::new(),
            msgs: Msgs::default(),
            ended: [false; 2],
            timed_out: [None; 2],
            starved: AtomicBool::new(false),
        }
    }

    /// A finished session: everything it will ever hold is in `record`.
    pub(crate) fn new(record: &SessionRecord, family: Family) -> Live {
        let mut live = Live::growing(family);
        for event in &record.events {
            match &event.kind {
                EventKind::Data { from, bytes } => live.push(*from, bytes, event.at),
                EventKind::TlsStarted => live.tls_started(),
                EventKind::Closed { by } => live.closed(*by),
                // Nothing more of that side was kept: its stream ends here, and what the
                // scenario expects after it is reported missing, never assumed.
                EventKind::Elided { .. } => {}
            }
        }
        live.ended = [true; 2];
        live
    }

    /// Appends one write by `side`.
    pub(crate) fn push(&mut self, side: Side, bytes: &[u8], at: Duration) {
        self.stream_mut(side).push(bytes, at);
    }

    /// Marks a completed TLS handshake at the current ends of both streams.
    pub(crate) fn tls_started(&mut self) {
        self.tls.push((self.client.bytes.len(), self.server.bytes.len()));
    }

    /// `by` closed the connection: nothing more arrives from either side.
    pub(crate) fn closed(&mut self, by: Side) {
        self.closed_by = self.closed_by.or(Some(by));
        self.ended = [true; 2];
    }

    /// Nothing more will arrive from `side` (it said nothing for `after`).
    pub(crate) fn time_out(&mut self, side: Side, after: Duration) {
        self.ended[side_index(side)] = true;
        self.timed_out[side_index(side)] = Some(after);
    }

    /// A wait that ran out belongs to the step that waited: once that step is decided, the
    /// side may send again (a close, unlike a timeout, is for good).
    pub(crate) fn forget_timeouts(&mut self) {
        for side in [Side::Client, Side::Server] {
            if self.timed_out[side_index(side)].take().is_some() && self.closed_by.is_none() {
                self.ended[side_index(side)] = false;
            }
        }
    }

    /// Whether everything `side` will send before the next TLS boundary has arrived.
    fn settled(&self, side: Side) -> bool {
        self.ended[side_index(side)] || self.tls.len() > self.tls_next
    }

    /// Notes that a read wanted more from `side` than has arrived; true if more may come.
    pub(crate) fn starve(&self, side: Side) -> bool {
        let more = !self.settled(side);
        if more {
            self.starved.store(true, Ordering::Relaxed);
        }
        more
    }

    /// Like [`Live::starve`], for a step that waits on both sides (a TLS handshake): more may
    /// come until either side has ended.
    pub(crate) fn starve_both(&self) -> bool {
        let more = !self.ended.iter().any(|e| *e);
        if more {
            self.starved.store(true, Ordering::Relaxed);
        }
        more
    }

    /// Whether a read since [`Live::clear_starved`] ran out of data that may still come.
    pub(crate) fn is_starved(&self) -> bool {
        self.starved.load(Ordering::Relaxed)
    }

    pub(crate) fn clear_starved(&self) {
        self.starved.store(false, Ordering::Relaxed);
    }

    pub(crate) fn mark(&self) -> Mark {
        Mark {
            client: self.client.cursor,
            server: self.server.cursor,
            history: self.history.len(),
            tls_next: self.tls_next,
            mode: self.mode,
            within: self.within,
            msgs: self.msgs.clone(),
        }
    }

    pub(crate) fn reset(&mut self, mark: Mark) {
        self.client.cursor = mark.client;
        self.server.cursor = mark.server;
        self.history.truncate(mark.history);
        self.tls_next = mark.tls_next;
        self.mode = mark.mode;
        self.within = mark.within;
        self.msgs = mark.msgs;
    }

    pub(crate) fn stream(&self, side: Side) -> &Stream {
        if side == Side::Client {
            &self.client
        } else {
            &self.server
        }
    }

    fn stream_mut(&mut self, side: Side) -> &mut Stream {
        if side == Side::Client {
            &mut self.client
        } else {
            &mut self.server
        }
    }

    /// Where reading `side` must stop: the next TLS boundary, or the end.
    pub(crate) fn limit(&self, side: Side) -> usize {
        match (self.tls.get(self.tls_next), side) {
            (Some((c, _)), Side::Client) => *c,
            (Some((_, s)), Side::Server) => *s,
            (None, _) => self.stream(side).bytes.len(),
        }
    }

    /// The next line from `side` without consuming it; a partial last line counts.
    pub(crate) fn peek(&self, side: Side) -> Option<Vec<u8>> {
        let stream = self.stream(side);
        let rest = &stream.bytes[stream.cursor..self.limit(side)];
        if rest.is_empty() {
            self.starve(side);
            return None;
        }
        match next_line(rest, self.family, usize::MAX) {
            Frame::Line(n) => Some(rest[..n].to_vec()),
            Frame::Incomplete | Frame::TooLong if self.starve(side) => None,
            Frame::Incomplete | Frame::TooLong => Some(rest.to_vec()),
        }
    }

    pub(crate) fn consume(&mut self, side: Side, line: &[u8]) {
        self.stream_mut(side).cursor += line.len();
        self.history.push((side, line.to_vec()));
    }

    /// Why nothing more can be read from `side`.
    pub(crate) fn end_reason(&self, side: Side) -> String {
        let stream = self.stream(side);
        if stream.cursor < stream.bytes.len() {
            return "a TLS handshake happened here, but the scenario has no `@starttls` at this point"
                .to_owned();
        }
        if let Some(after) = self.timed_out[side_index(side)] {
            return format!(
                "nothing more was received from the {} within {}",
                side.word(),
                crate::scenario::format_duration(after)
            );
        }
        match self.closed_by {
            Some(by) => format!("the {} closed the connection", by.word()),
            None => format!(
                "the transcript ends: nothing more was received from the {}",
                side.word()
            ),
        }
    }

    pub(crate) fn recent_history(&self, before: usize) -> Vec<(Side, Vec<u8>)> {
        let end = self.history.len().saturating_sub(before);
        self.history[end.saturating_sub(HISTORY)..end].to_vec()
    }
}

fn side_index(side: Side) -> usize {
    match side {
        Side::Client => 0,
        Side::Server => 1,
    }
}
