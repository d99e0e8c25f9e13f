//! In-memory session simulations: a scripted client, one or more sessions over one store.

use mailrig_store::{Flags, Store, User};
use proptest::prelude::*;

use super::*;
use crate::config::{Extensions, Versions};
use crate::data::DataKind;

mod condstore;
mod context;
mod limits;

fn store() -> Store {
    let store = Store::new();
    store
        .add_user(User::new("alice", "secret", ["alice@example.test"]))
        .expect("a new store has no users");
    store
}

/// Feeds `input` and returns everything written, as text (`<STARTTLS>`, `<COMPRESS>`,
/// `<CLOSE>` marks).
fn exchange(session: &mut Session, input: &[u8]) -> String {
    session.handle_input(input);
    drain(session)
}

fn drain(session: &mut Session) -> String {
    let mut text = Vec::new();
    while let Some(output) = session.poll_output() {
        match output {
            Output::Response { bytes, .. } => text.extend(bytes),
            Output::StartTls => text.extend_from_slice(b"<STARTTLS>"),
            Output::StartCompression => text.extend_from_slice(b"<COMPRESS>"),
            Output::Close => text.extend_from_slice(b"<CLOSE>"),
        }
    }
    String::from_utf8_lossy(&text).into_owned()
}

fn logged_in(store: &Store) -> Session {
    let mut session = Session::new(Config::default(), store.clone());
    let text = exchange(&mut session, b"a LOGIN alice secret\r\n");
    assert!(text.contains("a OK [CAPABILITY"), "{text}");
    session
}

fn selected(store: &Store) -> Session {
    let mut session = logged_in(store);
    let text = exchange(&mut session, b"s SELECT INBOX\r\n");
    assert!(text.ends_with("s OK [READ-WRITE] SELECT completed\r\n"), "{text}");
    session
}

#[test]
fn greeting_capability_noop_logout() {
    let mut session = Session::new(Config::default(), store());
    let text = exchange(&mut session, b"1 CAPABILITY\r\n2 NOOP\r\n3 LOGOUT\r\n4 NOOP\r\n");
    assert_eq!(
        text,
        "* OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR UIDPLUS UNSELECT IDLE MOVE ID NAMESPACE ENABLE \
         SPECIAL-USE CONDSTORE QRESYNC ESEARCH LIST-EXTENDED LIST-STATUS APPENDLIMIT=33554432 COMPRESS=DEFLATE SORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES ESORT CONTEXT=SEARCH CONTEXT=SORT MULTIAPPEND BINARY CATENATE QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE OBJECTID NOTIFY STATUS=SIZE STARTTLS AUTH=PLAIN AUTH=LOGIN AUTH=XOAUTH2 AUTH=OAUTHBEARER] mailrig ready\r\n\
         * CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR UIDPLUS UNSELECT IDLE MOVE ID NAMESPACE ENABLE \
         SPECIAL-USE CONDSTORE QRESYNC ESEARCH LIST-EXTENDED LIST-STATUS APPENDLIMIT=33554432 COMPRESS=DEFLATE SORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES ESORT CONTEXT=SEARCH CONTEXT=SORT MULTIAPPEND BINARY CATENATE QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE OBJECTID NOTIFY STATUS=SIZE STARTTLS AUTH=PLAIN AUTH=LOGIN AUTH=XOAUTH2 AUTH=OAUTHBEARER\r\n\
         1 OK CAPABILITY completed\r\n\
         2 OK NOOP completed\r\n\
         * BYE mailrig logging out\r\n3 OK LOGOUT completed\r\n<CLOSE>"
    );
}

/// RFC 3501 §6.4.1: CHECK is a selected-state command; before SELECT it is refused like
/// FETCH, not answered OK like NOOP.
#[test]
fn check_needs_a_selected_mailbox() {
    let store = store();
    let mut session = Session::new(Config::default(), store.clone());
    drain(&mut session);
    assert_eq!(
        exchange(&mut session, b"a CHECK\r\n"),
        "a BAD no mailbox selected\r\n"
    );
    let mut session = logged_in(&store);
    assert_eq!(
        exchange(&mut session, b"b CHECK\r\nc NOOP\r\n"),
        "b BAD no mailbox selected\r\nc OK NOOP completed\r\n"
    );
    let mut session = selected(&store);
    assert_eq!(
        exchange(&mut session, b"d CHECK\r\ne CHECK now\r\n"),
        "d OK CHECK completed\r\ne BAD invalid arguments\r\n"
    );
}

#[test]
fn malformed_commands_get_bad_and_session_continues() {
    let mut session = Session::new(Config::default(), store());
    drain(&mut session);
    let text = exchange(
        &mut session,
        b"+++\r\n* NOOP\r\na FROB\r\nb NOOP extra\r\nc LIST (\"\r\nd NOOP\r\n",
    );
    assert_eq!(
        text,
        "* BAD missing or invalid tag\r\n* BAD missing or invalid tag\r\na BAD unknown command\r\nb BAD invalid arguments\r\n\
         c BAD expected '\"'\r\nd OK NOOP completed\r\n"
    );
}

#[test]
fn login_checked_against_the_store() {
    let mut session = Session::new(Config::default(), store());
    drain(&mut session);
    let text = exchange(
        &mut session,
        b"a LOGIN alice wrong\r\nb SELECT INBOX\r\nc LOGIN {5}\r\n",
    );
    assert_eq!(
        text,
        "a NO [AUTHENTICATIONFAILED] invalid credentials\r\nb BAD not authenticated\r\n+ Ready for literal data\r\n"
    );
    let text = exchange(&mut session, b"alice {6+}\r\nsecret\r\n");
    assert!(text.starts_with("c OK [CAPABILITY IMAP4rev1 "), "{text}");
    assert!(!text.contains("AUTH=PLAIN"));
}

#[test]
fn login_disabled_before_tls() {
    let config = Config {
        login_disabled_before_tls: true,
        ..Config::default()
    };
    let mut session = Session::new(config, store());
    let text = exchange(
        &mut session,
        b"a LOGIN alice secret\r\nb STARTTLS\r\nc LOGIN alice secret\r\n",
    );
    assert!(text.contains("STARTTLS LOGINDISABLED]"), "{text}");
    assert!(text.contains("a NO [PRIVACYREQUIRED]"));
    // The pipelined LOGIN after STARTTLS is discarded, never executed.
    assert!(
        text.ends_with("b OK Begin TLS negotiation now\r\n<STARTTLS>"),
        "{text}"
    );
    session.handle_input(b"d LOGIN alice secret\r\n");
    session.tls_started();
    assert_eq!(exchange(&mut session, b""), "");
    let text = exchange(&mut session, b"e CAPABILITY\r\nf LOGIN alice secret\r\n");
    assert!(
        !text.contains("STARTTLS") && text.contains("AUTH=PLAIN"),
        "{text}"
    );
    assert!(text.contains("f OK [CAPABILITY"), "{text}");
}

