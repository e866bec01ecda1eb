//! The body pipeline's speed and memory, over the shared corpus.
//!
//! `cargo bench -p edge --bench pipeline` runs, in one process:
//! 1. criterion benches per class (HTML, JS, CSS) and encoding: the whole pipeline, and each of
//!    its parts alone (decode, rewrite, encode), all in MB/s of decoded bytes. Each part is fed
//!    as the pipeline feeds it: the decoder one read buffer of the encoded body at a time, the
//!    rewriter and the encoder what each of those reads decodes to, with a flush after each;
//! 2. a table of the pipeline's speed as a share of the sum-of-parts limit
//!    1/(1/decode + 1/rewrite + 1/encode), from criterion's estimates of the same benches (mean
//!    time per iteration; warm-up runs are not in them);
//! 3. a table of the pipeline's peak heap (a counting allocator) for HTML from 10 KB to 50 MB.
//!
//! The tables are printed as Markdown and written to `target/pipeline-report.md`.

#[path = "../tests/support/mod.rs"]
mod support;

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use sluice_edge::pipeline::parts::{decode_only, decoded_reads, encode_in_reads, encode_only};
use sluice_edge::pipeline::{
    ContentKind, Encoding, Params, PipelineSettings, process_response_streaming,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use support::{CorpusFile, Pieces, encode, shared_corpus};

/// Counts live heap bytes and remembers the peak.
struct CountingAllocator;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for CountingAllocator {
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
                let live = LIVE.fetch_add(new_size - layout.size(), Ordering::Relaxed)
                    + (new_size - layout.size());
                PEAK.fetch_max(live, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Where criterion writes its estimates (the workspace's target folder).
fn criterion_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/criterion")
}

/// Criterion's estimate of the mean time per iteration of the bench at `id` (its path under
/// the criterion folder, `group/function/parameter`), as MB/s of `bytes` per iteration.
fn mb_per_s(id: &str, bytes: u64) -> f64 {
    let path = criterion_dir().join(id).join("new/estimates.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("criterion's estimates at {}: {e}", path.display()));
    let estimates: serde_json::Value = serde_json::from_str(&text).expect("estimates are JSON");
    let nanos = estimates["mean"]["point_estimate"]
        .as_f64()
        .expect("a mean point estimate");
    bytes as f64 / (nanos / 1e9) / 1e6
}

struct Class {
    name: &'static str,
    files: Vec<CorpusFile>,
}

impl Class {
    fn decoded_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes.len() as u64).sum()
    }
}

/// The shared corpus: the figures in BENCHMARKS.md are over its files.
fn corpus() -> Vec<CorpusFile> {
    shared_corpus().expect("the benchmarks run over the shared corpus: set SLUICE_CORPUS")
}

fn classes() -> Vec<Class> {
    let all = corpus();
    [
        ("html", ContentKind::Html),
        ("js", ContentKind::JavaScript),
        ("css", ContentKind::Css),
    ]
    .into_iter()
    .map(|(name, kind)| Class {
        name,
        files: all
            .iter()
            .filter(|f| f.kind == kind)
            .map(clone_file)
            .collect(),
    })
    .collect()
}

fn clone_file(f: &CorpusFile) -> CorpusFile {
    CorpusFile {
        name: f.name.clone(),
        kind: f.kind,
        origin_host: f.origin_host.clone(),
        bytes: f.bytes.clone(),
    }
}

const ENCODINGS: [Encoding; 3] = [Encoding::Gzip, Encoding::Deflate, Encoding::Brotli];

fn run_pipeline(file: &CorpusFile, encoding: Encoding, encoded: &[u8]) -> u64 {
    let mut sink = std::io::sink();
    let stats = process_response_streaming(encoded, &mut sink, &file.params(encoding))
        .expect("the corpus streams");
    stats.bytes_out
}

/// One file of a class as the pipeline meets it in one encoding: its encoded body, and what
/// each origin read of that body decodes to.
struct Fed<'a> {
    file: &'a CorpusFile,
    encoded: Vec<u8>,
    reads: Vec<usize>,
}

impl Fed<'_> {
    /// The decoded body in the pieces the origin reads decode to.
    fn decoded_pieces(&self) -> Pieces {
        let mut rest = &self.file.bytes[..];
        let mut pieces = Vec::new();
        for &size in &self.reads {
            let (piece, after) = rest.split_at(size.min(rest.len()));
            pieces.push(piece.to_vec());
            rest = after;
        }
        Pieces::new(pieces)
    }
}

