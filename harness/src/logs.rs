//! Viceroy's output (its own `-v` log and the guest's stdout/stderr), captured line by line.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The captured output of one Viceroy instance. Cheap to clone; clones share the lines.
///
/// ```no_run
/// # async fn demo(edge: harness::Edge) {
/// let log = edge.log();
/// assert!(log.contains("Listening on"));
/// println!("{}", log.tail(20));
/// # }
/// ```
#[derive(Clone, Default)]
pub struct LogBook {
    lines: Arc<Mutex<Vec<String>>>,
}

impl LogBook {
    pub(crate) fn push(&self, line: String) {
        self.lines.lock().expect("log lock").push(line);
    }

    /// Every line so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().expect("log lock").clone()
    }

    /// Whether any line contains `needle`.
    pub fn contains(&self, needle: &str) -> bool {
        self.lines
            .lock()
            .expect("log lock")
            .iter()
            .any(|l| l.contains(needle))
    }

    /// Waits until a line contains `needle` (guest log lines can arrive just after the response
    /// they belong to), or `timeout` passes; returns whether it came.
    pub fn wait_for(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while !self.contains(needle) {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        true
    }

    /// The last `n` lines, one per line.
    pub fn tail(&self, n: usize) -> String {
        let lines = self.lines.lock().expect("log lock");
        let start = lines.len().saturating_sub(n);
        lines[start..].join("\n")
    }

    /// The WebAssembly heap of each completed request, in MiB, from Viceroy's
    /// `request completed using N MiB of WebAssembly heap` lines.
    pub fn heap_reports_mib(&self) -> Vec<f64> {
        self.lines
            .lock()
            .expect("log lock")
            .iter()
            .filter_map(|line| heap_mib(line))
            .collect()
    }

    /// Waits until at least `count` heap reports are in (Viceroy logs them just after the
    /// response ends), or `timeout` passes; returns what is there.
    pub fn wait_for_heap_reports(&self, count: usize, timeout: Duration) -> Vec<f64> {
        let deadline = Instant::now() + timeout;
        loop {
            let reports = self.heap_reports_mib();
            if reports.len() >= count || Instant::now() >= deadline {
                return reports;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn heap_mib(line: &str) -> Option<f64> {
    let before = line.split(" MiB of WebAssembly heap").next()?;
    if before.len() == line.len() {
        return None;
    }
    before.rsplit(' ').next()?.parse().ok()
}

/// Removes ANSI colour sequences, which Viceroy may print even into a pipe.
pub(crate) fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_heap_figure_and_strips_colours() {
        let line = strip_ansi(
            "\u{1b}[32m INFO\u{1b}[0m request completed using 2.1 MiB of WebAssembly heap",
        );
        assert_eq!(heap_mib(&line), Some(2.1));
        assert_eq!(heap_mib("request completed in 2ms"), None);
    }
}