#[test]
fn authenticate_plain() {
    let mut session = Session::new(Config::default(), store());
    drain(&mut session);
    // "\0alice\0secret"
    let text = exchange(&mut session, b"a AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\n");
    assert!(text.starts_with("a OK [CAPABILITY"), "{text}");
    let mut session = Session::new(Config::default(), store());
    drain(&mut session);
    assert_eq!(exchange(&mut session, b"b AUTHENTICATE PLAIN\r\n"), "+ \r\n");
    assert_eq!(
        exchange(&mut session, b"*\r\n"),
        "b BAD AUTHENTICATE cancelled\r\n"
    );
    assert_eq!(exchange(&mut session, b"c AUTHENTICATE PLAIN\r\n"), "+ \r\n");
    let text = exchange(&mut session, b"AGFsaWNlAHNlY3JldA==\r\n");
    assert!(text.starts_with("c OK"), "{text}");
    // AUTHENTICATE LOGIN: "alice", "secret".
    let mut session = Session::new(Config::default(), store());
    drain(&mut session);
    let text = exchange(&mut session, b"d AUTHENTICATE LOGIN\r\nYWxpY2U=\r\n");
    assert_eq!(text, "+ VXNlcm5hbWU6\r\n+ UGFzc3dvcmQ6\r\n");
    let text = exchange(&mut session, b"c2VjcmV0\r\n");
    assert!(text.starts_with("d OK [CAPABILITY"), "{text}");
    let mut session = Session::new(Config::default(), store());
    drain(&mut session);
    let text = exchange(&mut session, b"e AUTHENTICATE LOGIN YWxpY2U=\r\nd3Jvbmc=\r\n");
    assert_eq!(
        text,
        "+ UGFzc3dvcmQ6\r\ne NO [AUTHENTICATIONFAILED] invalid credentials\r\n"
    );
}

#[test]
fn oversized_input_is_refused() {
    let config = Config {
        max_line: 1000,
        max_literal: 1000,
        ..Config::default()
    };
    let mut session = Session::new(config, store());
    drain(&mut session);
    let text = exchange(&mut session, b"a APPEND INBOX {2147483648}\r\n");
    assert_eq!(text, "a NO [TOOBIG] literal too large\r\n");
    let mut line = b"b ".to_vec();
    line.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
    line.extend_from_slice(b"\r\nc NOOP\r\n");
    let text = exchange(&mut session, &line);
    assert_eq!(text, "b BAD line too long\r\nc OK NOOP completed\r\n");
    // A LITERAL+ literal that is too big is skipped without being buffered.
    let text = exchange(&mut session, b"d APPEND INBOX {2000+}\r\n");
    assert_eq!(text, "d NO [TOOBIG] literal too large\r\n");
    session.handle_input(&[b'z'; 2000]);
    // The rest of the refused command's line (here just its CRLF) is dropped silently.
    assert_eq!(
        exchange(&mut session, b" (more)\r\ne NOOP\r\n"),
        "e OK NOOP completed\r\n"
    );
}

#[test]
fn select_list_create_delete_status() {
    let store = store();
    store
        .deliver("alice", b"Subject: hi\r\n\r\nhello\r\n".to_vec(), 1_700_000_000)
        .expect("INBOX exists");
    let mut session = logged_in(&store);
    let text = exchange(&mut session, b"s SELECT inbox\r\n");
    assert!(text.starts_with("* FLAGS ("), "{text}");
    assert!(text.contains("* 1 EXISTS\r\n"), "{text}");
    assert!(text.contains("* OK [UIDVALIDITY "), "{text}");
    assert!(text.contains("* OK [UIDNEXT 2]"), "{text}");
    assert!(text.contains("* OK [PERMANENTFLAGS ("), "{text}");
    let text = exchange(&mut session, b"c CREATE Work/Project\r\nl LIST \"\" *\r\n");
    assert!(
        text.contains("* LIST (\\HasChildren) \"/\" \"Work\"\r\n"),
        "{text}"
    );
    assert!(
        text.contains("* LIST (\\HasNoChildren) \"/\" \"Work/Project\"\r\n"),
        "{text}"
    );
    assert!(
        text.contains("* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\"\r\n"),
        "{text}"
    );
    let text = exchange(
        &mut session,
        b"d DELETE Work\r\ne DELETE Work/Project\r\nf CREATE Sent\r\n",
    );
    assert!(text.contains("d NO [HASCHILDREN]"), "{text}");
    assert!(text.contains("e OK DELETE completed"), "{text}");
    assert!(text.contains("f NO [ALREADYEXISTS]"), "{text}");
    let text = exchange(
        &mut session,
        b"g STATUS INBOX (MESSAGES UNSEEN UIDNEXT)\r\nh EXAMINE Nope\r\n",
    );
    assert!(
        text.contains("* STATUS \"INBOX\" (MESSAGES 1 UNSEEN 1 UIDNEXT 2)\r\n"),
        "{text}"
    );
    assert!(text.contains("h NO [NONEXISTENT]"), "{text}");
    assert_eq!(
        exchange(&mut session, b"i FETCH 1 FLAGS\r\n"),
        "i BAD no mailbox selected\r\n"
    );
}

