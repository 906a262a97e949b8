//! `autonet bench agents`: the agent runtime's overhead. The embedded model answers the same
//! questions called directly (baseline) and as agent runs (a cognitive agent per question,
//! through the supervisor, the actor, the ledger, the event bus and trace recording): tokens
//! per second and time to first token on both sides, in one run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use autonet_agents::runtime::{Providers, Runtime, RuntimeConfig, RuntimeDeps};
use autonet_agents::{
    AgentDefinition, EventType, Inbox, InboxMessage, Mailer, MailerConfig, MessageKind, Priority,
    ToolBox,
};
use autonet_llm::embedded::Embedded;
use autonet_llm::{ChatRequest, Limits, Message, Piece, Provider};
use clap::Args;

use super::{BenchReport, Measurement};

/// Times greedy answers of the embedded model, directly and as agent runs.
#[derive(Debug, Args)]
pub struct AgentsBench {
    /// Questions per side.
    #[arg(long, default_value_t = 4, value_parser = crate::cli::bounds::count(1..=1000))]
    pub requests: usize,
    /// Tokens generated per answer (at most).
    #[arg(long, default_value_t = 48, value_parser = clap::value_parser!(u32).range(1..=2048))]
    pub max_tokens: u32,
    /// Inbox messages sent from one peer's agent to another's over the overlay (and posted to
    /// a local inbox as the baseline).
    #[arg(long, default_value_t = 500, value_parser = crate::cli::bounds::count(1..=100_000))]
    pub messages: usize,
}

fn mail_message(i: usize) -> InboxMessage {
    InboxMessage {
        id: format!("bench-{i}"),
        source: "sender".into(),
        target: "receiver".into(),
        kind: MessageKind::Info,
        priority: Priority::Normal,
        data: serde_json::json!({ "text": format!("message {i}") }),
        timestamp_ms: 1,
    }
}

/// Seconds to post `n` messages into a local inbox, and to send them from an agent on one
/// overlay peer to an agent on another (two libp2p peers on loopback, each with its own store):
/// from the first send until the receiving inbox holds all `n`.
async fn mail(n: usize) -> anyhow::Result<(Duration, Duration)> {
    use autonet_p2p::testnet::{Peer, accept_all, local_config, poll_until};
    let dir = tempfile::tempdir()?;
    let open = |name: &str| -> anyhow::Result<Arc<autonet_store::Store>> {
        Ok(Arc::new(autonet_store::Store::open(dir.path().join(name))?))
    };
    let local = Inbox::with_limit(open("local.redb")?, n as u64 + 1);
    let start = Instant::now();
    for i in 0..n {
        local.post(&mail_message(i))?;
    }
    let local_elapsed = start.elapsed();

    let a = Peer::start(
        local_config(autonet_p2p::Keypair::generate_ed25519(), vec![]),
        accept_all(),
    )
    .await?;
    let b = Peer::start(
        local_config(autonet_p2p::Keypair::generate_ed25519(), a.addrs.clone()),
        accept_all(),
    )
    .await?;
    let (store_a, store_b) = (open("a.redb")?, open("b.redb")?);
    let inbox_b = Inbox::with_limit(store_b.clone(), n as u64 + 1);
    let config = MailerConfig {
        min_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        budget: autonet_p2p::RequestBudget {
            burst: 100_000,
            per_second: 100_000,
        },
        ..MailerConfig::default()
    };
    let inbox_a = Inbox::new(store_a.clone());
    let mailer_a = Mailer::start(
        a.client.clone(),
        a.keypair.clone(),
        store_a,
        Arc::new(inbox_a),
        config.clone(),
    )
    .await?;
    let mailer_b = Mailer::start(
        b.client.clone(),
        b.keypair.clone(),
        store_b,
        Arc::new(inbox_b.clone()),
        config,
    )
    .await?;
    let to = autonet_agents::AgentAddr::remote(b.peer_id, "receiver")?;
    let start = Instant::now();
    for i in 0..n {
        mailer_a.send(&to, mail_message(i)).await?;
    }
    let all = poll_until(
        Duration::from_secs(600),
        Duration::from_millis(5),
        || async { (inbox_b.count("receiver").ok()? >= n as u64).then_some(()) },
    )
    .await;
    let remote_elapsed = start.elapsed();
    all.context("not every message reached the other peer's inbox within 600 s")?;
    mailer_a.stop().await;
    mailer_b.stop().await;
    a.stop().await;
    b.stop().await;
    Ok((local_elapsed, remote_elapsed))
}

fn question(i: usize) -> String {
    format!("Write a short paragraph about the number {}.", i + 1)
}

