//! Sluice's Fastly-free core: the body pipeline and the request policy.
//!
//! Everything here builds and tests natively; the Compute program (`src/main.rs`) is thin glue
//! that turns Fastly's request and body types into what these modules take.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod fresh_blocks;
#[doc(hidden)]
pub mod fuzzing;
pub mod pipeline;
pub mod policy;
