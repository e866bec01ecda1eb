//! Booting the Compute program under Viceroy, one private instance per test.

use crate::errors::HarnessError;
use crate::logs::{LogBook, strip_ansi};
use crate::manifest::{self, Backend, LocalServer};
use crate::program::ProgramSpec;
use crate::relay::Relay;
use crate::request::WireRequest;
use crate::toolchain;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Anything with a base URL that can stand behind a Viceroy backend.
///
/// Implemented for wiremock's `MockServer`, [`ScriptedOrigin`](crate::ScriptedOrigin), and
/// URL strings (for origins the harness did not start).
pub trait Origin {
    /// The base URL, e.g. `http://127.0.0.1:4000`.
    fn origin_uri(&self) -> String;
}

impl Origin for wiremock::MockServer {
    fn origin_uri(&self) -> String {
        self.uri()
    }
}

impl Origin for str {
    fn origin_uri(&self) -> String {
        self.to_owned()
    }
}

impl Origin for String {
    fn origin_uri(&self) -> String {
        self.clone()
    }
}

/// Configures a Viceroy instance; nothing runs until [`start`](EdgeBuilder::start).
///
/// ```no_run
/// use harness::Edge;
/// use wiremock::{Mock, MockServer, ResponseTemplate, matchers::path};
/// # async fn demo() -> Result<(), harness::HarnessError> {
/// let origin = MockServer::start().await;
/// Mock::given(path("/"))
///     .respond_with(ResponseTemplate::new(200).set_body_raw("<p>hi</p>", "text/html"))
///     .mount(&origin)
///     .await;
/// let edge = Edge::boot()
///     .backend("origin", &origin)
///     .config("sluice_config", "inject_script", "")
///     .start()
///     .await?;
/// edge.get("/").send().await?.assert_status(200).assert_chunked();
/// # Ok(()) }
/// ```
#[must_use = "an edge does nothing until started"]
pub struct EdgeBuilder {
    program: ProgramSpec,
    viceroy_version: String,
    manifest: Option<String>,
    local: LocalServer,
    startup_timeout: Duration,
    listen: String,
    echo: bool,
}

/// What [`EdgeBuilder::prepare`] found.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The Viceroy binary.
    pub viceroy: PathBuf,
    /// The program's module.
    pub wasm: PathBuf,
}

/// A running Viceroy instance serving the Compute program, on its own port with its own
/// manifest. Viceroy is killed on drop; if the test is failing, its whole log is printed then.
pub struct Edge {
    child: Child,
    addr: SocketAddr,
    log: LogBook,
    _relays: Vec<Relay>,
    _dir: TempDir,
}

impl Edge {
    /// Starts configuring an instance of the test's own Compute program (see
    /// [`package`](EdgeBuilder::package) to name another), with its `fastly.toml`.
    pub fn boot() -> EdgeBuilder {
        EdgeBuilder {
            program: ProgramSpec::default(),
            viceroy_version: toolchain::DEFAULT_VICEROY_VERSION.to_owned(),
            manifest: None,
            local: LocalServer::default(),
            startup_timeout: Duration::from_secs(60),
            listen: "127.0.0.1:0".to_owned(),
            echo: false,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A GET for `target` through the wire client.
    pub fn get(&self, target: &str) -> WireRequest {
        self.request("GET", target)
    }

    /// Any request through the wire client.
    pub fn request(&self, method: &str, target: &str) -> WireRequest {
        WireRequest::new(self.addr.to_string(), method, target).with_log(self.log.clone())
    }

    /// Viceroy's and the guest's output so far.
    pub fn log(&self) -> LogBook {
        self.log.clone()
    }
}

impl Drop for Edge {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- Viceroy on {} (the whole log) ---\n{}",
                self.addr,
                self.log.tail(usize::MAX)
            );
        }
    }
}

impl EdgeBuilder {
    /// Points backend `name` at `origin`. Loopback origins are reached through a relay that keeps
    /// Viceroy's start-up probe away from them, so they see only the test's requests.
    pub fn backend(mut self, name: &str, origin: &(impl Origin + ?Sized)) -> Self {
        self.local.backends.push(Backend {
            name: name.to_owned(),
            url: origin.origin_uri(),
            override_host: None,
            first_byte_timeout_ms: None,
            between_bytes_timeout_ms: None,
        });
        self
    }

    /// Sets a timeout on the backend added last.
    ///
    /// ### Default
    /// Viceroy's own (no between-bytes timeout).
    pub fn between_bytes_timeout(mut self, timeout: Duration) -> Self {
        if let Some(backend) = self.local.backends.last_mut() {
            backend.between_bytes_timeout_ms = Some(timeout.as_millis() as u64);
        }
        self
    }

