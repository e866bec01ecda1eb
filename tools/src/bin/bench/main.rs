//! End-to-end measurements through Viceroy: memory, time to first and last byte, browser
//! metrics, whole-request throughput, and vCPU per request against the warm loop.
//!
//! ```text
//! cargo bench-served [--quick] [--parts memory,timing,...] [--write]
//! (an alias of: cargo run --release -p sluice-tools --bin bench --)
//! ```
//!
//! Prints Markdown. With `--write` it also replaces each measured part's block in BENCHMARKS.md
//! (between `<!-- bench:PART -->` and `<!-- /bench:PART -->`); without, the file is left alone.
//! Every input a part needs (the corpus, Chromium) is checked before any measuring starts.

mod browser;
mod budget;
mod cache;
mod memory;
mod relay;
mod throughput;
mod timing;
mod vcpu;

use clap::{Parser, ValueEnum};
use harness::browser::Chromium;
use sluice_tools::corpus::Corpus;
use std::process::ExitCode;
use std::time::Instant;

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

/// Sluice measured through Viceroy, the way BENCHMARKS.md reports it.
#[derive(Parser)]
#[command(name = "bench", version)]
struct Args {
    /// Fewer sizes and runs: a smoke run, not figures to publish.
    #[arg(long)]
    quick: bool,
    /// The parts to measure, comma separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "memory,timing,browser,throughput,vcpu,budget,cache"
    )]
    parts: Vec<Part>,
    /// Replace the measured parts' blocks in BENCHMARKS.md.
    #[arg(long)]
    write: bool,
    /// Install Debian's chromium and chromium-driver with apt-get (as root) when missing.
    #[arg(long)]
    install_browser: bool,
    /// The corpus of real pages (default: $SLUICE_CORPUS, else ../shared/corpus).
    #[arg(long, value_name = "DIR")]
    corpus: Option<std::path::PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Part {
    /// WebAssembly heap per request, 100 KB to 50 MB pages.
    Memory,
    /// Time to head, first body byte and last byte against a buffering relay.
    Timing,
    /// Navigation and paint timings in headless Chromium.
    Browser,
    /// Time to last byte over the corpus pages, streaming against pass-through.
    Throughput,
    /// vCPU per served request over the corpus pages, against the warm loop.
    Vcpu,
    /// Pages of growing size under the CPU budget and without it: vCPU, bytes, steps.
    Budget,
    /// The cache of rewritten pages: hit and miss against the path without it and pass-through.
    Cache,
}

impl Part {
    fn name(self) -> &'static str {
        match self {
            Part::Memory => "memory",
            Part::Timing => "timing",
            Part::Browser => "browser",
            Part::Throughput => "throughput",
            Part::Vcpu => "vcpu",
            Part::Budget => "budget",
            Part::Cache => "cache",
        }
    }

    fn heading(self) -> &'static str {
        match self {
            Part::Memory => {
                "### WebAssembly heap per request (Viceroy's `request completed using N MiB`)\n\nSynthetic HTML served at full speed.\n\n"
            }
            Part::Timing => {
                "### Time to head, first body byte and last byte\n\nThe origin sends the head and the first 16 KB at once, the rest (240 KB, gzip) over two seconds. Medians; times from the request.\n\n"
            }
            Part::Browser => {
                "### In a real browser (headless Chromium, Navigation and Paint Timing)\n\n"
            }
            Part::Throughput => {
                "### Whole-request throughput: streaming against pass-through\n\nEach corpus HTML page, gzip, served at full speed; time to last byte, median of the runs. Pass-through sends the same bytes as `application/octet-stream`, which Sluice does not touch.\n\n"
            }
            Part::Vcpu => {
                "### vCPU per request, served, against the warm loop\n\nEach corpus HTML page served at full speed through Viceroy, in each encoding (the same in and out), and its gzip bytes as `application/octet-stream` (pass-through), with a CPU budget no page reaches.\n\n"
            }
            Part::Cache => {
                "### The cache of rewritten pages: hit and miss\n\nEach corpus HTML page served at full speed through Viceroy with `Cache-Control: public, s-maxage=3600`, in each coding (the same in and out).\n\n"
            }
            Part::Budget => {
                "### The CPU budget: pages past 50 ms of vCPU\n\nMarkup-dense synthetic HTML (a link and an image every 230 bytes) served at full speed with its Content-Length, in each coding (the same in and out), under Sluice's default budget and under one no page reaches; the vCPU each request logged, median and least of the runs after a warm-up, what the last run sent, and the steps the budget took.\n\n"
            }
        }
    }
}

