//! imap-codec as an oracle for the server's output: sessions run a broad script of commands
//! and every byte written must parse as one greeting and then whole responses, with nothing
//! left over. We keep our own encoder; this catches unbalanced parentheses, bad literals,
//! malformed ENVELOPE/BODYSTRUCTURE and the like. The generated multi-session runs of
//! `tests/sync` go through the same decoder (`sync/codec.rs`), CONDSTORE and QRESYNC output
//! included; its negative test covers malformed VANISHED and MODSEQ.

#[path = "sync/codec.rs"]
mod codec;

use mailrig_imap::{Config, Output, Session};
use mailrig_store::{Store, User};

const FIXTURES: [&[u8]; 5] = [
    include_bytes!("../../../fixtures/messages/hello.eml"),
    include_bytes!("../../../fixtures/messages/alternative-related.eml"),
    include_bytes!("../../../fixtures/messages/rfc822-attachment.eml"),
    include_bytes!("../../../fixtures/messages/base64-attachment.eml"),
    include_bytes!("../../../fixtures/messages/encoded-group.eml"),
];

/// Messages that stress the encoder: 8-bit and quoted header values, broken MIME.
const ODD: [&[u8]; 3] = [
    "Subject: 8bit \u{e4} \"q\" \\\r\nFrom: \"J\u{f6}rg\" <j@x>, group: ;\r\nTo: <>, bad@\r\n\r\nx\r\n"
        .as_bytes(),
    b"Content-Type: multipart/mixed\r\n\r\nno boundary\r\n",
    b"no header at all",
];

fn store() -> Store {
    let store = Store::new();
    store
        .add_user(User::new("alice", "secret", ["alice@example.test"]))
        .expect("a new store has no users");
    store
}

/// Feeds each chunk in turn and returns every byte written.
fn run(store: &Store, chunks: &[Vec<u8>]) -> Vec<u8> {
    let mut session = Session::new(Config::default(), store.clone());
    session.set_time(1_700_000_000);
    let mut out = Vec::new();
    let drain = |session: &mut Session, out: &mut Vec<u8>| {
        while let Some(output) = session.poll_output() {
            if let Output::Response { bytes, .. } = output {
                out.extend(bytes);
            }
        }
    };
    drain(&mut session, &mut out);
    for chunk in chunks {
        session.handle_input(chunk);
        drain(&mut session, &mut out);
    }
    out
}

/// Parses `output` as a greeting followed by responses; panics naming the first response
/// that does not parse. Returns the number of responses.
fn check(output: &[u8]) -> usize {
    codec::decode(output, true).unwrap_or_else(|e| panic!("{e}"))
}

fn append(tag: &str, raw: &[u8]) -> Vec<Vec<u8>> {
    // A synchronizing literal: the command line, then the data after the continuation.
    vec![
        format!("{tag} APPEND INBOX (\\Flagged) {{{}}}\r\n", raw.len()).into_bytes(),
        [raw, b"\r\n"].concat(),
    ]
}

fn script(lines: &[&str]) -> Vec<Vec<u8>> {
    lines
        .iter()
        .map(|line| format!("{line}\r\n").into_bytes())
        .collect()
}

