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
//! Which attributes are read, on a start tag that holds the origin host:
//! - the URL attributes ([`URL_ATTRIBUTES`]): every URL in them, read as a URL (a backslash is a
//!   slash), and a bare host that opens them;
//! - `style` and every `data-*` attribute: every URL in them, read as text;
//! - any other attribute (`itemid`, `content` aside): only when its whole value is a URL on the
//!   origin host;
//! - each after its HTML character references are decoded ([`Decoded`]), as the browser reads it;
//!   what is written back is the value as the origin wrote it, with each URL replaced in place.
//!
//! What the page asked to keep as it is, stays as it is:
//! - a `<script src>` or a `<link rel=stylesheet|preload|modulepreload href>` with `integrity`
//!   names a resource whose bytes the browser checks: whatever form its URL takes (absolute,
//!   protocol-relative, root-relative or relative), if it is fetched through the proxy it is
//!   marked with the verbatim parameter (`sluice-verbatim=1`), which makes Sluice pass that resource through
//!   untouched (see `policy::request::take_verbatim`). `integrity` on any other element checks
//!   nothing and marks nothing. An import map's `integrity` entries are marked the same way,
//!   with the `imports` that name them;
//! - inline text a Content-Security-Policy pins by hash ([`InlineLocks`]) is not rewritten,
//!   unless the element's nonce is one every such policy lists.
//!
//! The injected script tag goes after a `<meta charset>` or `<meta http-equiv=content-type>`
//! that opens `<head>` (the charset must stay within the document's first 1024 bytes, and the
//! tag then knows the document's charset), before anything else of the page's.

use super::csp::{self, InlineLocks};
use super::import_map::ImportMap;
use super::inline::InlineText;
use super::nextjs::NEXT_DATA_ID;
use super::references::Decoded;
use super::sightings::HostSightings;
use super::text::TextRewriter;
use super::url::{Context, splice};
use super::verbatim::{comes_through_the_proxy, leaves_the_proxy, mark_verbatim};
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

/// The attribute whose value is CSS that may hold URLs, on any element.
const STYLE_ATTRIBUTE: &str = "style";

/// Attributes the universal reading leaves alone: `<iframe srcdoc>` (a document) and `<meta
/// content>` have handlers of their own, and `integrity` and `nonce` are never URLs.
const READ_ELSEWHERE: [&str; 4] = ["srcdoc", "content", "integrity", "nonce"];

/// How an attribute's value is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// A URL, or a list of them: every URL in it (a backslash is a slash), and a bare host that
    /// opens it.
    Url,
    /// Text that may hold URLs (CSS, a document, script data): every URL in it.
    Text,
    /// Rewritten only when the whole value is a URL on the origin host.
    WholeUrl,
}

/// The script tag the stage injects.
#[derive(Clone, Debug)]
pub(crate) struct Injection {
    /// The `src`, escaped for a double-quoted attribute.
    pub src: String,
    /// The output is transcoded (UTF-16): the tag always names its charset.
    pub transcoded: bool,
}

/// What the HTML stage needs to know about the document.
#[derive(Clone, Debug)]
pub(crate) struct HtmlOptions {
    pub urls: UrlRewriter,
    /// The tag to insert at the start of `<head>`.
    pub inject: Option<Injection>,
    pub encoding: &'static encoding_rs::Encoding,
    /// Follow a `<meta charset>` that differs from `encoding`.
    pub adjust_charset: bool,
    pub max_memory: usize,
    /// What the response's Content-Security-Policy pins by hash.
    pub locks: InlineLocks,
    /// The Next.js post-processor is on.
    pub nextjs: bool,
    /// Read the attributes of only the start tags that hold the origin host (see
    /// [`HostSightings`]). Off, every tag's are read: the reference the gate is tested against.
    pub host_gate: bool,
}

/// What the HTML stage did, for the pipeline's stats.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct HtmlOutcome {
    pub rewrites: u64,
    pub injected: bool,
}

/// Where the injected tag stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Inject {
    /// Not yet: no `<head>` seen.
    Waiting,
    /// `<head>` is open: the tag goes before its first element (after it, if that declares the
    /// charset), else before `</head>`.
    InHead,
    Done,
    /// The document went on as text before the tag went in (the CPU budget): it never will.
    GivenUp,
}

