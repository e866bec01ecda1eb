//! The client's request and the origin request made from it: what Sluice reads from the target
//! and the headers, what it removes, and what it says itself.

use super::cookies;
use super::headers::{Headers, NonUtf8, list_elements, text};
use super::identity::{self, IdentityAction};
use crate::pipeline::{Encoding, VERBATIM_PARAMETER};
use std::net::IpAddr;

/// Hop-by-hop headers (RFC 9110 7.6.1), and what only the proxy may say about the client: where
/// it connected from and what it asked for. Origins behind a CDN trust these headers for rate
/// limits, geolocation, consent and routing, so a client's own are never passed on; the client
/// address headers are set again from the connection ([`CLIENT_ADDRESS_HEADERS`]).
pub const STRIPPED_REQUEST_HEADERS: [&str; 24] = [
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
    "x-forwarded-port",
    "x-forwarded-scheme",
    "x-forwarded-ssl",
    "x-forwarded-server",
    "x-real-ip",
    "cf-connecting-ip",
    "x-client-ip",
    "x-cluster-client-ip",
    "client-ip",
    "x-original-url",
    "x-rewrite-url",
    "x-original-host",
];

/// The headers that carry the client's address to the origin: set from the connection, never
/// from what the client sent.
pub const CLIENT_ADDRESS_HEADERS: [&str; 3] =
    ["x-forwarded-for", "fastly-client-ip", "true-client-ip"];

/// The codings the pipeline decodes, in Sluice's order of preference.
const DECODABLE: [&str; 3] = ["br", "gzip", "deflate"];

/// The client's request target, from the absolute URL the host hands the program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An ordinary target: the path and query to ask the origin for, normalized (see
    /// [`parse_target`]).
    Path(String),
    /// `OPTIONS *`: a question about the server, not a resource. Sluice answers it itself.
    Asterisk,
    /// Not a URL (an empty host, a port above 65535, bytes that are not a URI): a 400.
    Invalid(String),
}

/// Reads the client's target from the raw URL the host gives the program (`http://host/path`),
/// without trusting it to parse: the fastly crate's own URL getter panics on a URL it cannot
/// parse, and a client can send one (`Host: :80`, `Host: a:99999`, `OPTIONS *`).
///
/// The path goes to the origin normalized: backslashes were already read as slashes by the URL
/// parser (as browsers read them), and a run of leading slashes becomes one, so no target can
/// reach the origin as a scheme-relative `//other.host/...` path.
///
/// ```
/// use sluice_edge::policy::request::{parse_target, Target};
/// assert_eq!(parse_target("GET", b"http://a.example/\\evil.example/x"), Target::Path("/evil.example/x".into()));
/// assert_eq!(parse_target("GET", b"http://a.example/p?q=1"), Target::Path("/p?q=1".into()));
/// assert_eq!(parse_target("OPTIONS", b"http://a.example*"), Target::Asterisk);
/// assert!(matches!(parse_target("GET", b"http://:80/"), Target::Invalid(_)));
/// ```
pub fn parse_target(method: &str, raw: &[u8]) -> Target {
    let Some(raw) = text(raw, NonUtf8::Absent) else {
        return Target::Invalid("the request URL is not UTF-8".to_owned());
    };
    if method.eq_ignore_ascii_case("OPTIONS") && is_asterisk_form(&raw) {
        return Target::Asterisk;
    }
    match url::Url::parse(&raw) {
        Ok(url) if url.has_host() => {
            let path = format!("/{}", url.path().trim_start_matches('/'));
            Target::Path(match url.query() {
                Some(query) => format!("{path}?{query}"),
                None => path,
            })
        }
        Ok(_) => Target::Invalid("the request URL has no host".to_owned()),
        Err(error) => Target::Invalid(format!("the request URL does not parse: {error}")),
    }
}

/// Whether the raw URL stands for the request target `*` itself: the host hands the program
/// `http://host*` for `OPTIONS *`, a URL with no path at all. A path that merely ends in `*`
/// (`/api/items*`, `/search?q=*`) is an ordinary target, and goes to the origin like any other
/// (CORS preflights are such requests).
fn is_asterisk_form(raw: &str) -> bool {
    let after_scheme = raw.split_once("://").map_or(raw, |(_, rest)| rest);
    after_scheme.ends_with('*') && !after_scheme.contains(['/', '?', '#'])
}

