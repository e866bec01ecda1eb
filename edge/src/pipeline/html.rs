//! The HTML stage: lol_html rewrites URLs and injects the script tag as the document streams by.
//!
//! The rewriting rules are data: tables of attributes ([`URL_ATTRIBUTES`], [`STYLE_ATTRIBUTE`])
//! and a handful of selectors, turned into lol_html handlers in [`handlers`]. An element's
//! attributes are read only when its start tag's bytes hold the origin host
//! ([`HostSightings`]): every other tag has nothing to rewrite. lol_html's output
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
use super::sightings::HostSightings;
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

/// Attributes whose whole value is a URL, or a list of URLs (`srcset`, `ping`), on any element.
const URL_ATTRIBUTES: [&str; 13] = [
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
    "xlink:href",
];

/// The attribute whose value is CSS that may hold URLs, on any element. (`<iframe srcdoc>`,
/// a document, and `<meta content>` have handlers of their own.)
const STYLE_ATTRIBUTE: &str = "style";

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
    /// Read the attributes of only the start tags that hold the origin host (see
    /// [`HostSightings`]). Off, every tag's are read: the reference the gate is tested against.
    pub host_gate: bool,
}

/// What the HTML stage did, for the pipeline's stats.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct HtmlOutcome {
    pub rewrites: u64,
    pub injected: bool,
    /// A `__NEXT_DATA__` element was larger than the cap and streamed without being parsed.
    pub next_data_over_cap: bool,
}

/// What the handlers share: counts for the stats, what the document is, what the page's
/// policy pins, and where the origin host appears in it.
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
    /// Fed by the stage before lol_html reads the same bytes; none when every tag is read.
    sightings: Option<RefCell<HostSightings>>,
}

impl Page {
    fn new(options: &HtmlOptions) -> Self {
        Page {
            rewrites: Cell::default(),
            injected: Cell::default(),
            document: Cell::default(),
            locks: Cell::default(),
            nonce: Cell::default(),
            next_data: RefCell::default(),
            next_data_over_cap: Cell::default(),
            sightings: options
                .host_gate
                .then(|| RefCell::new(HostSightings::new(options.urls.host_finder().clone()))),
        }
    }

    fn add_rewrites(&self, n: u64) {
        self.rewrites.set(self.rewrites.get() + n);
    }

