//! APPENDLIMIT (RFC 7889): the literal limit advertised as `APPENDLIMIT=n`, reported by the
//! STATUS item `APPENDLIMIT` (and LIST-STATUS), and enforced with `NO [TOOBIG]`.

use super::*;
use crate::defect::{Defect, Defects};

/// A session whose literals may be 100 bytes, with `extensions`, alice logged in.
fn session(extensions: Extensions) -> Session {
    let config = Config {
        max_literal: 100,
        extensions,
        ..Config::default()
    };
    let mut session = Session::new(config, store());
    drain(&mut session);
    let text = exchange(&mut session, b"l LOGIN alice secret\r\n");
    assert!(text.contains(" APPENDLIMIT=100 "), "{text}");
    session
}

/// RFC 7889 §3 (capability, and "the server MUST reject ... with the TOOBIG response code")
/// and §4 (STATUS APPENDLIMIT).
#[test]
fn advertised_reported_and_enforced() {
    let mut session = session(Extensions::default());
    let text = exchange(
        &mut session,
        b"a STATUS INBOX (APPENDLIMIT MESSAGES)\r\nb LIST \"\" INBOX RETURN (STATUS (APPENDLIMIT))\r\n\
          c APPEND INBOX {101}\r\nd APPEND INBOX {100}\r\n",
    );
    assert_eq!(
        text,
        "* STATUS \"INBOX\" (APPENDLIMIT 100 MESSAGES 0)\r\na OK STATUS completed\r\n\
         * LIST (\\HasNoChildren) \"/\" \"INBOX\"\r\n* STATUS \"INBOX\" (APPENDLIMIT 100)\r\nb OK LIST completed\r\n\
         c NO [TOOBIG] literal too large\r\n+ Ready for literal data\r\n"
    );
}

/// Switched off: not listed, and APPENDLIMIT is no STATUS item (the limit still holds).
#[test]
fn switched_off() {
    let config = Config {
        max_literal: 100,
        extensions: Extensions {
            appendlimit: false,
            ..Extensions::default()
        },
        ..Config::default()
    };
    let mut session = Session::new(config, store());
    let text = exchange(&mut session, b"l LOGIN alice secret\r\n");
    assert!(!text.contains("APPENDLIMIT"), "{text}");
    let text = exchange(
        &mut session,
        b"a STATUS INBOX (APPENDLIMIT)\r\nb LIST \"\" INBOX RETURN (STATUS (APPENDLIMIT))\r\n\
          c APPEND INBOX {101}\r\n",
    );
    assert_eq!(
        text,
        "a BAD unknown STATUS item APPENDLIMIT\r\nb BAD unknown STATUS item APPENDLIMIT\r\n\
         c NO [TOOBIG] literal too large\r\n"
    );
}

/// The planted defect: the advertised limit is not enforced, and a larger literal gets `+`.
#[test]
fn literal_limit_ignored_asks_for_the_literal() {
    let mut defects = Defects::none();
    defects.insert(Defect::LiteralLimitIgnored);
    let config = Config {
        max_literal: 100,
        defects,
        ..Config::default()
    };
    let mut session = Session::new(config, store());
    let text = exchange(&mut session, b"l LOGIN alice secret\r\nc APPEND INBOX {101}\r\n");
    assert!(text.contains(" APPENDLIMIT=100 "), "{text}");
    assert!(text.ends_with("+ Ready for literal data\r\n"), "{text}");
}
