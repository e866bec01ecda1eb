//! A Compute program that is not written in Rust: `fixtures/js-hello`, JavaScript on
//! `@fastly/js-compute` from the npm registry. `.project(..)` builds it as the Fastly CLI does,
//! with its `fastly.toml`'s `[scripts] build` (after `npm ci`), and the harness serves and
//! drives it like any other program. One test, so one instance: Viceroy compiles a JavaScript
//! program's module (11 MB, the engine included) for several seconds of both cores at each boot.

use crate::common::{TestResult, needs};
use harness::{Edge, Script, ScriptedOrigin};

#[tokio::test]
async fn a_javascript_program_greets_and_passes_its_origins_answer_on() -> TestResult {
    let npm = std::process::Command::new("npm")
        .arg("--version")
        .output()
        .map_err(|e| format!("npm: {e}"))
        .and_then(|out| match out.status.success() {
            true => Ok(()),
            false => Err("npm --version failed".to_owned()),
        });
    if needs("npm, to build the JavaScript fixture", npm).is_none() {
        return Ok(());
    }
    let origin = ScriptedOrigin::start(
        Script::new()
            .head(
                200,
                [("content-type", "text/plain"), ("content-length", "7")],
            )
            .chunk("origin\n")
            .end(),
    )?
    .named("the JavaScript program's origin")
    .expect(1);
    let edge = Edge::boot()
        .project(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/js-hello"))
        .backend("origin", &origin)
        .start()
        .await?;

    let greeting = edge.get("/hello?name=Ada").send().await?;
    let passed_on = edge.get("/origin").send().await?;

    greeting
        .assert_status(200)
        .assert_header("content-type", "text/plain; charset=utf-8")
        .assert_body("Hello from JavaScript, Ada!\n");
    passed_on.assert_status(200).assert_body("origin\n");
    assert_eq!(origin.requests()[0].path, "/origin");
    Ok(())
}
