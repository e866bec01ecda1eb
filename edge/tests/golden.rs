//! Golden tests over the shared corpus: for every file and every encoding, the streamed output,
//! fed in random pieces, decodes to exactly what a single-shot rewrite of the decoded input gives.

mod support;

use sluice_edge::pipeline::parts::process_reading_every_tag;
use sluice_edge::pipeline::{
    ContentKind, Encoding, PipelineSettings, process, process_response_streaming,
};
use support::{Pieces, Rng, chunk_seed, corpus, decode, encode, random_split};

/// The single-shot reference: the whole decoded body in one read, identity in and out (with
/// room for lol_html to hold the whole body, which one read asks of it).
fn single_shot(file: &support::CorpusFile) -> Vec<u8> {
    let settings = PipelineSettings::new()
        .with_read_buffer_bytes(file.bytes.len() + 1)
        .with_max_html_memory_bytes(2 * file.bytes.len() + (8 << 20));
    process(
        &file.bytes,
        &file.params(Encoding::Identity).with_settings(settings),
    )
    .expect("the reference rewrite succeeds")
}

#[test]
fn every_corpus_file_in_every_encoding_streams_to_the_single_shot_result() {
    let seed = chunk_seed();
    for file in corpus() {
        let expected = single_shot(&file);
        for encoding in Encoding::ALL {
            let encoded = encode(encoding, &file.bytes);
            let mut rng = Rng::new(seed);
            let origin = Pieces::new(random_split(&encoded, 16 * 1024, &mut rng));
            let mut out = Vec::new();
            let stats = process_response_streaming(origin, &mut out, &file.params(encoding))
                .unwrap_or_else(|e| panic!("{} as {encoding}: {e} (seed {seed})", file.name));
            let decoded = decode(encoding, &out);
            assert!(
                decoded == expected,
                "{} as {encoding}: the streamed result differs from the single-shot one (seed {seed}, SLUICE_CHUNK_SEED reproduces it)",
                file.name
            );
            assert_eq!(stats.bytes_in, encoded.len() as u64);
            assert_eq!(stats.decoded_bytes, file.bytes.len() as u64);
            assert_eq!(stats.bytes_out, out.len() as u64);
        }
    }
}

#[test]
fn reading_attributes_only_where_the_host_is_changes_no_page() {
    // The HTML stage reads the attributes of only the start tags whose bytes hold the origin
    // host; every page must come out as it does when every tag is read, whatever the case of
    // its letters.
    for file in corpus().into_iter().filter(|f| f.kind == ContentKind::Html) {
        let shouting = file.bytes.to_ascii_uppercase();
        for (variant, bytes) in [("as written", &file.bytes), ("in upper case", &shouting)] {
            let params = file.params(Encoding::Identity);
            let gated = process(bytes, &params).expect("rewrites");
            let reference = process_reading_every_tag(bytes, &params).expect("rewrites");
            assert!(
                gated == reference,
                "{} {variant}: the host gate changed the page",
                file.name
            );
        }
    }
}

#[test]
fn a_generated_50_mb_article_streams_gzip_to_the_single_shot_result() {
    let page = support::samples::large_article(50_000_000);
    let file = support::CorpusFile {
        name: "sample:article-50MB.html".to_owned(),
        kind: sluice_edge::pipeline::ContentKind::Html,
        origin_host: support::samples::HOST.to_owned(),
        bytes: page,
    };
    let expected = single_shot(&file);
    let encoded = encode(Encoding::Gzip, &file.bytes);
    let mut rng = Rng::new(chunk_seed());
    let origin = Pieces::new(random_split(&encoded, 64 * 1024, &mut rng));
    let mut out = Vec::new();
    process_response_streaming(origin, &mut out, &file.params(Encoding::Gzip)).unwrap();
    assert!(
        decode(Encoding::Gzip, &out) == expected,
        "the 50 MB article differs"
    );
}

#[test]
fn small_pieces_give_the_same_result_as_large_ones() {
    let seed = chunk_seed();
    for file in corpus().into_iter().filter(|f| f.bytes.len() < 150_000) {
        let expected = single_shot(&file);
        let mut rng = Rng::new(seed);
        let origin = Pieces::new(random_split(&file.bytes, 64, &mut rng));
        let mut out = Vec::new();
        process_response_streaming(origin, &mut out, &file.params(Encoding::Identity)).unwrap();
        assert!(
            out == expected,
            "{} in pieces of 1..64 bytes (seed {seed})",
            file.name
        );
    }
}

#[test]
fn the_origin_urls_of_scripts_and_stylesheets_are_all_rewritten() {
    for file in corpus()
        .into_iter()
        .filter(|f| f.kind != sluice_edge::pipeline::ContentKind::Html)
    {
        let out = single_shot(&file);
        let text = String::from_utf8_lossy(&out);
        let before = String::from_utf8_lossy(&file.bytes);
        let urls = file.params(Encoding::Identity).urls().clone();
        assert_eq!(text, urls.rewrite_text(&before), "{}", file.name);
        for form in ["https://", "http://"] {
            let needle = format!("{form}{}/", file.origin_host);
            assert!(!text.contains(&needle), "{} still has {needle}", file.name);
        }
    }
}

#[test]
fn html_pages_get_the_script_once_and_lose_their_origin_links() {
    for file in corpus()
        .into_iter()
        .filter(|f| f.kind == sluice_edge::pipeline::ContentKind::Html)
    {
        let out = String::from_utf8_lossy(&single_shot(&file)).into_owned();
        // A page whose `<meta>` declares another charset than UTF-8 gets the tag with
        // `charset="utf-8"`.
        let tag = match out.contains(r#"<meta charset="windows-1252">"#) {
            true => r#"<script src="/sluice/tag.js" charset="utf-8"></script>"#,
            false => r#"<script src="/sluice/tag.js"></script>"#,
        };
        assert_eq!(out.matches(tag).count(), 1, "{}", file.name);
        assert_eq!(out.matches("/sluice/tag.js").count(), 1, "{}", file.name);
        for attribute in ["href", "src"] {
            let needle = format!("{attribute}=\"https://{}/", file.origin_host);
            assert!(!out.contains(&needle), "{} still has {needle}", file.name);
        }
    }
}
