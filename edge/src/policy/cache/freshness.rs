//! Whether a rewritten response may be kept for later readers, and for how long.
//!
//! The shared-cache rules of RFC 9111 come from the `http-cache-semantics` crate (storability,
//! `s-maxage`, `max-age`, `Expires` against `Date`, `Age`, `Authorization`); Fastly's own
//! `Surrogate-Control` comes first when it gives a `max-age`, as it does for Fastly's cache.
//! On top of both, Sluice is stricter where a shared copy could leak or go wrong: only 200 and
//! 203 are kept, never a response that sets a cookie, never `private`, `no-store` or `no-cache`
//! in any form, never `Vary: *`, and never without a lifetime the origin gave (no heuristic
//! freshness from `Last-Modified`).

use super::super::headers::{NonUtf8, ReadHeaders, list_elements, text};
use http_cache_semantics::{CacheOptions, CachePolicy};
use std::time::{Duration, SystemTime};

/// The statuses kept: the successful answers Sluice rewrites that a shared cache may keep by
/// default (RFC 9110 15.1). Others are not rewritten (redirects, errors) or not reusable.
pub const KEPT_STATUSES: [u16; 2] = [200, 203];

/// How long a kept response lives, from the origin's headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    /// How long it is fresh from now.
    pub ttl: Duration,
    /// How old it already is (the origin's `Age` and the time since its `Date`).
    pub initial_age: Duration,
    /// `stale-while-revalidate`: how long past its freshness it may be served while it is
    /// fetched again.
    pub stale_while_revalidate: Duration,
    /// `stale-if-error`: how long past its freshness it may be served when the origin fails.
    pub stale_if_error: Duration,
}

/// Why a response is not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotKept {
    /// A status outside [`KEPT_STATUSES`].
    #[error("status {0} is not kept")]
    Status(u16),
    /// The response sets a cookie: it was made for one reader.
    #[error("the origin sets a cookie")]
    SetsCookie,
    /// `Vary: *`: no later request can be known to match.
    #[error("Vary: *")]
    VaryAll,
    /// `Vary` names something that is not a header name.
    #[error("Vary names something that is not a header name")]
    VaryUnreadable,
    /// A directive that forbids a shared copy, or asks for one to be checked every time.
    #[error("Cache-Control: {0}")]
    Forbidden(&'static str),
    /// `Surrogate-Control: no-store`.
    #[error("Surrogate-Control: no-store")]
    SurrogateNoStore,
    /// The RFC 9111 rules say no (the request's `no-store`, or `Authorization` without
    /// `public`, `s-maxage` or `must-revalidate`).
    #[error("not storable by a shared cache (RFC 9111)")]
    NotStorable,
    /// Not a page Sluice rewrites (it is passed through, or refused).
    #[error("not a page Sluice rewrites")]
    NotRewritten,
    /// No lifetime, or one already over.
    #[error("no freshness lifetime left")]
    NoLifetime,
}

