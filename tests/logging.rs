//! Where Sluice's log lines go: a Fastly log endpoint (`sluice_log`, or the one the
//! `log_endpoint` setting names), one line per response with the request's vCPU time.

use crate::common::{TestResult, page, sluice};
use harness::{Edge, Route, Router, Script, ScriptedOrigin};

/// An origin with a page Sluice streams and an image it passes through.
fn site() -> Result<ScriptedOrigin, harness::HarnessError> {
    ScriptedOrigin::serve(
        "127.0.0.1:0",
        Router::new()
            .route(
                Route::path("/").respond(
                    Script::new()
                        .head(200, [("content-type", "text/html")])
                        .chunk(page("<p>hello</p>"))
                        .end(),
                ),
            )
            .route(
                Route::path("/logo.png").respond(
                    Script::new()
                        .head(200, [("content-type", "image/png")])
                        .chunk(&b"\x89PNG not really"[..])
                        .end(),
                ),
            ),
    )
}

async fn sluice_logging_to(
    origin: &ScriptedOrigin,
    endpoint: Option<&str>,
) -> Result<Edge, harness::HarnessError> {
    let builder = sluice().backend("origin", origin);
    match endpoint {
        Some(name) => builder.config("sluice_config", "log_endpoint", name),
        None => builder,
    }
    .start()
    .await
}

#[tokio::test]
async fn each_response_is_logged_to_sluice_log_with_its_vcpu_time() -> TestResult {
    let origin = site()?;
    let edge = sluice_logging_to(&origin, None).await?;

    edge.get("/")
        .send()
        .await?
        .assert_status(200)
        .assert_chunked();
    edge.get("/logo.png").send().await?.assert_status(200);

    let lines = edge.logs("sluice_log");
    let streamed = lines.iter().find(|l| l.starts_with("INFO streamed: "));
    let sent_whole = lines
        .iter()
        .find(|l| l.starts_with("INFO sent whole: 200, "));
    assert!(streamed.is_some_and(|l| l.contains(" vcpu ")), "{lines:#?}");
    assert!(
        sent_whole.is_some_and(|l| l.contains(" vcpu ")),
        "{lines:#?}"
    );
    assert_eq!(edge.log().vcpu_reports_ms().len(), 2, "{lines:#?}");
    Ok(())
}

#[tokio::test]
async fn the_log_endpoint_setting_names_where_the_lines_go() -> TestResult {
    let origin = site()?;
    let edge = sluice_logging_to(&origin, Some("ops_log")).await?;

    edge.get("/").send().await?.assert_status(200);

    let lines = edge.logs("ops_log");
    assert!(
        lines.iter().any(|l| l.starts_with("INFO streamed: ")),
        "{lines:#?}"
    );
    assert_eq!(edge.logs("sluice_log"), Vec::<String>::new());
    Ok(())
}

#[tokio::test]
async fn a_log_endpoint_fastly_cannot_hold_falls_back_to_sluice_log_and_says_so() -> TestResult {
    let origin = site()?;
    let edge = sluice_logging_to(&origin, Some("stdout")).await?;

    edge.get("/").send().await?.assert_status(200);

    let lines = edge.logs("sluice_log");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("WARN the setting `log_endpoint` has an invalid value")),
        "{lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("INFO streamed: ")),
        "{lines:#?}"
    );
    Ok(())
}
