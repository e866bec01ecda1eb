//! What every command-line tool of the project owes its users, checked the same way for each:
//! `--help` exits 0 with a usage line, `--version` names the tool, and an unknown flag exits 2
//! with the usage line on stderr.

use std::path::Path;
use std::process::Command;

/// Runs the three checks on the program at `path`, called `name`; the error says which failed.
///
/// ```no_run
/// sluice_tools::cli_check::behaves_like_a_command_line_tool("probe", "target/debug/probe".as_ref())?;
/// # Ok::<(), String>(())
/// ```
pub fn behaves_like_a_command_line_tool(name: &str, path: &Path) -> Result<(), String> {
    let run = |arg: &str| {
        Command::new(path)
            .arg(arg)
            .output()
            .map_err(|e| format!("{name} {arg}: {e}"))
    };
    let help = run("--help")?;
    if !help.status.success() || !String::from_utf8_lossy(&help.stdout).contains("Usage: ") {
        return Err(format!("{name} --help: {help:?}"));
    }
    let version = run("--version")?;
    if !String::from_utf8_lossy(&version.stdout).starts_with(&format!("{name} ")) {
        return Err(format!("{name} --version: {version:?}"));
    }
    let bad = run("--no-such-flag")?;
    if bad.status.code() != Some(2) || !String::from_utf8_lossy(&bad.stderr).contains("Usage: ") {
        return Err(format!("{name} --no-such-flag: {bad:?}"));
    }
    Ok(())
}
