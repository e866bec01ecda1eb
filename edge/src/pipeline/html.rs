//! The HTML stage: lol_html rewrites URLs and injects the script tag as the document streams by.
//!
//! The rewriting rules are data: tables of attributes ([`URL_ATTRIBUTES`], [`TEXT_ATTRIBUTES`])
//! and a handful of selectors, turned into lol_html handlers in [`handlers`]. lol_html's output
//! sink cannot fail, so it appends to a buffer that this stage drains into the next stage (the
//! encoder) once it holds [`OUTPUT_BATCH`] bytes or when the pipeline flushes; lol_html's many
//! tiny writes then reach the encoder as a few large ones.
//!
//! What the page asked to keep as it is, stays as it is:
//! - an element with `integrity` (Subresource Integrity) names a resource whose bytes the
//!   browser checks: its URL is pointed at the proxy with a [`VERBATIM_PARAMETER`], which makes
//!   Sluice pass that resource through untouched (see `policy::request::take_verbatim`);
//! - inline text a Content-Security-Policy pins by hash ([`InlineLocks`]) is not rewritten.
//!
//! Where this differs from lol_html's defaults: a rewriting error (for example the memory limit)
//! fails the stage instead of passing the rest of the document through unchanged, because a page
//! half-rewritten without anyone knowing is the silent corruption Sluice must not produce.

use super::csp::{self, InlineLocks};
use super::inline::InlineText;
use super::nextjs::{NEXT_DATA_ID, NextData, Piece};
use super::{PipelineError, UrlRewriter};
use lol_html::html_content::{ContentType, Element, TextChunk};
use lol_html::{
    AsciiCompatibleEncoding, HtmlRewriter, MemorySettings, Settings, doctype, element, end, text,
};
use std::cell::{Cell, RefCell};
use std::io::{self, Write};
use std::rc::Rc;

/// lol_html's output is passed on in batches of about this many bytes.
pub(crate) const OUTPUT_BATCH: usize = 64 * 1024;

/// The query parameter that marks a URL whose resource must reach the browser byte for byte.
pub const VERBATIM_PARAMETER: &str = "sluice-verbatim=1";

/// Attributes whose whole value is a URL, or a list of URLs (`srcset`, `ping`).
const URL_ATTRIBUTES: [&str; 12] = [
    "href",
    "src",
    "action",
    "formaction",
    "srcset",
    "imagesrcset",
    "poster",
    "data",
    "data-src",
    "data-srcset",
    "background",
    "ping",
];

/// Attributes whose value is text that may hold URLs: CSS (`style`), a document
/// (`<iframe srcdoc>`).
const TEXT_ATTRIBUTES: [(&str, &str); 2] = [("[style]", "style"), ("iframe[srcdoc]", "srcdoc")];

/// What the HTML stage needs to know about the document.
#[derive(Clone, Debug)]
pub(crate) struct HtmlOptions {
    pub urls: UrlRewriter,
    /// A complete tag to insert at the start of `<head>` (already escaped).
    pub inject: Option<String>,
    /// The tag to insert when the document turns out to be UTF-16 (it names its charset).
    pub inject_in_utf16: Option<String>,
    pub encoding: &'static encoding_rs::Encoding,
    /// Follow a `<meta charset>` that differs from `encoding`.
    pub adjust_charset: bool,
    pub max_memory: usize,
    /// What the response's Content-Security-Policy pins by hash.
    pub locks: InlineLocks,
    /// The Next.js post-processor, with the most `__NEXT_DATA__` text it holds.
    pub next_data_cap: Option<usize>,
}

/// What the HTML stage did, for the pipeline's stats.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct HtmlOutcome {
    pub rewrites: u64,
    pub injected: bool,
    /// A `__NEXT_DATA__` element was larger than the cap and streamed without being parsed.
    pub next_data_over_cap: bool,
}

