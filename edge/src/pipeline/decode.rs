//! The decoding stage: compressed bytes in, decoded bytes written to the next stage.
//!
//! Push-style (`write` + `finish`) so that every origin chunk is decoded and passed on at once.
//! The low-level flate2 and brotli state machines are used directly because they say whether the
//! stream reached its end marker: a body that stops early is [`PipelineError::Truncated`], never a
//! quiet clean end.

use super::{Encoding, PipelineError};
use brotli_decompressor::{
    BrotliDecoderHasMoreOutput, BrotliDecoderParameter, BrotliDecompressStream, BrotliResult,
    BrotliState, StandardAlloc,
};
use flate2::{Decompress, FlushDecompress, Status};
use std::io::{self, Write};

const OUTPUT_BUFFER: usize = 32 * 1024;

type BrotliDecoderState = BrotliState<StandardAlloc, StandardAlloc, StandardAlloc>;

enum Codec {
    Identity,
    /// Waiting for the first two bytes of a `deflate` body, which say zlib or raw.
    DeflateUnsniffed(Vec<u8>),
    Flate(Box<Decompress>),
    Brotli(Box<BrotliDecoderState>),
}

/// Decodes one body and enforces the decoded-size cap.
pub(crate) struct Decoder<W> {
    encoding: Encoding,
    codec: Codec,
    /// The current stream (or gzip member) reached its end marker.
    ended: bool,
    saw_input: bool,
    decoded: u64,
    limit: u64,
    buffer: Vec<u8>,
    next: W,
}

impl<W: Write> Decoder<W> {
    pub(crate) fn new(encoding: Encoding, limit: u64, next: W) -> Self {
        Self::build(encoding, limit, next, true)
    }

    /// A decoder for a look at a body's first bytes only: brotli's window grows with what is
    /// decoded instead of being allocated whole (up to 16 MiB) for a few kilobytes.
    pub(crate) fn probe(encoding: Encoding, next: W) -> Self {
        Self::build(encoding, u64::MAX, next, false)
    }

    fn build(encoding: Encoding, limit: u64, next: W, window_up_front: bool) -> Self {
        let codec = match encoding {
            Encoding::Identity => Codec::Identity,
            Encoding::Gzip => Codec::Flate(Box::new(Decompress::new_gzip(15))),
            Encoding::Deflate => Codec::DeflateUnsniffed(Vec::with_capacity(2)),
            Encoding::Brotli => {
                let mut state = BrotliState::new_strict(
                    StandardAlloc::default(),
                    StandardAlloc::default(),
                    StandardAlloc::default(),
                );
                // The window the stream declares is allocated once, up front, instead of growing
                // with the page: the heap a brotli body needs is then known from its first bytes
                // and the same for a 100 KB page as for a 50 MB one.
                if window_up_front {
                    state.set_parameter(
                        BrotliDecoderParameter::BROTLI_DECODER_PARAM_DISABLE_RING_BUFFER_REALLOCATION,
                        1,
                    );
                }
                Codec::Brotli(Box::new(state))
            }
        };
        let buffer = match encoding {
            Encoding::Identity => Vec::new(),
            _ => vec![0; OUTPUT_BUFFER],
        };
        Decoder {
            encoding,
            codec,
            ended: false,
            saw_input: false,
            decoded: 0,
            limit,
            buffer,
            next,
        }
    }

    /// Decoded bytes so far.
    /// The stage decoded bytes go to.
    pub(crate) fn next_mut(&mut self) -> &mut W {
        &mut self.next
    }

    pub(crate) fn decoded(&self) -> u64 {
        self.decoded
    }

    fn corrupt(&self, detail: impl ToString) -> io::Error {
        PipelineError::Corrupt {
            encoding: self.encoding,
            detail: detail.to_string(),
        }
        .into()
    }

    /// Counts decoded bytes against the cap and hands them to the next stage. A function of
    /// the fields it needs, so callers can pass bytes that live in `self.buffer`.
    fn pass_on(decoded: &mut u64, limit: u64, next: &mut W, bytes: &[u8]) -> io::Result<()> {
        *decoded += bytes.len() as u64;
        if *decoded > limit {
            return Err(PipelineError::TooLarge { limit }.into());
        }
        next.write_all(bytes)
    }

