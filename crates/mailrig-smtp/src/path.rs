//! Paths, mailboxes and domains as RFC 5321 writes them, with RFC 6531's UTF-8 additions.
//!
//! Read first: RFC 5321 §4.1.2 (the ABNF of `Path`, `Mailbox`, `Domain`), §4.1.3 (address
//! literals), §4.5.3.1.1–§4.5.3.1.3 (length limits), RFC 6531 §3.3 (UTF-8 in `atext`,
//! `qtextSMTP` and `sub-domain`). Source routes are parsed and dropped, as §4.1.1.3 and
//! Appendix C ask ("servers MUST ... ignore the route information").

use std::net::Ipv6Addr;

/// Why a path or mailbox was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PathError {
    /// No `<` ... `>` around the path.
    #[error("path must be enclosed in angle brackets")]
    Brackets,
    /// The `A-d-l` source route is malformed.
    #[error("malformed source route")]
    SourceRoute,
    /// No `@`, or the local part is neither a dot-string nor a quoted string.
    #[error("malformed local part")]
    LocalPart,
    /// The domain is neither a domain name nor an address literal.
    #[error("malformed domain")]
    Domain,
    /// The local part is over 64 octets or the domain over 255 (RFC 5321 §4.5.3.1.1–2).
    #[error("mailbox too long")]
    TooLong,
    /// The whole path is over 256 octets (RFC 5321 §4.5.3.1.3).
    #[error("path too long")]
    PathTooLong,
}

/// The longest path, brackets included (RFC 5321 §4.5.3.1.3).
const MAX_PATH: usize = 256;

/// `Path = "<" [ A-d-l ":" ] Mailbox ">"`; returns the mailbox (the source route dropped).
pub(crate) fn path(text: &str) -> Result<&str, PathError> {
    if text.len() > MAX_PATH {
        return Err(PathError::PathTooLong);
    }
    let inner = text
        .strip_prefix('<')
        .and_then(|t| t.strip_suffix('>'))
        .ok_or(PathError::Brackets)?;
    let mailbox_text = match inner.strip_prefix('@') {
        Some(_) => {
            let (route, rest) = inner.split_once(':').ok_or(PathError::SourceRoute)?;
            a_d_l(route)?;
            rest
        }
        None => inner,
    };
    mailbox(mailbox_text)?;
    Ok(mailbox_text)
}

/// `A-d-l = At-domain *( "," At-domain )`, `At-domain = "@" Domain`.
fn a_d_l(route: &str) -> Result<(), PathError> {
    for at_domain in route.split(',') {
        let d = at_domain.strip_prefix('@').ok_or(PathError::SourceRoute)?;
        if !domain(d, true) {
            return Err(PathError::SourceRoute);
        }
    }
    Ok(())
}

/// `Mailbox = Local-part "@" ( Domain / address-literal )`.
pub(crate) fn mailbox(text: &str) -> Result<(), PathError> {
    let at = text.rfind('@').ok_or(PathError::LocalPart)?;
    let (local, dom) = (&text[..at], &text[at + 1..]);
    if !(dot_string(local) || quoted_string(local)) {
        return Err(PathError::LocalPart);
    }
    if !(domain(dom, true) || address_literal(dom)) {
        return Err(PathError::Domain);
    }
    if local.len() > 64 || dom.len() > 255 {
        return Err(PathError::TooLong);
    }
    Ok(())
}

/// `Dot-string = Atom *("." Atom)`, `Atom = 1*atext` (RFC 5322 `atext`, plus UTF-8 per
/// RFC 6531 §3.3).
fn dot_string(text: &str) -> bool {
    !text.is_empty()
        && text
            .split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(atext))
}

/// `atext` (RFC 5322 §3.2.3) `=/ UTF8-non-ascii` (RFC 6531 §3.3).
fn atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || !c.is_ascii()
}

/// `Quoted-string = DQUOTE *QcontentSMTP DQUOTE`, `QcontentSMTP = qtextSMTP /
/// quoted-pairSMTP`, `quoted-pairSMTP = %d92 %d32-126`, `qtextSMTP = %d32-33 / %d35-91 /
/// %d93-126` `=/ UTF8-non-ascii` (RFC 6531 §3.3).
fn quoted_string(text: &str) -> bool {
    let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) else {
        return false;
    };
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        let ok = match c {
            '\\' => chars.next().is_some_and(|n| (' '..='~').contains(&n)),
            '"' => false,
            c => (' '..='~').contains(&c) || !c.is_ascii(),
        };
        if !ok {
            return false;
        }
    }
    true
}

/// `Domain = sub-domain *("." sub-domain)`, `sub-domain = Let-dig [Ldh-str]`
/// (`=/ U-label` per RFC 6531 §3.3 when `utf8`: any non-ASCII character counts as a letter).
pub(crate) fn domain(text: &str, utf8: bool) -> bool {
    !text.is_empty() && text.len() <= 255 && text.split('.').all(|label| sub_domain(label, utf8))
}

