//! Load: 200 concurrent streaming requests through one Viceroy, mixed encodings and sizes, some
//! origins failing mid-body. Every complete response must decode to the expected rewrite byte
//! for byte, every failed one must fail visibly (in practice: truncated; under enough load a
//! cut can also close the connection before the head got out), and nothing else may happen.

use crate::common::{ORIGIN_HOST, TestResult, sluice_unbudgeted as sluice};
use harness::codec;
use harness::{ReceivedRequest, Router, Script, ScriptedOrigin};
use sluice_edge::pipeline::{ContentKind, Params, process};
use sluice_tools::measure::synthetic_html;
use std::sync::Arc;
use std::time::{Duration, Instant};

const REQUESTS: usize = 200;
const SIZES: [usize; 4] = [20_000, 100_000, 300_000, 1_000_000];
const CODINGS: [&str; 3] = ["gzip", "br", "identity"];

/// `/ok/<coding>/<size>` plays a whole page; `/cut/<coding>/<size>` stops halfway.
fn route(request: &ReceivedRequest) -> Script {
    let parts: Vec<&str> = request.path.split('/').collect();
    let (kind, coding, size) = (parts[1], parts[2], parts[3].parse().unwrap_or(1000));
    let page = synthetic_html(size, ORIGIN_HOST);
    let pieces: Vec<&[u8]> = page.chunks(32 * 1024).collect();
    let coded = codec::encode_pieces(Some(coding), &pieces);
    let mut headers = vec![("content-type", "text/html; charset=utf-8".to_owned())];
    if coding != "identity" {
        headers.push(("content-encoding", coding.to_owned()));
    }
    let mut script = Script::new().head(200, headers);
    let keep = if kind == "cut" {
        coded.len() / 2
    } else {
        coded.len()
    };
    for piece in &coded[..keep.max(1)] {
        script = script.chunk(piece);
    }
    if kind == "cut" {
        script.pause(Duration::from_millis(200)).cut()
    } else {
        script.end()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_streams_are_all_exact_or_truncated() -> TestResult {
    let _heavy = crate::common::cpu_heavy().await;
    let origin = ScriptedOrigin::serve("127.0.0.1:0", Router::from_fn(route))?;
    let edge = Arc::new(sluice().backend("origin", &origin).start().await?);
    let proxy = edge.addr().to_string();
    let params = Params::new(ORIGIN_HOST, "http", &proxy)
        .with_kind(ContentKind::Html)
        .with_inject_script("/sluice/tag.js");
    let expected: Arc<Vec<Vec<u8>>> = Arc::new(
        SIZES
            .iter()
            .map(|&size| process(&synthetic_html(size, ORIGIN_HOST), &params).expect("rewrite"))
            .collect(),
    );

    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..REQUESTS {
        let (edge, expected) = (Arc::clone(&edge), Arc::clone(&expected));
        tasks.push(tokio::spawn(async move {
            let cut = i % 5 == 4;
            let coding = CODINGS[i % 3];
            let size = i % SIZES.len();
            let target = format!(
                "/{}/{coding}/{}",
                if cut { "cut" } else { "ok" },
                SIZES[size]
            );
            let wire = edge
                .get(&target)
                .header("accept-encoding", "gzip, br")
                .timeout(Duration::from_secs(240))
                .send()
                .await?;
            let head = wire.head_at().map(|at| at - wire.sent_at());
            if cut {
                wire.assert_failed_visibly();
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>((0, head, wire.truncated()))
            } else {
                wire.assert_status(200).assert_chunked();
                let body = wire.decoded_body()?;
                assert!(
                    body == expected[size],
                    "{target}: the body differs from the expected rewrite"
                );
                Ok((body.len(), head, false))
            }
        }));
    }
    let mut bytes = 0;
    let mut truncated = 0;
    let mut worst_head = Duration::ZERO;
    for task in tasks {
        let (n, head, was_truncated) = task.await??;
        bytes += n;
        truncated += usize::from(was_truncated);
        worst_head = worst_head.max(head.unwrap_or_default());
    }
    let elapsed = started.elapsed();
    eprintln!(
        "load: {REQUESTS} requests ({} cut mid-body, {truncated} of them seen as truncated bodies, the rest as closes before the head) in {:.2} s: {:.1} MB/s of decoded pages, {:.0} requests/s, worst time to head {:.0} ms",
        REQUESTS / 5,
        elapsed.as_secs_f64(),
        bytes as f64 / elapsed.as_secs_f64() / 1e6,
        REQUESTS as f64 / elapsed.as_secs_f64(),
        worst_head.as_secs_f64() * 1000.0
    );
    Ok(())
}
