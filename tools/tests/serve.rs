//! The serve command end to end: it comes up on the addresses it is given, serves the demo
//! publisher through Viceroy, streams its slow page, and stops cleanly on Ctrl-C.

use harness::WireRequest;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

#[tokio::test]
async fn the_serve_command_brings_up_the_demo_and_stops_on_ctrl_c() -> TestResult {
    let (port, demo_port) = (free_port()?, free_port()?);
    let mut serve = Command::new(env!("CARGO_BIN_EXE_serve"))
        .args(["--addr", &format!("127.0.0.1:{port}")])
        .args(["--demo-addr", &format!("127.0.0.1:{demo_port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = serve.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut ready = false;
    while !ready && Instant::now() < deadline {
        ready = rx
            .recv_timeout(Duration::from_secs(1))
            .is_ok_and(|line| line.starts_with("Sluice is serving"));
    }
    assert!(ready, "serve never said it was serving");

    let wire = WireRequest::new(format!("127.0.0.1:{port}"), "GET", "/slow")
        .header("accept-encoding", "gzip")
        .send()
        .await?;

    Command::new("kill")
        .args(["-INT", &serve.id().to_string()])
        .status()?;
    let status = serve.wait()?;
    wire.assert_status(200)
        .assert_chunked()
        .assert_header("content-encoding", "gzip");
    let body = String::from_utf8(wire.decoded_body()?)?;
    assert!(
        body.contains(&format!("http://127.0.0.1:{port}/")),
        "{body}"
    );
    assert!(wire.chunk_times().len() > 2, "streamed in pieces:\n{wire}");
    assert!(status.success(), "serve exits cleanly on Ctrl-C: {status}");
    Ok(())
}
