//! The transcript crate's protocol framing and IMAP response decoder on arbitrary bytes: the
//! framer's lines lie inside the input and end with CRLF, and the decoder never panics on any
//! line (it is what every received IMAP line goes through when matched by meaning).

#![no_main]

use libfuzzer_sys::fuzz_target;
use mailrig_transcript::framing::{Frame, next_line};
use mailrig_transcript::imap::response;
use mailrig_transcript::scenario::Family;

/// A small cap, so the fuzzer reaches it.
const MAX: usize = 1024;

fuzz_target!(|data: &[u8]| {
    let Some((&options, mut rest)) = data.split_first() else {
        return;
    };
    let family = if options & 1 == 0 {
        Family::Imap
    } else {
        Family::Smtp
    };
    while !rest.is_empty() {
        match next_line(rest, family, MAX) {
            Frame::Line(n) => {
                assert!(
                    n >= 2 && n <= rest.len() && n <= MAX,
                    "a {n}-byte line in {} bytes",
                    rest.len()
                );
                assert!(rest[..n].ends_with(b"\r\n"), "a line that does not end with CRLF");
                let _ = response::decode(&rest[..n]);
                rest = &rest[n..];
            }
            Frame::Incomplete | Frame::TooLong => {
                let _ = response::decode(rest);
                break;
            }
        }
    }
});
