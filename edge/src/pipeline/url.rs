//! Finding the origin's URLs in text and saying what they become.
//!
//! One matcher serves every content kind: the streaming text rewriter (JS, CSS, JSON), inline
//! `<script>`/`<style>` text and HTML attribute values. It looks for the origin host (see
//! [`HostFinder`]) and then reads a few bytes on each side:
//!
//! | found (any letter case)                          | becomes                               |
//! |--------------------------------------------------|---------------------------------------|
//! | `https://host`, `http://host`, `//host`          | `{scheme}://{proxy}`, `//{proxy}`     |
//! | `https:\/\/host`, `\/\/host` (JSON)              | `{scheme}:\/\/{proxy}`, `\/\/{proxy}` |
//! | `https:\u002F\u002Fhost`, `\u002F\u002Fhost` (JSON, JavaScript) | the same, with `\u002F`   |
//! | `https%3A%2F%2Fhost`, `%2F%2Fhost` (a URL inside a URL) | the same, percent-encoded       |
//! | `https%253A%252F%252Fhost`, `%252F%252Fhost` (encoded twice) | the same, encoded twice    |
//! | `https:\\host`, `/\host`, ... (where a value is read as a URL: see [`Context::Url`]) | `{scheme}://{proxy}`, `//{proxy}` |
//! | `host:8443` (any of the above)                   | the port is dropped with it           |
//! | `\"host` (opt-in, [`UrlRewriter::with_quoted_hosts`]) | `\"{proxy}`: Next.js flight data |
//! | `"host` (opt-in, [`UrlRewriter::with_json_string_hosts`]) | `"{proxy}`: a JSON string that starts with the host |
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
//! Matching reads the text as it is, folding letter case as it compares (the host search folds
//! it too), so no lowercased copy is made; what is not replaced is copied from the original
//! bytes. Forms not in the table are left as they are: a host whose
//! letters are percent-encoded (`www%2Epublisher.example`), URLs encoded three times or more, and
//! JavaScript string escapes other than `\u002F` (`\x2F`). HTML character references are decoded
//! before matching where HTML allows them (attribute values: see the HTML stage).

use super::host_search::HostFinder;
use std::borrow::Cow;

/// The longest scheme-and-separator run that can stand before the host: `https%253A%252F%252F`.
pub(crate) const MAX_PREFIX: usize = b"https%253a%252f%252f".len();
/// Bytes after the host that decide a match: a `:` and up to five port digits, then one more.
pub(crate) const MAX_SUFFIX: usize = 7;

/// Where a match starts and ends in a buffer, and what replaces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Match {
    pub start: usize,
    pub end: usize,
    pub form: Form,
}

/// How the two slashes before a host are written, and the colon after a scheme with them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slashes {
    /// `//`.
    Plain,
    /// `\/\/`, JSON's escaped slashes.
    JsonEscaped,
    /// `\u002F\u002F`, JSON's and JavaScript's Unicode escapes.
    UnicodeEscaped,
    /// `%2F%2F` (the scheme's colon `%3A`): a URL inside another URL's query.
    Percent,
    /// `%252F%252F` (the colon `%253A`): encoded twice, a return URL inside a return URL.
    DoublePercent,
    /// Any two of `/` and `\` but `//`: browsers read a backslash as a slash in an http(s) URL.
    /// Only where a value is read as a URL ([`Context::Url`]); the replacement uses `//`.
    Backslashed,
}

/// Every way of writing the slashes, with the text that stands for them (in lower case) and the
/// scheme's colon that goes with it; [`Slashes::Backslashed`] is matched apart.
const WRITTEN_SLASHES: [(Slashes, &[u8], &[u8]); 5] = [
    (Slashes::Plain, b"//", b":"),
    (Slashes::JsonEscaped, br"\/\/", b":"),
    (Slashes::UnicodeEscaped, br"\u002f\u002f", b":"),
    (Slashes::Percent, b"%2f%2f", b"%3a"),
    (Slashes::DoublePercent, b"%252f%252f", b"%253a"),
];

