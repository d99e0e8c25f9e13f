//! Property tests: input split anywhere gives the same outputs; arbitrary bytes never panic.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use mailrig_smtp::{Config, Envelope, Extensions, Output, Session};
use proptest::prelude::*;

use crate::support::TestBackend;

/// What one run produced: every output, every delivery, the discarded byte count.
#[derive(Debug, PartialEq)]
struct Run {
    outputs: Vec<Output>,
    delivered: Vec<Envelope>,
    discarded: usize,
}

/// Feeds `pieces` in order, draining outputs after each, as the driver does.
fn run<'a>(config: &Config, pieces: impl IntoIterator<Item = &'a [u8]>) -> Run {
    let mut session = Session::new(config.clone());
    let mut backend = TestBackend::default();
    let mut outputs = Vec::new();
    for piece in pieces {
        session.handle_input(piece, &mut backend);
        while let Some(output) = session.poll_output() {
            outputs.push(output);
        }
    }
    Run {
        outputs,
        delivered: backend.delivered,
        discarded: session.discarded_after_starttls(),
    }
}

fn split_at_points<'a>(input: &'a [u8], points: &[usize]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = points.iter().map(|p| p % (input.len() + 1)).collect();
    points.sort_unstable();
    let mut pieces = Vec::new();
    let mut from = 0;
    for p in points {
        pieces.push(&input[from..p]);
        from = p;
    }
    pieces.push(&input[from..]);
    pieces
}

fn config() -> Config {
    Config {
        require_tls_for_auth: false,
        max_message_size: Some(4096),
        ..Config::default()
    }
}

/// A script that visits every state: AUTH exchanges, DATA with stuffing and smuggling
/// look-alikes, an over-long line, BDAT chunks, and STARTTLS with injected plaintext.
fn script() -> Vec<u8> {
    let b64 = |s: &str| STANDARD.encode(s);
    let mut s = String::new();
    s += "EHLO client.example.test\r\n";
    s += &format!("AUTH LOGIN\r\n{}\r\n{}\r\n", b64("alice"), b64("wrong"));
    s += &format!("AUTH PLAIN\r\n{}\r\n", b64("\0alice\0secret"));
    s += "MAIL FROM:<bob@example.test> SIZE=100 BODY=8BITMIME\r\nRCPT TO:<alice@example.test>\r\n";
    s += "RCPT TO:<nobody@example.test>\r\nDATA\r\n";
    s += "Subject: x\r\n\r\nline\r\n..dot\r\nsmuggle\n.\nMAIL FROM:<evil@x.test>\r\n\r.\r\n.\r\n";
    s += "NOOP\r\n";
    s += &"L".repeat(1500);
    s += "\r\nmail from:<>\r\nrcpt to:<bob@example.test>\r\n";
    s += "BDAT 10\r\n0123456789BDAT 7 LAST\r\nab\r\n.\r\n";
    s += "RSET\r\nVRFY x\r\nBOGUS\r\nSTARTTLS\r\nNOOP\r\nQUIT\r\n";
    s.into_bytes()
}

#[test]
fn script_visits_every_state() {
    let r = run(&config(), [&script()[..]]);
    let codes: Vec<String> = r
        .outputs
        .iter()
        .map(|o| match o {
            Output::Reply { bytes: d, .. } => String::from_utf8_lossy(&d[..3]).into_owned(),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        codes,
        [
            "220", "250", "334", "334", "535", "334", "235", "250", "250", "550", "354", "250", "250", "500",
            "250", "250", "250", "250", "250", "252", "500", "220", "StartTls"
        ]
    );
    assert_eq!(r.delivered.len(), 2);
    assert_eq!(r.discarded, "NOOP\r\nQUIT\r\n".len());
}

#[test]
fn every_two_way_split_gives_the_same_run() {
    let input = script();
    let whole = run(&config(), [&input[..]]);
    for at in 0..=input.len() {
        let (a, b) = input.split_at(at);
        assert_eq!(run(&config(), [a, b]), whole, "split at {at}");
    }
}

#[test]
fn byte_at_a_time_gives_the_same_run() {
    let input = script();
    let whole = run(&config(), [&input[..]]);
    assert_eq!(run(&config(), input.chunks(1)), whole);
}

/// Fragments of SMTP, near misses included, to build hostile inputs from.
const TOKENS: &[&[u8]] = &[
    b"EHLO x.test\r\n",
    b"HELO x\r\n",
    b"MAIL FROM:<a@b.test>",
    b"MAIL FROM:<>",
    b"mail from: <a@b>",
    b" SIZE=5",
    b" BODY=8BITMIME",
    b" SMTPUTF8",
    b"RCPT TO:<alice@example.test>",
    b"RCPT TO:<x@y.z>",
    b" NOTIFY=NEVER",
    b"DATA\r\n",
    b"BDAT 3\r\n",
    b"BDAT 2 LAST\r\n",
    b"BDAT 0 LAST\r\n",
    b"AUTH PLAIN\r\n",
    b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n",
    b"AUTH LOGIN\r\n",
    b"AUTH CRAM-MD5\r\n",
    b"AUTH XOAUTH2 ",
    b"AUTH OAUTHBEARER =\r\n",
    b"AGFsaWNlAHNlY3JldA==",
    b"*\r\n",
    b"STARTTLS\r\n",
    b"RSET\r\n",
    b"NOOP\r\n",
    b"QUIT\r\n",
    b"VRFY a\r\n",
    b".",
    b"..",
    b"\r\n",
    b"\r",
    b"\n",
    b"\r\n.\r\n",
    b"\n.\n",
    b"x",
    b"\0",
    b"\xff\xfe",
    "é用".as_bytes(),
    b"<",
    b">",
    b":",
    b" ",
    b"=",
];

fn token_soup() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..80).prop_map(|tokens| tokens.concat())
}

