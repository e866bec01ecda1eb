//! The cache of rewritten pages on Fastly's Core Cache: a page is looked up by everything its
//! bytes depend on, a reader is answered from a kept copy, a page is kept as it streams to its
//! first reader, and a copy that went wrong is purged. What may be kept, and for how long, is
//! decided in `policy::cache`; this file carries the decisions out.
//!
//! Readers who ask for a page while another reader's request is fetching it wait for that
//! request (the cache transaction collapses them), and are answered from the copy as it is
//! written: the host streams it to them while the first reader's pipeline writes it.

use super::context::RequestContext;
use super::headers::ResponseHeaders;
use bytes::Bytes;
use fastly::cache::core::{
    self as core_cache, CacheError, CacheKey, Found, Transaction, TransactionInsertBuilder,
};
use fastly::http::body::StreamingBody;
use fastly::http::{HeaderName, HeaderValue, StatusCode};
use fastly::{Body, Request, Response};
use sluice_edge::pipeline::ContentKind;
use sluice_edge::policy::cache::conditional::{KEPT_ON_304, not_modified};
use sluice_edge::policy::cache::freshness::{Lifetime, NotKept};
use sluice_edge::policy::cache::key::{KeyParts, surrogate_keys, vary_names};
use sluice_edge::policy::cache::purge::purge_key;
use sluice_edge::policy::cache::stored::StoredHead;
use sluice_edge::policy::cache::{Lookup, Outcome};
use sluice_edge::policy::headers::{HeaderList, ReadHeaders};
use sluice_edge::policy::request::negotiation_profile;
use sluice_edge::policy::settings::Settings;
use std::io::Write;
use std::time::Duration;

/// How long a reader waits for another reader's request to start writing the page before it
/// asks the origin itself: an origin slower than this to answer is slow for everyone anyway.
const COLLAPSE_WAIT: Duration = Duration::from_secs(15);

/// How long a page found not keepable is remembered as such, so that readers who arrive
/// together go to the origin at once rather than one after another.
const PASS_MARK_TTL: Duration = Duration::from_secs(30);

/// A page's place in the cache: its key, and the reader's request headers (the origin's `Vary`
/// chooses among them).
pub(crate) struct Place {
    key: CacheKey,
    request_headers: Vec<(HeaderName, Vec<HeaderValue>)>,
}

impl Place {
    /// The place of the page `target` as this reader asks for it.
    pub(crate) fn of(
        request: &Request,
        target: &str,
        context: &RequestContext,
        settings: &Settings,
    ) -> Place {
        let build = format!(
            "{} {}",
            env!("CARGO_PKG_VERSION"),
            std::env::var("FASTLY_SERVICE_VERSION").unwrap_or_default()
        );
        let parts = KeyParts {
            proxy_origin: context.urls.proxy_origin(),
            target,
            codings: &negotiation_profile(context.accept_encoding.as_deref()),
            settings: settings.body_fingerprint(),
            // A new version of the program, or of the service, never answers with an older
            // one's output.
            build: &build,
        };
        let request_headers = request
            .get_header_names()
            .map(|name| {
                (
                    name.clone(),
                    request.get_header_all(name).cloned().collect(),
                )
            })
            .collect();
        Place {
            key: Bytes::copy_from_slice(&parts.key()),
            request_headers,
        }
    }
}

/// What a lookup found.
pub(crate) enum Looked {
    /// Answer from a kept copy.
    Copy(Copy),
    /// A copy past its freshness, within `stale-while-revalidate`: answer from it, then fetch
    /// the page again with this transaction.
    StaleThenRefill(Copy, Transaction),
    /// A copy past `stale-while-revalidate` but within `stale-if-error`: fetch the page, and
    /// answer from the copy only if the origin fails.
    RefillOrStale(Copy, Transaction),
    /// Nothing usable: this reader's request fetches the page and keeps it.
    Fill(Transaction),
    /// Nothing to answer from, and nothing to keep.
    Pass,
}

/// A copy found, with its head.
pub(crate) struct Copy {
    found: Found,
    head: StoredHead,
    pub(crate) outcome: Outcome,
}

/// Looks the page up: a `GET` joins the readers of the same page ([`Lookup::Collapse`]), a
/// `HEAD` or conditional `GET` only looks ([`Lookup::Peek`]).
pub(crate) fn look_up(place: &Place, lookup: Lookup) -> Looked {
    match lookup {
        Lookup::Peek => peek(place),
        Lookup::Collapse => match transaction(place) {
            Ok(looked) => looked,
            Err(error) => {
                log::warn!("the cache could not be asked ({error}); the origin is");
                Looked::Pass
            }
        },
    }
}

