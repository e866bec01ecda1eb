//! Finding the origin's URLs in text and saying what they become.
//!
//! One matcher serves every content kind: the streaming text rewriter (JS, CSS, JSON), inline
//! `<script>`/`<style>` text and HTML attribute values. It looks for the origin host (see
//! [`HostFinder`]) and then reads a few bytes on each side:
//!
//! | found                         | becomes                        |
//! |-------------------------------|--------------------------------|
//! | `https://host`, `http://host` | `{scheme}://{proxy}`           |
//! | `//host`                      | `//{proxy}`                    |
//! | `https:\/\/host` (JSON)       | `{scheme}:\/\/{proxy}`         |
//! | `\/\/host` (JSON)             | `\/\/{proxy}`                  |
//! | `host:8443` (any of the above)| the port is dropped with it    |
//! | `\"host` (opt-in, [`UrlRewriter::with_quoted_hosts`]) | `\"{proxy}`: Next.js flight data |
//!
//! Hosts match in any letter case (`https://WWW.Publisher.Example/` is the same URL) and with
//! the trailing dot of a fully qualified name (`https://www.publisher.example./a`), and they match
//! exactly: the byte after the host may not continue a host name, so `cdn.www.publisher.example`
//! and `www.publisher.example.evil` are left alone, and neither is `//host@elsewhere` (userinfo
//! that points to another host). A dot after the host followed by anything but `/`, `?`, `#` or a
//! port is punctuation and stays (`see https://www.publisher.example.`). A bare host (`host/path`
//! with no `//`) is rewritten only where the whole value is a URL: see
//! [`UrlRewriter::rewrite_attribute`].
//!
//! Matching runs on a lowercased copy of the text, made once per buffer; what is not replaced is
//! copied from the original bytes.

use super::host_search::HostFinder;
use super::words;
use std::borrow::Cow;

/// The longest scheme-and-slashes run that can stand before the host: `https:\/\/`.
pub(crate) const MAX_PREFIX: usize = br"https:\/\/".len();
/// Bytes after the host that decide a match: a `:` and up to five port digits, then one more.
pub(crate) const MAX_SUFFIX: usize = 7;

/// Where a match starts and ends in a buffer, and what replaces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Match {
    pub start: usize,
    pub end: usize,
    pub form: Form,
}

/// The shape a URL was found in, which decides its replacement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    Absolute,
    ProtocolRelative,
    EscapedAbsolute,
    EscapedProtocolRelative,
    /// A bare host opening a JSON string inside a JavaScript string: `\"host`.
    EscapedQuotedHost,
}

/// What a scan of a buffer found next.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Scan {
    /// A URL to replace.
    Found(Match),
    /// No URL before `safe`; bytes from `safe` on may still become part of one.
    Until { safe: usize },
}

/// Rewrites the origin host's URLs to the proxy host.
///
/// ```
/// use sluice_edge::pipeline::UrlRewriter;
/// let urls = UrlRewriter::new("www.publisher.example", "http", "127.0.0.1:7676");
/// assert_eq!(
///     urls.rewrite_text("fetch('https://www.publisher.example/api')"),
///     "fetch('http://127.0.0.1:7676/api')"
/// );
/// assert_eq!(urls.rewrite_text("//cdn.www.publisher.example/x"), "//cdn.www.publisher.example/x");
/// ```
#[derive(Debug, Clone)]
pub struct UrlRewriter {
    /// The origin host (in lower case) and how it is found.
    finder: HostFinder,
    absolute: Vec<u8>,
    protocol_relative: Vec<u8>,
    escaped_absolute: Vec<u8>,
    escaped_protocol_relative: Vec<u8>,
    escaped_quoted_host: Vec<u8>,
    proxy_host: String,
    quoted_hosts: bool,
}

