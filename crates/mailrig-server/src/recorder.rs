//! Recording every connection as a [`SessionRecord`], retrievable while the server runs.
//! Each connection keeps at most a capped number of bytes per direction (a hostile peer
//! sending gigabytes must not make the recording hold them); the rest is counted in an
//! [`EventKind::Elided`] event, so a recording says what it left out.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use mailrig_transcript::scenario::{Protocol, Side};
use mailrig_transcript::transcript::EventKind;
use mailrig_transcript::{SessionRecord, Transcript};

/// Bytes kept per direction of one connection by default: far more than any scenario's
/// exchange, far less than a hostile literal.
pub const DEFAULT_BYTE_LIMIT: u64 = 4 << 20;

/// All sessions recorded by one server, in the order they started. With a limit, only the
/// most recent sessions are kept, so a long-running server's memory stays bounded.
#[derive(Debug, Clone)]
pub struct Recordings {
    start: Instant,
    sessions: Arc<Mutex<Kept>>,
}

#[derive(Debug, Default)]
struct Kept {
    sessions: VecDeque<Arc<Mutex<SessionRecord>>>,
    started: usize,
    limit: Option<usize>,
    /// Bytes kept per direction of each connection (`None`: all).
    byte_limit: Option<u64>,
}

/// The recording of one connection.
#[derive(Debug, Clone)]
pub struct Recorder {
    start: Instant,
    record: Arc<Mutex<SessionRecord>>,
    cap: Arc<Mutex<Cap>>,
}

/// What one connection has kept, per direction (client, server).
#[derive(Debug)]
struct Cap {
    limit: Option<u64>,
    kept: [u64; 2],
    /// The index of each side's [`EventKind::Elided`] event, once the limit is reached.
    elided: [Option<usize>; 2],
}

impl Recordings {
    /// Starts an empty set keeping [`DEFAULT_BYTE_LIMIT`] bytes per direction of each
    /// connection; timestamps count from now.
    pub fn new() -> Recordings {
        let kept = Kept {
            byte_limit: Some(DEFAULT_BYTE_LIMIT),
            ..Kept::default()
        };
        Recordings {
            start: Instant::now(),
            sessions: Arc::new(Mutex::new(kept)),
        }
    }

    /// Keeps at most `limit` bytes per direction of each connection started from now on
    /// (`None`: every byte); later bytes are counted in an [`EventKind::Elided`] event.
    pub fn with_byte_limit(self, limit: Option<u64>) -> Recordings {
        self.lock().byte_limit = limit;
        self
    }

    /// Keeps only the `limit` most recent sessions (`None`: all).
    pub fn with_limit(limit: Option<usize>) -> Recordings {
        let recordings = Recordings::new();
        recordings.lock().limit = limit;
        recordings
    }

    /// Starts recording a new connection named `{protocol}{n}` (`smtp1`, `imaps3`, ...).
    pub fn begin(&self, protocol: Protocol) -> Recorder {
        let mut kept = self.lock();
        kept.started += 1;
        let name = format!("{}{}", protocol.keyword(), kept.started);
        let record = Arc::new(Mutex::new(SessionRecord::new(name, protocol)));
        kept.sessions.push_back(record.clone());
        if let Some(limit) = kept.limit {
            while kept.sessions.len() > limit {
                kept.sessions.pop_front();
            }
        }
        let cap = Cap {
            limit: kept.byte_limit,
            kept: [0; 2],
            elided: [None; 2],
        };
        Recorder {
            start: self.start,
            record,
            cap: Arc::new(Mutex::new(cap)),
        }
    }

    /// A copy of everything recorded (and kept) so far.
    pub fn transcript(&self) -> Transcript {
        let kept = self.lock();
        let sessions = kept
            .sessions
            .iter()
            .map(|r| r.lock().unwrap_or_else(PoisonError::into_inner).clone())
            .collect();
        Transcript { sessions }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for Recordings {
    fn default() -> Self {
        Recordings::new()
    }
}

impl Recorder {
    /// The session's name in the transcript.
    pub fn name(&self) -> String {
        self.lock().name.clone()
    }

    /// Records one write: as [`EventKind::Data`] while the side is under the byte limit,
    /// then (the part beyond it) as a count in the side's [`EventKind::Elided`] event.
    pub fn data(&self, from: Side, bytes: &[u8]) {
        let at = self.start.elapsed();
        let mut cap = self.cap.lock().unwrap_or_else(PoisonError::into_inner);
        let side = usize::from(from == Side::Server);
        let room = cap
            .limit
            .map_or(u64::MAX, |limit| limit.saturating_sub(cap.kept[side]));
        let keep = bytes.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let (kept, over) = bytes.split_at(keep);
        cap.kept[side] += kept.len() as u64;
        let mut record = self.lock();
        record.data(at, from, kept);
        if over.is_empty() {
            return;
        }
        let over = over.len() as u64;
        match cap.elided[side] {
            Some(index) => {
                if let Some(EventKind::Elided { bytes, .. }) =
                    record.events.get_mut(index).map(|e| &mut e.kind)
                {
                    *bytes += over;
                }
            }
            None => {
                record.elided(at, from, over);
                cap.elided[side] = Some(record.events.len() - 1);
            }
        }
    }

    /// Records the end of a TLS handshake.
    pub fn tls_started(&self) {
        let at = self.start.elapsed();
        self.lock().tls_started(at);
    }

    /// Records that `by` closed the connection (only the first close counts).
    pub fn closed(&self, by: Side) {
        let at = self.start.elapsed();
        let mut record = self.lock();
        let already = record
            .events
            .iter()
            .any(|e| matches!(e.kind, EventKind::Closed { .. }));
        if !already {
            record.closed(at, by);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SessionRecord> {
        self.record.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_keeps_the_most_recent_sessions_and_names_stay_unique() {
        let recordings = Recordings::with_limit(Some(2));
        for _ in 0..3 {
            recordings.begin(Protocol::Smtp).data(Side::Client, b"x");
        }
        let names: Vec<String> = recordings
            .transcript()
            .sessions
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, ["smtp2", "smtp3"]);
    }

    /// Over the byte limit, a side's writes are counted, not kept, in one event per side;
    /// the other side goes on being recorded.
    #[test]
    fn bytes_over_the_limit_are_counted_not_kept() {
        let recordings = Recordings::new().with_byte_limit(Some(10));
        let recorder = recordings.begin(Protocol::Imap);
        recorder.data(Side::Client, b"a APPEND {");
        recorder.data(Side::Client, b"9999}\r\n");
        recorder.data(Side::Server, b"+\r\n");
        for _ in 0..1000 {
            recorder.data(Side::Client, b"xxxx");
        }
        recorder.data(Side::Server, b"a NO\r\n");
        let record = &recordings.transcript().sessions[0];
        assert_eq!(record.bytes_from(Side::Client), b"a APPEND {");
        assert_eq!(record.elided_from(Side::Client), 7 + 4000);
        assert_eq!(record.bytes_from(Side::Server), b"+\r\na NO\r\n");
        assert_eq!(record.elided_from(Side::Server), 0);
        assert_eq!(record.events.len(), 4, "{:?}", record.events);
        // Without a limit, everything is kept.
        let recordings = Recordings::new().with_byte_limit(None);
        let recorder = recordings.begin(Protocol::Imap);
        recorder.data(Side::Client, &[b'x'; 100]);
        let record = &recordings.transcript().sessions[0];
        assert_eq!(record.bytes_from(Side::Client).len(), 100);
        assert_eq!(record.elided_from(Side::Client), 0);
    }
}