#[test]
fn append_fetch_store_expunge() {
    let store = store();
    let mut session = selected(&store);
    let text = exchange(
        &mut session,
        b"a APPEND INBOX (\\Flagged) \" 4-Jan-1970 00:00:00 +0000\" {7}\r\n",
    );
    assert_eq!(text, "+ Ready for literal data\r\n");
    let text = exchange(&mut session, b"Hi\r\nyou\r\n");
    assert!(
        text.starts_with("* 1 EXISTS\r\n* 1 RECENT\r\na OK [APPENDUID "),
        "{text}"
    );
    let text = exchange(
        &mut session,
        b"b FETCH 1 (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])\r\n",
    );
    assert_eq!(
        text,
        "* 1 FETCH (UID 1 FLAGS (\\Flagged \\Recent) INTERNALDATE \" 4-Jan-1970 00:00:00 +0000\" RFC822.SIZE 7 \
         BODY[] {7}\r\nHi\r\nyou)\r\nb OK FETCH completed\r\n"
    );
    let text = exchange(&mut session, b"c UID FETCH 1:* BODY[]\r\n");
    assert!(
        text.starts_with("* 1 FETCH (UID 1 BODY[] {7}\r\nHi\r\nyou FLAGS ("),
        "{text}"
    );
    assert!(text.contains("\\Seen"), "{text}");
    let text = exchange(
        &mut session,
        b"d STORE 1 +FLAGS (\\Deleted)\r\ne STORE 1 -FLAGS.SILENT \\Flagged\r\n",
    );
    assert!(text.starts_with("* 1 FETCH (FLAGS ("), "{text}");
    assert!(text.contains("\\Deleted"), "{text}");
    assert!(
        text.ends_with("d OK STORE completed\r\ne OK STORE completed\r\n"),
        "{text}"
    );
    // Own flag changes are not reported a second time.
    let text = exchange(&mut session, b"f EXPUNGE\r\ng FETCH 1 FLAGS\r\n");
    assert_eq!(
        text,
        "* 1 EXPUNGE\r\nf OK EXPUNGE completed\r\ng BAD invalid sequence set\r\n"
    );
    let text = exchange(&mut session, b"h UNSELECT\r\ni CLOSE\r\n");
    assert_eq!(text, "h OK UNSELECT completed\r\ni BAD no mailbox selected\r\n");
}

#[test]
fn two_sessions_see_each_others_changes() {
    let store = store();
    for i in 0..3 {
        store
            .deliver("alice", format!("Subject: {i}\r\n\r\n").into_bytes(), 0)
            .expect("INBOX exists");
    }
    let mut one = selected(&store);
    let mut two = selected(&store);
    let text = exchange(&mut one, b"a STORE 2 +FLAGS.SILENT (\\Seen)\r\n");
    assert_eq!(text, "a OK STORE completed\r\n");
    assert_eq!(
        exchange(&mut two, b"b NOOP\r\n"),
        "* 2 FETCH (FLAGS (\\Seen) UID 2)\r\nb OK NOOP completed\r\n"
    );
    // Session one expunges messages 1 and 3; session two hears of it only at NOOP, not
    // during FETCH, and with numbers shifting as each is removed.
    exchange(
        &mut one,
        b"c STORE 1,3 +FLAGS.SILENT (\\Deleted)\r\nd EXPUNGE\r\n",
    );
    store
        .deliver("alice", b"Subject: new\r\n\r\n".to_vec(), 0)
        .expect("INBOX exists");
    let text = exchange(&mut two, b"e FETCH 3 UID\r\n");
    assert_eq!(
        text,
        "* 1 FETCH (FLAGS (\\Deleted) UID 1)\r\n* 3 FETCH (FLAGS (\\Deleted) UID 3)\r\ne OK FETCH completed\r\n"
    );
    let text = exchange(&mut two, b"f NOOP\r\n");
    assert_eq!(
        text,
        "* 1 EXPUNGE\r\n* 2 EXPUNGE\r\n* 2 EXISTS\r\n* 1 RECENT\r\nf OK NOOP completed\r\n"
    );
    let text = exchange(&mut two, b"g FETCH 1:* UID\r\n");
    assert_eq!(
        text,
        "* 1 FETCH (UID 2)\r\n* 2 FETCH (UID 4)\r\ng OK FETCH completed\r\n"
    );
}

#[test]
fn idle_pushes_updates() {
    let store = store();
    let mut session = selected(&store);
    assert_eq!(exchange(&mut session, b"i IDLE\r\n"), "+ idling\r\n");
    assert!(!session.has_pending_updates());
    store
        .deliver("alice", b"Subject: x\r\n\r\n".to_vec(), 0)
        .expect("INBOX exists");
    assert!(session.has_pending_updates());
    assert_eq!(drain(&mut session), "* 1 EXISTS\r\n* 1 RECENT\r\n");
    assert_eq!(exchange(&mut session, b"DONE\r\n"), "i OK IDLE terminated\r\n");
    // A deleted mailbox ends an idling session.
    store.create_mailbox("alice", "Box").expect("a new name");
    exchange(&mut session, b"s SELECT Box\r\nj IDLE\r\n");
    store.delete_mailbox("alice", "Box").expect("Box exists");
    assert!(session.has_pending_updates());
    assert_eq!(
        drain(&mut session),
        "* BYE selected mailbox was deleted\r\n<CLOSE>"
    );
    assert!(session.is_closed());
}

#[test]
fn shutdown_says_bye() {
    let mut session = Session::new(Config::default(), store());
    drain(&mut session);
    session.shutdown();
    assert_eq!(drain(&mut session), "* BYE server shutting down\r\n<CLOSE>");
    assert!(session.is_closed());
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..8)
    ) {
        let config = Config { max_line: 300, max_literal: 300, ..Config::default() };
        let mut session = Session::new(config, store());
        for chunk in &chunks {
            session.handle_input(chunk);
            while session.poll_output().is_some() {}
        }
    }

    #[test]
    fn command_soup_never_panics(lines in proptest::collection::vec(
        prop_oneof![
            Just("a LOGIN alice secret".to_owned()),
            Just("b SELECT INBOX".to_owned()),
            Just("c APPEND INBOX {3+}\r\nabc".to_owned()),
            Just("d APPEND INBOX {60+}\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n".to_owned()),
            Just("e ENABLE QRESYNC IMAP4rev2".to_owned()),
            Just("f SELECT INBOX (QRESYNC (1 1 1:*))".to_owned()),
            "[a-z] [A-Z]{1,6} [0-9:*,]{1,6} \\(?[A-Z.\\[\\]+\\\\ ]{0,20}\\)?",
            "[a-z] (FETCH|STORE|UID FETCH|UID STORE|EXPUNGE|LIST|STATUS|IDLE|DONE) [ -~]{0,30}",
            "[a-z] (UID )?FETCH [0-9:*,]{1,4} \\((ENVELOPE|BODYSTRUCTURE|BODY\\[[0-9.]{0,5}(MIME|HEADER|TEXT)?\\]|MODSEQ| ){1,4}\\)( \\(CHANGEDSINCE [0-9]{1,3}( VANISHED)?\\))?",
            "[a-z] (UID )?SEARCH (RETURN \\((MIN|MAX|ALL|COUNT| ){0,4}\\) )?(MODSEQ [0-9]{1,3}|SENTSINCE 1-Jan-2020|NOT SEEN|OR SEEN RECENT|HEADER Subject x)",
            "[a-z] (UID )?STORE [0-9:*,]{1,4} (\\(UNCHANGEDSINCE [0-9]{1,3}\\) )?[+-]?FLAGS(\\.SILENT)? \\(\\\\(Seen|Deleted|Recent)\\)",
            "[a-z] AUTHENTICATE (PLAIN|LOGIN|XOAUTH2|OAUTHBEARER)( [A-Za-z0-9+/=]{0,40})?",
        ], 0..20)) {
        let mut session = Session::new(
            Config { login_disabled_before_tls: false, ..Config::default() },
            store(),
        );
        for line in &lines {
            session.handle_input(line.as_bytes());
            session.handle_input(b"\r\n");
            while session.poll_output().is_some() {}
        }
    }
}

