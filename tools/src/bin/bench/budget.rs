//! The CPU budget: what markup-dense pages of growing size cost served through Viceroy, with
//! Sluice's default budget (50 ms) and with a budget too large to matter (the pipeline as it was
//! before the budget), per coding: the vCPU each request logged, the bytes it sent, and the steps
//! the budget took.

use crate::vcpu::next_vcpu;
use crate::{HOST, Result, median};
use harness::{Edge, ReceivedRequest, Router, Script, ScriptedOrigin, codec};
use sluice_tools::measure::synthetic_html;
use std::fmt::Write as _;
use std::time::Duration;

/// The origin's coding and what the client accepts.
const CASES: [(&str, &str); 3] = [("gzip", "gzip"), ("br", "br"), ("identity", "identity")];

/// Budgets compared: Sluice's default, and one no page here reaches.
const BUDGETS: [(&str, &str); 2] = [("50", "50 ms"), ("10000", "unlimited")];

/// Pages past this size are measured only under the default budget: without one they cost
/// hundreds of ms each and the trend is plain by then.
const UNLIMITED_UP_TO: usize = 8_000_000;

pub async fn budget(quick: bool, runs: usize) -> Result<String> {
    let sizes: &[usize] = if quick {
        &[500_000, 2_000_000, 4_000_000]
    } else {
        &[
            500_000, 1_000_000, 2_000_000, 3_000_000, 4_000_000, 6_000_000, 8_000_000, 12_000_000,
            16_000_000, 24_000_000,
        ]
    };
    let pages: Vec<Vec<u8>> = sizes
        .iter()
        .map(|&size| synthetic_html(size, HOST))
        .collect();
    let mut out = String::from(
        "| coding in and out | page (decoded) | budget | vCPU ms, median (least) | bytes sent | steps taken |\n|---|---|---|---|---|---|\n",
    );
    let mut largest = String::new();
    for (coding, accept) in CASES {
        for (budget, label) in BUDGETS {
            let edge_and_origin = serve(&pages, coding, budget).await?;
            let edge = &edge_and_origin.0;
            let mut fits = None;
            for (page, &size) in pages.iter().zip(sizes) {
                if label == "unlimited" && size > UNLIMITED_UP_TO {
                    continue;
                }
                let measured = measure(edge, page.len(), accept, runs).await?;
                if measured.median <= 50.0 {
                    fits = Some(size);
                }
                let row = format!(
                    "| {coding} | {:.1} MB | {label} | {:.0} ({:.0}) | {} | {} |",
                    page.len() as f64 / 1e6,
                    measured.median,
                    measured.least,
                    measured.bytes_sent,
                    measured.steps
                );
                eprintln!("bench: budget {row}");
                writeln!(out, "{row}")?;
            }
            writeln!(
                largest,
                "- {coding}, {label}: {}",
                fits.map_or("none of these sizes".to_owned(), |s| format!(
                    "{:.1} MB",
                    s as f64 / 1e6
                ))
            )?;
        }
    }
    writeln!(
        out,
        "\nThe largest of these pages served within 50 ms of vCPU (median):\n\n{largest}"
    )?;
    Ok(out)
}

/// Sluice in front of an origin that serves each page at `/SIZE`, in `coding`, with its length.
async fn serve(
    pages: &[Vec<u8>],
    coding: &'static str,
    budget: &str,
) -> Result<(Edge, ScriptedOrigin)> {
    let bodies: Vec<(String, Vec<u8>)> = pages
        .iter()
        .map(|page| (format!("/{}", page.len()), codec::encode(coding, page)))
        .collect();
    let origin = ScriptedOrigin::serve(
        "127.0.0.1:0",
        Router::from_fn(move |request: &ReceivedRequest| {
            let (_, body) = bodies
                .iter()
                .find(|(path, _)| *path == request.path)
                .expect("a page's path");
            let mut head = vec![
                ("content-type", "text/html; charset=utf-8".to_owned()),
                ("content-length", body.len().to_string()),
            ];
            if coding != "identity" {
                head.push(("content-encoding", coding.to_owned()));
            }
            body.chunks(64 * 1024)
                .fold(Script::new().head(200, head), |s, piece| s.chunk(piece))
                .end()
        }),
    )?;
    let edge = Edge::boot()
        .package("edge")
        .backend("origin", &origin)
        .config("sluice_config", "vcpu_budget_ms", budget)
        .start()
        .await?;
    Ok((edge, origin))
}

struct Measured {
    median: f64,
    least: f64,
    bytes_sent: usize,
    steps: String,
}

/// `runs` requests for the page of `length` bytes (after one warm-up): their vCPU, what the
/// last sent and the steps it took.
async fn measure(edge: &Edge, length: usize, accept: &str, runs: usize) -> Result<Measured> {
    let log = edge.log();
    let path = format!("/{length}");
    let mut vcpu = Vec::new();
    let (mut bytes_sent, mut steps) = (0, String::new());
    for run in 0..=runs {
        let (seen, lines) = (
            log.vcpu_reports_ms().len(),
            log.endpoint("sluice_log").len(),
        );
        let wire = edge
            .get(&path)
            .header("accept-encoding", accept)
            .timeout(Duration::from_secs(60))
            .send()
            .await?;
        if wire.status() != 200 || !wire.terminated() {
            return Err(format!("{path} ({accept}) failed:\n{wire}").into());
        }
        let figure = next_vcpu(&log, seen).ok_or(format!("{path}: no vcpu figure"))?;
        if run > 0 {
            vcpu.push(figure as f64);
        }
        bytes_sent = wire.body().len();
        steps = log.endpoint("sluice_log")[lines..]
            .iter()
            .filter_map(|line| line.split_once("budget: ").map(|(_, step)| step))
            .map(|step| step.split(" at ").next().unwrap_or(step).to_owned())
            .collect::<Vec<_>>()
            .join("; ");
    }
    let least = vcpu.iter().copied().fold(f64::INFINITY, f64::min);
    Ok(Measured {
        median: median(vcpu),
        least,
        bytes_sent,
        steps: if steps.is_empty() {
            "none".to_owned()
        } else {
            steps
        },
    })
}
