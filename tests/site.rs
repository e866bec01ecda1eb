//! The publisher's site works through Sluice as it works direct, on the wire through Viceroy:
//! redirects and URL-bearing headers point at the proxy, integrity checks hold with real
//! hashes, the script tag goes into documents only, ranges never deliver an un-rewritten part of
//! a page, and UTF-16 pages are rewritten in UTF-16.

use crate::common::{ORIGIN_HOST, TestResult, sluice};
use base64::Engine;
use harness::{Edge, ReceivedRequest, Router, Script, ScriptedOrigin};
use rstest::rstest;
use sha2::Digest;

const TAG: &str = r#"<script src="/sluice/tag.js"></script>"#;

async fn through_sluice(
    script: Script,
) -> Result<(Edge, ScriptedOrigin), Box<dyn std::error::Error + Send + Sync>> {
    let origin = ScriptedOrigin::start(script)?;
    let edge = sluice().backend("origin", &origin).start().await?;
    Ok((edge, origin))
}

fn sha(algorithm: &str, bytes: &[u8]) -> String {
    let digest = match algorithm {
        "sha256" => sha2::Sha256::digest(bytes).to_vec(),
        "sha384" => sha2::Sha384::digest(bytes).to_vec(),
        _ => unreachable!("a test names sha256 or sha384"),
    };
    format!(
        "{algorithm}-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

#[rstest]
#[case::moved_permanently(301)]
#[case::found(302)]
#[case::see_other(303)]
#[case::temporary_redirect(307)]
#[case::permanent_redirect(308)]
#[tokio::test]
async fn a_redirect_to_the_publishers_host_stays_on_the_proxy(#[case] status: u16) -> TestResult {
    let (edge, _origin) = through_sluice(
        Script::new()
            .head(
                status,
                [
                    (
                        "location",
                        format!("https://{ORIGIN_HOST}/login?next=%2Faccount"),
                    ),
                    ("content-length", "0".to_owned()),
                ],
            )
            .end(),
    )
    .await?;

    let wire = edge.get("/account").send().await?;

    wire.assert_status(status).assert_header(
        "location",
        &format!("http://{}/login?next=%2Faccount", edge.addr()),
    );
    Ok(())
}

#[tokio::test]
async fn url_bearing_headers_point_at_the_proxy() -> TestResult {
    let (edge, _origin) = through_sluice(
        Script::new()
            .head(
                200,
                [
                    ("content-type", "text/html".to_owned()),
                    ("content-location", format!("https://{ORIGIN_HOST}/article")),
                    ("refresh", format!("30; url=https://{ORIGIN_HOST}/next")),
                    ("link", format!("<https://{ORIGIN_HOST}/app.css>; rel=preload; as=style")),
                    (
                        "content-security-policy",
                        format!("default-src 'self'; img-src https://{ORIGIN_HOST}/img/; report-uri https://{ORIGIN_HOST}/csp"),
                    ),
                    ("set-cookie", format!("session=abc; Domain={ORIGIN_HOST}; Path=/; HttpOnly")),
                ],
            )
            .chunk(crate::common::page(""))
            .end(),
    )
    .await?;

    let wire = edge.get("/").send().await?;

    let proxy = format!("http://{}", edge.addr());
    wire.assert_status(200)
        .assert_header("content-location", &format!("{proxy}/article"))
        .assert_header("refresh", &format!("30; url={proxy}/next"))
        .assert_header("link", &format!("<{proxy}/app.css>; rel=preload; as=style"))
        .assert_header(
            "content-security-policy",
            &format!("default-src 'self'; img-src https://{ORIGIN_HOST}/img/ {proxy}/img/; report-uri {proxy}/csp"),
        );
    assert!(
        wire.header_all("set-cookie")
            .contains(&"session=abc; Path=/; HttpOnly"),
        "{wire}"
    );
    Ok(())
}

/// A script with `integrity` is pointed at the proxy with the verbatim marker; the proxy then
/// hands the script over byte for byte, and its real SHA-384 still matches. The origin never
/// sees the marker.
#[tokio::test]
async fn a_script_with_integrity_arrives_with_the_bytes_of_its_hash() -> TestResult {
    let app_js = format!("window.loaded = 'https://{ORIGIN_HOST}/data.json';\n");
    let integrity = sha("sha384", app_js.as_bytes());
    let page = format!(
        r#"<!doctype html><html><head><script src="https://{ORIGIN_HOST}/app.js" integrity="{integrity}" crossorigin="anonymous"></script></head><body></body></html>"#
    );
    let (js, html) = (app_js.clone(), page.clone());
    let origin = ScriptedOrigin::serve(
        "127.0.0.1:0",
        Router::from_fn(
            move |request: &ReceivedRequest| match request.path.as_str() {
                "/app.js" => Script::new()
                    .head(
                        200,
                        [
                            ("content-type", "application/javascript".to_owned()),
                            ("content-length", js.len().to_string()),
                        ],
                    )
                    .chunk(&js)
                    .end(),
                _ => Script::new()
                    .head(200, [("content-type", "text/html")])
                    .chunk(&html)
                    .end(),
            },
        ),
    )?;
    let edge = sluice().backend("origin", &origin).start().await?;

    let document = edge.get("/").send().await?.text()?;
    let marked = format!("http://{}/app.js?sluice-verbatim=1", edge.addr());
    assert!(
        document.contains(&format!(r#"src="{marked}" integrity="{integrity}""#)),
        "{document}"
    );
    let script = edge.get("/app.js?sluice-verbatim=1").send().await?;

    script.assert_status(200).assert_body(&app_js);
    assert_eq!(sha("sha384", script.body()), integrity);
    assert_eq!(origin.requests()[1].path, "/app.js");
    // Without the marker the same script is rewritten, as every script is.
    let plain = edge.get("/app.js").send().await?;
    assert!(plain.text()?.contains(&format!("http://{}/data.json", edge.addr())));
    Ok(())
}

/// An inline script a Content-Security-Policy allows by its SHA-256 keeps its bytes, so the
/// browser still runs it; the policy's host sources gain the proxy.
#[tokio::test]
async fn an_inline_script_pinned_by_a_policy_hash_is_left_as_it_is() -> TestResult {
    let inline = format!("document.documentElement.dataset.source = 'https://{ORIGIN_HOST}/x';");
    let hash = sha("sha256", inline.as_bytes());
    let policy = format!("script-src 'self' https://{ORIGIN_HOST} '{hash}'");
    let (edge, _origin) = through_sluice(
        Script::new()
            .head(
                200,
                [
                    ("content-type", "text/html".to_owned()),
                    ("content-security-policy", policy),
                ],
            )
            .chunk(format!(
                "<!doctype html><html><head><script>{inline}</script></head><body><a href=\"https://{ORIGIN_HOST}/a\">a</a></body></html>"
            ))
            .end(),
    )
    .await?;

    let wire = edge.get("/").send().await?;

    let body = wire.text()?;
    let kept = body
        .split("<script>")
        .nth(1)
        .and_then(|rest| rest.split("</script>").next())
        .expect("the inline script");
    assert_eq!(sha("sha256", kept.as_bytes()), hash);
    assert!(
        body.contains(&format!("http://{}/a", edge.addr())),
        "{body}"
    );
    wire.assert_header(
        "content-security-policy",
        &format!(
            "script-src 'self' https://{ORIGIN_HOST} http://{} '{hash}'",
            edge.addr()
        ),
    );
    Ok(())
}

#[rstest]
#[case::list_item("<li><a href=\"https://www.publisher.example/more\">more</a></li>")]
#[case::empty("")]
#[tokio::test]
async fn a_fragment_gets_no_script_tag(#[case] fragment: &str) -> TestResult {
    let (edge, _origin) = through_sluice(
        Script::new()
            .head(200, [("content-type", "text/html")])
            .chunk(fragment)
            .end(),
    )
    .await?;

    let wire = edge
        .get("/fragment")
        .header("hx-request", "true")
        .send()
        .await?;

    wire.assert_status(200).assert_chunked();
    let body = wire.text()?;
    assert!(!body.contains(TAG), "{body}");
    assert_eq!(
        body,
        fragment
            .replace(ORIGIN_HOST, &edge.addr().to_string())
            .replace("https://", "http://")
    );
    Ok(())
}

#[tokio::test]
async fn urls_in_any_letter_case_or_with_a_trailing_dot_are_rewritten() -> TestResult {
    let (edge, _origin) = through_sluice(
        Script::new()
            .head(200, [("content-type", "text/html")])
            .chunk("<html><head></head><body><a href=\"HTTPS://WWW.PUBLISHER.EXAMPLE/a\">a</a><img data-src=\"https://www.publisher.example./b.png\"></body></html>")
            .end(),
    )
    .await?;

    let body = edge.get("/").send().await?.text()?;

    let proxy = edge.addr();
    assert!(
        body.contains(&format!("href=\"http://{proxy}/a\"")),
        "{body}"
    );
    assert!(
        body.contains(&format!("data-src=\"http://{proxy}/b.png\"")),
        "{body}"
    );
    Ok(())
}

/// A page's range: the origin answers with a part, Sluice asks for the whole without the range
/// and answers 200 with the whole page rewritten.
#[tokio::test]
async fn a_range_of_a_page_is_answered_with_the_whole_page_rewritten() -> TestResult {
    let page = crate::common::page("<p>the whole page</p>");
    let whole = page.clone();
    let origin = ScriptedOrigin::serve(
        "127.0.0.1:0",
        Router::from_fn(
            move |request: &ReceivedRequest| match request.header("range") {
                Some(_) => Script::new()
                    .head(
                        206,
                        [
                            ("content-type", "text/html".to_owned()),
                            ("content-range", format!("bytes 0-9/{}", whole.len())),
                            ("content-length", "10".to_owned()),
                        ],
                    )
                    .chunk(&whole[..10])
                    .end(),
                None => Script::new()
                    .head(200, [("content-type", "text/html")])
                    .chunk(&whole)
                    .end(),
            },
        ),
    )?;
    let edge = sluice().backend("origin", &origin).start().await?;

    let wire = edge
        .get("/article")
        .header("range", "bytes=0-9")
        .header("if-range", "\"v1\"")
        .send()
        .await?;

    wire.assert_status(200)
        .assert_chunked()
        .assert_no_header("content-range");
    let body = wire.text()?;
    assert!(
        body.contains("the whole page") && body.contains(&format!("http://{}/next", edge.addr()))
    );
    let requests = origin.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests[0].header("range").is_some());
    assert!(requests[1].header("range").is_none() && requests[1].header("if-range").is_none());
    Ok(())
}

#[tokio::test]
async fn a_range_of_media_passes_through() -> TestResult {
    let part = vec![7u8; 100];
    let (edge, origin) = through_sluice(
        Script::new()
            .head(
                206,
                [
                    ("content-type", "video/webm".to_owned()),
                    ("content-range", "bytes 100-199/5000".to_owned()),
                    ("accept-ranges", "bytes".to_owned()),
                    ("content-length", part.len().to_string()),
                ],
            )
            .chunk(&part)
            .end(),
    )
    .await?;

    let wire = edge
        .get("/clip.webm")
        .header("range", "bytes=100-199")
        .send()
        .await?;

    wire.assert_status(206)
        .assert_header("content-range", "bytes 100-199/5000")
        .assert_header("accept-ranges", "bytes")
        .assert_body(&part);
    assert_eq!(origin.requests().len(), 1);
    Ok(())
}

fn utf16le(text: &str) -> Vec<u8> {
    std::iter::once(0xfeff_u16)
        .chain(text.encode_utf16())
        .flat_map(u16::to_le_bytes)
        .collect()
}

#[tokio::test]
async fn a_utf16_page_is_rewritten_in_utf16() -> TestResult {
    let page = format!(
        "<!doctype html><html><head><title>Été</title></head><body><a href=\"https://{ORIGIN_HOST}/a\">a</a></body></html>"
    );
    let (edge, _origin) = through_sluice(
        Script::new()
            .head(200, [("content-type", "text/html; charset=utf-16")])
            .chunk(utf16le(&page))
            .end(),
    )
    .await?;

    let wire = edge.get("/").send().await?;

    wire.assert_status(200).assert_chunked();
    let expected = page
        .replace(
            "<head>",
            r#"<head><script src="/sluice/tag.js" charset="utf-8"></script>"#,
        )
        .replace(
            &format!("https://{ORIGIN_HOST}"),
            &format!("http://{}", edge.addr()),
        );
    assert_eq!(wire.decoded_body()?, utf16le(&expected));
    Ok(())
}

#[tokio::test]
async fn a_page_in_a_charset_that_is_not_ascii_compatible_passes_through() -> TestResult {
    let body = b"\x1b$B$3$s$K$A$O\x1b(B https://www.publisher.example/".to_vec();
    let (edge, _origin) = through_sluice(
        Script::new()
            .head(
                200,
                [
                    ("content-type", "text/html; charset=iso-2022-jp".to_owned()),
                    ("content-length", body.len().to_string()),
                ],
            )
            .chunk(&body)
            .end(),
    )
    .await?;

    let wire = edge.get("/").send().await?;

    wire.assert_status(200)
        .assert_header("content-length", &body.len().to_string())
        .assert_body(&body);
    Ok(())
}
