//! The demo publisher origin: `demo_origin [--addr 127.0.0.1:9090]`. See `sluice_tools::demo`.

use harness::ScriptedOrigin;
use sluice_tools::demo;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let addr = match args.as_slice() {
        [] => "127.0.0.1:9090".to_owned(),
        [flag, addr] if flag == "--addr" => addr.clone(),
        _ => {
            eprintln!("usage: demo_origin [--addr HOST:PORT]");
            return ExitCode::from(2);
        }
    };
    let origin = match ScriptedOrigin::serve(&addr, demo::router()) {
        Ok(origin) => origin,
        Err(error) => {
            eprintln!("demo_origin: {error} (is something else listening on {addr}?)");
            return ExitCode::FAILURE;
        }
    };
    println!("demo origin for {} on http://{}", demo::HOST, origin.addr());
    // Serves on the harness runtime until the process is stopped.
    loop {
        std::thread::park();
    }
}
