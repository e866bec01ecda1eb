//! Fastly glue: routing, settings, and turning Fastly's types into the library's.

mod context;
mod headers;
pub(crate) mod lifecycle;
pub(crate) mod logger;

use fastly::http::{Method, StatusCode};
use fastly::{ConfigStore, Request, Response, SecretStore};
use sluice_edge::policy::settings::Settings;

/// The Config Store that holds the proxy's settings.
const CONFIG_STORE: &str = "sluice_config";
/// The Secret Store that holds the synthetic ID key.
const SECRET_STORE: &str = "sluice_secrets";

/// Routes one client request. `Some` is a response for `main` to send; `None` means the
/// response was already streamed to the client.
pub(crate) fn route_request(request: Request) -> Option<Response> {
    if request.get_method() == Method::GET && request.get_path() == "/health" {
        return Some(lifecycle::plain_response(StatusCode::OK, "ok", None));
    }
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
    lifecycle::proxy(request, &settings)
}

fn load_settings() -> Result<Settings, String> {
    let store = ConfigStore::try_open(CONFIG_STORE)
        .map_err(|e| format!("the config store {CONFIG_STORE} cannot be opened: {e}"))?;
    let secret = SecretStore::open(SECRET_STORE)
        .ok()
        .and_then(|s| s.get("synthetic_id_key"))
        .map(|secret| secret.plaintext().to_vec());
    Settings::from_lookup(|key| store.try_get(key).ok().flatten(), secret)
        .map_err(|e| e.to_string())
}
