//! IMAP4rev1 and IMAP4rev2 (RFC 9051 Appendix E): ENABLE IMAP4rev2, ESEARCH, SELECT's
//! responses, `\Recent` (RFC 3501 §2.3.2) and STATUS.

use super::*;

fn config(versions: Versions) -> Config {
    Config {
        versions,
        ..Config::default()
    }
}

fn deliver(store: &Store, count: usize) {
    for i in 0..count {
        store
            .deliver("alice", format!("Subject: {i}\r\n\r\nbody\r\n").into_bytes(), 0)
            .expect("INBOX exists");
    }
}

/// A session of `config` logged in as alice, its greeting and login drained.
fn login(store: &Store, config: Config) -> Session {
    let mut session = Session::new(config, store.clone());
    let text = exchange(&mut session, b"l LOGIN alice secret\r\n");
    assert!(text.contains("l OK [CAPABILITY"), "{text}");
    session
}

#[test]
fn rev2_only_from_the_first_command() {
    let store = store();
    deliver(&store, 3);
    let uidvalidity = store.status("alice", "INBOX").expect("INBOX").uidvalidity;
    let mut session = Session::new(config(Versions::Rev2), store.clone());
    let text = exchange(&mut session, b"a LOGIN alice secret\r\nb SELECT INBOX\r\n");
    assert!(
        text.starts_with("* OK [CAPABILITY IMAP4rev2 LITERAL+ SASL-IR "),
        "{text}"
    );
    // No RECENT, no UNSEEN code, and the mailbox's LIST line (RFC 9051 §6.3.2).
    let select = text.split_once("a OK ").map(|(_, rest)| rest).unwrap_or_default();
    assert_eq!(
        select.split_once("\r\n").map(|(_, rest)| rest),
        Some(
            format!(
                "* FLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft)\r\n* 3 EXISTS\r\n\
                 * OK [UIDVALIDITY {uidvalidity}] UIDs valid\r\n* OK [UIDNEXT 4] predicted next UID\r\n\
                 * OK [PERMANENTFLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft \\*)] limited\r\n\
                 * OK [MAILBOXID (M1)] Ok\r\n* LIST (\\HasNoChildren) \"/\" \"INBOX\"\r\nb OK [READ-WRITE] SELECT completed\r\n"
            )
            .as_str()
        )
    );
    let text = exchange(
        &mut session,
        b"c FETCH 1 FLAGS\r\nd STORE 2 +FLAGS.SILENT (\\Seen)\r\ne SEARCH UNSEEN\r\n\
          f UID SEARCH RETURN (MIN MAX COUNT) ALL\r\ng SEARCH RETURN () DELETED\r\n\
          h SEARCH RETURN (COUNT) DELETED\r\ni SEARCH RETURN (ALL) CHARSET UTF-8 SEEN\r\n\
          j SEARCH RETURN (SAVE) ALL\r\n",
    );
    assert_eq!(
        text,
        "* 1 FETCH (FLAGS ())\r\nc OK FETCH completed\r\nd OK STORE completed\r\n\
         * ESEARCH (TAG \"e\") ALL 1,3\r\ne OK SEARCH completed\r\n\
         * ESEARCH (TAG \"f\") UID MIN 1 MAX 3 COUNT 3\r\nf OK UID SEARCH completed\r\n\
         * ESEARCH (TAG \"g\")\r\ng OK SEARCH completed\r\n\
         * ESEARCH (TAG \"h\") COUNT 0\r\nh OK SEARCH completed\r\n\
         * ESEARCH (TAG \"i\") ALL 2\r\ni OK SEARCH completed\r\n\
         j BAD unsupported RETURN option SAVE\r\n"
    );
    deliver(&store, 2);
    assert_eq!(
        exchange(&mut session, b"k NOOP\r\nl SEARCH NOT SEEN\r\n"),
        "* 5 EXISTS\r\nk OK NOOP completed\r\n* ESEARCH (TAG \"l\") ALL 1,3:5\r\nl OK SEARCH completed\r\n"
    );
    // LSUB is gone from IMAP4rev2 but still answered.
    let text = exchange(&mut session, b"m LSUB \"\" Sent\r\n");
    assert_eq!(text, "* LSUB () \"/\" \"Sent\"\r\nm OK LSUB completed\r\n");
    // \Recent is gone (RFC 9051 Appendix E): its search keys and status item are refused.
    assert_eq!(
        exchange(
            &mut session,
            b"n SEARCH RECENT\r\no SEARCH OR NEW SEEN\r\np STATUS INBOX (RECENT)\r\n"
        ),
        "n BAD RECENT, NEW and OLD are not IMAP4rev2 search keys\r\n\
         o BAD RECENT, NEW and OLD are not IMAP4rev2 search keys\r\n\
         p BAD unknown STATUS item RECENT\r\n"
    );
}