/// What the handlers share: counts for the stats, what the document is, and what the page's
/// policy pins.
#[derive(Default)]
struct Page {
    rewrites: Cell<u64>,
    injected: Cell<bool>,
    /// A doctype, `<html>`, `<head>` or `<body>` was seen: a document, not a fragment.
    document: Cell<bool>,
    locks: Cell<InlineLocks>,
    /// The `<script>` or `<style>` being read has a nonce (allowed whatever its text).
    nonce: Cell<bool>,
    /// The `<script id="__NEXT_DATA__">` being read, held by the Next.js post-processor.
    next_data: RefCell<Option<NextData>>,
    next_data_over_cap: Cell<bool>,
}

impl Page {
    fn add_rewrites(&self, n: u64) {
        self.rewrites.set(self.rewrites.get() + n);
    }

    fn lock(&self, more: InlineLocks) {
        self.locks.set(self.locks.get().union(more));
    }
}

pub(crate) struct HtmlStage<W> {
    rewriter: HtmlRewriter<'static, OutputBuffer>,
    output: Rc<RefCell<Vec<u8>>>,
    page: Rc<Page>,
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
        let page = Rc::new(Page::default());
        page.lock(options.locks);
        let encoding = AsciiCompatibleEncoding::new(options.encoding)
            .unwrap_or_else(AsciiCompatibleEncoding::utf_8);
        let mut settings = Settings::new()
            .with_encoding(encoding)
            .with_adjust_charset_on_meta_tag(options.adjust_charset)
            .with_memory_settings(
                MemorySettings::new().with_max_allowed_memory_usage(options.max_memory),
            );
        for handler in handlers(&options, &page) {
            settings = settings.append_element_content_handler(handler);
        }
        let doctype_page = Rc::clone(&page);
        settings = settings.append_document_content_handler(doctype!(move |_| {
            doctype_page.document.set(true);
            Ok(())
        }));
        let inject = options.inject.clone();
        let end_page = Rc::clone(&page);
        settings = settings.append_document_content_handler(end!(move |end| {
            // A document with neither <head> nor <body> gets the tag at its end; a fragment (an
            // XHR's `<li>...</li>`, an empty body) gets none.
            if let Some(tag) = inject.as_deref()
                && end_page.document.get()
                && !end_page.injected.get()
            {
                end.append(tag, ContentType::Html);
                end_page.injected.set(true);
            }
            Ok(())
        }));
        HtmlStage {
            rewriter: HtmlRewriter::new(settings, OutputBuffer(Rc::clone(&output))),
            output,
            page,
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

    pub(crate) fn finish(mut self) -> io::Result<(W, HtmlOutcome)> {
        let page = Rc::clone(&self.page);
        self.rewriter.end().map_err(rewrite_error)?;
        let rest = std::mem::take(&mut *self.output.borrow_mut());
        self.next.write_all(&rest)?;
        let outcome = HtmlOutcome {
            rewrites: page.rewrites.get(),
            injected: page.injected.get(),
            next_data_over_cap: page.next_data_over_cap.get(),
        };
        Ok((self.next, outcome))
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

/// lol_html alone, with the HTML stage's selectors and handlers that do nothing, writing into
/// nothing: the parsing and selector matching every rewrite pays, as a baseline for the
/// stage's own cost. Fed `pieces`, as the pipeline feeds the stage.
pub(crate) fn parse_only<'a>(
    options: &HtmlOptions,
    pieces: impl Iterator<Item = &'a [u8]>,
) -> Result<(), lol_html::errors::RewritingError> {
    let page = Rc::new(Page::default());
    let mut settings = Settings::new()
        .with_encoding(AsciiCompatibleEncoding::utf_8())
        .with_memory_settings(
            MemorySettings::new().with_max_allowed_memory_usage(options.max_memory),
        );
    for (selector, real) in handlers(options, &page) {
        let mut idle = lol_html::ElementContentHandlers::default();
        if real.element.is_some() {
            idle = idle.element(|_: &mut Element| Ok(()));
        }
        if real.text.is_some() {
            idle = idle.text(|_: &mut TextChunk| Ok(()));
        }
        settings = settings.append_element_content_handler((selector, idle));
    }
    settings = settings
        .append_document_content_handler(doctype!(|_| Ok(())))
        .append_document_content_handler(end!(|_| Ok(())));
    let mut rewriter = HtmlRewriter::new(settings, |_: &[u8]| {});
    for piece in pieces {
        rewriter.write(piece)?;
    }
    rewriter.end()
}

fn rewrite_error(error: lol_html::errors::RewritingError) -> io::Error {
    PipelineError::Rewrite(error.to_string()).into()
}

type Handler = (
    std::borrow::Cow<'static, lol_html::Selector>,
    lol_html::ElementContentHandlers<'static>,
);

/// The rewriting rules, as lol_html handlers.
fn handlers(options: &HtmlOptions, page: &Rc<Page>) -> Vec<Handler> {
    let mut handlers = Vec::new();

    // URL-valued attributes. `xlink:href` (SVG) needs its colon escaped in a selector.
    for (selector, attribute) in URL_ATTRIBUTES
        .iter()
        .map(|a| (format!("[{a}]"), *a))
        .chain([("[xlink\\:href]".to_owned(), "xlink:href")])
    {
        let (urls, page) = (options.urls.clone(), Rc::clone(page));
        handlers.push(element!(selector, move |el: &mut Element| {
            rewrite_url_attribute(el, attribute, &urls, &page);
            Ok(())
        }));
    }

    for (selector, attribute) in TEXT_ATTRIBUTES {
        let (urls, page) = (options.urls.clone(), Rc::clone(page));
        handlers.push(element!(selector, move |el: &mut Element| {
            if attribute != "style" || !page.locks.get().style_attributes {
                rewrite_text_attribute(el, attribute, &urls, &page);
            }
            Ok(())
        }));
    }

    // <meta http-equiv="refresh" content="0; url=...">, og:url, twitter:image and the like; a
    // policy in <meta http-equiv="content-security-policy"> is kept consistent, and what it
    // pins by hash is locked from here on.
    let (urls, meta_page) = (options.urls.clone(), Rc::clone(page));
    handlers.push(element!("meta[content]", move |el: &mut Element| {
        let is_policy = el
            .get_attribute("http-equiv")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("content-security-policy"));
        if !is_policy {
            rewrite_text_attribute(el, "content", &urls, &meta_page);
        } else if let Some(policy) = el.get_attribute("content") {
            meta_page.lock(InlineLocks::of(&policy));
            let _ = el.set_attribute("content", &csp::rewrite_policy(&policy, &urls));
        }
        Ok(())
    }));

    // Inline script and style text, and the markup inside <noscript> (which lol_html reads as
    // text). A nonce, and whether the script is Next.js data, are read from the start tag,
    // before the element's text.
    for element in ["script", "style"] {
        let page = Rc::clone(page);
        let (urls, cap) = (options.urls.clone(), options.next_data_cap);
        handlers.push(element!(element, move |el: &mut Element| {
            page.nonce.set(el.has_attribute("nonce"));
            let next_data = cap.filter(|_| {
                element == "script" && el.get_attribute("id").as_deref() == Some(NEXT_DATA_ID)
            });
            *page.next_data.borrow_mut() = next_data.map(|cap| NextData::new(urls.clone(), cap));
            Ok(())
        }));
    }
    for element in ["script", "style", "noscript"] {
        let page = Rc::clone(page);
        // With the Next.js post-processor, scripts also carry flight data (see `nextjs`).
        let urls = match (element, options.next_data_cap) {
            ("script", Some(_)) => options.urls.clone().with_quoted_hosts(),
            _ => options.urls.clone(),
        };
        let inline = RefCell::new(InlineText::new(urls));
        handlers.push(text!(element, move |chunk: &mut TextChunk| {
            rewrite_inline(chunk, element, &inline, &page);
            Ok(())
        }));
    }

    for element in ["html", "head", "body"] {
        let page = Rc::clone(page);
        handlers.push(element!(element, move |_: &mut Element| {
            page.document.set(true);
            Ok(())
        }));
    }
    if let Some(tag) = &options.inject {
        for (selector, tag) in [("head", tag.clone()), ("body", tag.clone())] {
            // <head> first; a document without one gets the tag at the start of <body>.
            let page = Rc::clone(page);
            handlers.push(element!(selector, move |el: &mut Element| {
                if !page.injected.replace(true) {
                    el.prepend(&tag, ContentType::Html);
                }
                Ok(())
            }));
        }
    }
    handlers
}

/// One piece of an inline element's text: held for the Next.js post-processor, left alone
/// where the page's policy pins it by hash, else rewritten as it streams.
fn rewrite_inline(chunk: &mut TextChunk, element: &str, inline: &RefCell<InlineText>, page: &Page) {
    let last = chunk.last_in_text_node();
    if element == "script"
        && let Some(next_data) = page.next_data.borrow_mut().as_mut()
    {
        match next_data.push(chunk.as_str(), last) {
            Piece::Held => chunk.remove(),
            Piece::Write(text, rewrites) => {
                chunk.set_str(text);
                page.add_rewrites(rewrites);
            }
        }
        if last && next_data.overflowed() {
            page.next_data_over_cap.set(true);
        }
        return;
    }
    let locks = page.locks.get();
    let pinned = match element {
        "script" => locks.scripts,
        "style" => locks.styles,
        _ => false,
    };
    // A nonce allows the element whatever its text.
    if pinned && !page.nonce.get() {
        return;
    }
    let (text, rewrites) = inline.borrow_mut().rewrite(chunk.as_str(), last);
    chunk.set_str(text);
    page.add_rewrites(rewrites);
}

/// A URL-valued attribute. On an element with `integrity` the URL is pointed at the proxy with
/// the verbatim marker, so the resource arrives with the bytes its hash was made of.
fn rewrite_url_attribute(el: &mut Element, name: &str, urls: &UrlRewriter, page: &Page) {
    let Some(value) = el.get_attribute(name) else {
        return;
    };
    let rewritten = urls.rewrite_attribute(&value);
    if rewritten == value {
        return;
    }
    let rewritten = if el.has_attribute("integrity") && matches!(name, "src" | "href") {
        mark_verbatim(&rewritten)
    } else {
        rewritten.into_owned()
    };
    // The name came from the element itself, so it is a valid attribute name.
    let _ = el.set_attribute(name, &rewritten);
    page.add_rewrites(1);
}

fn rewrite_text_attribute(el: &mut Element, name: &str, urls: &UrlRewriter, page: &Page) {
    if let Some(value) = el.get_attribute(name)
        && let std::borrow::Cow::Owned(rewritten) = urls.rewrite_text(&value)
    {
        let _ = el.set_attribute(name, &rewritten);
        page.add_rewrites(1);
    }
}

/// `url` with [`VERBATIM_PARAMETER`] added to its query.
///
/// ```text
/// https://proxy.example/app.js      -> https://proxy.example/app.js?sluice-verbatim=1
/// https://proxy.example/a.css?v=2#x -> https://proxy.example/a.css?v=2&sluice-verbatim=1#x
/// ```
fn mark_verbatim(url: &str) -> String {
    let (resource, fragment) = match url.split_once('#') {
        Some((resource, fragment)) => (resource, Some(fragment)),
        None => (url, None),
    };
    let separator = if resource.contains('?') { '&' } else { '?' };
    let fragment = fragment.map(|f| format!("#{f}")).unwrap_or_default();
    format!("{resource}{separator}{VERBATIM_PARAMETER}{fragment}")
}
