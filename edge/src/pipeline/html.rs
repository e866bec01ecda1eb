//! The HTML stage: lol_html rewrites URLs and injects the script tag as the document streams by.
//!
//! The rewriting rules are data: a table of URL-valued attributes and a handful of selectors,
//! turned into lol_html handlers in [`handlers`]. lol_html's output sink cannot fail, so it
//! appends to a buffer that this stage drains into the next stage (the encoder) once it holds
//! [`OUTPUT_BATCH`] bytes or when the pipeline flushes; lol_html's many tiny writes then reach
//! the encoder as a few large ones.
//!
//! Where this differs from lol_html's defaults: a rewriting error (for example the memory limit)
//! fails the stage instead of passing the rest of the document through unchanged, because a page
//! half-rewritten without anyone knowing is the silent corruption Sluice must not produce.

use super::text::TextRewriter;
use super::{PipelineError, UrlRewriter};
use lol_html::html_content::{ContentType, Element, TextChunk};
use lol_html::{
    AsciiCompatibleEncoding, HtmlRewriter, MemorySettings, Settings, element, end, text,
};
use std::cell::{Cell, RefCell};
use std::io::{self, Write};
use std::rc::Rc;

/// lol_html's output is passed on in batches of about this many bytes.
pub(crate) const OUTPUT_BATCH: usize = 16 * 1024;

/// Attributes whose whole value is a URL (or, for `srcset`, a list of them).
const URL_ATTRIBUTES: [&str; 8] = [
    "href",
    "src",
    "action",
    "formaction",
    "srcset",
    "imagesrcset",
    "poster",
    "data",
];

/// What the HTML stage needs to know about the document.
#[derive(Clone, Debug)]
pub(crate) struct HtmlOptions {
    pub urls: UrlRewriter,
    /// A complete tag to insert at the start of `<head>` (already escaped).
    pub inject: Option<String>,
    pub encoding: &'static encoding_rs::Encoding,
    pub max_memory: usize,
}

#[derive(Default)]
struct Counters {
    rewrites: Cell<u64>,
    injected: Cell<bool>,
}

impl Counters {
    fn add_rewrites(&self, n: u64) {
        self.rewrites.set(self.rewrites.get() + n);
    }
}

pub(crate) struct HtmlStage<W> {
    rewriter: HtmlRewriter<'static, OutputBuffer>,
    output: Rc<RefCell<Vec<u8>>>,
    counters: Rc<Counters>,
    next: W,
}

struct OutputBuffer(Rc<RefCell<Vec<u8>>>);

impl lol_html::OutputSink for OutputBuffer {
    fn handle_chunk(&mut self, chunk: &[u8]) {
        self.0.borrow_mut().extend_from_slice(chunk);
    }
}

impl<W: Write> HtmlStage<W> {
    pub(crate) fn new(options: HtmlOptions, next: W) -> Self {
        let output = Rc::new(RefCell::new(Vec::with_capacity(OUTPUT_BATCH * 2)));
        let counters = Rc::new(Counters::default());
        let encoding = AsciiCompatibleEncoding::new(options.encoding)
            .unwrap_or_else(AsciiCompatibleEncoding::utf_8);
        let mut settings = Settings::new()
            .with_encoding(encoding)
            .with_adjust_charset_on_meta_tag(true)
            .with_memory_settings(
                MemorySettings::new().with_max_allowed_memory_usage(options.max_memory),
            );
        for handler in handlers(&options, &counters) {
            settings = settings.append_element_content_handler(handler);
        }
        let inject = options.inject.clone();
        let end_counters = Rc::clone(&counters);
        settings = settings.append_document_content_handler(end!(move |end| {
            // A document with neither <head> nor <body> gets the tag at its end.
            if let Some(tag) = inject.as_deref().filter(|_| !end_counters.injected.get()) {
                end.append(tag, ContentType::Html);
                end_counters.injected.set(true);
            }
            Ok(())
        }));
        HtmlStage {
            rewriter: HtmlRewriter::new(settings, OutputBuffer(Rc::clone(&output))),
            output,
            counters,
            next,
        }
    }

    fn drain(&mut self, at_least: usize) -> io::Result<()> {
        let mut output = self.output.borrow_mut();
        if output.len() >= at_least && !output.is_empty() {
            self.next.write_all(&output)?;
            output.clear();
        }
        Ok(())
    }

    pub(crate) fn finish(mut self) -> io::Result<(W, u64, bool)> {
        let counters = Rc::clone(&self.counters);
        self.rewriter.end().map_err(rewrite_error)?;
        let rest = std::mem::take(&mut *self.output.borrow_mut());
        self.next.write_all(&rest)?;
        Ok((self.next, counters.rewrites.get(), counters.injected.get()))
    }
}

