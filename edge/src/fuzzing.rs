//! The checks the fuzz targets run (`fuzz/`), kept here so they build and are tested with the
//! rest of the crate: arbitrary bytes must never panic, and a valid body must stream to exactly
//! what a single-shot rewrite gives.

use crate::pipeline::{
    ContentKind, Encoding, Params, PipelineSettings, encode, process, process_response_streaming,
};
use crate::policy::headers::{HeaderList, Headers, ReadHeaders, valid_value};
use crate::policy::{consent, identity, request, response};
use std::io::Read;

/// Feeds `data` to `inner` at most `size` bytes per read, as an origin's chunks arrive.
struct Chunked<'a> {
    data: &'a [u8],
    size: usize,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.size.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn choose(data: &[u8]) -> Option<(Params, usize, &[u8])> {
    let (&[selector, chunk], body) = data.split_first_chunk::<2>()?;
    let encoding = Encoding::ALL[usize::from(selector & 3)];
    let kind = [
        ContentKind::Html,
        ContentKind::JavaScript,
        ContentKind::Css,
        ContentKind::Json,
    ][usize::from(selector >> 2 & 3)];
    let params = Params::new("www.publisher.example", "https", "proxy.example")
        .with_kind(kind)
        .with_encoding(encoding)
        .with_inject_script("/t.js")
        .with_settings(PipelineSettings::new().with_max_decoded_bytes(16 << 20));
    Some((params, usize::from(chunk) + 1, body))
}

/// Arbitrary bytes as a body of an arbitrary encoding and kind, in arbitrary chunks: the
/// pipeline returns a result (most often an error), and never panics.
pub fn pipeline_never_panics(data: &[u8]) {
    if let Some((params, size, body)) = choose(data) {
        let reader = Chunked { data: body, size };
        let _ = process_response_streaming(reader, &mut std::io::sink(), &params);
    }
}

/// Arbitrary bytes as a document: encoded, streamed in arbitrary chunks, and decoded again, it
/// equals the single-shot rewrite of the document.
pub fn streaming_equals_single_shot(data: &[u8]) {
    let Some((params, size, document)) = choose(data) else {
        return;
    };
    let whole = params
        .clone()
        .with_encoding(Encoding::Identity)
        .with_settings(params.settings().with_read_buffer_bytes(document.len() + 1));
    let Ok(reference) = process(document, &whole) else {
        return;
    };
    let encoding = params_encoding(data);
    let encoded = encode(encoding, document, params.settings()).expect("encodes");
    let mut out = Vec::new();
    process_response_streaming(
        Chunked {
            data: &encoded,
            size,
        },
        &mut out,
        &params,
    )
    .expect("a valid body streams");
    let decoded = match encoding {
        Encoding::Identity => out,
        _ => decode_only(encoding, &out),
    };
    assert!(
        decoded == reference,
        "streamed and single-shot results differ"
    );
}

fn params_encoding(data: &[u8]) -> Encoding {
    Encoding::ALL[usize::from(data[0] & 3)]
}

fn decode_only(encoding: Encoding, body: &[u8]) -> Vec<u8> {
    // A host that does not occur: the pipeline then only decodes, and writes identity.
    let params = Params::new("sluice-fuzz-decoder.invalid", "https", "p")
        .with_kind(ContentKind::JavaScript)
        .with_encoding(encoding)
        .with_output_encoding(Encoding::Identity);
    process(body, &params).expect("the output decodes")
}

/// Header names the client-input check spreads its values over: every header Sluice reads from
/// a client request or an origin response.
const HEADER_NAMES: [&str; 29] = [
    "host",
    "cookie",
    "user-agent",
    "accept-encoding",
    "sec-gpc",
    "x-synthetic-id",
    "content-type",
    "content-encoding",
    "etag",
    "vary",
    "cache-control",
    "set-cookie",
    "x-custom",
    "range",
    "connection",
    "transfer-encoding",
    "location",
    "link",
    "content-security-policy",
    "surrogate-control",
    "cdn-cache-control",
    "fastly-client-ip",
    "surrogate-key",
    "expires",
    "age",
    "if-none-match",
    "if-modified-since",
    "authorization",
    "last-modified",
];

/// Headers that refuse to take a value no HTTP message could carry: the check fails if the
/// policy ever tries to set one.
#[derive(Clone)]
struct StrictHeaders(HeaderList);