fn peek(place: &Place) -> Looked {
    let mut builder = core_cache::lookup(place.key.clone());
    for (name, values) in &place.request_headers {
        builder = builder.header_values(name, values);
    }
    match builder.execute() {
        Ok(Some(found)) => match copy_of(found, Outcome::Hit) {
            Some(copy) if copy.found.is_stale() => Looked::Copy(Copy {
                outcome: Outcome::Stale,
                ..copy
            }),
            Some(copy) => Looked::Copy(copy),
            None => Looked::Pass,
        },
        Ok(None) => Looked::Pass,
        Err(error) => {
            log::warn!("the cache could not be asked ({error}); the origin is");
            Looked::Pass
        }
    }
}

fn transaction(place: &Place) -> Result<Looked, CacheError> {
    let mut builder = Transaction::lookup(place.key.clone());
    for (name, values) in &place.request_headers {
        builder = builder.header_values(name, values);
    }
    let pending = builder.execute_async()?;
    // Waiting means another reader's request holds the page's obligation.
    let collapsed = pending.pending()?;
    let transaction = pending.wait_for(COLLAPSE_WAIT)?;
    let outcome = match collapsed {
        true => Outcome::Collapsed,
        false => Outcome::Hit,
    };
    let found = transaction.found();
    let obliged = transaction.must_insert_or_update();
    let Some(found) = found else {
        return Ok(match obliged {
            true => Looked::Fill(transaction),
            false => Looked::Pass,
        });
    };
    let Some(copy) = copy_of(found, outcome) else {
        // A copy that does not read back, or a mark that the page is not kept.
        return Ok(match obliged {
            true => Looked::Fill(transaction),
            false => Looked::Pass,
        });
    };
    if !copy.found.is_stale() {
        return Ok(Looked::Copy(copy));
    }
    let stale = Copy {
        outcome: Outcome::Stale,
        ..copy
    };
    let past = stale.found.age().saturating_sub(stale.found.max_age());
    let revalidating = past < Duration::from_secs(stale.head.stale_while_revalidate);
    Ok(match (obliged, revalidating) {
        (true, true) => Looked::StaleThenRefill(stale, transaction),
        (true, false) => Looked::RefillOrStale(stale, transaction),
        // Another reader's request is fetching it again.
        (false, true) => Looked::Copy(stale),
        (false, false) => Looked::Pass,
    })
}

/// The copy a lookup found, if its head reads back and it is a page (not a pass mark).
fn copy_of(found: Found, outcome: Outcome) -> Option<Copy> {
    let head = match StoredHead::from_bytes(&found.user_metadata()) {
        Ok(head) => head,
        Err(error) => {
            log::warn!("{error}; the page is fetched again");
            return None;
        }
    };
    (!head.is_pass_mark()).then_some(Copy {
        found,
        head,
        outcome,
    })
}

impl Copy {
    /// The stale copy, for answering after all (`stale-if-error`), if the origin's failure
    /// falls within its window.
    pub(crate) fn if_error_allows(self) -> Option<Copy> {
        let past = self.found.age().saturating_sub(self.found.max_age());
        (past < Duration::from_secs(self.head.stale_if_error)).then_some(self)
    }

    /// Whether the copy is an HTML document (identity is decided on documents only).
    pub(crate) fn is_document(&self) -> bool {
        self.head.document
    }

    /// The response to `request` from this copy, with the kept headers and its `Age`; the
    /// caller adds what is decided per reader. A conditional request the copy satisfies gets a
    /// `304`, a `HEAD` the head alone, a `GET` the body as the host reads it from the cache
    /// (while it is still being written, as it is written).
    pub(crate) fn answer(
        &self,
        request: &impl ReadHeaders,
        method: &str,
    ) -> Result<Response, String> {
        let unchanged = not_modified(request, &self.head.headers);
        let status = match unchanged {
            true => StatusCode::NOT_MODIFIED,
            false => StatusCode::from_u16(self.head.status).unwrap_or(StatusCode::OK),
        };
        let mut response = Response::from_status(status);
        for (name, value) in &self.head.headers.0 {
            let wanted = !unchanged || KEPT_ON_304.contains(&name.to_ascii_lowercase().as_str());
            if let (true, Ok(value)) = (wanted, HeaderValue::from_bytes(value)) {
                response.append_header(name.as_str(), value);
            }
        }
        response.set_header("age", self.found.age().as_secs().to_string());
        if unchanged || method == "HEAD" {
            return Ok(response);
        }
        match self.found.to_stream() {
            Ok(body) => {
                response.set_body(body);
                Ok(response)
            }
            Err(error) => {
                log::error!("the kept copy cannot be read ({error}): purging it");
                purge(&self.head.entry_key);
                Err(format!("the kept copy cannot be read: {error}"))
            }
        }
    }
}

