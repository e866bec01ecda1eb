//! Next.js pages stream through Viceroy: the head, the content before `__NEXT_DATA__` and the
//! data element itself reach the client while the origin is still sending, rewritten.

use crate::common::{ORIGIN_HOST, SECOND, TestResult, sluice};
use harness::{Edge, Event, Script, ScriptedOrigin, Wire};
use std::time::Instant;

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

async fn nextjs_edge(origin: &ScriptedOrigin) -> Result<Edge, harness::HarnessError> {
    sluice()
        .backend("origin", origin)
        .config("sluice_config", "post_processors", "nextjs")
        .start()
        .await
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
    let edge = nextjs_edge(&origin).await?;

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
async fn the_data_element_streams_as_it_arrives() -> TestResult {
    let [before, data, after] = next_page_parts(&format!(
        r#"{{"props":{{"host":"{ORIGIN_HOST}","items":[1,2,3],"rest":"{}"}}}}"#,
        "x".repeat(100_000)
    ));
    let (first_half, second_half) = data.split_at(data.len() / 2);
    let origin = ScriptedOrigin::start(
        Script::new()
            .head(200, [("content-type", "text/html")])
            .chunk(before + first_half)
            .pause(SECOND)
            .chunk(second_half.to_owned() + &after)
            .end(),
    )?;
    let edge = nextjs_edge(&origin).await?;

    let wire = edge.get("/").send().await?;

    let last = origin.last_chunk_sent_at().expect("sent");
    let early = String::from_utf8_lossy(body_by(&wire, last)).into_owned();
    let proxy = edge.addr();
    assert!(
        early.contains(&format!(
            r#"{{"props":{{"host":"{proxy}","items":[1,2,3],"rest":"xxx"#
        )),
        "the first half of the data, rewritten, before the origin's last chunk: {}",
        &early[early.len().saturating_sub(300)..]
    );
    wire.assert_status(200).assert_chunked();
    assert!(String::from_utf8(wire.decoded_body()?)?.ends_with("</body></html>"));
    Ok(())
}
