//! The encoding stage: decoded bytes in, the client's content coding out.
//!
//! `flush()` makes everything written so far decodable by the client (a gzip sync flush, a brotli
//! flush): the pipeline calls it after each origin chunk so the browser gets bytes while the
//! origin is still sending, and so brotli never holds the whole page in its window.
//!
//! The CPU budget may ask the encoder to give up work at a flush point ([`Encoder::step_down`]):
//! gzip and deflate change level there (zlib can), or send stored blocks; brotli, whose quality
//! cannot change once a stream has begun, sends the rest as uncompressed meta-blocks, which
//! every decoder reads (RFC 7932 9.2), after the byte-aligned end its flush leaves.

use super::budget::Step;
use super::{Encoding, PipelineError};
use brotli::enc::StandardAlloc;
use brotli::enc::encode::{
    BrotliEncoderOperation, BrotliEncoderParameter, BrotliEncoderStateStruct,
};
use flate2::{Compress, Compression, FlushCompress, Status};
use std::io::{self, Write};

const BROTLI_OUTPUT_BUFFER: usize = 16 * 1024;
const DEFLATE_OUTPUT_BUFFER: usize = 32 * 1024;

/// Compression settings for the re-encoded body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EncoderSettings {
    pub gzip_level: u32,
    pub brotli_quality: u32,
    pub brotli_window: u32,
    /// The most input the encoder takes between two flushes, whatever the origin's chunks are.
    pub flush_every: usize,
}

enum Codec<W: Write> {
    Identity(W),
    Deflate(Box<DeflateEncoder<W>>),
    Brotli(Box<BrotliEncoder<W>>),
}

/// Re-encodes, flushing at every `flush()` and also after every `flush_every` bytes of input:
/// one compressed origin chunk can expand to megabytes (repetitive pages compress very well),
/// and an encoder that held all of it would hold back the client and grow its buffers.
pub(crate) struct Encoder<W: Write> {
    codec: Codec<W>,
    encoding: Encoding,
    unflushed: usize,
    flush_every: usize,
}

impl<W: Write> Encoder<W> {
    pub(crate) fn new(encoding: Encoding, settings: EncoderSettings, next: W) -> Self {
        let level = Compression::new(settings.gzip_level);
        let codec = match encoding {
            Encoding::Identity => Codec::Identity(next),
            Encoding::Gzip => Codec::Deflate(Box::new(DeflateEncoder::new(
                Compress::new_gzip(level, 15),
                next,
            ))),
            Encoding::Deflate => Codec::Deflate(Box::new(DeflateEncoder::new(
                Compress::new(level, true),
                next,
            ))),
            Encoding::Brotli => Codec::Brotli(Box::new(BrotliEncoder::new(settings, next))),
        };
        Encoder {
            codec,
            encoding,
            unflushed: 0,
            flush_every: settings.flush_every.max(1),
        }
    }

