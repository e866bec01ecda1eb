//! Sluice's own development tools, on top of the `harness` library: the demo publisher site
//! ([`demo`]) that `scripts/serve` and the browser test put Sluice in front of, and the
//! measurement helpers ([`measure`]) the bench and the memory tests share, and the external
//! corpus the bench reads ([`corpus`]). The binaries are
//! `serve`, `demo_origin` and `bench`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cli_check;
pub mod corpus;
pub mod demo;
pub mod measure;

/// The project's root folder (the workspace's).
pub fn project_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tools/ lives one folder below the project root")
        .to_path_buf()
}
