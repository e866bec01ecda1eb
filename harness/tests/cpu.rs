//! The tests whose figures are CPU time, in a binary cargo runs after the suite, alone. Entry
//! point here, tests in the repository's `tests/`: see `suite.rs` beside this file.
include!("../../tests/cpu.rs");
