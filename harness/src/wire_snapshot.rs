//! A readable view of a [`Wire`] for snapshot tests: what a reviewer needs to see in a diff
//! (status, headers, framing, how the body ended, the body), without what changes from run to
//! run (times, chunk boundaries, dates, ports, generated IDs).

use crate::redact::redact;
use crate::wire::{Event, Framing, Wire};
use serde::Serialize;

/// What [`Wire::snapshot`] shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WireSnapshot {
    /// The status code.
    pub status: u16,
    /// `name: value`, in received order.
    pub headers: Vec<String>,
    /// `chunked`, `content-length`, `until close` or `none`.
    pub framing: &'static str,
    /// How the response ended: `complete`, or how it was cut short.
    pub ending: String,
    /// The body decoded per its `Content-Encoding`, as text; a note in brackets when it is not
    /// UTF-8 or does not decode.
    pub body: String,
}

impl Wire {
    /// A readable view for snapshots, with dates, loopback ports and generated IDs
    /// [redacted](crate::redact):
    ///
    /// ```no_run
    /// # async fn demo(edge: harness::Edge) -> Result<(), harness::HarnessError> {
    /// let wire = edge.get("/").send().await?;
    /// insta::assert_yaml_snapshot!(wire.snapshot(), @r#"
    /// status: 200
    /// headers:
    ///   - "content-type: text/html"
    ///   - "date: [date]"
    ///   - "transfer-encoding: chunked"
    /// framing: chunked
    /// ending: complete
    /// body: "<p>hi</p>"
    /// "#);
    /// # Ok(()) }
    /// ```
    pub fn snapshot(&self) -> WireSnapshot {
        WireSnapshot {
            status: self.status(),
            headers: self
                .headers()
                .iter()
                .map(|(name, value)| redact(&format!("{name}: {value}")))
                .collect(),
            framing: match self.framing() {
                Framing::Chunked => "chunked",
                Framing::Length(_) => "content-length",
                Framing::UntilClose => "until close",
                Framing::None => "none",
            },
            ending: self.ending(),
            body: match self.decoded_body() {
                Ok(body) => match String::from_utf8(body) {
                    Ok(text) => redact(&text),
                    Err(e) => format!("[{} bytes, not UTF-8]", e.as_bytes().len()),
                },
                Err(e) => format!("[{} bytes that do not decode: {e}]", self.body().len()),
            },
        }
    }

    fn ending(&self) -> String {
        if !self.truncated() {
            return "complete".to_owned();
        }
        let cause = self.events().iter().rev().find_map(|event| match event {
            Event::Closed { .. } => Some("the connection closed".to_owned()),
            Event::Failed { error, .. } => Some(format!("the connection failed ({error})")),
            Event::TimedOut { .. } => Some("the client timed out".to_owned()),
            _ => None,
        });
        let missing = match self.framing() {
            Framing::Chunked => "before the terminator",
            _ => "before Content-Length bytes",
        };
        format!(
            "truncated: {} {missing}",
            cause.unwrap_or_else(|| "the body stopped".to_owned())
        )
    }
}
