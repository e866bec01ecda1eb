//! The encoding stage: decoded bytes in, the same content coding as the origin's out.
//!
//! `flush()` makes everything written so far decodable by the client (a gzip sync flush, a brotli
//! flush): the pipeline calls it after each origin chunk so the browser gets bytes while the
//! origin is still sending, and so brotli never holds the whole page in its window.

use super::{Encoding, PipelineError};
use brotli::enc::StandardAlloc;
use brotli::enc::encode::{
    BrotliEncoderOperation, BrotliEncoderParameter, BrotliEncoderStateStruct,
};
use flate2::Compression;
use flate2::write::{GzEncoder, ZlibEncoder};
use std::io::{self, Write};

const BROTLI_OUTPUT_BUFFER: usize = 16 * 1024;

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
    Gzip(GzEncoder<W>),
    Deflate(ZlibEncoder<W>),
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
            Encoding::Gzip => Codec::Gzip(GzEncoder::new(next, level)),
            Encoding::Deflate => Codec::Deflate(ZlibEncoder::new(next, level)),
            Encoding::Brotli => Codec::Brotli(Box::new(BrotliEncoder::new(settings, next))),
        };
        Encoder {
            codec,
            encoding,
            unflushed: 0,
            flush_every: settings.flush_every.max(1),
        }
    }

    /// Writes the end of the stream and returns the next stage.
    pub(crate) fn finish(self) -> io::Result<W> {
        let tag = tagger(self.encoding);
        match self.codec {
            Codec::Identity(next) => Ok(next),
            Codec::Gzip(e) => e.finish().map_err(tag),
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
            Codec::Gzip(e) => e.write(&buf[..take]),
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
            Codec::Gzip(e) => e.flush(),
            Codec::Deflate(e) => e.flush(),
            Codec::Brotli(e) => e.flush(),
        };
        result.map_err(tagger(self.encoding))
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

/// A brotli encoder whose `finish` reports failures (the crate's own writer drops them).
pub(crate) struct BrotliEncoder<W> {
    state: BrotliEncoderStateStruct<StandardAlloc>,
    buffer: Vec<u8>,
    next: W,
}

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
        }
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
        self.run(BrotliEncoderOperation::BROTLI_OPERATION_FINISH, &[])?;
        Ok(self.next)
    }
}

impl<W: Write> Write for BrotliEncoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.run(BrotliEncoderOperation::BROTLI_OPERATION_PROCESS, buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.run(BrotliEncoderOperation::BROTLI_OPERATION_FLUSH, &[])?;
        self.next.flush()
    }
}
