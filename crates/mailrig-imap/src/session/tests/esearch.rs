//! ESEARCH in IMAP4rev1 (RFC 4731): `SEARCH RETURN (...)` is answered with `* ESEARCH`, a
//! SEARCH without RETURN still with `* SEARCH`, and with the extension off RETURN is `BAD`.

use super::*;

/// A rev1-only session with `extensions`, alice logged in, INBOX selected with 4 messages of
/// which 2 and 4 are `\Seen`.
fn rev1_selected(extensions: Extensions) -> Session {
    let store = store();
    for i in 1..=4 {
        let flags = if i % 2 == 0 { "\\Seen" } else { "" };
        let message = format!("Subject: {i}\r\n\r\nbody\r\n");
        let flags = Flags::parse(flags.split_whitespace()).expect("a system flag");
        store
            .append("alice", "INBOX", message.as_bytes(), flags, 0)
            .expect("INBOX exists");
    }
    let config = Config {
        extensions,
        versions: Versions::Rev1,
        ..Config::default()
    };
    let mut session = Session::new(config, store);
    drain(&mut session);
    let text = exchange(&mut session, b"l LOGIN alice secret\r\ns SELECT INBOX\r\n");
    assert!(text.ends_with("s OK [READ-WRITE] SELECT completed\r\n"), "{text}");
    session
}

/// RFC 4731 §3.1's examples: MIN/MAX/COUNT/ALL, `RETURN ()` meaning ALL, nothing found (no
/// MIN, MAX or ALL, but COUNT 0), UID SEARCH tagged `UID`; a SEARCH without RETURN keeps the
/// IMAP4rev1 answer.
#[test]
fn return_options_answer_esearch_in_rev1() {
    let mut session = rev1_selected(Extensions::default());
    let text = exchange(&mut session, b"c CAPABILITY\r\n");
    assert!(text.contains(" ESEARCH "), "{text}");
    let text = exchange(
        &mut session,
        b"a SEARCH RETURN (MIN MAX COUNT) UNSEEN\r\nb SEARCH RETURN () ALL\r\n\
          c UID SEARCH RETURN (ALL COUNT) SEEN\r\nd SEARCH RETURN (MIN MAX COUNT) DELETED\r\n\
          e SEARCH UNSEEN\r\nf SEARCH RETURN (SAVE) ALL\r\n",
    );
    assert_eq!(
        text,
        "* ESEARCH (TAG \"a\") MIN 1 MAX 3 COUNT 2\r\na OK SEARCH completed\r\n\
         * ESEARCH (TAG \"b\") ALL 1:4\r\nb OK SEARCH completed\r\n\
         * ESEARCH (TAG \"c\") UID ALL 2,4 COUNT 2\r\nc OK UID SEARCH completed\r\n\
         * ESEARCH (TAG \"d\") COUNT 0\r\nd OK SEARCH completed\r\n\
         * SEARCH 1 3\r\ne OK SEARCH completed\r\n\
         f BAD unsupported RETURN option SAVE\r\n"
    );
}

/// With ESEARCH off, an IMAP4rev1 server does not advertise it and reads RETURN as a search
/// key, which it is not (`BAD`).
#[test]
fn switched_off_return_is_bad() {
    let mut session = rev1_selected(Extensions {
        esearch: false,
        ..Extensions::default()
    });
    let text = exchange(&mut session, b"c CAPABILITY\r\n");
    assert!(!text.contains("ESEARCH"), "{text}");
    let text = exchange(&mut session, b"a SEARCH RETURN (COUNT) ALL\r\nb SEARCH SEEN\r\n");
    assert_eq!(
        text,
        "a BAD invalid sequence set\r\n* SEARCH 2 4\r\nb OK SEARCH completed\r\n"
    );
}
