//! MAIL/RCPT: sequence, syntax, parameters, recipients, delivery, envelopes.

use mailrig_smtp::{Body, Config, DeliveryError, Extensions, Notify, Reply, Ret};

use crate::support::Client;

fn ready() -> Client {
    let mut c = Client::new();
    c.ehlo();
    c
}

#[test]
fn bad_sequences_get_503() {
    let mut c = Client::new();
    assert_eq!(
        c.send("MAIL FROM:<a@example.test>\r\n"),
        ["503 Send HELO/EHLO first\r\n"]
    );
    c.ehlo();
    assert_eq!(
        c.send("RCPT TO:<alice@example.test>\r\n"),
        ["503 5.5.1 Need MAIL before RCPT\r\n"]
    );
    assert_eq!(c.send("DATA\r\n"), ["503 5.5.1 Need MAIL command\r\n"]);
    assert_eq!(c.codes("MAIL FROM:<a@example.test>\r\n"), ["250"]);
    assert_eq!(c.send("DATA\r\n"), ["503 5.5.1 Need RCPT command\r\n"]);
    assert_eq!(
        c.send("MAIL FROM:<a@example.test>\r\n"),
        ["503 5.5.1 Sender already specified\r\n"]
    );
    assert_eq!(
        c.codes("RSET\r\nRCPT TO:<alice@example.test>\r\n"),
        ["250", "503"]
    );
}

#[test]
fn a_whole_transaction_and_its_envelope() {
    let mut c = ready();
    let replies = c.send(
        "MAIL FROM:<bob@example.test>\r\nRCPT TO:<alice@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n",
    );
    assert_eq!(
        replies,
        [
            "250 2.1.0 Ok\r\n",
            "250 2.1.5 Ok\r\n",
            "250 2.1.5 Ok\r\n",
            "354 End data with <CR><LF>.<CR><LF>\r\n"
        ]
    );
    assert_eq!(c.send("Hello\r\n.\r\n"), ["250 2.0.0 Ok: queued\r\n"]);
    let e = &c.backend.delivered[0];
    assert_eq!(e.mail_from, "bob@example.test");
    assert_eq!(e.rcpt_to, ["alice@example.test", "bob@example.test"]);
    assert_eq!(e.data, b"Hello\r\n");
    assert_eq!(e.helo.as_deref(), Some("client.example.test"));
    assert_eq!(
        (e.tls, e.chunked, e.authenticated_as.clone()),
        (false, false, None)
    );
    // The transaction is over: a new one can start.
    assert_eq!(c.codes("MAIL FROM:<>\r\n"), ["250"]);
}

#[test]
fn null_reverse_path() {
    // RFC 5321 §4.5.5: bounces use MAIL FROM:<>.
    let mut c = ready();
    assert_eq!(
        c.codes("MAIL FROM:<>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nx\r\n.\r\n"),
        ["250", "250", "354", "250"]
    );
    assert_eq!(c.backend.delivered[0].mail_from, "");
}

#[test]
fn strict_syntax_refuses_a_space_after_the_colon() {
    // RFC 5321 §4.1.1.11 / §4.1.2: "MAIL FROM:<" with no space.
    let mut c = ready();
    assert_eq!(
        c.send("MAIL FROM: <bob@example.test>\r\n"),
        ["501 5.5.4 syntax error, expected: MAIL FROM:<address> [parameters]\r\n"]
    );
    assert_eq!(
        c.codes("MAIL FROM:bob@example.test\r\nMAIL FROM:<a@b.c> \r\n"),
        ["501", "501"]
    );

    let mut c = Client::with(Config {
        lenient_syntax: true,
        ..Config::default()
    });
    c.ehlo();
    assert_eq!(
        c.codes("MAIL FROM: <bob@example.test>  SIZE=10 \r\nRCPT TO: alice@example.test\r\n"),
        ["250", "250"]
    );
}