    /// Sets the first-byte timeout on the backend added last.
    ///
    /// ### Default
    /// Viceroy's own.
    pub fn first_byte_timeout(mut self, timeout: Duration) -> Self {
        if let Some(backend) = self.local.backends.last_mut() {
            backend.first_byte_timeout_ms = Some(timeout.as_millis() as u64);
        }
        self
    }

    /// Sets the Host the backend added last sends (`override_host`).
    ///
    /// ### Default
    /// What the base manifest says for that backend, else the origin's own.
    pub fn override_host(mut self, host: &str) -> Self {
        if let Some(backend) = self.local.backends.last_mut() {
            backend.override_host = Some(host.to_owned());
        }
        self
    }

    /// The address Viceroy listens on.
    ///
    /// ### Default
    /// `127.0.0.1:0`: an ephemeral port, so instances never collide.
    pub fn listen(mut self, addr: &str) -> Self {
        self.listen = addr.to_owned();
        self
    }

    /// Also prints Viceroy's output as it comes (for interactive use; tests keep it quiet and
    /// show it only on failure).
    ///
    /// ### Default
    /// Off.
    pub fn echo_log(mut self, echo: bool) -> Self {
        self.echo = echo;
        self
    }

    /// Sets `key` in Config Store `store`, over the manifest's own contents.
    pub fn config(mut self, store: &str, key: &str, value: &str) -> Self {
        self.local
            .config
            .push((store.to_owned(), key.to_owned(), value.to_owned()));
        self
    }

    /// Sets `key` in Secret Store `store`.
    pub fn secret(mut self, store: &str, key: &str, value: &str) -> Self {
        self.local
            .secrets
            .push((store.to_owned(), key.to_owned(), value.to_owned()));
        self
    }

    /// Declares geolocation data for a client address (e.g. `127.0.0.1`), as
    /// `[local_server.geolocation.addresses."ADDR"]` fields. Fields not given take Viceroy's
    /// loopback defaults (San Francisco, US): the fastly crate's `geo_lookup` returns nothing
    /// for an entry that lacks any field.
    pub fn geolocation<K: Into<String>, V: Into<toml::Value>>(
        mut self,
        address: &str,
        fields: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let table = fields
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self.local.geolocation.push((address.to_owned(), table));
        self
    }

    /// Removes `key` from Secret Store `store`, as the manifest declares it.
    pub fn without_secret(mut self, store: &str, key: &str) -> Self {
        self.local
            .removed_secrets
            .push((store.to_owned(), key.to_owned()));
        self
    }

    /// Leaves every client address without geolocation data: the manifest's entries are
    /// dropped and Viceroy's loopback default is turned off
    /// (`use_default_loopback = false`). Addresses declared with
    /// [`geolocation`](Self::geolocation) after this still get theirs.
    pub fn without_geolocation(mut self) -> Self {
        self.local.no_geolocation = true;
        self.local.geolocation.clear();
        self
    }

    /// Runs this package of the test's workspace.
    ///
    /// ### Default
    /// The test's own package (`CARGO_MANIFEST_DIR`), or the project's (see
    /// [`project`](Self::project)).
    pub fn package(mut self, name: &str) -> Self {
        self.program.package = Some(name.to_owned());
        self
    }

    /// Runs this binary of the package.
    ///
    /// ### Default
    /// The package's only binary.
    pub fn bin(mut self, name: &str) -> Self {
        self.program.bin = Some(name.to_owned());
        self
    }

    /// Runs the Compute program of the Cargo project in `dir` (its `Cargo.toml`, and its
    /// `fastly.toml` if it has one): a program outside the test's own crate.
    ///
    /// ### Default
    /// The test's own crate (`CARGO_MANIFEST_DIR`, else the current directory).
    pub fn project(mut self, dir: impl Into<PathBuf>) -> Self {
        self.program.project = Some(dir.into());
        self
    }

    /// Runs this prebuilt module instead of building the program (`$HARNESS_WASM` does the same
    /// for a whole run).
    pub fn wasm(mut self, path: impl Into<PathBuf>) -> Self {
        self.program.wasm = Some(path.into());
        self
    }

    /// Starts from this `fastly.toml`.
    ///
    /// ### Default
    /// The package's `fastly.toml`, else the workspace's, else an empty manifest.
    pub fn manifest(mut self, path: impl Into<PathBuf>) -> Self {
        self.program.manifest = Some(path.into());
        self
    }

    /// Starts from this manifest text instead of a `fastly.toml` file.
    pub fn fastly_toml(mut self, manifest: &str) -> Self {
        self.manifest = Some(manifest.to_owned());
        self
    }

    /// Runs Viceroy of this version's series (`0.22.0` accepts any 0.22.x found), installing
    /// this version when none is.
    ///
    /// ### Default
    /// [`DEFAULT_VICEROY_VERSION`](crate::toolchain::DEFAULT_VICEROY_VERSION).
    pub fn viceroy_version(mut self, version: &str) -> Self {
        self.viceroy_version = version.to_owned();
        self
    }