fn bench_class(c: &mut Criterion, class: &Class) {
    let settings = PipelineSettings::new();
    let mut group = c.benchmark_group(class.name);
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Bytes(class.decoded_bytes()));
    for encoding in ENCODINGS {
        let fed: Vec<Fed> = class
            .files
            .iter()
            .map(|file| {
                let encoded = encode(encoding, &file.bytes);
                let reads = decoded_reads(encoding, &encoded, &settings).expect("decodes");
                Fed {
                    file,
                    encoded,
                    reads,
                }
            })
            .collect();
        group.bench_function(BenchmarkId::new("pipeline", encoding), |b| {
            b.iter(|| {
                for one in &fed {
                    run_pipeline(one.file, encoding, &one.encoded);
                }
            })
        });
        group.bench_function(BenchmarkId::new("decode", encoding), |b| {
            b.iter(|| {
                for one in &fed {
                    decode_only(encoding, &one.encoded, &settings).expect("decodes");
                }
            })
        });
        group.bench_function(BenchmarkId::new("rewrite", encoding), |b| {
            b.iter_batched(
                || {
                    fed.iter()
                        .map(|one| (one, one.decoded_pieces()))
                        .collect::<Vec<_>>()
                },
                |inputs| {
                    for (one, pieces) in inputs {
                        // A read buffer as large as the largest piece: one read per piece.
                        let largest = one.reads.iter().copied().max().unwrap_or(1);
                        let params = one.file.params(Encoding::Identity).with_settings(
                            PipelineSettings::new().with_read_buffer_bytes(largest.max(1)),
                        );
                        process_response_streaming(pieces, &mut std::io::sink(), &params)
                            .expect("rewrites");
                    }
                },
                criterion::BatchSize::LargeInput,
            )
        });
        group.bench_function(BenchmarkId::new("encode", encoding), |b| {
            b.iter(|| {
                for one in &fed {
                    encode_in_reads(encoding, &one.file.bytes, &one.reads, &settings)
                        .expect("encodes");
                }
            })
        });
    }
    group.finish();
}

/// The realistic single page the comparable public pipeline was measured on was 0.55 MB of
/// HTML; the corpus page closest to it is the 0.71 MB HTML parsing spec.
fn bench_single_page(c: &mut Criterion, page: &CorpusFile) {
    let mut group = c.benchmark_group("page");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Bytes(page.bytes.len() as u64));
    for encoding in [Encoding::Gzip, Encoding::Brotli] {
        let body = encode(encoding, &page.bytes);
        group.bench_function(BenchmarkId::new(&page.name, encoding), |b| {
            b.iter(|| run_pipeline(page, encoding, &body))
        });
    }
    group.finish();
}

fn ratio_report(classes: &[Class], page: &CorpusFile) -> String {
    let mut out = String::new();
    writeln!(
        out,
        "| class | encoding | decode MB/s | rewrite MB/s | encode MB/s | sum-of-parts limit MB/s | pipeline MB/s | pipeline / limit |"
    )
    .unwrap();
    writeln!(out, "|---|---|---|---|---|---|---|---|").unwrap();
    for class in classes {
        let bytes = class.decoded_bytes();
        for encoding in ENCODINGS {
            let rewrite = mb_per_s(&format!("{}/rewrite/{encoding}", class.name), bytes);
            let decode = mb_per_s(&format!("{}/decode/{encoding}", class.name), bytes);
            let encode = mb_per_s(&format!("{}/encode/{encoding}", class.name), bytes);
            let pipeline = mb_per_s(&format!("{}/pipeline/{encoding}", class.name), bytes);
            let limit = 1.0 / (1.0 / decode + 1.0 / rewrite + 1.0 / encode);
            writeln!(
                out,
                "| {} | {encoding} | {decode:.0} | {rewrite:.0} | {encode:.0} | {limit:.1} | {pipeline:.1} | {:.2} |",
                class.name,
                pipeline / limit
            )
            .unwrap();
        }
    }
    writeln!(out).unwrap();
    writeln!(out, "| page | encoding | pipeline MB/s |").unwrap();
    writeln!(out, "|---|---|---|").unwrap();
    for encoding in [Encoding::Gzip, Encoding::Brotli] {
        let speed = mb_per_s(
            &format!("page/{}/{encoding}", page.name),
            page.bytes.len() as u64,
        );
        writeln!(
            out,
            "| {} ({} bytes) | {encoding} | {speed:.1} |",
            page.name,
            page.bytes.len()
        )
        .unwrap();
    }
    out
}

/// A page of about `size` bytes: corpus HTML repeated inside one document.
fn html_of_size(template: &[u8], size: usize) -> Vec<u8> {
    let mut page = b"<!doctype html><html><head><title>big</title></head><body>".to_vec();
    while page.len() < size {
        let take = template.len().min(size - page.len());
        page.extend_from_slice(&template[..take]);
    }
    page.extend_from_slice(b"</body></html>");
    page
}

