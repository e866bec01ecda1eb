//! The body pipeline: decode, rewrite, re-encode, one origin chunk at a time.
//!
//! ```text
//! origin body ──read──▶ Decoder ──▶ Rewriter (lol_html | URL replacer | copy) ──▶ Encoder ──▶ client
//!                           │  flush after every origin chunk: the client can decode what it has  │
//! ```
//!
//! It knows nothing of Fastly: the Compute glue hands it the origin `Body` as a [`Read`] and the
//! `StreamingBody` as a [`Write`]; tests and benchmarks hand it slices and `Vec`s. Memory is one
//! read buffer, the codecs' windows and lol_html's token buffer, whatever the size of the page.
//!
//! ```
//! use sluice_edge::pipeline::{process, ContentKind, Encoding, Params};
//! let params = Params::new("www.publisher.example", "https", "proxy.example")
//!     .with_kind(ContentKind::Html)
//!     .with_inject_script("/sluice.js");
//! let page = br#"<html><head></head><a href="https://www.publisher.example/a">a</a></html>"#;
//! let out = process(page, &params).unwrap();
//! assert_eq!(
//!     String::from_utf8(out).unwrap(),
//!     r#"<html><head><script src="/sluice.js"></script></head><a href="https://proxy.example/a">a</a></html>"#
//! );
//! ```

mod bounded;
pub mod budget;
pub mod csp;
mod decode;
mod encode;
mod encoding;
mod error;
mod host_search;
mod html;
mod import_map;
mod inline;
mod kind;
pub mod nextjs;
#[doc(hidden)]
pub mod parts;
mod references;
mod settings;
mod sightings;
mod text;
mod url;
mod utf16;
mod verbatim;
mod words;

pub use bounded::BoundedBuffer;
pub use encoding::Encoding;
pub use error::PipelineError;
pub use kind::ContentKind;
pub use settings::PipelineSettings;
pub use url::{Context, UrlRewriter};
pub use verbatim::VERBATIM_PARAMETER;

use budget::{Budget, Meter, Reading, Step, Stepped};
use csp::InlineLocks;
use decode::Decoder;
use encode::Encoder;
use html::{HtmlOptions, HtmlOutcome, HtmlStage, Injection};
use std::io::{self, Read, Write};
use text::TextRewriter;
use utf16::{ByteOrder, Utf16Html, Utf16Writer};

/// Everything the pipeline needs to know about one response body.
///
/// ```
/// use sluice_edge::pipeline::{ContentKind, Encoding, Params};
/// let params = Params::new("www.publisher.example", "https", "proxy.example")
///     .with_kind(ContentKind::from_content_type("text/css"))
///     .with_encoding(Encoding::Gzip);
/// assert_eq!(params.kind(), ContentKind::Css);
/// ```
#[derive(Debug, Clone)]
pub struct Params {
    urls: UrlRewriter,
    kind: ContentKind,
    encoding: Option<Encoding>,
    output: Option<Encoding>,
    inject_script: Option<String>,
    charset: Option<String>,
    locks: InlineLocks,
    nextjs: bool,
    settings: PipelineSettings,
    budget: Option<BudgetSettings>,
    /// Off only for the reference the HTML stage's host gate is tested against
    /// ([`parts::process_reading_every_tag`]).
    host_gate: bool,
}

impl Params {
    /// Rewrites `origin_host`'s URLs to `proxy_scheme://proxy_host`. By default the body is
    /// identity-encoded and of [`ContentKind::Other`] (copied untouched).
    pub fn new(origin_host: &str, proxy_scheme: &str, proxy_host: &str) -> Self {
        Self::with_rewriter(UrlRewriter::new(origin_host, proxy_scheme, proxy_host))
    }

    /// [`new`](Self::new) with a rewriter already made.
    pub fn with_rewriter(urls: UrlRewriter) -> Self {
        Params {
            urls,
            kind: ContentKind::Other,
            encoding: Some(Encoding::Identity),
            output: None,
            inject_script: None,
            charset: None,
            locks: InlineLocks::default(),
            nextjs: false,
            settings: PipelineSettings::new(),
            budget: None,
            host_gate: true,
        }
    }

    /// What the body is.
    pub fn with_kind(mut self, kind: ContentKind) -> Self {
        self.kind = kind;
        self
    }

    /// The body's content coding; the output uses the same one.
    pub fn with_encoding(mut self, encoding: Encoding) -> Self {
        self.encoding = Some(encoding);
        self
    }