impl UrlRewriter {
    /// A rewriter from `origin_host` (e.g. `www.publisher.example`) to `proxy_scheme://proxy_host`.
    pub fn new(origin_host: &str, proxy_scheme: &str, proxy_host: &str) -> Self {
        UrlRewriter {
            finder: HostFinder::new(origin_host.as_bytes()),
            absolute: format!("{proxy_scheme}://{proxy_host}").into_bytes(),
            protocol_relative: format!("//{proxy_host}").into_bytes(),
            escaped_absolute: format!(r"{proxy_scheme}:\/\/{proxy_host}").into_bytes(),
            escaped_protocol_relative: format!(r"\/\/{proxy_host}").into_bytes(),
            escaped_quoted_host: format!(r#"\"{proxy_host}"#).into_bytes(),
            proxy_host: proxy_host.to_owned(),
            quoted_hosts: false,
        }
    }

    /// Also rewrites a bare host that opens a JSON string written inside a JavaScript string
    /// (`\"www.publisher.example/a`): what Next.js App Router pages push as flight data
    /// (`self.__next_f.push([1,"...\"hostname\":\"www.publisher.example\"..."])`). Off by
    /// default: it is a guess about the text's meaning that only Next.js pages justify.
    ///
    /// ```
    /// use sluice_edge::pipeline::UrlRewriter;
    /// let urls = UrlRewriter::new("www.publisher.example", "https", "proxy.example").with_quoted_hosts();
    /// assert_eq!(
    ///     urls.rewrite_text(r#"push([1,"{\"host\":\"www.publisher.example\"}"])"#),
    ///     r#"push([1,"{\"host\":\"proxy.example\"}"])"#
    /// );
    /// ```
    pub fn with_quoted_hosts(mut self) -> Self {
        self.quoted_hosts = true;
        self
    }

    /// The host whose URLs are rewritten (in lower case).
    pub fn origin_host(&self) -> &str {
        std::str::from_utf8(self.finder.host()).unwrap_or_default()
    }

    /// How the origin host is found: the same search for every buffer the host is looked for in.
    pub(crate) fn host_finder(&self) -> &HostFinder {
        &self.finder
    }

    /// What an absolute URL on the origin host becomes: `{scheme}://{proxy host}`.
    pub fn proxy_origin(&self) -> &str {
        std::str::from_utf8(&self.absolute).unwrap_or_default()
    }

    /// The proxy host (with its port, if any).
    pub fn proxy_host(&self) -> &str {
        &self.proxy_host
    }

    /// How many bytes at the end of an unfinished buffer must be held back, because a URL that
    /// starts there may not be decidable until more bytes arrive.
    #[cfg(test)]
    pub(crate) fn holdback(&self) -> usize {
        MAX_PREFIX + self.finder.len() + MAX_SUFFIX
    }

    pub(crate) fn replacement(&self, form: Form) -> &[u8] {
        match form {
            Form::Absolute => &self.absolute,
            Form::ProtocolRelative => &self.protocol_relative,
            Form::EscapedAbsolute => &self.escaped_absolute,
            Form::EscapedProtocolRelative => &self.escaped_protocol_relative,
            Form::EscapedQuotedHost => &self.escaped_quoted_host,
        }
    }

    /// Finds the next URL in `buf[from..]`; `lower` is `buf` lowercased (see [`lowercase`]).
    /// `complete` says whether `buf` is the whole text; when it is not, a host too close to the
    /// end to decide is reported through [`Scan::Until`].
    pub(crate) fn scan(&self, lower: &[u8], from: usize, complete: bool) -> Scan {
        let undecided = |at: usize| Scan::Until {
            safe: at.saturating_sub(MAX_PREFIX).max(from),
        };
        let mut cursor = from;
        while let Some(at) = self.finder.find(lower, cursor) {
            let after = at + self.finder.len();
            match host_end(&lower[after..], complete) {
                HostEnd::Undecided => return undecided(at),
                HostEnd::No => {}
                HostEnd::Yes(suffix) => {
                    let found = prefix_before(&lower[..at]).or_else(|| {
                        (self.quoted_hosts && lower[..at].ends_with(br#"\""#))
                            .then_some((2, Form::EscapedQuotedHost))
                    });
                    if let Some((prefix, form)) = found
                        && at - prefix >= from
                    {
                        return Scan::Found(Match {
                            start: at - prefix,
                            end: after + suffix,
                            form,
                        });
                    }
                }
            }
            cursor = at + 1;
        }
        if complete {
            Scan::Until { safe: lower.len() }
        } else {
            undecided(
                lower
                    .len()
                    .saturating_sub(self.finder.len() + MAX_SUFFIX - 1),
            )
        }
    }

    /// Rewrites every URL of the origin host in complete bytes (a header value, a text).
    ///
    /// ```
    /// use sluice_edge::pipeline::UrlRewriter;
    /// let urls = UrlRewriter::new("www.publisher.example", "https", "proxy.example");
    /// assert_eq!(
    ///     &*urls.rewrite_bytes(b"<https://WWW.Publisher.Example./a.css>; rel=preload"),
    ///     b"<https://proxy.example/a.css>; rel=preload"
    /// );
    /// ```
    pub fn rewrite_bytes<'a>(&self, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        let lower = lowercase(bytes);
        let mut out: Option<Vec<u8>> = None;
        let mut copied = 0;
        while let Scan::Found(m) = self.scan(&lower, copied, true) {
            let out = out.get_or_insert_with(|| Vec::with_capacity(bytes.len() + 64));
            out.extend_from_slice(&bytes[copied..m.start]);
            out.extend_from_slice(self.replacement(m.form));
            copied = m.end;
        }
        match out {
            None => Cow::Borrowed(bytes),
            Some(mut out) => {
                out.extend_from_slice(&bytes[copied..]);
                Cow::Owned(out)
            }
        }
    }

    /// Rewrites every URL of the origin host in a complete text.
    pub fn rewrite_text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match self.rewrite_bytes(text.as_bytes()) {
            Cow::Borrowed(_) => Cow::Borrowed(text),
            // Only ASCII was cut out and spliced in, so the text stays UTF-8.
            Cow::Owned(out) => {
                Cow::Owned(String::from_utf8(out).expect("ASCII splices keep UTF-8 valid"))
            }
        }
    }

    /// Rewrites a URL-valued attribute: everything [`rewrite_text`](Self::rewrite_text) does,
    /// plus a value that starts with the bare host (`www.publisher.example/path`).
    pub fn rewrite_attribute<'a>(&self, value: &'a str) -> Cow<'a, str> {
        // Where the host ends does not depend on letter case (`host_end` reads punctuation,
        // digits and whether a byte could continue a name), so the value needs no lowercased
        // copy.
        let opens_with_host = value
            .as_bytes()
            .get(..self.finder.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(self.finder.host()));
        if opens_with_host
            && let HostEnd::Yes(suffix) = host_end(&value.as_bytes()[self.finder.len()..], true)
        {
            let rest = &value[self.finder.len() + suffix..];
            return Cow::Owned(format!("{}{}", self.proxy_host, self.rewrite_text(rest)));
        }
        self.rewrite_text(value)
    }

    /// Whether `value` is a URL on the origin host (absolute, protocol-relative or, for a
    /// whole URL-valued attribute, starting with the bare host).
    pub fn is_origin_url(&self, value: &str) -> bool {
        self.rewrite_attribute(value) != value
    }
}

