//! Times the body pipeline where it really runs: built for wasm32-wasip1 and run under Viceroy.
//!
//! ```sh
//! scripts/wasm-speed ../shared/corpus/lolhtml-bench-html-parsing-spec.html infra.spec.whatwg.org
//! ```
//!
//! `viceroy run` gives the guest no stdin and no files, so under wasm the page comes from the
//! KV store `corpus` (key `page`), which the script declares with the page's file. Natively the
//! page is read from stdin. It compresses it (gzip and brotli, as an origin would), then runs
//! the whole pipeline over it several times per encoding and prints the median MB/s of decoded
//! bytes and how many MB of such HTML fit in Fastly's default 50 ms CPU budget. It builds
//! natively too, for comparison.

use sluice_edge::pipeline::parts::encode_only;
use sluice_edge::pipeline::{
    ContentKind, Encoding, Params, PipelineSettings, process_response_streaming,
};
#[cfg(not(target_arch = "wasm32"))]
use std::io::Read;
use std::time::Instant;

const RUNS: usize = 7;
const CPU_BUDGET_MS: f64 = 50.0;

#[cfg(target_arch = "wasm32")]
fn read_page() -> Vec<u8> {
    let store = fastly::kv_store::KVStore::open("corpus")
        .ok()
        .flatten()
        .expect("a KV store named corpus (see scripts/wasm-speed)");
    store
        .lookup("page")
        .expect("the key page in the corpus KV store")
        .take_body_bytes()
}

#[cfg(not(target_arch = "wasm32"))]
fn read_page() -> Vec<u8> {
    let mut page = Vec::new();
    std::io::stdin()
        .read_to_end(&mut page)
        .expect("an HTML page on stdin");
    page
}

fn main() {
    let page = read_page();
    let origin_host = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "infra.spec.whatwg.org".to_owned());
    let settings = PipelineSettings::new();
    println!("| encoding | input MB | median MB/s | MB of HTML in {CPU_BUDGET_MS} ms |");
    println!("|---|---|---|---|");
    for encoding in [Encoding::Identity, Encoding::Gzip, Encoding::Brotli] {
        let body = encode_only(encoding, &page, &settings).expect("encodes");
        let params = Params::new(&origin_host, "https", "proxy.example")
            .with_kind(ContentKind::Html)
            .with_encoding(encoding)
            .with_inject_script("/sluice/tag.js");
        let mut times: Vec<f64> = (0..RUNS)
            .map(|_| {
                let start = Instant::now();
                process_response_streaming(&body[..], &mut std::io::sink(), &params)
                    .expect("streams");
                start.elapsed().as_secs_f64()
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let median = times[RUNS / 2];
        let mb = page.len() as f64 / 1e6;
        let speed = mb / median;
        println!(
            "| {encoding} | {mb:.2} | {speed:.1} | {:.2} |",
            speed * CPU_BUDGET_MS / 1000.0
        );
    }
}
