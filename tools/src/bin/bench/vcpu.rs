//! CPU per request where Fastly bills it: the vCPU milliseconds Sluice logs for each served
//! request (`vcpu N ms`, from `fastly::compute_runtime::elapsed_vcpu_ms()`), next to the warm
//! loop's time for the same page (`edge/examples/wasm_speed.rs` under `viceroy run`: the
//! pipeline over the page in memory, no request) and lol_html alone with the same selectors.

use crate::{Result, median};
use harness::{Edge, LogBook, Route, Router, ScriptedOrigin, codec};
use sluice_tools::corpus::Corpus;
use sluice_tools::measure::full_speed_as;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// What is served: the page in an encoding, or its gzip bytes as a type Sluice passes through.
const MODES: [(&str, &str, &str); 4] = [
    ("identity", "text/html; charset=utf-8", "identity"),
    ("gzip", "text/html; charset=utf-8", "gzip"),
    ("br", "text/html; charset=utf-8", "br"),
    ("pass-through", "application/octet-stream", "gzip"),
];

/// Fastly's default CPU allowance per request.
const BUDGET_MS: f64 = 50.0;

/// A figure taken several times: the median, and the least, which a busy machine disturbs least
/// (this one's noise only ever adds time). Ratios and budgets are read from the least.
#[derive(Clone, Copy)]
struct Figures {
    median: f64,
    least: f64,
}

impl Figures {
    fn of(values: Vec<f64>) -> Figures {
        let least = values.iter().copied().fold(f64::INFINITY, f64::min);
        Figures {
            median: median(values),
            least,
        }
    }

    /// `least (median)`, with `decimals` decimals.
    fn show(&self, decimals: usize) -> String {
        format!("{:.decimals$} ({:.decimals$})", self.least, self.median)
    }
}

pub async fn vcpu(corpus: &Corpus, runs: usize) -> Result<String> {
    let viceroy = Edge::boot().package("edge").prepare()?.viceroy;
    let looped = warm_loop(&viceroy, corpus, runs)?;
    let mut out = String::from(
        "| page | decoded bytes | path | served vCPU ms, least (median) | MB of such HTML per 50 ms vCPU | warm loop ms, least (median) | served / warm loop |\n|---|---|---|---|---|---|---|\n",
    );
    let mut summary = None;
    for page in &corpus.html {
        let html = page.read()?;
        let loop_ms = |mode: &str| looped.get(&(page.name.clone(), mode.to_owned())).copied();
        if let Some(ms) = loop_ms("lolhtml") {
            writeln!(
                out,
                "| {} | {} | lol_html alone (same selectors, idle handlers) | | {:.2} | {} | |",
                page.name,
                html.len(),
                per_budget(html.len(), ms.least),
                ms.show(1)
            )?;
        }
        let served = served_vcpu(&page.host, &html, runs).await?;
        for (mode, ms) in &served {
            let looped = loop_ms(mode);
            // Under 1 ms the figure reads 0: nothing can be derived from it.
            let measurable = *mode != "pass-through" && ms.least >= 1.0;
            writeln!(
                out,
                "| {} | {} | {mode} | {} | {} | {} | {} |",
                page.name,
                html.len(),
                ms.show(0),
                if measurable {
                    format!("{:.2}", per_budget(html.len(), ms.least))
                } else {
                    String::new()
                },
                looped.map_or(String::new(), |l| l.show(1)),
                looped
                    .filter(|_| measurable)
                    .map_or(String::new(), |l| format!("{:.2}", ms.least / l.least)),
            )?;
        }
        if page.name.contains("html-parsing-spec") {
            let served_ms = |mode| {
                served
                    .iter()
                    .find(|(m, _)| *m == mode)
                    .map_or(f64::NAN, |(_, ms)| ms.least)
            };
            let looped_ms = |mode| loop_ms(mode).map_or(f64::NAN, |ms| ms.least);
            let (gzip, br, identity) = (served_ms("gzip"), served_ms("br"), served_ms("identity"));
            summary = Some(format!(
                "\nOn the HTML parsing spec (least figures): gzip in and out {:.2} MB per 50 ms of vCPU served; served / warm loop {:.2}; brotli takes {:.2}x gzip's vCPU; identity served runs at {:.2} of the speed of lol_html alone in the warm loop (where alone it is measured), and at {:.2} loop against loop.",
                per_budget(html.len(), gzip),
                gzip / looped_ms("gzip"),
                br / gzip,
                looped_ms("lolhtml") / identity,
                looped_ms("lolhtml") / looped_ms("identity"),
            ));
        }
    }
    if let Some(summary) = summary {
        writeln!(out, "{summary}")?;
    }
    writeln!(
        out,
        "\nvCPU is what Viceroy counts while the guest runs (host calls included, waiting for the origin or the client not), in whole milliseconds (0 is under one, and nothing is derived from it), for {runs} requests per path after one warm-up, the paths taken in turn so that a busy spell of the machine falls on all of them; each request is a fresh instance as on Fastly. The warm loop is {runs} runs of the pipeline over the page in memory inside one instance, after one warm-up. Each figure is the least of its runs, with the median in brackets: on this shared machine the noise only adds time, and the least is the steadiest estimate of the work itself."
    )?;
    Ok(out)
}

