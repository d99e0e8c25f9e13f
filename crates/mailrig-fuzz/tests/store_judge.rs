//! The in-process harness's store judge: a client that delivers another message under a legal
//! variation, though it follows the script (the canonical leaves the body as holes), fails
//! the case, and the case file in the failure pins the message, so a replay of that file
//! fails where the message differs. The same client without its bug passes. Seen failing
//! with the harness printing the unpinned case (the `C=:` assertion) and with the store
//! judge switched off (the buggy client passed).

use std::pin::Pin;

use mailrig_fuzz::{Canonical, Case, Harness, HarnessConfig, Mutation};
use mailrig_transcript::scenario::Protocol;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// The canonical: one message over plain SMTP, its body lines left open.
const CANONICAL: &str = "name: store-judge
sessions: s=smtp
plays: server

S: 220 mailrig fuzz ready
C: EHLO ${_:word}
S: 250-mx.example.test greets you
S: 250-8BITMIME
S: 250 SIZE 10240000
C: MAIL FROM:<alice@example.test>
S: 250 sender ok
C: RCPT TO:<bob@example.test>
S: 250 recipient ok
C: DATA
S: 354 go ahead
C: Subject: fuzz
C:
C: ${_}
C: ${_}
C: .
S: 250 queued
C: QUIT
S: 221 bye
@close server
";

/// Sends one message; with `buggy`, when the EHLO reply's last line is not the SIZE line it
/// drops the last byte of the message's last line (a stand-in for any bug that changes the
/// message but not the dialogue). Returns whether the server queued it.
async fn send(endpoint: mailrig_fuzz::Endpoint, buggy: bool) -> Result<bool, String> {
    let tcp = TcpStream::connect(endpoint.addr(Protocol::Smtp))
        .await
        .map_err(|e| e.to_string())?;
    let mut conn = BufReader::new(tcp);
    reply(&mut conn).await?;
    let mut last_line = "last line".to_owned();
    conn.get_mut()
        .write_all(b"EHLO client.example.test\r\n")
        .await
        .map_err(|e| e.to_string())?;
    let ehlo = reply(&mut conn).await?;
    if buggy && !ehlo.last().is_some_and(|l| l.contains("SIZE")) {
        last_line.pop();
    }
    for command in [
        "MAIL FROM:<alice@example.test>",
        "RCPT TO:<bob@example.test>",
        "DATA",
    ] {
        conn.get_mut()
            .write_all(format!("{command}\r\n").as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        reply(&mut conn).await?;
    }
    let body = format!("Subject: fuzz\r\n\r\nfirst line\r\n{last_line}\r\n.\r\n");
    conn.get_mut()
        .write_all(body.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let queued = reply(&mut conn).await?.iter().any(|l| l.starts_with("250"));
    conn.get_mut()
        .write_all(b"QUIT\r\n")
        .await
        .map_err(|e| e.to_string())?;
    reply(&mut conn).await?;
    Ok(queued)
}

/// The lines of one reply, up to the one whose code is followed by a space.
async fn reply(conn: &mut BufReader<TcpStream>) -> Result<Vec<String>, String> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        let read = tokio::time::timeout(std::time::Duration::from_secs(4), conn.read_line(&mut line)).await;
        match read {
            Err(_) => return Err("no reply".to_owned()),
            Ok(Err(e)) => return Err(e.to_string()),
            Ok(Ok(0)) => return Err("closed".to_owned()),
            Ok(Ok(_)) => {}
        }
        let done = line.as_bytes().get(3) == Some(&b' ');
        lines.push(line.trim_end().to_owned());
        if done {
            return Ok(lines);
        }
    }
}

type Client = fn(mailrig_fuzz::Endpoint) -> Pin<Box<dyn Future<Output = Result<bool, String>> + Send>>;

fn harness(canonical: &Canonical, buggy: bool) -> Harness<Client, Result<bool, String>> {
    let client: Client = if buggy {
        |e| Box::pin(send(e, true))
    } else {
        |e| Box::pin(send(e, false))
    };
    Harness::new(canonical, HarnessConfig::default(), client).expect("the client follows the canonical")
}

/// The EHLO keyword lines swapped: SIZE first, 8BITMIME last (legal, RFC 5321 §4.1.1.1).
fn swapped(canonical: &Canonical) -> Case {
    Case::new(
        canonical,
        vec![Mutation::Permute {
            line: 1,
            swaps: vec![(0, 1)],
        }],
    )
}

#[test]
fn a_changed_message_is_a_finding_with_the_message_pinned() {
    let scenario = mailrig_transcript::parse("store-judge.scenario", CANONICAL).expect("valid");
    let canonical = Canonical::new(scenario).expect("canonical");
    let case = swapped(&canonical);
    assert!(
        case.to_text().contains("S: 250-SIZE 10240000\nS: 250 8BITMIME\n"),
        "{}",
        case.to_text()
    );

    harness(&canonical, false)
        .check(&case)
        .expect("the correct client delivers the same message");

    let buggy = harness(&canonical, true);
    let failure = buggy
        .check(&case)
        .expect_err("the buggy client's message changed")
        .to_string();
    assert!(
        failure.contains("the client stored something else under a variation it must ignore"),
        "{failure}"
    );
    assert!(
        failure.contains("C=: last line\n"),
        "the message is pinned:\n{failure}"
    );

    // The printed file, replayed, fails the buggy client at the pinned line; the script
    // alone (the unpinned case) does not.
    let printed = failure
        .split_once("--- the case as a scenario file:\n")
        .expect("the failure carries the file")
        .1;
    let pinned = mailrig_transcript::parse("pinned.scenario", printed).expect("the file parses");
    let run = buggy.run(pinned.clone()).expect("the replay runs");
    let report = run.report.expect("the replay ended in time");
    let failed = report.failure().expect("the pinned line fails");
    assert!(
        printed.lines().nth(failed.pos.line - 1) == Some("C=: last line"),
        "failed at line {}: {}\n{printed}",
        failed.pos.line,
        failed.reason
    );
    let unpinned = buggy.run(case.scenario()).expect("the replay runs");
    assert!(
        unpinned.report.expect("in time").passed(),
        "the holes accept any body"
    );
    let correct = harness(&canonical, false).run(pinned).expect("the replay runs");
    assert!(
        correct.report.expect("in time").passed(),
        "the correct client passes the file"
    );
}
