//! LIST-EXTENDED (RFC 5258) and LIST-STATUS (RFC 5819) in IMAP4rev1: selection and return
//! options, `\NonExistent`, RECURSIVEMATCH with CHILDINFO, a STATUS per listed mailbox, and
//! both switched off.

use super::*;

/// A rev1-only session with `extensions`, alice logged in, with `Foo`, `Foo/Bar`,
/// `Foo/Bar/Baz` and `Moo` created and `Foo/Bar/Baz`, `Moo` and the missing `Gone/Away`
/// subscribed (RFC 5258 §5's hierarchy, smaller).
fn rev1(extensions: Extensions) -> Session {
    let store = store();
    for name in ["Foo/Bar/Baz", "Moo"] {
        store.create_mailbox("alice", name).expect("a new name");
    }
    for name in ["Foo/Bar/Baz", "Moo", "Gone/Away"] {
        store.subscribe("alice", name).expect("alice exists");
    }
    store
        .deliver("alice", b"Subject: x\r\n\r\n".to_vec(), 0)
        .expect("INBOX exists");
    let config = Config {
        extensions,
        versions: Versions::Rev1,
        ..Config::default()
    };
    let mut session = Session::new(config, store);
    let text = exchange(&mut session, b"l LOGIN alice secret\r\n");
    assert!(text.contains("l OK [CAPABILITY"), "{text}");
    session
}

/// RFC 5258 §3.5 and §4 (patterns in a list, §3: so the default mailboxes, all subscribed,
/// stay out): `%` stops at `Foo` (and at the missing `Gone`), whose subscribed
/// descendants do not match: they are listed with CHILDINFO, `Gone` as `\NonExistent`;
/// `Moo` is subscribed itself. With `*` every subscription matches and nobody gets
/// CHILDINFO; `Gone/Away` is `\NonExistent`.
#[test]
fn recursivematch_lists_parents_with_childinfo() {
    let mut session = rev1(Extensions::default());
    let text = exchange(
        &mut session,
        b"a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (F% M% G%)\r\nb LIST (SUBSCRIBED) \"\" (F% M% G%)\r\n\
          c LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (F* M* G*)\r\nd LIST (SUBSCRIBED RECURSIVEMATCH) \"\" Foo/%\r\n",
    );
    assert_eq!(
        text,
        "* LIST (\\HasChildren) \"/\" \"Foo\" (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n\
         * LIST (\\HasNoChildren \\Subscribed) \"/\" \"Moo\"\r\n\
         * LIST (\\NonExistent) \"/\" \"Gone\" (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n\
         a OK LIST completed\r\n\
         * LIST (\\HasNoChildren \\Subscribed) \"/\" \"Moo\"\r\n\
         b OK LIST completed\r\n\
         * LIST (\\HasNoChildren \\Subscribed) \"/\" \"Foo/Bar/Baz\"\r\n\
         * LIST (\\HasNoChildren \\Subscribed) \"/\" \"Moo\"\r\n\
         * LIST (\\NonExistent \\Subscribed) \"/\" \"Gone/Away\"\r\n\
         c OK LIST completed\r\n\
         * LIST (\\HasChildren) \"/\" \"Foo/Bar\" (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n\
         d OK LIST completed\r\n"
    );
}

/// RFC 5258 §3: "RECURSIVEMATCH ... MUST NOT occur as the only selection option (or only
/// with REMOTE)"; an unknown option is BAD too.
#[test]
fn recursivematch_alone_is_bad() {
    let mut session = rev1(Extensions::default());
    let text = exchange(
        &mut session,
        b"a LIST (RECURSIVEMATCH) \"\" %\r\nb LIST (REMOTE RECURSIVEMATCH) \"\" %\r\n\
          c LIST (REMOTE) \"\" Moo RETURN (CHILDREN SUBSCRIBED)\r\n",
    );
    assert_eq!(
        text,
        "a BAD RECURSIVEMATCH must not be the only selection option\r\n\
         b BAD RECURSIVEMATCH must not be the only selection option\r\n\
         * LIST (\\HasNoChildren \\Subscribed) \"/\" \"Moo\"\r\nc OK LIST completed\r\n"
    );
}

/// RFC 5819 §2: a STATUS response after the LIST line of each selectable mailbox, none for a
/// `\NonExistent` name; an unknown item is BAD.
#[test]
fn list_status_follows_each_mailbox() {
    let mut session = rev1(Extensions::default());
    let text = exchange(
        &mut session,
        b"a LIST \"\" (INBOX Moo) RETURN (STATUS (MESSAGES UNSEEN))\r\n\
          b LIST (SUBSCRIBED) \"\" G* RETURN (STATUS (MESSAGES))\r\n\
          c LIST \"\" INBOX RETURN (STATUS (BOGUS))\r\n",
    );
    assert_eq!(
        text,
        "* LIST (\\HasNoChildren) \"/\" \"INBOX\"\r\n* STATUS \"INBOX\" (MESSAGES 1 UNSEEN 1)\r\n\
         * LIST (\\HasNoChildren) \"/\" \"Moo\"\r\n* STATUS \"Moo\" (MESSAGES 0 UNSEEN 0)\r\n\
         a OK LIST completed\r\n\
         * LIST (\\NonExistent \\Subscribed) \"/\" \"Gone/Away\"\r\nb OK LIST completed\r\n\
         c BAD unknown STATUS item BOGUS\r\n"
    );
}

/// Switched off: not advertised; in IMAP4rev1 LIST takes its two arguments only, and without
/// LIST-STATUS the STATUS return option is refused.
#[test]
fn switched_off() {
    let mut session = rev1(Extensions {
        list_extended: false,
        list_status: false,
        ..Extensions::default()
    });
    let text = exchange(
        &mut session,
        b"a CAPABILITY\r\nb LIST (SUBSCRIBED) \"\" %\r\nc LIST \"\" Moo RETURN (CHILDREN)\r\n",
    );
    assert!(!text.contains("LIST-"), "{text}");
    assert!(
        text.ends_with("b BAD invalid arguments\r\nc BAD invalid arguments\r\n"),
        "{text}"
    );
    let mut session = rev1(Extensions {
        list_status: false,
        ..Extensions::default()
    });
    let text = exchange(&mut session, b"a LIST \"\" Moo RETURN (STATUS (MESSAGES))\r\n");
    assert_eq!(text, "a BAD unsupported RETURN option STATUS\r\n");
}