#[test]
fn malformed_addresses_get_553() {
    let mut c = ready();
    assert_eq!(
        c.send("MAIL FROM:<a..b@example.test>\r\n"),
        ["553 5.1.7 malformed local part\r\n"]
    );
    assert_eq!(
        c.send("MAIL FROM:<a@exa_mple.test>\r\n"),
        ["553 5.1.7 malformed domain\r\n"]
    );
    c.codes("MAIL FROM:<>\r\n");
    assert_eq!(
        c.send("RCPT TO:<alice>\r\n"),
        ["553 5.1.3 malformed local part\r\n"]
    );
    assert_eq!(c.send("RCPT TO:<>\r\n"), ["553 5.1.3 malformed local part\r\n"]);
    assert_eq!(
        c.codes("RCPT TO:alice@example.test\r\nRCPT TO:<alice@example.test\r\n"),
        ["501", "501"]
    );
    let long = format!("RCPT TO:<{}@example.test>\r\n", "a".repeat(300));
    assert_eq!(c.send(long), ["501 5.5.4 path too long\r\n"]);
}

/// RFC 5321 §4.5.1: a delivering server "MUST support the reserved mailbox "postmaster" as a
/// case-insensitive local name", at each of its domains, not only in the bare `<Postmaster>`
/// form. A postmaster at a domain the server does not deliver for is not local.
#[test]
fn postmaster_at_a_local_domain_is_accepted_in_any_case() {
    let mut c = ready();
    c.codes("MAIL FROM:<>\r\n");
    assert_eq!(
        c.codes(
            "RCPT TO:<postmaster@example.test>\r\nRCPT TO:<PostMaster@EXAMPLE.TEST>\r\n\
             RCPT TO:<postmaster@elsewhere.example>\r\n"
        ),
        ["250", "250", "550"]
    );
    c.send("DATA\r\n.\r\n");
    assert_eq!(
        c.backend.delivered[0].rcpt_to,
        ["postmaster@example.test", "PostMaster@EXAMPLE.TEST"]
    );
}

#[test]
fn recipients_are_checked_by_the_backend() {
    let mut c = ready();
    c.codes("MAIL FROM:<>\r\n");
    assert_eq!(
        c.send("RCPT TO:<nobody@example.test>\r\n"),
        ["550 5.1.1 No such user here\r\n"]
    );
    // Postmaster is always accepted (RFC 5321 §4.5.1), without asking the backend.
    assert_eq!(c.codes("RCPT TO:<Postmaster>\r\n"), ["250"]);
    // Source routes are dropped (RFC 5321 §4.1.1.3).
    assert_eq!(
        c.codes("RCPT TO:<@relay.example:alice@example.test>\r\n"),
        ["250"]
    );
    assert_eq!(
        c.backend.recipient_checks,
        ["nobody@example.test", "alice@example.test"]
    );
    c.send("DATA\r\n.\r\n");
    assert_eq!(
        c.backend.delivered[0].rcpt_to,
        ["Postmaster", "alice@example.test"]
    );

    let mut c = Client::with(Config {
        accept_any_recipient: true,
        ..Config::default()
    });
    c.ehlo();
    assert_eq!(
        c.codes("MAIL FROM:<>\r\nRCPT TO:<anyone@anywhere.example>\r\n"),
        ["250", "250"]
    );
    assert!(c.backend.recipient_checks.is_empty());
}

#[test]
fn too_many_recipients_get_452() {
    // RFC 5321 §4.5.3.1.10.
    let mut c = Client::with(Config {
        max_recipients: 2,
        accept_any_recipient: true,
        ..Config::default()
    });
    c.ehlo();
    assert_eq!(
        c.codes("MAIL FROM:<>\r\nRCPT TO:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nRCPT TO:<c@x.test>\r\n"),
        ["250", "250", "250", "452"]
    );
}

#[test]
fn mail_parameters() {
    let mut c = ready();
    let cmd = "MAIL FROM:<bob@example.test> SIZE=100 BODY=8BITMIME RET=HDRS ENVID=QQ314159 AUTH=<>\r\n";
    assert_eq!(c.codes(cmd), ["250"]);
    c.send("RCPT TO:<alice@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;alice@example.test\r\n");
    c.send("RCPT TO:<bob@example.test>\r\nDATA\r\nx\r\n.\r\n");
    let e = &c.backend.delivered[0];
    assert_eq!(e.params.size, Some(100));
    assert_eq!(e.params.body, Some(Body::EightBitMime));
    assert_eq!(e.params.ret, Some(Ret::Headers));
    assert_eq!(e.params.envid.as_deref(), Some("QQ314159"));
    assert_eq!(e.params.auth.as_deref(), Some("<>"));
    assert_eq!(
        e.rcpt_params[0].notify,
        Some(Notify::On {
            success: true,
            delay: false,
            failure: true
        })
    );
    assert_eq!(
        e.rcpt_params[0].orcpt.as_ref().map(|o| o.address.as_str()),
        Some("alice@example.test")
    );
    assert_eq!(e.rcpt_params[1], Default::default());
}

