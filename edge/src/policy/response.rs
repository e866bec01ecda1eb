//! Response headers: what changes when the body is rewritten, what identity adds, and the
//! headers every response leaves with. Every rule works on raw bytes, so an origin's non-UTF-8
//! header values pass through unchanged, and a value Sluice edits keeps its other bytes.

use super::cookies;
use super::headers::{Headers, NonUtf8, ReadHeaders, list_elements, text};
use super::identity::{self, IdentityAction};
use crate::pipeline::csp::{self, InlineLocks};
use crate::pipeline::{Context, Encoding, UrlRewriter};

/// Headers that describe the origin's exact bytes and so are wrong once the body is rewritten.
pub const DROPPED_WHEN_MODIFIED: [&str; 5] = [
    "content-length",
    "content-md5",
    "digest",
    "content-digest",
    "accept-ranges",
];

/// Headers an operator may not set: they decide how the body is framed.
pub const FRAMING_HEADERS: [&str; 4] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "content-encoding",
];

/// Hop-by-hop headers of the origin's response (RFC 9110 7.6.1): they described the origin's
/// connection, not the client's.
pub const HOP_BY_HOP_RESPONSE: [&str; 6] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The response's content coding, read from every `Content-Encoding` line as one list (RFC 9110
/// 8.4): `None` when the pipeline cannot decode it (an unknown coding, or several stacked,
/// `identity` in a list included), which sends the body through untouched.
///
/// ```
/// use sluice_edge::pipeline::Encoding;
/// use sluice_edge::policy::headers::HeaderList;
/// use sluice_edge::policy::response::content_encoding;
/// let one = HeaderList::from_pairs([("content-encoding", ""), ("content-encoding", "gzip")]);
/// assert_eq!(content_encoding(&one), Some(Encoding::Gzip));
/// let stacked = HeaderList::from_pairs([("content-encoding", "gzip"), ("content-encoding", "gzip")]);
/// assert_eq!(content_encoding(&stacked), None);
/// ```
pub fn content_encoding(headers: &impl ReadHeaders) -> Option<Encoding> {
    match list_elements(headers, "content-encoding").as_slice() {
        [] => Some(Encoding::Identity),
        // A coding that is not even text is one the pipeline does not know.
        [one] => text(one, NonUtf8::Absent).and_then(|coding| Encoding::from_header(Some(&coding))),
        _ => None,
    }
}

/// What the origin's `Transfer-Encoding` says besides `chunked` (the coding of its
/// connection, which the client's does not share).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TransferCoding {
    /// Only `chunked`, or none.
    #[default]
    None,
    /// One coding the pipeline decodes (`gzip, chunked`).
    Decodable(Encoding),
    /// Codings the pipeline does not decode, or several.
    Unusable,
}

/// The codings of every `Transfer-Encoding` line besides `chunked` and `identity`.
///
/// ```
/// use sluice_edge::pipeline::Encoding;
/// use sluice_edge::policy::headers::HeaderList;
/// use sluice_edge::policy::response::{transfer_coding, TransferCoding};
/// let gzip = HeaderList::from_pairs([("transfer-encoding", "gzip, chunked")]);
/// assert_eq!(transfer_coding(&gzip), TransferCoding::Decodable(Encoding::Gzip));
/// let chunked = HeaderList::from_pairs([("transfer-encoding", "chunked")]);
/// assert_eq!(transfer_coding(&chunked), TransferCoding::None);
/// let odd = HeaderList::from_pairs([("transfer-encoding", "compress, chunked")]);
/// assert_eq!(transfer_coding(&odd), TransferCoding::Unusable);
/// ```
pub fn transfer_coding(headers: &impl ReadHeaders) -> TransferCoding {
    let codings: Vec<&[u8]> = list_elements(headers, "transfer-encoding")
        .into_iter()
        .filter(|c| !c.eq_ignore_ascii_case(b"chunked") && !c.eq_ignore_ascii_case(b"identity"))
        .collect();
    match codings.as_slice() {
        [] => TransferCoding::None,
        [one] => match text(one, NonUtf8::Absent).and_then(|c| Encoding::from_header(Some(&c))) {
            Some(Encoding::Identity) | None => TransferCoding::Unusable,
            Some(coding) => TransferCoding::Decodable(coding),
        },
        _ => TransferCoding::Unusable,
    }
}

