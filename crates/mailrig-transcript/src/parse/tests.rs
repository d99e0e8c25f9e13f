//! Parser tests: what every construct parses to, and how every kind of error is reported.

use super::*;
use crate::scenario::{
    Class, Directive, Family, Hole, Line, Literal, LiteralSource, MatchMode, Part, Pos, Presence, Protocol,
    Requirement, Role, SessionDecl, Side, StepKind,
};

fn ok(text: &str) -> Scenario {
    parse("t.scenario", text).unwrap_or_else(|e| panic!("{e}"))
}

fn err(text: &str) -> String {
    match parse("t.scenario", text) {
        Ok(s) => panic!("parsed, but should not: {s:?}"),
        Err(e) => e.to_string(),
    }
}

fn first_line(s: &Scenario) -> &Line {
    match &s.steps().next().expect("a step").kind {
        StepKind::Line(l) => l,
        StepKind::Directive(d) => panic!("directive {d:?}"),
    }
}

const HEAD: &str = "name: t\nsessions: a=imap\nplays: client\n\n";

#[test]
fn header_fields() {
    let s = ok(
        "# top comment\nname: x\nsummary: what it does\nrfc: RFC 9051 §6.4.6, RFC 3501 §6.4.6\nsessions: a=imap, s=smtps\nrequires: imap:IDLE, smtp:PIPELINING\ntags: a, b\ntags: c\nfixture: f.toml\nvars: user=bob, k=v\nplays: server\n",
    );
    let h = &s.header;
    assert_eq!(h.comments, vec![" top comment"]);
    assert_eq!(h.name, "x");
    assert_eq!(h.rfc, vec!["RFC 9051 §6.4.6", "RFC 3501 §6.4.6"]);
    assert_eq!(
        h.sessions[1],
        SessionDecl {
            name: "s".into(),
            protocol: Protocol::Smtps
        }
    );
    assert_eq!(
        h.requires[0],
        Requirement {
            family: Family::Imap,
            capability: "IDLE".into()
        }
    );
    assert_eq!(h.tags, vec!["a", "b", "c"]);
    assert_eq!(
        h.vars,
        vec![("user".into(), "bob".into()), ("k".into(), "v".into())]
    );
    assert_eq!(h.plays, Some(Role::Server));
}

#[test]
fn plays_both_is_the_default_and_can_be_written_out() {
    let implicit = ok("name: t\nsessions: a=imap\n");
    assert_eq!((implicit.header.plays, implicit.header.plays_both), (None, false));
    for written in ["plays: both", "plays: client, server", "plays: server,client"] {
        let s = ok(&format!("name: t\nsessions: a=imap\n{written}\n"));
        assert_eq!((s.header.plays, s.header.plays_both), (None, true), "{written}");
        // `mailrig fmt` keeps the explicit line, in its one canonical spelling.
        assert_eq!(crate::print(&s), "name: t\nsessions: a=imap\nplays: both\n");
    }
    let client = ok("name: t\nsessions: a=imap\nplays: both\nplays: client\n");
    assert_eq!(
        (client.header.plays, client.header.plays_both),
        (Some(Role::Client), false)
    );
    // Both roles means both roles' lines are sent, so their holes need values.
    assert!(err("name: t\nsessions: a=imap\nplays: both\n\nS: * OK ${_}\n").contains("no value to send"));
}

#[test]
fn the_runs_mailbox_is_a_variable() {
    let s = ok(&format!("{HEAD}C: A1 SELECT ${{mailbox}}\nS: A1 OK ${{_}}\n"));
    assert_eq!(first_line(&s).parts[1], Part::Ref("mailbox".into()));
    assert!(
        err(&format!("{HEAD}C: A1 SELECT ${{mailbx}}\n"))
            .contains("run variables: host, port, user, password, address, user2, password2, address2, auth_plain, auth_plain2, domain, mailbox")
    );
}

