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
    /// The publisher's public host name: its URLs are rewritten. Key `origin_host`, required: a
    /// host name, with an optional port (kept in [`origin_authority`](Self::origin_authority))
    /// and an optional trailing dot (dropped); stored in lower case.
    pub origin_host: String,
    /// What the origin request's `Host` carries: [`origin_host`](Self::origin_host) with the
    /// port `origin_host` named, if any.
    pub origin_authority: String,
    /// The backend to send origin requests to. Key `origin_backend`, default `origin`: a name
    /// Fastly can hold (1-255 visible ASCII characters or spaces).
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
    /// Path prefixes whose scripts and stylesheets are served byte for byte, as if their URLs
    /// carried the verbatim marker: for resources whose integrity a page checks from script
    /// (webpack's SRI plugin sets `integrity` on the chunks it loads), which no marker reaches.
    /// Key `verbatim_paths`, a comma separated list of paths starting with `/`; default empty.
    pub verbatim_paths: Vec<String>,
    /// The HMAC key of the synthetic ID, from the Secret Store `sluice_secrets`
    /// (`synthetic_id_key`), required.
    pub synthetic_id_key: Vec<u8>,
    /// Codec settings and limits. Keys `gzip_level` (5), `brotli_quality` (4),
    /// `brotli_window` (20), `max_decoded_bytes` (268435456).
    pub pipeline: PipelineSettings,
    /// The vCPU milliseconds a response may use in all: Fastly ends a request's instance at its
    /// CPU allowance, so the pipeline gives up work to stay under it (`pipeline::budget`). Key
    /// `vcpu_budget_ms`, 1 to 120000; default 50, Fastly's default allowance. Raise it to the
    /// allowance your Fastly account has.
    pub vcpu_budget_ms: u64,
    /// Whether rewritten pages are kept in Fastly's cache and served to later readers
    /// (`policy::cache`). Key `cache_rewritten`, `on` (default) or `off`.
    pub cache_rewritten: bool,
}

/// An HTML post-processor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostProcessor {
    /// Rewrites the origin's bare host names in Next.js data: `<script id="__NEXT_DATA__">`
    /// and App Router flight data, as they stream.
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
    /// Two keys whose values are each in range cannot be used together.
    #[error("the settings {keys} cannot be used together ({values}): {why}")]
    Conflict {
        /// The keys, as the message names them.
        keys: &'static str,
        /// Their values, as the message shows them.
        values: String,
        /// Why, and what to do.
        why: &'static str,
    },
}

/// The most heap the brotli encoder may take: Fastly gives a request 128 MB, and the
/// decoder's window (up to 16 MiB), lol_html's token buffer (8 MiB) and the copies one long
/// token costs must fit beside it. Every quality and window within it is served; the rest are
/// refused by name ([`brotli_encoder_fits`]).
pub const BROTLI_ENCODER_HEAP_BUDGET: usize = 48 * 1024 * 1024;

/// Whether the brotli encoder at `quality` and `window` (log2) stays within
/// [`BROTLI_ENCODER_HEAP_BUDGET`]. Its tables grow with the window, and faster the higher the
/// quality: at window 24, 33 MiB at quality 4, 49 MiB at 8, 65 MiB at 9 and 163 MiB at 10 and 11
/// (a binary tree over the whole window). So the largest window served is 24 up to quality 7,
/// 23 at quality 8, and 22 from quality 9. (`edge/tests/heap.rs` measures every combination
/// against this answer; BENCHMARKS.md has the table.)
///
/// ```
/// use sluice_edge::policy::settings::brotli_encoder_fits;
/// assert!(brotli_encoder_fits(4, 24) && brotli_encoder_fits(11, 22));
/// assert!(!brotli_encoder_fits(11, 24) && !brotli_encoder_fits(8, 24));
/// ```
pub fn brotli_encoder_fits(quality: u32, window: u32) -> bool {
    let largest_window = match quality {
        0..=7 => 24,
        8 => 23,
        _ => 22,
    };
    window <= largest_window
}

