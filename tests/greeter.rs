//! The harness drives a Compute program that is not Sluice: Greeter (`fixtures/greeter`), a
//! project of its own with a Config Store, a Secret Store, a KV Store, geolocation, two
//! backends, a named log endpoint and a streamed response. What these tests do is what the
//! README's "Use the harness in your own project" shows.

use crate::common::{SECOND, TestResult, needs};
use harness::{Edge, EdgeBuilder, Route, Router, Script, ScriptedOrigin};
use std::path::PathBuf;
use std::time::Duration;

/// Greeter under Viceroy, with its own `fastly.toml`.
fn greeter() -> EdgeBuilder {
    Edge::boot().project(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/greeter"))
}

fn greeter_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/greeter"))
}

/// Greeter's snapshots live beside Sluice's, in the workspace's `snapshots/` folder.
fn snapshots() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings
}

#[tokio::test]
async fn greets_with_the_greeting_in_its_config_store() -> TestResult {
    let edge = greeter()
        .config("greeter", "greeting", "Hej")
        .start()
        .await?;

    edge.get("/hello?name=Ada")
        .send()
        .await?
        .assert_status(200)
        .assert_body("Hej, Ada!\n");

    assert_eq!(edge.logs("access"), ["GET /hello 200"]);
    Ok(())
}

#[tokio::test]
async fn a_shared_instance_serves_each_test_its_own_config() -> TestResult {
    let sharing = match std::env::var(harness::SHARE_ENV) {
        Ok(value) if value == "0" => Err(format!("{}=0 turns it off", harness::SHARE_ENV)),
        _ => Ok(()),
    };
    if needs("instance sharing", sharing).is_none() {
        return Ok(());
    }
    // Greeter only reads its KV Store, so its instances are shared; saying so keeps the test
    // true if it ever writes. A secret no other test sets keeps this configuration, and so the
    // instance, to this test.
    let configured = |greeting: &str| {
        greeter()
            .share_instance(true)
            .secret("greeter_secrets", "pool_probe", "a-shape-of-its-own")
            .config("greeter", "greeting", greeting)
    };
    let first = configured("Hej").start().await?;
    first
        .get("/hello")
        .send()
        .await?
        .assert_body("Hej, world!\n");
    let instance = first.instance_addr();
    let first_door = first.addr();
    drop(first);

    let second = configured("Hola").start().await?;
    assert_eq!(
        second.instance_addr(),
        instance,
        "the idle instance is lent again"
    );
    assert_ne!(second.addr(), first_door, "each lease has its own way in");
    second
        .get("/hello")
        .send()
        .await?
        .assert_body("Hola, world!\n");
    assert_eq!(
        second.logs("access"),
        ["GET /hello 200"],
        "a lease sees only its own log lines"
    );
    Ok(())
}

#[tokio::test]
async fn asks_the_api_with_the_secret_token_and_without_the_readers_cookies() -> TestResult {
    let api = ScriptedOrigin::serve(
        "127.0.0.1:0",
        Router::new().route(
            Route::path("/v1/profile")
                .respond(
                    Script::new()
                        .head(200, [("content-length", "15")])
                        .chunk("{\"name\":\"Ada\"}\n")
                        .end(),
                )
                .expect(1)
                .expect_header("authorization", "Bearer t0ken")
                .expect_no_header("cookie"),
        ),
    )?;
    let edge = greeter()
        .backend("api", &api)
        .secret("greeter_secrets", "api_token", "t0ken")
        .start()
        .await?;

    edge.get("/profile")
        .header("cookie", "session=reader-secret")
        .send()
        .await?
        .assert_status(200)
        .assert_body("{\"name\":\"Ada\"}\n");

    snapshots().bind(|| {
        insta::assert_yaml_snapshot!("greeter_api_request", api.requests()[0].snapshot());
    });
    Ok(())
}

