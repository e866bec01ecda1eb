//! The proxy's settings, read per request from a key-value store (the Config Store
//! `sluice_config` on Fastly).

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
    /// Codec settings and limits. Keys `gzip_level` (5), `brotli_quality` (4),
    /// `brotli_window` (20), `max_decoded_bytes` (268435456).
    pub pipeline: PipelineSettings,
}

/// A setting that is missing or cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// A required key has no value.
    #[error("the setting `{0}` is missing from the sluice_config store")]
    Missing(&'static str),
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
    /// }).unwrap();
    /// assert_eq!(settings.origin_backend, "origin");
    /// assert!(Settings::from_lookup(|_| None).is_err());
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Settings, SettingsError> {
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
        let number = |key: &'static str, default: u64| -> Result<u64, SettingsError> {
            match lookup(key).map(|v| v.trim().to_owned()) {
                None => Ok(default),
                Some(v) if v.is_empty() => Ok(default),
                Some(v) => v.parse().map_err(|_| SettingsError::Invalid {
                    key,
                    value: v,
                    why: "expected a whole number",
                }),
            }
        };
        let defaults = PipelineSettings::new();
        let pipeline = defaults
            .with_gzip_level(number("gzip_level", defaults.gzip_level().into())? as u32)
            .with_brotli_quality(number("brotli_quality", defaults.brotli_quality().into())? as u32)
            .with_brotli_window(number("brotli_window", defaults.brotli_window().into())? as u32)
            .with_max_decoded_bytes(number("max_decoded_bytes", defaults.max_decoded_bytes())?);
        Ok(Settings {
            origin_host,
            origin_backend: lookup("origin_backend")
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| "origin".to_owned()),
            inject_script: lookup("inject_script").unwrap_or_default(),
            pipeline,
        })
    }
}
