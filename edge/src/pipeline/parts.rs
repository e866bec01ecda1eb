//! The pipeline's codec stages run on their own, fed the way the pipeline feeds them (one read
//! buffer at a time, flushed after each). Benchmarks compare the whole pipeline to the sum of
//! these parts; the rewrite part alone is [`process`](super::process) with identity encoding.
//! [`encode_only`] is also what [`encode`](super::encode) runs. [`parse_only`] is lol_html alone
//! with the HTML stage's selectors: the floor the HTML stage is measured against.

use super::decode::Decoder;
use super::encode::Encoder;
use super::{Encoding, Params, PipelineError, PipelineSettings};
use std::io::{self, Write};

fn fail(e: io::Error) -> PipelineError {
    PipelineError::from_io(e, |e| PipelineError::Rewrite(e.to_string()))
}

/// Decodes `body` into nothing; returns the decoded size.
pub fn decode_only(
    encoding: Encoding,
    body: &[u8],
    settings: &PipelineSettings,
) -> Result<u64, PipelineError> {
    let mut decoder = Decoder::new(encoding, settings.max_decoded_bytes(), io::sink());
    for piece in body.chunks(settings.read_buffer_bytes()) {
        decoder.write_all(piece).map_err(fail)?;
        decoder.flush().map_err(fail)?;
    }
    let decoded = decoder.decoded();
    decoder.finish().map_err(fail)?;
    Ok(decoded)
}

/// Encodes `raw`, flushing after every read-buffer-sized piece; returns the encoded size.
pub fn encode_only(
    encoding: Encoding,
    raw: &[u8],
    settings: &PipelineSettings,
) -> Result<Vec<u8>, PipelineError> {
    let mut encoder = Encoder::new(encoding, settings.encoder(), Vec::new());
    for piece in raw.chunks(settings.read_buffer_bytes()) {
        encoder.write_all(piece).map_err(fail)?;
        encoder.flush().map_err(fail)?;
    }
    encoder.finish().map_err(fail)
}

/// Parses decoded HTML with lol_html alone: the HTML stage's selectors for `params`, handlers
/// that do nothing, output into nothing, fed one read buffer at a time.
pub fn parse_only(params: &Params, html: &[u8]) -> Result<(), PipelineError> {
    let pieces = html.chunks(params.settings().read_buffer_bytes());
    super::html::parse_only(&params.html_options(), pieces)
        .map_err(|e| PipelineError::Rewrite(e.to_string()))
}
