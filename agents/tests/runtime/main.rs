//! The agent runtime: supervised actors, runs with steps, tools, budgets that roll up, inbox
//! wake-ups, schedules, children, traces, and hostile tools and providers. Model behaviour that
//! a test must fix (a tool call on the first turn, a hang) comes from a scripted provider; the
//! embedded SmolLM2 runs for real where the model's own text is what is tested.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod api;
mod cases;
mod hostile;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use autonet_agents::runtime::{Providers, Runtime, RuntimeConfig, RuntimeDeps};
use autonet_agents::{Event, EventType, ToolBox, ToolError, ToolOutput, ToolSource, ToolSpec};
use autonet_llm::{
    BoxFuture, ChatRequest, ChatStream, Finish, FinishReason, LlmError, Piece, Provider,
};
use tokio::sync::{broadcast, mpsc};

/// A provider that answers each request with the next scripted reply (the last one repeats);
/// `"HANG"` never answers, `"PANIC"` panics.
#[derive(Debug)]
pub struct Scripted {
    replies: Mutex<Vec<String>>,
    /// Every request it received.
    pub seen: Mutex<Vec<ChatRequest>>,
}

impl Scripted {
    pub fn new(replies: &[&str]) -> Arc<Self> {
        Arc::new(Scripted {
            replies: Mutex::new(replies.iter().rev().map(|s| s.to_string()).collect()),
            seen: Mutex::new(Vec::new()),
        })
    }
}

impl Provider for Scripted {
    fn name(&self) -> &str {
        "scripted"
    }

    fn chat(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatStream, LlmError>> {
        self.seen.lock().unwrap().push(request);
        let reply = {
            let mut r = self.replies.lock().unwrap();
            if r.len() > 1 {
                r.pop().unwrap()
            } else {
                r[0].clone()
            }
        };
        Box::pin(async move {
            let (tx, rx) = mpsc::channel(4);
            match reply.as_str() {
                "HANG" => {
                    tokio::spawn(async move {
                        let _keep = tx;
                        std::future::pending::<()>().await;
                    });
                }
                "PANIC" => panic!("scripted provider panics"),
                _ => {
                    tokio::spawn(async move {
                        let _ = tx.send(Ok(Piece::Text(reply.clone()))).await;
                        let finish = Finish {
                            reason: Some(FinishReason::Stop),
                            prompt_tokens: 10,
                            completion_tokens: 5,
                        };
                        let _ = tx.send(Ok(Piece::Done(finish))).await;
                    });
                }
            }
            Ok(ChatStream::new("scripted", rx))
        })
    }
}

/// Test tools: `add` (a + b), `echo` (text), `sleep` (never answers), `boom` (panics).
#[derive(Debug, Default)]
pub struct TestTools;

impl ToolSource for TestTools {
    fn specs(&self) -> Vec<ToolSpec> {
        ["add", "echo", "sleep", "boom"]
            .into_iter()
            .map(|n| ToolSpec {
                name: n.into(),
                description: format!("test tool {n}"),
                input_schema: serde_json::json!({"type": "object"}),
            })
            .collect()
    }

    fn call<'a>(
        &'a self,
        name: &'a str,
        args: serde_json::Value,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            match name {
                "add" => {
                    let (Some(a), Some(b)) = (args["a"].as_f64(), args["b"].as_f64()) else {
                        return Err(ToolError::BadArguments {
                            tool: name.into(),
                            reason: "a and b must be numbers".into(),
                        });
                    };
                    Ok(ToolOutput::ok(format!("{}", a + b)))
                }
                "echo" => Ok(ToolOutput::ok(
                    args["text"].as_str().unwrap_or("").to_string(),
                )),
                "sleep" => {
                    std::future::pending::<()>().await;
                    unreachable!()
                }
                "boom" => panic!("the boom tool panics"),
                _ => Err(ToolError::Unknown(name.into())),
            }
        })
    }
}

/// A runtime over a fresh store with `provider` and the test tools (tool timeout 2 s).
pub async fn runtime(dir: &std::path::Path, provider: Arc<dyn Provider>) -> Runtime {
    runtime_with(
        dir,
        provider,
        RuntimeConfig {
            idle_timeout: Duration::from_secs(2),
            ..RuntimeConfig::default()
        },
    )
    .await
}

/// The same with a config.
pub async fn runtime_with(
    dir: &std::path::Path,
    provider: Arc<dyn Provider>,
    config: RuntimeConfig,
) -> Runtime {
    let store = Arc::new(autonet_store::Store::open(dir.join("state.redb")).unwrap());
    let mut tools = ToolBox::new(Duration::from_secs(2));
    tools.add(Arc::new(TestTools));
    Runtime::start(RuntimeDeps {
        store,
        providers: Providers::single(provider),
        tools,
        key: libp2p_identity::Keypair::generate_ed25519(),
        guard: None,
        outbound: None,
        directory: None,
        self_address: None,
        preamble: None,
        config,
    })
    .await
    .unwrap()
}

/// Waits (up to 60 s) for an event matching `pred`, returning it and the events before it.
pub async fn wait_for(
    rx: &mut broadcast::Receiver<Event>,
    pred: impl Fn(&Event) -> bool,
) -> (Event, Vec<Event>) {
    let mut before = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let event = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "no matching event within 60 s; saw {:?}",
                    before
                        .iter()
                        .map(|e: &Event| (e.event_type, e.source.clone()))
                        .collect::<Vec<_>>()
                )
            })
            .unwrap();
        if pred(&event) {
            return (event, before);
        }
        before.push(event);
    }
}

/// An event of type `t` from `source`.
pub fn is(t: EventType, source: &str) -> impl Fn(&Event) -> bool {
    let source = source.to_string();
    move |e| e.event_type == t && e.source == source
}
