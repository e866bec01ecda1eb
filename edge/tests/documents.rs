//! The document as a whole: where the script tag goes and what charset it names, which
//! byte-order mark wins, and what a long comment costs.

use sluice_edge::pipeline::{ContentKind, Params, process};

const HOST: &str = "www.publisher.example";

fn params() -> Params {
    Params::new(HOST, "https", "proxy.example")
        .with_kind(ContentKind::Html)
        .with_inject_script("/sluice/tag.js")
}

fn rewrite(page: &str, params: &Params) -> String {
    String::from_utf8(process(page.as_bytes(), params).unwrap()).unwrap()
}

#[test]
fn the_tag_follows_a_charset_meta_that_opens_the_head_and_names_its_charset() {
    for (page, expected) in [
        (
            "<html><head><meta charset=\"windows-1252\"><title>t</title></head></html>",
            "<html><head><meta charset=\"windows-1252\"><script src=\"/sluice/tag.js\" charset=\"utf-8\"></script><title>t</title></head></html>",
        ),
        (
            "<html><head>\n<meta http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-1\">\n</head></html>",
            "<html><head>\n<meta http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-1\"><script src=\"/sluice/tag.js\" charset=\"utf-8\"></script>\n</head></html>",
        ),
        (
            "<html><head><meta charset=\"utf-8\"><title>t</title></head></html>",
            "<html><head><meta charset=\"utf-8\"><script src=\"/sluice/tag.js\"></script><title>t</title></head></html>",
        ),
        (
            "<html><head><title>t</title><meta charset=\"utf-8\"></head></html>",
            "<html><head><script src=\"/sluice/tag.js\"></script><title>t</title><meta charset=\"utf-8\"></head></html>",
        ),
        (
            "<html><head></head><body></body></html>",
            "<html><head><script src=\"/sluice/tag.js\"></script></head><body></body></html>",
        ),
        (
            "<!DOCTYPE html><title>t</title><p>no head or body",
            "<!DOCTYPE html><title>t</title><p>no head or body<script src=\"/sluice/tag.js\"></script>",
        ),
        ("<li>a fragment</li>", "<li>a fragment</li>"),
    ] {
        assert_eq!(rewrite(page, &params()), expected, "{page}");
    }
}

#[test]
fn a_utf8_byte_order_mark_wins_over_a_utf16_label() {
    let page = format!(
        "\u{feff}<html><head></head><body><a href=\"https://{HOST}/\u{e9}\">\u{e9}</a></body></html>"
    );
    let out = process(page.as_bytes(), &params().with_charset(Some("utf-16"))).unwrap();
    let out = String::from_utf8(out).expect("UTF-8 out, as the mark says");
    assert!(out.starts_with('\u{feff}'), "{out}");
    assert!(
        out.contains("<a href=\"https://proxy.example/\u{e9}\">\u{e9}</a>"),
        "{out}"
    );
}

#[test]
fn a_comment_within_the_html_memory_cap_passes_byte_for_byte_and_a_longer_one_fails() {
    // lol_html holds a comment whole, like a tag (see `pipeline::html`): up to its cap.
    let comment = format!(
        "<!-- {} https://{HOST}/in-a-comment -->",
        "c".repeat(6 << 20)
    );
    let page = |comment: &str| {
        format!(
            "<!doctype html><html><head></head><body><p>a</p>{comment}<p><a href=\"https://{HOST}/b\">b</a></p></body></html>"
        )
    };
    let out = rewrite(&page(&comment), &params());
    assert!(out.contains(&comment), "the comment is kept byte for byte");
    assert!(out.contains("<a href=\"https://proxy.example/b\">b</a></p></body></html>"));
    let longer = format!("<!-- {} -->", "c".repeat(20 << 20));
    let error = process(page(&longer).as_bytes(), &params()).unwrap_err();
    assert!(error.to_string().contains("memory limit"), "{error}");
}
