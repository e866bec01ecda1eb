//! The life of a proxied request, in order:
//!
//! 1. [`RequestContext::of`]: who and where the reader is, and the identity decision.
//! 2. [`upstream_request`]: the client request made fit for the origin.
//! 3. [`fetch`]: the origin is asked, and the gate ([`gate::decide`]) picks the path: Stream,
//!    PassThrough, or Refuse (a status the client cannot be sent, such as `101`: a 502); a part
//!    of a page Sluice rewrites is asked for again, whole (RefetchWhole).
//! 4. [`finalize_response`]: every header the client will see, on every path (URL-bearing
//!    headers pointed at the proxy, Sluice's own headers, identity on documents), and HTTP/1.1.
//!    On the Stream path, [`first_chunk_checked`] first reads the origin's first chunk and checks
//!    that its start decodes (a throwaway decode of its first few kilobytes), so a body corrupt
//!    from its first byte is a 502 rather than a 200 that stops at once; the output coding is
//!    chosen from what the client accepts ([`output_encoding`]). A head larger than Fastly
//!    sends ([`response::MAX_HEAD_BYTES`]) is a 502 ([`head_fits`]).
//! 5. [`commit`]: the only place where headers are committed with `stream_to_client()`. An
//!    HTTP/1.0 client, which cannot tell a cut stream from a whole one, gets its page rewritten
//!    into memory first and sent whole with its length ([`buffered`]).
//! 6. [`stream_body`]: the body pipeline writes into the client stream; a mid-stream error
//!    abandons the stream, so the client sees a truncated body, never a clean end.
//! 7. [`log_outcome`]: one line per streamed response: complete (with its sizes and the
//!    request's vCPU time), abandoned, or finish failed. Responses sent whole are logged in
//!    `compute/mod.rs`, with their vCPU time too.
//!
//! Errors before step 5 become a status (502 unreachable origin, a body corrupt from its first
//! byte, or an unsendable status, 504 origin timeout, 500 bad settings; a target that is not a URL is a 400 before this
//! file is reached, in `compute/mod.rs`) sent with `send_to_client()`; after it, nothing can
//! change the status any more.

use super::context::{Connection, RequestContext};
use super::headers::{RequestHeaders, RequestHeadersMut, ResponseHeaders, ResponseHeadersMut};
use super::logger;
use fastly::http::body::StreamingBody;
use fastly::http::request::SendErrorCause;
use fastly::http::{StatusCode, Url, Version};
use fastly::{Body, Request, Response};
use sluice_edge::pipeline::budget::{self, Meter, Overrun, Stepped};
use sluice_edge::pipeline::{
    self, BoundedBuffer, ContentKind, Encoding, Params, PipelineError, Stats,
};
use sluice_edge::policy::gate::{self, GateInput, ResponsePath};
use sluice_edge::policy::headers::ReadHeaders;
use sluice_edge::policy::identity::IdentityAction;
use sluice_edge::policy::request::{
    OriginRequest, accepted_codings, output_encoding, prepare_origin_headers, take_verbatim,
};
use sluice_edge::policy::response::{self, FinalHeaders, Geo};
use sluice_edge::policy::settings::{PostProcessor, Settings};
use std::io::Read;

