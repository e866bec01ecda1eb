//! A wire-level HTTP/1.1 client: one request on a raw TCP stream, and a timeline of what came
//! back and when.
//!
//! It parses chunked framing strictly (a size line of hex digits, the data, CRLF) and records
//! each chunk as it completes, the 0-chunk terminator if it comes, and whether the peer closed.
//! Headers keep their received order and case.
//!
//! Beware: the wire is not fully deterministic. Bytes a server flushed in the instant before it
//! aborted a stream may never arrive (Viceroy drops its pending writes), and that can include
//! the head itself when the abort follows the commit at once: the client then sees a closed
//! connection and no response at all. Chunk boundaries depend on timing. Assert "a prefix of the
//! body and no terminator", not exact byte counts; give a scripted origin a short pause before it
//! fails when a test needs the head; compare times as orderings or generous ratios.

use crate::errors::HarnessError;
use crate::logs::LogBook;
use std::fmt;
use std::io::Read;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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

/// A request to send through the wire client.
///
/// ```no_run
/// # async fn demo(edge: harness::Edge) -> Result<(), harness::HarnessError> {
/// let wire = edge
///     .request("GET", "/page")
///     .header("accept-encoding", "gzip")
///     .timeout(std::time::Duration::from_secs(5))
///     .send()
///     .await?;
/// wire.assert_status(200).assert_chunked();
/// # Ok(()) }
/// ```
#[must_use = "a request does nothing until sent"]
pub struct WireRequest {
    addr: String,
    method: String,
    target: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    timeout: Duration,
    log: Option<LogBook>,
    tls: Option<Tls>,
}

/// HTTPS: the server name to verify, and extra roots to trust besides the public ones.
#[derive(Clone)]
struct Tls {
    server_name: String,
    extra_roots_pem: Vec<u8>,
}

/// What the reader reads from: a TCP stream, or TLS over one.
trait Transport: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Transport for T {}

impl WireRequest {
    /// A request to `addr` (`host:port`) for `target` (`/path?query`, or an absolute URI).
    pub fn new(addr: impl Into<String>, method: &str, target: &str) -> Self {
        WireRequest {
            addr: addr.into(),
            method: method.to_owned(),
            target: target.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout: Duration::from_secs(30),
            log: None,
            tls: None,
        }
    }

    /// Speaks HTTPS (HTTP/1.1 over TLS), verifying the certificate for `server_name` against
    /// the public web roots.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), harness::HarnessError> {
    /// let wire = harness::WireRequest::new("www.example.com:443", "GET", "/")
    ///     .tls("www.example.com")
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn tls(mut self, server_name: &str) -> Self {
        self.tls = Some(Tls {
            server_name: server_name.to_owned(),
            extra_roots_pem: Vec::new(),
        });
        self
    }

