//! The pipeline's knobs, each with a stated default.

use super::encode::EncoderSettings;

/// Codec settings and limits for the body pipeline.
///
/// ```
/// use sluice_edge::pipeline::PipelineSettings;
/// let settings = PipelineSettings::new().with_gzip_level(4).with_max_decoded_bytes(1 << 20);
/// assert_eq!(settings.gzip_level(), 4);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PipelineSettings {
    gzip_level: u32,
    brotli_quality: u32,
    brotli_window: u32,
    max_decoded_bytes: u64,
    max_html_memory_bytes: usize,
    read_buffer_bytes: usize,
    flush_every_bytes: usize,
}

impl Default for PipelineSettings {
    fn default() -> Self {
        Self::new()
    }
}

impl PipelineSettings {
    /// The defaults listed on each setter.
    pub const fn new() -> Self {
        PipelineSettings {
            gzip_level: 5,
            brotli_quality: 4,
            brotli_window: 20,
            max_decoded_bytes: 256 * 1024 * 1024,
            max_html_memory_bytes: 8 * 1024 * 1024,
            read_buffer_bytes: 32 * 1024,
            flush_every_bytes: 64 * 1024,
        }
    }

    /// gzip and deflate output level, 0 to 9.
    ///
    /// ### Default
    /// 5: about 1.45x the speed of level 6 for 0.1 to 0.2 points of size (BENCHMARKS.md).
    pub const fn with_gzip_level(mut self, level: u32) -> Self {
        self.gzip_level = if level > 9 { 9 } else { level };
        self
    }

    /// Brotli output quality, 0 to 11.
    ///
    /// ### Default
    /// 4: about 1.7x the speed of quality 5, for 1 to 2 points of size (BENCHMARKS.md).
    pub const fn with_brotli_quality(mut self, quality: u32) -> Self {
        self.brotli_quality = if quality > 11 { 11 } else { quality };
        self
    }

    /// Brotli output window, as log2 of its size, 10 to 24.
    ///
    /// ### Default
    /// 20 (1 MiB): the encoder then needs about 4 MiB instead of 10 at window 22, which keeps
    /// a brotli-to-brotli response under 10 MiB of heap with the decoder's window (BENCHMARKS.md).
    pub const fn with_brotli_window(mut self, window: u32) -> Self {
        self.brotli_window = if window < 10 {
            10
        } else if window > 24 {
            24
        } else {
            window
        };
        self
    }

    /// The most decoded bytes one body may grow to; past it the body fails with
    /// [`PipelineError::TooLarge`](super::PipelineError::TooLarge) (decompression bombs).
    ///
    /// ### Default
    /// 256 MiB.
    pub const fn with_max_decoded_bytes(mut self, bytes: u64) -> Self {
        self.max_decoded_bytes = bytes;
        self
    }

    /// The most memory lol_html may use for one document (it buffers one token, such as a
    /// long attribute, at a time); past it the body fails.
    ///
    /// ### Default
    /// 8 MiB.
    pub const fn with_max_html_memory_bytes(mut self, bytes: usize) -> Self {
        self.max_html_memory_bytes = bytes;
        self
    }

    /// How much is read from the origin at a time; each read is followed by a flush.
    ///
    /// ### Default
    /// 32 KiB.
    pub const fn with_read_buffer_bytes(mut self, bytes: usize) -> Self {
        self.read_buffer_bytes = if bytes == 0 { 1 } else { bytes };
        self
    }

    /// The most decoded bytes the encoder takes between two flushes. Each origin chunk ends
    /// with a flush anyway; this bounds what one chunk that decodes to megabytes can hold back.
    ///
    /// ### Default
    /// 64 KiB.
    pub const fn with_flush_every_bytes(mut self, bytes: usize) -> Self {
        self.flush_every_bytes = if bytes == 0 { 1 } else { bytes };
        self
    }

    /// The encoder's flush interval in bytes.
    pub const fn flush_every_bytes(&self) -> usize {
        self.flush_every_bytes
    }

    /// gzip and deflate output level.
    pub const fn gzip_level(&self) -> u32 {
        self.gzip_level
    }

    /// Brotli output quality.
    pub const fn brotli_quality(&self) -> u32 {
        self.brotli_quality
    }

    /// Brotli output window (log2).
    pub const fn brotli_window(&self) -> u32 {
        self.brotli_window
    }

    /// The decoded-size cap.
    pub const fn max_decoded_bytes(&self) -> u64 {
        self.max_decoded_bytes
    }

    /// lol_html's memory cap.
    pub const fn max_html_memory_bytes(&self) -> usize {
        self.max_html_memory_bytes
    }

    /// The origin read size.
    pub const fn read_buffer_bytes(&self) -> usize {
        self.read_buffer_bytes
    }

    pub(crate) fn encoder(&self) -> EncoderSettings {
        EncoderSettings {
            gzip_level: self.gzip_level,
            brotli_quality: self.brotli_quality,
            brotli_window: self.brotli_window,
            flush_every: self.flush_every_bytes,
        }
    }
}
