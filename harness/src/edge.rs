//! A running instance of a Compute program under Viceroy, lent to one test: its address, the
//! wire client pointed at it, and its log.

use crate::builder::EdgeBuilder;
use crate::diagnosis::LeaseFacts;
use crate::errors::HarnessError;
use crate::logs::LogBook;
use crate::pool::{self, Claim, Instance};
use crate::relay::Relay;
use crate::request::WireRequest;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// How long a lease waits, when it ends, for Viceroy to report its requests complete before
/// the instance is stopped rather than lent again.
const SETTLE: Duration = Duration::from_secs(3);

/// Anything with a base URL that can stand behind a Viceroy backend.
///
/// Implemented for wiremock's `MockServer`, [`ScriptedOrigin`](crate::ScriptedOrigin), and
/// URL strings (for origins the harness did not start).
pub trait Origin {
    /// The base URL, e.g. `http://127.0.0.1:4000`.
    fn origin_uri(&self) -> String;

    /// Told the backend name a test declared it as, to name itself by in reports.
    fn declared_as(&self, _backend: &str) {}
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

/// A running Viceroy instance serving the Compute program, on its own port with its own
/// manifest, lent to one test at a time. When the `Edge` is dropped, the instance is lent to the
/// next test with the same configuration, or stopped; if the test is failing, its log (this
/// test's lines only) is printed then.
pub struct Edge {
    instance: Option<Instance>,
    /// The lease's own way in to a shared instance ([`Instance::front_door`]).
    front: Option<Relay>,
    /// The lease's place in the pool, for a shared instance.
    claim: Option<Claim>,
    log: LogBook,
    requests: Arc<AtomicUsize>,
}

impl Edge {
    /// Starts configuring an instance of the test's own Compute program (see
    /// [`package`](EdgeBuilder::package) to name another), with its `fastly.toml`.
    pub fn boot() -> EdgeBuilder {
        EdgeBuilder::default()
    }

    pub(crate) fn lease(
        mut instance: Instance,
        claim: Option<Claim>,
        mut facts: LeaseFacts,
    ) -> Result<Edge, HarnessError> {
        facts.instance_folder = instance.folder.path().to_path_buf();
        let front = match claim {
            Some(_) => Some(
                instance
                    .front_door()
                    .map_err(|e| HarnessError::io("starting the lease's relay", e))?,
            ),
            None => None,
        };
        Ok(Edge {
            log: instance.process.log.lines_to_come(facts),
            instance: Some(instance),
            front,
            claim,
            requests: Arc::default(),
        })
    }

    fn instance(&self) -> &Instance {
        self.instance
            .as_ref()
            .expect("an edge holds its instance until dropped")
    }

    /// `http://127.0.0.1:PORT`.
    ///
    /// ```no_run
    /// # async fn demo(edge: harness::Edge) -> Result<(), Box<dyn std::error::Error>> {
    /// let url = edge.url(); // http://127.0.0.1:PORT
    /// # Ok(()) }
    /// ```
    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// `127.0.0.1:PORT`.
    ///
    /// ```no_run
    /// # async fn demo(edge: harness::Edge) -> Result<(), Box<dyn std::error::Error>> {
    /// let addr = edge.addr();
    /// # Ok(()) }
    /// ```
    pub fn addr(&self) -> SocketAddr {
        match &self.front {
            Some(front) => front.addr,
            None => self.instance().process.addr,
        }
    }

    /// The address Viceroy itself listens on: the same for every lease of one shared instance
    /// (each lease reaches it through a relay of its own, at [`addr`](Self::addr)).
    ///
    /// ```no_run
    /// # async fn demo(first: harness::Edge, second: harness::Edge) {
    /// let same_instance = first.instance_addr() == second.instance_addr();
    /// # }
    /// ```
    pub fn instance_addr(&self) -> SocketAddr {
        self.instance().process.addr
    }

    /// A GET for `target` through the wire client.
    ///
    /// ```no_run
    /// # async fn demo(edge: harness::Edge) -> Result<(), Box<dyn std::error::Error>> {
    /// edge.get("/").header("accept-encoding", "gzip").send().await?.assert_status(200);
    /// # Ok(()) }
    /// ```
    pub fn get(&self, target: &str) -> WireRequest {
        self.request("GET", target)
    }

    /// Any request through the wire client.
    ///
    /// ```no_run
    /// # async fn demo(edge: harness::Edge) -> Result<(), Box<dyn std::error::Error>> {
    /// edge.request("POST", "/form").body("a=1").send().await?.assert_status(303);
    /// # Ok(()) }
    /// ```
    pub fn request(&self, method: &str, target: &str) -> WireRequest {
        WireRequest::new(self.addr().to_string(), method, target)
            .with_lease(self.log.clone(), Arc::clone(&self.requests))
    }

    /// Viceroy's and the guest's output during this test.
    ///
    /// ```no_run
    /// # async fn demo(edge: harness::Edge) -> Result<(), Box<dyn std::error::Error>> {
    /// assert!(edge.log().wait_for("request completed", std::time::Duration::from_secs(5)));
    /// # Ok(()) }
    /// ```
    pub fn log(&self) -> LogBook {
        self.log.clone()
    }

    /// What this test declares that the program's `fastly.toml` does not have: a backend or a
    /// store name the program may not open (a typo, say), one sentence each. The harness prints
    /// them when the test starts and puts them at the top of a failure.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), harness::HarnessError> {
    /// let edge = harness::Edge::boot().config("setting", "greeting", "Hej").start().await?;
    /// assert!(edge.warnings()[0].contains("Config Store \"setting\""));
    /// # Ok(()) }
    /// ```
    pub fn warnings(&self) -> Vec<String> {
        self.log.warnings()
    }

    /// The messages the program wrote to log endpoint `name` during this test, once every
    /// request sent with [`get`](Self::get) or [`request`](Self::request) has completed (a
    /// program may log after its response ends).
    ///
    /// ```no_run
    /// # async fn demo(edge: harness::Edge) -> Result<(), harness::HarnessError> {
    /// edge.get("/").send().await?.assert_status(200);
    /// assert_eq!(edge.logs("access"), ["GET / 200"]);
    /// # Ok(()) }
    /// ```
    pub fn logs(&self, name: &str) -> Vec<String> {
        self.settle();
        self.log.endpoint(name)
    }

    /// Waits (up to [`SETTLE`]) until Viceroy reports every request this lease sent complete;
    /// returns whether it did.
    fn settle(&self) -> bool {
        let sent = self.requests.load(Ordering::SeqCst);
        self.log.wait_for_heap_reports(sent, SETTLE).len() >= sent
    }
}

impl Drop for Edge {
    fn drop(&mut self) {
        let Some(instance) = self.instance.take() else {
            return;
        };
        if std::thread::panicking() {
            eprintln!(
                "--- Viceroy on {} (this test's log) ---\n{}",
                instance.process.addr,
                self.log.readable_tail(usize::MAX)
            );
            return;
        }
        // Requests still waiting on this test's origins end now; the next test must not see
        // them complete.
        self.front.take();
        instance.close_connections();
        if let (Some(claim), true) = (self.claim.take(), self.settle()) {
            pool::checkin(claim, instance);
        }
    }
}
