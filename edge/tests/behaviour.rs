//! The pipeline's behaviour one rule at a time: streaming (output before input ends), errors
//! that are never silent, pass-through of what it cannot decode, and snapshots of small pages.

mod support;

use sluice_edge::pipeline::csp::InlineLocks;
use sluice_edge::pipeline::{
    ContentKind, Encoding, Params, PipelineError, PipelineSettings, process,
    process_response_streaming,
};
use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;
use support::{
    Pieces, SharedOut, decode, decode_prefix, encode, encode_flushed, encode_raw_deflate,
};

const HOST: &str = "www.publisher.example";

fn html() -> Params {
    Params::new(HOST, "https", "proxy.example")
        .with_kind(ContentKind::Html)
        .with_inject_script("/sluice/tag.js")
}

fn long_page() -> Vec<u8> {
    let mut page = b"<!doctype html><html><head><title>t</title></head><body>".to_vec();
    for i in 0..4000 {
        page.extend_from_slice(
            format!("<p>paragraph {i} <a href=\"https://{HOST}/p/{i}\">link</a></p>\n").as_bytes(),
        );
    }
    page.extend_from_slice(b"</body></html>");
    page
}

#[test]
fn the_client_can_decode_the_injected_script_before_the_origin_sends_its_last_chunk() {
    for encoding in Encoding::ALL {
        // The origin flushes as it goes, as a streaming origin does.
        let encoded = encode_flushed(encoding, &long_page(), 16 * 1024);
        let pieces: Vec<Vec<u8>> = encoded.chunks(4096).map(<[u8]>::to_vec).collect();
        let last = pieces.len() - 1;
        let out = SharedOut::default();
        let seen = Rc::new(RefCell::new(Vec::new()));
        let mut origin = Pieces::new(pieces);
        let (watch, record) = (out.clone(), Rc::clone(&seen));
        origin.on_piece = Some(Box::new(move |index| {
            // Before each origin chunk is handed over: what can the client decode so far?
            let decoded = decode_prefix(encoding, &watch.0.borrow());
            record.borrow_mut().push((index, decoded.len(), {
                let text = String::from_utf8_lossy(&decoded);
                text.contains(r#"<script src="/sluice/tag.js"></script>"#)
            }));
        }));
        let mut client = out.clone();
        process_response_streaming(origin, &mut client, &html().with_encoding(encoding)).unwrap();
        let seen = seen.borrow();
        let (_, decodable_before_last, script_before_last) = seen[last];
        assert!(
            script_before_last,
            "{encoding}: script not decodable before the last chunk: {seen:?}"
        );
        assert!(
            decodable_before_last > long_page().len() / 2,
            "{encoding}: only {decodable_before_last} bytes decodable before the last chunk"
        );
        assert_eq!(
            decode(encoding, &out.0.borrow()),
            process(&long_page(), &html()).unwrap()
        );
    }
}

#[test]
fn javascript_output_follows_the_input_chunk_by_chunk() {
    let params = Params::new(HOST, "https", "proxy.example").with_kind(ContentKind::JavaScript);
    let body = format!("var u = 'https://{HOST}/a.js';\n").repeat(2000);
    let out = SharedOut::default();
    let lengths = Rc::new(RefCell::new(Vec::new()));
    let mut origin = Pieces::new(body.as_bytes().chunks(1000).map(<[u8]>::to_vec).collect());
    let (watch, record) = (out.clone(), Rc::clone(&lengths));
    origin.on_piece = Some(Box::new(move |_| {
        record.borrow_mut().push(watch.0.borrow().len())
    }));
    let mut client = out.clone();
    process_response_streaming(origin, &mut client, &params).unwrap();
    let lengths = lengths.borrow();
    // After n chunks of 1000 bytes, nearly n * 1000 bytes (rewritten) are out.
    for (n, &len) in lengths.iter().enumerate() {
        assert!(
            len + 100 >= n * 1000 * 38 / 46,
            "chunk {n}: only {len} bytes out"
        );
    }
}

#[test]
fn injects_into_documents_only() {
    let tag = r#"<script src="/sluice/tag.js"></script>"#;
    let cases = [
        (
            "<html><body><p>x</p></body></html>".to_owned(),
            format!("<html><body>{tag}<p>x</p></body></html>"),
        ),
        // A document with neither <head> nor <body> tags gets the tag at its end.
        (
            "<!doctype html><title>t</title><p>x</p>".to_owned(),
            format!("<!doctype html><title>t</title><p>x</p>{tag}"),
        ),
        // A fragment answering an XHR, and an empty body, get nothing.
        ("<li>item</li>".to_owned(), "<li>item</li>".to_owned()),
        (
            "<p>fragment</p>\n".to_owned(),
            "<p>fragment</p>\n".to_owned(),
        ),
        (String::new(), String::new()),
    ];
    for (page, expected) in cases {
        let out = process(page.as_bytes(), &html()).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), expected, "{page:?}");
    }
}