fn sub_domain(label: &str, utf8: bool) -> bool {
    let let_dig = |c: char| c.is_ascii_alphanumeric() || (utf8 && !c.is_ascii());
    let first_last_ok =
        label.chars().next().is_some_and(let_dig) && label.chars().next_back().is_some_and(let_dig);
    first_last_ok && label.len() <= 63 && label.chars().all(|c| let_dig(c) || c == '-')
}

/// `address-literal = "[" ( IPv4-address-literal / IPv6-address-literal /
/// General-address-literal ) "]"` (RFC 5321 §4.1.3).
pub(crate) fn address_literal(text: &str) -> bool {
    let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) else {
        return false;
    };
    if ipv4(inner) {
        return true;
    }
    if let Some(v6) = strip_prefix_ci(inner, "IPv6:") {
        return v6.parse::<Ipv6Addr>().is_ok();
    }
    general_address_literal(inner)
}

/// `IPv4-address-literal = Snum 3("." Snum)`, `Snum = 1*3DIGIT` representing 0–255.
fn ipv4(text: &str) -> bool {
    let parts: Vec<&str> = text.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            (1..=3).contains(&p.len())
                && p.bytes().all(|b| b.is_ascii_digit())
                && p.parse::<u16>().is_ok_and(|n| n <= 255)
        })
}

/// `General-address-literal = Standardized-tag ":" 1*dcontent`, `Standardized-tag =
/// Ldh-str`, `dcontent = %d33-90 / %d94-126`.
fn general_address_literal(text: &str) -> bool {
    let Some((tag, content)) = text.split_once(':') else {
        return false;
    };
    let tag_ok = tag.chars().last().is_some_and(|c| c.is_ascii_alphanumeric())
        && tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    let content_ok = !content.is_empty()
        && content
            .bytes()
            .all(|b| (33..=90).contains(&b) || (94..=126).contains(&b));
    tag_ok && content_ok
}

/// `text` without the ASCII case-insensitive `prefix`, if it starts with it.
pub(crate) fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_5321_paths() {
        assert_eq!(path("<userx@y.foo.org>"), Ok("userx@y.foo.org"));
        // §4.1.1.3: the source route is dropped.
        assert_eq!(
            path("<@hosta.int,@jkl.org:userc@d.bar.org>"),
            Ok("userc@d.bar.org")
        );
        assert_eq!(path("<\"a b\"@example.test>"), Ok("\"a b\"@example.test"));
        assert_eq!(path("<\"a\\\"b\"@example.test>"), Ok("\"a\\\"b\"@example.test"));
        assert_eq!(path("<user@[192.0.2.1]>"), Ok("user@[192.0.2.1]"));
        assert_eq!(path("<user@[IPv6:2001:db8::1]>"), Ok("user@[IPv6:2001:db8::1]"));
    }

    #[test]
    fn malformed_paths() {
        assert_eq!(path("user@example.test"), Err(PathError::Brackets));
        assert_eq!(path("<user>"), Err(PathError::LocalPart));
        assert_eq!(path("<a..b@example.test>"), Err(PathError::LocalPart));
        assert_eq!(path("<.a@example.test>"), Err(PathError::LocalPart));
        assert_eq!(path("<a b@example.test>"), Err(PathError::LocalPart));
        assert_eq!(path("<a@-example.test>"), Err(PathError::Domain));
        assert_eq!(path("<a@example.test.>"), Err(PathError::Domain));
        assert_eq!(path("<a@[300.1.1.1]>"), Err(PathError::Domain));
        assert_eq!(path("<a@[IPv6:zz]>"), Err(PathError::Domain));
        assert_eq!(path("<@x:a@b>"), Ok("a@b"));
        assert_eq!(path("<@:a@b>"), Err(PathError::SourceRoute));
        let long = format!("<{}@example.test>", "a".repeat(65));
        assert_eq!(path(&long), Err(PathError::TooLong));
        let longer = format!("<a@{}>", "b".repeat(300));
        assert_eq!(path(&longer), Err(PathError::PathTooLong));
    }

    #[test]
    fn utf8_mailboxes_parse() {
        // RFC 6531 §3.3: UTF-8 in local parts and domains.
        assert_eq!(path("<用户@例子.广告>"), Ok("用户@例子.广告"));
    }

    #[test]
    fn domains() {
        assert!(domain("client.example.test", false));
        assert!(domain("localhost", false));
        assert!(!domain("under_score.test", false));
        assert!(!domain("例子.test", false));
        assert!(domain("例子.test", true));
        assert!(address_literal("[127.0.0.1]"));
        assert!(address_literal("[x-tag:stuff]"));
        assert!(!address_literal("127.0.0.1"));
    }
}
