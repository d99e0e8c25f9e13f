//! What actually happened on the wire: per session, the ordered writes of both peers (with
//! their boundaries), the TLS start, the close, and when each happened.
//!
//! Servers and the runner record into a [`Transcript`]; [`crate::verify()`] checks it against a
//! scenario and [`crate::record`] prints it as one.

use std::time::Duration;

use crate::scenario::{Protocol, Side};

/// Every recorded session of one run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Transcript {
    /// The sessions, in the order they started.
    pub sessions: Vec<SessionRecord>,
}

/// One connection's events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// The session name (matching the scenario's `sessions:` header when verifying).
    pub name: String,
    /// The protocol spoken.
    pub protocol: Protocol,
    /// What happened, in order.
    pub events: Vec<Event>,
}

/// One thing that happened on a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Time since the start of the run (shared by all sessions of a transcript).
    pub at: Duration,
    /// What happened.
    pub kind: EventKind,
}

/// The kinds of events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// One write by one peer, exactly as written.
    Data {
        /// Who wrote.
        from: Side,
        /// The bytes of the write.
        bytes: Vec<u8>,
    },
    /// The TLS handshake completed; later data was encrypted on the wire.
    TlsStarted,
    /// A peer closed the connection.
    Closed {
        /// Who closed.
        by: Side,
    },
    /// The recording of `from`'s writes stops here (the recorder's byte cap was reached):
    /// `bytes` more bytes were written by `from` from this point on and not kept. A record
    /// has at most one per side, and no `Data` from that side after it.
    Elided {
        /// Whose writes were not kept.
        from: Side,
        /// How many bytes were not kept.
        bytes: u64,
    },
}

impl Transcript {
    /// Finds a session by name.
    pub fn session(&self, name: &str) -> Option<&SessionRecord> {
        self.sessions.iter().find(|s| s.name == name)
    }
}

impl SessionRecord {
    /// An empty record.
    pub fn new(name: impl Into<String>, protocol: Protocol) -> SessionRecord {
        SessionRecord {
            name: name.into(),
            protocol,
            events: Vec::new(),
        }
    }

    /// Records one write by `from`. Empty writes are ignored.
    pub fn data(&mut self, at: Duration, from: Side, bytes: impl Into<Vec<u8>>) -> &mut Self {
        let bytes = bytes.into();
        if !bytes.is_empty() {
            self.events.push(Event {
                at,
                kind: EventKind::Data { from, bytes },
            });
        }
        self
    }

    /// Records that `bytes` bytes written by `from` from here on were not kept: adds to the
    /// side's [`EventKind::Elided`] if it has one, else appends one.
    pub fn elided(&mut self, at: Duration, from: Side, bytes: u64) -> &mut Self {
        let existing = self
            .events
            .iter_mut()
            .rev()
            .find_map(|event| match &mut event.kind {
                EventKind::Elided { from: side, bytes } if *side == from => Some(bytes),
                _ => None,
            });
        match existing {
            Some(total) => *total += bytes,
            None => self.events.push(Event {
                at,
                kind: EventKind::Elided { from, bytes },
            }),
        }
        self
    }

    /// How many bytes written by `side` were not kept (see [`EventKind::Elided`]).
    pub fn elided_from(&self, side: Side) -> u64 {
        self.events
            .iter()
            .map(|event| match event.kind {
                EventKind::Elided { from, bytes } if from == side => bytes,
                _ => 0,
            })
            .sum()
    }

    /// Records the completion of a TLS handshake.
    pub fn tls_started(&mut self, at: Duration) -> &mut Self {
        self.events.push(Event {
            at,
            kind: EventKind::TlsStarted,
        });
        self
    }

    /// Records that `by` closed the connection.
    pub fn closed(&mut self, at: Duration, by: Side) -> &mut Self {
        self.events.push(Event {
            at,
            kind: EventKind::Closed { by },
        });
        self
    }

    /// All bytes written by `side` and kept, concatenated (see [`EventKind::Elided`]).
    pub fn bytes_from(&self, side: Side) -> Vec<u8> {
        let mut out = Vec::new();
        for event in &self.events {
            if let EventKind::Data { from, bytes } = &event.kind
                && *from == side
            {
                out.extend_from_slice(bytes);
            }
        }
        out
    }

    /// The same session with every write cut into pieces at the given byte counts (cycled);
    /// useful to check that matching does not depend on write boundaries.
    pub fn resegmented(&self, sizes: &[usize]) -> SessionRecord {
        let mut out = SessionRecord::new(self.name.clone(), self.protocol);
        let mut sizes = sizes.iter().copied().filter(|s| *s > 0).cycle();
        for event in &self.events {
            match &event.kind {
                EventKind::Data { from, bytes } => {
                    let mut rest = &bytes[..];
                    while !rest.is_empty() {
                        let n = sizes.next().unwrap_or(rest.len()).min(rest.len());
                        out.data(event.at, *from, &rest[..n]);
                        rest = &rest[n..];
                    }
                }
                _ => out.events.push(event.clone()),
            }
        }
        out
    }
}
