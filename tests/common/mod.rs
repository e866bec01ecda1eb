//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::time::Duration;

/// `?` works in tests that return this.
pub type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// Sluice under Viceroy: the `edge` package's program, with the project's `fastly.toml`.
pub fn sluice() -> harness::EdgeBuilder {
    harness::Edge::boot().package("edge")
}

/// Sluice with a CPU budget no test page reaches: the whole pipeline, whatever the machine's
/// speed. For tests about memory or exact output, which the budget's steps would make depend
/// on timing.
pub fn sluice_unbudgeted() -> harness::EdgeBuilder {
    sluice().config("sluice_config", "vcpu_budget_ms", "100000")
}

/// The host the default fastly.toml configures as the publisher origin.
pub const ORIGIN_HOST: &str = "www.publisher.example";

/// Snapshot settings: snapshots live in the workspace's `snapshots/` folder, and values that
/// change from run to run (dates, ports, times, IDs) are replaced by placeholders.
pub fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.add_filter(r"127\.0\.0\.1:\d+", "[addr]");
    settings.add_filter(r"(?i)date: .*", "date: [date]");
    settings.add_filter(r"\+\s*\d+\.\dms", "[t]");
    settings
}

/// Asserts that the origin was never asked: the request was answered (or refused) before it.
pub async fn assert_origin_untouched(origin: &wiremock::MockServer) {
    let received = origin.received_requests().await.unwrap_or_default();
    assert!(
        received.is_empty(),
        "the origin was asked {} time(s): {:?}",
        received.len(),
        received.iter().map(|r| r.url.as_str()).collect::<Vec<_>>()
    );
}

/// A small HTML page that mentions the origin host in an attribute.
pub fn page(body: &str) -> String {
    format!(
        "<!doctype html><html><head><title>t</title></head><body>{body}<a href=\"https://{ORIGIN_HOST}/next\">next</a></body></html>"
    )
}

/// Taken by the tests whose figures are CPU time (the budget's vCPU per request) and by those
/// that load the machine most (pages of tens of megabytes, 200 streams at once): two of them at
/// once on a 2-core machine would measure each other. Other tests run beside them.
pub async fn cpu_heavy() -> tokio::sync::MutexGuard<'static, ()> {
    static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    HEAVY.lock().await
}

/// A second.
pub const SECOND: Duration = Duration::from_secs(1);

/// Geolocation for a reader in the United States.
pub const US: [(&str, &str); 3] = [
    ("country_code", "US"),
    ("continent", "NA"),
    ("city", "Portland"),
];

/// A 200 HTML response for a wiremock origin.
pub fn html(body: String) -> wiremock::ResponseTemplate {
    wiremock::ResponseTemplate::new(200).set_body_raw(body, "text/html; charset=utf-8")
}

/// A wiremock origin answering every request with `template`; the tests look at what it
/// received.
pub async fn origin_with(template: wiremock::ResponseTemplate) -> wiremock::MockServer {
    let origin = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(template)
        .mount(&origin)
        .await;
    origin
}

/// A TCF v2 core string whose only consent is purpose 1 (or nothing).
pub fn tcf(storage: bool) -> String {
    Bits::default()
        .int(2, 6)
        .int(0, 146)
        .flag(storage)
        .int(0, 60)
        .base64url()
}

/// A GPP header naming these section IDs (single IDs, Fibonacci-coded offsets).
pub fn gpp_header(ids: &[u64]) -> String {
    let mut bits = Bits::default()
        .int(3, 6)
        .int(1, 6)
        .int(ids.len() as u64, 12);
    let mut last = 0;
    for &id in ids {
        bits = bits.flag(false).fibonacci(id - last);
        last = id;
    }
    bits.base64url()
}

/// A US national (GPP section 7) core of version 2 (16 sensitive-data fields, 3 known-child
/// fields), with this sale opt-out (1 opted out, 2 did not) and everything else 0.
pub fn usnat_v2(sale: u64) -> String {
    Bits::default()
        .int(2, 6)
        .int(0, 12)
        .int(sale, 2)
        .int(2, 2)
        .int(2, 2)
        .int(0, 2 * 16 + 2 * 3 + 2 * 4)
        .base64url()
}

/// Sluice's ID cookie among a response's Set-Cookie headers.
pub fn id_cookie(wire: &harness::Wire) -> Option<&str> {
    wire.header_all("set-cookie")
        .into_iter()
        .find(|c| c.starts_with("synthetic_id="))
}

/// An ID of the shape Sluice makes.
pub fn well_formed_id() -> String {
    format!("{}.{}", "c".repeat(64), "0123456789abcdef")
}

/// The pipeline tests' corpus and codec helpers, shared rather than copied.
#[path = "../../edge/tests/support/mod.rs"]
pub mod support;

use support::bits::Bits;

/// Whether this run is CI's (`CI` set to anything but `false` or empty): there, a test that
/// cannot run fails instead of skipping.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// What a test needs from the machine: `Some` when it is there; otherwise the test fails under
/// CI, and elsewhere prints "skipped" straight to the terminal (libtest's capture would hide an
/// `eprintln!` of a passing test) and returns `None`, so no test passes quietly without having
/// run.
pub fn needs<T>(what: &str, found: Result<T, String>) -> Option<T> {
    match found {
        Ok(found) => Some(found),
        Err(reason) if under_ci() => panic!("{what} is needed under CI: {reason}"),
        Err(reason) => {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "skipped: {what} is not available here: {reason}"
            );
            None
        }
    }
}

/// rustls's *ring* provider, for the tests' own TLS servers. rustls 0.23.48 deprecates it for
/// its lack of post-quantum key exchange, which a loopback test server has no use for (the
/// provider it points to, aws-lc-rs, needs CMake and a C toolchain to build).
pub fn ring_provider() -> std::sync::Arc<rustls::crypto::CryptoProvider> {
    #[allow(deprecated)]
    std::sync::Arc::new(rustls::crypto::ring::default_provider())
}
