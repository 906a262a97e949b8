//! Providers in order of preference: the first that accepts a request answers it.

use std::sync::Arc;

use crate::{BoxFuture, ChatRequest, ChatStream, LlmError, Provider};

/// Tries each provider in turn until one accepts the request. A provider that fails before its
/// stream starts (unreachable, an error status, a refused request) hands over to the next; one
/// that fails mid-answer does not, because part of its answer has already been used.
#[derive(Debug, Clone)]
pub struct Fallback {
    name: String,
    providers: Vec<Arc<dyn Provider>>,
}

impl Fallback {
    /// Providers in order; at least one.
    pub fn new(providers: Vec<Arc<dyn Provider>>) -> Result<Self, LlmError> {
        if providers.is_empty() {
            return Err(LlmError::Invalid(
                "a fallback chain needs at least one provider".into(),
            ));
        }
        let name = providers
            .iter()
            .map(|p| p.name())
            .collect::<Vec<_>>()
            .join(",");
        Ok(Self { name, providers })
    }
}

impl Provider for Fallback {
    fn name(&self) -> &str {
        &self.name
    }

    fn chat(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatStream, LlmError>> {
        Box::pin(async move {
            let mut errors = Vec::new();
            for provider in &self.providers {
                match provider.chat(request.clone()).await {
                    Ok(stream) => return Ok(stream),
                    // The request itself is wrong: every provider would refuse it.
                    Err(e @ LlmError::Invalid(_)) => return Err(e),
                    Err(e) => {
                        tracing::warn!(provider = provider.name(), error = %e, "provider failed; trying the next");
                        errors.push(e);
                    }
                }
            }
            Err(LlmError::AllFailed(errors))
        })
    }
}
