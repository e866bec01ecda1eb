//! Response headers: what changes when the body is rewritten, and the headers every response
//! leaves with. Written against a small [`Headers`] trait so the rules are tested natively; the
//! Compute glue implements it for Fastly's `Response`.

/// The header operations the rules need.
pub trait Headers {
    /// The first value of `name`.
    fn get(&self, name: &str) -> Option<String>;
    /// Replaces every value of `name`.
    fn set(&mut self, name: &str, value: &str);
    /// Adds a value of `name`, keeping the others (Set-Cookie).
    fn append(&mut self, name: &str, value: &str);
    /// Removes every value of `name`.
    fn remove(&mut self, name: &str);
}

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
pub const HOP_BY_HOP_RESPONSE: [&str; 5] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "trailer",
    "upgrade",
];

/// Adjusts the headers of a response whose body Sluice rewrites: drops length and digests,
/// weakens a strong ETag (the bytes differ, the meaning does not), drops `Accept-Ranges`
/// (ranges of the origin's bytes do not apply), and makes sure `Vary` names `Accept-Encoding`.
pub fn prepare_modified_body(headers: &mut impl Headers) {
    for name in DROPPED_WHEN_MODIFIED {
        headers.remove(name);
    }
    if let Some(etag) = headers.get("etag") {
        headers.set("etag", &weaken_etag(&etag));
    }
    let vary = vary_with_accept_encoding(headers.get("vary").as_deref());
    headers.set("vary", &vary);
}

/// `"abc"` becomes `W/"abc"`; a weak ETag stays as it is.
///
/// ```
/// use sluice_edge::policy::headers::weaken_etag;
/// assert_eq!(weaken_etag("\"v1\""), "W/\"v1\"");
/// assert_eq!(weaken_etag("W/\"v1\""), "W/\"v1\"");
/// ```
pub fn weaken_etag(etag: &str) -> String {
    let etag = etag.trim();
    if etag.starts_with("W/") {
        etag.to_owned()
    } else {
        format!("W/{etag}")
    }
}

/// `Vary` with `Accept-Encoding` in it.
///
/// ```
/// use sluice_edge::policy::headers::vary_with_accept_encoding;
/// assert_eq!(vary_with_accept_encoding(None), "Accept-Encoding");
/// assert_eq!(vary_with_accept_encoding(Some("Cookie")), "Cookie, Accept-Encoding");
/// assert_eq!(vary_with_accept_encoding(Some("accept-encoding")), "accept-encoding");
/// assert_eq!(vary_with_accept_encoding(Some("*")), "*");
/// ```
pub fn vary_with_accept_encoding(vary: Option<&str>) -> String {
    match vary.map(str::trim).filter(|v| !v.is_empty()) {
        None => "Accept-Encoding".to_owned(),
        Some(v)
            if v == "*"
                || v.split(',')
                    .any(|f| f.trim().eq_ignore_ascii_case("accept-encoding")) =>
        {
            v.to_owned()
        }
        Some(v) => format!("{v}, Accept-Encoding"),
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
                if let Some(value) = value.filter(|v| header_safe(v)) {
                    headers.set(name, &value);
                }
            }
            headers.set("x-geo-info-available", "true");
        }
        None => headers.set("x-geo-info-available", "false"),
    }
    headers.set("x-sluice-version", input.version);
    if input.staging {
        headers.set("x-sluice-env", "staging");
    }
    for (name, value) in input.operator {
        if !FRAMING_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            headers.set(name, value);
        }
    }
}

/// A value that can go into a header as it is: visible ASCII and spaces.
pub fn header_safe(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b == b' ' || b == b'\t' || (0x21..0x7f).contains(&b))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Headers as a list, for tests.
    #[derive(Default, Debug)]
    pub(crate) struct List(pub Vec<(String, String)>);

    impl Headers for List {
        fn get(&self, name: &str) -> Option<String> {
            self.0
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        }
        fn set(&mut self, name: &str, value: &str) {
            self.remove(name);
            self.append(name, value);
        }
        fn append(&mut self, name: &str, value: &str) {
            self.0.push((name.to_owned(), value.to_owned()));
        }
        fn remove(&mut self, name: &str) {
            self.0.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        }
    }

    #[test]
    fn a_modified_body_loses_length_digests_and_ranges() {
        let mut h = List(
            [
                ("Content-Length", "10"),
                ("Content-MD5", "x"),
                ("Digest", "sha-256=x"),
                ("Content-Digest", "sha-256=:x:"),
                ("Accept-Ranges", "bytes"),
                ("ETag", "\"v1\""),
                ("Vary", "Cookie"),
                ("Set-Cookie", "a=1"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .to_vec(),
        );
        prepare_modified_body(&mut h);
        assert_eq!(h.get("etag").as_deref(), Some("W/\"v1\""));
        assert_eq!(h.get("vary").as_deref(), Some("Cookie, Accept-Encoding"));
        for name in DROPPED_WHEN_MODIFIED {
            assert_eq!(h.get(name), None, "{name}");
        }
        assert_eq!(h.get("set-cookie").as_deref(), Some("a=1"));
    }

    #[test]
    fn operator_headers_cannot_set_framing() {
        let mut h = List::default();
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
        assert_eq!(h.get("x-frame-options").as_deref(), Some("DENY"));
        assert_eq!(h.get("content-length"), None);
        assert_eq!(h.get("transfer-encoding"), None);
        assert_eq!(h.get("x-sluice-env").as_deref(), Some("staging"));
        assert_eq!(h.get("x-geo-info-available").as_deref(), Some("false"));
        let mut h = List(vec![("Connection".into(), "close".into())]);
        finalize(&mut h, &FinalHeaders::default());
        assert_eq!(h.get("connection"), None);
    }
}
