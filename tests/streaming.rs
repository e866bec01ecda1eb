//! The streaming skeleton, proven on the wire through Viceroy: header commit order, chunked
//! framing, Content-Length removal, truncation on a mid-stream origin failure, and the
//! responses that never stream (/health, an unreachable origin).

use crate::common::{SECOND, TestResult, page, sluice, snapshot_settings};
use harness::{Edge, Script, ScriptedOrigin};
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn html_head() -> [(&'static str, &'static str); 1] {
    [("content-type", "text/html; charset=utf-8")]
}

/// An instance that injects no script, so bodies can be compared byte for byte.
async fn without_injection(origin: &ScriptedOrigin) -> Result<Edge, harness::HarnessError> {
    sluice()
        .backend("origin", origin)
        .config("sluice_config", "inject_script", "")
        .start()
        .await
}

#[tokio::test]
async fn commits_the_head_before_the_origin_sends_its_last_chunk() -> TestResult {
    let origin = ScriptedOrigin::start(
        Script::new()
            .head(200, html_head())
            .chunk("<!doctype html><html><head><title>slow</title></head><body><p>first</p>")
            .pause(SECOND / 2)
            .chunk("<p>second</p>")
            .pause(SECOND / 2)
            .chunk("<p>third</p></body></html>")
            .end(),
    )?;
    let edge = sluice().backend("origin", &origin).start().await?;

    let wire = edge.get("/").send().await?;

    wire.assert_status(200)
        .assert_header_present("x-sluice-version")
        .assert_chunked()
        .assert_head_before(
            origin.last_chunk_sent_at().expect("sent"),
            "the origin's last chunk",
        )
        .assert_first_chunk_before(
            origin.chunk_sent_at(1).expect("sent"),
            "the origin's second chunk",
        );
    Ok(())
}

#[tokio::test]
async fn frames_the_body_in_chunks_identical_to_the_origin_body() -> TestResult {
    let body = "<!doctype html><html><head></head><body>".to_owned()
        + &"<p>plain text, no origin URLs</p>".repeat(2000)
        + "</body></html>";
    let origin = ScriptedOrigin::start(
        Script::new()
            .head(200, html_head())
            .trickle(&body, 16 * 1024, Duration::from_millis(20))
            .end(),
    )?;
    let edge = without_injection(&origin).await?;

    let wire = edge.get("/").send().await?;

    wire.assert_status(200).assert_chunked().assert_body(&body);
    assert!(
        wire.chunk_times().len() > 1,
        "one chunk for a trickled body:\n{wire}"
    );
    Ok(())
}

#[tokio::test]
async fn strips_content_length_on_the_stream_path() -> TestResult {
    let origin = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(page("<p>hello</p>"), "text/html")
                .insert_header("x-origin", "kept"),
        )
        .expect(1)
        .mount(&origin)
        .await;
    let edge = sluice().backend("origin", &origin).start().await?;

    let wire = edge.get("/").send().await?;

    wire.assert_status(200)
        .assert_chunked()
        .assert_no_header("content-length")
        .assert_header("x-origin", "kept");
    snapshot_settings().bind(|| insta::assert_snapshot!("stream_head", wire.head_text()));
    Ok(())
}

#[tokio::test]
async fn truncates_without_terminator_when_the_origin_cuts_mid_body() -> TestResult {
    let first = "<!doctype html><html><head></head><body>".to_owned() + &"<p>kept</p>".repeat(100);
    let origin = ScriptedOrigin::start(
        Script::new()
            .head(
                200,
                [("content-type", "text/html"), ("content-length", "100000")],
            )
            .chunk(&first)
            .pause(Duration::from_millis(300))
            .cut(),
    )?;
    let edge = without_injection(&origin).await?;

    let wire = edge.get("/").send().await?;

    wire.assert_status(200)
        .assert_truncated()
        .assert_body_is_strict_prefix_of(first.clone() + "</body></html>");
    assert!(
        edge.log().wait_for("stream abandoned", 5 * SECOND),
        "the log says why:\n{}",
        edge.log().tail(20)
    );
    Ok(())
}

#[tokio::test]
async fn answers_health_without_asking_the_origin() -> TestResult {
    let origin = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&origin)
        .await;
    let edge = sluice().backend("origin", &origin).start().await?;

    let wire = edge.get("/health").send().await?;

    wire.assert_status(200).assert_body("ok\n");
    Ok(())
}

#[tokio::test]
async fn answers_502_when_the_origin_is_unreachable() -> TestResult {
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.local_addr()?.port()
    };
    let edge = sluice()
        .backend("origin", &format!("http://127.0.0.1:{closed_port}"))
        .start()
        .await?;

    let wire = edge.get("/").send().await?;

    wire.assert_status(502)
        .assert_no_header("transfer-encoding");
    assert!(String::from_utf8_lossy(wire.body()).contains("origin could not be reached"));
    snapshot_settings()
        .bind(|| insta::assert_snapshot!("unreachable_origin_head", wire.head_text()));
    Ok(())
}

#[tokio::test]
async fn keeps_viceroys_start_up_probe_away_from_the_origin() -> TestResult {
    let origin = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(page(""), "text/html"))
        .expect(1)
        .mount(&origin)
        .await;
    let edge = sluice().backend("origin", &origin).start().await?;

    edge.get("/only-request").send().await?.assert_status(200);

    let received = origin.received_requests().await.unwrap_or_default();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].url.path(), "/only-request");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_several_instances_side_by_side() -> TestResult {
    let mut runs = Vec::new();
    for i in 0..3 {
        runs.push(tokio::spawn(async move {
            let origin = MockServer::start().await;
            Mock::given(method("GET"))
                .respond_with(
                    ResponseTemplate::new(200)
                        .set_body_raw(page(&format!("<p>instance {i}</p>")), "text/html"),
                )
                .mount(&origin)
                .await;
            let edge = sluice().backend("origin", &origin).start().await?;
            let wire = edge.get("/").send().await?;
            wire.assert_status(200).assert_chunked();
            let body = String::from_utf8(wire.decoded_body()?)?;
            assert!(body.contains(&format!("instance {i}")), "{body}");
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(edge.addr())
        }));
    }
    let mut ports = Vec::new();
    for run in runs {
        ports.push(run.await??.port());
    }
    ports.sort();
    ports.dedup();
    assert_eq!(ports.len(), 3, "every instance has its own port");
    Ok(())
}
