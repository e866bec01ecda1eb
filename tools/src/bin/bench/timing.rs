//! Time to head, first body byte and last byte: streaming against a buffering relay.

use crate::relay::BufferingRelay;
use crate::{HOST, Result, median, ms};
use harness::{Edge, Script, ScriptedOrigin, WireRequest, codec};
use sluice_tools::measure::synthetic_html;
use std::fmt::Write as _;
use std::time::Duration;

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

pub async fn timing(runs: usize) -> Result<String> {
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
