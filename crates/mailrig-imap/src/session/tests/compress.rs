//! COMPRESS (RFC 4978): the session answers `COMPRESS DEFLATE` and asks its driver to
//! compress; the deflating itself is the driver's (mailrig-server's `compress.rs`).

use super::*;

/// RFC 4978 §3: OK, then the driver starts compressing right after the tagged OK; a second
/// COMPRESS is `NO [COMPRESSIONACTIVE]`, and COMPRESS is no longer listed.
#[test]
fn accepted_once_then_compression_active() {
    let store = store();
    let mut session = logged_in(&store);
    let text = exchange(&mut session, b"c COMPRESS DEFLATE\r\n");
    assert_eq!(text, "c OK DEFLATE active\r\n<COMPRESS>");
    assert!(session.is_compressed());
    assert!(session.compression_started().is_empty());
    let text = exchange(&mut session, b"d compress deflate\r\ne CAPABILITY\r\n");
    assert!(
        text.starts_with("d NO [COMPRESSIONACTIVE] DEFLATE is active already\r\n"),
        "{text}"
    );
    assert!(!text.contains("COMPRESS="), "not listed once active: {text}");
}

/// Before compression starts, the session reads nothing more: bytes pipelined behind COMPRESS
/// are compressed already, so they go back to the driver to inflate.
#[test]
fn pipelined_input_is_held_for_the_driver() {
    let store = store();
    let mut session = logged_in(&store);
    let text = exchange(&mut session, b"c COMPRESS DEFLATE\r\nd NOOP\r\n");
    assert_eq!(text, "c OK DEFLATE active\r\n<COMPRESS>", "NOOP is not run");
    assert_eq!(session.compression_started(), b"d NOOP\r\n");
    assert_eq!(exchange(&mut session, b"d NOOP\r\n"), "d OK NOOP completed\r\n");
}

/// RFC 4978 §5: `command-auth =/ compress` (not before login), `algorithm = "DEFLATE"`.
#[test]
fn refused_before_login_with_other_algorithms_and_when_switched_off() {
    let store = store();
    let mut session = Session::new(Config::default(), store.clone());
    let greeting = drain(&mut session);
    assert!(greeting.contains(" COMPRESS=DEFLATE "), "{greeting}");
    let text = exchange(
        &mut session,
        b"a COMPRESS DEFLATE\r\nb LOGIN alice secret\r\nc COMPRESS LZW\r\nd COMPRESS\r\n\
          e COMPRESS DEFLATE DEFLATE\r\n",
    );
    assert!(text.starts_with("a BAD not authenticated\r\n"), "{text}");
    assert!(
        text.ends_with(
            "c BAD unknown compression algorithm\r\nd BAD invalid arguments\r\ne BAD invalid arguments\r\n"
        ),
        "{text}"
    );
    assert!(!session.is_compressed());

    let config = Config {
        extensions: Extensions {
            compress: false,
            ..Extensions::default()
        },
        ..Config::default()
    };
    let mut session = Session::new(config, store);
    assert!(!drain(&mut session).contains("COMPRESS"));
    let text = exchange(&mut session, b"a LOGIN alice secret\r\nb COMPRESS DEFLATE\r\n");
    assert!(text.ends_with("b BAD unknown command\r\n"), "{text}");
}