impl<W: Write> Write for HtmlStage<W> {
    fn write(&mut self, chunk: &[u8]) -> io::Result<usize> {
        self.rewriter.write(chunk).map_err(rewrite_error)?;
        self.drain(OUTPUT_BATCH)?;
        Ok(chunk.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.drain(0)?;
        self.next.flush()
    }
}

fn rewrite_error(error: lol_html::errors::RewritingError) -> io::Error {
    PipelineError::Rewrite(error.to_string()).into()
}

type Handler = (
    std::borrow::Cow<'static, lol_html::Selector>,
    lol_html::ElementContentHandlers<'static>,
);

/// The rewriting rules, as lol_html handlers.
fn handlers(options: &HtmlOptions, counters: &Rc<Counters>) -> Vec<Handler> {
    let mut handlers = Vec::new();

    for attribute in URL_ATTRIBUTES {
        let (urls, counters) = (options.urls.clone(), Rc::clone(counters));
        let selector = format!("[{attribute}]");
        handlers.push(element!(selector, move |el: &mut Element| {
            rewrite_attribute(el, attribute, &urls, &counters, true);
            Ok(())
        }));
    }

    // <meta http-equiv="refresh" content="0; url=...">, og:url, twitter:image and the like.
    let (urls, meta_counters) = (options.urls.clone(), Rc::clone(counters));
    handlers.push(element!("meta[content]", move |el: &mut Element| {
        rewrite_attribute(el, "content", &urls, &meta_counters, false);
        Ok(())
    }));

    for raw_text_element in ["script", "style"] {
        let counters = Rc::clone(counters);
        let inline = RefCell::new(InlineText::new(options.urls.clone()));
        handlers.push(text!(raw_text_element, move |chunk: &mut TextChunk| {
            inline.borrow_mut().rewrite(chunk, &counters);
            Ok(())
        }));
    }

    if let Some(tag) = &options.inject {
        for (selector, tag) in [("head", tag.clone()), ("body", tag.clone())] {
            // <head> first; a document without one gets the tag at the start of <body>.
            let counters = Rc::clone(counters);
            handlers.push(element!(selector, move |el: &mut Element| {
                if !counters.injected.replace(true) {
                    el.prepend(&tag, ContentType::Html);
                }
                Ok(())
            }));
        }
    }
    handlers
}

fn rewrite_attribute(
    el: &mut Element,
    name: &str,
    urls: &UrlRewriter,
    counters: &Counters,
    whole_value_is_url: bool,
) {
    let Some(value) = el.get_attribute(name) else {
        return;
    };
    let rewritten = if whole_value_is_url {
        urls.rewrite_attribute(&value)
    } else {
        urls.rewrite_text(&value)
    };
    if rewritten != value {
        // The name came from the element itself, so it is a valid attribute name.
        let _ = el.set_attribute(name, &rewritten);
        counters.add_rewrites(1);
    }
}

/// Inline script and style text, rewritten as it streams by.
///
/// The text of one element arrives in pieces, and a URL may straddle two of them. Each piece
/// goes through the same streaming replacer as JavaScript and CSS bodies, which holds back only
/// the few bytes that could still be the start of an origin URL; the rest is written in place of
/// the piece at once. So a 20 MB inline script costs a few dozen bytes of memory, not 20 MB, and
/// its bytes keep flowing. What is written back to lol_html must be whole characters: a
/// multi-byte character the replacer cut in two waits for the next piece as well.
struct InlineText {
    urls: UrlRewriter,
    rewriter: TextRewriter<Vec<u8>>,
    /// The start of a character cut at the end of the last piece's output.
    partial: Vec<u8>,
}

impl InlineText {
    fn new(urls: UrlRewriter) -> Self {
        InlineText {
            rewriter: TextRewriter::new(urls.clone(), Vec::new()),
            urls,
            partial: Vec::new(),
        }
    }

    fn rewrite(&mut self, chunk: &mut TextChunk, counters: &Counters) {
        let before = self.rewriter.rewrites();
        // Writing into a Vec cannot fail.
        let _ = self.rewriter.write_all(chunk.as_str().as_bytes());
        let mut out = std::mem::take(&mut self.partial);
        if chunk.last_in_text_node() {
            // The element ends: everything held back is decided now, and the next element
            // starts afresh.
            let fresh = TextRewriter::new(self.urls.clone(), Vec::new());
            let rewriter = std::mem::replace(&mut self.rewriter, fresh);
            counters.add_rewrites(rewriter.rewrites() - before);
            out.extend(rewriter.finish().unwrap_or_default());
        } else {
            counters.add_rewrites(self.rewriter.rewrites() - before);
            out.append(self.rewriter.next_mut());
            let whole = match std::str::from_utf8(&out) {
                Ok(_) => out.len(),
                Err(e) => e.valid_up_to(),
            };
            self.partial = out.split_off(whole);
        }
        // The input was text and only ASCII was replaced, and `out` ends on a whole character.
        chunk.set_str(String::from_utf8(out).unwrap_or_default());
    }
}
