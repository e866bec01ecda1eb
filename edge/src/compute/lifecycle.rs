//! The life of a proxied request, in order:
//!
//! 1. [`RequestContext::of`]: who and where the reader is, and the identity decision.
//! 2. [`cache::look_up`]: the cache of rewritten pages (`policy::cache` decides who may use it).
//!    A kept copy answers at once ([`from_copy`]: its head, what is decided per reader, and
//!    its body copied by the host, as it is written if another reader's request is still
//!    writing it); a stale copy within `stale-while-revalidate` answers, and the page is then
//!    fetched again for the readers after ([`refill`]); otherwise this request fetches the page,
//!    holding the obligation to keep it when the lookup gave one, which makes the readers who
//!    ask meanwhile wait for its copy rather than ask the origin.
//! 3. [`upstream_request`] and [`fetch`]: the client request made fit for the origin, the origin
//!    asked, and the gate ([`gate::decide`]) picks the path: Stream, PassThrough, or Refuse (a
//!    status the client cannot be sent, such as `101`: a 502); a part of a page Sluice rewrites
//!    is asked for again, whole (RefetchWhole). An origin that fails while a copy within
//!    `stale-if-error` exists is answered for by the copy.
//! 4. [`respond`] and [`stream`]: every header the client will see, on every path: the shared
//!    ones ([`shared_headers`]: URL-bearing headers pointed at the proxy, Fastly's own surrogate
//!    headers removed), which a kept copy keeps, then those decided per reader
//!    ([`reader_headers`]: Sluice's own headers, identity on documents, HTTP/1.1). On the Stream
//!    path, [`first_chunk_checked`] first reads the origin's first chunk and checks that its
//!    start decodes (a throwaway decode of its first few kilobytes), so a body corrupt from its
//!    first byte is a 502 rather than a 200 that stops at once; the output coding is chosen from
//!    what the client accepts ([`output_encoding`]) and the CPU budget; whether the page is kept
//!    is decided from the origin's headers ([`freshness::keep`]). A head larger than Fastly
//!    sends ([`response::MAX_HEAD_BYTES`]) is a 502 ([`head_fits`]).
//! 5. [`commit`]: where headers are committed, with `stream_to_client()`; a page being kept
//!    is committed next to it, in [`commit_reading_copy`], with `send_to_client()` and the
//!    copy's body as it is written. An HTTP/1.0 client, which cannot tell a cut stream from a whole one, gets its page rewritten
//!    into memory first and sent whole with its length ([`buffered`]).
//! 6. [`stream_body`]: the body pipeline writes into the client stream and into the copy being
//!    kept; a mid-stream error abandons both, so the client and every reader of the copy see a
//!    truncated body, never a clean end, and the copy is purged.
//! 7. [`log_outcome`]: one line per streamed response: complete (with its sizes, the request's
//!    vCPU time and how it met the cache), abandoned, or finish failed. Responses sent whole
//!    are logged by [`send_whole`], with the same figures.
//!
//! Errors before step 5 become a status (502 unreachable origin, a body corrupt from its first
//! byte, or an unsendable status, 504 origin timeout, 500 bad settings; a target that is not a
//! URL is a 400 before this file is reached, in `compute/mod.rs`) sent with `send_to_client()`;
//! after it, nothing can change the status any more.

use super::cache::{self, KeepPlan, Looked, Place, Tee};
use super::context::{Connection, RequestContext};
use super::headers::{RequestHeaders, RequestHeadersMut, ResponseHeaders, ResponseHeadersMut};
use super::logger;
use fastly::cache::core::Transaction;
use fastly::http::body::StreamingBody;
use fastly::http::request::SendErrorCause;
use fastly::http::{StatusCode, Url, Version};
use fastly::{Body, Request, Response};
use sluice_edge::pipeline::budget::{self, Meter, Overrun, Step, Stepped};
use sluice_edge::pipeline::{
    self, BoundedBuffer, ContentKind, Encoding, Params, PipelineError, Stats,
};
use sluice_edge::policy::cache::freshness::{self, NotKept};
use sluice_edge::policy::cache::{self as policy_cache, Outcome as CacheOutcome, RequestFacts};
use sluice_edge::policy::gate::{self, GateInput, ResponsePath};
use sluice_edge::policy::headers::{HeaderList, Headers, ReadHeaders};
use sluice_edge::policy::identity::IdentityAction;
use sluice_edge::policy::request::{
    OriginRequest, accepted_codings, output_encoding, prepare_origin_headers, take_verbatim,
};
use sluice_edge::policy::response::{self, FinalHeaders, Geo};
use sluice_edge::policy::settings::{PostProcessor, Settings};
use std::io::{Read, Write};