/// Decides whether the response to a `method` request with `request` headers, answered with
/// `status` and `response` headers at `now`, may be kept, and for how long.
///
/// ```
/// use sluice_edge::policy::cache::freshness::{keep, NotKept};
/// use sluice_edge::policy::headers::HeaderList;
/// use std::time::{Duration, SystemTime};
/// let request = HeaderList::default();
/// let public = HeaderList::from_pairs([("cache-control", "public, max-age=60, s-maxage=300")]);
/// let lifetime = keep("GET", &request, 200, &public, SystemTime::now()).unwrap();
/// assert_eq!(lifetime.ttl, Duration::from_secs(300));
/// let private = HeaderList::from_pairs([("cache-control", "private, max-age=60")]);
/// assert_eq!(keep("GET", &request, 200, &private, SystemTime::now()), Err(NotKept::Forbidden("private")));
/// ```
pub fn keep(
    method: &str,
    request: &impl ReadHeaders,
    status: u16,
    response: &impl ReadHeaders,
    now: SystemTime,
) -> Result<Lifetime, NotKept> {
    if !KEPT_STATUSES.contains(&status) {
        return Err(NotKept::Status(status));
    }
    if response.get("set-cookie").is_some() {
        return Err(NotKept::SetsCookie);
    }
    let vary = list_elements(response, "vary");
    if vary.contains(&&b"*"[..]) {
        return Err(NotKept::VaryAll);
    }
    // A copy must vary on every header the origin names: one that is not a header name
    // cannot be honoured.
    let readable = |name: &&[u8]| std::str::from_utf8(name).is_ok_and(super::key::is_token);
    if !vary.iter().all(readable) {
        return Err(NotKept::VaryUnreadable);
    }
    let cache_control = directives(response, "cache-control");
    for forbidden in ["private", "no-store", "no-cache"] {
        if cache_control.iter().any(|(name, _)| name == forbidden) {
            return Err(NotKept::Forbidden(forbidden));
        }
    }
    let surrogate = directives(response, "surrogate-control");
    if surrogate.iter().any(|(name, _)| name == "no-store") {
        return Err(NotKept::SurrogateNoStore);
    }
    let policy = CachePolicy::new_options(
        &as_http_request(method, request),
        &as_http_response(status, response),
        now,
        CacheOptions {
            shared: true,
            // Only a lifetime the origin gave: never one guessed from Last-Modified.
            cache_heuristic: 0.0,
            immutable_min_time_to_live: Duration::ZERO,
            ignore_cargo_cult: false,
        },
    );
    if !policy.is_storable() {
        return Err(NotKept::NotStorable);
    }
    let initial_age = policy.age(now);
    let ttl = match seconds(&surrogate, "max-age") {
        Some(max_age) => max_age.saturating_sub(initial_age),
        None => policy.time_to_live(now),
    };
    if ttl.is_zero() {
        return Err(NotKept::NoLifetime);
    }
    // Surrogate-Control's stale directives are Fastly's; Cache-Control's apply otherwise.
    let stale = |name: &str| {
        seconds(&surrogate, name)
            .or_else(|| seconds(&cache_control, name))
            .unwrap_or_default()
    };
    Ok(Lifetime {
        ttl,
        initial_age,
        stale_while_revalidate: stale("stale-while-revalidate"),
        stale_if_error: stale("stale-if-error"),
    })
}

/// A list header's directives as lower-case names and their values (quotes removed).
fn directives(headers: &impl ReadHeaders, name: &str) -> Vec<(String, Option<String>)> {
    list_elements(headers, name)
        .into_iter()
        .filter_map(|element| text(element, NonUtf8::Absent))
        .map(|element| match element.split_once('=') {
            Some((name, value)) => (
                name.trim().to_ascii_lowercase(),
                Some(value.trim().trim_matches('"').to_owned()),
            ),
            None => (element.trim().to_ascii_lowercase(), None),
        })
        .collect()
}

/// A directive's value in whole seconds (digits only).
fn seconds(directives: &[(String, Option<String>)], name: &str) -> Option<Duration> {
    directives
        .iter()
        .find(|(n, _)| n == name)
        .and_then(|(_, value)| value.as_deref())
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        .map(|v| Duration::from_secs(v.parse().unwrap_or(u64::MAX)))
}

/// The headers as `http`'s types for the RFC rules; values `http` cannot hold are left out
/// (none that the rules read can be such).
fn header_map(headers: &impl ReadHeaders) -> http::HeaderMap {
    let mut map = http::HeaderMap::new();
    for name in headers.names() {
        let Ok(name) = http::HeaderName::from_bytes(name.as_bytes()) else {
            continue;
        };
        for value in headers.get_all(name.as_str()) {
            if let Ok(value) = http::HeaderValue::from_bytes(value) {
                map.append(name.clone(), value);
            }
        }
    }
    map
}

fn as_http_request(method: &str, headers: &impl ReadHeaders) -> http::Request<()> {
    let mut request = http::Request::new(());
    *request.method_mut() = http::Method::from_bytes(method.as_bytes()).unwrap_or_default();
    *request.headers_mut() = header_map(headers);
    request
}

