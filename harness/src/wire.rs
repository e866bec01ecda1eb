//! One response as it crossed the wire: a timeline of events (head, chunks, terminator, close)
//! with the time each completed, the body bytes, and assertions over them. Requests are built
//! and sent by [`WireRequest`](crate::WireRequest); headers keep their received order and case.
//!
//! Beware: the wire is not fully deterministic. Bytes a server flushed in the instant before it
//! aborted a stream may never arrive (Viceroy drops its pending writes), and that can include
//! the head itself when the abort follows the commit at once: the client then sees a closed
//! connection and no response at all. Chunk boundaries depend on timing. Assert "a prefix of the
//! body and no terminator", not exact byte counts; give a scripted origin a short pause before it
//! fails when a test needs the head; compare times as orderings or generous ratios.

use crate::errors::HarnessError;
use crate::logs::LogBook;
use crate::received::first_header;
use std::fmt;
use std::time::Instant;

/// How many body bytes a failure message shows.
const BODY_PRINT_LIMIT: usize = 2048;
/// How many characters of one header value a timeline shows.
const HEADER_PRINT_LIMIT: usize = 200;

/// One thing that crossed the wire, with the time it completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The response head was complete.
    Head {
        /// Status code.
        status: u16,
        /// Headers in received order.
        headers: Vec<(String, String)>,
        /// When its last byte arrived.
        at: Instant,
    },
    /// A chunk of a chunked body (or, for other framings, one read of body bytes).
    Chunk {
        /// Data bytes in it.
        len: usize,
        /// When its last byte arrived.
        at: Instant,
    },
    /// The 0-chunk that ends a chunked body (trailers included).
    Terminator {
        /// When it arrived.
        at: Instant,
    },
    /// The peer closed the connection.
    Closed {
        /// When the close was seen.
        at: Instant,
    },
    /// The connection failed (reset, or bytes that are not HTTP).
    Failed {
        /// What went wrong.
        error: String,
        /// When.
        at: Instant,
    },
    /// The client gave up waiting.
    TimedOut {
        /// When.
        at: Instant,
    },
}

impl Event {
    /// When the event completed.
    ///
    /// ```no_run
    /// # fn demo(event: harness::Event, sent_at: std::time::Instant) {
    /// let since_sent = event.at() - sent_at;
    /// # }
    /// ```
    pub fn at(&self) -> Instant {
        match self {
            Event::Head { at, .. }
            | Event::Chunk { at, .. }
            | Event::Terminator { at }
            | Event::Closed { at }
            | Event::Failed { at, .. }
            | Event::TimedOut { at } => *at,
        }
    }
}

/// How the body was framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// `Content-Length: n`.
    Length(u64),
    /// Until the connection closes.
    UntilClose,
    /// No body (HEAD, 1xx, 204, 304).
    None,
}

/// One response as it crossed the wire: the timeline of events and the body bytes.
#[derive(Clone)]
pub struct Wire {
    pub(crate) request: String,
    pub(crate) sent_at: Instant,
    pub(crate) events: Vec<Event>,
    pub(crate) raw_headers: Vec<(String, Vec<u8>)>,
    pub(crate) version: String,
    pub(crate) body: Vec<u8>,
    pub(crate) framing: Framing,
    pub(crate) log: Option<LogBook>,
}

impl Wire {
    /// The events, in order.
    ///
    /// ```no_run
    /// # fn demo(wire: harness::Wire) {
    /// for event in wire.events() {
    ///     println!("{:?} at {:?}", event, event.at());
    /// }
    /// # }
    /// ```
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// When the request was sent: the zero of the timeline.
    ///
    /// ```no_run
    /// # fn demo(wire: harness::Wire) {
    /// let head_ms = wire.head_at().map(|at| (at - wire.sent_at()).as_millis());
    /// # }
    /// ```
    pub fn sent_at(&self) -> Instant {
        self.sent_at
    }

    /// The status code (0 if no head arrived).
    ///
    /// ```no_run
    /// # fn demo(wire: harness::Wire) {
    /// assert_eq!(wire.status(), 200);
    /// # }
    /// ```
    pub fn status(&self) -> u16 {
        match self.events.first() {
            Some(Event::Head { status, .. }) => *status,
            _ => 0,
        }
    }