#[test]
fn examine_is_read_only_and_close_expunges() {
    let store = store();
    store
        .deliver("alice", b"Subject: a\r\n\r\nbody\r\n".to_vec(), 0)
        .expect("INBOX exists");
    let mut session = logged_in(&store);
    let text = exchange(&mut session, b"a EXAMINE INBOX\r\n");
    assert!(text.contains("* OK [PERMANENTFLAGS ()]"), "{text}");
    assert!(text.ends_with("a OK [READ-ONLY] EXAMINE completed\r\n"), "{text}");
    let text = exchange(
        &mut session,
        b"b FETCH 1 BODY[]\r\nc STORE 1 +FLAGS \\Deleted\r\nd EXPUNGE\r\n",
    );
    assert!(
        text.starts_with("* 1 FETCH (BODY[] {20}\r\nSubject: a\r\n\r\nbody\r\n)\r\nb OK"),
        "{text}"
    );
    assert!(
        text.contains("c NO [READ-ONLY]") && text.contains("d NO [READ-ONLY]"),
        "{text}"
    );
    let text = exchange(
        &mut session,
        b"e SELECT INBOX\r\nf STORE 1 FLAGS.SILENT (\\Deleted)\r\ng CLOSE\r\nh STATUS INBOX (MESSAGES)\r\n",
    );
    assert!(text.contains("g OK CLOSE completed\r\n"), "{text}");
    assert!(!text.contains("EXPUNGE"), "CLOSE expunges silently: {text}");
    assert!(text.contains("* STATUS \"INBOX\" (MESSAGES 0)"), "{text}");
}

#[test]
fn uid_commands_and_literal_plus_append() {
    let store = store();
    let mut session = selected(&store);
    let text = exchange(
        &mut session,
        b"a APPEND INBOX {2+}\r\nm1\r\nb APPEND INBOX {2+}\r\nm2\r\n",
    );
    assert!(!text.contains("+ Ready"), "{text}");
    assert!(text.contains("* 2 EXISTS\r\n"), "{text}");
    let text = exchange(
        &mut session,
        b"c UID STORE 2 +FLAGS (\\Deleted)\r\nd UID EXPUNGE 1\r\ne UID EXPUNGE 2\r\nf UID FETCH 1:* FLAGS\r\n",
    );
    assert_eq!(
        text,
        "* 2 FETCH (FLAGS (\\Deleted \\Recent) UID 2)\r\nc OK UID STORE completed\r\nd OK UID EXPUNGE completed\r\n\
         * 2 EXPUNGE\r\ne OK UID EXPUNGE completed\r\n* 1 FETCH (UID 1 FLAGS (\\Recent))\r\nf OK UID FETCH completed\r\n"
    );
}

#[test]
fn deleting_the_selected_mailbox_ends_the_session() {
    let store = store();
    store.create_mailbox("alice", "Box").expect("a new name");
    let mut one = logged_in(&store);
    exchange(&mut one, b"a SELECT Box\r\n");
    let mut two = logged_in(&store);
    assert_eq!(
        exchange(&mut two, b"b DELETE Box\r\n"),
        "b OK DELETE completed\r\n"
    );
    let text = exchange(&mut one, b"c NOOP\r\n");
    assert_eq!(
        text,
        "* BYE selected mailbox was deleted\r\nc OK NOOP completed\r\n<CLOSE>"
    );
}

#[test]
fn copy_move_rename_subscribe() {
    let store = store();
    for i in 0..3 {
        store
            .deliver("alice", format!("Subject: {i}\r\n\r\n").into_bytes(), 0)
            .expect("INBOX exists");
    }
    let mut session = selected(&store);
    let archive = store.status("alice", "Trash").expect("Trash exists").uidvalidity;
    let text = exchange(&mut session, b"a COPY 1:2 Trash\r\nb COPY 1 Nope\r\n");
    assert_eq!(
        text,
        format!(
            "a OK [COPYUID {archive} 1:2 1:2] COPY completed\r\nb NO [TRYCREATE] no such mailbox: Nope\r\n"
        )
    );
    let text = exchange(&mut session, b"c UID MOVE 2:3 Trash\r\n");
    assert_eq!(
        text,
        format!(
            "* OK [COPYUID {archive} 2:3 3:4] moved\r\n* 2 EXPUNGE\r\n* 2 EXPUNGE\r\nc OK UID MOVE completed\r\n"
        )
    );
    let text = exchange(
        &mut session,
        b"d RENAME Trash Bin\r\ne UNSUBSCRIBE Sent\r\nf SUBSCRIBE Bin\r\ng LSUB \"\" *\r\nh STATUS Bin (MESSAGES)\r\n",
    );
    assert!(text.contains("d OK RENAME completed\r\n"), "{text}");
    assert!(text.contains("* LSUB () \"/\" \"Bin\"\r\n"), "{text}");
    assert!(!text.contains("\"Sent\""), "{text}");
    assert!(text.contains("* STATUS \"Bin\" (MESSAGES 4)"), "{text}");
}

