//! Recording every connection as a [`SessionRecord`], retrievable while the server runs.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use mailrig_transcript::scenario::{Protocol, Side};
use mailrig_transcript::{SessionRecord, Transcript};

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
}

/// The recording of one connection.
#[derive(Debug, Clone)]
pub struct Recorder {
    start: Instant,
    record: Arc<Mutex<SessionRecord>>,
}

impl Recordings {
    /// Starts an empty set; timestamps count from now.
    pub fn new() -> Recordings {
        Recordings {
            start: Instant::now(),
            sessions: Arc::default(),
        }
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
        Recorder {
            start: self.start,
            record,
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

    /// Records one write.
    pub fn data(&self, from: Side, bytes: &[u8]) {
        let at = self.start.elapsed();
        self.lock().data(at, from, bytes);
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
            .any(|e| matches!(e.kind, mailrig_transcript::transcript::EventKind::Closed { .. }));
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
}
