//! The life of a proxied request, in order:
//!
//! 1. [`upstream_request`]: the client request made fit for the origin.
//! 2. the gate ([`sluice_edge::policy::gate::decide`]): Stream or PassThrough.
//! 3. [`finalize_headers`]: every header the client will see, set on every path.
//! 4. [`commit`]: the only place where headers are committed with `stream_to_client()`.
//! 5. [`stream_body`]: the body pipeline writes into the client stream; a mid-stream error
//!    abandons the stream, so the client sees a truncated body, never a clean end.
//! 6. [`log_outcome`]: one line per streamed response: complete, abandoned, or finish failed.
//!
//! Errors before step 4 become a status (502 unreachable origin, 504 origin timeout, 500 bad
//! settings) sent with `send_to_client()`; after it, no status can be changed any more.

use fastly::http::body::StreamingBody;
use fastly::http::request::SendErrorCause;
use fastly::http::{StatusCode, header};
use fastly::{Body, Request, Response};
use sluice_edge::pipeline::{self, ContentKind, Encoding, Params, PipelineError, Stats};
use sluice_edge::policy::gate::{self, GateInput, ResponsePath};
use sluice_edge::policy::settings::Settings;

/// Proxies one request to the origin. `None`: the response was streamed.
pub(crate) fn proxy(request: Request, settings: &Settings) -> Option<Response> {
    let method = request.get_method_str().to_owned();
    let proxy_host = request
        .get_header_str(header::HOST)
        .unwrap_or(&settings.origin_host)
        .to_owned();
    let mut response = match upstream_request(request, settings).send(&settings.origin_backend) {
        Ok(response) => response,
        Err(error) => {
            let status = match error.root_cause() {
                SendErrorCause::HttpResponseTimeout | SendErrorCause::ConnectionTimeout => {
                    StatusCode::GATEWAY_TIMEOUT
                }
                _ => StatusCode::BAD_GATEWAY,
            };
            log::error!("the origin could not be reached: {error}");
            return Some(error_response(status, "the origin could not be reached"));
        }
    };
    let path = gate::decide(&GateInput {
        method: &method,
        status: response.get_status().as_u16(),
        content_type: response.get_header_str(header::CONTENT_TYPE),
        content_encoding: response.get_header_str(header::CONTENT_ENCODING),
        html_post_processors: false,
    });
    match path {
        ResponsePath::Stream { kind, encoding } | ResponsePath::Buffered { kind, encoding } => {
            let params = pipeline_params(&response, settings, &proxy_host, kind, encoding);
            let origin_body = response.take_body();
            let client = commit(finalize_headers(response));
            log_outcome(stream_body(origin_body, client, &params));
            None
        }
        ResponsePath::PassThrough(_) => Some(finalize_headers(response)),
    }
}

/// Step 1: the origin request. Only the configured backend is ever asked, with the publisher's
/// host, whatever the client's Host header or absolute-form URI said.
pub(crate) fn upstream_request(mut request: Request, settings: &Settings) -> Request {
    request.set_header(header::HOST, &settings.origin_host);
    request
}

fn pipeline_params(
    response: &Response,
    settings: &Settings,
    proxy_host: &str,
    kind: ContentKind,
    encoding: Encoding,
) -> Params {
    let charset = response
        .get_header_str(header::CONTENT_TYPE)
        .and_then(charset_of);
    Params::new(&settings.origin_host, "http", proxy_host)
        .with_kind(kind)
        .with_encoding(encoding)
        .with_inject_script(&settings.inject_script)
        .with_charset(charset)
        .with_settings(settings.pipeline)
}

fn charset_of(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"'))
    })
}

/// Step 3: the headers every response leaves with.
pub(crate) fn finalize_headers(mut response: Response) -> Response {
    let version = std::env::var("FASTLY_SERVICE_VERSION").unwrap_or_else(|_| "dev".to_owned());
    response.set_header("x-sluice-version", version);
    response
}

/// Step 4: commits the head. After this no header or status can change; the body is chunked.
fn commit(mut response: Response) -> StreamingBody {
    // The body is rewritten, so the origin's length no longer holds; the host frames it chunked.
    response.remove_header(header::CONTENT_LENGTH);
    response.stream_to_client()
}

/// How a streamed response ended.
enum Outcome {
    Complete(Stats),
    Abandoned(PipelineError),
    FinishFailed(std::io::Error),
}

/// Step 5: the body. On a pipeline error the client stream is abandoned, not finished: the
/// chunked body then stops without its terminating 0-chunk and the connection closes, so the
/// client can tell the page is incomplete.
fn stream_body(origin_body: Body, mut client: StreamingBody, params: &Params) -> Outcome {
    match pipeline::process_response_streaming(origin_body, &mut client, params) {
        Ok(stats) => match client.finish() {
            Ok(()) => Outcome::Complete(stats),
            Err(error) => Outcome::FinishFailed(error),
        },
        Err(error) => {
            // Abandoning can fail only if the client is already gone; either way the stream ends
            // without a terminator.
            let _ = client.abandon();
            Outcome::Abandoned(error)
        }
    }
}

/// Step 6: one line per streamed response.
fn log_outcome(outcome: Outcome) {
    match outcome {
        Outcome::Complete(stats) => log::info!(
            "streamed: {} bytes in, {} decoded, {} out, {} chunks, {} rewrites",
            stats.bytes_in,
            stats.decoded_bytes,
            stats.bytes_out,
            stats.chunks,
            stats.rewrites
        ),
        Outcome::Abandoned(error) => {
            log::error!("stream abandoned, the client gets a truncated body: {error}")
        }
        Outcome::FinishFailed(error) => {
            log::error!("finishing the client stream failed: {error}")
        }
    }
}

/// A short plain-text error response, sent before anything was streamed.
pub(crate) fn error_response(status: StatusCode, reason: &str) -> Response {
    finalize_headers(
        Response::from_status(status).with_body_text_plain(&format!("{}: {reason}\n", status)),
    )
}