/// The copy of a page being kept as it streams: the insertion's body, and the entry's own
/// surrogate key, which purges it if it goes wrong.
pub(crate) struct Keeping {
    body: Option<StreamingBody>,
    entry_key: String,
}

/// What to keep of a rewritten response, decided before its head is committed.
pub(crate) struct KeepPlan {
    lifetime: Lifetime,
    head: StoredHead,
}

impl KeepPlan {
    /// The plan for a response the origin gave (its `Vary`, `Surrogate-Key` and validators
    /// are read here, before Sluice changes its headers).
    pub(crate) fn from_origin(
        lifetime: Lifetime,
        origin: &Response,
        target: &str,
        kind: ContentKind,
    ) -> KeepPlan {
        let origin_headers = ResponseHeaders(origin);
        let entry_key = format!("sluice-entry-{}", hex::encode(random_bytes()));
        let head = StoredHead {
            status: 0,
            document: kind == ContentKind::Html,
            headers: HeaderList::default(),
            surrogate_keys: surrogate_keys(&origin_headers, target, &entry_key),
            vary: vary_names(&origin_headers),
            stale_while_revalidate: lifetime.stale_while_revalidate.as_secs(),
            stale_if_error: lifetime.stale_if_error.as_secs(),
            origin_etag: origin_headers.get("etag").map(<[u8]>::to_vec),
            origin_last_modified: origin_headers.get("last-modified").map(<[u8]>::to_vec),
            entry_key,
        };
        KeepPlan { lifetime, head }
    }

    /// The head as it leaves before anything per reader is added: what is kept.
    pub(crate) fn sent(mut self, sent: &Response) -> KeepPlan {
        self.head.status = sent.get_status().as_u16();
        self.head.headers = HeaderList(
            sent.get_header_names()
                .flat_map(|name| {
                    sent.get_header_all(name)
                        .map(move |value| (name.as_str().to_owned(), value.as_bytes().to_vec()))
                })
                .collect(),
        );
        self
    }

    /// Starts the insertion: readers waiting on the page are released to read it as it is
    /// written. `None` if the cache refuses it (the page is then served without being kept).
    pub(crate) fn begin(self, transaction: Transaction) -> Option<Keeping> {
        self.insert(transaction, false).map(|(keeping, _)| keeping)
    }

    /// [`begin`](Self::begin), and the copy's body as the host reads it back, for this
    /// request's own reader: it then reads the page as every later reader does, and the guest
    /// writes each byte once.
    pub(crate) fn begin_read_back(self, transaction: Transaction) -> Option<(Keeping, Body)> {
        let (keeping, found) = self.insert(transaction, true)?;
        match found.map(|found| found.to_stream()) {
            Some(Ok(body)) => Some((keeping, body)),
            Some(Err(error)) => {
                log::warn!("the copy cannot be read back ({error}); it is not kept");
                None
            }
            None => None,
        }
    }

    fn insert(self, transaction: Transaction, read_back: bool) -> Option<(Keeping, Option<Found>)> {
        let vary: Vec<HeaderName> = self
            .head
            .vary
            .iter()
            .filter_map(|name| HeaderName::from_bytes(name.as_bytes()).ok())
            .collect();
        let keys: Vec<&str> = self
            .head
            .surrogate_keys
            .iter()
            .map(String::as_str)
            .collect();
        // The stale windows both need the copy found; which one applies is decided on lookup.
        let stale = self
            .lifetime
            .stale_while_revalidate
            .max(self.lifetime.stale_if_error);
        let builder = varying(
            transaction.insert(self.lifetime.ttl + self.lifetime.initial_age),
            &vary,
        )
        .initial_age(self.lifetime.initial_age)
        .stale_while_revalidate(stale)
        .surrogate_keys(keys)
        .user_metadata(Bytes::from(self.head.to_bytes()));
        let insertion = match read_back {
            true => builder
                .execute_and_stream_back()
                .map(|(body, found)| (body, Some(found))),
            false => builder.execute().map(|body| (body, None)),
        };
        match insertion {
            Ok((body, found)) => Some((
                Keeping {
                    body: Some(body),
                    entry_key: self.head.entry_key,
                },
                found,
            )),
            Err(error) => {
                log::warn!("the page could not be kept ({error}); it is served all the same");
                None
            }
        }
    }
}

