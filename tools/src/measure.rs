//! Building blocks for measuring Sluice through Viceroy: large synthetic pages, a script that
//! sends them at full speed, and the heap a request used.

use harness::{EdgeBuilder, HarnessError, Script, ScriptedOrigin};
use std::time::Duration;

/// An HTML page of about `size` bytes whose links, images and scripts name `host`.
///
/// ```
/// let page = sluice_tools::measure::synthetic_html(10_000, "www.publisher.example");
/// assert!(page.len() >= 10_000 && page.ends_with(b"</html>\n"));
/// ```
pub fn synthetic_html(size: usize, host: &str) -> Vec<u8> {
    let mut page = format!(
        "<!doctype html><html><head><title>long</title><link rel=\"stylesheet\" href=\"https://{host}/site.css\"></head><body>\n"
    )
    .into_bytes();
    let mut i = 0;
    while page.len() < size {
        page.extend_from_slice(format!(
            "<article><h2><a href=\"https://{host}/story/{i}\">Story {i}</a></h2><img src=\"//{host}/img/{i}.jpg\" alt=\"\"><p>Paragraph {i} of a long page, with enough words in it to look like text and compress like text does, more or less.</p></article>\n"
        ).as_bytes());
        i += 1;
    }
    page.extend_from_slice(b"</body></html>\n");
    page
}

/// [`synthetic_html`] of about `size` bytes, plus a Next.js `__NEXT_DATA__` element of about
/// `data_bytes` near its start, whose values name `host` bare and as URLs.
///
/// ```
/// let page = sluice_tools::measure::synthetic_next_page(200_000, 50_000, "www.publisher.example");
/// let text = String::from_utf8(page).unwrap();
/// assert!(text.contains(r#"<script id="__NEXT_DATA__" type="application/json">{"props""#));
/// ```
pub fn synthetic_next_page(size: usize, data_bytes: usize, host: &str) -> Vec<u8> {
    let mut items = Vec::new();
    let mut length = 0;
    while length < data_bytes {
        let item = format!(
            r#"{{"host":"{host}","url":"https://{host}/story/{}"}}"#,
            items.len()
        );
        length += item.len() + 1;
        items.push(item);
    }
    let data = format!(
        r#"<script id="__NEXT_DATA__" type="application/json">{{"props":{{"pageProps":{{"items":[{}]}}}},"page":"/","buildId":"bench"}}</script>"#,
        items.join(",")
    );
    let page = synthetic_html(size, host);
    let at = page
        .windows(7)
        .position(|w| w == b"<body>\n")
        .map_or(0, |at| at + 7);
    [&page[..at], data.as_bytes(), &page[at..]].concat()
}

/// A script that sends an HTML `body` at full speed in 64 KiB pieces.
pub fn full_speed(body: &[u8], coding: &str) -> Script {
    full_speed_as(body, "text/html; charset=utf-8", coding)
}

/// A script that sends `body` as `content_type`, encoded with `coding` (`identity` sends no
/// Content-Encoding), at full speed in 64 KiB pieces.
///
/// ```
/// let script = sluice_tools::measure::full_speed_as(b"\x89PNG", "image/png", "identity");
/// assert_eq!(script.steps().len(), 3);
/// ```
pub fn full_speed_as(body: &[u8], content_type: &str, coding: &str) -> Script {
    full_speed_with(body, content_type, coding, &[])
}

/// [`full_speed_as`] with `extra` headers after the content type and coding.
///
/// ```
/// let kept = [("cache-control", "public, s-maxage=60")];
/// let script = sluice_tools::measure::full_speed_with(b"<p>a</p>", "text/html", "identity", &kept);
/// assert_eq!(script.steps().len(), 3);
/// ```
pub fn full_speed_with(
    body: &[u8],
    content_type: &str,
    coding: &str,
    extra: &[(&str, &str)],
) -> Script {
    let mut headers = vec![("content-type", content_type.to_owned())];
    if coding != "identity" {
        headers.push(("content-encoding", coding.to_owned()));
    }
    headers.extend(
        extra
            .iter()
            .map(|(name, value)| (*name, (*value).to_owned())),
    );
    body.chunks(64 * 1024)
        .fold(Script::new().head(200, headers), |s, piece| s.chunk(piece))
        .end()
}

/// What one measured request did.
pub struct Measured {
    /// The WebAssembly heap Viceroy reported for the request, in MiB.
    pub heap_mib: f64,
    /// The response as it crossed the wire.
    pub wire: harness::Wire,
    /// The instance's log.
    pub log: harness::LogBook,
}

/// Boots `edge` in front of an origin that plays `script` and sends it one GET (accepting gzip
/// and br, two minutes' timeout). Returns the response with the instance and the origin, which
/// stay up until dropped.
pub async fn one_request(
    edge: EdgeBuilder,
    script: Script,
) -> Result<(harness::Wire, harness::Edge, ScriptedOrigin), HarnessError> {
    let origin = ScriptedOrigin::start(script)?;
    let edge = edge.backend("origin", &origin).start().await?;
    let wire = edge
        .get("/")
        .header("accept-encoding", "gzip, br")
        .timeout(Duration::from_secs(120))
        .send()
        .await?;
    Ok((wire, edge, origin))
}

/// Like [`one_request`], and returns the WebAssembly heap (MiB) Viceroy reported for it, with
/// the response and the log.
pub async fn heap_of_one_request(
    edge: EdgeBuilder,
    script: Script,
) -> Result<Measured, HarnessError> {
    let (wire, edge, _origin) = one_request(edge, script).await?;
    let log = edge.log();
    let heap =
        tokio::task::spawn_blocking(move || log.wait_for_heap_reports(1, Duration::from_secs(10)))
            .await
            .map_err(|e| HarnessError::Setup(e.to_string()))?;
    let heap = heap.first().copied().ok_or_else(|| {
        HarnessError::Setup(format!(
            "Viceroy reported no heap figure:\n{}",
            edge.log().tail(20)
        ))
    })?;
    Ok(Measured {
        heap_mib: heap,
        wire,
        log: edge.log(),
    })
}
