//! Inline text, rewritten as it streams by: `<script>` and `<style>` text, `<noscript>` markup.
//!
//! The text of one element arrives in pieces, and a URL may straddle two of them. Each piece
//! goes through the same streaming replacer as JavaScript and CSS bodies, which holds back only
//! the few bytes that could still be the start of an origin URL; the rest is written in place of
//! the piece at once. So a 20 MB inline script costs a few dozen bytes of memory, not 20 MB, and
//! its bytes keep flowing. What is written back must be whole characters: a multi-byte
//! character the replacer cut in two waits for the next piece as well.

use super::UrlRewriter;
use super::text::TextRewriter;
use std::io::Write;

pub(crate) struct InlineText {
    urls: UrlRewriter,
    rewriter: TextRewriter<Vec<u8>>,
    /// The start of a character cut at the end of the last piece's output.
    partial: Vec<u8>,
}

impl InlineText {
    pub(crate) fn new(urls: UrlRewriter) -> Self {
        InlineText {
            rewriter: TextRewriter::new(urls.clone(), Vec::new()),
            urls,
            partial: Vec::new(),
        }
    }

    /// Rewrites one piece of an element's text; `last` ends the element. Returns what to write
    /// in the piece's place, and how many URLs were rewritten in it.
    pub(crate) fn rewrite(&mut self, piece: &str, last: bool) -> (String, u64) {
        let before = self.rewriter.rewrites();
        // Writing into a Vec cannot fail.
        let _ = self.rewriter.write_all(piece.as_bytes());
        let mut out = std::mem::take(&mut self.partial);
        let rewrites = if last {
            // The element ends: everything held back is decided now, and the next element
            // starts afresh.
            let fresh = TextRewriter::new(self.urls.clone(), Vec::new());
            let rewriter = std::mem::replace(&mut self.rewriter, fresh);
            let rewrites = rewriter.rewrites() - before;
            out.extend(rewriter.finish().unwrap_or_default());
            rewrites
        } else {
            out.append(self.rewriter.next_mut());
            let whole = match std::str::from_utf8(&out) {
                Ok(_) => out.len(),
                Err(e) => e.valid_up_to(),
            };
            self.partial = out.split_off(whole);
            self.rewriter.rewrites() - before
        };
        // The input was text and only ASCII was replaced, and `out` ends on a whole character.
        (String::from_utf8(out).unwrap_or_default(), rewrites)
    }
}