/// (elapsed, tokens, times to first token) of direct calls.
async fn direct(
    model: &dyn Provider,
    n: usize,
    max_tokens: u32,
) -> anyhow::Result<(Duration, u64, Vec<Duration>)> {
    let (mut elapsed, mut tokens, mut first) = (Duration::ZERO, 0, Vec::new());
    for i in 0..n {
        // The same messages an agent run sends: its (empty) system prompt, then the task.
        let mut request = ChatRequest::new(
            vec![Message::system(""), Message::user(question(i))],
            max_tokens,
        );
        request.temperature = 0.0;
        let start = Instant::now();
        let mut stream = model.chat(request).await?;
        let mut ttft = None;
        loop {
            match stream.next().await.context("the answer stopped early")?? {
                Piece::Text(_) => {
                    ttft.get_or_insert_with(|| start.elapsed());
                }
                Piece::Done(f) => {
                    tokens += u64::from(f.completion_tokens);
                    break;
                }
            }
        }
        elapsed += start.elapsed();
        first.push(ttft.unwrap_or_else(|| start.elapsed()));
    }
    Ok((elapsed, tokens, first))
}

/// The same questions as runs of one cognitive agent, timed from `run` to the run's end.
async fn as_agent(
    model: Arc<dyn Provider>,
    n: usize,
    max_tokens: u32,
) -> anyhow::Result<(Duration, u64, Vec<Duration>)> {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(autonet_store::Store::open(dir.path().join("state.redb"))?);
    let runtime = Runtime::start(RuntimeDeps {
        store,
        providers: Providers::single(model),
        tools: ToolBox::default(),
        key: libp2p_identity::Keypair::generate_ed25519(),
        guard: None,
        outbound: None,
        directory: None,
        self_address: None,
        preamble: None,
        config: RuntimeConfig {
            max_tokens_per_turn: max_tokens,
            ..RuntimeConfig::default()
        },
    })
    .await?;
    runtime
        .register(AgentDefinition::new("bench", "", ""))
        .await?;
    let mut events = runtime.events().subscribe();
    let (mut elapsed, mut tokens, mut first) = (Duration::ZERO, 0, Vec::new());
    for i in 0..n {
        let start = Instant::now();
        runtime.run("bench", Some(question(i)))?;
        let mut ttft = None;
        loop {
            let e = events.recv().await?;
            match e.event_type {
                EventType::StepOutput => {
                    ttft.get_or_insert_with(|| start.elapsed());
                }
                EventType::ExecutionCompleted => {
                    // The ledger counts prompt and completion; completion tokens are the output.
                    tokens += e.data["tokens"].as_u64().unwrap_or(0);
                    break;
                }
                EventType::ExecutionFailed => bail!("an agent run failed: {}", e.data["error"]),
                _ => {}
            }
        }
        elapsed += start.elapsed();
        first.push(ttft.unwrap_or_else(|| start.elapsed()));
    }
    runtime.shutdown();
    Ok((elapsed, tokens, first))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

impl AgentsBench {
    /// Runs both sides.
    pub fn run(&self) -> anyhow::Result<BenchReport> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        rt.block_on(self.measure())
    }

    async fn measure(&self) -> anyhow::Result<BenchReport> {
        let model: Arc<dyn Provider> = Arc::new(Embedded::load_default(Limits::default())?);
        direct(model.as_ref(), 1, self.max_tokens).await?; // warm the weights' pages
        let (d_elapsed, d_tokens, d_first) =
            direct(model.as_ref(), self.requests, self.max_tokens).await?;
        let (a_elapsed, a_tokens, a_first) =
            as_agent(model, self.requests, self.max_tokens).await?;
        // Both sides generate the same answers (greedy); the agent side's token count also
        // holds the prompt, so speed is compared in answers per second and time per answer.
        let baseline = Measurement::new(
            "embedded model, called directly",
            d_elapsed,
            self.requests as u64,
            "answers",
        );
        let measured = Measurement::new(
            "same questions as agent runs (runtime, events, trace)",
            a_elapsed,
            self.requests as u64,
            "answers",
        );
        let setup = format!(
            "{} greedy questions of at most {} tokens, SmolLM2-135M-Instruct Q4_1 on the CPU",
            self.requests, self.max_tokens
        );
        let mut report = BenchReport::new("agents", setup, baseline, measured);
        report.notes.push(format!(
            "generated tokens directly: {d_tokens} ({:.1} tokens/s); agent runs spent {a_tokens} tokens (prompt and completion)",
            d_tokens as f64 / d_elapsed.as_secs_f64().max(1e-9)
        ));
        report.notes.push(format!(
            "time to first token, median: direct {:.1} ms, as an agent run {:.1} ms",
            median(d_first).as_secs_f64() * 1e3,
            median(a_first).as_secs_f64() * 1e3
        ));
        let (local, remote) = mail(self.messages).await?;
        let rate = |d: Duration| self.messages as f64 / d.as_secs_f64().max(1e-9);
        report.notes.push(format!(
            "inbox messages across two peers (signed envelopes, durable outbox, libp2p on loopback): {} in {:.2} s, {:.0} messages/s; posted to a local inbox: {:.0} messages/s ({:.1}x the cross-peer rate)",
            self.messages,
            remote.as_secs_f64(),
            rate(remote),
            rate(local),
            rate(local) / rate(remote).max(1e-9)
        ));
        Ok(report)
    }
}
