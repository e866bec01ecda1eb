//! `probe URL`: the timeline of one HTTP/1.1 response as it crossed the wire.
//!
//! ```text
//! probe [--json] [--method M] [--header 'name: value']... [--timeout SECONDS] [--cacert PEM] URL
//! ```
//!
//! Prints the time to the complete head, the headers in received order, each chunk with its
//! size and arrival time, the terminator or the truncation, the time to the last byte, and the
//! decoded size per Content-Encoding. Exits 1 when the response is truncated or broken, 2 on
//! bad arguments. `http://` and `https://` URLs (HTTP/1.1 either way): Viceroy locally, Sluice
//! on Fastly, any origin. `--cacert` trusts a PEM root besides the public ones.

use harness::{Event, Wire, WireRequest};
use serde_json::{Value, json};
use std::process::ExitCode;
use std::time::{Duration, Instant};

struct Args {
    url: String,
    json: bool,
    method: String,
    headers: Vec<(String, String)>,
    timeout: Duration,
    cacert: Option<String>,
}

const USAGE: &str = "usage: probe [--json] [--method M] [--header 'name: value']... [--timeout SECONDS] [--cacert PEM] http[s]://HOST[:PORT]/PATH";

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut parsed = Args {
        url: String::new(),
        json: false,
        method: "GET".to_owned(),
        headers: Vec::new(),
        timeout: Duration::from_secs(30),
        cacert: None,
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--json" => parsed.json = true,
            "--method" => parsed.method = value("--method")?,
            "--header" => {
                let header = value("--header")?;
                let (name, v) = header
                    .split_once(':')
                    .ok_or(format!("--header {header:?} is not 'name: value'"))?;
                parsed
                    .headers
                    .push((name.trim().to_owned(), v.trim().to_owned()));
            }
            "--cacert" => parsed.cacert = Some(value("--cacert")?),
            "--timeout" => {
                let seconds: f64 = value("--timeout")?
                    .parse()
                    .map_err(|_| "--timeout takes seconds".to_owned())?;
                parsed.timeout = Duration::from_secs_f64(seconds);
            }
            url if !url.starts_with("--") && parsed.url.is_empty() => parsed.url = url.to_owned(),
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    if parsed.url.is_empty() {
        return Err("a URL is needed".to_owned());
    }
    Ok(parsed)
}

/// Where to connect and what to ask for.
struct Target {
    addr: String,
    authority: String,
    path: String,
    /// The TLS server name, for https.
    tls: Option<String>,
}

/// Splits `http[s]://host[:port]/path`.
fn split_url(url: &str) -> Result<Target, String> {
    let (rest, https) = match (url.strip_prefix("http://"), url.strip_prefix("https://")) {
        (Some(rest), _) => (rest, false),
        (_, Some(rest)) => (rest, true),
        _ => {
            return Err(format!(
                "{url}: only http:// and https:// URLs are supported"
            ));
        }
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
    if host.is_empty() {
        return Err(format!("{url}: no host"));
    }
    let addr = if authority.contains(':') {
        authority.to_owned()
    } else {
        format!("{authority}:{}", if https { 443 } else { 80 })
    };
    Ok(Target {
        addr,
        authority: authority.to_owned(),
        path: path.to_owned(),
        tls: https.then(|| host.to_owned()),
    })
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
    let args = match parse_args() {
        Ok(args) => args,
        Err(error) => {
            eprintln!("probe: {error}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let target = match split_url(&args.url) {
        Ok(target) => target,
        Err(error) => {
            eprintln!("probe: {error}");
            return ExitCode::from(2);
        }
    };
    let mut request = WireRequest::new(target.addr, &args.method, &target.path)
        .timeout(args.timeout)
        .header("host", &target.authority);
    if let Some(name) = &target.tls {
        request = request.tls(name);
        if let Some(path) = &args.cacert {
            match std::fs::read(path) {
                Ok(pem) => request = request.tls_root_pem(pem),
                Err(error) => {
                    eprintln!("probe: --cacert {path}: {error}");
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
        println!("{:#}", report_json(&wire, &args.url, &decoded));
    } else {
        print!("{}", report_text(&wire, &args.url, &decoded));
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
