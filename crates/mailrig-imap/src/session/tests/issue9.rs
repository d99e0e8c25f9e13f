//! Regression tests for the defects of issue 9 §1 (the model servers' second pass), each
//! written the way its RFC states the rule: mailbox-name grammar, `\Recent` under EXAMINE,
//! new keywords announced by FLAGS, SEARCH on addresses, LSUB and `%`, COPY and MOVE into
//! the selected mailbox.

use super::*;

fn deliver(store: &Store, message: &str) {
    store
        .deliver("alice", message.as_bytes().to_vec(), 0)
        .expect("INBOX exists");
}

/// Every ATOM-CHAR that is not a letter or digit, and `]` (resp-specials are ASTRING-CHARs).
const EDGE: &str = "]a[b]!#$&'+,-.:;<=>?@^_`|~";

/// RFC 9051 §9 / RFC 3501 §9: `mailbox = "INBOX" / astring`, `astring = 1*ASTRING-CHAR /
/// string`, `ASTRING-CHAR = ATOM-CHAR / resp-specials`; `list-mailbox = 1*list-char /
/// string`, `list-char = ATOM-CHAR / list-wildcards / resp-specials`. A name made of the
/// edge characters parses as an atom in every command that takes a mailbox or a pattern.
#[test]
fn mailbox_names_are_astrings_in_every_command() {
    let store = store();
    deliver(&store, "Subject: one\r\n\r\n");
    let mut session = logged_in(&store);
    let other = format!("{EDGE}2");
    let script = [
        (format!("c CREATE {EDGE}"), "CREATE completed\r\n".to_owned()),
        (
            format!("l LIST \"\" {EDGE}"),
            format!("* LIST (\\HasNoChildren) \"/\" \"{EDGE}\"\r\nl OK LIST completed\r\n"),
        ),
        (
            "p LIST ]a[ b]%".to_owned(),
            format!("* LIST (\\HasNoChildren) \"/\" \"{EDGE}\"\r\np OK LIST completed\r\n"),
        ),
        (
            format!("s SUBSCRIBE {EDGE}"),
            "s OK SUBSCRIBE completed\r\n".to_owned(),
        ),
        (
            "u LSUB \"\" ]a[b]*".to_owned(),
            format!("* LSUB () \"/\" \"{EDGE}\"\r\nu OK LSUB completed\r\n"),
        ),
        (
            format!("v UNSUBSCRIBE {EDGE}"),
            "v OK UNSUBSCRIBE completed\r\n".to_owned(),
        ),
        (
            format!("t STATUS {EDGE} (MESSAGES)"),
            format!("* STATUS \"{EDGE}\" (MESSAGES 0)\r\nt OK STATUS completed\r\n"),
        ),
        (format!("a APPEND {EDGE} {{2+}}\r\nhi"), String::new()),
        (
            format!("e EXAMINE {EDGE}"),
            "e OK [READ-ONLY] EXAMINE completed\r\n".to_owned(),
        ),
        ("s SELECT INBOX".to_owned(), String::new()),
        (format!("k COPY 1 {EDGE}"), String::new()),
        (format!("m MOVE 1 {EDGE}"), String::new()),
        (
            format!("x SELECT {EDGE}"),
            "x OK [READ-WRITE] SELECT completed\r\n".to_owned(),
        ),
        ("w UNSELECT".to_owned(), String::new()),
        (
            format!("r RENAME {EDGE} {other}"),
            "r OK RENAME completed\r\n".to_owned(),
        ),
        // What went in came out: APPEND, COPY and MOVE all reached the mailbox.
        (
            format!("y STATUS {other} (MESSAGES)"),
            format!("* STATUS \"{other}\" (MESSAGES 3)\r\ny OK STATUS completed\r\n"),
        ),
        (
            format!("d DELETE {other}"),
            "d OK DELETE completed\r\n".to_owned(),
        ),
    ];
    for (command, expected) in script {
        let text = exchange(&mut session, format!("{command}\r\n").as_bytes());
        let tag = &command[..1];
        assert!(
            text.contains(&format!("{tag} OK ")) && text.ends_with(&expected),
            "{command}\n{text}"
        );
    }
    assert!(store.status("alice", EDGE).is_err());
    assert_eq!(store.status("alice", "INBOX").map(|s| s.messages).ok(), Some(0));
}