#[test]
fn search() {
    let store = store();
    let messages: [&[u8]; 3] = [
        b"Subject: Hello\r\nFrom: Bob <bob@example.test>\r\n\r\nfirst body\r\n",
        b"Subject: other\r\n topic folded\r\n\r\nsecond\r\n",
        b"Subject: hello again\r\n\r\nthird body, a longer one\r\n",
    ];
    for (i, raw) in messages.into_iter().enumerate() {
        let date = 1_700_000_000 + i as i64 * 86_400;
        store
            .append("alice", "INBOX", raw.to_vec(), Flags::new(), date)
            .expect("INBOX exists");
    }
    let mut session = selected(&store);
    exchange(&mut session, b"a STORE 2 +FLAGS.SILENT (\\Seen)\r\n");
    let cases: [(&[u8], &str); 10] = [
        (b"ALL", "1 2 3"),
        (b"SUBJECT hello", "1 3"),
        (b"HEADER Subject \"TOPIC FOLDED\"", "2"),
        (b"FROM bob BODY body", "1"),
        (b"UNSEEN NOT 3", "1"),
        (b"OR SEEN 3", "2 3"),
        (b"(SEEN) LARGER 10", "2"),
        (b"CHARSET UTF-8 TEXT longer", "3"),
        (b"SINCE 15-Nov-2023 BEFORE 16-Nov-2023", "2"),
        (b"2:* ON 16-Nov-2023", "3"),
    ];
    for (criteria, expected) in cases {
        let mut line = b"s SEARCH ".to_vec();
        line.extend_from_slice(criteria);
        line.extend_from_slice(b"\r\n");
        let text = exchange(&mut session, &line);
        assert_eq!(text, format!("* SEARCH {expected}\r\ns OK SEARCH completed\r\n"));
    }
    let text = exchange(&mut session, b"u UID SEARCH UID 2:* UNSEEN\r\nv SEARCH FROB\r\n");
    assert_eq!(
        text,
        "* SEARCH 3\r\nu OK UID SEARCH completed\r\nv BAD invalid sequence set\r\n"
    );
    let mut deep = b"w SEARCH".to_vec();
    deep.extend(std::iter::repeat_n(&b" NOT"[..], 1000).flatten());
    deep.extend_from_slice(b" ALL\r\n");
    assert_eq!(exchange(&mut session, &deep), "w BAD lists nested too deep\r\n");
}

#[test]
fn preauth_id_namespace_enable() {
    let config = Config {
        preauth: Some("alice".to_owned()),
        ..Config::default()
    };
    let mut session = Session::new(config, store());
    let text = exchange(
        &mut session,
        b"a ID NIL\r\nb NAMESPACE\r\nc ENABLE CONDSTORE\r\nd LOGIN alice secret\r\n",
    );
    assert!(text.starts_with("* PREAUTH [CAPABILITY IMAP4rev1 "), "{text}");
    assert!(
        text.contains("* ID (\"name\" \"mailrig\")\r\na OK ID completed\r\n"),
        "{text}"
    );
    assert!(
        text.contains("* NAMESPACE ((\"\" \"/\")) NIL NIL\r\nb OK"),
        "{text}"
    );
    assert!(
        text.contains("* ENABLED CONDSTORE\r\nc OK ENABLE completed\r\n"),
        "{text}"
    );
    assert!(text.ends_with("d BAD already authenticated\r\n"), "{text}");
}

#[test]
fn fetch_sections_and_partials() {
    let store = store();
    store
        .deliver("alice", b"From: a\r\nSubject: b\r\n\r\nbody\r\n".to_vec(), 0)
        .expect("INBOX exists");
    let mut session = selected(&store);
    let text = exchange(
        &mut session,
        b"a FETCH 1 (BODY.PEEK[HEADER.FIELDS (subject)] BODY.PEEK[TEXT]<1.2>)\r\nb FETCH 1 RFC822.HEADER\r\n",
    );
    assert_eq!(
        text,
        "* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {14}\r\nSubject: b\r\n\r\n BODY[TEXT]<1> {2}\r\nod)\r\n\
         a OK FETCH completed\r\n* 1 FETCH (RFC822.HEADER {23}\r\nFrom: a\r\nSubject: b\r\n\r\n)\r\n\
         b OK FETCH completed\r\n"
    );
    let text = exchange(&mut session, b"c FETCH 1 (BODY[1.BOGUS])\r\n");
    assert_eq!(text, "c BAD unsupported FETCH item BODY[1.BOGUS]\r\n");
}

/// RFC 9051 §9: `header-fld-name = astring`, so a field name may come as a quoted string or
/// a literal; it is decoded like any astring, and the response names it as an astring (an
/// atom where it can be), never echoing the literal's announcement.
#[test]
fn header_field_names_are_astrings() {
    let store = store();
    store
        .deliver(
            "alice",
            b"Subject: b\r\nX-Tag: t\r\nTo: c\r\n\r\nbody\r\n".to_vec(),
            0,
        )
        .expect("INBOX exists");
    let mut session = selected(&store);
    let text = exchange(
        &mut session,
        b"a FETCH 1 (BODY.PEEK[HEADER.FIELDS (Subject {5+}\r\nX-TAG)])\r\n\
          b FETCH 1 (BODY.PEEK[HEADER.FIELDS.NOT (\"To\" {3+}\r\na]b)])\r\n",
    );
    assert_eq!(
        text,
        "* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT X-TAG)] {24}\r\nSubject: b\r\nX-Tag: t\r\n\r\n)\r\n\
         a OK FETCH completed\r\n\
         * 1 FETCH (BODY[HEADER.FIELDS.NOT (TO \"A]B\")] {24}\r\nSubject: b\r\nX-Tag: t\r\n\r\n)\r\n\
         b OK FETCH completed\r\n"
    );
}