/// Proxies one request to the origin. `None`: the response was streamed.
pub(crate) fn proxy(
    request: Request,
    target: &str,
    connection: Connection,
    proxy_host: &str,
    settings: &Settings,
) -> Option<Response> {
    let context = RequestContext::of(&request, connection, proxy_host, settings);
    let (target, marked_verbatim) = take_verbatim(target);
    let path_only = target.split('?').next().unwrap_or(&target);
    let verbatim = marked_verbatim || settings.is_verbatim_path(path_only);
    let range_requested =
        context.method == "GET" && RequestHeaders(&request).get("range").is_some();
    let origin_request = match upstream_request(request, &target, settings, &context) {
        Ok(request) => request,
        Err(reason) => {
            log::error!("request refused before the origin was asked: {reason}");
            return Some(error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                &reason,
                &context,
            ));
        }
    };
    let ask = Ask {
        method: &context.method,
        range_requested,
        verbatim,
        settings,
    };
    let (mut response, path) = match fetch(origin_request, &ask) {
        Ok(answer) => answer,
        Err((status, reason)) => return Some(error_response(status, reason, &context)),
    };
    let content_type = response::content_type(&ResponseHeaders(&response));
    match path {
        ResponsePath::Stream { kind, encoding } => {
            let length = response::content_length(&ResponseHeaders(&response));
            let (first, rest) = match first_chunk_checked(response.take_body(), encoding, settings)
            {
                Ok(body) => body,
                Err(reason) => {
                    log::error!("refused before streaming: {reason}");
                    return Some(error_response(StatusCode::BAD_GATEWAY, &reason, &context));
                }
            };
            let output = output_within_budget(encoding, kind, length, &first, settings, &context);
            let params = pipeline_params(
                &response,
                content_type.as_deref(),
                settings,
                &context,
                kind,
                encoding,
            )
            .with_output_encoding(output)
            .with_budget(settings.vcpu_budget_ms, length);
            let origin_body = std::io::Cursor::new(first).chain(rest);
            let mut headers = ResponseHeadersMut(&mut response);
            response::prepare_modified_body(&mut headers);
            response::set_content_encoding(&mut headers, output);
            let response = finalize_response(response, settings, &context, kind);
            if let Err(reason) = head_fits(&response) {
                return Some(error_response(StatusCode::BAD_GATEWAY, &reason, &context));
            }
            if context.http10 {
                return Some(buffered(response, origin_body, &params, &context));
            }
            let client = commit(response);
            log_outcome(stream_body(origin_body, client, &params));
            None
        }
        // The origin body goes out host-side, with its own framing and Content-Length.
        ResponsePath::PassThrough(_) => {
            let response = finalize_response(response, settings, &context, ContentKind::Other);
            Some(match head_fits(&response) {
                Ok(()) => response,
                Err(reason) => error_response(StatusCode::BAD_GATEWAY, &reason, &context),
            })
        }
        ResponsePath::RefetchWhole => unreachable!("fetch asks for the whole itself"),
        ResponsePath::Refuse(reason) => {
            log::error!("refused: {reason}");
            Some(error_response(StatusCode::BAD_GATEWAY, reason, &context))
        }
    }
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
            log_outcome(Outcome::Complete(stats));
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

/// Step 4: the headers every response leaves with (geo, version, environment, operator
/// headers), set on every path before the head goes out, and HTTP/1.1 whatever the origin spoke,
/// so a streamed body is chunked and an abandoned one is visibly cut short. Identity (the ID
/// cookie, or its expiry) goes only on the HTML documents Sluice rewrites: other responses keep
/// their cacheability, and a reader gets one ID per page view, not one per asset.
fn finalize_response(
    mut response: Response,
    settings: &Settings,
    context: &RequestContext,
    kind: ContentKind,
) -> Response {
    response.set_version(Version::HTTP_11);
    let mut headers = ResponseHeadersMut(&mut response);
    response::rewrite_header_urls(&mut headers, &context.urls);
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
/// (the host frames it; Content-Length was removed with the other modified-body headers).
fn commit(response: Response) -> StreamingBody {
    response.stream_to_client()
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

/// Step 6: the body. On a pipeline error the client stream is abandoned, not finished: the
/// chunked body then stops without its terminating 0-chunk and the connection closes, so the
/// client can tell the page is incomplete.
fn stream_body(origin_body: impl Read, mut client: StreamingBody, params: &Params) -> Outcome {
    match pipeline::process_response_metered(origin_body, &mut client, params, &mut VcpuMeter) {
        Ok(stats) => match client.finish() {
            Ok(()) => Outcome::Complete(stats),
            Err(error) => Outcome::FinishFailed(error),
        },
        Err(error) => {
            // Abandoning can fail only if the client is already gone; either way the stream
            // ends without a terminator.
            let _ = client.abandon();
            Outcome::Abandoned(error)
        }
    }
}

/// Step 7: one line per streamed response.
fn log_outcome(outcome: Outcome) {
    match outcome {
        Outcome::Complete(stats) => {
            log::info!(
                "streamed: {} bytes in, {} decoded, {} out, {} chunks, {} rewrites, {}",
                stats.bytes_in,
                stats.decoded_bytes,
                stats.bytes_out,
                stats.chunks,
                stats.rewrites,
                logger::vcpu_used()
            )
        }
        Outcome::Abandoned(error) => {
            log::error!(
                "stream abandoned, the client gets a truncated body: {error}; {}",
                logger::vcpu_used()
            )
        }
        Outcome::FinishFailed(error) => {
            log::error!("finishing the client stream failed: {error}")
        }
    }
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
