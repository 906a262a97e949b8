//! The client side of the agent API: `autonet agent list|new|run|send|inbox|logs|kill` send one
//! request to a running `autonet agent serve` and print its answer (`--json`: the result as
//! JSON); `autonet agents` prints the events it pushes, one line each, in the reference's
//! format (`HH:MM:SS <symbol> <event_type padded to 26>  key=val…`).

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// Where the API is and how to authenticate.
#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// The agent API of `autonet agent serve`.
    #[arg(
        long,
        env = "AUTONET_AGENT_API",
        default_value = "ws://127.0.0.1:7700/ws"
    )]
    pub api: String,
    /// File whose first line is the token (the owner's or a scoped one).
    #[arg(long, env = "AUTONET_AGENT_TOKEN_FILE", value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Print the answer as JSON.
    #[arg(long)]
    pub json: bool,
}

/// An agent id and the API.
#[derive(Debug, Args)]
pub struct AgentIdArgs {
    /// The agent.
    pub agent: String,
    /// The API.
    #[command(flatten)]
    pub api: ClientArgs,
}

/// `agent new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The agent definition (TOML).
    pub file: PathBuf,
    /// Activate it at once.
    #[arg(long)]
    pub activate: bool,
    /// The API.
    #[command(flatten)]
    pub api: ClientArgs,
}

/// `agent run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The agent.
    pub agent: String,
    /// Task text for this run (instead of the agent's task prompt).
    #[arg(long)]
    pub task: Option<String>,
    /// The API.
    #[command(flatten)]
    pub api: ClientArgs,
}

/// `agent send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// The agent (a local id, or `<peer-id>/<agent-id>` on another peer).
    pub agent: String,
    /// The message.
    pub text: String,
    /// low, normal, high or urgent (high and urgent wake an idle agent).
    #[arg(long, default_value = "normal", value_parser = ["low", "normal", "high", "urgent"])]
    pub priority: String,
    /// The API.
    #[command(flatten)]
    pub api: ClientArgs,
}

/// `agent delegate`.
#[derive(Debug, Args)]
pub struct DelegateArgs {
    /// Who is asked: a local agent id, a capability, or `<peer-id>/<agent-id>`.
    pub target: String,
    /// What to do (the delegate's run reads it as its task).
    pub task: String,
    /// The delegating agent, whose inbox gets the result (required for another peer's agent;
    /// without it the owner delegates and no inbox gets the answer).
    #[arg(long, value_name = "AGENT")]
    pub from: Option<String>,
    /// The API.
    #[command(flatten)]
    pub api: ClientArgs,
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(args: &ClientArgs) -> anyhow::Result<Socket> {
    let mut request = args
        .api
        .as_str()
        .into_client_request()
        .with_context(|| format!("--api {:?} is not a ws:// URL", args.api))?;
    if let Some(file) = &args.token_file {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let token = text.lines().next().unwrap_or_default().trim();
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {token}").parse()?);
    }
    let (socket, _) = tokio_tungstenite::connect_async(request).await.with_context(|| {
        format!("cannot reach the agent API at {} (is `autonet agent serve` running? a token needed?)", args.api)
    })?;
    Ok(socket)
}

/// Sends one request and returns its result (events pushed meanwhile are skipped).
pub async fn request(args: &ClientArgs, mut body: Value) -> anyhow::Result<Value> {
    let mut socket = connect(args).await?;
    body["msg_id"] = json!("cli");
    socket.send(Message::Text(body.to_string().into())).await?;
    while let Some(frame) = socket.next().await {
        let frame = frame.context("the agent API closed the connection")?;
        let Ok(text) = frame.to_text() else { continue };
        let v: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(_) => continue,
        };
        if v["msg_id"] == "cli" {
            let _ = socket.close(None).await;
            if v["ok"] == true {
                return Ok(v["result"].clone());
            }
            bail!(
                "{}",
                v["error"]
                    .as_str()
                    .unwrap_or("the agent API refused the request")
            );
        }
    }
    bail!("the agent API closed the connection before answering")
}

fn print(args: &ClientArgs, value: &Value, text: String) -> anyhow::Result<()> {
    crate::output::emit(args.json, value, &text)
}

/// `agent list`.
pub async fn list(args: &ClientArgs) -> anyhow::Result<()> {
    let agents = request(args, json!({"type": "list_agents"})).await?;
    let mut text = String::new();
    for a in agents.as_array().into_iter().flatten() {
        text += &format!(
            "{:<24} {:<14} runs {:<4} tokens {:<8} {}\n",
            a["id"].as_str().unwrap_or(""),
            a["status"].as_str().unwrap_or(""),
            a["runs"],
            a["usage"]["tokens"],
            a["last_output"]
                .as_str()
                .unwrap_or("")
                .chars()
                .take(60)
                .collect::<String>()
        );
    }
    if text.is_empty() {
        text = "no agents\n".into();
    }
    print(args, &agents, text)
}