#[test]
fn every_response_parses() {
    let store = store();
    let mut chunks = script(&[
        "a1 CAPABILITY",
        "a2 NOOP",
        "a3 LOGIN alice wrong",
        "a4 LOGIN alice secret",
        "a5 CAPABILITY",
        "a6 LIST \"\" \"*\"",
        "a7 LSUB \"\" \"*\"",
        "a8 CREATE Archive",
        "a9 CREATE Archive",
        "b1 STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN RECENT)",
        "b2 SELECT INBOX",
        "b3 NAMESPACE",
        "b4 ID NIL",
        "b5 ENABLE CONDSTORE",
    ]);
    for (i, raw) in FIXTURES.iter().chain(ODD.iter()).enumerate() {
        chunks.extend(append(&format!("c{i}"), raw));
    }
    chunks.push(b"c9 APPEND INBOX {5+}\r\nx\r\ny\r\n".to_vec());
    chunks.extend(script(&[
        "d1 NOOP",
        "d2 FETCH 1:* (FLAGS UID INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY)",
        "d3 FETCH 1:* ALL",
        "d4 FETCH 1:* FULL",
        "d5 FETCH 1:* FAST",
        "d6 FETCH 1:* (BODY.PEEK[] BODY.PEEK[HEADER] BODY.PEEK[TEXT]<0.10> BODY.PEEK[1] BODY.PEEK[1.MIME])",
        "d7 FETCH 1:* (BODY.PEEK[2] BODY.PEEK[2.MIME] BODY.PEEK[2.HEADER] BODY.PEEK[2.TEXT]<3.4> BODY.PEEK[2.1.2])",
        "d8 FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)] BODY.PEEK[HEADER.FIELDS.NOT (SUBJECT)] BODY.PEEK[2.HEADER.FIELDS (SUBJECT)])",
        "d9 FETCH 2 (RFC822.HEADER RFC822.TEXT RFC822)",
        "da FETCH 1 (BODY.PEEK[HEADER.FIELDS (\"Subject\" \"a]b\" \"q\\\"t\")] BODY.PEEK[HEADER.FIELDS.NOT ({5+}\r\nX-TAG)])",
        "e1 UID FETCH 1:* (FLAGS BODY[1]<0.5>)",
        "e2 FETCH 99 FLAGS",
        "e3 FETCH 1 (FLAGS BOGUS)",
        "e4 STORE 1 +FLAGS (\\Deleted)",
        "e5 STORE 2 FLAGS.SILENT (\\Seen $Junk)",
        "e6 UID STORE 3 -FLAGS (\\Flagged)",
        "e7 SEARCH ALL",
        "e8 UID SEARCH FLAGGED",
        "e9 SEARCH SUBJECT \"Lunch\" NOT DELETED",
        "f1 COPY 1:2 Archive",
        "f2 UID COPY 3 Archive",
        "f3 MOVE 4 Archive",
        "f4 EXPUNGE",
        "f5 UID EXPUNGE 5",
        "f6 COPY 1 Nowhere",
        "f7 STATUS Archive (MESSAGES UIDNEXT)",
        "f8 IDLE",
        "DONE",
        "f9 EXAMINE Archive",
        "g1 STORE 1 +FLAGS (\\Seen)",
        "g2 FETCH 1:* (FLAGS ENVELOPE)",
        "g3 SELECT Nowhere",
        "g4 FROB",
        "g5 LOGIN alice secret",
        "g6 RENAME Archive Old",
        "g7 SUBSCRIBE Old",
        "g8 LSUB \"\" \"*\"",
        "g9 UNSELECT",
        "h1 SELECT INBOX",
        "h2 CLOSE",
        "h3 DELETE Old",
        "h4 LOGOUT",
    ]));
    let output = run(&store, &chunks);
    let text = String::from_utf8_lossy(&output);
    // The script reached its end and exercised what it meant to.
    assert!(text.ends_with("h4 OK LOGOUT completed\r\n"), "{text}");
    for expected in [
        "d2 OK FETCH completed",
        "d7 OK FETCH completed",
        "ENVELOPE (\"Fri, 05 Jan 2024 09:00:00 +0000\"",
        "BODYSTRUCTURE ((\"text\" \"plain\"",
        "+ ",
        "f8 OK IDLE",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in {text}");
    }
    let count = check(&output);
    assert!(count > 100, "{count}");
}

#[test]
fn bad_input_paths_parse() {
    let store = store();
    let chunks = script(&[
        "+++",
        "* NOOP",
        "a FETCH 1 FLAGS",
        "b SELECT INBOX",
        "c LOGIN \"alice\" \"secret\"",
        "d LIST (",
        "e SELECT INBOX",
        "f FETCH 1 FLAGS",
        "g FETCH x FLAGS",
        "h STORE 1 FLAGS",
        "i SEARCH FROBNICATE",
        "j LOGOUT",
    ]);
    let output = run(&store, &chunks);
    assert!(check(&output) >= 12, "{}", String::from_utf8_lossy(&output));
}

