//! Each extension switch: not advertised, and its command or syntax refused.

use super::*;

/// A session with `extensions`, IMAP4rev1 only (so no LITERAL-), logged in.
fn session(store: &Store, extensions: Extensions) -> Session {
    let config = Config {
        extensions,
        versions: Versions::Rev1,
        ..Config::default()
    };
    let mut session = Session::new(config, store.clone());
    drain(&mut session);
    session
}

#[test]
fn everything_off() {
    let store = store();
    store
        .deliver("alice", b"Subject: x\r\n\r\n".to_vec(), 0)
        .expect("INBOX exists");
    let mut session = session(&store, Extensions::none());
    let text = exchange(
        &mut session,
        b"a CAPABILITY\r\nb AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\nc ID NIL\r\nd LOGIN alice secret\r\n",
    );
    assert_eq!(
        text,
        "* CAPABILITY IMAP4rev1 STATUS=SIZE STARTTLS AUTH=PLAIN AUTH=LOGIN AUTH=XOAUTH2 AUTH=OAUTHBEARER\r\n\
         a OK CAPABILITY completed\r\nb BAD invalid arguments\r\nc BAD unknown command\r\n\
         d OK [CAPABILITY IMAP4rev1 STATUS=SIZE] LOGIN completed\r\n"
    );
    let text = exchange(
        &mut session,
        b"e NAMESPACE\r\nf ENABLE IMAP4rev2\r\ng IDLE\r\nh APPEND INBOX {2+}\r\nm1\r\n\
          i APPEND INBOX {2}\r\n",
    );
    assert_eq!(
        text,
        "e BAD unknown command\r\nf BAD unknown command\r\ng BAD unknown command\r\n\
         h BAD non-synchronizing literals are not supported\r\n\
         + Ready for literal data\r\n"
    );
    let text = exchange(&mut session, b"m2\r\nj LIST \"\" Sent\r\nk SELECT INBOX\r\n");
    assert!(
        text.starts_with(
            "i OK APPEND completed\r\n* LIST (\\HasNoChildren) \"/\" \"Sent\"\r\nj OK LIST completed\r\n"
        ),
        "{text}"
    );
    let text = exchange(
        &mut session,
        b"l UID EXPUNGE 1\r\nm MOVE 1 Trash\r\nn UID MOVE 1 Trash\r\no COPY 1:2 Trash\r\np UNSELECT\r\n",
    );
    assert_eq!(
        text,
        "l BAD unknown command\r\nm BAD unknown command\r\nn BAD unknown command\r\n\
         o OK COPY completed\r\np BAD unknown command\r\n"
    );
}

#[test]
fn literal_minus_with_imap4rev2() {
    let config = Config {
        extensions: Extensions {
            literal_plus: false,
            ..Extensions::default()
        },
        ..Config::default()
    };
    let mut session = Session::new(config, store());
    let text = exchange(&mut session, b"a LOGIN alice {6+}\r\nsecret\r\n");
    assert!(
        text.starts_with("* OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL- SASL-IR "),
        "{text}"
    );
    assert!(text.contains("a OK [CAPABILITY"), "{text}");
    let mut append = b"b APPEND INBOX {4097+}\r\n".to_vec();
    append.extend(std::iter::repeat_n(b'x', 4097));
    append.extend_from_slice(b"\r\nc NOOP\r\n");
    assert_eq!(
        exchange(&mut session, &append),
        "b BAD [TOOBIG] non-synchronizing literal larger than 4096 bytes\r\nc OK NOOP completed\r\n"
    );
}

