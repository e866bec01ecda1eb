//! What a kept page is found by: everything its bytes depend on, and the surrogate keys it is
//! purged by.

use super::super::headers::{ReadHeaders, list_elements};
use sha2::{Digest, Sha256};

/// Everything the bytes of a rewritten response depend on. The rest of the request (its
/// cookies, the reader's consent and place) shapes only what is decided per reader, which is
/// never kept; request headers the origin's `Vary` names select among copies under one key.
#[derive(Debug, Clone, Copy)]
pub struct KeyParts<'a> {
    /// The scheme the reader connected with and the host it used (`https://proxy.example`):
    /// rewritten URLs point there.
    pub proxy_origin: &'a str,
    /// The path and query asked for.
    pub target: &'a str,
    /// What the reader's `Accept-Encoding` decides (`request::negotiation_profile`).
    pub codings: &'a str,
    /// The fingerprint of the settings that shape the body (`Settings::body_fingerprint`).
    pub settings: [u8; 32],
    /// The program's build: a new version never serves an older one's output.
    pub build: &'a str,
}

impl KeyParts<'_> {
    /// The cache key: a digest of every part, each with its length, so no two different sets of
    /// parts can run together into the same bytes.
    ///
    /// ```
    /// use sluice_edge::policy::cache::key::KeyParts;
    /// let parts = KeyParts { proxy_origin: "https://proxy.example", target: "/a?b", codings: "gzip identity > gzip", settings: [0; 32], build: "7" };
    /// let other_host = KeyParts { proxy_origin: "https://other.example", ..parts };
    /// assert_ne!(parts.key(), other_host.key());
    /// assert_eq!(parts.key(), parts.key());
    /// ```
    pub fn key(&self) -> [u8; 32] {
        let mut digest = Sha256::new();
        for part in [
            &b"sluice rewritten page"[..],
            self.proxy_origin.as_bytes(),
            self.target.as_bytes(),
            self.codings.as_bytes(),
            &self.settings,
            self.build.as_bytes(),
        ] {
            digest.update((part.len() as u64).to_be_bytes());
            digest.update(part);
        }
        digest.finalize().into()
    }
}

/// The surrogate key every kept page carries: `fastly purge --key sluice` drops them all.
pub const ALL_PAGES: &str = "sluice";

/// The surrogate key of one page, whatever host, coding or variant it was kept for:
/// `sluice-page-` and the first 16 hex digits of the SHA-256 of its path and query.
///
/// ```
/// use sluice_edge::policy::cache::key::page_key;
/// // printf '%s' '/news/today?page=2' | sha256sum | cut -c1-16
/// assert_eq!(page_key("/news/today?page=2"), "sluice-page-b98ee195ddb649fe");
/// ```
pub fn page_key(target: &str) -> String {
    let digest = Sha256::digest(target.as_bytes());
    format!("sluice-page-{}", hex::encode(&digest[..8]))
}

/// Fastly's limit on one surrogate key, in bytes.
const MAX_KEY_BYTES: usize = 1024;

/// Fastly's limit on all of an entry's surrogate keys with their separating spaces.
const MAX_KEYS_BYTES: usize = 16 * 1024;

/// The surrogate keys of a kept page: Sluice's own (all pages, this page, this entry) first,
/// then the origin's `Surrogate-Key` values in order, so the publisher's own purges reach the
/// rewritten copies too. Keys past Fastly's limits are left out (and so are not purgeable by
/// themselves; the page and the entry keys always are).
///
/// ```
/// use sluice_edge::policy::cache::key::surrogate_keys;
/// use sluice_edge::policy::headers::HeaderList;
/// let origin = HeaderList::from_pairs([("surrogate-key", "article-1 section-news"), ("surrogate-key", "home")]);
/// let keys = surrogate_keys(&origin, "/a", "sluice-entry-1");
/// assert_eq!(keys[3..], ["article-1", "section-news", "home"]);
/// ```
pub fn surrogate_keys(origin: &impl ReadHeaders, target: &str, entry_key: &str) -> Vec<String> {
    let mut keys = vec![ALL_PAGES.to_owned(), page_key(target), entry_key.to_owned()];
    let mut total = keys.iter().map(|k| k.len() + 1).sum::<usize>();
    let origin_keys = origin
        .get_all("surrogate-key")
        .into_iter()
        .flat_map(|line| line.split(|b| b.is_ascii_whitespace()))
        .filter(|key| !key.is_empty() && key.len() <= MAX_KEY_BYTES)
        .filter(|key| key.iter().all(u8::is_ascii_graphic));
    for key in origin_keys {
        let key = String::from_utf8_lossy(key).into_owned();
        if keys.contains(&key) || total + key.len() + 1 > MAX_KEYS_BYTES {
            continue;
        }
        total += key.len() + 1;
        keys.push(key);
    }
    keys
}

/// The request headers the origin's `Vary` names, in lower case, less `Accept-Encoding`: the
/// key's coding profile covers it (Sluice decodes whatever the origin sent and encodes for
/// the reader), and keying on its many spellings would split the copies for nothing.
///
/// ```
/// use sluice_edge::policy::cache::key::vary_names;
/// use sluice_edge::policy::headers::HeaderList;
/// let response = HeaderList::from_pairs([("vary", "Accept-Encoding, Accept-Language"), ("vary", "X-Device")]);
/// assert_eq!(vary_names(&response), ["accept-language", "x-device"]);
/// ```
pub fn vary_names(response: &impl ReadHeaders) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for element in list_elements(response, "vary") {
        let Ok(name) = std::str::from_utf8(element) else {
            continue;
        };
        let name = name.to_ascii_lowercase();
        if is_token(&name) && name != "accept-encoding" && !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// Whether `name` is a field name as RFC 9110 5.6.2 writes one (a token): what `Vary` may
/// name. A response whose `Vary` names anything else is not kept (`freshness::keep`).
///
/// ```
/// use sluice_edge::policy::cache::key::is_token;
/// assert!(is_token("accept-language") && is_token("x_device!"));
/// assert!(!is_token("") && !is_token("a/b") && !is_token("a b"));
/// ```
pub fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}
