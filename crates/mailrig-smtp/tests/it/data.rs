//! DATA content: pipelining, dot-stuffing, SMTP smuggling, exact bytes, size and line limits.

use mailrig_smtp::Config;

use crate::support::{CLOSE, Client};

/// A session inside DATA (after `354`).
fn in_data(config: Config) -> Client {
    let mut c = Client::with(config);
    c.ehlo();
    assert_eq!(
        c.codes("MAIL FROM:<bob@example.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n"),
        ["250", "250", "354"]
    );
    c
}

#[test]
fn pipelined_transaction_in_one_input() {
    // RFC 2920 §3.1: one reply per command, in order, for a group sent in one write.
    let mut c = Client::new();
    c.ehlo();
    let replies = c.send(
        "MAIL FROM:<bob@example.test>\r\nRCPT TO:<alice@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n\
         Subject: pipelining\r\n\r\nFour commands, one write.\r\n.\r\nQUIT\r\n",
    );
    assert_eq!(
        replies,
        [
            "250 2.1.0 Ok\r\n",
            "250 2.1.5 Ok\r\n",
            "250 2.1.5 Ok\r\n",
            "354 End data with <CR><LF>.<CR><LF>\r\n",
            "250 2.0.0 Ok: queued\r\n",
            "221 2.0.0 localhost closing connection\r\n",
            CLOSE,
        ]
    );
    assert_eq!(
        c.backend.delivered[0].data,
        b"Subject: pipelining\r\n\r\nFour commands, one write.\r\n"
    );
}

#[test]
fn pipelining_works_without_the_extension() {
    let mut c = Client::with(Config {
        extensions: mailrig_smtp::Extensions::none(),
        ..Config::default()
    });
    assert_eq!(
        c.codes("HELO c.test\r\nMAIL FROM:<>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nx\r\n.\r\nNOOP\r\n"),
        ["250", "250", "250", "354", "250", "250"]
    );
}

#[test]
fn dot_stuffing_is_removed() {
    // RFC 5321 §4.5.2, the shipped scenario's body.
    let mut c = in_data(Config::default());
    let replies = c.send(
        "The next line starts with a dot:\r\n..hidden in plain sight\r\n\
         The next line is a single dot, which must not end DATA:\r\n..\r\n\
         The next line is two dots:\r\n...\r\nA dot in the middle. Or at the end.\r\n.\r\n",
    );
    assert_eq!(replies, ["250 2.0.0 Ok: queued\r\n"]);
    assert_eq!(
        c.backend.delivered[0].data,
        b"The next line starts with a dot:\r\n.hidden in plain sight\r\n\
          The next line is a single dot, which must not end DATA:\r\n.\r\n\
          The next line is two dots:\r\n..\r\nA dot in the middle. Or at the end.\r\n"
    );
}

#[test]
fn empty_message() {
    let mut c = in_data(Config::default());
    assert_eq!(c.codes(".\r\n"), ["250"]);
    assert_eq!(c.backend.delivered[0].data, b"");
}

#[test]
fn smuggling_sequences_do_not_end_data() {
    // SMTP smuggling (CVE-2023-51764/5/6): only <CRLF>.<CRLF> ends DATA (RFC 5321 §4.1.1.4).
    let smuggled =
        "MAIL FROM:<admin@example.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nSubject: smuggled\r\n";
    for sequence in [
        "\n.\n", "\n.\r\n", "\r.\r\n", "\r\n.\n", "\r\n.\r", "\r.\r", "\n.\r",
    ] {
        let mut c = in_data(Config::default());
        let body = format!("Subject: probe\r\n\r\nprobe{sequence}{smuggled}");
        assert!(c.send(&body).is_empty(), "{sequence:?} ended DATA");
        assert_eq!(
            c.codes("NOOP\r\n.\r\nQUIT\r\n"),
            ["250", "221", CLOSE],
            "{sequence:?}"
        );
        assert_eq!(c.backend.delivered.len(), 1, "{sequence:?}");
        // Stored exactly as sent, except a leading dot after a real CRLF (dot-stuffing).
        let expected = format!("{body}NOOP\r\n").replace("\r\n.", "\r\n");
        assert_eq!(c.backend.delivered[0].data, expected.as_bytes(), "{sequence:?}");
    }
}