/// One switch off at a time: the word leaves CAPABILITY and the command is refused.
#[test]
fn each_switch() {
    type Switch = fn(&mut Extensions);
    let cases: [(Switch, &str, &[u8], &str); 13] = [
        (
            |e| e.idle = false,
            "IDLE",
            b"t IDLE\r\n",
            "t BAD unknown command\r\n",
        ),
        (
            |e| e.r#move = false,
            "MOVE",
            b"t MOVE 1 Trash\r\n",
            "t BAD unknown command\r\n",
        ),
        (
            |e| e.enable = false,
            "ENABLE",
            b"t ENABLE X\r\n",
            "t BAD unknown command\r\n",
        ),
        (
            |e| e.id = false,
            "ID",
            b"t ID NIL\r\n",
            "t BAD unknown command\r\n",
        ),
        (
            |e| e.namespace = false,
            "NAMESPACE",
            b"t NAMESPACE\r\n",
            "t BAD unknown command\r\n",
        ),
        (
            |e| e.unselect = false,
            "UNSELECT",
            b"t UNSELECT\r\n",
            "t BAD unknown command\r\n",
        ),
        (
            |e| e.uidplus = false,
            "UIDPLUS",
            b"t UID EXPUNGE 1\r\nu COPY 1 Trash\r\n",
            "t BAD unknown command\r\nu OK COPY completed\r\n",
        ),
        (
            |e| e.special_use = false,
            "SPECIAL-USE",
            b"t LIST \"\" Trash\r\n",
            "* LIST (\\HasNoChildren) \"/\" \"Trash\"\r\nt OK LIST completed\r\n",
        ),
        (
            |e| e.esearch = false,
            "ESEARCH",
            b"t SEARCH RETURN (COUNT) ALL\r\n",
            "t BAD invalid sequence set\r\n",
        ),
        (
            |e| e.sort = false,
            "SORT",
            b"t SORT (DATE) UTF-8 ALL\r\nu UID SORT (DATE) UTF-8 ALL\r\n",
            "t BAD unknown command\r\nu BAD unknown command\r\n",
        ),
        (
            |e| e.thread_references = false,
            "THREAD=REFERENCES",
            b"t THREAD REFERENCES UTF-8 ALL\r\nu THREAD ORDEREDSUBJECT UTF-8 ALL\r\n",
            "t BAD unsupported threading algorithm REFERENCES\r\n* THREAD (1)\r\nu OK THREAD completed\r\n",
        ),
        (
            |e| e.thread_orderedsubject = false,
            "THREAD=ORDEREDSUBJECT",
            b"t THREAD ORDEREDSUBJECT UTF-8 ALL\r\nu THREAD REFERENCES UTF-8 ALL\r\n",
            "t BAD unsupported threading algorithm ORDEREDSUBJECT\r\n* THREAD (1)\r\nu OK THREAD completed\r\n",
        ),
        (
            |e| e.esort = false,
            "ESORT",
            b"t SORT RETURN (COUNT) (DATE) UTF-8 ALL\r\nu SORT (DATE) UTF-8 ALL\r\n",
            "t BAD invalid arguments\r\n* SORT 1\r\nu OK SORT completed\r\n",
        ),
    ];
    for (switch, word, command, expected) in cases {
        let store = store();
        store
            .deliver("alice", b"Subject: x\r\n\r\n".to_vec(), 0)
            .expect("INBOX exists");
        let mut extensions = Extensions::default();
        switch(&mut extensions);
        let mut session = session(&store, extensions);
        let text = exchange(
            &mut session,
            b"a LOGIN alice secret\r\nb SELECT INBOX\r\nc CAPABILITY\r\n",
        );
        let caps = text
            .lines()
            .find_map(|line| line.strip_prefix("* CAPABILITY "))
            .unwrap_or_default();
        assert!(!caps.split(' ').any(|w| w == word), "{word}: {caps}");
        assert_eq!(exchange(&mut session, command), expected, "{word}");
    }
    // With everything on, the same commands work.
    let store = store();
    store
        .deliver("alice", b"Subject: x\r\n\r\n".to_vec(), 0)
        .expect("INBOX exists");
    let mut session = session(&store, Extensions::default());
    exchange(&mut session, b"a LOGIN alice secret\r\nb SELECT INBOX\r\n");
    let text = exchange(&mut session, b"t LIST \"\" Trash\r\nu UID EXPUNGE 1\r\n");
    assert_eq!(
        text,
        "* LIST (\\HasNoChildren \\Trash) \"/\" \"Trash\"\r\nt OK LIST completed\r\nu OK UID EXPUNGE completed\r\n"
    );
    let condstore = Extensions {
        condstore: false,
        qresync: false,
        ..Extensions::default()
    };
    let mut session = self::session(&store, condstore);
    let text = exchange(&mut session, b"c CAPABILITY\r\n");
    assert!(
        text.contains(" SPECIAL-USE ESEARCH LIST-EXTENDED LIST-STATUS APPENDLIMIT=33554432 COMPRESS=DEFLATE SORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES ESORT CONTEXT=SEARCH CONTEXT=SORT MULTIAPPEND BINARY CATENATE QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE OBJECTID NOTIFY STATUS=SIZE "),
        "{text}"
    );
}

