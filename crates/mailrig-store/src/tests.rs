//! Store tests, one module per area.

mod account;
mod feed;
mod limits;
mod mailboxes;
mod messages;
mod model;
mod users;

use crate::{Store, User};

/// A store with alice and bob.
fn store() -> Store {
    let store = Store::new();
    store
        .add_user(User::new("alice", "secret", ["alice@example.test"]))
        .expect("alice");
    store
        .add_user(User::new(
            "bob",
            "hunter2",
            ["bob@example.test", "postmaster@example.test"],
        ))
        .expect("bob");
    store
}
