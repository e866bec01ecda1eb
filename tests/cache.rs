//! The cache of rewritten pages through Viceroy: a page is rewritten once and later readers are
//! answered from the copy; nothing made for one reader is kept; a broken stream is never kept;
//! readers who arrive together share one origin fetch; `Vary`, settings, purges, staleness,
//! identity, `HEAD` and conditional requests each behave as README's "The cache of rewritten
//! pages" says.

use crate::common::{ORIGIN_HOST, SECOND, TestResult, US, id_cookie, page, sluice};
use harness::{Edge, EdgeBuilder, ReceivedRequest, Router, Script, ScriptedOrigin, Wire};
use rstest::rstest;
use sluice_edge::policy::cache::key::page_key;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A page naming the publisher and which of the origin's answers it is (`answer 2`).
fn numbered_page(n: usize) -> String {
    page(&format!("<p>answer {n}</p>"))
}

/// An origin whose every answer is a page with `headers` (and a `content-type`), numbered by
/// how many requests it has had; `script` may make an answer otherwise.
fn origin_where(
    headers: &[(&str, &str)],
    script: impl Fn(usize, &ReceivedRequest, Script) -> Script + Send + Sync + 'static,
) -> Result<ScriptedOrigin, harness::HarnessError> {
    let mut head = vec![(
        "content-type".to_owned(),
        "text/html; charset=utf-8".to_owned(),
    )];
    head.extend(
        headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned())),
    );
    let count = Arc::new(AtomicUsize::new(0));
    ScriptedOrigin::serve(
        "127.0.0.1:0",
        Router::from_fn(move |request| {
            let n = count.fetch_add(1, Ordering::SeqCst) + 1;
            let answer = Script::new().head(200, head.clone());
            script(n, request, answer)
        }),
    )
}

/// An origin that answers every request with a whole numbered page and `headers`.
fn origin(headers: &[(&str, &str)]) -> Result<ScriptedOrigin, harness::HarnessError> {
    origin_where(headers, |n, _, answer| answer.chunk(numbered_page(n)).end())
}

const KEPT: &[(&str, &str)] = &[("cache-control", "public, s-maxage=300")];

async fn edge(
    origin: &ScriptedOrigin,
    builder: EdgeBuilder,
) -> Result<Edge, harness::HarnessError> {
    builder.backend("origin", origin).start().await
}

async fn get(edge: &Edge, target: &str) -> Result<Wire, harness::HarnessError> {
    edge.get(target)
        .header("accept-encoding", "gzip")
        .send()
        .await
}

/// The log lines of the program, once every request completed.
fn lines(edge: &Edge) -> Vec<String> {
    edge.logs("sluice_log")
}

fn count(lines: &[String], needle: &str) -> usize {
    lines.iter().filter(|l| l.contains(needle)).count()
}

#[tokio::test]
async fn a_second_reader_is_answered_from_the_copy_without_the_origin_or_the_pipeline() -> TestResult
{
    let origin = origin(KEPT)?;
    let edge = edge(&origin, sluice()).await?;

    let first = get(&edge, "/article").await?;
    let second = get(&edge, "/article").await?;

    first.assert_status(200).assert_chunked();
    second.assert_status(200);
    assert!(first.body() == second.body(), "the same bytes");
    assert!(String::from_utf8(second.decoded_body()?)?.contains("answer 1"));
    assert_eq!(origin.requests().len(), 1, "one origin fetch");
    second.assert_header_present("age");
    let lines = lines(&edge);
    assert_eq!(
        count(&lines, "streamed: "),
        1,
        "one pipeline run: {lines:?}"
    );
    assert_eq!(count(&lines, "cache miss"), 1, "{lines:?}");
    assert_eq!(count(&lines, "sent whole: 200, vcpu"), 1, "{lines:?}");
    assert_eq!(count(&lines, "cache hit"), 1, "{lines:?}");
    Ok(())
}

