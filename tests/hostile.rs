//! Hostile client requests through Viceroy: none may crash the guest, reach another host, or
//! put unsanitised input into a header or a page.

use crate::common::{ORIGIN_HOST, TestResult, assert_origin_untouched, page, sluice};
use harness::{Edge, Wire};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn edge_and_origin() -> Result<(Edge, MockServer), Box<dyn std::error::Error + Send + Sync>> {
    let origin = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            page("<script>var u = \"https://www.publisher.example/x\";</script>"),
            "text/html",
        ))
        .mount(&origin)
        .await;
    let edge = sluice()
        .backend("origin", &origin)
        .geolocation("127.0.0.1", [("country_code", "US")])
        .start()
        .await?;
    Ok((edge, origin))
}

fn assert_clean_headers(wire: &Wire, needle: &str) {
    for (name, value) in wire.headers() {
        assert!(!value.contains(needle), "{name}: {value} echoes the input");
        assert!(!value.contains('\r') && !value.contains('\n'));
    }
}

#[tokio::test]
async fn forged_or_oversized_ids_are_replaced_never_echoed() -> TestResult {
    let (edge, _origin) = edge_and_origin().await?;
    let long = "a".repeat(8000);
    for cookie in [
        "synthetic_id=x%0d%0aSet-Cookie:%20stolen=1".to_owned(),
        format!("synthetic_id={long}"),
        "synthetic_id=\"quoted\"; synthetic_id=second".to_owned(),
    ] {
        let wire = edge.get("/").header("cookie", &cookie).send().await?;
        wire.assert_status(200);
        assert_clean_headers(&wire, "stolen");
        assert_clean_headers(&wire, &long);
        let id = wire.header("x-synthetic-id").expect("a fresh ID");
        assert!(sluice_edge::policy::identity::is_well_formed(id), "{id}");
    }
    Ok(())
}

#[tokio::test]
async fn oversized_and_malformed_consent_strings_are_no_consent_not_a_failure() -> TestResult {
    let (edge, _origin) = edge_and_origin().await?;
    let huge = "B".repeat(60_000);
    for cookie in [
        format!("us_privacy={huge}"),
        format!("__gpp=DBABMA~{huge}"),
        format!("__gpp={huge}; __gpp_sid=7"),
        "__gpp=D////////////////////~x".to_owned(),
        format!("euconsent-v2={huge}"),
    ] {
        let wire = edge.get("/").header("cookie", &cookie).send().await?;
        wire.assert_status(200).assert_chunked();
        assert_clean_headers(&wire, &huge[..100]);
    }
    Ok(())
}

#[tokio::test]
async fn many_cookies_are_fine() -> TestResult {
    let (edge, origin) = edge_and_origin().await?;
    let cookies: Vec<String> = (0..500).map(|i| format!("k{i}=v{i}")).collect();

    let wire = edge
        .get("/")
        .header("cookie", cookies.join("; "))
        .send()
        .await?;

    wire.assert_status(200).assert_chunked();
    let received = &origin.received_requests().await.unwrap()[0];
    assert!(received.headers["cookie"].to_str()?.contains("k499=v499"));
    Ok(())
}

#[tokio::test]
async fn a_host_header_that_is_not_a_host_name_is_a_400_and_never_written_anywhere() -> TestResult {
    let (edge, origin) = edge_and_origin().await?;

    // Characters an HTTP server accepts in a Host, and that would break out of a quoted string
    // in a script; names DNS cannot hold. (Viceroy itself closes the connection on a Host with a
    // path, before the program runs.)
    for host in ["evil.example'-alert(1)-'", "a..example", "-a.example"] {
        let wire = edge.get("/").header("host", host).send().await?;

        wire.assert_status(400);
        let body = String::from_utf8_lossy(wire.body()).into_owned();
        assert!(
            !body.contains("alert(1)") && body.contains("Host"),
            "{body}"
        );
        assert_clean_headers(&wire, "alert(1)");
    }
    assert_origin_untouched(&origin).await;
    Ok(())
}

#[tokio::test]
async fn a_bracketed_ipv6_host_or_a_trailing_dot_is_the_proxy_host() -> TestResult {
    let (edge, _origin) = edge_and_origin().await?;
    for host in ["[::1]:7676", "news.example.", "NEWS.example:8443"] {
        let wire = edge.get("/").header("host", host).send().await?;

        wire.assert_status(200);
        let body = String::from_utf8(wire.decoded_body()?)?;
        let expected = format!("http://{}/x", host.to_ascii_lowercase());
        assert!(body.contains(&expected), "{host}: {body}");
    }
    Ok(())
}

/// Origins behind a CDN trust these headers for rate limits, geolocation and consent: the
/// client address ones carry the connection's address, every other claim is removed.
#[tokio::test]
async fn forged_forwarding_headers_never_reach_the_origin() -> TestResult {
    let (edge, origin) = edge_and_origin().await?;

    let claims = [
        ("x-forwarded-for", "1.2.3.4, 5.6.7.8"),
        ("x-forwarded-host", "evil.example"),
        ("forwarded", "for=1.2.3.4;host=evil.example"),
        ("true-client-ip", "1.2.3.4"),
        ("fastly-client-ip", "1.2.3.4"),
        ("x-real-ip", "1.2.3.4"),
        ("cf-connecting-ip", "1.2.3.4"),
        ("x-client-ip", "1.2.3.4"),
        ("x-original-url", "/admin"),
        ("x-rewrite-url", "/admin"),
        ("x-forwarded-port", "443"),
        ("x-forwarded-scheme", "https"),
        ("x-forwarded-ssl", "on"),
    ];
    let request = claims.iter().fold(edge.get("/"), |request, (name, value)| {
        request.header(name, value)
    });
    request.send().await?.assert_status(200);

    let received = &origin.received_requests().await.unwrap()[0];
    for name in ["x-forwarded-for", "true-client-ip", "fastly-client-ip"] {
        assert_eq!(received.headers[name], "127.0.0.1", "{name}");
    }
    for (name, _) in &claims[..] {
        if !["x-forwarded-for", "true-client-ip", "fastly-client-ip"].contains(name) {
            assert!(
                !received.headers.contains_key(*name),
                "{name} reached the origin"
            );
        }
    }
    Ok(())
}

