//! BDAT (CHUNKING, RFC 3030).

use mailrig_smtp::{Config, Extensions};

use crate::support::Client;

/// A session with a transaction that has one recipient.
fn with_recipient(config: Config) -> Client {
    let mut c = Client::with(config);
    c.ehlo();
    assert_eq!(
        c.codes("MAIL FROM:<bob@example.test>\r\nRCPT TO:<alice@example.test>\r\n"),
        ["250", "250"]
    );
    c
}

#[test]
fn bdat_last_delivers_the_exact_octets() {
    // RFC 3030 §2: binary, no dot-stuffing, CRLF.CRLF is just data.
    let mut c = with_recipient(Config::default());
    let chunk = b"a\r\n.\r\n..\x00\xff";
    let mut input = format!("BDAT {} LAST\r\n", chunk.len()).into_bytes();
    input.extend_from_slice(chunk);
    input.extend_from_slice(b"NOOP\r\n");
    assert_eq!(c.send(input), ["250 2.0.0 Ok: queued\r\n", "250 2.0.0 Ok\r\n"]);
    let e = &c.backend.delivered[0];
    assert_eq!(e.data, chunk);
    assert!(e.chunked);
}

#[test]
fn several_chunks_pipelined_and_split() {
    // RFC 3030 §4.2 example shape.
    let mut c = with_recipient(Config::default());
    assert_eq!(
        c.send("BDAT 5\r\nhelloBDAT 6 "),
        ["250 2.0.0 5 octets received\r\n"]
    );
    assert!(c.send("LAST\r\n wor").is_empty());
    assert_eq!(c.codes("ldQUIT\r\n"), ["250", "221", "<close>"]);
    assert_eq!(c.backend.delivered[0].data, b"hello world");
}

#[test]
fn empty_chunks() {
    let mut c = with_recipient(Config::default());
    assert_eq!(c.send("BDAT 0\r\n"), ["250 2.0.0 0 octets received\r\n"]);
    assert_eq!(c.codes("BDAT 0 LAST\r\n"), ["250"]);
    assert_eq!(c.backend.delivered[0].data, b"");
}

#[test]
fn data_and_bdat_cannot_be_mixed() {
    // RFC 3030 §2: DATA after BDAT in one transaction is 503.
    let mut c = with_recipient(Config::default());
    assert_eq!(c.codes("BDAT 2\r\nhi"), ["250"]);
    assert_eq!(
        c.send("DATA\r\n"),
        ["503 5.5.1 DATA cannot be mixed with BDAT\r\n"]
    );
    assert_eq!(c.codes("RCPT TO:<bob@example.test>\r\n"), ["503"]);
    assert_eq!(c.codes("BDAT 1 LAST\r\n!"), ["250"]);
    assert_eq!(c.backend.delivered[0].data, b"hi!");
}

#[test]
fn refused_bdat_still_consumes_its_chunk() {
    let mut c = Client::new();
    c.ehlo();
    // No transaction: 503, and "NOOP\r\n" inside the chunk is not a command.
    assert_eq!(
        c.send("BDAT 6 LAST\r\nNOOP\r\nRSET\r\n"),
        ["503 5.5.1 Need MAIL command\r\n", "250 2.0.0 Ok\r\n"]
    );
    assert_eq!(c.codes("MAIL FROM:<>\r\nBDAT 6\r\nQUIT\r\n"), ["250", "503"]);
    assert!(c.backend.delivered.is_empty());
}

#[test]
fn chunks_over_the_size_limit_get_552_and_end_the_transaction() {
    let mut c = with_recipient(Config {
        max_message_size: Some(8),
        ..Config::default()
    });
    assert_eq!(c.codes("BDAT 5\r\n12345"), ["250"]);
    assert_eq!(
        c.send("BDAT 5\r\n67890"),
        ["552 5.3.4 Message size exceeds fixed maximum message size\r\n"]
    );
    assert_eq!(c.codes("BDAT 1 LAST\r\nx"), ["503"]);
    assert!(c.backend.delivered.is_empty());
    // A huge declared chunk is consumed without being stored.
    let mut c = with_recipient(Config {
        max_message_size: Some(8),
        ..Config::default()
    });
    assert!(c.send("BDAT 1000000 LAST\r\n").is_empty());
    for _ in 0..1000 {
        assert!(c.send([b'z'; 999]).is_empty());
    }
    assert_eq!(c.codes([b'z'; 1000]), ["552"]);
    assert_eq!(c.codes("NOOP\r\n"), ["250"]);
}

#[test]
fn bdat_syntax_and_personality() {
    let mut c = with_recipient(Config::default());
    assert_eq!(
        c.codes("BDAT\r\nBDAT x\r\nBDAT 1 NOTLAST\r\n"),
        ["501", "501", "501"]
    );
    let mut c = with_recipient(Config {
        extensions: Extensions {
            chunking: false,
            ..Extensions::default()
        },
        ..Config::default()
    });
    assert_eq!(c.send("BDAT 4 LAST\r\n"), ["502 5.5.1 BDAT not available\r\n"]);
}