/// Proxies one request. `None`: the response was streamed, or already sent.
pub(crate) fn proxy(
    request: Request,
    target: &str,
    connection: Connection,
    proxy_host: &str,
    settings: &Settings,
) -> Option<Response> {
    let context = RequestContext::of(&request, connection, proxy_host, settings);
    let asked = Asked::of(&request, &context.method, target, settings);
    let exchange = Exchange {
        asked,
        settings,
        context,
    };
    let (asked, context) = (&exchange.asked, &exchange.context);
    logger::note_cache(CacheOutcome::Pass);
    let looked = match policy_cache::lookup_for(&asked.facts(settings, context)) {
        Ok(lookup) => cache::look_up(
            &Place::of(&request, &asked.target, context, settings),
            lookup,
        ),
        Err(_) => Looked::Pass,
    };
    let (fill, fallback) = match looked {
        Looked::Copy(copy) => return Some(from_copy(copy, &exchange)),
        Looked::StaleThenRefill(copy, fill) => {
            send_whole(from_copy(copy, &exchange));
            // Fetched again, for the readers after this one.
            logger::note_cache(CacheOutcome::Miss);
            if let Ok(origin_request) = upstream_request(request, &asked.target, settings, context)
            {
                let answer = fetch(origin_request, &asked.ask(settings));
                refill(answer, fill, &exchange);
            }
            return None;
        }
        Looked::RefillOrStale(copy, fill) => (Some(fill), Some(copy)),
        Looked::Fill(fill) => (Some(fill), None),
        Looked::Pass => (None, None),
    };
    if fill.is_some() {
        logger::note_cache(CacheOutcome::Miss);
    }
    let origin_request = match upstream_request(request, &asked.target, settings, context) {
        Ok(request) => request,
        Err(reason) => {
            log::error!("request refused before the origin was asked: {reason}");
            return Some(error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                &reason,
                context,
            ));
        }
    };
    let answer = fetch(origin_request, &asked.ask(settings));
    let failed = answer.as_ref().map_or(true, |(response, _)| {
        response.get_status().is_server_error()
    });
    if let (true, Some(copy)) = (failed, fallback.and_then(cache::Copy::if_error_allows)) {
        log::warn!("the origin failed: answering from the stale copy (stale-if-error)");
        return Some(from_copy(copy, &exchange));
    }
    let (response, path) = match answer {
        Ok(answer) => answer,
        Err((status, reason)) => return Some(error_response(status, reason, context)),
    };
    respond(response, path, fill, Delivery::Reader, &exchange)
}

/// One request's facts, as every step after the lookup reads them.
struct Exchange<'a> {
    asked: Asked,
    settings: &'a Settings,
    context: RequestContext,
}

impl Exchange<'_> {
    fn parts(&self) -> (&Asked, &Settings, &RequestContext) {
        (&self.asked, self.settings, &self.context)
    }
}

/// What the rest of the request's life needs of the client's request once it has become the
/// origin request.
struct Asked {
    method: String,
    /// The path and query, the verbatim marker taken off.
    target: String,
    /// A `Range` header.
    range: bool,
    /// Asked for byte for byte (the marker, or `verbatim_paths`).
    verbatim: bool,
    /// The headers the cache's rules read: `Authorization` and `Cache-Control` (whether a
    /// response may be kept), and the conditional ones (whether a copy answers `304`).
    headers: HeaderList,
}