    /// Trusts the certificates in this PEM text too (a test server's own CA).
    pub fn tls_root_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        if let Some(tls) = &mut self.tls {
            tls.extra_roots_pem = pem.into();
        }
        self
    }

    async fn connect(&self) -> Result<Box<dyn Transport>, HarnessError> {
        let socket = TcpStream::connect(&self.addr)
            .await
            .map_err(|e| HarnessError::io(format!("connecting to {}", self.addr), e))?;
        socket.set_nodelay(true).ok();
        let Some(tls) = &self.tls else {
            return Ok(Box::new(socket));
        };
        use rustls::pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&tls.extra_roots_pem) {
            let cert = cert.map_err(|e| HarnessError::Protocol(format!("bad root PEM: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| HarnessError::Protocol(format!("bad root certificate: {e}")))?;
        }
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| HarnessError::Protocol(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let name = rustls::pki_types::ServerName::try_from(tls.server_name.clone())
            .map_err(|e| HarnessError::Protocol(format!("{}: {e}", tls.server_name)))?;
        let stream = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
            .connect(name, socket)
            .await
            .map_err(|e| HarnessError::io(format!("TLS with {}", tls.server_name), e))?;
        Ok(Box::new(stream))
    }

    pub(crate) fn with_log(mut self, log: LogBook) -> Self {
        self.log = Some(log);
        self
    }

    /// Adds a header (several of one name are sent as given). A `host` header replaces the
    /// default one. The value is sent byte for byte: HTTP allows any octet 0x80-0xFF in a
    /// value, so `b"Mozilla \xff"` is a fair test input.
    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        self.headers
            .push((name.to_owned(), value.as_ref().to_vec()));
        self
    }

    /// A request body (sent with a Content-Length).
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// How long to wait for the whole response.
    ///
    /// ### Default
    /// 30 seconds.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn encode(&self) -> Vec<u8> {
        let mut bytes = format!("{} {} HTTP/1.1\r\n", self.method, self.target).into_bytes();
        if !self
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("host"))
        {
            bytes.extend_from_slice(format!("host: {}\r\n", self.addr).as_bytes());
        }
        for (name, value) in &self.headers {
            bytes.extend_from_slice(name.as_bytes());
            bytes.extend_from_slice(b": ");
            bytes.extend_from_slice(value);
            bytes.extend_from_slice(b"\r\n");
        }
        if !self.body.is_empty() {
            bytes.extend_from_slice(format!("content-length: {}\r\n", self.body.len()).as_bytes());
        }
        bytes.extend_from_slice(b"\r\n");
        bytes.extend_from_slice(&self.body);
        bytes
    }

    /// Sends the request and records the response until it ends, the peer closes, or the
    /// timeout passes.
    pub async fn send(self) -> Result<Wire, HarnessError> {
        let mut socket = self.connect().await?;
        let sent_at = Instant::now();
        socket
            .write_all(&self.encode())
            .await
            .map_err(|e| HarnessError::io("sending the request", e))?;
        // TLS holds written bytes until flushed.
        socket
            .flush()
            .await
            .map_err(|e| HarnessError::io("sending the request", e))?;
        let head_only = self.method.eq_ignore_ascii_case("HEAD");
        let mut reader = Reader {
            socket,
            buf: Vec::new(),
            deadline: tokio::time::Instant::now() + self.timeout,
            events: Vec::new(),
            raw_headers: Vec::new(),
            version: String::new(),
            body: Vec::new(),
        };
        let framing = reader.read_response(head_only).await;
        Ok(Wire {
            request: format!("{} {}", self.method, self.target),
            sent_at,
            events: reader.events,
            raw_headers: reader.raw_headers,
            version: reader.version,
            body: reader.body,
            framing,
            log: self.log,
        })
    }
}

enum Fill {
    More,
    Closed,
    Stopped,
}

struct Reader {
    socket: Box<dyn Transport>,
    buf: Vec<u8>,
    deadline: tokio::time::Instant,
    events: Vec<Event>,
    /// The final head's headers as received, bytes and all.
    raw_headers: Vec<(String, Vec<u8>)>,
    /// The final head's HTTP version (`HTTP/1.1`).
    version: String,
    body: Vec<u8>,
}

impl Reader {
    /// Reads more bytes into `buf`, recording a close, failure or time-out as an event.
    async fn fill(&mut self) -> Fill {
        let mut piece = [0u8; 16 * 1024];
        match tokio::time::timeout_at(self.deadline, self.socket.read(&mut piece)).await {
            Err(_) => {
                self.events.push(Event::TimedOut { at: Instant::now() });
                Fill::Stopped
            }
            Ok(Ok(0)) => {
                self.events.push(Event::Closed { at: Instant::now() });
                Fill::Closed
            }
            Ok(Ok(n)) => {
                self.buf.extend_from_slice(&piece[..n]);
                Fill::More
            }
            Ok(Err(e)) => {
                self.fail(format!("read failed: {e}"));
                Fill::Stopped
            }
        }
    }

