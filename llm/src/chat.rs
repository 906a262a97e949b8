//! The provider-neutral chat types: a request (messages and sampling limits), the stream of
//! text pieces a provider answers with, and the finished completion.

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::LlmError;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions the model follows (the constitution's preamble goes here).
    System,
    /// The person or agent asking.
    User,
    /// The model's earlier answers.
    Assistant,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// Its text.
    pub content: String,
}

impl Message {
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self {
            role: Role::System,
            content: content.into(),
        }
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: content.into(),
        }
    }

    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// What to ask a provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The conversation, oldest first.
    pub messages: Vec<Message>,
    /// The most tokens to generate.
    pub max_tokens: u32,
    /// Sampling temperature; 0 is greedy (the same answer every time on the embedded model).
    pub temperature: f32,
    /// The model to ask, where the provider serves several (None: its default).
    pub model: Option<String>,
    /// Seed of the embedded model's sampler (ignored by HTTP providers).
    pub seed: u64,
}

impl ChatRequest {
    /// A greedy request for at most `max_tokens` tokens.
    pub fn new(messages: Vec<Message>, max_tokens: u32) -> Self {
        Self {
            messages,
            max_tokens,
            temperature: 0.0,
            model: None,
            seed: 0,
        }
    }

    /// Bytes of text in the conversation: what the size limits are checked against.
    pub fn text_len(&self) -> usize {
        self.messages.iter().map(|m| m.content.len()).sum()
    }
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// The model ended its answer.
    Stop,
    /// `max_tokens` was reached.
    Length,
}

/// One event of a streamed answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    /// More text.
    Text(String),
    /// The end, with token counts where the provider reports them.
    Done(Finish),
}

/// How an answer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Finish {
    /// Why it ended (None when the provider did not say).
    pub reason: Option<FinishReason>,
    /// Tokens of the prompt.
    pub prompt_tokens: u32,
    /// Tokens generated.
    pub completion_tokens: u32,
}

/// A whole answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// The text.
    pub text: String,
    /// How it ended.
    pub finish: Finish,
    /// Which provider answered (its name in the configuration).
    pub provider: String,
}

/// An answer as it is generated: text pieces, then one [`Piece::Done`], or an error.
#[derive(Debug)]
pub struct ChatStream {
    provider: String,
    rx: mpsc::Receiver<Result<Piece, LlmError>>,
}

impl ChatStream {
    /// A stream fed through `rx` by the provider named `provider`.
    pub fn new(provider: impl Into<String>, rx: mpsc::Receiver<Result<Piece, LlmError>>) -> Self {
        Self {
            provider: provider.into(),
            rx,
        }
    }

    /// The provider that answers.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The next piece; None once the answer is complete (after its `Done`) or the provider went
    /// away, which [`collect`](Self::collect) reports as an error.
    pub async fn next(&mut self) -> Option<Result<Piece, LlmError>> {
        self.rx.recv().await
    }

    /// Waits for the whole answer.
    pub async fn collect(mut self) -> Result<Completion, LlmError> {
        let mut text = String::new();
        while let Some(piece) = self.rx.recv().await {
            match piece? {
                Piece::Text(t) => text.push_str(&t),
                Piece::Done(finish) => {
                    return Ok(Completion {
                        text,
                        finish,
                        provider: self.provider,
                    });
                }
            }
        }
        Err(LlmError::Interrupted(self.provider))
    }
}
