//! What the publisher's headers and markup ask of the browser still holds through Sluice:
//! policies, cookies, ranges, charsets and byte-order marks.

use crate::common::{ORIGIN_HOST, TestResult, sluice};
use harness::{Edge, ReceivedRequest, Router, Script, ScriptedOrigin};

async fn through_sluice(
    script: Script,
) -> Result<(Edge, ScriptedOrigin), Box<dyn std::error::Error + Send + Sync>> {
    let origin = ScriptedOrigin::start(script)?;
    let edge = sluice().backend("origin", &origin).start().await?;
    Ok((edge, origin))
}

fn html_with(headers: Vec<(&str, String)>, body: &str) -> Script {
    let mut all = vec![("content-type", "text/html; charset=utf-8".to_owned())];
    all.extend(headers);
    Script::new().head(200, all).chunk(body).end()
}

/// Under a policy of hashes alone, a nonce allows nothing: the script keeps the bytes its hash
/// was made of. Where the policy lists the nonce, the script may change and is rewritten.
#[tokio::test]
async fn a_nonce_the_policy_does_not_list_leaves_a_pinned_script_as_it_is() -> TestResult {
    let script = format!("window.u = 'https://{ORIGIN_HOST}/x';");
    let page = format!(
        r#"<html><head><script nonce="r4nd">{script}</script><script nonce="listed">{script}</script></head></html>"#
    );
    let (edge, _origin) = through_sluice(html_with(
        vec![(
            "content-security-policy",
            "script-src 'sha256-AAAA' 'nonce-listed'".to_owned(),
        )],
        &page,
    ))
    .await?;

    let body = edge.get("/").send().await?.text()?;

    assert!(
        body.contains(&format!(r#"<script nonce="r4nd">{script}</script>"#)),
        "{body}"
    );
    let rewritten = format!("window.u = 'http://{}/x';", edge.addr());
    assert!(
        body.contains(&format!(r#"<script nonce="listed">{rewritten}</script>"#)),
        "{body}"
    );
    Ok(())
}

/// Browsers use a cookie's last `Domain`: when that one names the publisher, every `Domain`
/// goes, and the cookie lives on the proxy host.
#[tokio::test]
async fn a_cookie_with_two_domains_lives_on_the_proxy_host() -> TestResult {
    let (edge, _origin) = through_sluice(html_with(
        vec![(
            "set-cookie",
            "session=s1; Domain=other.example; Path=/; Domain=.publisher.example".to_owned(),
        )],
        "<p>x</p>",
    ))
    .await?;

    let wire = edge.get("/").send().await?;

    let cookie = wire
        .header_all("set-cookie")
        .into_iter()
        .find(|c| c.starts_with("session="))
        .expect("the origin's cookie");
    assert_eq!(cookie, "session=s1; Path=/");
    Ok(())
}

/// A policy that names the publisher's host thousands of times gains the proxy once per
/// directive, so the head stays within what Fastly sends; one that would pass it anyway is a
/// 502 that says so, never a head Fastly cuts off.
#[tokio::test]
async fn a_large_policy_grows_by_a_bounded_amount_and_never_past_fastlys_limit() -> TestResult {
    let sources: Vec<String> = (0..1400)
        .map(|i| format!("https://{ORIGIN_HOST}/s{i}/"))
        .collect();
    let policy = format!(
        "script-src {}; img-src https://{ORIGIN_HOST}",
        sources.join(" ")
    );
    assert!((50_000..56_000).contains(&policy.len()), "{}", policy.len());
    let (edge, _origin) = through_sluice(html_with(
        vec![("content-security-policy", policy.clone())],
        "<p>x</p>",
    ))
    .await?;

    let wire = edge.get("/").send().await?;

    wire.assert_status(200);
    let rewritten = wire.header("content-security-policy").expect("kept");
    let proxy = format!("http://{}", edge.addr());
    assert_eq!(rewritten.matches(&proxy).count(), 2, "once per directive");
    assert!(rewritten.len() <= policy.len() + 2 * (proxy.len() + 1));

    // A policy just under the limit, in every directive that takes sources: the proxy's
    // origin in each would take the head past it. Refused with the reason, before anything
    // streams, rather than a head Fastly would fail.
    let directives = sluice_edge::pipeline::csp::SOURCE_LIST_DIRECTIVES;
    let mut near_limit: String = directives
        .iter()
        .map(|d| format!("{d} https://{ORIGIN_HOST}; "))
        .collect();
    near_limit.push_str(&format!(
        "report-to {}",
        "r".repeat(70_000 - near_limit.len())
    ));
    let (edge, _origin) = through_sluice(html_with(
        vec![("content-security-policy", near_limit)],
        "<p>x</p>",
    ))
    .await?;
    let wire = edge.get("/").send().await?;
    wire.assert_status(502);
    let body = String::from_utf8_lossy(wire.body()).into_owned();
    assert!(body.contains("Content-Security-Policy"), "{body}");
    Ok(())
}

/// A range request answered with several parts (`multipart/byteranges`) says nothing of what
/// the resource is: the whole is asked for, and a page comes back whole and rewritten.
#[tokio::test]
async fn a_multi_range_request_for_a_page_gets_the_whole_page_rewritten() -> TestResult {
    let page = crate::common::page("<p>whole</p>");
    let whole = page.clone();
    let origin = ScriptedOrigin::serve(
        "127.0.0.1:0",
        Router::from_fn(move |request: &ReceivedRequest| {
            match request.header("range") {
                Some(_) => Script::new()
                    .head(206, [("content-type", "multipart/byteranges; boundary=B")])
                    .chunk(format!(
                        "--B\r\ncontent-type: text/html\r\ncontent-range: bytes 0-40/{}\r\n\r\n{}\r\n--B--\r\n",
                        whole.len(),
                        &whole[..41]
                    ))
                    .end(),
                None => Script::new()
                    .head(200, [("content-type", "text/html")])
                    .chunk(&whole)
                    .end(),
            }
        }),
    )?;
    let edge = sluice().backend("origin", &origin).start().await?;

    let wire = edge
        .get("/")
        .header("range", "bytes=0-40,41-99")
        .send()
        .await?;

    wire.assert_status(200).assert_no_header("content-range");
    assert!(wire.text()?.contains(&format!("http://{}/next", edge.addr())));
    Ok(())
}

/// A UTF-8 byte-order mark wins over a UTF-16 label, as in browsers: the page is read, and
/// rewritten, as UTF-8.
#[tokio::test]
async fn a_utf8_byte_order_mark_under_a_utf16_label_is_read_as_utf8() -> TestResult {
    let page = format!(
        "\u{feff}<html><head></head><body><a href=\"https://{ORIGIN_HOST}/caf\u{e9}\">caf\u{e9}</a></body></html>"
    );
    let (edge, _origin) = through_sluice(
        Script::new()
            .head(200, [("content-type", "text/html; charset=utf-16")])
            .chunk(&page)
            .end(),
    )
    .await?;

    let body = edge.get("/").send().await?.text()?;

    assert!(body.starts_with('\u{feff}'), "{body}");
    assert!(body.contains(&format!(
        "href=\"http://{}/caf\u{e9}\">caf\u{e9}</a>",
        edge.addr()
    )));
    Ok(())
}

/// The tag goes after a `<meta charset>` that opens `<head>`, so the charset stays within
/// the first 1024 bytes, and it names its own charset when the page's is not UTF-8.
#[tokio::test]
async fn the_tag_follows_the_charset_meta_and_names_its_charset() -> TestResult {
    let page =
        "<html><head><meta charset=\"windows-1252\"><title>t</title></head><body></body></html>";
    let (edge, _origin) = through_sluice(
        Script::new()
            .head(200, [("content-type", "text/html")])
            .chunk(page)
            .end(),
    )
    .await?;

    let body = edge.get("/").send().await?.text()?;

    assert!(
        body.starts_with("<html><head><meta charset=\"windows-1252\"><script src=\"/sluice/tag.js\" charset=\"utf-8\"></script><title>"),
        "{body}"
    );
    Ok(())
}
