//! Bytes that are legal on the wire never break a response: header values carrying octets
//! 0x80-0xFF (obs-text), from the client or from the origin, through Viceroy. Each page is served
//! complete, nothing traps, and the origin's bytes reach the client unchanged.

use crate::common::{ORIGIN_HOST, SECOND, TestResult, page, sluice};
use harness::{Edge, Script, ScriptedOrigin, Wire};
use rstest::rstest;

/// A request is fine when the page arrives whole and the guest never trapped or panicked.
fn assert_served(wire: &Wire, edge: &Edge) {
    wire.assert_status(200).assert_chunked();
    let body = String::from_utf8_lossy(&wire.decoded_body().expect("decodes")).into_owned();
    assert!(body.contains("</html>"), "{body}");
    for sign in ["panicked", "trapped"] {
        assert!(!edge.log().contains(sign), "{}", edge.log().tail(20));
    }
}

fn html_origin() -> Result<ScriptedOrigin, harness::HarnessError> {
    ScriptedOrigin::start(
        Script::new()
            .head(200, [("content-type", "text/html; charset=utf-8")])
            .chunk(page("<p>hello</p>"))
            .end(),
    )
}

#[rstest]
#[case::user_agent("user-agent", &b"Mozilla/5.0 \xff\xfe"[..])]
#[case::cookie("cookie", b"pref=caf\xe9; theme=dark")]
#[case::consent_cookies(
    "cookie",
    b"euconsent-v2=C\xe9; __gpp=D\xe9~x; __gpp_sid=\xe9; us_privacy=1\xe9NN"
)]
#[case::id_cookie("cookie", b"synthetic_id=caf\xe9")]
#[case::accept_encoding("accept-encoding", b"gz\xe9p, br")]
#[case::accept_language("accept-language", b"fr-\xe9, de")]
#[case::id_header("x-synthetic-id", b"caf\xe9")]
#[case::sec_gpc("sec-gpc", b"1\xe9")]
#[case::custom("x-custom", b"caf\xe9")]
#[tokio::test]
async fn a_client_header_with_latin1_bytes_is_served(
    #[case] name: &str,
    #[case] value: &[u8],
) -> TestResult {
    let origin = html_origin()?;
    let edge = sluice().backend("origin", &origin).start().await?;

    let wire = edge.get("/").header(name, value).send().await?;

    assert_served(&wire, &edge);
    Ok(())
}

/// Viceroy itself refuses a Host that is not UTF-8 before the program runs (it builds the
/// program's URL from it); on Fastly the program would fall back to the publisher's host
/// (`policy::request::proxy_host`). Either way: never a trap, never a 500.
#[tokio::test]
async fn a_latin1_host_is_refused_by_viceroy_or_served_never_trapped() -> TestResult {
    let origin = html_origin()?;
    let edge = sluice().backend("origin", &origin).start().await?;

    let wire = edge
        .get("/")
        .header("host", &b"caf\xe9.example"[..])
        .send()
        .await?;

    match wire.status() {
        0 => assert!(wire.closed(), "{wire}"),
        _ => assert_served(&wire, &edge),
    }
    assert!(!edge.log().contains("panicked"));
    Ok(())
}

/// An origin answering `header: value` on top of an HTML page.
fn origin_with_header(name: &str, value: &[u8], content_type: &[u8]) -> Script {
    Script::new()
        .head(200, [("content-type", content_type), (name, value)])
        .chunk(page("<p>hello</p>"))
        .end()
}

#[rstest]
#[case::content_type("content-type", &b"text/html; name=\"caf\xe9.html\""[..], &b"text/html; name=\"caf\xe9.html\""[..])]
#[case::etag("etag", b"\"caf\xe9\"", b"W/\"caf\xe9\"")]
#[case::vary("vary", b"X-Caf\xe9", b"X-Caf\xe9, Accept-Encoding")]
#[case::cache_control("cache-control", b"max-age=60, x-caf\xe9", b"max-age=60, x-caf\xe9")]
#[case::set_cookie("set-cookie", b"pref=caf\xe9; Path=/", b"pref=caf\xe9; Path=/")]
#[case::custom("x-custom", b"caf\xe9", b"caf\xe9")]
#[tokio::test]
async fn an_origin_header_with_latin1_bytes_streams_and_keeps_its_bytes(
    #[case] name: &str,
    #[case] sent: &[u8],
    #[case] received: &[u8],
) -> TestResult {
    let content_type: &[u8] = if name == "content-type" {
        sent
    } else {
        b"text/html"
    };
    let origin = ScriptedOrigin::start(origin_with_header(name, sent, content_type))?;
    let edge = sluice().backend("origin", &origin).start().await?;

    let wire = edge.get("/").send().await?;

    assert_served(&wire, &edge);
    wire.assert_header_bytes(name, received);
    let body = String::from_utf8(wire.decoded_body()?)?;
    assert!(
        body.contains(&format!("http://{}/next", edge.addr())),
        "rewritten: {body}"
    );
    Ok(())
}

#[rstest]
#[case::custom("x-custom", &b"caf\xe9"[..])]
#[case::etag("etag", b"\"caf\xe9\"")]
#[case::set_cookie("set-cookie", b"pref=caf\xe9")]
#[tokio::test]
async fn a_passed_through_response_keeps_the_origins_bytes(
    #[case] name: &str,
    #[case] value: &[u8],
) -> TestResult {
    let body = b"\x89PNG not really".to_vec();
    let origin = ScriptedOrigin::start(
        Script::new()
            .head(
                200,
                [
                    ("content-type", &b"image/png"[..]),
                    ("content-length", body.len().to_string().as_bytes()),
                    (name, value),
                ],
            )
            .chunk(&body)
            .end(),
    )?;
    let edge = sluice().backend("origin", &origin).start().await?;

    let wire = edge.get("/logo.png").send().await?;

    wire.assert_status(200)
        .assert_header_bytes(name, value)
        .assert_body(&body);
    Ok(())
}

/// A `Content-Encoding` that is not even text names no coding Sluice knows: the body passes
/// through untouched, with its length.
#[tokio::test]
async fn a_latin1_content_encoding_passes_the_body_through_untouched() -> TestResult {
    let body = format!("opaque https://{ORIGIN_HOST}/ bytes").into_bytes();
    let origin = ScriptedOrigin::start(
        Script::new()
            .head(
                200,
                [
                    ("content-type", &b"text/html"[..]),
                    ("content-encoding", b"gzip\xe9"),
                    ("content-length", body.len().to_string().as_bytes()),
                ],
            )
            .chunk(&body)
            .end(),
    )?;
    let edge = sluice().backend("origin", &origin).start().await?;

    let wire = edge.get("/").send().await?;

    wire.assert_status(200)
        .assert_header_bytes("content-encoding", b"gzip\xe9")
        .assert_body(&body);
    assert!(!edge.log().wait_for("panicked", SECOND / 4));
    Ok(())
}
