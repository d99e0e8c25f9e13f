//! tokio + rustls drivers for mailrig's fake servers: listeners, TLS, connection limits,
//! graceful shutdown, and a recorded transcript of every connection.
//!
//! The protocol logic lives in sans-IO crates (`mailrig-smtp`, `mailrig-imap`); this
//! crate owns sockets, TLS and time.
//!
//! # Layout
//!
//! - [`tls`]: the generated CA and `localhost` certificate, or PEM files; rustls configs.
//! - [`compress`]: raw DEFLATE of a connection after IMAP's COMPRESS (RFC 4978).
//! - [`conn`]: the per-connection loop and the [`conn::ReplyHook`] fault seam, where
//!   [`conn::FaultHook`] runs mailrig-fault's rules ([`ServerConfig::faults`]).
//! - [`listen`]: binding listeners, accepting, shutting down.
//! - [`recorder`]: every connection recorded as a transcript.
//! - [`server`]: a set of listeners sharing one store ([`Server`]).
//! - [`smtp`]: the SMTP services, backed by the store.
//! - [`imap`]: the IMAP services over the same store, woken by its change feed.
//! - [`defect`]: the deliberate defects of both protocols by name ([`Defect`]), switched on
//!   with [`ServerConfig::add_defect`] (for testing a test suite).

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod compress;
pub mod conn;
pub mod defect;
pub mod imap;
pub mod listen;
pub mod recorder;
pub mod server;
pub mod smtp;
pub mod tls;

pub use defect::Defect;
pub use imap::ImapOptions;
pub use mailrig_fault as fault;
pub use mailrig_transcript::scenario::Protocol;
pub use server::{Server, ServerConfig, ServerError, TlsSetting};
pub use smtp::{SmtpOptions, StoreBackend};
