//! Properties of the session as a byte stream, through the public `Session` API (the
//! in-crate tests `arbitrary_bytes_never_panic` and `command_soup_never_panics` only check
//! that nothing panics; these check what comes out):
//!
//! - the output does not depend on how the input is split into reads (a sans-IO session must
//!   not care where TCP cut the stream);
//! - every byte written for a soup of valid, odd and broken commands decodes with imap-codec
//!   as a greeting and whole responses;
//! - any message (MIME soup, arbitrary bytes) APPENDed comes back byte for byte from
//!   `BODY[]`, its `RFC822.SIZE` is its length, and its ENVELOPE and BODYSTRUCTURE decode.
//!
//! Each has a negative test with a planted defect that breaks it.

#[path = "sync/codec.rs"]
mod codec;

use mailrig_imap::{Config, Defect, Defects, Output, Session};
use mailrig_store::{Store, User};
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestCaseError, TestRunner};

fn store() -> Store {
    let store = Store::new();
    store
        .add_user(User::new("alice", "secret", ["alice@example.test"]))
        .expect("a new store has no users");
    store
        .deliver("alice", b"Subject: one\r\nFrom: a@b\r\n\r\nbody\r\n".to_vec(), 0)
        .expect("INBOX exists");
    store
}

fn config(defects: Defects) -> Config {
    Config {
        login_disabled_before_tls: false,
        defects,
        ..Config::default()
    }
}

/// Command lines: valid ones, extensions, odd arguments, and garbage. No STARTTLS: input
/// after it is discarded until the handshake, which depends on the reads by design.
fn soup() -> impl Strategy<Value = Vec<u8>> {
    let line = prop_oneof![
        Just("a LOGIN alice secret".to_owned()),
        Just("b SELECT INBOX".to_owned()),
        Just("c APPEND INBOX (\\Seen $K) {3+}\r\nabc".to_owned()),
        Just("c APPEND INBOX {3}\r\nabc".to_owned()),
        Just("d ENABLE QRESYNC".to_owned()),
        Just("e IDLE".to_owned()),
        Just("DONE".to_owned()),
        Just("f NOOP".to_owned()),
        "[a-z] (UID )?FETCH [0-9:*,]{1,4} \\((FLAGS|UID|ENVELOPE|BODYSTRUCTURE|BODY\\[[0-9.]{0,3}(HEADER|TEXT)?\\]|MODSEQ|RFC822.SIZE| ){1,4}\\)",
        "[a-z] (UID )?SEARCH (NOT SEEN|OR SEEN RECENT|HEADER Subject x|ALL|[0-9:*]{1,3}|LARGER [0-9]{1,3})",
        "[a-z] (UID )?STORE [0-9:*,]{1,4} [+-]?FLAGS(\\.SILENT)? \\((\\\\Seen|\\\\Deleted|\\$x| ){0,3}\\)",
        "[a-z] (EXPUNGE|CHECK|CAPABILITY|NAMESPACE|UNSELECT|CLOSE|LIST \"\" \\*|STATUS INBOX \\(MESSAGES UIDNEXT\\))",
        "[a-z] (UID )?(COPY|MOVE) [0-9:*]{1,3} (INBOX|Other|\"a b\")",
        "[a-z] (CREATE|DELETE|SUBSCRIBE) (Other|\"a b\"|x/y)",
        "[ -~]{0,30}",
    ];
    proptest::collection::vec(line, 0..16).prop_map(|lines| {
        let mut bytes = Vec::new();
        for line in lines {
            bytes.extend_from_slice(line.as_bytes());
            bytes.extend_from_slice(b"\r\n");
        }
        bytes
    })
}

/// Feeds `pieces` in turn, draining after each as a driver does; returns every byte written,
/// with markers where the session asked to start TLS or close.
fn run(defects: Defects, pieces: &[&[u8]]) -> Vec<u8> {
    let mut session = Session::new(config(defects), store());
    session.set_time(1_700_000_000);
    let mut out = Vec::new();
    for piece in [&b""[..]].iter().chain(pieces) {
        session.handle_input(piece);
        while let Some(output) = session.poll_output() {
            match output {
                Output::Response { bytes, .. } => out.extend(bytes),
                Output::StartTls => out.extend_from_slice(b"<starttls>"),
                Output::StartCompression => out.extend_from_slice(b"<compress>"),
                Output::Close => out.extend_from_slice(b"<close>"),
            }
        }
    }
    out
}

fn split<'a>(input: &'a [u8], points: &[usize]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = points.iter().map(|p| p % (input.len() + 1)).collect();
    points.sort_unstable();
    let mut pieces = Vec::new();
    let mut from = 0;
    for point in points {
        pieces.push(&input[from..point]);
        from = point;
    }
    pieces.push(&input[from..]);
    pieces
}

fn split_invariance(defects: Defects, input: &[u8], points: &[usize]) -> Result<(), TestCaseError> {
    let whole = run(defects, &[input]);
    let pieces = run(defects, &split(input, points));
    prop_assert_eq!(
        String::from_utf8_lossy(&pieces),
        String::from_utf8_lossy(&whole),
        "input {:?}",
        String::from_utf8_lossy(input)
    );
    Ok(())
}

