//! `mailrig_runner::replay` with hand-written tokio clients over real sockets: a client that
//! follows the script and one that does not, implicit TLS and STARTTLS against the generated
//! CA, two sessions on successive connections, a connection too many, write boundaries, and
//! the errors (no client, a client-only scenario, a listener for an unused protocol).

use std::time::Duration;

use mailrig_runner::replay::{Replay, ReplayConfig, ReplayError, Replayed};
use mailrig_runner::target::Trust;
use mailrig_transcript::scenario::{Protocol, Side};
use mailrig_transcript::transcript::EventKind;
use mailrig_transcript::{parse, report};
use rustls_pki_types::ServerName;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

const SMTP: &str = "name: smtp-hello\nsessions: s=smtp\nplays: server\n\n\
S: 220 ${_:text=ready}\nC: EHLO ${_:word}\nS: 250 ${_:text=hi}\nC: QUIT\nS: 221 ${_:text=bye}\n";

fn config() -> ReplayConfig {
    ReplayConfig {
        receive_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(5),
        ..ReplayConfig::default()
    }
}

async fn start(text: &str) -> Replay {
    let scenario = parse("t.scenario", text).expect("valid scenario");
    Replay::start(scenario, config()).await.expect("replay starts")
}

async fn finish(replay: Replay) -> Replayed {
    tokio::time::timeout(Duration::from_secs(20), replay.finish())
        .await
        .expect("the replay decides within its deadlines")
        .expect("the replay runs")
}

/// A line-at-a-time client over any stream.
struct Client<S> {
    io: BufReader<S>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    fn new(stream: S) -> Client<S> {
        Client {
            io: BufReader::new(stream),
        }
    }

    async fn line(&mut self) -> String {
        let mut line = String::new();
        tokio::time::timeout(Duration::from_secs(10), self.io.read_line(&mut line))
            .await
            .expect("a line within 10 s")
            .expect("readable");
        line
    }

    async fn send(&mut self, text: &str) {
        self.io
            .get_mut()
            .write_all(text.as_bytes())
            .await
            .expect("writable");
    }

    /// The stream, for a TLS handshake; nothing may be buffered unread.
    fn into_inner(self) -> S {
        assert!(self.io.buffer().is_empty(), "bytes after the STARTTLS reply");
        self.io.into_inner()
    }
}

async fn tcp(replay: &Replay, protocol: Protocol) -> Client<TcpStream> {
    let addr = replay.addr(protocol).expect("a listener for the protocol");
    Client::new(TcpStream::connect(addr).await.expect("connects"))
}

async fn tls<S: AsyncRead + AsyncWrite + Unpin>(
    replay: &Replay,
    stream: S,
) -> tokio_rustls::client::TlsStream<S> {
    let config = Trust::ca_pem(replay.ca_pem().as_bytes())
        .expect("CA parses")
        .client_config()
        .expect("client config");
    let name = ServerName::try_from("localhost").expect("name");
    TlsConnector::from(config)
        .connect(name, stream)
        .await
        .expect("the handshake succeeds against the replay's CA")
}

fn failure(replayed: &Replayed) -> String {
    replayed
        .report
        .failure()
        .map_or_else(|| "passed".to_owned(), |f| f.reason.clone())
}

#[tokio::test]
async fn a_client_that_follows_the_script_passes() {
    let replay = start(SMTP).await;
    let mut c = tcp(&replay, Protocol::Smtp).await;
    assert_eq!(c.line().await, "220 ready\r\n");
    c.send("EHLO me.example\r\n").await;
    assert_eq!(c.line().await, "250 hi\r\n");
    c.send("QUIT\r\n").await;
    assert_eq!(c.line().await, "221 bye\r\n");
    let replayed = finish(replay).await;
    assert!(replayed.report.passed(), "{}", failure(&replayed));
}

