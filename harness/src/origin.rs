//! A scripted origin: for what wiremock cannot do (a body sent over time, a connection cut
//! mid-body, a stall), a response written step by step, with the time each step left.

use crate::errors::HarnessError;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

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
    pub fn new() -> Self {
        Script::default()
    }

    /// Sends the status line and headers. Values are written byte for byte, so an origin that
    /// sends Latin-1 header values (`b"caf\xe9"`) can be scripted.
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
    pub fn chunk(mut self, bytes: impl AsRef<[u8]>) -> Self {
        self.steps.push(Step::Chunk(bytes.as_ref().to_vec()));
        self
    }

    /// Sends `body` in pieces of `size` bytes with `pause` between them.
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
    pub fn pause(mut self, duration: Duration) -> Self {
        self.steps.push(Step::Pause(duration));
        self
    }

    /// Ends the body cleanly.
    pub fn end(mut self) -> Self {
        self.steps.push(Step::End);
        self
    }

    /// Closes the connection mid-body.
    pub fn cut(mut self) -> Self {
        self.steps.push(Step::Cut);
        self
    }

    /// Writes bytes as they are, outside any framing: an interim `103 Early Hints` before the
    /// head, or a deliberately malformed response.
    pub fn raw(mut self, bytes: impl AsRef<[u8]>) -> Self {
        self.steps.push(Step::Raw(bytes.as_ref().to_vec()));
        self
    }

    /// Sends nothing more and keeps the connection open.
    pub fn stall(mut self) -> Self {
        self.steps.push(Step::Stall);
        self
    }

    /// The steps.
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

impl ReceivedRequest {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first header of that name, as the bytes that arrived.
    pub fn header_bytes(&self, name: &str) -> Option<&[u8]> {
        self.raw_headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }
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

#[derive(Default)]
struct Record {
    requests: Vec<ReceivedRequest>,
    sent: Vec<Sent>,
}

/// An origin that plays a [`Script`] for every request it receives and records when each step
/// left. It runs on the harness's own runtime and stops when dropped.
///
/// ```no_run
/// use harness::{Edge, Script, ScriptedOrigin};
/// use std::time::Duration;
/// # async fn demo() -> Result<(), harness::HarnessError> {
/// let origin = ScriptedOrigin::start(
///     Script::new()
///         .head(200, [("content-type", "text/html")])
///         .chunk("<p>first</p>")
///         .pause(Duration::from_secs(1))
///         .chunk("<p>last</p>")
///         .end(),
/// )?;
/// let edge = Edge::boot().backend("origin", &origin).start().await?;
/// let wire = edge.get("/").send().await?;
/// wire.assert_head_before(origin.last_chunk_sent_at().unwrap(), "the origin's last chunk");
/// # Ok(()) }
/// ```
pub struct ScriptedOrigin {
    addr: SocketAddr,
    record: Arc<Mutex<Record>>,
    task: JoinHandle<()>,
}

/// Picks the script for a request (see [`ScriptedOrigin::serve`]).
pub type Router = Arc<dyn Fn(&ReceivedRequest) -> Script + Send + Sync>;

impl ScriptedOrigin {
    /// Starts serving `script` for every request, on an ephemeral loopback port.
    pub fn start(script: Script) -> Result<ScriptedOrigin, HarnessError> {
        Self::serve("127.0.0.1:0", Arc::new(move |_| script.clone()))
    }

    /// Serves on `addr` (`127.0.0.1:0` for an ephemeral port) whatever script `router` picks
    /// for each request: by path, by `Accept-Encoding`, and so on.
    ///
    /// ```no_run
    /// use harness::{Script, ScriptedOrigin};
    /// use std::sync::Arc;
    /// let origin = ScriptedOrigin::serve("127.0.0.1:0", Arc::new(|request| match request.path.as_str() {
    ///     "/" => Script::new().head(200, [("content-type", "text/html")]).chunk("<p>home</p>").end(),
    ///     _ => Script::new().head(404, [("content-length", "0")]).end(),
    /// }))?;
    /// # Ok::<(), harness::HarnessError>(())
    /// ```
    pub fn serve(addr: &str, router: Router) -> Result<ScriptedOrigin, HarnessError> {
        let listener = std::net::TcpListener::bind(addr)
            .map_err(|e| HarnessError::io(format!("binding the scripted origin to {addr}"), e))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| HarnessError::io("configuring the scripted origin", e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| HarnessError::io("reading the scripted origin's address", e))?;
        let record = Arc::new(Mutex::new(Record::default()));
        let shared = Arc::clone(&record);
        let task = crate::runtime::runtime().spawn(async move {
            let Ok(listener) = TcpListener::from_std(listener) else {
                return;
            };
            while let Ok((socket, _)) = listener.accept().await {
                let (router, record) = (Arc::clone(&router), Arc::clone(&shared));
                tokio::spawn(async move {
                    let _ = serve(socket, router.as_ref(), &record).await;
                });
            }
        });
        Ok(ScriptedOrigin { addr, record, task })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.record.lock().expect("origin record").requests.clone()
    }

