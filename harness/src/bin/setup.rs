//! Prepares a machine to run and test Sluice: the wasm target, the pinned Viceroy (installed
//! once per machine into the per-user tools folder) and the edge build. What it does is what the
//! harness does on first use, said out loud.

use harness::toolchain;
use std::process::ExitCode;

/// One set-up step: what it reports on success.
type Step = fn() -> Result<String, harness::HarnessError>;

fn main() -> ExitCode {
    let steps: [(&str, Step); 3] = [
        ("wasm32-wasip1 target", || {
            toolchain::ensure_wasm_target().map(|()| "installed".to_owned())
        }),
        ("Viceroy", || {
            toolchain::viceroy().map(|path| path.display().to_string())
        }),
        ("edge.wasm", || {
            toolchain::edge_wasm().map(|path| path.display().to_string())
        }),
    ];
    for (name, step) in steps {
        eprintln!("setup: {name} ...");
        match step() {
            Ok(found) => eprintln!("setup: {name}: {found}"),
            Err(error) => {
                eprintln!("setup: {name} failed: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
