//! The report and the comparison page as a reader sees them: rendered by a real
//! headless Chromium at 1,280 and 1,440 px wide, then measured from inside the page.
//!
//! Ignored by plain `cargo test` (it needs a browser); `.ci/run` installs Debian's
//! `chromium` and runs it:
//!
//! ```text
//! cargo test --release --locked --test browser -- --ignored
//! ```
//!
//! The browser is `$TOKENOMICS_CHROMIUM`, else the first of `chromium`,
//! `chromium-browser`, `google-chrome` on `PATH`. Without one the test fails and says
//! how to install it; it never passes without having rendered the pages.
//!
//! What is checked, for every page and width:
//! - the page does not scroll sideways;
//! - every table fits its box (no table needs its own sideways scroll);
//! - every chart label (tick, axis title) renders at 11 px or more at 100 % zoom;
//! - every chart's legend names each series once;
//! - the pages hold what the checks are about (charts, tables, legends), so an empty
//!   page cannot pass.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The manifest behind the measured pages: every section of the report that has
/// tables or charts (several endpoints and scenarios with long names, burst,
/// concurrency and sweep points, scraped server metrics, a pooling API, failures).
const MANIFEST: &str = r#"
schema = 1
[experiment]
name = "browser-check"
description = "Layout check of the report: every section, long names."
seed = 3
runs = 2
warmup = 0

[endpoints.simulated-continuous-batching-server]
simulator = { ttft_ms = 5, itl_ms = 1, model = "a-rather-long-model-name-for-a-report-7b-instruct", batching = { itl_per_seq_ms = 0.05, max_batch = 8 }, faults = { seed = 1, http_500 = 0.05 } }
metrics = { url = "auto", interval_ms = 20 }

[endpoints.simulated-fixed-timing-server]
simulator = { ttft_ms = 5, itl_ms = 1, model = "a-rather-long-model-name-for-a-report-7b-instruct" }

[endpoints.embeddings-server]
simulator = { model = "sim-embed", embedding_dim = 64, pooling_ms = 1 }
api = "embeddings"

[scenarios.short-prompts-long-answers]
spec = "D(64,48)"

[scenarios.varied-lengths]
spec = "U(16,128)/(8,32)"

[scenarios.embed]
spec = "E(short)"

[[grid]]
name = "burst"
endpoints = ["simulated-continuous-batching-server", "simulated-fixed-timing-server"]
scenarios = ["short-prompts-long-answers"]
mode = "burst"
batch_sizes = [1, 8]

[[grid]]
name = "sustained"
endpoints = ["simulated-continuous-batching-server"]
scenarios = ["varied-lengths"]
mode = "concurrency"
concurrency = [2, 8]
requests = 16

[[grid]]
name = "knee"
endpoints = ["simulated-fixed-timing-server"]
scenarios = ["varied-lengths"]
mode = "sweep"
search = { over = "concurrency", start = 1, factor = 4, max = 16, min_gain = 0.1 }
requests = 8
runs = 1

[[grid]]
name = "pooling"
endpoints = ["embeddings-server"]
scenarios = ["embed"]
mode = "burst"
batch_sizes = [1, 4]
"#;

/// Injected at the end of `<body>`: measures the laid-out page and writes the
/// figures as JSON into `<pre id="tk-probe">`, which `--dump-dom` prints.
const PROBE: &str = r#"<script>
window.addEventListener('load', function () {
  var o = { viewport: window.innerWidth, page: document.documentElement.scrollWidth,
            tables: [], texts: [], legends: [], charts: 0 };
  document.querySelectorAll('table').forEach(function (t) {
    var box = t.parentElement;
    var width = t.scrollWidth;
    // The narrowest the table can be (its min-content width): the margin a
    // wider font would eat before the table overflows.
    var keep = t.style.width;
    t.style.width = 'min-content';
    var least = t.scrollWidth;
    t.style.width = keep;
    o.tables.push({ id: t.id || (t.closest('[id]') || {}).id || '', width: width,
                    least: least, room: box.clientWidth });
  });
  document.querySelectorAll('figure.chart').forEach(function (f) {
    o.charts += 1;
    f.querySelectorAll('svg text').forEach(function (t) {
      if (!t.textContent.trim()) return;
      var m = t.getScreenCTM();
      var px = parseFloat(getComputedStyle(t).fontSize) * Math.sqrt(m.a * m.a + m.b * m.b);
      o.texts.push({ chart: f.id, text: t.textContent.trim().slice(0, 30), px: px });
    });
    var labels = [];
    f.querySelectorAll('ul.legend li').forEach(function (li) { labels.push(li.textContent.trim()); });
    if (labels.length) o.legends.push({ chart: f.id, labels: labels });
  });
  var pre = document.createElement('pre');
  pre.id = 'tk-probe';
  pre.textContent = JSON.stringify(o);
  document.body.appendChild(pre);
});
</script>"#;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tokenomics() -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("tokenomics"));
    c.current_dir(repo());
    c
}

fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("TOKENOMICS_CHROMIUM") {
        return PathBuf::from(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "no Chromium found: install it (Debian: `apt-get install chromium`) or set \
         TOKENOMICS_CHROMIUM to its path"
    );
}

fn run(manifest: &Path, out: &Path, run_id: &str) -> PathBuf {
    let status = tokenomics()
        .arg("run")
        .arg(manifest)
        .args(["--quiet", "--run-id", run_id, "--output"])
        .arg(out)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("start tokenomics run");
    assert!(status.success(), "tokenomics run exited {status}");
    let dir = out.join("browser-check").join(run_id);
    assert!(dir.join("report.html").is_file(), "no report in {dir:?}");
    dir
}

