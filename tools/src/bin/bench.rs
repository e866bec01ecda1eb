//! End-to-end measurements through Viceroy: memory, time to first and last byte, browser
//! metrics, and whole-request throughput, streaming against buffered (or pass-through).
//!
//! ```text
//! cargo run -p sluice-tools --bin bench [-- --quick]
//! ```
//!
//! Prints Markdown and writes it into BENCHMARKS.md between the `bench:start` and `bench:end`
//! markers. The browser part needs Debian's chromium and chromium-driver; it installs them with
//! apt-get when missing (as root), and is skipped, saying so, when it cannot.

use harness::browser::{Browser, Chromium};
use harness::codec;
use harness::{Edge, Script, ScriptedOrigin, Wire, WireRequest};
use serde_json::Value;
use sluice_tools::demo;
use sluice_tools::measure::{full_speed, heap_of_one_request, synthetic_html, synthetic_next_page};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

const HOST: &str = "www.publisher.example";

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn ms(from: Instant, to: Option<Instant>) -> f64 {
    to.map_or(f64::NAN, |t| {
        t.saturating_duration_since(from).as_secs_f64() * 1000.0
    })
}

/// What a proxy that does not stream gives a reader: a relay in front of the edge that reads
/// the whole response before it sends any of it (with a Content-Length), as Sluice's own
/// buffered path did for Next.js pages until they streamed.
struct BufferingRelay {
    addr: std::net::SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl BufferingRelay {
    async fn start(edge: std::net::SocketAddr) -> Result<BufferingRelay> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(relay_one(socket, edge));
            }
        });
        Ok(BufferingRelay { addr, task })
    }
}

impl Drop for BufferingRelay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves one connection's requests: each is sent on to the edge, and its whole response
/// written back at once.
async fn relay_one(mut socket: tokio::net::TcpStream, edge: std::net::SocketAddr) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = Vec::new();
    loop {
        let mut piece = [0u8; 8192];
        let Ok(n) = socket.read(&mut piece).await else {
            return;
        };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&piece[..n]);
        let mut slots = [httparse::EMPTY_HEADER; 64];
        let mut head = httparse::Request::new(&mut slots);
        let Ok(httparse::Status::Complete(end)) = head.parse(&buf) else {
            continue;
        };
        let mut request = WireRequest::new(
            edge.to_string(),
            head.method.unwrap_or("GET"),
            head.path.unwrap_or("/"),
        )
        .timeout(Duration::from_secs(60));
        for h in head.headers.iter() {
            if !h.name.eq_ignore_ascii_case("connection") {
                request = request.header(h.name, h.value);
            }
        }
        buf.drain(..end);
        let Ok(wire) = request.send().await else {
            return;
        };
        let mut out = format!("HTTP/1.1 {} Relayed\r\n", wire.status()).into_bytes();
        for (name, value) in wire.headers() {
            if !["transfer-encoding", "content-length", "connection"]
                .iter()
                .any(|n| name.eq_ignore_ascii_case(n))
            {
                out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
            }
        }
        out.extend_from_slice(format!("content-length: {}\r\n\r\n", wire.body().len()).as_bytes());
        out.extend_from_slice(wire.body());
        if socket.write_all(&out).await.is_err() {
            return;
        }
    }
}

