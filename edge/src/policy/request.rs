//! The origin request: what Sluice removes from the client's request and what it says itself.

/// Hop-by-hop headers (RFC 9110 7.6.1) and what the client may not claim about forwarding.
pub const STRIPPED_REQUEST_HEADERS: [&str; 12] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "forwarded",
    "x-forwarded-host",
    "x-forwarded-proto",
];

/// The codings the pipeline decodes, in Sluice's order of preference.
const DECODABLE: [&str; 3] = ["br", "gzip", "deflate"];

/// Restricts a client's `Accept-Encoding` to what the pipeline decodes, keeping the client's
/// q-values and dropping what it refused (`q=0`). `None` when the client sent none: then the
/// origin request carries none either. `identity` when nothing acceptable remains.
///
/// ```
/// use sluice_edge::policy::request::accept_encoding;
/// assert_eq!(accept_encoding(Some("gzip, deflate, br, zstd")).as_deref(), Some("br, gzip, deflate"));
/// assert_eq!(accept_encoding(Some("br;q=0, gzip;q=0.5")).as_deref(), Some("gzip;q=0.5"));
/// assert_eq!(accept_encoding(Some("zstd")).as_deref(), Some("identity"));
/// assert_eq!(accept_encoding(Some("*")).as_deref(), Some("br, gzip, deflate"));
/// assert_eq!(accept_encoding(None), None);
/// ```
pub fn accept_encoding(client: Option<&str>) -> Option<String> {
    let client = client?;
    let mut offered: Vec<(&str, f32, Option<&str>)> = Vec::new();
    let mut wildcard: Option<f32> = None;
    for item in client.split(',') {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim();
        let q_text = parts
            .filter_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .or_else(|| p.trim().strip_prefix("Q="))
            })
            .next();
        let q = match q_text.map(|q| q.trim().parse::<f32>()) {
            None => 1.0,
            Some(Ok(q)) if (0.0..=1.0).contains(&q) => q,
            Some(_) => continue,
        };
        if coding == "*" {
            wildcard = Some(q);
        } else if let Some(known) = DECODABLE.iter().find(|known| {
            known.eq_ignore_ascii_case(coding)
                || (coding.eq_ignore_ascii_case("x-gzip") && **known == "gzip")
        }) {
            offered.push((known, q, q_text.map(str::trim)));
        }
    }
    if let Some(q) = wildcard {
        for known in DECODABLE {
            if !offered.iter().any(|(c, _, _)| *c == known) {
                offered.push((known, q, None));
            }
        }
    }
    let accepted: Vec<String> = DECODABLE
        .iter()
        .filter_map(|known| offered.iter().find(|(c, _, _)| c == known))
        .filter(|(_, q, _)| *q > 0.0)
        .map(|(coding, q, text)| match text {
            Some(text) if *q < 1.0 => format!("{coding};q={text}"),
            _ => (*coding).to_owned(),
        })
        .collect();
    Some(if accepted.is_empty() {
        "identity".to_owned()
    } else {
        accepted.join(", ")
    })
}

/// The origin request's target: the path and query of whatever the client sent, so an
/// absolute-form URI naming another host cannot steer the request anywhere else.
///
/// ```
/// use sluice_edge::policy::request::origin_target;
/// assert_eq!(origin_target("http://evil.example/steal?x=1"), "/steal?x=1");
/// assert_eq!(origin_target("/a/b?c"), "/a/b?c");
/// assert_eq!(origin_target("http://evil.example"), "/");
/// ```
pub fn origin_target(target: &str) -> String {
    let path = match target.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => target,
    };
    if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    }
}

/// The scheme the client used, from its request URL: what the origin's URLs are rewritten to,
/// so a page served over TLS never links back to plain HTTP.
///
/// ```
/// use sluice_edge::policy::request::client_scheme;
/// assert_eq!(client_scheme("https://news.example/a"), "https");
/// assert_eq!(client_scheme("http://127.0.0.1:7676/a"), "http");
/// ```
pub fn client_scheme(url: &str) -> &'static str {
    if url
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
    {
        "https"
    } else {
        "http"
    }
}

/// The proxy host to rewrite URLs to, from the client's `Host` header: a host name or IPv4
/// address with an optional port, nothing else. Anything else (an attacker's markup, a path) is
/// refused, so the caller falls back to the origin host and never writes it into a page.
///
/// ```
/// use sluice_edge::policy::request::proxy_host;
/// assert_eq!(proxy_host(Some("News.Example:8443")).as_deref(), Some("news.example:8443"));
/// assert_eq!(proxy_host(Some("evil\"><script>")), None);
/// assert_eq!(proxy_host(Some("a.example/path")), None);
/// assert_eq!(proxy_host(None), None);
/// ```
pub fn proxy_host(host_header: Option<&str>) -> Option<String> {
    let host = host_header?.trim().to_ascii_lowercase();
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host.as_str(), None),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    (name_ok && port_ok).then_some(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_encoding_keeps_preference_and_drops_refusals() {
        assert_eq!(accept_encoding(Some("x-gzip")).as_deref(), Some("gzip"));
        assert_eq!(
            accept_encoding(Some("identity")).as_deref(),
            Some("identity")
        );
        assert_eq!(accept_encoding(Some("*;q=0")).as_deref(), Some("identity"));
        assert_eq!(
            accept_encoding(Some("*, br;q=0")).as_deref(),
            Some("gzip, deflate")
        );
        assert_eq!(
            accept_encoding(Some("gzip;q=2")).as_deref(),
            Some("identity")
        );
        assert_eq!(accept_encoding(Some("")).as_deref(), Some("identity"));
    }
}
