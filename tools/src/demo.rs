//! A small publisher site to put Sluice in front of: the demo behind `scripts/serve`, and the
//! site the browser test loads direct and through Sluice.
//!
//! Every page names `https://www.publisher.example` in its links, images, scripts and
//! stylesheets, in every place a real site does: attributes, lazy-loading `data-src`, inline
//! styles, a `Link` preload header, a login redirect with a cookie scoped to the publisher's
//! host, a page under a Content-Security-Policy with host sources and hashes and a script with
//! Subresource Integrity, a fragment loaded by script, a video served in ranges, a UTF-16 page.
//! Text bodies are gzip or brotli as the request's `Accept-Encoding` allows. `/slow` sends its
//! head and first paragraph at once and the rest over three seconds, so streaming can be seen.
//!
//! The pages' scripts mark what worked on `<html>` (`data-app`, `data-fragment`, `data-sri`,
//! `data-hashed`, ...), so a browser test can ask the page.

use base64::Engine;
use harness::codec::encode_pieces;
use harness::{ReceivedRequest, Router, Script};
use sha2::Digest;
use std::time::Duration;

/// The publisher host the demo's pages name.
pub const HOST: &str = "www.publisher.example";

/// The pages a reader can open, each with what it shows.
pub const PAGES: [(&str, &str); 9] = [
    (
        "/",
        "links, images, lazy images, inline styles, a fragment loaded by script",
    ),
    ("/slow", "a long read that arrives over three seconds"),
    (
        "/next",
        "a Next.js page, streamed over two seconds as a Next.js server renders it",
    ),
    (
        "/login",
        "a login that redirects to /account with a session cookie",
    ),
    ("/account", "says whether the session cookie came back"),
    (
        "/secure",
        "a Content-Security-Policy with host sources and hashes, an SRI script",
    ),
    ("/media", "a video the browser fetches in ranges"),
    ("/utf16", "a page in UTF-16"),
    (
        "/fragment",
        "an HTML fragment, as an XHR or htmx call gets it",
    ),
];