/// A header the client's `Connection` names belongs to its connection alone (RFC 9110 7.6.1).
#[tokio::test]
async fn headers_the_clients_connection_header_names_stay_behind() -> TestResult {
    let (edge, origin) = edge_and_origin().await?;

    edge.get("/")
        .header("connection", "keep-alive, X-Secret-Hop")
        .header("x-secret-hop", "internal")
        .header("x-kept", "yes")
        .send()
        .await?
        .assert_status(200);

    let received = &origin.received_requests().await.unwrap()[0];
    assert!(!received.headers.contains_key("x-secret-hop"));
    assert_eq!(received.headers["x-kept"], "yes");
    Ok(())
}

/// Only the request target `*` is `OPTIONS *`: a CORS preflight to a path that ends in `*`
/// goes to the origin like any request.
#[tokio::test]
async fn an_options_request_to_a_path_ending_in_an_asterisk_reaches_the_origin() -> TestResult {
    let (edge, origin) = edge_and_origin().await?;

    for target in ["/api/items*", "/search?q=*"] {
        let wire = edge
            .request("OPTIONS", target)
            .header("origin", "https://app.example")
            .header("access-control-request-method", "POST")
            .send()
            .await?;
        wire.assert_status(200);
    }

    let received = origin.received_requests().await.unwrap();
    let targets: Vec<String> = received.iter().map(|r| r.url.path().to_owned()).collect();
    assert_eq!(targets, ["/api/items*", "/search"]);
    assert_eq!(received[1].url.query(), Some("q=*"));
    Ok(())
}

/// An HTTP/1.0 client reads a body to the end of the connection and could not tell a cut
/// stream from a whole one: it gets its page rewritten whole, with a length.
#[tokio::test]
async fn an_http_1_0_client_gets_the_whole_page_with_its_length() -> TestResult {
    let (edge, _origin) = edge_and_origin().await?;

    let wire = edge.get("/").http_1_0().send().await?;

    wire.assert_status(200)
        .assert_header_present("content-length");
    let body = String::from_utf8(wire.decoded_body()?)?;
    assert_eq!(
        body.len().to_string(),
        wire.header("content-length").unwrap_or_default()
    );
    assert!(
        body.contains(&format!("\"http://{}/x\"", edge.addr())),
        "{body}"
    );
    assert!(body.ends_with("</html>"));
    Ok(())
}

/// A Host the fastly crate cannot turn into a URL trapped the program (a 500 with a wasm
/// backtrace). Sluice reads the target itself and answers 400, before the origin is asked.
#[rstest::rstest]
#[case::empty_host_with_port(":80")]
#[case::port_above_65535("a.example:99999")]
#[tokio::test]
async fn a_target_that_is_not_a_url_is_a_400_not_a_trap(#[case] host: &str) -> TestResult {
    let (edge, origin) = edge_and_origin().await?;

    let wire = edge.get("/").header("host", host).send().await?;

    wire.assert_status(400);
    assert!(
        String::from_utf8_lossy(wire.body()).contains("URL"),
        "{wire}"
    );
    assert!(!edge.log().contains("panicked"), "{}", edge.log().tail(20));
    assert_origin_untouched(&origin).await;
    Ok(())
}

#[tokio::test]
async fn options_asterisk_is_answered_by_sluice_and_never_reaches_the_origin_as_a_path()
-> TestResult {
    let (edge, origin) = edge_and_origin().await?;

    let wire = edge.request("OPTIONS", "*").send().await?;

    wire.assert_status(204).assert_header_present("allow");
    assert_origin_untouched(&origin).await;
    Ok(())
}

/// `/\evil.example/x` is read as `//evil.example/x` (as browsers read it); the origin gets a
/// single leading slash, never a scheme-relative path.
#[rstest::rstest]
#[case::backslash("/\\evil.example/x")]
#[case::slashes("//evil.example/x")]
#[case::many_slashes("////evil.example/x?q=1")]
#[tokio::test]
async fn the_origin_never_receives_a_scheme_relative_path(#[case] target: &str) -> TestResult {
    let (edge, origin) = edge_and_origin().await?;

    edge.get(target).send().await?.assert_status(200);

    let received = &origin.received_requests().await.unwrap()[0];
    assert_eq!(received.url.path(), "/evil.example/x");
    assert_eq!(received.headers["host"], ORIGIN_HOST);
    Ok(())
}

/// The scheme of rewritten links comes from how the reader connected (plain HTTP here), not
/// from an absolute-form target the client wrote.
#[tokio::test]
async fn an_https_target_over_plain_http_does_not_make_links_https() -> TestResult {
    let (edge, _origin) = edge_and_origin().await?;
    let proxy = edge.addr().to_string();

    let wire = edge
        .get(&format!("https://{proxy}/page"))
        .header("host", &proxy)
        .send()
        .await?;

    let body = String::from_utf8(wire.decoded_body()?)?;
    assert!(body.contains(&format!("\"http://{proxy}/x\"")), "{body}");
    assert!(!body.contains("https://"), "{body}");
    Ok(())
}
