//! End-to-end tests of mailrig. One binary; each module is one area.

// Every shipped scenario: how mailrig reads it, snapshotted.
mod scenarios;

// Running real clients as subprocesses, each with a deadline.
mod support;

// Real SMTP clients as subprocesses against a Rig (swaks and msmtp only with the `interop`
// feature).
mod smtp_clients;

// Real IMAP clients (curl, Python's imaplib; mbsync only with the `interop` feature) as
// subprocesses against a Rig.
mod imap_clients;

// The shipped client profiles through `mailrig run --client`'s runner, and broken clients
// caught (swaks, msmtp and mbsync only with the `interop` feature).
mod client_profiles;

// Hostile clients over real sockets: STARTTLS injection, smuggling, huge lines.
mod hostile;

// The Rig test API: fixtures, waiting for mail, redacted transcripts.
mod rig;

// Fault rules against real clients and raw sockets: refusals that store nothing, stalls,
// 1-byte writes, STARTTLS injection, BYE mid-FETCH.
mod faults;