/// `agent new`.
pub async fn new(args: &NewArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let def = autonet_agents::AgentDefinition::from_toml(&text)
        .with_context(|| args.file.display().to_string())?;
    let result = request(
        &args.api,
        json!({"type": "create_agent", "definition": def, "activate": args.activate}),
    )
    .await?;
    print(&args.api, &result, format!("registered {}\n", def.id))
}

/// `agent run`.
pub async fn run(args: &RunArgs) -> anyhow::Result<()> {
    let mut body = json!({"type": "run_agent", "agent_id": args.agent});
    if let Some(task) = &args.task {
        body["task"] = json!(task);
    }
    let result = request(&args.api, body).await?;
    print(
        &args.api,
        &result,
        format!("started a run of {}\n", args.agent),
    )
}

/// `agent send`.
pub async fn send(args: &SendArgs) -> anyhow::Result<()> {
    let body = json!({"type": "post_message", "target": args.agent, "text": args.text, "priority": args.priority});
    let result = request(&args.api, body).await?;
    print(&args.api, &result, format!("sent to {}\n", args.agent))
}

/// `agent delegate`.
pub async fn delegate(args: &DelegateArgs) -> anyhow::Result<()> {
    let mut body = json!({"type": "delegate", "target": args.target, "task": args.task});
    if let Some(from) = &args.from {
        body["agent_id"] = json!(from);
    }
    let result = request(&args.api, body).await?;
    let task = result["task_id"].as_str().unwrap_or_default();
    print(
        &args.api,
        &result,
        format!("delegated to {} as task {task} (submitted)\n", args.target),
    )
}

/// `agent inbox|logs|kill`: one request naming the agent.
pub async fn simple(args: &AgentIdArgs, kind: &str) -> anyhow::Result<()> {
    let result = request(&args.api, json!({"type": kind, "agent_id": args.agent})).await?;
    let text = match kind {
        "inbox" => result
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| {
                format!(
                    "{} {} {} from {}: {}\n",
                    m["id"].as_str().unwrap_or(""),
                    m["kind"].as_str().unwrap_or(""),
                    m["priority"].as_str().unwrap_or(""),
                    m["source"].as_str().unwrap_or(""),
                    m["data"]
                )
            })
            .collect(),
        "history" => result
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                format!(
                    "{} {} {} tokens {} tools {}: {}\n",
                    r["execution"].as_str().unwrap_or(""),
                    r["trigger"].as_str().unwrap_or(""),
                    r["status"].as_str().unwrap_or(""),
                    r["tokens"],
                    r["tool_calls"],
                    r["output"]
                        .as_str()
                        .unwrap_or("")
                        .chars()
                        .take(80)
                        .collect::<String>()
                )
            })
            .collect(),
        _ => format!("{kind}: done\n"),
    };
    print(&args.api, &result, text)
}

/// One event as the reference's CLI prints it.
pub fn event_line(e: &Value) -> String {
    let ms = e["timestamp_ms"].as_u64().unwrap_or(0);
    let secs = (ms / 1000) % 86_400;
    let kind = e["event_type"].as_str().unwrap_or("?");
    let symbol = match kind.rsplit('.').next().unwrap_or("") {
        "started" | "running" | "spawned" => '>',
        "completed" | "drained" | "activated" | "registered" => '+',
        "failed" | "killed" | "refused" | "restarted" => '!',
        _ => '.',
    };
    let mut line = format!(
        "{:02}:{:02}:{:02} {symbol} {kind:<26} ",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    );
    line += &format!(" agent_id={}", e["source"].as_str().unwrap_or(""));
    let data = &e["data"];
    for (key, cut) in [
        ("execution_id", 8),
        ("step_name", 64),
        ("step_type", 32),
        ("status", 32),
        ("trigger_source", 32),
        ("output_preview", 60),
        ("error", 60),
    ] {
        if let Some(v) = data.get(key).filter(|v| !v.is_null()) {
            let v = v
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string());
            line += &format!(" {key}={}", v.chars().take(cut).collect::<String>());
        }
    }
    line
}

/// `autonet agents`: prints the events of a running `agent serve` until Ctrl-C (`--json`: one
/// JSON object per line).
pub async fn events(args: &ClientArgs) -> anyhow::Result<()> {
    let mut socket = connect(args).await?;
    loop {
        tokio::select! {
            frame = socket.next() => {
                let Some(frame) = frame else { return Ok(()) };
                let frame = frame.context("the agent API closed the connection")?;
                let Ok(text) = frame.to_text() else { continue };
                let Ok(v) = serde_json::from_str::<Value>(text) else { continue };
                if v["type"] != "event" || v["event_type"] == "step.output" && !args.json {
                    continue;
                }
                let line = if args.json { v.to_string() } else { event_line(&v) };
                crate::output::stdout(format!("{line}\n").as_bytes()).context("cannot print events")?;
            }
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}