    /// Gives up work from here on, as the CPU budget asks: flushes, then changes level or stops
    /// compressing. [`Step::TextRewrite`] is not the encoder's and changes nothing here.
    pub(crate) fn step_down(&mut self, step: Step) -> io::Result<()> {
        self.flush()?;
        let tag = tagger(self.encoding);
        match (&mut self.codec, step) {
            (Codec::Deflate(e), Step::Level(level)) => e.set_level(level).map_err(tag),
            (Codec::Deflate(e), Step::Stored) => e.set_level(0).map_err(tag),
            (Codec::Brotli(e), Step::Stored) => {
                e.store();
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Writes the end of the stream and returns the next stage.
    pub(crate) fn finish(self) -> io::Result<W> {
        let tag = tagger(self.encoding);
        match self.codec {
            Codec::Identity(next) => Ok(next),
            Codec::Deflate(e) => e.finish().map_err(tag),
            Codec::Brotli(e) => e.finish().map_err(tag),
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let take = buf.len().min(self.flush_every - self.unflushed);
        let result = match &mut self.codec {
            Codec::Identity(next) => next.write(&buf[..take]),
            Codec::Deflate(e) => e.write(&buf[..take]),
            Codec::Brotli(e) => e.write(&buf[..take]),
        };
        let written = result.map_err(tagger(self.encoding))?;
        self.unflushed += written;
        if self.unflushed >= self.flush_every {
            self.flush()?;
        }
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.unflushed = 0;
        let result = match &mut self.codec {
            Codec::Identity(next) => next.flush(),
            Codec::Deflate(e) => e.flush(),
            Codec::Brotli(e) => e.flush(),
        };
        result.map_err(tagger(self.encoding))
    }
}

/// gzip or zlib-wrapped deflate, on zlib's own stream (its gzip wrapper included), so that the
/// level can change at a flush point.
pub(crate) struct DeflateEncoder<W> {
    compress: Compress,
    buffer: Vec<u8>,
    next: W,
}

impl<W: Write> DeflateEncoder<W> {
    fn new(compress: Compress, next: W) -> Self {
        DeflateEncoder {
            compress,
            buffer: Vec::with_capacity(DEFLATE_OUTPUT_BUFFER),
            next,
        }
    }

    /// Runs zlib over `input` with `flush`, writing what it gives, until the input is taken and
    /// (for a flush or the finish) zlib has nothing more to give.
    fn run(&mut self, mut input: &[u8], flush: FlushCompress) -> io::Result<()> {
        loop {
            self.buffer.clear();
            let before = self.compress.total_in();
            let status = self
                .compress
                .compress_vec(input, &mut self.buffer, flush)
                .map_err(io::Error::other)?;
            let taken = (self.compress.total_in() - before) as usize;
            input = &input[taken..];
            self.next.write_all(&self.buffer)?;
            let room_left = self.buffer.len() < self.buffer.capacity();
            let done = match flush {
                FlushCompress::Finish => status == Status::StreamEnd,
                FlushCompress::None => input.is_empty(),
                _ => input.is_empty() && room_left,
            };
            if done {
                return Ok(());
            }
        }
    }

    fn set_level(&mut self, level: u32) -> io::Result<()> {
        self.compress
            .set_level(Compression::new(level))
            .map_err(io::Error::other)
    }

    fn finish(mut self) -> io::Result<W> {
        self.run(&[], FlushCompress::Finish)?;
        Ok(self.next)
    }
}

impl<W: Write> Write for DeflateEncoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.run(buf, FlushCompress::None)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.run(&[], FlushCompress::Sync)?;
        self.next.flush()
    }
}

/// Files an encoder's own failure under [`PipelineError::Encode`]; failures of the stages after
/// it pass through as they are.
fn tagger(encoding: Encoding) -> impl Fn(io::Error) -> io::Error {
    move |error| {
        PipelineError::from_io(error, |e| PipelineError::Encode {
            encoding,
            detail: e.to_string(),
        })
        .into()
    }
}

/// A brotli encoder whose `finish` reports failures (the crate's own writer drops them), and
/// which can stop compressing: after [`store`](Self::store), input goes out as uncompressed
/// meta-blocks of at most [`STORED_BLOCK`] bytes, and the stream ends with an empty last
/// meta-block of its own.
pub(crate) struct BrotliEncoder<W> {
    state: BrotliEncoderStateStruct<StandardAlloc>,
    buffer: Vec<u8>,
    next: W,
    /// Uncompressed meta-blocks from here on.
    stored: bool,
}

/// The largest uncompressed meta-block written: 65,536 bytes, the most a four-nibble length
/// holds.
const STORED_BLOCK: usize = 1 << 16;

/// The header of an uncompressed meta-block of `len` bytes (1 to [`STORED_BLOCK`]), starting
/// at a byte boundary: ISLAST 0, MNIBBLES 4 (code 0), MLEN - 1 in 16 bits, ISUNCOMPRESSED 1,
/// then zero bits to the next byte (RFC 7932 9.2), least significant bit first.
fn stored_block_header(len: usize) -> [u8; 3] {
    let bits = (((len - 1) as u32) << 3) | (1 << 19);
    let bytes = bits.to_le_bytes();
    [bytes[0], bytes[1], bytes[2]]
}

/// An empty last meta-block: ISLAST 1, ISLASTEMPTY 1.
const BROTLI_LAST_EMPTY: u8 = 0b11;

impl<W: Write> BrotliEncoder<W> {
    fn new(settings: EncoderSettings, next: W) -> Self {
        let mut state = BrotliEncoderStateStruct::new(StandardAlloc::default());
        state.set_parameter(
            BrotliEncoderParameter::BROTLI_PARAM_QUALITY,
            settings.brotli_quality,
        );
        state.set_parameter(
            BrotliEncoderParameter::BROTLI_PARAM_LGWIN,
            settings.brotli_window,
        );
        BrotliEncoder {
            state,
            buffer: vec![0; BROTLI_OUTPUT_BUFFER],
            next,
            stored: false,
        }
    }

    /// Sends everything from here on uncompressed. Called at a flush point: the encoder's
    /// output ends on a byte boundary there, and it is never asked for more.
    fn store(&mut self) {
        self.stored = true;
    }

    /// Runs one encoder operation over `input` until it is consumed and, for flush and finish,
    /// until the encoder has nothing more to give.
    fn run(&mut self, op: BrotliEncoderOperation, input: &[u8]) -> io::Result<()> {
        let mut available_in = input.len();
        let mut input_offset = 0;
        loop {
            let mut available_out = self.buffer.len();
            let mut output_offset = 0;
            let mut total_out = None;
            let ok = self.state.compress_stream(
                op,
                &mut available_in,
                input,
                &mut input_offset,
                &mut available_out,
                &mut self.buffer,
                &mut output_offset,
                &mut total_out,
                &mut |_, _, _, _| (),
            );
            if !ok {
                return Err(io::Error::other("the brotli encoder refused its input"));
            }
            self.next.write_all(&self.buffer[..output_offset])?;
            let done = match op {
                BrotliEncoderOperation::BROTLI_OPERATION_FINISH => self.state.is_finished(),
                _ => available_in == 0 && !self.state.has_more_output(),
            };
            if done {
                return Ok(());
            }
        }
    }

    fn finish(mut self) -> io::Result<W> {
        if self.stored {
            self.next.write_all(&[BROTLI_LAST_EMPTY])?;
        } else {
            self.run(BrotliEncoderOperation::BROTLI_OPERATION_FINISH, &[])?;
        }
        Ok(self.next)
    }
}

impl<W: Write> Write for BrotliEncoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.stored {
            for block in buf.chunks(STORED_BLOCK) {
                self.next.write_all(&stored_block_header(block.len()))?;
                self.next.write_all(block)?;
            }
        } else {
            self.run(BrotliEncoderOperation::BROTLI_OPERATION_PROCESS, buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.stored {
            self.run(BrotliEncoderOperation::BROTLI_OPERATION_FLUSH, &[])?;
        }
        self.next.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> EncoderSettings {
        EncoderSettings {
            gzip_level: 5,
            brotli_quality: 4,
            brotli_window: 20,
            flush_every: 64 * 1024,
        }
    }

    /// A text that compresses: the first half written at the configured level, the rest after
    /// `step`.
    fn encode_with_step(encoding: Encoding, step: Step) -> (Vec<u8>, Vec<u8>) {
        let text: Vec<u8> = (0..400_000u32)
            .flat_map(|i| format!("<p>{} words</p>", i % 977).into_bytes())
            .collect();
        let (first, rest) = text.split_at(text.len() / 2);
        let mut encoder = Encoder::new(encoding, settings(), Vec::new());
        encoder.write_all(first).unwrap();
        encoder.step_down(step).unwrap();
        // Another flush after a step changes nothing a decoder sees.
        encoder.flush().unwrap();
        encoder.write_all(&rest[..1000]).unwrap();
        encoder.flush().unwrap();
        encoder.write_all(&rest[1000..]).unwrap();
        (encoder.finish().unwrap(), text)
    }

    fn decode(encoding: Encoding, body: &[u8]) -> Vec<u8> {
        use std::io::Read;
        let mut out = Vec::new();
        match encoding {
            Encoding::Gzip => flate2::read::GzDecoder::new(body).read_to_end(&mut out),
            Encoding::Deflate => flate2::read::ZlibDecoder::new(body).read_to_end(&mut out),
            Encoding::Brotli => {
                brotli_decompressor::Decompressor::new(body, 4096).read_to_end(&mut out)
            }
            Encoding::Identity => {
                out.extend_from_slice(body);
                Ok(0)
            }
        }
        .expect("the stream decodes");
        out
    }

    #[test]
    fn every_step_leaves_a_stream_that_decodes_to_the_same_text() {
        for (encoding, step) in [
            (Encoding::Gzip, Step::Level(1)),
            (Encoding::Gzip, Step::Stored),
            (Encoding::Deflate, Step::Level(1)),
            (Encoding::Deflate, Step::Stored),
            (Encoding::Brotli, Step::Stored),
            (Encoding::Identity, Step::Stored),
        ] {
            let (encoded, text) = encode_with_step(encoding, step);
            assert!(
                decode(encoding, &encoded) == text,
                "{encoding:?} after {step:?}"
            );
        }
    }

    #[test]
    fn stored_output_is_the_rest_at_its_decoded_size() {
        for encoding in [Encoding::Gzip, Encoding::Brotli] {
            let (stored, text) = encode_with_step(encoding, Step::Stored);
            let (fast, _) = encode_with_step(encoding, Step::Level(1));
            assert!(
                stored.len() > text.len() / 2,
                "{encoding:?}: {}",
                stored.len()
            );
            assert!(
                stored.len() < text.len() / 2 + text.len() / 50,
                "{encoding:?}: framing stays small"
            );
            assert!(fast.len() < stored.len());
        }
    }

    #[test]
    fn a_stored_meta_block_header_says_its_length() {
        // MLEN 1: bits ISLAST 0, MNIBBLES 00, MLEN-1 = 0, ISUNCOMPRESSED 1 at bit 19.
        assert_eq!(stored_block_header(1), [0, 0, 0b1000]);
        assert_eq!(stored_block_header(STORED_BLOCK), [0xf8, 0xff, 0x0f]);
    }
}
