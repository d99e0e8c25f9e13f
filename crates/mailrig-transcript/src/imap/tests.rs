//! Known-answer tests for the response decoder (RFC 9051 §7 examples), one test per rule of
//! matching by meaning with inputs that must and must not match, and the decoder's properties.

use proptest::prelude::*;

use super::response::{Body, Response, Tag, Token, Value, decode};
use crate::framing::{Frame, next_line};
use crate::pattern::{Bindings, Pattern};
use crate::scenario::{Compare, Family, Item, Line, MatchMode, StepKind};

/// Parses one `S:` line of a single-session IMAP scenario.
fn line(text: &str) -> Line {
    let src =
        format!("name: t\nsessions: a=imap\nplays: client\nvars: uid=0, a=0, b=0, sep=/, body=\n\n{text}\n");
    let scenario = crate::parse("t.scenario", &src).unwrap_or_else(|e| panic!("{e}"));
    match scenario.body.into_iter().next() {
        Some(Item::Step(step)) => match step.kind {
            StepKind::Line(line) => line,
            StepKind::Directive(d) => panic!("not a line: {d:?}"),
        },
        other => panic!("not a step: {other:?}"),
    }
}

fn compile(text: &str, mode: MatchMode) -> Pattern {
    Pattern::compile_imap_server(&line(text), mode).unwrap()
}

/// Whether `input` matches the line by meaning (the default for IMAP `S:` lines).
fn meaning(text: &str, input: &[u8]) -> bool {
    let pattern = compile(text, MatchMode::default());
    assert!(pattern.by_meaning(), "`{text}` is not compiled by meaning");
    pattern.matches(input, &Bindings::new()).is_ok()
}

/// Whether `input` matches the line under `@match text`.
fn as_text(text: &str, input: &[u8]) -> bool {
    let mode = MatchMode {
        compare: Some(Compare::Text),
        ..MatchMode::default()
    };
    compile(text, mode).matches(input, &Bindings::new()).is_ok()
}

fn bindings(pairs: &[(&str, &str)]) -> Bindings {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.as_bytes().to_vec()))
        .collect()
}

fn tokens(response: &Response) -> &[Token] {
    match &response.body {
        Body::Data(tokens) => tokens,
        Body::Status { .. } => panic!("not data: {response:?}"),
    }
}

// --- The decoder ---

#[test]
fn decodes_status_responses_with_codes() {
    // RFC 9051 §7.1.1: "* OK [UNSEEN 12] Message 12 is first unseen" (RFC 3501's example).
    let line = b"* OK [UNSEEN 12] Message 12 is first unseen\r\n";
    let r = decode(line).unwrap();
    assert_eq!(r.tag, Tag::Untagged);
    let Body::Status { status, code, text } = &r.body else {
        panic!("not a status: {r:?}")
    };
    assert_eq!(
        status.as_ref().map(|s| &s.value),
        Some(&Value::Atom(b"OK".to_vec()))
    );
    let code = code.as_ref().unwrap();
    assert_eq!(code.tokens[0].value, Value::Atom(b"UNSEEN".to_vec()));
    assert_eq!(code.tokens[1].value, Value::Number(12));
    assert_eq!(&line[text.clone()], b" Message 12 is first unseen");
    // §7.1: "A001 OK LOGIN completed"; tagged responses are OK, NO or BAD only.
    let r = decode(b"A001 OK LOGIN completed\r\n").unwrap();
    assert_eq!(r.tag, Tag::Tagged(b"A001".to_vec()));
    assert!(decode(b"A001 PREAUTH hi\r\n").is_err());
    assert!(decode(b"A001 FETCH hi\r\n").is_err());
    // §7.5: "+ Ready for additional command text".
    let r = decode(b"+ Ready for additional command text\r\n").unwrap();
    assert_eq!(r.tag, Tag::Continuation);
    // §7.1.5: "* BYE Autologout; idle for too long".
    assert!(matches!(
        decode(b"* BYE Autologout; idle for too long\r\n").unwrap().body,
        Body::Status { .. }
    ));
}

#[test]
fn decodes_fetch_items_lists_strings_and_literals() {
    // RFC 9051 §7.5.2 FETCH response example (shortened), and a literal (§4.3).
    let r = decode(
        b"* 12 FETCH (FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" \
          RFC822.SIZE 4286 BODY[HEADER.FIELDS (SUBJECT)] {5}\r\nab\r\nc BODY[]<0> NIL)\r\n",
    )
    .unwrap();
    let t = tokens(&r);
    assert_eq!(t[0].value, Value::Number(12));
    assert_eq!(t[1].value, Value::Atom(b"FETCH".to_vec()));
    let Value::List(items) = &t[2].value else {
        panic!("not a list")
    };
    let values: Vec<&Value> = items.iter().map(|t| &t.value).collect();
    assert_eq!(values[0], &Value::Atom(b"FLAGS".to_vec()));
    assert_eq!(
        values[1],
        &Value::List(vec![Token {
            value: Value::Atom(b"\\Seen".to_vec()),
            span: 19..24
        }])
    );
    assert_eq!(values[3], &Value::String(b"17-Jul-1996 02:44:25 -0700".to_vec()));
    assert_eq!(values[5], &Value::Number(4286));
    assert_eq!(values[6], &Value::Atom(b"BODY[HEADER.FIELDS (SUBJECT)]".to_vec()));
    assert_eq!(values[7], &Value::String(b"ab\r\nc".to_vec()));
    assert_eq!(values[8], &Value::Atom(b"BODY[]<0>".to_vec()));
    assert_eq!(values[9], &Value::Nil);
}

