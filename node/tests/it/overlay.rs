//! Real processes: one `autonet bootstrap` and three `autonet join` on 127.0.0.1 (one given
//! the bootstrap address as `/dns4/localhost/…`) form one network; each publishes and every message reaches every other; a record stored by one peer is
//! read by a peer that joined after the writer had left (so it never dialled it); the status
//! endpoint and `/metrics` answer; Ctrl-C (SIGINT) makes each exit 0 within 5 s.
//!
//! Every wait polls with a deadline; the deadlines are generous for a loaded 2-core machine. The
//! only timed assertion is the 5 s shutdown bound the acceptance criteria ask for.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::{autonet, run_fails};

/// A running `autonet` node process; killed on drop if still running.
pub(crate) struct Node {
    pub(crate) child: Child,
    pub(crate) peer_addr: String,
    pub(crate) status: String,
    metrics: Option<String>,
    /// The bearer token of the status server's write endpoints (`<data-dir>/http_token`).
    token: String,
    _dir: tempfile::TempDir,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn start(args: &[&str]) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let mut child = autonet(dir.path())
        .args(args)
        .env("AUTONET_LOG_LEVEL", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let (mut peer_addr, mut status, mut metrics) = (None, None, None);
    let wants_metrics = args.contains(&"--metrics");
    while status.is_none() || (wants_metrics && metrics.is_none()) {
        let line = lines
            .next()
            .expect("node exited before it was ready")
            .unwrap();
        if let Some(addr) = line.strip_prefix("listening on ") {
            if addr.contains("/tcp/") && peer_addr.is_none() {
                peer_addr = Some(addr.to_string());
            }
        } else if let Some(url) = line.strip_prefix("status: http://") {
            status = url.strip_suffix("/status").map(str::to_string);
        } else if let Some(url) = line.strip_prefix("metrics: http://") {
            metrics = url.strip_suffix("/metrics").map(str::to_string);
        }
    }
    // Keep draining stdout so the node never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    // Written before the status server starts (empty if the node has none).
    let token = std::fs::read_to_string(dir.path().join("http_token")).unwrap_or_default();
    Node {
        child,
        peer_addr: peer_addr.expect("no TCP listen address printed"),
        status: status.unwrap(),
        metrics,
        token: token.trim().to_string(),
        _dir: dir,
    }
}

/// A minimal HTTP/1.0 client: (status code, body).
fn http(host: &str, method: &str, path: &str, body: &[u8]) -> Option<(u16, Vec<u8>)> {
    http_with(host, method, path, &[("Host", host)], body)
}

/// A POST to `node`'s status server with its token, as a local program sends it.
fn post(node: &Node, path: &str, body: &[u8]) -> Option<(u16, Vec<u8>)> {
    let auth = format!("Bearer {}", node.token);
    let headers = [
        ("Host", node.status.as_str()),
        ("Authorization", auth.as_str()),
    ];
    http_with(&node.status, "POST", path, &headers, body)
}

/// The client with the given headers (`Host` included: none is added).
pub fn http_with(
    host: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect(host).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .ok()?;
    let mut head = format!("{method} {path} HTTP/1.0\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(body).ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let split = response.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&response[..split]);
    let code = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((code, response[split + 4..].to_vec()))
}

/// The body of a 200 answer to `GET path`, as text.
pub(crate) fn get_text(host: &str, path: &str) -> Option<String> {
    match http(host, "GET", path, b"")? {
        (200, body) => String::from_utf8(body).ok(),
        _ => None,
    }
}

pub(crate) fn get_json(host: &str, path: &str) -> Option<serde_json::Value> {
    match http(host, "GET", path, b"")? {
        (200, body) => serde_json::from_slice(&body).ok(),
        _ => None,
    }
}

pub(crate) fn poll<T>(what: &str, deadline: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + deadline;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Sends SIGINT and requires exit status 0 within 5 s.
fn ctrl_c(node: &mut Node) {
    let pid = node.child.id().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    let start = Instant::now();
    loop {
        if let Some(status) = node.child.try_wait().unwrap() {
            assert!(status.success(), "node exited with {status}");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "node did not exit within 5 s of Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn received_texts(node: &Node) -> Vec<String> {
    get_json(&node.status, "/messages")
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|m| m["body_text"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn bootstrap_and_three_joins_form_one_network() {
    let local = "/ip4/127.0.0.1/tcp/0";
    let boot = start(&["bootstrap", "--listen", local, "--metrics", "127.0.0.1:0"]);
    let boot_addr = boot.peer_addr.clone();
    let join = |bootstrap: &str, extra: &[&str]| {
        let mut args = vec!["join", "--bootstrap", bootstrap, "--listen", local];
        args.extend_from_slice(extra);
        start(&args)
    };
    // One join names the bootstrap node by DNS name (#23: `/dns4` never connected), one
    // announces a public address besides its own.
    let by_name = boot_addr.replace("/ip4/127.0.0.1/", "/dns4/localhost/");
    assert!(by_name.starts_with("/dns4/localhost/tcp/"), "{by_name}");
    let public = "/ip4/198.51.100.7/tcp/4001";
    let mut nodes = vec![
        join(&boot_addr, &[]),
        join(&by_name, &["--external-addr", public]),
        join(&boot_addr, &["--metrics", "127.0.0.1:0"]),
    ];
    let announced = get_json(&nodes[1].status, "/status").unwrap();
    assert!(
        announced["external_addrs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == public),
        "{announced:#}"
    );
    nodes.insert(0, boot);

    // Gossip reaches the peers that are meshed when it is sent, so wait until the four nodes
    // know each other (through Kademlia: the joins were given only the bootstrap address).
    poll(
        "the nodes to find each other",
        Duration::from_secs(180),
        || {
            nodes
                .iter()
                .all(|node| {
                    get_json(&node.status, "/status").is_some_and(|s| {
                        let tasks = s["topics"]
                            .as_array()
                            .and_then(|t| t.iter().find(|t| t["name"] == "tasks").cloned());
                        s["connected_peers"]
                            .as_array()
                            .is_some_and(|p| p.len() >= 3)
                            && tasks.is_some_and(|t| t["mesh_peers"].as_u64().unwrap_or(0) >= 1)
                    })
                })
                .then_some(())
        },
    );
    // Everyone publishes; every other node receives it.
    for (i, node) in nodes.iter().enumerate() {
        let body = format!("hello from node {i}");
        poll("publish to succeed", Duration::from_secs(120), || {
            matches!(
                post(node, "/publish/tasks", body.as_bytes()),
                Some((200, _))
            )
            .then_some(())
        });
    }
    poll(
        "every message at every other node",
        Duration::from_secs(120),
        || {
            nodes
                .iter()
                .enumerate()
                .all(|(i, node)| {
                    let got = received_texts(node);
                    (0..nodes.len())
                        .filter(|j| *j != i)
                        .all(|j| got.contains(&format!("hello from node {j}")))
                })
                .then_some(())
        },
    );

    // Status and metrics answer.
    let status = get_json(&nodes[0].status, "/status").unwrap();
    // Every node shows its core fingerprint and sees its peers' in what identify announced.
    let protected = status["integrity"]["protected"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(protected.len(), 64, "{status}");
    let agents = status["peer_agents"].as_object().unwrap();
    assert!(
        agents.len() >= 3
            && agents
                .values()
                .all(|a| a.as_str().unwrap().ends_with(&format!("core/{protected}"))),
        "{status}"
    );
    assert!(
        status["connected_peers"].as_array().unwrap().len() >= 3,
        "{status}"
    );
    assert!(
        status["topics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "tasks")
    );
    for node in [&nodes[0], &nodes[3]] {
        let (code, text) = http(node.metrics.as_ref().unwrap(), "GET", "/metrics", b"").unwrap();
        let text = String::from_utf8_lossy(&text);
        assert_eq!(code, 200);
        assert!(text.contains("libp2p_gossipsub"), "no libp2p series");
        assert!(
            text.contains("autonet_p2p_messages_received_total"),
            "no autonet series"
        );
    }

    // A record stored by node 1, which then leaves, is read by a node that joined afterwards.
    let value = b"a record written by node 1".to_vec();
    let key = poll(
        "record to be stored",
        Duration::from_secs(120),
        || match post(&nodes[1], "/records", &value)? {
            (200, body) => serde_json::from_slice::<serde_json::Value>(&body).ok()?["key"]
                .as_str()
                .map(str::to_string),
            _ => None,
        },
    );
    let mut writer = nodes.remove(1);
    ctrl_c(&mut writer);
    let late = join(&boot_addr, &[]);
    let read = poll(
        "late joiner to read the record",
        Duration::from_secs(120),
        || match http(&late.status, "GET", &format!("/records/{key}"), b"")? {
            (200, body) => Some(body),
            _ => None,
        },
    );
    assert_eq!(read, value);
    nodes.push(late);

    for node in &mut nodes {
        ctrl_c(node);
    }
}

/// An attacker's web page (cross-origin request, or DNS rebinding: a foreign `Host`) and a local
/// program without the token cannot make the node publish or store records; the node's own
/// client with the token reaches the endpoints.
#[test]
fn status_server_refuses_foreign_pages_and_posts_without_token() {
    let node = start(&["bootstrap", "--listen", "/ip4/127.0.0.1/tcp/0"]);
    let local = node.status.as_str();
    let auth = format!("Bearer {}", node.token);
    let auth = auth.as_str();
    let attempts = [
        // A page on another site posting to the node (a "simple" cross-origin request).
        (
            "cross-origin",
            vec![
                ("Host", local),
                ("Origin", "http://evil.example"),
                ("Authorization", auth),
            ],
            403,
        ),
        (
            "cross-origin, no token",
            vec![("Host", local), ("Origin", "http://evil.example")],
            403,
        ),
        // DNS rebinding: the browser sends the attacker's host name.
        (
            "foreign Host",
            vec![("Host", "evil.example:80"), ("Authorization", auth)],
            403,
        ),
        ("no Host", vec![("Authorization", auth)], 403),
        ("no token", vec![("Host", local)], 401),
        (
            "wrong token",
            vec![("Host", local), ("Authorization", "Bearer 00")],
            401,
        ),
    ];
    for (what, headers, want) in &attempts {
        for path in ["/publish/tasks", "/records"] {
            let (code, body) = http_with(local, "POST", path, headers, b"attack").unwrap();
            assert_eq!(
                code,
                *want,
                "{what} POST {path} was not refused: {}",
                String::from_utf8_lossy(&body)
            );
        }
    }
    let (code, body) =
        http_with(local, "GET", "/status", &[("Host", "evil.example:80")], b"").unwrap();
    assert_eq!(code, 403, "{}", String::from_utf8_lossy(&body));
    // With the token the request reaches the endpoint (an unknown topic is its own 404).
    let (code, body) = post(&node, "/publish/no-such-topic", b"x").unwrap();
    assert_eq!(code, 404, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("unknown topic"));
    assert!(get_json(local, "/status").is_some());
}

#[test]
fn join_refuses_a_bootstrap_address_without_peer_id_and_public_status() {
    let dir = tempfile::tempdir().unwrap();
    run_fails(
        autonet(dir.path()).args([
            "join",
            "--bootstrap",
            "/ip4/127.0.0.1/tcp/1",
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
        ]),
        "/p2p/",
    );
    run_fails(
        autonet(Path::new(dir.path())).args([
            "bootstrap",
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--status",
            "0.0.0.0:0",
        ]),
        "loopback",
    );
}

/// A node whose bootstrap peer cannot be reached says so once its bootstrap timeout has passed
/// (#23), and its log carries the periodic one-line summary; metrics bound beyond loopback are
/// served with a warning.
#[test]
fn a_node_that_reaches_no_bootstrap_peer_warns_and_logs_its_summary() {
    let dir = tempfile::tempdir().unwrap();
    // A valid peer id on a port nobody listens on.
    let other = tempfile::tempdir().unwrap();
    let key = super::run_ok(autonet(other.path()).args(["keygen", "--json"]));
    let key: serde_json::Value = serde_json::from_str(&super::stdout(&key)).unwrap();
    let bootstrap = format!(
        "/ip4/127.0.0.1/tcp/1/p2p/{}",
        key["peer_id"].as_str().unwrap()
    );
    let mut child = autonet(dir.path())
        .args([
            "join",
            "--bootstrap",
            &bootstrap,
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
        ])
        .args(["--bootstrap-timeout", "1", "--summary-secs", "1"])
        // Metrics for a scraper on another host: served, with a warning.
        .args(["--metrics", "0.0.0.0:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let (mut warned, mut summary, mut metrics) = (None, None, None);
    // Generous for a loaded machine; the node itself waits one second.
    let deadline = Instant::now() + Duration::from_secs(60);
    while let Ok(line) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        if line.contains("no bootstrap peer could be reached") {
            warned = Some(line);
        } else if line.contains("metrics are served beyond this host") {
            metrics = Some(line);
        } else if line.contains("autonet::summary") && line.contains("summary") {
            summary = Some(line);
        }
        if warned.is_some() && summary.is_some() && metrics.is_some() {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let warned = warned.expect("no warning about unreachable bootstrap peers");
    assert!(
        warned.contains("WARN") && warned.contains(&bootstrap),
        "{warned}"
    );
    assert!(
        metrics.is_some_and(|l| l.contains("WARN")),
        "no metrics warning"
    );
    let summary = summary.expect("no summary line");
    assert!(summary.contains("peers=0"), "{summary}");
}

/// A busy listen port names its cause and what to do (#23: the reason used to be empty).
#[test]
fn a_busy_listen_port_names_the_cause() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let listen = format!("/ip4/127.0.0.1/tcp/{port}");
    let err = run_fails(
        autonet(dir.path()).args(["bootstrap", "--listen", &listen]),
        "Address already in use",
    );
    assert!(err.contains(&listen) && err.contains("--listen"), "{err}");
}

/// A busy status or metrics port names the flag and the cause (#23).
#[test]
fn a_busy_status_or_metrics_port_names_the_flag() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = taken.local_addr().unwrap().to_string();
    for flag in ["--status", "--metrics"] {
        let dir = tempfile::tempdir().unwrap();
        let err = run_fails(
            autonet(dir.path()).args([
                "bootstrap",
                "--listen",
                "/ip4/127.0.0.1/tcp/0",
                flag,
                &busy,
            ]),
            "another process uses this port",
        );
        assert!(err.contains(flag) && err.contains(&busy), "{flag}: {err}");
    }
}
