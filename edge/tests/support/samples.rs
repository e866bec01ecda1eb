//! Realistic pages made in code, so the golden tests have real work in a clone of the
//! repository alone: a news article page, a script bundle, a stylesheet and an API response,
//! each naming the origin in the places real ones do (attributes, `srcset`, inline scripts and
//! styles, JSON-LD, escaped slashes, protocol-relative URLs, upper-case hosts), among text
//! with entities and multi-byte characters. The same bytes every run.

use super::{CorpusFile, Rng};
use sluice_edge::pipeline::ContentKind;
use std::fmt::Write as _;

/// The origin the samples name.
pub const HOST: &str = "news.sample.example";

const WORDS: &[&str] = &[
    "council",
    "harbour",
    "weather",
    "café",
    "élection",
    "budget",
    "river",
    "schools",
    "train",
    "concert",
    "market",
    "museum",
    "Zürich",
    "naïve",
    "data",
    "bridge",
    "festival",
    "€12",
    "report",
    "season",
    "東京",
    "summit",
    "climate",
    "late",
    "new",
    "quiet",
    "record",
    "🚲",
];

fn sentence(rng: &mut Rng, words: usize) -> String {
    let mut text = String::new();
    for i in 0..words {
        if i > 0 {
            text.push(' ');
        }
        text.push_str(WORDS[rng.below(WORDS.len())]);
    }
    text
}