/// ENVELOPE, BODYSTRUCTURE, BODY, the ALL and FULL macros, and sections by part number
/// (RFC 9051 §6.4.5); the expected bytes were checked against Dovecot 2.3.19.
#[test]
fn fetch_structure_and_part_sections() {
    let store = store();
    let raw = include_bytes!("../../../../fixtures/messages/rfc822-attachment.eml");
    store.deliver("alice", raw.to_vec(), 0).expect("INBOX exists");
    let mut session = selected(&store);
    let text = exchange(&mut session, b"a FETCH 1 (BODY)\r\nb FETCH 1 ALL\r\n");
    let body = r#"(("text" "plain" ("charset" "utf-8") NIL NIL "8bit" 18 0)("message" "rfc822" NIL NIL "Forwarded message" "7bit" 275 ("Tue, 02 Jan 2024 12:00:00 +0000" "Lunch" (("Frank" NIL "frank" "example.test")) (("Frank" NIL "frank" "example.test")) (("Frank" NIL "frank" "example.test")) (("Dave" NIL "dave" "example.test")) NIL NIL "<plan-1@example.test>" "<lunch-1@example.test>") ("text" "plain" ("charset" "us-ascii" "format" "flowed") NIL NIL "7bit" 23 2) 10) "mixed")"#;
    let envelope = r#"("Wed, 03 Jan 2024 08:00:00 +0000" "Fwd: Lunch" (("Dave" NIL "dave" "example.test")) (("Dave" NIL "dave" "example.test")) (("Dave" NIL "dave" "example.test")) (("Alice" NIL "alice" "example.test")(NIL NIL "bob" "example.test")) (("Erin" NIL "erin" "example.test")) NIL NIL "<fwd-1@example.test>")"#;
    let fast = "FLAGS (\\Recent) INTERNALDATE \" 1-Jan-1970 00:00:00 +0000\" RFC822.SIZE 750";
    assert_eq!(
        text,
        format!(
            "* 1 FETCH (BODY {body})\r\na OK FETCH completed\r\n\
             * 1 FETCH ({fast} ENVELOPE {envelope})\r\nb OK FETCH completed\r\n"
        )
    );
    let text = exchange(&mut session, b"c FETCH 1 FULL\r\n");
    assert_eq!(
        text,
        format!("* 1 FETCH ({fast} ENVELOPE {envelope} BODY {body})\r\nc OK FETCH completed\r\n")
    );
    let text = exchange(
        &mut session,
        b"d FETCH 1 (BODY.PEEK[2.MIME] BODY.PEEK[2.TEXT] BODY.PEEK[2.HEADER.FIELDS (SUBJECT FROM)] \
          BODY.PEEK[2.1]<6.3> BODY.PEEK[2.2] BODY.PEEK[1.HEADER] BODY.PEEK[1])\r\n",
    );
    assert_eq!(
        text,
        "* 1 FETCH (BODY[2.MIME] {72}\r\nContent-Type: message/rfc822\r\nContent-Description: Forwarded message\r\n\r\n \
         BODY[2.TEXT] {23}\r\nLunch at noon?\r\nFrank\r\n \
         BODY[2.HEADER.FIELDS (SUBJECT FROM)] {52}\r\nFrom: Frank <frank@example.test>\r\nSubject: Lunch\r\n\r\n \
         BODY[2.1]<6> {3}\r\nat  BODY[2.2] {0}\r\n BODY[1.HEADER] {0}\r\n \
         BODY[1] {18}\r\nSee below. Gr\u{fc}\u{df}e)\r\nd OK FETCH completed\r\n"
    );
    let text = exchange(
        &mut session,
        b"e FETCH 1 BODY[0]\r\nf FETCH 1 BODY[1.]\r\ng FETCH 1 BODY[MIME]\r\n",
    );
    assert_eq!(
        text,
        "e BAD unsupported FETCH item BODY[0]\r\nf BAD unsupported FETCH item BODY[1.]\r\n\
         g BAD unsupported FETCH item BODY[MIME]\r\n"
    );
}

/// A client's view of the selected mailbox, kept up to date only from untagged responses.
#[derive(Debug, Default)]
struct ClientView {
    /// By sequence number: (UID if known, flags text if known).
    messages: Vec<(Option<u32>, Option<String>)>,
}

impl ClientView {
    /// Applies `* n EXISTS`, `* n EXPUNGE` and `* n FETCH (...)` lines, checking that every
    /// number is valid at the moment it arrives.
    fn apply(&mut self, text: &str) {
        for line in text.split("\r\n") {
            let mut words = line.splitn(3, ' ');
            let (Some("*"), Some(n), Some(rest)) = (words.next(), words.next(), words.next()) else {
                continue;
            };
            let Ok(n) = n.parse::<usize>() else { continue };
            if rest == "EXISTS" {
                assert!(n >= self.messages.len(), "EXISTS shrank the mailbox: {text}");
                self.messages.resize(n, (None, None));
            } else if rest == "EXPUNGE" {
                assert!((1..=self.messages.len()).contains(&n), "bad EXPUNGE {n}: {text}");
                self.messages.remove(n - 1);
            } else if let Some(items) = rest.strip_prefix("FETCH (") {
                assert!((1..=self.messages.len()).contains(&n), "bad FETCH {n}: {text}");
                let entry = &mut self.messages[n - 1];
                if let Some(at) = items.find("UID ") {
                    let uid = items[at + 4..]
                        .split([' ', ')'])
                        .next()
                        .and_then(|u| u.parse().ok());
                    entry.0 = uid.or(entry.0);
                }
                if let Some(at) = items.find("FLAGS (") {
                    let flags = &items[at + 7..];
                    entry.1 = flags.split(')').next().map(str::to_owned);
                }
            }
        }
    }
}

