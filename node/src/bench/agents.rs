//! `autonet bench agents`: the agent runtime's overhead. The embedded model answers the same
//! questions called directly (baseline) and as agent runs (a cognitive agent per question,
//! through the supervisor, the actor, the ledger, the event bus and trace recording): tokens
//! per second and time to first token on both sides, in one run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use autonet_agents::runtime::{Providers, Runtime, RuntimeConfig, RuntimeDeps};
use autonet_agents::{AgentDefinition, EventType, ToolBox};
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
        Ok(report)
    }
}