#[test]
fn line_prefixes_and_modifiers() {
    let s = ok(&format!("{HEAD}C: A1 NOOP\nS?: * 1 RECENT\nS!=: * BYE\nC:\n"));
    let lines: Vec<&Line> = s
        .steps()
        .map(|st| match &st.kind {
            StepKind::Line(l) => l,
            _ => panic!(),
        })
        .collect();
    assert_eq!(
        (lines[0].side, lines[0].presence, lines[0].exact_case),
        (Side::Client, Presence::Required, false)
    );
    assert_eq!(lines[1].presence, Presence::Optional);
    assert_eq!(
        (lines[2].presence, lines[2].exact_case),
        (Presence::Forbidden, true)
    );
    assert!(lines[3].parts.is_empty() && lines[3].crlf);
}

#[test]
fn text_holes_escapes_and_dollars() {
    let s = ok(&format!(
        "{HEAD}S: $$x ${{_}} ${{n:num}} ${{n}} ${{\\r\\n\\x00}}${{|}}a$b${{nocrlf}}\n"
    ));
    let l = first_line(&s);
    assert_eq!(
        l.parts,
        vec![
            Part::Text(b"$x ".to_vec()),
            Part::Hole(Hole {
                name: None,
                class: Class::Text,
                value: None
            }),
            Part::Text(b" ".to_vec()),
            Part::Hole(Hole {
                name: Some("n".into()),
                class: Class::Num,
                value: None
            }),
            Part::Text(b" ".to_vec()),
            Part::Ref("n".into()),
            Part::Text(b" \r\n\x00".to_vec()),
            Part::Split,
            Part::Text(b"a$b".to_vec()),
        ]
    );
    assert!(!l.crlf);
}

#[test]
fn inline_literal_continues_the_line() {
    let s = ok(&format!(
        "{HEAD}C: A1 APPEND INBOX {{{{{{\nline one\n\n}}}}}} {{{{{{+file:m.eml}}}}}})\nS: A1 OK\n"
    ));
    let l = first_line(&s);
    assert_eq!(l.parts.len(), 5);
    assert_eq!(l.parts[4], Part::Text(b")".to_vec()));
    assert_eq!(
        l.parts[1],
        Part::Literal(Literal {
            non_sync: false,
            source: LiteralSource::Inline(vec!["line one".into(), String::new()])
        })
    );
    assert_eq!(l.parts[2], Part::Text(b" ".to_vec()));
    assert!(
        matches!(&l.parts[3], Part::Literal(Literal { non_sync: true, source: LiteralSource::File { path, .. } }) if path == "m.eml")
    );
    assert_eq!(s.steps().count(), 2);
}

#[test]
fn directives() {
    let s = ok(&format!(
        "{HEAD}@starttls\n@close server\n@within 500ms\n@sleep 2s\n@match unordered no-extra\nS: * OK\n"
    ));
    let kinds: Vec<&StepKind> = s.steps().map(|s| &s.kind).collect();
    assert_eq!(kinds[0], &StepKind::Directive(Directive::StartTls));
    assert_eq!(kinds[1], &StepKind::Directive(Directive::Close(Side::Server)));
    assert_eq!(
        kinds[2],
        &StepKind::Directive(Directive::Within(std::time::Duration::from_millis(500)))
    );
    assert_eq!(
        kinds[3],
        &StepKind::Directive(Directive::Sleep(std::time::Duration::from_secs(2)))
    );
    assert_eq!(
        kinds[4],
        &StepKind::Directive(Directive::Match(MatchMode {
            ordered: Some(false),
            extra: Some(false),
            ..MatchMode::default()
        }))
    );
}

#[test]
fn sessions_by_prefix_and_crlf_files() {
    let s = ok("name: t\r\nsessions: a=imap, b=imap\r\nplays: client\r\n\r\na C: A1 NOOP\r\nb   S: * OK\r\n");
    let sessions: Vec<usize> = s.steps().map(|s| s.session).collect();
    assert_eq!(sessions, vec![0, 1]);
}

#[test]
fn positions_point_at_the_step() {
    let s = ok("name: t\nsessions: a=imap, b=imap\nplays: client\n\nb C: B1 NOOP\n");
    assert_eq!(s.steps().next().map(|s| s.pos), Some(Pos { line: 5, col: 3 }));
}

