//! The proxy's settings, read per request from a key-value store (the Config Store
//! `sluice_config` on Fastly).

use super::consent::UnknownJurisdiction;
use super::headers::header_safe;
use super::request::is_host_name;
use super::response::FRAMING_HEADERS;
use crate::pipeline::PipelineSettings;

/// The settings of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The publisher's public host: its URLs are rewritten, and the origin request carries it
    /// as `Host`. Key `origin_host`, required.
    pub origin_host: String,
    /// The backend to send origin requests to. Key `origin_backend`, default `origin`.
    pub origin_backend: String,
    /// The `src` of the script injected into HTML. Key `inject_script`, default empty (none).
    pub inject_script: String,
    /// The `Domain` of the synthetic ID cookie. Key `cookie_domain`, a host name (a leading dot
    /// is allowed), default empty (host-only).
    pub cookie_domain: Option<String>,
    /// The consent rules where geolocation gives no known country. Key `unknown_jurisdiction`:
    /// `strict` (default: TCF consent and no opt-out), `opt-out` (the US rules) or `open`.
    pub unknown_jurisdiction: UnknownJurisdiction,
    /// Headers set on every response, after Sluice's own. Key `response_headers`, a JSON object
    /// of strings, default `{}`. Framing headers are refused.
    pub response_headers: Vec<(String, String)>,
    /// HTML post-processors. Key `post_processors`, a comma separated list; known: `nextjs`.
    /// Default empty.
    pub post_processors: Vec<PostProcessor>,
    /// The most bytes of one `<script id="__NEXT_DATA__">` the Next.js post-processor holds to
    /// parse; a larger one streams with the ordinary rewrite. Key `max_next_data_bytes`,
    /// default 4194304 (4 MiB).
    pub max_next_data_bytes: usize,
    /// The HMAC key of the synthetic ID, from the Secret Store `sluice_secrets`
    /// (`synthetic_id_key`), required.
    pub synthetic_id_key: Vec<u8>,
    /// Codec settings and limits. Keys `gzip_level` (5), `brotli_quality` (4),
    /// `brotli_window` (20), `max_decoded_bytes` (268435456).
    pub pipeline: PipelineSettings,
}

/// An HTML post-processor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostProcessor {
    /// Rewrites the origin's URLs and bare host names in Next.js data: `<script
    /// id="__NEXT_DATA__">` (held alone, parsed) and App Router flight data (as it streams).
    NextJs,
}