#[tokio::test]
async fn a_client_that_diverges_fails_with_the_diff_at_the_line() {
    let replay = start(SMTP).await;
    let mut c = tcp(&replay, Protocol::Smtp).await;
    assert_eq!(c.line().await, "220 ready\r\n");
    c.send("HELO me.example\r\n").await;
    let replayed = finish(replay).await;
    assert_eq!(failure(&replayed), "the client sent something else");
    let shown = report::render(&replayed.report, "t.scenario", SMTP);
    assert!(shown.contains("t.scenario:6"), "{shown}");
    assert!(shown.contains("HELO me.example"), "{shown}");
}

#[tokio::test]
async fn hostile_bytes_are_a_divergence_not_a_crash() {
    let replay = start(SMTP).await;
    let mut c = tcp(&replay, Protocol::Smtp).await;
    c.line().await;
    c.io.get_mut()
        .write_all(b"\xff\x00\xfe{99999999999}\r\n\r\n\x1b[2J\r\n")
        .await
        .expect("writable");
    let replayed = finish(replay).await;
    assert!(!replayed.report.passed());
}

#[tokio::test]
async fn implicit_tls_is_served_with_the_generated_ca() {
    let text = "name: imaps\nsessions: a=imaps\nplays: server\n\n\
S: * OK ${_:text=secure}\nC: ${t:atom} NOOP\nS: ${t} OK ${_:text=done}\n";
    let replay = start(text).await;
    let addr = replay.addr(Protocol::Imaps).expect("imaps listener");
    let stream = tls(&replay, TcpStream::connect(addr).await.expect("connects")).await;
    let mut c = Client::new(stream);
    assert_eq!(c.line().await, "* OK secure\r\n");
    c.send("x1 NOOP\r\n").await;
    assert_eq!(c.line().await, "x1 OK done\r\n");
    let replayed = finish(replay).await;
    assert!(replayed.report.passed(), "{}", failure(&replayed));
}

const STARTTLS: &str = "name: starttls\nsessions: s=smtp\nplays: server\n\n\
S: 220 ${_:text=ready}\nC: STARTTLS\nS: 220 ${_:text=go ahead}\n@starttls\n\
C: EHLO ${_:word}\nS: 250 ${_:text=secret}\n";

#[tokio::test]
async fn starttls_runs_the_server_side_handshake_when_the_scenario_says() {
    let replay = start(STARTTLS).await;
    let mut c = tcp(&replay, Protocol::Smtp).await;
    c.line().await;
    c.send("STARTTLS\r\n").await;
    assert_eq!(c.line().await, "220 go ahead\r\n");
    let mut c = Client::new(tls(&replay, c.into_inner()).await);
    c.send("EHLO me\r\n").await;
    assert_eq!(c.line().await, "250 secret\r\n");
    let replayed = finish(replay).await;
    assert!(replayed.report.passed(), "{}", failure(&replayed));
}

#[tokio::test]
async fn a_client_that_stays_in_plaintext_after_starttls_fails_at_the_handshake() {
    let replay = start(STARTTLS).await;
    let mut c = tcp(&replay, Protocol::Smtp).await;
    c.line().await;
    c.send("STARTTLS\r\n").await;
    c.line().await;
    c.send("EHLO me\r\n").await;
    let replayed = finish(replay).await;
    assert!(
        failure(&replayed).starts_with("the TLS handshake failed"),
        "{}",
        failure(&replayed)
    );
}

#[tokio::test]
async fn sessions_go_to_successive_connections_in_the_order_of_their_first_line() {
    // `b` is declared first, but `a` speaks first: the first connection is `a`.
    let text = "name: two\nsessions: b=imap, a=imap\nplays: server\n\n\
a S: * OK ${_:text=I am a}\nb S: * OK ${_:text=I am b}\n\
b C: B1 NOOP\nb S: B1 OK ${_:text=b done}\na C: A1 NOOP\na S: A1 OK ${_:text=a done}\n";
    let replay = start(text).await;
    let mut first = tcp(&replay, Protocol::Imap).await;
    assert_eq!(first.line().await, "* OK I am a\r\n");
    let mut second = tcp(&replay, Protocol::Imap).await;
    assert_eq!(second.line().await, "* OK I am b\r\n");
    second.send("B1 NOOP\r\n").await;
    assert_eq!(second.line().await, "B1 OK b done\r\n");
    first.send("A1 NOOP\r\n").await;
    assert_eq!(first.line().await, "A1 OK a done\r\n");
    let replayed = finish(replay).await;
    assert!(replayed.report.passed(), "{}", failure(&replayed));
}

