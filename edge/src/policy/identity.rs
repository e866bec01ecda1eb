//! The synthetic ID: a stable, keyed pseudonym for a reader, set as a cookie when consent
//! allows, expired when it does not.
//!
//! Format: 64 hex digits of HMAC-SHA256(key, client address + "|" + User-Agent), a `.`, and 16
//! hex digits of randomness. IPv6 addresses are cut to their /64 first, so privacy addresses of
//! one network give the same hash. Only values of exactly this shape are ever echoed back.

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

/// Makes a new ID for a client.
pub fn generate(key: &[u8], client: Option<IpAddr>, user_agent: &str) -> Result<String, String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(|e| e.to_string())?;
    mac.update(network_of(client).as_bytes());
    mac.update(b"|");
    mac.update(user_agent.as_bytes());
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

/// The value of cookie `name` in a `Cookie` header (the first well-formed pair of that name).
///
/// ```
/// use sluice_edge::policy::identity::cookie;
/// assert_eq!(cookie("a=1; us_privacy=1YNN; b", "us_privacy"), Some("1YNN"));
/// assert_eq!(cookie("a=1", "b"), None);
/// ```
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key.trim() == name).then(|| value.trim().trim_matches('"'))
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_stable_per_network_and_agent_and_the_suffix_random() {
        let v6a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let v6b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let a = generate(b"key", Some(v6a), "UA").unwrap();
        let b = generate(b"key", Some(v6b), "UA").unwrap();
        assert!(is_well_formed(&a) && is_well_formed(&b));
        assert_eq!(a[..64], b[..64]);
        assert_ne!(a[65..], b[65..]);
        let other = generate(b"key", Some(v6a), "Other UA").unwrap();
        assert_ne!(a[..64], other[..64]);
        let other_key = generate(b"key2", Some(v6a), "UA").unwrap();
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
