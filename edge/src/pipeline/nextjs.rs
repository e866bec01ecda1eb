//! The Next.js post-processor: host names in Next.js data, rewritten as they stream.
//!
//! The streaming rewriter already replaces `https://host` and `//host` in every inline script,
//! but Next.js data also carries the bare host (`"hostname":"www.publisher.example"`,
//! `"canonical":"www.publisher.example/a"`), which the ordinary rewrite leaves alone (a bare host
//! in text is a word, not a URL). Two places hold such data, and neither needs holding:
//! - `<script id="__NEXT_DATA__">` (Pages Router) is one JSON document: its text streams through
//!   the inline rewrite with [`UrlRewriter::with_json_string_hosts`], which also rewrites a host
//!   that opens a JSON string (`"www.publisher.example...`). Nothing is parsed, so the element
//!   costs a few dozen bytes of memory whatever its size, and every other byte (numbers, key
//!   order, spacing) is kept as the origin wrote it.
//! - `self.__next_f.push([...])` scripts (App Router flight data) carry the same values as
//!   JSON-escaped strings: inline scripts are rewritten with [`UrlRewriter::with_quoted_hosts`],
//!   which catches `\"www.publisher.example...`.
//!
//! [`UrlRewriter::with_json_string_hosts`]: super::UrlRewriter::with_json_string_hosts
//! [`UrlRewriter::with_quoted_hosts`]: super::UrlRewriter::with_quoted_hosts

/// The id of the Pages Router's data element.
pub const NEXT_DATA_ID: &str = "__NEXT_DATA__";