/// A setting that is missing or cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// A required key has no value.
    #[error("the setting `{0}` is missing from the Config Store sluice_config")]
    Missing(&'static str),
    /// A required secret has no value.
    #[error("the secret `{0}` is missing from the Secret Store sluice_secrets")]
    MissingSecret(&'static str),
    /// A key has a value that cannot be used.
    #[error("the setting `{key}` has an invalid value {value:?}: {why}")]
    Invalid {
        /// The key.
        key: &'static str,
        /// The value found.
        value: String,
        /// What was expected.
        why: &'static str,
    },
}

impl Settings {
    /// Reads the settings through `lookup` (key to value).
    ///
    /// ```
    /// use sluice_edge::policy::settings::Settings;
    /// let settings = Settings::from_lookup(|key| match key {
    ///     "origin_host" => Some("www.publisher.example".to_string()),
    ///     _ => None,
    /// }, Some(b"key".to_vec())).unwrap();
    /// assert_eq!(settings.origin_backend, "origin");
    /// assert!(Settings::from_lookup(|_| None, Some(b"key".to_vec())).is_err());
    /// ```
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        secret: Option<Vec<u8>>,
    ) -> Result<Settings, SettingsError> {
        let origin_host = lookup("origin_host")
            .map(|v| v.trim().to_ascii_lowercase())
            .filter(|v| !v.is_empty())
            .ok_or(SettingsError::Missing("origin_host"))?;
        if !origin_host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'))
        {
            return Err(SettingsError::Invalid {
                key: "origin_host",
                value: origin_host,
                why: "expected a host name such as www.publisher.example",
            });
        }
        let number = |key: &'static str, default: u64, range: std::ops::RangeInclusive<u64>| {
            let invalid = |value: String| SettingsError::Invalid {
                key,
                value,
                why: range_reason(key),
            };
            match lookup(key).map(|v| v.trim().to_owned()) {
                None => Ok(default),
                Some(v) if v.is_empty() => Ok(default),
                Some(v) => match v.parse::<u64>() {
                    Ok(n) if range.contains(&n) => Ok(n),
                    _ => Err(invalid(v)),
                },
            }
        };
        let small = |n: u64| u32::try_from(n).expect("checked against a range within u32");
        let defaults = PipelineSettings::new();
        let pipeline = defaults
            .with_gzip_level(small(number(
                "gzip_level",
                defaults.gzip_level().into(),
                0..=9,
            )?))
            .with_brotli_quality(small(number(
                "brotli_quality",
                defaults.brotli_quality().into(),
                0..=11,
            )?))
            .with_brotli_window(small(number(
                "brotli_window",
                defaults.brotli_window().into(),
                10..=24,
            )?))
            .with_max_decoded_bytes(number(
                "max_decoded_bytes",
                defaults.max_decoded_bytes(),
                1..=u64::MAX,
            )?);
        let synthetic_id_key = secret
            .filter(|k| !k.is_empty())
            .ok_or(SettingsError::MissingSecret("synthetic_id_key"))?;
        let cookie_domain = match lookup("cookie_domain").map(|d| d.trim().to_ascii_lowercase()) {
            Some(domain) if domain.is_empty() => None,
            Some(domain) if is_host_name(domain.strip_prefix('.').unwrap_or(&domain)) => {
                Some(domain)
            }
            Some(domain) => {
                return Err(SettingsError::Invalid {
                    key: "cookie_domain",
                    value: domain,
                    why: "expected a host name such as publisher.example, with nothing after it",
                });
            }
            None => None,
        };
        let unknown_jurisdiction = match lookup("unknown_jurisdiction") {
            None => UnknownJurisdiction::default(),
            Some(v) if v.trim().is_empty() => UnknownJurisdiction::default(),
            Some(v) => UnknownJurisdiction::parse(&v).ok_or(SettingsError::Invalid {
                key: "unknown_jurisdiction",
                value: v,
                why: "expected strict, opt-out or open",
            })?,
        };
        let response_headers = match lookup("response_headers").filter(|v| !v.trim().is_empty()) {
            None => Vec::new(),
            Some(json) => parse_response_headers(&json)?,
        };
        let post_processors = lookup("post_processors")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| match p {
                "nextjs" => Ok(PostProcessor::NextJs),
                other => Err(SettingsError::Invalid {
                    key: "post_processors",
                    value: other.to_owned(),
                    why: "the known post-processors are: nextjs",
                }),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Settings {
            cookie_domain,
            unknown_jurisdiction,
            response_headers,
            post_processors,
            max_next_data_bytes: usize::try_from(number(
                "max_next_data_bytes",
                4 * 1024 * 1024,
                1..=u64::from(u32::MAX),
            )?)
            .expect("checked against a range within u32"),
            synthetic_id_key,
            origin_host,
            origin_backend: lookup("origin_backend")
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| "origin".to_owned()),
            inject_script: lookup("inject_script").unwrap_or_default(),
            pipeline,
        })
    }
}

/// The Config Store key that names the log endpoint Sluice writes its lines to.
pub const LOG_ENDPOINT_KEY: &str = "log_endpoint";
/// The log endpoint when `log_endpoint` is not set; `fastly.toml`'s `[setup.log_endpoints]`
/// names the same one, so a first `fastly compute publish` asks for it.
pub const DEFAULT_LOG_ENDPOINT: &str = "sluice_log";

/// The log endpoint the `log_endpoint` setting names: its trimmed value, or
/// [`DEFAULT_LOG_ENDPOINT`] when it is absent or empty. A name Fastly cannot hold (over 255
/// bytes, with a colon or control characters, or Fastly's reserved `stdout` and `stderr`) is an
/// error, so the caller can say so on the default one.
///
/// ```
/// use sluice_edge::policy::settings::{log_endpoint, DEFAULT_LOG_ENDPOINT};
/// assert_eq!(log_endpoint(None), Ok(DEFAULT_LOG_ENDPOINT));
/// assert_eq!(log_endpoint(Some(" ops_syslog ")), Ok("ops_syslog"));
/// assert!(log_endpoint(Some("bad\nname")).is_err());
/// ```
pub fn log_endpoint(value: Option<&str>) -> Result<&str, SettingsError> {
    let name = value.map(str::trim).unwrap_or_default();
    if name.is_empty() {
        return Ok(DEFAULT_LOG_ENDPOINT);
    }
    let reserved = matches!(name, "stdout" | "stderr");
    if reserved || name.len() > 255 || name.chars().any(|c| c == ':' || c.is_control()) {
        return Err(SettingsError::Invalid {
            key: LOG_ENDPOINT_KEY,
            value: name.to_owned(),
            why: "expected a log endpoint name of at most 255 bytes, without colons or control characters, other than stdout and stderr",
        });
    }
    Ok(name)
}

