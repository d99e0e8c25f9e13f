//! The connection driver over real loopback sockets, with a toy line protocol: greeting,
//! echo, STARTTLS, QUIT. Checks TLS upgrade, implicit TLS, recording, shutdown, reply batching
//! and the fault seam (`ReplyHook`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use mailrig_server::conn::{
    Action, Connection, Limits, Plan, Protocol, Reply, ReplyHook, ReplyKind, Step, Write, drive,
};
use mailrig_server::listen::{ListenerSpec, Listeners, Shared};
use mailrig_server::recorder::Recordings;
use mailrig_server::tls::Identity;
use mailrig_transcript::scenario::{self, Side};
use mailrig_transcript::transcript::EventKind;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector, rustls};

/// A final reply to `step`.
fn write(step: Step, bytes: &[u8]) -> Action {
    Action::Write(Reply::new(step, ReplyKind::Final, bytes))
}

/// Greets, echoes each line as `echo: LINE`, upgrades on `STARTTLS`, closes on `QUIT`.
#[derive(Default)]
struct Echo {
    buf: Vec<u8>,
    out: Vec<Action>,
}

impl Echo {
    fn new() -> Echo {
        Echo {
            buf: Vec::new(),
            out: vec![write(Step::Greeting, b"hello\r\n")],
        }
    }
}

impl Protocol for Echo {
    fn handle_input(&mut self, input: &[u8]) {
        self.buf.extend_from_slice(input);
        while let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
            let line: Vec<u8> = self.buf.drain(..i + 2).collect();
            match &line[..i] {
                b"STARTTLS" => {
                    self.out.push(write(Step::Command("STARTTLS"), b"go\r\n"));
                    self.out.push(Action::StartTls);
                    self.buf.clear();
                    return;
                }
                b"QUIT" => {
                    self.out.push(write(Step::Command("QUIT"), b"bye\r\n"));
                    self.out.push(Action::Close);
                }
                other => self.out.push(write(
                    Step::Command("ECHO"),
                    &[b"echo: ", other, b"\r\n"].concat(),
                )),
            }
        }
    }

    fn poll_action(&mut self) -> Option<Action> {
        (!self.out.is_empty()).then(|| self.out.remove(0))
    }

    fn tls_started(&mut self) {
        self.out.push(write(Step::Command("STARTTLS"), b"secure\r\n"));
    }

    fn shutdown(&mut self) {
        self.out.push(write(Step::Shutdown, b"shutting down\r\n"));
        self.out.push(Action::Close);
    }
}

async fn start(protocol: scenario::Protocol, identity: &Identity) -> (Listeners, SocketAddr, Recordings) {
    let recordings = Recordings::new();
    let shared = Shared {
        tls: Some(TlsAcceptor::from(identity.server_config().expect("config"))),
        limits: Limits::default(),
        max_connections: 4,
        recordings: recordings.clone(),
    };
    let spec = ListenerSpec {
        name: "echo",
        addr: "127.0.0.1:0".parse().expect("addr"),
        protocol,
        factory: Arc::new(|_| Box::new(Echo::new())),
    };
    let listeners = Listeners::start(vec![spec], shared).await.expect("bind");
    let addr = listeners.bound()[0].addr;
    (listeners, addr, recordings)
}

fn connector(identity: &Identity) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(identity.ca_pem().as_bytes()).expect("CA"))
        .expect("root");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

async fn line<S: AsyncRead + Unpin>(reader: &mut BufReader<S>) -> String {
    let mut line = String::new();
    tokio::time::timeout(Duration::from_secs(5), reader.read_line(&mut line))
        .await
        .expect("in time")
        .expect("read");
    line
}

async fn say<S: AsyncWrite + Unpin>(stream: &mut S, text: &str) {
    stream.write_all(text.as_bytes()).await.expect("write");
}

#[tokio::test]
async fn starttls_upgrade_discards_nothing_it_should_keep_and_records_everything() {
    let identity = Identity::generate().expect("identity");
    let (listeners, addr, recordings) = start(scenario::Protocol::Smtp, &identity).await;
    let mut plain = BufReader::new(TcpStream::connect(addr).await.expect("connect"));
    assert_eq!(line(&mut plain).await, "hello\r\n");
    say(plain.get_mut(), "ping\r\n").await;
    assert_eq!(line(&mut plain).await, "echo: ping\r\n");
    // A command pipelined behind STARTTLS in plaintext must never be executed.
    say(plain.get_mut(), "STARTTLS\r\ninjected\r\n").await;
    assert_eq!(line(&mut plain).await, "go\r\n");
    let socket = plain.into_inner();
    let name = ServerName::try_from("localhost").expect("name");
    let tls = connector(&identity)
        .connect(name, socket)
        .await
        .expect("handshake");
    let mut tls = BufReader::new(tls);
    assert_eq!(line(&mut tls).await, "secure\r\n");
    say(tls.get_mut(), "QUIT\r\n").await;
    assert_eq!(line(&mut tls).await, "bye\r\n");
    listeners.shutdown(Duration::from_secs(1)).await;

    let transcript = recordings.transcript();
    let session = &transcript.sessions[0];
    assert_eq!(session.name, "smtp1");
    let server = String::from_utf8(session.bytes_from(Side::Server)).expect("utf8");
    assert_eq!(server, "hello\r\necho: ping\r\ngo\r\nsecure\r\nbye\r\n");
    assert!(!server.contains("injected"));
    let tls_at = session
        .events
        .iter()
        .position(|e| e.kind == EventKind::TlsStarted)
        .expect("tls recorded");
    let closed = session
        .events
        .iter()
        .position(|e| e.kind == EventKind::Closed { by: Side::Server });
    assert!(closed.is_some_and(|c| c > tls_at));
}

