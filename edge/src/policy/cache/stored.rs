//! What is kept beside a rewritten body: the head Sluice sent, less everything decided per
//! reader, and what a later reader's request needs to be answered from it. It travels as the
//! cache entry's user metadata, in a small length-prefixed form of its own; bytes that do not
//! read back are a miss, never a guess.

use super::super::headers::{HeaderList, ReadHeaders};

/// The first bytes of every stored head: the form's version. A head written by another
/// version of the form does not read back, and the page is fetched again.
const MAGIC: &[u8; 4] = b"SLC1";

/// A kept response's head and what goes with it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StoredHead {
    /// The status sent.
    pub status: u16,
    /// Whether the body is an HTML document (identity is decided on documents only).
    pub document: bool,
    /// The headers sent, less those decided per reader (Sluice's own, geolocation, identity).
    pub headers: HeaderList,
    /// The surrogate key of this entry alone, purged when its body turns out broken.
    pub entry_key: String,
    /// Every surrogate key the entry carries (kept again when it is revalidated).
    pub surrogate_keys: Vec<String>,
    /// The request headers the entry varies on.
    pub vary: Vec<String>,
    /// `stale-while-revalidate`, seconds.
    pub stale_while_revalidate: u64,
    /// `stale-if-error`, seconds.
    pub stale_if_error: u64,
    /// The origin's own validators (`ETag`, `Last-Modified`), for revalidating with it.
    pub origin_etag: Option<Vec<u8>>,
    /// See [`origin_etag`](Self::origin_etag).
    pub origin_last_modified: Option<Vec<u8>>,
}

/// Metadata that does not read back as a stored head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the cache entry's metadata does not read back")]
pub struct Unreadable;

impl StoredHead {
    /// The head as bytes.
    ///
    /// ```
    /// use sluice_edge::policy::cache::stored::StoredHead;
    /// use sluice_edge::policy::headers::HeaderList;
    /// let head = StoredHead {
    ///     status: 200,
    ///     headers: HeaderList::from_pairs([("content-type", &b"text/html"[..]), ("x-odd", b"caf\xe9")]),
    ///     ..StoredHead::default()
    /// };
    /// assert_eq!(StoredHead::from_bytes(&head.to_bytes()), Ok(head));
    /// assert!(StoredHead::from_bytes(b"SLC1\x00").is_err());
    /// ```
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&self.status.to_be_bytes());
        out.push(u8::from(self.document));
        put_u64(&mut out, self.stale_while_revalidate);
        put_u64(&mut out, self.stale_if_error);
        put(&mut out, self.entry_key.as_bytes());
        put_list(&mut out, self.surrogate_keys.iter().map(String::as_bytes));
        put_list(&mut out, self.vary.iter().map(String::as_bytes));
        put_optional(&mut out, self.origin_etag.as_deref());
        put_optional(&mut out, self.origin_last_modified.as_deref());
        put_u64(&mut out, self.headers.0.len() as u64);
        for (name, value) in &self.headers.0 {
            put(&mut out, name.as_bytes());
            put(&mut out, value);
        }
        out
    }

    /// Reads a head written by [`to_bytes`](Self::to_bytes).
    pub fn from_bytes(bytes: &[u8]) -> Result<StoredHead, Unreadable> {
        let mut reader = Reader(bytes.strip_prefix(MAGIC).ok_or(Unreadable)?);
        let status = u16::from_be_bytes(reader.take(2)?.try_into().map_err(|_| Unreadable)?);
        let document = match reader.take(1)? {
            [0] => false,
            [1] => true,
            _ => return Err(Unreadable),
        };
        let stale_while_revalidate = reader.u64()?;
        let stale_if_error = reader.u64()?;
        let entry_key = reader.string()?;
        let surrogate_keys = reader.strings()?;
        let vary = reader.strings()?;
        let origin_etag = reader.optional()?;
        let origin_last_modified = reader.optional()?;
        let count = reader.u64()?;
        let mut headers = Vec::new();
        for _ in 0..count {
            let name = reader.string()?;
            headers.push((name, reader.field()?.to_vec()));
        }
        if !reader.0.is_empty() {
            return Err(Unreadable);
        }
        Ok(StoredHead {
            status,
            document,
            headers: HeaderList(headers),
            entry_key,
            surrogate_keys,
            vary,
            stale_while_revalidate,
            stale_if_error,
            origin_etag,
            origin_last_modified,
        })
    }

    /// The mark of a page found not keepable: an entry with no page, remembered briefly so
    /// that readers who arrive together ask the origin at once.
    ///
    /// ```
    /// use sluice_edge::policy::cache::stored::StoredHead;
    /// assert!(StoredHead::pass_mark().is_pass_mark());
    /// assert!(!StoredHead { status: 200, ..StoredHead::default() }.is_pass_mark());
    /// ```
    pub fn pass_mark() -> StoredHead {
        StoredHead::default()
    }

    /// Whether this is [`pass_mark`](Self::pass_mark) (status 0: no page was kept).
    pub fn is_pass_mark(&self) -> bool {
        self.status == 0
    }

    /// The validators of the kept copy as the reader saw them: its (weak) `ETag` and its
    /// `Last-Modified`.
    pub fn validators(&self) -> (Option<&[u8]>, Option<&[u8]>) {
        (self.headers.get("etag"), self.headers.get("last-modified"))
    }
}

