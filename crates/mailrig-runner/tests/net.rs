//! The network driver against small hand-written servers on 127.0.0.1: a server that stops
//! answering fails the step with what arrived, within the timeout, and so does one that
//! hangs up; nothing hangs the run.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use mailrig_runner::net::play_client;
use mailrig_runner::target::{Endpoint, Endpoints, Trust};
use mailrig_transcript::engine::EngineConfig;
use mailrig_transcript::parse;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const SCENARIO: &str =
    "name: n\nsessions: a=imap\nplays: client\n\nS: * OK ${_}\nC: A1 NOOP\nS: A1 OK ${_}\n";

/// A server that greets, reads one command, then does `after` with the connection.
async fn server(after: &'static str) -> Endpoints {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accept");
        stream.write_all(b"* OK hello\r\n").await.expect("greet");
        let mut buf = [0u8; 64];
        let _ = stream.read(&mut buf).await;
        match after {
            "half" => {
                stream.write_all(b"* 3 EXISTS\r\nA1 O").await.expect("write");
                tokio::time::sleep(Duration::from_secs(30)).await;
            }
            "hang up" => drop(stream),
            _ => tokio::time::sleep(Duration::from_secs(30)).await,
        }
    });
    let mut endpoints = Endpoints::default();
    endpoints.set(
        mailrig_transcript::scenario::Protocol::Imap,
        Endpoint {
            host: "127.0.0.1".into(),
            port,
            implicit_tls: false,
        },
    );
    endpoints
}

async fn play(after: &'static str, timeout: Duration) -> (String, Duration) {
    let endpoints = server(after).await;
    let scenario = parse("n.scenario", SCENARIO).expect("valid");
    let tls = Trust::Insecure.client_config().expect("tls config");
    let config = EngineConfig {
        receive_timeout: timeout,
        ..EngineConfig::default()
    };
    let started = Instant::now();
    let played = play_client(scenario, &endpoints, tls, &BTreeMap::new(), config)
        .await
        .expect("played");
    assert!(!played.report.passed());
    let shown = mailrig_transcript::report::render(&played.report, "n.scenario", SCENARIO);
    (shown, started.elapsed())
}

#[tokio::test]
async fn a_server_that_stops_mid_line_fails_at_the_timeout_with_what_arrived() {
    let (shown, took) = play("half", Duration::from_millis(300)).await;
    // The unfinished line is judged as it stands once the wait is over.
    assert!(shown.contains("+ S: A1 O${nocrlf}"), "{shown}");
    assert!(shown.contains("* 3 EXISTS"), "what arrived is shown: {shown}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[tokio::test]
async fn a_silent_server_fails_at_the_timeout() {
    let (shown, took) = play("silent", Duration::from_millis(300)).await;
    assert!(shown.contains("never arrived"), "{shown}");
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(5),
        "took {took:?}"
    );
}

#[tokio::test]
async fn lines_after_the_last_server_line_are_still_sent() {
    // The run is decided once the last `S:` line matched; the `C:` lines after it go out too.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accept");
        stream.write_all(b"* OK hello\r\n").await.expect("greet");
        let mut got = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut got)).await;
        String::from_utf8_lossy(&got).into_owned()
    });
    let mut endpoints = Endpoints::default();
    let endpoint = Endpoint {
        host: "127.0.0.1".into(),
        port,
        implicit_tls: false,
    };
    endpoints.set(mailrig_transcript::scenario::Protocol::Imap, endpoint);
    let text = "name: n\nsessions: a=imap\nplays: client\n\nS: * OK ${_}\nC: A1 LOGOUT\n";
    let scenario = parse("n.scenario", text).expect("valid");
    let tls = Trust::Insecure.client_config().expect("tls config");
    let played = play_client(
        scenario,
        &endpoints,
        tls,
        &BTreeMap::new(),
        EngineConfig::default(),
    )
    .await
    .expect("played");
    assert!(played.report.passed());
    assert_eq!(server.await.expect("server"), "A1 LOGOUT\r\n");
}

#[tokio::test]
async fn a_server_that_hangs_up_fails_at_once() {
    let (shown, took) = play("hang up", Duration::from_secs(20)).await;
    assert!(shown.contains("the server closed the connection"), "{shown}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
}
