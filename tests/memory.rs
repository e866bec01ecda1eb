//! Constant memory on the streaming path, as Viceroy measures the guest's heap.

use crate::common::{ORIGIN_HOST, TestResult, sluice};
use harness::codec;
use rstest::rstest;
use sluice_tools::measure::{full_speed, heap_of_one_request, synthetic_html, synthetic_next_page};

#[rstest]
#[case::gzip("gzip")]
#[case::brotli("br")]
#[tokio::test]
async fn the_streaming_heap_does_not_grow_with_the_page(#[case] coding: &str) -> TestResult {
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

/// A Next.js page holds its data element alone: with the same 1 MB `__NEXT_DATA__`, a 10 MB page
/// costs no more heap than a 100 KB one (within 1 MiB), gzip and brotli, and the data arrives
/// rewritten.
#[rstest]
#[case::gzip("gzip")]
#[case::brotli("br")]
#[tokio::test]
async fn a_next_js_page_holds_only_its_data_element(#[case] coding: &str) -> TestResult {
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
