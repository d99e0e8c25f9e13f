//! Recording every connection as a [`SessionRecord`], retrievable while the server runs.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use mailrig_transcript::scenario::{Protocol, Side};
use mailrig_transcript::{SessionRecord, Transcript};

/// All sessions recorded by one server, in the order they started.
#[derive(Debug, Clone)]
pub struct Recordings {
    start: Instant,
    sessions: Arc<Mutex<Vec<Arc<Mutex<SessionRecord>>>>>,
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

    /// Starts recording a new connection named `{protocol}{n}` (`smtp1`, `imaps3`, ...).
    pub fn begin(&self, protocol: Protocol) -> Recorder {
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        let name = format!("{}{}", protocol.keyword(), sessions.len() + 1);
        let record = Arc::new(Mutex::new(SessionRecord::new(name, protocol)));
        sessions.push(record.clone());
        Recorder {
            start: self.start,
            record,
        }
    }

    /// A copy of everything recorded so far.
    pub fn transcript(&self) -> Transcript {
        let sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        let sessions = sessions
            .iter()
            .map(|r| r.lock().unwrap_or_else(PoisonError::into_inner).clone())
            .collect();
        Transcript { sessions }
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
