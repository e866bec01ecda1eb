//! The streaming gate: which path a response takes.
//!
//! | path           | when                                                                  |
//! |----------------|-----------------------------------------------------------------------|
//! | `Stream`       | 2xx (not 204/205/206) to a method with a body, rewritable content, an encoding the pipeline decodes, an HTML charset it reads |
//! | `RefetchWhole` | a part (206) or a refused range (416) of rewritable content the client asked a range of: the origin is asked again for the whole, which is rewritten and sent as a 200 (a server may always answer a range request with the whole) |
//! | `PassThrough`  | everything else: HEAD, non-2xx, 204/205/206 of other content, other content types, unknown or stacked encodings, HTML in a charset that is not ASCII-compatible (other than UTF-16, which is transcoded), and scripts and stylesheets asked for verbatim (Subresource Integrity) |
//! | `Refuse`       | a status the client cannot be sent (`101 Switching Protocols`, above 599), partial content of a rewritable type nobody asked a part of, or a body in a transfer coding (`Transfer-Encoding: gzip, chunked`) Sluice cannot undo: a 502 |
//!
//! A body the origin sent with a transfer coding Sluice decodes (gzip, deflate, br, under no
//! content coding) streams as if that were its content coding: the coding belonged to the
//! origin's connection, and the client's gets Sluice's own.

use super::response::TransferCoding;
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
    /// The client asked for part of the resource (`Range`).
    pub range_requested: bool,
    /// The client asked for the resource's exact bytes: its URL carries the verbatim marker an
    /// element with `integrity` was given (or its path is one the operator serves verbatim).
    /// Only a script or a stylesheet is passed through for it: that is what integrity checks.
    pub verbatim: bool,
    /// The codings the origin's `Transfer-Encoding` names besides `chunked`.
    pub transfer_coding: TransferCoding,
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
    /// Asked for again without the client's range: the answer is decided anew.
    RefetchWhole,
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
    /// HTML in a charset that is not ASCII-compatible (ISO-2022-JP, the replacement encoding).
    Charset,
    /// A resource whose exact bytes an integrity check expects.
    Verbatim,
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
///     range_requested: false,
///     verbatim: false,
///     transfer_coding: Default::default(),
/// };
/// assert_eq!(
///     decide(&input),
///     ResponsePath::Stream { kind: ContentKind::Html, encoding: Encoding::Brotli }
/// );
/// let part = GateInput { status: 206, range_requested: true, ..input };
/// assert_eq!(decide(&part), ResponsePath::RefetchWhole);
/// let video = GateInput { content_type: Some("video/mp4"), ..part };
/// assert_eq!(decide(&video), ResponsePath::PassThrough(PassReason::Status));
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
    let has_body = !matches!(input.status, 204 | 304);
    if has_body && input.transfer_coding == TransferCoding::Unusable {
        return ResponsePath::Refuse(
            "the origin sent its body in a transfer coding Sluice cannot decode",
        );
    }
    let content_type = input.content_type.unwrap_or("");
    let kind = ContentKind::from_content_type(content_type);
    if input.verbatim && matches!(kind, ContentKind::JavaScript | ContentKind::Css) {
        return ResponsePath::PassThrough(PassReason::Verbatim);
    }
    let parts = is_multipart_byteranges(content_type);
    if (kind.is_rewritten() || parts) && matches!(input.status, 206 | 416) {
        // A part of a rewritten resource would reach the client un-rewritten (and ranges of
        // the origin's bytes do not apply to Sluice's): ask for the whole instead. Several
        // parts in one body (`multipart/byteranges`) say nothing of what the resource is:
        // the whole decides.
        return match (input.range_requested, input.status) {
            (true, _) => ResponsePath::RefetchWhole,
            (false, 206) => ResponsePath::Refuse(
                "the origin answered with part of a page Sluice rewrites, and no part was asked for",
            ),
            (false, _) => ResponsePath::PassThrough(PassReason::Status),
        };
    }
    let stream = stream_path(input, content_type, kind);
    match (input.transfer_coding, stream) {
        (TransferCoding::None, path) => path,
        (
            TransferCoding::Decodable(coding),
            ResponsePath::Stream {
                kind,
                encoding: Encoding::Identity,
            },
        ) => ResponsePath::Stream {
            kind,
            encoding: coding,
        },
        (_, _) if !has_body => stream,
        (_, _) => ResponsePath::Refuse(
            "the origin sent its body in a transfer coding, which Sluice undoes only on a page it rewrites with no content coding of its own",
        ),
    }
}

/// The path of a response with a whole body: streamed when Sluice rewrites it, else passed
/// through.
fn stream_path(input: &GateInput<'_>, content_type: &str, kind: ContentKind) -> ResponsePath {
    if !(200..300).contains(&input.status) || matches!(input.status, 204..=206) {
        return ResponsePath::PassThrough(PassReason::Status);
    }
    if !kind.is_rewritten() {
        return ResponsePath::PassThrough(PassReason::ContentType);
    }
    if kind == ContentKind::Html && !html_charset_is_readable(content_type) {
        return ResponsePath::PassThrough(PassReason::Charset);
    }
    let Some(encoding) = input.encoding else {
        return ResponsePath::PassThrough(PassReason::Encoding);
    };
    ResponsePath::Stream { kind, encoding }
}

