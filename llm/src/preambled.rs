//! A provider that puts a preamble (the constitution's, for agents) in front of every request:
//! the first system message of every conversation starts with it, whatever the caller sent, so
//! no code path can reach the model without it.

use std::sync::Arc;

use crate::{BoxFuture, ChatRequest, ChatStream, LlmError, Message, Provider, Role};

/// Wraps a provider; every request it forwards starts with the preamble.
#[derive(Debug, Clone)]
pub struct Preambled {
    inner: Arc<dyn Provider>,
    preamble: String,
}

impl Preambled {
    /// `inner` with `preamble` in front of every request.
    pub fn new(inner: Arc<dyn Provider>, preamble: impl Into<String>) -> Self {
        Self {
            inner,
            preamble: preamble.into(),
        }
    }

    /// The conversation as the provider receives it: a leading system message becomes
    /// "preamble, blank line, that message"; without one, the preamble is the system message.
    pub fn apply(&self, mut request: ChatRequest) -> ChatRequest {
        match request.messages.first_mut() {
            Some(first) if first.role == Role::System => {
                first.content = format!("{}\n\n{}", self.preamble, first.content);
            }
            _ => request
                .messages
                .insert(0, Message::system(self.preamble.clone())),
        }
        request
    }
}

impl Provider for Preambled {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn chat(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatStream, LlmError>> {
        let request = self.apply(request);
        Box::pin(async move { self.inner.chat(request).await })
    }
}