fn heap_report(template: &CorpusFile) -> String {
    let sizes: [(usize, &str); 5] = [
        (10_000, "10 KB"),
        (100_000, "100 KB"),
        (1_000_000, "1 MB"),
        (10_000_000, "10 MB"),
        (50_000_000, "50 MB"),
    ];
    let mut out = String::new();
    writeln!(
        out,
        "| input (HTML) | gzip peak heap | deflate peak heap | brotli peak heap |"
    )
    .unwrap();
    writeln!(out, "|---|---|---|---|").unwrap();
    for (size, label) in sizes {
        let raw = html_of_size(&template.bytes, size);
        let mut row = format!("| {label} |");
        for encoding in ENCODINGS {
            let encoded = encode(encoding, &raw);
            let params: Params = template.params(encoding);
            let before = LIVE.load(Ordering::SeqCst);
            PEAK.store(before, Ordering::SeqCst);
            process_response_streaming(&encoded[..], &mut std::io::sink(), &params)
                .expect("streams");
            let peak = PEAK.load(Ordering::SeqCst) - before;
            write!(row, " {:.2} MiB |", peak as f64 / (1024.0 * 1024.0)).unwrap();
        }
        writeln!(out, "{row}").unwrap();
    }
    out
}

/// Output size, speed and encoder heap of the codec settings, on two HTML pages: what the
/// defaults were chosen from.
fn settings_report() -> String {
    let pages = [
        "lolhtml-bench-html-parsing-spec.html",
        "pydoc-changelog.html",
    ];
    let choices: [(&str, Encoding, PipelineSettings); 8] = [
        (
            "gzip 1",
            Encoding::Gzip,
            PipelineSettings::new().with_gzip_level(1),
        ),
        (
            "gzip 4",
            Encoding::Gzip,
            PipelineSettings::new().with_gzip_level(4),
        ),
        (
            "gzip 5 (default)",
            Encoding::Gzip,
            PipelineSettings::new().with_gzip_level(5),
        ),
        (
            "gzip 6",
            Encoding::Gzip,
            PipelineSettings::new().with_gzip_level(6),
        ),
        (
            "br q5 w22",
            Encoding::Brotli,
            PipelineSettings::new()
                .with_brotli_quality(5)
                .with_brotli_window(22),
        ),
        (
            "br q4 w22",
            Encoding::Brotli,
            PipelineSettings::new()
                .with_brotli_quality(4)
                .with_brotli_window(22),
        ),
        (
            "br q4 w20 (default)",
            Encoding::Brotli,
            PipelineSettings::new()
                .with_brotli_quality(4)
                .with_brotli_window(20),
        ),
        (
            "br q5 w20",
            Encoding::Brotli,
            PipelineSettings::new()
                .with_brotli_quality(5)
                .with_brotli_window(20),
        ),
    ];
    let corpus = corpus();
    let mut out = String::from(
        "| page | setting | output / input | encode MB/s | encoder peak heap |\n|---|---|---|---|---|\n",
    );
    for name in pages {
        let page = corpus.iter().find(|f| f.name == name).expect("corpus page");
        for (label, encoding, settings) in &choices {
            let mut times = Vec::new();
            let mut size = 0;
            let mut peak = 0;
            for _ in 0..3 {
                let before = LIVE.load(Ordering::SeqCst);
                PEAK.store(before, Ordering::SeqCst);
                let start = Instant::now();
                let encoded = encode_only(*encoding, &page.bytes, settings).expect("encodes");
                times.push(start.elapsed().as_secs_f64());
                // The output vector is the caller's, not the encoder's.
                peak = PEAK.load(Ordering::SeqCst) - before - encoded.capacity();
                size = encoded.len();
            }
            times.sort_by(f64::total_cmp);
            writeln!(
                out,
                "| {name} | {label} | {:.2}% | {:.0} | {:.2} MiB |",
                size as f64 * 100.0 / page.bytes.len() as f64,
                page.bytes.len() as f64 / times[1] / 1e6,
                peak as f64 / (1024.0 * 1024.0)
            )
            .unwrap();
        }
    }
    out
}

fn main() {
    let classes = classes();
    let page = corpus()
        .into_iter()
        .find(|f| f.name == "lolhtml-bench-html-parsing-spec.html")
        .expect("the corpus has the HTML parsing spec");
    let mut criterion = Criterion::default()
        .output_directory(&criterion_dir())
        .configure_from_args();
    for class in &classes {
        bench_class(&mut criterion, class);
    }
    bench_single_page(&mut criterion, &page);
    criterion.final_summary();

    let mut report = String::from("## Speed, native (MB/s of decoded bytes)\n\n");
    report.push_str(&ratio_report(&classes, &page));
    report.push_str("\n## Codec settings, native\n\n");
    report.push_str(&settings_report());
    report.push_str("\n## Peak heap of the pipeline, native\n\n");
    report.push_str(&heap_report(&page));
    println!("\n{report}");
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/pipeline-report.md");
    if let Err(e) = std::fs::write(&path, &report) {
        eprintln!("could not write {}: {e}", path.display());
    }
}
