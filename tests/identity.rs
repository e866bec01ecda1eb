//! Identity and consent through Viceroy: when a reader gets a synthetic ID, what the origin is
//! told about it, and what happens where consent or jurisdiction is unknown (the stricter
//! answer).

use crate::common::{
    SECOND, TestResult, US, assert_origin_untouched, gpp_header, html, id_cookie, origin_with,
    page, sluice, tcf, usnat_v2, well_formed_id,
};
use harness::EdgeBuilder;
use rstest::rstest;
use sluice_edge::policy::identity::is_well_formed;
use wiremock::{MockServer, ResponseTemplate};

fn boot(origin: &MockServer) -> EdgeBuilder {
    sluice().backend("origin", origin)
}

fn in_us(builder: EdgeBuilder) -> EdgeBuilder {
    builder.geolocation("127.0.0.1", US)
}

/// A reader in Japan: a known country without consent rules, so an ID is allowed.
fn in_japan(builder: EdgeBuilder) -> EdgeBuilder {
    builder.geolocation("127.0.0.1", [("country_code", "JP"), ("continent", "AS")])
}

fn in_country(builder: EdgeBuilder, code: &str) -> EdgeBuilder {
    builder.geolocation("127.0.0.1", [("country_code", code)])
}

#[tokio::test]
async fn sets_a_synthetic_id_where_no_consent_is_needed() -> TestResult {
    let origin = origin_with(
        html(page(""))
            .append_header("set-cookie", "a=1; Path=/")
            .append_header("set-cookie", "b=2; Path=/"),
    )
    .await;
    let edge = in_us(boot(&origin))
        .config("sluice_config", "cookie_domain", "publisher.example")
        .start()
        .await?;

    let wire = edge.get("/").header("user-agent", "test").send().await?;

    let id = wire.header("x-synthetic-id").expect("an ID").to_owned();
    assert!(sluice_edge::policy::identity::is_well_formed(&id), "{id}");
    assert_eq!(
        id_cookie(&wire),
        Some(format!(
            "synthetic_id={id}; Domain=publisher.example; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=31536000"
        ).as_str())
    );
    let cookies = wire.header_all("set-cookie");
    assert!(
        cookies.contains(&"a=1; Path=/") && cookies.contains(&"b=2; Path=/"),
        "{cookies:?}"
    );
    Ok(())
}

#[tokio::test]
async fn keeps_a_well_formed_id_and_replaces_a_forged_one() -> TestResult {
    let origin = origin_with(html(page(""))).await;
    let edge = in_us(boot(&origin)).start().await?;
    let id = well_formed_id();

    let kept = edge
        .get("/")
        .header("cookie", format!("synthetic_id={id}"))
        .send()
        .await?;
    let forged = edge
        .get("/")
        .header("cookie", "synthetic_id=evil%0d%0aSet-Cookie:%20x")
        .header("x-synthetic-id", "also\tforged")
        .send()
        .await?;

    kept.assert_header("x-synthetic-id", &id);
    let new = forged.header("x-synthetic-id").expect("a fresh ID");
    assert_ne!(new, id);
    assert!(sluice_edge::policy::identity::is_well_formed(new));
    Ok(())
}

#[rstest]
#[case::gpc("sec-gpc", "1")]
#[case::us_privacy_opt_out("cookie", "us_privacy=1YYN")]
#[case::malformed_us_privacy("cookie", "us_privacy=garbage")]
#[tokio::test]
async fn honours_us_opt_outs(#[case] name: &str, #[case] value: &str) -> TestResult {
    let origin = origin_with(html(page(""))).await;
    let edge = in_us(boot(&origin)).start().await?;

    let wire = edge.get("/").header(name, value).send().await?;

    wire.assert_status(200).assert_no_header("x-synthetic-id");
    assert_eq!(id_cookie(&wire), None);
    Ok(())
}

#[tokio::test]
async fn needs_tcf_consent_under_gdpr_and_expires_an_id_without_it() -> TestResult {
    let origin = origin_with(html(page(""))).await;
    // The project's fastly.toml places 127.0.0.1 in the Netherlands.
    let edge = boot(&origin).start().await?;

    let without = edge
        .get("/")
        .header("cookie", format!("synthetic_id={}", well_formed_id()))
        .send()
        .await?;
    let refused = edge
        .get("/")
        .header("cookie", format!("euconsent-v2={}", tcf(false)))
        .send()
        .await?;
    let consented = edge
        .get("/")
        .header("cookie", format!("euconsent-v2={}", tcf(true)))
        .send()
        .await?;
    let malformed = edge
        .get("/")
        .header("cookie", "euconsent-v2=%%%")
        .send()
        .await?;

    without
        .assert_status(200)
        .assert_header("x-geo-country", "NL")
        .assert_no_header("x-synthetic-id");
    assert!(
        id_cookie(&without).is_some_and(|c| c.contains("Max-Age=0")),
        "{without}"
    );
    refused.assert_no_header("x-synthetic-id");
    assert_eq!(id_cookie(&refused), None);
    consented.assert_header_present("x-synthetic-id");
    malformed
        .assert_status(200)
        .assert_no_header("x-synthetic-id");
    assert!(
        edge.log()
            .wait_for("euconsent-v2 consent string does not decode", 5 * SECOND)
    );
    Ok(())
}

