//! `probe URL`: the timeline of one HTTP/1.1 response as it crossed the wire.
//!
//! ```text
//! probe [-X METHOD] [-H 'name: value']... [--json] [--timeout SECONDS] [--cacert PEM] URL
//! ```
//!
//! Prints the time to the complete head, the headers in received order, each chunk with its
//! size and arrival time, the terminator or the truncation, the time to the last byte, and the
//! decoded size per Content-Encoding. Exits 1 when the response is truncated or broken, 2 on
//! bad arguments. `http://` and `https://` URLs (HTTP/1.1 either way): Viceroy locally, Sluice
//! on Fastly, any origin. `--cacert` trusts a PEM root besides the public ones.

use clap::Parser;
use harness::{Event, Wire, WireRequest};
use serde_json::{Value, json};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use url::{Host, Url};

/// The timeline of one HTTP/1.1 response as it crossed the wire.
///
/// Exits 0 when the response is complete, 1 when it is truncated or broken, 2 on bad arguments.
#[derive(Parser)]
#[command(name = "harness-probe", version)]
struct Args {
    /// The URL to ask: http:// or https://, an IPv6 address in brackets (`[::1]:7676`).
    url: Url,
    /// The request method.
    #[arg(
        short = 'X',
        long = "request",
        visible_alias = "method",
        value_name = "METHOD",
        default_value = "GET"
    )]
    method: String,
    /// A request header, as `name: value`; repeat for more.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE", value_parser = header)]
    headers: Vec<(String, String)>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Seconds to wait for the whole response.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    timeout: f64,
    /// A PEM file of a root certificate to trust besides the public ones (https).
    #[arg(long, value_name = "PEM")]
    cacert: Option<std::path::PathBuf>,
}

fn header(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once(':')
        .ok_or(format!("{text:?} is not 'name: value'"))?;
    Ok((name.trim().to_owned(), value.trim().to_owned()))
}

/// Where to connect and what to ask for.
struct Target {
    addr: String,
    authority: String,
    path: String,
    /// The TLS server name, for https.
    tls: Option<String>,
}

impl Target {
    fn of(url: &Url) -> Result<Target, String> {
        let https = match url.scheme() {
            "http" => false,
            "https" => true,
            other => {
                return Err(format!(
                    "{url}: {other}:// is not supported, only http and https"
                ));
            }
        };
        let host = url.host().ok_or(format!("{url}: no host"))?;
        let port = url
            .port_or_known_default()
            .unwrap_or(if https { 443 } else { 80 });
        // `Host`'s display puts an IPv6 address in brackets, as both uses need.
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        let path = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        Ok(Target {
            addr: format!("{host}:{port}"),
            authority,
            path,
            tls: https.then(|| match host {
                Host::Ipv6(address) => address.to_string(),
                other => other.to_string(),
            }),
        })
    }
}

fn ms(wire: &Wire, at: Instant) -> f64 {
    at.saturating_duration_since(wire.sent_at()).as_secs_f64() * 1000.0
}

fn report_json(wire: &Wire, url: &str, decoded: &Result<Vec<u8>, String>) -> Value {
    let events: Vec<Value> = wire
        .events()
        .iter()
        .map(|event| match event {
            Event::Head {
                status,
                headers,
                at,
            } => json!({
                "event": "head", "at_ms": ms(wire, *at), "status": status,
                "headers": headers.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
            }),
            Event::Chunk { len, at } => {
                json!({"event": "chunk", "at_ms": ms(wire, *at), "bytes": len})
            }
            Event::Terminator { at } => json!({"event": "terminator", "at_ms": ms(wire, *at)}),
            Event::Closed { at } => json!({"event": "closed", "at_ms": ms(wire, *at)}),
            Event::Failed { error, at } => {
                json!({"event": "failed", "at_ms": ms(wire, *at), "error": error})
            }
            Event::TimedOut { at } => json!({"event": "timed_out", "at_ms": ms(wire, *at)}),
        })
        .collect();
    json!({
        "url": url,
        "status": wire.status(),
        "head_ms": wire.head_at().map(|at| ms(wire, at)),
        "first_chunk_ms": wire.first_chunk_at().map(|at| ms(wire, at)),
        "last_byte_ms": wire.last_byte_at().map(|at| ms(wire, at)),
        "chunks": wire.chunk_times().len(),
        "body_bytes": wire.body().len(),
        "content_encoding": wire.header("content-encoding"),
        "decoded_bytes": decoded.as_ref().ok().map(Vec::len),
        "decode_error": decoded.as_ref().err(),
        "terminated": wire.terminated(),
        "truncated": wire.truncated(),
        "events": events,
    })
}

fn report_text(wire: &Wire, url: &str, decoded: &Result<Vec<u8>, String>) -> String {
    let mut out = format!("{url}\n{wire}");
    let at = |t: Option<Instant>| t.map_or("-".to_owned(), |t| format!("{:.1} ms", ms(wire, t)));
    out.push_str(&format!(
        "head complete: {}   first chunk: {}   last byte: {}\n",
        at(wire.head_at()),
        at(wire.first_chunk_at()),
        at(wire.last_byte_at())
    ));
    let coding = wire.header("content-encoding").unwrap_or("identity");
    out.push_str(&format!(
        "body: {} bytes in {} chunks, {coding}; decoded: {}\n",
        wire.body().len(),
        wire.chunk_times().len(),
        match decoded {
            Ok(bytes) => format!("{} bytes", bytes.len()),
            Err(e) => format!("failed ({e})"),
        }
    ));
    out.push_str(if wire.truncated() {
        "TRUNCATED: the body ended without its terminator\n"
    } else if wire.terminated() {
        "complete: ended by the 0-chunk\n"
    } else {
        "complete\n"
    });
    out
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    let target = match Target::of(&args.url) {
        Ok(target) => target,
        Err(error) => {
            eprintln!("probe: {error}");
            return ExitCode::from(2);
        }
    };
    if !(args.timeout > 0.0 && args.timeout.is_finite()) {
        eprintln!("probe: --timeout takes a positive number of seconds");
        return ExitCode::from(2);
    }
    let mut request = WireRequest::new(target.addr, &args.method, &target.path)
        .timeout(Duration::from_secs_f64(args.timeout))
        .header("host", &target.authority);
    if let Some(name) = &target.tls {
        request = request.tls(name);
        if let Some(path) = &args.cacert {
            match std::fs::read(path) {
                Ok(pem) => request = request.tls_root_pem(pem),
                Err(error) => {
                    eprintln!("probe: --cacert {}: {error}", path.display());
                    return ExitCode::from(2);
                }
            }
        }
    }
    for (name, value) in &args.headers {
        request = request.header(name, value);
    }
    let wire = match request.send().await {
        Ok(wire) => wire,
        Err(error) => {
            eprintln!("probe: {error}");
            return ExitCode::FAILURE;
        }
    };
    let decoded = wire.decoded_body().map_err(|e| e.to_string());
    if args.json {
        println!("{:#}", report_json(&wire, args.url.as_str(), &decoded));
    } else {
        print!("{}", report_text(&wire, args.url.as_str(), &decoded));
    }
    let broken = wire.truncated()
        || wire.status() == 0
        || wire
            .events()
            .iter()
            .any(|e| matches!(e, Event::Failed { .. } | Event::TimedOut { .. }));
    if broken {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