/// Takes the verbatim marker off a target: `(the target the origin is asked for, whether the
/// client asked for the resource's exact bytes)`. The HTML stage marks the URLs of elements with
/// `integrity` this way ([`VERBATIM_PARAMETER`]), so that their resources pass through untouched
/// and the browser's integrity check holds; the origin never sees the marker.
///
/// ```
/// use sluice_edge::policy::request::take_verbatim;
/// assert_eq!(take_verbatim("/app.js?sluice-verbatim=1"), ("/app.js".to_owned(), true));
/// assert_eq!(take_verbatim("/a.css?v=2&sluice-verbatim=1"), ("/a.css?v=2".to_owned(), true));
/// assert_eq!(take_verbatim("/a?b=1"), ("/a?b=1".to_owned(), false));
/// ```
pub fn take_verbatim(target: &str) -> (String, bool) {
    let Some((path, query)) = target.split_once('?') else {
        return (target.to_owned(), false);
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|param| *param != VERBATIM_PARAMETER)
        .collect();
    if kept.len() == query.split('&').count() {
        return (target.to_owned(), false);
    }
    let target = match kept.join("&") {
        rest if rest.is_empty() => path.to_owned(),
        rest => format!("{path}?{rest}"),
    };
    (target, true)
}

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

/// The content coding Sluice writes a rewritten body in, from the client's `Accept-Encoding`
/// (every line joined; `None` when it sent none) and the coding the origin's body came in:
/// the origin's when the client accepts it (re-encoding in it is what the origin chose), else
/// the coding the client prefers by its q-values among gzip, br and deflate (gzip on a tie,
/// the cheapest), else identity. A client that sent no `Accept-Encoding` gets identity: it may
/// be a tool that cannot decode anything, and identity is always acceptable unless refused.
///
/// ```
/// use sluice_edge::pipeline::Encoding;
/// use sluice_edge::policy::request::output_encoding;
/// assert_eq!(output_encoding(Some("gzip, br"), Encoding::Brotli), Encoding::Brotli);
/// assert_eq!(output_encoding(Some("br"), Encoding::Gzip), Encoding::Brotli);
/// assert_eq!(output_encoding(Some("gzip;q=0, identity"), Encoding::Gzip), Encoding::Identity);
/// assert_eq!(output_encoding(None, Encoding::Gzip), Encoding::Identity);
/// assert_eq!(output_encoding(Some("gzip, br"), Encoding::Identity), Encoding::Identity);
/// ```
pub fn output_encoding(client: Option<&str>, origin: Encoding) -> Encoding {
    let Some(client) = client else {
        return Encoding::Identity;
    };
    let offers = codings_with_q(client);
    if accepts(&offers, origin) {
        return origin;
    }
    preferred_coding(&offers)
}

/// The compressed coding an offer list prefers by its q-values among gzip, br and deflate (gzip
/// on a tie), else identity.
fn preferred_coding(offers: &[(&str, f32)]) -> Encoding {
    let q = |encoding: Encoding| q_of(offers, encoding).unwrap_or(0.0);
    [Encoding::Gzip, Encoding::Brotli, Encoding::Deflate]
        .into_iter()
        .filter(|&encoding| accepts(offers, encoding))
        .fold(None, |best: Option<Encoding>, encoding| match best {
            Some(best) if q(best) >= q(encoding) => Some(best),
            _ => Some(encoding),
        })
        .unwrap_or(Encoding::Identity)
}

/// All that a client's `Accept-Encoding` decides about a rewritten body, whatever coding the
/// origin's came in: the codings it accepts (which the CPU budget may choose among) and the one
/// it prefers when the origin's is not one of them. Two clients with the same profile are sent
/// the same bytes, so the cache of rewritten pages keys on this rather than on the header, whose
/// spellings are many.
///
/// ```
/// use sluice_edge::policy::request::negotiation_profile;
/// assert_eq!(negotiation_profile(Some("gzip, deflate, br, zstd")), "gzip br deflate identity > gzip");
/// assert_eq!(negotiation_profile(Some("br;q=1, gzip;q=0.8, *;q=0.1")), "gzip br deflate identity > br");
/// assert_eq!(negotiation_profile(None), "identity > identity");
/// ```
pub fn negotiation_profile(client: Option<&str>) -> String {
    let accepted: Vec<String> = accepted_codings(client)
        .iter()
        .map(ToString::to_string)
        .collect();
    let preferred = client.map_or(Encoding::Identity, |client| {
        preferred_coding(&codings_with_q(client))
    });
    format!("{} > {preferred}", accepted.join(" "))
}