/// A soup of messages: headers (some folded, some broken), MIME boundaries, and raw bytes.
fn message() -> impl Strategy<Value = Vec<u8>> {
    let line = prop_oneof![
        Just("Subject: =?utf-8?q?caf=C3=A9?= (x) \"q\"".to_owned()),
        Just("From: \"A, B\" <a@b.example>, group: c@d;, <>".to_owned()),
        Just("To: undisclosed-recipients:;".to_owned()),
        Just("Content-Type: multipart/mixed; boundary=b".to_owned()),
        Just("Content-Type: message/rfc822".to_owned()),
        Just("Content-Type: text/plain; charset=utf-8; name=\"a\\\"b\"".to_owned()),
        Just("--b".to_owned()),
        Just("--b--".to_owned()),
        Just(" folded continuation".to_owned()),
        Just(String::new()),
        "[ -~]{0,40}",
    ];
    prop_oneof![
        4 => proptest::collection::vec(line, 0..30).prop_map(|l| l.join("\r\n").into_bytes()),
        // CHAR8 (RFC 9051 §9): a literal holds no NUL.
        1 => proptest::collection::vec(1..=255u8, 1..300),
    ]
}

/// APPENDs `message`, FETCHes it back; checks BODY[], RFC822.SIZE and that imap-codec decodes
/// everything (ENVELOPE and BODYSTRUCTURE included).
fn round_trip(defects: Defects, message: &[u8]) -> Result<(), TestCaseError> {
    let mut input = format!(
        "a LOGIN alice secret\r\nb APPEND INBOX {{{}+}}\r\n",
        message.len()
    )
    .into_bytes();
    input.extend_from_slice(message);
    input.extend_from_slice(
        b"\r\nc SELECT INBOX\r\nd FETCH 2 (RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY BODY.PEEK[])\r\n",
    );
    let out = run(defects, &[&input]);
    codec::decode(&out, true).map_err(TestCaseError::fail)?;
    let text = String::from_utf8_lossy(&out);
    prop_assert!(text.contains("\r\nd OK "), "{}", text);
    let size = format!("RFC822.SIZE {} ", message.len());
    prop_assert!(text.contains(&size), "want {} in {}", size, text);
    let head = format!("BODY[] {{{}}}\r\n", message.len()).into_bytes();
    let at = out.windows(head.len()).position(|w| w == head.as_slice());
    let at =
        at.ok_or_else(|| TestCaseError::fail(format!("no {:?} in {text}", String::from_utf8_lossy(&head))))?;
    let body = &out[at + head.len()..at + head.len() + message.len()];
    prop_assert_eq!(body, message);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// Split anywhere, the session writes the same bytes.
    #[test]
    fn output_does_not_depend_on_how_input_is_split(input in soup(), points in proptest::collection::vec(any::<usize>(), 0..12)) {
        split_invariance(Defects::none(), &input, &points)?;
    }

    /// Arbitrary bytes split anywhere, too (lines, literals and garbage cut mid-way).
    #[test]
    fn arbitrary_bytes_give_the_same_output_however_split(
        input in proptest::collection::vec(any::<u8>(), 0..400),
        points in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        split_invariance(Defects::none(), &input, &points)?;
    }

    /// Whatever the commands, every byte written decodes with imap-codec.
    #[test]
    fn every_response_to_a_command_soup_decodes(input in soup()) {
        let out = run(Defects::none(), &[&input]);
        let text = String::from_utf8_lossy(&out).replace("<close>", "");
        codec::decode(text.as_bytes(), true).map_err(TestCaseError::fail)?;
    }

    /// Any message comes back whole, with its size, and well-formed structures.
    #[test]
    fn any_message_round_trips_through_append_and_fetch(message in message()) {
        round_trip(Defects::none(), &message)?;
    }
}

/// Runs `property` over `strategy` with a planted defect and returns the failure it must give.
fn planted<S: Strategy>(strategy: S, property: impl Fn(S::Value) -> Result<(), TestCaseError>) -> String {
    let config = RunnerConfig {
        cases: 256,
        failure_persistence: None,
        ..RunnerConfig::default()
    };
    let result = TestRunner::new(config).run(&strategy, property);
    result
        .expect_err("the property did not catch the planted defect")
        .to_string()
}

/// A session that drops the rest of each read after its first command passes any test that
/// feeds one command at a time; the split property catches it.
#[test]
fn split_invariance_catches_pipelined_commands_dropped() {
    let defects = Defects::from(Defect::PipelinedCommandsDropped);
    let strategy = (soup(), proptest::collection::vec(any::<usize>(), 0..12));
    planted(strategy, |(input, points)| {
        split_invariance(defects, &input, &points)
    });
}

/// RFC822.SIZE counting line ends as one octet fails the round trip.
#[test]
fn round_trip_catches_wrong_rfc822_size() {
    let defects = Defects::from(Defect::WrongRfc822Size);
    let failure = planted(message(), |message| round_trip(defects, &message));
    assert!(failure.contains("RFC822.SIZE"), "{failure}");
}
