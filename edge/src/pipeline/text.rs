//! The streaming URL replacer for JavaScript, CSS and JSON.
//!
//! Bytes are scanned as they arrive; only the last few bytes of a write (where a URL could start
//! but not yet be decided) are held back and carried over to the next write, so a URL split across
//! origin chunks is still found and memory stays at one chunk plus a few dozen bytes.

use super::url::{Scan, UrlRewriter};
use std::io::{self, Write};

/// Replaces the origin's URLs in a byte stream and writes the result to `next`.
pub(crate) struct TextRewriter<W> {
    urls: UrlRewriter,
    carry: Vec<u8>,
    next: W,
    rewrites: u64,
}

impl<W: Write> TextRewriter<W> {
    pub(crate) fn new(urls: UrlRewriter, next: W) -> Self {
        TextRewriter {
            urls,
            carry: Vec::new(),
            next,
            rewrites: 0,
        }
    }

    /// How many URLs were rewritten so far.
    pub(crate) fn rewrites(&self) -> u64 {
        self.rewrites
    }

    /// The next stage, for a caller that collects the output as it goes.
    pub(crate) fn next_mut(&mut self) -> &mut W {
        &mut self.next
    }

    /// Writes what is decided of `buf` and returns how much of it that was.
    fn emit(&mut self, buf: &[u8], complete: bool) -> io::Result<usize> {
        let mut copied = 0;
        loop {
            match self.urls.scan(buf, copied, complete) {
                Scan::Found(m) => {
                    self.next.write_all(&buf[copied..m.start])?;
                    self.next.write_all(self.urls.replacement(m.form))?;
                    self.rewrites += 1;
                    copied = m.end;
                }
                Scan::Until { safe } => {
                    self.next.write_all(&buf[copied..safe])?;
                    return Ok(safe);
                }
            }
        }
    }

    /// Writes out the held-back bytes and returns the next stage.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        let carry = std::mem::take(&mut self.carry);
        self.emit(&carry, true)?;
        Ok(self.next)
    }
}

impl<W: Write> Write for TextRewriter<W> {
    fn write(&mut self, chunk: &[u8]) -> io::Result<usize> {
        if self.carry.is_empty() {
            // The common case: scan the caller's bytes in place and keep only the undecided tail.
            let used = self.emit(chunk, false)?;
            self.carry.extend_from_slice(&chunk[used..]);
        } else {
            let mut buf = std::mem::take(&mut self.carry);
            buf.extend_from_slice(chunk);
            let used = self.emit(&buf, false)?;
            buf.drain(..used);
            self.carry = buf;
        }
        Ok(chunk.len())
    }

    /// Passes the flush on. The held-back tail stays: it is at most a few dozen bytes that may
    /// still turn out to be a URL.
    fn flush(&mut self) -> io::Result<()> {
        self.next.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite_in_pieces(input: &[u8], piece: usize) -> Vec<u8> {
        let urls = UrlRewriter::new("www.publisher.example", "https", "proxy.example");
        let mut rewriter = TextRewriter::new(urls, Vec::new());
        for chunk in input.chunks(piece) {
            rewriter.write_all(chunk).unwrap();
        }
        rewriter.finish().unwrap()
    }

    #[test]
    fn finds_urls_split_across_every_boundary() {
        let input = br#"a="https://www.publisher.example/x";b="\/\/www.publisher.example\/y";c="https://cdn.www.publisher.example/";d="HTTP://WWW.PUBLISHER.EXAMPLE./z";"#;
        let expected = br#"a="https://proxy.example/x";b="\/\/proxy.example\/y";c="https://cdn.www.publisher.example/";d="https://proxy.example/z";"#;
        for piece in 1..=input.len() {
            assert_eq!(
                String::from_utf8_lossy(&rewrite_in_pieces(input, piece)),
                String::from_utf8_lossy(expected),
                "piece size {piece}"
            );
        }
    }

    #[test]
    fn holds_back_only_a_short_tail() {
        let urls = UrlRewriter::new("www.publisher.example", "https", "proxy.example");
        let mut rewriter = TextRewriter::new(urls.clone(), Vec::new());
        rewriter.write_all(&[b'x'; 4096]).unwrap();
        assert!(rewriter.carry.len() <= urls.holdback());
        assert!(rewriter.next.len() >= 4096 - urls.holdback());
    }
}
