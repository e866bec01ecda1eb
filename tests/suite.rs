// The harness's integration tests: Sluice's, and Greeter's (a Compute program that is not
// Sluice). One binary, because the harness shares Viceroy instances between the tests of a
// process: one process boots far fewer than a binary per file would. The tests whose figures
// are CPU time are in `tests/cpu.rs`, a binary cargo runs after this one, alone.

mod common;

mod browser;
mod cache;
mod encodings;
mod fidelity;
mod greeter;
mod header_bytes;
mod hostile;
mod identity;
mod js;
mod load;
mod logging;
mod memory;
mod messages;
mod nextjs;
mod origins;
mod proxy;
mod robustness;
mod run;
mod site;
mod streaming;
mod urls;