/// A news article page of about `size` bytes.
fn article_page(size: usize) -> Vec<u8> {
    let mut rng = Rng::new(0xa871c1e);
    let mut page = format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Sample News &mdash; Today</title>
<meta property="og:image" content="https://{HOST}/img/og.jpg">
<link rel="canonical" href="https://{HOST}/today">
<link rel="preload" href="https://{HOST}/fonts/serif.woff2" as="font" crossorigin>
<link rel="stylesheet" href="https://{HOST}/css/site.css">
<link rel="alternate" type="application/rss+xml" href="//{HOST}/feed.xml">
<style>.hero{{background:url("https://{HOST}/img/hero.jpg") center/cover}} .logo{{background-image:url(//{HOST}/img/logo.svg)}}</style>
<script>window.__CONFIG__ = {{"api":"https://{HOST}/api/v2","cdn":"https:\/\/{HOST}\/static\/","ws":"wss://{HOST}/live"}};</script>
<script type="application/ld+json">{{"@context":"https://schema.org","@type":"NewsArticle","image":["https://{HOST}/img/lead.jpg"],"publisher":{{"logo":{{"url":"https://{HOST}/img/logo.png"}}}}}}</script>
<script src="https://{HOST}/js/app.js" defer></script>
</head>
<body class="article">
<header><a href="https://{HOST}/"><img src="https://{HOST}/img/logo.svg" alt="Sample News"></a>
<nav><a href="/world">World</a> <a href="https://{HOST}/sport">Sport</a> <a href="HTTPS://{upper}/Culture">Culture</a></nav>
<form action="https://{HOST}/search" method="get"><input name="q"></form></header>
<main>
"#,
        upper = HOST.to_uppercase()
    )
    .into_bytes();
    let mut story = 0;
    while page.len() < size {
        let title = sentence(&mut rng, 6);
        let mut block = String::new();
        let _ = write!(
            block,
            r#"<article id="s{story}"><h2><a href="https://{HOST}/story/{story}?ref=home&amp;utm=1">{title}</a></h2>
<picture><source srcset="https://{HOST}/img/{story}.avif 1x, https://{HOST}/img/{story}@2x.avif 2x" type="image/avif"><img src="https://{HOST}/img/{story}.jpg" srcset="//{HOST}/img/{story}-480.jpg 480w, //{HOST}/img/{story}-960.jpg 960w" sizes="(max-width: 600px) 480px, 960px" alt="{title}" loading="lazy"></picture>
"#
        );
        for _ in 0..1 + rng.below(4) {
            let words = 20 + rng.below(30);
            let _ = writeln!(
                block,
                "<p>{} &ldquo;{}&rdquo; &amp; {}.</p>",
                sentence(&mut rng, words),
                sentence(&mut rng, 3),
                sentence(&mut rng, 8)
            );
        }
        match story % 5 {
            0 => {
                let _ = writeln!(
                    block,
                    r#"<div class="embed" data-src="https://{HOST}/embed/{story}" style="background:url('https://{HOST}/img/bg{story}.png')"></div>"#
                );
            }
            1 => {
                let _ = writeln!(
                    block,
                    r#"<script>track("view", {{"story": {story}, "url": "https://{HOST}/story/{story}"}});</script>"#
                );
            }
            2 => {
                let _ = writeln!(
                    block,
                    r#"<video controls poster="https://{HOST}/img/v{story}.jpg"><source src="https://{HOST}/video/{story}.webm" type="video/webm"></video>"#
                );
            }
            3 => {
                let _ = writeln!(
                    block,
                    r#"<noscript><img src="https://{HOST}/pixel.gif?s={story}" alt=""></noscript><!-- related: https://{HOST}/story/{} -->"#,
                    story + 1
                );
            }
            _ => {
                let _ = writeln!(
                    block,
                    r#"<iframe src="https://{HOST}/widgets/poll/{story}" title="poll"></iframe>"#
                );
            }
        }
        block.push_str("</article>\n");
        page.extend_from_slice(block.as_bytes());
        story += 1;
    }
    page.extend_from_slice(
        format!(
            "</main><footer><a href=\"https://{HOST}/about\">About</a> &copy; Sample News</footer>\n<script src=\"//{HOST}/js/late.js\" async></script></body></html>\n"
        )
        .as_bytes(),
    );
    page
}

/// A script bundle of about `size` bytes: URLs in every quote, escaped slashes, template
/// literals, and a regular expression that looks like a comment.
fn script_bundle(size: usize) -> Vec<u8> {
    let mut rng = Rng::new(0x5c1297);
    let mut js = String::from("\"use strict\";(function(){var e={};\n");
    let mut n = 0;
    while js.len() < size {
        let name = WORDS[rng.below(WORDS.len())];
        let _ = match n % 6 {
            0 => writeln!(
                js,
                "e.u{n}=\"https://{HOST}/api/{n}?q=\"+encodeURIComponent(\"{name}\");"
            ),
            1 => writeln!(js, "e.v{n}='//{HOST}/img/'+{n}+'.png';"),
            2 => writeln!(js, "e.t{n}=`https://{HOST}/story/${{{n}}}/{name}`;"),
            3 => writeln!(
                js,
                "e.j{n}=JSON.parse('{{\"u\":\"https:\\\\/\\\\/{HOST}\\\\/x\\\\/{n}\"}}');"
            ),
            4 => writeln!(
                js,
                "e.r{n}=/\\/\\*{n}[a-z]+/g.test(\"{name}\")?\"http://{HOST}/legacy/{n}\":null;"
            ),
            _ => writeln!(
                js,
                "function f{n}(a){{return a.replace(\"https://{HOST}/\",\"/\")+{n}}}"
            ),
        };
        n += 1;
    }
    js.push_str("window.sample=e;})();\n");
    js.into_bytes()
}

/// A stylesheet of about `size` bytes.
fn stylesheet(size: usize) -> Vec<u8> {
    let mut css = format!(
        "@charset \"utf-8\";\n@import url(\"https://{HOST}/css/base.css\");\n@font-face{{font-family:Serif;src:url(https://{HOST}/fonts/serif.woff2) format(\"woff2\"),url('//{HOST}/fonts/serif.woff') format(\"woff\")}}\n"
    );
    let mut n = 0;
    while css.len() < size {
        let _ = writeln!(
            css,
            ".c{n}{{color:#{:06x};background:url(\"https://{HOST}/img/c{n}.png\") no-repeat}}\n.c{n}:hover{{background-image:image-set(url(//{HOST}/img/c{n}.webp) 1x,url(https://{HOST}/img/c{n}@2x.webp) 2x)}}",
            (n as u64 * 2_654_435_761) % 0xff_ffff
        );
        n += 1;
    }
    css.into_bytes()
}

/// An API response of about `size` bytes: JSON with plain and escaped URLs.
fn api_response(size: usize) -> Vec<u8> {
    let mut rng = Rng::new(0x7e57);
    let mut items = Vec::new();
    let mut length = 0;
    while length < size {
        let n = items.len();
        let item = format!(
            r#"{{"id":{n},"title":"{}","url":"https://{HOST}/story/{n}","image":"https:\/\/{HOST}\/img\/{n}.jpg","host":"{HOST}"}}"#,
            sentence(&mut rng, 5)
        );
        length += item.len() + 1;
        items.push(item);
    }
    format!(
        r#"{{"items":[{}],"next":"https://{HOST}/api/v2/page/2"}}"#,
        items.join(",")
    )
    .into_bytes()
}

/// The article in windows-1252, as older CMSs still serve it: the meta charset says so, and
/// the characters it cannot hold become numeric references.
fn windows_1252_article(size: usize) -> Vec<u8> {
    let page = String::from_utf8(article_page(size)).expect("the article is UTF-8");
    let page = page.replacen(
        r#"<meta charset="utf-8">"#,
        r#"<meta charset="windows-1252">"#,
        1,
    );
    // windows-1252 agrees with Latin-1 from 0xA0 up, which is every non-ASCII letter the words
    // use; anything else becomes a numeric character reference.
    let mut bytes = Vec::with_capacity(page.len());
    for c in page.chars() {
        match u32::from(c) {
            code @ (0..0x80 | 0xa0..0x100) => bytes.push(code as u8),
            code => bytes.extend_from_slice(format!("&#{code};").as_bytes()),
        }
    }
    bytes
}

/// An article page of about `size` bytes: the memory and size tests' page.
pub fn large_article(size: usize) -> Vec<u8> {
    article_page(size)
}

/// Every sample, as corpus files.
pub fn samples() -> Vec<CorpusFile> {
    let file = |name: &str, kind, bytes| CorpusFile {
        name: format!("sample:{name}"),
        kind,
        origin_host: HOST.to_owned(),
        bytes,
    };
    vec![
        file("article.html", ContentKind::Html, article_page(400_000)),
        file(
            "short-article.html",
            ContentKind::Html,
            article_page(20_000),
        ),
        file(
            "article-windows-1252.html",
            ContentKind::Html,
            windows_1252_article(60_000),
        ),
        file("bundle.js", ContentKind::JavaScript, script_bundle(200_000)),
        file("site.css", ContentKind::Css, stylesheet(60_000)),
        file("stories.json", ContentKind::Json, api_response(80_000)),
    ]
}