/// Every kind of error, rendered as users see it.
#[test]
fn errors_are_positioned_and_explained() {
    let cases: &[(&str, &str)] = &[
        ("missing name", "sessions: a=imap\n\nC: A1 NOOP\n"),
        ("missing sessions", "name: t\n\nC: A1 NOOP\n"),
        ("misspelled header field", "name: t\nsesions: a=imap\n"),
        ("unknown protocol", "name: t\nsessions: a=imapp\n"),
        ("unknown role", "name: t\nsessions: a=imap\nplays: bothe\n"),
        ("role twice", "name: t\nsessions: a=imap\nplays: client, client\n"),
        ("session named like a prefix", "name: t\nsessions: C=imap\n"),
        (
            "requirement without protocol",
            "name: t\nsessions: a=imap\nrequires: IDLE\n",
        ),
        (
            "header after the exchange",
            &format!("{HEAD}C: A1 NOOP\ntags: x\n"),
        ),
        ("not a step", &format!("{HEAD}A1 NOOP\n")),
        (
            "unknown session",
            "name: t\nsessions: a=imap, b=imap\nplays: client\n\nc C: A1 NOOP\n",
        ),
        (
            "line without session",
            "name: t\nsessions: a=imap, b=imap\nplays: client\n\nC: A1 NOOP\n",
        ),
        ("missing space after prefix", &format!("{HEAD}C:A1 NOOP\n")),
        ("bad modifier", &format!("{HEAD}S?!: * OK\n")),
        ("unknown directive", &format!("{HEAD}@starttl\n")),
        ("bad duration", &format!("{HEAD}@within soon\n")),
        ("close without side", &format!("{HEAD}@close\n")),
        (
            "match not before S:",
            &format!("{HEAD}@match ordered\nC: A1 NOOP\n"),
        ),
        ("unterminated expression", &format!("{HEAD}S: * ${{n:num\n")),
        ("unknown class", &format!("{HEAD}S: * ${{n:nmu}} EXISTS\n")),
        ("unknown escape", &format!("{HEAD}C: A1${{\\q}}\n")),
        (
            "unbound reference",
            &format!("{HEAD}C: A1 FETCH ${{uid}} FLAGS\n"),
        ),
        (
            "hole without value in a sent line",
            &format!("{HEAD}C: ${{tag:atom}} NOOP\n"),
        ),
        (
            "hole without value, both roles",
            "name: t\nsessions: a=imap\n\nS: * OK ${_}\n",
        ),
        (
            "value outside its class",
            &format!("{HEAD}C: A1 FETCH ${{n:num=x}}\n"),
        ),
        ("nocrlf not at the end", &format!("{HEAD}C: A1${{nocrlf}} NOOP\n")),
        (
            "unterminated literal",
            &format!("{HEAD}C: A1 APPEND INBOX {{{{{{\nSubject: x\n"),
        ),
        (
            "malformed literal",
            &format!("{HEAD}C: A1 APPEND INBOX {{{{{{x\n"),
        ),
        (
            "literal in SMTP",
            "name: t\nsessions: s=smtp\nplays: client\n\nC: DATA {{{\nx\n}}}\n",
        ),
    ];
    let mut out = String::new();
    for (what, text) in cases {
        out.push_str(&format!("## {what}\n{}\n\n", err(text)));
    }
    insta::assert_snapshot!(out);
}

#[test]
fn invalid_utf8_is_an_error_not_a_panic() {
    let e = parse_bytes("t.scenario", b"name: t\nsessions: a=imap\n\nC: A1 \xff\n").unwrap_err();
    assert_eq!((e.pos.line, e.pos.col), (4, 7));
    assert!(e.to_string().contains("not valid UTF-8"));
}

/// The errors of a file, as `line:col message` (one per error).
fn all_errors(text: &str) -> Vec<String> {
    match parse_all("t.scenario", text) {
        Ok(s) => panic!("parsed, but should not: {s:?}"),
        Err(errors) => errors
            .errors()
            .iter()
            .map(|e| format!("{}:{} {}", e.pos.line, e.pos.col, e.message))
            .collect(),
    }
}