#[tokio::test]
async fn the_origin_is_told_the_validated_id_never_the_clients() -> TestResult {
    let origin = origin_with(html(page(""))).await;
    let edge = in_japan(boot(&origin)).start().await?;

    let wire = edge
        .get("/")
        .header("x-synthetic-id", "forged-by-the-client")
        .send()
        .await?;

    let id = wire.header("x-synthetic-id").expect("an ID").to_owned();
    assert!(is_well_formed(&id));
    let received = &origin.received_requests().await.unwrap()[0];
    assert_eq!(received.headers["x-synthetic-id"], id.as_str());
    Ok(())
}

#[tokio::test]
async fn without_consent_the_origin_gets_no_id_and_no_id_cookie() -> TestResult {
    let origin = origin_with(html(page(""))).await;
    // The project's fastly.toml places 127.0.0.1 in the Netherlands: consent is needed.
    let edge = boot(&origin).start().await?;
    let id = well_formed_id();

    let wire = edge
        .get("/")
        .header(
            "cookie",
            [b"a=1; synthetic_id=", id.as_bytes(), b"; b=caf\xe9"].concat(),
        )
        .header("cookie", "c=3")
        .header("x-synthetic-id", &id)
        .send()
        .await?;

    wire.assert_status(200).assert_no_header("x-synthetic-id");
    assert!(id_cookie(&wire).is_some_and(|c| c.contains("Max-Age=0")));
    let received = &origin.received_requests().await.unwrap()[0];
    assert!(!received.headers.contains_key("x-synthetic-id"));
    assert_eq!(
        received.headers["cookie"].as_bytes(),
        b"a=1; b=caf\xe9; c=3"
    );
    Ok(())
}

#[tokio::test]
async fn an_unknown_jurisdiction_needs_consent_and_no_opt_out_by_default() -> TestResult {
    let origin = origin_with(html(page(""))).await;
    let edge = boot(&origin).without_geolocation().start().await?;

    let nothing = edge.get("/").send().await?;
    let consented = edge
        .get("/")
        .header("cookie", format!("euconsent-v2={}", tcf(true)))
        .send()
        .await?;
    let consented_with_gpc = edge
        .get("/")
        .header("cookie", format!("euconsent-v2={}", tcf(true)))
        .header("sec-gpc", "1")
        .send()
        .await?;

    nothing
        .assert_header("x-geo-info-available", "false")
        .assert_no_header("x-synthetic-id");
    consented.assert_header_present("x-synthetic-id");
    consented_with_gpc.assert_no_header("x-synthetic-id");
    Ok(())
}

#[rstest]
#[case::open("open", true)]
#[case::opt_out("opt-out", true)]
#[case::strict("strict", false)]
#[tokio::test]
async fn the_unknown_jurisdiction_setting_chooses_the_rules(
    #[case] rules: &str,
    #[case] id_without_consent: bool,
) -> TestResult {
    let origin = origin_with(html(page(""))).await;
    let edge = boot(&origin)
        .without_geolocation()
        .config("sluice_config", "unknown_jurisdiction", rules)
        .start()
        .await?;

    let wire = edge.get("/").send().await?;

    assert_eq!(
        wire.header("x-synthetic-id").is_some(),
        id_without_consent,
        "{wire}"
    );
    Ok(())
}

/// A country code that names no country (geolocation's placeholders) is an unknown
/// jurisdiction, and the EU's outermost regions and the EEA are GDPR (each code is named in
/// `policy::consent`'s unit test).
#[rstest]
#[case::placeholder("**")]
#[case::reunion("RE")]
#[case::aland("AX")]
#[case::norway("NO")]
#[tokio::test]
async fn these_readers_need_consent(#[case] country: &str) -> TestResult {
    let origin = origin_with(html(page(""))).await;
    let edge = in_country(boot(&origin), country).start().await?;

    let without = edge.get("/").send().await?;
    let with = edge
        .get("/")
        .header("cookie", format!("euconsent-v2={}", tcf(true)))
        .send()
        .await?;

    without.assert_no_header("x-synthetic-id");
    with.assert_header_present("x-synthetic-id");
    Ok(())
}

