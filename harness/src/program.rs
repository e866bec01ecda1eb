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
//!
//! A [`project`](crate::EdgeBuilder::project) that is not a Cargo project (a JavaScript one,
//! say) is built as `fastly compute build` builds it: its `fastly.toml`'s `[scripts] build`,
//! into `bin/main.wasm`.

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
    /// The manifest's file, when it is one (messages name it, never the instance's copy).
    pub manifest_path: Option<PathBuf>,
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
        // Kept as the message a set-up error carries, so a second test's copy reads the same.
        let message = |error: HarnessError| match error {
            HarnessError::Setup(message) => message,
            other => other.to_string(),
        };
        found
            .get_or_init(|| self.find().map_err(message))
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
                manifest_path: Some(absolute(manifest)),
            });
        }
        let project = self.project_dir();
        if !project.join("Cargo.toml").is_file() && project.join("fastly.toml").is_file() {
            return self.built_by_its_manifest(&project, prebuilt);
        }
        let workspace = Workspace::of(&project)?;
        let package = self.package(&workspace, &project)?;
        let package_dir = package_dir(package);
        let manifest_path = self.manifest.clone().or_else(|| {
            [
                package_dir.join("fastly.toml"),
                workspace.root.join("fastly.toml"),
            ]
            .into_iter()
            .find(|p| p.is_file())
        });
        let (manifest, manifest_dir) = match &manifest_path {
            Some(path) => (read_manifest(path)?, folder_of(path)),
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
            manifest_path: manifest_path.as_deref().map(absolute),
        })
    }

    /// A project that is not Cargo's (JavaScript, Go, ...): built as the Fastly CLI builds it,
    /// with its `fastly.toml`'s `[scripts] build` (after `npm ci` when it has a `package.json`
    /// and no `node_modules`), into `bin/main.wasm`.
    fn built_by_its_manifest(
        &self,
        project: &Path,
        prebuilt: Option<PathBuf>,
    ) -> Result<Program, HarnessError> {
        let project = &absolute(project);
        let manifest_path = self
            .manifest
            .clone()
            .unwrap_or_else(|| project.join("fastly.toml"));
        let manifest = read_manifest(&manifest_path)?;
        let wasm = match prebuilt {
            Some(wasm) => existing(&wasm, "module")?,
            None => build_with_script(project, &manifest, &manifest_path)?,
        };
        Ok(Program {
            wasm,
            manifest,
            manifest_dir: folder_of(&manifest_path),
            manifest_path: Some(absolute(&manifest_path)),
        })
    }

    /// The package named; else the one whose directory is the project's, when it has a binary;
    /// else the workspace's only package with a binary and a `fastly.toml` beside it (the
    /// program, when the tests are a package of their own beside it, as in the starter kit's
    /// layout with an `edge-tests` folder).
    fn package<'a>(
        &self,
        workspace: &'a Workspace,
        project: &Path,
    ) -> Result<&'a Value, HarnessError> {
        let own = self.own_package(workspace, project);
        if self.package.is_some() || own.as_ref().is_ok_and(|p| !binaries(p).is_empty()) {
            return own;
        }
        let programs: Vec<&Value> = workspace
            .packages
            .iter()
            .filter(|p| !binaries(p).is_empty() && package_dir(p).join("fastly.toml").is_file())
            .collect();
        match programs.as_slice() {
            [only] => Ok(only),
            _ => own,
        }
    }

    fn own_package<'a>(
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

/// Runs `[scripts] build` of the manifest in `project`, as `fastly compute build` would.
fn build_with_script(
    project: &Path,
    manifest: &str,
    manifest_path: &Path,
) -> Result<PathBuf, HarnessError> {
    let table: toml::Table = manifest.parse().map_err(|e| {
        HarnessError::Setup(format!(
            "{} does not parse as TOML: {e}",
            manifest_path.display()
        ))
    })?;
    let script = table
        .get("scripts")
        .and_then(|s| s.get("build"))
        .and_then(toml::Value::as_str)
        .ok_or_else(|| {
            HarnessError::Setup(format!(
                "{} has no [scripts] build to build the program with (or hand the harness a module with .wasm(..))",
                manifest_path.display()
            ))
        })?;
    if project.join("package.json").is_file() && !project.join("node_modules").is_dir() {
        let lockfile = project.join("package-lock.json").is_file();
        let install = if lockfile { "npm ci" } else { "npm install" };
        toolchain::progress(&format!(
            "installing {}'s npm packages ({install}): once, the first time",
            project.display()
        ));
        run_in(project, install)?;
    }
    let module = project.join("bin").join("main.wasm");
    if built_after_every_source(&module, project) {
        toolchain::progress(&format!(
            "{} is newer than every source beside it: not rebuilt (delete it to force a build)",
            module.display()
        ));
        return Ok(module);
    }
    toolchain::progress(&format!(
        "building {} with its [scripts] build ({script}): once per test run, and again only when a source changes",
        project.display()
    ));
    run_in(project, script)?;
    existing(&module, "module the build made")
}

