//! Constant memory on the streaming path, as Viceroy measures the guest's heap.

use crate::common::{ORIGIN_HOST, TestResult, sluice_unbudgeted as sluice};
use harness::codec;
use rstest::rstest;
use sluice_tools::measure::{full_speed, heap_of_one_request, synthetic_html, synthetic_next_page};

#[rstest]
#[case::gzip("gzip")]
#[case::brotli("br")]
#[tokio::test]
async fn the_streaming_heap_does_not_grow_with_the_page(#[case] coding: &str) -> TestResult {
    let _heavy = crate::common::cpu_heavy().await;
    let mut heaps = Vec::new();
    for size in [100_000, 10_000_000] {
        let page = synthetic_html(size, ORIGIN_HOST);
        let measured =
            heap_of_one_request(sluice(), full_speed(&codec::encode(coding, &page), coding))
                .await?;
        measured.wire.assert_status(200).assert_chunked();
        heaps.push(measured.heap_mib);
    }
    let (small, large) = (heaps[0], heaps[1]);
    assert!(
        large <= small + 1.0,
        "{coding}: {large} MiB for 10 MB against {small} MiB for 100 KB"
    );
    Ok(())
}

/// Inline script text streams through the same bounded replacer as JavaScript bodies: a 20 MB
/// inline script costs no more than a 20 KB one (within 2 MiB), arrives whole, and every origin
/// URL in it is rewritten.
#[tokio::test]
async fn a_twenty_megabyte_inline_script_streams_in_flat_memory() -> TestResult {
    let _heavy = crate::common::cpu_heavy().await;
    let line = format!("var u = \"https://{ORIGIN_HOST}/a\";\n");
    let mut heaps = Vec::new();
    for size in [20_000, 20_000_000] {
        let lines = size / line.len();
        let page = format!(
            "<html><head></head><body><script>{}</script></body></html>",
            line.repeat(lines)
        );
        let measured = heap_of_one_request(
            sluice(),
            full_speed(&codec::encode("gzip", page.as_bytes()), "gzip"),
        )
        .await?;
        measured.wire.assert_status(200).assert_chunked();
        let body = String::from_utf8(measured.wire.decoded_body()?)?;
        assert_eq!(body.matches("\"http://127.0.0.1:").count(), lines);
        assert!(!body.contains(ORIGIN_HOST));
        assert!(body.ends_with("</script></body></html>"));
        heaps.push(measured.heap_mib);
    }
    assert!(
        heaps[1] <= heaps[0] + 2.0,
        "{} MiB for a 20 MB inline script against {} MiB for 20 KB",
        heaps[1],
        heaps[0]
    );
    Ok(())
}

/// A Next.js page streams its data element too: a 10 MB page with 1 MB of data costs no more
/// heap than a 100 KB one (within 1 MiB), gzip and brotli, and the data arrives rewritten.
#[rstest]
#[case::gzip("gzip")]
#[case::brotli("br")]
#[tokio::test]
async fn a_next_js_page_streams_in_flat_memory(#[case] coding: &str) -> TestResult {
    let mut heaps = Vec::new();
    for size in [100_000, 10_000_000] {
        let page = synthetic_next_page(size, 1_000_000, ORIGIN_HOST);
        let measured = heap_of_one_request(
            sluice().config("sluice_config", "post_processors", "nextjs"),
            full_speed(&codec::encode(coding, &page), coding),
        )
        .await?;
        measured.wire.assert_status(200).assert_chunked();
        let body = String::from_utf8(measured.wire.decoded_body()?)?;
        assert!(!body.contains(ORIGIN_HOST), "every host rewritten");
        heaps.push(measured.heap_mib);
    }
    let (small, large) = (heaps[0], heaps[1]);
    assert!(
        large <= small + 1.0,
        "{coding}: {large} MiB for the 10 MB page against {small} MiB for the small one"
    );
    Ok(())
}

