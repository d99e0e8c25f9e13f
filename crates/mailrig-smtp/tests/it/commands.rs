//! Greeting, HELO/EHLO, NOOP, RSET, VRFY, EXPN, HELP, QUIT, shutdown, unknown commands.

use mailrig_smtp::{Config, EXTENSIONS, Extensions, Mechanism, Output, Session, Step, Verb};

use crate::support::{CLOSE, Client};

#[test]
fn greeting_is_queued_at_once() {
    // RFC 5321 §3.1, §4.3.1.
    let mut s = Session::new(Config {
        hostname: "mx.example.test".into(),
        ..Config::default()
    });
    assert_eq!(
        s.poll_output(),
        Some(Output::Reply {
            to: Step::Greeting,
            code: 220,
            bytes: b"220 mx.example.test ESMTP mailrig\r\n".to_vec()
        })
    );
    assert_eq!(s.poll_output(), None);
}

/// Issue 11 §4: each reply is one output saying which step it answers.
#[test]
fn each_reply_names_the_step_it_answers() {
    let mut client = Client::with(Config {
        require_tls_for_auth: false,
        ..Config::default()
    });
    let input = "EHLO c\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<alice@example.test>\r\n\
                 RCPT TO:<bob@example.test>\r\nDATA\r\nHi\r\n.\r\nMAIL FROM:<a@example.test>\r\n\
                 RCPT TO:<alice@example.test>\r\nBDAT 2 LAST\r\nHiAUTH LOGIN\r\nYWxpY2U=\r\n\
                 c2VjcmV0\r\nbogus\r\nQUIT\r\n";
    client.session.handle_input(input.as_bytes(), &mut client.backend);
    client.session.shutdown();
    let mut steps = Vec::new();
    while let Some(output) = client.session.poll_output() {
        if let Output::Reply { to, code, .. } = output {
            steps.push((to, code));
        }
    }
    use Step::*;
    assert_eq!(
        steps,
        [
            (Command(Verb::Ehlo), 250),
            (Command(Verb::Mail), 250),
            (Command(Verb::Rcpt), 250),
            (Command(Verb::Rcpt), 250),
            (Command(Verb::Data), 354),
            (MessageEnd, 250),
            (Command(Verb::Mail), 250),
            (Command(Verb::Rcpt), 250),
            (Chunk, 250),
            (Command(Verb::Auth), 334),
            (SaslResponse, 334),
            (SaslResponse, 235),
            (Unknown, 500),
            (Command(Verb::Quit), 221),
        ]
    );
}

/// Every row of the extension table: on, its keyword starts an EHLO line; switched off
/// through the table, no line starts with it.
#[test]
fn every_table_row_switches_its_ehlo_keyword() {
    let listed = |extensions: Extensions, keyword: &str| {
        let mut client = Client::with(Config {
            extensions,
            require_tls_for_auth: false,
            ..Config::default()
        });
        let ehlo = client.ehlo();
        ehlo.lines()
            .any(|line| line[4..].split(' ').next() == Some(keyword))
    };
    for extension in &EXTENSIONS {
        assert!(
            listed(Extensions::default(), extension.keyword),
            "{} on",
            extension.name
        );
        let mut extensions = Extensions::default();
        extension.set(&mut extensions, false);
        assert!(!listed(extensions, extension.keyword), "{} off", extension.name);
    }
}

#[test]
fn ehlo_lists_each_keyword_on_its_own_line() {
    // RFC 5321 §4.1.1.1, §4.2.1. AUTH is hidden before TLS by default (RFC 4954 §4).
    let mut c = Client::new();
    assert_eq!(
        c.ehlo(),
        "250-localhost\r\n250-PIPELINING\r\n250-SIZE 10485760\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n\
         250-ENHANCEDSTATUSCODES\r\n250-CHUNKING\r\n250-DSN\r\n250 STARTTLS\r\n"
    );
}

#[test]
fn ehlo_lists_auth_mechanisms_when_allowed() {
    let mut c = Client::with(Config {
        require_tls_for_auth: false,
        ..Config::default()
    });
    let ehlo = c.ehlo();
    assert!(
        ehlo.ends_with("250-STARTTLS\r\n250 AUTH PLAIN LOGIN CRAM-MD5 XOAUTH2 OAUTHBEARER\r\n"),
        "{ehlo}"
    );
}

#[test]
fn personality_switches_extensions_off() {
    let mut c = Client::with(Config {
        extensions: Extensions::none(),
        ..Config::default()
    });
    assert_eq!(c.ehlo(), "250 localhost\r\n");
    // No ENHANCEDSTATUSCODES: plain codes.
    assert_eq!(c.send("NOOP\r\n"), ["250 Ok\r\n"]);
    // Verbs of extensions that are off are not implemented.
    assert_eq!(
        c.codes("STARTTLS\r\nBDAT 1 LAST\r\nAUTH PLAIN\r\n"),
        ["502", "502", "502"]
    );
    assert_eq!(
        c.send("HELP\r\n"),
        ["214 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP\r\n"]
    );

    let mut c = Client::with(Config {
        extensions: Extensions {
            auth: vec![Mechanism::CramMd5],
            chunking: false,
            ..Extensions::default()
        },
        max_message_size: None,
        require_tls_for_auth: false,
        ..Config::default()
    });
    let ehlo = c.ehlo();
    assert!(ehlo.contains("250-SIZE\r\n"), "{ehlo}");
    assert!(!ehlo.contains("CHUNKING"), "{ehlo}");
    assert!(ehlo.ends_with("250 AUTH CRAM-MD5\r\n"), "{ehlo}");
}