#[tokio::test]
async fn a_gpp_section_that_does_not_decode_spoils_only_itself() -> TestResult {
    let origin = origin_with(html(page(""))).await;
    let edge = boot(&origin).start().await?;
    let gpp = format!("{}~{}~%%%", gpp_header(&[2, 7]), tcf(true));

    let wire = edge
        .get("/")
        .header("cookie", format!("__gpp={gpp}"))
        .send()
        .await?;

    wire.assert_header_present("x-synthetic-id");
    assert!(
        edge.log()
            .wait_for("__gpp section 7 consent string does not decode", 5 * SECOND)
    );
    Ok(())
}

#[rstest]
#[case::opted_out(1, false)]
#[case::did_not_opt_out(2, true)]
#[tokio::test]
async fn a_us_national_version_2_section_is_read(
    #[case] sale: u64,
    #[case] allowed: bool,
) -> TestResult {
    let origin = origin_with(html(page(""))).await;
    let edge = in_us(boot(&origin)).start().await?;
    let gpp = format!("{}~{}", gpp_header(&[7]), usnat_v2(sale));

    let wire = edge
        .get("/")
        .header("cookie", format!("__gpp={gpp}; __gpp_sid=7"))
        .send()
        .await?;

    assert_eq!(wire.header("x-synthetic-id").is_some(), allowed, "{wire}");
    Ok(())
}

#[tokio::test]
async fn a_response_carrying_sluices_cookie_is_never_stored_by_shared_caches() -> TestResult {
    let origin = origin_with(
        html(page("")).insert_header("cache-control", "public, max-age=60, s-maxage=600"),
    )
    .await;
    let edge = in_japan(boot(&origin)).start().await?;

    let wire = edge.get("/").send().await?;

    assert!(id_cookie(&wire).is_some());
    wire.assert_header("cache-control", "max-age=60, private");
    Ok(())
}

/// `Cache-Control: private` is not enough: under RFC 9213 a CDN may follow `CDN-Cache-Control`
/// over it, and Fastly follows `Surrogate-Control`. None of them, nor `Expires`, stays beside a
/// reader's ID; a quoted comma in a directive stays inside it.
#[tokio::test]
async fn no_header_lets_a_shared_cache_keep_a_readers_id() -> TestResult {
    let origin = origin_with(
        html(page(""))
            .insert_header(
                "cache-control",
                r#"private="set-cookie, x-user", max-age=60"#,
            )
            .insert_header("surrogate-control", "max-age=3600")
            .insert_header("cdn-cache-control", "max-age=3600")
            .insert_header("cloudflare-cdn-cache-control", "max-age=3600")
            .insert_header("edge-control", "cache-maxage=3600")
            .insert_header("expires", "Thu, 01 Jan 2099 00:00:00 GMT"),
    )
    .await;
    let edge = in_japan(boot(&origin)).start().await?;

    let wire = edge.get("/").send().await?;

    assert!(id_cookie(&wire).is_some());
    wire.assert_header("cache-control", "max-age=60, private");
    for name in [
        "surrogate-control",
        "cdn-cache-control",
        "cloudflare-cdn-cache-control",
        "edge-control",
        "expires",
    ] {
        wire.assert_no_header(name);
    }
    Ok(())
}

/// The ID (and its expiry) goes only on HTML documents: a script, a stylesheet or an image
/// keeps its cacheability and carries no cookie of Sluice's.
#[rstest]
#[case::script("application/javascript")]
#[case::stylesheet("text/css")]
#[case::image("image/png")]
#[tokio::test]
async fn the_id_is_set_only_on_documents(#[case] content_type: &str) -> TestResult {
    let origin = origin_with(
        ResponseTemplate::new(200)
            .set_body_raw("body", content_type)
            .insert_header("cache-control", "public, max-age=600"),
    )
    .await;
    let edge = in_japan(boot(&origin)).start().await?;

    let wire = edge
        .get("/asset")
        .header("cookie", format!("synthetic_id={}", well_formed_id()))
        .send()
        .await?;

    wire.assert_status(200)
        .assert_no_header("x-synthetic-id")
        .assert_header("cache-control", "public, max-age=600");
    assert_eq!(id_cookie(&wire), None);
    Ok(())
}

#[tokio::test]
async fn a_missing_id_key_is_a_500_naming_the_secret_store() -> TestResult {
    let origin = origin_with(html(page(""))).await;
    let edge = boot(&origin)
        .without_secret("sluice_secrets", "synthetic_id_key")
        .start()
        .await?;

    let wire = edge.get("/").send().await?;

    wire.assert_status(500);
    let body = String::from_utf8_lossy(wire.body()).into_owned();
    assert!(
        body.contains("Secret Store sluice_secrets") && body.contains("synthetic_id_key"),
        "{body}"
    );
    assert_origin_untouched(&origin).await;
    Ok(())
}