    fn fail(&mut self, error: String) {
        self.events.push(Event::Failed {
            error,
            at: Instant::now(),
        });
    }

    /// Fills until `buf` holds a CRLF-terminated line; returns it without the CRLF.
    async fn line(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = self.buf[..end].to_vec();
                self.buf.drain(..end + 2);
                return Some(line);
            }
            if self.buf.len() > 64 * 1024 {
                self.fail("a line longer than 64 KiB".into());
                return None;
            }
            if !matches!(self.fill().await, Fill::More) {
                return None;
            }
        }
    }

    async fn read_response(&mut self, head_only: bool) -> Framing {
        let Some(status) = self.read_head().await else {
            return Framing::None;
        };
        let headers = match self.events.last() {
            Some(Event::Head { headers, .. }) => headers.clone(),
            _ => Vec::new(),
        };
        let value = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim().to_owned())
        };
        let framing = if head_only || status < 200 || status == 204 || status == 304 {
            Framing::None
        } else if value("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
            Framing::Chunked
        } else if let Some(length) = value("content-length") {
            match length.parse() {
                Ok(n) => Framing::Length(n),
                Err(_) => {
                    self.fail(format!("content-length {length:?} is not a number"));
                    return Framing::None;
                }
            }
        } else {
            Framing::UntilClose
        };
        match framing {
            Framing::Chunked => self.read_chunked().await,
            Framing::Length(n) => self.read_raw(Some(n)).await,
            Framing::UntilClose => self.read_raw(None).await,
            Framing::None => {}
        }
        framing
    }

    async fn read_head(&mut self) -> Option<u16> {
        loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head: Vec<u8> = self.buf.drain(..end + 4).collect();
                let mut slots = vec![httparse::EMPTY_HEADER; 512];
                let mut response = httparse::Response::new(&mut slots);
                return match response.parse(&head) {
                    Ok(httparse::Status::Complete(_)) => {
                        let status = response.code.unwrap_or(0);
                        self.version = format!("HTTP/1.{}", response.version.unwrap_or(1));
                        self.raw_headers = response
                            .headers
                            .iter()
                            .map(|h| (h.name.to_owned(), h.value.to_vec()))
                            .collect();
                        let headers = response
                            .headers
                            .iter()
                            .map(|h| {
                                (
                                    h.name.to_owned(),
                                    String::from_utf8_lossy(h.value).into_owned(),
                                )
                            })
                            .collect();
                        self.events.push(Event::Head {
                            status,
                            headers,
                            at: Instant::now(),
                        });
                        Some(status)
                    }
                    Ok(httparse::Status::Partial) => {
                        self.fail("the head ended early".into());
                        None
                    }
                    Err(e) => {
                        self.fail(format!("the head does not parse: {e}"));
                        None
                    }
                };
            }
            if !matches!(self.fill().await, Fill::More) {
                return None;
            }
        }
    }

    async fn read_chunked(&mut self) {
        loop {
            let Some(line) = self.line().await else {
                return;
            };
            let Some(size) = parse_chunk_size(&line) else {
                self.fail(format!(
                    "bad chunk size line {:?}",
                    String::from_utf8_lossy(&line)
                ));
                return;
            };
            if size == 0 {
                // Trailers, then the empty line.
                loop {
                    match self.line().await {
                        Some(line) if line.is_empty() => {
                            self.events.push(Event::Terminator { at: Instant::now() });
                            return;
                        }
                        Some(_) => continue,
                        None => return,
                    }
                }
            }
            while self.buf.len() < size + 2 {
                if !matches!(self.fill().await, Fill::More) {
                    // Keep what arrived of a cut chunk: it is part of the truncated body.
                    let partial = self.buf.len().min(size);
                    self.body.extend(self.buf.drain(..partial));
                    return;
                }
            }
            if &self.buf[size..size + 2] != b"\r\n" {
                self.fail("chunk data not followed by CRLF".into());
                return;
            }
            self.body.extend(self.buf.drain(..size));
            self.buf.drain(..2);
            self.events.push(Event::Chunk {
                len: size,
                at: Instant::now(),
            });
        }
    }

    async fn read_raw(&mut self, length: Option<u64>) {
        let mut remaining = length.unwrap_or(u64::MAX);
        loop {
            if !self.buf.is_empty() {
                let take = (self.buf.len() as u64).min(remaining) as usize;
                self.body.extend(self.buf.drain(..take));
                remaining -= take as u64;
                self.events.push(Event::Chunk {
                    len: take,
                    at: Instant::now(),
                });
            }
            if remaining == 0 {
                return;
            }
            if !matches!(self.fill().await, Fill::More) {
                return;
            }
        }
    }
}