fn put(out: &mut Vec<u8>, field: &[u8]) {
    put_u64(out, field.len() as u64);
    out.extend_from_slice(field);
}

fn put_u64(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(&n.to_be_bytes());
}

fn put_list<'a>(out: &mut Vec<u8>, items: impl ExactSizeIterator<Item = &'a [u8]>) {
    put_u64(out, items.len() as u64);
    for item in items {
        put(out, item);
    }
}

fn put_optional(out: &mut Vec<u8>, field: Option<&[u8]>) {
    match field {
        None => out.push(0),
        Some(field) => {
            out.push(1);
            put(out, field);
        }
    }
}

/// Reads the fields back, failing on anything short or out of place.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Unreadable> {
        if self.0.len() < n {
            return Err(Unreadable);
        }
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(taken)
    }

    fn u64(&mut self) -> Result<u64, Unreadable> {
        Ok(u64::from_be_bytes(
            self.take(8)?.try_into().map_err(|_| Unreadable)?,
        ))
    }

    fn field(&mut self) -> Result<&'a [u8], Unreadable> {
        let n = usize::try_from(self.u64()?).map_err(|_| Unreadable)?;
        self.take(n)
    }

    fn string(&mut self) -> Result<String, Unreadable> {
        String::from_utf8(self.field()?.to_vec()).map_err(|_| Unreadable)
    }

    fn strings(&mut self) -> Result<Vec<String>, Unreadable> {
        let count = self.u64()?;
        (0..count).map(|_| self.string()).collect()
    }

    fn optional(&mut self) -> Result<Option<Vec<u8>>, Unreadable> {
        match self.take(1)? {
            [0] => Ok(None),
            [1] => Ok(Some(self.field()?.to_vec())),
            _ => Err(Unreadable),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> StoredHead {
        StoredHead {
            status: 203,
            document: true,
            headers: HeaderList::from_pairs([
                ("content-type", &b"text/html; charset=utf-8"[..]),
                ("etag", b"W/\"a\""),
                ("x-latin", b"\xe9t\xe9"),
            ]),
            entry_key: "sluice-entry-0123".to_owned(),
            surrogate_keys: vec!["sluice".to_owned(), "article-1".to_owned()],
            vary: vec!["accept-language".to_owned()],
            stale_while_revalidate: 30,
            stale_if_error: 86_400,
            origin_etag: Some(b"\"a\"".to_vec()),
            origin_last_modified: None,
        }
    }

    #[test]
    fn every_field_reads_back() {
        assert_eq!(StoredHead::from_bytes(&full().to_bytes()), Ok(full()));
    }

    #[test]
    fn every_cut_and_any_trailing_byte_is_unreadable() {
        let bytes = full().to_bytes();
        for cut in 0..bytes.len() {
            assert_eq!(
                StoredHead::from_bytes(&bytes[..cut]),
                Err(Unreadable),
                "{cut}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(StoredHead::from_bytes(&longer), Err(Unreadable));
        let mut other_version = bytes;
        other_version[3] = b'2';
        assert_eq!(StoredHead::from_bytes(&other_version), Err(Unreadable));
    }

    #[test]
    fn a_huge_length_is_unreadable_rather_than_an_allocation() {
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&[0, 200, 0]);
        bytes.extend_from_slice(&[0; 16]);
        bytes.extend_from_slice(&u64::MAX.to_be_bytes());
        assert_eq!(StoredHead::from_bytes(&bytes), Err(Unreadable));
    }
}
