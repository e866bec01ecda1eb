//! Where a URL on the publisher's host can stand in HTML, and how it can be written there: each
//! form the browser reads as that URL is pointed at the proxy, and nothing else changes.

use sluice_edge::pipeline::{ContentKind, Params, process};

const HOST: &str = "www.publisher.example";

fn rewrite(body: &str) -> String {
    let page = format!("<!doctype html><html><head></head><body>{body}</body></html>");
    let params = Params::new(HOST, "https", "proxy.example").with_kind(ContentKind::Html);
    let out = String::from_utf8(process(page.as_bytes(), &params).unwrap()).unwrap();
    let body = out.split("<body>").nth(1).unwrap();
    body.strip_suffix("</body></html>").unwrap().to_owned()
}

#[test]
fn a_url_written_with_character_references_is_found_and_only_the_url_is_replaced() {
    let cases = [
        (
            r#"<a href="https:&#x2F;&#x2F;www.publisher.example&#x2F;a?x=1&amp;y=&eacute;">a</a>"#,
            r#"<a href="https://proxy.example&#x2F;a?x=1&amp;y=&eacute;">a</a>"#,
        ),
        (
            // What an OWASP-style encoder writes: every character but letters and digits.
            r#"<a href="https&#x3a;&#x2f;&#x2f;www&#x2e;publisher&#x2e;example&#x2f;a">a</a>"#,
            r#"<a href="https://proxy.example&#x2f;a">a</a>"#,
        ),
        (
            r#"<img src="//www&#46;publisher&period;example/i.png">"#,
            r#"<img src="//proxy.example/i.png">"#,
        ),
        (
            r#"<div style="background:url(https&colon;//www.publisher.example/b.png)"></div>"#,
            r#"<div style="background:url(https://proxy.example/b.png)"></div>"#,
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(rewrite(input), expected, "{input}");
    }
}

#[test]
fn backslashes_stand_for_slashes_in_url_attributes_as_browsers_read_them() {
    for (input, expected) in [
        (
            r#"<a href="https:\\www.publisher.example/a">a</a>"#,
            r#"<a href="https://proxy.example/a">a</a>"#,
        ),
        (
            r#"<a href="/\www.publisher.example/a">a</a>"#,
            r#"<a href="//proxy.example/a">a</a>"#,
        ),
        // In text a backslash escapes: a path, not a host.
        (
            r#"<div data-note="see \/www.publisher.example">x</div>"#,
            r#"<div data-note="see \/www.publisher.example">x</div>"#,
        ),
    ] {
        assert_eq!(rewrite(input), expected, "{input}");
    }
}

#[test]
fn urls_inside_urls_are_rewritten_in_their_own_encoding() {
    for (input, expected) in [
        (
            r#"<a href="https://login.example/?.done=https%3A%2F%2Fwww.publisher.example%2Fa">in</a>"#,
            r#"<a href="https://login.example/?.done=https%3A%2F%2Fproxy.example%2Fa">in</a>"#,
        ),
        (
            r#"<a href="/sso?r=https%253A%252F%252Fwww.publisher.example%252F">in</a>"#,
            r#"<a href="/sso?r=https%253A%252F%252Fproxy.example%252F">in</a>"#,
        ),
        (
            r#"<script type="application/ld+json">{"url":"https:\u002F\u002Fwww.publisher.example\u002Fa"}</script>"#,
            r#"<script type="application/ld+json">{"url":"https:\u002F\u002Fproxy.example\u002Fa"}</script>"#,
        ),
    ] {
        assert_eq!(rewrite(input), expected, "{input}");
    }
}

#[test]
fn any_attribute_whose_whole_value_is_a_publisher_url_is_rewritten() {
    for (input, expected) in [
        (
            r#"<div itemscope itemid="https://www.publisher.example/story/1"></div>"#,
            r#"<div itemscope itemid="https://proxy.example/story/1"></div>"#,
        ),
        (
            r#"<button data-href="//www.publisher.example/next" data-share-url=" https://www.publisher.example/s ">x</button>"#,
            r#"<button data-href="//proxy.example/next" data-share-url=" https://proxy.example/s ">x</button>"#,
        ),
        // Every data-* attribute is script input: URLs anywhere in it are rewritten.
        (
            r#"<div data-config='{"api":"https://www.publisher.example/api"}'></div>"#,
            r#"<div data-config="{&quot;api&quot;:&quot;https://proxy.example/api&quot;}"></div>"#,
        ),
        // Words that mention a URL are text, not a URL.
        (
            r#"<img alt="Read https://www.publisher.example/a" title="https://www.publisher.example/t" src="/i.png">"#,
            r#"<img alt="Read https://www.publisher.example/a" title="https://proxy.example/t" src="/i.png">"#,
        ),
    ] {
        assert_eq!(rewrite(input), expected, "{input}");
    }
}

#[test]
fn what_is_not_the_publishers_url_is_left_byte_for_byte() {
    for input in [
        r#"<a href="https:&#x2F;&#x2F;cdn.www.publisher.example&#x2F;a" title="a &amp; b">a</a>"#,
        r#"<a href="https://elsewhere.example/?u=https%3A%2F%2Fwww.publisher.example.evil">a</a>"#,
        r#"<div itemid="urn:www.publisher.example"></div>"#,
        r#"<p title="&#8217;www.publisher.example">x</p>"#,
    ] {
        assert_eq!(rewrite(input), input, "{input}");
    }
}