#[test]
fn decodes_mailbox_data() {
    // RFC 9051 §7.3.1 LIST, §7.3.4 STATUS, §7.2.2 CAPABILITY, RFC 3501 §7.2.5 SEARCH.
    for line in [
        &b"* LIST (\\Noselect) \"/\" ~/Mail/foo\r\n"[..],
        b"* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n",
        b"* CAPABILITY IMAP4rev2 STARTTLS AUTH=GSSAPI LOGINDISABLED\r\n",
        b"* SEARCH 2 3 6\r\n",
        b"* SEARCH\r\n",
        b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n",
        b"* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n",
        b"* 1 FETCH (BINARY[1] ~{3}\r\n\x00\x01\x02)\r\n",
    ] {
        assert!(decode(line).is_ok(), "{}", String::from_utf8_lossy(line));
    }
}

#[test]
fn refuses_what_breaks_the_token_grammar() {
    for (line, at) in [
        (&b"* 1 FETCH (FLAGS (\\Seen)\r\n"[..], 24),
        (b"* 1  EXISTS\r\n", 4),
        (b"* 1 FETCH (BODY[] {10}\r\nabc)\r\n", 24),
        (b"* LIST () \"/\" \"a\r\n", 16),
        (b"* 1 FETCH (X \"a\\b\")\r\n", 16),
        (b"\r\n", 0),
    ] {
        assert_eq!(
            decode(line).map_err(|e| e.at),
            Err(at),
            "{}",
            String::from_utf8_lossy(line)
        );
    }
    // Nesting is bounded so that hostile input cannot exhaust the stack.
    let mut deep = b"* X ".to_vec();
    deep.extend(std::iter::repeat_n(b'(', 100_000));
    assert!(decode(&deep).is_err());
}

// --- Matching by meaning: the issue's three cases ---

#[test]
fn status_with_a_quoted_mailbox_name() {
    // RFC 9051 §7.3.4: the mailbox is an astring; `"x"` and `x` are the same name.
    let text = "S: * STATUS x (MESSAGES 2 UIDNEXT 5)";
    assert!(meaning(text, b"* STATUS \"x\" (MESSAGES 2 UIDNEXT 5)\r\n"));
    assert!(meaning(text, b"* STATUS x (UIDNEXT 5 MESSAGES 2)\r\n"));
    assert!(!meaning(text, b"* STATUS \"y\" (MESSAGES 2 UIDNEXT 5)\r\n"));
    assert!(!meaning(text, b"* STATUS x (MESSAGES 3 UIDNEXT 5)\r\n"));
    assert!(!as_text(text, b"* STATUS \"x\" (MESSAGES 2 UIDNEXT 5)\r\n"));
}

#[test]
fn flags_in_another_order() {
    // RFC 9051 §7.5.2 FLAGS: "A parenthesized list of flags that are set for this message";
    // a list of flags is a set.
    let text = r"S: * 1 FETCH (FLAGS (\Recent \Flagged))";
    assert!(meaning(text, b"* 1 FETCH (FLAGS (\\Flagged \\Recent))\r\n"));
    assert!(!as_text(text, b"* 1 FETCH (FLAGS (\\Flagged \\Recent))\r\n"));
    // Without `${_}` in the list, exactly these flags: a missing or an extra one fails.
    assert!(!meaning(text, b"* 1 FETCH (FLAGS (\\Flagged))\r\n"));
    assert!(!meaning(
        text,
        b"* 1 FETCH (FLAGS (\\Flagged \\Recent \\Seen))\r\n"
    ));
    // With `${_}`, at least these.
    let text = r"S: * 1 FETCH (FLAGS (\Flagged ${_}))";
    assert!(meaning(
        text,
        b"* 1 FETCH (FLAGS (\\Seen \\Flagged \\Recent))\r\n"
    ));
    assert!(!meaning(text, b"* 1 FETCH (FLAGS (\\Seen \\Recent))\r\n"));
    // The same holds for `* FLAGS` (§7.3.5) and `[PERMANENTFLAGS ...]` (§7.1).
    assert!(meaning(
        r"S: * FLAGS (\Seen \Deleted)",
        b"* FLAGS (\\Deleted \\Seen)\r\n"
    ));
    assert!(meaning(
        r"S: * OK [PERMANENTFLAGS (\* ${_})] ${_}",
        b"* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n"
    ));
}

