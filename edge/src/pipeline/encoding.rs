//! Content-Encoding values the pipeline understands.

use std::fmt;

/// A body's `Content-Encoding`, as far as the pipeline is concerned.
///
/// ```
/// use sluice_edge::pipeline::Encoding;
/// assert_eq!(Encoding::from_header(Some("gzip")), Some(Encoding::Gzip));
/// assert_eq!(Encoding::from_header(Some("x-gzip")), Some(Encoding::Gzip));
/// assert_eq!(Encoding::from_header(None), Some(Encoding::Identity));
/// assert_eq!(Encoding::from_header(Some("zstd")), None);
/// assert_eq!(Encoding::from_header(Some("gzip, br")), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// No content coding.
    Identity,
    /// gzip (RFC 1952), one member or several.
    Gzip,
    /// HTTP's `deflate`: the zlib format (RFC 1950). Raw deflate (RFC 1951), which some servers
    /// send by mistake, is recognised on input; output is always zlib-wrapped.
    Deflate,
    /// Brotli (RFC 7932).
    Brotli,
}

impl Encoding {
    /// Every encoding, for tests and benchmarks that cover them all.
    pub const ALL: [Encoding; 4] = [
        Encoding::Identity,
        Encoding::Gzip,
        Encoding::Deflate,
        Encoding::Brotli,
    ];

    /// Parses a `Content-Encoding` header value. `None` means the pipeline cannot decode it
    /// (an unknown coding, or several stacked codings): such bodies are passed through untouched.
    pub fn from_header(value: Option<&str>) -> Option<Encoding> {
        let value = value.map(str::trim).unwrap_or("");
        match value.to_ascii_lowercase().as_str() {
            "" | "identity" => Some(Encoding::Identity),
            "gzip" | "x-gzip" => Some(Encoding::Gzip),
            "deflate" => Some(Encoding::Deflate),
            "br" => Some(Encoding::Brotli),
            _ => None,
        }
    }

    /// The token to send in `Content-Encoding`; `None` for identity.
    pub fn token(self) -> Option<&'static str> {
        match self {
            Encoding::Identity => None,
            Encoding::Gzip => Some("gzip"),
            Encoding::Deflate => Some("deflate"),
            Encoding::Brotli => Some("br"),
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.token().unwrap_or("identity"))
    }
}
