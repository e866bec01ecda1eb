//! Test Fastly Compute programs under Viceroy, and assert on what crosses the wire.
//!
//! A test arranges its origins (wiremock's `MockServer`, or a [`ScriptedOrigin`] for bodies
//! sent over time, cut mid-body or stalled), boots the program with [`Edge::boot`], sends a
//! request with the wire client, and asserts on the [`Wire`] timeline:
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
//! )?;
//! let edge = Edge::boot().backend("origin", &origin).start().await?;
//! let wire = edge.get("/").send().await?;
//! wire.assert_status(200)
//!     .assert_chunked()
//!     .assert_no_header("content-length")
//!     .assert_head_before(origin.last_chunk_sent_at().unwrap(), "the origin's last chunk");
//! # Ok(()) }
//! ```
//!
//! What the harness takes care of:
//! - Viceroy 0.22: found on `PATH`, in `$SLUICE_VICEROY`, or installed once per machine into
//!   `~/.cache/sluice/tools` with `cargo install --locked`.
//! - The program: built once per test process for `wasm32-wasip1` (the target is added with
//!   rustup when missing), or taken from `$SLUICE_EDGE_WASM`.
//! - Isolation: every instance has its own port, its own `fastly.toml` and its own relays, so
//!   tests run in parallel.
//! - Viceroy's start-up probe (one GET to every backend before it listens) never reaches a
//!   test's origin.
//! - Failures print the expected value, the full timeline, and the tail of Viceroy's log; a
//!   failing test also prints the instance's whole log when the [`Edge`] is dropped.
#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]
#![warn(missing_docs)]

pub mod browser;
pub mod codec;
mod edge;
pub mod errors;
mod logs;
mod manifest;
mod origin;
mod program;
mod reader;
mod relay;
mod request;
mod runtime;
pub mod toolchain;
mod wire;

pub use codec::decode;
pub use edge::{Edge, EdgeBuilder, Origin, Prepared};
pub use errors::HarnessError;
pub use logs::LogBook;
pub use origin::{ReceivedRequest, Router, Script, ScriptedOrigin, Sent, Step};
pub use request::WireRequest;
pub use wire::{Event, Framing, Wire};
