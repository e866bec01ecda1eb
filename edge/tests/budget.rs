//! The CPU budget inside the pipeline, on a scripted clock: a page that fits is not touched, and
//! a page that does not arrives whole and correct after every step, in every coding.

mod support;

use sluice_edge::pipeline::budget::{Meter, Step, Stepped};
use sluice_edge::pipeline::{
    ContentKind, Encoding, Params, PipelineSettings, process_response_metered,
};
use support::{Pieces, decode, encode};

const HOST: &str = "www.publisher.example";

/// A clock that runs `ms_per_mb` for every MB decoded (as the origin's pieces say), cheaper by
/// what each step saves (about what the budget's cost model says of an HTML page), and keeps
/// what was stepped.
struct Clock {
    ms_per_mb: f64,
    decoded: std::rc::Rc<std::cell::Cell<u64>>,
    counted: u64,
    elapsed: f64,
    steps: Vec<Step>,
    lines: Vec<String>,
}

impl Clock {
    fn new(ms_per_mb: f64, decoded: &std::rc::Rc<std::cell::Cell<u64>>) -> Clock {
        Clock {
            ms_per_mb,
            decoded: std::rc::Rc::clone(decoded),
            counted: 0,
            elapsed: 0.0,
            steps: Vec::new(),
            lines: Vec::new(),
        }
    }
}

impl Meter for Clock {
    fn elapsed_ms(&mut self) -> Option<u64> {
        let now = self.decoded.get();
        self.elapsed += (now - self.counted) as f64 / 1e6 * self.ms_per_mb;
        self.counted = now;
        Some(self.elapsed as u64)
    }

    fn stepped(&mut self, stepped: &Stepped) {
        self.ms_per_mb *= match stepped.step {
            Step::Level(_) => 0.72,
            Step::Stored => 0.8,
            Step::TextRewrite => 0.27,
        };
        self.steps.push(stepped.step);
        self.lines.push(stepped.to_string());
    }
}

/// A markup-dense page with every URL form the text rewrite keeps rewriting, about `size` bytes.
fn page(size: usize) -> String {
    let mut page = "<!doctype html><html><head><title>t</title></head><body>\n".to_owned();
    let mut i = 0;
    while page.len() < size {
        page.push_str(&format!(
            "<article data-id=\"{i}\"><a href=\"https://{HOST}/story/{i}\" title=\"Story number {i} of the page\">Story {i}</a><img src=\"//{HOST}/i/{i}.jpg\" alt=\"\"><script>var u{i} = 'https://{HOST}/api/{i}';</script></article>\n"
        ));
        i += 1;
    }
    page.push_str("</body></html>\n");
    page
}

/// Streams `page` in `encoding`, written in the same coding, with a budget of `limit_ms` and a
/// clock that runs `ms_per_mb`; returns the decoded output and the clock.
fn run(page: &str, encoding: Encoding, limit_ms: u64, ms_per_mb: f64) -> (String, Clock) {
    let encoded = encode(encoding, page.as_bytes());
    let decoded = std::rc::Rc::new(std::cell::Cell::new(0));
    let mut clock = Clock::new(ms_per_mb, &decoded);
    let ratio = page.len() as f64 / encoded.len() as f64;
    let mut origin = Pieces::new(encoded.chunks(7_919).map(<[u8]>::to_vec).collect());
    let total = encoded.len();
    let seen = std::rc::Rc::clone(&decoded);
    origin.on_piece = Some(Box::new(move |index| {
        seen.set(((index * 7_919).min(total) as f64 * ratio) as u64)
    }));
    let params = Params::new(HOST, "https", "proxy.example")
        .with_kind(ContentKind::Html)
        .with_encoding(encoding)
        .with_inject_script("/t.js")
        .with_settings(PipelineSettings::new().with_read_buffer_bytes(7_919))
        .with_budget(limit_ms, Some(encoded.len() as u64));
    let mut out = Vec::new();
    process_response_metered(origin, &mut out, &params, &mut clock).expect("streams");
    let text = String::from_utf8(decode(encoding, &out)).expect("UTF-8");
    (text, clock)
}

