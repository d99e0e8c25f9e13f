//! SORT and UID SORT (RFC 5256 §3): each sort key, REVERSE, several criteria, ties in
//! sequence order, a search narrowing the set, UIDs, charsets, and bad criteria.

use super::*;
use crate::defect::{Defect, Defects};

/// A session with INBOX selected holding `messages` (raw text with `\n` line ends, internal
/// date), after one message appended first and expunged, so UIDs are sequence numbers + 1.
pub(super) fn selected_with(messages: &[(&str, i64)], extensions: Extensions) -> Session {
    let store = store();
    let mut all = vec![("Subject: gone\n\nx\n", 0)];
    all.extend_from_slice(messages);
    for (i, (text, date)) in all.iter().enumerate() {
        let raw = text.replace('\n', "\r\n");
        let flags = if i == 0 { "\\Deleted" } else { "" };
        let flags = Flags::parse(flags.split_whitespace()).expect("a system flag");
        store
            .append("alice", "INBOX", raw.as_bytes(), flags, *date)
            .expect("INBOX exists");
    }
    let config = Config {
        extensions,
        ..Config::default()
    };
    let mut session = Session::new(config, store);
    drain(&mut session);
    let text = exchange(
        &mut session,
        b"l LOGIN alice secret\r\ns SELECT INBOX\r\nx EXPUNGE\r\n",
    );
    assert!(
        text.ends_with("* 1 EXPUNGE\r\nx OK EXPUNGE completed\r\n"),
        "{text}"
    );
    session
}

/// Four messages whose keys order them differently (comments give each key's value).
fn four() -> Session {
    let body = |n: usize| "x".repeat(n * 1000);
    let messages = [
        // DATE Jun 3 10:00Z, SUBJECT BETA, FROM CAROL, TO ZED, no CC, ARRIVAL 300, SIZE 2nd
        format!(
            "Date: Mon, 3 Jun 2024 10:00:00 +0000\nSubject: Re: beta\nFrom: carol@x.test\nTo: zed@x.test\n\n{}\n",
            body(2)
        ),
        // DATE Jun 2, SUBJECT ALPHA, FROM BOB, TO AMY, CC YAN, ARRIVAL 100, SIZE 4th
        format!(
            "Date: Sun, 2 Jun 2024 10:00:00 +0000\nSubject: alpha\nFrom: Bob <bob@x.test>\nTo: amy@x.test\nCc: yan@x.test\n\n{}\n",
            body(4)
        ),
        // DATE Jun 3 13:00Z (08:00 -0500), SUBJECT ALPHA, FROM ALICE, TO BOB, ARRIVAL 200, SIZE 1st
        format!(
            "Date: Mon, 3 Jun 2024 08:00:00 -0500\nSubject: [list] Fwd: Alpha (fwd)\nFrom: alice@x.test\nTo: bob@x.test\n\n{}\n",
            body(1)
        ),
        // no Date (the internal date, 1970), SUBJECT BETA, FROM ADAM, no TO, ARRIVAL 50, SIZE 3rd
        format!("Subject: BETA\nFrom: \"Zed\" <ADAM@x.test>\n\n{}\n", body(3)),
    ];
    let dates = [300, 100, 200, 50];
    let messages: Vec<(&str, i64)> = messages.iter().map(String::as_str).zip(dates).collect();
    selected_with(&messages, Extensions::default())
}

/// RFC 5256 §3: each key alone and reversed, two criteria, a narrowing search, UID SORT.
#[test]
fn every_sort_key() {
    let mut session = four();
    let cases = [
        ("SORT (DATE) UTF-8 ALL", "* SORT 4 2 1 3"),
        ("SORT (ARRIVAL) US-ASCII ALL", "* SORT 4 2 3 1"),
        ("SORT (SUBJECT) UTF-8 ALL", "* SORT 2 3 1 4"),
        ("SORT (REVERSE SUBJECT) UTF-8 ALL", "* SORT 1 4 2 3"),
        ("SORT (SUBJECT REVERSE DATE) UTF-8 ALL", "* SORT 3 2 1 4"),
        ("SORT (FROM) UTF-8 ALL", "* SORT 4 3 2 1"),
        ("SORT (TO) UTF-8 ALL", "* SORT 4 2 3 1"),
        ("SORT (CC) UTF-8 ALL", "* SORT 1 3 4 2"),
        ("SORT (SIZE) UTF-8 ALL", "* SORT 3 1 4 2"),
        ("SORT (REVERSE SIZE) UTF-8 ALL", "* SORT 2 4 1 3"),
        ("SORT (DATE) UTF-8 SUBJECT alpha", "* SORT 2 3"),
        ("UID SORT (DATE) UTF-8 ALL", "* SORT 5 3 2 4"),
        ("SORT (DATE) UTF-8 DELETED", "* SORT"),
    ];
    for (command, expected) in cases {
        let text = exchange(&mut session, format!("t {command}\r\n").as_bytes());
        let verb = command.split(" (").next().unwrap_or_default();
        assert_eq!(
            text,
            format!("{expected}\r\nt OK {verb} completed\r\n"),
            "{command}"
        );
    }
}