fn as_http_response(status: u16, headers: &impl ReadHeaders) -> http::Response<()> {
    let mut response = http::Response::new(());
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or_default();
    *response.headers_mut() = header_map(headers);
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::headers::HeaderList;

    const MINUTE: Duration = Duration::from_secs(60);

    fn kept(pairs: &[(&str, &str)]) -> Result<Lifetime, NotKept> {
        keep(
            "GET",
            &HeaderList::default(),
            200,
            &HeaderList::from_pairs(pairs.iter().copied()),
            SystemTime::now(),
        )
    }

    #[test]
    fn surrogate_control_comes_before_cache_control() {
        let lifetime = kept(&[
            ("cache-control", "max-age=0"),
            (
                "surrogate-control",
                "max-age=600, stale-while-revalidate=30",
            ),
        ])
        .unwrap();
        assert_eq!(lifetime.ttl, 10 * MINUTE);
        assert_eq!(lifetime.stale_while_revalidate, Duration::from_secs(30));
    }

    #[test]
    fn s_maxage_then_max_age_then_expires_less_age() {
        let both = kept(&[("cache-control", "max-age=60, s-maxage=120"), ("age", "20")]);
        assert_eq!(both.unwrap().ttl, Duration::from_secs(100));
        assert_eq!(
            kept(&[("cache-control", "max-age=60")]).unwrap().ttl,
            MINUTE
        );
        let date = httpdate::fmt_http_date(SystemTime::now());
        let expires = httpdate::fmt_http_date(SystemTime::now() + 2 * MINUTE);
        let ttl = kept(&[("date", &date), ("expires", &expires)]).unwrap().ttl;
        assert!(ttl > MINUTE && ttl <= 2 * MINUTE, "{ttl:?}");
        assert_eq!(
            kept(&[("cache-control", "max-age=60"), ("age", "60")]),
            Err(NotKept::NoLifetime)
        );
    }

    #[test]
    fn nothing_per_reader_or_unrevalidated_is_kept() {
        for (header, value, why) in [
            (
                "cache-control",
                "private, max-age=60",
                NotKept::Forbidden("private"),
            ),
            (
                "cache-control",
                "public, no-store, max-age=60",
                NotKept::Forbidden("no-store"),
            ),
            (
                "cache-control",
                "no-cache=\"set-cookie\", max-age=60",
                NotKept::Forbidden("no-cache"),
            ),
            ("set-cookie", "session=1", NotKept::SetsCookie),
            ("vary", "Accept-Language, *", NotKept::VaryAll),
            ("vary", "Accept-Language, a/b", NotKept::VaryUnreadable),
            ("surrogate-control", "no-store", NotKept::SurrogateNoStore),
        ] {
            let mut pairs = vec![(header, value)];
            if header != "cache-control" {
                pairs.push(("cache-control", "public, max-age=60"));
            }
            assert_eq!(kept(&pairs), Err(why), "{header}: {value}");
        }
    }

    #[test]
    fn only_a_lifetime_the_origin_gave_counts() {
        let modified = httpdate::fmt_http_date(SystemTime::now() - 100 * 24 * 60 * MINUTE);
        assert_eq!(
            kept(&[("last-modified", &modified)]),
            Err(NotKept::NoLifetime)
        );
        assert_eq!(kept(&[]), Err(NotKept::NoLifetime));
    }

    #[test]
    fn an_authorized_request_is_kept_only_when_the_response_allows_it() {
        let request = HeaderList::from_pairs([("authorization", "Bearer x")]);
        let answer = |cc: &str| {
            keep(
                "GET",
                &request,
                200,
                &HeaderList::from_pairs([("cache-control", cc)]),
                SystemTime::now(),
            )
        };
        assert_eq!(answer("max-age=60"), Err(NotKept::NotStorable));
        assert!(answer("public, max-age=60").is_ok());
        assert!(answer("s-maxage=60").is_ok());
    }

    #[test]
    fn only_the_kept_statuses() {
        let headers = HeaderList::from_pairs([("cache-control", "public, max-age=60")]);
        for status in [201, 204, 206, 301, 404, 500] {
            assert_eq!(
                keep(
                    "GET",
                    &HeaderList::default(),
                    status,
                    &headers,
                    SystemTime::now()
                ),
                Err(NotKept::Status(status))
            );
        }
        assert!(
            keep(
                "GET",
                &HeaderList::default(),
                203,
                &headers,
                SystemTime::now()
            )
            .is_ok()
        );
    }

    #[test]
    fn stale_directives_from_either_header() {
        let lifetime = kept(&[(
            "cache-control",
            "max-age=60, stale-while-revalidate=10, stale-if-error=3600",
        )])
        .unwrap();
        assert_eq!(lifetime.stale_while_revalidate, Duration::from_secs(10));
        assert_eq!(lifetime.stale_if_error, Duration::from_secs(3600));
    }
}
