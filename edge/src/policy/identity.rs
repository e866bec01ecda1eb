//! The synthetic ID: a stable, keyed pseudonym for a reader, set as a cookie when consent
//! allows, expired when it does not.
//!
//! Format: 64 hex digits of HMAC-SHA256(key, client address + "|" + User-Agent), a `.`, and 16
//! hex digits of randomness. IPv6 addresses are cut to their /64 first, so privacy addresses of
//! one network give the same hash. Only values of exactly this shape are ever echoed back.

use super::consent::{self, Decision, Jurisdiction, Signals, UnknownJurisdiction};
use super::cookies::Cookies;
use super::headers::{NonUtf8, ReadHeaders, text};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::net::IpAddr;

/// The cookie's name.
pub const COOKIE: &str = "synthetic_id";
/// The request and response header.
pub const HEADER: &str = "x-synthetic-id";
const MAX_AGE_SECONDS: u32 = 31_536_000;

/// Whether `value` has the shape of an ID Sluice made (and so is safe to echo).
///
/// ```
/// use sluice_edge::policy::identity::is_well_formed;
/// let id = format!("{}.{}", "a".repeat(64), "0123456789abcdef");
/// assert!(is_well_formed(&id));
/// assert!(!is_well_formed("a\r\nSet-Cookie: x=1"));
/// ```
pub fn is_well_formed(value: &str) -> bool {
    let Some((hash, suffix)) = value.split_once('.') else {
        return false;
    };
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    hex(hash, 64) && hex(suffix, 16)
}

/// Makes a new ID for a client. The User-Agent is hashed as the bytes it was sent as, Latin-1
/// and all.
pub fn generate(key: &[u8], client: Option<IpAddr>, user_agent: &[u8]) -> Result<String, String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(|e| e.to_string())?;
    mac.update(network_of(client).as_bytes());
    mac.update(b"|");
    mac.update(user_agent);
    let hash = hex::encode(mac.finalize().into_bytes());
    let mut suffix = [0u8; 8];
    getrandom::fill(&mut suffix).map_err(|e| format!("no randomness: {e}"))?;
    Ok(format!("{hash}.{}", hex::encode(suffix)))
}

/// The address as hashed: IPv4 whole, IPv6 cut to its /64.
fn network_of(client: Option<IpAddr>) -> String {
    match client {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        None => String::new(),
    }
}

/// The Set-Cookie value that stores `id`.
///
/// ```
/// use sluice_edge::policy::identity::set_cookie;
/// assert_eq!(
///     set_cookie("abc", Some("publisher.example")),
///     "synthetic_id=abc; Domain=publisher.example; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=31536000"
/// );
/// ```
pub fn set_cookie(id: &str, domain: Option<&str>) -> String {
    format!(
        "{COOKIE}={id};{} Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={MAX_AGE_SECONDS}",
        domain_attribute(domain)
    )
}

/// The Set-Cookie value that removes the ID cookie.
pub fn expire_cookie(domain: Option<&str>) -> String {
    format!(
        "{COOKIE}=;{} Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0",
        domain_attribute(domain)
    )
}

fn domain_attribute(domain: Option<&str>) -> String {
    domain
        .filter(|d| !d.is_empty())
        .map(|d| format!(" Domain={d};"))
        .unwrap_or_default()
}

/// What to do about identity on one response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityAction {
    /// Set (or refresh) this ID: header and cookie.
    Set(String),
    /// Consent is missing: remove an ID cookie the reader has.
    Expire,
    /// Consent is missing and the reader has no ID: nothing to do.
    Nothing,
}

/// Decides the identity action: keep a well-formed ID the reader sent (cookie first, then
/// header), or make a new one; without consent, expire an existing cookie.
pub fn action(
    allowed: bool,
    cookie_id: Option<&str>,
    header_id: Option<&str>,
    make: impl FnOnce() -> Result<String, String>,
) -> Result<IdentityAction, String> {
    if !allowed {
        return Ok(if cookie_id.is_some() {
            IdentityAction::Expire
        } else {
            IdentityAction::Nothing
        });
    }
    let existing = [cookie_id, header_id]
        .into_iter()
        .flatten()
        .find(|id| is_well_formed(id));
    match existing {
        Some(id) => Ok(IdentityAction::Set(id.to_owned())),
        None => make().map(IdentityAction::Set),
    }
}

