//! Prepares a machine to run and test a Compute program: the wasm32-wasip1 target, Viceroy
//! (installed once per machine into the harness's tools folder) and the program's build. What
//! the harness does on first use, said out loud, a line per step.

use clap::Parser;
use harness::{Edge, toolchain};
use std::path::PathBuf;
use std::process::ExitCode;

/// Prepare this machine to run a Compute program under Viceroy.
#[derive(Parser)]
#[command(name = "harness-setup", version)]
struct Args {
    /// The program's folder: a Cargo project, or one whose fastly.toml `[scripts] build` builds it
    /// (default: the current directory).
    #[arg(long, value_name = "DIR")]
    project: Option<PathBuf>,
    /// The package to build (default: the folder's own, else the workspace's only package with a
    /// binary and a fastly.toml).
    #[arg(long, value_name = "NAME")]
    package: Option<String>,
    /// The binary to build (default: the package's only one).
    #[arg(long, value_name = "NAME")]
    bin: Option<String>,
    /// The Viceroy version to install when none of its series is found.
    #[arg(long, value_name = "VERSION", default_value = toolchain::DEFAULT_VICEROY_VERSION)]
    viceroy_version: String,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut edge = Edge::boot().viceroy_version(&args.viceroy_version);
    if let Some(project) = args.project {
        edge = edge.project(project);
    }
    if let Some(package) = &args.package {
        edge = edge.package(package);
    }
    if let Some(bin) = &args.bin {
        edge = edge.bin(bin);
    }
    eprintln!(
        "setup: Viceroy {} and the program ...",
        args.viceroy_version
    );
    match edge.prepare() {
        Ok(ready) => {
            eprintln!("setup: Viceroy: {}", ready.viceroy.display());
            eprintln!("setup: program: {}", ready.wasm.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("setup: failed: {error}");
            ExitCode::FAILURE
        }
    }
}
