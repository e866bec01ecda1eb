//! Which Compute program an instance runs, built how, and with which `fastly.toml`.
//!
//! By default the program is the test's own crate: the package whose directory cargo names in
//! `CARGO_MANIFEST_DIR` when it runs the test (else the current directory), and its only binary.
//! A test names another with [`EdgeBuilder::package`](crate::EdgeBuilder::package),
//! [`bin`](crate::EdgeBuilder::bin) or [`project`](crate::EdgeBuilder::project), or hands a
//! prebuilt module to [`wasm`](crate::EdgeBuilder::wasm). The program is built once per process
//! with `cargo build --release --target wasm32-wasip1` into `<target>/harness` (a target folder
//! of its own: the `cargo test` that runs the tests may hold the lock on the main one).
//!
//! The manifest is [`EdgeBuilder::manifest`](crate::EdgeBuilder::manifest), else the package's
//! `fastly.toml`, else the workspace's, else an empty one.

use crate::errors::HarnessError;
use crate::toolchain::{self, WASM_TARGET};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};

/// Environment variable naming a prebuilt module to run instead of building the program.
pub const WASM_ENV: &str = "HARNESS_WASM";

/// What a test says about the program; everything left out is found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct ProgramSpec {
    pub project: Option<PathBuf>,
    pub package: Option<String>,
    pub bin: Option<String>,
    pub wasm: Option<PathBuf>,
    pub manifest: Option<PathBuf>,
}

/// The program found: the module to run, and its manifest's text and folder.
#[derive(Debug, Clone)]
pub(crate) struct Program {
    pub wasm: PathBuf,
    pub manifest: String,
    /// Where the manifest's relative paths start.
    pub manifest_dir: PathBuf,
}

/// A workspace as `cargo metadata` describes it.
struct Workspace {
    root: PathBuf,
    target: PathBuf,
    packages: Vec<Value>,
}

impl ProgramSpec {
    /// Finds (and builds, once per process) the program. Tests that need another program do
    /// not wait for this one's build.
    pub(crate) fn resolve(&self) -> Result<Program, HarnessError> {
        type Found = Arc<OnceLock<Result<Program, String>>>;
        static FOUND: OnceLock<Mutex<HashMap<ProgramSpec, Found>>> = OnceLock::new();
        let found = Arc::clone(
            FOUND
                .get_or_init(Default::default)
                .lock()
                .expect("program cache")
                .entry(self.clone())
                .or_default(),
        );
        found
            .get_or_init(|| self.find().map_err(|e| e.to_string()))
            .clone()
            .map_err(HarnessError::Setup)
    }

    fn project_dir(&self) -> PathBuf {
        self.project
            .clone()
            .or_else(|| std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("."))
    }

    fn find(&self) -> Result<Program, HarnessError> {
        let prebuilt = self
            .wasm
            .clone()
            .or_else(|| std::env::var_os(WASM_ENV).map(PathBuf::from));
        if let (Some(wasm), Some(manifest)) = (&prebuilt, &self.manifest) {
            // Nothing to find: no cargo needed.
            return Ok(Program {
                wasm: existing(wasm, "module")?,
                manifest: read_manifest(manifest)?,
                manifest_dir: folder_of(manifest),
            });
        }
        let project = self.project_dir();
        let workspace = Workspace::of(&project)?;
        let package = self.package(&workspace, &project)?;
        let package_dir = Path::new(package["manifest_path"].as_str().unwrap_or_default())
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let manifest_path = self.manifest.clone().or_else(|| {
            [
                package_dir.join("fastly.toml"),
                workspace.root.join("fastly.toml"),
            ]
            .into_iter()
            .find(|p| p.is_file())
        });
        let (manifest, manifest_dir) = match manifest_path {
            Some(path) => (read_manifest(&path)?, folder_of(&path)),
            None => ("manifest_version = 3\n".to_owned(), package_dir),
        };
        let wasm = match prebuilt {
            Some(wasm) => existing(&wasm, "module")?,
            None => build(&workspace, package, self.bin.as_deref())?,
        };
        Ok(Program {
            wasm,
            manifest,
            manifest_dir,
        })
    }