#[rstest]
#[case::private(&[("cache-control", "private, max-age=300")], None, "Cache-Control: private")]
#[case::no_store(&[("cache-control", "public, no-store, max-age=300")], None, "Cache-Control: no-store")]
#[case::no_cache(&[("cache-control", "no-cache, s-maxage=300")], None, "Cache-Control: no-cache")]
#[case::set_cookie(&[("cache-control", "public, s-maxage=300"), ("set-cookie", "session=1")], None, "the origin sets a cookie")]
#[case::authorization(&[("cache-control", "max-age=300")], Some("Bearer secret"), "not storable")]
#[case::no_lifetime(&[], None, "no freshness lifetime")]
#[tokio::test]
async fn nothing_made_for_one_reader_or_without_a_lifetime_is_kept(
    #[case] headers: &'static [(&'static str, &'static str)],
    #[case] authorization: Option<&'static str>,
    #[case] reason: &str,
) -> TestResult {
    let origin = origin(headers)?;
    let edge = edge(&origin, sluice()).await?;
    let ask = || {
        let request = edge.get("/private").header("accept-encoding", "gzip");
        match authorization {
            Some(value) => request.header("authorization", value),
            None => request,
        }
    };

    ask().send().await?.assert_status(200);
    let second = ask().send().await?;

    second.assert_status(200);
    assert!(String::from_utf8(second.decoded_body()?)?.contains("answer 2"));
    assert_eq!(origin.requests().len(), 2, "each reader asks the origin");
    let lines = lines(&edge);
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("not kept: {reason}"))),
        "{lines:?}"
    );
    assert_eq!(count(&lines, "cache hit"), 0, "{lines:?}");
    Ok(())
}

#[tokio::test]
async fn a_broken_origin_stream_is_never_kept_and_the_next_reader_asks_again() -> TestResult {
    let long = page(&"<p>part of a long page</p>".repeat(4000));
    let origin = origin_where(KEPT, move |n, _, answer| match n {
        1 => answer
            .chunk(&long[..40_000])
            .pause(Duration::from_millis(100))
            .cut(),
        n => answer.chunk(numbered_page(n)).end(),
    })?;
    let edge = edge(&origin, sluice()).await?;

    let broken = get(&edge, "/long").await?;
    let next = get(&edge, "/long").await?;
    let after = get(&edge, "/long").await?;

    broken.assert_status(200).assert_truncated();
    next.assert_status(200).assert_chunked();
    assert!(String::from_utf8(next.decoded_body()?)?.contains("answer 2"));
    assert!(after.body() == next.body(), "the whole page is kept");
    assert_eq!(origin.requests().len(), 2);
    Ok(())
}

#[tokio::test]
async fn readers_who_joined_a_copy_that_breaks_see_it_cut_never_whole() -> TestResult {
    let long = page(&"<p>part of a long page</p>".repeat(4000));
    let origin = origin_where(KEPT, move |n, _, answer| match n {
        1 => answer
            .trickle(&long[..40_000], 4096, Duration::from_millis(30))
            .cut(),
        n => answer.chunk(numbered_page(n)).end(),
    })?;
    let edge = edge(&origin, sluice()).await?;

    let readers: Vec<_> = (0..4)
        .map(|_| tokio::spawn(edge.get("/breaks").header("accept-encoding", "gzip").send()))
        .collect();
    let mut wires = Vec::new();
    for reader in readers {
        wires.push(reader.await??);
    }
    let next = get(&edge, "/breaks").await?;

    for wire in &wires {
        assert!(!wire.terminated(), "a complete-looking page:\n{wire}");
    }
    let lines = lines(&edge);
    // A reader joins by waiting on the first one's fetch (collapsed) or, arriving once the copy
    // is being written, by reading it as it grows (a hit): which depends on timing.
    assert!(
        count(&lines, "cache collapsed") + count(&lines, "cache hit") >= 1,
        "no reader joined: {lines:?}"
    );
    next.assert_status(200).assert_chunked();
    assert!(String::from_utf8(next.decoded_body()?)?.contains("answer 2"));
    assert_eq!(origin.requests().len(), 2);
    Ok(())
}

