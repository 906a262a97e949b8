//! The embedded model: SmolLM2-135M-Instruct (GGUF, Q4_1) on candle's quantized llama, CPU only.
//!
//! One model is loaded once and shared; requests take turns on it (a 135M model answers one
//! request at a time fastest on a small CPU). Generation runs on a blocking thread and streams
//! each piece of text as soon as it decodes to whole characters; a caller that drops its stream
//! stops the generation at the next token.

mod generate;
pub mod locate;
pub mod template;
pub mod tokenizer;

use std::path::Path;
use std::sync::{Arc, Mutex};

use candle_core::Device;
use candle_core::quantized::gguf_file;
use candle_transformers::models::quantized_llama::ModelWeights;
use tokio::sync::mpsc;

pub use locate::locate;
use tokenizer::GgufTokenizer;

use crate::{BoxFuture, ChatRequest, ChatStream, Limits, LlmError, Provider};

/// The loaded model and its tokenizer.
#[derive(Debug)]
pub struct Embedded {
    name: String,
    inner: Arc<Inner>,
    limits: Limits,
    /// One permit per request held (running or waiting for the model).
    queue: Arc<tokio::sync::Semaphore>,
}

struct Inner {
    weights: Mutex<ModelWeights>,
    tokenizer: GgufTokenizer,
    /// The model's context window, in tokens.
    context: usize,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("context", &self.context)
            .finish_non_exhaustive()
    }
}

impl Embedded {
    /// Loads the model file found by [`locate`].
    pub fn load_default(limits: Limits) -> Result<Self, LlmError> {
        let path = locate().map_err(LlmError::ModelMissing)?;
        Self::load(&path, limits)
    }

    /// Loads a GGUF file (llama architecture, byte-level BPE vocabulary).
    pub fn load(path: &Path, limits: Limits) -> Result<Self, LlmError> {
        let missing =
            |e: &dyn std::fmt::Display| LlmError::ModelMissing(format!("{}: {e}", path.display()));
        // Said plainly: an explicit path that is no file is the usual mistake (a typo, a folder).
        if !path.is_file() {
            return Err(LlmError::ModelMissing(format!(
                "{} is not a file",
                path.display()
            )));
        }
        let mut file = std::fs::File::open(path).map_err(|e| missing(&e))?;
        let content = gguf_file::Content::read(&mut file).map_err(|e| missing(&e))?;
        let tokenizer = GgufTokenizer::from_gguf(&content)?;
        let context = content
            .metadata
            .get("llama.context_length")
            .and_then(|v| v.to_u32().ok())
            .map_or(2048, |n| n as usize);
        let weights =
            ModelWeights::from_gguf(content, &mut file, &Device::Cpu).map_err(|e| missing(&e))?;
        let name = path
            .file_stem()
            .map_or_else(|| "embedded".into(), |s| s.to_string_lossy().into_owned());
        Ok(Self {
            name,
            inner: Arc::new(Inner {
                weights: Mutex::new(weights),
                tokenizer,
                context,
            }),
            queue: Arc::new(tokio::sync::Semaphore::new(limits.max_queue.max(1))),
            limits,
        })
    }

    /// The limits it enforces.
    pub fn limits(&self) -> Limits {
        self.limits
    }
}

impl Provider for Embedded {
    fn name(&self) -> &str {
        &self.name
    }

    fn chat(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatStream, LlmError>> {
        Box::pin(async move {
            self.limits.check(&request)?;
            let prompt = template::prompt(&self.inner.tokenizer, &request.messages)?;
            if prompt.len() + request.max_tokens as usize > self.inner.context {
                return Err(LlmError::Invalid(format!(
                    "the prompt is {} tokens; with max_tokens {} it exceeds the model's context of {}",
                    prompt.len(),
                    request.max_tokens,
                    self.inner.context
                )));
            }
            // Refused at once when full: each waiting request would hold a blocking thread.
            let permit = Arc::clone(&self.queue)
                .try_acquire_owned()
                .map_err(|_| LlmError::Busy(self.name.clone(), self.limits.max_queue))?;
            let (tx, rx) = mpsc::channel(64);
            let inner = Arc::clone(&self.inner);
            tokio::task::spawn_blocking(move || {
                generate::run(&inner, &prompt, &request, &tx);
                drop(permit);
            });
            Ok(ChatStream::new(self.name.clone(), rx))
        })
    }
}
