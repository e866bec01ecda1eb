//! WebAssembly heap per request, from 100 KB to 50 MB pages.

use crate::{HOST, Result};
use harness::{Edge, codec};
use sluice_tools::measure::{full_speed, heap_of_one_request, synthetic_html, synthetic_next_page};
use std::fmt::Write as _;

pub async fn memory(quick: bool) -> Result<String> {
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
                // The whole pipeline's memory, not a budget's step: a budget no page reaches.
                let mut builder =
                    Edge::boot()
                        .package("edge")
                        .config("sluice_config", "vcpu_budget_ms", "10000");
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