#[tokio::test]
async fn ten_readers_at_once_on_a_cold_page_mean_one_origin_fetch_and_ten_whole_pages() -> TestResult
{
    let body = page(&"<p>a paragraph of a page read by many at once</p>".repeat(400));
    let whole = body.clone();
    let origin = origin_where(KEPT, move |_, _, answer| {
        answer
            .trickle(&whole, 1024, Duration::from_millis(25))
            .end()
    })?;
    let edge = edge(&origin, sluice()).await?;

    let readers: Vec<_> = (0..10)
        .map(|_| {
            tokio::spawn(
                edge.get("/popular")
                    .header("accept-encoding", "gzip")
                    .send(),
            )
        })
        .collect();
    let mut wires = Vec::new();
    for reader in readers {
        wires.push(reader.await??);
    }

    assert_eq!(origin.requests().len(), 1, "one origin fetch");
    let origin_done = origin
        .last_chunk_sent_at()
        .expect("the origin sent its page");
    for wire in &wires {
        wire.assert_status(200).assert_chunked();
        assert!(wire.body() == wires[0].body(), "ten equal pages");
        // Every reader's first byte came while the origin was still sending.
        wire.assert_first_chunk_before(origin_done, "the origin's last chunk");
    }
    let text = String::from_utf8(wires[0].decoded_body()?)?;
    assert_eq!(
        text.matches("a paragraph of a page read by many").count(),
        400
    );
    let lines = lines(&edge);
    assert_eq!(count(&lines, "cache miss"), 1, "{lines:?}");
    assert_eq!(
        count(&lines, "cache collapsed") + count(&lines, "cache hit"),
        9,
        "{lines:?}"
    );
    Ok(())
}

#[tokio::test]
async fn vary_keeps_one_copy_per_variant() -> TestResult {
    let origin = origin_where(
        &[
            ("cache-control", "public, s-maxage=300"),
            ("vary", "Accept-Language"),
        ],
        |n, request, answer| {
            let language = request.header("accept-language").unwrap_or("none");
            answer
                .chunk(page(&format!("<p>{language} answer {n}</p>")))
                .end()
        },
    )?;
    let edge = edge(&origin, sluice()).await?;
    let ask = |language: &'static str| {
        edge.get("/news")
            .header("accept-encoding", "gzip")
            .header("accept-language", language)
            .send()
    };

    let mut texts = Vec::new();
    for language in ["en", "fr", "en", "fr"] {
        texts.push(String::from_utf8(ask(language).await?.decoded_body()?)?);
    }

    assert_eq!(origin.requests().len(), 2, "one fetch per variant");
    assert!(texts[0].contains("en answer 1") && texts[2].contains("en answer 1"));
    assert!(texts[1].contains("fr answer 2") && texts[3].contains("fr answer 2"));
    Ok(())
}

#[tokio::test]
async fn a_settings_change_is_never_answered_with_old_output() -> TestResult {
    let origin = origin(KEPT)?;
    // A secret no other test declares keeps this configuration, and so its instance, to this
    // test: another test's lease between two of these would take it elsewhere.
    let with_tag = |src: &str| {
        sluice()
            .secret("sluice_secrets", "settings_change_probe", "unused")
            .config("sluice_config", "inject_script", src)
    };
    // One Host for every lease, so only the settings tell the copies apart.
    let ask = |edge: &Edge| edge.get("/settings").header("host", "proxy.example").send();

    let first = edge(&origin, with_tag("/tag-a.js")).await?;
    let instance = first.instance_addr();
    let a = ask(&first).await?;
    drop(first);
    let second = edge(&origin, with_tag("/tag-b.js")).await?;
    let b = ask(&second).await?;
    drop(second);
    let third = edge(&origin, with_tag("/tag-b.js")).await?;
    let b_again = ask(&third).await?;

    assert_eq!(third.instance_addr(), instance, "one Viceroy, one cache");
    let text = |wire: &Wire| String::from_utf8_lossy(wire.body()).into_owned();
    assert!(text(&a).contains("/tag-a.js"));
    assert!(text(&b).contains("/tag-b.js") && !text(&b).contains("/tag-a.js"));
    assert!(
        text(&b_again).contains("answer 2"),
        "the copy of the same settings answers"
    );
    assert_eq!(origin.requests().len(), 2);
    Ok(())
}

