//! What can go wrong in the body pipeline, by where it went wrong.

use super::Encoding;
use std::io;

/// A body pipeline failure. Each variant names the stage that failed, because the caller's
/// reaction differs: an origin or decode failure is the origin's fault, a client failure means
/// nobody is listening any more.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// Reading the origin body failed (the origin closed mid-body, a timeout, a reset).
    #[error("reading the origin body failed: {0}")]
    Origin(#[source] io::Error),
    /// The compressed body is not valid in its declared encoding.
    #[error("the origin's {encoding} body is corrupt: {detail}")]
    Corrupt {
        /// The declared encoding.
        encoding: Encoding,
        /// What the decoder said.
        detail: String,
    },
    /// The compressed body stopped before its end marker (gzip trailer, final brotli block).
    #[error(
        "the origin's {encoding} body ended before its end marker: it was cut short by the origin or on the way"
    )]
    Truncated {
        /// The declared encoding.
        encoding: Encoding,
    },
    /// The decoded body grew past the configured cap.
    #[error(
        "the decoded body passed {limit} bytes (the max_decoded_bytes setting): a decompression bomb, or a page larger than allowed"
    )]
    TooLarge {
        /// The cap in bytes.
        limit: u64,
    },
    /// lol_html gave up on the document.
    #[error("the HTML rewriter stopped: {0}")]
    Rewrite(String),
    /// Re-encoding the output failed.
    #[error("encoding the output as {encoding} failed: {detail}")]
    Encode {
        /// The output encoding.
        encoding: Encoding,
        /// What the encoder said.
        detail: String,
    },
    /// Writing to the client failed (the client went away).
    #[error("writing to the client failed: {0}")]
    Client(#[source] io::Error),
}

impl PipelineError {
    /// Recovers a pipeline error that travelled through `io::Write` stages, or files an untagged
    /// I/O error under `otherwise`.
    pub(crate) fn from_io(
        error: io::Error,
        otherwise: impl FnOnce(io::Error) -> PipelineError,
    ) -> Self {
        if error
            .get_ref()
            .is_some_and(|inner| inner.is::<PipelineError>())
        {
            let inner = error.into_inner().expect("checked above");
            return *inner.downcast::<PipelineError>().expect("checked above");
        }
        otherwise(error)
    }
}

impl From<PipelineError> for io::Error {
    fn from(error: PipelineError) -> io::Error {
        let kind = match &error {
            PipelineError::Origin(e) | PipelineError::Client(e) => e.kind(),
            PipelineError::Truncated { .. } => io::ErrorKind::UnexpectedEof,
            _ => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, error)
    }
}