    /// The headers in received order.
    ///
    /// ```no_run
    /// # fn demo(wire: harness::Wire) {
    /// for (name, value) in wire.headers() {
    ///     println!("{name}: {value}");
    /// }
    /// # }
    /// ```
    pub fn headers(&self) -> &[(String, String)] {
        match self.events.first() {
            Some(Event::Head { headers, .. }) => headers,
            _ => &[],
        }
    }

    /// The first header of that name (case-insensitive).
    ///
    /// ```no_run
    /// # fn demo(wire: harness::Wire) {
    /// assert_eq!(wire.header("content-type"), Some("text/html"));
    /// # }
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        first_header(self.headers(), name).map(String::as_str)
    }

    /// The first value of that header as the bytes that arrived (the text accessors replace
    /// bytes that are not UTF-8).
    ///
    /// ```no_run
    /// # fn demo(wire: harness::Wire) {
    /// assert_eq!(wire.header_bytes("x-name"), Some(&b"caf\xe9"[..]));
    /// # }
    /// ```
    pub fn header_bytes(&self, name: &str) -> Option<&[u8]> {
        first_header(&self.raw_headers, name).map(Vec::as_slice)
    }

    /// The response's HTTP version as its status line said it (`HTTP/1.1`); empty if no head
    /// arrived.
    ///
    /// ```no_run
    /// # fn demo(wire: harness::Wire) {
    /// assert_eq!(wire.version(), "HTTP/1.1");
    /// # }
    /// ```
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Every value of that header, in order.
    ///
    /// ```no_run
    /// # fn demo(wire: harness::Wire) {
    /// assert_eq!(wire.header_all("set-cookie").len(), 2);
    /// # }
    /// ```
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers()
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// How the body was framed.
    ///
    /// ```no_run
    /// # fn demo(wire: harness::Wire) {
    /// assert_eq!(wire.framing(), harness::Framing::Chunked);
    /// # }
    /// ```
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// The body bytes as received (still content-encoded).
    ///
    /// ```no_run
    /// # fn demo(wire: harness::Wire) {
    /// assert!(wire.body().starts_with(b"<!doctype html>"));
    /// # }
    /// ```
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body decoded per its `Content-Encoding` (gzip, deflate, br or none).
    ///
    /// ```no_run
    /// # fn demo(wire: harness::Wire) -> Result<(), Box<dyn std::error::Error>> {
    /// let html = String::from_utf8(wire.decoded_body()?)?;
    /// assert!(html.contains("<title>"));
    /// # Ok(()) }
    /// ```
    pub fn decoded_body(&self) -> Result<Vec<u8>, HarnessError> {
        crate::codec::decode(self.header("content-encoding"), &self.body)
    }

    /// The body decoded (by its `Content-Encoding`) as UTF-8 text: what most assertions on a
    /// page want.
    ///
    /// ```no_run
    /// # fn demo(wire: harness::Wire) -> Result<(), harness::HarnessError> {
    /// assert!(wire.text()?.contains("<title>"));
    /// # Ok(()) }
    /// ```
    pub fn text(&self) -> Result<String, HarnessError> {
        String::from_utf8(self.decoded_body()?).map_err(|e| {
            HarnessError::Protocol(format!(
                "the body is not UTF-8 (at byte {}); read it with decoded_body()",
                e.utf8_error().valid_up_to()
            ))
        })
    }

    /// The body decoded and parsed as JSON, into any type serde can make (`serde_json::Value`
    /// to look around).
    ///
    /// ```no_run
    /// # fn demo(wire: harness::Wire) -> Result<(), harness::HarnessError> {
    /// let profile: serde_json::Value = wire.json()?;
    /// assert_eq!(profile["name"], "Ada");
    /// # Ok(()) }
    /// ```
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, HarnessError> {
        serde_json::from_slice(&self.decoded_body()?)
            .map_err(|e| HarnessError::Protocol(format!("the body is not the JSON expected: {e}")))
    }

    /// Asserts that the decoded body contains `needle`.
    ///
    /// ```no_run
    /// # fn demo(wire: harness::Wire) {
    /// wire.assert_status(200).assert_body_contains("Hej, Ada!");
    /// # }
    /// ```
    #[track_caller]
    pub fn assert_body_contains(&self, needle: impl AsRef<[u8]>) -> &Self {
        let needle = needle.as_ref();
        let body = self.decoded_body().unwrap_or_else(|_| self.body.clone());
        if !needle.is_empty() && !body.windows(needle.len()).any(|w| w == needle) {
            self.fail(&format!(
                "a body containing {:?}",
                String::from_utf8_lossy(needle)
            ));
        }
        self
    }

    /// When the head was complete.
    ///
    /// ```no_run
    /// # fn demo(wire: harness::Wire) {
    /// assert!(wire.head_at().is_some(), "no head arrived");
    /// # }
    /// ```
    pub fn head_at(&self) -> Option<Instant> {
        self.events.iter().find_map(|e| match e {
            Event::Head { at, .. } => Some(*at),
            _ => None,
        })
    }

    /// When each body chunk completed.
    ///
    /// ```no_run
    /// # fn demo(wire: harness::Wire) {
    /// assert!(wire.chunk_times().len() >= 2, "the body came in one piece");
    /// # }
    /// ```
    pub fn chunk_times(&self) -> Vec<Instant> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Chunk { at, .. } => Some(*at),
                _ => None,
            })
            .collect()
    }

    /// When the first body chunk completed.
    ///
    /// ```no_run
    /// # fn demo(wire: harness::Wire) {
    /// let first = wire.first_chunk_at().expect("a body chunk");
    /// assert!(first <= wire.last_byte_at().unwrap());
    /// # }
    /// ```
    pub fn first_chunk_at(&self) -> Option<Instant> {
        self.chunk_times().first().copied()
    }

    /// When the last body byte (or the terminator) arrived.
    ///
    /// ```no_run
    /// # fn demo(wire: harness::Wire) {
    /// let took = wire.last_byte_at().unwrap() - wire.sent_at();
    /// # }
    /// ```
    pub fn last_byte_at(&self) -> Option<Instant> {
        self.events.iter().rev().find_map(|e| match e {
            Event::Chunk { at, .. } | Event::Terminator { at } => Some(*at),
            _ => None,
        })
    }

    /// Whether the chunked body ended with its 0-chunk.
    ///
    /// ```no_run
    /// # fn demo(wire: harness::Wire) {
    /// assert!(wire.terminated(), "the body did not end with its 0-chunk");
    /// # }
    /// ```
    pub fn terminated(&self) -> bool {
        self.events
            .iter()
            .any(|e| matches!(e, Event::Terminator { .. }))
    }

    /// Whether the body is incomplete: a chunked body without its terminator, or fewer bytes
    /// than the Content-Length, ended by a close, a failure or a time-out.
    ///
    /// ```no_run
    /// # fn demo(wire: harness::Wire) {
    /// assert!(!wire.truncated());
    /// # }
    /// ```
    pub fn truncated(&self) -> bool {
        match self.framing {
            Framing::Chunked => !self.terminated(),
            Framing::Length(n) => (self.body.len() as u64) < n,
            Framing::UntilClose | Framing::None => false,
        }
    }

    /// Whether the peer closed the connection.
    ///
    /// ```no_run
    /// # fn demo(wire: harness::Wire) {
    /// assert!(wire.closed() && !wire.terminated());
    /// # }
    /// ```
    pub fn closed(&self) -> bool {
        self.events
            .iter()
            .any(|e| matches!(e, Event::Closed { .. }))
    }

    fn offset(&self, at: Instant) -> String {
        format!(
            "+{:>8.1}ms",
            at.saturating_duration_since(self.sent_at).as_secs_f64() * 1000.0
        )
    }

    /// Panics with the expected-versus-received report.
    #[track_caller]
    fn fail(&self, expected: &str) -> ! {
        let mut report = format!("expected: {expected}\n");
        for cause in self.log.as_ref().map(LogBook::causes).unwrap_or_default() {
            report.push_str(&format!("cause: {cause}\n"));
        }
        report.push_str(&format!("received:\n{self}"));
        let body = String::from_utf8_lossy(&self.body[..self.body.len().min(BODY_PRINT_LIMIT)])
            .into_owned();
        report.push_str(&format!("body ({} bytes): {body:?}", self.body.len()));
        if self.body.len() > BODY_PRINT_LIMIT {
            report.push_str(" [cut]");
        }
        if let Some(log) = &self.log {
            report.push_str(&format!(
                "\n--- the edge's log (last 30 lines) ---\n{}",
                log.readable_tail(30)
            ));
        }
        panic!("{report}");
    }

    /// Asserts the status code.
    ///
    /// ```no_run
    /// # fn demo(wire: harness::Wire) {
    /// wire.assert_status(200);
    /// # }
    /// ```
    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Self {
        if self.status() != status {
            self.fail(&format!("status {status}"));
        }
        self
    }

    /// Asserts a header's value.
    ///
    /// ```no_run
    /// # fn demo(wire: harness::Wire) {
    /// wire.assert_header("content-type", "text/html; charset=utf-8");
    /// # }
    /// ```
    #[track_caller]
    pub fn assert_header(&self, name: &str, value: &str) -> &Self {
        if self.header(name) != Some(value) {
            self.fail(&format!("header {name}: {value}"));
        }
        self
    }

    /// Asserts a header's value byte for byte (for values that are not UTF-8).
    ///
    /// ```no_run
    /// # fn demo(wire: harness::Wire) {
    /// wire.assert_header_bytes("x-name", b"caf\xe9");
    /// # }
    /// ```
    #[track_caller]
    pub fn assert_header_bytes(&self, name: &str, value: &[u8]) -> &Self {
        if self.header_bytes(name) != Some(value) {
            self.fail(&format!("header {name}: {}", value.escape_ascii()));
        }
        self
    }

    /// Asserts that a header is present with a non-empty value.
    ///
    /// ```no_run
    /// # fn demo(wire: harness::Wire) {
    /// wire.assert_header_present("x-request-id");
    /// # }
    /// ```
    #[track_caller]
    pub fn assert_header_present(&self, name: &str) -> &Self {
        if self.header(name).is_none_or(|v| v.trim().is_empty()) {
            self.fail(&format!("a {name} header"));
        }
        self
    }

    /// Asserts that a header is absent.
    ///
    /// ```no_run
    /// # fn demo(wire: harness::Wire) {
    /// wire.assert_no_header("content-length");
    /// # }
    /// ```
    #[track_caller]
    pub fn assert_no_header(&self, name: &str) -> &Self {
        if self.header(name).is_some() {
            self.fail(&format!("no {name} header"));
        }
        self
    }

    /// Asserts a chunked body (Transfer-Encoding: chunked, no Content-Length) that ended
    /// with its 0-chunk.
    ///
    /// ```no_run
    /// # fn demo(wire: harness::Wire) {
    /// wire.assert_status(200).assert_chunked();
    /// # }
    /// ```
    #[track_caller]
    pub fn assert_chunked(&self) -> &Self {
        if self.framing != Framing::Chunked || self.header("content-length").is_some() {
            self.fail("a chunked body without Content-Length");
        }
        if !self.terminated() {
            self.fail("a chunked body ended by its 0-chunk");
        }
        self
    }

    /// Asserts a truncated response: a chunked body with no 0-chunk, and a closed connection.
    ///
    /// ```no_run
    /// # fn demo(wire: harness::Wire) {
    /// wire.assert_status(200).assert_truncated();
    /// # }
    /// ```
    #[track_caller]
    pub fn assert_truncated(&self) -> &Self {
        if self.framing != Framing::Chunked || self.terminated() || !self.closed() {
            self.fail("a chunked body cut off without its 0-chunk, then a closed connection");
        }
        self
    }

    /// Asserts that the client can tell this response failed: a 5xx status, a truncated body, or
    /// a connection closed before any head arrived. Under load, which of these a failing origin
    /// produces depends on timing (an abort right after the commit can take the head with it);
    /// what never happens is a complete-looking response.
    ///
    /// ```no_run
    /// # fn demo(wire: harness::Wire) {
    /// wire.assert_failed_visibly();
    /// # }
    /// ```
    #[track_caller]
    pub fn assert_failed_visibly(&self) -> &Self {
        let no_head_then_closed = self.head_at().is_none() && self.closed();
        let server_error = self.status() >= 500 && !self.truncated();
        if !(self.truncated() || no_head_then_closed || server_error) {
            self.fail("a visible failure: a 5xx, a truncated body, or a close before any head");
        }
        self
    }

    /// Asserts the exact body bytes as received.
    ///
    /// ```no_run
    /// # fn demo(wire: harness::Wire) {
    /// wire.assert_body("<p>hello</p>");
    /// # }
    /// ```
    #[track_caller]
    pub fn assert_body(&self, expected: impl AsRef<[u8]>) -> &Self {
        let expected = expected.as_ref();
        if self.body != expected {
            self.fail(&format!(
                "a body of {} bytes: {:?}",
                expected.len(),
                String::from_utf8_lossy(&expected[..expected.len().min(BODY_PRINT_LIMIT)])
            ));
        }
        self
    }

    /// Asserts that the received body is a prefix of `full` (what a truncated response may
    /// carry) and shorter than it.
    ///
    /// ```no_run
    /// # fn demo(wire: harness::Wire) {
    /// wire.assert_truncated().assert_body_is_strict_prefix_of("<p>first</p><p>second</p>");
    /// # }
    /// ```
    #[track_caller]
    pub fn assert_body_is_strict_prefix_of(&self, full: impl AsRef<[u8]>) -> &Self {
        let full = full.as_ref();
        if self.body.len() >= full.len() || !full.starts_with(&self.body) {
            self.fail(&format!("a strict prefix of a {}-byte body", full.len()));
        }
        self
    }

    /// Asserts that the whole head arrived before `instant` (`what` names it in the report).
    ///
    /// ```no_run
    /// # fn demo(wire: harness::Wire, origin: harness::ScriptedOrigin) {
    /// wire.assert_head_before(origin.last_chunk_sent_at().unwrap(), "the origin's last chunk");
    /// # }
    /// ```
    #[track_caller]
    pub fn assert_head_before(&self, instant: Instant, what: &str) -> &Self {
        if self.head_at().is_none_or(|at| at >= instant) {
            self.fail(&format!(
                "the head before {what} ({})",
                self.offset(instant)
            ));
        }
        self
    }

    /// Asserts that the first body chunk arrived before `instant`.
    ///
    /// ```no_run
    /// # fn demo(wire: harness::Wire, origin: harness::ScriptedOrigin) {
    /// wire.assert_first_chunk_before(origin.chunk_sent_at(1).unwrap(), "the origin's second chunk");
    /// # }
    /// ```
    #[track_caller]
    pub fn assert_first_chunk_before(&self, instant: Instant, what: &str) -> &Self {
        if self.first_chunk_at().is_none_or(|at| at >= instant) {
            self.fail(&format!(
                "the first body chunk before {what} ({})",
                self.offset(instant)
            ));
        }
        self
    }

    /// The timeline as text with times replaced by `[t]`, for snapshots.
    ///
    /// ```no_run
    /// # fn demo(wire: harness::Wire) {
    /// insta::assert_snapshot!(wire.timeline_without_times());
    /// # }
    /// ```
    pub fn timeline_without_times(&self) -> String {
        self.to_string()
            .lines()
            .map(|line| line.split_once("ms ").map_or(line, |(_, rest)| rest))
            .map(|line| format!("{line}\n"))
            .collect()
    }

    /// The response head as text (status line and headers in order), for snapshots.
    ///
    /// ```no_run
    /// # fn demo(wire: harness::Wire) {
    /// insta::assert_snapshot!(wire.head_text());
    /// # }
    /// ```
    pub fn head_text(&self) -> String {
        let mut text = format!("HTTP/1.1 {}\n", self.status());
        for (name, value) in self.headers() {
            text.push_str(&format!("{name}: {value}\n"));
        }
        text
    }
}

