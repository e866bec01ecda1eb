//! Headless Chromium through chromedriver (WebDriver over the harness's own HTTP/1.1 client): load
//! a page, and see what the browser saw: its console, every request it made, and every response.
//!
//! Debian's `chromium` and `chromium-driver` packages provide both programs
//! ([`Chromium::find`]); a browser that downloads itself does not work on these machines.

use crate::errors::HarnessError;
use crate::request::WireRequest;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where the browser and its driver are.
#[derive(Debug, Clone)]
pub struct Chromium {
    /// The browser binary.
    pub browser: PathBuf,
    /// chromedriver.
    pub driver: PathBuf,
}

impl Chromium {
    /// Debian's `/usr/bin/chromium` and `/usr/bin/chromedriver` (or `$CHROMIUM` and
    /// `$CHROMEDRIVER`); the error says how to install them.
    pub fn find() -> Result<Chromium, String> {
        let path = |var: &str, default: &str| {
            std::env::var_os(var)
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(default))
        };
        let found = Chromium {
            browser: path("CHROMIUM", "/usr/bin/chromium"),
            driver: path("CHROMEDRIVER", "/usr/bin/chromedriver"),
        };
        if found.browser.is_file() && found.driver.is_file() {
            Ok(found)
        } else {
            Err(format!(
                "no Chromium at {} and {} (install Debian's packages: apt-get install chromium chromium-driver)",
                found.browser.display(),
                found.driver.display()
            ))
        }
    }
}

/// A console message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleMessage {
    /// `SEVERE`, `WARNING`, `INFO`.
    pub level: String,
    /// The text, with the source it came from.
    pub message: String,
}

/// What the browser did while loading a page.
#[derive(Debug, Clone, Default)]
pub struct PageLoad {
    /// The page's URL once loaded (after redirects).
    pub url: String,
    /// Console messages, in order.
    pub console: Vec<ConsoleMessage>,
    /// Every URL the page requested (`chrome:` and `data:` left out).
    pub requests: Vec<String>,
    /// Every response: URL and status.
    pub responses: Vec<(String, u16)>,
    /// Requests that failed, with the reason (`net::ERR_...`, or a blocked reason: `csp`,
    /// `subresource-filter`, ...).
    pub failures: Vec<(String, String)>,
}

