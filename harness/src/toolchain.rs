//! Finding (or installing) the tools a Compute test needs: the `wasm32-wasip1` target and
//! Viceroy, once per machine.
//!
//! A fresh machine needs only rustup and cargo: the wasm target is added with `rustup target add`
//! and Viceroy is installed with `cargo install --locked` into a per-user tools folder
//! ([`tools_dir`]), so every clone of every project finds it next time.
//!
//! | variable | what it does |
//! |---|---|
//! | `HARNESS_VICEROY` | a Viceroy binary to use (its version must be of the requested series) |
//! | `HARNESS_TOOLS` | the tools folder, instead of `$XDG_CACHE_HOME/harness/tools` or `~/.cache/harness/tools` |
//! | `HARNESS_WASM` | a prebuilt module to run instead of building the program (see [`crate::EdgeBuilder::wasm`]) |
//! | `HARNESS_SHARE` | `0` starts an instance for every test instead of sharing them (see [`crate::EdgeBuilder::start`]) |

use crate::errors::HarnessError;
use std::collections::HashMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

/// The Viceroy version installed when none is found: 0.22.0, the first that runs programs built
/// with fastly 0.13 (they import host calls older ones lack). Change it per instance with
/// [`EdgeBuilder::viceroy_version`](crate::EdgeBuilder::viceroy_version).
pub const DEFAULT_VICEROY_VERSION: &str = "0.22.0";
/// The compilation target of Compute programs.
pub const WASM_TARGET: &str = "wasm32-wasip1";

/// Environment variable naming a Viceroy binary to use instead of looking for one.
pub const VICEROY_ENV: &str = "HARNESS_VICEROY";
/// Environment variable naming the tools folder.
pub const TOOLS_ENV: &str = "HARNESS_TOOLS";

/// The per-user folder where the harness keeps the tools it installs: `$HARNESS_TOOLS`, else
/// `$XDG_CACHE_HOME/harness/tools`, else `~/.cache/harness/tools`.
pub fn tools_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(TOOLS_ENV) {
        return PathBuf::from(dir);
    }
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("harness")
        .join("tools")
}

/// Prints a progress line straight to the terminal (test output capture does not hide it).
pub(crate) fn progress(line: &str) {
    let _ = writeln!(std::io::stderr(), "harness: {line}");
}

/// The series a version belongs to, as `viceroy --version` prints it: `0.22.0` is `viceroy 0.22.`.
fn series(version: &str) -> String {
    let mut parts = version.split('.');
    let major = parts.next().unwrap_or("0");
    let minor = parts.next().unwrap_or("0");
    format!("viceroy {major}.{minor}.")
}

/// The path of a usable Viceroy of `version`'s series (`0.22.x` for `0.22.0`), installing
/// `version` when none is found. Looks at `$HARNESS_VICEROY`, then `viceroy` on `PATH`, then
/// the tools folder. Once per version per process.
pub fn viceroy(version: &str) -> Result<PathBuf, HarnessError> {
    static FOUND: OnceLock<Mutex<HashMap<String, Result<PathBuf, String>>>> = OnceLock::new();
    let mut found = FOUND
        .get_or_init(Default::default)
        .lock()
        .expect("viceroy cache");
    found
        .entry(version.to_owned())
        .or_insert_with(|| locate_or_install_viceroy(version).map_err(|e| e.to_string()))
        .clone()
        .map_err(HarnessError::Setup)
}

fn viceroy_version(path: &Path) -> Option<String> {
    let output = Command::new(path).arg("--version").output().ok()?;
    Some(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

fn installed_viceroy(version: &str) -> PathBuf {
    tools_dir()
        .join(format!("viceroy-{version}"))
        .join("bin")
        .join("viceroy")
}

fn locate_or_install_viceroy(version: &str) -> Result<PathBuf, HarnessError> {
    let series = series(version);
    if let Some(path) = std::env::var_os(VICEROY_ENV).map(PathBuf::from) {
        return match viceroy_version(&path) {
            Some(v) if v.starts_with(&series) => Ok(path),
            found => Err(HarnessError::Setup(format!(
                "{VICEROY_ENV}={} is not of the series {series}x (it says {found:?})",
                path.display()
            ))),
        };
    }
    let candidates = [PathBuf::from("viceroy"), installed_viceroy(version)];
    for candidate in &candidates {
        if viceroy_version(candidate).is_some_and(|v| v.starts_with(&series)) {
            return Ok(candidate.clone());
        }
    }
    install_viceroy(version)
}

/// Installs Viceroy under a file lock, so parallel test processes install it once.
fn install_viceroy(version: &str) -> Result<PathBuf, HarnessError> {
    let root = tools_dir().join(format!("viceroy-{version}"));
    fs::create_dir_all(&root).map_err(|e| HarnessError::io("creating the tools folder", e))?;
    let lock = File::create(root.join(".install.lock"))
        .map_err(|e| HarnessError::io("creating the install lock", e))?;
    lock.lock()
        .map_err(|e| HarnessError::io("taking the install lock", e))?;
    let binary = installed_viceroy(version);
    if viceroy_version(&binary).is_some_and(|v| v.starts_with(&series(version))) {
        return Ok(binary);
    }
    progress(&format!(
        "installing Viceroy {version} into {} (cargo install, about 12 minutes on 2 cores; once per machine)",
        root.display()
    ));
    let status = Command::new(cargo())
        .args([
            "install",
            "viceroy",
            "--locked",
            "--version",
            version,
            "--root",
        ])
        .arg(&root)
        .stdout(Stdio::null())
        .status()
        .map_err(|e| HarnessError::io("running cargo install viceroy", e))?;
    if !status.success() || viceroy_version(&binary).is_none() {
        return Err(HarnessError::Setup(format!(
            "`cargo install viceroy --version {version}` failed ({status}); install it by hand or set {VICEROY_ENV}"
        )));
    }
    progress("Viceroy installed");
    Ok(binary)
}

/// The cargo that runs us, else `cargo` on `PATH`.
pub(crate) fn cargo() -> PathBuf {
    std::env::var_os("CARGO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("cargo"))
}

/// Adds the wasm32-wasip1 target when rustup lacks it (`RUSTUP_AUTO_INSTALL=0` means a
/// `rust-toolchain.toml` alone does not), for the toolchain of `dir`.
pub fn ensure_wasm_target(dir: &Path) -> Result<(), HarnessError> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .current_dir(dir)
        .output();
    match installed {
        Ok(out) if String::from_utf8_lossy(&out.stdout).contains(WASM_TARGET) => Ok(()),
        Ok(_) => {
            progress(&format!("adding the {WASM_TARGET} target with rustup"));
            let status = Command::new("rustup")
                .args(["target", "add", WASM_TARGET])
                .current_dir(dir)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_names_its_series() {
        assert_eq!(series("0.22.0"), "viceroy 0.22.");
        assert_eq!(series("1.2.3"), "viceroy 1.2.");
    }
}
