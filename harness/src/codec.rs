//! Content codings for tests: encode a body the way an origin sends it, decode what crossed the
//! wire, and see what a browser could already show of a stream that has not ended.
//!
//! Codings are named as `Content-Encoding` names them: `gzip` (and `x-gzip`), `deflate` (the zlib
//! format, as HTTP means it), `br`, and `identity` (or none). Encoders use gzip and zlib level 6
//! and brotli quality 5 with a 4 MiB window: what typical origins send.
//!
//! ```
//! use harness::codec;
//! let page = b"<p>hello</p>".repeat(100);
//! let sent = codec::encode("br", &page);
//! assert_eq!(codec::decode(Some("br"), &sent).unwrap(), page);
//! ```

use crate::errors::HarnessError;
use std::io::{Read, Write};

const GZIP_LEVEL: u32 = 6;
const BROTLI_QUALITY: u32 = 5;
const BROTLI_WINDOW: u32 = 22;
const BROTLI_BUFFER: usize = 4096;

/// Decodes a body per its `Content-Encoding` value; an error names a coding it does not know or a
/// body that does not decode.
///
/// ```
/// assert_eq!(harness::codec::decode(None, b"plain").unwrap(), b"plain");
/// assert!(harness::codec::decode(Some("zstd"), b"x").is_err());
/// ```
pub fn decode(content_encoding: Option<&str>, body: &[u8]) -> Result<Vec<u8>, HarnessError> {
    let mut out = Vec::new();
    let result = match content_encoding
        .map(|v| v.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("") | Some("identity") => {
            out.extend_from_slice(body);
            Ok(0)
        }
        Some("gzip") | Some("x-gzip") => {
            flate2::read::MultiGzDecoder::new(body).read_to_end(&mut out)
        }
        Some("deflate") => flate2::read::ZlibDecoder::new(body).read_to_end(&mut out),
        Some("br") => brotli::Decompressor::new(body, BROTLI_BUFFER).read_to_end(&mut out),
        Some(other) => {
            return Err(HarnessError::Protocol(format!(
                "cannot decode Content-Encoding {other:?}"
            )));
        }
    };
    result
        .map(|_| out)
        .map_err(|e| HarnessError::Protocol(format!("the body does not decode: {e}")))
}

/// `body` in a content coding, as one stream; `identity` (or a coding this module does not
/// know) returns it as it is.
pub fn encode(coding: &str, body: &[u8]) -> Vec<u8> {
    encode_pieces(Some(coding), &[body]).concat()
}

/// Encodes pieces one after the other, flushing after each, as a streaming server does: every
/// returned piece decodes on its own, given the ones before it. `None`, `identity` or an unknown
/// coding returns the pieces as they are.
///
/// ```
/// use harness::codec;
/// let pieces = codec::encode_pieces(Some("gzip"), &[&b"<p>first</p>"[..], b"<p>second</p>"]);
/// assert_eq!(codec::decode_prefix("gzip", &pieces[0]), b"<p>first</p>");
/// ```
pub fn encode_pieces(coding: Option<&str>, pieces: &[impl AsRef<[u8]>]) -> Vec<Vec<u8>> {
    enum Encoder {
        Gzip(Box<flate2::write::GzEncoder<Vec<u8>>>),
        Deflate(Box<flate2::write::ZlibEncoder<Vec<u8>>>),
        Brotli(Box<brotli::CompressorWriter<Vec<u8>>>),
    }
    let level = flate2::Compression::new(GZIP_LEVEL);
    let mut encoder = match coding.map(str::to_ascii_lowercase).as_deref() {
        Some("gzip" | "x-gzip") => {
            Encoder::Gzip(Box::new(flate2::write::GzEncoder::new(Vec::new(), level)))
        }
        Some("deflate") => {
            Encoder::Deflate(Box::new(flate2::write::ZlibEncoder::new(Vec::new(), level)))
        }
        Some("br") => Encoder::Brotli(Box::new(brotli::CompressorWriter::new(
            Vec::new(),
            BROTLI_BUFFER,
            BROTLI_QUALITY,
            BROTLI_WINDOW,
        ))),
        _ => return pieces.iter().map(|p| p.as_ref().to_vec()).collect(),
    };
    let mut out = Vec::new();
    for piece in pieces {
        let piece = piece.as_ref();
        let produced = match &mut encoder {
            Encoder::Gzip(e) => flushed(e.as_mut(), piece),
            Encoder::Deflate(e) => flushed(e.as_mut(), piece),
            Encoder::Brotli(e) => flushed(e.as_mut(), piece),
        };
        out.push(produced);
    }
    let tail = match encoder {
        Encoder::Gzip(e) => e.finish().expect("in memory"),
        Encoder::Deflate(e) => e.finish().expect("in memory"),
        Encoder::Brotli(e) => e.into_inner(),
    };
    match out.last_mut() {
        Some(last) => last.extend(tail),
        None => out.push(tail),
    }
    out
}

