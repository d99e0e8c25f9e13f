//! PLAIN: authorization identity, authentication identity and password in one message.
//!
//! Read first: RFC 4616 §2 (`message = [authzid] UTF8NUL authcid UTF8NUL passwd`), §4 (the
//! server checks authcid/passwd, then whether authcid may act as authzid).

use super::{Step, utf8};
use crate::backend::Backend;

/// `message = [authzid] UTF8NUL authcid UTF8NUL passwd`. An authzid other than the authcid
/// is refused: this server lets nobody act for someone else.
pub(super) fn respond(message: &[u8], backend: &mut dyn Backend) -> Step {
    let Some(text) = utf8(message) else {
        return Step::Failure;
    };
    let parts: Vec<&str> = text.split('\0').collect();
    let [authzid, authcid, passwd] = parts.as_slice() else {
        return Step::Failure;
    };
    if authcid.is_empty() || passwd.is_empty() || !(authzid.is_empty() || authzid == authcid) {
        return Step::Failure;
    }
    if backend.authenticate(authcid, passwd) {
        Step::Success((*authcid).to_owned())
    } else {
        Step::Failure
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sasl::tests::Accounts;

    #[test]
    fn rfc_4616_messages() {
        let mut b = Accounts;
        // RFC 4616 §4 examples, with our test accounts.
        assert_eq!(respond(b"\0alice\0secret", &mut b), Step::Success("alice".into()));
        assert_eq!(
            respond(b"alice\0alice\0secret", &mut b),
            Step::Success("alice".into())
        );
        assert_eq!(respond(b"bob\0alice\0secret", &mut b), Step::Failure);
        assert_eq!(respond(b"\0alice\0wrong", &mut b), Step::Failure);
        assert_eq!(respond(b"\0alice", &mut b), Step::Failure);
        assert_eq!(respond(b"\0alice\0secret\0", &mut b), Step::Failure);
        assert_eq!(respond(b"\0\xff\0secret", &mut b), Step::Failure);
    }
}
