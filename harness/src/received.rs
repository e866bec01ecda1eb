//! What a scripted origin saw and did: the requests it received and the steps it sent.

use crate::redact::redact;
use crate::script::Step;
use serde::Serialize;
use std::fmt;
use std::time::Instant;

/// A request as the scripted origin received it.
#[derive(Debug, Clone)]
pub struct ReceivedRequest {
    /// Method.
    pub method: String,
    /// Request target (path and query).
    pub path: String,
    /// Headers, in received order (bytes that are not UTF-8 replaced; see
    /// [`header_bytes`](Self::header_bytes) for the bytes).
    pub headers: Vec<(String, String)>,
    /// Headers, in received order, as the bytes that arrived.
    pub raw_headers: Vec<(String, Vec<u8>)>,
    /// When the head was complete.
    pub at: Instant,
}

/// The value of the first header named `name` (case-insensitive) in a list in received order.
pub(crate) fn first_header<'a, V>(headers: &'a [(String, V)], name: &str) -> Option<&'a V> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

impl ReceivedRequest {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        first_header(&self.headers, name).map(String::as_str)
    }

    /// The first header of that name, as the bytes that arrived.
    pub fn header_bytes(&self, name: &str) -> Option<&[u8]> {
        first_header(&self.raw_headers, name).map(Vec::as_slice)
    }

    /// A readable view for snapshots: method, target and headers in received order, with
    /// dates, loopback ports and generated IDs [redacted](crate::redact).
    ///
    /// ```no_run
    /// # fn demo(origin: harness::ScriptedOrigin) {
    /// insta::assert_yaml_snapshot!(origin.requests()[0].snapshot(), @r#"
    /// method: GET
    /// target: /
    /// headers:
    ///   - "host: www.publisher.example"
    /// "#);
    /// # }
    /// ```
    pub fn snapshot(&self) -> RequestSnapshot {
        RequestSnapshot {
            method: self.method.clone(),
            target: redact(&self.path),
            headers: self
                .headers
                .iter()
                .map(|(name, value)| redact(&format!("{name}: {value}")))
                .collect(),
        }
    }
}

impl fmt::Display for ReceivedRequest {
    /// `METHOD target`, then one `name: value` line per header.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} {}", self.method, self.path)?;
        for (name, value) in &self.headers {
            writeln!(f, "  {name}: {value}")?;
        }
        Ok(())
    }
}

/// What [`ReceivedRequest::snapshot`] shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestSnapshot {
    /// The method.
    pub method: String,
    /// The request target.
    pub target: String,
    /// `name: value`, in received order.
    pub headers: Vec<String>,
}

/// When a step left the origin.
#[derive(Debug, Clone)]
pub struct Sent {
    /// Which request (0 for the first) it answered.
    pub request: usize,
    /// The step.
    pub step: Step,
    /// When its last byte was written to the socket.
    pub at: Instant,
}
