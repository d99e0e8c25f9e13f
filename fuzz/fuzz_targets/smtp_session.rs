//! The sans-IO SMTP server session fed arbitrary bytes in arbitrary reads, with an in-memory
//! backend: it never panics, its replies stay proportional to the input, its heap stays under
//! a fixed bound however long the input (the input is fed several times over to show it), and
//! it never ends up in a state that swallows input silently: after the input, a client that
//! finishes whatever was open (DATA, AUTH) and sends NOOP gets an answer, unless the session
//! closed or waits for a BDAT chunk's octets.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mailrig_fuzz_targets::{Counting, live_bytes, reads};
use mailrig_smtp::{Backend, Config, DeliveryError, Envelope, Output, RecipientCheck, Session};

#[global_allocator]
static ALLOC: Counting = Counting;

/// Times the input is fed: memory that grows with the input shows as growth across rounds.
const ROUNDS: usize = 4;
/// The largest message the session accepts (small, so the fuzzer reaches the limit).
const MAX_MESSAGE: usize = 16 * 1024;
/// Heap the session may hold between reads: a message and its spare buffer, an AUTH line,
/// the transaction, with room to spare. Independent of the input's length.
const MAX_HEAP: usize = 8 * MAX_MESSAGE + 64 * 1024;
/// Reply bytes allowed per input byte (a 7-byte `EHLO x\r\n` gets a ~300-byte reply), plus
/// the greeting.
const REPLY_PER_BYTE: usize = 64;

/// Knows alice, takes every message and forgets it at once.
struct Sink {
    delivered: usize,
}

impl Backend for Sink {
    fn authenticate(&mut self, login: &str, password: &str) -> bool {
        (login, password) == ("alice", "secret")
    }
    fn cram_md5_secret(&mut self, login: &str) -> Option<String> {
        (login == "alice").then(|| "secret".to_owned())
    }
    fn check_token(&mut self, login: &str, token: &str) -> bool {
        login == "alice" && token == "token"
    }
    fn recipient(&mut self, address: &str) -> RecipientCheck {
        if address.eq_ignore_ascii_case("alice@example.test") {
            RecipientCheck::Local
        } else {
            RecipientCheck::Unknown
        }
    }
    fn local_domain(&mut self, domain: &str) -> bool {
        domain.eq_ignore_ascii_case("example.test")
    }
    fn deliver(&mut self, envelope: &Envelope) -> Result<(), DeliveryError> {
        self.delivered += envelope.data.len();
        match envelope.data.first() {
            Some(b'T') => Err(DeliveryError::Temporary("try later".into())),
            Some(b'P') => Err(DeliveryError::Permanent("never".into())),
            _ => Ok(()),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&options, data)) = data.split_first() else {
        return;
    };
    let config = Config {
        hostname: "mx.example.test".into(),
        max_message_size: Some(MAX_MESSAGE),
        require_tls_for_auth: options & 1 != 0,
        require_auth: options & 2 != 0,
        lenient_syntax: options & 4 != 0,
        ..Config::default()
    };
    let baseline = live_bytes();
    let mut session = Session::new(config);
    let mut sink = Sink { delivered: 0 };
    let mut replies = drain(&mut session);
    let mut fed = 0;
    for _ in 0..ROUNDS {
        for read in reads(data) {
            session.handle_input(read, &mut sink);
            fed += read.len();
            replies += drain(&mut session);
            let heap = live_bytes().saturating_sub(baseline);
            assert!(
                heap <= MAX_HEAP,
                "the session holds {heap} bytes after {fed} bytes of input"
            );
            assert!(
                replies <= 1024 + REPLY_PER_BYTE * fed,
                "{replies} reply bytes for {fed} input bytes"
            );
        }
        if session.is_closed() {
            return;
        }
    }
    let bdat = data.windows(4).any(|w| w.eq_ignore_ascii_case(b"BDAT"));
    if !bdat {
        still_answers(&mut session, &mut sink);
    }
});

/// Performs every output like a driver would (the TLS handshake succeeds at once); returns
/// the reply bytes written.
fn drain(session: &mut Session) -> usize {
    let mut written = 0;
    while let Some(output) = session.poll_output() {
        match output {
            Output::Reply { bytes, .. } => written += bytes.len(),
            Output::StartTls => session.tls_started(),
            Output::Close => {}
        }
    }
    written
}

/// Ends an open DATA (`.`) or AUTH (`*`), then sends NOOP: some reply must come, unless the
/// session closed. (Not called after BDAT: a chunk's octets are counted, not buffered, so
/// waiting for them is bounded, and nothing but those octets can end the wait.)
fn still_answers(session: &mut Session, sink: &mut Sink) {
    session.handle_input(b"\r\n.\r\n*\r\n", sink);
    let _ = drain(session);
    session.handle_input(b"NOOP\r\n", sink);
    let mut codes = Vec::new();
    while let Some(output) = session.poll_output() {
        if let Output::Reply { code, .. } = output {
            codes.push(code);
        }
    }
    assert!(
        !codes.is_empty() || session.is_closed(),
        "NOOP got no reply: the session swallows input"
    );
}
