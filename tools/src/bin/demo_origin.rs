//! The demo publisher origin on its own. See `sluice_tools::demo`.

use clap::Parser;
use harness::ScriptedOrigin;
use sluice_tools::demo;
use std::process::ExitCode;

/// Serves the demo publisher site (the origin `serve` fronts by default) until stopped.
#[derive(Parser)]
#[command(name = "demo_origin", version)]
struct Args {
    /// Where the demo publisher listens.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:9090")]
    addr: std::net::SocketAddr,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let origin = match ScriptedOrigin::serve(&args.addr.to_string(), demo::router()) {
        Ok(origin) => origin,
        Err(error) => {
            eprintln!(
                "demo_origin: {error} (is something else listening on {}?)",
                args.addr
            );
            return ExitCode::FAILURE;
        }
    };
    println!("demo origin for {} on http://{}", demo::HOST, origin.addr());
    // Serves on the harness runtime until the process is stopped.
    loop {
        std::thread::park();
    }
}