/// The same characters inside the astrings of other commands: LOGIN's userid and password,
/// SEARCH's strings. FETCH keeps its sections, whose brackets may hold spaces.
#[test]
fn astrings_take_resp_specials_and_fetch_keeps_sections() {
    let store = store();
    store
        .add_user(User::new("b]o[b", "p]w[", ["bob@example.test"]))
        .expect("a new user");
    let mut session = Session::new(Config::default(), store.clone());
    drain(&mut session);
    let text = exchange(&mut session, b"a LOGIN b]o[b p]w[\r\n");
    assert!(text.contains("a OK [CAPABILITY"), "{text}");
    let mut session = selected(&store);
    deliver(&store, "Subject: [list] x]\r\n\r\n");
    let text = exchange(
        &mut session,
        b"n NOOP\r\nb SEARCH SUBJECT [list]\r\nc SEARCH SUBJECT x]\r\nd SEARCH SUBJECT ]y\r\n\
          e FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n",
    );
    assert!(
        text.contains(
            "* SEARCH 1\r\nb OK SEARCH completed\r\n* SEARCH 1\r\nc OK SEARCH completed\r\n\
             * SEARCH\r\nd OK SEARCH completed\r\n\
             * 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {22}\r\nSubject: [list] x]\r\n\r\n)\r\ne OK FETCH completed\r\n"
        ),
        "{text}"
    );
    // A keyword is an atom: `]` stays out of it (RFC 9051 §9 `flag-keyword`).
    let text = exchange(&mut session, b"f STORE 1 +FLAGS (a]b)\r\n");
    assert!(text.starts_with("f BAD "), "{text}");
}

/// RFC 3501 §6.3.2: EXAMINE returns "the same text" as SELECT, and "MUST NOT cause messages
/// to lose the \Recent flag"; §2.3.2: a read-only session does not take `\Recent` from later
/// ones. So EXAMINE reports the recent messages without claiming them, and a later STATUS
/// (RECENT) and SELECT agree with it.
#[test]
fn examine_reports_recent_without_claiming() {
    let store = store();
    let mut session = logged_in(&store);
    let text = exchange(
        &mut session,
        b"a APPEND INBOX {1+}\r\nx\r\nb APPEND INBOX {1+}\r\ny\r\n",
    );
    assert!(
        text.ends_with("b OK [APPENDUID 1 2] APPEND completed\r\n"),
        "{text}"
    );
    let text = exchange(
        &mut session,
        b"c EXAMINE INBOX\r\nd FETCH 1:* FLAGS\r\ne SEARCH RECENT\r\n",
    );
    assert!(text.contains("* 2 EXISTS\r\n* 2 RECENT\r\n"), "{text}");
    assert!(
        text.ends_with(
            "* 1 FETCH (FLAGS (\\Recent))\r\n* 2 FETCH (FLAGS (\\Recent))\r\nd OK FETCH completed\r\n\
             * SEARCH 1 2\r\ne OK SEARCH completed\r\n"
        ),
        "{text}"
    );
    // A message delivered while the mailbox is examined is recent there too, unclaimed.
    deliver(&store, "Subject: three\r\n\r\n");
    assert_eq!(
        exchange(&mut session, b"f NOOP\r\n"),
        "* 3 EXISTS\r\n* 3 RECENT\r\nf OK NOOP completed\r\n"
    );
    let mut other = logged_in(&store);
    assert_eq!(
        exchange(&mut other, b"g STATUS INBOX (RECENT)\r\n"),
        "* STATUS \"INBOX\" (RECENT 3)\r\ng OK STATUS completed\r\n"
    );
    assert!(exchange(&mut other, b"h SELECT INBOX\r\n").contains("* 3 EXISTS\r\n* 3 RECENT\r\n"));
    // Now the SELECT has them; a second EXAMINE sees none, as STATUS says.
    let mut third = logged_in(&store);
    assert_eq!(
        exchange(&mut third, b"i STATUS INBOX (RECENT)\r\n"),
        "* STATUS \"INBOX\" (RECENT 0)\r\ni OK STATUS completed\r\n"
    );
    assert!(exchange(&mut third, b"j EXAMINE INBOX\r\n").contains("* 3 EXISTS\r\n* 0 RECENT\r\n"));
}

/// Asserts RFC 9051 §7.3.5 / §7.5.2 for `keyword` in `text`, a session's output: the first
/// line that carries it is `* FLAGS (...)` listing it, followed by `* OK [PERMANENTFLAGS
/// (...)]` (listing it too unless `read_only`), and no FETCH carries it before them.
fn announced_before_use(text: &str, keyword: &str) {
    let lines: Vec<&str> = text.split("\r\n").collect();
    let first = lines
        .iter()
        .position(|line| line.contains(keyword))
        .unwrap_or_else(|| panic!("{keyword} never shown:\n{text}"));
    assert!(
        lines[first].starts_with("* FLAGS ("),
        "{keyword} used before FLAGS:\n{text}"
    );
    let permanent = lines[first + 1];
    assert!(permanent.starts_with("* OK [PERMANENTFLAGS ("), "{text}");
    assert!(lines[first..].iter().any(|line| line.contains("FETCH")), "{text}");
}