/// Folders a script build writes or installs into, never its sources.
const NOT_SOURCES: [&str; 4] = ["node_modules", "bin", "pkg", "target"];

/// Whether `module` exists and was written after every file of the project (outside its build
/// output, installed packages and dot-folders), as cargo's freshness check would judge: a
/// JavaScript build takes seconds of both cores, which a warm test run should not pay.
fn built_after_every_source(module: &Path, project: &Path) -> bool {
    let Ok(built) = std::fs::metadata(module).and_then(|m| m.modified()) else {
        return false;
    };
    let mut folders = vec![project.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            return false;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let Ok(meta) = entry.metadata() else {
                return false;
            };
            if meta.is_dir() {
                let skipped = name.starts_with('.')
                    || (folder == project && NOT_SOURCES.contains(&name.as_ref()));
                if !skipped {
                    folders.push(entry.path());
                }
            } else if meta.modified().map_or(true, |changed| changed > built) {
                return false;
            }
        }
    }
    true
}

/// Runs a shell command in `dir`, failing with its output.
fn run_in(dir: &Path, command: &str) -> Result<(), HarnessError> {
    let output = Command::new("sh")
        .args(["-c", command])
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| HarnessError::io(format!("running {command} in {}", dir.display()), e))?;
    if output.status.success() {
        return Ok(());
    }
    Err(HarnessError::Setup(format!(
        "{command} in {} failed ({}):\n{}{}",
        dir.display(),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr).trim_end()
    )))
}

/// A package's folder, from `cargo metadata`.
fn package_dir(package: &Value) -> PathBuf {
    Path::new(package["manifest_path"].as_str().unwrap_or_default())
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// A package's binary targets, from `cargo metadata`.
fn binaries(package: &Value) -> Vec<&str> {
    package["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| {
            t["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "bin"))
        })
        .filter_map(|t| t["name"].as_str())
        .collect()
}

/// Builds the package's binary (the one named, else its only one) for wasm32-wasip1.
fn build(
    workspace: &Workspace,
    package: &Value,
    bin: Option<&str>,
) -> Result<PathBuf, HarnessError> {
    let name = package["name"].as_str().unwrap_or_default();
    let bins = binaries(package);
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
    toolchain::progress(&format!(
        "building {name} for {WASM_TARGET} (cargo build --release, into {}): once per test run, and the first build of a program compiles all its dependencies, which can take minutes",
        target_dir.display()
    ));
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
            "--color",
            "never",
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
            "building {name} ({}) for {WASM_TARGET} failed:\n{}",
            package["manifest_path"].as_str().unwrap_or_default(),
            String::from_utf8_lossy(&output.stderr).trim_end()
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

/// A path made absolute where it can be.
fn absolute(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
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

#[cfg(test)]
mod tests {
    use super::built_after_every_source;
    use std::time::{Duration, SystemTime};

    fn touch(path: &std::path::Path, at: SystemTime) {
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("folders");
        std::fs::write(path, "x").expect("a file");
        std::fs::File::options()
            .write(true)
            .open(path)
            .and_then(|f| f.set_modified(at))
            .expect("a time");
    }

    #[test]
    fn a_script_build_is_fresh_until_a_source_changes() {
        let project = tempfile::tempdir().expect("a folder");
        let root = project.path();
        let module = root.join("bin/main.wasm");
        let then = SystemTime::now() - Duration::from_secs(60);
        touch(&root.join("src/index.js"), then);
        touch(&root.join("package.json"), then);
        assert!(!built_after_every_source(&module, root), "never built");

        touch(&module, then + Duration::from_secs(10));
        touch(&root.join("node_modules/x/index.js"), SystemTime::now());
        touch(&root.join(".git/index"), SystemTime::now());
        assert!(
            built_after_every_source(&module, root),
            "installed packages and dot-folders are not sources"
        );

        touch(&root.join("src/lib/util.js"), SystemTime::now());
        assert!(!built_after_every_source(&module, root), "a source changed");
    }
}
