//! What a failing test says, tested: the first lines of each failure name its cause. The
//! program under test is `fixtures/starter`, laid out as Fastly's Rust starter kit is, with a
//! bug (`/greet` without a name panics), a route to the `origin` backend its manifest points at
//! nothing, and one to an `api` backend it does not declare at all.

use crate::common::TestResult;
use harness::{Edge, EdgeBuilder, Script, ScriptedOrigin};
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;

fn starter_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/starter"))
        .canonicalize()
        .expect("the starter fixture")
}

fn starter() -> EdgeBuilder {
    Edge::boot().project(starter_dir())
}

/// The message `f` panics with.
fn failure_of(f: impl FnOnce()) -> String {
    let panic = std::panic::catch_unwind(AssertUnwindSafe(f)).expect_err("it should fail");
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

/// What `assert_status(200)` says of the starter's answer to `path`, once its log has a line
/// with `logged` (the guest's lines can come just after its response).
async fn status_failure_at(path: &str, logged: &str) -> Result<String, harness::HarnessError> {
    let edge = starter().start().await?;
    let wire = edge.get(path).send().await?;
    edge.log()
        .wait_for(logged, std::time::Duration::from_secs(5));
    Ok(failure_of(|| {
        wire.assert_status(200);
    }))
}

/// The first `n` lines of a message, with what changes from machine to machine, run to run or
/// edit to edit replaced: the checkout's folder, loopback ports, this file's line numbers.
fn first_lines(message: &str, n: usize) -> String {
    let repo = starter_dir()
        .parent()
        .and_then(|p| p.parent())
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let text = message.lines().take(n).collect::<Vec<_>>().join("\n");
    let text = text.replace(&repo, "[repo]");
    let text = regex::Regex::new(r"127\.0\.0\.1:\d+")
        .expect("a pattern")
        .replace_all(&text, "127.0.0.1:[port]");
    regex::Regex::new(r"messages\.rs:\d+:\d+")
        .expect("a pattern")
        .replace_all(&text, "messages.rs:[line]")
        .into_owned()
}

#[tokio::test]
async fn a_program_that_panics_is_named_by_its_own_panic_line() -> TestResult {
    let message = status_failure_at("/greet", "panicked at").await?;
    // The runtime's own Rust frames (an inherited RUST_BACKTRACE=1 asks Viceroy for them) would
    // bury the guest's lines in the log's tail; the guest's own frames stay.
    let (_, tail) = message
        .split_once("--- the edge's log")
        .expect("the log's tail");
    for host_frame in ["/rustc/", "wasmtime", "viceroy_lib", "tokio::"] {
        assert!(!tail.contains(host_frame), "{host_frame}: {tail}");
    }
    // (`fastly_compute_project::greet`, or with a crate hash in v0 mangling's form.)
    assert!(
        tail.contains("fastly_compute_project") && tail.contains("::greet"),
        "{tail}"
    );

    insta::assert_snapshot!(first_lines(&message, 2), @r"
    expected: status 200
    cause: the program panicked at src/main.rs:32:60: called `Option::unwrap()` on a `None` value
    ");
    Ok(())
}

#[tokio::test]
async fn a_backend_nobody_declared_is_named_with_where_to_declare_it() -> TestResult {
    let message = status_failure_at("/api", "does not exist").await?;

    insta::assert_snapshot!(first_lines(&message, 2), @r#"
    expected: status 200
    cause: the program asked for backend "api", which this test does not declare (.backend("api", &origin)) and [repo]/fixtures/starter/fastly.toml does not have under [local_server.backends]
    "#);
    assert!(
        !message.contains("/harness-"),
        "the instance's copy is never named"
    );
    Ok(())
}

#[tokio::test]
async fn a_backend_left_to_the_manifest_says_nothing_answered_where_it_points() -> TestResult {
    let message = status_failure_at("/origin", "Backend connection error").await?;

    let first = first_lines(&message, 2);
    assert!(
        first.contains("cause: the program asked backend \"origin\", which this test does not declare, so it went where [repo]/fixtures/starter/fastly.toml points it at http://127.0.0.1:[port]"),
        "{first}"
    );
    assert!(
        first.contains("declare it with .backend(\"origin\", &origin)"),
        "{first}"
    );
    Ok(())
}

#[tokio::test]
async fn a_store_the_manifest_does_not_have_is_warned_about() -> TestResult {
    // A typo: the program reads the Config Store `settings`.
    let edge = starter()
        .config("setting", "greeting", "Hej")
        .start()
        .await?;

    let wire = edge.get("/greet?name=Ada").send().await?;

    wire.assert_body("Hello, Ada!\n");
    insta::assert_snapshot!(first_lines(&edge.warnings().join("\n"), 1), @r#"the test declares the Config Store "setting", which [repo]/fixtures/starter/fastly.toml does not have (it has: settings): the program reaches it only by that exact name"#);
    Ok(())
}

#[tokio::test]
async fn a_manifest_that_does_not_parse_is_named_by_its_path() -> TestResult {
    let folder = tempfile::tempdir()?;
    let broken = folder.path().join("fastly.toml");
    std::fs::write(&broken, "manifest_version = 3\n[local_server\n")?;

    let error = match starter().manifest(&broken).start().await {
        Ok(_) => panic!("a manifest that does not parse started"),
        Err(error) => error,
    };

    let debug = format!("{error:?}");
    assert_eq!(debug, error.to_string(), "Debug reads as Display does");
    let expected = format!("set-up failed: {} does not parse as TOML", broken.display());
    assert!(debug.starts_with(&expected), "{debug}");
    assert!(
        debug.contains('\n'),
        "line breaks are kept, not escaped: {debug}"
    );
    Ok(())
}

#[tokio::test]
async fn a_program_that_does_not_compile_is_named_by_its_package_and_the_compilers_words()
-> TestResult {
    let folder = tempfile::tempdir()?;
    std::fs::create_dir(folder.path().join("src"))?;
    std::fs::write(
        folder.path().join("Cargo.toml"),
        "[package]\nname = \"broken\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[workspace]\n",
    )?;
    std::fs::write(
        folder.path().join("src/main.rs"),
        "fn main() { let n: u32 = \"one\"; }\n",
    )?;
    std::fs::write(folder.path().join("fastly.toml"), "manifest_version = 3\n")?;

    let error = match Edge::boot().project(folder.path()).start().await {
        Ok(_) => panic!("a program that does not compile started"),
        Err(error) => error,
    };

    let message = format!("{error:?}");
    assert!(
        message.starts_with("set-up failed: building broken (")
            && message.contains("Cargo.toml) for wasm32-wasip1 failed:\n"),
        "{message}"
    );
    assert!(
        message.contains("error[E0308]: mismatched types"),
        "{message}"
    );
    assert!(
        !message.contains('\u{1b}'),
        "no terminal colours: {message}"
    );
    Ok(())
}

#[test]
fn an_unmet_expectation_names_the_origin_and_where_the_test_started_it() {
    let named = ScriptedOrigin::start(Script::new().head(204, [("x-a", "1")]).end())
        .expect("an origin")
        .named("the CMS")
        .expect(1);
    let by_backend = ScriptedOrigin::start(Script::new().head(204, [("x-a", "1")]).end())
        .expect("an origin")
        .expect(1);
    let _ = starter().backend("api", &by_backend);

    let message = failure_of(move || drop(named));
    let backend_message = failure_of(move || drop(by_backend));

    insta::assert_snapshot!(first_lines(&message, 2), @r"
    the CMS (the scripted origin on 127.0.0.1:[port]), started at tests/messages.rs:[line], did not receive what the test expected:
      - the origin: expected exactly 1 request, received 0
    ");
    assert!(
        backend_message.starts_with("backend \"api\" (the scripted origin on 127.0.0.1:"),
        "{backend_message}"
    );
}

#[tokio::test]
async fn the_starter_fixture_answers_as_its_tests_expect() -> TestResult {
    let origin = ScriptedOrigin::start(
        Script::new()
            .head(200, [("content-length", "6")])
            .chunk("origin")
            .end(),
    )?;
    let edge = starter().backend("origin", &origin).start().await?;

    edge.get("/").send().await?.assert_status(200);
    edge.get("/origin").send().await?.assert_body("origin");
    Ok(())
}
