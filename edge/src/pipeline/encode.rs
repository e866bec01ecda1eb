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
}

pub(crate) enum Encoder<W: Write> {
    Identity(W),
    Gzip(GzEncoder<W>),
    Deflate(ZlibEncoder<W>),
    Brotli(Box<BrotliEncoder<W>>),
}

impl<W: Write> Encoder<W> {
    pub(crate) fn new(encoding: Encoding, settings: EncoderSettings, next: W) -> Self {
        let level = Compression::new(settings.gzip_level);
        match encoding {
            Encoding::Identity => Encoder::Identity(next),
            Encoding::Gzip => Encoder::Gzip(GzEncoder::new(next, level)),
            Encoding::Deflate => Encoder::Deflate(ZlibEncoder::new(next, level)),
            Encoding::Brotli => Encoder::Brotli(Box::new(BrotliEncoder::new(settings, next))),
        }
    }

    fn encoding(&self) -> Encoding {
        match self {
            Encoder::Identity(_) => Encoding::Identity,
            Encoder::Gzip(_) => Encoding::Gzip,
            Encoder::Deflate(_) => Encoding::Deflate,
            Encoder::Brotli(_) => Encoding::Brotli,
        }
    }

    /// Writes the end of the stream and returns the next stage.
    pub(crate) fn finish(self) -> io::Result<W> {
        let tag = tagger(self.encoding());
        match self {
            Encoder::Identity(next) => Ok(next),
            Encoder::Gzip(e) => e.finish().map_err(tag),
            Encoder::Deflate(e) => e.finish().map_err(tag),
            Encoder::Brotli(e) => e.finish().map_err(tag),
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let result = match self {
            Encoder::Identity(next) => next.write(buf),
            Encoder::Gzip(e) => e.write(buf),
            Encoder::Deflate(e) => e.write(buf),
            Encoder::Brotli(e) => e.write(buf),
        };
        result.map_err(tagger(self.encoding()))
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let result = match self {
            Encoder::Identity(next) => next.write_all(buf),
            Encoder::Gzip(e) => e.write_all(buf),
            Encoder::Deflate(e) => e.write_all(buf),
            Encoder::Brotli(e) => e.write_all(buf),
        };
        result.map_err(tagger(self.encoding()))
    }

    fn flush(&mut self) -> io::Result<()> {
        let result = match self {
            Encoder::Identity(next) => next.flush(),
            Encoder::Gzip(e) => e.flush(),
            Encoder::Deflate(e) => e.flush(),
            Encoder::Brotli(e) => e.flush(),
        };
        result.map_err(tagger(self.encoding()))
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