#[tokio::test]
async fn implicit_tls_handshakes_before_the_greeting() {
    let identity = Identity::generate().expect("identity");
    let (listeners, addr, recordings) = start(scenario::Protocol::Smtps, &identity).await;
    let socket = TcpStream::connect(addr).await.expect("connect");
    let name = ServerName::IpAddress(std::net::IpAddr::from([127, 0, 0, 1]).into());
    let mut tls = BufReader::new(
        connector(&identity)
            .connect(name, socket)
            .await
            .expect("handshake"),
    );
    assert_eq!(line(&mut tls).await, "hello\r\n");
    listeners.shutdown(Duration::from_secs(1)).await;
    let transcript = recordings.transcript();
    assert_eq!(transcript.sessions[0].events[0].kind, EventKind::TlsStarted);
}

#[tokio::test]
async fn shutdown_says_goodbye_to_open_sessions() {
    let identity = Identity::generate().expect("identity");
    let (listeners, addr, _) = start(scenario::Protocol::Smtp, &identity).await;
    let mut plain = BufReader::new(TcpStream::connect(addr).await.expect("connect"));
    assert_eq!(line(&mut plain).await, "hello\r\n");
    let stop = tokio::spawn(listeners.shutdown(Duration::from_secs(2)));
    assert_eq!(line(&mut plain).await, "shutting down\r\n");
    assert_eq!(line(&mut plain).await, "", "then the server closes");
    stop.await.expect("shutdown finished");
}

#[tokio::test]
async fn connections_beyond_the_limit_are_turned_away_and_others_keep_working() {
    let identity = Identity::generate().expect("identity");
    let (listeners, addr, _) = start(scenario::Protocol::Smtp, &identity).await;
    let mut open = Vec::new();
    for _ in 0..4 {
        let mut c = BufReader::new(TcpStream::connect(addr).await.expect("connect"));
        assert_eq!(line(&mut c).await, "hello\r\n");
        open.push(c);
    }
    let mut extra = BufReader::new(TcpStream::connect(addr).await.expect("connect"));
    assert_eq!(line(&mut extra).await, "hello\r\n");
    assert_eq!(line(&mut extra).await, "shutting down\r\n");
    say(open[0].get_mut(), "still here\r\n").await;
    assert_eq!(line(&mut open[0]).await, "echo: still here\r\n");
    listeners.shutdown(Duration::from_secs(1)).await;
}

/// Splits every reply in two writes, the second after `delay`: a fault.
struct Split(Duration);

impl ReplyHook for Split {
    fn reply(&mut self, reply: Reply) -> Plan {
        let (head, tail) = reply.bytes.split_at(2);
        Plan {
            writes: vec![
                write_now(head),
                Write {
                    delay: self.0,
                    bytes: tail.to_vec(),
                },
            ],
            ..Plan::default()
        }
    }
}

fn write_now(bytes: &[u8]) -> Write {
    Write {
        delay: Duration::ZERO,
        bytes: bytes.to_vec(),
    }
}

/// Drops the replies to one step and passes the others: a fault keyed by protocol step.
struct DropStep(Step);

impl ReplyHook for DropStep {
    fn reply(&mut self, reply: Reply) -> Plan {
        if reply.step == self.0 {
            return Plan::default();
        }
        Plan {
            writes: vec![write_now(&reply.bytes)],
            ..Plan::default()
        }
    }
}

#[tokio::test]
async fn the_hook_sees_each_replys_step() {
    let writes = server_writes(Some(Box::new(DropStep(Step::Command("ECHO")))), "a\r\nQUIT\r\n").await;
    assert_eq!(writes, ["hello\r\n", "bye\r\n"]);
}

/// Runs `Echo` on one accepted connection with `hook`, sends `input` in one write, and returns
/// the server's writes as recorded.
async fn server_writes(hook: Option<Box<dyn ReplyHook>>, input: &str) -> Vec<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let recordings = Recordings::new();
    let recorder = recordings.begin(scenario::Protocol::Smtp);
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.expect("accept");
        let conn = Connection {
            socket,
            tls: None,
            implicit_tls: false,
            recorder,
            limits: Limits::default(),
            shutdown,
            hook,
        };
        let _ = drive(conn, &mut Echo::new()).await;
    });
    let mut client = BufReader::new(TcpStream::connect(addr).await.expect("connect"));
    assert_eq!(line(&mut client).await, "hello\r\n");
    say(client.get_mut(), input).await;
    while !line(&mut client).await.starts_with("bye") {}
    server.await.expect("server task");
    let transcript = recordings.transcript();
    transcript.sessions[0]
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Data {
                from: Side::Server,
                bytes,
            } => Some(String::from_utf8_lossy(bytes).into_owned()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn replies_to_a_pipelined_group_leave_in_one_write() {
    let writes = server_writes(None, "a\r\nb\r\nQUIT\r\n").await;
    assert_eq!(writes, ["hello\r\n", "echo: a\r\necho: b\r\nbye\r\n"]);
}

#[tokio::test]
async fn a_hook_that_splits_replies_is_obeyed_write_for_write() {
    let writes = server_writes(Some(Box::new(Split(Duration::from_millis(1)))), "a\r\nQUIT\r\n").await;
    assert_eq!(writes, ["he", "llo\r\n", "ec", "ho: a\r\n", "by", "e\r\n"]);
}
