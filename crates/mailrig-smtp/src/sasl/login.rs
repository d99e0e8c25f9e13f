//! LOGIN: user name and password, each after a prompt (obsolete, but every client has it).
//!
//! Read first: draft-murchison-sasl-login-00 §2 (server prompts `Username:` and `Password:`;
//! a client may send the user name as the initial response).

use super::{Exchange, Step, utf8};
use crate::backend::Backend;

/// The first prompt.
pub(super) const USERNAME_PROMPT: &[u8] = b"Username:";
/// The second prompt.
const PASSWORD_PROMPT: &[u8] = b"Password:";

/// The user name arrived: ask for the password.
pub(super) fn user(message: &[u8]) -> Step {
    match utf8(message) {
        Some(user) if !user.is_empty() => Step::Continue(
            Exchange::LoginPassword {
                user: user.to_owned(),
            },
            PASSWORD_PROMPT.to_vec(),
        ),
        _ => Step::Failure,
    }
}

/// The password arrived: check it.
pub(super) fn password(user: &str, message: &[u8], backend: &mut dyn Backend) -> Step {
    match utf8(message) {
        Some(password) if backend.authenticate(user, password) => Step::Success(user.to_owned()),
        _ => Step::Failure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sasl::tests::Accounts;

    #[test]
    fn two_prompts() {
        let Step::Continue(next, prompt) = user(b"alice") else {
            panic!("expected a prompt")
        };
        assert_eq!(prompt, b"Password:");
        assert_eq!(
            next.respond(b"secret", &mut Accounts, false),
            Step::Success("alice".into())
        );
        assert_eq!(password("alice", b"nope", &mut Accounts), Step::Failure);
        assert_eq!(user(b""), Step::Failure);
    }
}
