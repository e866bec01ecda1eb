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

pub async fn vcpu(corpus: &Corpus, runs: usize) -> Result<String> {
    let viceroy = Edge::boot().package("edge").prepare()?.viceroy;
    let looped = warm_loop(&viceroy, corpus, runs)?;
    let mut out = String::from(
        "| page | decoded bytes | path | served vCPU ms (median) | MB of such HTML per 50 ms vCPU | warm loop ms | served / warm loop |\n|---|---|---|---|---|---|---|\n",
    );
    let mut summary = None;
    for page in &corpus.html {
        let html = page.read()?;
        let loop_ms = |mode: &str| looped.get(&(page.name.clone(), mode.to_owned())).copied();
        if let Some(ms) = loop_ms("lolhtml") {
            writeln!(
                out,
                "| {} | {} | lol_html alone (same selectors, idle handlers) | | {:.2} | {ms:.1} | |",
                page.name,
                html.len(),
                per_budget(html.len(), ms)
            )?;
        }
        let served = served_vcpu(&page.host, &html, runs).await?;
        for (mode, ms) in &served {
            let looped = loop_ms(mode);
            writeln!(
                out,
                "| {} | {} | {mode} | {ms:.0} | {} | {} | {} |",
                page.name,
                html.len(),
                if *mode == "pass-through" {
                    String::new()
                } else {
                    format!("{:.2}", per_budget(html.len(), *ms))
                },
                looped.map_or(String::new(), |l| format!("{l:.1}")),
                looped.map_or(String::new(), |l| format!("{:.2}", ms / l)),
            )?;
        }
        if page.name.contains("html-parsing-spec") {
            let served_ms = |mode| served.iter().find(|(m, _)| *m == mode).map(|(_, ms)| *ms);
            let nan = f64::NAN;
            let (gzip, br, identity) = (
                served_ms("gzip").unwrap_or(nan),
                served_ms("br").unwrap_or(nan),
                served_ms("identity").unwrap_or(nan),
            );
            summary = Some(format!(
                "\nOn the HTML parsing spec: gzip in and out {:.2} MB per 50 ms of vCPU served; served / warm loop {:.2}; brotli takes {:.2}x gzip's vCPU; identity runs at {:.2} of lol_html alone's speed.",
                per_budget(html.len(), gzip),
                gzip / loop_ms("gzip").unwrap_or(nan),
                br / gzip,
                loop_ms("lolhtml").unwrap_or(nan) / identity,
            ));
        }
    }
    if let Some(summary) = summary {
        writeln!(out, "{summary}")?;
    }
    writeln!(
        out,
        "\nvCPU is what Viceroy counts while the guest runs (host calls included, waiting for the origin or the client not), in whole milliseconds: medians of {runs} requests after one warm-up, each a fresh instance as on Fastly. The warm loop is the median of {runs} runs of the pipeline over the page in memory inside one instance."
    )?;
    Ok(out)
}

fn per_budget(bytes: usize, ms: f64) -> f64 {
    bytes as f64 / 1e6 / ms * BUDGET_MS
}

/// The median vCPU ms of `runs` requests per mode, after one warm-up each.
async fn served_vcpu(host: &str, html: &[u8], runs: usize) -> Result<Vec<(&'static str, f64)>> {
    let mut router = Router::new();
    for (mode, content_type, coding) in MODES {
        let script = full_speed_as(&codec::encode(coding, html), content_type, coding);
        router = router.route(Route::path(&format!("/{mode}")).respond(script));
    }
    let origin = ScriptedOrigin::serve("127.0.0.1:0", router)?;
    let edge = Edge::boot()
        .package("edge")
        .backend("origin", &origin)
        .config("sluice_config", "origin_host", host)
        .start()
        .await?;
    let log = edge.log();
    let mut medians = Vec::new();
    for (mode, _, _) in MODES {
        let mut figures = Vec::new();
        for run in 0..=runs {
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
                figures.push(figure as f64);
            }
        }
        medians.push((mode, median(figures)));
    }
    Ok(medians)
}

/// The vCPU figure after the first `seen`, once it is logged (at most 5 s).
fn next_vcpu(log: &LogBook, seen: usize) -> Option<u64> {
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

/// The warm loop's median ms per (page, mode), from one `viceroy run` of the wasm build of
/// `edge/examples/wasm_speed.rs` over every corpus HTML page.
fn warm_loop(
    viceroy: &Path,
    corpus: &Corpus,
    runs: usize,
) -> Result<HashMap<(String, String), f64>> {
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
        if let [name, mode, _, ms] = line.split('\t').collect::<Vec<_>>()[..] {
            times.insert((name.to_owned(), mode.to_owned()), ms.parse()?);
        }
    }
    Ok(times)
}
