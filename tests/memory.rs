//! Constant memory on the streaming path, as Viceroy measures the guest's heap.

mod common;

use common::{ORIGIN_HOST, TestResult};
use harness::Edge;
use harness::measure::{compress, full_speed, heap_of_one_request, synthetic_html};
use rstest::rstest;

#[rstest]
#[case::gzip("gzip")]
#[case::brotli("br")]
#[tokio::test]
async fn the_streaming_heap_does_not_grow_with_the_page(#[case] coding: &str) -> TestResult {
    let mut heaps = Vec::new();
    for size in [100_000, 10_000_000] {
        let page = synthetic_html(size, ORIGIN_HOST);
        let measured =
            heap_of_one_request(Edge::boot(), full_speed(&compress(coding, &page), coding)).await?;
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