fn is_multipart_byteranges(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("multipart/byteranges"))
}

/// Whether the HTML stage reads the charset a Content-Type names: any ASCII-compatible one,
/// and UTF-16 (transcoded). An unknown label is read as UTF-8, as browsers do.
fn html_charset_is_readable(content_type: &str) -> bool {
    let Some(label) = super::response::charset_of(content_type) else {
        return true;
    };
    match encoding_rs::Encoding::for_label(label.as_bytes()) {
        Some(encoding) => {
            encoding.is_ascii_compatible()
                || encoding == encoding_rs::UTF_16LE
                || encoding == encoding_rs::UTF_16BE
        }
        None => true,
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
            range_requested: false,
            verbatim: false,
            transfer_coding: TransferCoding::None,
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
                    content_type: Some("video/mp4"),
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

    #[test]
    fn asks_for_the_whole_of_a_part_of_rewritable_content() {
        for status in [206, 416] {
            let part = GateInput {
                status,
                range_requested: true,
                ..page()
            };
            assert_eq!(decide(&part), ResponsePath::RefetchWhole, "{status}");
        }
        let unasked = GateInput {
            status: 206,
            ..page()
        };
        assert!(matches!(decide(&unasked), ResponsePath::Refuse(_)));
        let media = GateInput {
            status: 206,
            range_requested: true,
            content_type: Some("video/webm"),
            ..page()
        };
        assert_eq!(
            decide(&media),
            ResponsePath::PassThrough(PassReason::Status)
        );
    }

    #[test]
    fn a_range_request_answered_in_several_parts_asks_for_the_whole() {
        let parts = GateInput {
            status: 206,
            range_requested: true,
            content_type: Some("multipart/byteranges; boundary=x"),
            ..page()
        };
        assert_eq!(decide(&parts), ResponsePath::RefetchWhole);
    }

    #[test]
    fn a_transfer_coding_is_decoded_on_pages_sluice_rewrites_and_refused_elsewhere() {
        let coded = GateInput {
            transfer_coding: TransferCoding::Decodable(Encoding::Gzip),
            ..page()
        };
        assert_eq!(
            decide(&coded),
            ResponsePath::Stream {
                kind: ContentKind::Html,
                encoding: Encoding::Gzip
            }
        );
        for input in [
            GateInput {
                encoding: Some(Encoding::Brotli),
                ..coded
            },
            GateInput {
                content_type: Some("image/png"),
                ..coded
            },
            GateInput {
                transfer_coding: TransferCoding::Unusable,
                ..page()
            },
        ] {
            assert!(
                matches!(decide(&input), ResponsePath::Refuse(_)),
                "{input:?}"
            );
        }
        let no_body = GateInput {
            status: 304,
            transfer_coding: TransferCoding::Unusable,
            ..page()
        };
        assert_eq!(
            decide(&no_body),
            ResponsePath::PassThrough(PassReason::Status)
        );
    }

    #[test]
    fn passes_through_what_must_keep_its_bytes_or_cannot_be_read() {
        for content_type in ["application/javascript", "text/css; charset=utf-8"] {
            let verbatim = GateInput {
                verbatim: true,
                content_type: Some(content_type),
                ..page()
            };
            assert_eq!(
                decide(&verbatim),
                ResponsePath::PassThrough(PassReason::Verbatim)
            );
        }
        // Integrity checks only scripts and stylesheets: a page or data asked for verbatim is
        // rewritten like any other.
        for content_type in ["text/html", "application/json"] {
            let input = GateInput {
                verbatim: true,
                content_type: Some(content_type),
                ..page()
            };
            assert!(
                matches!(decide(&input), ResponsePath::Stream { .. }),
                "{content_type}"
            );
        }
        for (charset, path) in [
            (
                "iso-2022-jp",
                ResponsePath::PassThrough(PassReason::Charset),
            ),
            (
                "utf-16",
                ResponsePath::Stream {
                    kind: ContentKind::Html,
                    encoding: Encoding::Identity,
                },
            ),
            (
                "windows-1252",
                ResponsePath::Stream {
                    kind: ContentKind::Html,
                    encoding: Encoding::Identity,
                },
            ),
            (
                "no-such-charset",
                ResponsePath::Stream {
                    kind: ContentKind::Html,
                    encoding: Encoding::Identity,
                },
            ),
        ] {
            let content_type = format!("text/html; charset={charset}");
            let input = GateInput {
                content_type: Some(&content_type),
                ..page()
            };
            assert_eq!(decide(&input), path, "{charset}");
        }
    }
}
