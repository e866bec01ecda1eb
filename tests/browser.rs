//! The demo publisher in a real browser, direct and through Sluice. Headless Chromium loads
//! every demo page both ways; through Sluice the test fails if the browser blocks a resource
//! (Content-Security-Policy, Subresource Integrity), reports a console error the direct page
//! does not have, or requests anything from a host other than the proxy's, and if what the page
//! does (its scripts, its lazy images, its fragment, its session, its video) does not happen.
//!
//! Direct, the browser reaches `https://www.publisher.example` through a TLS front with a
//! self-signed certificate (`--host-resolver-rules`, `--ignore-certificate-errors`).
//!
//! Needs Debian's chromium and chromium-driver: under CI (`CI=true`) their absence fails the
//! test; elsewhere it says "skipped".

use crate::common::{TestResult, needs, sluice};
use harness::ScriptedOrigin;
use harness::browser::{Browser, Chromium, PageLoad};
use sluice_tools::demo;
use std::fmt::Write as _;
use std::net::SocketAddr;

/// A demo page, what shows it is ready, and what must be true once it is (both ways).
struct Page {
    path: &'static str,
    ready: &'static str,
    works: &'static [&'static str],
}

const PAGES: [Page; 8] = [
    Page {
        path: "/",
        ready: "document.documentElement.dataset.fragment === 'loaded' && document.documentElement.dataset.headlines === 'loaded' && document.querySelector('img[data-src]').complete",
        works: &[
            "document.documentElement.dataset.app === 'ran'",
            "document.querySelectorAll('#headlines li').length === 2",
            "document.querySelectorAll('#more li a').length === 2",
            "document.querySelector('#more script') === null",
            "document.querySelector('img[data-src]').naturalWidth > 0",
        ],
    },
    Page {
        path: "/slow",
        ready: "document.readyState === 'complete'",
        works: &["document.querySelectorAll('p').length > 100"],
    },
    Page {
        path: "/next",
        ready: "document.readyState === 'complete'",
        works: &[
            "JSON.parse(document.getElementById('__NEXT_DATA__').textContent).page === '/next'",
        ],
    },
    Page {
        path: "/login",
        ready: "document.getElementById('session') !== null",
        works: &[
            "location.pathname === '/account'",
            "document.getElementById('session').dataset.session === 'yes'",
        ],
    },
    Page {
        path: "/secure",
        ready: "document.documentElement.dataset.sri === 'ran' && document.documentElement.dataset.hashed === 'ran'",
        works: &[
            "document.documentElement.dataset.sri === 'ran'",
            "document.documentElement.dataset.hashed === 'ran'",
            "getComputedStyle(document.querySelector('.pinned')).borderLeftWidth === '4px'",
            "document.documentElement.dataset.app === 'ran'",
        ],
    },
    Page {
        path: "/media",
        ready: "document.getElementById('clip').readyState >= 1",
        works: &["document.getElementById('clip').videoWidth === 96"],
    },
    Page {
        path: "/utf16",
        ready: "document.getElementById('logo').complete",
        works: &[
            "document.title === 'Été'",
            "document.getElementById('logo').naturalWidth > 0",
        ],
    },
    Page {
        path: "/fragment",
        ready: "document.readyState === 'complete'",
        works: &["document.querySelectorAll('li').length === 2"],
    },
];

