//! A buffer with a ceiling: where a whole body is gathered before it is sent (an HTTP/1.0
//! client's page), memory stays bounded, and passing the ceiling is an error the caller can
//! tell apart from any other.

use std::io::{self, Write};

/// Collects what is written, up to `limit` bytes; a write past it fails.
///
/// ```
/// use sluice_edge::pipeline::BoundedBuffer;
/// use std::io::Write;
/// let mut buffer = BoundedBuffer::new(4);
/// buffer.write_all(b"abc").unwrap();
/// assert!(buffer.write_all(b"de").is_err() && buffer.overflowed());
/// ```
#[derive(Debug)]
pub struct BoundedBuffer {
    bytes: Vec<u8>,
    limit: usize,
    overflowed: bool,
}

impl BoundedBuffer {
    /// An empty buffer that holds at most `limit` bytes.
    pub fn new(limit: usize) -> Self {
        BoundedBuffer {
            bytes: Vec::new(),
            limit,
            overflowed: false,
        }
    }

    /// Whether a write went past the limit.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// What was written.
    pub fn into_inner(self) -> Vec<u8> {
        self.bytes
    }
}

impl Write for BoundedBuffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.bytes.len() + buf.len() > self.limit {
            self.overflowed = true;
            return Err(io::Error::other(format!(
                "the body passed the {} bytes held for it",
                self.limit
            )));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