#[test]
fn an_element_with_integrity_points_at_the_proxy_for_the_verbatim_bytes() {
    let page = format!(
        r#"<html><head><script src="https://{HOST}/app.js" integrity="sha384-abc" crossorigin="anonymous"></script><link rel="stylesheet" href="https://{HOST}/a.css?v=2#x" integrity="sha256-def"><script src="https://{HOST}/plain.js"></script></head></html>"#
    );
    let out = String::from_utf8(process(page.as_bytes(), &html()).unwrap()).unwrap();
    assert!(
        out.contains(
            r#"src="https://proxy.example/app.js?sluice-verbatim=1" integrity="sha384-abc""#
        ),
        "{out}"
    );
    assert!(
        out.contains(r#"href="https://proxy.example/a.css?v=2&sluice-verbatim=1#x""#),
        "{out}"
    );
    assert!(
        out.contains(r#"src="https://proxy.example/plain.js">"#),
        "{out}"
    );
}

#[test]
fn attribute_names_match_in_any_case_and_a_repeated_attribute_keeps_its_first_value() {
    // Browsers keep the first of repeated attributes and ignore the rest; Sluice rewrites the
    // one browsers use and leaves the ignored copy as the origin wrote it.
    let page = format!(
        r#"<html><body><A HREF="https://{HOST}/first" href="https://{HOST}/second">a</A><IMG SRC="//{HOST}/i.png" Style="background:url(https://{HOST}/b.png)"></body></html>"#
    );
    let out = String::from_utf8(process(page.as_bytes(), &html()).unwrap()).unwrap();
    assert!(
        out.contains(&format!(
            r#"<A HREF="https://proxy.example/first" href="https://{HOST}/second">"#
        )),
        "{out}"
    );
    assert!(
        out.contains(r#"<IMG SRC="//proxy.example/i.png" Style="background:url(https://proxy.example/b.png)">"#),
        "{out}"
    );
}

#[test]
fn inline_content_a_policy_pins_by_hash_is_left_as_it_is() {
    let script = format!("var u = 'https://{HOST}/api';");
    let page = format!(
        "<html><head><script>{script}</script><script nonce=\"n1\">{script}</script><script nonce=\"n2\">{script}</script><style>a{{background:url(https://{HOST}/b.png)}}</style></head><body style=\"background:url(https://{HOST}/c.png)\"></body></html>"
    );
    let locked = html().with_inline_locks(InlineLocks::of(
        "script-src 'sha256-abc=' 'nonce-n1'; style-src-attr 'sha256-def='",
    ));
    let out = String::from_utf8(process(page.as_bytes(), &locked).unwrap()).unwrap();
    assert!(
        out.contains(&format!("<script>{script}</script>")),
        "pinned: {out}"
    );
    assert!(
        out.contains("<script nonce=\"n1\">var u = 'https://proxy.example/api';</script>"),
        "a nonce the policy lists allows any text: {out}"
    );
    assert!(
        out.contains(&format!("<script nonce=\"n2\">{script}</script>")),
        "a nonce the policy does not list allows nothing: {out}"
    );
    assert!(out.contains("url(https://proxy.example/b.png)"), "{out}");
    assert!(out.contains(&format!("url(https://{HOST}/c.png)")), "{out}");
}

#[test]
fn a_nonce_under_a_policy_of_hashes_alone_is_not_an_allowance() {
    let script = format!("var u = 'https://{HOST}/api';");
    let page = format!("<html><head><script nonce=\"r4nd\">{script}</script></head></html>");
    let hashes_only = html().with_inline_locks(InlineLocks::of("script-src 'sha256-abc='"));
    let out = String::from_utf8(process(page.as_bytes(), &hashes_only).unwrap()).unwrap();
    assert!(
        out.contains(&format!("<script nonce=\"r4nd\">{script}</script>")),
        "{out}"
    );
}

#[test]
fn a_policy_in_a_meta_tag_is_kept_consistent_and_pins_what_follows() {
    let page = format!(
        r#"<html><head><script>var a = "https://{HOST}/1";</script><meta http-equiv="Content-Security-Policy" content="script-src https://{HOST} 'sha256-xyz='"><script>var b = "https://{HOST}/2";</script></head></html>"#
    );
    let out = String::from_utf8(process(page.as_bytes(), &html()).unwrap()).unwrap();
    assert!(
        out.contains(r#"var a = "https://proxy.example/1";"#),
        "before the policy: {out}"
    );
    assert!(
        out.contains(&format!(r#"var b = "https://{HOST}/2";"#)),
        "after it: {out}"
    );
    assert!(
        out.contains(&format!(
            r#"content="script-src https://{HOST} https://proxy.example 'sha256-xyz='""#
        )),
        "{out}"
    );
}

fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let units = bom
        .then_some(0xfeff_u16)
        .into_iter()
        .chain(text.encode_utf16());
    for unit in units {
        out.extend(if big_endian {
            unit.to_be_bytes()
        } else {
            unit.to_le_bytes()
        });
    }
    out
}

#[test]
fn a_utf16_page_is_rewritten_in_utf16() {
    let page = format!(
        "<html><head><title>é€</title></head><body><a href=\"https://{HOST}/a\">😀</a></body></html>"
    );
    let expected = "<html><head><script src=\"/sluice/tag.js\" charset=\"utf-8\"></script><title>é€</title></head><body><a href=\"https://proxy.example/a\">😀</a></body></html>";
    for (big_endian, bom, charset) in [
        (false, true, None),
        (true, true, None),
        (false, false, Some("utf-16")),
        (true, false, Some("utf-16be")),
        // The byte-order mark wins over the header, as in browsers.
        (false, true, Some("utf-8")),
    ] {
        let input = utf16(&page, big_endian, bom);
        let params = html().with_charset(charset);
        let whole = process(&input, &params).unwrap();
        assert_eq!(
            whole,
            utf16(expected, big_endian, true),
            "{big_endian} {bom} {charset:?}"
        );
        for size in [1, 3, 7] {
            let pieces = Pieces::new(input.chunks(size).map(<[u8]>::to_vec).collect());
            let mut out = Vec::new();
            process_response_streaming(pieces, &mut out, &params).unwrap();
            assert_eq!(out, whole, "in pieces of {size}");
        }
    }
}

#[test]
fn rewrites_a_url_split_across_chunks_inside_an_inline_script() {
    let page = format!("<html><head><script>var a = \"https://{HOST}/x\";</script></head></html>");
    for split in 1..page.len() {
        let (a, b) = page.as_bytes().split_at(split);
        let mut out = Vec::new();
        process_response_streaming(Pieces::new(vec![a.to_vec(), b.to_vec()]), &mut out, &html())
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("\"https://proxy.example/x\""),
            "split at {split}: {text}"
        );
    }
}

#[test]
fn inline_script_text_flows_out_before_its_element_ends() {
    let line = format!("var u = 'https://{HOST}/a.js';\n");
    let page = format!(
        "<html><head></head><body><script>{}</script></body></html>",
        line.repeat(60_000)
    );
    let out = SharedOut::default();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let mut origin = Pieces::new(
        page.as_bytes()
            .chunks(16 * 1024)
            .map(<[u8]>::to_vec)
            .collect(),
    );
    let (watch, record) = (out.clone(), Rc::clone(&seen));
    origin.on_piece = Some(Box::new(move |_| {
        record.borrow_mut().push(watch.0.borrow().len())
    }));
    let mut client = out.clone();
    process_response_streaming(origin, &mut client, &html()).unwrap();
    let before_last = *seen.borrow().last().unwrap();
    let total = out.0.borrow().len();
    // All but the last origin piece and the output batch before the encoder.
    assert!(
        before_last + 2 * 16 * 1024 >= total,
        "only {before_last} of {total} bytes were out before the script's last piece"
    );
    let text = String::from_utf8(out.0.borrow().clone()).unwrap();
    assert_eq!(text.matches("'https://proxy.example/a.js'").count(), 60_000);
    assert_eq!(text.as_bytes(), process(page.as_bytes(), &html()).unwrap());
}

#[test]
fn multi_byte_characters_in_inline_text_survive_every_split() {
    let page = format!(
        "<html><head><script>var s = \"é€😀\"; var u = \"https://{HOST}/ü\";</script><style>/* ä */ a{{background:url(//{HOST}/ö.png)}}</style></head></html>"
    );
    let expected = process(page.as_bytes(), &html()).unwrap();
    assert!(String::from_utf8_lossy(&expected).contains("\"https://proxy.example/ü\""));
    let bytes = page.as_bytes();
    let one_byte_pieces = Pieces::new(bytes.chunks(1).map(<[u8]>::to_vec).collect());
    let mut out = Vec::new();
    process_response_streaming(one_byte_pieces, &mut out, &html()).unwrap();
    assert_eq!(out, expected, "in one-byte pieces");
    for split in 1..bytes.len() {
        let (a, b) = bytes.split_at(split);
        let mut out = Vec::new();
        process_response_streaming(Pieces::new(vec![a.to_vec(), b.to_vec()]), &mut out, &html())
            .unwrap();
        assert_eq!(out, expected, "split at {split}");
    }
}

#[test]
fn respects_a_non_utf8_charset() {
    let page = b"<html><head></head><body>caf\xe9 <a href=\"https://www.publisher.example/\xe9\">x</a><script>var u=\"https://www.publisher.example/\xe9\";</script></body></html>";
    let out = process(page, &html().with_charset(Some("iso-8859-1"))).unwrap();
    let expected: &[u8] = b"<html><head><script src=\"/sluice/tag.js\" charset=\"utf-8\"></script></head><body>caf\xe9 <a href=\"https://proxy.example/\xe9\">x</a><script>var u=\"https://proxy.example/\xe9\";</script></body></html>";
    assert_eq!(
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(expected)
    );
    assert_eq!(out, expected);
}

#[test]
fn invalid_utf8_in_a_utf8_page_passes_through_without_loss() {
    let page = b"<html><head></head><body>\xff\xfe bytes <a href=\"https://www.publisher.example/\">x</a></body></html>";
    let out = process(page, &html()).unwrap();
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("https://proxy.example/"), "{text}");
    assert!(
        out.windows(2).any(|w| w == b"\xff\xfe"),
        "the stray bytes are kept"
    );
}

#[test]
fn javascript_with_invalid_utf8_is_rewritten_bytewise() {
    let params = Params::new(HOST, "https", "proxy.example").with_kind(ContentKind::JavaScript);
    let out = process(b"\xff'https://www.publisher.example/a'\xfe", &params).unwrap();
    assert_eq!(out, b"\xff'https://proxy.example/a'\xfe");
}

#[test]
fn multi_member_gzip_and_raw_deflate_are_decoded() {
    let body = long_page();
    let (a, b) = body.split_at(body.len() / 2);
    let mut two_members = encode(Encoding::Gzip, a);
    two_members.extend(encode(Encoding::Gzip, b));
    let out = process(&two_members, &html().with_encoding(Encoding::Gzip)).unwrap();
    assert_eq!(
        decode(Encoding::Gzip, &out),
        process(&body, &html()).unwrap()
    );

    let raw = encode_raw_deflate(&body);
    let out = process(&raw, &html().with_encoding(Encoding::Deflate)).unwrap();
    assert_eq!(
        decode(Encoding::Deflate, &out),
        process(&body, &html()).unwrap()
    );
}

fn error_of(body: &[u8], encoding: Encoding) -> PipelineError {
    process(body, &html().with_encoding(encoding)).expect_err("must fail")
}

#[test]
fn a_truncated_stream_is_an_error_in_every_encoding() {
    for encoding in [Encoding::Gzip, Encoding::Deflate, Encoding::Brotli] {
        let full = encode(encoding, &long_page());
        for cut in [full.len() - 1, full.len() - 4, full.len() / 2, 1] {
            let error = error_of(&full[..cut], encoding);
            assert!(
                matches!(error, PipelineError::Truncated { .. }),
                "{encoding} cut at {cut}: {error}"
            );
        }
    }
}

#[test]
fn a_corrupt_stream_is_an_error_in_every_encoding() {
    for encoding in [Encoding::Gzip, Encoding::Deflate, Encoding::Brotli] {
        let mut body = encode(encoding, &long_page());
        let middle = body.len() / 3;
        for byte in &mut body[middle..middle + 64] {
            *byte ^= 0x5a;
        }
        let error = error_of(&body, encoding);
        assert!(
            matches!(
                error,
                PipelineError::Corrupt { .. } | PipelineError::Truncated { .. }
            ),
            "{encoding}: {error}"
        );
        let garbage = error_of(b"this is not compressed at all", encoding);
        assert!(
            matches!(
                garbage,
                PipelineError::Corrupt { .. } | PipelineError::Truncated { .. }
            ),
            "{encoding}: {garbage}"
        );
    }
}

#[test]
fn trailing_garbage_after_the_stream_is_an_error() {
    for encoding in [Encoding::Gzip, Encoding::Deflate, Encoding::Brotli] {
        let mut body = encode(encoding, b"<p>hello</p>");
        body.extend_from_slice(b"garbage");
        assert!(
            matches!(error_of(&body, encoding), PipelineError::Corrupt { .. }),
            "{encoding}"
        );
    }
}

#[test]
fn a_decompression_bomb_stops_at_the_cap() {
    let bomb = encode(Encoding::Gzip, &vec![b' '; 64 * 1024 * 1024]);
    assert!(bomb.len() < 100 * 1024, "{} bytes of gzip", bomb.len());
    let params = html()
        .with_encoding(Encoding::Gzip)
        .with_settings(PipelineSettings::new().with_max_decoded_bytes(8 * 1024 * 1024));
    let error = process(&bomb, &params).expect_err("must stop");
    assert!(
        matches!(error, PipelineError::TooLarge { limit } if limit == 8 * 1024 * 1024),
        "{error}"
    );
    assert!(error.to_string().contains("max_decoded_bytes"), "{error}");
}

#[test]
fn an_unknown_or_stacked_encoding_passes_through_untouched() {
    let body = b"\x28\xb5\x2f\xfd not really zstd https://www.publisher.example/";
    for header in ["zstd", "gzip, br", "compress"] {
        let params = html().with_content_encoding(Some(header));
        let mut out = Vec::new();
        let stats = process_response_streaming(&body[..], &mut out, &params).unwrap();
        assert_eq!(out, body, "{header}");
        assert!(stats.passed_through);
    }
}

#[test]
fn an_origin_read_error_is_reported_as_the_origins() {
    struct Failing(bool);
    impl std::io::Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if std::mem::replace(&mut self.0, true) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "incomplete HTTP body",
                ));
            }
            buf[..4].copy_from_slice(b"<p>x");
            Ok(4)
        }
    }
    let mut out = Vec::new();
    let error = process_response_streaming(Failing(false), &mut out, &html()).unwrap_err();
    assert!(matches!(error, PipelineError::Origin(_)), "{error}");
}

