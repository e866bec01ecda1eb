//! Running Sluice: the wire probe, the demo publisher through Viceroy, and the Fastly CLI. The
//! serve command's own test is in `tools/tests/serve.rs`.

use crate::common::{SECOND, TestResult, needs, sluice};
use assert_cmd::Command;
use harness::{Script, ScriptedOrigin};
use sluice_tools::demo;
use std::process::Stdio;
use std::time::Duration;

fn probe() -> Command {
    Command::cargo_bin("harness-probe").expect("the probe binary")
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
fn probe_sends_the_method_and_headers_it_is_given_like_curl() -> TestResult {
    let origin = ScriptedOrigin::start(
        Script::new()
            .head(204, [("content-type", "text/plain")])
            .end(),
    )?
    .expect(1)
    .expect_header("x-reader", "probe");

    let output = probe()
        .args(["-X", "DELETE", "-H", "x-reader: probe"])
        .arg(format!("{}/item?id=7", origin.uri()))
        .output()?;

    assert!(output.status.success(), "{output:?}");
    let request = &origin.requests()[0];
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("DELETE", "/item?id=7")
    );
    Ok(())
}

#[test]
fn probe_and_setup_answer_help_and_version_and_refuse_a_bad_flag() -> TestResult {
    use sluice_tools::cli_check::behaves_like_a_command_line_tool;
    behaves_like_a_command_line_tool(
        "harness-probe",
        env!("CARGO_BIN_EXE_harness-probe").as_ref(),
    )?;
    behaves_like_a_command_line_tool(
        "harness-setup",
        env!("CARGO_BIN_EXE_harness-setup").as_ref(),
    )?;
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

/// The Fastly CLI (`.ci/run` installs it into the harness's tools folder): `fastly compute
/// build` reads the manifest (`[setup]` included) and makes the package, `fastly compute
/// validate` accepts it, and `fastly compute serve` runs it with the pinned Viceroy: `/health`
/// answers and a page from a slow origin streams.
#[tokio::test]
async fn the_fastly_cli_builds_validates_and_serves_the_package() -> TestResult {
    let Some(fastly) = needs("the Fastly CLI", fastly_cli()) else {
        return Ok(());
    };
    let root = sluice_tools::project_root();
    // The build writes bin/ and pkg/ (both ignored by git). It runs in the harness's wasm build
    // folder: already warm, and not the one `cargo test` holds.
    let build = std::process::Command::new(&fastly)
        .args(["compute", "build", "--non-interactive"])
        .current_dir(&root)
        .env("CARGO_TARGET_DIR", root.join("target/harness"))
        .output()?;
    assert!(
        build.status.success(),
        "{}",
        String::from_utf8_lossy(&build.stderr)
    );
    let validate = std::process::Command::new(&fastly)
        .args(["compute", "validate", "-p", "pkg/sluice.tar.gz"])
        .current_dir(&root)
        .output()?;
    assert!(
        validate.status.success()
            && String::from_utf8_lossy(&validate.stdout).contains("Validated package"),
        "{validate:?}"
    );

    // The CLI reads `[setup]` when it packs (and publishes): a mistyped entry fails the pack,
    // so the build above is the dry reading of the section.
    let broken = tempfile::tempdir()?;
    let manifest = std::fs::read_to_string(root.join("fastly.toml"))?;
    assert!(manifest.contains("port = 443"), "the backend's port moved");
    std::fs::write(
        broken.path().join("fastly.toml"),
        manifest.replace("port = 443", "port = \"443\""),
    )?;
    let pack = std::process::Command::new(&fastly)
        .args(["compute", "pack", "--wasm-binary"])
        .arg(root.join("bin/main.wasm"))
        .current_dir(broken.path())
        .output()?;
    assert!(
        !pack.status.success() && String::from_utf8_lossy(&pack.stderr).contains("443"),
        "a mistyped [setup] entry was packed: {pack:?}"
    );

    let origin = ScriptedOrigin::start(
        Script::new()
            .head(200, [("content-type", "text/html")])
            .chunk("<html><head></head><body><p>first</p>")
            .pause(SECOND)
            .chunk("<p>last</p></body></html>")
            .end(),
    )?;
    let served = ServedByCli::start(&fastly, &root, &origin.uri()).await?;
    served.get("/health").send().await?.assert_status(200);
    // Viceroy's start-up probe reached this origin too (no harness relay here), so the
    // response's own timeline shows the streaming: the head, then the last bytes a second later.
    let wire = served.get("/").send().await?;
    wire.assert_status(200).assert_chunked();
    let streamed_for = wire.last_byte_at().unwrap() - wire.head_at().unwrap();
    assert!(
        streamed_for >= SECOND / 2,
        "the head came with the last bytes:\n{wire}"
    );
    Ok(())
}

/// `fastly compute serve` of the built package, with the project's manifest pointed at a test
/// origin, in a folder of its own; stopped (the CLI and its Viceroy) when dropped.
struct ServedByCli {
    process: std::process::Child,
    addr: String,
    _folder: tempfile::TempDir,
}

impl ServedByCli {
    async fn start(
        fastly: &std::path::Path,
        root: &std::path::Path,
        origin: &str,
    ) -> Result<ServedByCli, Box<dyn std::error::Error + Send + Sync>> {
        use std::os::unix::process::CommandExt;
        let folder = tempfile::tempdir()?;
        let manifest = std::fs::read_to_string(root.join("fastly.toml"))?
            .replace("http://127.0.0.1:9090", origin);
        std::fs::write(folder.path().join("fastly.toml"), manifest)?;
        let addr = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .to_string();
        let viceroy = sluice().prepare()?.viceroy;
        let process = std::process::Command::new(fastly)
            .args(["compute", "serve", "--non-interactive", "--addr", &addr])
            .arg("--file")
            .arg(root.join("bin/main.wasm"))
            .arg("--viceroy-path")
            .arg(viceroy)
            .current_dir(folder.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so stopping it stops its Viceroy too.
            .process_group(0)
            .spawn()?;
        let served = ServedByCli {
            process,
            addr,
            _folder: folder,
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while served.get("/health").send().await.is_err() {
            if std::time::Instant::now() > deadline {
                return Err("fastly compute serve did not answer within 60 s".into());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(served)
    }

    fn get(&self, target: &str) -> harness::WireRequest {
        harness::WireRequest::new(self.addr.clone(), "GET", target).timeout(Duration::from_secs(10))
    }
}

impl Drop for ServedByCli {
    fn drop(&mut self) {
        let group = format!("-{}", self.process.id());
        let _ = std::process::Command::new("kill")
            .args(["--", &group])
            .status();
        let _ = self.process.wait();
    }
}

fn fastly_cli() -> Result<std::path::PathBuf, String> {
    let candidates = [
        std::env::var_os("HARNESS_FASTLY_CLI").map(Into::into),
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
        .ok_or_else(|| {
            "no `fastly` on PATH, in $HARNESS_FASTLY_CLI or in the tools folder (.ci/run installs it: npm install @fastly/cli)".to_owned()
        })
}

/// An HTTPS server on loopback with a self-signed certificate for `localhost`, answering every
/// request with two chunks half a second apart. Returns its port and the certificate's PEM.
fn tls_origin() -> Result<(u16, String), Box<dyn std::error::Error + Send + Sync>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])?;
    let pem = certified.cert.pem();
    let key = rustls::pki_types::PrivateKeyDer::try_from(certified.signing_key.serialize_der())?;
    let config = rustls::ServerConfig::builder_with_provider(crate::common::ring_provider())
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
    let cacert = tempfile::NamedTempFile::new()?;
    std::fs::write(cacert.path(), pem)?;
    let url = format!("https://localhost:{port}/");

    let trusted = probe()
        .arg("--cacert")
        .arg(cacert.path())
        .arg(&url)
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

/// `[setup]` in fastly.toml creates what the program reads, with the README's defaults: the
/// `origin` backend, every Config Store item but the asked `origin_host` at the value Sluice
/// takes when the item is absent (none empty: the CLI would store "example" for an empty one),
/// the Secret Store key without a value (asked, never in the repository), and the default log
/// endpoint. The README's release steps name the same.
#[test]
fn the_manifests_setup_creates_what_the_program_reads() -> TestResult {
    use sluice_edge::policy::settings::{DEFAULT_LOG_ENDPOINT, Settings};
    let root = sluice_tools::project_root();
    let manifest: toml::Table = std::fs::read_to_string(root.join("fastly.toml"))?.parse()?;
    let setup = &manifest["setup"];
    assert!(setup["backends"].get("origin").is_some());
    assert!(setup["log_endpoints"].get(DEFAULT_LOG_ENDPOINT).is_some());
    let secret = &setup["secret_stores"]["sluice_secrets"]["entries"]["synthetic_id_key"];
    assert!(secret.get("value").is_none() && secret.get("description").is_some());

    let items = setup["config_stores"]["sluice_config"]["items"]
        .as_table()
        .ok_or("items is a table")?;
    assert!(
        items["origin_host"].get("value").is_none(),
        "origin_host is asked"
    );
    let values: Vec<(String, String)> = items
        .iter()
        .filter_map(|(key, item)| Some((key.clone(), item.get("value")?.as_str()?.to_owned())))
        .collect();
    assert!(
        values.iter().all(|(_, value)| !value.is_empty()),
        "{values:?}"
    );
    let host = "www.example.com";
    let with_setup = Settings::from_lookup(
        |key| match key {
            "origin_host" => Some(host.to_owned()),
            _ => values
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone()),
        },
        Some(b"key".to_vec()),
    )?;
    let defaults = Settings::from_lookup(
        |key| (key == "origin_host").then(|| host.to_owned()),
        Some(b"key".to_vec()),
    )?;
    assert_eq!(with_setup, defaults);
    assert!(values.contains(&("log_endpoint".to_owned(), DEFAULT_LOG_ENDPOINT.to_owned())));

    let readme = std::fs::read_to_string(root.join("README.md"))?;
    let release = readme
        .split_once("## Releasing on Fastly")
        .ok_or("the README has a release section")?
        .1;
    for named in [
        "--status-check-path=/health",
        "origin_host",
        "synthetic_id_key",
        DEFAULT_LOG_ENDPOINT,
    ] {
        assert!(
            release.contains(named),
            "the release section does not name {named}"
        );
    }
    Ok(())
}