/// What a request's identity and consent come from, besides its headers.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The HMAC key (`synthetic_id_key`).
    pub key: &'a [u8],
    /// The client's address.
    pub client_ip: Option<IpAddr>,
    /// The client's country code from geolocation, if any.
    pub country: Option<&'a str>,
    /// The rules for an unknown jurisdiction (setting `unknown_jurisdiction`).
    pub unknown: UnknownJurisdiction,
}

/// What identity and consent came to for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The consent decision, with what did not decode.
    pub consent: Decision,
    /// What the response does about the ID.
    pub action: IdentityAction,
    /// Why no ID could be made although consent allowed one (no randomness, a bad key).
    pub error: Option<String>,
}

/// Reads consent and identity from a client request's headers, as bytes: the consent cookies
/// (`euconsent-v2`, `__gpp`, `__gpp_sid`, `us_privacy`), `Sec-GPC`, an existing ID (cookie,
/// then `x-synthetic-id`) and the User-Agent. Nothing here fails the request: what cannot be
/// read counts as absent, and consent strings that do not decode count as no consent.
///
/// ```
/// use sluice_edge::policy::consent::UnknownJurisdiction;
/// use sluice_edge::policy::headers::HeaderList;
/// use sluice_edge::policy::identity::{read, Inputs, IdentityAction};
/// let headers = HeaderList::from_pairs([("user-agent", &b"Mozilla \xff\xfe"[..]), ("cookie", b"pref=caf\xe9")]);
/// let inputs = Inputs { key: b"k", client_ip: None, country: Some("JP"), unknown: UnknownJurisdiction::Strict };
/// assert!(matches!(read(&headers, &inputs).action, IdentityAction::Set(_)));
/// ```
pub fn read(headers: &impl ReadHeaders, inputs: &Inputs<'_>) -> Outcome {
    let cookie_lines = headers.get_all("cookie");
    let cookies = Cookies::parse(&cookie_lines);
    let signals = Signals {
        tcf: cookies.get("euconsent-v2"),
        gpp: cookies.get("__gpp"),
        gpp_sid: cookies.get("__gpp_sid"),
        us_privacy: cookies.get("us_privacy"),
        gpc: headers
            .get("sec-gpc")
            .is_some_and(|value| value.trim_ascii() == b"1"),
    };
    let jurisdiction = Jurisdiction::of_country(inputs.country);
    let consent = consent::decide(jurisdiction, inputs.unknown, &signals);
    let header_id = headers
        .get(HEADER)
        .and_then(|value| text(value, NonUtf8::Absent));
    let user_agent = headers.get("user-agent").unwrap_or_default();
    let made = action(
        consent.allowed,
        cookies.get(COOKIE),
        header_id.as_deref(),
        || generate(inputs.key, inputs.client_ip, user_agent),
    );
    let (action, error) = match made {
        Ok(action) => (action, None),
        Err(error) => (IdentityAction::Nothing, Some(error)),
    };
    Outcome {
        consent,
        action,
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_stable_per_network_and_agent_and_the_suffix_random() {
        let v6a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let v6b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let a = generate(b"key", Some(v6a), b"UA").unwrap();
        let b = generate(b"key", Some(v6b), b"UA").unwrap();
        assert!(is_well_formed(&a) && is_well_formed(&b));
        assert_eq!(a[..64], b[..64]);
        assert_ne!(a[65..], b[65..]);
        let other = generate(b"key", Some(v6a), b"Other UA").unwrap();
        assert_ne!(a[..64], other[..64]);
        let latin1 = generate(b"key", Some(v6a), b"UA \xff\xfe").unwrap();
        assert_ne!(a[..64], latin1[..64]);
        let other_key = generate(b"key2", Some(v6a), b"UA").unwrap();
        assert_ne!(a[..64], other_key[..64]);
    }

    #[test]
    fn keeps_a_well_formed_id_and_replaces_a_forged_one() {
        let good = format!("{}.{}", "b".repeat(64), "1".repeat(16));
        let made = || Ok("new".to_owned());
        assert_eq!(
            action(true, Some(&good), None, made).unwrap(),
            IdentityAction::Set(good.clone())
        );
        assert_eq!(
            action(true, Some("x\r\ny"), Some(&good), made).unwrap(),
            IdentityAction::Set(good.clone())
        );
        assert_eq!(
            action(true, Some("forged"), None, made).unwrap(),
            IdentityAction::Set("new".into())
        );
        assert_eq!(
            action(false, Some(&good), None, made).unwrap(),
            IdentityAction::Expire
        );
        assert_eq!(
            action(false, None, None, made).unwrap(),
            IdentityAction::Nothing
        );
    }
}
