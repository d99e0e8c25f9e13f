//! One test per matching rule, each with the inputs that must and must not match.

use super::*;
use crate::scenario::{Item, StepKind};

/// Parses one line of a single-session scenario (`plays: client`, so S: holes need no value).
fn line(proto: &str, text: &str) -> Line {
    let src = format!("name: t\nsessions: a={proto}\nplays: client\nvars: v=alice\n\n{text}\n");
    let scenario = crate::parse("t.scenario", &src).unwrap_or_else(|e| panic!("{e}"));
    match scenario.body.into_iter().next() {
        Some(Item::Step(step)) => match step.kind {
            StepKind::Line(line) => line,
            StepKind::Directive(d) => panic!("not a line: {d:?}"),
        },
        other => panic!("not a step: {other:?}"),
    }
}

fn matches(text: &str, input: &[u8]) -> bool {
    let pattern = Pattern::compile(&line("imap", text), false).unwrap();
    pattern.matches(input, &Bindings::new()).is_ok()
}

#[test]
fn exact_text_needs_the_whole_line_and_crlf() {
    assert!(matches("S: A1 OK done", b"A1 OK done\r\n"));
    assert!(!matches("S: A1 OK done", b"A1 OK done now\r\n"));
    assert!(!matches("S: A1 OK done", b"A1 OK done\n"));
    assert!(!matches("S: A1 OK done", b"A1 OK done"));
}

#[test]
fn keywords_match_case_insensitively_outside_quotes() {
    // RFC 9051 §4: atoms (FETCH, FLAGS, \Seen) are case-insensitive.
    assert!(matches(
        r"S: * 1 FETCH (FLAGS (\Seen))",
        b"* 1 fetch (flags (\\SEEN))\r\n"
    ));
    // Quoted strings carry data: case matters there.
    assert!(!matches(
        r#"S: * LIST () "/" "Sent""#,
        b"* LIST () \"/\" \"sent\"\r\n"
    ));
    assert!(matches(
        r#"S: * LIST () "/" "Sent""#,
        b"* list () \"/\" \"Sent\"\r\n"
    ));
}

#[test]
fn escaped_quote_does_not_end_a_quoted_string() {
    assert!(!matches(
        r#"S: * LIST () "/" "a\"B""#,
        b"* LIST () \"/\" \"a\\\"b\"\r\n"
    ));
}

#[test]
fn exact_case_modifier() {
    assert!(matches("S=: A1 OK done", b"A1 OK done\r\n"));
    assert!(!matches("S=: A1 OK done", b"a1 ok done\r\n"));
}

#[test]
fn wildcard_matches_any_text_but_not_line_breaks() {
    assert!(matches("S: A1 OK ${_}", b"A1 OK LOGIN completed\r\n"));
    assert!(matches("S: A1 OK ${_}", b"A1 OK \r\n"));
    assert!(!matches("S: A1 OK ${_}", b"A1 OK one\r\ntwo\r\n"));
    assert!(matches("S: ${_} OK ${_}", b"A1 OK x\r\n"));
}

#[test]
fn classes() {
    assert!(matches("S: * ${_:num} EXISTS", b"* 12 EXISTS\r\n"));
    assert!(!matches("S: * ${_:num} EXISTS", b"* x EXISTS\r\n"));
    assert!(!matches("S: * ${_:num} EXISTS", b"*  EXISTS\r\n"));
    assert!(matches("S: ${_:atom} OK", b"A001 OK\r\n"));
    assert!(!matches("S: ${_:atom} OK", b"A(1 OK\r\n"));
    assert!(matches("S: 250 ${_:word}", b"250 2.0.0\r\n"));
    assert!(!matches("S: 250 ${_:word}", b"250 2.0.0 ok\r\n"));
}

#[test]
fn capture_binds_on_first_match_and_must_repeat() {
    let pattern = Pattern::compile(&line("imap", "S: * ${n:num} EXISTS ${n:num}"), false).unwrap();
    assert!(pattern.matches(b"* 3 EXISTS 3\r\n", &Bindings::new()).is_ok());
    assert!(pattern.matches(b"* 3 EXISTS 4\r\n", &Bindings::new()).is_err());
    let m = pattern.matches(b"* 3 EXISTS 3\r\n", &Bindings::new()).unwrap();
    assert_eq!(m.bound.get("n").map(Vec::as_slice), Some(&b"3"[..]));
}