#[test]
fn every_bad_line_is_reported() {
    let text = format!("{HEAD}C: A1 NOOP\n@starttl\nC:A2 NOOP\nS: A2 OK\nS: * ${{n:nmu}} EXISTS\n");
    assert_eq!(
        all_errors(&text),
        [
            "6:1 unknown directive `@starttl`",
            "7:3 missing space after `C:`",
            "9:10 unknown class `nmu`",
        ]
    );
    // `parse` keeps returning the first one.
    assert_eq!(parse("t.scenario", &text).unwrap_err().pos.line, 6);
    // `Display` renders each, separated by a blank line.
    let shown = parse_all("t.scenario", &text).unwrap_err().to_string();
    assert_eq!(shown.matches("error: ").count(), 3, "{shown}");
    assert!(shown.contains("^^^^^^^^ expected one of `@starttls`"), "{shown}");
}

#[test]
fn header_and_body_errors_are_both_reported() {
    let text = "name: t\nsessions: a=imap\nrequires: IDLE, imap:MOVE, UIDPLUS\nplays: client\n\nC: A1 NOOP\ntags: x\n@close\n";
    assert_eq!(
        all_errors(text),
        [
            "3:11 requirement `IDLE` does not name its protocol",
            "3:28 requirement `UIDPLUS` does not name its protocol",
            "7:1 header field `tags:` after the first step",
            "8:2 `@close` needs the side that closes",
        ]
    );
    assert_eq!(
        all_errors("sessions: a=imap\n\nC: A1 NOOP\nC A2\n"),
        ["3:1 the header has no `name:`", "4:2 malformed `C` line prefix"]
    );
}

/// One mistake is reported once, not again where what it would have defined is used.
#[test]
fn one_mistake_one_error() {
    let cases: &[(&str, String)] = &[
        (
            "a capture on a bad line",
            format!("{HEAD}C: A1${{\\q}} FETCH ${{uid:num=1}}\nC: A2 FETCH ${{uid}}\n"),
        ),
        (
            "a literal opened by a bad line",
            format!("{HEAD}C: A1${{\\q}} APPEND INBOX {{{{{{\nnot a step\n}}}} {{{{{{+\nnor this\n}}}}\nC: A2 NOOP\n"),
        ),
        (
            "a literal in SMTP",
            "name: t\nsessions: s=smtp\nplays: client\n\nC: DATA {{{\nx\n}}}\n".to_owned(),
        ),
        ("a misspelled `sessions:`", "name: t\nsesions: a=imap\n\nC: A1 NOOP\n".to_owned()),
        ("an empty `name:`", "name:\nsessions: a=imap\n".to_owned()),
        (
            "a session with a bad protocol",
            "name: t\nsessions: a=imap, b=imapp\nplays: client\n\na C: A1 NOOP\nb C: B1 NOOP\n@match ordered\nb S: B1 OK\n"
                .to_owned(),
        ),
        (
            "a bad `plays:`",
            "name: t\nsessions: a=imap\nplays: clinet\n\nS: * OK ${_}\nC: ${t:atom} NOOP\n".to_owned(),
        ),
        ("a variable without value", "name: t\nsessions: a=imap\nvars: k\nplays: client\n\nC: ${k}\n".to_owned()),
        (
            "`@match` before a bad line",
            format!("{HEAD}C: A1 NOOP\n@match ordered\nS?!: A1 OK\nC: A2 NOOP\n"),
        ),
    ];
    let repeated: Vec<String> = cases
        .iter()
        .map(|(what, text)| (what, all_errors(text)))
        .filter(|(_, errors)| errors.len() != 1)
        .map(|(what, errors)| format!("{what}: {errors:?}"))
        .collect();
    assert!(repeated.is_empty(), "{repeated:#?}");
    // Only the failed session's lines are skipped: a's bad line is still reported.
    assert_eq!(
        all_errors("name: t\nsessions: a=imap, b=imapp\nplays: client\n\na C:A1\nb C:B1\n"),
        ["2:21 unknown protocol `imapp`", "5:5 missing space after `C:`"]
    );
}

