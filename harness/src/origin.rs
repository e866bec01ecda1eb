//! A scripted origin: for what wiremock cannot do (a body sent over time, a connection cut
//! mid-body, a stall), a response written step by step, with the time each step left; and, like
//! wiremock's mocks, expectations checked when it is dropped.

use crate::errors::HarnessError;
use crate::expect::{Expectations, Times};
use crate::received::{ReceivedRequest, Sent};
use crate::router::{Route, Router};
use crate::script::{Script, Step};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

#[derive(Default)]
struct Record {
    requests: Vec<ReceivedRequest>,
    /// The route (by index) that took each request; `None` for a 404 no route took.
    routes: Vec<Option<usize>>,
    sent: Vec<Sent>,
}

/// An origin that answers each request with a [`Script`] and records when each step left. It
/// runs on the harness's own runtime and stops when dropped; then, unless the test is already
/// failing, it checks its expectations ([`expect`](Self::expect) and the rest, and those of
/// each [`Route`]) and panics with a report of what it received if any is not met.
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
/// )?
/// .expect(1)
/// .expect_no_header("cookie");
/// let edge = Edge::boot().backend("origin", &origin).start().await?;
/// let wire = edge.get("/").send().await?;
/// wire.assert_head_before(origin.last_chunk_sent_at().unwrap(), "the origin's last chunk");
/// # Ok(()) }
/// ```
pub struct ScriptedOrigin {
    addr: SocketAddr,
    routes: Vec<Route>,
    expectations: Expectations,
    record: Arc<Mutex<Record>>,
    task: JoinHandle<()>,
    /// What reports call it: the test's name for it, else the backend it was declared as.
    name: Mutex<Option<String>>,
    /// Where the test started it.
    started_at: &'static std::panic::Location<'static>,
}

impl ScriptedOrigin {
    /// Starts serving `script` for every request, on an ephemeral loopback port.
    #[track_caller]
    pub fn start(script: Script) -> Result<ScriptedOrigin, HarnessError> {
        Self::serve(
            "127.0.0.1:0",
            Router::new().route(Route::any().respond(script)),
        )
    }

    /// Names the origin in its reports, as wiremock's `Mock::named` names a mock. Unnamed, an
    /// origin is called by the backend a test declared it as (`.backend("cms", &origin)`).
    ///
    /// ```no_run
    /// # use harness::{Script, ScriptedOrigin};
    /// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let cms = ScriptedOrigin::start(Script::new().head(204, [("x-a", "1")]).end())?
    ///     .named("the CMS")
    ///     .expect(1);
    /// # Ok(()) }
    /// ```
    pub fn named(self, name: &str) -> Self {
        *self.name.lock().expect("origin name") = Some(name.to_owned());
        self
    }

    /// What reports call it.
    fn called(&self) -> String {
        match self.name.lock().expect("origin name").as_deref() {
            Some(name) => format!("{name} (the scripted origin on {})", self.addr),
            None => format!("the scripted origin on {}", self.addr),
        }
    }

    /// Serves `router` on `addr` (`127.0.0.1:0` for an ephemeral port).
    ///
    /// ```no_run
    /// use harness::{Route, Router, Script, ScriptedOrigin};
    /// let origin = ScriptedOrigin::serve(
    ///     "127.0.0.1:0",
    ///     Router::new()
    ///         .route(Route::path("/").respond(Script::new().head(200, [("content-type", "text/html")]).chunk("<p>home</p>").end()))
    ///         .route(Route::path("/favicon.ico").expect(0)),
    /// )?;
    /// # Ok::<(), harness::HarnessError>(())
    /// ```
    #[track_caller]
    pub fn serve(addr: &str, router: Router) -> Result<ScriptedOrigin, HarnessError> {
        let started_at = std::panic::Location::caller();
        let listener = std::net::TcpListener::bind(addr)
            .map_err(|e| HarnessError::io(format!("binding the scripted origin to {addr}"), e))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| HarnessError::io("configuring the scripted origin", e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| HarnessError::io("reading the scripted origin's address", e))?;
        let record = Arc::new(Mutex::new(Record::default()));
        let routes = router.routes.clone();
        let (router, shared) = (Arc::new(router), Arc::clone(&record));
        let task = crate::runtime::runtime().spawn(async move {
            let Ok(listener) = TcpListener::from_std(listener) else {
                return;
            };
            while let Ok((socket, _)) = listener.accept().await {
                let (router, record) = (Arc::clone(&router), Arc::clone(&shared));
                tokio::spawn(async move {
                    let _ = serve(socket, &router, &record).await;
                });
            }
        });
        Ok(ScriptedOrigin {
            addr,
            routes,
            expectations: Expectations::default(),
            record,
            task,
            name: Mutex::new(None),
            started_at,
        })
    }

