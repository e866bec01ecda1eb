//! Runs Sluice locally: the demo publisher origin and Viceroy serving the edge in front of it.
//!
//! ```text
//! serve [--origin http://HOST[:PORT]] [--addr 127.0.0.1:7676] [--demo-addr 127.0.0.1:9090]
//! ```
//!
//! Without `--origin` the built-in demo site (`sluice_tools::demo`) runs on 127.0.0.1:9090. With it,
//! Sluice fronts that origin instead, and rewrites its host. Ctrl-C stops both.

use clap::Parser;
use harness::{Edge, ScriptedOrigin};
use sluice_tools::demo;
use std::process::ExitCode;
use url::Url;

/// Runs Sluice locally under Viceroy, in front of the built-in demo publisher or an origin of
/// your own. Ctrl-C stops both.
#[derive(Parser)]
#[command(name = "serve", version)]
struct Args {
    /// Front this origin (http://HOST[:PORT]) instead of the demo publisher; its host is the
    /// publisher host Sluice rewrites.
    #[arg(long, value_name = "URL")]
    origin: Option<Url>,
    /// Where Sluice listens.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:7676")]
    addr: std::net::SocketAddr,
    /// Where the demo publisher listens (without --origin).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:9090")]
    demo_addr: std::net::SocketAddr,
}

/// The origin's URL without a trailing slash, and its authority (host and port, IPv6 in
/// brackets), which Sluice sends as `Host` and rewrites.
fn origin_parts(url: &Url) -> Result<(String, String), String> {
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(format!("--origin {url}: expected http:// or https://"));
    }
    let host = url
        .host()
        .ok_or(format!("--origin {url}: expected http://HOST[:PORT]"))?;
    let authority = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    };
    Ok((url.as_str().trim_end_matches('/').to_owned(), authority))
}

fn fail(message: String) -> ExitCode {
    eprintln!("serve: {message}");
    ExitCode::FAILURE
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if std::net::TcpListener::bind(args.addr).is_err() {
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
        Some(url) => match origin_parts(url) {
            Ok((url, authority)) => (None, url, authority),
            Err(error) => return fail(error),
        },
        None => match ScriptedOrigin::serve(&args.demo_addr.to_string(), demo::router()) {
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
        .listen(&args.addr.to_string())
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
         watch it arrive with:\n\n    cargo probe {url}/slow\n\n\
         Ctrl-C stops Sluice and the origin.\n"
    );
    let _ = tokio::signal::ctrl_c().await;
    eprintln!("serve: stopping");
    drop(edge);
    ExitCode::SUCCESS
}