impl Asked {
    fn of(request: &Request, method: &str, target: &str, settings: &Settings) -> Asked {
        let (target, marked_verbatim) = take_verbatim(target);
        let path_only = target.split('?').next().unwrap_or(&target);
        let verbatim = marked_verbatim || settings.is_verbatim_path(path_only);
        let read = RequestHeaders(request);
        let headers = HeaderList(
            [
                "authorization",
                "cache-control",
                "if-none-match",
                "if-modified-since",
            ]
            .iter()
            .flat_map(|name| {
                read.get_all(name)
                    .into_iter()
                    .map(|value| ((*name).to_owned(), value.to_vec()))
            })
            .collect(),
        );
        Asked {
            method: method.to_owned(),
            range: read.get("range").is_some(),
            verbatim,
            headers,
            target,
        }
    }

    /// What the cache's rules need to know before a lookup.
    fn facts<'a>(&'a self, settings: &Settings, context: &RequestContext) -> RequestFacts<'a> {
        RequestFacts {
            enabled: settings.cache_rewritten,
            method: &self.method,
            http10: context.http10,
            range: self.range,
            conditional: self.headers.get("if-none-match").is_some()
                || self.headers.get("if-modified-since").is_some(),
            verbatim: self.verbatim,
        }
    }

    /// What the gate needs to know about the request besides the response.
    fn ask<'a>(&'a self, settings: &'a Settings) -> Ask<'a> {
        Ask {
            method: &self.method,
            range_requested: self.range && self.method == "GET",
            verbatim: self.verbatim,
            settings,
        }
    }
}

/// Step 2 answered from a kept copy: its head, with what is decided per reader added as on
/// every other path.
fn from_copy(copy: cache::Copy, exchange: &Exchange<'_>) -> Response {
    let (asked, settings, context) = exchange.parts();
    logger::note_cache(copy.outcome);
    let kind = match copy.is_document() {
        true => ContentKind::Html,
        false => ContentKind::Other,
    };
    match copy.answer(&asked.headers, &asked.method) {
        Ok(response) => reader_headers(response, settings, context, kind),
        Err(reason) => error_response(StatusCode::BAD_GATEWAY, &reason, context),
    }
}

/// Where a rewritten body goes: to the reader, or only into the cache (a page fetched again
/// after a stale copy answered its reader).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivery {
    Reader,
    CacheOnly,
}

