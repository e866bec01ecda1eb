//! Compressed pages through Viceroy: decoded, rewritten and re-encoded on the fly, reaching the
//! client in pieces while a slow origin is still sending, and cut off (never ended cleanly)
//! when the origin's stream turns out corrupt mid-body.

use crate::common::support::{decode_prefix, encode_flushed};
use crate::common::{ORIGIN_HOST, SECOND, TestResult, sluice};
use harness::{Edge, Script, ScriptedOrigin};
use rstest::rstest;
use sluice_edge::pipeline::{ContentKind, Encoding, Params, process};
use std::time::Duration;

const TAG: &str = r#"<script src="/sluice/tag.js"></script>"#;

fn article() -> Vec<u8> {
    let mut page = b"<!doctype html><html><head><title>article</title></head><body>".to_vec();
    for i in 0..3000 {
        page.extend_from_slice(
            format!("<p>paragraph {i} <a href=\"https://{ORIGIN_HOST}/p/{i}\">more</a></p>\n")
                .as_bytes(),
        );
    }
    page.extend_from_slice(b"</body></html>");
    page
}

fn expected_for(edge: &Edge, raw: &[u8]) -> Vec<u8> {
    let params = Params::new(ORIGIN_HOST, "http", &edge.addr().to_string())
        .with_kind(ContentKind::Html)
        .with_inject_script("/sluice/tag.js");
    process(raw, &params).expect("reference rewrite")
}

#[rstest]
#[case::gzip(Encoding::Gzip)]
#[case::deflate(Encoding::Deflate)]
#[case::brotli(Encoding::Brotli)]
#[tokio::test]
async fn a_compressed_page_from_a_slow_origin_arrives_in_decodable_pieces(
    #[case] encoding: Encoding,
) -> TestResult {
    let raw = article();
    let encoded = encode_flushed(encoding, &raw, 16 * 1024);
    let token = encoding.token().expect("compressed");
    let origin = ScriptedOrigin::start(
        Script::new()
            .head(
                200,
                [("content-type", "text/html"), ("content-encoding", token)],
            )
            .trickle(&encoded, encoded.len() / 5 + 1, Duration::from_millis(250))
            .end(),
    )?;
    let edge = sluice().backend("origin", &origin).start().await?;

    let wire = edge
        .get("/")
        .header("accept-encoding", token)
        .send()
        .await?;

    wire.assert_status(200)
        .assert_chunked()
        .assert_header("content-encoding", token)
        .assert_first_chunk_before(
            origin.last_chunk_sent_at().expect("sent"),
            "the origin's last chunk",
        );
    assert!(wire.chunk_times().len() >= 4, "few pieces:\n{wire}");
    let first_chunk_len = match wire
        .events()
        .iter()
        .find(|e| matches!(e, harness::Event::Chunk { .. }))
    {
        Some(harness::Event::Chunk { len, .. }) => *len,
        _ => 0,
    };
    let early = decode_prefix(encoding, &wire.body()[..first_chunk_len]);
    assert!(
        String::from_utf8_lossy(&early).contains(TAG),
        "the first chunk alone decodes to the injected script ({} bytes decoded)",
        early.len()
    );
    assert_eq!(wire.decoded_body()?, expected_for(&edge, &raw));
    Ok(())
}

#[rstest]
#[case::gzip(Encoding::Gzip)]
#[case::brotli(Encoding::Brotli)]
#[tokio::test]
async fn a_stream_that_turns_corrupt_mid_body_truncates_the_response(
    #[case] encoding: Encoding,
) -> TestResult {
    let encoded = encode_flushed(encoding, &article(), 16 * 1024);
    let good = &encoded[..encoded.len() / 2];
    let origin = ScriptedOrigin::start(
        Script::new()
            .head(
                200,
                [
                    ("content-type", "text/html"),
                    ("content-encoding", encoding.token().expect("compressed")),
                ],
            )
            .chunk(good)
            .pause(SECOND / 4)
            .chunk([0xffu8; 512])
            .chunk(&encoded[encoded.len() / 2..])
            .end(),
    )?;
    let edge = sluice().backend("origin", &origin).start().await?;

    let wire = edge.get("/").send().await?;

    wire.assert_status(200).assert_truncated();
    // Until the decoder notices, bytes decoded from the corrupt region can go out too (deflate
    // has no check before the trailer): it is the missing terminator that tells the client.
    // What came from the good half is the page's own beginning.
    let decoded = decode_prefix(encoding, wire.body());
    let expected = expected_for(&edge, &article());
    let good_len = decode_prefix(encoding, good).len();
    let shared = decoded
        .iter()
        .zip(&expected)
        .take_while(|(a, b)| a == b)
        .count();
    assert!(
        shared >= good_len / 2,
        "only {shared} bytes match the page; the good half decodes to {good_len}"
    );
    assert!(
        edge.log().wait_for("is corrupt", 5 * SECOND),
        "{}",
        edge.log().tail(10)
    );
    Ok(())
}

#[tokio::test]
async fn a_stream_that_ends_without_its_trailer_truncates_the_response() -> TestResult {
    let encoded = encode_flushed(Encoding::Gzip, &article(), 16 * 1024);
    let origin = ScriptedOrigin::start(
        Script::new()
            .head(
                200,
                [("content-type", "text/html"), ("content-encoding", "gzip")],
            )
            .chunk(&encoded[..encoded.len() / 2])
            // Let the head and the first bytes reach the client before the guest finds the
            // missing trailer: an abort in the same instant can take the unsent head with it.
            .pause(SECOND / 4)
            .chunk(&encoded[encoded.len() / 2..encoded.len() - 8])
            .end(),
    )?;
    let edge = sluice().backend("origin", &origin).start().await?;

    let wire = edge.get("/").send().await?;

    wire.assert_status(200).assert_truncated();
    assert!(
        edge.log()
            .wait_for("ended before its end marker", 5 * SECOND)
    );
    Ok(())
}

#[tokio::test]
async fn an_unknown_encoding_passes_through_with_its_length() -> TestResult {
    let body = b"not really zstd, https://www.publisher.example/ stays".to_vec();
    let origin = ScriptedOrigin::start(
        Script::new()
            .head(
                200,
                [
                    ("content-type", "text/html"),
                    ("content-encoding", "zstd"),
                    ("content-length", &body.len().to_string()),
                ],
            )
            .chunk(&body)
            .end(),
    )?;
    let edge = sluice().backend("origin", &origin).start().await?;

    let wire = edge.get("/").send().await?;

    wire.assert_status(200)
        .assert_header("content-length", &body.len().to_string())
        .assert_header("content-encoding", "zstd")
        .assert_body(&body);
    Ok(())
}
