//! The Anthropic Messages API (`POST {base}/v1/messages`, streamed): system messages go to the
//! `system` field, the rest alternate as user and assistant turns.

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use crate::sse;
use crate::{
    BoxFuture, ChatRequest, ChatStream, Finish, FinishReason, Limits, LlmError, Piece, Provider,
    Role,
};

/// The API version this client speaks.
pub const API_VERSION: &str = "2023-06-01";

/// Where and how to reach the Messages API.
#[derive(Debug, Clone)]
pub struct AnthropicConfig {
    /// The provider's name in errors and answers.
    pub name: String,
    /// The API base (`https://api.anthropic.com`).
    pub base_url: String,
    /// The model to ask when a request names none.
    pub model: String,
    /// Sent as `x-api-key`.
    pub api_key: String,
}

/// The provider.
#[derive(Debug)]
pub struct Anthropic {
    config: AnthropicConfig,
    client: reqwest::Client,
    limits: Limits,
}

impl Anthropic {
    /// A provider for `config`.
    pub fn new(config: AnthropicConfig, limits: Limits) -> Result<Self, LlmError> {
        sse::check_base_url(&config.name, &config.base_url)?;
        Ok(Self {
            client: sse::client(Duration::from_secs(10))?,
            config,
            limits,
        })
    }
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Event {
    MessageStart {
        message: StartMessage,
    },
    ContentBlockStart {},
    ContentBlockDelta {
        delta: BlockDelta,
    },
    ContentBlockStop {},
    MessageDelta {
        delta: MessageDelta,
        usage: Option<OutputUsage>,
    },
    MessageStop {},
    Ping {},
    Error {
        error: ApiError,
    },
}

#[derive(Deserialize)]
struct StartMessage {
    usage: Option<InputUsage>,
}

#[derive(Deserialize)]
struct InputUsage {
    input_tokens: u32,
}

#[derive(Deserialize)]
struct OutputUsage {
    output_tokens: u32,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockDelta {
    TextDelta {
        text: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct MessageDelta {
    stop_reason: Option<String>,
}

#[derive(Deserialize)]
struct ApiError {
    message: String,
}

#[derive(Default)]
struct Answer {
    finish: Finish,
}

impl Answer {
    fn on_data(&mut self, provider: &str, data: &str) -> Result<Vec<Piece>, LlmError> {
        Ok(match sse::json::<Event>(provider, data)? {
            Event::MessageStart { message } => {
                self.finish.prompt_tokens = message.usage.map_or(0, |u| u.input_tokens);
                vec![]
            }
            Event::ContentBlockDelta {
                delta: BlockDelta::TextDelta { text },
            } => vec![Piece::Text(text)],
            Event::MessageDelta { delta, usage } => {
                if let Some(usage) = usage {
                    self.finish.completion_tokens = usage.output_tokens;
                }
                if let Some(reason) = delta.stop_reason {
                    self.finish.reason = Some(if reason == "max_tokens" {
                        FinishReason::Length
                    } else {
                        FinishReason::Stop
                    });
                }
                vec![]
            }
            Event::MessageStop {} => vec![Piece::Done(self.finish)],
            Event::Error { error } => {
                return Err(LlmError::Status {
                    provider: provider.into(),
                    status: 500,
                    body: error.message,
                });
            }
            _ => vec![],
        })
    }
}

impl Provider for Anthropic {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn chat(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatStream, LlmError>> {
        Box::pin(async move {
            self.limits.check(&request)?;
            let name = self.config.name.clone();
            let system: Vec<&str> = request
                .messages
                .iter()
                .filter(|m| m.role == Role::System)
                .map(|m| m.content.as_str())
                .collect();
            let turns: Vec<_> = request
                .messages
                .iter()
                .filter(|m| m.role != Role::System)
                .collect();
            if turns.is_empty() {
                return Err(LlmError::Invalid(
                    "the Messages API needs a user message".into(),
                ));
            }
            let mut body = json!({
                "model": request.model.clone().unwrap_or_else(|| self.config.model.clone()),
                "messages": turns,
                "max_tokens": request.max_tokens,
                "temperature": request.temperature,
                "stream": true,
            });
            if !system.is_empty() {
                body["system"] = json!(system.join("\n\n"));
            }
            let url = format!("{}/v1/messages", self.config.base_url.trim_end_matches('/'));
            let post = self
                .client
                .post(&url)
                .header("x-api-key", &self.config.api_key)
                .header("anthropic-version", API_VERSION)
                .json(&body);
            let mut answer = Answer::default();
            sse::start(&name, post, self.limits.idle, move |provider, data| {
                answer.on_data(provider, data)
            })
            .await
        })
    }
}