impl fmt::Display for Wire {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} request {}", self.offset(self.sent_at), self.request)?;
        for event in &self.events {
            let at = self.offset(event.at());
            match event {
                Event::Head {
                    status, headers, ..
                } => {
                    writeln!(f, "{at} head {status}")?;
                    for (name, value) in headers {
                        // A long value is cut, as bodies are, so a report stays readable.
                        match value.char_indices().nth(HEADER_PRINT_LIMIT) {
                            Some((cut, _)) => writeln!(
                                f,
                                "{at}   {name}: {}... [{} bytes]",
                                &value[..cut],
                                value.len()
                            )?,
                            None => writeln!(f, "{at}   {name}: {value}")?,
                        }
                    }
                }
                Event::Chunk { len, .. } => writeln!(f, "{at} chunk {len} bytes")?,
                Event::Terminator { .. } => writeln!(f, "{at} terminator")?,
                Event::Closed { .. } => writeln!(f, "{at} closed by peer")?,
                Event::Failed { error, .. } => writeln!(f, "{at} failed: {error}")?,
                Event::TimedOut { .. } => writeln!(f, "{at} timed out")?,
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Wire {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use crate::reader::parse_chunk_size;

    #[test]
    fn chunk_sizes_are_parsed_strictly() {
        assert_eq!(parse_chunk_size(b"1a"), Some(26));
        assert_eq!(parse_chunk_size(b"0"), Some(0));
        assert_eq!(parse_chunk_size(b"10;ext=1"), Some(16));
        assert_eq!(parse_chunk_size(b""), None);
        assert_eq!(parse_chunk_size(b"x1"), None);
        assert_eq!(parse_chunk_size(b"-1"), None);
    }
}