/// RFC 9051 §7.3.5: the FLAGS response lists "the flags that are applicable for this
/// mailbox", and §7.5.2 (FETCH): a client has to know the flags a FETCH carries. When STORE,
/// APPEND or COPY bring a keyword the mailbox's FLAGS did not list, every session with the
/// mailbox selected (the one that made the change too) gets `* FLAGS` and `* OK
/// [PERMANENTFLAGS]` with it before any FETCH that carries it.
#[test]
fn new_keywords_are_announced_before_use() {
    let store = store();
    deliver(&store, "Subject: one\r\n\r\n");
    store.create_mailbox("alice", "Other").expect("a new name");
    let mut one = selected(&store);
    let mut two = selected(&store);
    let mut reader = logged_in(&store);
    exchange(&mut reader, b"e EXAMINE INBOX\r\n");
    // STORE: the storing session, a read-write and a read-only observer.
    let text = exchange(&mut one, b"a STORE 1 +FLAGS ($Stored)\r\n");
    announced_before_use(&text, "$Stored");
    assert!(
        text.starts_with(
            "* FLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft $Stored)\r\n\
             * OK [PERMANENTFLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft $Stored \\*)] limited\r\n"
        ),
        "{text}"
    );
    announced_before_use(&exchange(&mut two, b"b NOOP\r\n"), "$Stored");
    let text = exchange(&mut reader, b"c NOOP\r\n");
    announced_before_use(&text, "$Stored");
    assert!(text.contains("* OK [PERMANENTFLAGS ()] "), "{text}");
    // Told once: the next use of the keyword needs no new FLAGS.
    let text = exchange(
        &mut one,
        b"d STORE 1 -FLAGS ($Stored)\r\ne STORE 1 +FLAGS ($stored)\r\n",
    );
    assert!(!text.contains("* FLAGS"), "{text}");
    // APPEND into the selected mailbox, with a keyword of its own.
    let text = exchange(
        &mut one,
        b"f APPEND INBOX ($Appended) {1+}\r\nx\r\ng FETCH 2 FLAGS\r\n",
    );
    announced_before_use(&text, "$Appended");
    announced_before_use(&exchange(&mut two, b"h FETCH 1:* FLAGS\r\n"), "$Appended");
    // COPY from another mailbox brings the keyword along (flags are kept, RFC 9051 §6.4.7).
    let mut other = logged_in(&store);
    exchange(
        &mut other,
        b"i APPEND Other ($Copied) {1+}\r\ny\r\nj SELECT Other\r\nk COPY 1 INBOX\r\n",
    );
    announced_before_use(&exchange(&mut two, b"l NOOP\r\nl FETCH 3 FLAGS\r\n"), "$Copied");
    announced_before_use(
        &exchange(&mut reader, b"m NOOP\r\nn FETCH 1:* FLAGS\r\n"),
        "$Copied",
    );
    // A keyword already listed at SELECT is not announced again.
    let mut late = selected(&store);
    let text = exchange(&mut late, b"o STORE 3 +FLAGS ($Appended)\r\n");
    assert!(!text.contains("* FLAGS"), "{text}");
}

/// RFC 3501 §6.4.4 / RFC 9051 §6.4.4: FROM, TO, CC and BCC match "the envelope structure's"
/// field, i.e. the addresses as RFC 5322 §3.4 reads them (comments and folding whitespace
/// removed, quoted local parts and display names unquoted, group members), as well as the
/// header's text.
#[test]
fn search_address_keys_match_the_envelope() {
    let store = store();
    for message in [
        "From: <user-from (comment)@ (comment) domain.org>\r\n\r\n",
        "From: \"J\\\"o\" <\"john.doe\"@example.org>\r\nTo: team: one@x.org, two (c) @ x.org;\r\n\r\n",
        "From: raw (The Commenter) <plain@example.org>\r\nCc: Ann\r\n <ann @ cc.example>\r\n\r\n",
        "From: nobody@example.org\r\nBcc: (hidden) bcc-user @example.org\r\n\r\n",
    ] {
        deliver(&store, message);
    }
    let mut session = selected(&store);
    let text = exchange(
        &mut session,
        b"a SEARCH FROM user-from@domain.org\r\nb SEARCH FROM john.doe@example.org\r\n\
          c SEARCH FROM \"J\\\"o <john.doe@\"\r\nd SEARCH TO two@x.org\r\ne SEARCH TO team\r\n\
          f SEARCH CC \"Ann <ann@cc.example>\"\r\ng SEARCH BCC bcc-user@example.org\r\n\
          h SEARCH FROM Commenter\r\ni SEARCH FROM missing_domain\r\nj SEARCH TO \"x.org, two\"\r\n",
    );
    assert_eq!(
        text,
        "* SEARCH 1\r\na OK SEARCH completed\r\n* SEARCH 2\r\nb OK SEARCH completed\r\n\
         * SEARCH 2\r\nc OK SEARCH completed\r\n* SEARCH 2\r\nd OK SEARCH completed\r\n\
         * SEARCH 2\r\ne OK SEARCH completed\r\n* SEARCH 3\r\nf OK SEARCH completed\r\n\
         * SEARCH 4\r\ng OK SEARCH completed\r\n* SEARCH 3\r\nh OK SEARCH completed\r\n\
         * SEARCH\r\ni OK SEARCH completed\r\n* SEARCH 2\r\nj OK SEARCH completed\r\n"
    );
    // HEADER stays a substring test of the field's text (RFC 9051 §6.4.4).
    assert_eq!(
        exchange(&mut session, b"k SEARCH HEADER From user-from@domain.org\r\n"),
        "* SEARCH\r\nk OK SEARCH completed\r\n"
    );
}

