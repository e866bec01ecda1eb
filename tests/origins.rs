//! Scripted origins verify themselves: expectations on the origin and on each route are
//! checked when it is dropped, and a failure lists every request it received.

use crate::common::TestResult;
use harness::{Route, Router, Script, ScriptedOrigin, WireRequest};
use std::panic::{AssertUnwindSafe, catch_unwind};

fn ok() -> Script {
    Script::new().head(200, [("content-length", "0")]).end()
}

/// A 200 whose body is `body`, with its length.
fn answer(body: &str) -> Script {
    Script::new()
        .head(200, [("content-length", body.len().to_string())])
        .chunk(body)
        .end()
}

async fn get(origin: &ScriptedOrigin, target: &str, cookie: Option<&str>) -> TestResult {
    let mut request = WireRequest::new(origin.addr().to_string(), "GET", target);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await?;
    Ok(())
}

/// What dropping the origin panicked with, if it did.
fn drop_report(origin: ScriptedOrigin) -> Option<String> {
    let panic = catch_unwind(AssertUnwindSafe(move || drop(origin))).err()?;
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
}

#[tokio::test]
async fn an_origin_whose_expectations_are_met_drops_quietly() -> TestResult {
    let origin = ScriptedOrigin::start(ok())?
        .expect(1)
        .expect_header_present("x-trace");
    WireRequest::new(origin.addr().to_string(), "GET", "/")
        .header("x-trace", "1")
        .send()
        .await?
        .assert_status(200);
    assert_eq!(drop_report(origin), None);
    Ok(())
}

#[tokio::test]
async fn a_failed_expectation_reports_every_request_received() -> TestResult {
    let origin = ScriptedOrigin::serve(
        "127.0.0.1:0",
        Router::new()
            .route(
                Route::path("/page")
                    .respond(ok())
                    .expect(1)
                    .expect_no_header("cookie"),
            )
            .route(Route::prefix("/static/").respond(ok()).expect(1..)),
    )?;
    get(&origin, "/page?x=1", Some("session=reader")).await?;
    get(&origin, "/page", None).await?;
    get(&origin, "/elsewhere", None).await?;

    let report = drop_report(origin).expect("the origin panics when dropped");
    for line in [
        "route /page: expected exactly 1 request, received 2",
        "route /page: request 1 (GET /page?x=1) carries cookie: session=reader, which must not reach the origin",
        "route /static/*: expected at least 1 request, received 0",
        "requests received (3):",
        "1. [route /page] GET /page?x=1",
        "3. [no route: answered 404] GET /elsewhere",
    ] {
        assert!(
            report.contains(line),
            "the report lacks {line:?}:\n{report}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_request_no_route_takes_is_answered_404_naming_it() -> TestResult {
    let origin = ScriptedOrigin::serve("127.0.0.1:0", Router::new().route(Route::path("/")))?;
    WireRequest::new(origin.addr().to_string(), "POST", "/nowhere")
        .send()
        .await?
        .assert_status(404)
        .assert_body("no route for POST /nowhere\n");
    Ok(())
}

#[tokio::test]
async fn routes_match_by_method_and_predicate_in_order() -> TestResult {
    let origin = ScriptedOrigin::serve(
        "127.0.0.1:0",
        Router::new()
            .route(
                Route::any()
                    .method("POST")
                    .respond(answer("post"))
                    .expect(1),
            )
            .route(
                Route::when("range requests", |r| r.header("range").is_some())
                    .respond(answer("range"))
                    .expect(1),
            )
            .route(Route::any().respond(answer("any")).expect(1)),
    )?;
    let send = |method: &str, range: bool| {
        let request = WireRequest::new(origin.addr().to_string(), method, "/");
        if range {
            request.header("range", "bytes=0-1")
        } else {
            request
        }
    };
    send("POST", true).send().await?.assert_body("post");
    send("GET", true).send().await?.assert_body("range");
    send("GET", false).send().await?.assert_body("any");
    Ok(())
}

#[tokio::test]
async fn routes_are_chosen_by_header_value_header_presence_and_query() -> TestResult {
    let origin = ScriptedOrigin::serve(
        "127.0.0.1:0",
        Router::new()
            .route(
                Route::path("/api")
                    .header("accept", "application/json")
                    .respond(answer("json"))
                    .expect(1),
            )
            .route(
                Route::path("/api")
                    .header_present("authorization")
                    .respond(answer("signed in"))
                    .expect(1),
            )
            .route(
                Route::path("/list")
                    .query("page", "2 of 3")
                    .respond(answer("second page"))
                    .expect(1),
            )
            .route(Route::any().respond(answer("fallback")).expect(3)),
    )?;
    let ask = |target: &str, header: Option<(&str, &str)>| {
        let request = WireRequest::new(origin.addr().to_string(), "GET", target);
        match header {
            Some((name, value)) => request.header(name, value),
            None => request,
        }
    };

    ask("/api", Some(("accept", "application/json")))
        .send()
        .await?
        .assert_body("json");
    ask("/api", Some(("accept", "text/html")))
        .send()
        .await?
        .assert_body("fallback");
    ask("/api", Some(("authorization", "Bearer x")))
        .send()
        .await?
        .assert_body("signed in");
    ask("/list?sort=new&page=2%20of%203", None)
        .send()
        .await?
        .assert_body("second page");
    ask("/list?page=3", None).send().await?.assert_body("fallback");
    ask("/list", None).send().await?.assert_body("fallback");
    Ok(())
}

#[tokio::test]
async fn a_report_names_each_route_by_its_matchers() -> TestResult {
    let origin = ScriptedOrigin::serve(
        "127.0.0.1:0",
        Router::new().route(
            Route::path("/api")
                .method("POST")
                .header("accept", "application/json")
                .header_present("authorization")
                .query("v", "2")
                .respond(ok())
                .expect(1),
        ),
    )?;

    let report = drop_report(origin).expect("an unmet expectation fails");

    assert!(
        report.contains(
            "route POST /api [accept: application/json] [authorization] [?v=2]: expected exactly 1 request, received 0"
        ),
        "{report}"
    );
    Ok(())
}

#[tokio::test]
async fn a_wire_reads_its_body_as_text_or_json_and_says_what_it_lacks() -> TestResult {
    let body = "{\"name\":\"Ada\"}";
    let gzipped = harness::codec::encode("gzip", body.as_bytes());
    let origin = ScriptedOrigin::start(
        Script::new()
            .head(
                200,
                [
                    ("content-type", "application/json".to_owned()),
                    ("content-encoding", "gzip".to_owned()),
                    ("content-length", gzipped.len().to_string()),
                ],
            )
            .chunk(gzipped)
            .end(),
    )?;

    let wire = WireRequest::new(origin.addr().to_string(), "GET", "/")
        .send()
        .await?;

    assert_eq!(wire.text()?, body, "decoded, then read as UTF-8");
    let profile: serde_json::Value = wire.json()?;
    assert_eq!(profile["name"], "Ada");
    wire.assert_body_contains("\"Ada\"").assert_body_contains("");
    let missing = catch_unwind(AssertUnwindSafe(|| {
        wire.assert_body_contains("Grace");
    }))
    .expect_err("a body without the needle fails");
    let message = missing.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.starts_with("expected: a body containing \"Grace\""),
        "{message}"
    );
    Ok(())
}