    /// Expects this many requests in all (`1`, `1..`, `..=2`) by the time it is dropped.
    ///
    /// ```no_run
    /// # use harness::{Script, ScriptedOrigin};
    /// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let origin = ScriptedOrigin::start(Script::new().head(204, [("x-a", "1")]).end())?.expect(1);
    /// # Ok(()) }
    /// ```
    pub fn expect(mut self, times: impl Into<Times>) -> Self {
        self.expectations.times(times.into());
        self
    }

    /// Expects every request to carry `name: value` (the value's bytes).
    ///
    /// ```no_run
    /// # use harness::{Script, ScriptedOrigin};
    /// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let origin = ScriptedOrigin::start(Script::new().head(204, [("x-a", "1")]).end())?
    ///     .expect_header("host", "www.publisher.example");
    /// # Ok(()) }
    /// ```
    pub fn expect_header(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        self.expectations.header(name, value.as_ref());
        self
    }

    /// Expects every request to carry a `name` header.
    ///
    /// ```no_run
    /// # use harness::{Script, ScriptedOrigin};
    /// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let origin = ScriptedOrigin::start(Script::new().head(204, [("x-a", "1")]).end())?
    ///     .expect_header_present("x-forwarded-for");
    /// # Ok(()) }
    /// ```
    pub fn expect_header_present(mut self, name: &str) -> Self {
        self.expectations.header_present(name);
        self
    }

    /// Expects no request to carry a `name` header.
    ///
    /// ```no_run
    /// # use harness::{Script, ScriptedOrigin};
    /// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let origin = ScriptedOrigin::start(Script::new().head(204, [("x-a", "1")]).end())?
    ///     .expect_no_header("x-synthetic-id");
    /// # Ok(()) }
    /// ```
    pub fn expect_no_header(mut self, name: &str) -> Self {
        self.expectations.no_header(name);
        self
    }

    /// Checks the expectations now, and panics with a report of every request received if any
    /// is not met. Dropping the origin does the same.
    ///
    /// ```no_run
    /// # use harness::{Script, ScriptedOrigin};
    /// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let origin = ScriptedOrigin::start(Script::new().head(204, [("x-a", "1")]).end())?.expect(1);
    /// // ... the test sends its request ...
    /// origin.verify();
    /// # Ok(()) }
    /// ```
    pub fn verify(&self) {
        if let Some(report) = self.unmet_expectations() {
            panic!("{report}");
        }
    }

    /// The report [`verify`](Self::verify) would panic with, if an expectation is not met.
    ///
    /// ```no_run
    /// # use harness::{Script, ScriptedOrigin};
    /// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let origin = ScriptedOrigin::start(Script::new().head(204, [("x-a", "1")]).end())?.expect(1);
    /// assert!(origin.unmet_expectations().is_some(), "nothing was asked yet");
    /// # Ok(()) }
    /// ```
    pub fn unmet_expectations(&self) -> Option<String> {
        let record = self.record.lock().expect("origin record");
        let numbered: Vec<(usize, &ReceivedRequest)> = record
            .requests
            .iter()
            .enumerate()
            .map(|(i, r)| (i + 1, r))
            .collect();
        let mut problems = self.expectations.check("the origin", &numbered);
        for (index, route) in self.routes.iter().enumerate() {
            let taken: Vec<(usize, &ReceivedRequest)> = numbered
                .iter()
                .zip(&record.routes)
                .filter(|(_, taken_by)| **taken_by == Some(index))
                .map(|(request, _)| *request)
                .collect();
            problems.extend(route.expectations.check(&route.to_string(), &taken));
        }
        if problems.is_empty() {
            return None;
        }
        let mut report = format!(
            "{}, started at {}:{}:{}, did not receive what the test expected:\n",
            self.called(),
            tidy_path(self.started_at.file()),
            self.started_at.line(),
            self.started_at.column()
        );
        for problem in &problems {
            let _ = writeln!(report, "  - {problem}");
        }
        let _ = writeln!(report, "requests received ({}):", record.requests.len());
        for ((number, request), route) in numbered.iter().zip(&record.routes) {
            let taken_by = route.map_or("no route: answered 404".to_owned(), |i| {
                self.routes[i].to_string()
            });
            let _ = write!(report, "{number}. [{taken_by}] {request}");
        }
        Some(report)
    }

