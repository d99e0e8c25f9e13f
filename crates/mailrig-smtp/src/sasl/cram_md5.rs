//! CRAM-MD5: the client proves it knows the password by keying HMAC-MD5 of a challenge.
//!
//! Read first: RFC 2195 §2 (challenge `<unique@hostname>`; response `user SP digest`, the
//! digest in lower-case hex), RFC 2104 (HMAC).

use hmac::{Hmac, Mac};
use md5::Md5;

use super::{Step, utf8};
use crate::backend::Backend;

/// `response = user SP digest`, `digest = 32(DIGIT / %x61-66)` (lower-case hex; upper-case
/// is accepted when `lenient`).
pub(super) fn respond(challenge: &str, message: &[u8], backend: &mut dyn Backend, lenient: bool) -> Step {
    let Some((user, digest)) = utf8(message).and_then(|t| t.rsplit_once(' ')) else {
        return Step::Failure;
    };
    let Some(expected) = hex_digest(digest, lenient) else {
        return Step::Failure;
    };
    let Some(secret) = backend.cram_md5_secret(user) else {
        return Step::Failure;
    };
    let Ok(mut mac) = Hmac::<Md5>::new_from_slice(secret.as_bytes()) else {
        return Step::Failure;
    };
    mac.update(challenge.as_bytes());
    if mac.verify_slice(&expected).is_ok() {
        Step::Success(user.to_owned())
    } else {
        Step::Failure
    }
}

/// The 16 octets of a 32-digit hex digest.
fn hex_digest(text: &str, lenient: bool) -> Option<Vec<u8>> {
    let digit = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' if lenient => Some(b - b'A' + 10),
        _ => None,
    };
    let bytes = text.as_bytes();
    if bytes.len() != 32 {
        return None;
    }
    bytes
        .chunks(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sasl::tests::Accounts;

    /// RFC 2195 §2's example: user "tim", secret "tanstaaftanstaaf".
    const CHALLENGE: &str = "<1896.697170952@postoffice.reston.mci.net>";
    const RESPONSE: &[u8] = b"tim b913a602c7eda7a495b4e6e7334d3890";

    #[test]
    fn rfc_2195_example() {
        assert_eq!(
            respond(CHALLENGE, RESPONSE, &mut Accounts, false),
            Step::Success("tim".into())
        );
        assert_eq!(
            respond("<other@x>", RESPONSE, &mut Accounts, false),
            Step::Failure
        );
    }

    #[test]
    fn digest_format() {
        let upper = b"tim B913A602C7EDA7A495B4E6E7334D3890";
        assert_eq!(respond(CHALLENGE, upper, &mut Accounts, false), Step::Failure);
        assert_eq!(
            respond(CHALLENGE, upper, &mut Accounts, true),
            Step::Success("tim".into())
        );
        assert_eq!(respond(CHALLENGE, b"tim", &mut Accounts, false), Step::Failure);
        assert_eq!(
            respond(
                CHALLENGE,
                b"nobody b913a602c7eda7a495b4e6e7334d3890",
                &mut Accounts,
                false
            ),
            Step::Failure
        );
    }
}