fn per_budget(bytes: usize, ms: f64) -> f64 {
    bytes as f64 / 1e6 / ms * BUDGET_MS
}

/// The vCPU ms of `runs` requests per mode, after one warm-up each; the modes take turns.
async fn served_vcpu(host: &str, html: &[u8], runs: usize) -> Result<Vec<(&'static str, Figures)>> {
    let mut router = Router::new();
    for (mode, content_type, coding) in MODES {
        let script = full_speed_as(&codec::encode(coding, html), content_type, coding);
        router = router.route(Route::path(&format!("/{mode}")).respond(script));
    }
    let origin = ScriptedOrigin::serve("127.0.0.1:0", router)?;
    // The pipeline's whole cost is what is measured: a budget no page here reaches.
    let edge = Edge::boot()
        .package("edge")
        .backend("origin", &origin)
        .config("sluice_config", "origin_host", host)
        .config("sluice_config", "vcpu_budget_ms", "10000")
        .start()
        .await?;
    let log = edge.log();
    let mut figures: Vec<Vec<f64>> = vec![Vec::new(); MODES.len()];
    for run in 0..=runs {
        for ((mode, _, _), taken) in MODES.iter().zip(&mut figures) {
            let seen = log.vcpu_reports_ms().len();
            let wire = edge
                .get(&format!("/{mode}"))
                .header("accept-encoding", "gzip, br")
                .timeout(Duration::from_secs(60))
                .send()
                .await?;
            if wire.status() != 200 || wire.truncated() {
                return Err(format!("{host} {mode} failed:\n{wire}").into());
            }
            let figure = next_vcpu(&log, seen).ok_or(format!(
                "{host} {mode}: no vcpu figure in the log:\n{}",
                log.tail(10)
            ))?;
            if run > 0 {
                taken.push(figure as f64);
            }
        }
    }
    Ok(MODES
        .iter()
        .zip(figures)
        .map(|((mode, _, _), taken)| (*mode, Figures::of(taken)))
        .collect())
}

/// The vCPU figure after the first `seen`, once it is logged (at most 5 s).
pub(crate) fn next_vcpu(log: &LogBook, seen: usize) -> Option<u64> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(&figure) = log.vcpu_reports_ms().get(seen) {
            return Some(figure);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The warm loop's figures per (page, mode), from one `viceroy run` of the wasm build of
/// `edge/examples/wasm_speed.rs` over every corpus HTML page.
fn warm_loop(
    viceroy: &Path,
    corpus: &Corpus,
    runs: usize,
) -> Result<HashMap<(String, String), Figures>> {
    let root = sluice_tools::project_root();
    let target = root.join("target/harness");
    let built = Command::new(env!("CARGO"))
        .args([
            "build",
            "--quiet",
            "-p",
            "edge",
            "--example",
            "wasm_speed",
            "--release",
        ])
        .args(["--target", "wasm32-wasip1"])
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(&root)
        .status()?;
    if !built.success() {
        return Err("building the wasm_speed example failed".into());
    }
    let folder = tempfile::tempdir()?;
    let manifest = folder.path().join("fastly.toml");
    let entries: Vec<String> = corpus
        .html
        .iter()
        .map(|page| format!("{{ key = {:?}, file = {:?} }}", page.name, page.path))
        .collect();
    std::fs::write(
        &manifest,
        format!(
            "manifest_version = 3\nlanguage = \"rust\"\n[local_server.kv_stores]\ncorpus = [{}]\n",
            entries.join(", ")
        ),
    )?;
    let output = Command::new(viceroy)
        .arg("run")
        .arg("-C")
        .arg(&manifest)
        .arg(target.join("wasm32-wasip1/release/examples/wasm_speed.wasm"))
        .arg("--")
        .args(["--runs", &runs.to_string()])
        .args(corpus.html.iter().map(|p| format!("{}={}", p.name, p.host)))
        .output()?;
    if !output.status.success() {
        return Err(format!(
            "the warm loop failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    let mut times = HashMap::new();
    for line in String::from_utf8(output.stdout)?.lines() {
        if let [name, mode, _, median, least, ..] = line.split('\t').collect::<Vec<_>>()[..] {
            let figures = Figures {
                median: median.parse()?,
                least: least.parse()?,
            };
            times.insert((name.to_owned(), mode.to_owned()), figures);
        }
    }
    Ok(times)
}