#[test]
fn each_line_that_is_not_utf8_is_reported() {
    let errors = parse_bytes_all(
        "t.scenario",
        b"name: t\nsessions: a=imap\n\nC: A1 \xff\nC:A2\nS: \xfe x\n",
    )
    .unwrap_err();
    let at: Vec<(usize, usize)> = errors.errors().iter().map(|e| (e.pos.line, e.pos.col)).collect();
    assert_eq!(at, [(4, 7), (5, 3), (6, 4)]);
    assert!(errors.errors()[1].message.contains("missing space"));
}
#[test]
fn match_modes_for_comparison_and_items() {
    let text = "name: t\nsessions: a=imap\nplays: client\n\n@match unordered text no-extra-items\nS: * 1 FETCH (FLAGS (\\Seen))\n";
    let s = ok(text);
    let kinds: Vec<&StepKind> = s.steps().map(|s| &s.kind).collect();
    assert_eq!(
        kinds[0],
        &StepKind::Directive(Directive::Match(MatchMode {
            ordered: Some(false),
            compare: Some(crate::scenario::Compare::Text),
            extra_items: Some(false),
            ..MatchMode::default()
        }))
    );
    assert_eq!(crate::print(&s), text);
    let conflict = "name: t\nsessions: a=imap\nplays: client\n\n@match text meaning\nS: * OK\n";
    let err = crate::parse("t.scenario", conflict).unwrap_err().to_string();
    assert!(err.contains("`meaning` conflicts with an earlier mode"), "{err}");
    let unknown = "name: t\nsessions: a=imap\nplays: client\n\n@match bytes\nS: * OK\n";
    let err = crate::parse("t.scenario", unknown).unwrap_err().to_string();
    assert!(
        err.contains("unknown match mode `bytes`") && err.contains("`text`"),
        "{err}"
    );
}

fn first_error(text: &str) -> String {
    parse("t.scenario", text).expect_err("invalid").message
}

#[test]
fn message_names_are_imap_per_session_and_of_one_kind() {
    let head = "name: t\nsessions: a=imap, b=imap, s=smtp\nplays: client\n\n";
    let ok = format!(
        "{head}a S: * ${{m:seq}} EXISTS\na C: A1 FETCH ${{m}} FLAGS\nb S: * ${{m:seq}} FETCH (UID 1)\nb C: B1 FETCH ${{m}} FLAGS\n"
    );
    let scenario = parse("t.scenario", &ok).expect("valid");
    assert_eq!(
        parse("again", &crate::print(&scenario)).expect("round trip"),
        scenario
    );
    let smtp = format!("{head}s S: 250 ${{m:seq}}\n");
    assert!(first_error(&smtp).contains("message sequence number, which is IMAP"));
    let other = format!("{head}a S: * ${{m:seq}} EXISTS\nb C: B1 FETCH ${{m}} FLAGS\n");
    assert!(
        first_error(&other).contains("sequence numbers are per session"),
        "{}",
        first_error(&other)
    );
    let mixed = format!("{head}a S: * ${{m:num}} EXISTS\na S: * ${{m:seq}} EXISTS\n");
    assert!(
        first_error(&mixed).contains("cannot be a message name (`seq`) here"),
        "{}",
        first_error(&mixed)
    );
}

#[test]
fn pipelined_batches_are_imap_runs_of_tagged_groups() {
    let head = "name: t\nsessions: a=imap, s=smtp\nplays: client\n\n";
    let ok = format!(
        "{head}a C: A1 NOOP\na C: A2 NOOP\na @match pipelined unordered no-extra\na S: A2 OK ${{_}}\na S: * 1 EXISTS\na S: A1 OK ${{_}}\na S!: * 2 EXISTS\n"
    );
    let scenario = parse("t.scenario", &ok).expect("valid");
    assert_eq!(
        parse("again", &crate::print(&scenario)).expect("round trip"),
        scenario
    );
    let smtp = format!("{head}s C: NOOP\ns @match pipelined\ns S: 250 ok\n");
    assert!(first_error(&smtp).contains("RFC 2920"));
    let open = format!("{head}a @match pipelined\na S: A1 OK ${{_}}\na S: * 1 EXISTS\n");
    assert!(first_error(&open).contains("must end with a tagged response"));
    let plus = format!("{head}a @match pipelined\na S: + go\na S: A1 OK ${{_}}\n");
    assert!(first_error(&plus).contains("continuation"));
    let ordered = format!("{head}a @match pipelined ordered\na S: A1 OK ${{_}}\n");
    assert!(first_error(&ordered).contains("conflicts with `pipelined`"));
}

