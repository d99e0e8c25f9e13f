//! The protocol-step faults (`reset`, `bye`, `cut`, `stall`) reach the client through the
//! replay's fault layer: a small IMAP client reads the greeting, logs in and reads until the
//! connection ends, and what it saw is the fault's doing (a reset is ECONNRESET). A case's
//! printed file carries the rules, so `mailrig replay` of it does the same.

use std::io::ErrorKind;
use std::pin::Pin;
use std::time::Duration;

use mailrig_fuzz::{Canonical, Case, Ended, Endpoint, Harness, HarnessConfig, Mutation};
use mailrig_transcript::scenario::Protocol;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// What the client read: its lines, and how reading ended (`None`: it stopped waiting).
type Seen = (Vec<String>, Option<Result<(), ErrorKind>>);

/// How long the client waits for a line: long enough for a loaded machine in every case but
/// the stall, which only ends when the client stops waiting. Below the harness's 5 s limit.
const PATIENCE: Duration = Duration::from_secs(4);
const STALL_PATIENCE: Duration = Duration::from_millis(500);

/// Reads the greeting, sends LOGIN, then reads lines until LOGIN's completion, EOF, an error
/// or `patience` of silence.
async fn client(endpoint: Endpoint, patience: Duration) -> Seen {
    let mut lines = Vec::new();
    let tcp = match tokio::net::TcpStream::connect(endpoint.addr(Protocol::Imap)).await {
        Ok(tcp) => tcp,
        Err(e) => return (lines, Some(Err(e.kind()))),
    };
    let mut conn = BufReader::new(tcp);
    let mut logged_in = false;
    loop {
        let mut line = String::new();
        let read = tokio::time::timeout(patience, conn.read_line(&mut line)).await;
        match read {
            Err(_) => return (lines, None),
            Ok(Err(e)) => return (lines, Some(Err(e.kind()))),
            Ok(Ok(0)) => {
                if !line.is_empty() {
                    lines.push(line);
                }
                return (lines, Some(Ok(())));
            }
            Ok(Ok(_)) => lines.push(line.trim_end().to_owned()),
        }
        if line.starts_with("a1 ") {
            return (lines, Some(Ok(())));
        }
        if !logged_in {
            logged_in = true;
            if let Err(e) = conn.get_mut().write_all(b"a1 LOGIN alice secret\r\n").await {
                return (lines, Some(Err(e.kind())));
            }
        }
    }
}

type Client = fn(Endpoint) -> Pin<Box<dyn Future<Output = Seen> + Send>>;

/// Greeting, LOGIN, then the client closes (this client stops after LOGIN).
fn canonical() -> Canonical {
    let text = "name: login\nsessions: a=imap\nplays: server\n\nS: * OK [CAPABILITY IMAP4rev1] ready\nC: ${t1:atom} LOGIN alice secret\nS: ${t1} OK LOGIN completed\n@close client\n";
    let scenario = mailrig_transcript::parse("login.scenario", text).expect("valid");
    Canonical::new(scenario).expect("canonical")
}

fn harness(canonical: &Canonical, stall: bool) -> Harness<Client, Seen> {
    let run: Client = if stall {
        |e| Box::pin(client(e, STALL_PATIENCE))
    } else {
        |e| Box::pin(client(e, PATIENCE))
    };
    Harness::new(canonical, HarnessConfig::default(), run).expect("the client follows the canonical")
}

/// Runs `mutation` on the login canonical; returns what the client saw and the case.
fn seen(mutation: Mutation) -> (Seen, Case) {
    let canonical = canonical();
    let harness = harness(&canonical, matches!(mutation, Mutation::Stall { .. }));
    let case = Case::new(&canonical, vec![mutation]);
    let run = harness.run(case.scenario()).expect("the replay runs");
    let Ended::Returned(seen) = run.ended else {
        panic!("the client did not return: {:?}", run.ended);
    };
    assert!(
        harness.check(&case).is_ok(),
        "a client that survives passes the case"
    );
    (seen, case)
}

#[test]
fn a_reset_case_replays_as_a_connection_reset() {
    let ((lines, ending), case) = seen(Mutation::Reset { line: 1 });
    assert_eq!(lines, ["* OK [CAPABILITY IMAP4rev1] ready"]);
    assert_eq!(ending, Some(Err(ErrorKind::ConnectionReset)), "an RST, not a FIN");
    assert!(
        case.to_text().contains("\nfaults: imap LOGIN#1 final: reset\n"),
        "{}",
        case.to_text()
    );
}

#[test]
fn a_bye_case_says_goodbye_instead_of_the_reply_and_closes() {
    let ((lines, ending), _) = seen(Mutation::Bye { line: 1 });
    assert_eq!(
        lines,
        [
            "* OK [CAPABILITY IMAP4rev1] ready",
            "* BYE mailrig fuzz: going away"
        ]
    );
    assert_eq!(ending, Some(Ok(())));
}

#[test]
fn a_cut_case_closes_mid_line() {
    let ((lines, ending), _) = seen(Mutation::Cut { line: 0, at: 4 });
    assert_eq!(lines, ["* OK"]);
    assert_eq!(ending, Some(Ok(())));
}

#[test]
fn a_stall_case_goes_silent() {
    let ((lines, ending), _) = seen(Mutation::Stall { line: 1 });
    assert_eq!(lines, ["* OK [CAPABILITY IMAP4rev1] ready"]);
    assert_eq!(ending, None, "the client stopped waiting");
}

/// Without the rule (the canonical) the same client reads the completion: the endings above
/// are the faults' doing.
#[test]
fn the_canonical_completes_the_login() {
    let (lines, _) = harness(&canonical(), false).baseline().clone();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[1].ends_with(" OK LOGIN completed"), "{lines:?}");
}