/// A browser session: chromedriver, and one Chromium with a fresh profile.
pub struct Browser {
    driver: Child,
    addr: String,
    session: String,
    /// Removed when the session ends.
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session with a fresh profile, and these
    /// extra command-line arguments (`--host-resolver-rules=...`, ...).
    pub async fn start(
        chromium: &Chromium,
        extra_args: &[String],
    ) -> Result<Browser, HarnessError> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| HarnessError::io("finding a port for chromedriver", e))?
            .port();
        let driver = Command::new(&chromium.driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| HarnessError::io("starting chromedriver", e))?;
        let addr = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(&addr).is_err() {
            if Instant::now() > deadline {
                return Err(HarnessError::Setup("chromedriver did not start".into()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = tempfile::Builder::new()
            .prefix("harness-chromium-")
            .tempdir()
            .map_err(|e| HarnessError::io("creating the browser profile folder", e))?;
        let mut args = vec![
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--no-first-run".to_owned(),
            // Without these, Chromium's own connections fail on a closed network, many at a time.
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-quic".to_owned(),
            "--autoplay-policy=no-user-gesture-required".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        args.extend(extra_args.iter().cloned());
        let mut browser = Browser {
            driver,
            addr,
            session: String::new(),
            _profile: profile,
        };
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL", "performance": "ALL"},
            "goog:chromeOptions": {"binary": chromium.browser, "args": args}
        }}});
        let session = browser.call("POST", "/session", Some(caps)).await?;
        browser.session = session["sessionId"]
            .as_str()
            .ok_or_else(|| HarnessError::Protocol(format!("no session id in {session}")))?
            .to_owned();
        Ok(browser)
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, HarnessError> {
        let mut request =
            WireRequest::new(self.addr.clone(), method, path).timeout(Duration::from_secs(90));
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let wire = request.send().await?;
        let value: Value = serde_json::from_slice(wire.body())
            .map_err(|e| HarnessError::Protocol(format!("WebDriver {method} {path}: {e}")))?;
        if wire.status() != 200 {
            return Err(HarnessError::Protocol(format!(
                "WebDriver {method} {path}: {value}"
            )));
        }
        Ok(value["value"].clone())
    }

    fn path(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    /// Runs `script` in the page and returns its value.
    pub async fn eval(&self, script: &str) -> Result<Value, HarnessError> {
        self.call(
            "POST",
            &self.path("/execute/sync"),
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    /// Runs an asynchronous script (it calls `arguments[arguments.length - 1]` with its
    /// result).
    pub async fn eval_async(&self, script: &str) -> Result<Value, HarnessError> {
        self.call(
            "POST",
            &self.path("/execute/async"),
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    /// Waits until `condition` (a JavaScript expression) is true in the page, or `timeout`
    /// passes; returns whether it came true.
    pub async fn wait_for(&self, condition: &str, timeout: Duration) -> Result<bool, HarnessError> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.eval(&format!("return !!({condition});")).await? == json!(true) {
                return Ok(true);
            }
            if Instant::now() > deadline {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn log(&self, kind: &str) -> Result<Vec<Value>, HarnessError> {
        let entries = self
            .call("POST", &self.path("/se/log"), Some(json!({"type": kind})))
            .await?;
        Ok(entries.as_array().cloned().unwrap_or_default())
    }

    /// Loads `url` (WebDriver waits for the load event), waits until `ready` (a JavaScript
    /// expression, at most five seconds), and reports what the browser did meanwhile.
    pub async fn load(&self, url: &str, ready: &str) -> Result<PageLoad, HarnessError> {
        // Reading a log empties it: start from nothing.
        self.log("browser").await?;
        self.log("performance").await?;
        self.call("POST", &self.path("/url"), Some(json!({"url": url})))
            .await?;
        self.wait_for(ready, Duration::from_secs(5)).await?;
        let mut load = PageLoad {
            url: self
                .eval("return location.href;")
                .await?
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            ..PageLoad::default()
        };
        for entry in self.log("browser").await? {
            load.console.push(ConsoleMessage {
                level: entry["level"].as_str().unwrap_or_default().to_owned(),
                message: entry["message"].as_str().unwrap_or_default().to_owned(),
            });
        }
        let mut urls = std::collections::HashMap::new();
        for entry in self.log("performance").await? {
            let Ok(event) =
                serde_json::from_str::<Value>(entry["message"].as_str().unwrap_or("{}"))
            else {
                continue;
            };
            let event = &event["message"];
            let params = &event["params"];
            match event["method"].as_str() {
                Some("Network.requestWillBeSent") => {
                    let url = params["request"]["url"].as_str().unwrap_or_default();
                    urls.insert(params["requestId"].to_string(), url.to_owned());
                    if !url.starts_with("chrome") && !url.starts_with("data:") {
                        load.requests.push(url.to_owned());
                    }
                }
                Some("Network.responseReceived") => load.responses.push((
                    params["response"]["url"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    params["response"]["status"].as_u64().unwrap_or(0) as u16,
                )),
                Some("Network.loadingFailed") => {
                    let url = urls
                        .get(&params["requestId"].to_string())
                        .cloned()
                        .unwrap_or_default();
                    let reason = params["blockedReason"]
                        .as_str()
                        .or(params["errorText"].as_str())
                        .unwrap_or_default();
                    if !url.starts_with("chrome") {
                        load.failures.push((url, reason.to_owned()));
                    }
                }
                _ => {}
            }
        }
        Ok(load)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ends the session (chromedriver then closes Chromium) before the driver goes; a
        // blocking request, since Drop cannot wait on the runtime.
        if let Ok(mut stream) = std::net::TcpStream::connect(&self.addr) {
            use std::io::{Read, Write};
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let request = format!(
                "DELETE /session/{} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n\r\n",
                self.session, self.addr
            );
            let _ = stream.write_all(request.as_bytes());
            let _ = stream.read(&mut [0u8; 1024]);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