impl ReadHeaders for StrictHeaders {
    fn get_all(&self, name: &str) -> Vec<&[u8]> {
        self.0.get_all(name)
    }

    fn names(&self) -> Vec<String> {
        self.0.names()
    }
}

impl Headers for StrictHeaders {
    fn set(&mut self, name: &str, value: &[u8]) {
        assert!(valid_value(value), "{name} set to {value:?}");
        self.0.set(name, value);
    }

    fn append(&mut self, name: &str, value: &[u8]) {
        assert!(valid_value(value), "{name} appended {value:?}");
        self.0.append(name, value);
    }

    fn remove(&mut self, name: &str) {
        self.0.remove(name);
    }
}

/// The settings' keys, in the order [`settings_never_panic`] fills them.
const SETTING_KEYS: [&str; 16] = [
    "origin_host",
    "origin_backend",
    "inject_script",
    "cookie_domain",
    "unknown_jurisdiction",
    "response_headers",
    "post_processors",
    "verbatim_paths",
    "gzip_level",
    "brotli_quality",
    "brotli_window",
    "max_decoded_bytes",
    "log_endpoint",
    "origin_host",
    "vcpu_budget_ms",
    "cache_rewritten",
];

/// Arbitrary text as the Config Store's values (split at NUL bytes, one field per key of
/// [`SETTING_KEYS`]): reading them never panics, and settings that are accepted are ones the
/// program can use as they are: a backend name the fastly crate takes, host names DNS can
/// hold, a brotli encoder within its heap budget, header-safe operator headers.
pub fn settings_never_panic(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let values: Vec<&str> = text.split('\0').collect();
    let lookup = |key: &str| {
        SETTING_KEYS
            .iter()
            .position(|k| *k == key)
            .and_then(|at| values.get(at))
            .map(|v| (*v).to_owned())
    };
    let _ = crate::policy::settings::log_endpoint(lookup("log_endpoint").as_deref());
    let Ok(settings) = crate::policy::settings::Settings::from_lookup(lookup, Some(b"k".to_vec()))
    else {
        return;
    };
    let backend = &settings.origin_backend;
    assert!(!backend.is_empty() && backend.len() <= 255, "{backend:?}");
    assert!(
        backend.bytes().all(|b| b == b' ' || b.is_ascii_graphic()),
        "{backend:?}"
    );
    assert!(
        request::is_host_name(&settings.origin_host),
        "{:?}",
        settings.origin_host
    );
    if let Some(domain) = &settings.cookie_domain {
        assert!(
            request::is_host_name(domain.trim_start_matches('.')),
            "{domain:?}"
        );
    }
    let pipeline = settings.pipeline;
    assert!(crate::policy::settings::brotli_encoder_fits(
        pipeline.brotli_quality(),
        pipeline.brotli_window()
    ));
    for (name, value) in &settings.response_headers {
        assert!(
            crate::policy::headers::header_safe(value),
            "{name}: {value:?}"
        );
    }
    assert!(!settings.inject_script.chars().any(char::is_control));
    assert!((1..=120_000).contains(&settings.vcpu_budget_ms));
}

