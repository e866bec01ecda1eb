//! The Next.js post-processor inside the streaming HTML stage: every shape of Next.js data, split
//! at random chunk boundaries, gives the bytes of the one-shot rewrite; the data element streams
//! like any script, keeping every byte but the hosts it rewrites.

mod support;

use sluice_edge::pipeline::{ContentKind, Encoding, Params, process, process_response_streaming};
use std::cell::RefCell;
use std::rc::Rc;
use support::{Pieces, Rng, SharedOut, chunk_seed, decode, encode, random_split};

const HOST: &str = "www.publisher.example";

fn nextjs() -> Params {
    Params::new(HOST, "https", "proxy.example")
        .with_kind(ContentKind::Html)
        .with_inject_script("/sluice/tag.js")
        .with_nextjs()
}

fn page(data: &str, after: &str) -> String {
    format!(
        r#"<!doctype html><html><head><title>n</title></head><body><div id="__next"><a href="https://{HOST}/a">a</a></div><script id="__NEXT_DATA__" type="application/json">{data}</script>{after}</body></html>"#
    )
}

/// Pages Router data of every shape Sluice supports, and App Router flight data.
fn shapes() -> Vec<(&'static str, String)> {
    let flight = format!(
        r#"<script>self.__next_f.push([1,"0:[\"$\",\"a\",null,{{\"href\":\"https://{HOST}/x\",\"hostname\":\"{HOST}\",\"src\":\"{HOST}/img.png\"}}]\n"])</script><script>self.__next_f.push([1,"1:{{\"canonical\":\"//{HOST}/y\"}}\n"])</script>"#
    );
    vec![
        (
            "bare hosts",
            page(
                &format!(
                    r#"{{"props":{{"host":"{HOST}","canonical":"{HOST}/a","other":"cdn.{HOST}"}}}}"#
                ),
                "",
            ),
        ),
        (
            "every URL form",
            page(
                &format!(
                    r#"{{"a":"https://{HOST}/1","b":"//{HOST}/2","c":"HTTP://WWW.PUBLISHER.EXAMPLE/3","d":"https://{HOST}.:8443/4"}}"#
                ),
                "",
            ),
        ),
        (
            "nested",
            page(
                &format!(r#"{{"a":[[["{HOST}"]],{{"b":{{"c":[1,"{HOST}/d",null,true]}}}}]}}"#),
                "",
            ),
        ),
        (
            "key order kept",
            page(
                &format!(r#"{{"z":1,"a":"{HOST}","m":{{"y":2,"b":3}}}}"#),
                "",
            ),
        ),
        (
            "spacing and numbers kept",
            page(
                &format!("{{ \"a\" : \"{HOST}\",\n  \"n\": [1.50, -0e0, 1E400] }}"),
                "",
            ),
        ),
        // Next.js writes `<` in its data as `\u003c`, so that `</script>` cannot end the element.
        (
            "markup in strings",
            page(
                &format!(
                    r#"{{"html":"\u003cscript>alert(1)\u003c/script>","url":"https://{HOST}/\u003cb>"}}"#
                ),
                "",
            ),
        ),
        (
            "unicode",
            page(&format!(r#"{{"title":"Été 😀","path":"{HOST}/é"}}"#), ""),
        ),
        ("empty", page("", "")),
        (
            "not JSON",
            page(&format!("window.x = 'https://{HOST}/q'; {HOST}"), ""),
        ),
        ("app router flight data", page("{}", &flight)),
        (
            "both, and a script after",
            page(
                &format!(r#"{{"host":"{HOST}"}}"#),
                &format!("{flight}<script>var u = 'https://{HOST}/z';</script>"),
            ),
        ),
    ]
}

#[test]
fn every_shape_gives_the_same_bytes_at_every_split() {
    let seed = chunk_seed();
    for (name, page) in shapes() {
        let one_shot = process(page.as_bytes(), &nextjs()).unwrap();
        for round in 0..20 {
            let mut rng = Rng::new(seed + round);
            let pieces = Pieces::new(random_split(page.as_bytes(), 40, &mut rng));
            let mut out = Vec::new();
            process_response_streaming(pieces, &mut out, &nextjs()).unwrap();
            assert!(
                out == one_shot,
                "{name}: split differently (seed {}):\n{}\n---\n{}",
                seed + round,
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(&one_shot)
            );
        }
        for encoding in [Encoding::Gzip, Encoding::Brotli] {
            let params = nextjs().with_encoding(encoding);
            let mut rng = Rng::new(seed);
            let encoded = encode(encoding, page.as_bytes());
            let pieces = Pieces::new(random_split(&encoded, 64, &mut rng));
            let mut out = Vec::new();
            process_response_streaming(pieces, &mut out, &params).unwrap();
            assert!(decode(encoding, &out) == one_shot, "{name} as {encoding}");
        }
    }
}

fn rewritten(name: &str) -> String {
    let (_, page) = shapes().into_iter().find(|(n, _)| *n == name).unwrap();
    String::from_utf8(process(page.as_bytes(), &nextjs()).unwrap()).unwrap()
}

#[test]
fn bare_hosts_in_data_are_rewritten_and_other_hosts_kept() {
    let out = rewritten("bare hosts");
    assert!(
        out.contains(r#"{"props":{"host":"proxy.example","canonical":"proxy.example/a","other":"cdn.www.publisher.example"}}"#),
        "{out}"
    );
    let out = rewritten("every URL form");
    assert!(
        out.contains(r#"{"a":"https://proxy.example/1","b":"//proxy.example/2","c":"https://proxy.example/3","d":"https://proxy.example/4"}"#),
        "{out}"
    );
    assert!(
        rewritten("key order kept").contains(r#"{"z":1,"a":"proxy.example","m":{"y":2,"b":3}}"#)
    );
    assert!(
        rewritten("spacing and numbers kept")
            .contains("{ \"a\" : \"proxy.example\",\n  \"n\": [1.50, -0e0, 1E400] }")
    );
}

#[test]
fn data_can_never_close_its_element() {
    let out = rewritten("markup in strings");
    assert!(
        out.contains(
            r#""html":"\u003cscript>alert(1)\u003c/script>","url":"https://proxy.example/\u003cb>""#
        ),
        "{out}"
    );
    let data = out
        .split(r#"type="application/json">"#)
        .nth(1)
        .and_then(|rest| rest.split("</script>").next())
        .unwrap();
    assert!(!data.contains('<'), "{data}");
}

#[test]
fn data_that_is_not_json_gets_the_ordinary_rewrite() {
    let out = rewritten("not JSON");
    assert!(
        out.contains("window.x = 'https://proxy.example/q'; www.publisher.example"),
        "{out}"
    );
}

#[test]
fn flight_data_has_its_quoted_hosts_rewritten() {
    let out = rewritten("app router flight data");
    assert!(
        out.contains(r#"\"href\":\"https://proxy.example/x\",\"hostname\":\"proxy.example\",\"src\":\"proxy.example/img.png\""#),
        "{out}"
    );
    assert!(
        out.contains(r#"\"canonical\":\"//proxy.example/y\""#),
        "{out}"
    );
    assert!(!out.contains(HOST), "{out}");
}

#[test]
fn the_data_element_streams_as_it_arrives() {
    let before = format!("<p>{}</p>", "story ".repeat(20_000));
    let data = format!(r#"{{"host":"{HOST}","filler":"{}"}}"#, "x".repeat(400_000));
    let after = format!("<p>{}</p>", "more ".repeat(20_000));
    let page = format!(
        r#"<html><head></head><body>{before}<script id="__NEXT_DATA__" type="application/json">{data}</script>{after}</body></html>"#
    );
    let data_end = page.find("</script>").unwrap();
    let pieces: Vec<Vec<u8>> = page
        .as_bytes()
        .chunks(8 * 1024)
        .map(<[u8]>::to_vec)
        .collect();
    let boundaries: Vec<usize> = pieces
        .iter()
        .scan(0, |at, p| {
            *at += p.len();
            Some(*at)
        })
        .collect();
    let out = SharedOut::default();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let mut origin = Pieces::new(pieces);
    let (watch, record) = (out.clone(), Rc::clone(&seen));
    origin.on_piece = Some(Box::new(move |_| {
        record.borrow_mut().push(watch.0.borrow().len())
    }));
    let mut client = out.clone();
    process_response_streaming(origin, &mut client, &nextjs()).unwrap();
    let seen = seen.borrow();
    // When the piece that holds the element's end goes in, nearly all of the data is out: it
    // was never held (the HTML stage passes its output on in batches of 64 KiB).
    let last_data_piece = boundaries.iter().position(|&b| b > data_end).unwrap();
    assert!(
        seen[last_data_piece] + 80 * 1024 >= data_end,
        "only {} of {data_end} bytes out when the data element ended",
        seen[last_data_piece]
    );
    let text = String::from_utf8(out.0.borrow().clone()).unwrap();
    assert!(text.contains(r#"{"host":"proxy.example","filler":"#));
    assert!(text.ends_with(&format!("{after}</body></html>")));
}

#[test]
fn megabytes_of_numbers_pass_byte_for_byte() {
    // The shape that held 99 MiB once parsed: 2.5 MiB of numbers, a host at each end.
    let numbers: Vec<String> = (0..400_000)
        .map(|i| format!("{}.{}", i * 7, i % 10))
        .collect();
    let data = format!(
        r#"{{"host":"{HOST}","points":[{}],"url":"https://{HOST}/a"}}"#,
        numbers.join(",")
    );
    assert!(data.len() > 2_500_000);
    let out = String::from_utf8(process(page(&data, "").as_bytes(), &nextjs()).unwrap()).unwrap();
    let expected = data
        .replace(&format!(r#""host":"{HOST}""#), r#""host":"proxy.example""#)
        .replace(&format!("https://{HOST}/a"), "https://proxy.example/a");
    assert!(out.contains(&expected));
}