/// A TLS front for the demo origin: what `https://www.publisher.example` reaches in the
/// browser, with a self-signed certificate for that name.
fn tls_front(origin: SocketAddr) -> Result<SocketAddr, Box<dyn std::error::Error + Send + Sync>> {
    let certified = rcgen::generate_simple_self_signed(vec![demo::HOST.to_owned()])?;
    let key = rustls::pki_types::PrivateKeyDer::try_from(certified.signing_key.serialize_der())?;
    let mut config = rustls::ServerConfig::builder_with_provider(crate::common::ring_provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    listener.set_nonblocking(true)?;
    tokio::spawn(async move {
        let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
            return;
        };
        while let Ok((socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(socket).await else {
                    return;
                };
                let Ok(mut plain) = tokio::net::TcpStream::connect(origin).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    Ok(addr)
}

/// A console message or URL with the site's origin (direct or proxied) and source positions
/// replaced, so the two loads can be compared.
fn normalized(text: &str, proxy: &str) -> String {
    let text = text
        .replace(&format!("https://{}", demo::HOST), "[site]")
        .replace(&format!("http://{proxy}"), "[site]");
    text.split_whitespace()
        .filter(|word| !word.chars().all(|c| c.is_ascii_digit() || c == ':'))
        .collect::<Vec<_>>()
        .join(" ")
}

fn severe(load: &PageLoad, proxy: &str) -> Vec<String> {
    load.console
        .iter()
        .filter(|m| m.level == "SEVERE")
        .map(|m| normalized(&m.message, proxy))
        .collect()
}

/// What is wrong with one page, through Sluice, compared with the same page direct.
async fn problems(
    browser: &Browser,
    page: &Page,
    direct: &PageLoad,
    proxied: &PageLoad,
    proxy: &str,
) -> Result<Vec<String>, harness::HarnessError> {
    let mut problems = Vec::new();
    for url in &proxied.requests {
        let on_proxy = url.starts_with(&format!("http://{proxy}/"));
        if !on_proxy && !url.starts_with("blob:") && !url.starts_with("about:") {
            problems.push(format!("a request left the proxy host: {url}"));
        }
    }
    for (url, reason) in &proxied.failures {
        if matches!(
            reason.as_str(),
            "csp" | "subresource-filter" | "mixed-content" | "inspector" | "other"
        ) {
            problems.push(format!("blocked ({reason}): {url}"));
        }
    }
    for message in &proxied.console {
        let text = message.message.to_ascii_lowercase();
        if text.contains("content security policy") || text.contains("integrity") {
            problems.push(format!(
                "the browser refused something: {}",
                message.message
            ));
        }
    }
    let expected = severe(direct, proxy);
    for message in severe(proxied, proxy) {
        if !expected.contains(&message) {
            problems.push(format!(
                "a console error the direct page does not have: {message}"
            ));
        }
    }
    for check in page.works {
        if browser.eval(&format!("return !!({check});")).await? != serde_json::json!(true) {
            problems.push(format!("not true through Sluice: {check}"));
        }
    }
    Ok(problems)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_demo_page_works_through_sluice_as_it_does_direct() -> TestResult {
    let Some(chromium) = needs("Chromium", Chromium::find()) else {
        return Ok(());
    };
    let origin = ScriptedOrigin::serve("127.0.0.1:0", demo::router())?;
    let front = tls_front(origin.addr())?;
    let edge = sluice().backend("origin", &origin).start().await?;
    let proxy = edge.addr().to_string();
    let browser = Browser::start(
        &chromium,
        &[
            format!("--host-resolver-rules=MAP {}:443 {front}", demo::HOST),
            "--ignore-certificate-errors".to_owned(),
        ],
    )
    .await?;

    let mut report = String::new();
    for page in &PAGES {
        let direct = browser
            .load(&format!("https://{}{}", demo::HOST, page.path), page.ready)
            .await?;
        for check in page.works {
            if browser.eval(&format!("return !!({check});")).await? != serde_json::json!(true) {
                writeln!(
                    report,
                    "{} direct: the demo itself fails: {check}",
                    page.path
                )?;
            }
        }
        let proxied = browser
            .load(&format!("http://{proxy}{}", page.path), page.ready)
            .await?;
        let is_document = page.path != "/fragment";
        let injected = browser
            .eval("return document.documentElement.dataset.sluice === 'injected';")
            .await?;
        if injected != serde_json::json!(is_document) {
            writeln!(
                report,
                "{}: the injected script ran: {injected}, expected {is_document}",
                page.path
            )?;
        }
        for problem in problems(&browser, page, &direct, &proxied, &proxy).await? {
            writeln!(report, "{}: {problem}", page.path)?;
        }
        if page.path == "/media" {
            let ranged = proxied
                .responses
                .iter()
                .any(|(url, status)| url.ends_with("/static/clip.webm") && *status == 206);
            if !ranged {
                writeln!(
                    report,
                    "/media: the video was not served in ranges: {:?}",
                    proxied.responses
                )?;
            }
        }
    }
    assert!(
        report.is_empty(),
        "through Sluice at http://{proxy}:\n{report}\n--- Viceroy ---\n{}",
        edge.log().tail(40)
    );
    Ok(())
}