#[tokio::test]
async fn one_connection_too_many_is_closed_and_fails_the_run() {
    let text = "name: one\nsessions: a=imap\nplays: server\n\n\
S: * OK ${_:text=hi}\nC: A1 NOOP\nS: A1 OK ${_:text=done}\n";
    let replay = start(text).await;
    let mut first = tcp(&replay, Protocol::Imap).await;
    first.line().await;
    let mut extra = tcp(&replay, Protocol::Imap).await;
    assert_eq!(
        extra.line().await,
        "",
        "the extra connection is closed unanswered"
    );
    let replayed = finish(replay).await;
    assert_eq!(
        failure(&replayed),
        "the client opened 2 `imap` connection(s), but the scenario has 1 `imap` session(s)"
    );
}

#[tokio::test]
async fn the_listeners_close_when_the_run_is_decided() {
    let replay = start(SMTP).await;
    let addr = replay.addr(Protocol::Smtp).expect("listener");
    let mut c = tcp(&replay, Protocol::Smtp).await;
    c.line().await;
    c.send("HELO wrong\r\n").await;
    finish(replay).await;
    assert!(TcpStream::connect(addr).await.is_err(), "still listening");
}

#[tokio::test]
async fn write_boundaries_are_kept_one_write_per_piece() {
    let text = "name: split\nsessions: a=imap\nplays: server\n\n\
S: * OK hel${|}lo\nS: * OK two\n";
    let replay = start(text).await;
    let mut c = tcp(&replay, Protocol::Imap).await;
    assert_eq!(c.line().await, "* OK hello\r\n");
    assert_eq!(c.line().await, "* OK two\r\n");
    let replayed = finish(replay).await;
    assert!(replayed.report.passed(), "{}", failure(&replayed));
    let writes: Vec<String> = replayed.transcript.sessions[0]
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Data {
                from: Side::Server,
                bytes,
            } => Some(String::from_utf8_lossy(bytes).into_owned()),
            _ => None,
        })
        .collect();
    assert_eq!(writes, ["* OK hel", "lo\r\n* OK two\r\n"]);
}

#[tokio::test]
async fn no_client_is_an_error_after_the_connect_timeout() {
    let scenario = parse("t.scenario", SMTP).expect("valid");
    let config = ReplayConfig {
        connect_timeout: Duration::from_millis(200),
        ..config()
    };
    let replay = Replay::start(scenario, config).await.expect("starts");
    let err = replay.finish().await.expect_err("nobody connected");
    assert_eq!(err.to_string(), "no client connected within 200ms");
}

#[tokio::test]
async fn a_client_only_scenario_and_an_unused_listener_are_refused() {
    let client_only = parse(
        "t.scenario",
        &SMTP
            .replace("plays: server", "plays: client")
            .replace("${_:word}", "me"),
    )
    .expect("valid");
    let err = Replay::start(client_only, config())
        .await
        .expect_err("plays: client");
    assert!(matches!(err, ReplayError::ClientOnly), "{err}");
    assert!(err.to_string().contains("`plays: client`"), "{err}");

    let scenario = parse("t.scenario", SMTP).expect("valid");
    let config = ReplayConfig {
        listen: vec![(Protocol::Imap, "127.0.0.1:0".parse().expect("addr"))],
        ..config()
    };
    let err = Replay::start(scenario, config)
        .await
        .expect_err("no imap session");
    assert_eq!(
        err.to_string(),
        "the scenario has no `imap` session to listen for"
    );
}