#[derive(Debug, Clone)]
enum Step {
    Deliver,
    Store(usize, usize, &'static str),
    Expunge(usize),
    Fetch(usize),
    Noop(usize),
}

fn step() -> impl Strategy<Value = Step> {
    let flags = prop_oneof![
        Just("+FLAGS (\\Deleted)"),
        Just("+FLAGS (\\Seen)"),
        Just("-FLAGS (\\Seen \\Deleted)")
    ];
    prop_oneof![
        Just(Step::Deliver),
        (0..2usize, 0..8usize, flags).prop_map(|(s, m, f)| Step::Store(s, m, f)),
        (0..2usize).prop_map(Step::Expunge),
        (0..2usize).prop_map(Step::Fetch),
        (0..2usize).prop_map(Step::Noop),
    ]
}

proptest! {
    /// Two sessions and SMTP-like deliveries, interleaved at random: every untagged number is
    /// valid when sent, and after a NOOP both sessions agree with the store on the message
    /// count, the UID map and the flags.
    #[test]
    fn sessions_stay_in_sync(steps in proptest::collection::vec(step(), 1..40)) {
        let store = store();
        let mut sessions = [selected(&store), selected(&store)];
        let mut views = [ClientView::default(), ClientView::default()];
        for step in steps {
            match step {
                Step::Deliver => {
                    store.deliver("alice", b"Subject: x\r\n\r\n".to_vec(), 0).expect("INBOX exists");
                }
                Step::Store(s, m, flags) => {
                    let count = views[s].messages.len();
                    if count > 0 {
                        let line = format!("t STORE {} {flags}\r\n", m % count + 1);
                        views[s].apply(&exchange(&mut sessions[s], line.as_bytes()));
                    }
                }
                Step::Expunge(s) => views[s].apply(&exchange(&mut sessions[s], b"t EXPUNGE\r\n")),
                Step::Fetch(s) => {
                    let text = exchange(&mut sessions[s], b"t FETCH 1:* (FLAGS)\r\n");
                    prop_assert!(!text.contains("EXPUNGE"), "EXPUNGE during FETCH: {}", text);
                    views[s].apply(&text);
                }
                Step::Noop(s) => views[s].apply(&exchange(&mut sessions[s], b"t NOOP\r\n")),
            }
        }
        let snapshot = store.messages("alice", "INBOX").expect("INBOX exists");
        // Every message arrived after both SELECTs: exactly one session has it as \Recent.
        let mut recent_in = vec![0; snapshot.messages.len()];
        for (session, view) in sessions.iter_mut().zip(&mut views) {
            view.apply(&exchange(session, b"t NOOP\r\n"));
            view.apply(&exchange(session, b"t FETCH 1:* (UID FLAGS)\r\n"));
            prop_assert_eq!(view.messages.len(), snapshot.messages.len());
            for (i, ((uid, flags), message)) in view.messages.iter().zip(&snapshot.messages).enumerate() {
                prop_assert_eq!(*uid, Some(message.uid));
                let flags = flags.as_deref().unwrap_or_default();
                let words: Vec<&str> = flags.split(' ').filter(|w| !w.is_empty()).collect();
                recent_in[i] += usize::from(words.contains(&"\\Recent"));
                let others: Vec<&str> = words.into_iter().filter(|w| *w != "\\Recent").collect();
                let expected = crate::response::flag_list(&message.flags);
                prop_assert_eq!(others.join(" "), &expected[1..expected.len() - 1]);
            }
        }
        prop_assert!(recent_in.iter().all(|&n| n == 1), "{:?}", recent_in);
    }
}

#[test]
fn a_watch_that_falls_behind_resyncs() {
    let store = Store::with_change_log_limit(2);
    store
        .add_user(User::new("alice", "secret", ["alice@example.test"]))
        .expect("a new store has no users");
    for _ in 0..3 {
        store
            .deliver("alice", b"Subject: x\r\n\r\n".to_vec(), 0)
            .expect("INBOX exists");
    }
    let mut one = selected(&store);
    let mut two = selected(&store);
    exchange(
        &mut one,
        b"a STORE 1,3 +FLAGS.SILENT (\\Deleted)\r\nb EXPUNGE\r\n",
    );
    store
        .deliver("alice", b"Subject: y\r\n\r\n".to_vec(), 0)
        .expect("INBOX exists");
    let mut view = ClientView {
        messages: vec![(Some(1), None), (Some(2), None), (Some(3), None)],
    };
    view.apply(&exchange(&mut two, b"c NOOP\r\n"));
    let uids: Vec<Option<u32>> = view.messages.iter().map(|m| m.0).collect();
    assert_eq!(uids, vec![Some(2), Some(4)]);
}

mod appendlimit;
mod auth;
mod binary;
mod catenate;
mod compress;
mod esearch;
mod extensions;
mod issue9;
mod list_extended;
mod multiappend;
mod notify;
mod objectid;
mod quota;
mod sort;
mod storage;
mod thread;
mod versions;

/// A client that pipelines many large FETCHes and reads slowly: the session runs commands only
/// as fast as its responses are taken, so the queue stays near `OUTPUT_HIGH_WATER`.
#[test]
fn pipelined_commands_wait_while_responses_pile_up() {
    let store = store();
    let mut raw = b"Subject: big\r\n\r\n".to_vec();
    raw.resize(100 * 1024, b'x');
    store.deliver("alice", raw, 0).expect("INBOX exists");
    let mut session = selected(&store);
    let pipeline: Vec<u8> = (0..100)
        .flat_map(|i| format!("f{i} FETCH 1 BODY.PEEK[]\r\n").into_bytes())
        .collect();
    session.handle_input(&pipeline);
    assert!(
        session.queued <= OUTPUT_HIGH_WATER + 110 * 1024,
        "{} bytes queued",
        session.queued
    );
    assert!(!session.unread.is_empty(), "later commands wait");
    let text = drain(&mut session);
    assert_eq!(text.matches(" OK FETCH completed\r\n").count(), 100);
    assert!(text.ends_with("f99 OK FETCH completed\r\n"));
    assert!(session.unread.is_empty() && session.queued == 0);
}

/// Issue 11 §4: one output per response, each saying what it answers and what it is.
#[test]
fn each_response_is_one_output_with_its_step_and_kind() {
    let store = store();
    store
        .deliver("alice", b"Subject: x\r\n\r\nbody\r\n".to_vec(), 0)
        .expect("INBOX exists");
    let mut session = Session::new(Config::default(), store.clone());
    let mut input = b"a LOGIN alice secret\r\nb SELECT INBOX\r\nc FETCH 1 (FLAGS BODY[])\r\n".to_vec();
    input.extend_from_slice(b"d NOSUCH\r\n* BAD\r\ne APPEND INBOX {3}\r\n");
    session.handle_input(&input);
    session.handle_input(b"abc\r\nf IDLE\r\n");
    store
        .deliver("alice", b"Subject: y\r\n\r\n".to_vec(), 0)
        .expect("INBOX exists");
    session.handle_input(b"DONE\r\n");
    session.shutdown();
    let mut outputs = Vec::new();
    while let Some(output) = session.poll_output() {
        outputs.push(output);
    }
    let shape: Vec<(crate::Step, Kind, String)> = outputs
        .iter()
        .filter_map(|output| match output {
            Output::Response { to, kind, bytes, .. } => {
                let text = String::from_utf8_lossy(bytes);
                let head = text.split(" (").next().unwrap_or_default().trim_end().to_owned();
                Some((*to, *kind, head))
            }
            _ => None,
        })
        .collect();
    use crate::{Kind::*, Status as S, Step as St, Verb as V};
    let want = [
        (
            St::Greeting,
            Untagged,
            "* OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR UIDPLUS UNSELECT IDLE MOVE ID NAMESPACE ENABLE SPECIAL-USE CONDSTORE QRESYNC ESEARCH LIST-EXTENDED LIST-STATUS APPENDLIMIT=33554432 COMPRESS=DEFLATE SORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES ESORT CONTEXT=SEARCH CONTEXT=SORT MULTIAPPEND BINARY CATENATE QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE OBJECTID NOTIFY STATUS=SIZE STARTTLS AUTH=PLAIN AUTH=LOGIN AUTH=XOAUTH2 AUTH=OAUTHBEARER] mailrig ready",
        ),
        (
            St::Command(V::Login),
            Tagged(S::Ok),
            "a OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR UIDPLUS UNSELECT IDLE MOVE ID NAMESPACE ENABLE SPECIAL-USE CONDSTORE QRESYNC ESEARCH LIST-EXTENDED LIST-STATUS APPENDLIMIT=33554432 COMPRESS=DEFLATE SORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES ESORT CONTEXT=SEARCH CONTEXT=SORT MULTIAPPEND BINARY CATENATE QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE OBJECTID NOTIFY STATUS=SIZE] LOGIN completed",
        ),
        (St::Command(V::Select), Untagged, "* FLAGS"),
        (St::Command(V::Select), Untagged, "* 1 EXISTS"),
        (St::Command(V::Select), Untagged, "* 1 RECENT"),
        (St::Command(V::Select), Untagged, "* OK [UNSEEN 1] first unseen"),
        (
            St::Command(V::Select),
            Untagged,
            "* OK [UIDVALIDITY 1] UIDs valid",
        ),
        (
            St::Command(V::Select),
            Untagged,
            "* OK [UIDNEXT 2] predicted next UID",
        ),
        (St::Command(V::Select), Untagged, "* OK [PERMANENTFLAGS"),
        (St::Command(V::Select), Untagged, "* OK [MAILBOXID"),
        (
            St::Command(V::Select),
            Tagged(S::Ok),
            "b OK [READ-WRITE] SELECT completed",
        ),
        (St::Command(V::Fetch), Untagged, "* 1 FETCH"),
        (St::Command(V::Fetch), Tagged(S::Ok), "c OK FETCH completed"),
        (St::Unknown, Tagged(S::Bad), "d BAD unknown command"),
        (St::Unknown, Untagged, "* BAD missing or invalid tag"),
        (St::Literal, Continuation, "+ Ready for literal data"),
        (St::Command(V::Append), Untagged, "* 2 EXISTS"),
        (St::Command(V::Append), Untagged, "* 2 RECENT"),
        (
            St::Command(V::Append),
            Tagged(S::Ok),
            "e OK [APPENDUID 1 2] APPEND completed",
        ),
        (St::Command(V::Idle), Continuation, "+ idling"),
        (St::Command(V::Idle), Untagged, "* 3 EXISTS"),
        (St::Command(V::Idle), Untagged, "* 3 RECENT"),
        (St::Command(V::Idle), Tagged(S::Ok), "f OK IDLE terminated"),
        (St::Shutdown, Untagged, "* BYE server shutting down"),
    ];
    let want: Vec<(crate::Step, Kind, String)> =
        want.iter().map(|(s, k, t)| (*s, *k, (*t).to_owned())).collect();
    assert_eq!(shape, want);
    let data: Vec<DataKind> = outputs
        .iter()
        .filter_map(|output| match output {
            Output::Response { data, .. } => *data,
            _ => None,
        })
        .collect();
    use DataKind::{Bad, Bye, Exists, Fetch, Flags, Ok, Recent};
    assert_eq!(
        data,
        [
            Ok, Flags, Exists, Recent, Ok, Ok, Ok, Ok, Ok, Fetch, Bad, Exists, Recent, Exists, Recent, Bye
        ]
    );
    // The FETCH response holds its literal whole.
    let fetch = outputs.iter().find_map(|output| match output {
        Output::Response { bytes, .. } if bytes.starts_with(b"* 1 FETCH") => Some(bytes.clone()),
        _ => None,
    });
    let fetch = String::from_utf8(fetch.expect("a FETCH response")).unwrap();
    assert!(
        fetch.contains("BODY[] {20}\r\nSubject: x\r\n\r\nbody\r\n)\r\n"),
        "{fetch}"
    );
    assert!(fetch.ends_with(")\r\n"));
}

/// Every untagged response says which it is, and that is the name on the wire (after `* `
/// and, for message data, the number): data responses and status responses (`OK`, `BYE`...)
/// alike; completions and continuation requests say none.
#[test]
fn data_responses_carry_their_name() {
    let store = store();
    for subject in ["x", "y"] {
        store
            .deliver("alice", format!("Subject: {subject}\r\n\r\n").into_bytes(), 0)
            .expect("INBOX exists");
    }
    let mut other = selected(&store);
    let mut session = Session::new(Config::default(), store.clone());
    let script = b"a LOGIN alice secret\r\nb CAPABILITY\r\nc ID NIL\r\nd NAMESPACE\r\n\
        e ENABLE QRESYNC\r\nf LIST \"\" *\r\ng LSUB \"\" *\r\nh STATUS INBOX (MESSAGES)\r\n\
        i SELECT INBOX\r\nj SEARCH ALL\r\nk ENABLE IMAP4rev2\r\nl FETCH 1 FLAGS\r\n";
    session.handle_input(script);
    exchange(&mut other, b"x STORE 1 +FLAGS (\\Deleted)\r\ny EXPUNGE\r\n");
    session.handle_input(b"m NOOP\r\nn UNSELECT\r\no ENABLE IMAP4rev2\r\np SELECT INBOX\r\nq SEARCH ALL\r\n");
    let mut seen = Vec::new();
    while let Some(output) = session.poll_output() {
        let Output::Response { data, bytes, .. } = output else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        let mut words = text.split([' ', '\r']).skip(1);
        let name = match words.next() {
            Some(number) if number.bytes().all(|b| b.is_ascii_digit()) => words.next(),
            word => word,
        };
        match data {
            Some(kind) => {
                assert_eq!(Some(kind.name()), name, "{text}");
                seen.push(kind);
            }
            None => assert!(!text.starts_with("* "), "{text}"),
        }
    }
    use DataKind::*;
    let every = [
        Capability, Enabled, Id, Namespace, Flags, List, Lsub, Status, Search, Esearch, Exists, Recent,
        Vanished, Fetch, Ok,
    ];
    for kind in every {
        assert!(seen.contains(&kind), "{kind:?} not seen in {seen:?}");
    }
}

/// An unknown command is answered like any other: pending updates, then its BAD.
#[test]
fn an_unknown_command_reports_pending_updates_first() {
    let store = store();
    let mut session = selected(&store);
    store
        .deliver("alice", b"Subject: y\r\n\r\n".to_vec(), 0)
        .expect("INBOX exists");
    let text = exchange(&mut session, b"u NOSUCH\r\n");
    assert!(
        text.ends_with("EXISTS\r\n* 1 RECENT\r\nu BAD unknown command\r\n"),
        "{text}"
    );
}
