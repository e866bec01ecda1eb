//! The cache of rewritten pages, as rules: which requests may be answered from a kept copy,
//! what may be kept and for how long ([`freshness`]), what a copy is found by ([`key`]), what is
//! kept beside its body ([`stored`]), how a conditional request is answered from it
//! ([`conditional`]), and who may purge from the proxy itself ([`purge`]). The Compute glue (`compute/cache.rs`) only carries these decisions out
//! with Fastly's Core Cache.

pub mod conditional;
pub mod freshness;
pub mod key;
pub mod purge;
pub mod stored;

/// Response headers that are Fastly's alone: they say how Fastly may keep a response and how
/// to purge it, and are removed before a reader sees a page Sluice rewrote.
pub const FOR_FASTLY_ONLY: [&str; 2] = ["surrogate-control", "surrogate-key"];

/// How a request is looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// A `GET` that can fill the cache: it joins the readers of the same page, and the first
    /// of them fetches and rewrites it for all.
    Collapse,
    /// A `HEAD`, or a conditional `GET`: answered from a copy when there is one, else from the
    /// origin as before, without filling the cache (a `HEAD` has no body to keep, and a
    /// conditional request's answer may be a `304`).
    Peek,
}

/// Why a request does not use the cache at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Bypass {
    /// `cache_rewritten = off`.
    #[error("cache_rewritten is off")]
    Off,
    /// Only `GET` and `HEAD` are answered from copies.
    #[error("a method other than GET and HEAD")]
    Method,
    /// An HTTP/1.0 reader gets its page whole with a length, made for it.
    #[error("HTTP/1.0")]
    Http10,
    /// A `Range` request is answered whole by the origin path.
    #[error("a Range request")]
    Range,
    /// A resource asked for byte for byte is passed through.
    #[error("asked for verbatim")]
    Verbatim,
}

/// What is known of a request before anything is looked up.
#[derive(Debug, Clone, Copy)]
pub struct RequestFacts<'a> {
    /// `cache_rewritten` is on.
    pub enabled: bool,
    /// The method.
    pub method: &'a str,
    /// HTTP/1.0.
    pub http10: bool,
    /// A `Range` header.
    pub range: bool,
    /// `If-None-Match` or `If-Modified-Since`.
    pub conditional: bool,
    /// The verbatim marker, or a `verbatim_paths` prefix.
    pub verbatim: bool,
}

/// How a request uses the cache.
///
/// ```
/// use sluice_edge::policy::cache::{lookup_for, Bypass, Lookup, RequestFacts};
/// let get = RequestFacts { enabled: true, method: "GET", http10: false, range: false, conditional: false, verbatim: false };
/// assert_eq!(lookup_for(&get), Ok(Lookup::Collapse));
/// assert_eq!(lookup_for(&RequestFacts { method: "HEAD", ..get }), Ok(Lookup::Peek));
/// assert_eq!(lookup_for(&RequestFacts { method: "POST", ..get }), Err(Bypass::Method));
/// ```
pub fn lookup_for(request: &RequestFacts<'_>) -> Result<Lookup, Bypass> {
    match request {
        RequestFacts { enabled: false, .. } => Err(Bypass::Off),
        RequestFacts { method, .. } if !matches!(*method, "GET" | "HEAD") => Err(Bypass::Method),
        RequestFacts { http10: true, .. } => Err(Bypass::Http10),
        RequestFacts { range: true, .. } => Err(Bypass::Range),
        RequestFacts { verbatim: true, .. } => Err(Bypass::Verbatim),
        RequestFacts {
            method: "GET",
            conditional: false,
            ..
        } => Ok(Lookup::Collapse),
        _ => Ok(Lookup::Peek),
    }
}

/// How a response met the cache: one word in each response's log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Answered from a complete or growing copy found at once.
    Hit,
    /// Answered from a copy another reader's request was writing: this one waited for it to
    /// start rather than asking the origin.
    Collapsed,
    /// Answered from a copy past its freshness, within `stale-while-revalidate` (fetched
    /// again after) or `stale-if-error` (the origin failed).
    Stale,
    /// Fetched, rewritten and kept.
    Miss,
    /// Not from a copy, and not kept: the request or the response may not use the cache.
    Pass,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Outcome::Hit => "cache hit",
            Outcome::Collapsed => "cache collapsed",
            Outcome::Stale => "cache stale",
            Outcome::Miss => "cache miss",
            Outcome::Pass => "cache pass",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bypass_has_its_reason() {
        let get = RequestFacts {
            enabled: true,
            method: "GET",
            http10: false,
            range: false,
            conditional: false,
            verbatim: false,
        };
        assert_eq!(
            lookup_for(&RequestFacts {
                enabled: false,
                ..get
            }),
            Err(Bypass::Off)
        );
        assert_eq!(
            lookup_for(&RequestFacts {
                http10: true,
                ..get
            }),
            Err(Bypass::Http10)
        );
        assert_eq!(
            lookup_for(&RequestFacts { range: true, ..get }),
            Err(Bypass::Range)
        );
        assert_eq!(
            lookup_for(&RequestFacts {
                verbatim: true,
                ..get
            }),
            Err(Bypass::Verbatim)
        );
        assert_eq!(
            lookup_for(&RequestFacts {
                conditional: true,
                ..get
            }),
            Ok(Lookup::Peek)
        );
    }
}
