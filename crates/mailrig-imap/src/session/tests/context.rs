//! CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 §4): PARTIAL results, searches kept updated
//! while another session appends, stores and expunges, CANCELUPDATE, and the refusals.

use super::*;
use crate::Defects;

/// A store whose INBOX holds `n` messages (subjects `1`..`n`, sizes growing with the
/// number), message 2 `\Seen`.
fn inbox(n: usize) -> Store {
    let store = store();
    for i in 1..=n {
        let flags = if i == 2 { "\\Seen" } else { "" };
        let message = format!("Subject: {i}\r\n\r\n{}\r\n", "x".repeat(i));
        let flags = Flags::parse(flags.split_whitespace()).expect("a system flag");
        store
            .append("alice", "INBOX", message.as_bytes(), flags, 0)
            .expect("INBOX exists");
    }
    store
}

/// An IMAP4rev2 session (no `\Recent` to follow) with `extensions` and INBOX selected.
fn selected_with(store: &Store, extensions: Extensions) -> Session {
    let config = Config {
        extensions,
        versions: Versions::Rev2,
        ..Config::default()
    };
    let mut session = Session::new(config, store.clone());
    drain(&mut session);
    let text = exchange(&mut session, b"l LOGIN alice secret\r\ns SELECT INBOX\r\n");
    assert!(text.ends_with("s OK [READ-WRITE] SELECT completed\r\n"), "{text}");
    session
}

/// RFC 5267 §4.4: the results at positions m..n of the requested order, the range echoed as
/// given, `NIL` past the end; SORT's PARTIAL in sort order.
#[test]
fn partial_results() {
    let store = inbox(5);
    let mut session = selected_with(&store, Extensions::default());
    let text = exchange(
        &mut session,
        b"a SEARCH RETURN (PARTIAL 2:3) ALL\r\nb UID SEARCH RETURN (COUNT PARTIAL 4:9) ALL\r\n\
          c SEARCH RETURN (PARTIAL 10:12) ALL\r\nd SEARCH RETURN (PARTIAL 3:2) UNSEEN\r\n\
          e SORT RETURN (PARTIAL 1:2) (REVERSE SIZE) UTF-8 ALL\r\n\
          f SEARCH RETURN (CONTEXT) ALL\r\ng SEARCH RETURN (CONTEXT COUNT) SEEN\r\n",
    );
    assert_eq!(
        text,
        "* ESEARCH (TAG \"a\") PARTIAL (2:3 2:3)\r\na OK SEARCH completed\r\n\
         * ESEARCH (TAG \"b\") UID COUNT 5 PARTIAL (4:9 4:5)\r\nb OK UID SEARCH completed\r\n\
         * ESEARCH (TAG \"c\") PARTIAL (10:12 NIL)\r\nc OK SEARCH completed\r\n\
         * ESEARCH (TAG \"d\") PARTIAL (3:2 3:4)\r\nd OK SEARCH completed\r\n\
         * ESEARCH (TAG \"e\") PARTIAL (1:2 5,4)\r\ne OK SORT completed\r\n\
         * ESEARCH (TAG \"f\") ALL 1:5\r\nf OK SEARCH completed\r\n\
         * ESEARCH (TAG \"g\") COUNT 1\r\ng OK SEARCH completed\r\n"
    );
}

/// RFC 5267 §5 `partial-range = nz-number ":" nz-number`, and §4.4's "either one PARTIAL,
/// one ALL, or neither".
#[test]
fn bad_partial_ranges() {
    let store = inbox(2);
    let mut session = selected_with(&store, Extensions::default());
    for options in [
        "PARTIAL 0:2",
        "PARTIAL 1:*",
        "PARTIAL 1",
        "PARTIAL",
        "PARTIAL -1:-2",
        "PARTIAL 01:2",
        "PARTIAL 1:2 PARTIAL 3:4",
        "PARTIAL 1:2 ALL",
        "ALL PARTIAL 1:2",
    ] {
        let text = exchange(
            &mut session,
            format!("t SEARCH RETURN ({options}) ALL\r\n").as_bytes(),
        );
        assert!(text.starts_with("t BAD "), "{options}: {text}");
    }
    let text = exchange(&mut session, b"t SORT RETURN (PARTIAL 0:1) (SIZE) UTF-8 ALL\r\n");
    assert!(text.starts_with("t BAD "), "{text}");
}

