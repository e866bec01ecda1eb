//! Running Sluice: the wire probe, the demo publisher through Viceroy, and the Fastly CLI. The
//! serve command's own test is in `tools/tests/serve.rs`.

use crate::common::{SECOND, TestResult, sluice};
use assert_cmd::Command;
use harness::{Script, ScriptedOrigin};
use sluice_tools::demo;
use std::process::Stdio;
use std::time::Duration;

fn probe() -> Command {
    Command::cargo_bin("probe").expect("the probe binary")
}

#[test]
fn probe_prints_the_timeline_of_a_streamed_response() -> TestResult {
    let origin = ScriptedOrigin::start(
        Script::new()
            .head(200, [("content-type", "text/plain")])
            .chunk("first ")
            .pause(SECOND / 2)
            .chunk("second")
            .end(),
    )?;

    let output = probe().arg(format!("{}/x", origin.uri())).output()?;

    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout)?;
    for expected in [
        "head 200",
        "chunk 6 bytes",
        "terminator",
        "complete: ended by the 0-chunk",
        "decoded: 12 bytes",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
    Ok(())
}

#[test]
fn probe_exits_non_zero_on_a_truncated_response() -> TestResult {
    let origin = ScriptedOrigin::start(
        Script::new()
            .head(200, [("content-type", "text/plain")])
            .chunk("partial")
            .cut(),
    )?;

    let output = probe().arg(origin.uri()).output()?;

    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(String::from_utf8(output.stdout)?.contains("TRUNCATED"));
    Ok(())
}

#[test]
fn probe_speaks_json_for_machines() -> TestResult {
    let origin = ScriptedOrigin::start(
        Script::new()
            .head(200, [("content-type", "text/plain")])
            .chunk("abc")
            .end(),
    )?;

    let output = probe().args(["--json", &origin.uri()]).output()?;

    let report: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    assert_eq!(report["status"], 200);
    assert_eq!(report["terminated"], true);
    assert_eq!(report["decoded_bytes"], 3);
    assert_eq!(report["events"][1]["event"], "chunk");
    Ok(())
}

#[test]
fn probe_refuses_bad_arguments() {
    probe().assert().code(2);
    probe().arg("ftp://x").assert().code(2);
}

#[tokio::test]
async fn the_demo_slow_page_shows_its_first_paragraph_seconds_before_the_end() -> TestResult {
    let origin = ScriptedOrigin::serve("127.0.0.1:0", demo::router())?;
    let edge = sluice().backend("origin", &origin).start().await?;

    let wire = edge
        .get("/slow")
        .header("accept-encoding", "br")
        .send()
        .await?;

    wire.assert_status(200)
        .assert_chunked()
        .assert_header("content-encoding", "br");
    let first = wire.first_chunk_at().expect("a chunk");
    let last = wire.last_byte_at().expect("the end");
    assert!(
        last - first > 2 * SECOND,
        "first {first:?}, last {last:?}:\n{wire}"
    );
    let body = String::from_utf8(wire.decoded_body()?)?;
    let proxy = edge.addr().to_string();
    assert!(
        body.contains(&format!("href=\"http://{proxy}/\"")),
        "{body}"
    );
    assert!(!body.contains("https://www.publisher.example/"), "{body}");
    Ok(())
}

/// The Fastly CLI, where it is installed (`.ci/run` installs it): `fastly compute build` makes
/// the package, `fastly compute validate` accepts it, and `fastly compute serve` runs it with
/// the pinned Viceroy.
#[tokio::test]
async fn the_fastly_cli_builds_validates_and_serves_the_package() -> TestResult {
    let Some(fastly) = fastly_cli() else {
        eprintln!("skipped: no Fastly CLI (set SLUICE_FASTLY_CLI, or run .ci/run to install it)");
        return Ok(());
    };
    let root = sluice_tools::project_root();
    let copy = std::env::temp_dir().join(format!("sluice-cli-{}", std::process::id()));
    std::fs::create_dir_all(&copy)?;
    let files = std::process::Command::new("git")
        .args(["ls-files", "-co", "--exclude-standard"])
        .current_dir(&root)
        .output()?;
    for file in String::from_utf8(files.stdout)?.lines() {
        let to = copy.join(file);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if root.join(file).is_file() {
            std::fs::copy(root.join(file), to)?;
        }
    }
    // The harness's own wasm build folder: already warm, and not the one `cargo test` holds.
    let target = root.join("target").join("harness");

    let build = std::process::Command::new(&fastly)
        .args(["compute", "build", "--non-interactive"])
        .current_dir(&copy)
        .env("CARGO_TARGET_DIR", &target)
        .output()?;
    let validate = std::process::Command::new(&fastly)
        .args(["compute", "validate", "-p", "pkg/sluice.tar.gz"])
        .current_dir(&copy)
        .output()?;

    let _ = std::fs::remove_dir_all(&copy);
    assert!(
        build.status.success(),
        "{}",
        String::from_utf8_lossy(&build.stderr)
    );
    assert!(
        validate.status.success()
            && String::from_utf8_lossy(&validate.stdout).contains("Validated package"),
        "{validate:?}"
    );
    Ok(())
}

fn fastly_cli() -> Option<std::path::PathBuf> {
    let candidates = [
        std::env::var_os("SLUICE_FASTLY_CLI").map(Into::into),
        Some(harness::toolchain::tools_dir().join("fastly-cli/node_modules/.bin/fastly")),
        Some("fastly".into()),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|path: &std::path::PathBuf| {
            std::process::Command::new(path)
                .arg("version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
}

/// An HTTPS server on loopback with a self-signed certificate for `localhost`, answering every
/// request with two chunks half a second apart. Returns its port and the certificate's PEM.
fn tls_origin() -> Result<(u16, String), Box<dyn std::error::Error + Send + Sync>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])?;
    let pem = certified.cert.pem();
    let key = rustls::pki_types::PrivateKeyDer::try_from(certified.signing_key.serialize_der())?;
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(vec![certified.cert.der().clone()], key)?;
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    listener.set_nonblocking(true)?;
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            while let Ok((socket, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(socket).await else {
                        return;
                    };
                    let mut request = [0u8; 4096];
                    let _ = tls.read(&mut request).await;
                    let _ = tls
                        .write_all(
                            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n6\r\nfirst \r\n",
                        )
                        .await;
                    let _ = tls.flush().await;
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    let _ = tls.write_all(b"6\r\nsecond\r\n0\r\n\r\n").await;
                    let _ = tls.flush().await;
                    let _ = tls.shutdown().await;
                });
            }
        });
    });
    Ok((port, pem))
}

#[test]
fn probe_speaks_https_and_verifies_the_certificate() -> TestResult {
    let (port, pem) = tls_origin()?;
    let cacert = std::env::temp_dir().join(format!("sluice-probe-ca-{port}.pem"));
    std::fs::write(&cacert, pem)?;
    let url = format!("https://localhost:{port}/");

    let trusted = probe()
        .args(["--cacert", cacert.to_str().unwrap(), &url])
        .output()?;
    let untrusted = probe().arg(&url).output()?;

    let _ = std::fs::remove_file(&cacert);
    let text = String::from_utf8(trusted.stdout)?;
    assert!(trusted.status.success(), "{text}");
    assert!(
        text.contains("chunk 6 bytes") && text.contains("terminator"),
        "{text}"
    );
    assert_eq!(untrusted.status.code(), Some(1));
    assert!(String::from_utf8(untrusted.stderr)?.contains("TLS"));
    Ok(())
}
