//! The Next.js post-processor: URLs and host names in Next.js data, in a streaming page.
//!
//! The streaming rewriter already replaces `https://host` and `//host` in every inline script,
//! but Next.js data also carries the bare host (`"hostname":"www.publisher.example"`,
//! `"canonical":"www.publisher.example/a"`), which only a JSON-aware rewrite can tell apart from
//! text. Only one element needs the whole of anything:
//! - `<script id="__NEXT_DATA__">` (Pages Router): its text alone is held ([`NextData`]), up to
//!   a cap, parsed, every string value that is a URL or starts with the host rewritten (key order
//!   kept, `<` escaped so the JSON cannot close its element) and written when the element ends.
//!   Everything before and after it streams as usual. Over the cap, the text goes out with the
//!   ordinary streaming rewrite, the same a page without the post-processor gets.
//! - `self.__next_f.push([...])` scripts (App Router flight data) carry the same values as
//!   JSON-escaped strings; they need no holding: inline scripts are rewritten with
//!   [`UrlRewriter::with_quoted_hosts`], which catches `\"www.publisher.example...` as it
//!   streams.

use super::UrlRewriter;
use super::inline::InlineText;
use serde_json::Value;

/// The id of the Pages Router's data element.
pub const NEXT_DATA_ID: &str = "__NEXT_DATA__";

/// The text of one `__NEXT_DATA__` element, held until it ends (or passes the cap).
pub(crate) struct NextData {
    urls: UrlRewriter,
    cap: usize,
    held: String,
    /// Past the cap: the rest streams through the ordinary rewrite.
    overflow: Option<InlineText>,
}

/// What to write in a piece's place.
pub(crate) enum Piece {
    /// Nothing yet: the piece is held.
    Held,
    /// This text, with this many URLs rewritten.
    Write(String, u64),
}

impl NextData {
    pub(crate) fn new(urls: UrlRewriter, cap: usize) -> Self {
        NextData {
            urls,
            cap,
            held: String::new(),
            overflow: None,
        }
    }

    /// Whether the element went past the cap (and so was not parsed).
    pub(crate) fn overflowed(&self) -> bool {
        self.overflow.is_some()
    }

    /// Takes one piece of the element's text; `last` ends the element.
    pub(crate) fn push(&mut self, piece: &str, last: bool) -> Piece {
        if let Some(inline) = &mut self.overflow {
            let (text, rewrites) = inline.rewrite(piece, last);
            return Piece::Write(text, rewrites);
        }
        if self.held.len() + piece.len() > self.cap {
            // Too large to hold: what was held, and the rest, stream as any script does.
            let mut inline = InlineText::new(self.urls.clone());
            let (mut text, mut rewrites) = inline.rewrite(&std::mem::take(&mut self.held), false);
            let (more, more_rewrites) = inline.rewrite(piece, last);
            text.push_str(&more);
            rewrites += more_rewrites;
            self.overflow = Some(inline);
            return Piece::Write(text, rewrites);
        }
        self.held.push_str(piece);
        if !last {
            return Piece::Held;
        }
        let whole = std::mem::take(&mut self.held);
        match serde_json::from_str::<Value>(&whole) {
            Ok(mut data) => {
                let rewrites = rewrite_value(&mut data, &self.urls);
                // `<` escaped so the JSON can never close its own script element.
                Piece::Write(data.to_string().replace('<', "\\u003c"), rewrites)
            }
            // Data that is not JSON goes out as the streaming rewriter makes any script.
            Err(_) => {
                let (text, rewrites) = InlineText::new(self.urls.clone()).rewrite(&whole, true);
                Piece::Write(text, rewrites)
            }
        }
    }
}

/// Rewrites every string value that is a URL on the origin host or starts with the bare host;
/// returns how many.
fn rewrite_value(value: &mut Value, urls: &UrlRewriter) -> u64 {
    match value {
        Value::String(s) => {
            let rewritten = urls.rewrite_attribute(s);
            if rewritten == s.as_str() {
                return 0;
            }
            *s = rewritten.into_owned();
            1
        }
        Value::Array(items) => items.iter_mut().map(|v| rewrite_value(v, urls)).sum(),
        Value::Object(map) => map.values_mut().map(|v| rewrite_value(v, urls)).sum(),
        _ => 0,
    }
}