/// RFC 5267 §4.3, §4.3.3, §4.3.4 with UID SEARCH: b appends a match (ADDTO after EXISTS),
/// marks a result \Seen (REMOVEFROM with the FETCH), un-marks another (ADDTO) and expunges
/// a result (REMOVEFROM before the EXPUNGE); a's own STORE is followed too. Position 0 and
/// UIDs throughout.
#[test]
fn uid_search_kept_updated() {
    let store = inbox(3);
    let mut a = selected_with(&store, Extensions::default());
    let mut b = selected_with(&store, Extensions::default());
    let text = exchange(&mut a, b"u UID SEARCH RETURN (UPDATE COUNT) UNSEEN\r\n");
    assert_eq!(
        text,
        "* ESEARCH (TAG \"u\") UID COUNT 2\r\nu OK UID SEARCH completed\r\n"
    );
    exchange(&mut b, b"1 APPEND INBOX {12}\r\nSubject: 4\r\n\r\n");
    assert_eq!(
        exchange(&mut a, b"n1 NOOP\r\n"),
        "* 4 EXISTS\r\n* ESEARCH (TAG \"u\") UID ADDTO (0 4)\r\nn1 OK NOOP completed\r\n"
    );
    exchange(
        &mut b,
        b"2 STORE 1 +FLAGS.SILENT (\\Seen)\r\n3 STORE 2 -FLAGS.SILENT (\\Seen)\r\n",
    );
    assert_eq!(
        exchange(&mut a, b"n2 NOOP\r\n"),
        "* 1 FETCH (FLAGS (\\Seen) UID 1)\r\n* 2 FETCH (FLAGS () UID 2)\r\n\
         * ESEARCH (TAG \"u\") UID REMOVEFROM (0 1) ADDTO (0 2)\r\nn2 OK NOOP completed\r\n"
    );
    exchange(&mut b, b"4 STORE 3 +FLAGS.SILENT (\\Deleted)\r\n5 EXPUNGE\r\n");
    assert_eq!(
        exchange(&mut a, b"n3 NOOP\r\n"),
        "* 3 FETCH (FLAGS (\\Deleted) UID 3)\r\n\
         * ESEARCH (TAG \"u\") UID REMOVEFROM (0 3)\r\n* 3 EXPUNGE\r\nn3 OK NOOP completed\r\n"
    );
    assert_eq!(
        exchange(&mut a, b"s STORE 2 +FLAGS.SILENT (\\Seen)\r\n"),
        "* ESEARCH (TAG \"u\") UID REMOVEFROM (0 2)\r\ns OK STORE completed\r\n"
    );
    assert_eq!(exchange(&mut a, b"n4 NOOP\r\n"), "n4 OK NOOP completed\r\n");
}

/// A SEARCH (not UID) kept updated gives sequence numbers at the client's numbering: the
/// REMOVEFROM of an expunged result names it before its EXPUNGE, the ADDTO of a new message
/// comes after its EXISTS. A sequence set in the search names the messages it named when
/// the search was made (RFC 5267 §4.3: evaluated when the command is received).
#[test]
fn sequence_numbers_kept_updated() {
    let store = inbox(3);
    let mut a = selected_with(&store, Extensions::default());
    let mut b = selected_with(&store, Extensions::default());
    let text = exchange(
        &mut a,
        b"v SEARCH RETURN (UPDATE) UNSEEN\r\nw SEARCH RETURN (UPDATE ALL) 1:2\r\n",
    );
    assert_eq!(
        text,
        "* ESEARCH (TAG \"v\")\r\nv OK SEARCH completed\r\n\
         * ESEARCH (TAG \"w\") ALL 1:2\r\nw OK SEARCH completed\r\n"
    );
    exchange(&mut b, b"1 STORE 1 +FLAGS.SILENT (\\Deleted)\r\n2 EXPUNGE\r\n");
    assert_eq!(
        exchange(&mut a, b"n1 NOOP\r\n"),
        "* 1 FETCH (FLAGS (\\Deleted) UID 1)\r\n\
         * ESEARCH (TAG \"v\") REMOVEFROM (0 1)\r\n* ESEARCH (TAG \"w\") REMOVEFROM (0 1)\r\n\
         * 1 EXPUNGE\r\nn1 OK NOOP completed\r\n"
    );
    exchange(&mut b, b"3 APPEND INBOX {12}\r\nSubject: 4\r\n\r\n");
    assert_eq!(
        exchange(&mut a, b"n2 NOOP\r\n"),
        "* 3 EXISTS\r\n* ESEARCH (TAG \"v\") ADDTO (0 3)\r\nn2 OK NOOP completed\r\n"
    );
}

