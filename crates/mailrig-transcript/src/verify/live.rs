//! One session of a transcript as verification reads it: the client's and the server's byte
//! streams with their read cursors, the TLS boundaries, who closed the connection, and the
//! lines consumed so far.

use std::time::Duration;

use crate::framing::{Frame, next_line};
use crate::scenario::{Family, MatchMode, Side};
use crate::transcript::{EventKind, SessionRecord};

/// How many exchanged lines before a failure the report shows.
const HISTORY: usize = 8;

/// One direction of one session.
pub(super) struct Stream {
    pub(super) bytes: Vec<u8>,
    /// End offset and time of each write.
    writes: Vec<(usize, Duration)>,
    pub(super) cursor: usize,
}

impl Stream {
    pub(super) fn time_at(&self, end: usize) -> Duration {
        let i = self.writes.partition_point(|(e, _)| *e < end);
        self.writes
            .get(i)
            .or(self.writes.last())
            .map_or(Duration::ZERO, |(_, t)| *t)
    }
}

/// A session being verified.
pub(super) struct Live {
    pub(super) family: Family,
    client: Stream,
    server: Stream,
    /// Stream offsets (client, server) at each TLS handshake.
    pub(super) tls: Vec<(usize, usize)>,
    pub(super) tls_next: usize,
    pub(super) closed_by: Option<Side>,
    pub(super) mode: Option<MatchMode>,
    pub(super) within: Option<Duration>,
    pub(super) history: Vec<(Side, Vec<u8>)>,
}

impl Live {
    pub(super) fn new(record: &SessionRecord, family: Family) -> Live {
        let mut client = Stream {
            bytes: Vec::new(),
            writes: Vec::new(),
            cursor: 0,
        };
        let mut server = Stream {
            bytes: Vec::new(),
            writes: Vec::new(),
            cursor: 0,
        };
        let mut tls = Vec::new();
        let mut closed_by = None;
        for event in &record.events {
            match &event.kind {
                EventKind::Data { from, bytes } => {
                    let stream = if *from == Side::Client {
                        &mut client
                    } else {
                        &mut server
                    };
                    stream.bytes.extend_from_slice(bytes);
                    stream.writes.push((stream.bytes.len(), event.at));
                }
                EventKind::TlsStarted => tls.push((client.bytes.len(), server.bytes.len())),
                EventKind::Closed { by } => closed_by = closed_by.or(Some(*by)),
            }
        }
        Live {
            family,
            client,
            server,
            tls,
            tls_next: 0,
            closed_by,
            mode: None,
            within: None,
            history: Vec::new(),
        }
    }

    pub(super) fn stream(&self, side: Side) -> &Stream {
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
    pub(super) fn limit(&self, side: Side) -> usize {
        match (self.tls.get(self.tls_next), side) {
            (Some((c, _)), Side::Client) => *c,
            (Some((_, s)), Side::Server) => *s,
            (None, _) => self.stream(side).bytes.len(),
        }
    }

    /// The next line from `side` without consuming it; a partial last line counts.
    pub(super) fn peek(&self, side: Side) -> Option<Vec<u8>> {
        let stream = self.stream(side);
        let rest = &stream.bytes[stream.cursor..self.limit(side)];
        if rest.is_empty() {
            return None;
        }
        match next_line(rest, self.family, usize::MAX) {
            Frame::Line(n) => Some(rest[..n].to_vec()),
            Frame::Incomplete | Frame::TooLong => Some(rest.to_vec()),
        }
    }

    pub(super) fn consume(&mut self, side: Side, line: &[u8]) {
        self.stream_mut(side).cursor += line.len();
        self.history.push((side, line.to_vec()));
    }

    /// Why nothing more can be read from `side`.
    pub(super) fn end_reason(&self, side: Side) -> String {
        let stream = self.stream(side);
        if stream.cursor < stream.bytes.len() {
            return "a TLS handshake happened here, but the scenario has no `@starttls` at this point"
                .to_owned();
        }
        match self.closed_by {
            Some(by) => format!("the {} closed the connection", by.word()),
            None => format!(
                "the transcript ends: nothing more was received from the {}",
                side.word()
            ),
        }
    }

    pub(super) fn recent_history(&self, before: usize) -> Vec<(Side, Vec<u8>)> {
        let end = self.history.len().saturating_sub(before);
        self.history[end.saturating_sub(HISTORY)..end].to_vec()
    }
}