#[test]
fn unknown_and_bad_parameters() {
    let mut c = ready();
    assert_eq!(
        c.send("MAIL FROM:<a@example.test> X-FOO=1\r\n"),
        ["555 5.5.4 X-FOO parameter not recognized\r\n"]
    );
    assert_eq!(c.codes("MAIL FROM:<a@example.test> BODY=BINARYMIME\r\n"), ["501"]);
    assert_eq!(c.codes("MAIL FROM:<a@example.test> SIZE=1 SIZE=2\r\n"), ["501"]);
    assert_eq!(c.codes("MAIL FROM:<a@example.test> NOTIFY=NEVER\r\n"), ["555"]);
    assert_eq!(c.codes("MAIL FROM:<a@example.test>\r\n"), ["250"]);
    assert_eq!(c.codes("RCPT TO:<alice@example.test> SIZE=1\r\n"), ["555"]);
    assert_eq!(
        c.codes("RCPT TO:<alice@example.test> NOTIFY=SOMETIMES\r\n"),
        ["501"]
    );

    // After HELO there are no extensions, hence no parameters (RFC 1869 §6).
    let mut c = Client::new();
    c.send("HELO client.example.test\r\n");
    assert_eq!(c.codes("MAIL FROM:<a@example.test> SIZE=1\r\n"), ["555"]);

    // DSN switched off: its parameters are unknown.
    let mut c = Client::with(Config {
        extensions: Extensions {
            dsn: false,
            ..Extensions::default()
        },
        ..Config::default()
    });
    c.ehlo();
    assert_eq!(c.codes("MAIL FROM:<a@example.test> RET=FULL\r\n"), ["555"]);
}

#[test]
fn size_parameter_over_the_limit_gets_552() {
    // RFC 1870 §6.1.
    let mut c = Client::with(Config {
        max_message_size: Some(1000),
        ..Config::default()
    });
    c.ehlo();
    assert_eq!(
        c.send("MAIL FROM:<a@example.test> SIZE=1001\r\n"),
        ["552 5.3.4 Message size exceeds fixed maximum message size\r\n"]
    );
    assert_eq!(c.codes("MAIL FROM:<a@example.test> SIZE=1000\r\n"), ["250"]);
}

/// RFC 1870 §3 allows `size-value ::= 1*20DIGIT`: twenty nines (more than a u64 holds) is
/// valid syntax, and as a size above the limit gets 552 (§6), not 501. Twenty-one digits and
/// an empty value are syntax errors.
#[test]
fn a_twenty_digit_size_is_valid_and_too_big() {
    let mut c = Client::with(Config {
        max_message_size: Some(1000),
        ..Config::default()
    });
    c.ehlo();
    let twenty = "9".repeat(20);
    assert_eq!(
        c.codes(format!("MAIL FROM:<a@example.test> SIZE={twenty}\r\n")),
        ["552"]
    );
    assert_eq!(
        c.codes(format!(
            "MAIL FROM:<a@example.test> SIZE=9{twenty}\r\nMAIL FROM:<a@example.test> SIZE=\r\n"
        )),
        ["501", "501"]
    );
    // Without a limit a twenty-digit size is accepted.
    let mut c = Client::with(Config {
        max_message_size: None,
        ..Config::default()
    });
    c.ehlo();
    assert_eq!(
        c.codes(format!("MAIL FROM:<a@example.test> SIZE={twenty}\r\n")),
        ["250"]
    );
}