#[rstest]
#[case::origins_key("article-1")]
#[case::the_pages_key("page")]
#[case::every_page("sluice")]
#[tokio::test]
async fn a_surrogate_key_purge_makes_the_next_reader_fetch_again(#[case] key: &str) -> TestResult {
    let token = "p".repeat(40);
    let origin = origin(&[
        ("cache-control", "public, s-maxage=300"),
        ("surrogate-key", "article-1 section-news"),
        ("surrogate-control", "max-age=600"),
    ])?;
    let edge = edge(
        &origin,
        sluice().secret("sluice_secrets", "purge_token", &token),
    )
    .await?;
    let key = match key {
        "page" => page_key("/story"),
        key => key.to_owned(),
    };

    let first = get(&edge, "/story").await?;
    get(&edge, "/story").await?;
    let purge = edge
        .request("POST", &format!("/.sluice/purge?key={key}"))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await?;
    let after = get(&edge, "/story").await?;

    purge.assert_status(200);
    assert_eq!(origin.requests().len(), 2, "fetched again after the purge");
    assert!(String::from_utf8(after.decoded_body()?)?.contains("answer 2"));
    first
        .assert_no_header("surrogate-key")
        .assert_no_header("surrogate-control");
    Ok(())
}

#[tokio::test]
async fn the_purge_endpoint_is_off_without_a_token_and_refuses_a_wrong_one() -> TestResult {
    let origin = origin(KEPT)?;
    let off = edge(&origin, sluice()).await?;
    off.request("POST", "/.sluice/purge?key=sluice")
        .send()
        .await?
        .assert_status(404);
    drop(off);
    let on = edge(
        &origin,
        sluice().secret("sluice_secrets", "purge_token", &"p".repeat(40)),
    )
    .await?;
    on.request("POST", "/.sluice/purge?key=sluice")
        .header("authorization", format!("Bearer {}", "q".repeat(40)))
        .send()
        .await?
        .assert_status(401);
    assert!(origin.requests().is_empty(), "the origin never hears of it");
    Ok(())
}

#[tokio::test]
async fn identity_is_decided_per_reader_on_hits() -> TestResult {
    let origin = origin(KEPT)?;
    let edge = edge(&origin, sluice().geolocation("127.0.0.1", US)).await?;
    let reader = |agent: &'static str| {
        edge.get("/front")
            .header("accept-encoding", "gzip")
            .header("user-agent", agent)
    };

    let a = reader("reader a").send().await?;
    let b = reader("reader b").send().await?;
    let returning_id = a.header("x-synthetic-id").expect("an ID").to_owned();
    let returning = reader("reader c")
        .header("cookie", format!("synthetic_id={returning_id}"))
        .send()
        .await?;

    assert_eq!(origin.requests().len(), 1, "one fetch for three readers");
    let id = |wire: &Wire| wire.header("x-synthetic-id").map(str::to_owned);
    assert_ne!(id(&a), id(&b), "each reader has an ID of its own");
    assert_eq!(id(&returning).as_deref(), Some(returning_id.as_str()));
    for wire in [&a, &b, &returning] {
        assert!(id_cookie(wire).is_some());
        let cache_control = wire.header("cache-control").unwrap_or_default();
        assert!(cache_control.contains("private"), "{cache_control}");
    }
    assert!(a.body() == b.body() && b.body() == returning.body());
    Ok(())
}

#[tokio::test]
async fn head_and_conditional_requests_are_answered_from_the_copy() -> TestResult {
    let origin = origin(&[
        ("cache-control", "public, s-maxage=300"),
        ("etag", "\"v1\""),
        ("last-modified", "Sun, 06 Dec 2026 05:00:00 GMT"),
    ])?;
    let edge = edge(&origin, sluice()).await?;

    // The copy answers readers whose Accept-Encoding decides alike (it is part of the key).
    let ask = |method: &str| {
        edge.request(method, "/doc")
            .header("accept-encoding", "gzip")
    };
    let full = ask("GET").send().await?;
    let head = ask("HEAD").send().await?;
    let unchanged = ask("GET")
        .header("if-none-match", "W/\"v1\"")
        .send()
        .await?;
    let since = ask("GET")
        .header("if-modified-since", "Sun, 06 Dec 2026 06:00:00 GMT")
        .send()
        .await?;
    let changed = ask("GET").header("if-none-match", "\"v0\"").send().await?;

    full.assert_header("etag", "W/\"v1\"");
    head.assert_status(200).assert_header("etag", "W/\"v1\"");
    assert!(head.body().is_empty());
    unchanged
        .assert_status(304)
        .assert_header("etag", "W/\"v1\"");
    assert!(unchanged.body().is_empty());
    since.assert_status(304);
    changed.assert_status(200);
    assert!(changed.body() == full.body());
    assert_eq!(origin.requests().len(), 1, "all from the copy");
    Ok(())
}

