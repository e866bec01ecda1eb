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