const TWO_SMTP: &str = "name: two\nsessions: a=smtp, b=smtp\nplays: server\n\n\
a S: 220 ${_:text=ready}\na C: QUIT\na S: 221 ${_:text=bye}\n\
b S: 220 ${_:text=ready}\nb C: QUIT\nb S: 221 ${_:text=bye}\n";

/// A client that floods the second session while the script is still on the first: the
/// replay holds at most a few MiB past what the script expects there, then fails the run
/// with how much it got and closes the connection, so the client's writes fail long before
/// it has sent 256 MiB.
#[tokio::test]
async fn a_flooding_client_is_cut_off_with_a_divergence() {
    let replay = start(TWO_SMTP).await;
    let mut first = tcp(&replay, Protocol::Smtp).await;
    assert_eq!(first.line().await, "220 ready\r\n");
    let mut second = tcp(&replay, Protocol::Smtp).await;
    let chunk = vec![b'x'; 64 * 1024];
    let mut sent = 0usize;
    while sent < 256 << 20 {
        let write = tokio::time::timeout(Duration::from_secs(10), second.io.get_mut().write_all(&chunk));
        match write.await {
            Ok(Ok(())) => sent += chunk.len(),
            Ok(Err(_)) => break,
            Err(_) => panic!("the replay stopped reading without closing, after {sent} bytes"),
        }
    }
    assert!(sent < 64 << 20, "{sent} bytes were accepted");
    let replayed = finish(replay).await;
    let reason = failure(&replayed);
    assert!(reason.starts_with("the client sent "), "{reason}");
    assert!(reason.contains(" bytes the script does not expect"), "{reason}");
}

// Fault rules on the replay's own writes (docs/faults.md), against a small mail-sending client
// that gives up as a real one would: each test runs the same exchange with and without the rule.

const SEND: &str = "name: send\nsessions: s=smtp\nplays: server\n\n\
S: 220 ${|}ready\nC: EHLO ${_:word}\nS: 250-hi\nS: 250 PIPELINING\nC: MAIL FROM:<a@example.test>\nS: 250 ok\n\
C: RCPT TO:<b@example.test>\nS: 250 ok\nC: DATA\nS: 354 go\nC: Subject: t\nC:\nC: hi\nC: .\n\
S: 250 queued\nC: QUIT\nS: 221 bye\n";

/// Sends one message; on a refusal it says QUIT (if it can) and returns the reply it got
/// (empty: the connection closed).
async fn send_mail(c: &mut Client<TcpStream>) -> Result<(), String> {
    async fn expect(c: &mut Client<TcpStream>, code: &str) -> Result<(), String> {
        let mut reply = c.line().await;
        while reply.get(3..4) == Some("-") {
            reply = c.line().await;
        }
        if reply.starts_with(code) {
            return Ok(());
        }
        if !reply.is_empty() {
            c.send("QUIT\r\n").await;
        }
        Err(reply)
    }
    expect(c, "220").await?;
    for (command, code) in [
        ("EHLO me.example\r\n", "250"),
        ("MAIL FROM:<a@example.test>\r\n", "250"),
        ("RCPT TO:<b@example.test>\r\n", "250"),
        ("DATA\r\n", "354"),
        ("Subject: t\r\n\r\nhi\r\n.\r\n", "250"),
        ("QUIT\r\n", "221"),
    ] {
        c.send(command).await;
        expect(c, code).await?;
    }
    Ok(())
}

async fn send_with_faults(text: &str, rules: &[&str]) -> (Result<(), String>, Replayed) {
    let scenario = parse("t.scenario", text).expect("valid scenario");
    let rules = rules
        .iter()
        .map(|r| mailrig_server::fault::Rule::parse(r).expect("rule parses"))
        .collect();
    let replay = Replay::start_with_faults(scenario, config(), rules, 0)
        .await
        .expect("replay starts");
    let mut c = tcp(&replay, Protocol::Smtp).await;
    let sent = send_mail(&mut c).await;
    drop(c);
    (sent, finish(replay).await)
}