const STYLE: &str = r#"body { font: 17px/1.5 Georgia, serif; max-width: 42rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
header { border-bottom: 3px solid #0b6e4f; margin-bottom: 1rem; background: url(https://www.publisher.example/static/stripe.svg) repeat-x bottom; }
a { color: #0b6e4f; }
.sluice-banner { background: #0b6e4f; color: white; padding: .4rem .8rem; font: 14px sans-serif; }
"#;

const SCRIPT: &str = r#"// The publisher's own script: its URLs point at the publisher's host.
document.documentElement.dataset.app = "ran";
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
  document.documentElement.dataset.headlines = "loaded";
});
// Lazy images: data-src becomes src once the page is up.
document.querySelectorAll("img[data-src]").forEach(function (img) { img.src = img.dataset.src; });
// More stories, fetched as an HTML fragment the way an htmx or XHR call does.
var more = document.getElementById("more");
if (more) {
  fetch("https://www.publisher.example/fragment", { headers: { "hx-request": "true" } })
    .then(function (r) { return r.text(); })
    .then(function (html) { more.innerHTML = html; document.documentElement.dataset.fragment = "loaded"; });
}
"#;

const TAG: &str = r#"// Injected by Sluice at the start of <head>.
document.documentElement.dataset.sluice = "injected";
document.addEventListener("DOMContentLoaded", function () {
  var banner = document.createElement("div");
  banner.className = "sluice-banner";
  banner.textContent = "Served through Sluice: links, images and scripts now point at " + location.host;
  document.body.insertBefore(banner, document.body.firstChild);
});
"#;

/// The script the `/secure` page loads with Subresource Integrity: its bytes must arrive as
/// they are.
const SRI_SCRIPT: &str = "document.documentElement.dataset.sri = \"ran\";\n";

/// The inline script and style the `/secure` page's policy allows by hash.
const HASHED_SCRIPT: &str = "document.documentElement.dataset.hashed = \"ran\";";
const HASHED_STYLE: &str = ".pinned { border-left: 4px solid #0b6e4f; padding-left: .5rem; }";

const LOGO: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="220" height="40"><rect width="220" height="40" rx="6" fill="#0b6e4f"/><text x="14" y="27" font-family="Georgia" font-size="20" fill="white">The Daily Example</text></svg>"##;

const STRIPE: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="8" height="4"><rect width="4" height="4" fill="#0b6e4f"/></svg>"##;

const ICONS: &str = r##"<svg xmlns="http://www.w3.org/2000/svg"><symbol id="star" viewBox="0 0 10 10"><path d="M5 0l1.5 3.5H10L7 6l1 4-3-2.5L2 10l1-4-3-2.5h3.5z" fill="#0b6e4f"/></symbol></svg>"##;

/// A two-second 96x64 VP8 test pattern, made with `ffmpeg -f lavfi -i
/// testsrc=size=96x64:rate=10 -t 2 -c:v libvpx -b:v 60k -an clip.webm`.
const CLIP: &[u8] = include_bytes!("../assets/clip.webm");

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
<footer><p><a href="//{HOST}/">Home</a> | <a href="https://{HOST}/slow">A long read</a> | <a href="https://{HOST}/next">Next.js page</a> | <a href="https://{HOST}/login">Sign in</a> | <a href="https://{HOST}/secure">Secure page</a> | <a href="https://{HOST}/media">Video</a> | <a href="https://{HOST}/utf16">UTF-16</a></p></footer>
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
<p><img data-src="https://{HOST}/static/logo.svg" alt="loaded lazily" width="110"></p>
<div style="background: url(https://{HOST}/static/stripe.svg) repeat-x bottom; padding-bottom: 6px">A styled box whose background is on the publisher's host.</div>
<p><svg width="20" height="20"><use xlink:href="https://{HOST}/static/icons.svg#star"></use></svg> Starred.</p>
<h2>More stories</h2>
<ul id="more"></ul>
<noscript><img src="https://{HOST}/static/logo.svg" alt="without scripts"></noscript>
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

/// A Next.js page as a Next.js server streams it: the shell and the first story at once, more
/// stories over two seconds, and `__NEXT_DATA__` at the end of `<body>`, where the Pages Router
/// writes it.
fn next_parts() -> Vec<String> {
    let page = layout(
        "Next.js",
        &format!(
            r#"<h1>A Next.js page</h1><p>Its data names the host bare, which only a JSON-aware rewrite can tell apart from text.</p>
<div id="__next"><a href="https://{HOST}/next/article">article</a>
@@REST@@
</div>
<script id="__NEXT_DATA__" type="application/json">{{"props":{{"pageProps":{{"host":"{HOST}","canonical":"https://{HOST}/next","image":"//{HOST}/static/logo.svg"}}}},"page":"/next","buildId":"demo"}}</script>"#
        ),
    );
    let (first, last) = page.split_once("@@REST@@").expect("marker");
    let mut parts = vec![first.to_owned()];
    parts.extend((1..=4).map(|i| {
        format!(
            "<section><h2>Story {i}</h2><p><img src=\"https://{HOST}/static/logo.svg\" alt=\"\" width=\"110\"></p>{}</section>\n",
            "<p>Rendered on the server, streamed as it is ready.</p>\n".repeat(20)
        )
    }));
    parts.push(last.to_owned());
    parts
}

fn account(request: &ReceivedRequest) -> String {
    let signed_in = request
        .header("cookie")
        .is_some_and(|c| c.split(';').any(|pair| pair.trim() == "session=demo"));
    let (state, text) = if signed_in {
        ("yes", "You are signed in: your session cookie came back.")
    } else {
        ("no", "You are not signed in.")
    };
    layout(
        "Account",
        &format!("<h1>Account</h1><p id=\"session\" data-session=\"{state}\">{text}</p>"),
    )
}

/// `sha256-...` / `sha384-...` of some bytes, as CSP and SRI write hashes.
fn hash(algorithm: &str, bytes: &[u8]) -> String {
    let digest = match algorithm {
        "sha384" => sha2::Sha384::digest(bytes).to_vec(),
        _ => sha2::Sha256::digest(bytes).to_vec(),
    };
    let digest = base64::engine::general_purpose::STANDARD.encode(digest);
    format!("{algorithm}-{digest}")
}

/// The `/secure` page's policy: the publisher's host as a source, hashes for the inline script
/// and style, nothing else.
fn secure_policy() -> String {
    format!(
        "default-src 'none'; script-src https://{HOST} '{}'; style-src https://{HOST} '{}'; img-src https://{HOST}; connect-src https://{HOST}; report-uri https://{HOST}/csp-report",
        hash("sha256", HASHED_SCRIPT.as_bytes()),
        hash("sha256", HASHED_STYLE.as_bytes()),
    )
}

fn secure_page() -> String {
    layout(
        "Secure",
        &format!(
            r#"<h1>A page under a strict policy</h1>
<script src="https://{HOST}/static/sri.js" integrity="{}" crossorigin="anonymous"></script>
<script>{HASHED_SCRIPT}</script>
<style>{HASHED_STYLE}</style>
<p class="pinned">This page's script and style are allowed by their hashes, and its library by its integrity.</p>"#,
            hash("sha384", SRI_SCRIPT.as_bytes()),
        ),
    )
}

fn media_page() -> String {
    layout(
        "Video",
        &format!(
            r#"<h1>A video</h1><video id="clip" src="https://{HOST}/static/clip.webm" preload="auto" muted width="192" height="128"></video>"#
        ),
    )
}

/// The UTF-16 page: little endian, byte-order mark first.
fn utf16_page() -> Vec<u8> {
    let page = format!(
        r#"<!doctype html><html lang="fr"><head><meta charset="utf-16"><title>Été</title></head><body>
<h1>Une page en UTF-16</h1><p><img id="logo" src="https://{HOST}/static/logo.svg" alt="logo"> <a href="https://{HOST}/">Accueil</a></p>
</body></html>"#
    );
    std::iter::once(0xfeff_u16)
        .chain(page.encode_utf16())
        .flat_map(u16::to_le_bytes)
        .collect()
}

fn headlines() -> String {
    format!(
        r#"{{"headlines":[{{"title":"Rivers rise","url":"https:\/\/{HOST}\/slow"}},{{"title":"Next.js page","url":"https://{HOST}/next"}}]}}"#
    )
}

fn fragment() -> String {
    format!(
        "<li><a href=\"https://{HOST}/slow\">The long read</a></li><li><a href=\"https://{HOST}/next\">A Next.js page</a></li>"
    )
}

/// The q-value the request's `Accept-Encoding` gives `coding` (0 when it is not offered).
fn quality(request: &ReceivedRequest, coding: &str) -> f32 {
    let accepted = request.header("accept-encoding").unwrap_or("");
    accepted
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';');
            let name = parts.next()?.trim();
            if !name.eq_ignore_ascii_case(coding) && name != "*" {
                return None;
            }
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse().ok())?;
            Some(q)
        })
        .fold(0.0, f32::max)
}

