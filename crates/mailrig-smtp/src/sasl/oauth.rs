//! XOAUTH2 and OAUTHBEARER: a user and an OAuth 2.0 bearer token.
//!
//! Read first: RFC 7628 §3.1 (OAUTHBEARER message: `gs2-header %x01 *(kvpair %x01) %x01`,
//! `auth=Bearer <token>`), §3.2.2–§3.2.3 (on failure the server sends a JSON error as a
//! challenge, the client answers with `%x01`, then the server fails the exchange), RFC 5801
//! §4 (the GS2 header `n,a=<authzid>,`). XOAUTH2 is Google's older profile:
//! `user=<user> %x01 auth=Bearer <token> %x01 %x01`, with the same error-then-fail dance.

use super::{Exchange, Step, utf8};
use crate::backend::Backend;

/// The error challenge for XOAUTH2 (Google's format).
const XOAUTH2_ERROR: &[u8] = br#"{"status":"401","schemes":"Bearer","scope":"https://mail.google.com/"}"#;
/// The error challenge for OAUTHBEARER (RFC 7628 §3.2.2).
const OAUTHBEARER_ERROR: &[u8] = br#"{"status":"invalid_token"}"#;

/// `user=<user> %x01 auth=Bearer <token> %x01 %x01`.
pub(super) fn xoauth2(message: &[u8], backend: &mut dyn Backend) -> Step {
    let Some(pairs) = utf8(message).and_then(|t| t.strip_suffix("\x01\x01")) else {
        return Step::Failure;
    };
    let user = pairs.split('\x01').find_map(|kv| kv.strip_prefix("user="));
    let token = bearer(pairs);
    match (user, token) {
        (Some(user), Some(token)) => check(user, token, backend, XOAUTH2_ERROR),
        _ => Step::Failure,
    }
}

/// `gs2-header kvsep *(kvpair kvsep) kvsep`, `gs2-header = gs2-cb-flag "," [gs2-authzid] ","`.
/// Channel binding (`p=`) is not offered, so only `n` and `y` are accepted.
pub(super) fn oauthbearer(message: &[u8], backend: &mut dyn Backend) -> Step {
    let Some(text) = utf8(message) else {
        return Step::Failure;
    };
    let Some((header, pairs)) = text.split_once('\x01') else {
        return Step::Failure;
    };
    let (Some(login), Some(pairs)) = (gs2_authzid(header), pairs.strip_suffix("\x01\x01")) else {
        return Step::Failure;
    };
    match bearer(pairs) {
        Some(token) => check(&login, token, backend, OAUTHBEARER_ERROR),
        None => Step::Failure,
    }
}

/// The token of the `auth=Bearer <token>` pair (the scheme is case-insensitive, RFC 6750 §2.1).
fn bearer(pairs: &str) -> Option<&str> {
    let value = pairs.split('\x01').find_map(|kv| kv.strip_prefix("auth="))?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("Bearer") && !token.is_empty()).then_some(token)
}

/// `gs2-header = gs2-cb-flag "," [ "a=" saslname ] ","`; returns the decoded authzid
/// (`=2C` is `,`, `=3D` is `=`), empty if absent.
fn gs2_authzid(header: &str) -> Option<String> {
    let rest = header.strip_prefix("n,").or_else(|| header.strip_prefix("y,"))?;
    let authzid = rest.strip_suffix(',')?;
    if authzid.is_empty() {
        return Some(String::new());
    }
    let name = authzid.strip_prefix("a=")?;
    let mut out = String::new();
    let mut parts = name.split('=');
    out.push_str(parts.next()?);
    for part in parts {
        let (code, tail) = (part.get(..2)?, &part[2..]);
        out.push(match code {
            "2C" => ',',
            "3D" => '=',
            _ => return None,
        });
        out.push_str(tail);
    }
    Some(out)
}

fn check(login: &str, token: &str, backend: &mut dyn Backend, error: &[u8]) -> Step {
    if backend.check_token(login, token) {
        Step::Success(login.to_owned())
    } else {
        Step::Continue(Exchange::OAuthFailed, error.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sasl::tests::Accounts;

    #[test]
    fn xoauth2_messages() {
        let ok = b"user=alice\x01auth=Bearer token-alice\x01\x01";
        assert_eq!(xoauth2(ok, &mut Accounts), Step::Success("alice".into()));
        let bad = b"user=alice\x01auth=Bearer nope\x01\x01";
        assert!(matches!(
            xoauth2(bad, &mut Accounts),
            Step::Continue(Exchange::OAuthFailed, _)
        ));
        assert_eq!(
            xoauth2(b"user=alice\x01auth=Bearer token-alice\x01", &mut Accounts),
            Step::Failure
        );
        assert_eq!(
            xoauth2(b"auth=Bearer token-alice\x01\x01", &mut Accounts),
            Step::Failure
        );
    }

    #[test]
    fn oauthbearer_rfc_7628_shape() {
        // RFC 7628 §4.1, with our test token.
        let ok = b"n,a=alice,\x01host=server.example.com\x01port=143\x01auth=Bearer token-alice\x01\x01";
        assert_eq!(oauthbearer(ok, &mut Accounts), Step::Success("alice".into()));
        let p = b"p=tls-unique,a=alice,\x01auth=Bearer token-alice\x01\x01";
        assert_eq!(oauthbearer(p, &mut Accounts), Step::Failure);
        let bad = b"n,a=alice,\x01auth=Bearer wrong\x01\x01";
        assert!(matches!(
            oauthbearer(bad, &mut Accounts),
            Step::Continue(Exchange::OAuthFailed, _)
        ));
        assert_eq!(gs2_authzid("n,a=a=2Cb=3Dc,"), Some("a,b=c".into()));
        assert_eq!(gs2_authzid("n,,"), Some(String::new()));
        assert_eq!(gs2_authzid("n,a=x=41,"), None);
    }
}