/// The body's length from `Content-Length`, when it gives one (a single value of digits, or
/// several equal ones).
///
/// ```
/// use sluice_edge::policy::headers::HeaderList;
/// use sluice_edge::policy::response::content_length;
/// assert_eq!(content_length(&HeaderList::from_pairs([("content-length", "1200")])), Some(1200));
/// assert_eq!(content_length(&HeaderList::from_pairs([("content-length", "1, 2")])), None);
/// ```
pub fn content_length(headers: &impl ReadHeaders) -> Option<u64> {
    let values = list_elements(headers, "content-length");
    let first = *values.first()?;
    let all_equal = values.iter().all(|v| *v == first);
    let digits = !first.is_empty() && first.iter().all(u8::is_ascii_digit);
    (all_equal && digits)
        .then(|| std::str::from_utf8(first).ok()?.parse().ok())
        .flatten()
}

/// The response's `Content-Type` as text: every line, joined (a repeated Content-Type is not a
/// type Sluice rewrites), invalid bytes replaced (they can only be in parameters Sluice ignores,
/// such as a file name).
pub fn content_type(headers: &impl ReadHeaders) -> Option<String> {
    let lines = headers.get_all("content-type");
    if lines.is_empty() {
        return None;
    }
    Some(
        lines
            .iter()
            .map(|line| String::from_utf8_lossy(line))
            .collect::<Vec<_>>()
            .join(", "),
    )
}

/// The `charset` parameter of a Content-Type, unquoted.
///
/// ```
/// use sluice_edge::policy::response::charset_of;
/// assert_eq!(charset_of("text/html; charset=\"UTF-16\""), Some("UTF-16"));
/// assert_eq!(charset_of("text/html"), None);
/// ```
pub fn charset_of(content_type: &str) -> Option<&str> {
    crate::pipeline::charset_parameter(content_type)
}

/// Headers whose value holds URLs, rewritten like a body's URLs wherever they point at the
/// publisher's host: a redirect must not send the reader off the proxy, a preload must fetch
/// what the page will use, reports must come back through the proxy.
pub const URL_HEADERS: [&str; 6] = [
    "location",
    "content-location",
    "refresh",
    "link",
    "reporting-endpoints",
    "report-to",
];

/// Content-Security-Policy headers: kept consistent with the rewritten URLs
/// ([`csp::rewrite_policy`]).
pub const POLICY_HEADERS: [&str; 2] = [
    "content-security-policy",
    "content-security-policy-report-only",
];

/// Points the origin's URL-bearing headers at the proxy: the [`URL_HEADERS`], the
/// [`POLICY_HEADERS`], and the `Domain` of the origin's cookies
/// ([`cookies::set_cookie_for_proxy`]). Every path applies it, redirects included.
pub fn rewrite_header_urls(headers: &mut impl Headers, urls: &UrlRewriter) {
    for name in URL_HEADERS {
        // A backslash is a slash in a URL the browser follows (`Location: /\\host/x`);
        // `Report-To` is JSON, where it escapes.
        let context = match name {
            "report-to" => Context::Text,
            _ => Context::Url,
        };
        edit_each(headers, name, |value| {
            match urls.rewrite_bytes_in(value, context) {
                std::borrow::Cow::Owned(rewritten) => Some(rewritten),
                std::borrow::Cow::Borrowed(_) => None,
            }
        });
    }
    for name in POLICY_HEADERS {
        edit_each(headers, name, |value| {
            let policy = std::str::from_utf8(value).ok()?;
            let rewritten = csp::rewrite_policy(policy, urls);
            (rewritten != policy).then(|| rewritten.into_bytes())
        });
    }
    edit_each(
        headers,
        "set-cookie",
        |value| match cookies::set_cookie_for_proxy(value, urls.origin_host(), urls.proxy_host()) {
            std::borrow::Cow::Owned(fixed) => Some(fixed),
            std::borrow::Cow::Borrowed(_) => None,
        },
    );
}

