//! COMPRESS (RFC 4978): `COMPRESS DEFLATE` turns on DEFLATE compression of both directions,
//! starting right after the tagged OK (§3). The session does not compress: it asks its driver
//! to ([`Output::StartCompression`](super::Output::StartCompression)) and keeps reading and
//! writing protocol bytes, so recordings and fault rules see the uncompressed protocol.
//!
//! Read first: RFC 4978 §3 (the command, `COMPRESSIONACTIVE`, no COMPRESS capability once
//! active), §5 (`command-auth =/ compress`: the authenticated and selected states only).

use super::{Mode, Session};
use crate::command::{Command, Token};
use crate::completion::{Completion, Refusal};
use crate::error::SyntaxError;

impl Session {
    /// `compress = "COMPRESS" SP algorithm`, `algorithm = "DEFLATE"` (RFC 4978 §5).
    pub(super) fn compress(&mut self, command: &Command) -> Result<Completion, Refusal> {
        let [algorithm] = &command.args[..] else {
            return Err(SyntaxError::Arguments.into());
        };
        if !matches!(algorithm, Token::Atom(name) if name.eq_ignore_ascii_case("DEFLATE")) {
            return Err(Refusal::bad("unknown compression algorithm"));
        }
        if self.compressed {
            // §3: "it MUST send COMPRESSIONACTIVE as resp-text-code".
            return Err(Refusal::no("DEFLATE is active already").with_code("COMPRESSIONACTIVE"));
        }
        self.compressed = true;
        self.mode = Mode::AwaitCompression;
        Ok(Completion::ok("DEFLATE active"))
    }

    /// The driver has started compressing, as [`Output::StartCompression`] asked. Returns the
    /// bytes the client sent after COMPRESS that the session has not read: they are
    /// compressed already (a client must wait for the OK, RFC 4978 §3, but may not), so the
    /// driver inflates them and hands them back through [`Session::handle_input`].
    ///
    /// [`Output::StartCompression`]: super::Output::StartCompression
    #[must_use]
    pub fn compression_started(&mut self) -> Vec<u8> {
        if self.mode == Mode::AwaitCompression {
            self.mode = Mode::Commands;
        }
        std::mem::take(&mut self.unread)
    }

    /// Whether COMPRESS has been accepted on this connection.
    pub fn is_compressed(&self) -> bool {
        self.compressed
    }
}
