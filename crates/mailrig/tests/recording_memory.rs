//! A hostile literal through a real socket to a `Rig` (issue 9: "a hostile peer gets a protocol
//! error reply or a closed connection, never ... unbounded memory"). The session refuses a
//! LITERAL+ literal over its limit with `NO [TOOBIG]` and skips its bytes; the server's
//! recorder must not keep them either: it keeps a capped number of bytes per direction and
//! counts the rest. Its own test binary, so the process's peak memory (`VmHWM`) is this test's
//! alone.

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use mailrig::Rig;
use mailrig_transcript::record::{RecordOptions, print_transcript};
use mailrig_transcript::scenario::Side;

/// Sent through the socket (LITERAL+, so the client sends it all without waiting): loopback
/// carries it in about two seconds even from a debug build.
const SIZE: u64 = 2 << 30;
/// How much the peak may grow while the literal goes through: the default cap is 4 MiB per
/// direction (`mailrig_server::recorder::DEFAULT_BYTE_LIMIT`).
const BOUND: u64 = 64 << 20;
/// The negative check: this much, recorded without a cap, shows in resident memory (at least
/// half of it, however the allocator reuses pages).
const UNCAPPED: u64 = 64 << 20;

/// A line of `/proc/self/status` (`VmHWM`: peak resident memory; `VmRSS`: now), in bytes.
fn memory(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status.lines().find(|l| l.starts_with(field)).expect("a Vm line");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("a size in kB");
    kib * 1024
}

/// Reads lines until one starts with `tag `; returns it.
async fn tagged(reader: &mut BufReader<TcpStream>, tag: &str) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader.read_line(&mut line).await.expect("read");
        assert!(n > 0, "connection closed before {tag}'s response");
        if line.starts_with(&format!("{tag} ")) {
            return line;
        }
    }
}

/// Logs in, sends `a3 APPEND INBOX {size+}`, `size` bytes that would be commands if read as
/// such, then `a4 NOOP`; checks the answers. Returns every byte the client sent.
async fn send_literal(rig: &Rig, size: u64) -> u64 {
    let mut imap = BufReader::new(TcpStream::connect(rig.imap_addr()).await.expect("connect"));
    let login = b"a1 LOGIN alice secret\r\n";
    imap.get_mut().write_all(login).await.expect("write");
    assert!(tagged(&mut imap, "a1").await.starts_with("a1 OK"));
    let append = format!("a3 APPEND INBOX {{{size}+}}\r\n");
    imap.get_mut().write_all(append.as_bytes()).await.expect("write");
    let chunk = b"x NOOP\r\n".repeat(128 * 1024);
    let mut sent = 0;
    while sent < size {
        let n = chunk.len().min(usize::try_from(size - sent).expect("small"));
        imap.get_mut().write_all(&chunk[..n]).await.expect("write");
        sent += n as u64;
    }
    let noop = b"\r\na4 NOOP\r\n";
    imap.get_mut().write_all(noop).await.expect("write");
    let refused = tagged(&mut imap, "a3").await;
    assert!(refused.starts_with("a3 NO [TOOBIG]"), "{refused}");
    let answer = tagged(&mut imap, "a4").await;
    assert!(answer.starts_with("a4 OK"), "{answer}");
    (login.len() + append.len() + noop.len()) as u64 + size
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_literal_is_neither_stored_nor_recorded() {
    let rig = Rig::builder().without_tls().start().await.expect("rig");
    let before = memory("VmHWM:");
    let total = send_literal(&rig, SIZE).await;
    let peak = memory("VmHWM:");
    let growth = peak.saturating_sub(before);
    eprintln!("2 GiB literal: peak resident memory {peak} bytes, grew by {growth}");
    assert!(growth < BOUND, "peak resident memory grew by {growth} bytes");
    assert!(peak < 1 << 30, "peak resident memory {peak} bytes");
    assert!(rig.messages("alice").is_empty(), "nothing was stored");

    // The recording keeps the cap's worth of the client's side, counts the rest, says so.
    let transcript = rig.transcript();
    let record = &transcript.sessions[0];
    let kept = record.bytes_from(Side::Client).len() as u64;
    assert_eq!(kept, mailrig_server::recorder::DEFAULT_BYTE_LIMIT);
    assert_eq!(record.elided_from(Side::Client), total - kept);
    // The server's side goes on being recorded (a3's answer was recorded before a4's was
    // written).
    let server = String::from_utf8_lossy(&record.bytes_from(Side::Server)).into_owned();
    assert!(server.contains("a3 NO [TOOBIG]"), "{server}");
    let printed = print_transcript(&transcript, &RecordOptions::default());
    let note = format!("{} more byte(s) from the client", total - kept);
    assert!(
        printed.contains(&note),
        "no note of the elided bytes in:\n{printed:.2000}"
    );
    rig.stop().await;

    // The probe can fail: without a cap, the recording holds what was sent, and it shows.
    let rig = Rig::builder()
        .without_tls()
        .transcript_byte_limit(None)
        .start()
        .await
        .expect("rig");
    let before = memory("VmRSS:");
    let total = send_literal(&rig, UNCAPPED).await;
    let grown = memory("VmRSS:").saturating_sub(before);
    // Half: pages the first rig freed may be reused.
    assert!(
        grown >= UNCAPPED / 2,
        "an uncapped recording of {total} bytes grew memory by {grown}"
    );
    let record = &rig.transcript().sessions[0];
    assert_eq!(record.bytes_from(Side::Client).len() as u64, total);
    rig.stop().await;
}