/// What the handlers share: counts for the stats, what the document is, what the page's
/// policy pins, and where the origin host appears in it.
struct Page {
    urls: UrlRewriter,
    /// The Next.js post-processor is on.
    nextjs: bool,
    rewrites: Cell<u64>,
    inject: Cell<Inject>,
    /// A doctype, `<html>`, `<head>` or `<body>` was seen: a document, not a fragment.
    document: Cell<bool>,
    /// Whether the document is UTF-8: from the response at first, then from a `<meta>` that
    /// declares the charset.
    utf8: Cell<bool>,
    locks: RefCell<InlineLocks>,
    /// The nonce of the `<script>` or `<style>` being read.
    nonce: RefCell<Option<String>>,
    /// The `<script>` being read is Next.js data (`__NEXT_DATA__`) or an import map.
    script: Cell<ScriptKind>,
    /// A `<base href>` names another site: relative URLs then leave the proxy, and must not be
    /// marked.
    base_elsewhere: Cell<bool>,
    /// Fed by the stage before lol_html reads the same bytes; none when every tag is read.
    sightings: Option<RefCell<HostSightings>>,
}

/// What a `<script>`'s text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScriptKind {
    Code,
    NextData,
    ImportMap,
}

impl Page {
    fn new(options: &HtmlOptions) -> Self {
        Page {
            urls: options.urls.clone(),
            nextjs: options.nextjs,
            rewrites: Cell::default(),
            inject: Cell::new(Inject::Waiting),
            document: Cell::default(),
            utf8: Cell::new(options.encoding == encoding_rs::UTF_8),
            locks: RefCell::new(options.locks.clone()),
            nonce: RefCell::default(),
            script: Cell::new(ScriptKind::Code),
            base_elsewhere: Cell::default(),
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
        let locks = self.locks.take();
        *self.locks.borrow_mut() = locks.union(more);
    }

    /// The injected tag, once: `None` if it is already in.
    fn take_tag(&self, injection: &Injection) -> Option<String> {
        if matches!(self.inject.get(), Inject::Done | Inject::GivenUp) {
            return None;
        }
        self.inject.set(Inject::Done);
        let charset = if self.utf8.get() && !injection.transcoded {
            ""
        } else {
            r#" charset="utf-8""#
        };
        Some(format!(
            r#"<script src="{}"{charset}></script>"#,
            injection.src
        ))
    }
}

pub(crate) struct HtmlStage<W> {
    /// lol_html, until the CPU budget asks for the text rewrite ([`Self::rewrite_rest_as_text`]).
    rewriter: Option<HtmlRewriter<'static, OutputBuffer>>,
    /// The text rewrite that takes the rest of the document after that.
    text: Option<TextRewriter<Vec<u8>>>,
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
        // A doctype marks a document. The handler also keeps lol_html lexing every byte: without
        // it lol_html scans for tags and lexes again each one the universal handler asks for,
        // which costs 8-10% more on the pages measured (BENCHMARKS.md); with it, lol_html holds
        // a comment whole, like a tag, within `max_html_memory_bytes`.
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
            if let Some(inject) = &inject
                && end_page.document.get()
                && let Some(tag) = end_page.take_tag(inject)
            {
                end.append(&tag, ContentType::Html);
            }
            Ok(())
        }));
        HtmlStage {
            rewriter: Some(HtmlRewriter::new(
                settings,
                OutputBuffer(Rc::clone(&output)),
            )),
            text: None,
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

    /// The stage this one writes to.
    pub(crate) fn next_mut(&mut self) -> &mut W {
        &mut self.next
    }

    /// Rewrites the rest of the document as text, without lol_html (the CPU budget's last
    /// step): what lol_html still holds (an unfinished tag) and everything after it go through
    /// the text replacer, which rewrites absolute and protocol-relative URLs in every form
    /// wherever they are. The script tag, if it is not in yet, is not injected any more: its
    /// place in the document has passed.
    pub(crate) fn rewrite_rest_as_text(&mut self) -> io::Result<()> {
        let Some(rewriter) = self.rewriter.take() else {
            return Ok(());
        };
        self.drain(0)?;
        if self.page.inject.get() != Inject::Done {
            self.page.inject.set(Inject::GivenUp);
        }
        rewriter.end().map_err(rewrite_error)?;
        let held = std::mem::take(&mut *self.output.borrow_mut());
        // A Next.js page's data goes on being read for its bare hosts: `__NEXT_DATA__`'s
        // `"host` and flight data's `\"host`.
        let urls = match self.page.nextjs {
            true => self
                .page
                .urls
                .clone()
                .with_json_string_hosts()
                .with_quoted_hosts(),
            false => self.page.urls.clone(),
        };
        let mut text = TextRewriter::new(urls, Vec::new());
        text.write_all(&held)?;
        self.text = Some(text);
        self.drain_text()
    }

    /// Passes on what the text rewrite has decided.
    fn drain_text(&mut self) -> io::Result<()> {
        if let Some(text) = &mut self.text {
            let decided = std::mem::take(text.next_mut());
            self.next.write_all(&decided)?;
        }
        Ok(())
    }

    pub(crate) fn finish(mut self) -> io::Result<(W, HtmlOutcome)> {
        let page = Rc::clone(&self.page);
        let mut rewrites = page.rewrites.get();
        match (self.rewriter.take(), self.text.take()) {
            (Some(rewriter), _) => {
                rewriter.end().map_err(rewrite_error)?;
                let rest = std::mem::take(&mut *self.output.borrow_mut());
                self.next.write_all(&rest)?;
            }
            (None, Some(text)) => {
                rewrites += text.rewrites();
                let rest = text.finish()?;
                self.next.write_all(&rest)?;
            }
            (None, None) => {}
        }
        let outcome = HtmlOutcome {
            rewrites,
            injected: page.inject.get() == Inject::Done,
        };
        Ok((self.next, outcome))
    }
}