#[test]
fn both_versions_until_enable() {
    let store = store();
    deliver(&store, 1);
    let mut rev1 = login(&store, Config::default());
    let text = exchange(
        &mut rev1,
        b"a SELECT INBOX\r\nb SEARCH ALL\r\nc ENABLE IMAP4rev2\r\n",
    );
    assert!(
        text.contains("* 1 RECENT\r\n* OK [UNSEEN 1] first unseen\r\n"),
        "{text}"
    );
    assert!(
        text.ends_with("* SEARCH 1\r\nb OK SEARCH completed\r\nc BAD ENABLE is only valid before SELECT\r\n"),
        "{text}"
    );
    let mut rev2 = login(&store, Config::default());
    let text = exchange(
        &mut rev2,
        b"d ENABLE IMAP4rev2 CONDSTORE\r\ne SELECT INBOX\r\nf SEARCH ALL\r\n",
    );
    assert!(
        text.starts_with("* ENABLED IMAP4rev2 CONDSTORE\r\nd OK ENABLE completed\r\n"),
        "{text}"
    );
    assert!(!text.contains("RECENT") && !text.contains("UNSEEN"), "{text}");
    assert!(
        text.ends_with("* ESEARCH (TAG \"f\") ALL 1\r\nf OK SEARCH completed\r\n"),
        "{text}"
    );
    // IMAP4rev1 only, without ESEARCH: there is nothing to enable, and RETURN is no SEARCH
    // syntax.
    let mut without_esearch = config(Versions::Rev1);
    without_esearch.extensions.esearch = false;
    let mut old = login(&store, without_esearch);
    let text = exchange(
        &mut old,
        b"g CAPABILITY\r\nh ENABLE IMAP4rev2\r\ni EXAMINE INBOX\r\nj SEARCH RETURN (ALL) ALL\r\n",
    );
    assert!(text.starts_with("* CAPABILITY IMAP4rev1 LITERAL+ "), "{text}");
    assert!(text.contains("* ENABLED\r\nh OK ENABLE completed\r\n"), "{text}");
    assert!(text.ends_with("j BAD invalid sequence set\r\n"), "{text}");
}

#[test]
fn recent_belongs_to_one_session() {
    let store = store();
    deliver(&store, 2);
    let mut other = login(&store, Config::default());
    assert_eq!(
        exchange(&mut other, b"a STATUS INBOX (RECENT MESSAGES)\r\n"),
        "* STATUS \"INBOX\" (RECENT 2 MESSAGES 2)\r\na OK STATUS completed\r\n"
    );
    // The first SELECT takes both; a second SELECT and an EXAMINE get none.
    let mut one = login(&store, Config::default());
    let mut two = login(&store, Config::default());
    let mut reader = login(&store, Config::default());
    assert!(exchange(&mut one, b"s SELECT INBOX\r\n").contains("* 2 EXISTS\r\n* 2 RECENT\r\n"));
    assert!(exchange(&mut two, b"s SELECT INBOX\r\n").contains("* 2 EXISTS\r\n* 0 RECENT\r\n"));
    assert!(exchange(&mut reader, b"s EXAMINE INBOX\r\n").contains("* 2 EXISTS\r\n* 0 RECENT\r\n"));
    assert_eq!(
        exchange(&mut other, b"b STATUS INBOX (RECENT)\r\n"),
        "* STATUS \"INBOX\" (RECENT 0)\r\nb OK STATUS completed\r\n"
    );
    // A new message goes to the read-write session told about it first; an EXAMINE sees
    // it as recent but never claims it (RFC 3501 §6.3.2).
    deliver(&store, 1);
    assert_eq!(
        exchange(&mut reader, b"c NOOP\r\n"),
        "* 3 EXISTS\r\n* 1 RECENT\r\nc OK NOOP completed\r\n"
    );
    assert_eq!(
        exchange(&mut two, b"d NOOP\r\n"),
        "* 3 EXISTS\r\n* 1 RECENT\r\nd OK NOOP completed\r\n"
    );
    assert_eq!(
        exchange(&mut one, b"e NOOP\r\n"),
        "* 3 EXISTS\r\n* 2 RECENT\r\ne OK NOOP completed\r\n"
    );
    assert_eq!(
        exchange(&mut one, b"f FETCH 1:* FLAGS\r\n"),
        "* 1 FETCH (FLAGS (\\Recent))\r\n* 2 FETCH (FLAGS (\\Recent))\r\n* 3 FETCH (FLAGS ())\r\n\
         f OK FETCH completed\r\n"
    );
    assert_eq!(
        exchange(&mut two, b"g FETCH 3 FLAGS\r\n"),
        "* 3 FETCH (FLAGS (\\Recent))\r\ng OK FETCH completed\r\n"
    );
    // \Recent cannot be stored (it is ignored), and SEARCH RECENT/NEW/OLD use it.
    let text = exchange(
        &mut one,
        b"h STORE 1 +FLAGS (\\Seen \\Recent)\r\ni STORE 3 +FLAGS (\\Recent)\r\n\
          j SEARCH RECENT\r\nk SEARCH NEW\r\nl SEARCH OLD\r\n",
    );
    assert_eq!(
        text,
        "* 1 FETCH (FLAGS (\\Seen \\Recent))\r\nh OK STORE completed\r\n\
         * 3 FETCH (FLAGS ())\r\ni OK STORE completed\r\n\
         * SEARCH 1 2\r\nj OK SEARCH completed\r\n* SEARCH 2\r\nk OK SEARCH completed\r\n\
         * SEARCH 3\r\nl OK SEARCH completed\r\n"
    );
    // The other sessions hear of the flag change, with their own \Recent.
    assert_eq!(
        exchange(&mut two, b"m NOOP\r\n"),
        "* 1 FETCH (FLAGS (\\Seen) UID 1)\r\nm OK NOOP completed\r\n"
    );
    // An IMAP4rev2 session neither sees nor takes \Recent.
    let mut rev2 = login(&store, Config::default());
    exchange(&mut rev2, b"n ENABLE IMAP4rev2\r\no SELECT INBOX\r\n");
    deliver(&store, 1);
    assert_eq!(
        exchange(&mut rev2, b"p NOOP\r\n"),
        "* 4 EXISTS\r\np OK NOOP completed\r\n"
    );
    assert_eq!(
        exchange(&mut one, b"q NOOP\r\nr FETCH 4 FLAGS\r\n"),
        "* 4 EXISTS\r\n* 3 RECENT\r\nq OK NOOP completed\r\n* 4 FETCH (FLAGS (\\Recent))\r\nr OK FETCH completed\r\n"
    );
}