/// CONTEXT=SORT (RFC 5267 §4.3.3, §4.3.4): the context position is where the result goes in
/// sort order, and neighbours share a pair.
#[test]
fn sort_kept_updated_with_positions() {
    let store = inbox(3);
    let mut a = selected_with(&store, Extensions::default());
    let mut b = selected_with(&store, Extensions::default());
    let text = exchange(
        &mut a,
        b"u UID SORT RETURN (UPDATE ALL) (REVERSE SIZE) UTF-8 UNSEEN\r\n",
    );
    assert_eq!(
        text,
        "* ESEARCH (TAG \"u\") UID ALL 3,1\r\nu OK UID SORT completed\r\n"
    );
    // The largest message goes first, the smallest last.
    let text = exchange(
        &mut b,
        b"1 APPEND INBOX {26}\r\nSubject: 9\r\n\r\nxxxxxxxxxx\r\n\r\n2 APPEND INBOX {14}\r\nSubject: 0\r\n\r\n\r\n\
          3 APPEND INBOX {25}\r\nSubject: 8\r\n\r\nxxxxxxxxx\r\n\r\n",
    );
    assert!(
        text.contains("3 OK [APPENDUID 1 6] APPEND completed\r\n"),
        "{text}"
    );
    assert_eq!(
        exchange(&mut a, b"n1 NOOP\r\n"),
        "* 6 EXISTS\r\n* ESEARCH (TAG \"u\") UID ADDTO (1 4,6 5 5)\r\nn1 OK NOOP completed\r\n"
    );
    exchange(
        &mut b,
        b"4 STORE 3 +FLAGS.SILENT (\\Seen)\r\n5 STORE 6 +FLAGS.SILENT (\\Seen)\r\n",
    );
    assert_eq!(
        exchange(&mut a, b"n2 NOOP\r\n"),
        "* 3 FETCH (FLAGS (\\Seen) UID 3)\r\n* 6 FETCH (FLAGS (\\Seen) UID 6)\r\n\
         * ESEARCH (TAG \"u\") UID REMOVEFROM (2 6,3)\r\nn2 OK NOOP completed\r\n"
    );
    let text = exchange(&mut a, b"v UID SORT RETURN (ALL) (REVERSE SIZE) UTF-8 UNSEEN\r\n");
    assert_eq!(
        text,
        "* ESEARCH (TAG \"v\") UID ALL 4,1,5\r\nv OK UID SORT completed\r\n"
    );
}