/// Applies `edit` to every value of `name`, keeping their order; `None` keeps a value as it is.
fn edit_each(headers: &mut impl Headers, name: &str, edit: impl Fn(&[u8]) -> Option<Vec<u8>>) {
    let values: Vec<Vec<u8>> = headers
        .get_all(name)
        .into_iter()
        .map(<[u8]>::to_vec)
        .collect();
    let edited: Vec<Option<Vec<u8>>> = values.iter().map(|v| edit(v)).collect();
    if edited.iter().all(Option::is_none) {
        return;
    }
    headers.remove(name);
    for (value, edited) in values.iter().zip(edited) {
        headers.append(name, edited.as_deref().unwrap_or(value));
    }
}

/// What the response's enforced Content-Security-Policy pins by hash (every policy of every
/// line must be satisfied; a report-only policy pins nothing).
pub fn inline_locks(headers: &impl ReadHeaders) -> InlineLocks {
    headers
        .get_all("content-security-policy")
        .into_iter()
        .filter_map(|line| std::str::from_utf8(line).ok())
        .flat_map(|line| line.split(','))
        .map(InlineLocks::of)
        .fold(InlineLocks::default(), InlineLocks::union)
}

/// Adjusts the headers of a response whose body Sluice rewrites: drops length and digests,
/// weakens a strong ETag (the bytes differ, the meaning does not), drops `Accept-Ranges`
/// (ranges of the origin's bytes do not apply), and makes sure `Vary` names `Accept-Encoding`.
pub fn prepare_modified_body(headers: &mut impl Headers) {
    for name in DROPPED_WHEN_MODIFIED {
        headers.remove(name);
    }
    if let Some(etag) = headers.get("etag").map(weaken_etag) {
        headers.set("etag", &etag);
    }
    let vary = vary_with_accept_encoding(&list_elements(headers, "vary"));
    headers.set("vary", &vary);
}

/// Says the body's content coding: `Content-Encoding` names it, or is absent for identity.
pub fn set_content_encoding(headers: &mut impl Headers, encoding: Encoding) {
    match encoding.token() {
        Some(token) => headers.set("content-encoding", token.as_bytes()),
        None => headers.remove("content-encoding"),
    }
}

/// The most bytes of response head Fastly sends: its documented limit is 69 KB.
pub const MAX_HEAD_BYTES: usize = 69 * 1024;

/// The size of a head's header lines as they go out (`name: value` and a line end each).
pub fn head_bytes(headers: &impl ReadHeaders) -> usize {
    headers
        .names()
        .iter()
        .map(|name| {
            headers
                .get_all(name)
                .iter()
                .map(|value| name.len() + value.len() + 4)
                .sum::<usize>()
        })
        .sum()
}

/// `"abc"` becomes `W/"abc"`; a weak ETag stays as it is. Bytes are kept as they are.
///
/// ```
/// use sluice_edge::policy::response::weaken_etag;
/// assert_eq!(weaken_etag(b"\"v1\""), b"W/\"v1\"");
/// assert_eq!(weaken_etag(b"W/\"v1\""), b"W/\"v1\"");
/// ```
pub fn weaken_etag(etag: &[u8]) -> Vec<u8> {
    let etag = etag.trim_ascii();
    if etag.starts_with(b"W/") {
        etag.to_vec()
    } else {
        [b"W/", etag].concat()
    }
}

/// `Vary` (as its list elements) with `Accept-Encoding` in it.
///
/// ```
/// use sluice_edge::policy::response::vary_with_accept_encoding;
/// assert_eq!(vary_with_accept_encoding(&[]), b"Accept-Encoding");
/// assert_eq!(vary_with_accept_encoding(&[b"Cookie"]), b"Cookie, Accept-Encoding");
/// assert_eq!(vary_with_accept_encoding(&[b"accept-encoding"]), b"accept-encoding");
/// assert_eq!(vary_with_accept_encoding(&[b"*"]), b"*");
/// ```
pub fn vary_with_accept_encoding(vary: &[&[u8]]) -> Vec<u8> {
    let covered = vary
        .iter()
        .any(|field| *field == b"*" || field.eq_ignore_ascii_case(b"accept-encoding"));
    let mut fields: Vec<&[u8]> = vary.to_vec();
    if !covered {
        fields.push(b"Accept-Encoding");
    }
    fields.join(&b", "[..])
}

