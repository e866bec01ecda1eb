//! The client's cookies, read from every `Cookie` line as bytes.
//!
//! A pair whose name or value is not UTF-8 (a Latin-1 cookie an old CMS wrote) is skipped when
//! Sluice looks a cookie up, and kept byte for byte when the Cookie header goes on to the origin.

/// One `name=value` pair as sent, and its trimmed name and value.
struct Pair<'a> {
    raw: &'a [u8],
    name: &'a [u8],
    value: &'a [u8],
}

fn pairs<'a>(lines: &[&'a [u8]]) -> impl Iterator<Item = Pair<'a>> {
    lines
        .iter()
        .flat_map(|line| line.split(|&b| b == b';'))
        .map(<[u8]>::trim_ascii)
        .filter(|raw| !raw.is_empty())
        .map(|raw| match raw.iter().position(|&b| b == b'=') {
            Some(at) => Pair {
                raw,
                name: raw[..at].trim_ascii(),
                value: raw[at + 1..].trim_ascii(),
            },
            None => Pair {
                raw,
                name: b"",
                value: raw,
            },
        })
}

/// The cookies of a request.
///
/// ```
/// use sluice_edge::policy::cookies::Cookies;
/// let lines: [&[u8]; 2] = [b"a=1; pref=caf\xe9", b"us_privacy=\"1YNN\""];
/// let cookies = Cookies::parse(&lines);
/// assert_eq!(cookies.get("us_privacy"), Some("1YNN"));
/// assert_eq!(cookies.get("pref"), None);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Cookies<'a> {
    pairs: Vec<(&'a str, &'a str)>,
}

impl<'a> Cookies<'a> {
    /// Reads every pair of every Cookie line; pairs that are not UTF-8 are skipped.
    pub fn parse(lines: &[&'a [u8]]) -> Cookies<'a> {
        let pairs = pairs(lines)
            .filter_map(|pair| {
                Some((
                    std::str::from_utf8(pair.name).ok()?,
                    std::str::from_utf8(pair.value).ok()?,
                ))
            })
            .collect();
        Cookies { pairs }
    }

    /// The value of the first pair named `name`, without surrounding quotes.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.pairs
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.trim_matches('"'))
    }
}

/// The Cookie header for the origin: every pair as sent, in order, except those named `name`
/// whose value is not `keep`. `None` when nothing is left.
///
/// ```
/// use sluice_edge::policy::cookies::without;
/// let lines: [&[u8]; 1] = [b"a=1; synthetic_id=forged; b=caf\xe9"];
/// assert_eq!(without(&lines, "synthetic_id", None), Some(b"a=1; b=caf\xe9".to_vec()));
/// assert_eq!(without(&[b"synthetic_id=x"], "synthetic_id", None), None);
/// assert_eq!(without(&[b"synthetic_id=x"], "synthetic_id", Some("x")), Some(b"synthetic_id=x".to_vec()));
/// ```
pub fn without(lines: &[&[u8]], name: &str, keep: Option<&str>) -> Option<Vec<u8>> {
    let kept: Vec<&[u8]> = pairs(lines)
        .filter(|pair| pair.name != name.as_bytes() || Some(pair.value) == keep.map(str::as_bytes))
        .map(|pair| pair.raw)
        .collect();
    (!kept.is_empty()).then(|| kept.join(&b"; "[..]))
}

/// A Set-Cookie value fit for the proxy host. A `Domain` attribute that names the publisher's
/// host (or a parent of it) but not the proxy's would make the browser reject the cookie on the
/// proxy host, and the publisher's sessions would break: the cookie is then kept as a host-only
/// cookie of the proxy host. Browsers use the last `Domain` of a cookie, so that is the one
/// judged, and when it goes every `Domain` goes (an earlier one would take its place). A
/// `Domain` the proxy host falls under, or one naming some other site, is left as it is; so is
/// every other byte.
///
/// ```
/// use sluice_edge::policy::cookies::set_cookie_for_proxy;
/// let origin = "www.publisher.example";
/// assert_eq!(
///     &*set_cookie_for_proxy(b"session=a1; Domain=.publisher.example; Path=/", origin, "127.0.0.1:7676"),
///     b"session=a1; Path=/"
/// );
/// assert_eq!(
///     &*set_cookie_for_proxy(b"s=1; Domain=elsewhere.example; Domain=publisher.example", origin, "[::1]:7676"),
///     b"s=1"
/// );
/// assert_eq!(
///     &*set_cookie_for_proxy(b"session=a1; Domain=publisher.example", origin, "news.publisher.example"),
///     b"session=a1; Domain=publisher.example"
/// );
/// ```
pub fn set_cookie_for_proxy<'a>(
    value: &'a [u8],
    origin_host: &str,
    proxy_host: &str,
) -> std::borrow::Cow<'a, [u8]> {
    let without_port = |host: &str| {
        super::request::split_port(host)
            .map_or(host, |(name, _)| name)
            .to_owned()
    };
    let (origin_host, proxy_host) = (without_port(origin_host), without_port(proxy_host));
    let falls_under =
        |host: &str, domain: &str| host == domain || host.ends_with(&format!(".{domain}"));
    let parts: Vec<&[u8]> = value.split(|&b| b == b';').collect();
    let domain_of = |part: &[u8]| {
        let (name, domain) = std::str::from_utf8(part).ok()?.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("domain")
            .then(|| domain.trim().trim_start_matches('.').to_ascii_lowercase())
    };
    let domains: Vec<(usize, String)> = parts
        .iter()
        .enumerate()
        .skip(1)
        .filter_map(|(i, part)| domain_of(part).map(|domain| (i, domain)))
        .collect();
    let Some((_, effective)) = domains.last() else {
        return std::borrow::Cow::Borrowed(value);
    };
    if falls_under(&proxy_host, effective) || !falls_under(&origin_host, effective) {
        return std::borrow::Cow::Borrowed(value);
    }
    let kept: Vec<&[u8]> = parts
        .iter()
        .enumerate()
        .filter(|(i, _)| !domains.iter().any(|(at, _)| at == i))
        .map(|(_, part)| *part)
        .collect();
    std::borrow::Cow::Owned(kept.join(&b";"[..]))
}