/// Writes `piece`, flushes, and takes what the encoder wrote into its `Vec`.
fn flushed<E: Write + GetVec>(encoder: &mut E, piece: &[u8]) -> Vec<u8> {
    encoder
        .write_all(piece)
        .and_then(|()| encoder.flush())
        .expect("in memory");
    std::mem::take(encoder.vec())
}

/// The `Vec` an in-memory encoder writes into.
trait GetVec {
    fn vec(&mut self) -> &mut Vec<u8>;
}

impl GetVec for flate2::write::GzEncoder<Vec<u8>> {
    fn vec(&mut self) -> &mut Vec<u8> {
        self.get_mut()
    }
}

impl GetVec for flate2::write::ZlibEncoder<Vec<u8>> {
    fn vec(&mut self) -> &mut Vec<u8> {
        self.get_mut()
    }
}

impl GetVec for brotli::CompressorWriter<Vec<u8>> {
    fn vec(&mut self) -> &mut Vec<u8> {
        self.get_mut()
    }
}

/// Decodes as much of an unfinished stream as there is, without requiring its end: what a
/// browser can already show. A stream that turns corrupt gives what decoded before.
pub fn decode_prefix(coding: &str, encoded: &[u8]) -> Vec<u8> {
    // Push-style decoders hand out what they have decoded as they go; an unfinished stream is
    // then simply not finished.
    fn feed(mut decoder: impl Write, encoded: &[u8]) {
        let _ = decoder.write_all(encoded);
        let _ = decoder.flush();
    }
    let mut out = Vec::new();
    match coding.to_ascii_lowercase().as_str() {
        "gzip" | "x-gzip" => feed(flate2::write::GzDecoder::new(&mut out), encoded),
        "deflate" => feed(flate2::write::ZlibDecoder::new(&mut out), encoded),
        "br" => brotli_prefix(encoded, &mut out),
        _ => out.extend_from_slice(encoded),
    }
    out
}

/// The crate's writer keeps decoded bytes back when its input runs out; the state machine hands
/// them all out when asked, as a browser's decoder does.
fn brotli_prefix(encoded: &[u8], out: &mut Vec<u8>) {
    let mut state = brotli::BrotliState::new_strict(
        brotli::HeapAlloc::<u8>::default(),
        brotli::HeapAlloc::<u32>::default(),
        brotli::HeapAlloc::<brotli::HuffmanCode>::default(),
    );
    let (mut available_in, mut offset_in, mut total) = (encoded.len(), 0, 0);
    let mut buffer = vec![0u8; 32 * 1024];
    loop {
        let (mut available_out, mut offset_out) = (buffer.len(), 0);
        let result = brotli::BrotliDecompressStream(
            &mut available_in,
            &mut offset_in,
            encoded,
            &mut available_out,
            &mut offset_out,
            &mut buffer,
            &mut total,
            &mut state,
        );
        out.extend_from_slice(&buffer[..offset_out]);
        let more = match result {
            brotli::BrotliResult::NeedsMoreOutput => true,
            brotli::BrotliResult::NeedsMoreInput => {
                brotli_decompressor::BrotliDecoderHasMoreOutput(&state)
            }
            _ => false,
        };
        if !more {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_coding_round_trips_and_decodes_piece_by_piece() {
        let page = b"<p>some words to compress</p>".repeat(500);
        for coding in ["gzip", "deflate", "br", "identity"] {
            assert_eq!(
                decode(Some(coding), &encode(coding, &page)).unwrap(),
                page,
                "{coding}"
            );
            let pieces = encode_pieces(Some(coding), &[&page[..1000], &page[1000..]]);
            assert_eq!(decode_prefix(coding, &pieces[0]), &page[..1000], "{coding}");
        }
    }
}
