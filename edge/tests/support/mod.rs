//! Shared by the pipeline's tests and benchmarks: the corpus, reference codecs (`harness::codec`,
//! independent of the pipeline's stages), and readers that hand out a body in chosen pieces.
#![allow(dead_code)]

pub mod bits;
pub mod samples;

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

/// The generated samples (always), then every file of the shared corpus when it is there.
pub fn corpus() -> Vec<CorpusFile> {
    let mut files = samples::samples();
    files.extend(shared_corpus().unwrap_or_default());
    files
}

/// Every file of the shared corpus, in manifest order; `None`, said on the terminal, when there
/// is no corpus at [`corpus_dir`] (a clone of the repository alone has none).
pub fn shared_corpus() -> Option<Vec<CorpusFile>> {
    let dir = corpus_dir();
    let Ok(manifest) = std::fs::read_to_string(dir.join("manifest.tsv")) else {
        // Straight to the terminal: test output capture would hide a println.
        let _ = writeln!(
            std::io::stderr(),
            "skipped: the shared corpus (no {}; set SLUICE_CORPUS): only the generated samples ran",
            dir.join("manifest.tsv").display()
        );
        return None;
    };
    let files = manifest
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
        .collect();
    Some(files)
}

/// The coding's `Content-Encoding` name, for `harness::codec`.
fn name(encoding: Encoding) -> &'static str {
    encoding.token().unwrap_or("identity")
}

/// Encodes as an origin does, independently of the pipeline's stages (the corpus manifest's
/// settings: gzip and zlib level 6, brotli quality 5, window 22).
pub fn encode(encoding: Encoding, raw: &[u8]) -> Vec<u8> {
    harness::codec::encode(name(encoding), raw)
}

/// Encodes with a flush after every `every` bytes of input, as an origin that streams does.
pub fn encode_flushed(encoding: Encoding, raw: &[u8], every: usize) -> Vec<u8> {
    let pieces: Vec<&[u8]> = raw.chunks(every.max(1)).collect();
    harness::codec::encode_pieces(Some(name(encoding)), &pieces).concat()
}

/// Raw deflate (no zlib wrapper), as some servers send for `deflate`.
pub fn encode_raw_deflate(raw: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(6));
    e.write_all(raw).unwrap();
    e.finish().unwrap()
}

/// Decodes independently of the pipeline; panics on invalid input.
pub fn decode(encoding: Encoding, encoded: &[u8]) -> Vec<u8> {
    harness::codec::decode(encoding.token(), encoded).expect("a valid body")
}

/// Decodes as much of an unfinished stream as there is, without requiring its end: what a
/// browser can already show.
pub fn decode_prefix(encoding: Encoding, encoded: &[u8]) -> Vec<u8> {
    harness::codec::decode_prefix(name(encoding), encoded)
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

/// A client stream that can be looked at while the pipeline is still writing to it.
#[derive(Clone, Default)]
pub struct SharedOut(pub std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

impl Write for SharedOut {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
