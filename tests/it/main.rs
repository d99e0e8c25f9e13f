//! End-to-end tests of mailrig. One binary; each module is one area.

// Every shipped scenario: how mailrig reads it, snapshotted.
mod scenarios;