    /// The body's `Content-Encoding` header as the origin sent it. A coding the pipeline cannot
    /// decode (unknown, or several stacked) makes the body pass through byte for byte.
    pub fn with_content_encoding(mut self, header: Option<&str>) -> Self {
        self.encoding = Encoding::from_header(header);
        self
    }

    /// Writes the output in this encoding instead of the input's (decoded output for tests and
    /// the fuzz checks).
    pub fn with_output_encoding(mut self, encoding: Encoding) -> Self {
        self.output = Some(encoding);
        self
    }

    /// The `src` of a `<script>` tag to insert at the start of `<head>` of HTML documents.
    /// An empty string injects nothing.
    pub fn with_inject_script(mut self, src: &str) -> Self {
        self.inject_script = (!src.is_empty()).then(|| src.to_owned());
        self
    }

    /// The document's charset label from `Content-Type` (`utf-8`, `iso-8859-1`, ...). A
    /// `<meta charset>` in the document is honoured as well.
    pub fn with_charset(mut self, label: Option<&str>) -> Self {
        self.charset = label.map(str::to_owned);
        self
    }

    /// What the response's Content-Security-Policy pins by hash: that inline content is left
    /// as it is (a `<meta>` policy in the document adds to it).
    pub fn with_inline_locks(mut self, locks: InlineLocks) -> Self {
        self.locks = locks;
        self
    }

    /// Turns the Next.js post-processor on: bare hosts in `<script id="__NEXT_DATA__">` JSON and
    /// in scripts' flight data are rewritten as they stream (see [`nextjs`]).
    pub fn with_nextjs(mut self) -> Self {
        self.nextjs = true;
        self
    }

    /// A CPU budget for the response, in vCPU ms in all, with the origin body's length when it
    /// is known (see [`budget`]): read through the [`Meter`] that
    /// [`process_response_metered`] is given.
    pub fn with_budget(mut self, limit_ms: u64, origin_length: Option<u64>) -> Self {
        self.budget = Some(BudgetSettings {
            limit_ms,
            origin_length,
        });
        self
    }

    /// Codec settings and limits.
    pub fn with_settings(mut self, settings: PipelineSettings) -> Self {
        self.settings = settings;
        self
    }

    /// The content kind.
    pub fn kind(&self) -> ContentKind {
        self.kind
    }

    /// The URL rewriter.
    pub fn urls(&self) -> &UrlRewriter {
        &self.urls
    }

    /// The settings.
    pub fn settings(&self) -> &PipelineSettings {
        &self.settings
    }

    fn html_encoding(&self) -> &'static encoding_rs::Encoding {
        self.charset
            .as_deref()
            .and_then(|label| encoding_rs::Encoding::for_label(label.trim().as_bytes()))
            .unwrap_or(encoding_rs::UTF_8)
    }

    pub(crate) fn html_options(&self) -> HtmlOptions {
        HtmlOptions {
            urls: self.urls.clone(),
            // In a document that is not UTF-8 the browser would decode the script in the
            // document's encoding unless told otherwise (a UTF-16 page makes any script served
            // without a charset unreadable), so there the tag says `charset="utf-8"`.
            inject: self.inject_script.as_deref().map(|src| Injection {
                src: escape_attribute(src),
                transcoded: false,
            }),
            encoding: self.html_encoding(),
            adjust_charset: true,
            max_memory: self.settings.max_html_memory_bytes(),
            locks: self.locks.clone(),
            nextjs: self.nextjs,
            host_gate: self.host_gate,
        }
    }
}

/// A response's CPU budget ([`Params::with_budget`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BudgetSettings {
    limit_ms: u64,
    origin_length: Option<u64>,
}

/// A [`Meter`] without a clock: no budget is ever read.
struct NoClock;

impl Meter for NoClock {
    fn elapsed_ms(&mut self) -> Option<u64> {
        None
    }

    fn stepped(&mut self, _: &Stepped) {}
}

/// What one run of the pipeline did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Bytes read from the origin (encoded).
    pub bytes_in: u64,
    /// Bytes after decoding.
    pub decoded_bytes: u64,
    /// Bytes written to the client (encoded).
    pub bytes_out: u64,
    /// Origin reads that returned data; each was followed by a flush.
    pub chunks: u64,
    /// Attribute values and text nodes that were rewritten.
    pub rewrites: u64,
    /// Whether the script tag was injected.
    pub injected: bool,
    /// Whether the body was copied untouched (unknown content coding, or content not rewritten).
    pub passed_through: bool,
    /// What the CPU budget gave up, in order.
    pub steps: Vec<Stepped>,
}