/// After a stale copy answered its reader: the origin's new answer goes into the cache. A
/// failure keeps the stale copy for the readers after (its `stale-if-error` decides).
fn refill(
    answer: Result<(Response, ResponsePath), (StatusCode, &'static str)>,
    fill: Transaction,
    exchange: &Exchange<'_>,
) {
    match answer {
        Ok((response, path)) if !response.get_status().is_server_error() => {
            respond(response, path, Some(fill), Delivery::CacheOnly, exchange);
        }
        _ => {
            log::warn!("fetching the page again failed; the stale copy stays");
            let _ = fill.cancel_insert_or_update();
        }
    }
}

/// Steps 4 to 7 for the origin's answer: the path the gate chose, with the page kept on the
/// way when `fill` holds the obligation to.
fn respond(
    response: Response,
    path: ResponsePath,
    fill: Option<Transaction>,
    delivery: Delivery,
    exchange: &Exchange<'_>,
) -> Option<Response> {
    let (_, settings, context) = exchange.parts();
    let kind = match path {
        ResponsePath::Stream { kind, encoding } => {
            return stream(response, (kind, encoding), fill, delivery, exchange);
        }
        ResponsePath::PassThrough(_) => None,
        ResponsePath::RefetchWhole => unreachable!("fetch asks for the whole itself"),
        ResponsePath::Refuse(reason) => Some(reason),
    };
    if let Some(fill) = fill {
        match delivery {
            Delivery::Reader => cache::not_kept(fill, NotKept::NotRewritten, &response),
            Delivery::CacheOnly => {
                let _ = fill.cancel_insert_or_update();
            }
        }
    }
    if delivery == Delivery::CacheOnly {
        return None;
    }
    match kind {
        // The origin body goes out host-side, with its own framing and Content-Length.
        None => {
            let response = finalize_response(response, settings, context, ContentKind::Other);
            Some(match head_fits(&response) {
                Ok(()) => response,
                Err(reason) => error_response(StatusCode::BAD_GATEWAY, &reason, context),
            })
        }
        Some(reason) => {
            log::error!("refused: {reason}");
            Some(error_response(StatusCode::BAD_GATEWAY, reason, context))
        }
    }
}

/// The Stream path: the first chunk checked, the output coding chosen, the head finalized and
/// committed, and the body rewritten into the reader's stream (and into the kept copy).
fn stream(
    mut response: Response,
    (kind, encoding): (ContentKind, Encoding),
    fill: Option<Transaction>,
    delivery: Delivery,
    exchange: &Exchange<'_>,
) -> Option<Response> {
    let (asked, settings, context) = exchange.parts();
    let content_type = response::content_type(&ResponseHeaders(&response));
    let plan = fill.and_then(|fill| {
        let keep = freshness::keep(
            "GET",
            &asked.headers,
            response.get_status().as_u16(),
            &ResponseHeaders(&response),
            std::time::SystemTime::now(),
        );
        match keep {
            Ok(lifetime) => Some((
                fill,
                KeepPlan::from_origin(lifetime, &response, &asked.target, kind),
            )),
            Err(reason) => {
                cache::not_kept(fill, reason, &response);
                None
            }
        }
    });
    let length = response::content_length(&ResponseHeaders(&response));
    let (first, rest) = match first_chunk_checked(response.take_body(), encoding, settings) {
        Ok(body) => body,
        Err(reason) => {
            log::error!("refused before streaming: {reason}");
            return Some(error_response(StatusCode::BAD_GATEWAY, &reason, context));
        }
    };
    let output = output_within_budget(encoding, kind, length, &first, settings, context);
    let params = pipeline_params(
        &response,
        content_type.as_deref(),
        settings,
        context,
        kind,
        encoding,
    )
    .with_output_encoding(output)
    .with_budget(settings.vcpu_budget_ms, length);
    let origin_body = std::io::Cursor::new(first).chain(rest);
    let mut headers = ResponseHeadersMut(&mut response);
    response::prepare_modified_body(&mut headers);
    response::set_content_encoding(&mut headers, output);
    for name in policy_cache::FOR_FASTLY_ONLY {
        headers.remove(name);
    }
    let response = shared_headers(response, context);
    let plan = plan.map(|(fill, plan)| (fill, plan.sent(&response)));
    let response = reader_headers(response, settings, context, kind);
    if delivery == Delivery::CacheOnly {
        let copy = plan.and_then(|(fill, plan)| plan.begin(fill));
        let tee = Tee {
            reader: std::io::sink(),
            copy,
        };
        log_outcome(
            stream_body(origin_body, tee, &params),
            "fetched again for the cache",
        );
        return None;
    }
    if let Err(reason) = head_fits(&response) {
        return Some(error_response(StatusCode::BAD_GATEWAY, &reason, context));
    }
    if context.http10 {
        return Some(buffered(response, origin_body, &params, context));
    }
    match plan.and_then(|(fill, plan)| plan.begin_read_back(fill)) {
        // Kept: the reader reads the copy as it is written, as readers who join it do.
        Some((copy, read_back)) => {
            commit_reading_copy(response, read_back);
            let tee = Tee {
                reader: std::io::sink(),
                copy: Some(copy),
            };
            log_outcome(stream_body(origin_body, tee, &params), "streamed");
        }
        None => {
            let client = commit(response);
            let tee = Tee {
                reader: client,
                copy: None,
            };
            log_outcome(stream_body(origin_body, tee, &params), "streamed");
        }
    }
    None
}

/// Whether the head fits what Fastly sends. A Content-Security-Policy that names the
/// publisher's host grows by the proxy's origin; the growth is bounded per directive, but a
/// policy already near the limit can still pass it, and Fastly would fail the response.
fn head_fits(response: &Response) -> Result<(), String> {
    let bytes = response::head_bytes(&ResponseHeaders(response));
    if bytes <= response::MAX_HEAD_BYTES {
        return Ok(());
    }
    let reason = format!(
        "the response head would be {bytes} bytes, past the {} Fastly sends (a Content-Security-Policy that names the publisher's host gains the proxy's origin)",
        response::MAX_HEAD_BYTES
    );
    log::error!("refused before streaming: {reason}");
    Err(reason)
}

/// The most rewritten output held for an HTTP/1.0 client (see [`buffered`]).
const HTTP10_MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// An HTTP/1.0 client reads the body to the end of the connection: a stream abandoned midway
/// would look complete to it. So its page is rewritten into memory (at most
/// [`HTTP10_MAX_BODY_BYTES`] of output) and sent whole, with its length; a larger page is a
/// 505 that asks for HTTP/1.1, and a page that fails midway a 502, both before anything is sent.
fn buffered(
    mut response: Response,
    origin_body: impl Read,
    params: &Params,
    context: &RequestContext,
) -> Response {
    let mut out = BoundedBuffer::new(HTTP10_MAX_BODY_BYTES);
    match pipeline::process_response_metered(origin_body, &mut out, params, &mut VcpuMeter) {
        Ok(stats) => {
            log_outcome(Outcome::Complete(stats), "rewritten whole");
            response.set_body(out.into_inner());
            response
        }
        Err(_) if out.overflowed() => {
            let reason = format!(
                "this page is larger than the {HTTP10_MAX_BODY_BYTES} bytes Sluice holds for an HTTP/1.0 client; ask with HTTP/1.1"
            );
            log::warn!("refused: {reason}");
            error_response(StatusCode::HTTP_VERSION_NOT_SUPPORTED, &reason, context)
        }
        Err(error) => {
            log::error!("refused before sending: {error}");
            error_response(StatusCode::BAD_GATEWAY, &error.to_string(), context)
        }
    }
}

/// What the gate needs to know about the request besides the response.
struct Ask<'a> {
    method: &'a str,
    range_requested: bool,
    verbatim: bool,
    settings: &'a Settings,
}

