//! The generation loop: prompt, then one token at a time until a control token or `max_tokens`.

use candle_core::{Device, Tensor};
use candle_transformers::generation::{LogitsProcessor, Sampling};
use tokio::sync::mpsc;

use super::Inner;
use crate::{ChatRequest, Finish, FinishReason, LlmError, Piece};

type Sender = mpsc::Sender<Result<Piece, LlmError>>;

/// Generates the answer and sends it piece by piece; stops when the receiver is gone.
pub(super) fn run(inner: &Inner, prompt: &[u32], request: &ChatRequest, tx: &Sender) {
    if let Err(e) = generate(inner, prompt, request, tx) {
        let _ = tx.blocking_send(Err(e));
    }
}

fn model_error(e: candle_core::Error) -> LlmError {
    LlmError::Model(e.to_string())
}

fn generate(
    inner: &Inner,
    prompt: &[u32],
    request: &ChatRequest,
    tx: &Sender,
) -> Result<(), LlmError> {
    // A poisoned lock means an earlier generation panicked mid-step; the weights are read-only
    // and the KV cache restarts at position 0, so the model is still sound.
    let mut weights = inner
        .weights
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let sampling = if request.temperature <= 0.0 {
        Sampling::ArgMax
    } else {
        Sampling::All {
            temperature: f64::from(request.temperature),
        }
    };
    let mut sampler = LogitsProcessor::from_sampling(request.seed, sampling);
    let mut generated: Vec<u32> = Vec::new();
    let mut sent = 0usize; // bytes of decoded text already sent
    let mut input = prompt.to_vec();
    let mut position = 0usize;
    let reason = loop {
        if generated.len() >= request.max_tokens as usize {
            break FinishReason::Length;
        }
        let tensor = Tensor::new(input.as_slice(), &Device::Cpu)
            .and_then(|t| t.unsqueeze(0))
            .map_err(model_error)?;
        let logits = weights
            .forward(&tensor, position)
            .and_then(|l| l.squeeze(0))
            .map_err(model_error)?;
        position += input.len();
        let next = sampler.sample(&logits).map_err(model_error)?;
        if inner.tokenizer.ends(next) {
            break FinishReason::Stop;
        }
        generated.push(next);
        input = vec![next];
        // Send only whole characters: a multi-byte character can span tokens.
        let text = inner.tokenizer.decode(&generated)?;
        if !text.ends_with('\u{FFFD}') && text.len() > sent && text.is_char_boundary(sent) {
            if tx
                .blocking_send(Ok(Piece::Text(text[sent..].to_string())))
                .is_err()
            {
                return Ok(()); // the caller is gone
            }
            sent = text.len();
        }
    };
    let text = inner.tokenizer.decode(&generated)?;
    if text.len() > sent && text.is_char_boundary(sent) {
        let _ = tx.blocking_send(Ok(Piece::Text(text[sent..].to_string())));
    }
    let finish = Finish {
        reason: Some(reason),
        prompt_tokens: u32::try_from(prompt.len()).unwrap_or(u32::MAX),
        completion_tokens: u32::try_from(generated.len()).unwrap_or(u32::MAX),
    };
    let _ = tx.blocking_send(Ok(Piece::Done(finish)));
    Ok(())
}