impl Slashes {
    /// How the replacement writes the colon and the slashes.
    fn written(self) -> (&'static str, &'static str) {
        match self {
            Slashes::Plain | Slashes::Backslashed => (":", "//"),
            Slashes::JsonEscaped => (":", r"\/\/"),
            Slashes::UnicodeEscaped => (":", r"\u002F\u002F"),
            Slashes::Percent => ("%3A", "%2F%2F"),
            Slashes::DoublePercent => ("%253A", "%252F%252F"),
        }
    }
}

/// The shape a URL was found in, which decides its replacement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// `https://host`, in any of the ways of writing the slashes.
    Absolute(Slashes),
    /// `//host`, likewise.
    ProtocolRelative(Slashes),
    /// A bare host opening a JSON string inside a JavaScript string: `\"host`.
    EscapedQuotedHost,
    /// A bare host opening a JSON string: `"host`.
    QuotedHost,
}

/// How a text is read, which decides whether a backslash can stand for a slash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Text in which a backslash is an escape (JavaScript, CSS, JSON, inline script and style
    /// text, attributes that hold text): `\/` is one slash.
    Text,
    /// A value the browser reads as a URL (a URL-valued attribute, `Location`, `Link`): a
    /// backslash is a slash there, so `https:\\host` and `/\host` are the publisher's URLs.
    Url,
}

/// Which bare hosts (with no slashes before them) are rewritten besides URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct BareHosts {
    /// `\"host`: flight data.
    escaped_quoted: bool,
    /// `"host` where the quote is not escaped: JSON strings.
    quoted: bool,
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
    proxy_host: String,
    /// `{scheme}://{proxy host}`.
    absolute: Vec<u8>,
    /// The replacement of every form, made once ([`Self::replacement`]).
    replacements: Vec<(Form, Vec<u8>)>,
    bare_hosts: BareHosts,
}