    fn feed(&mut self, mut input: &[u8]) -> io::Result<()> {
        if !input.is_empty() {
            self.saw_input = true;
        }
        loop {
            match &mut self.codec {
                Codec::Identity => {
                    return Self::pass_on(&mut self.decoded, self.limit, &mut self.next, input);
                }
                Codec::DeflateUnsniffed(head) => {
                    let take = (2 - head.len()).min(input.len());
                    head.extend_from_slice(&input[..take]);
                    input = &input[take..];
                    if head.len() < 2 {
                        return Ok(());
                    }
                    let head = std::mem::take(head);
                    self.codec = Codec::Flate(Box::new(Decompress::new(is_zlib_header(&head))));
                    self.feed_flate(&head)?;
                }
                Codec::Flate(_) => return self.feed_flate(input),
                Codec::Brotli(_) => return self.feed_brotli(input),
            }
        }
    }

    fn feed_flate(&mut self, mut input: &[u8]) -> io::Result<()> {
        loop {
            if self.ended {
                if input.is_empty() {
                    return Ok(());
                }
                if self.encoding != Encoding::Gzip {
                    return Err(self.corrupt(format!(
                        "{} bytes of trailing data after the end of the stream",
                        input.len()
                    )));
                }
                // More bytes after a gzip member: the next member of a multi-member body. Its
                // header is checked by the new decoder, so trailing garbage is still an error.
                self.codec = Codec::Flate(Box::new(Decompress::new_gzip(15)));
                self.ended = false;
            }
            let Codec::Flate(state) = &mut self.codec else {
                unreachable!("feed_flate runs only on a flate codec")
            };
            let (in_before, out_before) = (state.total_in(), state.total_out());
            let status = state.decompress(input, &mut self.buffer, FlushDecompress::None);
            let consumed = (state.total_in() - in_before) as usize;
            let produced = (state.total_out() - out_before) as usize;
            let status = status.map_err(|e| self.corrupt(e))?;
            input = &input[consumed..];
            Self::pass_on(
                &mut self.decoded,
                self.limit,
                &mut self.next,
                &self.buffer[..produced],
            )?;
            match status {
                Status::StreamEnd => self.ended = true,
                Status::Ok | Status::BufError => {
                    if produced < self.buffer.len() && input.is_empty() {
                        return Ok(());
                    }
                    if consumed == 0 && produced == 0 {
                        return Err(self.corrupt("the decoder made no progress"));
                    }
                }
            }
        }
    }

    fn feed_brotli(&mut self, input: &[u8]) -> io::Result<()> {
        let mut available_in = input.len();
        let mut input_offset = 0;
        loop {
            if self.ended {
                if available_in == 0 {
                    return Ok(());
                }
                return Err(self.corrupt(format!(
                    "{available_in} bytes of trailing data after the end of the stream"
                )));
            }
            let Codec::Brotli(state) = &mut self.codec else {
                unreachable!("feed_brotli runs only on a brotli codec")
            };
            let mut available_out = self.buffer.len();
            let mut output_offset = 0;
            let mut total_out = 0;
            let result = BrotliDecompressStream(
                &mut available_in,
                &mut input_offset,
                input,
                &mut available_out,
                &mut output_offset,
                &mut self.buffer,
                &mut total_out,
                state,
            );
            let error_code = state.error_code;
            let more_output = BrotliDecoderHasMoreOutput(state);
            Self::pass_on(
                &mut self.decoded,
                self.limit,
                &mut self.next,
                &self.buffer[..output_offset],
            )?;
            match result {
                BrotliResult::ResultSuccess => self.ended = true,
                BrotliResult::NeedsMoreOutput => {}
                // With its input used up the decoder says so even when decoded bytes are still
                // waiting in its window; those must go out now, not with the next origin chunk.
                BrotliResult::NeedsMoreInput if more_output => {}
                BrotliResult::NeedsMoreInput => return Ok(()),
                BrotliResult::ResultFailure => {
                    return Err(self.corrupt(format!("{error_code:?}")));
                }
            }
        }
    }

    /// Ends the body: an unfinished stream is an error. Returns the next stage.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        if let Codec::DeflateUnsniffed(head) = &mut self.codec
            && !head.is_empty()
        {
            return Err(PipelineError::Truncated {
                encoding: self.encoding,
            }
            .into());
        }
        let unfinished = matches!(self.codec, Codec::Flate(_) | Codec::Brotli(_)) && !self.ended;
        if unfinished && self.saw_input {
            return Err(PipelineError::Truncated {
                encoding: self.encoding,
            }
            .into());
        }
        Ok(self.next)
    }
}

impl<W: Write> Write for Decoder<W> {
    fn write(&mut self, chunk: &[u8]) -> io::Result<usize> {
        self.feed(chunk)?;
        Ok(chunk.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.next.flush()
    }
}

/// RFC 1950: compression method 8, a window of at most 32 KiB, and a header checksum.
fn is_zlib_header(head: &[u8]) -> bool {
    let (cmf, flg) = (head[0], head[1]);
    cmf & 0x0f == 8 && cmf >> 4 <= 7 && (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0
}