#[test]
fn a_client_write_error_is_reported_as_the_clients() {
    struct Gone;
    impl Write for Gone {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "client went away",
            ))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    for encoding in Encoding::ALL {
        let body = encode(encoding, &long_page());
        let error =
            process_response_streaming(&body[..], &mut Gone, &html().with_encoding(encoding))
                .unwrap_err();
        assert!(
            matches!(error, PipelineError::Client(_)),
            "{encoding}: {error}"
        );
    }
}

#[test]
fn an_over_long_token_fails_instead_of_passing_the_rest_through() {
    let mut page = b"<html><head></head><body><a title=\"".to_vec();
    page.extend(std::iter::repeat_n(b'x', 2 * 1024 * 1024));
    page.extend_from_slice(b"\">x</a></body></html>");
    let params =
        html().with_settings(PipelineSettings::new().with_max_html_memory_bytes(1024 * 1024));
    let error = process(&page, &params).unwrap_err();
    assert!(matches!(error, PipelineError::Rewrite(_)), "{error}");
}

fn snapshot(name: &str, page: &str) {
    let out = process(page.as_bytes(), &html()).unwrap();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_description(page);
    settings.bind(|| insta::assert_snapshot!(name, String::from_utf8(out).unwrap()));
}

#[test]
fn snapshots_of_small_documents() {
    snapshot(
        "html_every_url_attribute",
        r#"<!doctype html>
<html><head>
<meta http-equiv="refresh" content="5; url=https://www.publisher.example/next">
<meta property="og:url" content="https://www.publisher.example/article">
<link rel="preload" as="image" imagesrcset="https://www.publisher.example/a.png 1x, //www.publisher.example/b.png 2x">
<link rel="stylesheet" href="//www.publisher.example/site.css">
</head><body>
<a href="https://www.publisher.example/a">absolute</a>
<a href="http://www.publisher.example:8080/b">with port</a>
<a href="www.publisher.example/c">bare host</a>
<a href="https://cdn.www.publisher.example/d">other host</a>
<a href="https://www.publisher.example.evil/e">look-alike</a>
<img src="https://www.publisher.example/i.png" srcset="https://www.publisher.example/i1.png 1x, https://www.publisher.example/i2.png 2x">
<form action="https://www.publisher.example/f"><button formaction="https://www.publisher.example/g">go</button></form>
<video poster="https://www.publisher.example/p.jpg"></video>
<object data="https://www.publisher.example/o.svg"></object>
<p>Text mentioning https://www.publisher.example/ stays as it is.</p>
<script>fetch("https://www.publisher.example/api"); var j = "https:\/\/www.publisher.example\/x";</script>
<style>body { background: url(https://www.publisher.example/bg.png) }</style>
</body></html>"#,
    );
    snapshot(
        "html_url_places_beyond_attributes",
        r#"<!doctype html>
<html><head>
<link rel="preload" as="script" href="HTTPS://WWW.PUBLISHER.EXAMPLE/app.js">
</head><body>
<img data-src="https://www.publisher.example/lazy.png" data-srcset="//www.publisher.example/l1.png 1x, https://www.publisher.example/l2.png 2x">
<div style="background: url(https://www.publisher.example/bg.png)">styled</div>
<table background="https://www.publisher.example/table.png"><tr><td>cell</td></tr></table>
<a href="https://www.publisher.example./fqdn" ping="https://www.publisher.example/ping https://other.example/ping">fully qualified, pinged</a>
<svg><use xlink:href="https://www.publisher.example/icons.svg#star"></use></svg>
<iframe srcdoc="&lt;a href=&quot;https://www.publisher.example/inner&quot;&gt;inner&lt;/a&gt;"></iframe>
<noscript><img src="https://www.publisher.example/pixel.gif"></noscript>
</body></html>"#,
    );
}

#[test]
fn one_origin_chunk_that_expands_to_megabytes_is_flushed_in_pieces() {
    #[derive(Default)]
    struct CountingFlushes {
        bytes: usize,
        flushes_with_data: usize,
        since_flush: usize,
    }
    impl Write for CountingFlushes {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.bytes += buf.len();
            self.since_flush += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            if self.since_flush > 0 {
                self.flushes_with_data += 1;
                self.since_flush = 0;
            }
            Ok(())
        }
    }
    let raw = long_page().repeat(4);
    for encoding in [Encoding::Gzip, Encoding::Brotli] {
        let one_chunk = vec![encode(encoding, &raw)];
        let mut client = CountingFlushes::default();
        process_response_streaming(
            Pieces::new(one_chunk),
            &mut client,
            &html().with_encoding(encoding),
        )
        .unwrap();
        let every = PipelineSettings::new().flush_every_bytes();
        assert!(
            client.flushes_with_data >= raw.len() / every / 2,
            "{encoding}: {} flushes for {} decoded bytes",
            client.flushes_with_data,
            raw.len()
        );
    }
}
