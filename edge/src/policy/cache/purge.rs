//! Sluice's own purge endpoint, `POST /.sluice/purge?key=KEY`: a surrogate-key purge of the
//! kept pages from the proxy itself, for where Fastly's purge API is not at hand (Viceroy, a
//! deploy script without an API token). Off unless the Secret Store holds a `purge_token`;
//! a request must carry it as `Authorization: Bearer TOKEN`.

use super::super::headers::{NonUtf8, ReadHeaders, text};

/// The endpoint's path.
pub const PATH: &str = "/.sluice/purge";

/// The least length of a token the endpoint accepts: a short one could be guessed.
pub const MIN_TOKEN_BYTES: usize = 32;

/// Why a purge request is refused, with the status it is answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// No `purge_token` is set (or one too short to use): the endpoint is off.
    #[error(
        "the purge endpoint is off: set purge_token (32 bytes or more) in the Secret Store sluice_secrets"
    )]
    Off,
    /// Only `POST` purges.
    #[error("purge with POST")]
    Method,
    /// No token, or the wrong one.
    #[error("a purge needs Authorization: Bearer <purge_token>")]
    Unauthorized,
    /// No `key=`, or one Fastly could not hold.
    #[error("name one surrogate key: ?key=KEY (visible ASCII, at most 1024 bytes)")]
    Key,
}

impl Refused {
    /// The status a refusal is answered with.
    pub fn status(self) -> u16 {
        match self {
            Refused::Off => 404,
            Refused::Method => 405,
            Refused::Unauthorized => 401,
            Refused::Key => 400,
        }
    }
}

/// The surrogate key a purge request asks for, if it may.
///
/// ```
/// use sluice_edge::policy::cache::purge::{purge_key, Refused};
/// use sluice_edge::policy::headers::HeaderList;
/// let token = "t".repeat(32);
/// let auth = HeaderList::from_pairs([("authorization", format!("Bearer {token}"))]);
/// assert_eq!(purge_key("POST", "key=article-1", &auth, Some(token.as_bytes())), Ok("article-1".to_owned()));
/// assert_eq!(purge_key("POST", "key=article-1", &HeaderList::default(), Some(token.as_bytes())), Err(Refused::Unauthorized));
/// assert_eq!(purge_key("POST", "key=article-1", &auth, None), Err(Refused::Off));
/// ```
pub fn purge_key(
    method: &str,
    query: &str,
    headers: &impl ReadHeaders,
    token: Option<&[u8]>,
) -> Result<String, Refused> {
    let token = token
        .filter(|t| t.len() >= MIN_TOKEN_BYTES)
        .ok_or(Refused::Off)?;
    if method != "POST" {
        return Err(Refused::Method);
    }
    let given = headers
        .get("authorization")
        .and_then(|value| text(value, NonUtf8::Absent))
        .and_then(|value| {
            let (scheme, credentials) = value.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| credentials.trim().as_bytes().to_vec())
        });
    if !given.is_some_and(|given| same_bytes(&given, token)) {
        return Err(Refused::Unauthorized);
    }
    let key = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("key="))
        .ok_or(Refused::Key)?;
    let valid = !key.is_empty() && key.len() <= 1024 && key.bytes().all(|b| b.is_ascii_graphic());
    valid.then(|| key.to_owned()).ok_or(Refused::Key)
}

/// Compares without stopping at the first difference, so the time taken does not tell how much
/// of a guess was right.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::headers::HeaderList;

    const TOKEN: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn bearer(token: &str) -> HeaderList {
        HeaderList::from_pairs([("authorization", format!("Bearer {token}"))])
    }

    #[test]
    fn every_refusal_has_its_status() {
        let right = bearer(std::str::from_utf8(TOKEN).unwrap());
        assert_eq!(
            purge_key("POST", "key=a", &right, Some(b"short")),
            Err(Refused::Off)
        );
        assert_eq!(
            purge_key("GET", "key=a", &right, Some(TOKEN)),
            Err(Refused::Method)
        );
        assert_eq!(
            purge_key(
                "POST",
                "key=a",
                &bearer("0123456789abcdef0123456789abcdeF"),
                Some(TOKEN)
            ),
            Err(Refused::Unauthorized)
        );
        assert_eq!(
            purge_key("POST", "page=a", &right, Some(TOKEN)),
            Err(Refused::Key)
        );
        assert_eq!(
            purge_key("POST", "key=a%20b&x=1", &right, Some(TOKEN)),
            Ok("a%20b".to_owned())
        );
        assert_eq!(
            purge_key("POST", "key=", &right, Some(TOKEN)),
            Err(Refused::Key)
        );
        assert_eq!(Refused::Unauthorized.status(), 401);
    }

    #[test]
    fn a_token_that_is_not_text_is_no_token() {
        let odd = HeaderList::from_pairs([("authorization", &b"Bearer \xff"[..])]);
        assert_eq!(
            purge_key("POST", "key=a", &odd, Some(TOKEN)),
            Err(Refused::Unauthorized)
        );
    }
}
