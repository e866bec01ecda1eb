//! Header access as raw bytes, and the one place where a header value becomes text.
//!
//! HTTP allows any octet 0x80-0xFF in a field value (obs-text), and real clients and origins
//! send them: Latin-1 User-Agents, cookies written by old CMSs, accented custom headers. So the
//! policy reads every header as bytes through [`ReadHeaders`] (and edits them through
//! [`Headers`]), and where it needs text it asks [`text`], saying per header what a value that
//! is not UTF-8 becomes. The Compute glue implements both traits for Fastly's request and
//! response; tests and the fuzz targets use [`HeaderList`].

use std::borrow::Cow;

/// Reading headers as raw bytes.
pub trait ReadHeaders {
    /// Every value of `name`, in order (case-insensitive name).
    fn get_all(&self, name: &str) -> Vec<&[u8]>;

    /// The first value of `name`.
    fn get(&self, name: &str) -> Option<&[u8]> {
        self.get_all(name).into_iter().next()
    }

    /// The names present, each once, in lower case.
    fn names(&self) -> Vec<String>;
}

/// Reading and editing headers as raw bytes.
pub trait Headers: ReadHeaders {
    /// Replaces every value of `name`. A value that cannot be a header value (CR, LF or NUL in
    /// it) is not set: implementations report it and leave the header as it was.
    fn set(&mut self, name: &str, value: &[u8]);

    /// Adds a value of `name`, keeping the others (Set-Cookie).
    fn append(&mut self, name: &str, value: &[u8]);

    /// Removes every value of `name`.
    fn remove(&mut self, name: &str);
}

/// What a header value that is not UTF-8 becomes where the policy needs text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonUtf8 {
    /// The value is treated as absent (a Host, an ID header: a non-ASCII value cannot be valid).
    Absent,
    /// Invalid bytes become U+FFFD (a token list such as Accept-Encoding or Content-Encoding,
    /// where an unreadable token then simply matches nothing Sluice knows).
    Lossy,
}

/// A header value as text, with `non_utf8` deciding what invalid UTF-8 becomes.
///
/// ```
/// use sluice_edge::policy::headers::{text, NonUtf8};
/// assert_eq!(text(b"gzip", NonUtf8::Absent).as_deref(), Some("gzip"));
/// assert_eq!(text(b"caf\xe9", NonUtf8::Absent), None);
/// assert_eq!(text(b"caf\xe9", NonUtf8::Lossy).as_deref(), Some("caf\u{fffd}"));
/// ```
pub fn text(value: &[u8], non_utf8: NonUtf8) -> Option<Cow<'_, str>> {
    match (std::str::from_utf8(value), non_utf8) {
        (Ok(text), _) => Some(Cow::Borrowed(text)),
        (Err(_), NonUtf8::Absent) => None,
        (Err(_), NonUtf8::Lossy) => Some(String::from_utf8_lossy(value)),
    }
}

/// Every value of a list-valued header (`#rule`: Content-Encoding, Vary, Cache-Control) as one
/// list: the elements of every line, trimmed, empty ones dropped. A comma inside a quoted string
/// (`private="set-cookie, x-user"`) is part of its element, as RFC 9110 5.6.4 reads it.
///
/// ```
/// use sluice_edge::policy::headers::{list_elements, HeaderList};
/// let headers = HeaderList::from_pairs([("content-encoding", ""), ("Content-Encoding", "gzip, br")]);
/// assert_eq!(list_elements(&headers, "content-encoding"), vec![&b"gzip"[..], &b"br"[..]]);
/// let quoted = HeaderList::from_pairs([("cache-control", r#"private="a, \"b", max-age=5"#)]);
/// assert_eq!(list_elements(&quoted, "cache-control"), vec![&br#"private="a, \"b""#[..], &b"max-age=5"[..]]);
/// ```
pub fn list_elements<'a>(headers: &'a impl ReadHeaders, name: &str) -> Vec<&'a [u8]> {
    headers
        .get_all(name)
        .into_iter()
        .flat_map(split_list)
        .map(<[u8]>::trim_ascii)
        .filter(|element| !element.is_empty())
        .collect()
}

/// One line of a list split at its commas, except commas in quoted strings (where a backslash
/// quotes the next byte). An unclosed quote runs to the end of the line.
fn split_list(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(line);
    std::iter::from_fn(move || {
        let line = rest?;
        let (mut quoted, mut escaped) = (false, false);
        for (at, &b) in line.iter().enumerate() {
            match b {
                _ if escaped => escaped = false,
                b'\\' if quoted => escaped = true,
                b'"' => quoted = !quoted,
                b',' if !quoted => {
                    rest = Some(&line[at + 1..]);
                    return Some(&line[..at]);
                }
                _ => {}
            }
        }
        rest = None;
        Some(line)
    })
}

/// A value that can go into a header as it is: visible ASCII and spaces.
pub fn header_safe(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b == b' ' || b == b'\t' || (0x21..0x7f).contains(&b))
}

/// Whether bytes can be a header value at all: anything but CR, LF and the other controls
/// (tab allowed). Obs-text (0x80-0xFF) is allowed.
pub fn valid_value(value: &[u8]) -> bool {
    value
        .iter()
        .all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// Headers as an ordered list of name and value bytes: what tests and fuzz targets hand the
/// policy in place of Fastly's request and response.
///
/// ```
/// use sluice_edge::policy::headers::{HeaderList, Headers, ReadHeaders};
/// let mut headers = HeaderList::from_pairs([("Set-Cookie", "a=1")]);
/// headers.append("set-cookie", b"b=2");
/// assert_eq!(headers.get_all("SET-COOKIE"), vec![&b"a=1"[..], &b"b=2"[..]]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderList(pub Vec<(String, Vec<u8>)>);

impl HeaderList {
    /// A list from name and value pairs, in order.
    pub fn from_pairs<N: Into<String>, V: AsRef<[u8]>>(
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> Self {
        HeaderList(
            pairs
                .into_iter()
                .map(|(name, value)| (name.into(), value.as_ref().to_vec()))
                .collect(),
        )
    }

    /// The first value as text, for assertions (`None` if absent or not UTF-8).
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| std::str::from_utf8(v).ok())
    }
}

impl ReadHeaders for HeaderList {
    fn get_all(&self, name: &str) -> Vec<&[u8]> {
        self.0
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
            .collect()
    }

    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for (name, _) in &self.0 {
            let name = name.to_ascii_lowercase();
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }
}

impl Headers for HeaderList {
    fn set(&mut self, name: &str, value: &[u8]) {
        if valid_value(value) {
            self.remove(name);
            self.0.push((name.to_owned(), value.to_vec()));
        }
    }

    fn append(&mut self, name: &str, value: &[u8]) {
        if valid_value(value) {
            self.0.push((name.to_owned(), value.to_vec()));
        }
    }

    fn remove(&mut self, name: &str) {
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_with_a_line_break_is_never_set() {
        let mut headers = HeaderList::from_pairs([("x", "kept")]);
        headers.set("x", b"a\r\nSet-Cookie: evil=1");
        headers.append("y", b"b\nc");
        assert_eq!(headers.get_str("x"), Some("kept"));
        assert_eq!(headers.get("y"), None);
        headers.set("x", b"caf\xe9\tok");
        assert_eq!(headers.get("x"), Some(&b"caf\xe9\tok"[..]));
    }
}