/// NOTIFY's unsolicited responses (RFC 5465 §3.1, §5.1–§5.5, §5.8): STATUS for message and
/// flag events in other mailboxes (HIGHESTMODSEQ with CONDSTORE), LIST for created,
/// subscribed and deleted mailboxes, and `OK [NOTIFICATIONOVERFLOW]`. One session asks;
/// another makes the changes, since a session is not told of its own (§5). The renamed
/// mailbox's LIST with OLDNAME is skipped by the decoder (imap-codec has no LIST-EXTENDED);
/// the grammar audit checks it.
#[test]
fn notify_responses_parse() {
    let store = Store::with_change_log_limit(8);
    store
        .add_user(User::new("alice", "secret", ["alice@example.test"]))
        .expect("a new store has no users");
    let mut notified = Session::new(Config::default(), store.clone());
    let mut other = Session::new(Config::default(), store.clone());
    let mut out = drain(&mut notified);
    drain(&mut other);
    out.extend(say(
        &mut notified,
        "a1 LOGIN alice secret\r\na2 ENABLE CONDSTORE\r\na3 SELECT INBOX\r\n\
         a4 NOTIFY SET STATUS (selected (MessageNew (UID FLAGS) MessageExpunge)) \
         (personal (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange))\r\n",
    ));
    say(
        &mut other,
        "b1 LOGIN alice secret\r\nb2 APPEND Sent {12+}\r\nSubject: x\r\n\r\n\
         b3 APPEND INBOX {12+}\r\nSubject: y\r\n\r\nb4 SELECT Sent\r\n\
         b5 STORE 1 +FLAGS (\\Seen)\r\nb6 CREATE Work/a\r\nb7 SUBSCRIBE Work/a\r\n",
    );
    out.extend(say(&mut notified, "a5 NOOP\r\n"));
    say(&mut other, "b8 RENAME Work/a Work/b\r\nb9 DELETE Work/b\r\n");
    out.extend(say(&mut notified, "a6 NOOP\r\n"));
    for _ in 0..9 {
        say(&mut other, "c APPEND Drafts {12+}\r\nSubject: z\r\n\r\n");
    }
    out.extend(say(&mut notified, "a7 NOOP\r\n"));
    let text = String::from_utf8_lossy(&out);
    for expected in [
        "* STATUS \"Sent\" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY 2 UNSEEN 0 HIGHESTMODSEQ",
        "* 1 FETCH (UID 1 FLAGS (\\Recent))",
        "* LIST (\\HasChildren) \"/\" \"Work\"",
        "* LIST (\\HasNoChildren \\Subscribed) \"/\" \"Work/a\"",
        "(\"OLDNAME\" (\"Work/a\"))",
        "* LIST (\\NonExistent) \"/\" \"Work/b\"",
        "* OK [NOTIFICATIONOVERFLOW]",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in {text}");
    }
    assert!(check(&out) >= 14, "{text}");
}

fn drain(session: &mut Session) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(output) = session.poll_output() {
        if let Output::Response { bytes, .. } = output {
            out.extend(bytes);
        }
    }
    out
}

fn say(session: &mut Session, input: &str) -> Vec<u8> {
    session.handle_input(input.as_bytes());
    drain(session)
}

/// The oracle itself must reject what we guard against.
#[test]
fn checker_rejects_broken_output() {
    let greeting = b"* OK ready\r\n".to_vec();
    for broken in [
        &b"* 1 FETCH (FLAGS ()\r\n"[..],
        b"* 1 FETCH (FLAGS ()))\r\n",
        b"* 1 FETCH (BODY[] {5}\r\nabc)\r\n",
        b"* 1 FETCH (ENVELOPE (NIL NIL))\r\n",
        b"* 1 FETCH (BODYSTRUCTURE (\"text\" \"plain\" NIL))\r\n",
        // NOTIFY's shapes, broken: a STATUS item without its number, an unbalanced list,
        // a LIST without its delimiter, a response code left open.
        b"* STATUS \"Sent\" (MESSAGES UIDNEXT 2)\r\n",
        b"* STATUS \"Sent\" (MESSAGES 1\r\n",
        b"* LIST (\\NonExistent) \"Work/b\"\r\n",
        b"* OK [NOTIFICATIONOVERFLOW notifications off\r\n",
    ] {
        let output = [greeting.clone(), broken.to_vec()].concat();
        let result = std::panic::catch_unwind(|| check(&output));
        assert!(result.is_err(), "accepted {:?}", String::from_utf8_lossy(broken));
    }
    assert_eq!(
        check(&[greeting, b"* 1 FETCH (FLAGS ())\r\n".to_vec()].concat()),
        1
    );
}