/// `bytes` in ASCII lower case: what the matcher searches.
pub(crate) fn lowercase(bytes: &[u8]) -> Vec<u8> {
    let mut lower = bytes.to_vec();
    words::make_lowercase(&mut lower);
    lower
}

enum HostEnd {
    /// The host ends here; the match swallows this many more bytes (a port).
    Yes(usize),
    /// The name goes on: this is some other host.
    No,
    /// Too few bytes to tell.
    Undecided,
}

fn is_host_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Decides whether a host name ends at the start of `rest`.
fn host_end(rest: &[u8], complete: bool) -> HostEnd {
    let need = |n: usize| rest.len() < n && !complete;
    match rest.first() {
        None if complete => HostEnd::Yes(0),
        None => HostEnd::Undecided,
        Some(&b) if is_host_byte(b) || b == b'@' => HostEnd::No,
        // A dot followed by a label continues the name (another host). The trailing dot of a
        // fully qualified name is part of the host when a path, query, fragment or port follows;
        // otherwise it is punctuation ("see https://host." ends a sentence).
        Some(b'.') => match rest.get(1) {
            None if need(2) => HostEnd::Undecided,
            Some(&b) if is_host_byte(b) || b == b'@' => HostEnd::No,
            Some(b'/' | b'?' | b'#') => HostEnd::Yes(1),
            Some(b':') => match host_end(&rest[1..], complete) {
                HostEnd::Yes(port) if port > 0 => HostEnd::Yes(1 + port),
                HostEnd::Undecided => HostEnd::Undecided,
                _ => HostEnd::Yes(0),
            },
            _ => HostEnd::Yes(0),
        },
        Some(b':') => {
            let digits = rest[1..]
                .iter()
                .take(5)
                .take_while(|b| b.is_ascii_digit())
                .count();
            if digits == rest.len() - 1 && need(MAX_SUFFIX) {
                return HostEnd::Undecided;
            }
            match rest.get(1 + digits) {
                Some(&b) if is_host_byte(b) || b == b'@' => HostEnd::No,
                _ if digits > 0 => HostEnd::Yes(1 + digits),
                _ => HostEnd::Yes(0),
            }
        }
        Some(_) => HostEnd::Yes(0),
    }
}