    /// Every step sent so far, with its time.
    pub fn sent(&self) -> Vec<Sent> {
        self.record.lock().expect("origin record").sent.clone()
    }

    fn chunk_times(&self) -> Vec<Instant> {
        self.sent()
            .into_iter()
            .filter(|s| s.request == 0 && matches!(s.step, Step::Chunk(_)))
            .map(|s| s.at)
            .collect()
    }

    /// When the first request's `n`th body chunk (from 0) left the origin.
    pub fn chunk_sent_at(&self, n: usize) -> Option<Instant> {
        self.chunk_times().get(n).copied()
    }

    /// When the first request's last body chunk left the origin.
    pub fn last_chunk_sent_at(&self) -> Option<Instant> {
        self.chunk_times().last().copied()
    }

    /// When the first request's head left the origin.
    pub fn head_sent_at(&self) -> Option<Instant> {
        self.sent()
            .into_iter()
            .find(|s| s.request == 0 && matches!(s.step, Step::Head { .. }))
            .map(|s| s.at)
    }
}

impl Drop for ScriptedOrigin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl crate::edge::Origin for ScriptedOrigin {
    fn origin_uri(&self) -> String {
        self.uri()
    }
}

async fn read_request_head(socket: &mut TcpStream) -> Option<ReceivedRequest> {
    let mut buf = Vec::with_capacity(2048);
    let mut piece = [0u8; 2048];
    loop {
        let n = socket.read(&mut piece).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&piece[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 128];
        let mut request = httparse::Request::new(&mut headers);
        if let Ok(httparse::Status::Complete(_)) = request.parse(&buf) {
            return Some(ReceivedRequest {
                method: request.method.unwrap_or_default().to_owned(),
                path: request.path.unwrap_or_default().to_owned(),
                raw_headers: request
                    .headers
                    .iter()
                    .map(|h| (h.name.to_owned(), h.value.to_vec()))
                    .collect(),
                headers: request
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_owned(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect(),
                at: Instant::now(),
            });
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
    }
}

async fn serve(
    mut socket: TcpStream,
    router: &(dyn Fn(&ReceivedRequest) -> Script + Send + Sync),
    record: &Mutex<Record>,
) -> std::io::Result<()> {
    socket.set_nodelay(true)?;
    let Some(request) = read_request_head(&mut socket).await else {
        return Ok(());
    };
    let script = router(&request);
    let head_only = request.method.eq_ignore_ascii_case("HEAD");
    let index = {
        let mut record = record.lock().expect("origin record");
        record.requests.push(request);
        record.requests.len() - 1
    };
    let mut chunked = true;
    for step in script.steps() {
        if head_only && matches!(step, Step::Chunk(_)) {
            continue;
        }
        match step {
            Step::Head { status, headers } => {
                chunked = !headers
                    .iter()
                    .any(|(k, _)| k.eq_ignore_ascii_case("content-length"));
                let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(*status)).into_bytes();
                for (name, value) in headers {
                    head.extend_from_slice(name.as_bytes());
                    head.extend_from_slice(b": ");
                    head.extend_from_slice(value);
                    head.extend_from_slice(b"\r\n");
                }
                if chunked {
                    head.extend_from_slice(b"transfer-encoding: chunked\r\n");
                }
                head.extend_from_slice(b"connection: close\r\n\r\n");
                socket.write_all(&head).await?;
            }
            Step::Chunk(bytes) if chunked => {
                let mut framed = format!("{:x}\r\n", bytes.len()).into_bytes();
                framed.extend_from_slice(bytes);
                framed.extend_from_slice(b"\r\n");
                socket.write_all(&framed).await?;
            }
            Step::Chunk(bytes) => socket.write_all(bytes).await?,
            Step::Pause(duration) => tokio::time::sleep(*duration).await,
            Step::End => {
                if chunked && !head_only {
                    socket.write_all(b"0\r\n\r\n").await?;
                }
                socket.flush().await?;
            }
            Step::Cut => {}
            Step::Stall => std::future::pending::<()>().await,
            Step::Raw(bytes) => socket.write_all(bytes).await?,
        }
        socket.flush().await?;
        record.lock().expect("origin record").sent.push(Sent {
            request: index,
            step: step.clone(),
            at: Instant::now(),
        });
        if matches!(step, Step::End | Step::Cut) {
            break;
        }
    }
    socket.shutdown().await
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        206 => "Partial Content",
        304 => "Not Modified",
        404 => "Not Found",
        500 => "Internal Server Error",
        _ => "Status",
    }
}
