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

    let wire = edge
        .get("/")
        .header("accept-encoding", encoding.token().expect("compressed"))
        .send()
        .await?;

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

/// The output coding follows what the client accepts, q-values included, whatever the origin
/// answered in: the origin's coding when the client takes it, else the client's preference,
/// else identity.
#[rstest]
#[case::identity("identity")]
#[case::gzip("gzip")]
#[case::deflate("deflate")]
#[case::brotli("br")]
#[tokio::test]
async fn every_origin_coding_reaches_every_client_in_a_coding_it_accepts(
    #[case] origin_coding: &str,
) -> TestResult {
    let raw = article();
    let encoded = harness::codec::encode(origin_coding, &raw);
    let mut head = vec![("content-type", "text/html".to_owned())];
    if origin_coding != "identity" {
        head.push(("content-encoding", origin_coding.to_owned()));
    }
    let origin = ScriptedOrigin::serve(
        "127.0.0.1:0",
        harness::Router::from_fn(move |_: &harness::ReceivedRequest| {
            Script::new().head(200, head.clone()).chunk(&encoded).end()
        }),
    )?;
    let edge = sluice().backend("origin", &origin).start().await?;
    let keep = |coding: &str| (coding != "identity").then(|| coding.to_owned());
    // (Accept-Encoding, the coding expected out)
    let cases: [(Option<&str>, Option<String>); 6] = [
        (None, None),
        (Some("identity"), None),
        (Some("gzip;q=0, identity"), None),
        (
            Some("br"),
            keep(if origin_coding == "identity" {
                "identity"
            } else {
                "br"
            }),
        ),
        (Some("gzip, deflate, br"), keep(origin_coding)),
        (
            Some("gzip;q=0.5, br;q=0.9, identity;q=0"),
            match origin_coding {
                "gzip" => Some("gzip".to_owned()),
                _ => Some("br".to_owned()),
            },
        ),
    ];
    let expected = expected_for(&edge, &raw);
    for (accept, coding) in cases {
        let request = edge.get("/");
        let request = match accept {
            Some(accept) => request.header("accept-encoding", accept),
            None => request,
        };
        let wire = request.send().await?;
        wire.assert_status(200);
        assert_eq!(
            wire.header("content-encoding").map(str::to_owned),
            coding,
            "{origin_coding} to a client accepting {accept:?}"
        );
        assert!(
            wire.decoded_body()? == expected,
            "{origin_coding} to {accept:?}"
        );
        if let Some(vary) = wire.header("vary") {
            assert!(vary.to_ascii_lowercase().contains("accept-encoding"));
        } else {
            panic!("no Vary: Accept-Encoding");
        }
    }
    Ok(())
}

/// A transfer coding belongs to the origin's connection: gzip under `Transfer-Encoding` is
/// decoded like a content coding, and the page is rewritten; a transfer coding Sluice does not
/// know is a 502, never raw bytes labelled `text/html`.
#[tokio::test]
async fn a_transfer_coding_is_decoded_or_refused_never_relayed() -> TestResult {
    let raw = article();
    let chunked_gzip = |coding: &str| {
        let body = harness::codec::encode("gzip", &raw);
        let mut bytes = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ntransfer-encoding: {coding}, chunked\r\n\r\n{:x}\r\n",
            body.len()
        )
        .into_bytes();
        bytes.extend(&body);
        bytes.extend(b"\r\n0\r\n\r\n");
        bytes
    };
    let origin = ScriptedOrigin::start(Script::new().raw(chunked_gzip("gzip")))?;
    let edge = sluice().backend("origin", &origin).start().await?;
    let wire = edge
        .get("/")
        .header("accept-encoding", "gzip")
        .send()
        .await?;
    wire.assert_status(200)
        .assert_header("content-encoding", "gzip");
    assert!(wire.decoded_body()? == expected_for(&edge, &raw));

    let origin = ScriptedOrigin::start(Script::new().raw(chunked_gzip("compress")))?;
    let edge = sluice().backend("origin", &origin).start().await?;
    let wire = edge.get("/").send().await?;
    wire.assert_status(502);
    assert!(String::from_utf8_lossy(wire.body()).contains("transfer coding"));
    Ok(())
}
