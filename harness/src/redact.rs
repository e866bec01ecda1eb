//! The values that change from run to run, replaced by placeholders in snapshots: dates, the
//! ports of loopback addresses, and generated IDs.

use regex::Regex;
use std::sync::OnceLock;

struct Rule {
    pattern: Regex,
    placeholder: &'static str,
}

fn rules() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(|| {
        [
            // IMF-fixdate, as in Date, Expires and Last-Modified.
            (
                r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT",
                "[date]",
            ),
            // Loopback addresses with ports: every instance and origin gets its own.
            (r"(?:127\.0\.0\.1|localhost|\[::1\]):\d{1,5}", "[addr]"),
            // UUIDs and long hex runs: generated IDs, hashes, request IDs.
            (
                r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b",
                "[id]",
            ),
            (r"\b[0-9a-fA-F]{16,}\b", "[id]"),
        ]
        .into_iter()
        .map(|(pattern, placeholder)| Rule {
            pattern: Regex::new(pattern).expect("redaction patterns compile"),
            placeholder,
        })
        .collect()
    })
}

/// `text` with every date, loopback port and generated ID replaced by `[date]`, `[addr]` or
/// `[id]`.
///
/// ```
/// let line = "sid=0123456789abcdef0123; expires=Sat, 28 Nov 2026 17:15:00 GMT; at 127.0.0.1:4312";
/// assert_eq!(harness::redact(line), "sid=[id]; expires=[date]; at [addr]");
/// ```
pub fn redact(text: &str) -> String {
    rules().iter().fold(text.to_owned(), |text, rule| {
        rule.pattern
            .replace_all(&text, rule.placeholder)
            .into_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn leaves_ordinary_text_alone() {
        let text = "max-age=3600, s-maxage=60; path=/; etag \"abc123\"";
        assert_eq!(redact(text), text);
    }

    #[test]
    fn redacts_sluice_style_ids_and_uuids() {
        let id = format!("{}.{}", "ab".repeat(32), "0123456789abcdef");
        assert_eq!(redact(&id), "[id].[id]");
        assert_eq!(redact("6f1c2e3a-1b2c-4d5e-8f90-0a1b2c3d4e5f"), "[id]");
        assert_eq!(redact("http://[::1]:8080/x"), "http://[addr]/x");
    }
}
