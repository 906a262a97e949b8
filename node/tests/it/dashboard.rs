//! The web dashboard in a real browser: headless Chromium loads the page of a running
//! `simulate --dashboard`, waits (polling the page) until it shows epoch 2 and the finished run,
//! compares the peers' amounts, the model ids and the plotted root scores with the JSON report,
//! and saves a screenshot whose plot and table are checked for content. Skipped, with a message,
//! where no Chromium is installed (`scripts/test` installs Debian's `chromium`).

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use alloy::primitives::U256;
use autonet_contracts::Atn;
use serde_json::Value;

use crate::autonet;
use crate::cdp::{Browser, find_chromium};

/// The viewport: wide enough for the peers table, tall enough for the plot and the table.
const WIDTH: u32 = 1280;
const HEIGHT: u32 = 1600;

/// The simulation, killed on drop (it holds its dashboard open after the report).
struct Sim(Child);

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the simulation; returns it, its dashboard URL and a receiver of its JSON report.
fn start_simulation(dir: &std::path::Path) -> (Sim, String, Receiver<String>) {
    let mut child = autonet(dir)
        .args(["simulate", "--seed", "1", "--epochs", "2", "--json"])
        .args(["--dashboard", "127.0.0.1:0", "--hold-secs", "900", "--dir"])
        .arg(dir.join("sim"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("autonet runs");
    let (url_tx, url_rx) = channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("dashboard: http://") {
                let _ = url_tx.send(format!("http://{url}"));
            }
            eprintln!("simulate: {line}");
        }
    });
    // The pretty-printed report ends with a `}` line; the process then holds the dashboard.
    let (report_tx, report_rx) = channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        let mut text = String::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            text += &line;
            text += "\n";
            if line == "}" {
                let _ = report_tx.send(std::mem::take(&mut text));
            }
        }
    });
    let sim = Sim(child);
    let url = url_rx
        .recv_timeout(Duration::from_secs(120))
        .expect("simulate printed no dashboard address");
    (sim, url, report_rx)
}