#[test]
fn bound_capture_and_back_reference_match_the_bound_bytes() {
    let mut bindings = Bindings::new();
    bindings.insert("uid".into(), b"42".to_vec());
    let by_capture = Pattern::compile(&line("imap", "S: * 1 FETCH (UID ${uid:num})"), false).unwrap();
    assert!(by_capture.matches(b"* 1 FETCH (UID 42)\r\n", &bindings).is_ok());
    assert!(by_capture.matches(b"* 1 FETCH (UID 43)\r\n", &bindings).is_err());
    let by_ref = Pattern::compile(&line("imap", "S: * 1 FETCH (UID ${v})"), false).unwrap();
    bindings.insert("v".into(), b"7".to_vec());
    assert!(by_ref.matches(b"* 1 FETCH (UID 7)\r\n", &bindings).is_ok());
}

#[test]
fn literal_content_is_exact_and_sized() {
    let l = line("imap", "S: * 1 FETCH (BODY[] {{{\nHello\n}}})");
    let pattern = Pattern::compile(&l, false).unwrap();
    assert!(
        pattern
            .matches(b"* 1 FETCH (BODY[] {7}\r\nHello\r\n)\r\n", &Bindings::new())
            .is_ok()
    );
    assert!(
        pattern
            .matches(b"* 1 FETCH (BODY[] {7}\r\nhello\r\n)\r\n", &Bindings::new())
            .is_err()
    );
    assert!(
        pattern
            .matches(b"* 1 FETCH (BODY[] {8}\r\nHello\r\n)\r\n", &Bindings::new())
            .is_err()
    );
}

#[test]
fn byte_escapes_and_nocrlf() {
    assert!(matches("C: one${\\n}.${\\n}two", b"one\n.\ntwo\r\n"));
    assert!(matches("C: QUIT${nocrlf}", b"QUIT"));
    assert!(!matches("C: QUIT${nocrlf}", b"QUIT\r\n"));
    assert!(matches("C: ${\\x00\\xff}", b"\x00\xff\r\n"));
}

#[test]
fn smtp_reply_separator_normalization() {
    let pattern = Pattern::compile(&line("smtp", "S: 250-PIPELINING"), true).unwrap();
    assert!(
        pattern
            .matches(&normalize_reply_line(b"250 PIPELINING\r\n"), &Bindings::new())
            .is_ok()
    );
    assert!(
        pattern
            .matches(&normalize_reply_line(b"250-PIPELINING\r\n"), &Bindings::new())
            .is_ok()
    );
}

#[test]
fn failed_match_reports_how_far_it_got() {
    let pattern = Pattern::compile(&line("imap", r"S: * 1 FETCH (FLAGS (\Seen))"), false).unwrap();
    assert_eq!(
        pattern.matches(b"* 1 FETCH (FLAGS ())\r\n", &Bindings::new()),
        Err(18)
    );
}

#[test]
fn hostile_input_cannot_stall_the_matcher() {
    let pattern = Pattern::compile(&line("imap", "S: ${_}a${_}a${_}a${_}a${_}a${_}b"), false).unwrap();
    let input = [vec![b'a'; 5000], b"\r\n".to_vec()].concat();
    assert!(pattern.matches(&input, &Bindings::new()).is_err());
}

#[test]
fn render_sends_values_and_binds_them() {
    let src = "name: t\nsessions: a=imap\n\nC: ${t:atom=A1} LOGIN ${user} x${|}y {{{\nab\n}}}\nS: ${t} OK ${_:text=fine}\n";
    let scenario = crate::parse("t", src).unwrap();
    let StepKind::Line(l) = &scenario.steps().next().unwrap().kind else {
        panic!()
    };
    let mut bindings = Bindings::new();
    bindings.insert("user".into(), b"alice".to_vec());
    let out = render(l, &mut bindings).unwrap();
    assert_eq!(
        out,
        vec![
            Output::Bytes(b"A1 LOGIN alice x".to_vec()),
            Output::Split,
            Output::Bytes(b"y {4}\r\n".to_vec()),
            Output::AwaitContinuation,
            Output::Bytes(b"ab\r\n\r\n".to_vec()),
        ]
    );
    assert_eq!(bindings.get("t").map(Vec::as_slice), Some(&b"A1"[..]));
}

#[test]
fn render_reports_unbound_reference() {
    let src = "name: t\nsessions: a=imap\n\nC: A1 LOGIN ${user} x\n";
    let scenario = crate::parse("t", src).unwrap();
    let StepKind::Line(l) = &scenario.steps().next().unwrap().kind else {
        panic!()
    };
    assert_eq!(
        render(l, &mut Bindings::new()),
        Err(PatternError::Unbound("user".into()))
    );
}