/// Reads the scheme and slashes that stand before a host: how many bytes they take and the form.
fn prefix_before(before: &[u8]) -> Option<(usize, Form)> {
    let (slashes, escaped) = if before.ends_with(br"\/\/") {
        (4, true)
    } else if before.ends_with(b"//") {
        (2, false)
    } else {
        return None;
    };
    let scheme = &before[..before.len() - slashes];
    let scheme_len = if scheme.ends_with(b"https:") {
        6
    } else if scheme.ends_with(b"http:") {
        5
    } else {
        0
    };
    let form = match (scheme_len > 0, escaped) {
        (true, false) => Form::Absolute,
        (false, false) => Form::ProtocolRelative,
        (true, true) => Form::EscapedAbsolute,
        (false, true) => Form::EscapedProtocolRelative,
    };
    Some((slashes + scheme_len, form))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls() -> UrlRewriter {
        UrlRewriter::new("www.publisher.example", "https", "proxy.example")
    }

    #[test]
    fn rewrites_every_form_of_the_origin_host() {
        let cases = [
            ("https://www.publisher.example/a", "https://proxy.example/a"),
            ("http://www.publisher.example/a", "https://proxy.example/a"),
            ("//www.publisher.example/a", "//proxy.example/a"),
            (
                r"https:\/\/www.publisher.example\/a",
                r"https:\/\/proxy.example\/a",
            ),
            (r"\/\/www.publisher.example", r"\/\/proxy.example"),
            (
                "https://www.publisher.example:8443/a",
                "https://proxy.example/a",
            ),
            ("https://www.publisher.example", "https://proxy.example"),
            (
                "see https://www.publisher.example.",
                "see https://proxy.example.",
            ),
            (
                "url(https://www.publisher.example/i.png)",
                "url(https://proxy.example/i.png)",
            ),
            ("https://WWW.PUBLISHER.EXAMPLE/a", "https://proxy.example/a"),
            (
                "HTTPS://Www.Publisher.Example:8443/a",
                "https://proxy.example/a",
            ),
            ("//WWW.publisher.EXAMPLE/a", "//proxy.example/a"),
            (
                "https://www.publisher.example./a",
                "https://proxy.example/a",
            ),
            (
                "https://www.publisher.example.?q",
                "https://proxy.example?q",
            ),
            (
                "https://www.publisher.example.:8443/a",
                "https://proxy.example/a",
            ),
            (
                r"HTTPS:\/\/WWW.PUBLISHER.EXAMPLE\/a",
                r"https:\/\/proxy.example\/a",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(urls().rewrite_text(input), expected, "input: {input}");
        }
    }

    #[test]
    fn leaves_other_hosts_alone() {
        for input in [
            "https://cdn.www.publisher.example/a",
            "https://www.publisher.example.evil/a",
            "https://www.publisher.examples/a",
            "https://www.publisher.example@evil.example/",
            "https://www.publisher.example-cdn.net/",
            "www.publisher.example/a",
            "https://www.publisher.example:80x/",
            "https://WWW.PUBLISHER.EXAMPLE.EVIL/a",
            "https://www.publisher.example.@evil.example/",
        ] {
            assert_eq!(urls().rewrite_text(input), input);
        }
    }

    #[test]
    fn attributes_may_start_with_the_bare_host() {
        assert_eq!(
            urls().rewrite_attribute("www.publisher.example/a"),
            "proxy.example/a"
        );
        assert_eq!(
            urls().rewrite_attribute("www.publisher.example"),
            "proxy.example"
        );
        assert_eq!(
            urls().rewrite_attribute("www.publisher.example.evil/a"),
            "www.publisher.example.evil/a"
        );
    }

    #[test]
    fn an_unfinished_buffer_holds_back_an_undecidable_host() {
        let u = urls();
        let buf = b"abc https://www.publisher.exam";
        assert_eq!(u.scan(buf, 0, false), Scan::Until { safe: 0 });
        let buf = b"abc https://www.publisher.example";
        // Only the bytes before the longest possible scheme prefix are decided.
        assert_eq!(u.scan(buf, 0, false), Scan::Until { safe: 2 });
        let buf = b"abc https://www.publisher.example.";
        assert_eq!(u.scan(buf, 0, false), Scan::Until { safe: 2 });
        let buf = b"plain text with nothing in it at all, long enough to emit";
        match u.scan(buf, 0, false) {
            Scan::Until { safe } => assert!(safe > 0 && safe < buf.len()),
            other => panic!("{other:?}"),
        }
    }
}
