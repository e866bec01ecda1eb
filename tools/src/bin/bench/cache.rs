//! The cache of rewritten pages: what a hit and a miss cost on every corpus page and coding,
//! next to the path without the cache and to pass-through: vCPU per request, time to last
//! byte, and the guest heap on hits.

use crate::vcpu::next_vcpu;
use crate::{Result, median, ms};
use harness::{Edge, LogBook, Route, Router, ScriptedOrigin, codec};
use sluice_tools::corpus::Corpus;
use sluice_tools::measure::{full_speed_as, full_speed_with};
use std::fmt::Write as _;
use std::time::Duration;

/// The codings served, the same in and out.
const CODINGS: [&str; 3] = ["identity", "gzip", "br"];

/// One request's figures.
struct Taken {
    vcpu_ms: f64,
    last_byte_ms: f64,
    heap_mib: f64,
}

/// The median and least of a figure over runs.
fn show(values: &[f64], decimals: usize) -> String {
    let least = values.iter().copied().fold(f64::INFINITY, f64::min);
    format!(
        "{least:.decimals$} ({:.decimals$})",
        median(values.to_vec())
    )
}

pub async fn cache(corpus: &Corpus, runs: usize) -> Result<String> {
    let mut out = String::from(
        "| page | coding | decoded MB | miss vCPU | without the cache vCPU | miss / without | hit vCPU | hit heap MiB | hit last byte ms | pass-through last byte ms | hit / pass-through |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let (mut worst_hit, mut worst_ratio, mut worst_miss) = (0.0_f64, 0.0_f64, 0.0_f64);
    for page in &corpus.html {
        let html = page.read()?;
        for coding in CODINGS {
            let origin = serve(&html, coding)?;
            let with_cache = edge(&origin, &page.host, "on").await?;
            let without = edge(&origin, &page.host, "off").await?;
            // Each miss asks for a page no request asked for before; the hits ask for the first.
            // The kinds of request take turns, so a busy spell of the machine falls on all.
            let (mut misses, mut today, mut hits, mut passed) = (vec![], vec![], vec![], vec![]);
            for run in 0..=runs {
                misses.push(request(&with_cache, &format!("/page?miss={run}"), coding).await?);
                today.push(request(&without, "/page", coding).await?);
                hits.push(request(&with_cache, "/page?miss=0", coding).await?);
                passed.push(request(&with_cache, "/pass", coding).await?);
            }
            // The first of each warms the instances up; the rest are measured.
            let (misses, today, hits, passed) =
                (&misses[1..], &today[1..], &hits[1..], &passed[1..]);
            let pick =
                |taken: &[Taken], f: fn(&Taken) -> f64| taken.iter().map(f).collect::<Vec<_>>();
            let miss_vcpu = pick(misses, |t| t.vcpu_ms);
            let today_vcpu = pick(today, |t| t.vcpu_ms);
            let hit_vcpu = pick(hits, |t| t.vcpu_ms);
            let hit_last = pick(hits, |t| t.last_byte_ms);
            let pass_last = pick(passed, |t| t.last_byte_ms);
            let ratio = |a: &[f64], b: &[f64]| median(a.to_vec()) / median(b.to_vec());
            let (miss_ratio, hit_ratio) =
                (ratio(&miss_vcpu, &today_vcpu), ratio(&hit_last, &pass_last));
            worst_hit = worst_hit.max(hit_vcpu.iter().copied().fold(0.0, f64::max));
            worst_ratio = worst_ratio.max(hit_ratio);
            worst_miss = worst_miss.max(miss_ratio);
            let row = format!(
                "| {} | {coding} | {:.2} | {} | {} | {miss_ratio:.2} | {} | {} | {} | {} | {hit_ratio:.2} |",
                page.name,
                html.len() as f64 / 1e6,
                show(&miss_vcpu, 0),
                show(&today_vcpu, 0),
                show(&hit_vcpu, 0),
                show(&pick(hits, |t| t.heap_mib), 1),
                show(&hit_last, 1),
                show(&pass_last, 1),
            );
            eprintln!("bench: cache {row}");
            writeln!(out, "{row}")?;
        }
    }
    writeln!(
        out,
        "\nGoals: a hit costs at most 1 ms of vCPU, its last byte comes within 2x of pass-through's, and a miss costs no more than the path without the cache (within 10%). Here: the most vCPU a hit took {worst_hit:.0} ms; hit / pass-through last byte at most {worst_ratio:.2} (medians); miss / without the cache at most {worst_miss:.2} (medians).\n\nvCPU in whole milliseconds as Viceroy counts it (0 is under one), least (median) of {runs} requests of each kind after one warm-up each, the kinds taking turns, each request a fresh instance as on Fastly; misses each ask for a page not yet kept (a query of their own); a CPU budget no page reaches, so misses and the path without the cache do the same work. Pass-through is the origin's bytes in the same coding as `application/octet-stream`, which Sluice does not touch."
    )?;
    Ok(out)
}

/// An origin serving the page at every `/page?...` in `coding`, keepable for an hour, and its
/// bytes as a type Sluice passes through at `/pass`.
fn serve(html: &[u8], coding: &str) -> Result<ScriptedOrigin> {
    let body = codec::encode(coding, html);
    let kept = [("cache-control", "public, s-maxage=3600")];
    let page = full_speed_with(&body, "text/html; charset=utf-8", coding, &kept);
    let pass = full_speed_as(&body, "application/octet-stream", coding);
    let router = Router::new()
        .route(Route::path("/pass").respond(pass))
        .route(Route::prefix("/page").respond(page));
    Ok(ScriptedOrigin::serve("127.0.0.1:0", router)?)
}

async fn edge(origin: &ScriptedOrigin, host: &str, cache: &str) -> Result<Edge> {
    Ok(Edge::boot()
        .package("edge")
        .backend("origin", origin)
        .config("sluice_config", "origin_host", host)
        .config("sluice_config", "vcpu_budget_ms", "10000")
        .config("sluice_config", "cache_rewritten", cache)
        .start()
        .await?)
}

async fn request(edge: &Edge, target: &str, coding: &str) -> Result<Taken> {
    let log: LogBook = edge.log();
    let (seen, heaps) = (log.vcpu_reports_ms().len(), log.heap_reports_mib().len());
    let wire = edge
        .get(target)
        .header("accept-encoding", coding)
        .timeout(Duration::from_secs(60))
        .send()
        .await?;
    if wire.status() != 200 || wire.truncated() {
        return Err(format!("{target} ({coding}) failed:\n{wire}").into());
    }
    let vcpu = next_vcpu(&log, seen).ok_or(format!("{target}: no vcpu figure"))?;
    let heap = log
        .wait_for_heap_reports(heaps + 1, Duration::from_secs(5))
        .get(heaps)
        .copied()
        .unwrap_or(f64::NAN);
    Ok(Taken {
        vcpu_ms: vcpu as f64,
        last_byte_ms: ms(wire.sent_at(), wire.last_byte_at()),
        heap_mib: heap,
    })
}
