//! A small publisher site to put Sluice in front of: the demo behind `scripts/serve`.
//!
//! Every page links, loads images, scripts and stylesheets through the publisher's own host
//! (`https://www.publisher.example/...`), so what Sluice rewrites is visible in a browser; text
//! bodies are gzip or brotli as the request's `Accept-Encoding` allows. `/slow` sends its head
//! and first paragraph at once and the rest over three seconds, so streaming can be seen.

use crate::measure::compress_pieces;
use crate::origin::{ReceivedRequest, Router, Script};
use std::sync::Arc;
use std::time::Duration;

/// The publisher host the demo's pages name.
pub const HOST: &str = "www.publisher.example";

const STYLE: &str = r#"body { font: 17px/1.5 Georgia, serif; max-width: 42rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
header { border-bottom: 3px solid #0b6e4f; margin-bottom: 1rem; background: url(https://www.publisher.example/static/stripe.svg) repeat-x bottom; }
a { color: #0b6e4f; }
.sluice-banner { background: #0b6e4f; color: white; padding: .4rem .8rem; font: 14px sans-serif; }
"#;

const SCRIPT: &str = r#"// The publisher's own script: its URLs point at the publisher's host.
var api = "https://www.publisher.example/api/headlines.json";
fetch(api).then(function (r) { return r.json(); }).then(function (data) {
  var list = document.getElementById("headlines");
  if (!list) { return; }
  data.headlines.forEach(function (h) {
    var li = document.createElement("li");
    var a = document.createElement("a");
    a.href = h.url; a.textContent = h.title;
    li.appendChild(a); list.appendChild(li);
  });
});
"#;

const TAG: &str = r#"// Injected by Sluice at the start of <head>.
document.addEventListener("DOMContentLoaded", function () {
  var banner = document.createElement("div");
  banner.className = "sluice-banner";
  banner.textContent = "Served through Sluice: links, images and scripts now point at " + location.host;
  document.body.insertBefore(banner, document.body.firstChild);
});
"#;

const LOGO: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="220" height="40"><rect width="220" height="40" rx="6" fill="#0b6e4f"/><text x="14" y="27" font-family="Georgia" font-size="20" fill="white">The Daily Example</text></svg>"##;

const STRIPE: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="8" height="4"><rect width="4" height="4" fill="#0b6e4f"/></svg>"##;

fn layout(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en"><head>
<meta charset="utf-8"><title>{title} - The Daily Example</title>
<link rel="stylesheet" href="https://{HOST}/static/site.css">
<link rel="canonical" href="https://{HOST}/">
<meta property="og:url" content="https://{HOST}/">
<script src="https://{HOST}/static/app.js" defer></script>
</head><body>
<header><a href="https://{HOST}/"><img src="https://{HOST}/static/logo.svg" alt="The Daily Example"></a></header>
{body}
<footer><p><a href="//{HOST}/">Home</a> | <a href="https://{HOST}/slow">A long read</a> | <a href="https://{HOST}/next">Next.js page</a></p></footer>
</body></html>
"#
    )
}

fn index() -> String {
    layout(
        "Home",
        &format!(
            r#"<h1>Today</h1>
<p>Every link, image, script and stylesheet on this page names <code>{HOST}</code>; through Sluice they
all point at the proxy instead.</p>
<ul id="headlines"></ul>
<p><a href="https://{HOST}/slow">Read the long article</a>, which arrives over three seconds: through Sluice
the first paragraph shows at once.</p>
<form action="https://{HOST}/search"><input name="q" placeholder="Search"><button formaction="https://{HOST}/search">Go</button></form>"#
        ),
    )
}

fn slow_parts() -> (String, Vec<String>) {
    let page = layout(
        "A long read",
        &format!(
            "<h1>A long read</h1>\n<p>The first paragraph arrives with the head. <a href=\"https://{HOST}/\">Back home</a>.</p>\n@@REST@@"
        ),
    );
    let (first, last) = page.split_once("@@REST@@").expect("marker");
    let mut rest: Vec<String> = (1..=6)
        .map(|i| {
            format!(
                "<p>Paragraph {i}, sent {} ms after the first. <img src=\"https://{HOST}/static/logo.svg\" alt=\"\" width=\"110\"></p>\n{}",
                i * 500,
                "<p>Filler text to give the paragraph some weight.</p>\n".repeat(20)
            )
        })
        .collect();
    rest.push(last.to_owned());
    (first.to_owned(), rest)
}

fn next_page() -> String {
    layout(
        "Next.js",
        &format!(
            r#"<h1>A Next.js page</h1><p>Its data names the host bare, which only the buffered path rewrites.</p>
<div id="__next"><a href="https://{HOST}/next/article">article</a></div>
<script id="__NEXT_DATA__" type="application/json">{{"props":{{"pageProps":{{"host":"{HOST}","canonical":"https://{HOST}/next","image":"//{HOST}/static/logo.svg"}}}},"page":"/next","buildId":"demo"}}</script>"#
        ),
    )
}

fn headlines() -> String {
    format!(
        r#"{{"headlines":[{{"title":"Rivers rise","url":"https:\/\/{HOST}\/slow"}},{{"title":"Next.js page","url":"https://{HOST}/next"}}]}}"#
    )
}

/// The content coding to use for a request: br, then gzip, then none.
fn coding(request: &ReceivedRequest) -> Option<&'static str> {
    let accepted = request
        .header("accept-encoding")
        .unwrap_or("")
        .to_ascii_lowercase();
    let offers = |c: &str| {
        accepted
            .split(',')
            .any(|item| item.split(';').next().unwrap_or("").trim() == c && !item.contains("q=0"))
    };
    if offers("br") {
        Some("br")
    } else if offers("gzip") {
        Some("gzip")
    } else {
        None
    }
}

fn text(request: &ReceivedRequest, content_type: &str, body: String) -> Script {
    timed(request, content_type, vec![body], Duration::ZERO)
}

fn timed(
    request: &ReceivedRequest,
    content_type: &str,
    pieces: Vec<String>,
    pause: Duration,
) -> Script {
    let coding = coding(request);
    let mut headers = vec![
        ("content-type", content_type.to_owned()),
        ("cache-control", "no-store".to_owned()),
        ("vary", "Accept-Encoding".to_owned()),
    ];
    if let Some(c) = coding {
        headers.push(("content-encoding", c.to_owned()));
    }
    let mut script = Script::new().head(200, headers);
    for (i, piece) in compress_pieces(coding, &pieces).into_iter().enumerate() {
        if i > 0 && !pause.is_zero() {
            script = script.pause(pause);
        }
        script = script.chunk(piece);
    }
    script.end()
}

fn raw(content_type: &str, body: &str) -> Script {
    Script::new()
        .head(
            200,
            [
                ("content-type", content_type.to_owned()),
                ("content-length", body.len().to_string()),
            ],
        )
        .chunk(body)
        .end()
}

/// The demo site's router.
pub fn router() -> Router {
    Arc::new(|request: &ReceivedRequest| {
        let path = request.path.split('?').next().unwrap_or("/");
        match path {
            "/" => text(request, "text/html; charset=utf-8", index()),
            "/slow" => {
                let (first, rest) = slow_parts();
                let mut pieces = vec![first];
                pieces.extend(rest);
                timed(
                    request,
                    "text/html; charset=utf-8",
                    pieces,
                    Duration::from_millis(500),
                )
            }
            "/next" => text(request, "text/html; charset=utf-8", next_page()),
            "/static/site.css" => text(request, "text/css", STYLE.to_owned()),
            "/static/app.js" => text(request, "text/javascript", SCRIPT.to_owned()),
            "/api/headlines.json" => text(request, "application/json", headlines()),
            "/sluice/tag.js" => text(request, "text/javascript", TAG.to_owned()),
            "/static/logo.svg" => raw("image/svg+xml", LOGO),
            "/static/stripe.svg" => raw("image/svg+xml", STRIPE),
            _ => {
                let body = layout("Not found", "<h1>Not found</h1>");
                Script::new()
                    .head(
                        404,
                        [
                            ("content-type", "text/html; charset=utf-8".to_owned()),
                            ("content-length", body.len().to_string()),
                        ],
                    )
                    .chunk(body)
                    .end()
            }
        }
    })
}
