//! Whole-request time to last byte over the corpus pages: streaming against pass-through.

use crate::{Result, median, ms};
use harness::{Edge, ScriptedOrigin, Wire, codec};
use sluice_tools::corpus::Corpus;
use sluice_tools::measure::full_speed_as;
use std::fmt::Write as _;

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

pub async fn throughput(corpus: &Corpus, runs: usize) -> Result<String> {
    let mut out = String::from(
        "| page | bytes | streaming, last byte | pass-through, last byte | streaming / pass-through |\n|---|---|---|---|---|\n",
    );
    for page in &corpus.html {
        let body = codec::encode("gzip", &page.read()?);
        let mut results = Vec::new();
        for content_type in ["text/html", "application/octet-stream"] {
            let origin = ScriptedOrigin::start(full_speed_as(&body, content_type, "gzip"))?;
            let edge = Edge::boot()
                .package("edge")
                .backend("origin", &origin)
                .config("sluice_config", "origin_host", &page.host)
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
            "| {} | {} | {:.1} ms | {:.1} ms | {:.2} |",
            page.name,
            page.bytes,
            results[0],
            results[1],
            results[0] / results[1]
        )?;
    }
    Ok(out)
}
