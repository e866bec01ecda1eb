//! Configuring an instance of a Compute program under Viceroy, and starting it: backends,
//! stores, geolocation, the program and its manifest, all as data until
//! [`start`](EdgeBuilder::start).

use crate::diagnosis::LeaseFacts;
use crate::edge::{Edge, Origin};
use crate::errors::HarnessError;
use crate::manifest::{self, Backend, Base, KvValue, LocalServer};
use crate::pool::{self, Instance, InstanceKey};
use crate::program::ProgramSpec;
use crate::relay::Relay;
use crate::toolchain;
use crate::viceroy::{Launch, ViceroyProcess};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Environment variable that turns instance sharing off for a whole run when set to `0` (to
/// measure what sharing saves, or to rule it out when a test misbehaves).
pub const SHARE_ENV: &str = "HARNESS_SHARE";

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
///     .config("settings", "mode", "strict")
///     .secret("secrets", "api_token", "t0ken")
///     .geolocation("127.0.0.1", [("country_code", "FR")])
///     .start()
///     .await?;
/// edge.get("/").send().await?.assert_status(200).assert_chunked();
/// # Ok(()) }
/// ```
#[must_use = "an edge does nothing until started"]
pub struct EdgeBuilder {
    pub(crate) program: ProgramSpec,
    pub(crate) viceroy_version: String,
    pub(crate) manifest: Option<String>,
    pub(crate) local: LocalServer,
    pub(crate) startup_timeout: Duration,
    pub(crate) listen: String,
    pub(crate) echo: bool,
    pub(crate) share: Option<bool>,
}

impl Default for EdgeBuilder {
    fn default() -> Self {
        EdgeBuilder {
            program: ProgramSpec::default(),
            viceroy_version: toolchain::DEFAULT_VICEROY_VERSION.to_owned(),
            manifest: None,
            local: LocalServer::default(),
            startup_timeout: Duration::from_secs(60),
            listen: "127.0.0.1:0".to_owned(),
            echo: false,
            share: None,
        }
    }
}

impl EdgeBuilder {
    /// Points backend `name` at `origin`. Loopback origins are reached through a relay that keeps
    /// Viceroy's start-up probe away from them, so they see only the test's requests.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), harness::HarnessError> {
    /// let origin = wiremock::MockServer::start().await;
    /// let edge = harness::Edge::boot().backend("origin", &origin).start().await?;
    /// # Ok(()) }
    /// ```
    pub fn backend(mut self, name: &str, origin: &(impl Origin + ?Sized)) -> Self {
        origin.declared_as(name);
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
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), harness::HarnessError> {
    /// # let origin = wiremock::MockServer::start().await;
    /// let edge = harness::Edge::boot()
    ///     .backend("origin", &origin)
    ///     .between_bytes_timeout(std::time::Duration::from_millis(500))
    ///     .start()
    ///     .await?;
    /// # Ok(()) }
    /// ```
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
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), harness::HarnessError> {
    /// # let origin = wiremock::MockServer::start().await;
    /// let edge = harness::Edge::boot()
    ///     .backend("origin", &origin)
    ///     .first_byte_timeout(std::time::Duration::from_secs(1))
    ///     .start()
    ///     .await?;
    /// # Ok(()) }
    /// ```
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
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), harness::HarnessError> {
    /// # let origin = wiremock::MockServer::start().await;
    /// let edge = harness::Edge::boot()
    ///     .backend("origin", &origin)
    ///     .override_host("www.example.com")
    ///     .start()
    ///     .await?;
    /// # Ok(()) }
    /// ```
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
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), harness::HarnessError> {
    /// let edge = harness::Edge::boot().listen("127.0.0.1:7676").start().await?;
    /// # Ok(()) }
    /// ```
    pub fn listen(mut self, addr: &str) -> Self {
        self.listen = addr.to_owned();
        self
    }

    /// Also prints Viceroy's output as it comes (for interactive use; tests keep it quiet and
    /// show it only on failure).
    ///
    /// ### Default
    /// Off.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), harness::HarnessError> {
    /// let edge = harness::Edge::boot().echo_log(true).start().await?;
    /// # Ok(()) }
    /// ```
    pub fn echo_log(mut self, echo: bool) -> Self {
        self.echo = echo;
        self
    }

    /// Sets `key` in Config Store `store`, over the manifest's own contents.
    ///
    /// Viceroy rereads a Config Store each time the program opens it, so tests that differ only
    /// in Config Store contents share instances.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), harness::HarnessError> {
    /// let edge = harness::Edge::boot()
    ///     .config("settings", "greeting", "Hej")
    ///     .start()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn config(mut self, store: &str, key: &str, value: &str) -> Self {
        self.local
            .config
            .push((store.to_owned(), key.to_owned(), value.to_owned()));
        self
    }

    /// Sets `key` in Secret Store `store`.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), harness::HarnessError> {
    /// let edge = harness::Edge::boot()
    ///     .secret("secrets", "api_token", "t0ken")
    ///     .start()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn secret(mut self, store: &str, key: &str, value: &str) -> Self {
        self.local
            .secrets
            .push((store.to_owned(), key.to_owned(), value.to_owned()));
        self
    }

    /// Sets `key` in KV Store `store` to `value`, over the manifest's entries. Viceroy reads KV
    /// Stores once, at start-up: the contents are part of what makes instances interchangeable,
    /// so tests that declare the same contents share an instance, and each sees what it
    /// declared. A program that can write to a KV Store (it imports the host calls that do)
    /// keeps its instance to one test, unless [`share_instance`](Self::share_instance) says
    /// otherwise.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), harness::HarnessError> {
    /// let edge = harness::Edge::boot()
    ///     .kv("assets", "banner", b"\x89PNG...".to_vec())
    ///     .start()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn kv(mut self, store: &str, key: &str, value: impl Into<Vec<u8>>) -> Self {
        self.local.kv.push((
            store.to_owned(),
            key.to_owned(),
            KvValue::Bytes(value.into()),
        ));
        self
    }

    /// Sets `key` in KV Store `store` to the bytes of the file at `path` (read when the
    /// instance starts).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), harness::HarnessError> {
    /// let edge = harness::Edge::boot()
    ///     .kv_file("assets", "logo.svg", "tests/data/logo.svg")
    ///     .start()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn kv_file(mut self, store: &str, key: &str, path: impl Into<PathBuf>) -> Self {
        self.local
            .kv
            .push((store.to_owned(), key.to_owned(), KvValue::File(path.into())));
        self
    }

    /// Whether this test's instance may be lent to later tests, and may be one an earlier test
    /// used. Turn it off for a program that keeps state between requests that a later test must
    /// not see and that the harness cannot tell apart by lease (each lease of a shared instance
    /// has its own port, so a cache keyed on the host is not such state; one keyed on the path
    /// alone is).
    ///
    /// ### Default
    /// Shared, unless the manifest declares KV Stores and the program can write to them.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), harness::HarnessError> {
    /// let edge = harness::Edge::boot().share_instance(false).start().await?;
    /// # Ok(()) }
    /// ```
    pub fn share_instance(mut self, share: bool) -> Self {
        self.share = Some(share);
        self
    }

    /// Declares geolocation data for a client address (e.g. `127.0.0.1`), as
    /// `[local_server.geolocation.addresses."ADDR"]` fields. Fields not given take Viceroy's
    /// loopback defaults (San Francisco, US): the fastly crate's `geo_lookup` returns nothing
    /// for an entry that lacks any field.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), harness::HarnessError> {
    /// let edge = harness::Edge::boot()
    ///     .geolocation("127.0.0.1", [("country_code", "FR"), ("city", "Lyon")])
    ///     .start()
    ///     .await?;
    /// # Ok(()) }
    /// ```
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
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), harness::HarnessError> {
    /// let edge = harness::Edge::boot()
    ///     .without_secret("secrets", "api_token")
    ///     .start()
    ///     .await?;
    /// # Ok(()) }
    /// ```
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
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), harness::HarnessError> {
    /// let edge = harness::Edge::boot().without_geolocation().start().await?;
    /// # Ok(()) }
    /// ```
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
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), harness::HarnessError> {
    /// let edge = harness::Edge::boot().package("my-service").start().await?;
    /// # Ok(()) }
    /// ```
    pub fn package(mut self, name: &str) -> Self {
        self.program.package = Some(name.to_owned());
        self
    }

    /// Runs this binary of the package.
    ///
    /// ### Default
    /// The package's only binary.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), harness::HarnessError> {
    /// let edge = harness::Edge::boot().package("my-service").bin("canary").start().await?;
    /// # Ok(()) }
    /// ```
    pub fn bin(mut self, name: &str) -> Self {
        self.program.bin = Some(name.to_owned());
        self
    }

    /// Runs the Compute program of the Cargo project in `dir` (its `Cargo.toml`, and its
    /// `fastly.toml` if it has one): a program outside the test's own crate.
    ///
    /// ### Default
    /// The test's own crate (`CARGO_MANIFEST_DIR`, else the current directory).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), harness::HarnessError> {
    /// let edge = harness::Edge::boot().project("../other-service").start().await?;
    /// # Ok(()) }
    /// ```
    pub fn project(mut self, dir: impl Into<PathBuf>) -> Self {
        self.program.project = Some(dir.into());
        self
    }

    /// Runs this prebuilt module instead of building the program (`$HARNESS_WASM` does the same
    /// for a whole run).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), harness::HarnessError> {
    /// let edge = harness::Edge::boot()
    ///     .wasm("bin/main.wasm")
    ///     .manifest("fastly.toml")
    ///     .start()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn wasm(mut self, path: impl Into<PathBuf>) -> Self {
        self.program.wasm = Some(path.into());
        self
    }

    /// Starts from this `fastly.toml`.
    ///
    /// ### Default
    /// The package's `fastly.toml`, else the workspace's, else an empty manifest.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), harness::HarnessError> {
    /// let edge = harness::Edge::boot().manifest("fastly.staging.toml").start().await?;
    /// # Ok(()) }
    /// ```
    pub fn manifest(mut self, path: impl Into<PathBuf>) -> Self {
        self.program.manifest = Some(path.into());
        self
    }

    /// Starts from this manifest text instead of a `fastly.toml` file.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), harness::HarnessError> {
    /// let edge = harness::Edge::boot()
    ///     .fastly_toml("manifest_version = 3\n[local_server.backends.origin]\nurl = \"http://127.0.0.1:9000\"\n")
    ///     .start()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn fastly_toml(mut self, manifest: &str) -> Self {
        self.manifest = Some(manifest.to_owned());
        self
    }

    /// Runs Viceroy of this version's series (`0.22.0` accepts any 0.22.x found), installing
    /// this version when none is.
    ///
    /// ### Default
    /// [`DEFAULT_VICEROY_VERSION`](crate::toolchain::DEFAULT_VICEROY_VERSION).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), harness::HarnessError> {
    /// let edge = harness::Edge::boot().viceroy_version("0.22.0").start().await?;
    /// # Ok(()) }
    /// ```
    pub fn viceroy_version(mut self, version: &str) -> Self {
        self.viceroy_version = version.to_owned();
        self
    }

    /// How long to wait for `Listening on`.
    ///
    /// ### Default
    /// 60 seconds (compiling a large module on a busy 2-core machine can take a while).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), harness::HarnessError> {
    /// let edge = harness::Edge::boot()
    ///     .startup_timeout(std::time::Duration::from_secs(120))
    ///     .start()
    ///     .await?;
    /// # Ok(()) }
    /// ```
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

    /// Starts the instance (or leases an idle one of the same configuration: see below); returns
    /// when it listens.
    ///
    /// Instances are shared between tests: an instance whose configuration (program, Viceroy,
    /// manifest, stores, geolocation, backends but for their addresses) equals this one's and
    /// that no test is using is lent to this test instead of starting another, its backends
    /// pointed at this test's origins. A lease is exclusive, and each test sees only its own log
    /// lines. An instance with a fixed [`listen`](Self::listen) address or an
    /// [`echo_log`](Self::echo_log) is never shared.
    ///
    /// What the program keeps in Viceroy's cache outlives a lease, as it outlives a request:
    /// so each lease reaches a shared instance through a relay on a port of its own, and its
    /// requests carry a `Host` no earlier test's did. A program whose cache keys include the
    /// host (Fastly's readthrough cache keys on host and path) starts every test with nothing
    /// kept; one that keys on less should not be shared (`.share(false)`: a boot per test,
    /// about 1.3 s of CPU here).
    pub async fn start(self) -> Result<Edge, HarnessError> {
        tokio::task::spawn_blocking(move || self.start_blocking())
            .await
            .map_err(|e| HarnessError::Setup(format!("the start-up task failed: {e}")))?
    }

    /// [`start`](Self::start) for code without an async runtime.
    pub fn start_blocking(self) -> Result<Edge, HarnessError> {
        let viceroy = toolchain::viceroy(&self.viceroy_version)?;
        let program = self.program.resolve()?;
        let name = match (&self.manifest, &program.manifest_path) {
            (Some(_), _) => "the manifest given with .fastly_toml(..)".to_owned(),
            (None, Some(path)) => path.display().to_string(),
            (None, None) => "the empty manifest (the program has no fastly.toml)".to_owned(),
        };
        let base = Base {
            text: self.manifest.as_deref().unwrap_or(&program.manifest),
            dir: &program.manifest_dir,
            name: &name,
        };
        let warnings = manifest::unknown_to_the_manifest(&base, &self.local);
        for warning in &warnings {
            toolchain::progress(&format!("warning: {warning}"));
        }
        let facts = LeaseFacts {
            declared_backends: self.local.backends.iter().map(|b| b.name.clone()).collect(),
            manifest_backends: manifest::manifest_backends(&base),
            manifest_name: name.clone(),
            instance_folder: PathBuf::new(),
            warnings,
        };
        let local = with_manifest_backends_relayed(self.local, &base);
        let targets: Vec<Option<SocketAddr>> = local
            .backends
            .iter()
            .map(|b| loopback_addr(&b.url))
            .collect();
        // What this instance is, relayed backends' addresses aside.
        let mut placeholders = local.clone();
        for (backend, target) in placeholders.backends.iter_mut().zip(&targets) {
            if target.is_some() {
                backend.url = format!("http://relay.invalid/{}", backend.name);
            }
        }
        let rendered = manifest::render(&base, &placeholders)?;
        let shared = self.listen == "127.0.0.1:0"
            && !self.echo
            && self.share.unwrap_or(
                !rendered.has_kv_stores || !crate::imports::writes_kv_stores(&program.wasm),
            )
            && std::env::var_os(SHARE_ENV).is_none_or(|v| v != "0");
        let key = shared.then(|| InstanceKey {
            viceroy: viceroy.clone(),
            wasm: program.wasm.clone(),
            manifest: rendered.manifest.clone(),
        });
        let (claim, idle) = match key.as_ref().map(pool::claim) {
            Some((claim, idle)) => (Some(claim), idle),
            None => (None, None),
        };
        if let Some(instance) = idle {
            rendered.lease_files.write_into(instance.folder.path())?;
            instance.retarget(&targets);
            return Edge::lease(instance, claim, facts);
        }

        let relays = targets
            .iter()
            .map(|target| target.map(Relay::start).transpose())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| HarnessError::io("starting a backend relay", e))?;
        let mut relayed = local;
        for (backend, relay) in relayed.backends.iter_mut().zip(&relays) {
            if let Some(relay) = relay {
                backend.url = format!("http://{}", relay.addr);
            }
        }
        let folder = crate::scratch::instance_folder()
            .map_err(|e| HarnessError::io("creating the instance folder", e))?;
        let manifest_path = folder.path().join("fastly.toml");
        std::fs::write(&manifest_path, manifest::render(&base, &relayed)?.manifest)
            .map_err(|e| HarnessError::io("writing the instance's fastly.toml", e))?;
        rendered.startup_files.write_into(folder.path())?;
        rendered.lease_files.write_into(folder.path())?;
        let booting = Instant::now();
        let process = ViceroyProcess::start(&Launch {
            viceroy: &viceroy,
            wasm: &program.wasm,
            folder: folder.path(),
            manifest: &manifest_path,
            listen: &self.listen,
            echo: self.echo,
            startup_timeout: self.startup_timeout,
        })?;
        if let Some(claim) = &claim {
            pool::booted(&claim.key, booting.elapsed());
        }
        for relay in relays.iter().flatten() {
            relay.open();
        }
        let instance = Instance {
            process,
            relays,
            folder,
            front_ports: Default::default(),
        };
        Edge::lease(instance, claim, facts)
    }
}

/// What [`EdgeBuilder::prepare`] found.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The Viceroy binary.
    pub viceroy: PathBuf,
    /// The program's module.
    pub wasm: PathBuf,
}

/// The test's backends, and each loopback backend of the manifest that the test leaves to it
/// (relayed to the manifest's own address), in name order: instances then differ only in the
/// non-loopback backends, so tests that declare different origins share one, and each lease's
/// relays line up with the same backends.
fn with_manifest_backends_relayed(mut local: LocalServer, base: &Base<'_>) -> LocalServer {
    for (name, url) in manifest::manifest_backends(base) {
        let declared = local.backends.iter().any(|b| b.name == name);
        if !declared && loopback_addr(&url).is_some() {
            local.backends.push(Backend {
                name,
                url,
                override_host: None,
                first_byte_timeout_ms: None,
                between_bytes_timeout_ms: None,
            });
        }
    }
    local.backends.sort_by(|a, b| a.name.cmp(&b.name));
    local
}

fn loopback_addr(url: &str) -> Option<SocketAddr> {
    let rest = url.strip_prefix("http://")?;
    let authority = rest.split('/').next()?;
    let addr: SocketAddr = authority.parse().ok()?;
    addr.ip().is_loopback().then_some(addr)
}
