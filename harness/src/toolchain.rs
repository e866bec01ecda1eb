//! Finding (or installing) Viceroy and building the Compute program, once per test process.
//!
//! A fresh machine needs only rustup and cargo: the wasm target is added with `rustup target add`
//! and the pinned Viceroy is installed with `cargo install --locked` into a per-user cache
//! folder, so every clone of the project (CI's fresh clones too) finds it next time.

use crate::errors::HarnessError;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The Viceroy version the harness installs; any 0.22.x found is accepted.
pub const VICEROY_VERSION: &str = "0.22.0";
const VICEROY_SERIES: &str = "viceroy 0.22.";
const WASM_TARGET: &str = "wasm32-wasip1";

/// Environment variable naming a Viceroy binary to use instead of looking for one.
pub const VICEROY_ENV: &str = "SLUICE_VICEROY";
/// Environment variable naming a prebuilt `edge.wasm` to use instead of building one.
pub const EDGE_WASM_ENV: &str = "SLUICE_EDGE_WASM";

/// The workspace root (the folder holding the top-level `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the harness crate lives one folder below the workspace root")
        .to_path_buf()
}

/// The per-user folder where the harness keeps the tools it installs:
/// `$XDG_CACHE_HOME/sluice/tools`, else `~/.cache/sluice/tools`.
pub fn tools_dir() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(|| workspace_root().join("target"));
    cache.join("sluice").join("tools")
}

/// Prints a progress line straight to the terminal (test output capture does not hide it).
pub(crate) fn progress(line: &str) {
    let _ = writeln!(std::io::stderr(), "harness: {line}");
}

/// The path of a usable Viceroy, installing the pinned version when none is found.
///
/// Looks at `$SLUICE_VICEROY`, then `viceroy` on `PATH`, then the tools folder; the version must
/// be 0.22.x (older ones refuse programs built with fastly 0.13).
pub fn viceroy() -> Result<PathBuf, HarnessError> {
    static VICEROY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    VICEROY
        .get_or_init(|| locate_or_install_viceroy().map_err(|e| e.to_string()))
        .clone()
        .map_err(HarnessError::Setup)
}

fn viceroy_version(path: &Path) -> Option<String> {
    let output = Command::new(path).arg("--version").output().ok()?;
    Some(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

fn installed_viceroy() -> PathBuf {
    tools_dir()
        .join(format!("viceroy-{VICEROY_VERSION}"))
        .join("bin")
        .join("viceroy")
}

fn locate_or_install_viceroy() -> Result<PathBuf, HarnessError> {
    if let Some(path) = std::env::var_os(VICEROY_ENV).map(PathBuf::from) {
        return match viceroy_version(&path) {
            Some(v) if v.starts_with(VICEROY_SERIES) => Ok(path),
            found => Err(HarnessError::Setup(format!(
                "{VICEROY_ENV}={} is not Viceroy 0.22.x (it says {found:?})",
                path.display()
            ))),
        };
    }
    let candidates = [PathBuf::from("viceroy"), installed_viceroy()];
    for candidate in &candidates {
        if viceroy_version(candidate).is_some_and(|v| v.starts_with(VICEROY_SERIES)) {
            return Ok(candidate.clone());
        }
    }
    install_viceroy()
}

/// Installs the pinned Viceroy under a file lock, so parallel test processes install it once.
fn install_viceroy() -> Result<PathBuf, HarnessError> {
    let root = tools_dir().join(format!("viceroy-{VICEROY_VERSION}"));
    fs::create_dir_all(&root).map_err(|e| HarnessError::io("creating the tools folder", e))?;
    let lock = File::create(root.join(".install.lock"))
        .map_err(|e| HarnessError::io("creating the install lock", e))?;
    lock.lock()
        .map_err(|e| HarnessError::io("taking the install lock", e))?;
    let binary = installed_viceroy();
    if viceroy_version(&binary).is_some_and(|v| v.starts_with(VICEROY_SERIES)) {
        return Ok(binary);
    }
    progress(&format!(
        "installing Viceroy {VICEROY_VERSION} into {} (cargo install, about 12 minutes on 2 cores; once per machine)",
        root.display()
    ));
    let status = Command::new(cargo())
        .args([
            "install",
            "viceroy",
            "--locked",
            "--version",
            VICEROY_VERSION,
            "--root",
        ])
        .arg(&root)
        .stdout(Stdio::null())
        .status()
        .map_err(|e| HarnessError::io("running cargo install viceroy", e))?;
    if !status.success() || viceroy_version(&binary).is_none() {
        return Err(HarnessError::Setup(format!(
            "`cargo install viceroy --version {VICEROY_VERSION}` failed ({status}); install it by hand or set {VICEROY_ENV}"
        )));
    }
    progress("Viceroy installed");
    Ok(binary)
}

fn cargo() -> PathBuf {
    std::env::var_os("CARGO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("cargo"))
}

/// Adds the wasm32-wasip1 target when rustup lacks it (`RUSTUP_AUTO_INSTALL=0` means a
/// `rust-toolchain.toml` alone does not).
pub fn ensure_wasm_target() -> Result<(), HarnessError> {
    let root = workspace_root();
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .current_dir(&root)
        .output();
    match installed {
        Ok(out) if String::from_utf8_lossy(&out.stdout).contains(WASM_TARGET) => Ok(()),
        Ok(_) => {
            progress(&format!("adding the {WASM_TARGET} target with rustup"));
            let status = Command::new("rustup")
                .args(["target", "add", WASM_TARGET])
                .current_dir(&root)
                .status()
                .map_err(|e| HarnessError::io("running rustup target add", e))?;
            status.success().then_some(()).ok_or_else(|| {
                HarnessError::Setup(format!("`rustup target add {WASM_TARGET}` failed"))
            })
        }
        // No rustup: trust that the toolchain has the target, and let the build say otherwise.
        Err(_) => Ok(()),
    }
}

/// The path of the project's `edge.wasm`: `$SLUICE_EDGE_WASM`, or built once per test process
/// with `cargo build -p edge --release --target wasm32-wasip1`.
pub fn edge_wasm() -> Result<PathBuf, HarnessError> {
    static WASM: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    WASM.get_or_init(|| build_edge_wasm().map_err(|e| e.to_string()))
        .clone()
        .map_err(HarnessError::Setup)
}

fn build_edge_wasm() -> Result<PathBuf, HarnessError> {
    if let Some(path) = std::env::var_os(EDGE_WASM_ENV).map(PathBuf::from) {
        return if path.is_file() {
            Ok(path)
        } else {
            Err(HarnessError::Setup(format!(
                "{EDGE_WASM_ENV}={} is not a file",
                path.display()
            )))
        };
    }
    ensure_wasm_target()?;
    let root = workspace_root();
    // A target folder of its own: the `cargo test` that runs us may still hold the lock on the
    // main one, and a wasm build shares nothing with the native test build anyway.
    let target_dir = root.join("target").join("harness");
    let output = Command::new(cargo())
        .args([
            "build",
            "-p",
            "edge",
            "--bin",
            "edge",
            "--release",
            "--target",
            WASM_TARGET,
        ])
        .arg("--target-dir")
        .arg(&target_dir)
        .current_dir(&root)
        .env_remove("CARGO_TARGET_DIR")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| HarnessError::io("running cargo build for the edge", e))?;
    if !output.status.success() {
        return Err(HarnessError::Setup(format!(
            "building edge.wasm failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(target_dir
        .join(WASM_TARGET)
        .join("release")
        .join("edge.wasm"))
}
