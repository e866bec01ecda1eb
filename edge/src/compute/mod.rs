//! Fastly glue: the client request in, routing, settings, and Fastly's types turned into the
//! library's.

mod cache;
mod client_url;
mod context;
pub(crate) mod fresh_pages;
mod headers;
pub(crate) mod lifecycle;
pub(crate) mod logger;

use fastly::http::StatusCode;
use fastly::{ConfigStore, Request, SecretStore};
use sluice_edge::policy::cache::purge;
use sluice_edge::policy::headers::ReadHeaders;
use sluice_edge::policy::request::{Target, parse_target, proxy_host};
use sluice_edge::policy::settings::Settings;

/// The Config Store that holds the proxy's settings.
pub(crate) const CONFIG_STORE: &str = "sluice_config";
/// The Secret Store that holds the synthetic ID key (and the purge token, if any).
pub(crate) const SECRET_STORE: &str = "sluice_secrets";
/// The methods an `OPTIONS *` answer lists: every method is proxied.
const ALLOWED_METHODS: &str = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

/// Handles the client request of this instance, from its raw target to the response.
pub(crate) fn handle_client_request() {
    let (handle, body) = fastly::handle::client_request_and_body();
    // Read (and judge) the URL before anything asks the fastly crate for it: its getter panics
    // on a URL it cannot parse.
    let raw_url = client_url::raw_url(&handle);
    let connection = context::Connection::of(&handle);
    let request = Request::from_handles(handle, Some(body));
    let target = parse_target(request.get_method_str(), &raw_url);
    let response = match target {
        Target::Invalid(reason) => {
            log::warn!("request refused: {reason}");
            Some(lifecycle::plain_response(
                StatusCode::BAD_REQUEST,
                &format!("400 Bad Request: {reason}"),
                None,
            ))
        }
        Target::Asterisk => {
            let mut response = lifecycle::plain_response(StatusCode::NO_CONTENT, "", None);
            response.set_header("allow", ALLOWED_METHODS);
            Some(response)
        }
        Target::Path(target) => route(request, &target, connection),
    };
    // Host-side: a passed-through body, or a kept copy's, is copied by the host, not by the
    // program.
    if let Some(response) = response {
        lifecycle::send_whole(response);
    }
}

/// Routes one client request. `Some` is a response for the caller to send; `None` means the
/// response was already streamed to the client.
fn route(
    request: Request,
    target: &str,
    connection: context::Connection,
) -> Option<fastly::Response> {
    let path = target.split('?').next().unwrap_or(target);
    if request.get_method_str() == "GET" && path == "/health" {
        return Some(lifecycle::plain_response(StatusCode::OK, "ok", None));
    }
    if path == purge::PATH {
        return Some(cache::purge_endpoint(&request, target));
    }
    // Every rewritten URL points at the host the reader used: without a usable one there is
    // nothing to point them at (and RFC 9112 asks for a 400).
    let Some(proxy_host) = proxy_host(headers::RequestHeaders(&request).get("host")) else {
        log::warn!("request refused: the Host header is not a host name");
        return Some(lifecycle::plain_response(
            StatusCode::BAD_REQUEST,
            "400 Bad Request: the Host header is not a host name, an IPv4 or a bracketed IPv6 address with an optional port",
            None,
        ));
    };
    let settings = match load_settings() {
        Ok(settings) => settings,
        Err(reason) => {
            log::error!("request refused before the origin was asked: {reason}");
            return Some(lifecycle::plain_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                &reason,
                None,
            ));
        }
    };
    lifecycle::proxy(request, target, connection, &proxy_host, &settings)
}

fn load_settings() -> Result<Settings, String> {
    let store = ConfigStore::try_open(CONFIG_STORE)
        .map_err(|e| format!("the Config Store {CONFIG_STORE} cannot be opened: {e}"))?;
    let secret = SecretStore::open(SECRET_STORE)
        .ok()
        .and_then(|s| s.get("synthetic_id_key"))
        .map(|secret| secret.plaintext().to_vec());
    let settings = Settings::from_lookup(|key| store.try_get(key).ok().flatten(), secret)
        .map_err(|e| e.to_string())?;
    // The name is one Fastly can hold (the settings checked it); whether the service has it is
    // the host's to say. Asking for a backend that does not exist would be a 502 that blames
    // the origin.
    let exists = fastly::Backend::from_name(&settings.origin_backend).is_ok_and(|b| b.exists());
    if !exists {
        return Err(format!(
            "the setting `origin_backend` names {:?}, and this service has no backend of that name",
            settings.origin_backend
        ));
    }
    Ok(settings)
}