/// The content coding to use for a request: br, then gzip, then none.
fn coding(request: &ReceivedRequest) -> Option<&'static str> {
    ["br", "gzip"]
        .into_iter()
        .find(|coding| quality(request, coding) > 0.0)
}

fn text(request: &ReceivedRequest, content_type: &str, body: String) -> Script {
    respond(request, content_type, vec![body], Duration::ZERO, &[])
}

/// A text response in the request's coding, in `pieces` sent `pause` apart, with extra headers.
fn respond(
    request: &ReceivedRequest,
    content_type: &str,
    pieces: Vec<String>,
    pause: Duration,
    extra: &[(&str, String)],
) -> Script {
    let coding = coding(request);
    let mut headers = vec![
        ("content-type", content_type.to_owned()),
        ("cache-control", "no-store".to_owned()),
        ("vary", "Accept-Encoding".to_owned()),
    ];
    headers.extend(extra.iter().cloned());
    if let Some(c) = coding {
        headers.push(("content-encoding", c.to_owned()));
    }
    let mut script = Script::new().head(200, headers);
    for (i, piece) in encode_pieces(coding, &pieces).into_iter().enumerate() {
        if i > 0 && !pause.is_zero() {
            script = script.pause(pause);
        }
        script = script.chunk(piece);
    }
    script.end()
}

