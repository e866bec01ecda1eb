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
        Just(format!("https%3A%2F%2F{HOST}%2Fp")),
        Just(format!("%252F%252F{HOST}")),
        Just(format!(r"https:\u002F\u002F{HOST}\u002F")),
        Just(format!(r#"<a href="https:&#x2F;&#x2F;{HOST}/r">r</a>"#)),
        Just(
            r#"<a href="https&#x3a;&#x2f;&#x2f;www&#x2e;publisher&#x2e;example&#x2f;o">o</a>"#
                .to_owned()
        ),
        Just(format!(
            r#"<a href="/\{HOST}/b" data-u="https:\\{HOST}/c" itemid="//{HOST}/i">b</a>"#
        )),
        Just(r#"<script src="/a.js" integrity="sha384-x"></script>"#.to_owned()),
        Just(format!(
            r#"<script id="__NEXT_DATA__">{{"h":"{HOST}","n":[1,2]}}</script>"#
        )),
        Just(format!(
            r#"<script type="importmap">{{"imports":{{"a":"https://{HOST}/a.js"}},"integrity":{{"https://{HOST}/a.js":"sha384-y"}}}}</script>"#
        )),
        Just("<!-- a comment <a href=x> -->".to_owned()),
        Just("<meta charset=\"windows-1252\">".to_owned()),
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

/// Pieces of header values that mean something to Sluice, and bytes that are legal in a header
/// value but not UTF-8.
fn header_piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"euconsent-v2=".to_vec()),
        Just(b"__gpp=DBABMA~".to_vec()),
        Just(b"__gpp=DBABLA~BVQqAAAAAAJY.YA".to_vec()),
        Just(b"__gpp_sid=7".to_vec()),
        Just(b"us_privacy=1YYN".to_vec()),
        Just(b"synthetic_id=".to_vec()),
        Just(format!("{}.{}", "a".repeat(64), "b".repeat(16)).into_bytes()),
        Just(b"; ".to_vec()),
        Just(b", ".to_vec()),
        Just(b"gzip".to_vec()),
        Just(b"W/\"".to_vec()),
        Just(b"public, s-maxage=60".to_vec()),
        Just(br#"private="set-cookie, x-user""#.to_vec()),
        Just(br#""a\"b,c""#.to_vec()),
        Just(b"gzip, chunked".to_vec()),
        Just(b"https://www.publisher.example/".to_vec()),
        Just(b"/\\www.publisher.example/x".to_vec()),
        Just(b"script-src https://www.publisher.example 'nonce-a' 'sha256-b'".to_vec()),
        Just(b"; Domain=publisher.example; Domain=.www.publisher.example".to_vec()),
        prop::collection::vec(0x80u8..=0xff, 1..4),
        "[A-Za-z0-9+/=_.~-]{0,40}".prop_map(String::into_bytes),
    ]
}

/// A client request (and origin response) in the fuzz target's encoding: the raw URL, then
/// NUL-separated headers whose first byte picks the name.
fn client_input() -> impl Strategy<Value = Vec<u8>> {
    let url = prop_oneof![
        Just(b"http://proxy.example/a?b".to_vec()),
        Just(b"http://:80/".to_vec()),
        Just(b"http://proxy.example*".to_vec()),
        Just(b"http://proxy.example/\\evil.example/x".to_vec()),
    ];
    let header = (any::<u8>(), prop::collection::vec(header_piece(), 0..6));
    (url, prop::collection::vec(header, 0..12)).prop_map(|(url, headers)| {
        let mut data = url;
        for (selector, pieces) in headers {
            data.push(0);
            data.push(selector);
            data.extend(pieces.concat());
        }
        data
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// The client-input check on headers built from what Sluice reads: consent cookies, IDs,
    /// codings, and bytes that are legal but not UTF-8.
    #[test]
    fn client_headers_never_break_a_request(data in client_input()) {
        sluice_edge::fuzzing::client_input_never_panics(&data);
    }

    /// The fuzz targets' checks, run on proptest's inputs too, so they hold in every test run.
    #[test]
    fn the_fuzz_checks_hold(data in prop::collection::vec(any::<u8>(), 0..3000)) {
        sluice_edge::fuzzing::pipeline_never_panics(&data);
        sluice_edge::fuzzing::streaming_equals_single_shot(&data);
        sluice_edge::fuzzing::client_input_never_panics(&data);
        sluice_edge::fuzzing::settings_never_panic(&data);
    }

    /// The settings check on values built from what the settings read: host names with ports
    /// and dots, numbers with signs, backend names of every length.
    #[test]
    fn settings_are_usable_or_refused(values in prop::collection::vec(setting_value(), 15)) {
        sluice_edge::fuzzing::settings_never_panic(values.join("\0").as_bytes());
    }
}

/// Pieces of setting values: what operators paste, and what they should not.
fn setting_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("www.publisher.example".to_owned()),
        Just("WWW.Publisher.Example.:8443\n".to_owned()),
        Just("..".to_owned()),
        Just("-".to_owned()),
        Just("+5".to_owned()),
        Just("11".to_owned()),
        Just("24".to_owned()),
        Just("b".repeat(300)),
        Just("orígin".to_owned()),
        Just("/static/, /vendor/".to_owned()),
        Just(r#"{"X-Frame-Options":"DENY"}"#.to_owned()),
        "[ -~]{0,20}",
        "\\PC{0,10}",
    ]
}
