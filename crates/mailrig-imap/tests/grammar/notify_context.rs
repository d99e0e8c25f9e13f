//! NOTIFY (RFC 5465 §8) and CONTEXT=SEARCH/SORT (RFC 5267 §5): the command forms each
//! production allows or does not, and the response shapes they add (`mailbox-list` with
//! `OLDNAME`, `esearch-response` with `ADDTO`, `REMOVEFROM` and `PARTIAL`), checked with
//! `responses.rs` because imap-codec decodes neither.

use mailrig_imap::{Config, Session};
use mailrig_store::Store;

use crate::responses;
use crate::{accepted, rejected, say, session, status, store};

/// `notify = "NOTIFY" SP (notify-set / notify-none)`, `notify-set = "SET" [status-indicator]
/// SP event-groups`, `event-group = "(" filter-mailboxes SP events ")"`, `events = ("(" event
/// *(SP event) ")") / "NONE"`, `one-or-more-mailbox = mailbox / many-mailboxes`,
/// `many-mailboxes = "(" mailbox *(SP mailbox) ")"`, `event-ext = atom` (RFC 5465 §8).
#[test]
fn notify_command_forms() {
    for command in [
        "NOTIFY NONE",
        "notify none",
        "NOTIFY SET (personal NONE)",
        "NOTIFY SET STATUS (inboxes (MessageNew MessageExpunge FlagChange))",
        "Notify Set (Subscribed (SubscriptionChange)) (PERSONAL (mailboxname))",
        "NOTIFY SET (selected (MessageNew (UID BODY.PEEK[HEADER.FIELDS (FROM)]) MessageExpunge))",
        "NOTIFY SET (selected-delayed (MessageNew MessageExpunge)) (subtree Lists (MailboxName))",
        "NOTIFY SET (subtree (Lists \"a b\") (MessageNew MessageExpunge))",
        "NOTIFY SET (mailboxes INBOX (MailboxName)) (mailboxes (\"Sent\" {5+}\r\nTrash) NONE)",
        // Any atom is an event-ext: refused with NO [BADEVENT], not BAD (§3.1).
        "NOTIFY SET (personal (Teleport))",
    ] {
        accepted(command);
    }
    for command in [
        "NOTIFY",
        "NOTIFY SET",
        "NOTIFY SET STATUS",
        "NOTIFY NONE (personal NONE)",
        "NOTIFY SET personal (MailboxName)",
        "NOTIFY SET (personal MailboxName)",
        "NOTIFY SET (personal ())",
        "NOTIFY SET (personal)",
        "NOTIFY SET (mailboxes () (MailboxName))",
        "NOTIFY SET (mailboxes (MailboxName))",
        "NOTIFY SET (personal NONE) x",
        "NOTIFY SET (personal (MailboxName) NONE)",
        "NOTIFY SET (everything (MailboxName))",
        "NOTIFY SET (selected (MessageNew (BOGUS) MessageExpunge))",
        "NOTIFY SET (personal (\"MailboxName\"))",
    ] {
        rejected(command);
    }
}

/// `search-return-opt =/ modifier-context / modifier-update / modifier-partial`,
/// `modifier-partial = "PARTIAL" SP partial-range`, `partial-range = nz-number ":"
/// nz-number` (RFC 5267 §5; RFC 9394's negative ranges are not offered), for SEARCH and SORT.
#[test]
fn context_return_options() {
    for command in [
        "SEARCH RETURN (PARTIAL 1:2) ALL",
        "SEARCH RETURN (PARTIAL 3:1) ALL",
        "SEARCH RETURN (partial 1:4294967295) ALL",
        "UID SEARCH RETURN (UPDATE) ALL",
        "SEARCH RETURN (UPDATE COUNT MIN MAX) UNSEEN",
        "SEARCH RETURN (CONTEXT) ALL",
        "SEARCH RETURN (CONTEXT UPDATE PARTIAL 1:1) ALL",
        "SORT RETURN (PARTIAL 1:3) (SUBJECT) UTF-8 ALL",
        "UID SORT RETURN (UPDATE ALL) (REVERSE SIZE) UTF-8 ALL",
    ] {
        accepted(command);
    }
    for command in [
        "SEARCH RETURN (PARTIAL 0:1) ALL",
        "SEARCH RETURN (PARTIAL 1:*) ALL",
        "SEARCH RETURN (PARTIAL 1) ALL",
        "SEARCH RETURN (PARTIAL) ALL",
        "SEARCH RETURN (PARTIAL 1:2 PARTIAL 1:2) ALL",
        "SEARCH RETURN (PARTIAL 1:2 ALL) ALL",
        "SEARCH RETURN (PARTIAL -1:-2) ALL",
        "SEARCH RETURN (PARTIAL 1:2,3:4) ALL",
        "SEARCH RETURN (PARTIAL (1:2)) ALL",
        "SEARCH RETURN (UPDATE=1) ALL",
        "SORT RETURN (PARTIAL 0:1) (SUBJECT) UTF-8 ALL",
    ] {
        rejected(command);
    }
}