/// Step 3: asks the origin, and the gate ([`gate::decide`]) picks the path. When the origin
/// answers a range request for rewritable content with a part (or a refusal), it is asked again
/// for the whole, without the client's `Range` and `If-Range`: what the client then gets is the
/// whole rewritten resource, a 200, which a server may always answer a range request with.
fn fetch(
    request: Request,
    ask: &Ask<'_>,
) -> Result<(Response, ResponsePath), (StatusCode, &'static str)> {
    let whole = ask.range_requested.then(|| {
        let mut whole = request.clone_without_body();
        whole.remove_header("range");
        whole.remove_header("if-range");
        whole
    });
    let response = send(request, ask.settings)?;
    let path = decide(&response, ask, ask.range_requested);
    match (path, whole) {
        (ResponsePath::RefetchWhole, Some(whole)) => {
            log::info!(
                "the origin answered {} to a range of a page Sluice rewrites: asking for the whole",
                response.get_status().as_u16()
            );
            drop(response);
            let response = send(whole, ask.settings)?;
            let path = decide(&response, ask, false);
            Ok((response, path))
        }
        (path, _) => Ok((response, path)),
    }
}

fn send(request: Request, settings: &Settings) -> Result<Response, (StatusCode, &'static str)> {
    request.send(&settings.origin_backend).map_err(|error| {
        let status = match error.root_cause() {
            SendErrorCause::HttpResponseTimeout | SendErrorCause::ConnectionTimeout => {
                StatusCode::GATEWAY_TIMEOUT
            }
            _ => StatusCode::BAD_GATEWAY,
        };
        log::error!("the origin could not be reached: {error}");
        (status, "the origin could not be reached")
    })
}