#[test]
fn utf8_addresses_need_smtputf8() {
    // RFC 6531 §3.4–3.5.
    let mut c = ready();
    assert_eq!(
        c.send("MAIL FROM:<用户@例子.广告>\r\n"),
        ["553 5.6.7 Non-ASCII address requires SMTPUTF8\r\n"]
    );
    let replies = c.codes(
        "MAIL FROM:<用户@例子.广告> SMTPUTF8\r\nRCPT TO:<Postmaster>\r\nRCPT TO:<ünï@example.test>\r\n",
    );
    assert_eq!(replies, ["250", "250", "550"]);
    assert_eq!(c.backend.recipient_checks, ["ünï@example.test"]);

    let mut c = Client::with(Config {
        extensions: Extensions {
            smtputf8: false,
            ..Extensions::default()
        },
        ..Config::default()
    });
    c.ehlo();
    assert_eq!(c.codes("MAIL FROM:<用户@例子.广告> SMTPUTF8\r\n"), ["555"]);
}

#[test]
fn auth_required_before_mail() {
    // RFC 4954 §6: 530 5.7.0.
    let mut c = Client::with(Config {
        require_auth: true,
        require_tls_for_auth: false,
        ..Config::default()
    });
    c.ehlo();
    assert_eq!(
        c.send("MAIL FROM:<alice@example.test>\r\n"),
        ["530 5.7.0 Authentication required\r\n"]
    );
    assert_eq!(
        c.codes("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nMAIL FROM:<alice@example.test>\r\n"),
        ["235", "250"]
    );
    c.send("RCPT TO:<bob@example.test>\r\nDATA\r\nhi\r\n.\r\n");
    assert_eq!(c.backend.delivered[0].authenticated_as.as_deref(), Some("alice"));
}

#[test]
fn delivery_failures_are_reported_and_nothing_is_accepted() {
    let mut c = ready();
    c.backend.fail_with = Some(DeliveryError::Temporary("disk full".into()));
    c.send("MAIL FROM:<>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n");
    assert_eq!(c.send("x\r\n.\r\n"), ["451 4.3.0 disk full\r\n"]);
    c.backend.fail_with = Some(DeliveryError::Permanent("no\r\n250 ok".into()));
    c.send("MAIL FROM:<>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n");
    assert_eq!(c.send("x\r\n.\r\n"), ["554 5.3.0 no  250 ok\r\n"]);
    assert!(c.backend.delivered.is_empty());
    // The transaction is over either way.
    assert_eq!(c.codes("RCPT TO:<alice@example.test>\r\n"), ["503"]);
}

#[test]
fn without_enhanced_status_codes() {
    let mut c = Client::with(Config {
        extensions: Extensions {
            enhanced_status_codes: false,
            ..Extensions::default()
        },
        ..Config::default()
    });
    let ehlo = c.ehlo();
    assert!(!ehlo.contains("ENHANCEDSTATUSCODES"));
    assert_eq!(
        c.send("MAIL FROM:<>\r\nRCPT TO:<x@nowhere.test>\r\n"),
        ["250 Ok\r\n", "550 No such user here\r\n"]
    );
}

/// A backend's own refusals (what fault rules use): the recipient is left out of the
/// transaction and the message is not delivered, with the backend's exact replies.
#[test]
fn a_backend_refuses_a_recipient_and_a_message_with_its_own_replies() {
    let mut c = ready();
    let full = Reply::with_status(452, [4, 2, 2], "mailbox full");
    c.backend.refuse.push(("bob@example.test".into(), full));
    let replies = c.send(
        "MAIL FROM:<a@example.test>\r\nRCPT TO:<alice@example.test>\r\n\
         RCPT TO:<bob@example.test>\r\n",
    );
    assert_eq!(replies[2], "452 4.2.2 mailbox full\r\n");
    assert_eq!(c.codes("DATA\r\nHi\r\n.\r\n"), ["354", "250"]);
    assert_eq!(c.backend.delivered[0].rcpt_to, ["alice@example.test"]);
    let quota = Reply::with_status(452, [4, 3, 1], "out of space");
    c.backend.fail_with = Some(DeliveryError::Refused(quota));
    c.send("MAIL FROM:<a@example.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n");
    assert_eq!(c.send("Hi\r\n.\r\n"), ["452 4.3.1 out of space\r\n"]);
    assert_eq!(c.backend.delivered.len(), 1);
}