/// `Cache-Control` for a response that carries a cookie Sluice set: `public`, `s-maxage` and
/// field-scoped `private="..."` are removed and `private` is added, so no shared cache stores
/// one reader's identity for another. Every other directive is kept as it was.
///
/// ```
/// use sluice_edge::policy::response::private_cache_control;
/// assert_eq!(private_cache_control(&[b"public", b"max-age=60", b"s-maxage=600"]), b"max-age=60, private");
/// assert_eq!(private_cache_control(&[b"private=\"set-cookie, x-user\"", b"no-cache"]), b"no-cache, private");
/// assert_eq!(private_cache_control(&[]), b"private");
/// ```
pub fn private_cache_control(directives: &[&[u8]]) -> Vec<u8> {
    let name = |d: &[u8]| -> Vec<u8> {
        d.split(|&b| b == b'=')
            .next()
            .unwrap_or_default()
            .trim_ascii()
            .to_ascii_lowercase()
    };
    let mut kept: Vec<&[u8]> = directives
        .iter()
        .copied()
        .filter(|d| {
            let n = name(d);
            n != b"public" && n != b"s-maxage" && !(n == b"private" && d.contains(&b'='))
        })
        .collect();
    if !kept.iter().any(|d| name(d) == b"private") {
        kept.push(b"private");
    }
    kept.join(&b", "[..])
}

/// Headers that tell a shared cache how long to keep a response whatever `Cache-Control` says:
/// Fastly's `Surrogate-Control`, RFC 9213's `CDN-Cache-Control` and the targeted fields named
/// after it (`Cloudflare-CDN-Cache-Control`), Akamai's `Edge-Control`, and `Expires`. A
/// response that carries one reader's ID goes without them ([`is_shared_cache_header`]).
pub const SHARED_CACHE_HEADERS: [&str; 4] = [
    "surrogate-control",
    "cdn-cache-control",
    "edge-control",
    "expires",
];

/// Whether `name` is one of the [`SHARED_CACHE_HEADERS`] or a targeted cache field
/// (`<target>-cdn-cache-control`, RFC 9213).
pub fn is_shared_cache_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SHARED_CACHE_HEADERS.contains(&name.as_str()) || name.ends_with("-cdn-cache-control")
}

/// Adds what identity decided to a response: the ID header and cookie, or the cookie's expiry.
/// Either way the response is then private to this reader: `Cache-Control` says so (see
/// [`private_cache_control`]), and every header that could let a shared cache keep it anyway is
/// removed ([`is_shared_cache_header`]).
pub fn apply_identity(headers: &mut impl Headers, action: &IdentityAction, domain: Option<&str>) {
    let cookie = match action {
        IdentityAction::Set(id) => {
            headers.set(identity::HEADER, id.as_bytes());
            identity::set_cookie(id, domain)
        }
        IdentityAction::Expire => identity::expire_cookie(domain),
        IdentityAction::Nothing => return,
    };
    headers.append("set-cookie", cookie.as_bytes());
    let cache_control = private_cache_control(&list_elements(headers, "cache-control"));
    headers.set("cache-control", &cache_control);
    for name in headers.names() {
        if is_shared_cache_header(&name) {
            headers.remove(&name);
        }
    }
}

/// Where the client is, from geolocation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Geo {
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    /// City name.
    pub city: Option<String>,
    /// Continent code.
    pub continent: Option<String>,
    /// Region (ISO 3166-2 subdivision).
    pub region: Option<String>,
    /// Latitude and longitude.
    pub coordinates: Option<(f64, f64)>,
    /// Metro code.
    pub metro_code: Option<i64>,
}