fn raw(content_type: &str, body: impl AsRef<[u8]>) -> Script {
    let body = body.as_ref();
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

/// The video, in the range the request asks for (`bytes=a-b` or `bytes=a-`), as media servers
/// answer: 206 with `Content-Range`, or the whole with `Accept-Ranges`.
fn ranged(request: &ReceivedRequest, content_type: &str, body: &[u8]) -> Script {
    let range = request
        .header("range")
        .and_then(|r| r.trim().strip_prefix("bytes="))
        .and_then(|r| r.split_once('-'))
        .and_then(|(start, end)| {
            let start: usize = start.trim().parse().ok()?;
            let end = match end.trim() {
                "" => body.len() - 1,
                end => end.parse::<usize>().ok()?.min(body.len() - 1),
            };
            (start <= end).then_some((start, end))
        });
    let Some((start, end)) = range else {
        return Script::new()
            .head(
                200,
                [
                    ("content-type", content_type.to_owned()),
                    ("accept-ranges", "bytes".to_owned()),
                    ("content-length", body.len().to_string()),
                ],
            )
            .chunk(body)
            .end();
    };
    Script::new()
        .head(
            206,
            [
                ("content-type", content_type.to_owned()),
                ("accept-ranges", "bytes".to_owned()),
                (
                    "content-range",
                    format!("bytes {start}-{end}/{}", body.len()),
                ),
                ("content-length", (end - start + 1).to_string()),
            ],
        )
        .chunk(&body[start..=end])
        .end()
}

fn html(request: &ReceivedRequest, body: String) -> Script {
    text(request, "text/html; charset=utf-8", body)
}

/// The demo site's router.
pub fn router() -> Router {
    Router::from_fn(|request: &ReceivedRequest| {
        let path = request.path.split('?').next().unwrap_or("/");
        match path {
            "/" => respond(
                request,
                "text/html; charset=utf-8",
                vec![index()],
                Duration::ZERO,
                &[(
                    "link",
                    format!("<https://{HOST}/static/site.css>; rel=preload; as=style"),
                )],
            ),
            "/slow" => {
                let (first, rest) = slow_parts();
                let mut pieces = vec![first];
                pieces.extend(rest);
                respond(
                    request,
                    "text/html; charset=utf-8",
                    pieces,
                    Duration::from_millis(500),
                    &[],
                )
            }
            "/next" => respond(
                request,
                "text/html; charset=utf-8",
                next_parts(),
                Duration::from_millis(500),
                &[],
            ),
            "/login" => Script::new()
                .head(
                    302,
                    [
                        ("location", format!("https://{HOST}/account")),
                        (
                            "set-cookie",
                            format!("session=demo; Domain={HOST}; Path=/; HttpOnly; SameSite=Lax"),
                        ),
                        ("content-length", "0".to_owned()),
                    ],
                )
                .end(),
            "/account" => html(request, account(request)),
            "/secure" => respond(
                request,
                "text/html; charset=utf-8",
                vec![secure_page()],
                Duration::ZERO,
                &[("content-security-policy", secure_policy())],
            ),
            "/media" => html(request, media_page()),
            "/utf16" => raw("text/html; charset=utf-16", utf16_page()),
            "/fragment" => html(request, fragment()),
            "/csp-report" => Script::new().head(204, [("content-length", "0")]).end(),
            "/static/site.css" => text(request, "text/css; charset=utf-8", STYLE.to_owned()),
            "/static/app.js" => text(request, "text/javascript; charset=utf-8", SCRIPT.to_owned()),
            "/static/sri.js" => raw("text/javascript; charset=utf-8", SRI_SCRIPT),
            "/api/headlines.json" => text(request, "application/json", headlines()),
            "/sluice/tag.js" => text(request, "text/javascript; charset=utf-8", TAG.to_owned()),
            "/static/logo.svg" => raw("image/svg+xml", LOGO),
            "/static/stripe.svg" => raw("image/svg+xml", STRIPE),
            "/static/icons.svg" => raw("image/svg+xml", ICONS),
            "/static/clip.webm" => ranged(request, "video/webm", CLIP),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn request(accept_encoding: &str) -> ReceivedRequest {
        ReceivedRequest {
            method: "GET".into(),
            path: "/".into(),
            headers: vec![("accept-encoding".into(), accept_encoding.into())],
            raw_headers: vec![(
                "accept-encoding".into(),
                accept_encoding.as_bytes().to_vec(),
            )],
            at: std::time::Instant::now(),
        }
    }

    #[test]
    fn reads_accept_encoding_q_values() {
        assert_eq!(coding(&request("gzip;q=0.5")), Some("gzip"));
        assert_eq!(coding(&request("br;q=0, gzip")), Some("gzip"));
        assert_eq!(coding(&request("br;q=0.0, gzip;q=0")), None);
        assert_eq!(coding(&request("*;q=0.1")), Some("br"));
        assert_eq!(coding(&request("identity")), None);
    }
}