#[test]
fn a_literal_where_the_scenario_wrote_a_quoted_string() {
    // RFC 9051 §4.3: a literal and a quoted string are two encodings of one string.
    let text = r#"S: * 1 FETCH (BODY[]<0> "abc")"#;
    assert!(meaning(text, b"* 1 FETCH (BODY[]<0> {3}\r\nabc)\r\n"));
    assert!(!as_text(text, b"* 1 FETCH (BODY[]<0> {3}\r\nabc)\r\n"));
    assert!(!meaning(text, b"* 1 FETCH (BODY[]<0> {3}\r\nabd)\r\n"));
    // String contents are case-sensitive.
    assert!(!meaning(text, b"* 1 FETCH (BODY[]<0> {3}\r\nABC)\r\n"));
    // A `{{{` block in the scenario is a string too; its size is not compared, its bytes are.
    let text = "S: * 1 FETCH (BODY[TEXT] {{{\nhi\n}}})";
    assert!(meaning(text, b"* 1 FETCH (UID 3 BODY[TEXT] {4}\r\nhi\r\n)\r\n"));
    assert!(!meaning(text, b"* 1 FETCH (BODY[TEXT] {4}\r\nho\r\n)\r\n"));
}

// --- FETCH items as a map ---

#[test]
fn fetch_items_in_any_order_others_allowed() {
    // RFC 9051 §7.5.2: the server may send items in any order, and unsolicited FETCH
    // responses carry what it chooses (UID always, in a UID command's answer).
    let text = r"S: * 12 FETCH (FLAGS (\Seen) RFC822.SIZE 44827)";
    assert!(meaning(
        text,
        b"* 12 FETCH (RFC822.SIZE 44827 FLAGS (\\Seen))\r\n"
    ));
    assert!(meaning(
        text,
        b"* 12 FETCH (UID 4 RFC822.SIZE 44827 FLAGS (\\Seen))\r\n"
    ));
    // A named item must be there, with its value.
    assert!(!meaning(text, b"* 12 FETCH (FLAGS (\\Seen))\r\n"));
    assert!(!meaning(
        text,
        b"* 12 FETCH (FLAGS (\\Seen) RFC822.SIZE 44828)\r\n"
    ));
    assert!(!meaning(
        text,
        b"* 13 FETCH (FLAGS (\\Seen) RFC822.SIZE 44827)\r\n"
    ));
    // The plain form accepts an extra UID item now.
    assert!(meaning(
        r"S: * 1 FETCH (FLAGS (\Seen))",
        b"* 1 FETCH (UID 4 FLAGS (\\Seen))\r\n"
    ));
}

#[test]
fn the_wildcard_idiom_still_works() {
    let text = r"S: * 1 FETCH (${_}FLAGS (\Seen)${_})";
    assert!(meaning(text, b"* 1 FETCH (FLAGS (\\Seen))\r\n"));
    assert!(meaning(text, b"* 1 FETCH (UID 4 FLAGS (\\Seen) MODSEQ (12))\r\n"));
    assert!(!meaning(text, b"* 1 FETCH (UID 4 FLAGS ())\r\n"));
    let text = r"S: * 1 FETCH (FLAGS (${_}\Seen${_}))";
    assert!(meaning(text, b"* 1 FETCH (FLAGS (\\Recent \\Seen))\r\n"));
    assert!(!meaning(text, b"* 1 FETCH (FLAGS (\\Recent))\r\n"));
}

#[test]
fn no_extra_items_means_exactly_these_items() {
    let mode = MatchMode {
        extra_items: Some(false),
        ..MatchMode::default()
    };
    let exact = compile(r"S: * 1 FETCH (FLAGS (\Seen))", mode);
    let ok = |p: &Pattern, input: &[u8]| p.matches(input, &Bindings::new()).is_ok();
    assert!(ok(&exact, b"* 1 FETCH (FLAGS (\\Seen))\r\n"));
    assert!(!ok(&exact, b"* 1 FETCH (UID 4 FLAGS (\\Seen))\r\n"));
    // `${_}` among the items still allows others.
    let open = compile(r"S: * 1 FETCH (FLAGS (\Seen) ${_})", mode);
    assert!(ok(&open, b"* 1 FETCH (UID 4 FLAGS (\\Seen))\r\n"));
}

#[test]
fn a_wrong_fetch_value_points_at_it() {
    let pattern = compile(r"S: * 1 FETCH (UID 7 FLAGS (\Seen))", MatchMode::default());
    let got = b"* 1 FETCH (UID 8 FLAGS (\\Seen))\r\n";
    let at = pattern.matches(got, &Bindings::new()).unwrap_err();
    assert!(at > 0 && at <= got.len(), "{at}");
}