/// Strict: one or more hex digits, optionally followed by `;extensions`.
fn parse_chunk_size(line: &[u8]) -> Option<usize> {
    let digits = line.split(|&b| b == b';').next()?;
    let digits = std::str::from_utf8(digits)
        .ok()?
        .trim_end_matches([' ', '\t']);
    if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    usize::from_str_radix(digits, 16).ok()
}

/// One response as it crossed the wire: the timeline of events and the body bytes.
#[derive(Clone)]
pub struct Wire {
    request: String,
    sent_at: Instant,
    events: Vec<Event>,
    raw_headers: Vec<(String, Vec<u8>)>,
    version: String,
    body: Vec<u8>,
    framing: Framing,
    log: Option<LogBook>,
}

impl Wire {
    /// The events, in order.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// When the request was sent: the zero of the timeline.
    pub fn sent_at(&self) -> Instant {
        self.sent_at
    }

    /// The status code (0 if no head arrived).
    pub fn status(&self) -> u16 {
        match self.events.first() {
            Some(Event::Head { status, .. }) => *status,
            _ => 0,
        }
    }

    /// The headers in received order.
    pub fn headers(&self) -> &[(String, String)] {
        match self.events.first() {
            Some(Event::Head { headers, .. }) => headers,
            _ => &[],
        }
    }

    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers()
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first value of that header as the bytes that arrived (the text accessors replace
    /// bytes that are not UTF-8).
    pub fn header_bytes(&self, name: &str) -> Option<&[u8]> {
        self.raw_headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// The response's HTTP version as its status line said it (`HTTP/1.1`); empty if no head
    /// arrived.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Every value of that header, in order.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers()
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// How the body was framed.
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// The body bytes as received (still content-encoded).
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body decoded per its `Content-Encoding` (gzip, deflate, br or none).
    pub fn decoded_body(&self) -> Result<Vec<u8>, HarnessError> {
        decode(self.header("content-encoding"), &self.body)
    }

    /// When the head was complete.
    pub fn head_at(&self) -> Option<Instant> {
        self.events.iter().find_map(|e| match e {
            Event::Head { at, .. } => Some(*at),
            _ => None,
        })
    }

    /// When each body chunk completed.
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
    pub fn first_chunk_at(&self) -> Option<Instant> {
        self.chunk_times().first().copied()
    }

    /// When the last body byte (or the terminator) arrived.
    pub fn last_byte_at(&self) -> Option<Instant> {
        self.events.iter().rev().find_map(|e| match e {
            Event::Chunk { at, .. } | Event::Terminator { at } => Some(*at),
            _ => None,
        })
    }

    /// Whether the chunked body ended with its 0-chunk.
    pub fn terminated(&self) -> bool {
        self.events
            .iter()
            .any(|e| matches!(e, Event::Terminator { .. }))
    }

    /// Whether the body is incomplete: a chunked body without its terminator, or fewer bytes
    /// than the Content-Length, ended by a close, a failure or a time-out.
    pub fn truncated(&self) -> bool {
        match self.framing {
            Framing::Chunked => !self.terminated(),
            Framing::Length(n) => (self.body.len() as u64) < n,
            Framing::UntilClose | Framing::None => false,
        }
    }

    /// Whether the peer closed the connection.
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
        let mut report = format!("expected: {expected}\nreceived:\n{self}");
        let body = String::from_utf8_lossy(&self.body[..self.body.len().min(BODY_PRINT_LIMIT)])
            .into_owned();
        report.push_str(&format!("body ({} bytes): {body:?}", self.body.len()));
        if self.body.len() > BODY_PRINT_LIMIT {
            report.push_str(" [cut]");
        }
        if let Some(log) = &self.log {
            report.push_str(&format!(
                "\n--- the edge's log (last 30 lines) ---\n{}",
                log.tail(30)
            ));
        }
        panic!("{report}");
    }

    /// Asserts the status code.
    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Self {
        if self.status() != status {
            self.fail(&format!("status {status}"));
        }
        self
    }

    /// Asserts a header's value.
    #[track_caller]
    pub fn assert_header(&self, name: &str, value: &str) -> &Self {
        if self.header(name) != Some(value) {
            self.fail(&format!("header {name}: {value}"));
        }
        self
    }

    /// Asserts a header's value byte for byte (for values that are not UTF-8).
    #[track_caller]
    pub fn assert_header_bytes(&self, name: &str, value: &[u8]) -> &Self {
        if self.header_bytes(name) != Some(value) {
            self.fail(&format!("header {name}: {}", value.escape_ascii()));
        }
        self
    }

    /// Asserts that a header is present with a non-empty value.
    #[track_caller]
    pub fn assert_header_present(&self, name: &str) -> &Self {
        if self.header(name).is_none_or(|v| v.trim().is_empty()) {
            self.fail(&format!("a {name} header"));
        }
        self
    }

    /// Asserts that a header is absent.
    #[track_caller]
    pub fn assert_no_header(&self, name: &str) -> &Self {
        if self.header(name).is_some() {
            self.fail(&format!("no {name} header"));
        }
        self
    }

    /// Asserts a chunked body (Transfer-Encoding: chunked, no Content-Length) that ended
    /// with its 0-chunk.
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
    #[track_caller]
    pub fn assert_body_is_strict_prefix_of(&self, full: impl AsRef<[u8]>) -> &Self {
        let full = full.as_ref();
        if self.body.len() >= full.len() || !full.starts_with(&self.body) {
            self.fail(&format!("a strict prefix of a {}-byte body", full.len()));
        }
        self
    }

    /// Asserts that the whole head arrived before `instant` (`what` names it in the report).
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
    pub fn timeline_without_times(&self) -> String {
        self.to_string()
            .lines()
            .map(|line| line.split_once("ms ").map_or(line, |(_, rest)| rest))
            .map(|line| format!("{line}\n"))
            .collect()
    }

    /// The response head as text (status line and headers in order), for snapshots.
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

/// Decodes a body per a `Content-Encoding` value.
pub fn decode(content_encoding: Option<&str>, body: &[u8]) -> Result<Vec<u8>, HarnessError> {
    let mut out = Vec::new();
    let result = match content_encoding
        .map(|v| v.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("") | Some("identity") => {
            out.extend_from_slice(body);
            Ok(0)
        }
        Some("gzip") | Some("x-gzip") => {
            flate2::read::MultiGzDecoder::new(body).read_to_end(&mut out)
        }
        Some("deflate") => flate2::read::ZlibDecoder::new(body).read_to_end(&mut out),
        Some("br") => brotli::Decompressor::new(body, 4096).read_to_end(&mut out),
        Some(other) => {
            return Err(HarnessError::Protocol(format!(
                "cannot decode Content-Encoding {other:?}"
            )));
        }
    };
    result
        .map(|_| out)
        .map_err(|e| HarnessError::Protocol(format!("the body does not decode: {e}")))
}

#[cfg(test)]
mod tests {
    use super::parse_chunk_size;

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
