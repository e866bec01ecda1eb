//! Next.js pages stream through Viceroy: the head and the content before `__NEXT_DATA__` reach
//! the client while the origin is still sending, the data element arrives rewritten, and a data
//! element past its cap is served with the ordinary rewrite, never refused.

use crate::common::{ORIGIN_HOST, SECOND, TestResult, sluice};
use harness::{Edge, Event, Script, ScriptedOrigin, Wire};
use std::time::{Duration, Instant};

/// The body bytes that had arrived by `instant`.
fn body_by(wire: &Wire, instant: Instant) -> &[u8] {
    let arrived: usize = wire
        .events()
        .iter()
        .filter_map(|e| match e {
            Event::Chunk { len, at } if *at < instant => Some(*len),
            _ => None,
        })
        .sum();
    &wire.body()[..arrived.min(wire.body().len())]
}

fn next_page_parts(data: &str) -> [String; 3] {
    [
        format!(
            "<!doctype html><html><head><title>n</title></head><body><div id=\"__next\"><p>first</p><a href=\"https://{ORIGIN_HOST}/a\">a</a></div>"
        ),
        format!("<script id=\"__NEXT_DATA__\" type=\"application/json\">{data}</script>"),
        "<script src=\"/_next/static/chunks/main.js\" async></script></body></html>".to_owned(),
    ]
}

async fn nextjs_edge(
    origin: &ScriptedOrigin,
    cap: Option<&str>,
) -> Result<Edge, harness::HarnessError> {
    let mut edge =
        sluice()
            .backend("origin", origin)
            .config("sluice_config", "post_processors", "nextjs");
    if let Some(cap) = cap {
        edge = edge.config("sluice_config", "max_next_data_bytes", cap);
    }
    edge.start().await
}

#[tokio::test]
async fn a_next_js_page_streams_and_its_data_arrives_rewritten() -> TestResult {
    let [before, data, after] = next_page_parts(&format!(
        r#"{{"props":{{"pageProps":{{"host":"{ORIGIN_HOST}","url":"https://{ORIGIN_HOST}/p"}}}}}}"#
    ));
    let origin = ScriptedOrigin::start(
        Script::new()
            .head(200, [("content-type", "text/html; charset=utf-8")])
            .chunk(&before)
            .pause(SECOND)
            .chunk(&data)
            .pause(SECOND)
            .chunk(&after)
            .end(),
    )?;
    let edge = nextjs_edge(&origin, None).await?;

    let wire = edge.get("/").send().await?;

    let last = origin.last_chunk_sent_at().expect("sent");
    wire.assert_status(200)
        .assert_chunked()
        .assert_no_header("content-length")
        .assert_head_before(last, "the origin's last chunk")
        .assert_first_chunk_before(last, "the origin's last chunk");
    let early = String::from_utf8_lossy(body_by(&wire, last)).into_owned();
    assert!(early.contains("<p>first</p>"), "before the end: {early}");
    let body = String::from_utf8(wire.decoded_body()?)?;
    let proxy = edge.addr();
    assert!(
        body.contains(&format!(
            r#"{{"props":{{"pageProps":{{"host":"{proxy}","url":"http://{proxy}/p"}}}}}}"#
        )),
        "{body}"
    );
    Ok(())
}

#[tokio::test]
async fn data_over_the_cap_is_served_with_the_ordinary_rewrite_and_logged() -> TestResult {
    let [before, data, after] = next_page_parts(&format!(
        r#"{{"host":"{ORIGIN_HOST}","url":"https://{ORIGIN_HOST}/p","filler":"{}"}}"#,
        "x".repeat(10_000)
    ));
    let origin = ScriptedOrigin::start(
        Script::new()
            .head(200, [("content-type", "text/html")])
            .chunk(before + &data + &after)
            .end(),
    )?;
    let edge = nextjs_edge(&origin, Some("4096")).await?;

    let wire = edge.get("/").send().await?;

    wire.assert_status(200).assert_chunked();
    let body = String::from_utf8(wire.decoded_body()?)?;
    let proxy = edge.addr();
    assert!(
        body.contains(&format!(
            r#""host":"{ORIGIN_HOST}","url":"http://{proxy}/p""#
        )),
        "{body}"
    );
    assert!(
        edge.log()
            .wait_for("larger than max_next_data_bytes", Duration::from_secs(5))
    );
    Ok(())
}
