//! Property tests: for random documents and random chunk splits (down to one byte), the streamed
//! result equals the single-shot one, and encode/decode round trips hold.

mod support;

use proptest::prelude::*;
use sluice_edge::pipeline::{
    ContentKind, Encoding, Params, PipelineSettings, process, process_response_streaming,
};
use support::{Pieces, decode, encode};

const HOST: &str = "www.publisher.example";

/// Pieces of documents that exercise the rewriter: URLs in every form, near-misses, markup.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(format!("https://{HOST}/path")),
        Just(format!("//{HOST}")),
        Just(format!(r"https:\/\/{HOST}\/x")),
        Just(format!("http://{HOST}:8080/")),
        Just(format!("https://cdn.{HOST}/")),
        Just(format!("https://{HOST}.evil/")),
        Just(format!("<a href=\"https://{HOST}/a\">a</a>")),
        Just(format!(
            "<img srcset=\"//{HOST}/1.png 1x, https://{HOST}/2.png 2x\">"
        )),
        Just(format!("<script>var x='https://{HOST}/s';</script>")),
        Just(format!(
            "<style>a{{background:url(//{HOST}/b.png)}}</style>"
        )),
        Just("<head>".to_owned()),
        Just("<body>".to_owned()),
        Just("<p>".to_owned()),
        "[a-z <>/=\"':.\\\\]{0,40}",
        "\\PC{0,20}",
    ]
}

fn document() -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 0..40).prop_map(|parts| parts.concat())
}

fn kind() -> impl Strategy<Value = ContentKind> {
    prop_oneof![
        Just(ContentKind::Html),
        Just(ContentKind::JavaScript),
        Just(ContentKind::Css),
        Just(ContentKind::Json),
    ]
}

fn encoding() -> impl Strategy<Value = Encoding> {
    prop_oneof![
        Just(Encoding::Identity),
        Just(Encoding::Gzip),
        Just(Encoding::Deflate),
        Just(Encoding::Brotli),
    ]
}

fn split(body: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (body.len() + 1)).collect();
    points.sort_unstable();
    points.dedup();
    let mut pieces = Vec::new();
    let mut start = 0;
    for point in points.into_iter().chain([body.len()]) {
        if point > start {
            pieces.push(body[start..point].to_vec());
            start = point;
        }
    }
    pieces
}

fn params(kind: ContentKind, encoding: Encoding) -> Params {
    Params::new(HOST, "https", "proxy.example")
        .with_kind(kind)
        .with_encoding(encoding)
        .with_inject_script("/t.js")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn streaming_equals_single_shot(
        doc in document(),
        kind in kind(),
        encoding in encoding(),
        cuts in prop::collection::vec(any::<usize>(), 0..60),
    ) {
        let raw = doc.as_bytes();
        let reference = process(
            raw,
            &params(kind, Encoding::Identity)
                .with_settings(PipelineSettings::new().with_read_buffer_bytes(raw.len() + 1)),
        ).unwrap();
        let encoded = encode(encoding, raw);
        let mut out = Vec::new();
        process_response_streaming(Pieces::new(split(&encoded, &cuts)), &mut out, &params(kind, encoding)).unwrap();
        let decoded = decode(encoding, &out);
        prop_assert_eq!(String::from_utf8_lossy(&decoded), String::from_utf8_lossy(&reference));
    }

    #[test]
    fn one_byte_pieces_equal_single_shot(doc in document(), kind in kind()) {
        let raw = doc.as_bytes();
        let reference = process(raw, &params(kind, Encoding::Identity)
            .with_settings(PipelineSettings::new().with_read_buffer_bytes(raw.len() + 1))).unwrap();
        let streamed = process(raw, &params(kind, Encoding::Identity)
            .with_settings(PipelineSettings::new().with_read_buffer_bytes(1))).unwrap();
        prop_assert_eq!(String::from_utf8_lossy(&streamed), String::from_utf8_lossy(&reference));
    }

    #[test]
    fn unrewritten_bodies_round_trip_through_every_codec(
        body in prop::collection::vec(any::<u8>(), 0..4096),
        encoding in encoding(),
        cuts in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        // A host that never occurs: the pipeline must then return the body as it was.
        let params = Params::new("absent.invalid", "https", "proxy.example")
            .with_kind(ContentKind::JavaScript)
            .with_encoding(encoding);
        let encoded = encode(encoding, &body);
        let mut out = Vec::new();
        process_response_streaming(Pieces::new(split(&encoded, &cuts)), &mut out, &params).unwrap();
        prop_assert_eq!(decode(encoding, &out), body);
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        body in prop::collection::vec(any::<u8>(), 0..2048),
        kind in kind(),
        encoding in encoding(),
    ) {
        let _ = process(&body, &params(kind, encoding));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// The fuzz targets' checks, run on proptest's inputs too, so they hold in every test run.
    #[test]
    fn the_fuzz_checks_hold(data in prop::collection::vec(any::<u8>(), 0..3000)) {
        sluice_edge::fuzzing::pipeline_never_panics(&data);
        sluice_edge::fuzzing::streaming_equals_single_shot(&data);
        sluice_edge::fuzzing::client_input_never_panics(&data);
    }
}
