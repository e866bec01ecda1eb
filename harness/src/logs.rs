//! Viceroy's output (its own `-v` log and the guest's stdout/stderr), captured line by line.

use crate::diagnosis::{self, LeaseFacts};
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
    /// The first line this book shows: an instance lent to several tests shows each only its own.
    start: usize,
    /// What the lease it belongs to declared, for reading failures.
    facts: Option<Arc<LeaseFacts>>,
}

impl LogBook {
    pub(crate) fn push(&self, line: String) {
        self.lines.lock().expect("log lock").push(line);
    }

    /// The same log, showing only the lines that come from now on, read with a lease's facts.
    pub(crate) fn lines_to_come(&self, facts: LeaseFacts) -> LogBook {
        LogBook {
            lines: Arc::clone(&self.lines),
            start: self.lines.lock().expect("log lock").len(),
            facts: Some(Arc::new(facts)),
        }
    }

    /// What the test declares that the program's manifest does not have.
    pub(crate) fn warnings(&self) -> Vec<String> {
        self.facts
            .as_deref()
            .map(|f| f.warnings.clone())
            .unwrap_or_default()
    }

    /// What went wrong, one sentence per cause the log shows ([`diagnosis::causes`]).
    pub(crate) fn causes(&self) -> Vec<String> {
        let facts = self.facts.as_deref().cloned().unwrap_or_default();
        self.with_lines(|lines| diagnosis::causes(lines, &facts))
    }

    /// The last `n` lines worth reading ([`diagnosis::readable_tail`]).
    pub(crate) fn readable_tail(&self, n: usize) -> String {
        let facts = self.facts.as_deref().cloned().unwrap_or_default();
        self.with_lines(|lines| diagnosis::readable_tail(lines, &facts, n))
    }

    fn with_lines<T>(&self, f: impl FnOnce(&[String]) -> T) -> T {
        let lines = self.lines.lock().expect("log lock");
        f(&lines[self.start.min(lines.len())..])
    }

    /// Every line so far.
    ///
    /// ```no_run
    /// # fn demo(log: harness::LogBook) {
    /// let count = log.lines().len();
    /// # }
    /// ```
    pub fn lines(&self) -> Vec<String> {
        self.with_lines(<[String]>::to_vec)
    }

    /// Whether any line contains `needle`.
    ///
    /// ```no_run
    /// # fn demo(log: harness::LogBook) {
    /// assert!(!log.contains("panicked"));
    /// # }
    /// ```
    pub fn contains(&self, needle: &str) -> bool {
        self.with_lines(|lines| lines.iter().any(|l| l.contains(needle)))
    }

    /// Waits until a line contains `needle` (guest log lines can arrive just after the response
    /// they belong to), or `timeout` passes; returns whether it came.
    ///
    /// ```no_run
    /// # fn demo(log: harness::LogBook) {
    /// assert!(log.wait_for("Listening on", std::time::Duration::from_secs(10)));
    /// # }
    /// ```
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

    /// The messages the program wrote to log endpoint `name` (Viceroy prints each as a
    /// `name :: message` line, with newlines inside a message written as `\n`).
    ///
    /// ```no_run
    /// # fn demo(log: harness::LogBook) {
    /// let access: Vec<String> = log.endpoint("access");
    /// # }
    /// ```
    pub fn endpoint(&self, name: &str) -> Vec<String> {
        let prefix = format!("{name} :: ");
        self.with_lines(|lines| {
            lines
                .iter()
                .filter_map(|line| line.strip_prefix(&prefix))
                .map(str::to_owned)
                .collect()
        })
    }

    /// The last `n` lines, one per line.
    ///
    /// ```no_run
    /// # fn demo(log: harness::LogBook) {
    /// eprintln!("{}", log.tail(20));
    /// # }
    /// ```
    pub fn tail(&self, n: usize) -> String {
        self.with_lines(|lines| lines[lines.len().saturating_sub(n)..].join("\n"))
    }

    /// The WebAssembly heap of each completed request, in MiB, from Viceroy's
    /// `request completed using N MiB of WebAssembly heap` lines (in whatever unit it printed).
    ///
    /// ```no_run
    /// # fn demo(log: harness::LogBook) {
    /// assert!(log.heap_reports_mib().iter().all(|&mib| mib < 16.0));
    /// # }
    /// ```
    pub fn heap_reports_mib(&self) -> Vec<f64> {
        self.with_lines(|lines| lines.iter().filter_map(|line| heap_mib(line)).collect())
    }

