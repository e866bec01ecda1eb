//! The development tools answer like command-line tools (probe and setup: tests/run.rs).

use sluice_tools::cli_check::behaves_like_a_command_line_tool;

#[test]
fn serve_demo_origin_and_bench_answer_help_and_version_and_refuse_a_bad_flag() -> Result<(), String>
{
    behaves_like_a_command_line_tool("serve", env!("CARGO_BIN_EXE_serve").as_ref())?;
    behaves_like_a_command_line_tool("demo_origin", env!("CARGO_BIN_EXE_demo_origin").as_ref())?;
    behaves_like_a_command_line_tool("bench", env!("CARGO_BIN_EXE_bench").as_ref())
}
