//! The harness's integration tests, one binary: Sluice's, Greeter's, the starter-kit
//! fixture's, the JavaScript fixture's and the harness's own messages.
//!
//! They live at the repository's root, in `tests/`, beside the programs they drive; this entry
//! point, inside the package, compiles them (`mod` paths in the included file resolve from
//! `tests/`). A published copy of the crate holds this file but not `tests/`: its tests run in
//! the repository.
include!("../../tests/suite.rs");
