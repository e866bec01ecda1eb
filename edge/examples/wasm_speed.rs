//! The warm loop: the body pipeline run over whole pages in memory, where it really runs (built
//! for wasm32-wasip1, under `viceroy run`) or natively. No request, no host calls per chunk: the
//! floor a served request is compared against (`cargo run -p sluice-tools --bin bench`).
//!
//! ```sh
//! scripts/wasm-speed ../shared/corpus/lolhtml-bench-html-parsing-spec.html infra.spec.whatwg.org
//! ```
//!
//! Arguments: `[--runs N] [--cold] [--only MODE] [--dir DIR] NAME=HOST ...`: each page `NAME`,
//! whose URLs name `HOST`. `--cold` makes one run without a warm-up (with `--only`, in a fresh
//! instance: what a served request's instance pays for memory it has never touched).
//! `viceroy run` gives the guest no files, so under wasm a page is the KV store `corpus`'s key
//! `NAME` (the caller's manifest declares it); natively it is the file `DIR/NAME`.
//!
//! For each page it prints tab-separated lines `NAME MODE BYTES MEDIAN_MS LEAST_MS`, one per mode:
//! `lolhtml-no-handlers` (lol_html's parser with no handler at all), `lolhtml` (lol_html alone
//! with the HTML stage's selectors and idle handlers, over the decoded page), then for each
//! encoding the whole pipeline in and out (`identity`, `gzip`, `br`: the page compressed first,
//! as an origin would, gzip 6 and brotli 5 with a 4 MiB window) and the codecs alone
//! (`gzip-decode`, `gzip-encode`, `br-decode`, `br-encode`: Sluice's output settings, fed in
//! read-sized pieces with a flush after each, as the pipeline feeds them), and the CPU budget's
//! steps taken from the first byte (`gzip-level1`, `gzip-stored`, `gzip-text` (stored and the
//! text rewrite), `br-stored`, `br-text`, `identity-text`). The whole pipeline's modes and the steps' have a
//! sixth column: the bytes they send. BYTES is the decoded page's size; the median and the least are of N runs
//! after one warm-up run.

use sluice_edge::pipeline::budget::Step;
use sluice_edge::pipeline::parts::{decode_only, encode_only, parse_only, process_stepped};
use sluice_edge::pipeline::{
    ContentKind, Encoding, Params, PipelineSettings, process_response_streaming,
};
use std::time::Instant;

#[cfg(target_arch = "wasm32")]
fn read_page(_dir: &str, name: &str) -> Vec<u8> {
    let store = fastly::kv_store::KVStore::open("corpus")
        .ok()
        .flatten()
        .expect("a KV store named corpus (see scripts/wasm-speed)");
    store
        .lookup(name)
        .unwrap_or_else(|e| panic!("the key {name} in the corpus KV store: {e}"))
        .take_body_bytes()
}