fn configs() -> impl Strategy<Value = Config> {
    prop_oneof![
        Just(config()),
        Just(Config::default()),
        Just(Config {
            lenient_syntax: true,
            max_line_len: 40,
            max_auth_line_len: 60,
            max_message_size: Some(16),
            max_recipients: 1,
            require_auth: true,
            require_tls_for_auth: false,
            accept_any_recipient: true,
            ..Config::default()
        }),
        Just(Config {
            extensions: Extensions::none(),
            max_message_size: None,
            ..Config::default()
        }),
    ]
}

/// Replies are well-formed, nothing follows Close, and every "queued" reply had a delivery.
fn check_invariants(run: &Run) {
    let mut closed = false;
    let mut queued = 0;
    for output in &run.outputs {
        assert!(!closed, "output after Close: {output:?}");
        match output {
            Output::Reply { bytes: reply, .. } => {
                let text = String::from_utf8_lossy(reply);
                assert!(text.ends_with("\r\n"), "{text:?}");
                let lines: Vec<&str> = text.trim_end_matches("\r\n").split("\r\n").collect();
                for (i, line) in lines.iter().enumerate() {
                    let b = line.as_bytes();
                    assert!(b.len() >= 4 && b[..3].iter().all(u8::is_ascii_digit), "{text:?}");
                    assert_eq!(b[3], if i + 1 == lines.len() { b' ' } else { b'-' }, "{text:?}");
                    assert_eq!(&line[..3], &lines[0][..3], "{text:?}");
                }
                queued += usize::from(text.contains(" Ok: queued"));
            }
            Output::Close => closed = true,
            Output::StartTls => {}
        }
    }
    assert_eq!(queued, run.delivered.len());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn split_points_do_not_change_the_run(points in prop::collection::vec(any::<usize>(), 0..24)) {
        let input = script();
        let whole = run(&config(), [&input[..]]);
        prop_assert_eq!(run(&config(), split_at_points(&input, &points)), whole);
    }

    #[test]
    fn split_points_do_not_change_hostile_runs(
        config in configs(),
        input in token_soup(),
        points in prop::collection::vec(any::<usize>(), 0..16),
    ) {
        let whole = run(&config, [&input[..]]);
        check_invariants(&whole);
        prop_assert_eq!(run(&config, split_at_points(&input, &points)), whole);
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        config in configs(),
        pieces in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..512), 0..8),
    ) {
        check_invariants(&run(&config, pieces.iter().map(Vec::as_slice)));
    }

    #[test]
    fn hostile_input_with_tls_handshakes_never_panics(
        config in configs(),
        pieces in prop::collection::vec(token_soup(), 1..6),
    ) {
        // Like a driver: complete the handshake whenever the session asks for one.
        let mut session = Session::new(config);
        let mut backend = TestBackend::default();
        let mut outputs = Vec::new();
        for piece in &pieces {
            session.handle_input(piece, &mut backend);
            while let Some(output) = session.poll_output() {
                if output == Output::StartTls {
                    session.tls_started();
                }
                outputs.push(output);
            }
        }
        check_invariants(&Run { outputs, delivered: backend.delivered, discarded: 0 });
    }
}