async fn memory(quick: bool) -> Result<String> {
    let sizes: &[(usize, &str)] = if quick {
        &[(100_000, "100 KB"), (1_000_000, "1 MB")]
    } else {
        &[
            (100_000, "100 KB"),
            (1_000_000, "1 MB"),
            (10_000_000, "10 MB"),
            (50_000_000, "50 MB"),
        ]
    };
    let mut out = String::from(
        "| page | gzip | brotli | Next.js page with a 1 MB `__NEXT_DATA__`, gzip | the same, brotli |\n|---|---|---|---|---|\n",
    );
    for &(size, label) in sizes {
        let mut row = format!("| {label} |");
        for nextjs in [false, true] {
            let page = if nextjs {
                synthetic_next_page(size, 1_000_000, HOST)
            } else {
                synthetic_html(size, HOST)
            };
            for coding in ["gzip", "br"] {
                let mut builder = Edge::boot().package("edge");
                if nextjs {
                    builder = builder.config("sluice_config", "post_processors", "nextjs");
                }
                let body = codec::encode(coding, &page);
                let measured = heap_of_one_request(builder, full_speed(&body, coding)).await?;
                let wire = &measured.wire;
                if wire.status() == 200 && !wire.truncated() {
                    write!(row, " {:.1} MiB |", measured.heap_mib)?;
                } else {
                    // Report the failure and its reason instead of a figure.
                    let reason = measured
                        .log
                        .lines()
                        .into_iter()
                        .find(|l| l.contains("panicked") || l.contains("ERROR"))
                        .unwrap_or_default();
                    eprintln!("bench: {label} {coding} failed: {reason}");
                    write!(
                        row,
                        " fails with {} at {:.1} MiB |",
                        wire.status(),
                        measured.heap_mib
                    )?;
                }
            }
        }
        eprintln!("bench: memory {row}");
        writeln!(out, "{row}")?;
    }
    Ok(out)
}

/// Head and the first 16 KB at once, then the rest over two seconds.
fn slow_script() -> Script {
    let page = synthetic_html(256 * 1024, HOST);
    let (first, rest) = page.split_at(16 * 1024);
    let mut pieces = vec![first.to_vec()];
    pieces.extend(rest.chunks(rest.len() / 8 + 1).map(<[u8]>::to_vec));
    let mut script = Script::new().head(
        200,
        [
            ("content-type", "text/html; charset=utf-8"),
            ("content-encoding", "gzip"),
        ],
    );
    for (i, piece) in codec::encode_pieces(Some("gzip"), &pieces)
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            script = script.pause(Duration::from_millis(2000 / 8));
        }
        script = script.chunk(piece);
    }
    script.end()
}

struct Timing {
    head: f64,
    first_byte: f64,
    last_byte: f64,
    after_origin_first_chunk: f64,
}

async fn one_timing(buffered: bool) -> Result<Timing> {
    let origin = ScriptedOrigin::start(slow_script())?;
    let edge = Edge::boot()
        .package("edge")
        .backend("origin", &origin)
        .start()
        .await?;
    let relay = BufferingRelay::start(edge.addr()).await?;
    let addr = if buffered { relay.addr } else { edge.addr() };
    let wire = WireRequest::new(addr.to_string(), "GET", "/")
        .header("accept-encoding", "gzip")
        .send()
        .await?;
    if wire.status() != 200 || wire.truncated() {
        return Err(format!("timing run failed:\n{wire}").into());
    }
    let origin_first = origin.chunk_sent_at(0).ok_or("the origin sent nothing")?;
    let first = wire.first_chunk_at().ok_or("no body")?;
    Ok(Timing {
        head: ms(wire.sent_at(), wire.head_at()),
        first_byte: ms(wire.sent_at(), Some(first)),
        last_byte: ms(wire.sent_at(), wire.last_byte_at()),
        after_origin_first_chunk: ms(origin_first, Some(first)),
    })
}

async fn timing(runs: usize) -> Result<String> {
    let mut out = String::from(
        "| path | head | first body byte | last byte | first body byte after the origin's first chunk |\n|---|---|---|---|---|\n",
    );
    let mut first_bytes = Vec::new();
    for path in ["streaming", "buffered"] {
        let mut all = Vec::new();
        for _ in 0..runs {
            all.push(one_timing(path == "buffered").await?);
        }
        let pick = |f: fn(&Timing) -> f64| median(all.iter().map(f).collect());
        let first = pick(|t| t.first_byte);
        first_bytes.push(first);
        writeln!(
            out,
            "| {path} | {:.1} ms | {first:.1} ms | {:.1} ms | {:.1} ms |",
            pick(|t| t.head),
            pick(|t| t.last_byte),
            pick(|t| t.after_origin_first_chunk),
        )?;
    }
    writeln!(
        out,
        "\nBuffered first body byte / streaming first body byte: **{:.0}x** (medians of {runs} runs each).",
        first_bytes[1] / first_bytes[0]
    )?;
    Ok(out)
}

