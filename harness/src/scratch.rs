//! Instance folders. A shared instance lives until its test process exits, when no destructor
//! runs, so its folder would outlive it: each folder is named after the process that made it,
//! and the next process removes the folders of processes that are gone.

use std::path::Path;

const PREFIX: &str = "harness-instance-";

/// A fresh folder for one Viceroy instance, removed when dropped or, if the process ends first,
/// by the next process that makes one.
pub(crate) fn instance_folder() -> std::io::Result<tempfile::TempDir> {
    sweep_once(&std::env::temp_dir());
    tempfile::Builder::new()
        .prefix(&format!("{PREFIX}{}-", std::process::id()))
        .tempdir()
}

fn sweep_once(dir: &Path) {
    static SWEPT: std::sync::Once = std::sync::Once::new();
    SWEPT.call_once(|| sweep(dir));
}

/// Removes the instance folders in `dir` whose process is no longer running.
fn sweep(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(owner_pid) else {
            continue;
        };
        if !process_is_running(pid) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The process ID in a folder name `harness-instance-<pid>-<random>`.
fn owner_pid(name: &str) -> Option<u32> {
    name.strip_prefix(PREFIX)?.split_once('-')?.0.parse().ok()
}

/// Whether `pid` is running. Only Linux can tell cheaply (`/proc`); elsewhere every process
/// counts as running and folders are left alone.
fn process_is_running(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.is_dir() || proc.join(pid.to_string()).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_the_folders_of_finished_processes_only() {
        let dir = tempfile::tempdir().unwrap();
        let mine = dir
            .path()
            .join(format!("{PREFIX}{}-abc", std::process::id()));
        // Process IDs are below 2^22 on Linux: this one cannot be running.
        let gone = dir.path().join(format!("{PREFIX}4294967295-abc"));
        let other = dir.path().join("harness-instance-folder-of-someone-else");
        for folder in [&mine, &gone, &other] {
            std::fs::create_dir(folder).unwrap();
        }

        sweep(dir.path());

        assert!(mine.exists());
        assert!(!gone.exists());
        assert!(other.exists());
    }
}
