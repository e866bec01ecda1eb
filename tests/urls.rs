//! Every place and every form of a publisher URL, through Viceroy: what a browser reads as the
//! publisher's URL is pointed at the proxy, and what must keep its bytes (integrity) does.

use crate::common::{ORIGIN_HOST, TestResult, sluice};
use harness::{Edge, ReceivedRequest, Router, Script, ScriptedOrigin};

/// An origin that answers `/` with `page` and every other path with `script` as JavaScript.
fn page_and_script(page: String, script: String) -> Result<ScriptedOrigin, harness::HarnessError> {
    ScriptedOrigin::serve(
        "127.0.0.1:0",
        Router::from_fn(move |request: &ReceivedRequest| {
            let (content_type, body) = match request.path.as_str() {
                "/" => ("text/html", &page),
                path if path.ends_with(".css") => ("text/css", &script),
                _ => ("application/javascript", &script),
            };
            Script::new()
                .head(200, [("content-type", content_type)])
                .chunk(body)
                .end()
        }),
    )
}

async fn edge_for(origin: &ScriptedOrigin) -> Result<Edge, harness::HarnessError> {
    sluice().backend("origin", origin).start().await
}

#[tokio::test]
async fn encoded_and_unlisted_url_forms_stay_on_the_proxy() -> TestResult {
    let host = ORIGIN_HOST;
    let page = format!(
        r#"<!doctype html><html><head><script type="application/ld+json">{{"@id":"https:\u002F\u002F{host}\u002Fstory"}}</script></head><body>
<a href="https://login.example/?.done=https%3A%2F%2F{host}%2Faccount">sign in</a>
<a href="https:&#x2F;&#x2F;{host}&#x2F;a">refs</a>
<a href="https&#x3a;&#x2f;&#x2f;www&#x2e;publisher&#x2e;example&#x2f;b">owasp</a>
<a href="https:\\{host}/c">backslashes</a>
<div itemscope itemid="https://{host}/story" data-share-url="https://{host}/s"></div>
</body></html>"#
    );
    let origin = page_and_script(page, String::new())?;
    let edge = edge_for(&origin).await?;

    let body = edge.get("/").send().await?.text()?;

    let proxy = edge.addr();
    for expected in [
        format!(r#""@id":"http:\u002F\u002F{proxy}\u002Fstory""#),
        format!("?.done=http%3A%2F%2F{proxy}%2Faccount"),
        format!(r#"href="http://{proxy}&#x2F;a""#),
        format!(r#"href="http://{proxy}&#x2f;b""#),
        format!(r#"href="http://{proxy}/c""#),
        format!(r#"itemid="http://{proxy}/story" data-share-url="http://{proxy}/s""#),
    ] {
        assert!(body.contains(&expected), "{expected}\n{body}");
    }
    assert!(
        !body.contains(host) && !body.contains("publisher&#x2e;"),
        "{body}"
    );
    Ok(())
}

#[tokio::test]
async fn a_redirect_written_with_a_backslash_stays_on_the_proxy() -> TestResult {
    let origin = ScriptedOrigin::start(
        Script::new()
            .head(
                302,
                [
                    ("location", format!("/\\{ORIGIN_HOST}/account")),
                    ("content-length", "0".to_owned()),
                ],
            )
            .end(),
    )?;
    let edge = edge_for(&origin).await?;

    let wire = edge.get("/login").send().await?;

    wire.assert_status(302)
        .assert_header("location", &format!("//{}/account", edge.addr()));
    Ok(())
}

/// Relative, root-relative and protocol-relative URLs of scripts and stylesheets with
/// `integrity` are marked, and their resources arrive with the bytes of their hashes.
#[tokio::test]
async fn checked_resources_arrive_byte_for_byte_whatever_their_url_form() -> TestResult {
    let script = format!("var api = 'https://{ORIGIN_HOST}/api';\n");
    let page = format!(
        r#"<html><head><script src="/app.js" integrity="sha384-a"></script><link rel="stylesheet" href="site.css" integrity="sha384-b"><script src="//{ORIGIN_HOST}/p.js" integrity="sha384-c"></script><a href="/page" integrity="sha384-d">a</a></head></html>"#
    );
    let origin = page_and_script(page, script.clone())?;
    let edge = edge_for(&origin).await?;

    let body = edge.get("/").send().await?.text()?;

    let proxy = edge.addr();
    for expected in [
        r#"src="/app.js?sluice-verbatim=1""#.to_owned(),
        r#"href="site.css?sluice-verbatim=1""#.to_owned(),
        format!(r#"src="//{proxy}/p.js?sluice-verbatim=1""#),
        r#"<a href="/page" integrity"#.to_owned(),
    ] {
        assert!(body.contains(&expected), "{expected}\n{body}");
    }
    for path in ["/app.js", "/site.css", "/p.js"] {
        let wire = edge
            .get(&format!("{path}?sluice-verbatim=1"))
            .send()
            .await?;
        wire.assert_status(200).assert_body(&script);
    }
    Ok(())
}

/// The marker keeps a script's or a stylesheet's bytes, nothing else: a page asked for with it
/// is rewritten and gets its identity handling like any page.
#[tokio::test]
async fn the_verbatim_marker_on_a_page_changes_nothing() -> TestResult {
    let page = crate::common::page("<p>page</p>");
    let origin = page_and_script(page, String::new())?;
    let edge = sluice()
        .backend("origin", &origin)
        .geolocation("127.0.0.1", [("country_code", "JP")])
        .start()
        .await?;

    let wire = edge.get("/?sluice-verbatim=1").send().await?;

    wire.assert_status(200)
        .assert_chunked()
        .assert_header_present("x-synthetic-id");
    assert!(wire.text()?.contains(&format!("http://{}/next", edge.addr())));
    assert_eq!(origin.requests()[0].path, "/");
    Ok(())
}

/// Scripts under an operator's `verbatim_paths` keep their bytes without a marker: for chunks
/// whose integrity a page sets from script.
#[tokio::test]
async fn scripts_under_verbatim_paths_keep_their_bytes() -> TestResult {
    let script = format!("import('https://{ORIGIN_HOST}/chunk.js');\n");
    let origin = page_and_script(String::new(), script.clone())?;
    let edge = sluice()
        .backend("origin", &origin)
        .config(
            "sluice_config",
            "verbatim_paths",
            "/static/chunks/, /vendor/",
        )
        .start()
        .await?;

    edge.get("/static/chunks/42.js")
        .send()
        .await?
        .assert_body(&script);
    let elsewhere = edge.get("/app.js").send().await?.text()?;
    assert!(elsewhere.contains(&format!("http://{}/chunk.js", edge.addr())));
    Ok(())
}

/// An import map's `integrity` entries that come through the proxy are marked, with the imports
/// that name them, and the module arrives with the bytes of its hash.
#[tokio::test]
async fn an_import_maps_checked_modules_arrive_byte_for_byte() -> TestResult {
    let module = format!("export const api = 'https://{ORIGIN_HOST}/api';\n");
    let page = format!(
        r#"<html><head><script type="importmap">{{"imports":{{"app":"https://{ORIGIN_HOST}/app.js"}},"integrity":{{"https://{ORIGIN_HOST}/app.js":"sha384-a"}}}}</script></head></html>"#
    );
    let origin = page_and_script(page, module.clone())?;
    let edge = edge_for(&origin).await?;

    let body = edge.get("/").send().await?.text()?;

    let marked = format!("http://{}/app.js?sluice-verbatim=1", edge.addr());
    assert!(
        body.contains(&format!(
            r#""imports":{{"app":"{marked}"}},"integrity":{{"{marked}":"sha384-a"}}"#
        )),
        "{body}"
    );
    edge.get("/app.js?sluice-verbatim=1")
        .send()
        .await?
        .assert_body(&module);
    Ok(())
}
