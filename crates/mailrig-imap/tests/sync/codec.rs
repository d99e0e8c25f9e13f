//! imap-codec as an oracle for the server's output: bytes must decode as whole responses
//! (after a greeting, if there is one), with nothing left over. Shared by the sync tests and
//! `codec_oracle.rs`.
//!
//! The workspace builds imap-codec without its `quirk` features and with
//! `ext_condstore_qresync`, so `MODSEQ`, `HIGHESTMODSEQ`, `[MODIFIED]` and `VANISHED` are
//! decoded strictly. imap-codec 2.0.0-alpha.10 has no ESEARCH (RFC 4731, IMAP4rev2), so
//! `* ESEARCH` lines are skipped here and read by the tests themselves.

use imap_codec::decode::Decoder;
use imap_codec::{GreetingCodec, ResponseCodec};

/// Responses imap-codec cannot parse although they are valid, each with the reason. The
/// grammar audit checks their shapes instead (`tests/grammar/responses.rs`).
pub(crate) fn unsupported(response: &[u8]) -> Option<&'static str> {
    // RFC 4731 / RFC 9051 §7.3.4 ESEARCH: not implemented by imap-codec 2.0.0-alpha.10.
    if response.starts_with(b"* ESEARCH") {
        return Some("ESEARCH (RFC 4731)");
    }
    // RFC 5258 §9 `mbox-list-extended` after a LIST's mailbox name (NOTIFY's OLDNAME, RFC
    // 5465 §5.4; CHILDINFO): imap-codec 2.0.0-alpha.10 decodes LIST without it only.
    let line = response.split(|&b| b == b'\n').next().unwrap_or(response);
    let extended = [&b"\" (\"OLDNAME\" ("[..], b"\" (\"CHILDINFO\" ("];
    let has = |needle: &[u8]| line.windows(needle.len()).any(|w| w == needle);
    (response.starts_with(b"* LIST ") && extended.iter().any(|needle| has(needle)))
        .then_some("LIST with mbox-list-extended (RFC 5258)")
}

/// Decodes `output` (a greeting first if `greeting`) as whole responses; returns how many,
/// or the first one that does not decode.
///
/// # Errors
/// The response imap-codec refused or found incomplete, with the reason.
pub(crate) fn decode(output: &[u8], greeting: bool) -> Result<usize, String> {
    let shown = |rest: &[u8]| String::from_utf8_lossy(&rest[..rest.len().min(400)]).into_owned();
    let mut rest = output;
    if greeting {
        rest = GreetingCodec::new()
            .decode(output)
            .map_err(|e| format!("greeting does not parse ({e:?}): {}", shown(output)))?
            .0;
    }
    let mut count = 0;
    while !rest.is_empty() {
        if unsupported(rest).is_some() {
            let end = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .map_or(rest.len(), |at| at + 2);
            rest = &rest[end..];
            continue;
        }
        rest = ResponseCodec::new()
            .decode(rest)
            .map_err(|e| format!("response does not parse ({e:?}):\n{}", shown(rest)))?
            .0;
        count += 1;
    }
    Ok(count)
}