#[tokio::test]
async fn a_greeting_fault_from_the_header_makes_the_client_give_up_and_the_verdict_says_so() {
    let (sent, replayed) = send_with_faults(SEND, &[]).await;
    assert_eq!(sent, Ok(()));
    assert!(replayed.report.passed(), "{}", failure(&replayed));

    let faulty = SEND.replacen(
        "plays: server\n",
        "plays: server\nfaults: greeting: reply 421 4.3.2 busy\n",
        1,
    );
    let (sent, replayed) = send_with_faults(&faulty, &[]).await;
    assert_eq!(sent, Err("421 4.3.2 busy\r\n".to_owned()));
    let fail = replayed.report.failure().expect("the client never sent EHLO");
    assert_eq!(fail.pos.line, 7, "the failure is at `C: EHLO`: {fail:?}");
    let rendered = report::render(&replayed.report, "t.scenario", &faulty);
    assert!(
        rendered.contains("QUIT"),
        "the diff shows what the client sent instead:\n{rendered}"
    );
}

#[tokio::test]
async fn a_close_at_rcpt_ends_the_session_and_the_client_is_judged_on_what_it_did() {
    let (sent, replayed) = send_with_faults(SEND, &[]).await;
    assert_eq!(sent, Ok(()));
    assert!(replayed.report.passed(), "{}", failure(&replayed));

    let (sent, replayed) = send_with_faults(SEND, &["rcpt: close"]).await;
    assert_eq!(sent, Err(String::new()), "the client saw the connection close");
    let fail = replayed
        .report
        .failure()
        .expect("the client closed instead of DATA");
    assert_eq!(fail.pos.line, 13, "the failure is at `C: DATA`: {fail:?}");
    assert!(fail.reason.contains("closed"), "{}", fail.reason);
}

#[tokio::test]
async fn a_refused_message_is_heard_by_the_client_and_its_quit_still_follows_the_script() {
    let (sent, replayed) = send_with_faults(SEND, &["data-end: delay 10ms"]).await;
    assert_eq!(sent, Ok(()));
    assert!(replayed.report.passed(), "{}", failure(&replayed));
    let (sent, replayed) = send_with_faults(SEND, &["data-end: reply 554 5.7.1 no"]).await;
    assert_eq!(sent, Err("554 5.7.1 no\r\n".to_owned()));
    assert!(
        replayed.report.passed(),
        "the client said QUIT as the script expects: {}",
        failure(&replayed)
    );
}

/// A listener the caller binds once (`ReplayConfig::bound`) serves one replay after another
/// and stays open between them; each replay sees only its own client.
#[tokio::test]
async fn replays_one_after_another_share_a_listener_the_caller_keeps() {
    let listener = std::sync::Arc::new(tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds"));
    let addr = listener.local_addr().expect("bound");
    for round in 0..3 {
        let config = ReplayConfig {
            bound: vec![(Protocol::Smtp, listener.clone())],
            ..config()
        };
        let scenario = parse("t.scenario", SMTP).expect("valid scenario");
        let replay = Replay::start(scenario, config).await.expect("replay starts");
        assert_eq!(replay.addr(Protocol::Smtp), Some(addr), "round {round}");
        let mut client = tcp(&replay, Protocol::Smtp).await;
        assert!(client.line().await.starts_with("220 "));
        client.send("EHLO me\r\n").await;
        assert!(client.line().await.starts_with("250 "));
        client.send("QUIT\r\n").await;
        assert!(client.line().await.starts_with("221 "));
        let replayed = finish(replay).await;
        assert!(
            replayed.report.passed(),
            "round {round}: {}",
            report::render(&replayed.report, "t.scenario", SMTP)
        );
    }
    assert_eq!(
        std::sync::Arc::strong_count(&listener),
        1,
        "no accept task keeps it"
    );
}