#[tokio::test]
async fn a_page_the_budget_switched_to_the_text_rewrite_is_not_kept() -> TestResult {
    let _heavy = crate::common::cpu_heavy().await;
    let body = sluice_tools::measure::synthetic_html(2_000_000, ORIGIN_HOST);
    let origin = origin_where(KEPT, move |_, _, answer| {
        answer.trickle(&body, 64 * 1024, Duration::ZERO).end()
    })?;
    let edge = edge(
        &origin,
        sluice().config("sluice_config", "vcpu_budget_ms", "5"),
    )
    .await?;

    get(&edge, "/huge")
        .await?
        .assert_status(200)
        .assert_chunked();
    get(&edge, "/huge")
        .await?
        .assert_status(200)
        .assert_chunked();

    assert_eq!(
        origin.requests().len(),
        2,
        "rewritten again, in full where it can be"
    );
    let lines = lines(&edge);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("not kept for later readers: the CPU budget")),
        "{lines:?}"
    );
    Ok(())
}

#[tokio::test]
async fn stale_while_revalidate_answers_from_the_copy_then_fetches_again() -> TestResult {
    // The first answer is fresh for a second; the one fetched again, for five minutes.
    let origin = origin_where(&[], |n, _, _| {
        let cache_control = match n {
            1 => "max-age=1, stale-while-revalidate=60",
            _ => "max-age=300",
        };
        Script::new()
            .head(
                200,
                [
                    ("content-type", "text/html; charset=utf-8"),
                    ("cache-control", cache_control),
                ],
            )
            .chunk(numbered_page(n))
            .end()
    })?;
    let edge = edge(&origin, sluice()).await?;

    get(&edge, "/fresh").await?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let stale = get(&edge, "/fresh").await?;
    let refilled = edge
        .log()
        .wait_for("fetched again for the cache: ", 10 * SECOND);
    let renewed = get(&edge, "/fresh").await?;

    stale.assert_status(200);
    assert!(refilled, "{}", edge.log().tail(20));
    assert!(String::from_utf8(stale.decoded_body()?)?.contains("answer 1"));
    assert!(String::from_utf8(renewed.decoded_body()?)?.contains("answer 2"));
    assert_eq!(origin.requests().len(), 2);
    let lines = lines(&edge);
    assert_eq!(count(&lines, "cache stale"), 1, "{lines:?}");
    assert_eq!(count(&lines, "cache hit"), 1, "{lines:?}");
    Ok(())
}

#[tokio::test]
async fn stale_if_error_answers_from_the_copy_when_the_origin_fails() -> TestResult {
    let origin = origin_where(
        &[("cache-control", "max-age=1, stale-if-error=60")],
        |n, _, answer| match n {
            1 => answer.chunk(numbered_page(1)).end(),
            _ => Script::new().head(503, [("content-length", "0")]).end(),
        },
    )?;
    let edge = edge(&origin, sluice()).await?;

    get(&edge, "/resilient").await?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let during_outage = get(&edge, "/resilient").await?;

    during_outage.assert_status(200);
    assert!(String::from_utf8(during_outage.decoded_body()?)?.contains("answer 1"));
    assert_eq!(
        origin.requests().len(),
        2,
        "the origin was asked, and failed"
    );
    assert!(edge.log().wait_for("stale-if-error", 5 * SECOND));
    Ok(())
}

#[tokio::test]
async fn cache_rewritten_off_keeps_nothing() -> TestResult {
    let origin = origin(KEPT)?;
    let edge = edge(
        &origin,
        sluice().config("sluice_config", "cache_rewritten", "off"),
    )
    .await?;

    get(&edge, "/a").await?;
    get(&edge, "/a").await?;

    assert_eq!(origin.requests().len(), 2);
    assert_eq!(count(&lines(&edge), "cache pass"), 2);
    Ok(())
}