#[test]
fn smuggling_probes_of_the_shipped_scenario_are_one_message() {
    let mut c = in_data(Config::default());
    let body = "From: Bob <bob@example.test>\r\n\r\n\
        probe 1: bare LF, dot, bare LF\n.\nMAIL FROM:<admin@example.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n\
        This text must stay inside the first message.\r\n\
        probe 2: bare CR, dot, bare CR\r.\rNOOP\r\n\
        probe 3: CRLF, dot, bare LF\r\n.\nNOOP\r\n\
        probe 4: bare LF, dot, CRLF\n.\r\nNOOP\r\n.\r\n";
    assert_eq!(c.codes(body), ["250"]);
    assert_eq!(c.codes("NO"), Vec::<String>::new());
    assert_eq!(c.codes("OP\r\nQUIT\r\n"), ["250", "221", CLOSE]);
    assert_eq!(c.backend.delivered.len(), 1);
}

#[test]
fn message_bytes_are_kept_exactly() {
    let mut c = in_data(Config::default());
    let body: &[u8] = b"8bit: \xc3\xa9\xff\x00 bare CR\r bare LF\n tab\t\r\n\r\n.\r\n";
    assert_eq!(c.codes(body), ["250"]);
    assert_eq!(c.backend.delivered[0].data, &body[..body.len() - 3]);
}

#[test]
fn over_long_text_line_is_refused_after_the_end() {
    // RFC 5321 §4.5.3.1.6: 1000 octets with CRLF.
    let mut c = in_data(Config::default());
    let ok = format!("{}\r\n.\r\n", "x".repeat(998));
    assert_eq!(c.codes(ok), ["250"]);
    c.send("MAIL FROM:<>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n");
    let long = format!("{}\r\n.\r\n", "x".repeat(999));
    assert_eq!(
        c.send(long),
        ["554 5.6.0 message has a line longer than allowed (RFC 5321 4.5.3.1.6)\r\n"]
    );
    assert_eq!(c.backend.delivered.len(), 1);
    assert_eq!(c.codes("NOOP\r\n"), ["250"]);
}

#[test]
fn too_big_message_is_refused_after_the_end() {
    // RFC 1870 §6.3: 552 after the end of data; the session goes on.
    let mut c = in_data(Config {
        max_message_size: Some(1024 * 1024),
        ..Config::default()
    });
    let line = format!("{}\r\n", "y".repeat(998));
    let mut sent = 0;
    while sent < 10 * 1024 * 1024 {
        assert!(c.send(&line).is_empty());
        sent += line.len();
    }
    assert_eq!(
        c.send(".\r\nNOOP\r\n"),
        [
            "552 5.3.4 Message size exceeds fixed maximum message size\r\n",
            "250 2.0.0 Ok\r\n"
        ]
    );
    assert!(c.backend.delivered.is_empty());
    // Exactly at the limit is accepted.
    let mut c = in_data(Config {
        max_message_size: Some(10),
        ..Config::default()
    });
    assert_eq!(c.codes("12345678\r\n.\r\n"), ["250"]);
}

#[test]
fn data_split_across_inputs_byte_by_byte() {
    let mut c = in_data(Config::default());
    let body = b"a\r\n..b\r\nc\n.\r\n\r.\r\n.\r\nNOOP\r\n";
    let mut replies = Vec::new();
    for byte in body {
        replies.extend(c.codes([*byte]));
    }
    assert_eq!(replies, ["250", "250"]);
    assert_eq!(c.backend.delivered[0].data, b"a\r\n.b\r\nc\n.\r\n\r.\r\n");
}