/// What a numeric setting must be.
fn range_reason(key: &str) -> &'static str {
    match key {
        "gzip_level" => "expected a whole number from 0 to 9",
        "brotli_quality" => "expected a whole number from 0 to 11",
        "brotli_window" => "expected a whole number from 10 to 24",
        "max_next_data_bytes" => "expected a whole number from 1 to 4294967295",
        _ => "expected a whole number from 1 to 18446744073709551615",
    }
}

fn parse_response_headers(json: &str) -> Result<Vec<(String, String)>, SettingsError> {
    let invalid = |why| SettingsError::Invalid {
        key: "response_headers",
        value: json.to_owned(),
        why,
    };
    let serde_json::Value::Object(map) =
        serde_json::from_str(json).map_err(|_| invalid("expected a JSON object"))?
    else {
        return Err(invalid("expected a JSON object"));
    };
    let mut headers = Vec::new();
    for (name, value) in map {
        let serde_json::Value::String(value) = value else {
            return Err(invalid("every value must be a string"));
        };
        let token = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !token || !header_safe(&value) {
            return Err(invalid(
                "header names must be tokens and values visible ASCII",
            ));
        }
        if FRAMING_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(invalid(
                "framing headers (Content-Length, Transfer-Encoding, ...) cannot be set",
            ));
        }
        headers.push((name, value));
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(
            |key| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()),
            Some(b"k".to_vec()),
        )
    }

    #[test]
    fn reads_every_key_with_its_default() {
        let s = with(&[("origin_host", "WWW.Publisher.Example")]).unwrap();
        assert_eq!(s.origin_host, "www.publisher.example");
        assert_eq!(s.origin_backend, "origin");
        assert_eq!(s.cookie_domain, None);
        assert!(s.response_headers.is_empty() && s.post_processors.is_empty());
        assert_eq!(s.max_next_data_bytes, 4 * 1024 * 1024);
        let s = with(&[
            ("origin_host", "a.example"),
            ("response_headers", r#"{"X-Frame-Options":"DENY"}"#),
            ("post_processors", "nextjs"),
            ("cookie_domain", "a.example"),
        ])
        .unwrap();
        assert_eq!(
            s.response_headers,
            vec![("X-Frame-Options".into(), "DENY".into())]
        );
        assert_eq!(s.post_processors, vec![PostProcessor::NextJs]);
    }

    #[test]
    fn refuses_what_cannot_be_used_with_a_reason() {
        let cases: [(&[(&str, &str)], &str); 15] = [
            (&[], "origin_host"),
            (&[("origin_host", "a b")], "origin_host"),
            (&[("gzip_level", "high")], "gzip_level"),
            (&[("gzip_level", "10")], "gzip_level"),
            // Too large for u32: never truncated into range.
            (&[("gzip_level", "4294967301")], "gzip_level"),
            (&[("brotli_quality", "12")], "brotli_quality"),
            (&[("brotli_window", "9")], "brotli_window"),
            (&[("brotli_window", "25")], "brotli_window"),
            (
                &[("max_decoded_bytes", "18446744073709551616")],
                "max_decoded_bytes",
            ),
            (&[("max_decoded_bytes", "0")], "max_decoded_bytes"),
            (
                &[("cookie_domain", "a.example; SameSite=None")],
                "cookie_domain",
            ),
            (
                &[("unknown_jurisdiction", "lenient")],
                "unknown_jurisdiction",
            ),
            (&[("response_headers", "[1]")], "response_headers"),
            (
                &[("response_headers", r#"{"Content-Length":"1"}"#)],
                "response_headers",
            ),
            (&[("post_processors", "remix")], "post_processors"),
        ];
        for (pairs, key) in cases {
            let mut pairs = pairs.to_vec();
            if key != "origin_host" {
                pairs.push(("origin_host", "a.example"));
            }
            let error = with(&pairs).unwrap_err();
            assert!(error.to_string().contains(&format!("`{key}`")), "{error}");
        }
        let no_key = Settings::from_lookup(
            |key| (key == "origin_host").then(|| "a.example".to_owned()),
            None,
        )
        .unwrap_err();
        assert_eq!(no_key, SettingsError::MissingSecret("synthetic_id_key"));
        assert!(no_key.to_string().contains("sluice_secrets"), "{no_key}");
        for domain in ["a.example\nx", "a,b.example", "a b", "a.example\u{7f}"] {
            let error =
                with(&[("origin_host", "a.example"), ("cookie_domain", domain)]).unwrap_err();
            assert!(error.to_string().contains("`cookie_domain`"), "{error}");
        }
        let dotted = with(&[
            ("origin_host", "a.example"),
            ("cookie_domain", ".Publisher.Example"),
        ]);
        assert_eq!(
            dotted.unwrap().cookie_domain.as_deref(),
            Some(".publisher.example")
        );
    }
}
