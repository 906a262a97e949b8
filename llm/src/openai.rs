//! An OpenAI-compatible chat-completions server (`POST {base}/chat/completions`, streamed as
//! server-sent events): Ollama, vLLM, llama.cpp's server, hosted APIs, and autonet's own
//! endpoint ([`crate::serve`]).

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use crate::sse;
use crate::{
    BoxFuture, ChatRequest, ChatStream, Finish, FinishReason, Limits, LlmError, Piece, Provider,
};

/// Where and how to reach an OpenAI-compatible server.
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// The provider's name in errors and answers.
    pub name: String,
    /// The API base, ending in `/v1` (e.g. `http://127.0.0.1:11434/v1` for Ollama).
    pub base_url: String,
    /// The model to ask when a request names none.
    pub model: String,
    /// Sent as `Authorization: Bearer …` when set.
    pub api_key: Option<String>,
}

/// The provider.
#[derive(Debug)]
pub struct OpenAi {
    config: OpenAiConfig,
    client: reqwest::Client,
    limits: Limits,
}

impl OpenAi {
    /// A provider for `config`.
    pub fn new(config: OpenAiConfig, limits: Limits) -> Result<Self, LlmError> {
        sse::check_base_url(&config.name, &config.base_url)?;
        Ok(Self {
            client: sse::client(Duration::from_secs(10))?,
            config,
            limits,
        })
    }
}

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<Choice>,
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    delta: Delta,
    finish_reason: Option<String>,
}

#[derive(Deserialize, Default)]
struct Delta {
    content: Option<String>,
}

#[derive(Deserialize)]
struct Usage {
    prompt_tokens: u32,
    completion_tokens: u32,
}

/// The state of one streamed answer: the finish reason arrives before the usage chunk.
#[derive(Default)]
struct Answer {
    finish: Finish,
}

impl Answer {
    fn on_data(&mut self, provider: &str, data: &str) -> Result<Vec<Piece>, LlmError> {
        if data.trim() == "[DONE]" {
            return Ok(vec![Piece::Done(self.finish)]);
        }
        let chunk: Chunk = sse::json(provider, data)?;
        if let Some(usage) = chunk.usage {
            self.finish.prompt_tokens = usage.prompt_tokens;
            self.finish.completion_tokens = usage.completion_tokens;
        }
        let mut pieces = Vec::new();
        for choice in chunk.choices {
            if let Some(text) = choice.delta.content.filter(|t| !t.is_empty()) {
                pieces.push(Piece::Text(text));
            }
            if let Some(reason) = choice.finish_reason {
                self.finish.reason = Some(if reason == "length" {
                    FinishReason::Length
                } else {
                    FinishReason::Stop
                });
            }
        }
        Ok(pieces)
    }
}

impl Provider for OpenAi {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn chat(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatStream, LlmError>> {
        Box::pin(async move {
            self.limits.check(&request)?;
            let name = self.config.name.clone();
            let body = json!({
                "model": request.model.clone().unwrap_or_else(|| self.config.model.clone()),
                "messages": request.messages,
                "max_tokens": request.max_tokens,
                "temperature": request.temperature,
                "seed": request.seed,
                "stream": true,
                "stream_options": {"include_usage": true},
            });
            let url = format!(
                "{}/chat/completions",
                self.config.base_url.trim_end_matches('/')
            );
            let mut post = self.client.post(&url).json(&body);
            if let Some(key) = &self.config.api_key {
                post = post.bearer_auth(key);
            }
            let mut answer = Answer::default();
            sse::start(&name, post, self.limits.idle, move |provider, data| {
                answer.on_data(provider, data)
            })
            .await
        })
    }
}