/// Unknown charsets are `NO [BADCHARSET]`, malformed criteria `BAD`; nothing is sorted.
#[test]
fn bad_sorts() {
    let mut session = four();
    let text = exchange(
        &mut session,
        b"a SORT (DATE) KOI8-R ALL\r\nb SORT (COLOUR) UTF-8 ALL\r\nc SORT DATE UTF-8 ALL\r\n\
          d SORT (REVERSE) UTF-8 ALL\r\ne SORT () UTF-8 ALL\r\nf SORT (DATE) UTF-8\r\n",
    );
    assert_eq!(
        text,
        "a NO [BADCHARSET (UTF-8 US-ASCII)] unsupported charset\r\n\
         b BAD unknown sort criterion COLOUR\r\nc BAD invalid arguments\r\n\
         d BAD invalid arguments\r\ne BAD invalid arguments\r\nf BAD invalid arguments\r\n"
    );
}

/// SORT needs a selected mailbox.
#[test]
fn sort_needs_a_selection() {
    let store = store();
    let mut session = logged_in(&store);
    let text = exchange(&mut session, b"a SORT (DATE) UTF-8 ALL\r\n");
    assert_eq!(text, "a BAD no mailbox selected\r\n");
}

/// The planted defect sorts by the whole subject, and this test's expectation breaks.
#[test]
fn base_subject_defect_is_visible() {
    let mut session = four();
    session.config.defects = Defects::from(Defect::SortBaseSubjectIgnored);
    let text = exchange(&mut session, b"t SORT (SUBJECT) UTF-8 ALL\r\n");
    assert_ne!(text, "* SORT 2 3 1 4\r\nt OK SORT completed\r\n");
}

/// ESORT (RFC 5267 §3.1): `SORT RETURN (...)` answers with ESEARCH, MIN and MAX the first
/// and last in sort order, ALL in sort order (ascending runs as ranges), COUNT; an empty
/// result has COUNT 0 only; `RETURN ()` means ALL.
#[test]
fn esort_returns() {
    let mut session = four();
    let text = exchange(
        &mut session,
        b"a SORT RETURN (MIN MAX COUNT) (DATE) UTF-8 ALL\r\nb SORT RETURN (ALL) (DATE) UTF-8 ALL\r\n\
          c UID SORT RETURN () (REVERSE ARRIVAL) UTF-8 ALL\r\nd SORT RETURN (MIN COUNT) (DATE) UTF-8 DELETED\r\n\
          e SORT RETURN (ALL) (SIZE) UTF-8 ALL\r\n",
    );
    assert_eq!(
        text,
        "* ESEARCH (TAG \"a\") MIN 4 MAX 3 COUNT 4\r\na OK SORT completed\r\n\
         * ESEARCH (TAG \"b\") ALL 4,2,1,3\r\nb OK SORT completed\r\n\
         * ESEARCH (TAG \"c\") UID ALL 2,4,3,5\r\nc OK UID SORT completed\r\n\
         * ESEARCH (TAG \"d\") COUNT 0\r\nd OK SORT completed\r\n\
         * ESEARCH (TAG \"e\") ALL 3,1,4,2\r\ne OK SORT completed\r\n"
    );
    // The planted defect reports the set in ascending order.
    session.config.defects = Defects::from(Defect::EsortAllAscending);
    let text = exchange(&mut session, b"f SORT RETURN (ALL) (DATE) UTF-8 ALL\r\n");
    assert_eq!(text, "* ESEARCH (TAG \"f\") ALL 1:4\r\nf OK SORT completed\r\n");
}

/// With ESORT off, RETURN is no sort criteria list: `BAD`, and CAPABILITY leaves it out.
#[test]
fn esort_switched_off() {
    let mut session = selected_with(
        &[("Subject: a\n\nx\n", 0)],
        Extensions {
            esort: false,
            ..Extensions::default()
        },
    );
    let text = exchange(
        &mut session,
        b"c CAPABILITY\r\nd SORT RETURN (ALL) (DATE) UTF-8 ALL\r\n",
    );
    assert!(!text.contains("ESORT"), "{text}");
    assert!(text.ends_with("d BAD invalid arguments\r\n"), "{text}");
}
