//! A Compute program that is not written in Rust: `fixtures/js-hello`, JavaScript on
//! `@fastly/js-compute` from the npm registry. `.project(..)` builds it as the Fastly CLI does,
//! with its `fastly.toml`'s `[scripts] build` (after `npm ci`), and the harness serves and
//! drives it like any other program. Both tests declare the same backend, so they share one
//! instance: Viceroy compiles a JavaScript program's module (11 MB, the engine included) for
//! several seconds at each boot.

use crate::common::{TestResult, needs};
use harness::{Edge, EdgeBuilder, Script, ScriptedOrigin};

/// The fixture with its `origin` backend answered by `origin`, when npm is here to build it.
fn js_hello(origin: &ScriptedOrigin) -> Option<EdgeBuilder> {
    let npm = std::process::Command::new("npm")
        .arg("--version")
        .output()
        .map_err(|e| format!("npm: {e}"))
        .and_then(|out| match out.status.success() {
            true => Ok(()),
            false => Err("npm --version failed".to_owned()),
        });
    needs("npm, to build the JavaScript fixture", npm)?;
    Some(
        Edge::boot()
            .project(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/js-hello"))
            .backend("origin", origin),
    )
}

#[tokio::test]
async fn a_javascript_program_greets_through_the_harness() -> TestResult {
    let origin = ScriptedOrigin::start(Script::new().head(204, [("x-a", "1")]).end())?.expect(0);
    let Some(js) = js_hello(&origin) else {
        return Ok(());
    };
    let edge = js.start().await?;

    let wire = edge.get("/hello?name=Ada").send().await?;

    wire.assert_status(200)
        .assert_header("content-type", "text/plain; charset=utf-8")
        .assert_body("Hello from JavaScript, Ada!\n");
    Ok(())
}

#[tokio::test]
async fn a_javascript_program_passes_its_origins_answer_on() -> TestResult {
    let origin = ScriptedOrigin::start(
        Script::new()
            .head(
                200,
                [("content-type", "text/plain"), ("content-length", "7")],
            )
            .chunk("origin\n")
            .end(),
    )?
    .expect(1);
    let Some(js) = js_hello(&origin) else {
        return Ok(());
    };
    let edge = js.start().await?;

    let wire = edge.get("/origin").send().await?;

    wire.assert_status(200).assert_body("origin\n");
    assert_eq!(origin.requests()[0].path, "/origin");
    Ok(())
}
