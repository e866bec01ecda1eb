//! The pipeline's heap, counted by a global allocator of this test binary: what one long token
//! or one setting costs, measured against the bound the settings and the README promise. Each
//! test takes the lock, so the counts are its own.

use sluice_edge::pipeline::{
    ContentKind, Encoding, Params, PipelineSettings, encode, process_response_streaming,
};
use sluice_edge::policy::settings::{BROTLI_ENCODER_HEAP_BUDGET, brotli_encoder_fits};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

// SAFETY: every call is passed to the system allocator unchanged; only counts are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            if new_size > layout.size() {
                let grown = new_size - layout.size();
                let live = LIVE.fetch_add(grown, Ordering::Relaxed) + grown;
                PEAK.fetch_max(live, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const MIB: usize = 1024 * 1024;
const HOST: &str = "www.publisher.example";

/// The most `work` adds to the heap at any moment, over what was live before it.
fn peak_of(work: impl FnOnce()) -> usize {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    work();
    PEAK.load(Ordering::Relaxed) - before
}

/// Streams `page` (HTML, identity) through the pipeline in 32 KiB reads into nothing, and
/// returns the heap it took and whether it succeeded.
fn stream(page: &[u8], params: &Params) -> (usize, Result<(), String>) {
    let mut result = Ok(());
    let peak = peak_of(|| {
        let origin = std::io::Cursor::new(page);
        result = process_response_streaming(origin, &mut std::io::sink(), params)
            .map(|_| ())
            .map_err(|e| e.to_string());
    });
    (peak, result)
}

fn html() -> Params {
    Params::new(HOST, "https", "proxy.example")
        .with_kind(ContentKind::Html)
        .with_inject_script("/t.js")
}

#[test]
fn every_brotli_setting_served_fits_its_budget_and_every_one_refused_would_not() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // The encoder takes its tables whole at its first write, whatever the input's size.
    let input: Vec<u8> = (0..64 * 1024)
        .map(|i| b"<p>words and more "[i % 18])
        .collect();
    let mut table = String::new();
    for quality in 0..=11 {
        for window in 10..=24 {
            let settings = PipelineSettings::new()
                .with_brotli_quality(quality)
                .with_brotli_window(window);
            let peak = peak_of(|| {
                encode(Encoding::Brotli, &input, &settings).unwrap();
            });
            let fits = peak <= BROTLI_ENCODER_HEAP_BUDGET;
            table.push_str(&format!(
                "q{quality} w{window}: {:.1} MiB\n",
                peak as f64 / MIB as f64
            ));
            assert_eq!(
                brotli_encoder_fits(quality, window),
                fits,
                "quality {quality}, window {window}: {:.1} MiB against a budget of {} MiB\n{table}",
                peak as f64 / MIB as f64,
                BROTLI_ENCODER_HEAP_BUDGET / MIB
            );
        }
    }
    // The table BENCHMARKS.md quotes (`-- --nocapture` shows it).
    println!("{table}");
}

#[test]
fn a_comment_costs_its_length_within_the_cap_and_no_more_past_it() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let page = |size: usize| {
        format!(
            "<!doctype html><html><head></head><body><!-- {} --><a href=\"https://{HOST}/\">a</a></body></html>",
            "c".repeat(size)
        )
    };
    let (peak, result) = stream(page(6 * MIB).as_bytes(), &html());
    assert_eq!(result, Ok(()));
    // lol_html's buffer and the comment written out again, each grown by doubling.
    assert!(
        peak < 4 * 6 * MIB,
        "{:.1} MiB for a 6 MiB comment",
        peak as f64 / MIB as f64
    );
    let (peak, result) = stream(page(20 * MIB).as_bytes(), &html());
    assert!(result.unwrap_err().contains("memory limit"));
    assert!(
        peak < 12 * MIB,
        "{:.1} MiB for a 20 MiB comment",
        peak as f64 / MIB as f64
    );
}

#[test]
fn a_long_attribute_costs_a_few_times_its_length_at_most() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let filler = "a".repeat(7 * MIB);
    let url = format!("https://{HOST}/x");
    for (name, page) in [
        (
            "style",
            format!("<div style=\"background:url({url}) {filler}\">x</div>"),
        ),
        (
            "srcdoc",
            format!("<iframe srcdoc=\"&lt;a href=&quot;{url}&quot;&gt; {filler}\"></iframe>"),
        ),
        ("title, no host", format!("<div title=\"{filler}\">x</div>")),
        (
            "data-*",
            format!("<div data-x=\"{url} &amp; {filler}\">x</div>"),
        ),
    ] {
        let page = format!("<html><head></head><body>{page}</body></html>");
        let (peak, result) = stream(page.as_bytes(), &html());
        assert_eq!(result, Ok(()), "{name}");
        // lol_html holds the tag (its own cap is 8 MiB) and writes it out again; the rewrite
        // takes the value, the rewritten value and lol_html's copy of that.
        assert!(
            peak <= 5 * filler.len(),
            "{name}: {:.1} MiB for a 7 MiB value",
            peak as f64 / MIB as f64
        );
    }
}

#[test]
fn a_start_tag_past_the_html_memory_cap_fails_rather_than_passing_unread() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let attributes: String = (0..150_000).map(|i| format!(" a{i}=\"v\"")).collect();
    let page = format!("<html><head></head><body><div{attributes}>x</div></body></html>");
    let (peak, result) = stream(page.as_bytes(), &html());
    let error = result.unwrap_err();
    assert!(error.contains("memory limit"), "{error}");
    assert!(peak < 12 * MIB, "{peak}");
}

#[test]
fn next_js_data_of_any_size_streams_in_flat_memory() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let numbers: Vec<String> = (0..400_000)
        .map(|i| format!("{}.{}", i * 7, i % 10))
        .collect();
    let page = format!(
        r#"<html><head></head><body><script id="__NEXT_DATA__" type="application/json">{{"host":"{HOST}","points":[{}]}}</script></body></html>"#,
        numbers.join(",")
    );
    let (peak, result) = stream(page.as_bytes(), &html().with_nextjs());
    assert_eq!(result, Ok(()));
    assert!(peak < MIB, "{peak} bytes for {} bytes of data", page.len());
}