/// Without CONDSTORE, its enabling commands are refused and ENABLE does not turn it on.
#[test]
fn condstore_off_refuses_its_syntax() {
    let store = store();
    store
        .deliver("alice", b"Subject: x\r\n\r\n".to_vec(), 0)
        .expect("INBOX exists");
    let extensions = Extensions {
        condstore: false,
        qresync: false,
        ..Extensions::default()
    };
    let mut session = session(&store, extensions);
    let text = exchange(
        &mut session,
        b"a LOGIN alice secret\r\nb ENABLE CONDSTORE\r\nc STATUS INBOX (HIGHESTMODSEQ)\r\n\
          d SELECT INBOX (CONDSTORE)\r\n",
    );
    let capabilities = text.lines().next().unwrap_or_default();
    assert!(!capabilities.contains("CONDSTORE"), "{text}");
    assert!(
        text.ends_with(
            "* ENABLED\r\nb OK ENABLE completed\r\nc BAD CONDSTORE is not offered\r\n\
             d BAD CONDSTORE is not offered\r\n"
        ),
        "{text}"
    );
    let text = exchange(
        &mut session,
        b"e SELECT INBOX\r\nf FETCH 1 (MODSEQ)\r\ng SEARCH MODSEQ 1\r\nh STORE 1 (UNCHANGEDSINCE 9) +FLAGS (x)\r\n",
    );
    assert!(!text.contains("HIGHESTMODSEQ"), "{text}");
    assert!(
        text.ends_with(
            "f BAD CONDSTORE is not offered\r\ng BAD CONDSTORE is not offered\r\n\
             h BAD CONDSTORE is not offered\r\n"
        ),
        "{text}"
    );
}

/// Every row of the extension table: on, its capability is listed (before login, so STARTTLS
/// is too) and its commands are known; switched off through the table, the capability is
/// gone from the greeting and from CAPABILITY, and each of its commands is unknown.
#[test]
fn every_table_row_switches_its_capability_and_commands() {
    let store = store();
    for extension in &EXTENSIONS {
        let listed = |config: Config| {
            let mut session = Session::new(config, store.clone());
            let greeting = drain(&mut session);
            let text = exchange(&mut session, b"c CAPABILITY\r\n");
            // A valued capability (`APPENDLIMIT=n`) counts by its name.
            let name = |w: &str| w.split('=').next() == Some(extension.capability);
            let words = |line: &str| {
                line.split([' ', ']'])
                    .any(|w| w == extension.capability || name(w))
            };
            assert_eq!(words(&greeting), words(&text), "{greeting}{text}");
            (words(&text), session)
        };
        let (on, _) = listed(Config::default());
        assert!(on, "{} is listed when on", extension.capability);
        let mut config = Config::default();
        extension.set(&mut config, false);
        let (on, mut session) = listed(config);
        assert!(!on, "{} is listed when off", extension.capability);
        exchange(&mut session, b"l LOGIN alice secret\r\n");
        for verb in extension.commands {
            let text = exchange(&mut session, format!("t {verb}\r\n").as_bytes());
            assert_eq!(
                text, "t BAD unknown command\r\n",
                "{verb} with {} off",
                extension.name
            );
        }
    }
}
