//! Test Fastly Compute programs under Viceroy, and assert on what crosses the wire.
//!
//! A test arranges its origins (wiremock's `MockServer`, or a [`ScriptedOrigin`] for bodies
//! sent over time, cut mid-body or stalled, which checks what it received when dropped), boots
//! its Compute program with [`Edge::boot`] and the stores, secrets and geolocation the test
//! needs, sends a request with the wire client, and asserts on the [`Wire`] timeline:
//!
//! ```no_run
//! use harness::{Edge, Script, ScriptedOrigin};
//! use std::time::Duration;
//!
//! # async fn demo() -> Result<(), harness::HarnessError> {
//! let origin = ScriptedOrigin::start(
//!     Script::new()
//!         .head(200, [("content-type", "text/html"), ("content-length", "24")])
//!         .chunk("<p>first</p>")
//!         .pause(Duration::from_secs(1))
//!         .chunk("<p>last!</p>")
//!         .end(),
//! )?
//! .expect(1);
//! let edge = Edge::boot()
//!     .backend("origin", &origin)
//!     .config("settings", "greeting", "Hej")
//!     .start()
//!     .await?;
//! let wire = edge.get("/").send().await?;
//! wire.assert_status(200)
//!     .assert_chunked()
//!     .assert_no_header("content-length")
//!     .assert_head_before(origin.last_chunk_sent_at().unwrap(), "the origin's last chunk");
//! insta::assert_yaml_snapshot!(wire.snapshot());
//! # Ok(()) }
//! ```
//!
//! What the harness takes care of:
//! - The program: the test's own crate (or [`package`](EdgeBuilder::package),
//!   [`project`](EdgeBuilder::project), [`wasm`](EdgeBuilder::wasm)), built once per test
//!   process for `wasm32-wasip1` (the target is added with rustup when missing), with its
//!   `fastly.toml`.
//! - Viceroy ([`DEFAULT_VICEROY_VERSION`](toolchain::DEFAULT_VICEROY_VERSION), or
//!   [`viceroy_version`](EdgeBuilder::viceroy_version)): found on `PATH`, in `$HARNESS_VICEROY`,
//!   or installed once per machine into the tools folder ([`toolchain::tools_dir`]).
//! - What Compute programs use, declared per test: backends, Config Stores, Secret Stores, KV
//!   Stores, geolocation, and log endpoints ([`Edge::logs`]).
//! - Speed: Viceroy compiles the module on every start (over a second of CPU for a few MB), so
//!   instances are shared. A test whose configuration equals an idle instance's (Config Store
//!   contents and geolocation may differ; Viceroy rereads them) leases that instance instead of
//!   starting another. A lease is exclusive, its backends point at the test's own origins, and
//!   its log shows only its own lines.
//! - Viceroy's start-up probe (one GET to every backend before it listens) never reaches a
//!   test's origin.
//! - Failures print the expected value, the full timeline, and the tail of this test's log; a
//!   failing test also prints its whole log when the [`Edge`] is dropped.
#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]
#![warn(missing_docs)]

pub mod browser;
mod builder;
pub mod codec;
mod diagnosis;
mod edge;
pub mod errors;
mod expect;
mod imports;
mod logs;
mod manifest;
mod origin;
mod pool;
mod program;
mod reader;
mod received;
mod redact;
mod relay;
mod request;
mod router;
mod runtime;
mod scratch;
mod script;
pub mod toolchain;
mod viceroy;
mod wire;
mod wire_snapshot;

pub use builder::{EdgeBuilder, Prepared, SHARE_ENV};
pub use codec::decode;
pub use edge::{Edge, Origin};
pub use errors::HarnessError;
pub use expect::Times;
pub use logs::LogBook;
pub use origin::ScriptedOrigin;
pub use received::{ReceivedRequest, RequestSnapshot, Sent};
pub use redact::redact;
pub use request::WireRequest;
pub use router::{Route, Router};
pub use script::{Script, Step};
pub use wire::{Event, Framing, Wire};
pub use wire_snapshot::WireSnapshot;