/// Streams `origin_body` through decode, rewrite and re-encode into `out`.
///
/// Reads until the origin body ends; after each read the output is flushed, so what the origin
/// has sent so far reaches the client in a decodable form. On error, what was already written
/// stays written: the caller must then abandon the response (see the module docs of the edge's
/// lifecycle), never end it cleanly.
///
/// ```
/// use sluice_edge::pipeline::{process_response_streaming, ContentKind, Params};
/// let params = Params::new("www.publisher.example", "https", "proxy.example")
///     .with_kind(ContentKind::JavaScript);
/// let mut out = Vec::new();
/// let stats = process_response_streaming(
///     &b"load('//www.publisher.example/a.js')"[..],
///     &mut out,
///     &params,
/// ).unwrap();
/// assert_eq!(out, b"load('//proxy.example/a.js')");
/// assert_eq!(stats.rewrites, 1);
/// ```
pub fn process_response_streaming<R: Read, W: Write>(
    origin_body: R,
    out: &mut W,
    params: &Params,
) -> Result<Stats, PipelineError> {
    process_response_metered(origin_body, out, params, &mut NoClock)
}

/// [`process_response_streaming`] under the response's CPU budget ([`Params::with_budget`]):
/// every [`budget::READING_EVERY`] decoded bytes it reads `meter`, and takes the steps the
/// budget calls for (see [`budget`]), telling `meter` of each. Without a budget, or a meter that
/// cannot read the clock, it is the same.
///
/// ```
/// use sluice_edge::pipeline::budget::{Meter, Step, Stepped};
/// use sluice_edge::pipeline::{process_response_metered, ContentKind, Encoding, Params};
/// /// A clock that says 10 ms have passed for every 64 KiB decoded: far too slow for 50 ms.
/// struct Slow(u64, Vec<Step>);
/// impl Meter for Slow {
///     fn elapsed_ms(&mut self) -> Option<u64> { self.0 += 20; Some(self.0) }
///     fn stepped(&mut self, stepped: &Stepped) { self.1.push(stepped.step) }
/// }
/// let page = "<p><a href=\"https://www.publisher.example/a\">a</a></p>".repeat(40_000);
/// let params = Params::new("www.publisher.example", "https", "proxy.example")
///     .with_kind(ContentKind::Html)
///     .with_output_encoding(Encoding::Gzip)
///     .with_budget(50, Some(page.len() as u64));
/// let mut meter = Slow(0, Vec::new());
/// let mut out = Vec::new();
/// let stats = process_response_metered(page.as_bytes(), &mut out, &params, &mut meter).unwrap();
/// assert_eq!(meter.1, [Step::Stored, Step::TextRewrite]);
/// assert_eq!(stats.rewrites, 40_000);
/// ```
pub fn process_response_metered<R: Read, W: Write>(
    origin_body: R,
    out: &mut W,
    params: &Params,
    meter: &mut dyn Meter,
) -> Result<Stats, PipelineError> {
    run(origin_body, out, params, meter, &[])
}