/// Navigation and paint timings of one load of `url`, in a fresh browser (no cache).
async fn timings(chromium: &Chromium, url: &str) -> Result<Value> {
    let browser = Browser::start(chromium, &[]).await?;
    browser
        .load(url, "document.readyState === 'complete'")
        .await?;
    // Paint entries are recorded a frame after the paint: wait for them (at most 3 s).
    let script = "const done = arguments[arguments.length - 1];\
        const report = () => { const n = performance.getEntriesByType('navigation')[0];\
          const p = performance.getEntriesByName('first-contentful-paint')[0];\
          done({responseStart: n.responseStart, responseEnd: n.responseEnd,\
                fcp: p ? p.startTime : null, domContentLoaded: n.domContentLoadedEventEnd,\
                load: n.loadEventEnd}); };\
        if (performance.getEntriesByName('first-contentful-paint').length) { report(); }\
        else { new PerformanceObserver(report).observe({type: 'paint', buffered: true});\
               setTimeout(report, 3000); }";
    Ok(browser.eval_async(script).await?)
}

fn ensure_browser() -> std::result::Result<Chromium, String> {
    if let Ok(found) = Chromium::find() {
        return Ok(found);
    }
    eprintln!("bench: installing chromium and chromium-driver with apt-get");
    let ok = Command::new("sh")
        .args(["-c", "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        return Err("chromium could not be installed with apt-get".to_owned());
    }
    Chromium::find()
}

async fn browser(runs: usize) -> Result<String> {
    let chromium = match ensure_browser() {
        Ok(chromium) => chromium,
        Err(why) => return Ok(format!("Skipped: {why}.\n")),
    };
    let origin = ScriptedOrigin::serve("127.0.0.1:0", demo::router())?;
    let edge = Edge::boot()
        .package("edge")
        .backend("origin", &origin)
        .config("sluice_config", "post_processors", "nextjs")
        .start()
        .await?;
    let relay = BufferingRelay::start(edge.addr()).await?;
    let mut out = String::from(
        "| page | path | responseStart | responseEnd | first-contentful-paint | domContentLoaded | load |\n|---|---|---|---|---|---|---|\n",
    );
    let mut summary = Vec::new();
    for page in ["/slow", "/next"] {
        let mut fcps = Vec::new();
        for (name, addr) in [("streaming", edge.addr()), ("buffered", relay.addr)] {
            let mut loads = Vec::new();
            for _ in 0..runs {
                loads.push(timings(&chromium, &format!("http://{addr}{page}")).await?);
            }
            let pick = |key: &str| {
                median(
                    loads
                        .iter()
                        .map(|l| l[key].as_f64().unwrap_or(f64::NAN))
                        .collect(),
                )
            };
            fcps.push(pick("fcp"));
            writeln!(
                out,
                "| `{page}` | {name} | {:.0} ms | {:.0} ms | {:.0} ms | {:.0} ms | {:.0} ms |",
                pick("responseStart"),
                pick("responseEnd"),
                pick("fcp"),
                pick("domContentLoaded"),
                pick("load")
            )?;
        }
        summary.push(format!(
            "`{page}` {:.0} ms streaming against {:.0} ms buffered",
            fcps[0], fcps[1]
        ));
    }
    writeln!(
        out,
        "\nFirst contentful paint: {} (medians of {runs} loads each, each in a fresh browser). The demo's `/slow` origin sends the first paragraph at once and the rest over three seconds; `/next` is a Next.js page (served with `post_processors = nextjs`) that its origin sends over two seconds, as a Next.js server streams its render, with `__NEXT_DATA__` at the end. \"Buffered\" is a relay that holds the whole response before sending any of it, as Sluice's buffered path did for Next.js pages until they streamed.",
        summary.join("; ")
    )?;
    Ok(out)
}

fn corpus_dir() -> PathBuf {
    std::env::var_os("SLUICE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| sluice_tools::project_root().join("../shared/corpus"))
}

async fn last_byte_ms(edge: &Edge) -> Result<f64> {
    let wire: Wire = edge
        .get("/")
        .header("accept-encoding", "gzip")
        .send()
        .await?;
    if wire.status() != 200 || wire.truncated() {
        return Err(format!("throughput run failed:\n{wire}").into());
    }
    Ok(ms(wire.sent_at(), wire.last_byte_at()))
}

async fn throughput(runs: usize) -> Result<String> {
    let mut out = String::from(
        "| page | bytes | streaming, last byte | pass-through, last byte | streaming / pass-through |\n|---|---|---|---|---|\n",
    );
    let manifest = std::fs::read_to_string(corpus_dir().join("manifest.tsv"))?;
    for line in manifest.lines().skip(1).filter(|l| l.contains("\thtml\t")) {
        let fields: Vec<&str> = line.split('\t').collect();
        let (name, host) = (fields[0], fields[2].split("://").nth(1).unwrap_or(HOST));
        let body = codec::encode("gzip", &std::fs::read(corpus_dir().join(name))?);
        let mut results = Vec::new();
        for content_type in ["text/html", "application/octet-stream"] {
            let script = body
                .chunks(64 * 1024)
                .fold(
                    Script::new().head(
                        200,
                        [("content-type", content_type), ("content-encoding", "gzip")],
                    ),
                    |s, piece| s.chunk(piece),
                )
                .end();
            let origin = ScriptedOrigin::start(script)?;
            let edge = Edge::boot()
                .package("edge")
                .backend("origin", &origin)
                .config("sluice_config", "origin_host", host)
                .start()
                .await?;
            let mut times = Vec::new();
            for _ in 0..runs {
                times.push(last_byte_ms(&edge).await?);
            }
            results.push(median(times));
        }
        writeln!(
            out,
            "| {name} | {} | {:.1} ms | {:.1} ms | {:.2} |",
            fields[4],
            results[0],
            results[1],
            results[0] / results[1]
        )?;
    }
    Ok(out)
}

fn write_into_benchmarks(section: &str) -> Result<()> {
    let path = sluice_tools::project_root().join("BENCHMARKS.md");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let (start, end) = ("<!-- bench:start -->", "<!-- bench:end -->");
    let block = format!("{start}\n{section}{end}");
    let updated = match (text.find(start), text.find(end)) {
        (Some(a), Some(b)) if a < b => format!("{}{block}{}", &text[..a], &text[b + end.len()..]),
        _ => format!("{text}\n{block}\n"),
    };
    std::fs::write(path, updated)?;
    Ok(())
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[tokio::main]
async fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let quick = std::env::args().any(|a| a == "--quick");
    let runs = if quick { 3 } else { 5 };
    let date = Command::new("date")
        .args(["-u", "+%F"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let command = format!(
        "cargo run -p sluice-tools --bin bench{}",
        if quick { " -- --quick" } else { "" }
    );
    let mut section = format!(
        "## Through Viceroy: memory, first byte, browser, throughput\n\nCommand: `{command}` ({} cores, {date}). Everything goes through Viceroy 0.22 and the release `edge.wasm`; \"buffered\" is a relay in front of it that holds each whole response before sending it.\n\n",
        cores()
    );
    let started = Instant::now();
    eprintln!("bench: memory");
    section.push_str("### WebAssembly heap per request (Viceroy's `request completed using N MiB`)\n\nSynthetic HTML served at full speed.\n\n");
    section.push_str(&memory(quick).await?);
    eprintln!("bench: first and last byte");
    section.push_str("\n### Time to head, first body byte and last byte\n\nThe origin sends the head and the first 16 KB at once, the rest (240 KB, gzip) over two seconds. Medians; times from the request.\n\n");
    section.push_str(&timing(runs).await?);
    eprintln!("bench: browser");
    section
        .push_str("\n### In a real browser (headless Chromium, Navigation and Paint Timing)\n\n");
    section.push_str(&browser(runs).await?);
    eprintln!("bench: throughput");
    section.push_str("\n### Whole-request throughput: streaming against pass-through\n\nEach corpus HTML page, gzip, served at full speed; time to last byte, median of the runs. Pass-through sends the same bytes as `application/octet-stream`, which Sluice does not touch.\n\n");
    section.push_str(&throughput(runs).await?);
    println!("{section}");
    write_into_benchmarks(&section)?;
    eprintln!(
        "bench: done in {:.0} s; BENCHMARKS.md updated",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
