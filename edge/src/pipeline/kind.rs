//! What a body is, as far as rewriting goes.

/// The kind of a response body, from its `Content-Type`.
///
/// | Content-Type                                                        | kind       |
/// |---------------------------------------------------------------------|------------|
/// | `text/html`, `application/xhtml+xml`                                | Html       |
/// | `text/javascript`, `application/javascript`, `application/x-javascript`, `text/ecmascript`, `application/ecmascript` | JavaScript |
/// | `text/css`                                                          | Css        |
/// | `application/json`, `application/ld+json`, any `+json`, `application/manifest+json` | Json |
/// | anything else (images, fonts, video, `text/plain`, missing)        | Other      |
///
/// ```
/// use sluice_edge::pipeline::ContentKind;
/// assert_eq!(ContentKind::from_content_type("text/html; charset=utf-8"), ContentKind::Html);
/// assert_eq!(ContentKind::from_content_type("application/vnd.api+json"), ContentKind::Json);
/// assert_eq!(ContentKind::from_content_type("image/png"), ContentKind::Other);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContentKind {
    /// An HTML document: rewritten with lol_html, script injected.
    Html,
    /// JavaScript: URL literals replaced.
    JavaScript,
    /// A stylesheet: URL literals replaced.
    Css,
    /// JSON: URL literals replaced, escaped slashes included.
    Json,
    /// Not rewritten.
    Other,
}

impl ContentKind {
    /// Classifies a `Content-Type` header value (parameters and case are ignored).
    pub fn from_content_type(value: &str) -> ContentKind {
        let essence = value
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "text/html" | "application/xhtml+xml" => ContentKind::Html,
            "text/javascript"
            | "application/javascript"
            | "application/x-javascript"
            | "text/ecmascript"
            | "application/ecmascript" => ContentKind::JavaScript,
            "text/css" => ContentKind::Css,
            "application/json" => ContentKind::Json,
            other if other.starts_with("application/") && other.ends_with("+json") => {
                ContentKind::Json
            }
            _ => ContentKind::Other,
        }
    }

    /// Whether the pipeline changes bodies of this kind.
    pub fn is_rewritten(self) -> bool {
        self != ContentKind::Other
    }
}