/// The shape that trapped when the data element was parsed whole (a tree costs 40-50 times its
/// text): `__NEXT_DATA__` of 2.5 MB of numbers now costs what 10 KB of them does (within 1 MiB),
/// and arrives byte for byte but for its hosts.
#[tokio::test]
async fn megabytes_of_next_js_numbers_cost_no_more_heap_than_a_few() -> TestResult {
    let mut heaps = Vec::new();
    for count in [1_000, 400_000] {
        let numbers: Vec<String> = (0..count)
            .map(|i| format!("{}.{}", i * 7, i % 10))
            .collect();
        let data = format!(
            r#"{{"host":"{ORIGIN_HOST}","points":[{}]}}"#,
            numbers.join(",")
        );
        let page = format!(
            r#"<html><head></head><body><script id="__NEXT_DATA__" type="application/json">{data}</script></body></html>"#
        );
        let measured = heap_of_one_request(
            sluice().config("sluice_config", "post_processors", "nextjs"),
            full_speed(&codec::encode("gzip", page.as_bytes()), "gzip"),
        )
        .await?;
        measured.wire.assert_status(200).assert_chunked();
        let body = String::from_utf8(measured.wire.decoded_body()?)?;
        let points = format!(r#""points":[{}]}}"#, numbers.join(","));
        assert!(body.contains(&points) && !body.contains(ORIGIN_HOST));
        heaps.push(measured.heap_mib);
    }
    assert!(
        heaps[1] <= heaps[0] + 1.0,
        "{} MiB for 2.5 MB of numbers against {} MiB for 10 KB",
        heaps[1],
        heaps[0]
    );
    Ok(())
}

/// One long token: a 6 MB comment or a 7 MB `style` attribute costs a few times its length,
/// not more (lol_html holds a token whole, within `max_html_memory_bytes`).
#[tokio::test]
async fn long_tokens_cost_a_bounded_heap() -> TestResult {
    let _heavy = crate::common::cpu_heavy().await;
    let url = format!("https://{ORIGIN_HOST}/bg.png");
    let mut heaps = Vec::new();
    for (name, body) in [
        ("small page", "<p>small</p>".to_owned()),
        (
            "6 MB comment",
            format!("<!-- {} -->", "c".repeat(6_000_000)),
        ),
        (
            "7 MB style",
            format!(
                "<div style=\"background:url({url}) {}\">x</div>",
                "a".repeat(7 << 20)
            ),
        ),
    ] {
        let page = format!(
            "<!doctype html><html><head></head><body>{body}<a href=\"https://{ORIGIN_HOST}/end\">end</a></body></html>"
        );
        let measured = heap_of_one_request(
            sluice(),
            full_speed(&codec::encode("gzip", page.as_bytes()), "gzip"),
        )
        .await?;
        measured.wire.assert_status(200).assert_chunked();
        let out = String::from_utf8(measured.wire.decoded_body()?)?;
        assert!(
            out.ends_with("/end\">end</a></body></html>") && !out.contains(&url),
            "{name}"
        );
        heaps.push((name, measured.heap_mib));
    }
    // The figures README.md and RELIABILITY.md quote (`-- --nocapture` shows them).
    println!("guest heap: {heaps:?}");
    let small = heaps[0].1;
    // lol_html holds the comment (6 MB) and writes it out again, each grown by doubling.
    assert!(heaps[1].1 <= small + 4.0 * 6.0, "{heaps:?}");
    // lol_html holds the tag (7 MiB) and writes it out again; the rewrite takes the value,
    // the rewritten value and lol_html's copy of it: about 5 times the value at most.
    assert!(heaps[2].1 <= small + 5.0 * 7.0, "{heaps:?}");
    Ok(())
}

/// The largest brotli encoder the settings allow (quality 11, window 22) is served within the
/// heap Fastly gives a request.
#[tokio::test]
async fn the_largest_brotli_encoder_served_fits_the_heap() -> TestResult {
    let page = synthetic_html(200_000, ORIGIN_HOST);
    let measured = heap_of_one_request(
        sluice()
            .config("sluice_config", "brotli_quality", "11")
            .config("sluice_config", "brotli_window", "22"),
        full_speed(&codec::encode("br", &page), "br"),
    )
    .await?;
    measured
        .wire
        .assert_status(200)
        .assert_header("content-encoding", "br");
    assert!(measured.heap_mib < 100.0, "{} MiB", measured.heap_mib);
    Ok(())
}