impl UrlRewriter {
    /// A rewriter from `origin_host` (e.g. `www.publisher.example`) to `proxy_scheme://proxy_host`.
    pub fn new(origin_host: &str, proxy_scheme: &str, proxy_host: &str) -> Self {
        let mut replacements = Vec::new();
        for (slashes, _, _) in WRITTEN_SLASHES {
            let (colon, written) = slashes.written();
            replacements.push((
                Form::Absolute(slashes),
                format!("{proxy_scheme}{colon}{written}{proxy_host}").into_bytes(),
            ));
            replacements.push((
                Form::ProtocolRelative(slashes),
                format!("{written}{proxy_host}").into_bytes(),
            ));
        }
        replacements.push((
            Form::EscapedQuotedHost,
            format!(r#"\"{proxy_host}"#).into_bytes(),
        ));
        replacements.push((Form::QuotedHost, format!(r#""{proxy_host}"#).into_bytes()));
        UrlRewriter {
            finder: HostFinder::new(origin_host.as_bytes()),
            absolute: format!("{proxy_scheme}://{proxy_host}").into_bytes(),
            proxy_host: proxy_host.to_owned(),
            replacements,
            bare_hosts: BareHosts::default(),
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
        self.bare_hosts.escaped_quoted = true;
        self
    }

    /// Also rewrites a bare host that opens a JSON string (`"www.publisher.example/a"`): the
    /// Next.js Pages Router's `__NEXT_DATA__` carries host names so. In JSON a quote that is
    /// directly followed by a host name always opens a string (after a closing quote only `,`,
    /// `:`, `}`, `]` or space may come), so this needs no parser and streams like any text.
    ///
    /// ```
    /// use sluice_edge::pipeline::UrlRewriter;
    /// let urls = UrlRewriter::new("www.publisher.example", "https", "proxy.example").with_json_string_hosts();
    /// assert_eq!(
    ///     urls.rewrite_text(r#"{"hostname":"www.publisher.example","n":[1,2],"t":"see www.publisher.example"}"#),
    ///     r#"{"hostname":"proxy.example","n":[1,2],"t":"see www.publisher.example"}"#
    /// );
    /// ```
    pub fn with_json_string_hosts(mut self) -> Self {
        self.bare_hosts.quoted = true;
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
        let form = match form {
            Form::Absolute(Slashes::Backslashed) => Form::Absolute(Slashes::Plain),
            Form::ProtocolRelative(Slashes::Backslashed) => Form::ProtocolRelative(Slashes::Plain),
            form => form,
        };
        self.replacements
            .iter()
            .find(|(f, _)| *f == form)
            .map(|(_, bytes)| bytes.as_slice())
            .unwrap_or(&self.absolute)
    }

    /// Finds the next URL in `text[from..]`. `complete` says whether `text` is the whole text;
    /// when it is not, a host too close to the end to decide is reported through
    /// [`Scan::Until`].
    pub(crate) fn scan(&self, text: &[u8], from: usize, complete: bool) -> Scan {
        self.scan_in(text, from, complete, Context::Text)
    }

    fn scan_in(&self, text: &[u8], from: usize, complete: bool, context: Context) -> Scan {
        let undecided = |at: usize| Scan::Until {
            safe: at.saturating_sub(MAX_PREFIX).max(from),
        };
        let mut cursor = from;
        while let Some(at) = self.finder.find(text, cursor) {
            let after = at + self.finder.len();
            match host_end(&text[after..], complete) {
                HostEnd::Undecided => return undecided(at),
                HostEnd::No => {}
                HostEnd::Yes(suffix) => {
                    let found = prefix_before(&text[..at], context)
                        .or_else(|| self.bare_host_before(&text[..at]));
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
            Scan::Until { safe: text.len() }
        } else {
            undecided(
                text.len()
                    .saturating_sub(self.finder.len() + MAX_SUFFIX - 1),
            )
        }
    }

    /// The quote before a bare host, where this rewriter reads bare hosts.
    fn bare_host_before(&self, before: &[u8]) -> Option<(usize, Form)> {
        let escaped = before.ends_with(br#"\""#);
        if escaped {
            return self
                .bare_hosts
                .escaped_quoted
                .then_some((2, Form::EscapedQuotedHost));
        }
        (self.bare_hosts.quoted && before.ends_with(b"\"")).then_some((1, Form::QuotedHost))
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
        self.rewrite_bytes_in(bytes, Context::Text)
    }

    /// [`rewrite_bytes`](Self::rewrite_bytes), read as `context` says.
    ///
    /// ```
    /// use sluice_edge::pipeline::{Context, UrlRewriter};
    /// let urls = UrlRewriter::new("www.publisher.example", "https", "proxy.example");
    /// assert_eq!(&*urls.rewrite_bytes_in(br"/\www.publisher.example/x", Context::Url), b"//proxy.example/x");
    /// assert_eq!(&*urls.rewrite_bytes_in(br"/\www.publisher.example/x", Context::Text), br"/\www.publisher.example/x");
    /// ```
    pub fn rewrite_bytes_in<'a>(&self, bytes: &'a [u8], context: Context) -> Cow<'a, [u8]> {
        splice(bytes, &self.find_all(bytes, context, false))
    }

    /// Every URL of the origin host in complete `bytes`, in order, with what replaces it; with
    /// `bare_start`, also the bare host that opens them (a URL-valued attribute).
    pub(crate) fn find_all(
        &self,
        bytes: &[u8],
        context: Context,
        bare_start: bool,
    ) -> Vec<(std::ops::Range<usize>, &[u8])> {
        let mut found = Vec::new();
        let mut from = 0;
        // Where the host ends does not depend on letter case (`host_end` reads punctuation,
        // digits and whether a byte could continue a name).
        if bare_start
            && bytes
                .get(..self.finder.len())
                .is_some_and(|start| start.eq_ignore_ascii_case(self.finder.host()))
            && let HostEnd::Yes(suffix) = host_end(&bytes[self.finder.len()..], true)
        {
            from = self.finder.len() + suffix;
            found.push((0..from, self.proxy_host.as_bytes()));
        }
        while let Scan::Found(m) = self.scan_in(bytes, from, true, context) {
            found.push((m.start..m.end, self.replacement(m.form)));
            from = m.end;
        }
        found
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
    /// read as a URL ([`Context::Url`]: a backslash is a slash), plus a value that starts with
    /// the bare host (`www.publisher.example/path`).
    pub fn rewrite_attribute<'a>(&self, value: &'a str) -> Cow<'a, str> {
        let found = self.find_all(value.as_bytes(), Context::Url, true);
        match splice(value.as_bytes(), &found) {
            Cow::Borrowed(_) => Cow::Borrowed(value),
            // Only ASCII was cut out and spliced in, so the text stays UTF-8.
            Cow::Owned(out) => {
                Cow::Owned(String::from_utf8(out).expect("ASCII splices keep UTF-8 valid"))
            }
        }
    }

    /// Whether `value`, as a whole, is a URL on the origin host: absolute or
    /// protocol-relative in any of the ways of writing the slashes, from its first byte (spaces
    /// around it aside). What the HTML stage asks of an attribute it does not otherwise read
    /// (`itemid`, `data-href`).
    ///
    /// ```
    /// use sluice_edge::pipeline::UrlRewriter;
    /// let urls = UrlRewriter::new("www.publisher.example", "https", "proxy.example");
    /// assert!(urls.is_origin_url(" https://www.publisher.example/a "));
    /// assert!(!urls.is_origin_url("see https://www.publisher.example/a"));
    /// assert!(!urls.is_origin_url("https://cdn.example/?u=https://www.publisher.example/"));
    /// ```
    pub fn is_origin_url(&self, value: &str) -> bool {
        matches!(
            self.scan_in(value.trim_ascii().as_bytes(), 0, true, Context::Url),
            Scan::Found(Match { start: 0, .. })
        )
    }
}

/// `bytes` with each range replaced (ranges in order, not overlapping).
pub(crate) fn splice<'a>(
    bytes: &'a [u8],
    found: &[(std::ops::Range<usize>, &[u8])],
) -> Cow<'a, [u8]> {
    if found.is_empty() {
        return Cow::Borrowed(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len() + 64);
    let mut copied = 0;
    for (range, replacement) in found {
        out.extend_from_slice(&bytes[copied..range.start]);
        out.extend_from_slice(replacement);
        copied = range.end;
    }
    out.extend_from_slice(&bytes[copied..]);
    Cow::Owned(out)
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
fn prefix_before(before: &[u8], context: Context) -> Option<(usize, Form)> {
    // Every way of writing the slashes ends in `/`, `\\` or the `f` of `%2F`: most hosts in a
    // page are not URLs at all, and are turned away here.
    if !matches!(before.last(), Some(b'/' | b'\\' | b'f' | b'F')) {
        return None;
    }
    let written = WRITTEN_SLASHES
        .iter()
        .find(|(_, slashes, _)| ends_with_ignore_case(before, slashes))
        .map(|&(slashes, text, colon)| (slashes, text.len(), colon));
    let backslashed = || {
        let last_two = before.get(before.len().checked_sub(2)?..)?;
        let slashes = last_two.iter().all(|b| matches!(b, b'/' | b'\\'));
        (context == Context::Url && slashes).then_some((Slashes::Backslashed, 2, &b":"[..]))
    };
    let (slashes, len, colon) = written.or_else(backslashed)?;
    let before_slashes = &before[..before.len() - len];
    let scheme_len = ends_with_ignore_case(before_slashes, colon)
        .then(|| &before_slashes[..before_slashes.len() - colon.len()])
        .and_then(|scheme| {
            [&b"https"[..], b"http"]
                .into_iter()
                .find(|name| ends_with_ignore_case(scheme, name))
        })
        .map(|name| name.len() + colon.len());
    Some(match scheme_len {
        Some(scheme_len) => (len + scheme_len, Form::Absolute(slashes)),
        None => (len, Form::ProtocolRelative(slashes)),
    })
}

/// Whether `text` ends with `suffix` (given in lower case), in any letter case.
fn ends_with_ignore_case(text: &[u8], suffix: &[u8]) -> bool {
    text.len() >= suffix.len() && text[text.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
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
    fn rewrites_encoded_forms_in_their_own_encoding() {
        let cases = [
            (
                "/login?.done=https%3A%2F%2Fwww.publisher.example%2Fa",
                "/login?.done=https%3A%2F%2Fproxy.example%2Fa",
            ),
            (
                "?u=HTTP%3a%2f%2fWWW.publisher.example",
                "?u=https%3A%2F%2Fproxy.example",
            ),
            (
                "?u=%2F%2Fwww.publisher.example%2F",
                "?u=%2F%2Fproxy.example%2F",
            ),
            (
                "?r=https%253A%252F%252Fwww.publisher.example%252Fa",
                "?r=https%253A%252F%252Fproxy.example%252Fa",
            ),
            (
                r#"{"url":"https:\u002F\u002Fwww.publisher.example\u002Fa"}"#,
                r#"{"url":"https:\u002F\u002Fproxy.example\u002Fa"}"#,
            ),
            (
                r#""\u002f\u002fwww.publisher.example""#,
                r#""\u002F\u002Fproxy.example""#,
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(urls().rewrite_text(input), expected, "input: {input}");
        }
    }

    #[test]
    fn backslashes_are_slashes_only_where_a_value_is_a_url() {
        for (input, expected) in [
            (
                r"https:\\www.publisher.example/a",
                "https://proxy.example/a",
            ),
            (
                r"https:/\www.publisher.example/a",
                "https://proxy.example/a",
            ),
            (r"/\www.publisher.example/x", "//proxy.example/x"),
            (r"\\www.publisher.example/x", "//proxy.example/x"),
            (r"\/www.publisher.example/x", "//proxy.example/x"),
            (
                r"https:\/\/www.publisher.example",
                r"https:\/\/proxy.example",
            ),
        ] {
            assert_eq!(urls().rewrite_attribute(input), expected, "input: {input}");
            let as_text = urls().rewrite_text(input);
            assert!(
                input.contains(r"\/\/") || as_text == input,
                "text {input}: {as_text}"
            );
        }
    }

    #[test]
    fn json_strings_that_open_with_the_host_are_rewritten() {
        let urls = urls().with_json_string_hosts();
        for (input, expected) in [
            (
                r#"{"h":"www.publisher.example"}"#,
                r#"{"h":"proxy.example"}"#,
            ),
            (
                r#"["WWW.Publisher.Example/a?b"]"#,
                r#"["proxy.example/a?b"]"#,
            ),
            (
                r#"{"h":"www.publisher.example.evil"}"#,
                r#"{"h":"www.publisher.example.evil"}"#,
            ),
            (
                r#"{"t":"say \"www.publisher.example\""}"#,
                r#"{"t":"say \"www.publisher.example\""}"#,
            ),
        ] {
            assert_eq!(urls.rewrite_text(input), expected, "input: {input}");
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
        let buf = b"a longer start: https://www.publisher.example";
        // Only the bytes before the longest possible scheme prefix are decided.
        let at = buf.len() - "www.publisher.example".len();
        assert_eq!(
            u.scan(buf, 0, false),
            Scan::Until {
                safe: at - MAX_PREFIX
            }
        );
        let buf = b"a longer start: https://www.publisher.example.";
        assert_eq!(
            u.scan(buf, 0, false),
            Scan::Until {
                safe: at - MAX_PREFIX
            }
        );
        let buf = b"plain text with nothing in it at all, long enough to emit";
        match u.scan(buf, 0, false) {
            Scan::Until { safe } => assert!(safe > 0 && safe < buf.len()),
            other => panic!("{other:?}"),
        }
    }
}