/// What the chosen parts need, found before any measuring starts.
struct Inputs {
    corpus: Option<Corpus>,
    chromium: Option<Chromium>,
}

fn check_inputs(args: &Args) -> std::result::Result<Inputs, String> {
    let needs = |part| args.parts.contains(&part);
    let corpus =
        if needs(Part::Throughput) || needs(Part::Vcpu) || needs(Part::Cache) {
            let dir = args.corpus.clone().unwrap_or_else(Corpus::default_dir);
            Some(Corpus::open(&dir).map_err(|e| {
                format!("{e} (or leave throughput, vcpu and cache out with --parts)")
            })?)
        } else {
            None
        };
    let chromium = if needs(Part::Browser) {
        if Chromium::find().is_err() && args.install_browser {
            browser::install()?;
        }
        Some(Chromium::find().map_err(|e| {
            format!("{e}; pass --install-browser, or leave browser out with --parts")
        })?)
    } else {
        None
    };
    Ok(Inputs { corpus, chromium })
}

async fn measure(part: Part, inputs: &Inputs, quick: bool) -> Result<String> {
    let runs = if quick { 3 } else { 5 };
    let needed = "checked by check_inputs";
    match part {
        Part::Memory => memory::memory(quick).await,
        Part::Timing => timing::timing(runs).await,
        Part::Browser => browser::browser(inputs.chromium.as_ref().expect(needed), runs).await,
        Part::Throughput => {
            throughput::throughput(inputs.corpus.as_ref().expect(needed), runs).await
        }
        Part::Vcpu => {
            vcpu::vcpu(
                inputs.corpus.as_ref().expect(needed),
                if quick { 3 } else { 9 },
            )
            .await
        }
        Part::Budget => budget::budget(quick, runs).await,
        Part::Cache => cache::cache(inputs.corpus.as_ref().expect(needed), runs).await,
    }
}

/// Replaces the block of `part` in BENCHMARKS.md, or appends one.
fn write_into_benchmarks(part: Part, block: &str) -> Result<()> {
    let path = sluice_tools::project_root().join("BENCHMARKS.md");
    let text = std::fs::read_to_string(&path)?;
    let (start, end) = (
        format!("<!-- bench:{} -->", part.name()),
        format!("<!-- /bench:{} -->", part.name()),
    );
    let block = format!("{start}\n{block}{end}");
    let updated = match (text.find(&start), text.find(&end)) {
        (Some(a), Some(b)) if a < b => format!("{}{block}{}", &text[..a], &text[b + end.len()..]),
        _ => format!("{text}\n{block}\n"),
    };
    std::fs::write(path, updated)?;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let inputs = match check_inputs(&args) {
        Ok(inputs) => inputs,
        Err(error) => {
            eprintln!("bench: {error}");
            return ExitCode::from(2);
        }
    };
    let date = std::process::Command::new("date")
        .args(["-u", "+%F"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let started = Instant::now();
    for &part in &args.parts {
        eprintln!("bench: {}", part.name());
        let figures = match measure(part, &inputs, args.quick).await {
            Ok(figures) => figures,
            Err(error) => {
                eprintln!("bench: {} failed: {error}", part.name());
                return ExitCode::FAILURE;
            }
        };
        let command = format!(
            "cargo bench-served --parts {}{}",
            part.name(),
            if args.quick { " --quick" } else { "" }
        );
        let block = format!(
            "{}Command: `{command}` ({cores} cores, {date}, Viceroy 0.22, the release `edge.wasm`).\n\n{figures}",
            part.heading()
        );
        println!("{block}");
        if args.write
            && let Err(error) = write_into_benchmarks(part, &block)
        {
            eprintln!("bench: writing BENCHMARKS.md failed: {error}");
            return ExitCode::FAILURE;
        }
    }
    eprintln!(
        "bench: done in {:.0} s; {}",
        started.elapsed().as_secs_f64(),
        if args.write {
            "BENCHMARKS.md updated"
        } else {
            "BENCHMARKS.md left alone (--write replaces its blocks)"
        }
    );
    ExitCode::SUCCESS
}