/// The pipeline, with `first_steps` of the budget taken before the first byte (what each step
/// costs is measured so: [`parts::process_stepped`]).
fn run<R: Read, W: Write>(
    mut origin_body: R,
    out: &mut W,
    params: &Params,
    meter: &mut dyn Meter,
    first_steps: &[Step],
) -> Result<Stats, PipelineError> {
    let mut stats = Stats::default();
    let settings = &params.settings;
    let mut sink = ClientSink { out, written: 0 };
    let (Some(encoding), true) = (params.encoding, params.kind.is_rewritten()) else {
        stats.passed_through = true;
        copy_untouched(&mut origin_body, &mut sink, &mut stats)?;
        stats.bytes_out = sink.written;
        return Ok(stats);
    };
    let output = params.output.unwrap_or(encoding);
    let encoder = Encoder::new(output, settings.encoder(), &mut sink);
    let rewriter = Rewriter::new(params, encoder);
    let mut decoder = Decoder::new(encoding, settings.max_decoded_bytes(), rewriter);
    let mut budget = params.budget.map(|b| {
        Budget::new(
            b.limit_ms,
            params.kind,
            encoding,
            output,
            settings.gzip_level(),
        )
        .with_length(b.origin_length)
    });
    if let Some(budget) = &mut budget
        && let Some(elapsed_ms) = meter.elapsed_ms()
    {
        budget.start(elapsed_ms);
    }

    let chain = |e| PipelineError::from_io(e, |e| PipelineError::Rewrite(e.to_string()));
    for &step in first_steps {
        decoder.next_mut().step_down(step).map_err(chain)?;
    }
    let mut buffer = vec![0; settings.read_buffer_bytes()];
    loop {
        let n = match origin_body.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(PipelineError::Origin(e)),
        };
        stats.bytes_in += n as u64;
        stats.chunks += 1;
        decoder.write_all(&buffer[..n]).map_err(chain)?;
        decoder.flush().map_err(chain)?;
        if let Some(budget) = &mut budget
            && budget.wants_reading(decoder.decoded())
            && let Some(elapsed_ms) = meter.elapsed_ms()
        {
            let reading = Reading {
                elapsed_ms,
                decoded: decoder.decoded(),
                read: stats.bytes_in,
            };
            for stepped in budget.observe(reading) {
                decoder.next_mut().step_down(stepped.step).map_err(chain)?;
                meter.stepped(&stepped);
                stats.steps.push(stepped);
            }
            if let Some(overrun) = budget.overrun(reading) {
                meter.overrun(&overrun);
            }
        }
    }
    stats.decoded_bytes = decoder.decoded();
    let rewriter = decoder.finish().map_err(chain)?;
    let (encoder, outcome) = rewriter.finish().map_err(chain)?;
    encoder.finish().map_err(chain)?.flush().map_err(chain)?;
    stats.rewrites = outcome.rewrites;
    stats.injected = outcome.injected;
    stats.bytes_out = sink.written;
    Ok(stats)
}

/// Runs the pipeline over a whole body at once: the one-shot form of
/// [`process_response_streaming`], for tests.
pub fn process(body: &[u8], params: &Params) -> Result<Vec<u8>, PipelineError> {
    let mut out = Vec::with_capacity(body.len() + body.len() / 8);
    process_response_streaming(body, &mut out, params)?;
    Ok(out)
}

/// Whether the first bytes of a body decode in its encoding: `Err` when they are already
/// corrupt, `Ok` when they decode or simply end early. The streaming path asks this of the
/// origin's first chunk before it commits the head, so a body that is bad from its first byte
/// gets a 502 instead of a 200 that stops at once.
///
/// ```
/// use sluice_edge::pipeline::{check_start, Encoding};
/// assert!(check_start(Encoding::Gzip, b"not gzip at all").is_err());
/// assert!(check_start(Encoding::Gzip, &[0x1f, 0x8b, 8, 0]).is_ok());
/// ```
pub fn check_start(encoding: Encoding, prefix: &[u8]) -> Result<(), PipelineError> {
    let mut decoder = Decoder::probe(encoding, FirstDecodedBytes::up_to(CHECKED_START_BYTES));
    match decoder.write_all(prefix) {
        Ok(()) => Ok(()),
        // The start decodes: the rest is the pipeline's to read, once.
        Err(e) if e.get_ref().is_some_and(|inner| inner.is::<EnoughDecoded>()) => Ok(()),
        Err(e) => Err(PipelineError::from_io(e, |e| {
            PipelineError::Rewrite(e.to_string())
        })),
    }
}

/// How many decoded bytes [`check_start`] looks at: a body corrupt from its first byte fails
/// long before, and the check costs a fraction of a read instead of a second decode of it.
const CHECKED_START_BYTES: usize = 4 * 1024;

/// How much of a body [`decoded_ratio`] decodes to say how far it expands: enough to see past
/// a first few kilobytes that compress unlike the rest, cheap enough to throw away.
const RATIO_SAMPLE_BYTES: usize = 256 * 1024;

