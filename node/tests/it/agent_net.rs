//! Two `autonet agent serve` processes on one overlay (issue 20, acceptance 2): an agent on
//! one peer delegates to an agent on the other, found by capability through the DHT; the
//! result arrives in the delegator's inbox; `kill -9` of either process mid-task loses no
//! message and delivers the result once.
//!
//! Every wait polls with a deadline; nothing sleeps for a fixed time.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::autonet;

const DEADLINE: Duration = Duration::from_secs(180);

const BOSS: &str = r#"
id = "boss"
name = "Boss"
mode = "cognitive"
system_prompt = "You hand work to others."
"#;

const SUMMARIZER: &str = r#"
id = "sum"
name = "Summarizer"
mode = "pipeline"
system_prompt = "You summarise text."
capabilities = ["summarize"]
[[steps]]
type = "cognitive"
name = "sum"
prompt = "Write three sentences about this: {input}"
"#;

fn model_file() -> Option<String> {
    std::env::var("AUTONET_LLM_MODEL")
        .ok()
        .filter(|p| Path::new(p).is_file())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One `agent serve` process and what it printed.
struct Serve {
    child: Child,
    api: String,
    overlay: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Serve {
    fn start(dir: &Path, port: u16, agent: &Path, extra: &[&str], model: &str) -> Serve {
        let mut child = autonet(dir)
            .env("AUTONET_LLM_MODEL", model)
            .args([
                "agent",
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--max-tokens",
                "24",
            ])
            .arg("--p2p-listen")
            .arg(format!("/ip4/127.0.0.1/tcp/{port}"))
            .arg("--agent")
            .arg(agent)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (lines, stderr) = (log.clone(), child.stderr.take().unwrap());
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
        let started = Instant::now();
        let (mut api, mut overlay) = (None, None);
        while api.is_none() || overlay.is_none() {
            for line in log.lock().unwrap().iter() {
                if let Some(rest) = line.strip_prefix("agent API: ") {
                    api = rest.split_whitespace().next().map(str::to_string);
                }
                if let Some(rest) = line.strip_prefix("agent overlay: ") {
                    overlay = Some(rest.trim().to_string());
                }
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("agent serve exited ({status}): {:?}", log.lock().unwrap());
            }
            assert!(
                started.elapsed() < DEADLINE,
                "agent serve did not start: {:?}",
                log.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Serve {
            child,
            api: api.unwrap(),
            overlay: overlay.unwrap(),
            log,
        }
    }

    /// `autonet agent <args> --api … --json`: the result, or the error text.
    fn ask(&self, dir: &Path, args: &[&str]) -> Result<Value, String> {
        let out = autonet(dir)
            .arg("agent")
            .args(args)
            .args(["--api", &self.api, "--json"])
            .output()
            .unwrap();
        if out.status.success() {
            serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn poll<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(started.elapsed() < DEADLINE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The delegation results in `boss`'s inbox, by task id.
fn results(peer: &Serve, dir: &Path) -> Vec<(String, String, String)> {
    let Ok(inbox) = peer.ask(dir, &["inbox", "boss"]) else {
        return Vec::new();
    };
    inbox
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| {
            let d = &m["data"]["delegation"];
            (d["type"] == "result").then(|| {
                (
                    d["task_id"].as_str().unwrap_or_default().to_string(),
                    d["state"].as_str().unwrap_or_default().to_string(),
                    d["output"]["text"].as_str().unwrap_or_default().to_string(),
                )
            })
        })
        .collect()
}

/// Delegates `task` from `boss` on `a` to whoever offers `summarize`, retrying while the
/// directory does not find the other peer's card yet; returns the task id.
fn delegate(a: &Serve, dir: &Path, task: &str) -> String {
    let started = Instant::now();
    loop {
        let last = match a.ask(dir, &["delegate", "summarize", task, "--from", "boss"]) {
            Ok(v) => return v["task_id"].as_str().unwrap().to_string(),
            Err(e) => e,
        };
        assert!(
            started.elapsed() < DEADLINE,
            "no delegation within the deadline: {last}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// B's summarizer is running, or has finished a run: the moment to kill B.
fn summarizer_busy(b: &Serve, dir: &Path) -> Option<bool> {
    let list = b.ask(dir, &["list"]).ok()?;
    let sum = list.as_array()?.iter().find(|a| a["id"] == "sum")?.clone();
    if sum["status"] == "running" {
        Some(true)
    } else if sum["runs"].as_u64()? >= 1 {
        Some(false)
    } else {
        None
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn delegation_across_two_processes_survives_kill_9_of_either() {
    let Some(model) = model_file() else {
        eprintln!("skipped: AUTONET_LLM_MODEL does not name the embedded model file");
        return;
    };
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a_dir, b_dir) = (da.path(), db.path());
    let boss = write(a_dir, "boss.toml", BOSS);
    let sum = write(b_dir, "sum.toml", SUMMARIZER);
    let (pa, pb) = (free_port(), free_port());
    let t0 = Instant::now();
    let at = |what: &str| eprintln!("{:>6.1}s {what}", t0.elapsed().as_secs_f64());
    let a = Serve::start(a_dir, pa, &boss, &[], &model);
    let b_args = ["--activate", "--bootstrap", &a.overlay];
    let b = Serve::start(b_dir, pb, &sum, &b_args, &model);

    // 1. Found through the DHT by capability; B is killed while it works on the task.
    at("both peers serve");
    let first = delegate(&a, a_dir, "Rust is a systems programming language.");
    at("delegated the first task");
    let mid_run = poll("the summarizer to take the task", || {
        summarizer_busy(&b, b_dir)
    });
    eprintln!(
        "killing B ({})",
        if mid_run { "mid-run" } else { "after its run" }
    );
    b.kill9();
    let b = Serve::start(b_dir, pb, &sum, &b_args, &model);
    at("B restarted");
    let got = poll("the first result in the delegator's inbox", || {
        let r = results(&a, a_dir);
        (!r.is_empty()).then_some(r)
    });
    assert_eq!(got.len(), 1, "one result: {got:?}");
    assert_eq!(got[0].0, first);
    assert_eq!(got[0].1, "completed", "{got:?}");
    assert!(!got[0].2.trim().is_empty(), "the summary is empty: {got:?}");

    // 2. A (the delegator) is killed while B works; its result waits in B's outbox.
    at("the first result arrived");
    let second = delegate(&a, a_dir, "Kademlia is a distributed hash table.");
    a.kill9();
    // A restarted node rejoins through a peer it knows (here B; a network has bootstrap nodes).
    let a = Serve::start(a_dir, pa, &boss, &["--bootstrap", &b.overlay], &model);
    at("A restarted");
    let got = poll("the second result after the delegator came back", || {
        let r = results(&a, a_dir);
        (r.len() >= 2).then_some(r)
    });
    at("the second result arrived");
    let ids: Vec<&str> = got.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(ids.len(), 2, "each result once: {got:?}");
    assert!(ids.contains(&first.as_str()) && ids.contains(&second.as_str()));
    assert!(got.iter().all(|r| r.1 == "completed"), "{got:?}");
    // The delegate's node saw each request (and kept each answer) once.
    let runs = b.ask(b_dir, &["logs", "sum"]).unwrap();
    assert!(runs.as_array().is_some_and(|r| !r.is_empty()), "{runs}");
    assert!(
        b.log
            .lock()
            .unwrap()
            .iter()
            .all(|l| !l.contains("panicked")),
        "{:?}",
        b.log.lock().unwrap()
    );
}