/// `cancelupdate = "CANCELUPDATE" 1*(SP quoted)` (RFC 5267 §5): quoted tags, at least one.
#[test]
fn cancelupdate_forms() {
    let mut s = session(Config::default(), true);
    say(
        &mut s,
        b"u1 SEARCH RETURN (UPDATE) ALL\r\nu2 SEARCH RETURN (UPDATE) SEEN\r\n",
    );
    let out = say(&mut s, b"t CANCELUPDATE \"u1\" \"u2\"\r\n");
    assert_eq!(status(&out, "t"), "OK", "{out}");
    for command in [
        &b"t CANCELUPDATE\r\n"[..],
        b"t CANCELUPDATE u1\r\n",
        b"t CANCELUPDATE (\"u1\")\r\n",
        b"t CANCELUPDATE NIL\r\n",
    ] {
        let out = say(&mut s, command);
        assert_eq!(
            status(&out, "t"),
            "BAD",
            "{}: {out}",
            String::from_utf8_lossy(command)
        );
    }
}

/// Every `* ESEARCH` that CONTEXT makes (PARTIAL answers, the first answer of an UPDATE
/// search, ADDTO and REMOVEFROM updates for SEARCH and SORT) is an `esearch-response` (RFC
/// 4731 §3.1 with RFC 5267 §5's `ret-data-partial`, `ret-data-addto`, `ret-data-removefrom`).
#[test]
fn context_esearch_responses_match_their_grammar() {
    let store = store();
    let (mut a, mut b) = (selected(&store), selected(&store));
    let mut out = say(
        &mut a,
        b"p1 SEARCH RETURN (PARTIAL 1:2) ALL\r\np2 UID SEARCH RETURN (PARTIAL 7:9) ALL\r\n\
          p3 SORT RETURN (PARTIAL 3:1 COUNT) (REVERSE SIZE) UTF-8 ALL\r\n\
          u1 UID SEARCH RETURN (UPDATE COUNT) UNSEEN\r\nu2 SEARCH RETURN (UPDATE) ALL\r\n\
          u3 SORT RETURN (UPDATE MIN) (SIZE) UTF-8 ALL\r\n",
    );
    say(
        &mut b,
        b"b1 STORE 1 -FLAGS.SILENT (\\Seen)\r\nb2 STORE 2 +FLAGS.SILENT (\\Seen)\r\n",
    );
    say(&mut b, b"b3 APPEND INBOX {12+}\r\nSubject: x\r\n\r\n");
    out += &say(&mut a, b"n1 NOOP\r\n");
    say(
        &mut b,
        b"b4 STORE 1,3 +FLAGS.SILENT (\\Deleted)\r\nb5 EXPUNGE\r\n",
    );
    out += &say(&mut a, b"n2 NOOP\r\n");
    let lines: Vec<&str> = out.split("\r\n").filter(|l| l.starts_with("* ESEARCH")).collect();
    for line in &lines {
        responses::esearch(line).unwrap_or_else(|e| panic!("{e}\n{out}"));
    }
    for form in [" PARTIAL (", " ADDTO (", " REMOVEFROM (", " UID ", " COUNT "] {
        assert!(lines.iter().any(|l| l.contains(form)), "no {form:?} in {out}");
    }
}

/// NOTIFY's LIST responses (RFC 5465 §5.4, §5.5: created, renamed with `OLDNAME`, subscribed,
/// deleted, RENAME INBOX) are `mailbox-list`s, the rename with RFC 5258's
/// `mbox-list-extended`; its STATUS responses go through imap-codec in `codec_oracle.rs`.
#[test]
fn notify_list_responses_match_their_grammar() {
    let store = store();
    let (mut n, mut o) = (selected(&store), selected(&store));
    let out = say(
        &mut n,
        b"1 NOTIFY SET (personal (MailboxName SubscriptionChange))\r\n",
    );
    assert_eq!(status(&out, "1"), "OK", "{out}");
    say(
        &mut o,
        b"o1 CREATE \"Work/a b\"\r\no2 SUBSCRIBE \"Work/a b\"\r\no3 RENAME \"Work/a b\" Work/c\r\n\
          o4 UNSUBSCRIBE Work/c\r\no5 DELETE Work/c\r\no6 RENAME INBOX \"Old \\\"one\\\"\"\r\n",
    );
    let out = say(&mut n, b"2 NOOP\r\n");
    let lines: Vec<&str> = out.split("\r\n").filter(|l| l.starts_with("* LIST")).collect();
    assert!(lines.len() >= 7, "{out}");
    for line in &lines {
        responses::list(line).unwrap_or_else(|e| panic!("{e}\n{out}"));
    }
    let renames = lines.iter().filter(|l| l.contains("(\"OLDNAME\" (")).count();
    assert_eq!(renames, 2, "{out}");
}