/// The output with the proxy's URLs put back and the tag taken out is the page itself: every
/// byte arrived, and every URL the page names was pointed at the proxy.
fn assert_whole_and_rewritten(page: &str, out: &str) {
    assert!(!out.contains(HOST), "a publisher URL survived");
    let back = out
        .replace("https://proxy.example", &format!("https://{HOST}"))
        .replace("//proxy.example", &format!("//{HOST}"))
        .replace("<script src=\"/t.js\"></script>", "");
    assert!(back == page, "bytes differ");
}

#[test]
fn a_page_that_fits_comes_out_byte_for_byte_as_without_a_budget() {
    let page = page(400_000);
    for encoding in Encoding::ALL {
        let (fitting, clock) = run(&page, encoding, 50, 24.0);
        let (unlimited, _) = run(&page, encoding, 10_000, 24.0);
        assert!(clock.steps.is_empty(), "{encoding:?}: {:?}", clock.lines);
        assert!(fitting == unlimited, "{encoding:?}");
        assert_whole_and_rewritten(&page, &fitting);
    }
}

#[test]
fn a_page_past_the_budget_steps_down_and_arrives_whole_and_rewritten() {
    let page = page(3_000_000);
    // Each clock's elapsed time ends under the budget.
    for encoding in Encoding::ALL {
        let (out, mut clock) = run(&page, encoding, 50, 30.0);
        // The order is fixed; how many steps a reading takes depends on the projection (this
        // page compresses 20 times, so its first readings misjudge what is left).
        let order = [Step::Level(1), Step::Stored, Step::TextRewrite];
        let positions: Vec<usize> = clock
            .steps
            .iter()
            .map(|step| order.iter().position(|s| s == step).expect("a known step"))
            .collect();
        assert!(
            positions.windows(2).all(|w| w[0] < w[1]),
            "{encoding:?}: {:?}",
            clock.lines
        );
        assert_eq!(
            clock.steps.last(),
            Some(&Step::TextRewrite),
            "{encoding:?}: {:?}",
            clock.lines
        );
        assert!(
            clock.elapsed_ms().unwrap() < 50,
            "{encoding:?}: {}",
            clock.elapsed
        );
        assert_whole_and_rewritten(&page, &out);
    }
}

#[test]
fn a_page_a_little_past_the_budget_gives_up_only_compression() {
    let page = page(2_000_000);
    let (out, clock) = run(&page, Encoding::Gzip, 50, 26.0);
    assert_eq!(clock.steps, [Step::Level(1)], "{:?}", clock.lines);
    assert!(
        clock.lines[0].starts_with("budget: gzip level 5 -> 1 at "),
        "{:?}",
        clock.lines
    );
    assert_whole_and_rewritten(&page, &out);
}

#[test]
fn the_switch_to_the_text_rewrite_keeps_every_byte_at_every_cut() {
    // Steps at every position of a page that cuts tags, scripts and URLs in two.
    let page = page(300_000);
    for read in [1_000, 3_331, 8_192, 16_411] {
        let encoded = page.as_bytes();
        let decoded = std::rc::Rc::new(std::cell::Cell::new(0));
        let mut clock = Clock::new(1_000.0, &decoded);
        let mut origin = Pieces::new(encoded.chunks(read).map(<[u8]>::to_vec).collect());
        let seen = std::rc::Rc::clone(&decoded);
        origin.on_piece = Some(Box::new(move |index| seen.set((index * read) as u64)));
        let params = Params::new(HOST, "https", "proxy.example")
            .with_kind(ContentKind::Html)
            .with_inject_script("/t.js")
            .with_settings(PipelineSettings::new().with_read_buffer_bytes(read))
            .with_budget(50, Some(encoded.len() as u64));
        let mut out = Vec::new();
        process_response_metered(origin, &mut out, &params, &mut clock).expect("streams");
        assert_eq!(clock.steps, [Step::TextRewrite], "reads of {read}");
        assert_whole_and_rewritten(&page, &String::from_utf8(out).unwrap());
    }
}