#[test]
fn status_deleted_and_size() {
    let store = store();
    deliver(&store, 2);
    let mut session = login(&store, Config::default());
    exchange(
        &mut session,
        b"s SELECT INBOX\r\nt STORE 1 +FLAGS.SILENT (\\Deleted)\r\n",
    );
    // RFC 9051 §6.3.11: DELETED and SIZE, answered in IMAP4rev1 as well (RFC 8438).
    assert_eq!(
        exchange(&mut session, b"a STATUS INBOX (MESSAGES DELETED SIZE UNSEEN)\r\n"),
        "* STATUS \"INBOX\" (MESSAGES 2 DELETED 1 SIZE 40 UNSEEN 2)\r\na OK STATUS completed\r\n"
    );
}

#[test]
fn rev2_list_returns_subscribed_on_request() {
    let store = store();
    store.create_mailbox("alice", "Work").expect("a new name");
    let mut session = login(&store, config(Versions::Rev2));
    let text = exchange(
        &mut session,
        b"a LIST \"\" (Sent Work)\r\nb LIST \"\" (Sent Work) RETURN (SUBSCRIBED)\r\n\
          c LIST (SUBSCRIBED) \"\" (S* T*)\r\nd LIST (SPECIAL-USE) \"\" * RETURN (CHILDREN)\r\n\
          e LIST \"\" W* RETURN (STATUS (MESSAGES))\r\nf LIST \"\" \"\"\r\n",
    );
    assert_eq!(
        text,
        "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\"\r\n* LIST (\\HasNoChildren) \"/\" \"Work\"\r\n\
         a OK LIST completed\r\n\
         * LIST (\\HasNoChildren \\Subscribed \\Sent) \"/\" \"Sent\"\r\n* LIST (\\HasNoChildren) \"/\" \"Work\"\r\n\
         b OK LIST completed\r\n\
         * LIST (\\HasNoChildren \\Subscribed \\Sent) \"/\" \"Sent\"\r\n\
         * LIST (\\HasNoChildren \\Subscribed \\Trash) \"/\" \"Trash\"\r\nc OK LIST completed\r\n\
         * LIST (\\HasNoChildren \\Drafts) \"/\" \"Drafts\"\r\n* LIST (\\HasNoChildren \\Junk) \"/\" \"Junk\"\r\n\
         * LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\"\r\n* LIST (\\HasNoChildren \\Trash) \"/\" \"Trash\"\r\n\
         d OK LIST completed\r\n\
         * LIST (\\HasNoChildren) \"/\" \"Work\"\r\n* STATUS \"Work\" (MESSAGES 0)\r\ne OK LIST completed\r\n\
         * LIST (\\Noselect) \"/\" \"\"\r\nf OK LIST completed\r\n"
    );
    // IMAP4rev1 without the LIST-EXTENDED extension has no such syntax.
    let mut without = config(Versions::Rev1);
    without.extensions.list_extended = false;
    let mut rev1 = login(&store, without);
    assert_eq!(
        exchange(&mut rev1, b"g LIST \"\" * RETURN (SUBSCRIBED)\r\n"),
        "g BAD invalid arguments\r\n"
    );
}
