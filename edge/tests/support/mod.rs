//! Shared by the pipeline's tests and benchmarks: the corpus, reference codecs (the crates'
//! own one-shot encoders and decoders, independent of the pipeline's stages), and readers that
//! hand out a body in chosen pieces.
#![allow(dead_code)]

use sluice_edge::pipeline::{ContentKind, Encoding, Params};
use std::io::{Read, Write};
use std::path::PathBuf;

/// The shared corpus: `$SLUICE_CORPUS`, else `../shared/corpus` beside the project.
pub fn corpus_dir() -> PathBuf {
    std::env::var_os("SLUICE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"))
}

/// One corpus file and what its manifest row says of it.
pub struct CorpusFile {
    pub name: String,
    pub kind: ContentKind,
    /// The origin host to rewrite (from the manifest's origin prefix).
    pub origin_host: String,
    pub bytes: Vec<u8>,
}

impl CorpusFile {
    pub fn params(&self, encoding: Encoding) -> Params {
        Params::new(&self.origin_host, "https", "proxy.example")
            .with_kind(self.kind)
            .with_encoding(encoding)
            .with_inject_script("/sluice/tag.js")
    }
}

/// Every corpus file, in manifest order.
pub fn corpus() -> Vec<CorpusFile> {
    let dir = corpus_dir();
    let manifest = std::fs::read_to_string(dir.join("manifest.tsv")).unwrap_or_else(|e| {
        panic!(
            "the corpus manifest is missing at {} ({e}); set SLUICE_CORPUS",
            dir.display()
        )
    });
    manifest
        .lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            let kind = match fields[1] {
                "html" => ContentKind::Html,
                "js" => ContentKind::JavaScript,
                "css" => ContentKind::Css,
                other => panic!("unknown corpus class {other}"),
            };
            let origin_host = fields[2]
                .trim_start_matches("https://")
                .trim_start_matches("http://")
                .to_owned();
            CorpusFile {
                name: fields[0].to_owned(),
                kind,
                origin_host,
                bytes: std::fs::read(dir.join(fields[0])).expect("corpus file"),
            }
        })
        .collect()
}

/// Encodes with the crates' own writers at the corpus manifest's settings.
pub fn encode(encoding: Encoding, raw: &[u8]) -> Vec<u8> {
    use flate2::Compression;
    match encoding {
        Encoding::Identity => raw.to_vec(),
        Encoding::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), Compression::new(6));
            e.write_all(raw).unwrap();
            e.finish().unwrap()
        }
        Encoding::Deflate => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), Compression::new(6));
            e.write_all(raw).unwrap();
            e.finish().unwrap()
        }
        Encoding::Brotli => {
            let mut out = Vec::new();
            {
                let mut e = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                e.write_all(raw).unwrap();
            }
            out
        }
    }
}

/// Encodes with a flush after every `every` bytes of input, as an origin that streams does.
pub fn encode_flushed(encoding: Encoding, raw: &[u8], every: usize) -> Vec<u8> {
    use flate2::Compression;
    fn run(mut w: impl Write, raw: &[u8], every: usize) {
        for piece in raw.chunks(every) {
            w.write_all(piece).unwrap();
            w.flush().unwrap();
        }
    }
    let mut out = Vec::new();
    match encoding {
        Encoding::Identity => out.extend_from_slice(raw),
        Encoding::Gzip => {
            let mut e = flate2::write::GzEncoder::new(&mut out, Compression::new(6));
            run(&mut e, raw, every);
            e.finish().unwrap();
        }
        Encoding::Deflate => {
            let mut e = flate2::write::ZlibEncoder::new(&mut out, Compression::new(6));
            run(&mut e, raw, every);
            e.finish().unwrap();
        }
        Encoding::Brotli => {
            let mut e = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
            run(&mut e, raw, every);
            drop(e);
        }
    }
    out
}

/// Raw deflate (no zlib wrapper), as some servers send for `deflate`.
pub fn encode_raw_deflate(raw: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(6));
    e.write_all(raw).unwrap();
    e.finish().unwrap()
}

/// Decodes with the crates' own readers; panics on invalid input.
pub fn decode(encoding: Encoding, encoded: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match encoding {
        Encoding::Identity => out.extend_from_slice(encoded),
        Encoding::Gzip => {
            flate2::read::MultiGzDecoder::new(encoded)
                .read_to_end(&mut out)
                .unwrap();
        }
        Encoding::Deflate => {
            flate2::read::ZlibDecoder::new(encoded)
                .read_to_end(&mut out)
                .unwrap();
        }
        Encoding::Brotli => {
            brotli::Decompressor::new(encoded, 4096)
                .read_to_end(&mut out)
                .unwrap();
        }
    }
    out
}

/// Decodes as much of an unfinished stream as there is, without requiring its end: what a
/// browser can already show.
pub fn decode_prefix(encoding: Encoding, encoded: &[u8]) -> Vec<u8> {
    // Push-style decoders hand out what they have decoded as they go; an unfinished stream is
    // then simply not finished.
    fn feed(mut decoder: impl Write, encoded: &[u8]) {
        let _ = decoder.write_all(encoded);
        let _ = decoder.flush();
    }
    let mut out = Vec::new();
    match encoding {
        Encoding::Identity => out.extend_from_slice(encoded),
        Encoding::Gzip => feed(flate2::write::GzDecoder::new(&mut out), encoded),
        Encoding::Deflate => feed(flate2::write::ZlibDecoder::new(&mut out), encoded),
        Encoding::Brotli => brotli_prefix(encoded, &mut out),
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

/// A small deterministic generator for chunk sizes (xorshift64*), so a failure can be
/// reproduced from its seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1) as u64) as usize
    }
}

/// The seed for random chunk splits: `$SLUICE_CHUNK_SEED`, else a fixed one.
pub fn chunk_seed() -> u64 {
    std::env::var("SLUICE_CHUNK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed)
}

/// Splits `body` at random points: pieces of 1 to `max` bytes.
pub fn random_split(body: &[u8], max: usize, rng: &mut Rng) -> Vec<Vec<u8>> {
    let mut pieces = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let n = (1 + rng.below(max)).min(rest.len());
        pieces.push(rest[..n].to_vec());
        rest = &rest[n..];
    }
    pieces
}

/// A reader that returns the given pieces one per `read` call, as an origin's chunks arrive.
pub struct Pieces {
    pieces: std::collections::VecDeque<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
    /// Called before each piece is handed out, with its index.
    pub on_piece: Option<Box<dyn FnMut(usize)>>,
    handed: usize,
}

impl Pieces {
    pub fn new(pieces: Vec<Vec<u8>>) -> Self {
        Pieces {
            pieces: pieces.into(),
            current: Vec::new(),
            pos: 0,
            on_piece: None,
            handed: 0,
        }
    }

    pub fn remaining(&self) -> usize {
        self.pieces.len()
    }
}

impl Read for Pieces {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.current.len() {
            match self.pieces.pop_front() {
                None => return Ok(0),
                Some(piece) => {
                    if let Some(hook) = self.on_piece.as_mut() {
                        hook(self.handed);
                    }
                    self.handed += 1;
                    self.current = piece;
                    self.pos = 0;
                }
            }
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