/// Marks the page as not kept for a short while (`reason` is logged), so that readers who
/// arrive together ask the origin at once instead of waiting on each other. Request-specific
/// reasons (an `Authorization` the response does not allow for) only release the next reader.
pub(crate) fn not_kept(transaction: Transaction, reason: NotKept, origin: &Response) {
    log::info!("not kept: {reason}");
    if reason == NotKept::NotStorable {
        let _ = transaction.cancel_insert_or_update();
        return;
    }
    let vary: Vec<HeaderName> = vary_names(&ResponseHeaders(origin))
        .iter()
        .filter_map(|name| HeaderName::from_bytes(name.as_bytes()).ok())
        .collect();
    let mark = varying(transaction.insert(PASS_MARK_TTL), &vary)
        .user_metadata(Bytes::from(StoredHead::pass_mark().to_bytes()))
        .known_length(0)
        .execute()
        .and_then(|body| body.finish().map_err(|_| CacheError::InvalidOperation));
    if let Err(error) = mark {
        log::warn!("the page could not be marked as not kept: {error}");
    }
}

/// An insertion that varies on `names`, if any: an empty rule is not one the cache takes
/// (Viceroy refuses it).
fn varying(insertion: TransactionInsertBuilder, names: &[HeaderName]) -> TransactionInsertBuilder {
    match names.is_empty() {
        true => insertion,
        false => insertion.vary_by(names),
    }
}

impl Keeping {
    /// Writes to the copy. A write the cache refuses ends the copy (purged, so no reader is
    /// answered from a part), never the reader's response.
    fn write(&mut self, bytes: &[u8]) {
        if let Some(body) = &mut self.body
            && let Err(error) = body.write_all(bytes)
        {
            log::error!("writing the kept copy failed ({error}): it is purged");
            self.abandon();
        }
    }

    fn flush(&mut self) {
        if let Some(body) = &mut self.body
            && let Err(error) = body.flush()
        {
            log::error!("writing the kept copy failed ({error}): it is purged");
            self.abandon();
        }
    }

    /// The page is whole: the copy is finished, and kept unless `keep` says what was given up
    /// makes it unfit for later readers (it is purged once finished, so readers who joined get
    /// the whole page this reader got).
    pub(crate) fn finish(mut self, keep: Result<(), &str>) {
        let Some(body) = self.body.take() else {
            return;
        };
        if let Err(error) = body.finish() {
            log::error!("finishing the kept copy failed ({error}): it is purged");
            purge(&self.entry_key);
            return;
        }
        if let Err(why) = keep {
            log::info!("not kept for later readers: {why}");
            purge(&self.entry_key);
        }
    }

    /// The page failed: the copy ends unfinished, so readers reading it see it cut, and is
    /// purged, so the next reader asks the origin again.
    pub(crate) fn abandon(&mut self) {
        if let Some(body) = self.body.take() {
            drop(body);
            purge(&self.entry_key);
        }
    }
}

impl Drop for Keeping {
    fn drop(&mut self) {
        self.abandon();
    }
}

fn purge(key: &str) {
    if let Err(error) = fastly::http::purge::purge_surrogate_key(key) {
        log::error!("purging {key} failed: {error}");
    }
}

/// 8 random bytes for an entry's key; an all-zero key only makes two entries share one.
fn random_bytes() -> [u8; 8] {
    let mut bytes = [0; 8];
    let _ = getrandom::fill(&mut bytes);
    bytes
}

/// Where a rewritten body goes: the reader, and the copy being kept if there is one. The copy
/// is written after the reader, so a reader never waits on the cache.
pub(crate) struct Tee<W: Write> {
    pub(crate) reader: W,
    pub(crate) copy: Option<Keeping>,
}

impl<W: Write> Write for Tee<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.reader.write_all(bytes)?;
        if let Some(copy) = &mut self.copy {
            copy.write(bytes);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.reader.flush()?;
        if let Some(copy) = &mut self.copy {
            copy.flush();
        }
        Ok(())
    }
}

/// `POST /.sluice/purge?key=KEY`: purges the kept pages with surrogate key `KEY`, for a
/// request that carries the Secret Store's `purge_token` (`policy::cache::purge`).
pub(crate) fn purge_endpoint(request: &Request, target: &str) -> Response {
    let token = fastly::SecretStore::open(super::SECRET_STORE)
        .ok()
        .and_then(|store| store.get("purge_token"))
        .map(|secret| secret.plaintext().to_vec());
    let query = target.split_once('?').map_or("", |(_, query)| query);
    let headers = super::headers::RequestHeaders(request);
    let (status, text) =
        match purge_key(request.get_method_str(), query, &headers, token.as_deref()) {
            Ok(key) => match fastly::http::purge::purge_surrogate_key(&key) {
                Ok(()) => {
                    log::info!("purged surrogate key {key}");
                    (200, format!("purged {key}"))
                }
                Err(error) => {
                    log::error!("purging {key} failed: {error}");
                    (502, format!("purging {key} failed: {error}"))
                }
            },
            Err(refused) => {
                log::warn!("purge refused: {refused}");
                (refused.status(), refused.to_string())
            }
        };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    super::lifecycle::plain_response(status, &text, None)
}
