//! Runs Sluice locally: the demo publisher origin and Viceroy serving the edge in front of it.
//!
//! ```text
//! serve [--origin http://HOST:PORT] [--addr 127.0.0.1:7676] [--demo-addr 127.0.0.1:9090]
//! ```
//!
//! Without `--origin` the built-in demo site (`sluice_tools::demo`) runs on 127.0.0.1:9090. With it,
//! Sluice fronts that origin instead, and rewrites its host. Ctrl-C stops both.

use harness::{Edge, ScriptedOrigin};
use sluice_tools::demo;
use std::process::ExitCode;

const DEMO_ADDR: &str = "127.0.0.1:9090";
const USAGE: &str =
    "usage: serve [--origin http://HOST:PORT] [--addr HOST:PORT] [--demo-addr HOST:PORT]";

struct Args {
    origin: Option<String>,
    addr: String,
    demo_addr: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut parsed = Args {
        origin: None,
        addr: "127.0.0.1:7676".to_owned(),
        demo_addr: DEMO_ADDR.to_owned(),
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--origin" => parsed.origin = Some(args.next().ok_or("--origin needs a URL")?),
            "--addr" => parsed.addr = args.next().ok_or("--addr needs HOST:PORT")?,
            "--demo-addr" => parsed.demo_addr = args.next().ok_or("--demo-addr needs HOST:PORT")?,
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    Ok(parsed)
}

fn fail(message: String) -> ExitCode {
    eprintln!("serve: {message}");
    ExitCode::FAILURE
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(error) => {
            eprintln!("serve: {error}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if std::net::TcpListener::bind(&args.addr).is_err() {
        return fail(format!(
            "{} is already in use: stop what listens there, or pick another with --addr",
            args.addr
        ));
    }
    eprintln!(
        "serve: Viceroy and the edge build (the first time: a Viceroy install, about 12 minutes) ..."
    );
    match Edge::boot().package("edge").prepare() {
        Ok(ready) => eprintln!(
            "serve: ready: {} runs {}",
            ready.viceroy.display(),
            ready.wasm.display()
        ),
        Err(error) => return fail(error.to_string()),
    }

    let (_demo, origin_url, origin_host) = match &args.origin {
        Some(url) => {
            let authority = url
                .split("://")
                .nth(1)
                .and_then(|rest| rest.split('/').next())
                .filter(|a| !a.is_empty())
                .map(str::to_owned);
            let Some(authority) = authority else {
                return fail(format!("--origin {url}: expected http://HOST[:PORT]"));
            };
            (None, url.trim_end_matches('/').to_owned(), authority)
        }
        None => match ScriptedOrigin::serve(&args.demo_addr, demo::router()) {
            Ok(origin) => (
                Some(origin),
                format!("http://{}", args.demo_addr),
                demo::HOST.to_owned(),
            ),
            Err(error) => {
                return fail(format!(
                    "the demo origin cannot listen on {}: {error}. Stop what listens there, pick another with --demo-addr, or front another origin with --origin",
                    args.demo_addr
                ));
            }
        },
    };

    let edge = Edge::boot()
        .package("edge")
        .backend("origin", &origin_url)
        .override_host(&origin_host)
        .config("sluice_config", "origin_host", &origin_host)
        .listen(&args.addr)
        .echo_log(true)
        .start()
        .await;
    let edge = match edge {
        Ok(edge) => edge,
        Err(error) => return fail(error.to_string()),
    };
    let url = edge.url();
    println!(
        "\nSluice is serving {origin_url} (as {origin_host}) on {url}\n\n\
         Open {url}/ in a browser: links, images, scripts and stylesheets now point at the proxy,\n\
         and a banner shows the injected script ran. {url}/slow sends its body over three seconds;\n\
         watch it arrive with:\n\n    cargo run -q -p harness --bin probe -- {url}/slow\n\n\
         Ctrl-C stops Sluice and the origin.\n"
    );
    let _ = tokio::signal::ctrl_c().await;
    eprintln!("serve: stopping");
    drop(edge);
    ExitCode::SUCCESS
}