/// The content codings a client's `Accept-Encoding` accepts (identity included unless refused),
/// in Sluice's order: gzip, br, deflate, identity. A client that sent none accepts identity.
///
/// ```
/// use sluice_edge::pipeline::Encoding;
/// use sluice_edge::policy::request::accepted_codings;
/// assert_eq!(accepted_codings(Some("br, gzip;q=0")), [Encoding::Brotli, Encoding::Identity]);
/// assert_eq!(accepted_codings(None), [Encoding::Identity]);
/// ```
pub fn accepted_codings(client: Option<&str>) -> Vec<Encoding> {
    let Some(client) = client else {
        return vec![Encoding::Identity];
    };
    let offers = codings_with_q(client);
    [
        Encoding::Gzip,
        Encoding::Brotli,
        Encoding::Deflate,
        Encoding::Identity,
    ]
    .into_iter()
    .filter(|&encoding| accepts(&offers, encoding))
    .collect()
}

/// The q-value an offer list gives a coding (by name, else by `*`).
fn q_of(offers: &[(&str, f32)], encoding: Encoding) -> Option<f32> {
    let named = |coding: &str| {
        offers
            .iter()
            .find(|(c, _)| c.eq_ignore_ascii_case(coding))
            .map(|(_, q)| *q)
    };
    let token = encoding.token().unwrap_or("identity");
    named(token)
        .or_else(|| (token == "gzip").then(|| named("x-gzip")).flatten())
        .or_else(|| named("*"))
}

/// Whether an offer list accepts a coding: a q-value above 0; identity also when not named at
/// all (it is acceptable unless refused, by name or by `*`).
fn accepts(offers: &[(&str, f32)], encoding: Encoding) -> bool {
    match (q_of(offers, encoding), encoding) {
        (Some(q), _) => q > 0.0,
        (None, Encoding::Identity) => true,
        (None, _) => false,
    }
}

/// The codings of an `Accept-Encoding` value with their q-values (1 when absent); an element
/// with a q-value that does not parse, or is out of range, is left out.
fn codings_with_q(value: &str) -> Vec<(&str, f32)> {
    value
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';');
            let coding = parts.next()?.trim();
            let q = parts
                .filter_map(|p| {
                    let (name, value) = p.split_once('=')?;
                    name.trim().eq_ignore_ascii_case("q").then(|| value.trim())
                })
                .next()
                .map_or(Some(1.0), |q| {
                    q.parse::<f32>().ok().filter(|q| (0.0..=1.0).contains(q))
                })?;
            (!coding.is_empty()).then_some((coding, q))
        })
        .collect()
}

/// The proxy host to rewrite URLs to, from the client's `Host` header: a host name, an IPv4
/// address or a bracketed IPv6 address, with an optional port; nothing else. Anything else (an
/// attacker's markup, a path, bytes that are not ASCII) is `None`, and the request is refused
/// with a 400 (RFC 9112 3.2 asks that of a server for an invalid Host): a page is never rewritten
/// towards a host the reader did not use, nor left with the publisher's links.
///
/// ```
/// use sluice_edge::policy::request::proxy_host;
/// assert_eq!(proxy_host(Some(b"News.Example:8443")).as_deref(), Some("news.example:8443"));
/// assert_eq!(proxy_host(Some(b"[::1]:7676")).as_deref(), Some("[::1]:7676"));
/// assert_eq!(proxy_host(Some(b"evil\"><script>")), None);
/// assert_eq!(proxy_host(Some(b"a.example/path")), None);
/// assert_eq!(proxy_host(Some(b"caf\xe9.example")), None);
/// assert_eq!(proxy_host(None), None);
/// ```
pub fn proxy_host(host_header: Option<&[u8]>) -> Option<String> {
    let host = text(host_header?, NonUtf8::Absent)?
        .trim()
        .to_ascii_lowercase();
    let (name, port) = split_port(&host)?;
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    let name_ok = match name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
        Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
        // A fully qualified name's trailing dot is what some readers type.
        None => is_host_name(name.strip_suffix('.').unwrap_or(name)),
    };
    (name_ok && port_ok).then_some(host)
}