/// RFC 5267 §4.3.5: CANCELUPDATE stops the updates and frees the tag; a tag that names no
/// kept search is `NO` (the RFC gives no answer; nothing is cancelled), an atom is `BAD`.
/// §4.3: reusing the tag of a kept search with UPDATE is `BAD`. Updates end with the
/// selection, and IDLE carries them.
#[test]
fn cancel_reuse_close_and_idle() {
    let store = inbox(1);
    let mut a = selected_with(&store, Extensions::default());
    let mut b = selected_with(&store, Extensions::default());
    let text = exchange(
        &mut a,
        b"u UID SEARCH RETURN (UPDATE) SEEN\r\nu UID SEARCH RETURN (UPDATE) ALL\r\n\
          c1 CANCELUPDATE \"u\" \"x\"\r\nc2 CANCELUPDATE u\r\nc3 CANCELUPDATE\r\n",
    );
    assert_eq!(
        text,
        "* ESEARCH (TAG \"u\") UID\r\nu OK UID SEARCH completed\r\n\
         u BAD tag u names a search kept updated\r\n\
         c1 NO no search x is kept updated\r\nc2 BAD invalid arguments\r\nc3 BAD invalid arguments\r\n"
    );
    // Still kept: IDLE brings b's change.
    exchange(&mut a, b"i IDLE\r\n");
    exchange(&mut b, b"1 STORE 1 +FLAGS.SILENT (\\Seen)\r\n");
    assert_eq!(
        drain(&mut a),
        "* 1 FETCH (FLAGS (\\Seen) UID 1)\r\n* ESEARCH (TAG \"u\") UID ADDTO (0 1)\r\n"
    );
    let text = exchange(
        &mut a,
        b"DONE\r\nc4 CANCELUPDATE \"u\"\r\nc5 CANCELUPDATE \"u\"\r\n",
    );
    assert_eq!(
        text,
        "i OK IDLE terminated\r\nc4 OK CANCELUPDATE completed\r\nc5 NO no search u is kept updated\r\n"
    );
    exchange(&mut b, b"2 STORE 1 -FLAGS.SILENT (\\Seen)\r\n");
    assert_eq!(
        exchange(&mut a, b"n1 NOOP\r\n"),
        "* 1 FETCH (FLAGS () UID 1)\r\nn1 OK NOOP completed\r\n"
    );
    // The tag is free again; a new SELECT ends the kept search.
    let text = exchange(
        &mut a,
        b"u UID SEARCH RETURN (UPDATE) SEEN\r\ns2 SELECT INBOX\r\n",
    );
    assert!(
        text.ends_with("s2 OK [READ-WRITE] SELECT completed\r\n"),
        "{text}"
    );
    exchange(&mut b, b"3 STORE 1 +FLAGS.SILENT (\\Seen)\r\n");
    assert_eq!(
        exchange(&mut a, b"n2 NOOP\r\n"),
        "* 1 FETCH (FLAGS (\\Seen) UID 1)\r\nn2 OK NOOP completed\r\n"
    );
    let text = exchange(&mut a, b"x CLOSE\r\nc6 CANCELUPDATE \"u\"\r\n");
    assert_eq!(text, "x OK CLOSE completed\r\nc6 BAD no mailbox selected\r\n");
}

/// RFC 5267 §4.3.1: past the limit of kept searches, the search is answered but not kept:
/// `* NO [NOUPDATE "tag"]`.
#[test]
fn too_many_kept_searches_get_noupdate() {
    let store = inbox(1);
    let mut a = selected_with(&store, Extensions::default());
    for i in 0..crate::context::MAX_KEPT {
        let text = exchange(
            &mut a,
            format!("k{i} SEARCH RETURN (UPDATE COUNT) ALL\r\n").as_bytes(),
        );
        assert!(text.ends_with(&format!("k{i} OK SEARCH completed\r\n")), "{text}");
        assert!(!text.contains("NOUPDATE"), "{text}");
    }
    assert_eq!(
        exchange(&mut a, b"z SEARCH RETURN (UPDATE COUNT) ALL\r\n"),
        "* ESEARCH (TAG \"z\") COUNT 1\r\n* NO [NOUPDATE \"z\"] too many searches kept updated\r\n\
         z OK SEARCH completed\r\n"
    );
    // Not kept: the tag can be used again, and CANCELUPDATE does not know it.
    let text = exchange(&mut a, b"c CANCELUPDATE \"z\"\r\nd CANCELUPDATE \"k0\"\r\n");
    assert_eq!(
        text,
        "c NO no search z is kept updated\r\nd OK CANCELUPDATE completed\r\n"
    );
    let text = exchange(&mut a, b"z SEARCH RETURN (UPDATE COUNT) ALL\r\n");
    assert_eq!(text, "* ESEARCH (TAG \"z\") COUNT 1\r\nz OK SEARCH completed\r\n");
}

