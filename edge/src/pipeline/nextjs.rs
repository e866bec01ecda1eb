//! The Next.js post-processor: URLs and host names inside `<script id="__NEXT_DATA__">`.
//!
//! The streaming rewriter already replaces `https://host` and `//host` in every inline script,
//! but Next.js data also carries the bare host (`"hostname":"www.publisher.example"`,
//! `"canonical":"www.publisher.example/a"`). Telling a host name apart from other text needs the
//! JSON parsed, and so the whole block: this is why HTML with this post-processor takes the
//! buffered path.

use super::{PipelineError, UrlRewriter};
use lol_html::html_content::TextChunk;
use lol_html::{RewriteStrSettings, rewrite_str, text};
use serde_json::Value;
use std::cell::RefCell;

/// Rewrites the `__NEXT_DATA__` JSON of a whole (UTF-8) document.
///
/// ```
/// use sluice_edge::pipeline::{nextjs::rewrite_next_data, UrlRewriter};
/// let urls = UrlRewriter::new("www.publisher.example", "https", "proxy.example");
/// let page = r#"<script id="__NEXT_DATA__" type="application/json">{"host":"www.publisher.example","a":"www.publisher.example/x"}</script>"#;
/// assert_eq!(
///     rewrite_next_data(page, &urls).unwrap(),
///     r#"<script id="__NEXT_DATA__" type="application/json">{"host":"proxy.example","a":"proxy.example/x"}</script>"#
/// );
/// ```
pub fn rewrite_next_data(html: &str, urls: &UrlRewriter) -> Result<String, PipelineError> {
    let pending = RefCell::new(String::new());
    let handler = text!("script#__NEXT_DATA__", |chunk: &mut TextChunk| {
        pending.borrow_mut().push_str(chunk.as_str());
        if !chunk.last_in_text_node() {
            chunk.remove();
            return Ok(());
        }
        let whole = std::mem::take(&mut *pending.borrow_mut());
        // Data that is not JSON is left as the streaming rewriter made it.
        if let Ok(mut data) = serde_json::from_str::<Value>(&whole) {
            rewrite_value(&mut data, urls);
            // `<` escaped so the JSON can never close its own script element.
            chunk.set_str(data.to_string().replace('<', "\\u003c"));
        } else {
            chunk.set_str(whole);
        }
        Ok(())
    });
    let settings = RewriteStrSettings::new().append_element_content_handler(handler);
    rewrite_str(html, settings).map_err(|e| PipelineError::Rewrite(e.to_string()))
}

fn rewrite_value(value: &mut Value, urls: &UrlRewriter) {
    match value {
        Value::String(s) => {
            let rewritten = urls.rewrite_attribute(s);
            if rewritten != s.as_str() {
                *s = rewritten.into_owned();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_value(v, urls)),
        Value::Object(map) => map.values_mut().for_each(|v| rewrite_value(v, urls)),
        _ => {}
    }
}