fn decide(response: &Response, ask: &Ask<'_>, range_requested: bool) -> ResponsePath {
    let headers = ResponseHeaders(response);
    let content_type = response::content_type(&headers);
    gate::decide(&GateInput {
        method: ask.method,
        status: response.get_status().as_u16(),
        content_type: content_type.as_deref(),
        encoding: response::content_encoding(&headers),
        range_requested,
        verbatim: ask.verbatim,
        transfer_coding: response::transfer_coding(&headers),
    })
}

/// Reads the origin's first chunk and checks that it decodes, before anything is committed: a
/// body that is corrupt from its first byte, or an origin that fails before sending any, is
/// then a 502. Returns the chunk, to go in front of the rest of the body.
fn first_chunk_checked(
    mut origin_body: Body,
    encoding: Encoding,
    settings: &Settings,
) -> Result<(Vec<u8>, Body), String> {
    let mut first = vec![0; settings.pipeline.read_buffer_bytes()];
    let n = loop {
        match origin_body.read(&mut first) {
            Ok(n) => break n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(PipelineError::Origin(e).to_string()),
        }
    };
    first.truncate(n);
    pipeline::check_start(encoding, &first).map_err(|e| e.to_string())?;
    Ok((first, origin_body))
}

/// The output coding: what the client's `Accept-Encoding` prefers, unless the CPU budget says a
/// coding the client also accepts would cost less and the preferred one would not fit
/// ([`budget::affordable_output`]). The body's decoded size is estimated from its length and
/// how far its first chunk expands, which is measured only when there is a choice to make.
fn output_within_budget(
    encoding: Encoding,
    kind: ContentKind,
    length: Option<u64>,
    first: &[u8],
    settings: &Settings,
    context: &RequestContext,
) -> Encoding {
    let accept = context.accept_encoding.as_deref();
    let preferred = output_encoding(accept, encoding);
    let accepted = accepted_codings(accept);
    let level = settings.pipeline.gzip_level();
    if budget::cheaper_compressed(preferred, &accepted, kind, encoding, level).is_empty() {
        return preferred;
    }
    let estimate = length
        .zip(pipeline::decoded_ratio(encoding, first))
        .map(|(length, ratio)| (length as f64 * ratio) as u64);
    let chosen = budget::affordable_output(
        preferred,
        &accepted,
        kind,
        encoding,
        estimate,
        settings.vcpu_budget_ms,
        level,
    );
    if let (true, Some(decoded)) = (chosen != preferred, estimate) {
        log::warn!(
            "budget: {preferred} -> {chosen} before streaming, about {:.1} MB to decode in {} ms",
            decoded as f64 / 1e6,
            settings.vcpu_budget_ms
        );
    }
    chosen
}

/// Step 2: the origin request. Only the configured backend is ever asked, with the publisher's
/// host and the normalized path of whatever the client sent, so no Host header or absolute-form
/// URI can point it elsewhere; the headers are made fit for the origin by the policy
/// ([`prepare_origin_headers`]).
fn upstream_request(
    mut request: Request,
    target: &str,
    settings: &Settings,
    context: &RequestContext,
) -> Result<Request, String> {
    let url = Url::parse(&format!("http://{}{target}", settings.origin_authority))
        .map_err(|e| format!("the origin URL cannot be made from origin_host: {e}"))?;
    request.set_url(url);
    prepare_origin_headers(
        &mut RequestHeadersMut(&mut request),
        &OriginRequest {
            origin_host: &settings.origin_authority,
            client_ip: context.client_ip,
            identity: &context.identity,
        },
    );
    Ok(request)
}

fn pipeline_params(
    response: &Response,
    content_type: Option<&str>,
    settings: &Settings,
    context: &RequestContext,
    kind: ContentKind,
    encoding: Encoding,
) -> Params {
    let charset = content_type.and_then(response::charset_of);
    let params = Params::with_rewriter(context.urls.clone())
        .with_inline_locks(response::inline_locks(&ResponseHeaders(response)))
        .with_kind(kind)
        .with_encoding(encoding)
        .with_inject_script(&settings.inject_script)
        .with_charset(charset)
        .with_settings(settings.pipeline);
    if settings.post_processors.contains(&PostProcessor::NextJs) {
        params.with_nextjs()
    } else {
        params
    }
}