/// Everything the final headers are made of.
#[derive(Debug, Clone, Default)]
pub struct FinalHeaders<'a> {
    /// Geolocation; `None` when the address has none.
    pub geo: Option<Geo>,
    /// The service version (`FASTLY_SERVICE_VERSION`).
    pub version: &'a str,
    /// Whether this is the staging environment (`FASTLY_IS_STAGING=1`).
    pub staging: bool,
    /// The operator's `response_headers`, in order.
    pub operator: &'a [(String, String)],
}

/// Sets the headers every response leaves with, on every path, before the head goes out:
/// geolocation, version, environment, then the operator's own (framing headers excepted).
pub fn finalize(headers: &mut impl Headers, input: &FinalHeaders<'_>) {
    for name in HOP_BY_HOP_RESPONSE {
        headers.remove(name);
    }
    match &input.geo {
        Some(geo) => {
            let fields = [
                ("x-geo-country", geo.country.clone()),
                ("x-geo-city", geo.city.clone()),
                ("x-geo-continent", geo.continent.clone()),
                ("x-geo-region", geo.region.clone()),
                (
                    "x-geo-coordinates",
                    geo.coordinates.map(|(lat, lon)| format!("{lat},{lon}")),
                ),
                ("x-geo-metro-code", geo.metro_code.map(|m| m.to_string())),
            ];
            for (name, value) in fields {
                if let Some(value) = value.filter(|v| super::headers::header_safe(v)) {
                    headers.set(name, value.as_bytes());
                }
            }
            headers.set("x-geo-info-available", b"true");
        }
        None => headers.set("x-geo-info-available", b"false"),
    }
    headers.set("x-sluice-version", input.version.as_bytes());
    if input.staging {
        headers.set("x-sluice-env", b"staging");
    }
    for (name, value) in input.operator {
        if !FRAMING_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            headers.set(name, value.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::headers::{HeaderList, ReadHeaders};

    #[test]
    fn a_modified_body_loses_length_digests_and_ranges_and_keeps_other_bytes() {
        let mut h = HeaderList::from_pairs([
            ("Content-Length", &b"10"[..]),
            ("Content-MD5", b"x"),
            ("Digest", b"sha-256=x"),
            ("Content-Digest", b"sha-256=:x:"),
            ("Accept-Ranges", b"bytes"),
            ("ETag", b"\"caf\xe9\""),
            ("Vary", b"Cookie"),
            ("Vary", b"X-Caf\xe9"),
            ("Set-Cookie", b"a=1"),
        ]);
        prepare_modified_body(&mut h);
        assert_eq!(h.get("etag"), Some(&b"W/\"caf\xe9\""[..]));
        assert_eq!(
            h.get("vary"),
            Some(&b"Cookie, X-Caf\xe9, Accept-Encoding"[..])
        );
        for name in DROPPED_WHEN_MODIFIED {
            assert_eq!(h.get(name), None, "{name}");
        }
        assert_eq!(h.get_str("set-cookie"), Some("a=1"));
    }

    #[test]
    fn url_bearing_headers_point_at_the_proxy() {
        let urls = UrlRewriter::new("www.publisher.example", "http", "127.0.0.1:7676");
        let mut h = HeaderList::from_pairs([
            ("Location", &b"https://WWW.publisher.example/login?next=%2F"[..]),
            ("Content-Location", b"//www.publisher.example/a"),
            ("Refresh", b"5; url=https://www.publisher.example/b"),
            ("Link", b"<https://www.publisher.example/app.css>; rel=preload; as=style"),
            ("Link", b"<https://cdn.example/x.js>; rel=preload"),
            (
                "Content-Security-Policy",
                b"script-src https://www.publisher.example 'sha256-x='; report-uri https://www.publisher.example/csp",
            ),
            ("Set-Cookie", b"session=caf\xe9; Domain=www.publisher.example; Path=/"),
            ("Set-Cookie", b"other=1; Domain=elsewhere.example"),
            ("X-Custom", b"https://www.publisher.example/untouched"),
        ]);
        rewrite_header_urls(&mut h, &urls);
        let value = |name| {
            h.get_all(name)
                .iter()
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(value("location"), ["http://127.0.0.1:7676/login?next=%2F"]);
        assert_eq!(value("content-location"), ["//127.0.0.1:7676/a"]);
        assert_eq!(value("refresh"), ["5; url=http://127.0.0.1:7676/b"]);
        assert_eq!(
            value("link"),
            [
                "<http://127.0.0.1:7676/app.css>; rel=preload; as=style",
                "<https://cdn.example/x.js>; rel=preload"
            ]
        );
        assert_eq!(
            value("content-security-policy"),
            [
                "script-src https://www.publisher.example http://127.0.0.1:7676 'sha256-x='; report-uri http://127.0.0.1:7676/csp"
            ]
        );
        assert_eq!(h.get_all("set-cookie")[0], b"session=caf\xe9; Path=/");
        assert_eq!(
            h.get_all("set-cookie")[1],
            b"other=1; Domain=elsewhere.example"
        );
        assert_eq!(
            h.get_str("x-custom"),
            Some("https://www.publisher.example/untouched")
        );
    }

    #[test]
    fn only_an_enforced_policy_with_hashes_locks_inline_content() {
        let h = HeaderList::from_pairs([
            (
                "content-security-policy",
                "default-src 'self', style-src 'sha256-a='",
            ),
            (
                "content-security-policy-report-only",
                "script-src 'sha256-b='",
            ),
        ]);
        let locks = inline_locks(&h);
        assert!(locks.styles.any() && !locks.scripts.any());
    }

    #[test]
    fn a_response_with_sluices_cookie_is_private() {
        let mut h = HeaderList::from_pairs([
            ("Cache-Control", "public, max-age=300"),
            ("Cache-Control", "s-maxage=3600, private=\"set-cookie\""),
        ]);
        apply_identity(&mut h, &IdentityAction::Expire, None);
        assert_eq!(h.get_str("cache-control"), Some("max-age=300, private"));
        assert!(h.get_str("set-cookie").unwrap().contains("Max-Age=0"));
        let mut untouched = HeaderList::from_pairs([("Cache-Control", "public")]);
        apply_identity(&mut untouched, &IdentityAction::Nothing, None);
        assert_eq!(untouched.get_str("cache-control"), Some("public"));
    }

    #[test]
    fn content_encoding_is_one_list_over_every_line() {
        let cases: [(&[&str], Option<Encoding>); 7] = [
            (&[], Some(Encoding::Identity)),
            (&["gzip"], Some(Encoding::Gzip)),
            (&["", "gzip"], Some(Encoding::Gzip)),
            (&["gzip", "gzip"], None),
            (&["identity", "gzip"], None),
            (&["br, gzip"], None),
            (&["zstd"], None),
        ];
        for (lines, expected) in cases {
            let h = HeaderList::from_pairs(lines.iter().map(|v| ("content-encoding", *v)));
            assert_eq!(content_encoding(&h), expected, "{lines:?}");
        }
        let latin1 = HeaderList::from_pairs([("content-encoding", &b"gzip\xe9"[..])]);
        assert_eq!(content_encoding(&latin1), None);
    }

    #[test]
    fn operator_headers_cannot_set_framing() {
        let mut h = HeaderList::default();
        let operator = vec![
            ("X-Frame-Options".to_owned(), "DENY".to_owned()),
            ("Content-Length".to_owned(), "1".to_owned()),
            ("Transfer-Encoding".to_owned(), "chunked".to_owned()),
        ];
        finalize(
            &mut h,
            &FinalHeaders {
                geo: None,
                version: "7",
                staging: true,
                operator: &operator,
            },
        );
        assert_eq!(h.get_str("x-frame-options"), Some("DENY"));
        assert_eq!(h.get("content-length"), None);
        assert_eq!(h.get("transfer-encoding"), None);
        assert_eq!(h.get_str("x-sluice-env"), Some("staging"));
        assert_eq!(h.get_str("x-geo-info-available"), Some("false"));
        let mut h = HeaderList::from_pairs([("Connection", "close")]);
        finalize(&mut h, &FinalHeaders::default());
        assert_eq!(h.get("connection"), None);
    }
}
