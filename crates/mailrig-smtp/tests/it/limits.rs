//! Command line limits and bounded memory.

use mailrig_smtp::Config;

use crate::support::Client;

#[test]
fn ten_megabyte_line_gets_one_error_and_the_session_goes_on() {
    // RFC 5321 §4.5.3.1.4 / §4.5.3.1.10: "500 Line too long".
    let mut c = Client::new();
    c.ehlo();
    let line = vec![b'A'; 10 * 1024 * 1024];
    assert_eq!(c.send(&line), ["500 5.5.6 Line too long\r\n"]);
    assert_eq!(c.send("\r\nNOOP\r\n"), ["250 2.0.0 Ok\r\n"]);
}

#[test]
fn ten_megabyte_line_in_pieces() {
    let mut c = Client::new();
    c.ehlo();
    let piece = vec![b'B'; 64 * 1024];
    let mut replies = Vec::new();
    for _ in 0..160 {
        replies.extend(c.codes(&piece));
    }
    assert_eq!(replies, ["500"]);
    // The CRLF split across inputs still ends the long line.
    assert!(c.send("x\r").is_empty());
    assert_eq!(c.codes("\nNOOP\r\n"), ["250"]);
}

#[test]
fn line_limit_includes_crlf() {
    let mut c = Client::new();
    c.ehlo();
    // "NOOP " + 993 octets + CRLF = 1000 octets.
    let fits = format!("NOOP {}\r\n", "x".repeat(993));
    assert_eq!(fits.len(), 1000);
    assert_eq!(c.codes(fits), ["250"]);
    let over = format!("NOOP {}\r\n", "x".repeat(994));
    assert_eq!(c.codes(over), ["500"]);
    assert_eq!(c.codes("NOOP\r\n"), ["250"]);
}

#[test]
fn a_smaller_limit() {
    let mut c = Client::with(Config {
        max_line_len: 512,
        ..Config::default()
    });
    c.ehlo();
    assert_eq!(
        c.codes(format!("NOOP {}\r\nNOOP\r\n", "x".repeat(600))),
        ["500", "250"]
    );
    // A silly limit is raised to something usable rather than looping.
    let mut c = Client::with(Config {
        max_line_len: 0,
        ..Config::default()
    });
    assert_eq!(c.codes("NOOP\r\n"), ["500"]);
}

#[test]
fn over_long_line_with_embedded_commands_executes_none_of_them() {
    let mut c = Client::new();
    c.ehlo();
    let mut line = "x".repeat(2000);
    line.push_str("\nQUIT\rQUIT\n\r\nNOOP\r\n");
    assert_eq!(c.codes(line), ["500", "250"]);
    assert!(!c.session.is_closed());
}