#[tokio::test]
async fn serves_assets_from_its_kv_store_and_shares_the_instance_it_only_reads() -> TestResult {
    let logo = [0x89, b'P', b'N', b'G', 0x00, 0xff, 0xfe];
    // No other test declares these entries, so this configuration's instance is this test's.
    let with_assets = || {
        greeter().kv("assets", "logo.png", logo).kv_file(
            "assets",
            "robots-copy.txt",
            greeter_dir().join("data/robots.txt"),
        )
    };
    let edge = with_assets().start().await?;

    edge.get("/asset/logo.png")
        .send()
        .await?
        .assert_status(200)
        .assert_body(logo);
    let robots = "User-agent: *\nDisallow: /private/\n";
    // One entry from Greeter's fastly.toml (a path relative to its folder), one from the test.
    edge.get("/asset/robots.txt")
        .send()
        .await?
        .assert_body(robots);
    edge.get("/asset/robots-copy.txt")
        .send()
        .await?
        .assert_body(robots);
    edge.get("/asset/missing").send().await?.assert_status(404);

    // Greeter's module imports no KV write, so its instances are shared without a word from
    // the test: the next lease of the same stores is the same Viceroy.
    let instance = edge.instance_addr();
    drop(edge);
    let again = with_assets().start().await?;
    assert_eq!(again.instance_addr(), instance, "the instance is lent again");
    again
        .get("/asset/logo.png")
        .send()
        .await?
        .assert_body(logo);
    Ok(())
}

#[tokio::test]
async fn locates_each_reader_by_the_tests_geolocation() -> TestResult {
    let french = greeter()
        .geolocation("127.0.0.1", [("country_code", "FR")])
        .start()
        .await?;
    french.get("/where").send().await?.assert_body("FR\n");

    let nowhere = greeter().without_geolocation().start().await?;
    nowhere.get("/where").send().await?.assert_body("unknown\n");

    let default = greeter().start().await?;
    default.get("/where").send().await?.assert_body("US\n");
    Ok(())
}

#[tokio::test]
async fn asks_both_backends_once_each() -> TestResult {
    let ok = |name: &str| {
        let body = format!("{name} ok\n");
        Script::new()
            .head(200, [("content-length", body.len().to_string())])
            .chunk(body)
            .end()
    };
    let api = ScriptedOrigin::start(ok("api"))?.expect(1);
    let cms = ScriptedOrigin::start(ok("cms"))?
        .expect(1)
        .expect_header("host", "cms.greeter.example");
    let edge = greeter()
        .backend("api", &api)
        .backend("cms", &cms)
        .start()
        .await?;

    edge.get("/both")
        .send()
        .await?
        .assert_status(200)
        .assert_body("api: api ok\ncms: cms ok\n");
    Ok(())
}

#[tokio::test]
async fn streams_the_cms_page_as_it_arrives() -> TestResult {
    let cms = ScriptedOrigin::start(
        Script::new()
            .head(
                200,
                [("content-type", "text/html"), ("content-length", "26")],
            )
            .chunk("<p>first</p>")
            .pause(SECOND)
            .chunk("<p>second</p>\n")
            .end(),
    )?
    .expect(1);
    let edge = greeter().backend("cms", &cms).start().await?;

    let wire = edge.get("/page").send().await?;

    wire.assert_status(200)
        .assert_chunked()
        .assert_no_header("content-length")
        .assert_header("x-greeter", "streamed")
        .assert_first_chunk_before(cms.chunk_sent_at(1).unwrap(), "the CMS's second chunk");
    snapshots().bind(|| insta::assert_yaml_snapshot!("greeter_streamed_page", wire.snapshot()));
    Ok(())
}

#[tokio::test]
async fn a_page_the_cms_cuts_short_arrives_truncated() -> TestResult {
    let cms = ScriptedOrigin::start(
        Script::new()
            .head(
                200,
                [("content-type", "text/html"), ("content-length", "1000")],
            )
            .chunk("<p>the start</p>")
            .pause(Duration::from_millis(200))
            .cut(),
    )?;
    let edge = greeter().backend("cms", &cms).start().await?;

    let wire = edge.get("/page").send().await?;

    wire.assert_status(200).assert_truncated();
    assert!(b"<p>the start</p>".starts_with(wire.body()));
    Ok(())
}