/// `host[:port]` split into the name and the port; an IPv6 literal keeps its brackets.
pub(crate) fn split_port(host: &str) -> Option<(&str, Option<&str>)> {
    if host.starts_with('[') {
        let close = host.find(']')?;
        let (name, rest) = host.split_at(close + 1);
        return match rest.strip_prefix(':') {
            Some(port) => Some((name, Some(port))),
            None if rest.is_empty() => Some((name, None)),
            None => None,
        };
    }
    Some(match host.rsplit_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host, None),
    })
}

/// A host name or IPv4 address as DNS allows it: dot-separated labels of 1-63 letters, digits
/// and hyphens that neither start nor end with a hyphen, at most 253 bytes in all.
///
/// ```
/// use sluice_edge::policy::request::is_host_name;
/// assert!(is_host_name("www.publisher.example") && is_host_name("127.0.0.1"));
/// for bad in ["", "..", "-", "a..b", "-a.example", "a-.example", "a.example.", "a_b.example"] {
///     assert!(!is_host_name(bad), "{bad}");
/// }
/// ```
pub fn is_host_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// What the origin request says besides what it keeps of the client's.
#[derive(Debug, Clone, Copy)]
pub struct OriginRequest<'a> {
    /// The publisher's host: the origin request's `Host`.
    pub origin_host: &'a str,
    /// The client's address: the origin request's `X-Forwarded-For`.
    pub client_ip: Option<IpAddr>,
    /// What identity decided: the ID the origin is told about, if consent allows one.
    pub identity: &'a IdentityAction,
}

