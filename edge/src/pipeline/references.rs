//! HTML character references in attribute values, decoded for reading only.
//!
//! lol_html hands attribute values over as written, references and all, and an origin may write
//! a URL with references anywhere in it: encoders that follow OWASP's advice write every
//! character but letters and digits as one (`https&#x3a;&#x2f;&#x2f;www&#x2e;publisher...`). The
//! browser decodes them before it reads the URL, so Sluice must too. It decodes only to find
//! the URLs ([`Decoded`]); what it writes back is the value as the origin wrote it, with each URL
//! it found replaced in place ([`Decoded::raw_range`]), so every other byte, and every reference
//! outside a URL, stays as it was.

use std::ops::Range;

/// The named references a URL's characters may be written with (HTML's table has more than
/// 2,000; those not listed here are kept as written, and a URL that contains one is not read).
const NAMED: [(&str, char); 15] = [
    ("amp", '&'),
    ("apos", '\''),
    ("bsol", '\\'),
    ("colon", ':'),
    ("commat", '@'),
    ("equals", '='),
    ("gt", '>'),
    ("lowbar", '_'),
    ("lt", '<'),
    ("num", '#'),
    ("percnt", '%'),
    ("period", '.'),
    ("quest", '?'),
    ("quot", '"'),
    ("sol", '/'),
];

/// An attribute value with its character references decoded, and where each reference stood
/// in the value as written (one entry per reference, so a long value without any costs
/// nothing more than its decoded copy).
///
/// ```text
/// raw:     https:&#x2F;&#x2F;a.example
/// decoded: https://a.example          raw_range(6..8) == 6..18
/// ```
pub(crate) struct Decoded {
    pub text: String,
    /// Each reference: where its character starts in `text`, the character's length there,
    /// where the reference starts in the raw value and its length there.
    references: Vec<Reference>,
}

#[derive(Debug, Clone, Copy)]
struct Reference {
    decoded_at: usize,
    decoded_len: usize,
    raw_at: usize,
    raw_len: usize,
}

impl Decoded {
    /// Decodes `raw`; `None` when it holds no reference (the raw value is the decoded one).
    pub(crate) fn of(raw: &str) -> Option<Decoded> {
        if !raw.bytes().any(|b| b == b'&') {
            return None;
        }
        let mut text = String::with_capacity(raw.len());
        let mut references = Vec::new();
        let mut copied = 0;
        let mut at = 0;
        while let Some(found) = raw[at..].find('&') {
            at += found;
            match reference_at(&raw[at..]) {
                Some((decoded, raw_len)) => {
                    text.push_str(&raw[copied..at]);
                    references.push(Reference {
                        decoded_at: text.len(),
                        decoded_len: decoded.len_utf8(),
                        raw_at: at,
                        raw_len,
                    });
                    text.push(decoded);
                    at += raw_len;
                    copied = at;
                }
                None => at += 1,
            }
        }
        text.push_str(&raw[copied..]);
        Some(Decoded { text, references })
    }

    /// The raw bytes a range of decoded bytes was written as.
    pub(crate) fn raw_range(&self, decoded: Range<usize>) -> Range<usize> {
        self.raw_offset(decoded.start)..self.raw_offset(decoded.end)
    }

    /// Where decoded byte `i` (or the end, at `text.len()`) starts in the raw value: a byte of
    /// a reference's character starts where the reference does.
    fn raw_offset(&self, i: usize) -> usize {
        let before = self.references.partition_point(|r| r.decoded_at <= i);
        let Some(reference) = before.checked_sub(1).map(|k| self.references[k]) else {
            return i;
        };
        let after = reference.decoded_at + reference.decoded_len;
        if i < after {
            reference.raw_at
        } else {
            reference.raw_at + reference.raw_len + (i - after)
        }
    }
}

/// The character a reference at the start of `text` stands for, and its length as written.
/// Numeric references are read with or without their `;` (browsers do, in attributes too);
/// named ones only from [`NAMED`] and with their `;`.
fn reference_at(text: &str) -> Option<(char, usize)> {
    let rest = text.strip_prefix('&')?;
    if let Some(number) = rest.strip_prefix('#') {
        let (radix, digits_at) = match number.as_bytes().first() {
            Some(b'x' | b'X') => (16, 1),
            _ => (10, 0),
        };
        let digits = number[digits_at..]
            .bytes()
            .take_while(|b| b.is_ascii_digit() || (radix == 16 && b.is_ascii_hexdigit()))
            .count();
        if digits == 0 {
            return None;
        }
        let end = digits_at + digits;
        let value = u32::from_str_radix(&number[digits_at..end], radix).unwrap_or(u32::MAX);
        // What the HTML standard makes of a reference to no character (NUL, a surrogate, past
        // U+10FFFF).
        let decoded = char::from_u32(value)
            .filter(|&c| c != '\0')
            .unwrap_or('\u{FFFD}');
        let semicolon = usize::from(number[end..].starts_with(';'));
        return Some((decoded, 2 + end + semicolon));
    }
    let name_len = rest.bytes().take_while(u8::is_ascii_alphanumeric).count();
    if !rest[name_len..].starts_with(';') {
        return None;
    }
    let name = &rest[..name_len];
    NAMED
        .iter()
        .find(|(known, _)| *known == name)
        .map(|&(_, decoded)| (decoded, name_len + 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_what_a_url_is_written_with_and_maps_each_byte_back() {
        let raw = "https&#x3a;&#X2F;&#47www&period;a.example&sol;&eacute;&amp;x";
        let decoded = Decoded::of(raw).unwrap();
        assert_eq!(decoded.text, "https://www.a.example/&eacute;&x");
        assert_eq!(&raw[decoded.raw_range(5..6)], "&#x3a;");
        assert_eq!(&raw[decoded.raw_range(0..8)], "https&#x3a;&#X2F;&#47");
        let end = decoded.text.len();
        assert_eq!(decoded.raw_range(end..end), raw.len()..raw.len());
        assert_eq!(&raw[decoded.raw_range(end - 2..end)], "&amp;x");
        let accented = Decoded::of("\u{e9}&#233;\u{e9}x").unwrap();
        assert_eq!(accented.text, "\u{e9}\u{e9}\u{e9}x");
        assert_eq!(accented.raw_range(2..4), 2..8);
        assert_eq!(accented.raw_range(3..7), 2..11);
    }

    #[test]
    fn what_is_not_a_reference_stays_as_written() {
        for raw in ["a & b", "&#;", "&#x;", "&nosuch;", "&sol", "caf\u{e9} &"] {
            assert_eq!(Decoded::of(raw).unwrap().text, raw);
        }
        assert_eq!(
            Decoded::of("&#0;&#x110000;").unwrap().text,
            "\u{FFFD}\u{FFFD}"
        );
        assert!(Decoded::of("no references").is_none());
    }
}