#[test]
fn helo_gets_a_plain_reply_and_no_enhanced_codes() {
    // RFC 2034 §3: enhanced codes only once advertised, i.e. after EHLO.
    let mut c = Client::new();
    assert_eq!(c.send("HELO client.example.test\r\n"), ["250 localhost\r\n"]);
    assert_eq!(c.send("NOOP\r\n"), ["250 Ok\r\n"]);
    c.ehlo();
    assert_eq!(c.send("NOOP\r\n"), ["250 2.0.0 Ok\r\n"]);
}

#[test]
fn helo_needs_a_domain() {
    let mut c = Client::new();
    assert_eq!(
        c.codes("HELO\r\nEHLO\r\nEHLO not_a_domain\r\nEHLO [127.0.0.1]\r\n"),
        ["501", "501", "501", "250"]
    );
}

#[test]
fn simple_commands() {
    let mut c = Client::new();
    c.ehlo();
    assert_eq!(c.send("NOOP\r\n"), ["250 2.0.0 Ok\r\n"]);
    assert_eq!(c.send("NOOP with text\r\n"), ["250 2.0.0 Ok\r\n"]);
    assert_eq!(c.send("RSET\r\n"), ["250 2.0.0 Ok\r\n"]);
    assert_eq!(
        c.send("VRFY alice\r\n"),
        ["252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery\r\n"]
    );
    assert_eq!(
        c.codes("VRFY\r\nEXPN list\r\nHELP\r\nHELP MAIL\r\nRSET now\r\n"),
        ["501", "502", "214", "214", "501"]
    );
}

#[test]
fn unknown_commands_get_500() {
    let mut c = Client::new();
    c.ehlo();
    assert_eq!(c.send("XYZZY\r\n"), ["500 5.5.2 command unrecognized\r\n"]);
    assert_eq!(c.codes("\r\nTURN\r\n"), ["500", "500"]);
    // Bare CR or LF inside a command line, or invalid UTF-8.
    assert_eq!(
        c.codes(b"NOOP\rNOOP\r\nNOOP\nQUIT\r\nNOOP\r\n"),
        ["500", "500", "250"]
    );
    assert_eq!(c.codes(b"NOOP \xff\r\n"), ["500"]);
}

#[test]
fn lower_case_verbs_as_python_smtplib_sends_them() {
    // Exactly what smtplib.SMTP.sendmail writes (lower-case verbs, "FROM:" upper-case).
    let mut c = Client::new();
    let replies = c.codes(
        "ehlo [127.0.0.1]\r\nmail FROM:<bob@example.test> size=12\r\nrcpt TO:<alice@example.test>\r\ndata\r\n",
    );
    assert_eq!(replies, ["250", "250", "250", "354"]);
    assert_eq!(
        c.codes("Subject: x\r\n\r\nhi\r\n.\r\nrset\r\nnoop\r\nquit\r\n"),
        ["250", "250", "250", "221", CLOSE]
    );
    assert_eq!(c.backend.delivered.len(), 1);
}

#[test]
fn quit_closes_and_later_input_is_ignored() {
    let mut c = Client::new();
    c.ehlo();
    assert_eq!(
        c.send("QUIT\r\nNOOP\r\n"),
        ["221 2.0.0 localhost closing connection\r\n", CLOSE]
    );
    assert!(c.session.is_closed());
    assert!(c.send("NOOP\r\n").is_empty());
    c.session.shutdown();
    assert!(c.drain().is_empty(), "no 421 after QUIT");
}

#[test]
fn shutdown_says_421_and_closes() {
    // RFC 5321 §3.8.
    let mut c = Client::new();
    c.session.shutdown();
    assert_eq!(
        c.drain(),
        [
            "421 localhost Service not available, closing transmission channel\r\n",
            CLOSE
        ]
    );
    assert!(c.session.is_closed());
    c.session.shutdown();
    assert!(c.drain().is_empty());
    // Mid-DATA too.
    let mut c = Client::new();
    c.ehlo();
    c.send("MAIL FROM:<>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\npartial");
    c.session.shutdown();
    assert_eq!(
        c.drain(),
        [
            "421 4.3.2 localhost Service not available, closing transmission channel\r\n",
            CLOSE
        ]
    );
    assert!(c.backend.delivered.is_empty());
}

#[test]
fn ehlo_again_resets_the_transaction() {
    // RFC 5321 §4.1.4: EHLO acts like RSET.
    let mut c = Client::new();
    c.ehlo();
    assert_eq!(
        c.codes("MAIL FROM:<>\r\nRCPT TO:<alice@example.test>\r\n"),
        ["250", "250"]
    );
    c.ehlo();
    assert_eq!(c.send("DATA\r\n"), ["503 5.5.1 Need MAIL command\r\n"]);
}