/// Makes the client's headers fit for the origin:
/// - hop-by-hop headers, the headers the client's `Connection` names, and every header through
///   which a client could claim to be forwarded ([`STRIPPED_REQUEST_HEADERS`]) are removed;
///   `X-Forwarded-For`, `Fastly-Client-IP` and `True-Client-IP` are the client's address from
///   the connection;
/// - `Host` is the publisher's;
/// - `Accept-Encoding` is narrowed to what the pipeline decodes ([`accept_encoding`]);
/// - `x-synthetic-id` is never the client's: it is the ID identity decided on when consent
///   allows one, else absent; and the `synthetic_id` cookie reaches the origin only when it is
///   that ID (every other cookie is kept, in order, byte for byte).
///
/// ```
/// use sluice_edge::policy::headers::{HeaderList, ReadHeaders};
/// use sluice_edge::policy::identity::IdentityAction;
/// use sluice_edge::policy::request::{prepare_origin_headers, OriginRequest};
/// let mut headers = HeaderList::from_pairs([
///     ("cookie", "a=1; synthetic_id=kept-by-the-reader"),
///     ("x-synthetic-id", "forged"),
/// ]);
/// prepare_origin_headers(&mut headers, &OriginRequest {
///     origin_host: "www.publisher.example",
///     client_ip: None,
///     identity: &IdentityAction::Expire,
/// });
/// assert_eq!(headers.get_str("cookie"), Some("a=1"));
/// assert_eq!(headers.get("x-synthetic-id"), None);
/// assert_eq!(headers.get_str("host"), Some("www.publisher.example"));
/// ```
pub fn prepare_origin_headers(headers: &mut impl Headers, request: &OriginRequest<'_>) {
    // Headers the client's Connection header names are hop-by-hop too (RFC 9110 7.6.1).
    let named: Vec<String> = list_elements(headers, "connection")
        .into_iter()
        .filter_map(|name| std::str::from_utf8(name).ok())
        .map(str::to_ascii_lowercase)
        .collect();
    for name in named
        .iter()
        .map(String::as_str)
        .chain(STRIPPED_REQUEST_HEADERS)
    {
        headers.remove(name);
    }
    headers.set("host", request.origin_host.as_bytes());
    for name in CLIENT_ADDRESS_HEADERS {
        match request.client_ip {
            Some(ip) => headers.set(name, ip.to_string().as_bytes()),
            None => headers.remove(name),
        }
    }
    let client_codings = headers
        .get_all("accept-encoding")
        .into_iter()
        .filter_map(|line| text(line, NonUtf8::Lossy))
        .collect::<Vec<_>>();
    let offered = (!client_codings.is_empty()).then(|| client_codings.join(", "));
    match accept_encoding(offered.as_deref()) {
        Some(value) => headers.set("accept-encoding", value.as_bytes()),
        None => headers.remove("accept-encoding"),
    }
    let id = match request.identity {
        IdentityAction::Set(id) => Some(id.as_str()),
        IdentityAction::Expire | IdentityAction::Nothing => None,
    };
    headers.remove(identity::HEADER);
    if let Some(id) = id {
        headers.set(identity::HEADER, id.as_bytes());
    }
    let cookie = cookies::without(&headers.get_all("cookie"), identity::COOKIE, id);
    headers.remove("cookie");
    if let Some(cookie) = cookie {
        headers.set("cookie", &cookie);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::headers::{HeaderList, ReadHeaders};

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

    #[test]
    fn every_origin_coding_meets_every_client_preference() {
        use Encoding::*;
        let cases: [(Option<&str>, [Encoding; 4]); 9] = [
            // Output for an origin body in identity, gzip, deflate, br.
            (None, [Identity, Identity, Identity, Identity]),
            (Some("identity"), [Identity, Identity, Identity, Identity]),
            (Some("br"), [Identity, Brotli, Brotli, Brotli]),
            (
                Some("gzip;q=0, identity"),
                [Identity, Identity, Identity, Identity],
            ),
            (Some("gzip, deflate, br"), [Identity, Gzip, Deflate, Brotli]),
            (Some("br;q=1, gzip;q=0.5"), [Identity, Gzip, Brotli, Brotli]),
            (
                Some("gzip;q=0.5, br;q=0.9, identity;q=0"),
                [Brotli, Gzip, Brotli, Brotli],
            ),
            (Some("*"), [Identity, Gzip, Deflate, Brotli]),
            (Some("*;q=0"), [Identity, Identity, Identity, Identity]),
        ];
        for (client, outputs) in cases {
            for (origin, output) in [Identity, Gzip, Deflate, Brotli].into_iter().zip(outputs) {
                assert_eq!(
                    output_encoding(client, origin),
                    output,
                    "{client:?} with {origin:?}"
                );
            }
        }
        assert_eq!(output_encoding(Some("x-gzip"), Brotli), Gzip);
        assert_eq!(output_encoding(Some("gzip;q=high"), Brotli), Identity);
    }

    #[test]
    fn targets_are_normalized_and_never_trusted_to_parse() {
        let path = |raw: &[u8]| match parse_target("GET", raw) {
            Target::Path(path) => path,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            path(b"http://a.example///evil.example/x"),
            "/evil.example/x"
        );
        assert_eq!(path(b"https://a.example"), "/");
        assert_eq!(path(b"http://a.example/a/../b?x=%20"), "/b?x=%20");
        for bad in [
            &b"http://a.example:99999/"[..],
            b"http://:80/",
            b"not a url",
            b"\xff",
        ] {
            assert!(
                matches!(parse_target("GET", bad), Target::Invalid(_)),
                "{bad:?}"
            );
        }
        for (raw, path) in [
            (&b"http://a.example/*"[..], "/*"),
            (b"http://a.example/api/items*", "/api/items*"),
            (b"http://a.example/search?q=*", "/search?q=*"),
        ] {
            assert_eq!(parse_target("OPTIONS", raw), Target::Path(path.into()));
        }
        assert_eq!(
            parse_target("OPTIONS", b"http://a.example:8080*"),
            Target::Asterisk
        );
    }

    #[test]
    fn the_origin_gets_the_validated_id_and_never_the_clients() {
        let id = format!("{}.{}", "a".repeat(64), "b".repeat(16));
        let mut headers = HeaderList::from_pairs([
            ("cookie", &b"synthetic_id=forged; a=caf\xe9"[..]),
            ("cookie", format!("synthetic_id={id}").as_bytes()),
            ("x-synthetic-id", b"forged"),
            ("accept-encoding", b"gz\xe9p, br"),
        ]);
        prepare_origin_headers(
            &mut headers,
            &OriginRequest {
                origin_host: "www.publisher.example",
                client_ip: Some("2001:db8::1".parse().unwrap()),
                identity: &IdentityAction::Set(id.clone()),
            },
        );
        assert_eq!(headers.get_str("x-synthetic-id"), Some(id.as_str()));
        assert_eq!(
            headers.get("cookie").unwrap(),
            [&b"a=caf\xe9; synthetic_id="[..], id.as_bytes()].concat()
        );
        assert_eq!(headers.get_str("accept-encoding"), Some("br"));
        assert_eq!(headers.get_str("x-forwarded-for"), Some("2001:db8::1"));
    }
}