impl Settings {
    /// A digest of every setting that shapes a rewritten body or the head kept with it: part of
    /// the cache key, so a Config Store change is never answered with output made under the
    /// old settings. Settings applied per reader (`cookie_domain`, `unknown_jurisdiction`,
    /// `response_headers`, `log_endpoint`) and the ID key are left out: they never reach a
    /// kept copy.
    ///
    /// ```
    /// use sluice_edge::policy::settings::Settings;
    /// let read = |level: &'static str| Settings::from_lookup(move |key| match key {
    ///     "origin_host" => Some("www.publisher.example".to_string()),
    ///     "gzip_level" => Some(level.to_string()),
    ///     _ => None,
    /// }, Some(b"key".to_vec())).unwrap();
    /// assert_eq!(read("5").body_fingerprint(), read("5").body_fingerprint());
    /// assert_ne!(read("5").body_fingerprint(), read("6").body_fingerprint());
    /// ```
    pub fn body_fingerprint(&self) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let shaping = format!(
            "{:?}",
            (
                &self.origin_host,
                &self.origin_authority,
                &self.origin_backend,
                &self.inject_script,
                &self.post_processors,
                &self.verbatim_paths,
                &self.pipeline,
                self.vcpu_budget_ms,
            )
        );
        Sha256::digest(shaping.as_bytes()).into()
    }

    /// Whether the resource at `path` is served byte for byte when it is a script or a
    /// stylesheet ([`verbatim_paths`](Self::verbatim_paths)).
    pub fn is_verbatim_path(&self, path: &str) -> bool {
        self.verbatim_paths
            .iter()
            .any(|prefix| path.starts_with(prefix.as_str()))
    }

    /// Reads the settings through `lookup` (key to value). Every value is trimmed of the
    /// whitespace around it (a newline left by a copy and paste), then checked; a value that
    /// cannot be used is an error naming its key, never clamped, truncated or guessed at.
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
        // Absent and empty (after trimming) are the same: the default.
        let value = |key: &str| {
            lookup(key)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let (origin_host, origin_authority) = parse_origin_host(value("origin_host"))?;
        let number = |key: &'static str, default: u64, range: std::ops::RangeInclusive<u64>| {
            value(key).map_or(Ok(default), |v| parse_number(key, v, range))
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
        if !brotli_encoder_fits(pipeline.brotli_quality(), pipeline.brotli_window()) {
            return Err(SettingsError::Conflict {
                keys: "`brotli_quality` and `brotli_window`",
                values: format!(
                    "{} and {}",
                    pipeline.brotli_quality(),
                    pipeline.brotli_window()
                ),
                why: "brotli's encoder would need more heap than a request may use (the largest window is 24 up to quality 7, 23 at quality 8, 22 from quality 9); lower one of them",
            });
        }
        let vcpu_budget_ms = number("vcpu_budget_ms", DEFAULT_VCPU_BUDGET_MS, 1..=120_000)?;
        let cache_rewritten = match value("cache_rewritten").as_deref() {
            None | Some("on") => true,
            Some("off") => false,
            Some(other) => {
                return Err(SettingsError::Invalid {
                    key: "cache_rewritten",
                    value: other.to_owned(),
                    why: "expected on or off",
                });
            }
        };
        let synthetic_id_key = secret
            .filter(|k| !k.is_empty())
            .ok_or(SettingsError::MissingSecret("synthetic_id_key"))?;
        let cookie_domain = value("cookie_domain")
            .map(|domain| {
                let domain = domain.to_ascii_lowercase();
                if is_host_name(domain.strip_prefix('.').unwrap_or(&domain)) {
                    Ok(domain)
                } else {
                    Err(SettingsError::Invalid {
                        key: "cookie_domain",
                        value: domain,
                        why: "expected a host name such as publisher.example, with nothing after it",
                    })
                }
            })
            .transpose()?;
        let unknown_jurisdiction = value("unknown_jurisdiction")
            .map(|v| {
                UnknownJurisdiction::parse(&v).ok_or(SettingsError::Invalid {
                    key: "unknown_jurisdiction",
                    value: v,
                    why: "expected strict, opt-out or open",
                })
            })
            .transpose()?
            .unwrap_or_default();
        let response_headers = match value("response_headers") {
            None => Vec::new(),
            Some(json) => parse_response_headers(&json)?,
        };
        let post_processors = value("post_processors")
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
        let verbatim_paths = value("verbatim_paths")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(
                |p| match p.starts_with('/') && p.bytes().all(|b| b.is_ascii_graphic()) {
                    true => Ok(p.to_owned()),
                    false => Err(SettingsError::Invalid {
                        key: "verbatim_paths",
                        value: p.to_owned(),
                        why: "expected paths starting with /, without spaces, separated by commas",
                    }),
                },
            )
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Settings {
            vcpu_budget_ms,
            cache_rewritten,
            verbatim_paths,
            cookie_domain,
            unknown_jurisdiction,
            response_headers,
            post_processors,
            synthetic_id_key,
            origin_host,
            origin_authority,
            origin_backend: parse_backend(value("origin_backend"))?,
            inject_script: parse_inject_script(value("inject_script"))?,
            pipeline,
        })
    }
}