/// Arbitrary bytes as a client request and an origin response, through the functions the
/// Compute glue calls, in its order: the target, the proxy host, consent and identity, the
/// origin request's headers, then the response's headers. The input is split at NUL bytes: the
/// first field is the raw URL, each other field a header (its first byte picks the name, the
/// rest is the value, with the bytes no header may carry, CR, LF and NUL, made spaces). Nothing
/// may panic, and everything Sluice writes into a header is a legal header value.
pub fn client_input_never_panics(data: &[u8]) {
    let mut fields = data.split(|&b| b == 0);
    let url = fields.next().unwrap_or_default();
    let headers = StrictHeaders(HeaderList(
        fields
            .filter_map(|field| {
                let (&selector, value) = field.split_first()?;
                let name = HEADER_NAMES[usize::from(selector) % HEADER_NAMES.len()];
                let value = value
                    .iter()
                    .map(|&b| if valid_value(&[b]) { b } else { b' ' })
                    .collect();
                Some((name.to_owned(), value))
            })
            .collect(),
    ));

    let _ = request::parse_target("GET", url);
    let _ = request::parse_target("OPTIONS", url);
    let proxy_host = request::proxy_host(headers.get("host"));
    if let Some(host) = &proxy_host {
        assert!(
            host.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        );
    }
    let accept = headers
        .get_all("accept-encoding")
        .iter()
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect::<Vec<_>>()
        .join(", ");
    for origin in Encoding::ALL {
        let _ = request::output_encoding(Some(&accept), origin);
    }
    let urls = crate::pipeline::UrlRewriter::new(
        "www.publisher.example",
        "https",
        proxy_host.as_deref().unwrap_or("proxy.example"),
    );
    for country in [Some("NL"), Some("US"), Some("JP"), Some("**"), None] {
        for unknown in [
            consent::UnknownJurisdiction::Strict,
            consent::UnknownJurisdiction::OptOut,
            consent::UnknownJurisdiction::Open,
        ] {
            let inputs = identity::Inputs {
                key: b"fuzz",
                client_ip: None,
                country,
                unknown,
            };
            let outcome = identity::read(&headers, &inputs);
            if let identity::IdentityAction::Set(id) = &outcome.action {
                assert!(identity::is_well_formed(id), "{id:?}");
            }
            let mut origin = headers.clone();
            request::prepare_origin_headers(
                &mut origin,
                &request::OriginRequest {
                    origin_host: "www.publisher.example",
                    client_ip: None,
                    identity: &outcome.action,
                },
            );
            if !outcome.consent.allowed {
                let forwarded = origin.0.get_all("cookie");
                let cookies = crate::policy::cookies::Cookies::parse(&forwarded);
                assert_eq!(cookies.get(identity::COOKIE), None);
            }
            let mut response = headers.clone();
            let _ = response::content_encoding(&response);
            let _ = response::content_type(&response);
            let _ = response::transfer_coding(&response);
            let _ = response::inline_locks(&response);
            response::rewrite_header_urls(&mut response, &urls);
            response::prepare_modified_body(&mut response);
            response::apply_identity(&mut response, &outcome.action, Some("publisher.example"));
            let _ = response::head_bytes(&response);
        }
    }
    cache_rules_hold(&headers, url);
}

/// The cache's rules over the same request and response headers: nothing panics, a kept
/// lifetime is one the origin gave, every surrogate key is one Fastly can hold, and a stored
/// head reads back as it was written.
fn cache_rules_hold(headers: &StrictHeaders, target: &[u8]) {
    use crate::policy::cache::{conditional, freshness, key, purge, stored};
    let now = std::time::SystemTime::now();
    for status in [200, 203, 206, 404] {
        if let Ok(lifetime) = freshness::keep("GET", headers, status, headers, now) {
            assert!(freshness::KEPT_STATUSES.contains(&status));
            assert!(!lifetime.ttl.is_zero());
            assert!(headers.get("set-cookie").is_none());
            // Every header the origin's Vary names is one the copy varies on (Accept-Encoding
            // through the key's coding profile).
            let varied = key::vary_names(headers);
            for named in crate::policy::headers::list_elements(headers, "vary") {
                let named = String::from_utf8_lossy(named).to_ascii_lowercase();
                assert!(
                    named == "accept-encoding" || varied.contains(&named),
                    "{named:?}"
                );
            }
        }
    }
    let target = String::from_utf8_lossy(target);
    for surrogate in key::surrogate_keys(headers, &target, "sluice-entry-0") {
        assert!(
            !surrogate.is_empty() && surrogate.len() <= 1024,
            "{surrogate:?}"
        );
        assert!(
            surrogate.bytes().all(|b| b.is_ascii_graphic()),
            "{surrogate:?}"
        );
    }
    for name in key::vary_names(headers) {
        assert!(
            http::HeaderName::from_bytes(name.as_bytes()).is_ok(),
            "{name:?}"
        );
    }
    let _ = conditional::not_modified(headers, headers);
    let _ = purge::purge_key("POST", &target, headers, Some(&[b'k'; 32]));
    let head = stored::StoredHead {
        status: 200,
        headers: headers.0.clone(),
        vary: key::vary_names(headers),
        ..stored::StoredHead::default()
    };
    assert_eq!(stored::StoredHead::from_bytes(&head.to_bytes()), Ok(head));
    let _ = stored::StoredHead::from_bytes(target.as_bytes());
}