/// Step 4: the headers every response leaves with: [`shared_headers`], what any reader of the
/// same page would get (and what a kept copy keeps), then [`reader_headers`].
fn finalize_response(
    response: Response,
    settings: &Settings,
    context: &RequestContext,
    kind: ContentKind,
) -> Response {
    reader_headers(shared_headers(response, context), settings, context, kind)
}

/// The headers of a page whatever its reader: URL-bearing headers pointed at the proxy.
fn shared_headers(mut response: Response, context: &RequestContext) -> Response {
    response::rewrite_header_urls(&mut ResponseHeadersMut(&mut response), &context.urls);
    response
}

/// The headers decided per reader, on every path (a kept copy's too): geolocation, version,
/// environment and operator headers, and HTTP/1.1 whatever the origin spoke, so a streamed body
/// is chunked and an abandoned one is visibly cut short. Identity (the ID cookie, or its
/// expiry) goes only on HTML documents: other responses keep their cacheability, and a reader
/// gets one ID per page view, not one per asset.
fn reader_headers(
    mut response: Response,
    settings: &Settings,
    context: &RequestContext,
    kind: ContentKind,
) -> Response {
    response.set_version(Version::HTTP_11);
    let mut headers = ResponseHeadersMut(&mut response);
    base_headers(
        &mut headers,
        context.geo.clone(),
        &settings.response_headers,
    );
    let identity = match kind {
        ContentKind::Html => &context.identity,
        _ => &IdentityAction::Nothing,
    };
    response::apply_identity(&mut headers, identity, settings.cookie_domain.as_deref());
    response
}

fn base_headers(
    headers: &mut ResponseHeadersMut<'_>,
    geo: Option<Geo>,
    operator: &[(String, String)],
) {
    let version = std::env::var("FASTLY_SERVICE_VERSION").unwrap_or_else(|_| "dev".to_owned());
    let staging = std::env::var("FASTLY_IS_STAGING").is_ok_and(|v| v == "1");
    response::finalize(
        headers,
        &FinalHeaders {
            geo,
            version: &version,
            staging,
            operator,
        },
    );
}

/// Step 5: commits the head. After this no header or status can change; the body is chunked
/// (the host frames it; Content-Length was removed with the other modified-body headers). The
/// pipeline writes into the client stream returned; for a page being kept, see
/// [`commit_reading_copy`].
fn commit(response: Response) -> StreamingBody {
    response.stream_to_client()
}

/// Step 5 for a page being kept: commits the head with `send_to_client()` and the kept copy's
/// body as it is written, which the host copies to the client while the pipeline writes the
/// copy (the client reads it as the readers who join it do, and each byte is written once). A
/// copy that ends unfinished ends the client's body without its terminator, as an abandoned
/// stream does.
fn commit_reading_copy(mut response: Response, copy: Body) {
    response.set_body(copy);
    response.send_to_client();
}

/// The request's vCPU clock, for the CPU budget: the host's count of what Fastly bills and
/// limits. Each step the budget takes is logged as it is taken.
struct VcpuMeter;

impl Meter for VcpuMeter {
    fn elapsed_ms(&mut self) -> Option<u64> {
        fastly::compute_runtime::elapsed_vcpu_ms().ok()
    }

    fn stepped(&mut self, stepped: &Stepped) {
        log::warn!("{stepped}");
    }

    fn overrun(&mut self, overrun: &Overrun) {
        log::error!("{overrun}");
    }
}

/// How a streamed response ended.
enum Outcome {
    Complete(Stats),
    Abandoned(PipelineError),
    FinishFailed(std::io::Error),
}