/// Switched off: CONTEXT=SEARCH and CONTEXT=SORT are not listed, their RETURN options are
/// `BAD`, and CANCELUPDATE is an unknown command once both are off.
#[test]
fn switched_off() {
    let store = inbox(2);
    let off = Extensions {
        context_search: false,
        ..Extensions::default()
    };
    let mut a = selected_with(&store, off);
    let text = exchange(
        &mut a,
        b"c CAPABILITY\r\na SEARCH RETURN (UPDATE) ALL\r\nb SEARCH RETURN (PARTIAL 1:2) ALL\r\n\
          d SEARCH RETURN (CONTEXT) ALL\r\ne SORT RETURN (PARTIAL 1:1) (SIZE) UTF-8 ALL\r\n\
          f CANCELUPDATE \"a\"\r\n",
    );
    assert!(text.contains(" CONTEXT=SORT "), "{text}");
    assert!(!text.contains("CONTEXT=SEARCH"), "{text}");
    assert!(text.ends_with(
        "a BAD unsupported RETURN option UPDATE\r\nb BAD unsupported RETURN option PARTIAL\r\n\
         d BAD unsupported RETURN option CONTEXT\r\n* ESEARCH (TAG \"e\") PARTIAL (1:1 1)\r\ne OK SORT completed\r\n\
         f NO no search a is kept updated\r\n"
    ), "{text}");
    let off = Extensions {
        context_search: false,
        context_sort: false,
        ..Extensions::default()
    };
    let mut a = selected_with(&store, off);
    let text = exchange(
        &mut a,
        b"c CAPABILITY\r\ne SORT RETURN (UPDATE) (SIZE) UTF-8 ALL\r\nf CANCELUPDATE \"a\"\r\n",
    );
    assert!(!text.contains("CONTEXT="), "{text}");
    assert!(
        text.ends_with("e BAD unsupported RETURN option UPDATE\r\nf BAD unknown command\r\n"),
        "{text}"
    );
}

/// The planted defects `context-removefrom-missing` and `context-sort-position-off-by-one`
/// change exactly the updates the tests above pin: a result that stops matching is never
/// removed, and an ADDTO past the first position lands one place early.
#[test]
fn planted_defects_change_the_updates() {
    let store = inbox(3);
    let mut a = selected_with(&store, Extensions::default());
    a.config.defects = Defects::from(Defect::ContextRemovefromMissing);
    let mut b = selected_with(&store, Extensions::default());
    exchange(&mut a, b"u UID SEARCH RETURN (UPDATE) UNSEEN\r\n");
    exchange(
        &mut b,
        b"2 STORE 1 +FLAGS.SILENT (\\Seen)\r\n3 STORE 2 -FLAGS.SILENT (\\Seen)\r\n",
    );
    assert_eq!(
        exchange(&mut a, b"n NOOP\r\n"),
        "* 1 FETCH (FLAGS (\\Seen) UID 1)\r\n* 2 FETCH (FLAGS () UID 2)\r\n\
         * ESEARCH (TAG \"u\") UID ADDTO (0 2)\r\nn OK NOOP completed\r\n"
    );

    let store = inbox(3);
    let mut a = selected_with(&store, Extensions::default());
    a.config.defects = Defects::from(Defect::ContextSortPositionOffByOne);
    let mut b = selected_with(&store, Extensions::default());
    exchange(
        &mut a,
        b"u UID SORT RETURN (UPDATE) (REVERSE SIZE) UTF-8 UNSEEN\r\n",
    );
    exchange(
        &mut b,
        b"1 APPEND INBOX {26}\r\nSubject: 9\r\n\r\nxxxxxxxxxx\r\n\r\n2 APPEND INBOX {14}\r\nSubject: 0\r\n\r\n\r\n\
          3 APPEND INBOX {25}\r\nSubject: 8\r\n\r\nxxxxxxxxx\r\n\r\n",
    );
    assert_eq!(
        exchange(&mut a, b"n NOOP\r\n"),
        "* 6 EXISTS\r\n* ESEARCH (TAG \"u\") UID ADDTO (1 4,6 4 5)\r\nn OK NOOP completed\r\n"
    );
}
