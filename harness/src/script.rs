//! A response as data: the steps a scripted origin plays, in order.

use std::fmt;
use std::time::Duration;

/// One step of a scripted response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The status line and headers. Without a `content-length` header the body is sent chunked.
    Head {
        /// Status code.
        status: u16,
        /// Headers, in this order; values are bytes (any octet 0x80-0xFF is legal in HTTP).
        headers: Vec<(String, Vec<u8>)>,
    },
    /// Body bytes: one HTTP chunk when chunked, raw bytes otherwise.
    Chunk(Vec<u8>),
    /// Wait before the next step.
    Pause(Duration),
    /// End the body cleanly (the 0-chunk when chunked) and close.
    End,
    /// Close the connection at once, mid-body.
    Cut,
    /// Keep the connection open and send nothing more, until the origin is dropped.
    Stall,
    /// Bytes written as they are, with no framing: interim responses, malformed heads.
    Raw(Vec<u8>),
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Head { status, headers } => {
                write!(f, "head {status} ({} headers)", headers.len())
            }
            Step::Chunk(bytes) => write!(f, "chunk {} bytes", bytes.len()),
            Step::Pause(d) => write!(f, "pause {} ms", d.as_millis()),
            Step::End => f.write_str("end"),
            Step::Cut => f.write_str("cut"),
            Step::Stall => f.write_str("stall"),
            Step::Raw(bytes) => write!(f, "raw {} bytes", bytes.len()),
        }
    }
}

/// A response as data: a list of steps, played for every request.
///
/// ```
/// use harness::Script;
/// use std::time::Duration;
/// let script = Script::new()
///     .head(200, [("content-type", "text/html")])
///     .chunk("<html><head></head><body>first")
///     .pause(Duration::from_millis(500))
///     .chunk("second</body></html>")
///     .end();
/// assert_eq!(script.to_string(), "head 200 (1 headers) | chunk 30 bytes | pause 500 ms | chunk 20 bytes | end");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use = "a script does nothing until an origin plays it"]
pub struct Script {
    steps: Vec<Step>,
}

impl Script {
    /// An empty script.
    ///
    /// ```
    /// let script = harness::Script::new().head(204, [("x-a", "1")]).end();
    /// assert_eq!(script.steps().len(), 2);
    /// ```
    pub fn new() -> Self {
        Script::default()
    }

    /// Sends the status line and headers. Values are written byte for byte, so an origin that
    /// sends Latin-1 header values (`b"caf\xe9"`) can be scripted.
    ///
    /// ```
    /// let script = harness::Script::new().head(200, [("content-type", "text/html")]);
    /// ```
    pub fn head<K: Into<String>, V: AsRef<[u8]>>(
        mut self,
        status: u16,
        headers: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let headers = headers
            .into_iter()
            .map(|(k, v)| (k.into(), v.as_ref().to_vec()))
            .collect();
        self.steps.push(Step::Head { status, headers });
        self
    }

    /// Sends body bytes.
    ///
    /// ```
    /// let script = harness::Script::new()
    ///     .head(200, [("content-type", "text/plain")])
    ///     .chunk("first ")
    ///     .chunk(b"second".to_vec())
    ///     .end();
    /// ```
    pub fn chunk(mut self, bytes: impl AsRef<[u8]>) -> Self {
        self.steps.push(Step::Chunk(bytes.as_ref().to_vec()));
        self
    }

    /// Sends `body` in pieces of `size` bytes with `pause` between them.
    ///
    /// ```
    /// use std::time::Duration;
    /// let script = harness::Script::new()
    ///     .head(200, [("content-type", "text/plain")])
    ///     .trickle("a slow body", 2, Duration::from_millis(50))
    ///     .end();
    /// ```
    pub fn trickle(mut self, body: impl AsRef<[u8]>, size: usize, pause: Duration) -> Self {
        for (i, piece) in body.as_ref().chunks(size.max(1)).enumerate() {
            if i > 0 {
                self = self.pause(pause);
            }
            self = self.chunk(piece);
        }
        self
    }

    /// Waits before the next step.
    ///
    /// ```
    /// use std::time::Duration;
    /// let script = harness::Script::new()
    ///     .head(200, [("content-type", "text/plain")])
    ///     .chunk("now ")
    ///     .pause(Duration::from_secs(1))
    ///     .chunk("later")
    ///     .end();
    /// ```
    pub fn pause(mut self, duration: Duration) -> Self {
        self.steps.push(Step::Pause(duration));
        self
    }

    /// Ends the body cleanly.
    ///
    /// ```
    /// let script = harness::Script::new().head(200, [("content-type", "text/plain")]).chunk("done").end();
    /// ```
    pub fn end(mut self) -> Self {
        self.steps.push(Step::End);
        self
    }

    /// Closes the connection mid-body.
    ///
    /// ```
    /// let script = harness::Script::new()
    ///     .head(200, [("content-type", "text/html")])
    ///     .chunk("<p>half a pa")
    ///     .cut();
    /// ```
    pub fn cut(mut self) -> Self {
        self.steps.push(Step::Cut);
        self
    }

    /// Writes bytes as they are, outside any framing: an interim `103 Early Hints` before the
    /// head, or a deliberately malformed response.
    ///
    /// ```
    /// let script = harness::Script::new().raw("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    /// ```
    pub fn raw(mut self, bytes: impl AsRef<[u8]>) -> Self {
        self.steps.push(Step::Raw(bytes.as_ref().to_vec()));
        self
    }

    /// Sends nothing more and keeps the connection open.
    ///
    /// ```
    /// let script = harness::Script::new().head(200, [("content-type", "text/html")]).stall();
    /// ```
    pub fn stall(mut self) -> Self {
        self.steps.push(Step::Stall);
        self
    }

    /// The steps.
    ///
    /// ```
    /// let script = harness::Script::new().head(200, [("x-a", "1")]).chunk("x").end();
    /// assert_eq!(script.steps().len(), 3);
    /// ```
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }
}

impl fmt::Display for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let steps: Vec<String> = self.steps.iter().map(Step::to_string).collect();
        f.write_str(&steps.join(" | "))
    }
}
