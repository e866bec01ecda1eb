//! Log lines go to a Fastly log endpoint: the one the `log_endpoint` setting names, `sluice_log`
//! by default. Locally, Viceroy prints every endpoint line to its stdout as
//! `sluice_log :: LEVEL message`, which is where `serve` and the harness read them.
//!
//! The logger writes through the fastly crate's `Endpoint`, the host call `log-fastly` makes:
//! `log-fastly` itself always links `regex` for module filters Sluice has no use for, which made
//! the module 1.2 MB (41%) larger.

use fastly::ConfigStore;
use fastly::log::Endpoint;
use log::{Level, LevelFilter, Log, Metadata, Record};
use sluice_edge::policy::cache::Outcome;
use sluice_edge::policy::settings::{DEFAULT_LOG_ENDPOINT, LOG_ENDPOINT_KEY, log_endpoint};
use std::io::Write;

/// Writes each record as one `LEVEL message` line to one endpoint.
struct EndpointLogger(Endpoint);

impl Log for EndpointLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= Level::Info
    }

    fn log(&self, record: &Record) {
        if self.enabled(record.metadata()) {
            // One write per line, so a message is never split between writes.
            let line = format!("{} {}", record.level(), record.args());
            // A log line that cannot be written is not worth failing the request for.
            let _ = self.0.clone().write_all(line.as_bytes());
        }
    }

    fn flush(&self) {}
}

/// Installs the logger for this request (each request is a fresh instance).
pub(crate) fn init(config_store: &str) {
    let configured = ConfigStore::try_open(config_store)
        .ok()
        .and_then(|store| store.try_get(LOG_ENDPOINT_KEY).ok().flatten());
    let (name, problem) = match log_endpoint(configured.as_deref()) {
        Ok(name) => (name.to_owned(), None),
        Err(error) => (DEFAULT_LOG_ENDPOINT.to_owned(), Some(error)),
    };
    // An endpoint the host refuses leaves the request without logs rather than without a
    // response.
    let Ok(endpoint) = Endpoint::try_from_name(&name) else {
        return;
    };
    // Leaked once: the instance serves one request and ends.
    let logger: &'static EndpointLogger = Box::leak(Box::new(EndpointLogger(endpoint)));
    if log::set_logger(logger).is_ok() {
        log::set_max_level(LevelFilter::Info);
    }
    if let Some(error) = problem {
        log::warn!("{error}; logging to {DEFAULT_LOG_ENDPOINT}");
    }
}

/// How this request met the cache of rewritten pages, once known.
static CACHE: std::sync::Mutex<Option<Outcome>> = std::sync::Mutex::new(None);

/// Records how the request met the cache, for [`figures`].
pub(crate) fn note_cache(outcome: Outcome) {
    if let Ok(mut noted) = CACHE.lock() {
        *noted = Some(outcome);
    }
}

/// What the request has cost and how it met the cache, as `vcpu N ms, cache hit`: the vCPU
/// time is what Fastly bills and limits (50 ms by default). The harness reads it from this
/// form.
pub(crate) fn figures() -> String {
    let vcpu = match fastly::compute_runtime::elapsed_vcpu_ms() {
        Ok(ms) => format!("vcpu {ms} ms"),
        Err(status) => format!("vcpu unknown ({status:?})"),
    };
    match CACHE.lock().ok().and_then(|noted| *noted) {
        Some(outcome) => format!("{vcpu}, {outcome}"),
        None => vcpu,
    }
}