/// `origin_host`: a host name with an optional port and trailing dot. Returns the name (what
/// URLs are matched by) and the authority (what the origin's `Host` carries).
fn parse_origin_host(value: Option<String>) -> Result<(String, String), SettingsError> {
    let value = value
        .ok_or(SettingsError::Missing("origin_host"))?
        .to_ascii_lowercase();
    let invalid = || SettingsError::Invalid {
        key: "origin_host",
        value: value.clone(),
        why: "expected a host name such as www.publisher.example, with an optional :port",
    };
    let (name, port) = match value.rsplit_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (value.as_str(), None),
    };
    let name = name.strip_suffix('.').unwrap_or(name);
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0) && is_digits(p));
    if !is_host_name(name) || !port_ok {
        return Err(invalid());
    }
    let authority = match port {
        Some(port) => format!("{name}:{port}"),
        None => name.to_owned(),
    };
    Ok((name.to_owned(), authority))
}

/// `origin_backend`: what the fastly crate accepts as a backend name (it panics on anything
/// else).
fn parse_backend(value: Option<String>) -> Result<String, SettingsError> {
    let Some(name) = value else {
        return Ok("origin".to_owned());
    };
    if name.len() > 255 || !name.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) {
        return Err(SettingsError::Invalid {
            key: "origin_backend",
            value: name,
            why: "expected a backend name of 1 to 255 visible ASCII characters or spaces",
        });
    }
    Ok(name)
}

/// `inject_script`: a URL written into a `src` attribute (escaped there); control characters
/// cannot be part of one.
fn parse_inject_script(value: Option<String>) -> Result<String, SettingsError> {
    let src = value.unwrap_or_default();
    if src.chars().any(char::is_control) {
        return Err(SettingsError::Invalid {
            key: "inject_script",
            value: src,
            why: "expected a URL, without control characters",
        });
    }
    Ok(src)
}

/// A whole number written as digits only (no sign, no spaces inside), within `range`.
fn parse_number(
    key: &'static str,
    value: String,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, SettingsError> {
    match value.parse::<u64>() {
        Ok(n) if is_digits(&value) && range.contains(&n) => Ok(n),
        _ => Err(SettingsError::Invalid {
            key,
            value,
            why: range_reason(key),
        }),
    }
}

fn is_digits(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit())
}

/// Fastly's default CPU allowance per request, in ms: the default `vcpu_budget_ms`.
pub const DEFAULT_VCPU_BUDGET_MS: u64 = 50;

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
        "vcpu_budget_ms" => "expected a whole number of milliseconds from 1 to 120000",
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
    fn origin_host_keeps_its_port_for_the_host_header_and_drops_a_trailing_dot() {
        let s = with(&[("origin_host", " WWW.Publisher.Example.:8443\n")]).unwrap();
        assert_eq!(s.origin_host, "www.publisher.example");
        assert_eq!(s.origin_authority, "www.publisher.example:8443");
        let s = with(&[("origin_host", "a.example"), ("origin_backend", "origin\n")]).unwrap();
        assert_eq!(
            (s.origin_authority.as_str(), s.origin_backend.as_str()),
            ("a.example", "origin")
        );
    }

    #[test]
    fn every_brotli_setting_in_range_is_served_or_refused_by_name() {
        for quality in 0..=11 {
            for window in 10..=24 {
                let settings = with(&[
                    ("origin_host", "a.example"),
                    ("brotli_quality", &quality.to_string()),
                    ("brotli_window", &window.to_string()),
                ]);
                match settings {
                    Ok(_) => assert!(brotli_encoder_fits(quality, window)),
                    Err(error) => {
                        assert!(!brotli_encoder_fits(quality, window));
                        let text = error.to_string();
                        assert!(
                            text.contains("`brotli_quality`") && text.contains("`brotli_window`"),
                            "{text}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn refuses_what_cannot_be_used_with_a_reason() {
        let long_backend = "b".repeat(256);
        let cases: [(&[(&str, &str)], &str); 29] = [
            (&[], "origin_host"),
            (&[("origin_host", "a b")], "origin_host"),
            (&[("origin_host", "a.example/news")], "origin_host"),
            (&[("origin_host", "a.example:0")], "origin_host"),
            (&[("origin_host", "a.example:+80")], "origin_host"),
            (&[("origin_host", "a..example")], "origin_host"),
            (&[("gzip_level", "high")], "gzip_level"),
            (&[("gzip_level", "10")], "gzip_level"),
            (&[("gzip_level", "+5")], "gzip_level"),
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
            (&[("cookie_domain", "..")], "cookie_domain"),
            (&[("cookie_domain", "-")], "cookie_domain"),
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
            (&[("origin_backend", "or\u{ed}gin")], "origin_backend"),
            (
                &[("origin_backend", long_backend.as_str())],
                "origin_backend",
            ),
            (&[("origin_backend", "ori\ngin")], "origin_backend"),
            (&[("inject_script", "/a.js\u{7}")], "inject_script"),
            (&[("verbatim_paths", "/static/, chunks/")], "verbatim_paths"),
            (&[("vcpu_budget_ms", "0")], "vcpu_budget_ms"),
            (&[("vcpu_budget_ms", "50ms")], "vcpu_budget_ms"),
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