    /// The package named, else the one whose directory is the project's.
    fn package<'a>(
        &self,
        workspace: &'a Workspace,
        project: &Path,
    ) -> Result<&'a Value, HarnessError> {
        let wanted = |p: &&Value| match &self.package {
            Some(name) => p["name"].as_str() == Some(name.as_str()),
            None => {
                Path::new(p["manifest_path"].as_str().unwrap_or_default()).parent()
                    == Some(
                        project
                            .canonicalize()
                            .unwrap_or_else(|_| project.to_path_buf())
                            .as_path(),
                    )
            }
        };
        workspace.packages.iter().find(wanted).ok_or_else(|| {
            let names: Vec<&str> = workspace
                .packages
                .iter()
                .filter_map(|p| p["name"].as_str())
                .collect();
            HarnessError::Setup(match &self.package {
                Some(name) => format!("no package {name} in the workspace at {} (it has: {})", workspace.root.display(), names.join(", ")),
                None => format!(
                    "{} is not a package's folder: name the program with .package(..) (the workspace has: {})",
                    project.display(),
                    names.join(", ")
                ),
            })
        })
    }
}

impl Workspace {
    fn of(project: &Path) -> Result<Workspace, HarnessError> {
        let output = Command::new(toolchain::cargo())
            .args(["metadata", "--format-version", "1", "--no-deps"])
            .current_dir(project)
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| HarnessError::io("running cargo metadata", e))?;
        if !output.status.success() {
            return Err(HarnessError::Setup(format!(
                "cargo metadata in {} failed: {}",
                project.display(),
                String::from_utf8_lossy(&output.stderr)
            )));
        }
        let metadata: Value = serde_json::from_slice(&output.stdout)
            .map_err(|e| HarnessError::Setup(format!("cargo metadata's output: {e}")))?;
        Ok(Workspace {
            root: PathBuf::from(metadata["workspace_root"].as_str().unwrap_or_default()),
            target: PathBuf::from(metadata["target_directory"].as_str().unwrap_or_default()),
            packages: metadata["packages"].as_array().cloned().unwrap_or_default(),
        })
    }
}

/// Builds the package's binary (the one named, else its only one) for wasm32-wasip1.
fn build(
    workspace: &Workspace,
    package: &Value,
    bin: Option<&str>,
) -> Result<PathBuf, HarnessError> {
    let name = package["name"].as_str().unwrap_or_default();
    let bins: Vec<&str> = package["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| {
            t["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "bin"))
        })
        .filter_map(|t| t["name"].as_str())
        .collect();
    let bin = match (bin, bins.as_slice()) {
        (Some(bin), _) if bins.contains(&bin) => bin,
        (Some(bin), _) => {
            return Err(HarnessError::Setup(format!(
                "the package {name} has no binary {bin} (it has: {})",
                bins.join(", ")
            )));
        }
        (None, [only]) => only,
        (None, []) => {
            return Err(HarnessError::Setup(format!(
                "the package {name} has no binary to run: name the program with .package(..)"
            )));
        }
        (None, several) => {
            return Err(HarnessError::Setup(format!(
                "the package {name} has several binaries ({}): name one with .bin(..)",
                several.join(", ")
            )));
        }
    };
    toolchain::ensure_wasm_target(&workspace.root)?;
    let target_dir = workspace.target.join("harness");
    let output = Command::new(toolchain::cargo())
        .args([
            "build",
            "--release",
            "--target",
            WASM_TARGET,
            "-p",
            name,
            "--bin",
            bin,
        ])
        .arg("--target-dir")
        .arg(&target_dir)
        .current_dir(&workspace.root)
        .env_remove("CARGO_TARGET_DIR")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| HarnessError::io(format!("running cargo build for {name}"), e))?;
    if !output.status.success() {
        return Err(HarnessError::Setup(format!(
            "building {name} for {WASM_TARGET} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(target_dir
        .join(WASM_TARGET)
        .join("release")
        .join(format!("{bin}.wasm")))
}

fn existing(path: &Path, what: &str) -> Result<PathBuf, HarnessError> {
    if path.is_file() {
        Ok(path.to_path_buf())
    } else {
        Err(HarnessError::Setup(format!(
            "the {what} {} is not a file",
            path.display()
        )))
    }
}

/// The folder a file is in, as an absolute path where it can be made one.
fn folder_of(file: &Path) -> PathBuf {
    let file = file.canonicalize().unwrap_or_else(|_| file.to_path_buf());
    file.parent().map(Path::to_path_buf).unwrap_or_default()
}

fn read_manifest(path: &Path) -> Result<String, HarnessError> {
    std::fs::read_to_string(path)
        .map_err(|e| HarnessError::io(format!("reading {}", path.display()), e))
}
