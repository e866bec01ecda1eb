//! A reader's conditional request answered from a kept copy (RFC 9110 13.1.2, 13.1.3, 13.2.2):
//! `If-None-Match` against the copy's `ETag` by weak comparison (Sluice weakens the origin's
//! ETag: the bytes differ from the origin's, the meaning does not), else `If-Modified-Since`
//! against its `Last-Modified`.

use super::super::headers::{ReadHeaders, list_elements};
use std::time::SystemTime;

/// Whether a `GET` or `HEAD` with these request headers is answered `304 Not Modified` by a copy
/// with these response headers.
///
/// ```
/// use sluice_edge::policy::cache::conditional::not_modified;
/// use sluice_edge::policy::headers::HeaderList;
/// let copy = HeaderList::from_pairs([("etag", r#"W/"v1""#)]);
/// let asks = |value: &str| HeaderList::from_pairs([("if-none-match", value)]);
/// assert!(not_modified(&asks(r#""v1""#), &copy));
/// assert!(not_modified(&asks(r#"W/"v0", W/"v1""#), &copy));
/// assert!(!not_modified(&asks(r#""v2""#), &copy));
/// assert!(not_modified(&asks("*"), &copy));
/// ```
pub fn not_modified(request: &impl ReadHeaders, copy: &impl ReadHeaders) -> bool {
    let asked = list_elements(request, "if-none-match");
    if !asked.is_empty() {
        let Some(etag) = copy.get("etag") else {
            return false;
        };
        return asked
            .iter()
            .any(|tag| *tag == b"*" || opaque(tag).is_some_and(|t| Some(t) == opaque(etag)));
    }
    // If-Modified-Since is ignored when If-None-Match is present (RFC 9110 13.2.2).
    let since = request.get("if-modified-since").and_then(http_date);
    let modified = copy.get("last-modified").and_then(http_date);
    matches!((since, modified), (Some(since), Some(modified)) if modified <= since)
}

/// An entity tag's opaque part, `W/` dropped: what weak comparison compares.
fn opaque(tag: &[u8]) -> Option<&[u8]> {
    let tag = tag.trim_ascii();
    let tag = tag.strip_prefix(b"W/").unwrap_or(tag);
    (tag.len() >= 2 && tag.starts_with(b"\"") && tag.ends_with(b"\"")).then_some(tag)
}

fn http_date(value: &[u8]) -> Option<SystemTime> {
    httpdate::parse_http_date(std::str::from_utf8(value).ok()?.trim()).ok()
}

/// The headers a `304` carries from the copy (RFC 9110 15.4.5): those a cache would update
/// its own copy with. The rest describe a body the `304` does not have.
pub const KEPT_ON_304: [&str; 7] = [
    "cache-control",
    "content-location",
    "date",
    "etag",
    "expires",
    "last-modified",
    "vary",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::headers::HeaderList;

    #[test]
    fn if_modified_since_counts_only_without_if_none_match() {
        let copy = HeaderList::from_pairs([
            ("etag", "W/\"v1\""),
            ("last-modified", "Sun, 06 Dec 2026 05:00:00 GMT"),
        ]);
        let later =
            HeaderList::from_pairs([("if-modified-since", "Sun, 06 Dec 2026 06:00:00 GMT")]);
        let earlier =
            HeaderList::from_pairs([("if-modified-since", "Sun, 06 Dec 2026 04:00:00 GMT")]);
        assert!(not_modified(&later, &copy));
        assert!(!not_modified(&earlier, &copy));
        let both = HeaderList::from_pairs([
            ("if-none-match", "\"v2\""),
            ("if-modified-since", "Sun, 06 Dec 2026 06:00:00 GMT"),
        ]);
        assert!(!not_modified(&both, &copy));
    }

    #[test]
    fn malformed_validators_never_match() {
        let copy = HeaderList::from_pairs([("etag", "v1"), ("last-modified", "yesterday")]);
        assert!(!not_modified(
            &HeaderList::from_pairs([("if-none-match", "v1")]),
            &copy
        ));
        assert!(!not_modified(
            &HeaderList::from_pairs([("if-modified-since", "today")]),
            &copy
        ));
        assert!(!not_modified(&HeaderList::default(), &copy));
    }
}
