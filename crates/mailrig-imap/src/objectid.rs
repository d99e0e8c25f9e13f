//! OBJECTID (RFC 8474): the ids the store keeps, as the session writes and reads them. A
//! message's `EMAILID` is `E` and its store-wide number ([`Message::email_id`]); a mailbox's
//! `MAILBOXID` is the store's ([`Store::mailbox_id`](mailrig_store::Store::mailbox_id), `M`
//! and its creation number). Threads are not tracked: `THREADID` is always `NIL` (§5.2
//! allows it), and SEARCH `THREADID` matches nothing.

use mailrig_store::Message;

use crate::completion::Refusal;

/// The longest `objectid` (RFC 8474 §7: `1*255(ALPHA / DIGIT / "_" / "-")`).
const MAX_LEN: usize = 255;

/// A message's `EMAILID`.
pub(crate) fn email_id(message: &Message) -> String {
    format!("E{}", message.email_id)
}

/// Whether `id` is an `objectid` (RFC 8474 §7).
pub(crate) fn is_objectid(id: &str) -> bool {
    (1..=MAX_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// SEARCH `EMAILID`'s argument: the number of an id this server gave out, `None` for a
/// well-formed id it never gives (which matches nothing), `BAD` for one that is not an
/// `objectid`.
pub(crate) fn parse_email_id(id: &str) -> Result<Option<u64>, Refusal> {
    if !is_objectid(id) {
        return Err(Refusal::bad(format!("not an object id: {id}")));
    }
    Ok(id
        .strip_prefix('E')
        .filter(|n| !n.starts_with('0'))
        .and_then(|n| n.parse().ok()))
}

/// The `MAILBOXID` response code (RFC 8474 §4.1), without brackets.
pub(crate) fn mailbox_id_code(id: &str) -> String {
    format!("MAILBOXID ({id})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objectid_syntax() {
        assert!(is_objectid("E12"));
        assert!(is_objectid("a_b-C9"));
        assert!(is_objectid(&"x".repeat(255)));
        assert!(!is_objectid(&"x".repeat(256)));
        assert!(!is_objectid(""));
        assert!(!is_objectid("E 1"));
        assert!(!is_objectid("E.1"));
    }

    #[test]
    fn email_ids_parse_back() {
        assert_eq!(parse_email_id("E42").unwrap(), Some(42));
        assert_eq!(parse_email_id("E042").unwrap(), None);
        assert_eq!(parse_email_id("M42").unwrap(), None);
        assert_eq!(parse_email_id("E").unwrap(), None);
        assert!(parse_email_id("E+1").is_err());
    }
}