/// Renders `page` at `width` px and returns the probe's figures.
fn measure(browser: &Path, page: &Path, width: u32, scratch: &Path) -> serde_json::Value {
    let html = std::fs::read_to_string(page).expect("read page");
    let (head, tail) = html.rsplit_once("</body>").expect("</body> in page");
    let probed = scratch.join(format!(
        "{}-{width}.html",
        page.file_stem().unwrap().to_string_lossy()
    ));
    std::fs::write(&probed, format!("{head}{PROBE}</body>{tail}")).expect("write probed page");
    let profile = tempfile::tempdir().expect("profile dir");
    // The flags keep Chromium off the network (this machine may have none) and out of
    // the user's profile; --no-sandbox because CI runs as root.
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--window-size={width},900"))
        .arg("--dump-dom")
        .arg(format!("file://{}", probed.display()))
        .output()
        .unwrap_or_else(|e| panic!("start {browser:?}: {e}"));
    let dom = String::from_utf8_lossy(&out.stdout);
    let start = dom.find("<pre id=\"tk-probe\">").unwrap_or_else(|| {
        panic!(
            "Chromium printed no probe for {page:?} at {width} px (exit {}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    }) + "<pre id=\"tk-probe\">".len();
    let end = start + dom[start..].find("</pre>").expect("end of probe");
    let json = dom[start..end]
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("probe JSON: {e}\n{json}"))
}

/// The layout checks of one rendered page; returns what was wrong.
fn problems(name: &str, width: u32, m: &serde_json::Value) -> Vec<String> {
    let mut bad = Vec::new();
    let f = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
    let viewport = f(&m["viewport"]);
    assert_eq!(viewport, f64::from(width), "{name}: window width");
    if f(&m["page"]) > viewport {
        bad.push(format!(
            "{name} @{width}: the page is {} px wide",
            m["page"]
        ));
    }
    for t in m["tables"].as_array().expect("tables") {
        // One pixel of rounding between scrollWidth and clientWidth.
        if f(&t["width"]) > f(&t["room"]) + 1.0 {
            bad.push(format!(
                "{name} @{width}: table `{}` is {} px wide in {} px",
                t["id"].as_str().unwrap_or(""),
                t["width"],
                t["room"]
            ));
        }
    }
    for t in m["texts"].as_array().expect("texts") {
        if f(&t["px"]) < 11.0 {
            bad.push(format!(
                "{name} @{width}: chart `{}` label {:?} renders at {:.1} px",
                t["chart"].as_str().unwrap_or(""),
                t["text"].as_str().unwrap_or(""),
                f(&t["px"])
            ));
        }
    }
    for l in m["legends"].as_array().expect("legends") {
        let labels: Vec<&str> = l["labels"]
            .as_array()
            .expect("labels")
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        let mut unique = labels.clone();
        unique.sort_unstable();
        unique.dedup();
        if unique.len() != labels.len() {
            bad.push(format!(
                "{name} @{width}: chart `{}` repeats a legend label: {labels:?}",
                l["chart"].as_str().unwrap_or("")
            ));
        }
    }
    bad
}

/// How close the page came to each limit (printed, so a CI log shows the margins).
fn margins(name: &str, width: u32, m: &serde_json::Value) -> String {
    let f = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
    let tightest = m["tables"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            (
                f(&t["room"]) - f(&t["least"]),
                t["id"].as_str().unwrap_or(""),
            )
        })
        .min_by(|a, b| a.0.total_cmp(&b.0));
    let smallest = m["texts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| f(&t["px"]))
        .fold(f64::INFINITY, f64::min);
    format!(
        "{name} @{width}: page {} px; tightest table: {}; smallest chart label {smallest:.1} px",
        m["page"],
        tightest.map_or_else(
            || "none".to_owned(),
            |(spare, id)| format!("`{id}`, {spare:.0} px to spare at its narrowest")
        ),
    )
}

#[test]
#[ignore = "needs Chromium: apt-get install chromium, then cargo test --release --test browser -- --ignored"]
fn report_and_comparison_fit_the_window_and_read_at_100_percent() {
    let browser = chromium();
    let tmp = tempfile::tempdir().expect("tempdir");
    let manifest = tmp.path().join("browser-check.toml");
    std::fs::write(&manifest, MANIFEST).expect("write manifest");
    let out = tmp.path().join("results");
    let a = run(&manifest, &out, "a");
    let b = run(&manifest, &out, "b");
    let compare = tmp.path().join("compare.html");
    let status = tokenomics()
        .arg("compare")
        .args([&a, &b])
        .arg("--html")
        .arg(&compare)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("start tokenomics compare");
    assert!(status.success(), "tokenomics compare exited {status}");

    let mut bad = Vec::new();
    for (name, page, min_charts, min_tables) in [
        ("report", a.join("report.html"), 10, 8),
        ("compare", compare, 1, 1),
    ] {
        for width in [1280, 1440] {
            let m = measure(&browser, &page, width, tmp.path());
            let charts = m["charts"].as_u64().unwrap_or(0);
            let tables = m["tables"].as_array().map_or(0, Vec::len);
            let texts = m["texts"].as_array().map_or(0, Vec::len);
            let legends = m["legends"].as_array().map_or(0, Vec::len);
            assert!(
                charts >= min_charts && tables >= min_tables && texts > 10 * charts as usize,
                "{name} @{width}: only {charts} charts, {tables} tables, {texts} chart labels"
            );
            if name == "report" {
                assert!(legends >= 5, "report @{width}: {legends} legends");
            }
            eprintln!("{}", margins(name, width, &m));
            bad.extend(problems(name, width, &m));
        }
    }
    assert!(
        bad.is_empty(),
        "{} layout problems:\n{}",
        bad.len(),
        bad.join("\n")
    );
}
