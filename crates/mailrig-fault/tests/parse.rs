//! The text form: every event and action parses, prints back to what parses to the same rule,
//! and errors say where and what was expected.

use std::time::Duration;

use mailrig_fault::{Action, Event, Position, Protocol, ReplyKind, Rule, Trigger};

fn parse(text: &str) -> Rule {
    Rule::parse(text).unwrap_or_else(|e| panic!("{}", e.render(text)))
}

#[test]
fn the_examples_parse_to_the_expected_rules() {
    assert_eq!(
        parse("rcpt#2: reply 452 4.2.2 mailbox full"),
        Rule::new(
            Trigger::on(Event::command("RCPT")).nth(2),
            Action::Reply("452 4.2.2 mailbox full".into())
        )
    );
    assert_eq!(
        parse("imap FETCH untagged#3: truncate 10"),
        Rule::new(
            Trigger::on(Event::command("FETCH"))
                .protocol(Protocol::Imap)
                .response(Some(ReplyKind::Untagged), Some(3)),
            Action::Truncate(10)
        )
    );
    assert_eq!(
        parse(r#"starttls: inject "250 injected""#),
        Rule::new(
            Trigger::on(Event::command("STARTTLS")),
            Action::Inject {
                position: Position::After,
                bytes: b"250 injected\r\n".to_vec()
            }
        )
    );
    assert_eq!(
        parse("connect#3: reset"),
        Rule::new(Trigger::on(Event::Connect).nth(3), Action::Reset)
    );
    assert_eq!(
        parse("random(seed=7, p=0.1) data-end: close"),
        Rule::new(Trigger::on(Event::DataEnd).random(Some(7), 0.1), Action::Close)
    );
    assert_eq!(
        parse("rcpt <Bob@Example.Test> conn#2: bye"),
        Rule::new(
            Trigger::on(Event::command("RCPT"))
                .address("Bob@Example.Test")
                .connection(2),
            Action::Bye(None)
        )
    );
    assert_eq!(
        parse("UID FETCH tagged: wrong-tag"),
        Rule::new(
            Trigger::on(Event::command("UID FETCH")).response(Some(ReplyKind::Final), None),
            Action::WrongTag("X999".into())
        )
    );
}

#[test]
fn every_action_parses_and_prints_back() {
    let rules = [
        "any: reply 554 5.0.0 no",
        "greeting: bye go away",
        "imap greeting: bye",
        "rcpt: close",
        "DATA: reset",
        "data-end: delay 1.5s",
        "data-end: delay 250ms",
        "EHLO: throttle 100",
        "any: stall",
        "any: split 1",
        "any: split at 3,10",
        "imap FETCH each: merge",
        r#"imap NOOP: inject before "* 3 EXISTS""#,
        r#"imap NOOP: inject raw "\x00\xff""#,
        "imap FETCH untagged#1: literal-count -1",
        "imap FETCH untagged#1: literal-count +5",
        "any: bare-lf",
        "greeting: invalid-utf8",
        "imap NOOP: wrong-tag A999",
        "EHLO: drop-cap STARTTLS",
        "imap CAPABILITY untagged: rename-cap STARTTLS XSTARTTLS",
        "imap greeting: add-cap LOGINDISABLED",
        "random(p=0.5) literal: close",
        "tls: stall",
        "chunk#2 continuation: close",
        "sasl: reply 535 5.7.8 no",
        "unknown: close",
        "shutdown: delay 1s",
        "imap untagged EXISTS#2: delay 1s",
        "imap FETCH untagged FETCH#3: truncate 10",
        "imap IDLE untagged EXPUNGE: bye",
        "from 127.0.0.2 connect: reset",
        "smtp rcpt from ::1: close",
        "imap FETCH untagged: truncate 3",
    ];
    for text in rules {
        let rule = parse(text);
        let printed = rule.to_string();
        assert_eq!(Rule::parse(&printed), Ok(rule), "{text} printed as {printed}");
    }
    assert_eq!(
        parse("any: delay 1.5s").action,
        Action::Delay(Duration::from_millis(1500))
    );
}

#[test]
fn data_names_and_addresses_parse_to_the_model() {
    assert_eq!(
        parse("imap FETCH untagged fetch#3: truncate 10"),
        Rule::new(
            Trigger::on(Event::command("FETCH"))
                .protocol(Protocol::Imap)
                .data("FETCH", Some(3)),
            Action::Truncate(10)
        )
    );
    assert_eq!(
        parse("imap untagged EXISTS#2 conn#1: delay 1s"),
        Rule::new(
            Trigger::on(Event::untagged("exists"))
                .protocol(Protocol::Imap)
                .nth(2)
                .connection(1),
            Action::Delay(Duration::from_secs(1))
        )
    );
    assert_eq!(
        parse("from 127.0.0.2 connect: reset"),
        Rule::new(
            Trigger::on(Event::Connect).from("127.0.0.2".parse().unwrap()),
            Action::Reset
        )
    );
    // A plain `untagged` still selects every untagged response, before another modifier too.
    assert_eq!(
        parse("imap FETCH untagged conn#2: close").when.response,
        Some(mailrig_fault::Response {
            kind: Some(ReplyKind::Untagged),
            nth: None,
            data: None
        })
    );
}

#[test]
fn errors_say_where_and_what_was_expected() {
    let cases = [
        ("rcpt#2 reply 452", 8, "`:`, `<address>`"),
        ("rcpt#0: close", 6, "an occurrence number"),
        (": close", 1, "an event"),
        ("rcpt: explode", 7, "an action"),
        ("rcpt: delay soon", 13, "a duration"),
        ("random(seed=1) rcpt: close", 15, "`p=P`"),
        ("random(p=2) rcpt: close", 10, "a probability"),
        (r#"any: inject "unterminated"#, 26, "a closing"),
        ("connect: truncate 3", 9, "an action this event allows"),
        ("rcpt: close now", 13, "the end of the rule"),
        ("rcpt: reply", 12, "the reply's text"),
        ("any: split at x", 15, "a byte offset"),
        ("imap untagged: close", 14, "a data response's name"),
        ("from 127.0.0.300 connect: close", 6, "a client's IP address"),
        (
            "imap untagged EXISTS untagged: close",
            31,
            "an action this event allows",
        ),
        ("greeting <bob@x>: close", 18, "an action this event allows"),
    ];
    for (text, column, expected) in cases {
        let error = Rule::parse(text).expect_err(text);
        assert_eq!(error.column, column, "{text}: {error}");
        assert!(error.expected.contains(expected), "{text}: {error}");
    }
    let rendered = Rule::parse("rcpt: explode")
        .expect_err("bad")
        .render("rcpt: explode");
    assert!(rendered.ends_with("      ^ column 7: expected an action (reply, bye, close, reset, delay, throttle, stall, split, merge, inject, truncate, literal-count, bare-lf, invalid-utf8, wrong-tag, drop-cap, rename-cap, add-cap), found `explode`"), "{rendered}");
}