/// The recognizer accepts the RFCs' own examples and refuses each broken form, so the two
/// tests above can fail.
#[test]
fn the_response_recognizer_refuses_broken_forms() {
    for good in [
        "* ESEARCH (TAG \"A285\") UID MIN 7 MAX 3800",
        "* ESEARCH (TAG \"a\") ALL 1:3,5 COUNT 4",
        "* ESEARCH (TAG \"B01\") UID ADDTO (0 32768:32769)",
        "* ESEARCH (TAG \"B01\") ADDTO (1 2 3 4:5) REMOVEFROM (0 7)",
        "* ESEARCH (TAG \"A04\") UID PARTIAL (1:100 200:250,23764)",
        "* ESEARCH (TAG \"c\") PARTIAL (10:12 NIL)",
        "* ESEARCH",
    ] {
        responses::esearch(good).unwrap_or_else(|e| panic!("{e}"));
    }
    for bad in [
        "* ESEARCH (TAG \"a\") ADDTO 0 4",
        "* ESEARCH (TAG \"a\") ADDTO (0)",
        "* ESEARCH (TAG \"a\") ADDTO (0 4 1)",
        "* ESEARCH (TAG \"a\") REMOVEFROM (0 1) ",
        "* ESEARCH (TAG \"a\") PARTIAL (1:2)",
        "* ESEARCH (TAG \"a\") PARTIAL (0:2 NIL)",
        "* ESEARCH (TAG \"a\") PARTIAL 1:2 NIL",
        "* ESEARCH (TAG \"a\") UID COUNT",
        "* ESEARCH (TAG \"a\") ALL 0:3",
        "* ESEARCH (TAG \"a\") NEWEST 1",
        "* ESEARCH (TAG \"a) COUNT 1",
    ] {
        assert!(responses::esearch(bad).is_err(), "accepted {bad:?}");
    }
    for good in [
        "* LIST () \"/\" \"NewMailbox\" (\"OLDNAME\" (\"OldMailbox\"))",
        "* LIST (\\NonExistent) \".\" \"INBOX.DeletedMailbox\"",
        "* LIST (\\Subscribed) \"/\" SubscribedMailbox",
        "* LIST () \"/\" \"Foo\" (\"CHILDINFO\" (\"SUBSCRIBED\"))",
        "* LIST (\\Noselect) NIL \"\"",
    ] {
        responses::list(good).unwrap_or_else(|e| panic!("{e}"));
    }
    for bad in [
        "* LIST (\\NonExistent) \"/\" \"Work/b\" (\"OLDNAME\" \"Work/a\")",
        "* LIST (\\NonExistent) \"/\" \"Work/b\" (\"OLDNAME\" (\"Work/a\")",
        "* LIST (\\NonExistent) \"/\" \"Work/b\" (\"OLDNAME\" (\"Work/a\") )",
        "* LIST (\\NonExistent) \"/\" \"Work/b\" (\"OLDNAME\" (\"Work/a\" \"x\"))",
        "* LIST (\\NonExistent) \"/\" \"Work/b\" (\"NEWNAME\" (\"Work/a\"))",
        "* LIST (\\HasNoChildren)  \"/\" \"x\"",
        "* LIST (HasNoChildren) \"/\" \"x\"",
        "* LIST (\\HasNoChildren) \"/\" \"x",
        "* LIST (\\HasNoChildren) \"/\" x y",
    ] {
        assert!(responses::list(bad).is_err(), "accepted {bad:?}");
    }
}

/// A session on `store` logged in as alice with INBOX selected.
fn selected(store: &Store) -> Session {
    let mut session = Session::new(Config::default(), store.clone());
    say(&mut session, b"");
    let out = say(&mut session, b"a LOGIN alice secret\r\nb SELECT INBOX\r\n");
    assert_eq!(status(&out, "b"), "OK", "{out}");
    session
}