    /// The address it listens on.
    ///
    /// ```no_run
    /// # use harness::{Script, ScriptedOrigin};
    /// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let origin = ScriptedOrigin::start(Script::new().head(204, [("x-a", "1")]).end())?;
    /// assert!(origin.addr().ip().is_loopback());
    /// # Ok(()) }
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    ///
    /// ```no_run
    /// # use harness::{Script, ScriptedOrigin};
    /// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let origin = ScriptedOrigin::start(Script::new().head(204, [("x-a", "1")]).end())?;
    /// assert!(origin.uri().starts_with("http://127.0.0.1:"));
    /// # Ok(()) }
    /// ```
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The requests received so far.
    ///
    /// ```no_run
    /// # use harness::{Script, ScriptedOrigin};
    /// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let origin = ScriptedOrigin::start(Script::new().head(204, [("x-a", "1")]).end())?;
    /// assert!(origin.requests().is_empty());
    /// # Ok(()) }
    /// ```
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.record.lock().expect("origin record").requests.clone()
    }

    /// Every step sent so far, with its time.
    ///
    /// ```no_run
    /// # use harness::{Script, ScriptedOrigin};
    /// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let origin = ScriptedOrigin::start(Script::new().head(204, [("x-a", "1")]).end())?;
    /// assert!(origin.sent().is_empty());
    /// # Ok(()) }
    /// ```
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
    ///
    /// ```no_run
    /// # use harness::{Script, ScriptedOrigin};
    /// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let origin = ScriptedOrigin::start(Script::new().head(200, [("x-a", "1")]).chunk("a").chunk("b").end())?;
    /// // after a request: when the second chunk left
    /// let second = origin.chunk_sent_at(1);
    /// # Ok(()) }
    /// ```
    pub fn chunk_sent_at(&self, n: usize) -> Option<Instant> {
        self.chunk_times().get(n).copied()
    }

    /// When the first request's last body chunk left the origin.
    ///
    /// ```no_run
    /// # use harness::{Script, ScriptedOrigin};
    /// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let origin = ScriptedOrigin::start(Script::new().head(200, [("x-a", "1")]).chunk("a").end())?;
    /// let last = origin.last_chunk_sent_at();
    /// # Ok(()) }
    /// ```
    pub fn last_chunk_sent_at(&self) -> Option<Instant> {
        self.chunk_times().last().copied()
    }

    /// When the first request's head left the origin.
    ///
    /// ```no_run
    /// # use harness::{Script, ScriptedOrigin};
    /// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let origin = ScriptedOrigin::start(Script::new().head(200, [("x-a", "1")]).end())?;
    /// let head = origin.head_sent_at();
    /// # Ok(()) }
    /// ```
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
        if !std::thread::panicking() {
            self.verify();
        }
    }
}

impl crate::edge::Origin for ScriptedOrigin {
    fn origin_uri(&self) -> String {
        self.uri()
    }

    fn declared_as(&self, backend: &str) {
        let mut name = self.name.lock().expect("origin name");
        if name.is_none() {
            *name = Some(format!("backend {backend:?}"));
        }
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
    router: &Router,
    record: &Mutex<Record>,
) -> std::io::Result<()> {
    socket.set_nodelay(true)?;
    let Some(request) = read_request_head(&mut socket).await else {
        return Ok(());
    };
    let (route, script) = router.pick(&request);
    let head_only = request.method.eq_ignore_ascii_case("HEAD");
    let index = {
        let mut record = record.lock().expect("origin record");
        record.requests.push(request);
        record.routes.push(route);
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

/// A source path with its `dir/..` pairs taken out, so a test reached through `include!` (which
/// gives paths like `harness/tests/../../tests/a.rs`) is named as its author knows it.
fn tidy_path(path: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "." => {}
            ".." if kept.last().is_some_and(|last| *last != "..") => {
                kept.pop();
            }
            _ => kept.push(part),
        }
    }
    kept.join("/")
}

#[cfg(test)]
mod tests {
    use super::tidy_path;

    #[test]
    fn a_path_through_include_is_named_as_written() {
        assert_eq!(tidy_path("harness/tests/../../tests/a.rs"), "tests/a.rs");
        assert_eq!(tidy_path("./tests/a.rs"), "tests/a.rs");
        assert_eq!(tidy_path("../x/a.rs"), "../x/a.rs");
        assert_eq!(tidy_path("tests/suite/a.rs"), "tests/suite/a.rs");
    }
}