    /// Whether the start tag at `source` (its bytes in the input) may hold the origin host.
    fn may_hold_host(&self, source: std::ops::Range<usize>) -> bool {
        self.sightings
            .as_ref()
            .is_none_or(|sightings| sightings.borrow_mut().contains_host(source))
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
        let page = Rc::new(Page::new(&options));
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
        if let Some(sightings) = &self.page.sightings {
            sightings.borrow_mut().scan(chunk);
        }
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
    let page = Rc::new(Page::new(options));
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

    // Every element's attributes, read in one pass, and only where the start tag holds the
    // origin host: one universal selector costs lol_html far less than a selector per
    // attribute name, each of which scans every tag's attributes.
    let (urls, attributes_page) = (options.urls.clone(), Rc::clone(page));
    handlers.push(element!("*", move |el: &mut Element| {
        if attributes_page.may_hold_host(el.source_location().bytes()) {
            rewrite_attributes(el, &urls, &attributes_page);
        }
        Ok(())
    }));
    let (urls, srcdoc_page) = (options.urls.clone(), Rc::clone(page));
    handlers.push(element!("iframe[srcdoc]", move |el: &mut Element| {
        rewrite_text_attribute(el, "srcdoc", &urls, &srcdoc_page);
        Ok(())
    }));

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

/// The element's URL-valued attributes ([`URL_ATTRIBUTES`]) and its `style` (unless the
/// page's policy pins style attributes by hash). On an element with `integrity` the URL is
/// pointed at the proxy with the verbatim marker, so the resource arrives with the bytes its
/// hash was made of.
fn rewrite_attributes(el: &mut Element, urls: &UrlRewriter, page: &Page) {
    let styles_pinned = page.locks.get().style_attributes;
    // Of repeated attributes the first is the one browsers keep and the one `set_attribute`
    // changes, so a name is looked at once: bit i stands for `URL_ATTRIBUTES[i]`, the next
    // for `style`.
    let mut seen = 0u32;
    let mut changes: Vec<(String, String)> = Vec::new();
    let mut verbatim = false;
    for attribute in el.attributes() {
        let name = attribute.name();
        verbatim |= name == "integrity";
        let Some(index) = URL_ATTRIBUTES
            .iter()
            .chain([&STYLE_ATTRIBUTE])
            .position(|known| *known == name)
        else {
            continue;
        };
        let is_style = index == URL_ATTRIBUTES.len();
        if seen & (1 << index) != 0 || (is_style && styles_pinned) {
            continue;
        }
        seen |= 1 << index;
        let value = attribute.value();
        let rewritten = if is_style {
            urls.rewrite_text(&value)
        } else {
            urls.rewrite_attribute(&value)
        };
        if rewritten != value {
            changes.push((name, rewritten.into_owned()));
        }
    }
    for (name, rewritten) in changes {
        let rewritten = if verbatim && matches!(name.as_str(), "src" | "href") {
            mark_verbatim(&rewritten)
        } else {
            rewritten
        };
        // The name came from the element itself, so it is a valid attribute name.
        let _ = el.set_attribute(&name, &rewritten);
        page.add_rewrites(1);
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{ContentKind, Params};
    use proptest::prelude::*;

    const HOST: &str = "www.publisher.example";

    /// An attribute as origins write them: a name Sluice reads or one it does not, in any
    /// case, holding the host (in any case, absolute, protocol-relative or bare) or not.
    fn attribute() -> impl Strategy<Value = String> {
        let name = prop::sample::select(vec![
            "href",
            "HREF",
            "src",
            "Src",
            "srcset",
            "style",
            "data-src",
            "xlink:href",
            "title",
            "alt",
            "integrity",
            "content",
        ]);
        let value = prop::sample::select(vec![
            "https://www.publisher.example/a",
            "//WWW.Publisher.Example/b 1x, https://www.publisher.example/c 2x",
            "www.publisher.example/bare",
            "background:url(https://www.publisher.example/bg.png)",
            "https://cdn.www.publisher.example/other",
            "https://elsewhere.example/x",
            "sha384-abc",
            "plain words",
        ]);
        (name, value).prop_map(|(name, value)| format!(" {name}=\"{value}\""))
    }

    fn element() -> impl Strategy<Value = String> {
        let tag = prop::sample::select(vec!["a", "img", "div", "link", "script", "iframe"]);
        (tag, prop::collection::vec(attribute(), 0..4)).prop_map(|(tag, attributes)| {
            format!(
                "<{tag}{}>www.publisher.example text</{tag}>",
                attributes.concat()
            )
        })
    }

    fn rewrite(page: &str, cuts: &[usize], host_gate: bool) -> (Vec<u8>, HtmlOutcome) {
        let params = Params::new(HOST, "https", "proxy.example").with_kind(ContentKind::Html);
        let options = HtmlOptions {
            host_gate,
            ..params.html_options()
        };
        let mut stage = HtmlStage::new(options, Vec::new());
        let mut rest = page.as_bytes();
        for &cut in cuts {
            let (piece, after) = rest.split_at(cut.min(rest.len()));
            stage.write_all(piece).expect("rewrites");
            rest = after;
        }
        stage.write_all(rest).expect("rewrites");
        stage.finish().expect("finishes")
    }

    proptest! {
        #[test]
        fn the_host_gate_changes_nothing(
            elements in prop::collection::vec(element(), 1..12),
            cuts in prop::collection::vec(0usize..40, 0..8),
        ) {
            let page = format!("<html><head></head><body>{}</body></html>", elements.concat());
            let reference = rewrite(&page, &[page.len()], false);
            prop_assert_eq!(rewrite(&page, &cuts, true), reference);
        }
    }
}