impl<W: Write> Write for HtmlStage<W> {
    fn write(&mut self, chunk: &[u8]) -> io::Result<usize> {
        if let Some(text) = &mut self.text {
            text.write_all(chunk)?;
            self.drain_text()?;
            return Ok(chunk.len());
        }
        if let Some(sightings) = &self.page.sightings {
            sightings.borrow_mut().scan(chunk);
        }
        if let Some(rewriter) = &mut self.rewriter {
            rewriter.write(chunk).map_err(rewrite_error)?;
        }
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

/// The rewriting rules, as lol_html handlers. Every selector costs lol_html a little on every
/// start tag of a page (about a millisecond per 60,000 tags under wasm), so rules that concern
/// the same elements share one: `meta` serves its content and the charset it declares, `script`
/// its nonce, its kind and its integrity, `head` and `body` the document and the tag.
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
    // pins by hash is locked from here on; a charset it declares says what the document is.
    let (urls, meta_page) = (options.urls.clone(), Rc::clone(page));
    handlers.push(element!("meta", move |el: &mut Element| {
        if let Some(utf8) = declared_charset_is_utf8(el) {
            meta_page.utf8.set(utf8);
        }
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
    // text). A nonce, and what a script's text is, are read from the start tag, before the
    // element's text; a script's `integrity` marks its `src` (after the universal reading
    // pointed an absolute one at the proxy).
    for element in ["script", "style"] {
        let (page, nextjs, urls) = (Rc::clone(page), options.nextjs, options.urls.clone());
        handlers.push(element!(element, move |el: &mut Element| {
            *page.nonce.borrow_mut() = el.get_attribute("nonce");
            if element == "style" {
                page.script.set(ScriptKind::Code);
                return Ok(());
            }
            mark_checked_resource(el, "src", &urls, &page);
            let kind = if nextjs && el.get_attribute("id").as_deref() == Some(NEXT_DATA_ID) {
                ScriptKind::NextData
            } else if el
                .get_attribute("type")
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("importmap"))
            {
                ScriptKind::ImportMap
            } else {
                ScriptKind::Code
            };
            page.script.set(kind);
            Ok(())
        }));
    }
    let (urls, link_page) = (options.urls.clone(), Rc::clone(page));
    handlers.push(element!("link[integrity]", move |el: &mut Element| {
        if link_checks_integrity(el) {
            mark_checked_resource(el, "href", &urls, &link_page);
        }
        Ok(())
    }));
    for element in ["script", "style", "noscript"] {
        let page = Rc::clone(page);
        // With the Next.js post-processor, scripts also carry flight data, and
        // `__NEXT_DATA__` bare hosts in JSON strings (see `nextjs`).
        let urls = match (element, options.nextjs) {
            ("script", true) => options.urls.clone().with_quoted_hosts(),
            _ => options.urls.clone(),
        };
        let inline = InlineReaders {
            code: RefCell::new(InlineText::new(urls)),
            next_data: RefCell::new(InlineText::new(
                options.urls.clone().with_json_string_hosts(),
            )),
            import_map: RefCell::new(ImportMap::new(options.urls.clone())),
        };
        handlers.push(text!(element, move |chunk: &mut TextChunk| {
            rewrite_inline(chunk, element, &inline, &page);
            Ok(())
        }));
    }
    handlers.extend(document_handlers(options, page));
    handlers
}

/// The handlers of the document's frame: `<html>`, `<head>` and `<body>` say it is a document
/// (not a fragment), and place the injected tag: after a `<meta>` declaring the charset that
/// opens `<head>`, else at the start of `<head>`; before `</head>` in an empty head; at the
/// start of `<body>` in a document without a `<head>` (the document's end is the stage's own).
/// `head > *` also notes a `<base>` that sends relative URLs to another site.
fn document_handlers(options: &HtmlOptions, page: &Rc<Page>) -> Vec<Handler> {
    let mut handlers = Vec::new();
    let html_page = Rc::clone(page);
    handlers.push(element!("html", move |_: &mut Element| {
        html_page.document.set(true);
        Ok(())
    }));
    let (tag, head_page) = (options.inject.clone(), Rc::clone(page));
    handlers.push(element!("head", move |el: &mut Element| {
        head_page.document.set(true);
        let Some(tag) = tag.clone() else {
            return Ok(());
        };
        if head_page.inject.get() != Inject::Waiting {
            return Ok(());
        }
        head_page.inject.set(Inject::InHead);
        let page = Rc::clone(&head_page);
        // An element without an end tag in the source (an implied </head>) has no handler.
        if let Some(handlers) = el.end_tag_handlers() {
            handlers.push(Box::new(move |end| {
                if page.inject.get() == Inject::InHead
                    && let Some(tag) = page.take_tag(&tag)
                {
                    end.before(&tag, ContentType::Html);
                }
                Ok(())
            }));
        }
        Ok(())
    }));
    let (tag, urls, first_page) = (
        options.inject.clone(),
        options.urls.clone(),
        Rc::clone(page),
    );
    handlers.push(element!("head > *", move |el: &mut Element| {
        if el.tag_name() == "base"
            && let Some(href) = el.get_attribute("href")
        {
            first_page
                .base_elsewhere
                .set(leaves_the_proxy(&href, &urls));
        }
        let Some(tag) = &tag else {
            return Ok(());
        };
        if first_page.inject.get() != Inject::InHead {
            return Ok(());
        }
        // The `meta` handler ran first: the tag knows the document's charset.
        let declares_charset = declared_charset_is_utf8(el).is_some();
        if let Some(tag) = first_page.take_tag(tag) {
            if declares_charset {
                el.after(&tag, ContentType::Html);
            } else {
                el.before(&tag, ContentType::Html);
            }
        }
        Ok(())
    }));
    let (tag, body_page) = (options.inject.clone(), Rc::clone(page));
    handlers.push(element!("body", move |el: &mut Element| {
        body_page.document.set(true);
        if let Some(tag) = &tag
            && let Some(tag) = body_page.take_tag(tag)
        {
            el.prepend(&tag, ContentType::Html);
        }
        Ok(())
    }));
    handlers
}

/// Marks the URL in `attribute` of an element whose resource the browser checks against its
/// `integrity`, when the browser fetches it through the proxy.
fn mark_checked_resource(el: &mut Element, attribute: &str, urls: &UrlRewriter, page: &Page) {
    if !el.has_attribute("integrity") {
        return;
    }
    if let Some(url) = el.get_attribute(attribute)
        && comes_through_the_proxy(&url, urls, page.base_elsewhere.get())
    {
        let _ = el.set_attribute(attribute, &mark_verbatim(&url));
    }
}

/// Whether a `<meta>` declares the document's charset, and if so whether it is UTF-8.
fn declared_charset_is_utf8(el: &Element) -> Option<bool> {
    let label = match el.get_attribute("charset") {
        Some(label) => label,
        None => {
            let equiv = el.get_attribute("http-equiv")?;
            if !equiv.trim().eq_ignore_ascii_case("content-type") {
                return None;
            }
            let content = el.get_attribute("content")?;
            super::charset_parameter(&content)?.to_owned()
        }
    };
    let encoding = encoding_rs::Encoding::for_label(label.trim().as_bytes())?;
    Some(encoding == encoding_rs::UTF_8)
}

/// The readers of one inline element kind's text, one per kind of text.
struct InlineReaders {
    code: RefCell<InlineText>,
    next_data: RefCell<InlineText>,
    import_map: RefCell<ImportMap>,
}

/// One piece of an inline element's text: left alone where the page's policy pins it by hash,
/// else rewritten as it streams (Next.js data with its bare hosts, an import map held and
/// read whole).
fn rewrite_inline(chunk: &mut TextChunk, element: &str, inline: &InlineReaders, page: &Page) {
    let last = chunk.last_in_text_node();
    let pinned = {
        let locks = page.locks.borrow();
        let nonce = page.nonce.borrow();
        match element {
            "script" => locks.scripts.pins(nonce.as_deref()),
            "style" => locks.styles.pins(nonce.as_deref()),
            _ => false,
        }
    };
    if pinned {
        return;
    }
    let kind = match element {
        "script" => page.script.get(),
        _ => ScriptKind::Code,
    };
    let (text, rewrites) = match kind {
        ScriptKind::Code => inline.code.borrow_mut().rewrite(chunk.as_str(), last),
        ScriptKind::NextData => inline.next_data.borrow_mut().rewrite(chunk.as_str(), last),
        ScriptKind::ImportMap => {
            let mut map = inline.import_map.borrow_mut();
            match map.push(chunk.as_str(), last, page.base_elsewhere.get()) {
                Some(written) => written,
                None => {
                    chunk.remove();
                    return;
                }
            }
        }
    };
    chunk.set_str(text);
    page.add_rewrites(rewrites);
}

/// The element's attributes, each read as [`Reading`] says: URL attributes, `style` (unless the
/// page's policy pins style attributes by hash), `data-*`, and any other whose whole value is a
/// URL on the origin host. A value is read only where the host sightings place the host (or a
/// reference to URL punctuation) inside it: most attributes of a tag that names the host do not.
fn rewrite_attributes(el: &mut Element, urls: &UrlRewriter, page: &Page) {
    let styles_pinned = page.locks.borrow().style_attributes;
    // Of repeated attributes the first is the one browsers keep and the one `set_attribute`
    // changes, so a name is looked at once.
    let mut seen: Vec<String> = Vec::new();
    let mut changes: Vec<(String, String)> = Vec::new();
    for attribute in el.attributes() {
        let name = attribute.name();
        if seen.contains(&name) {
            continue;
        }
        let holds_host = attribute
            .value_source_location()
            .is_none_or(|value| page.may_hold_host(value.bytes()));
        let reading = if !holds_host {
            None
        } else if URL_ATTRIBUTES.contains(&name.as_str()) {
            Some(Reading::Url)
        } else if name == STYLE_ATTRIBUTE {
            (!styles_pinned).then_some(Reading::Text)
        } else if name.starts_with("data-") {
            Some(Reading::Text)
        } else if READ_ELSEWHERE.contains(&name.as_str()) {
            None
        } else {
            Some(Reading::WholeUrl)
        };
        if let Some(reading) = reading
            && let Some(rewritten) = rewrite_value(&attribute.value(), urls, reading)
        {
            changes.push((name.clone(), rewritten));
        }
        seen.push(name);
    }
    for (name, rewritten) in changes {
        // The name came from the element itself, so it is a valid attribute name.
        let _ = el.set_attribute(&name, &rewritten);
        page.add_rewrites(1);
    }
}

/// An attribute value with its URLs rewritten as `reading` says, or `None` when nothing in it
/// changes. The value is read with its character references decoded; what comes back is the
/// value as written, with only the URLs replaced.
fn rewrite_value(raw: &str, urls: &UrlRewriter, reading: Reading) -> Option<String> {
    let decoded = Decoded::of(raw);
    let text = decoded.as_ref().map_or(raw, |d| d.text.as_str());
    let found = match reading {
        Reading::Url => urls.find_all(text.as_bytes(), Context::Url, true),
        Reading::Text => urls.find_all(text.as_bytes(), Context::Text, false),
        Reading::WholeUrl if urls.is_origin_url(text) => {
            urls.find_all(text.as_bytes(), Context::Url, false)
        }
        Reading::WholeUrl => return None,
    };
    if found.is_empty() {
        return None;
    }
    let found = match &decoded {
        Some(decoded) => found
            .into_iter()
            .map(|(range, replacement)| (decoded.raw_range(range), replacement))
            .collect(),
        None => found,
    };
    // Only ASCII was cut out (whole characters or references) and spliced in.
    String::from_utf8(splice(raw.as_bytes(), &found).into_owned()).ok()
}

fn rewrite_text_attribute(el: &mut Element, name: &str, urls: &UrlRewriter, page: &Page) {
    if let Some(value) = el.get_attribute(name)
        && let Some(rewritten) = rewrite_value(&value, urls, Reading::Text)
    {
        let _ = el.set_attribute(name, &rewritten);
        page.add_rewrites(1);
    }
}

/// Whether a `<link>`'s `rel` makes the browser check its `integrity`.
fn link_checks_integrity(el: &Element) -> bool {
    el.get_attribute("rel").is_some_and(|rel| {
        rel.split_ascii_whitespace().any(|token| {
            ["stylesheet", "preload", "modulepreload"]
                .iter()
                .any(|kind| token.eq_ignore_ascii_case(kind))
        })
    })
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