/// Issue 12 (fuzzing mailrig itself): columns count characters, also after an indentation of
/// non-ASCII whitespace (U+3000 is three bytes); four errors counted bytes there.
#[test]
fn issue_12_columns_after_unicode_indentation_count_characters() {
    let at = |text: &str| {
        let e = parse("t.scenario", text).unwrap_err();
        (e.pos.line, e.pos.col)
    };
    let two = "name: t\nsessions: a=imap, b=imap\nplays: client\n\n";
    assert_eq!(
        at(&format!("{two}a C: A NOOP\n\u{3000}\u{3000}name: late\n")),
        (6, 3)
    );
    assert_eq!(
        at("\u{3000}\u{3000}nmae: t\nsessions: a=imap\n\nC: A NOOP\n"),
        (1, 3)
    );
    assert_eq!(at(&format!("{two}\u{3000}\u{3000}z C: A NOOP\n")), (5, 3));
    assert_eq!(at(&format!("{two}\u{3000}\u{3000}C: A NOOP\n")), (5, 3));
}

#[test]
fn faults_lines_are_kept_as_text_with_their_positions() {
    let text = "name: t\nsessions: a=imap\nfaults: imap APPEND: reply NO [OVERQUOTA] quota, really\nfaults:   rcpt#2: close\na S: * OK hi\n";
    let scenario = crate::parse("t.scenario", text).expect("parses");
    let faults = &scenario.header.faults;
    assert_eq!(faults.len(), 2);
    assert_eq!(faults[0].text, "imap APPEND: reply NO [OVERQUOTA] quota, really");
    assert_eq!((faults[0].pos.line, faults[0].pos.col), (3, 9));
    assert_eq!(faults[1].text, "rcpt#2: close");
    assert_eq!((faults[1].pos.line, faults[1].pos.col), (4, 11));
    let printed = crate::print(&scenario);
    assert!(printed.contains("faults: rcpt#2: close\n"), "{printed}");
    assert_eq!(crate::parse("t.scenario", &printed).expect("reparses"), scenario);
    let empty = crate::parse("t.scenario", "name: t\nsessions: a=imap\nfaults:\na S: * OK hi\n");
    assert!(empty.is_err(), "an empty `faults:` is an error");
}

/// RFC 5321 §4.2.1: a multi-line reply is one unit, so no directive may sit between its
/// lines (found by fuzzing: an `@sleep` there left the reply unfinished when played).
#[test]
fn a_sleep_inside_a_multi_line_smtp_reply_is_an_error() {
    let text = "name: x\nsessions: s=smtp\nplays: server\n\nS: 220 hi\nC: EHLO x\nS: 250-one\n@sleep 5ms\nS: 250 two\n";
    let e = err(text);
    assert!(e.contains(":8:1"), "{e}");
    assert!(e.contains("`@sleep` inside a multi-line SMTP reply"), "{e}");
    assert!(e.contains("line 7 continues"), "{e}");
    // A write boundary inside the code does not hide that the line goes on.
    let split = "name: x\nsessions: s=smtp\nplays: server\n\nS: 220 hi\nC: EHLO x\nS: 25${|}0-one\n@sleep 5ms\nS: 250 two\n";
    assert!(err(split).contains("`@sleep` inside a multi-line SMTP reply"));
    // Before the reply, or after its last line, a pause is fine; IMAP groups are not replies.
    ok(
        "name: x\nsessions: s=smtp\nplays: server\n\nS: 220 hi\nC: EHLO x\n@sleep 5ms\nS: 250-one\nS: 250 two\n@sleep 5ms\n",
    );
    ok(
        "name: x\nsessions: s=imap\nplays: server\n\nS: * OK hi\nC: A1 NOOP\nS: * 1 EXISTS\n@sleep 5ms\nS: A1 OK done\n",
    );
    // A reply cut off by a hang-up is a case, not an error.
    ok("name: x\nsessions: s=smtp\nplays: server\n\nS: 220 hi\nC: EHLO x\nS: 250-one\n@close server\n");
}