/// RFC 3501 §6.3.9: "if "foo/bar" is subscribed but "foo" is not, a "%" wildcard to LSUB
/// must return foo, not foo/bar, in the LSUB response, and it MUST be flagged with the
/// \Noselect attribute." `*` matches the subscribed name itself, so no parent is added.
#[test]
fn lsub_percent_returns_unsubscribed_parents_as_noselect() {
    let store = store();
    let mut session = logged_in(&store);
    exchange(
        &mut session,
        b"a CREATE a/b/c\r\nb SUBSCRIBE a/b/c\r\nc CREATE a/d/e\r\nd SUBSCRIBE a/d/e\r\ne SUBSCRIBE a/d\r\n",
    );
    assert_eq!(
        exchange(&mut session, b"f LSUB \"\" a/%\r\n"),
        "* LSUB (\\Noselect) \"/\" \"a/b\"\r\n* LSUB () \"/\" \"a/d\"\r\nf OK LSUB completed\r\n"
    );
    assert_eq!(
        exchange(&mut session, b"g LSUB a/ %\r\nh LSUB \"\" %\r\n"),
        "* LSUB (\\Noselect) \"/\" \"a/b\"\r\n* LSUB () \"/\" \"a/d\"\r\ng OK LSUB completed\r\n\
         * LSUB () \"/\" \"Drafts\"\r\n* LSUB () \"/\" \"INBOX\"\r\n* LSUB () \"/\" \"Junk\"\r\n\
         * LSUB () \"/\" \"Sent\"\r\n* LSUB () \"/\" \"Trash\"\r\n* LSUB (\\Noselect) \"/\" \"a\"\r\n\
         h OK LSUB completed\r\n"
    );
    assert_eq!(
        exchange(&mut session, b"i LSUB \"\" a/*\r\n"),
        "* LSUB () \"/\" \"a/b/c\"\r\n* LSUB () \"/\" \"a/d\"\r\n* LSUB () \"/\" \"a/d/e\"\r\ni OK LSUB completed\r\n"
    );
}

/// COPY or MOVE into the selected mailbox: the copy is a new message there, and RFC 9051
/// §5.2 says "a server MUST send mailbox size updates automatically if a mailbox size change
/// is observed during the processing of a command", so `* n EXISTS` comes in the same
/// response; for MOVE after `* OK [COPYUID]` and counting the copy, then the EXPUNGE (or
/// VANISHED) of the original (RFC 6851 §4.3, §4.4), so each number is right when it is sent.
/// (Issue 9 saw a MOVE without its EXISTS; this did not reproduce in memory, and pins it.)
#[test]
fn copy_and_move_into_the_selected_mailbox_report_exists() {
    for (setup, expunge) in [
        (&b""[..], "* 1 EXPUNGE\r\n"),
        (b"e ENABLE IMAP4rev2\r\n", "* 1 EXPUNGE\r\n"),
        (b"e ENABLE QRESYNC\r\n", "* VANISHED 1\r\n"),
    ] {
        let store = store();
        deliver(&store, "Subject: one\r\n\r\n");
        let mut session = logged_in(&store);
        exchange(&mut session, setup);
        exchange(&mut session, b"s SELECT INBOX\r\n");
        let text = exchange(&mut session, b"m MOVE 1 INBOX\r\n");
        let exists = "* 2 EXISTS\r\n";
        assert!(text.starts_with("* OK [COPYUID 1 1 2] moved\r\n"), "{text}");
        let (at_exists, at_expunge) = (text.find(exists), text.find(expunge));
        assert!(at_exists.is_some() && at_exists < at_expunge, "{text}");
        assert!(text.ends_with("m OK MOVE completed\r\n"), "{text}");
        let text = exchange(&mut session, b"c UID COPY 2 INBOX\r\n");
        assert!(text.starts_with(exists), "{text}");
        assert!(
            text.ends_with("c OK [COPYUID 1 2 3] UID COPY completed\r\n"),
            "{text}"
        );
    }
}
