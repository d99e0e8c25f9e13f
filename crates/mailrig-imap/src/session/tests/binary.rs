//! BINARY (RFC 3516): FETCH BINARY, BINARY.PEEK and BINARY.SIZE decode base64 and
//! quoted-printable parts, an unknown encoding is `NO [UNKNOWN-CTE]`, and APPEND takes a
//! `literal8` whose NUL comes back in a `~{n}` literal8.

use super::*;

/// A message with a base64 part (bytes 0, 1, 2, 255), a quoted-printable one and an
/// x-uuencode one.
const MESSAGE: &[u8] = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n\
--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC/w==\r\n\
--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9 =\r\nau lait\r\n\
--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 x\r\n\
--b--\r\n";

fn session_with(extensions: Extensions) -> (Store, Session) {
    let store = store();
    store
        .append("alice", "INBOX", MESSAGE, Flags::new(), 0)
        .expect("INBOX exists");
    let config = Config {
        extensions,
        ..Config::default()
    };
    let mut session = Session::new(config, store.clone());
    drain(&mut session);
    exchange(&mut session, b"l LOGIN alice secret\r\ns SELECT INBOX\r\n");
    (store, session)
}

/// RFC 3516 §4.2: decoded content, sizes, partials; a NUL makes the literal a literal8
/// (§4.3); PEEK and SIZE leave `\Seen` alone.
#[test]
fn decodes_parts() {
    let (_, mut session) = session_with(Extensions::default());
    let text = exchange(
        &mut session,
        b"a FETCH 1 (BINARY.SIZE[1] BINARY.PEEK[1] BINARY.SIZE[2] BINARY.PEEK[2]<1.4>)\r\n",
    );
    assert_eq!(
        text,
        "* 1 FETCH (BINARY.SIZE[1] 4 BINARY[1] ~{4}\r\n\0\x01\x02\u{fffd} BINARY.SIZE[2] 13 \
         BINARY[2]<1> {4}\r\naf\u{e9})\r\na OK FETCH completed\r\n"
    );
    let text = exchange(&mut session, b"b FETCH 1 BINARY[2]\r\n");
    assert_eq!(
        text,
        "* 1 FETCH (BINARY[2] {13}\r\ncaf\u{e9} au lait FLAGS (\\Seen \\Recent))\r\nb OK FETCH completed\r\n"
    );
}

/// RFC 3516 §4.2: an encoding the server cannot decode is `NO [UNKNOWN-CTE]`, and no data
/// (and no `\Seen`) comes before it.
#[test]
fn unknown_encoding() {
    let (_, mut session) = session_with(Extensions::default());
    let text = exchange(
        &mut session,
        b"a FETCH 1 (FLAGS BINARY[3])\r\nb FETCH 1 FLAGS\r\n",
    );
    assert_eq!(
        text,
        "a NO [UNKNOWN-CTE] unknown Content-Transfer-Encoding x-uuencode\r\n\
         * 1 FETCH (FLAGS (\\Recent))\r\nb OK FETCH completed\r\n"
    );
}

/// RFC 3516 §4.4: APPEND with a literal8 holding NUL; BINARY[] returns it as a literal8.
#[test]
fn append_literal8() {
    let (store, mut session) = session_with(Extensions::default());
    let text = exchange(&mut session, b"a APPEND INBOX ~{8}\r\nA: \0\r\n\r\n\r\n");
    assert_eq!(
        text,
        "+ Ready for literal data\r\n* 2 EXISTS\r\n* 2 RECENT\r\na OK [APPENDUID 1 2] APPEND completed\r\n"
    );
    assert_eq!(
        &store.messages("alice", "INBOX").expect("INBOX").messages[1].raw[..],
        b"A: \0\r\n\r\n"
    );
    let text = exchange(
        &mut session,
        b"b FETCH 2 BINARY.PEEK[]\r\nc LOGIN ~{1}\r\nx y\r\n",
    );
    assert_eq!(
        text,
        "* 2 FETCH (BINARY[] ~{8}\r\nA: \0\r\n\r\n)\r\nb OK FETCH completed\r\n\
         + Ready for literal data\r\nc BAD literal8 is not allowed here\r\n"
    );
}

/// Switched off: not listed, BINARY items and literal8 are `BAD`; a NUL in a plain literal
/// stays `BAD` either way.
#[test]
fn switched_off() {
    let (store, mut session) = session_with(Extensions {
        binary: false,
        ..Extensions::default()
    });
    let text = exchange(&mut session, b"c CAPABILITY\r\n");
    assert!(!text.contains("BINARY"), "{text}");
    let text = exchange(
        &mut session,
        b"a FETCH 1 BINARY.PEEK[1]\r\nb APPEND INBOX ~{3}\r\nA\0B\r\nd APPEND INBOX {3}\r\nA\0B\r\n",
    );
    assert_eq!(
        text,
        "a BAD unsupported FETCH item BINARY\r\n+ Ready for literal data\r\n\
         b BAD literal8 is not allowed here\r\n+ Ready for literal data\r\nd BAD NUL is not allowed in a string\r\n"
    );
    assert_eq!(store.messages("alice", "INBOX").expect("INBOX").messages.len(), 1);
}
