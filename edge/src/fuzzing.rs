//! The checks the fuzz targets run (`fuzz/`), kept here so they build and are tested with the
//! rest of the crate: arbitrary bytes must never panic, and a valid body must stream to exactly
//! what a single-shot rewrite gives.

use crate::pipeline::{
    ContentKind, Encoding, Params, PipelineSettings, encode, process, process_response_streaming,
};
use crate::policy::{consent, identity, request};
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

/// Arbitrary text through every parser of client input: cookies, consent strings,
/// Accept-Encoding, Host, request targets. None may panic, and what they let through into a
/// header is always header-safe.
pub fn client_input_never_panics(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let cookie = |name| identity::cookie(&text, name);
    for jurisdiction in [
        consent::Jurisdiction::Gdpr,
        consent::Jurisdiction::UsOptOut,
        consent::Jurisdiction::Other,
    ] {
        let signals = consent::Signals {
            tcf: cookie("euconsent-v2").or(Some(&text)),
            gpp: cookie("__gpp").or(Some(&text)),
            gpp_sid: cookie("__gpp_sid"),
            us_privacy: cookie("us_privacy").or(Some(&text)),
            gpc: data.first() == Some(&b'1'),
        };
        let _ = consent::decide(jurisdiction, &signals);
    }
    if let Some(value) = request::accept_encoding(Some(&text)) {
        assert!(crate::policy::headers::header_safe(&value));
    }
    if let Some(host) = request::proxy_host(Some(&text)) {
        assert!(
            host.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:".contains(&b))
        );
    }
    let _ = request::origin_target(&text);
    if identity::is_well_formed(&text) {
        assert!(crate::policy::headers::header_safe(&text));
    }
}
