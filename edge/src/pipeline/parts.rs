//! The pipeline's codec stages run on their own, fed the way the pipeline feeds them. The
//! pipeline reads the origin one read buffer at a time and flushes after each read, so the
//! decoder sees read-buffer pieces ([`decode_only`]) and the encoder sees what each read decoded
//! to, with a flush after each ([`decoded_reads`], [`encode_in_reads`]). Benchmarks compare the
//! whole pipeline to the sum of these parts; the rewrite part alone is
//! [`process_response_streaming`](super::process_response_streaming) with identity encoding, fed
//! the same decoded reads.
//! [`encode_only`] is also what [`encode`](super::encode) runs. [`parse_only`] is lol_html alone
//! with the HTML stage's selectors: the floor the HTML stage is measured against.
//! [`process_reading_every_tag`] is the pipeline without the HTML stage's host gate: the
//! reference the gate is tested against.

use super::decode::Decoder;
use super::encode::Encoder;
use super::{Encoding, Params, PipelineError, PipelineSettings, process};
use std::io::{self, Write};

fn fail(e: io::Error) -> PipelineError {
    PipelineError::from_io(e, |e| PipelineError::Rewrite(e.to_string()))
}

/// Decodes `body` into nothing, as the pipeline reads it; returns the decoded size.
pub fn decode_only(
    encoding: Encoding,
    body: &[u8],
    settings: &PipelineSettings,
) -> Result<u64, PipelineError> {
    let reads = decoded_reads(encoding, body, settings)?;
    Ok(reads.iter().map(|&n| n as u64).sum())
}

/// Encodes `raw`, flushing after every read-buffer-sized piece; returns the encoded bytes.
pub fn encode_only(
    encoding: Encoding,
    raw: &[u8],
    settings: &PipelineSettings,
) -> Result<Vec<u8>, PipelineError> {
    let piece = settings.read_buffer_bytes();
    let reads = vec![piece; raw.len().div_ceil(piece)];
    encode_in_reads(encoding, raw, &reads, settings)
}

/// Parses decoded HTML with lol_html alone: the HTML stage's selectors for `params`, handlers
/// that do nothing, output into nothing, fed one read buffer at a time.
pub fn parse_only(params: &Params, html: &[u8]) -> Result<(), PipelineError> {
    let pieces = html.chunks(params.settings().read_buffer_bytes());
    super::html::parse_only(&params.html_options(), pieces)
        .map_err(|e| PipelineError::Rewrite(e.to_string()))
}

/// [`process`] with `steps` of the CPU budget taken before the first byte: what a page costs at
/// each step, and what it sends (`edge/examples/wasm_speed.rs`).
pub fn process_stepped(
    body: &[u8],
    params: &Params,
    steps: &[super::budget::Step],
) -> Result<Vec<u8>, PipelineError> {
    let mut out = Vec::with_capacity(body.len());
    super::run(body, &mut out, params, &mut super::NoClock, steps)?;
    Ok(out)
}

/// [`process`], with an HTML stage that reads the attributes of every start tag rather than of
/// only those whose bytes hold the origin host: what the host gate must not change.
pub fn process_reading_every_tag(body: &[u8], params: &Params) -> Result<Vec<u8>, PipelineError> {
    let params = Params {
        host_gate: false,
        ..params.clone()
    };
    process(body, &params)
}

/// How many decoded bytes each origin read of `body` gives, as the pipeline reads it (one read
/// buffer at a time): the pieces the rewriter and the encoder are fed, each followed by a flush.
pub fn decoded_reads(
    encoding: Encoding,
    body: &[u8],
    settings: &PipelineSettings,
) -> Result<Vec<usize>, PipelineError> {
    let mut decoder = Decoder::new(encoding, settings.max_decoded_bytes(), io::sink());
    let mut reads = Vec::new();
    let mut before = 0;
    for piece in body.chunks(settings.read_buffer_bytes()) {
        decoder.write_all(piece).map_err(fail)?;
        decoder.flush().map_err(fail)?;
        let decoded = decoder.decoded();
        reads.push(usize::try_from(decoded - before).expect("a read's output fits in memory"));
        before = decoded;
    }
    decoder.finish().map_err(fail)?;
    Ok(reads)
}

/// Encodes `raw` fed in pieces of the sizes `reads` gives (see [`decoded_reads`]), flushing
/// after each, as the pipeline does; returns the encoded bytes.
pub fn encode_in_reads(
    encoding: Encoding,
    raw: &[u8],
    reads: &[usize],
    settings: &PipelineSettings,
) -> Result<Vec<u8>, PipelineError> {
    let mut encoder = Encoder::new(encoding, settings.encoder(), Vec::new());
    let mut rest = raw;
    for &size in reads {
        let (piece, after) = rest.split_at(size.min(rest.len()));
        encoder.write_all(piece).map_err(fail)?;
        encoder.flush().map_err(fail)?;
        rest = after;
    }
    encoder.write_all(rest).map_err(fail)?;
    encoder.finish().map_err(fail)
}
