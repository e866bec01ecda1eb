//! Resources the browser checks against a hash keep their bytes: every URL form of a script or
//! stylesheet with `integrity` that is fetched through the proxy is marked verbatim, and nothing
//! else is.

use sluice_edge::pipeline::{ContentKind, Params, process};

const HOST: &str = "www.publisher.example";

fn rewrite(head: &str) -> String {
    let page = format!("<html><head>{head}</head><body></body></html>");
    let params = Params::new(HOST, "http", "127.0.0.1:7676").with_kind(ContentKind::Html);
    String::from_utf8(process(page.as_bytes(), &params).unwrap()).unwrap()
}

#[test]
fn every_url_form_of_a_checked_script_or_stylesheet_is_marked() {
    for (input, expected) in [
        (
            r#"<script src="/app.js" integrity="sha384-a"></script>"#,
            r#"<script src="/app.js?sluice-verbatim=1" integrity="sha384-a"></script>"#,
        ),
        (
            r#"<link rel="stylesheet" href="a.css" integrity="sha384-b">"#,
            r#"<link rel="stylesheet" href="a.css?sluice-verbatim=1" integrity="sha384-b">"#,
        ),
        (
            r#"<link rel="modulepreload" href="//www.publisher.example/m.js?v=1" integrity="sha384-c">"#,
            r#"<link rel="modulepreload" href="//127.0.0.1:7676/m.js?v=1&sluice-verbatim=1" integrity="sha384-c">"#,
        ),
        (
            r#"<script src="https://www.publisher.example/app.js#x" integrity="sha384-d"></script>"#,
            r#"<script src="http://127.0.0.1:7676/app.js?sluice-verbatim=1#x" integrity="sha384-d"></script>"#,
        ),
    ] {
        let out = rewrite(input);
        assert!(out.contains(expected), "{input}\n{out}");
    }
}

#[test]
fn what_integrity_does_not_check_or_the_proxy_does_not_serve_is_not_marked() {
    for input in [
        r#"<a href="/page" integrity="sha384-a">a</a>"#,
        r#"<iframe src="/frame" integrity="sha384-a"></iframe>"#,
        r#"<link rel="icon" href="/favicon.ico" integrity="sha384-a">"#,
        r#"<script src="https://cdn.example/lib.js" integrity="sha384-a"></script>"#,
        r#"<script src="data:text/javascript,1" integrity="sha384-a"></script>"#,
        r#"<script src="/app.js"></script>"#,
    ] {
        let out = rewrite(input);
        assert!(!out.contains("sluice-verbatim"), "{input}\n{out}");
    }
}

#[test]
fn a_base_on_another_site_leaves_relative_urls_unmarked() {
    let out = rewrite(
        r#"<base href="https://static.example/"><script src="app.js" integrity="sha384-a"></script><script src="https://www.publisher.example/own.js" integrity="sha384-b"></script>"#,
    );
    assert!(out.contains(r#"<script src="app.js" integrity"#), "{out}");
    assert!(
        out.contains(r#"src="http://127.0.0.1:7676/own.js?sluice-verbatim=1""#),
        "{out}"
    );
}

#[test]
fn an_import_maps_integrity_entries_and_the_imports_naming_them_are_marked() {
    let out = rewrite(
        r#"<script type="importmap">{"imports":{"app":"https://www.publisher.example/app.js"},"integrity":{"https://www.publisher.example/app.js":"sha384-a"}}</script>"#,
    );
    assert!(
        out.contains(r#"{"imports":{"app":"http://127.0.0.1:7676/app.js?sluice-verbatim=1"},"integrity":{"http://127.0.0.1:7676/app.js?sluice-verbatim=1":"sha384-a"}}"#),
        "{out}"
    );
}
