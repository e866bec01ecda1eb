//! One Viceroy process: started, its output captured line by line, and stopped, also when the
//! test process ends without stopping it.
//!
//! Instances outlive the tests that lease them (see `pool.rs`), and a test binary exits without
//! running destructors of what statics hold. So Viceroy runs under a small `sh` wrapper that
//! watches a pipe from the harness: when the harness's end closes (the instance is stopped, or
//! the test process is gone for any reason), the wrapper kills Viceroy.

use crate::errors::HarnessError;
use crate::logs::{LogBook, strip_ansi};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Runs `"$@"` (Viceroy) and kills it when standard input closes; exits when it exits, so its
/// output pipes close then. The watcher reads a copy of stdin (fd 3): an asynchronous list's own
/// stdin is /dev/null in a shell without job control.
const WRAPPER: &str = r#"exec 3<&0
"$@" 3<&- &
pid=$!
{ cat <&3 >/dev/null 2>&1; kill "$pid" 2>/dev/null; } >/dev/null 2>&1 &
exec 3<&-
wait "$pid""#;

/// A running Viceroy.
pub(crate) struct ViceroyProcess {
    child: Child,
    /// Closing it stops Viceroy.
    lifeline: Option<ChildStdin>,
    pub addr: SocketAddr,
    pub log: LogBook,
}

/// How to start one.
pub(crate) struct Launch<'a> {
    pub viceroy: &'a Path,
    pub wasm: &'a Path,
    /// Viceroy's working folder: the manifest's relative paths start there.
    pub folder: &'a Path,
    pub manifest: &'a Path,
    pub listen: &'a str,
    pub echo: bool,
    pub startup_timeout: Duration,
}

impl ViceroyProcess {
    /// Starts `viceroy serve -v` and returns once it listens.
    pub(crate) fn start(launch: &Launch<'_>) -> Result<ViceroyProcess, HarnessError> {
        let mut child = Command::new("sh")
            .args(["-c", WRAPPER, "sh"])
            .arg(launch.viceroy)
            .args(["serve", "--addr", launch.listen, "-v", "-C"])
            .arg(launch.manifest)
            .arg(launch.wasm)
            .current_dir(launch.folder)
            // Viceroy's own Rust backtraces (it inherits the test process's RUST_BACKTRACE)
            // would fill the log a failure prints; the program's panic line says what broke.
            .env_remove("RUST_BACKTRACE")
            .env_remove("RUST_LIB_BACKTRACE")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| HarnessError::io(format!("starting {}", launch.viceroy.display()), e))?;
        let log = LogBook::default();
        let (listening_tx, listening_rx) = mpsc::channel();
        let stdout = child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>);
        let stderr = child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>);
        for (stream, tx) in [(stdout, Some(listening_tx)), (stderr, None)] {
            let Some(stream) = stream else { continue };
            let (log, echo) = (log.clone(), launch.echo);
            std::thread::spawn(move || drain(stream, &log, tx, echo));
        }
        let lifeline = child.stdin.take();
        let mut process = ViceroyProcess {
            child,
            lifeline,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log,
        };
        match listening_rx.recv_timeout(launch.startup_timeout) {
            Ok(addr) => {
                process.addr = addr;
                Ok(process)
            }
            Err(_) => {
                let log = process.log.clone();
                drop(process);
                std::thread::sleep(Duration::from_millis(50));
                Err(HarnessError::Start {
                    reason: format!(
                        "no `Listening on` line within {:?} (it exited, or is still compiling)",
                        launch.startup_timeout
                    ),
                    log: log.tail(200),
                })
            }
        }
    }
}

impl Drop for ViceroyProcess {
    fn drop(&mut self) {
        // The wrapper kills Viceroy when its lifeline closes, then exits.
        drop(self.lifeline.take());
        let _ = self.child.wait();
    }
}

/// Reads lines into the log book; the stdout reader also reports the listening address.
fn drain(
    stream: Box<dyn std::io::Read + Send>,
    log: &LogBook,
    mut listening: Option<mpsc::Sender<SocketAddr>>,
    echo: bool,
) {
    // Lines as bytes: a program may print anything, and a reader that stopped at a non-UTF-8
    // line would leave Viceroy blocked on a full pipe.
    let mut reader = BufReader::new(stream);
    let mut bytes = Vec::new();
    while reader.read_until(b'\n', &mut bytes).is_ok_and(|n| n > 0) {
        let text = String::from_utf8_lossy(&bytes);
        let line = text.trim_end_matches(['\n', '\r']);
        let line = strip_ansi(line);
        if let Some(tx) = &listening
            && let Some(addr) = listening_addr(&line)
        {
            let _ = tx.send(addr);
            listening = None;
        }
        if echo {
            println!("{line}");
        }
        log.push(line);
        bytes.clear();
    }
}

fn listening_addr(line: &str) -> Option<SocketAddr> {
    let rest = line.split("Listening on http://").nth(1)?;
    rest.trim().trim_end_matches('/').parse().ok()
}
