//! Navigation and paint timings in headless Chromium: streaming against a buffering relay.

use crate::relay::BufferingRelay;
use crate::{Result, median};
use harness::Edge;
use harness::ScriptedOrigin;
use harness::browser::{Browser, Chromium};
use serde_json::Value;
use sluice_tools::demo;
use std::fmt::Write as _;

/// Navigation and paint timings of one load of `url`, in a fresh browser (no cache).
async fn timings(chromium: &Chromium, url: &str) -> Result<Value> {
    let browser = Browser::start(chromium, &[]).await?;
    browser
        .load(url, "document.readyState === 'complete'")
        .await?;
    // Paint entries are recorded a frame after the paint: wait for them (at most 3 s).
    let script = "const done = arguments[arguments.length - 1];\
        const report = () => { const n = performance.getEntriesByType('navigation')[0];\
          const p = performance.getEntriesByName('first-contentful-paint')[0];\
          done({responseStart: n.responseStart, responseEnd: n.responseEnd,\
                fcp: p ? p.startTime : null, domContentLoaded: n.domContentLoadedEventEnd,\
                load: n.loadEventEnd}); };\
        if (performance.getEntriesByName('first-contentful-paint').length) { report(); }\
        else { new PerformanceObserver(report).observe({type: 'paint', buffered: true});\
               setTimeout(report, 3000); }";
    Ok(browser.eval_async(script).await?)
}

/// Installs Debian's chromium and chromium-driver with apt-get (as root); `--install-browser`.
pub fn install() -> std::result::Result<(), String> {
    eprintln!("bench: installing chromium and chromium-driver with apt-get");
    let installed = std::process::Command::new("sh")
        .args(["-c", "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver"])
        .status()
        .is_ok_and(|s| s.success());
    if installed {
        Ok(())
    } else {
        Err("chromium could not be installed with apt-get (it needs root)".to_owned())
    }
}

pub async fn browser(chromium: &Chromium, runs: usize) -> Result<String> {
    let origin = ScriptedOrigin::serve("127.0.0.1:0", demo::router())?;
    let edge = Edge::boot()
        .package("edge")
        .backend("origin", &origin)
        .config("sluice_config", "post_processors", "nextjs")
        .start()
        .await?;
    let relay = BufferingRelay::start(edge.addr()).await?;
    let mut out = String::from(
        "| page | path | responseStart | responseEnd | first-contentful-paint | domContentLoaded | load |\n|---|---|---|---|---|---|---|\n",
    );
    let mut summary = Vec::new();
    for page in ["/slow", "/next"] {
        let mut fcps = Vec::new();
        for (name, addr) in [("streaming", edge.addr()), ("buffered", relay.addr)] {
            let mut loads = Vec::new();
            for _ in 0..runs {
                loads.push(timings(chromium, &format!("http://{addr}{page}")).await?);
            }
            let pick = |key: &str| {
                median(
                    loads
                        .iter()
                        .map(|l| l[key].as_f64().unwrap_or(f64::NAN))
                        .collect(),
                )
            };
            fcps.push(pick("fcp"));
            writeln!(
                out,
                "| `{page}` | {name} | {:.0} ms | {:.0} ms | {:.0} ms | {:.0} ms | {:.0} ms |",
                pick("responseStart"),
                pick("responseEnd"),
                pick("fcp"),
                pick("domContentLoaded"),
                pick("load")
            )?;
        }
        summary.push(format!(
            "`{page}` {:.0} ms streaming against {:.0} ms buffered",
            fcps[0], fcps[1]
        ));
    }
    writeln!(
        out,
        "\nFirst contentful paint: {} (medians of {runs} loads each, each in a fresh browser). The demo's `/slow` origin sends the first paragraph at once and the rest over three seconds; `/next` is a Next.js page (served with `post_processors = nextjs`) that its origin sends over two seconds, as a Next.js server streams its render, with `__NEXT_DATA__` at the end. \"Buffered\" is a relay that holds the whole response before sending any of it, as Sluice's buffered path did for Next.js pages until they streamed.",
        summary.join("; ")
    )?;
    Ok(out)
}