    /// How long to wait for `Listening on`.
    ///
    /// ### Default
    /// 60 seconds (compiling a large module on a busy 2-core machine can take a while).
    pub fn startup_timeout(mut self, timeout: Duration) -> Self {
        self.startup_timeout = timeout;
        self
    }

    /// Does the set-up an instance needs without starting one: Viceroy found (or installed)
    /// and the program built (once per process). Tools that prepare a machine call this;
    /// [`start`](Self::start) does it itself.
    ///
    /// ```no_run
    /// let ready = harness::Edge::boot().package("my-service").prepare()?;
    /// println!("{} runs {}", ready.viceroy.display(), ready.wasm.display());
    /// # Ok::<(), harness::HarnessError>(())
    /// ```
    pub fn prepare(&self) -> Result<Prepared, HarnessError> {
        Ok(Prepared {
            viceroy: toolchain::viceroy(&self.viceroy_version)?,
            wasm: self.program.resolve()?.wasm,
        })
    }

    /// Builds (once per process) and starts the instance; returns when it listens.
    pub async fn start(self) -> Result<Edge, HarnessError> {
        tokio::task::spawn_blocking(move || self.start_blocking())
            .await
            .map_err(|e| HarnessError::Setup(format!("the start-up task failed: {e}")))?
    }

    /// [`start`](Self::start) for code without an async runtime.
    pub fn start_blocking(mut self) -> Result<Edge, HarnessError> {
        let viceroy = toolchain::viceroy(&self.viceroy_version)?;
        let program = self.program.resolve()?;
        let wasm = program.wasm;
        let base = self.manifest.take().unwrap_or(program.manifest);
        let mut relays = Vec::new();
        for backend in &mut self.local.backends {
            if let Some(target) = loopback_addr(&backend.url) {
                let relay = Relay::start(target)
                    .map_err(|e| HarnessError::io("starting a backend relay", e))?;
                backend.url = format!("http://{}", relay.addr);
                relays.push(relay);
            }
        }
        let dir = TempDir::new()?;
        let manifest_path = dir.path.join("fastly.toml");
        std::fs::write(&manifest_path, manifest::render(&base, &self.local)?)
            .map_err(|e| HarnessError::io("writing the instance's fastly.toml", e))?;

        let mut child = Command::new(&viceroy)
            .args(["serve", "--addr", &self.listen, "-v", "-C"])
            .arg(&manifest_path)
            .arg(&wasm)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| HarnessError::io(format!("starting {}", viceroy.display()), e))?;
        let log = LogBook::default();
        let (listening_tx, listening_rx) = mpsc::channel();
        for (stream, tx) in [
            (
                child
                    .stdout
                    .take()
                    .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
                Some(listening_tx),
            ),
            (
                child
                    .stderr
                    .take()
                    .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
                None,
            ),
        ] {
            let Some(stream) = stream else { continue };
            let log = log.clone();
            let echo = self.echo;
            std::thread::spawn(move || drain(stream, &log, tx, echo));
        }
        let addr = match listening_rx.recv_timeout(self.startup_timeout) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(50));
                return Err(HarnessError::Start {
                    reason: format!(
                        "no `Listening on` line within {:?} (it exited, or is still compiling)",
                        self.startup_timeout
                    ),
                    log: log.tail(200),
                });
            }
        };
        for relay in &relays {
            relay.open();
        }
        Ok(Edge {
            child,
            addr,
            log,
            _relays: relays,
            _dir: dir,
        })
    }
}

/// Reads lines into the log book; the stdout reader also reports the listening address.
fn drain(
    stream: Box<dyn std::io::Read + Send>,
    log: &LogBook,
    mut listening: Option<mpsc::Sender<SocketAddr>>,
    echo: bool,
) {
    for line in BufReader::new(stream).lines() {
        let Ok(line) = line else { break };
        let line = strip_ansi(&line);
        if let Some(tx) = &listening
            && let Some(addr) = listening_addr(&line)
        {
            let _ = tx.send(addr);
            listening = None;
        }
        if echo {
            println!("{line}");
        }
        log.push(line);
    }
}

fn listening_addr(line: &str) -> Option<SocketAddr> {
    let rest = line.split("Listening on http://").nth(1)?;
    rest.trim().trim_end_matches('/').parse().ok()
}

fn loopback_addr(url: &str) -> Option<SocketAddr> {
    let rest = url.strip_prefix("http://")?;
    let authority = rest.split('/').next()?;
    let addr: SocketAddr = authority.parse().ok()?;
    addr.ip().is_loopback().then_some(addr)
}

/// A private folder for one instance's files, removed on drop.
struct TempDir {
    path: PathBuf,
}

impl TempDir {
    fn new() -> Result<TempDir, HarnessError> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "sluice-harness-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&path)
            .map_err(|e| HarnessError::io("creating the instance folder", e))?;
        Ok(TempDir { path })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