#[cfg(not(target_arch = "wasm32"))]
fn read_page(dir: &str, name: &str) -> Vec<u8> {
    let path = std::path::Path::new(dir).join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// lol_html's parser over `page` in 32 KiB pieces, with no handler: what parsing alone costs,
/// against which the selectors' share is measured.
fn parse_without_handlers(page: &[u8]) {
    let mut rewriter = lol_html::HtmlRewriter::new(lol_html::Settings::new(), |_: &[u8]| {});
    for piece in page.chunks(32 * 1024) {
        rewriter.write(piece).expect("parses");
    }
    rewriter.end().expect("parses");
}

/// The median and the least time of `runs` calls of `work`, after one warm-up call unless
/// `cold`, in milliseconds.
fn times_ms(runs: usize, cold: bool, mut work: impl FnMut()) -> Times {
    if !cold {
        work();
    }
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            work();
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    Times {
        median: times[runs / 2],
        least: times[0],
    }
}

/// A mode's times: the median, and the least, which a busy machine disturbs least.
struct Times {
    median: f64,
    least: f64,
}

fn report(name: &str, mode: &str, bytes: usize, times: Times) {
    println!(
        "{name}\t{mode}\t{bytes}\t{:.3}\t{:.3}",
        times.median, times.least
    );
}

/// A mode that writes a response, with the bytes it sends.
fn report_sent(name: &str, mode: &str, bytes: usize, times: Times, sent: u64) {
    println!(
        "{name}\t{mode}\t{bytes}\t{:.3}\t{:.3}\t{sent}",
        times.median, times.least
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut runs, mut dir, mut pages) = (7, ".".to_owned(), Vec::new());
    let (mut cold, mut only) = (false, None);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).expect("--runs N"),
            "--dir" => dir = args.next().expect("--dir DIR"),
            "--cold" => (cold, runs) = (true, 1),
            "--only" => only = Some(args.next().expect("--only MODE")),
            page => pages.push(page.split_once('=').map_or_else(
                || (page.to_owned(), "www.publisher.example".to_owned()),
                |(name, host)| (name.to_owned(), host.to_owned()),
            )),
        }
    }
    // The page is compressed as origins send it (what the bench's origins send too): gzip 6 and
    // brotli quality 5 with a 4 MiB window, not Sluice's own output settings.
    let origin = PipelineSettings::new()
        .with_gzip_level(6)
        .with_brotli_quality(5)
        .with_brotli_window(22);
    for (name, host) in pages {
        let page = read_page(&dir, &name);
        let params = |encoding| {
            Params::new(&host, "https", "proxy.example")
                .with_kind(ContentKind::Html)
                .with_encoding(encoding)
                .with_inject_script("/sluice/tag.js")
        };
        let wanted = |mode: &str| only.as_deref().is_none_or(|only| only == mode);
        if wanted("lolhtml-no-handlers") {
            let times = times_ms(runs, cold, || parse_without_handlers(&page));
            report(&name, "lolhtml-no-handlers", page.len(), times);
        }
        if wanted("lolhtml") {
            let bare = params(Encoding::Identity);
            let times = times_ms(runs, cold, || parse_only(&bare, &page).expect("parses"));
            report(&name, "lolhtml", page.len(), times);
        }
        // The whole pipeline in each encoding, then the codecs alone, as the pipeline feeds
        // them: what a page costs before any HTML. The origin's body is made once per encoding.
        let sluice = PipelineSettings::new();
        for encoding in [Encoding::Identity, Encoding::Gzip, Encoding::Brotli] {
            let (whole, decode) = (encoding.to_string(), format!("{encoding}-decode"));
            let codec = encoding != Encoding::Identity;
            if wanted(&whole) || (codec && wanted(&decode)) {
                let body = encode_only(encoding, &page, &origin).expect("encodes");
                if wanted(&whole) {
                    let params = params(encoding);
                    let mut sent = 0;
                    let times = times_ms(runs, cold, || {
                        sent = process_response_streaming(&body[..], &mut std::io::sink(), &params)
                            .expect("streams")
                            .bytes_out;
                    });
                    report_sent(&name, &whole, page.len(), times, sent);
                }
                if codec && wanted(&decode) {
                    let times = times_ms(runs, cold, || {
                        decode_only(encoding, &body, &sluice).expect("decodes");
                    });
                    report(&name, &decode, page.len(), times);
                }
            }
            let encode = format!("{encoding}-encode");
            if codec && wanted(&encode) {
                let times = times_ms(runs, cold, || {
                    encode_only(encoding, &page, &sluice).expect("encodes");
                });
                report(&name, &encode, page.len(), times);
            }
        }
        // The CPU budget's steps, taken from the first byte: what the rest of a page costs
        // after each, and what it sends.
        let stepped: [(&str, Encoding, &[Step]); 6] = [
            ("gzip-level1", Encoding::Gzip, &[Step::Level(1)]),
            ("gzip-stored", Encoding::Gzip, &[Step::Stored]),
            (
                "gzip-text",
                Encoding::Gzip,
                &[Step::Stored, Step::TextRewrite],
            ),
            ("br-stored", Encoding::Brotli, &[Step::Stored]),
            (
                "br-text",
                Encoding::Brotli,
                &[Step::Stored, Step::TextRewrite],
            ),
            ("identity-text", Encoding::Identity, &[Step::TextRewrite]),
        ];
        for (mode, encoding, steps) in stepped {
            if wanted(mode) {
                let body = encode_only(encoding, &page, &origin).expect("encodes");
                let params = params(encoding);
                let mut sent = 0;
                let times = times_ms(runs, cold, || {
                    sent = process_stepped(&body, &params, steps)
                        .expect("streams")
                        .len() as u64;
                });
                report_sent(&name, mode, page.len(), times, sent);
            }
        }
    }
}