/// How many times its size the start of a body decodes to: `prefix` (the origin's first chunk)
/// is fed a kilobyte at a time until [`RATIO_SAMPLE_BYTES`] are decoded or it ends. `None` when
/// it does not decode or holds nothing. What the CPU budget estimates a body's decoded size by,
/// before the head is committed.
///
/// ```
/// use sluice_edge::pipeline::{decoded_ratio, encode, Encoding, PipelineSettings};
/// let page = "<p>the same words</p>".repeat(20_000);
/// let gzip = encode(Encoding::Gzip, page.as_bytes(), &PipelineSettings::new()).unwrap();
/// assert!(decoded_ratio(Encoding::Gzip, &gzip).unwrap() > 50.0);
/// assert_eq!(decoded_ratio(Encoding::Identity, b"abc"), Some(1.0));
/// ```
pub fn decoded_ratio(encoding: Encoding, prefix: &[u8]) -> Option<f64> {
    if prefix.is_empty() {
        return None;
    }
    if encoding == Encoding::Identity {
        return Some(1.0);
    }
    let mut decoder = Decoder::probe(encoding, FirstDecodedBytes::up_to(RATIO_SAMPLE_BYTES));
    let mut fed = 0;
    for slice in prefix.chunks(1024) {
        fed += slice.len();
        match decoder.write_all(slice) {
            Ok(()) => {}
            Err(e) if e.get_ref().is_some_and(|inner| inner.is::<EnoughDecoded>()) => break,
            Err(_) => return None,
        }
    }
    Some(decoder.decoded() as f64 / fed as f64)
}

/// Takes the first decoded bytes of a body, then stops the decoder with [`EnoughDecoded`].
struct FirstDecodedBytes {
    taken: usize,
    limit: usize,
}

impl FirstDecodedBytes {
    fn up_to(limit: usize) -> Self {
        FirstDecodedBytes { taken: 0, limit }
    }
}

#[derive(Debug)]
struct EnoughDecoded;

impl std::fmt::Display for EnoughDecoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the start of the body decodes")
    }
}

impl std::error::Error for EnoughDecoded {}

