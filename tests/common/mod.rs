//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::time::Duration;

/// `?` works in tests that return this.
pub type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

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

/// A small HTML page that mentions the origin host in an attribute.
pub fn page(body: &str) -> String {
    format!(
        "<!doctype html><html><head><title>t</title></head><body>{body}<a href=\"https://{ORIGIN_HOST}/next\">next</a></body></html>"
    )
}

/// A second.
pub const SECOND: Duration = Duration::from_secs(1);

/// The pipeline tests' corpus and codec helpers, shared rather than copied.
#[path = "../../edge/tests/support/mod.rs"]
pub mod support;
