//! Session simulations for mailrig-smtp: a scripted client and an in-memory backend, no
//! sockets, no clock: a protocol crate is tested as bytes in, replies out. Every test drives the public API only.

/// The test backend and the scripted client.
mod support;

/// AUTH: PLAIN, LOGIN, CRAM-MD5, XOAUTH2, OAUTHBEARER, cancel, sequencing, TLS requirement.
mod auth;
/// BDAT (CHUNKING, RFC 3030).
mod chunking;
/// Greeting, HELO/EHLO, NOOP, RSET, VRFY, EXPN, HELP, QUIT, shutdown, unknown commands.
mod commands;
/// DATA content: pipelining, dot-stuffing, SMTP smuggling, exact bytes, size and line limits.
mod data;
/// Command line limits and bounded memory.
mod limits;
/// Property tests: input split anywhere gives the same outputs; arbitrary bytes never panic.
mod properties;
/// The shipped SMTP scenarios, played by mailrig-transcript against a session.
mod scenarios;
/// STARTTLS (RFC 3207) and implicit TLS.
mod starttls;
/// MAIL/RCPT: sequence, syntax, parameters, recipients, delivery, envelopes.
mod transaction;
