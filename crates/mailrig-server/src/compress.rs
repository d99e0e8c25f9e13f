//! Raw DEFLATE (RFC 1951) of both directions of a connection, after IMAP's `COMPRESS DEFLATE`
//! (RFC 4978 §4): no zlib header, a 32 KiB window (a client's smaller one inflates the same),
//! and a sync flush after each write so the client can decode every response it is sent.
//!
//! The driver compresses at the socket only: the session, the recorder and fault rules see
//! the uncompressed protocol.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The compressor and decompressor of one connection (each keeps its window across writes).
pub struct Deflate {
    compress: Compress,
    decompress: Decompress,
}

impl std::fmt::Debug for Deflate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deflate")
            .field("written", &self.compress.total_out())
            .field("read", &self.decompress.total_in())
            .finish()
    }
}

/// The client sent bytes that are not a DEFLATE stream.
#[derive(Debug, thiserror::Error)]
#[error("the client's DEFLATE stream is corrupt: {0}")]
pub struct CorruptStream(String);

impl Default for Deflate {
    fn default() -> Deflate {
        Deflate::new()
    }
}

impl Deflate {
    /// A new pair, both without a zlib header (RFC 4978 §4: "windowBits ... -8 to -15").
    pub fn new() -> Deflate {
        Deflate {
            compress: Compress::new(Compression::default(), false),
            decompress: Decompress::new(false),
        }
    }

    /// Compresses `input` and flushes (`Z_SYNC_FLUSH`): the result ends on a byte boundary
    /// the client can decode up to.
    pub fn compress(&mut self, input: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(input.len() / 2 + 64);
        let start = self.compress.total_in();
        loop {
            let used = usize::try_from(self.compress.total_in() - start).unwrap_or(input.len());
            if out.len() == out.capacity() {
                out.reserve(out.capacity().max(64));
            }
            let status = self
                .compress
                .compress_vec(&input[used..], &mut out, FlushCompress::Sync);
            let used = usize::try_from(self.compress.total_in() - start).unwrap_or(input.len());
            // Done when all input is in and the flush did not fill the buffer (zlib's rule:
            // a flush that leaves output space has finished).
            if status.is_err() || (used == input.len() && out.len() < out.capacity()) {
                return out;
            }
        }
    }

    /// Inflates `input` from the client: the protocol bytes it holds (maybe none yet).
    pub fn decompress(&mut self, input: &[u8]) -> Result<Vec<u8>, CorruptStream> {
        let mut out = Vec::with_capacity(input.len() * 4 + 64);
        let start = self.decompress.total_in();
        loop {
            let used = usize::try_from(self.decompress.total_in() - start).unwrap_or(input.len());
            if out.len() == out.capacity() {
                out.reserve(out.capacity());
            }
            let status = self
                .decompress
                .decompress_vec(&input[used..], &mut out, FlushDecompress::None)
                .map_err(|e| CorruptStream(e.to_string()))?;
            let used = usize::try_from(self.decompress.total_in() - start).unwrap_or(input.len());
            if status == Status::StreamEnd && used < input.len() {
                return Err(CorruptStream("data after the end of the stream".to_owned()));
            }
            if used == input.len() && out.len() < out.capacity() {
                return Ok(out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_write_decodes_on_its_own_and_the_window_carries_over() {
        let mut server = Deflate::new();
        let mut client = Decompress::new(false);
        let mut seen = Vec::new();
        for line in [&b"* OK hello\r\n"[..], b"* OK hello\r\n", &[b'x'; 100_000]] {
            let wire = server.compress(line);
            let mut out = Vec::with_capacity(line.len() + 64);
            client
                .decompress_vec(&wire, &mut out, FlushDecompress::Sync)
                .unwrap();
            assert_eq!(out, line, "each write decodes whole, without the next one");
            seen.push(wire.len());
        }
        assert!(seen[1] < seen[0], "the second copy refers back: {seen:?}");
        assert!(seen[2] < 1000, "{seen:?}");
    }

    #[test]
    fn inflates_what_a_client_deflates_in_pieces_and_refuses_garbage() {
        let mut client = Compress::new(Compression::fast(), false);
        let mut wire = Vec::with_capacity(4096);
        client
            .compress_vec(b"a NOOP\r\nb LOGOUT\r\n", &mut wire, FlushCompress::Sync)
            .unwrap();
        let mut server = Deflate::new();
        let (head, tail) = wire.split_at(3);
        let mut text = server.decompress(head).unwrap();
        text.extend(server.decompress(tail).unwrap());
        assert_eq!(text, b"a NOOP\r\nb LOGOUT\r\n");
        assert!(Deflate::new().decompress(b"\xff\xff\xff\xff").is_err());
    }
}