// --- Numbers, captures and back-references ---

#[test]
fn numbers_compare_as_numbers() {
    assert!(meaning("S: * 7 EXISTS", b"* 007 EXISTS\r\n"));
    assert!(!meaning("S: * 7 EXISTS", b"* 8 EXISTS\r\n"));
    assert!(!meaning("S: * 7 EXISTS", b"* 77 EXISTS\r\n"));
}

#[test]
fn a_back_reference_never_matches_a_prefix() {
    let b = bindings(&[("uid", "2")]);
    let by_meaning = compile("S: * 1 FETCH (UID ${uid})", MatchMode::default());
    assert!(by_meaning.matches(b"* 1 FETCH (UID 2)\r\n", &b).is_ok());
    assert!(by_meaning.matches(b"* 1 FETCH (UID 25)\r\n", &b).is_err());
    // The text matcher keeps to token boundaries too.
    let text = Pattern::compile(&line("S: * 1 FETCH (UID ${uid}${_})"), false).unwrap();
    assert!(text.matches(b"* 1 FETCH (UID 2)\r\n", &b).is_ok());
    assert!(text.matches(b"* 1 FETCH (UID 25)\r\n", &b).is_err());
    let search = Pattern::compile(&line("S: * SEARCH ${_}${uid}${_}"), false).unwrap();
    assert!(search.matches(b"* SEARCH 1 2 3\r\n", &b).is_ok());
    assert!(search.matches(b"* SEARCH 12 25\r\n", &b).is_err());
}

#[test]
fn digits_written_next_to_a_num_hole_are_the_authors_choice() {
    // `25${_:num}` is "a 25x reply code", as SMTP scenarios write it.
    let code = Pattern::compile(&line("S: 25${_:num} ${_}"), false).unwrap();
    assert!(code.matches(b"252 2.0.0 maybe\r\n", &Bindings::new()).is_ok());
    assert!(code.matches(b"262 2.0.0 maybe\r\n", &Bindings::new()).is_err());
    let tens = Pattern::compile(&line("S: * ${n:num}0 EXISTS"), false).unwrap();
    assert!(tens.matches(b"* 10 EXISTS\r\n", &Bindings::new()).is_ok());
}

#[test]
fn num_captures_take_whole_numbers() {
    let text = Pattern::compile(&line("S: * ${n:num}${_} EXISTS"), false).unwrap();
    let m = text.matches(b"* 25 EXISTS\r\n", &Bindings::new()).unwrap();
    assert_eq!(m.bound, bindings(&[("n", "25")]));
    let pattern = compile("S: * OK [UIDNEXT ${next:num}] ${_}", MatchMode::default());
    let m = pattern
        .matches(b"* OK [UIDNEXT 4392] Predicted next UID\r\n", &Bindings::new())
        .unwrap();
    assert_eq!(m.bound, bindings(&[("next", "4392")]));
    assert!(
        pattern
            .matches(b"* OK [UIDNEXT x1] Predicted\r\n", &Bindings::new())
            .is_err()
    );
}