    /// The vCPU milliseconds of each request whose program logged them, in log order: every
    /// line with a `vcpu N ms` figure (what `fastly::compute_runtime::elapsed_vcpu_ms()` gives,
    /// the time Fastly bills and limits). Sluice writes one on each response's last log line.
    ///
    /// ```no_run
    /// # async fn demo(edge: harness::Edge) -> Result<(), harness::HarnessError> {
    /// edge.get("/").send().await?;
    /// let log = edge.log();
    /// assert!(log.wait_for("vcpu ", std::time::Duration::from_secs(5)));
    /// assert!(log.vcpu_reports_ms()[0] < 50);
    /// # Ok(()) }
    /// ```
    pub fn vcpu_reports_ms(&self) -> Vec<u64> {
        self.with_lines(|lines| lines.iter().filter_map(|line| vcpu_ms(line)).collect())
    }

    /// Waits until at least `count` heap reports are in (Viceroy logs them just after the
    /// response ends), or `timeout` passes; returns what is there.
    ///
    /// ```no_run
    /// # fn demo(log: harness::LogBook) {
    /// let heaps = log.wait_for_heap_reports(1, std::time::Duration::from_secs(5));
    /// # }
    /// ```
    pub fn wait_for_heap_reports(&self, count: usize, timeout: Duration) -> Vec<f64> {
        wait_for_count(count, timeout, || self.heap_reports_mib())
    }

    /// Waits until at least `count` vCPU reports are in (the program logs them as its response
    /// ends), or `timeout` passes; returns what is there.
    ///
    /// ```no_run
    /// # fn demo(log: harness::LogBook) {
    /// let vcpu = log.wait_for_vcpu_reports(1, std::time::Duration::from_secs(5));
    /// # }
    /// ```
    pub fn wait_for_vcpu_reports(&self, count: usize, timeout: Duration) -> Vec<u64> {
        wait_for_count(count, timeout, || self.vcpu_reports_ms())
    }
}

/// Reads `reports` until it has `count` of them or `timeout` has passed.
fn wait_for_count<T>(count: usize, timeout: Duration, reports: impl Fn() -> Vec<T>) -> Vec<T> {
    let deadline = Instant::now() + timeout;
    loop {
        let found = reports();
        if found.len() >= count || Instant::now() >= deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The heap figure of a `request completed using 2.1 MiB of WebAssembly heap` line, in MiB
/// (Viceroy picks the unit: B, KiB, MiB or GiB).
fn heap_mib(line: &str) -> Option<f64> {
    let (before, _) = line.split_once(" of WebAssembly heap")?;
    let mut words = before.rsplit(' ');
    let unit = words.next()?;
    let value: f64 = words.next()?.parse().ok()?;
    let scale = match unit {
        "B" => 1.0 / (1024.0 * 1024.0),
        "KiB" => 1.0 / 1024.0,
        "MiB" => 1.0,
        "GiB" => 1024.0,
        "TiB" => 1024.0 * 1024.0,
        _ => return None,
    };
    Some(value * scale)
}

/// The figure of a `vcpu 12 ms` phrase anywhere in a line.
fn vcpu_ms(line: &str) -> Option<u64> {
    let (_, after) = line.split_once("vcpu ")?;
    let (number, rest) = after.split_once(' ')?;
    rest.starts_with("ms")
        .then(|| number.parse().ok())
        .flatten()
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
        assert_eq!(
            heap_mib("request completed using 512.0 KiB of WebAssembly heap"),
            Some(0.5)
        );
        assert_eq!(heap_mib("request completed in 2ms"), None);
    }

    #[test]
    fn reads_the_vcpu_figure_wherever_the_line_has_it() {
        assert_eq!(
            vcpu_ms("sluice_log :: INFO streamed: 10 bytes in, 3 rewrites, vcpu 17 ms"),
            Some(17)
        );
        assert_eq!(
            vcpu_ms("sluice_log :: INFO sent whole: 200, vcpu 0 ms"),
            Some(0)
        );
        assert_eq!(vcpu_ms("vcpu unknown (ERROR)"), None);
        assert_eq!(vcpu_ms("no figure here"), None);
    }
}