/// Where a streamed body ends: the reader's stream, or nowhere (a page fetched again only for
/// the cache).
trait Destination: Write {
    /// The body is whole: end it properly (the 0-chunk).
    fn finish(self) -> std::io::Result<()>;

    /// The body failed: end it without its terminator.
    fn abandon(self);
}

impl Destination for StreamingBody {
    fn finish(self) -> std::io::Result<()> {
        StreamingBody::finish(self)
    }

    fn abandon(self) {
        // Abandoning can fail only if the client is already gone; either way the stream ends
        // without a terminator.
        let _ = StreamingBody::abandon(self);
    }
}

impl Destination for std::io::Sink {
    fn finish(self) -> std::io::Result<()> {
        Ok(())
    }

    fn abandon(self) {}
}

/// Step 6: the body. On a pipeline error the client stream is abandoned, not finished: the
/// chunked body then stops without its terminating 0-chunk and the connection closes, so the
/// client can tell the page is incomplete. The copy being kept ends the same way, and is purged:
/// readers who joined it see it cut too, and the next reader asks the origin again.
fn stream_body<D: Destination>(
    origin_body: impl Read,
    mut tee: Tee<D>,
    params: &Params,
) -> Outcome {
    match pipeline::process_response_metered(origin_body, &mut tee, params, &mut VcpuMeter) {
        Ok(stats) => {
            let Tee { reader, copy } = tee;
            if let Some(copy) = copy {
                copy.finish(fit_for_later_readers(&stats));
            }
            match reader.finish() {
                Ok(()) => Outcome::Complete(stats),
                Err(error) => Outcome::FinishFailed(error),
            }
        }
        Err(error) => {
            let Tee { reader, copy } = tee;
            if let Some(mut copy) = copy {
                copy.abandon();
            }
            reader.abandon();
            Outcome::Abandoned(error)
        }
    }
}

/// Whether a page rewritten under the CPU budget may answer later readers: one that gave up
/// only output size (a lower level, stored blocks) is correct and is kept; one the budget
/// switched to the text rewrite is not kept, so the next reader's request rewrites it again
/// in full where it can.
fn fit_for_later_readers(stats: &Stats) -> Result<(), &'static str> {
    match stats.steps.iter().any(|s| s.step == Step::TextRewrite) {
        true => Err("the CPU budget switched it to the text rewrite"),
        false => Ok(()),
    }
}

/// Step 7: one line per streamed response.
fn log_outcome(outcome: Outcome, what: &str) {
    match outcome {
        Outcome::Complete(stats) => {
            log::info!(
                "{what}: {} bytes in, {} decoded, {} out, {} chunks, {} rewrites, {}",
                stats.bytes_in,
                stats.decoded_bytes,
                stats.bytes_out,
                stats.chunks,
                stats.rewrites,
                logger::figures()
            )
        }
        Outcome::Abandoned(error) => {
            log::error!(
                "stream abandoned, the client gets a truncated body: {error}; {}",
                logger::figures()
            )
        }
        Outcome::FinishFailed(error) => {
            log::error!("finishing the client stream failed: {error}")
        }
    }
}

/// Sends a response whose body the host copies (or that has none), and logs it.
pub(crate) fn send_whole(response: Response) {
    let status = response.get_status().as_u16();
    response.send_to_client();
    log::info!("sent whole: {status}, {}", logger::figures());
}

/// A short plain-text response that Sluice makes itself (health, refusals), with the base
/// headers but no identity. An empty `text` makes a response without a body.
pub(crate) fn plain_response(status: StatusCode, text: &str, geo: Option<Geo>) -> Response {
    let mut response = Response::from_status(status);
    if !text.is_empty() {
        response.set_body_text_plain(&format!("{text}\n"));
    }
    base_headers(&mut ResponseHeadersMut(&mut response), geo, &[]);
    response
}

/// A refusal before anything streamed: the status and a one-line reason.
fn error_response(status: StatusCode, reason: &str, context: &RequestContext) -> Response {
    plain_response(status, &format!("{status}: {reason}"), context.geo.clone())
}