/// Evaluates `expression` every 250 ms until it is true; panics after `limit`.
async fn wait_for(browser: &mut Browser, session: &str, expression: &str, limit: Duration) {
    let start = Instant::now();
    while browser.eval(session, expression).await != Value::Bool(true) {
        assert!(
            start.elapsed() < limit,
            "the page never showed {expression} within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// What the test reads from the page, as JSON.
const READ_PAGE: &str = r#"JSON.stringify({
  peers: [...document.querySelectorAll('#peers tbody tr[data-peer]')].map(tr => ({
    name: tr.dataset.peer,
    amounts: [...tr.querySelectorAll('td[data-wei]')].map(td => [td.dataset.wei, td.textContent]),
  })),
  epochs: [...document.querySelectorAll('#epochs tbody tr[data-epoch]')].map(tr => {
    const m = tr.querySelector('[data-model-id]');
    return [Number(tr.dataset.epoch), m.dataset.modelId, m.textContent];
  }),
  points: [...document.querySelectorAll('#plot circle.point')]
    .map(c => [c.dataset.series, Number(c.dataset.epoch), c.dataset.value, c.getAttribute('fill')]),
  plot: document.getElementById('plot').getBoundingClientRect().toJSON(),
  table: document.getElementById('peers').getBoundingClientRect().toJSON(),
})"#;

#[test]
fn the_browser_shows_the_reports_numbers_live() {
    let Some(chromium) = find_chromium() else {
        eprintln!(
            "SKIPPED: no Chromium (install Debian's `chromium`, or set AUTONET_CHROMIUM); \
             the dashboard's browser test did not run"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (sim, report_rx, page, png) = runtime.block_on(async {
        // The browser first: the page then opens while the simulation still sets up its chain,
        // so the test sees it change over the WebSocket.
        let mut browser =
            Browser::start(&chromium, &dir.path().join("chromium"), WIDTH, HEIGHT).await;
        let (sim, url, report_rx) = start_simulation(dir.path());
        let session = browser.open(&url).await;
        let live = "document.getElementById('conn')?.textContent === 'live'";
        wait_for(&mut browser, &session, live, Duration::from_secs(60)).await;
        let epoch = "Number(document.getElementById('epoch').dataset.epoch)";
        let first = browser.eval(&session, epoch).await;
        eprintln!("the page is live at epoch {first}");
        let long = Duration::from_secs(900);
        wait_for(&mut browser, &session, &format!("{epoch} >= 2"), long).await;
        // Pushed over the WebSocket: the page was loaded before epoch 2 and never reloaded.
        assert!(first.as_i64() < Some(2), "loaded at epoch {first}");
        let finished = "document.body.dataset.finished === 'true'";
        wait_for(&mut browser, &session, finished, long).await;
        let page: Value =
            serde_json::from_str(browser.eval(&session, READ_PAGE).await.as_str().unwrap())
                .unwrap();
        let png = browser.screenshot(&session).await;
        (sim, report_rx, page, png)
    });
    let report: Value = serde_json::from_str(
        &report_rx
            .recv_timeout(Duration::from_secs(120))
            .expect("simulate printed no report"),
    )
    .unwrap();
    drop(sim);
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard.png");
    std::fs::write(&shot, &png).unwrap();
    eprintln!("screenshot: {}", shot.display());
    assert_eq!(report["complete"], true, "{report:#}");
    check_numbers(&page, &report);
    check_screenshot(&png, &page);
}

/// The page's amounts, model ids and plotted root scores are the report's.
fn check_numbers(page: &Value, report: &Value) {
    let peers = report["peers"].as_array().unwrap();
    assert_eq!(
        page["peers"].as_array().unwrap().len(),
        peers.len(),
        "{page:#}"
    );
    for p in peers {
        let row = page["peers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == p["name"])
            .unwrap_or_else(|| panic!("no row for {}", p["name"]));
        let amounts = row["amounts"].as_array().unwrap();
        let fields = ["stake_wei", "rewards_wei", "slashed_wei", "mint_wei"];
        assert_eq!(amounts.len(), fields.len(), "{row:#}");
        for (cell, field) in amounts.iter().zip(fields) {
            assert_eq!(cell[0], p[field], "{} {field}", p["name"]);
            let wei: U256 = p[field].as_str().unwrap().parse().unwrap();
            assert_eq!(
                cell[1],
                Atn(wei).to_string(),
                "{} {field} as shown",
                p["name"]
            );
        }
    }
    let epochs = report["epochs"].as_array().unwrap();
    assert_eq!(epochs.len(), 2, "{report:#}");
    let mut expected_points = 0;
    for e in epochs {
        let n = e["epoch"].as_i64().unwrap();
        let row = page["epochs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r[0] == n)
            .unwrap_or_else(|| panic!("no row for epoch {n}"));
        let id = e["model_id"].as_str().unwrap();
        assert_eq!(row[1], id, "epoch {n}'s model");
        assert!(id.starts_with(row[2].as_str().unwrap().trim_end_matches('…')));
        for score in e["root_scores"].as_array().unwrap() {
            let (name, value) = (&score[0], score[1].as_f64().unwrap());
            let shown = page["points"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p[0] == *name && p[1] == n)
                .unwrap_or_else(|| panic!("no point for {name} in epoch {n}"));
            let shown: f64 = shown[2].as_str().unwrap().parse().unwrap();
            assert_eq!(shown, value, "{name} in epoch {n}");
            expected_points += 1;
        }
    }
    assert!(expected_points > 0, "the report has root scores");
    assert_eq!(page["points"].as_array().unwrap().len(), expected_points);
}

/// The colour of each line the plot shows on top: series drawn later hide earlier ones with
/// the same values (substrate's root tendencies often score alike).
fn top_colours(page: &Value) -> Vec<String> {
    // (series, fill, values), in drawing order.
    let mut series: Vec<(String, String, Vec<String>)> = Vec::new();
    for p in page["points"].as_array().unwrap() {
        let name = p[0].as_str().unwrap().to_string();
        let value = p[2].as_str().unwrap().to_string();
        match series.iter_mut().find(|s| s.0 == name) {
            Some(s) => s.2.push(value),
            None => series.push((name, p[3].as_str().unwrap().to_string(), vec![value])),
        }
    }
    let mut top: Vec<String> = Vec::new();
    for (i, s) in series.iter().enumerate() {
        if !series[i + 1..].iter().any(|later| later.2 == s.2) {
            top.push(s.1.clone());
        }
    }
    assert!(!top.is_empty(), "the plot has points");
    top
}

/// The screenshot decodes, is not one colour, shows the plot's visible series colours inside
/// the plot and text inside the peers table.
fn check_screenshot(png_bytes: &[u8], page: &Value) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(png_bytes))
        .read_info()
        .expect("the screenshot is a PNG");
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert!(info.width >= 800 && info.height >= 600, "{info:?}");
    let channels = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("unexpected colour type {other:?}"),
    };
    let pixel = |x: u32, y: u32| -> [u8; 3] {
        let i = y as usize * info.line_size + x as usize * channels;
        [buf[i], buf[i + 1], buf[i + 2]]
    };
    let region = |rect: &Value| {
        let f = |k: &str| rect[k].as_f64().unwrap().max(0.0) as u32;
        let (x0, y0) = (f("left"), f("top"));
        let (x1, y1) = (
            (x0 + f("width")).min(info.width),
            (y0 + f("height")).min(info.height),
        );
        assert!(x1 > x0 && y1 > y0, "{rect} is outside the screenshot");
        (x0..x1).flat_map(move |x| (y0..y1).map(move |y| (x, y)))
    };
    let colours: std::collections::BTreeSet<[u8; 3]> = (0..info.width)
        .step_by(4)
        .flat_map(|x| (0..info.height).step_by(4).map(move |y| (x, y)))
        .map(|(x, y)| pixel(x, y))
        .collect();
    assert!(
        colours.len() > 20,
        "the screenshot has {} colours",
        colours.len()
    );
    for fill in top_colours(page) {
        let hex = fill.trim_start_matches('#');
        let rgb: Vec<u8> = (0..3)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        let n = region(&page["plot"])
            .filter(|&(x, y)| pixel(x, y)[..] == rgb[..])
            .count();
        assert!(n >= 20, "the plot shows {n} pixels of series colour #{hex}");
    }
    // Text is dark on the light page: the peers table must hold plenty of it.
    let dark = region(&page["table"])
        .filter(|&(x, y)| pixel(x, y).iter().map(|&c| u32::from(c)).sum::<u32>() < 300)
        .count();
    assert!(dark > 2000, "the peers table shows {dark} dark pixels");
}

/// Every node serves the dashboard on its status server, behind the same loopback guard: the
/// page and its assets, the snapshot (its overlay) and the WebSocket that pushes it.
#[test]
fn a_node_serves_its_dashboard_to_local_pages_only() {
    use crate::overlay::{get_json, get_text, http_with, poll, start};
    let node = start(&["bootstrap", "--listen", "/ip4/127.0.0.1/tcp/0"]);
    let local = node.status.as_str();
    let page = get_text(local, "/").expect("GET / answers the page");
    assert!(page.contains("autonet dashboard"), "{page}");
    for asset in ["/dashboard/dashboard.js", "/dashboard/dashboard.css"] {
        assert!(
            get_text(local, asset).is_some_and(|t| !t.is_empty()),
            "{asset}"
        );
    }
    let peer_id = get_json(local, "/status").unwrap()["peer_id"].clone();
    let state = poll("the node's snapshot", Duration::from_secs(30), || {
        get_json(local, "/dashboard/state").filter(|s| s["overlay"][0]["peer_id"] == peer_id)
    });
    assert_eq!(state["source"], "node", "{state:#}");
    // A foreign page (DNS rebinding, or another origin) cannot read it.
    for headers in [
        vec![("Host", "evil.example:80")],
        vec![("Host", local), ("Origin", "http://evil.example")],
    ] {
        let (code, _) = http_with(local, "GET", "/dashboard/state", &headers, b"").unwrap();
        assert_eq!(code, 403, "{headers:?}");
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let first = runtime.block_on(async {
        use futures::StreamExt;
        let url = format!("ws://{local}/dashboard/ws");
        let (mut socket, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .expect("the WebSocket opens");
        let frame = tokio::time::timeout(Duration::from_secs(30), socket.next())
            .await
            .expect("a snapshot within 30 s")
            .unwrap()
            .unwrap();
        serde_json::from_str::<Value>(frame.to_text().unwrap()).unwrap()
    });
    assert_eq!(first["source"], "node", "{first:#}");
    // The page renders a node's snapshot too (where a browser is installed).
    if let Some(chromium) = find_chromium() {
        let dir = tempfile::tempdir().unwrap();
        runtime.block_on(async {
            let mut browser = Browser::start(&chromium, dir.path(), WIDTH, HEIGHT).await;
            let session = browser.open(&format!("http://{local}/")).await;
            let shown = format!(
                "document.getElementById('conn')?.textContent === 'live' && \
                 document.querySelector('#overlay tbody td.mono')?.textContent === {:?}",
                format!("{}…", &peer_id.as_str().unwrap()[..16])
            );
            wait_for(&mut browser, &session, &shown, Duration::from_secs(30)).await;
        });
    }
}