impl Write for FirstDecodedBytes {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.taken >= self.limit {
            return Err(io::Error::other(EnoughDecoded));
        }
        self.taken += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Encodes a whole body the way the pipeline encodes its output (for tests, benchmarks and the
/// fuzz checks).
pub fn encode(
    encoding: Encoding,
    raw: &[u8],
    settings: &PipelineSettings,
) -> Result<Vec<u8>, PipelineError> {
    parts::encode_only(encoding, raw, settings)
}

fn copy_untouched<R: Read, W: Write>(
    origin: &mut R,
    sink: &mut ClientSink<W>,
    stats: &mut Stats,
) -> Result<(), PipelineError> {
    let mut buffer = vec![0; 16 * 1024];
    loop {
        let n = match origin.read(&mut buffer) {
            Ok(0) => return sink.flush().map_err(PipelineError::Client),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(PipelineError::Origin(e)),
        };
        stats.bytes_in += n as u64;
        stats.decoded_bytes += n as u64;
        stats.chunks += 1;
        sink.write_all(&buffer[..n])
            .and_then(|()| sink.flush())
            .map_err(|e| PipelineError::from_io(e, PipelineError::Client))?;
    }
}

/// The rewriting stage for the body's kind.
enum Rewriter<W: Write> {
    /// HTML before its first three bytes: a byte-order mark decides how the document is read,
    /// over any header or `<meta>`, as in browsers (a UTF-8 mark under a UTF-16 label is UTF-8).
    HtmlStart {
        start: Vec<u8>,
        options: Box<HtmlOptions>,
        next: Option<W>,
        /// The CPU budget asked for the text rewrite before the document began.
        as_text: bool,
    },
    Html(Box<HtmlStage<W>>),
    Utf16Html(Box<Utf16Html<W>>),
    Text(Box<TextRewriter<W>>),
}

impl<W: Write> Rewriter<W> {
    fn new(params: &Params, next: W) -> Self {
        match params.kind {
            ContentKind::Html => Rewriter::HtmlStart {
                start: Vec::with_capacity(BOM_BYTES),
                options: Box::new(params.html_options()),
                next: Some(next),
                as_text: false,
            },
            _ => Rewriter::Text(Box::new(TextRewriter::new(params.urls.clone(), next))),
        }
    }

    /// Chooses the HTML stage by the document's first bytes (a byte-order mark, else the
    /// charset), and hands it those bytes.
    fn start_html(&mut self) -> io::Result<()> {
        let Rewriter::HtmlStart {
            start,
            options,
            next,
            as_text,
        } = self
        else {
            return Ok(());
        };
        let as_text = *as_text;
        let start = std::mem::take(start);
        let next = next.take().expect("an HTML start is left once");
        let utf8_mark = start.starts_with(UTF8_BOM);
        let order = match utf8_mark {
            true => None,
            false => ByteOrder::of_bom(&start).or_else(|| ByteOrder::of_encoding(options.encoding)),
        };
        *self = match order {
            Some(order) => {
                let utf8 = HtmlOptions {
                    encoding: encoding_rs::UTF_8,
                    adjust_charset: false,
                    inject: options.inject.clone().map(|inject| Injection {
                        transcoded: true,
                        ..inject
                    }),
                    ..(**options).clone()
                };
                let html = HtmlStage::new(utf8, Utf16Writer::new(order, next));
                Rewriter::Utf16Html(Box::new(Utf16Html::new(html, order)))
            }
            // The mark wins over the label and over any `<meta>` that follows.
            None if utf8_mark => {
                let utf8 = HtmlOptions {
                    encoding: encoding_rs::UTF_8,
                    adjust_charset: false,
                    ..(**options).clone()
                };
                Rewriter::Html(Box::new(HtmlStage::new(utf8, next)))
            }
            None => Rewriter::Html(Box::new(HtmlStage::new((**options).clone(), next))),
        };
        if as_text && let Rewriter::Html(stage) = self {
            stage.rewrite_rest_as_text()?;
        }
        self.write_all(&start)
    }

    fn finish(mut self) -> io::Result<(W, HtmlOutcome)> {
        self.start_html()?;
        match self {
            Rewriter::HtmlStart { .. } => unreachable!("started above"),
            Rewriter::Html(stage) => stage.finish(),
            Rewriter::Utf16Html(stage) => stage.finish(),
            Rewriter::Text(stage) => {
                let rewrites = stage.rewrites();
                let outcome = HtmlOutcome {
                    rewrites,
                    ..HtmlOutcome::default()
                };
                Ok((stage.finish()?, outcome))
            }
        }
    }
}

impl<S: Write> Rewriter<Encoder<S>> {
    /// Takes one of the CPU budget's steps: the text rewrite is the HTML stage's (a UTF-16 page
    /// keeps its HTML rewrite: it is transcoded through it), the others the encoder's.
    fn step_down(&mut self, step: Step) -> io::Result<()> {
        if step == Step::TextRewrite {
            return match self {
                Rewriter::Html(stage) => stage.rewrite_rest_as_text(),
                Rewriter::HtmlStart { as_text, .. } => {
                    *as_text = true;
                    Ok(())
                }
                _ => Ok(()),
            };
        }
        let encoder = match self {
            Rewriter::HtmlStart { next, .. } => next.as_mut(),
            Rewriter::Html(stage) => Some(stage.next_mut()),
            Rewriter::Utf16Html(stage) => Some(stage.next_mut()),
            Rewriter::Text(stage) => Some(stage.next_mut()),
        };
        encoder.map_or(Ok(()), |encoder| encoder.step_down(step))
    }
}

impl<W: Write> Write for Rewriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Rewriter::HtmlStart { start, .. } => {
                let take = (BOM_BYTES - start.len()).min(buf.len());
                start.extend_from_slice(&buf[..take]);
                if start.len() == BOM_BYTES {
                    self.start_html()?;
                    self.write_all(&buf[take..])?;
                }
                Ok(buf.len())
            }
            Rewriter::Html(stage) => stage.write(buf),
            Rewriter::Utf16Html(stage) => stage.write(buf),
            Rewriter::Text(stage) => stage.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Rewriter::HtmlStart { next, .. } => next.as_mut().map_or(Ok(()), Write::flush),
            Rewriter::Html(stage) => stage.flush(),
            Rewriter::Utf16Html(stage) => stage.flush(),
            Rewriter::Text(stage) => stage.flush(),
        }
    }
}

/// The longest byte-order mark: UTF-8's.
const BOM_BYTES: usize = 3;
const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";

/// The client end of the pipeline: counts bytes and tags failures as the client's.
struct ClientSink<'a, W> {
    out: &'a mut W,
    written: u64,
}

impl<W: Write> Write for ClientSink<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self
            .out
            .write(buf)
            .map_err(|e| io::Error::from(PipelineError::Client(e)))?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out
            .flush()
            .map_err(|e| PipelineError::Client(e).into())
    }
}

/// The `charset` parameter of a `Content-Type` value (or a `<meta http-equiv>`'s content),
/// unquoted.
///
/// ```
/// use sluice_edge::pipeline::charset_parameter;
/// assert_eq!(charset_parameter("text/html; Charset='utf-8'"), Some("utf-8"));
/// ```
pub fn charset_parameter(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches(['"', '\'']))
    })
}

fn escape_attribute(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
}