#[test]
fn captures_bind_string_values_and_work_inside_tokens() {
    // RFC 9051 §7.3.1: `LIST "" ""` returns the hierarchy delimiter as a quoted string.
    let list = compile(r#"S: * LIST (${_}) "${sep:atom}" """#, MatchMode::default());
    let m = list
        .matches(b"* LIST (\\Noselect) \"/\" \"\"\r\n", &Bindings::new())
        .unwrap();
    assert_eq!(m.bound, bindings(&[("sep", "/")]));
    let child = compile(
        r#"S: * LIST (${_}\HasNoChildren${_}) "${sep}" ${_}tree${sep}child${_}"#,
        MatchMode::default(),
    );
    let b = bindings(&[("sep", "/")]);
    assert!(
        child
            .matches(b"* LIST (\\HasNoChildren) \"/\" tree/child\r\n", &b)
            .is_ok()
    );
    assert!(
        child
            .matches(b"* LIST (\\Marked \\HasNoChildren) \"/\" \"tree/child\"\r\n", &b)
            .is_ok()
    );
    assert!(
        child
            .matches(b"* LIST (\\HasNoChildren) \"/\" tree.child\r\n", &b)
            .is_err()
    );
    assert!(
        child
            .matches(b"* LIST (\\HasChildren) \"/\" tree/child\r\n", &b)
            .is_err()
    );
}

#[test]
fn captures_in_sets_backtrack() {
    let b = bindings(&[("a", "3"), ("b", "1")]);
    assert!(
        compile("S: * SEARCH ${a} ${b}", MatchMode::default())
            .matches(b"* SEARCH 1 3\r\n", &b)
            .is_ok()
    );
    // The capture first takes `\Seen`, which leaves nothing for the written `\Seen`: retry.
    let flags = compile(r"S: * 1 FETCH (FLAGS (${f:word} \Seen))", MatchMode::default());
    let m = flags
        .matches(b"* 1 FETCH (FLAGS (\\Seen \\Flagged))\r\n", &Bindings::new())
        .unwrap();
    assert_eq!(m.bound, bindings(&[("f", "\\Flagged")]));
    let pattern = compile("S: * 5 FETCH (MODSEQ (${x:num}) UID ${x})", MatchMode::default());
    assert!(
        pattern
            .matches(b"* 5 FETCH (UID 9 MODSEQ (9))\r\n", &Bindings::new())
            .is_ok()
    );
    assert!(
        pattern
            .matches(b"* 5 FETCH (UID 9 MODSEQ (8))\r\n", &Bindings::new())
            .is_err()
    );
}

// --- Sets, strings and case ---

#[test]
fn capabilities_and_search_results_are_sets() {
    // RFC 9051 §7.2.2 CAPABILITY, RFC 3501 §7.2.5 SEARCH: no order is defined.
    let caps = "S: * CAPABILITY IMAP4rev2 STARTTLS";
    assert!(meaning(caps, b"* CAPABILITY STARTTLS IMAP4rev2\r\n"));
    assert!(!meaning(caps, b"* CAPABILITY STARTTLS IMAP4rev2 IDLE\r\n"));
    assert!(meaning(
        "S: * CAPABILITY IMAP4rev2 ${_}",
        b"* CAPABILITY IDLE IMAP4rev2\r\n"
    ));
    assert!(!meaning(
        "S: * CAPABILITY IMAP4rev2 ${_}",
        b"* CAPABILITY IDLE IMAP4rev1\r\n"
    ));
    assert!(meaning(
        "S: * OK [CAPABILITY IDLE ${_}] ready",
        b"* OK [CAPABILITY IMAP4rev1 IDLE] ready\r\n"
    ));
    assert!(meaning("S: * SEARCH 2 3 6", b"* SEARCH 6 2 3\r\n"));
    assert!(!meaning("S: * SEARCH 2 3 6", b"* SEARCH 2 3\r\n"));
    assert!(meaning("S: * SEARCH", b"* SEARCH\r\n"));
    assert!(!meaning("S: * SEARCH", b"* SEARCH 1\r\n"));
}

/// RFC 4731 §3.1 and RFC 5267 §4: ESEARCH return data in any order, exactly those named
/// (unless `${_}`), the correlator and `UID` in place; ADDTO and REMOVEFROM keep their order
/// among themselves (RFC 5267 §4.3.2: "process ... in the order they appear").
#[test]
fn esearch_return_data_in_any_order() {
    let line = "S: * ESEARCH (TAG \"A9\") UID COUNT 2 PARTIAL (2:5 7)";
    assert!(meaning(
        line,
        b"* ESEARCH (TAG \"A9\") UID PARTIAL (2:5 7) COUNT 2\r\n"
    ));
    assert!(meaning(
        line,
        b"* ESEARCH (TAG \"A9\") UID COUNT 2 PARTIAL (2:5 7)\r\n"
    ));
    assert!(!meaning(line, b"* ESEARCH (TAG \"A9\") UID PARTIAL (2:5 7)\r\n"));
    assert!(!meaning(
        line,
        b"* ESEARCH (TAG \"A9\") PARTIAL (2:5 7) COUNT 2\r\n"
    ));
    assert!(!meaning(
        line,
        b"* ESEARCH (TAG \"A8\") UID PARTIAL (2:5 7) COUNT 2\r\n"
    ));
    assert!(!meaning(
        line,
        b"* ESEARCH (TAG \"A9\") UID COUNT 2 PARTIAL (2:5 7) MIN 7\r\n"
    ));
    assert!(!meaning(
        line,
        b"* ESEARCH (TAG \"A9\") UID COUNT 2 PARTIAL (2:5 NIL)\r\n"
    ));
    let others = "S: * ESEARCH (TAG \"A9\") COUNT 2 ${_}";
    assert!(meaning(others, b"* ESEARCH (TAG \"A9\") MIN 1 COUNT 2\r\n"));
    assert!(meaning(
        "S: * ESEARCH (TAG \"A1\")",
        b"* ESEARCH (TAG \"A1\")\r\n"
    ));
    let updates = "S: * ESEARCH (TAG \"u\") UID REMOVEFROM (0 3) ADDTO (0 4) COUNT 1";
    assert!(meaning(
        updates,
        b"* ESEARCH (TAG \"u\") UID COUNT 1 REMOVEFROM (0 3) ADDTO (0 4)\r\n"
    ));
    assert!(!meaning(
        updates,
        b"* ESEARCH (TAG \"u\") UID ADDTO (0 4) REMOVEFROM (0 3) COUNT 1\r\n"
    ));
    let b = bindings(&[("uid", "4")]);
    let pattern = compile(
        "S: * ESEARCH (TAG \"u\") UID ADDTO (${_:num} ${uid})",
        MatchMode::default(),
    );
    assert!(
        pattern
            .matches(b"* ESEARCH (TAG \"u\") UID ADDTO (0 4)\r\n", &b)
            .is_ok()
    );
    assert!(
        pattern
            .matches(b"* ESEARCH (TAG \"u\") UID ADDTO (1 4)\r\n", &b)
            .is_ok()
    );
    assert!(
        pattern
            .matches(b"* ESEARCH (TAG \"u\") UID REMOVEFROM (0 4)\r\n", &b)
            .is_err()
    );
}

#[test]
fn atoms_fold_case_strings_do_not() {
    // RFC 9051 §4: atoms such as FETCH, FLAGS and \Seen are case-insensitive.
    assert!(meaning(
        r"S: * 1 FETCH (FLAGS (\Seen))",
        b"* 1 fetch (flags (\\SEEN))\r\n"
    ));
    assert!(!meaning(
        r#"S: * LIST () "/" "Sent""#,
        b"* LIST () \"/\" \"sent\"\r\n"
    ));
    assert!(meaning(r#"S: * LIST () "/" "Sent""#, b"* LIST () \"/\" Sent\r\n"));
    // `S=:` compares atoms exactly too.
    assert!(!meaning(
        r"S=: * 1 FETCH (FLAGS (\Seen))",
        b"* 1 FETCH (FLAGS (\\seen))\r\n"
    ));
    // A flag is never a string, and NIL is not the string "NIL".
    assert!(!meaning(
        r"S: * 1 FETCH (FLAGS (\Seen))",
        b"* 1 FETCH (FLAGS (\"\\Seen\"))\r\n"
    ));
    assert!(!meaning(
        "S: * 1 FETCH (BODY[] NIL)",
        b"* 1 FETCH (BODY[] \"NIL\")\r\n"
    ));
    assert!(meaning(
        "S: * 1 FETCH (BODY[] nil)",
        b"* 1 FETCH (BODY[] NIL)\r\n"
    ));
}

#[test]
fn lists_other_than_flags_keep_their_order() {
    // RFC 9051 §7.5.2 ENVELOPE: positional fields.
    let text = r#"S: * 1 FETCH (ENVELOPE ("date" "subject" ${_}))"#;
    assert!(meaning(
        text,
        b"* 1 FETCH (ENVELOPE (\"date\" \"subject\" NIL NIL))\r\n"
    ));
    assert!(!meaning(
        text,
        b"* 1 FETCH (ENVELOPE (\"subject\" \"date\" NIL NIL))\r\n"
    ));
}

// --- Status responses: codes by meaning, text as text ---

#[test]
fn response_text_keeps_the_text_rules() {
    let text = "S: A1 OK [READ-WRITE] SELECT completed";
    assert!(meaning(text, b"A1 OK [READ-WRITE] select completed\r\n"));
    assert!(!meaning(text, b"A1 OK [READ-WRITE] done\r\n"));
    assert!(!meaning(text, b"A1 OK [READ-ONLY] SELECT completed\r\n"));
    assert!(!meaning(text, b"A1 NO [READ-WRITE] SELECT completed\r\n"));
    assert!(!meaning(text, b"A2 OK [READ-WRITE] SELECT completed\r\n"));
    // A line without a code matches whatever code and text follow, as text.
    assert!(meaning("S: A1 OK ${_}", b"A1 OK [READ-WRITE] done\r\n"));
    assert!(meaning("S: A1 ${_:atom} ${_}", b"A1 NO [TRYCREATE] no\r\n"));
    assert!(meaning("S: A2 OK [READ-WRITE]${_}", b"A2 OK [READ-WRITE]\r\n"));
    // RFC 9051 §7.1: APPENDUID's values, one by one.
    let append = compile(
        "S: A3 OK [APPENDUID ${v:num} ${uid:num}] ${_}",
        MatchMode::default(),
    );
    let m = append
        .matches(
            b"A3 OK [APPENDUID 38505 3955] APPEND completed\r\n",
            &Bindings::new(),
        )
        .unwrap();
    assert_eq!(m.bound, bindings(&[("uid", "3955"), ("v", "38505")]));
}

#[test]
fn a_glued_wildcard_stands_for_whole_tokens() {
    let text = "S: * STATUS ${_}tree${_} (MESSAGES 1)";
    assert!(meaning(text, b"* STATUS \"tree\" (MESSAGES 1)\r\n"));
    assert!(meaning(text, b"* STATUS tree (MESSAGES 1)\r\n"));
    assert!(!meaning(text, b"* STATUS tree/child (MESSAGES 1)\r\n"));
    assert!(as_text(text, b"* STATUS tree/child (MESSAGES 1)\r\n"));
}

// --- Falling back to text ---

#[test]
fn lines_without_a_structure_stay_text() {
    let structural = |text: &str| compile(text, MatchMode::default()).by_meaning();
    assert!(!structural("S: + ${_}"));
    assert!(!structural("S: A14 ${_}"));
    assert!(!structural("S: ${_} OK done"));
    assert!(!structural("S: * 1 FETCH (${_}\\Seen${_})"));
    assert!(!structural("S: * STATUS ${mb:text} (MESSAGES 1)"));
    assert!(!structural("S: * 1 FETCH (FLAGS (\\Seen)${\\r\\n}"));
    assert!(structural("S: * ${_}"));
    // A text-only wildcard line still matches everything it matched before.
    assert!(meaning("S: * ${_}", b"* OK [UNSEEN 1] x\r\n"));
    assert!(meaning("S: * ${_}", b"* 1 FETCH (FLAGS (\\Seen))\r\n"));
    // A received line that does not decode is compared as text.
    assert!(meaning("S: * ${_}", b"* 1  EXISTS\r\n"));
    assert!(!meaning("S: * 1 EXISTS", b"* 1  EXISTS\r\n"));
    // A fallback line still matches as text: `(${_}\Seen${_})` finds the flag anywhere.
    let fallback = compile(r"S: * 1 FETCH (${_}\Seen${_})", MatchMode::default());
    assert!(
        fallback
            .matches(b"* 1 FETCH (FLAGS (\\Seen))\r\n", &Bindings::new())
            .is_ok()
    );
}

// --- Properties of the decoder ---

/// A canonical encoding of a decoded response, for comparing values without their spans.
fn encode(r: &Response, line: &[u8]) -> Vec<u8> {
    let mut out = match &r.tag {
        Tag::Untagged => b"*".to_vec(),
        Tag::Tagged(t) => t.clone(),
        Tag::Continuation => b"+".to_vec(),
    };
    match &r.body {
        Body::Data(tokens) => {
            for t in tokens {
                out.push(b' ');
                encode_value(&t.value, &mut out);
            }
        }
        Body::Status { status, code, text } => {
            if let Some(s) = status {
                out.push(b' ');
                encode_value(&s.value, &mut out);
            }
            if let Some(code) = code {
                out.extend_from_slice(b" [");
                for (i, t) in code.tokens.iter().enumerate() {
                    if i > 0 {
                        out.push(b' ');
                    }
                    encode_value(&t.value, &mut out);
                }
                out.push(b']');
            }
            out.extend_from_slice(&line[text.clone()]);
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

fn encode_value(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Atom(a) => out.extend_from_slice(a),
        Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::Nil => out.extend_from_slice(b"NIL"),
        Value::String(s) => {
            out.extend_from_slice(format!("{{{}}}\r\n", s.len()).as_bytes());
            out.extend_from_slice(s);
        }
        Value::List(items) => {
            out.push(b'(');
            for (i, t) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                encode_value(&t.value, out);
            }
            out.push(b')');
        }
    }
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    let leaf = prop_oneof![
        "[A-Za-z\\\\][A-Za-z0-9.\\-]{0,6}".prop_map(String::into_bytes),
        (0u64..100_000).prop_map(|n| n.to_string().into_bytes()),
        Just(b"NIL".to_vec()),
        "[ -!#-\\[\\]-~]{0,8}".prop_map(|s| format!("\"{s}\"").into_bytes()),
        prop::collection::vec(any::<u8>(), 0..8).prop_map(|d| {
            let mut out = format!("{{{}}}\r\n", d.len()).into_bytes();
            out.extend(d);
            out
        }),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop::collection::vec(inner, 0..4).prop_map(|items| {
            let mut out = b"(".to_vec();
            out.extend(items.join(&b' '));
            out.push(b')');
            out
        })
    })
}

/// A response line in the grammar the decoder reads.
fn response_line() -> impl Strategy<Value = Vec<u8>> {
    let data = prop::collection::vec(value(), 1..5).prop_map(|vs| {
        let mut out = b"* 1 FETCH ".to_vec();
        out.extend(vs.join(&b' '));
        out
    });
    let status =
        ("[A-Z][A-Z0-9]{0,3}", prop::option::of(value()), "[a-z ]{0,12}").prop_map(|(tag, code, text)| {
            let mut out = format!("{tag} OK").into_bytes();
            if let Some(code) = code {
                out.extend_from_slice(b" [X ");
                out.extend(code);
                out.push(b']');
            }
            out.extend_from_slice(format!(" {text}").as_bytes());
            out
        });
    prop_oneof![data, status].prop_map(|mut line| {
        line.extend_from_slice(b"\r\n");
        line
    })
}

proptest! {
    #[test]
    fn decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode(&bytes);
    }

    #[test]
    fn matching_never_panics(
        line in prop_oneof![response_line(), prop::collection::vec(any::<u8>(), 0..80)],
        which in 0usize..6,
    ) {
        let text = [
            r"S: * 1 FETCH (${_}FLAGS (\Seen ${_})${_})",
            "S: * ${n:num} FETCH (UID ${n} BODY[]<0> \"x\")",
            "S: A ${_:atom} [X ${_}] ${_}",
            "S: * CAPABILITY IMAP4rev2 ${_}",
            "S: * STATUS ${_}x${_} (MESSAGES 1)",
            "S: * ${_}",
        ][which];
        let pattern = compile(text, MatchMode::default());
        let _ = pattern.matches(&line, &bindings(&[("uid", "2")]));
    }

    #[test]
    fn decode_round_trips(line in response_line()) {
        let r = decode(&line).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        let canonical = encode(&r, &line);
        let again = decode(&canonical).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        prop_assert_eq!(encode(&again, &canonical), canonical);
    }

    #[test]
    fn splitting_the_stream_changes_nothing(
        lines in prop::collection::vec(response_line(), 1..4),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let stream: Vec<u8> = lines.concat();
        let whole: Vec<Vec<u8>> = lines
            .iter()
            .map(|l| decode(l).map(|r| encode(&r, l)).unwrap_or_default())
            .collect();
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
        cuts.push(stream.len());
        cuts.sort_unstable();
        let mut buf = Vec::new();
        let mut got = Vec::new();
        let mut from = 0;
        for cut in cuts {
            buf.extend_from_slice(&stream[from..cut]);
            from = cut;
            while let Frame::Line(n) = next_line(&buf, Family::Imap, 1 << 20) {
                let line: Vec<u8> = buf.drain(..n).collect();
                got.push(decode(&line).map(|r| encode(&r, &line)).unwrap_or_default());
            }
        }
        prop_assert_eq!(got, whole);
    }
}

#[test]
fn a_string_capture_takes_a_literal_by_value_and_compares_later_strings_with_it() {
    let fetch = compile("S: * 1 FETCH (BODY[] ${body:string})", MatchMode::default());
    let m = fetch
        .matches(b"* 1 FETCH (BODY[] {8}\r\nab\r\ncd\r\n)\r\n", &Bindings::new())
        .expect("a literal is a string");
    assert_eq!(m.bound.get("body").map(Vec::as_slice), Some(&b"ab\r\ncd\r\n"[..]));
    // Later, the same content in any encoding matches the back-reference; other content not.
    // (`body` is declared in the helper's `vars:` so the line parses alone; the capture's
    // value is what counts.)
    let again = compile("S: * 2 FETCH (BODY[] ${body})", MatchMode::default());
    assert!(
        again
            .matches(b"* 2 FETCH (BODY[] {8}\r\nab\r\ncd\r\n)\r\n", &m.bound)
            .is_ok()
    );
    assert!(
        again
            .matches(b"* 2 FETCH (BODY[] {8}\r\nab\r\nce\r\n)\r\n", &m.bound)
            .is_err()
    );
    // The empty string and an atom are strings too; NIL and lists are not.
    assert!(
        fetch
            .matches(b"* 1 FETCH (BODY[] \"\")\r\n", &Bindings::new())
            .is_ok()
    );
    assert!(
        fetch
            .matches(b"* 1 FETCH (BODY[] abc)\r\n", &Bindings::new())
            .is_ok()
    );
    assert!(
        fetch
            .matches(b"* 1 FETCH (BODY[] NIL)\r\n", &Bindings::new())
            .is_err()
    );
    assert!(
        fetch
            .matches(b"* 1 FETCH (BODY[] (a b))\r\n", &Bindings::new())
            .is_err()
    );
}

#[test]
fn mailbox_names_are_astrings_with_brackets() {
    // RFC 9051 §9: `mailbox = "INBOX" / astring`, and ASTRING-CHAR includes `]`; a `[` that
    // opens no section is an ATOM-CHAR. Dovecot sends such names unquoted.
    for line in [
        &b"* LIST (\\HasNoChildren) \".\" box]y[\r\n"[..],
        b"* LIST () \"/\" [Gmail]/Sent\r\n",
        b"* STATUS a[list]x (MESSAGES 2)\r\n",
        b"* LIST () \"/\" a]\r\n",
    ] {
        assert!(decode(line).is_ok(), "{}", String::from_utf8_lossy(line));
    }
    assert!(meaning(
        r#"S: * LIST (${_}) ${_} "box]y[""#,
        b"* LIST (\\HasNoChildren) \".\" box]y[\r\n"
    ));
    assert!(meaning(
        r#"S: * LIST () "/" [Gmail]/Sent"#,
        b"* LIST () \"/\" \"[Gmail]/Sent\"\r\n"
    ));
    assert!(!meaning(
        r#"S: * LIST () "/" "box]y[""#,
        b"* LIST () \"/\" box]y\r\n"
    ));
    // In a response code `]` still ends the code.
    assert!(meaning(
        "S: A1 OK [UIDNEXT 5] done",
        b"A1 OK [UIDNEXT 5] done\r\n"
    ));
}
