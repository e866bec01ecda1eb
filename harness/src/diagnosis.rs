//! What a failing test's log says went wrong, in a sentence at the top of the failure: the
//! program's own panic line, a backend the test did not declare, one that nothing answered. The
//! log's tail follows, with the program's lines and Viceroy's own, never Viceroy's Rust
//! backtrace frames, and the instance's copy of the manifest named as the program's file.

use std::path::PathBuf;

/// What the harness knows about a lease, for reading its log.
#[derive(Debug, Clone, Default)]
pub(crate) struct LeaseFacts {
    /// The backends the test declared with `.backend(..)`.
    pub declared_backends: Vec<String>,
    /// The backends the program's manifest has under `[local_server.backends]`.
    pub manifest_backends: Vec<(String, String)>,
    /// The program's manifest, as messages name it.
    pub manifest_name: String,
    /// The instance's folder: Viceroy names its copy of the manifest by a path in it.
    pub instance_folder: PathBuf,
    /// What the test declares that the manifest does not have (`manifest::unknown_to_the_manifest`).
    pub warnings: Vec<String>,
}

/// The causes the log shows, one sentence each, in the order they happened.
pub(crate) fn causes(lines: &[String], facts: &LeaseFacts) -> Vec<String> {
    let mut found = facts.warnings.clone();
    let mut add = |cause: String| {
        if !found.contains(&cause) {
            found.push(cause);
        }
    };
    for (at, line) in lines.iter().enumerate() {
        if let Some(place) = line.split(" panicked at ").nth(1) {
            // Since Rust 1.73 the message is on the next line; before, after a comma.
            let place = place.trim_end_matches(':');
            let message = lines.get(at + 1).map_or("", |l| l.trim());
            add(format!("the program panicked at {place}: {message}"));
        } else if let Some(name) = quoted_after(line, "Backend '")
            .filter(|_| line.contains("does not exist"))
            .or_else(|| quoted_after(line, "Attempted to access backend '"))
        {
            add(undeclared_backend(&name, facts));
        } else if let Some(name) = quoted_after(line, "Backend connection error for '") {
            add(unanswered_backend(&name, line, facts));
        }
    }
    found
}

fn undeclared_backend(name: &str, facts: &LeaseFacts) -> String {
    format!(
        "the program asked for backend {name:?}, which this test does not declare (.backend({name:?}, &origin)) and {} does not have under [local_server.backends]",
        facts.manifest_name
    )
}

fn unanswered_backend(name: &str, line: &str, facts: &LeaseFacts) -> String {
    let why = line.rsplit("): ").next().unwrap_or_default();
    if facts.declared_backends.iter().any(|b| b == name) {
        return format!(
            "the program's request to backend {name:?} (this test's origin) failed: {why}"
        );
    }
    let url = facts
        .manifest_backends
        .iter()
        .find(|(n, _)| n == name)
        .map_or_else(String::new, |(_, url)| format!(" at {url}"));
    format!(
        "the program asked backend {name:?}, which this test does not declare, so it went where {} points it{url}, and nothing answered there ({why}): declare it with .backend({name:?}, &origin)",
        facts.manifest_name
    )
}

/// The text between `prefix` and the next `'`.
fn quoted_after(line: &str, prefix: &str) -> Option<String> {
    let rest = line.split(prefix).nth(1)?;
    rest.split('\'').next().map(str::to_owned)
}

/// The last `n` lines worth reading: Viceroy's Rust backtrace frames (printed when the test
/// process has `RUST_BACKTRACE` set) are left out, and the instance's copy of the manifest is
/// named as the program's file.
pub(crate) fn readable_tail(lines: &[String], facts: &LeaseFacts, n: usize) -> String {
    let copy = facts.instance_folder.join("fastly.toml");
    let copy = copy.display().to_string();
    let kept: Vec<String> = lines
        .iter()
        .filter(|line| !is_host_frame(line))
        .map(|line| match copy.len() > "/fastly.toml".len() {
            true => line.replace(&copy, &facts.manifest_name),
            false => line.clone(),
        })
        .collect();
    kept[kept.len().saturating_sub(n)..].join("\n")
}

/// A frame of a Rust backtrace of Viceroy itself (`   12: tokio::runtime::...`,
/// `             at /rustc/...`), as opposed to the guest's wasm frames, which name offsets
/// (`    0: 0x1a2b - <unknown>!...`).
fn is_host_frame(line: &str) -> bool {
    let trimmed = line.trim_start();
    if line.len() == trimmed.len() {
        return false;
    }
    if trimmed.starts_with("at /") || trimmed.starts_with("at ./") {
        return true;
    }
    match trimmed.split_once(": ") {
        Some((number, rest)) => {
            number.bytes().all(|b| b.is_ascii_digit()) && !rest.starts_with("0x")
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> LeaseFacts {
        LeaseFacts {
            declared_backends: vec!["origin".into()],
            manifest_backends: vec![("api".into(), "http://127.0.0.1:9101".into())],
            manifest_name: "/work/app/fastly.toml".into(),
            instance_folder: PathBuf::from("/tmp/harness-1"),
            warnings: Vec::new(),
        }
    }

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_owned).collect()
    }

    #[test]
    fn a_guest_panic_is_named_with_its_message() {
        let log = lines(
            "thread 'main' panicked at src/main.rs:33:66:\ncalled `Option::unwrap()` on a `None` value\nnote: run with `RUST_BACKTRACE=1`",
        );
        assert_eq!(
            causes(&log, &facts()),
            [
                "the program panicked at src/main.rs:33:66: called `Option::unwrap()` on a `None` value"
            ]
        );
    }

    #[test]
    fn a_backend_nobody_declared_points_at_the_test_and_the_manifest() {
        let log = lines(
            "WARN request{id=0}: Backend 'cms' does not exist. Currently defined backends are: origin. To define additional backends, add them to your /tmp/harness-1/fastly.toml file.",
        );
        let found = causes(&log, &facts());
        assert_eq!(
            found,
            [
                "the program asked for backend \"cms\", which this test does not declare (.backend(\"cms\", &origin)) and /work/app/fastly.toml does not have under [local_server.backends]"
            ]
        );
        assert!(readable_tail(&log, &facts(), 5).contains("your /work/app/fastly.toml file"));
        assert!(!readable_tail(&log, &facts(), 5).contains("/tmp/harness-1"));
    }

    #[test]
    fn a_backend_left_to_the_manifest_says_where_it_went() {
        let log = lines(
            "ERROR request{id=0}: Backend connection error for 'api' (http://127.0.0.1:9101/v1): error trying to connect: tcp connect error: Connection refused (os error 111)",
        );
        let found = causes(&log, &facts());
        assert!(
            found[0].starts_with("the program asked backend \"api\", which this test does not declare, so it went where /work/app/fastly.toml points it at http://127.0.0.1:9101"),
            "{found:?}"
        );
    }

    #[test]
    fn viceroys_own_frames_are_left_out_and_the_guests_kept() {
        let log = lines(
            "ERROR request{id=0}: WebAssembly trapped\n    0: 0x1a2b - <unknown>!main\n   12: tokio::runtime::task::raw::poll\n             at /rustc/abc/library/core/src/ops.rs:5:9\nINFO request completed",
        );
        assert_eq!(
            readable_tail(&log, &facts(), 10),
            "ERROR request{id=0}: WebAssembly trapped\n    0: 0x1a2b - <unknown>!main\nINFO request completed"
        );
    }
}
