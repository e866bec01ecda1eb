//! The streaming gate: which of the three paths a response takes.
//!
//! | path          | when                                                                   |
//! |---------------|------------------------------------------------------------------------|
//! | `Stream`      | 2xx (not 204/205/206) to a method with a body, rewritable content, an encoding the pipeline decodes, no HTML post-processor |
//! | `Buffered`    | the same, but HTML with a post-processor that needs the whole document |
//! | `PassThrough` | everything else: HEAD, non-2xx, 204/205/206, other content types, unknown or stacked encodings |
//! | `Refuse`      | a status the client cannot be sent: an informational status as the final answer (`101 Switching Protocols`), or one above 599: a 502 |

use crate::pipeline::{ContentKind, Encoding};

/// What the gate looks at.
#[derive(Debug, Clone, Copy)]
pub struct GateInput<'a> {
    /// The request method.
    pub method: &'a str,
    /// The origin's status code.
    pub status: u16,
    /// The origin's `Content-Type`.
    pub content_type: Option<&'a str>,
    /// The origin's content coding, read from every `Content-Encoding` line
    /// ([`content_encoding`](super::response::content_encoding)); `None` when the pipeline
    /// cannot decode it.
    pub encoding: Option<Encoding>,
    /// Whether HTML post-processors are configured.
    pub html_post_processors: bool,
}

/// Which way the response goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponsePath {
    /// Rewritten chunk by chunk into the client stream.
    Stream {
        /// What the body is.
        kind: ContentKind,
        /// Its content coding.
        encoding: Encoding,
    },
    /// Rewritten whole in memory, then sent with a Content-Length.
    Buffered {
        /// What the body is.
        kind: ContentKind,
        /// Its content coding.
        encoding: Encoding,
    },
    /// Sent on unmodified, host-side.
    PassThrough(PassReason),
    /// Not sendable to the client: answered with a 502 and this reason.
    Refuse(&'static str),
}

/// Why a response is passed through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassReason {
    /// HEAD: no body.
    NoBodyMethod,
    /// Not a plain 2xx with a full body.
    Status,
    /// Not a content type Sluice rewrites.
    ContentType,
    /// An encoding the pipeline does not decode.
    Encoding,
}

/// Decides the path of a response.
///
/// ```
/// use sluice_edge::policy::gate::{decide, GateInput, PassReason, ResponsePath};
/// use sluice_edge::pipeline::{ContentKind, Encoding};
/// let input = GateInput {
///     method: "GET",
///     status: 200,
///     content_type: Some("text/html; charset=utf-8"),
///     encoding: Some(Encoding::Brotli),
///     html_post_processors: false,
/// };
/// assert_eq!(
///     decide(&input),
///     ResponsePath::Stream { kind: ContentKind::Html, encoding: Encoding::Brotli }
/// );
/// assert_eq!(
///     decide(&GateInput { status: 206, ..input }),
///     ResponsePath::PassThrough(PassReason::Status)
/// );
/// ```
pub fn decide(input: &GateInput<'_>) -> ResponsePath {
    if input.status < 200 {
        return ResponsePath::Refuse(
            "the origin answered with an informational status (such as 101 Switching Protocols), which cannot be relayed",
        );
    }
    if input.status > 599 {
        return ResponsePath::Refuse("the origin answered with a status above 599");
    }
    if input.method.eq_ignore_ascii_case("HEAD") {
        return ResponsePath::PassThrough(PassReason::NoBodyMethod);
    }
    if !(200..300).contains(&input.status) || matches!(input.status, 204..=206) {
        return ResponsePath::PassThrough(PassReason::Status);
    }
    let kind = ContentKind::from_content_type(input.content_type.unwrap_or(""));
    if !kind.is_rewritten() {
        return ResponsePath::PassThrough(PassReason::ContentType);
    }
    let Some(encoding) = input.encoding else {
        return ResponsePath::PassThrough(PassReason::Encoding);
    };
    if kind == ContentKind::Html && input.html_post_processors {
        ResponsePath::Buffered { kind, encoding }
    } else {
        ResponsePath::Stream { kind, encoding }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> GateInput<'static> {
        GateInput {
            method: "GET",
            status: 200,
            content_type: Some("text/html"),
            encoding: Some(Encoding::Identity),
            html_post_processors: false,
        }
    }

    #[test]
    fn streams_rewritable_content_in_every_supported_encoding() {
        for (content_type, kind) in [
            ("text/html", ContentKind::Html),
            ("application/javascript", ContentKind::JavaScript),
            ("text/css", ContentKind::Css),
            ("application/json", ContentKind::Json),
        ] {
            for encoding in Encoding::ALL {
                let input = GateInput {
                    content_type: Some(content_type),
                    encoding: Some(encoding),
                    ..page()
                };
                assert_eq!(decide(&input), ResponsePath::Stream { kind, encoding });
            }
        }
    }

    #[test]
    fn buffers_html_only_when_a_post_processor_needs_the_whole_document() {
        let with_post = GateInput {
            html_post_processors: true,
            ..page()
        };
        assert!(matches!(decide(&with_post), ResponsePath::Buffered { .. }));
        let css = GateInput {
            content_type: Some("text/css"),
            ..with_post
        };
        assert!(matches!(decide(&css), ResponsePath::Stream { .. }));
    }

    #[test]
    fn passes_through_what_it_does_not_process() {
        let cases = [
            (
                GateInput {
                    method: "HEAD",
                    ..page()
                },
                PassReason::NoBodyMethod,
            ),
            (
                GateInput {
                    status: 404,
                    ..page()
                },
                PassReason::Status,
            ),
            (
                GateInput {
                    status: 304,
                    ..page()
                },
                PassReason::Status,
            ),
            (
                GateInput {
                    status: 204,
                    ..page()
                },
                PassReason::Status,
            ),
            (
                GateInput {
                    status: 206,
                    ..page()
                },
                PassReason::Status,
            ),
            (
                GateInput {
                    status: 302,
                    ..page()
                },
                PassReason::Status,
            ),
            (
                GateInput {
                    content_type: Some("image/png"),
                    ..page()
                },
                PassReason::ContentType,
            ),
            (
                GateInput {
                    content_type: None,
                    ..page()
                },
                PassReason::ContentType,
            ),
            (
                GateInput {
                    encoding: None,
                    ..page()
                },
                PassReason::Encoding,
            ),
        ];
        for (input, reason) in cases {
            assert_eq!(
                decide(&input),
                ResponsePath::PassThrough(reason),
                "{input:?}"
            );
        }
    }

    #[test]
    fn refuses_statuses_the_client_cannot_be_sent() {
        for status in [100, 101, 103, 600, 999] {
            let input = GateInput { status, ..page() };
            assert!(
                matches!(decide(&input), ResponsePath::Refuse(_)),
                "{status}"
            );
        }
    }
}
