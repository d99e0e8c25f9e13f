//! The XOAUTH2 and OAUTHBEARER messages: a user and an OAuth 2.0 bearer token.
//!
//! Read first: RFC 7628 §3.1 (OAUTHBEARER: `gs2-header %x01 *(kvpair %x01) %x01`,
//! `auth=Bearer <token>`), §3.2.2–§3.2.3 (on failure the server sends a JSON error as a
//! challenge, the client answers with `%x01` or an empty response, then the server fails the
//! exchange), RFC 5801 §4 (the GS2 header `n,a=<authzid>,`). XOAUTH2 is Google's older
//! profile: `user=<user> %x01 auth=Bearer <token> %x01 %x01`, with the same error dance.
//! The same parsing as `mailrig-smtp`'s `sasl/oauth.rs` (protocol crates share no code).

/// The error challenge for XOAUTH2 (Google's format), before base64.
pub(super) const XOAUTH2_ERROR: &[u8] =
    br#"{"status":"401","schemes":"Bearer","scope":"https://mail.google.com/"}"#;
/// The error challenge for OAUTHBEARER (RFC 7628 §3.2.2), before base64.
pub(super) const OAUTHBEARER_ERROR: &[u8] = br#"{"status":"invalid_token"}"#;

/// `user=<user> %x01 auth=Bearer <token> %x01 %x01`: the user and the token.
pub(super) fn xoauth2(message: &[u8]) -> Option<(String, String)> {
    let pairs = std::str::from_utf8(message).ok()?.strip_suffix("\x01\x01")?;
    let user = pairs.split('\x01').find_map(|kv| kv.strip_prefix("user="))?;
    Some((user.to_owned(), bearer(pairs)?.to_owned()))
}

/// `gs2-header kvsep *(kvpair kvsep) kvsep`, `gs2-header = gs2-cb-flag "," [gs2-authzid] ","`:
/// the authzid (the user) and the token. Channel binding (`p=`) is not offered, so only `n`
/// and `y` are accepted.
pub(super) fn oauthbearer(message: &[u8]) -> Option<(String, String)> {
    let text = std::str::from_utf8(message).ok()?;
    let (header, pairs) = text.split_once('\x01')?;
    let login = gs2_authzid(header)?;
    let pairs = pairs.strip_suffix("\x01\x01")?;
    Some((login, bearer(pairs)?.to_owned()))
}

/// The token of the `auth=Bearer <token>` pair (the scheme is case-insensitive, RFC 6750 §2.1).
fn bearer(pairs: &str) -> Option<&str> {
    let value = pairs.split('\x01').find_map(|kv| kv.strip_prefix("auth="))?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("Bearer") && !token.is_empty()).then_some(token)
}

/// `gs2-header = gs2-cb-flag "," [ "a=" saslname ] ","`; the decoded authzid (`=2C` is `,`,
/// `=3D` is `=`), which must be present: it names the user.
fn gs2_authzid(header: &str) -> Option<String> {
    let rest = header.strip_prefix("n,").or_else(|| header.strip_prefix("y,"))?;
    let name = rest.strip_suffix(',')?.strip_prefix("a=")?;
    let mut parts = name.split('=');
    let mut out = parts.next()?.to_owned();
    for part in parts {
        out.push(match part.get(..2)? {
            "2C" => ',',
            "3D" => '=',
            _ => return None,
        });
        out.push_str(&part[2..]);
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        let pair = |user: &str, token: &str| Some((user.to_owned(), token.to_owned()));
        assert_eq!(
            xoauth2(b"user=alice\x01auth=Bearer tok\x01\x01"),
            pair("alice", "tok")
        );
        assert_eq!(xoauth2(b"user=alice\x01auth=Bearer tok\x01"), None);
        assert_eq!(xoauth2(b"auth=Bearer tok\x01\x01"), None);
        // RFC 7628 §4.1, with our own token.
        let rfc = b"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01";
        assert_eq!(
            oauthbearer(rfc),
            pair("user@example.com", "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==")
        );
        assert_eq!(oauthbearer(b"p=x,a=alice,\x01auth=Bearer t\x01\x01"), None);
        assert_eq!(oauthbearer(b"n,,\x01auth=Bearer t\x01\x01"), None);
        assert_eq!(gs2_authzid("n,a=a=2Cb=3Dc,"), Some("a,b=c".into()));
        assert_eq!(gs2_authzid("n,a=x=41,"), None);
    }
}
