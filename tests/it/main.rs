//! End-to-end tests of mailrig. One binary; each module is one area.

// Every shipped scenario: how mailrig reads it, snapshotted.
mod scenarios;

// Real SMTP clients as subprocesses against a Rig.
mod smtp_clients;

// Hostile clients over real sockets: STARTTLS injection, smuggling, huge lines.
mod hostile;

// The Rig test API: fixtures, waiting for mail, redacted transcripts.
mod rig;
