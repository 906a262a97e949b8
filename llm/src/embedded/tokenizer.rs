//! The embedded model's tokenizer, rebuilt from the GGUF file's own metadata (`tokenizer.ggml.*`:
//! a GPT-2 style byte-level BPE vocabulary and its merges), so the GGUF file is all the model
//! needs.
//!
//! Control tokens (`<|im_start|>`, `<|im_end|>`, …) are deliberately NOT registered as added
//! tokens: text is always encoded as plain text, so a user who writes `<|im_start|>system` gets
//! those characters, never the control token, and cannot forge a turn of the conversation. The
//! chat template ([`super::template`]) places control tokens by id.

use std::collections::HashMap;

use candle_core::quantized::gguf_file::{Content, Value};
use serde_json::json;
use tokenizers::Tokenizer;

use crate::LlmError;

/// The GGUF token type of control tokens.
const CONTROL: i32 = 3;

/// A byte-level BPE tokenizer plus the ids the chat template needs.
#[derive(Debug)]
pub struct GgufTokenizer {
    inner: Tokenizer,
    /// Ids of the control tokens, by text.
    control: HashMap<String, u32>,
    /// Whether an id is a control token (generation ends at any of them).
    is_control: Vec<bool>,
}

fn strings(content: &Content, key: &str) -> Result<Vec<String>, LlmError> {
    let missing = || LlmError::ModelMissing(format!("the GGUF file has no {key}"));
    let value = content.metadata.get(key).ok_or_else(missing)?;
    let items = value
        .to_vec()
        .map_err(|e| LlmError::ModelMissing(format!("{key}: {e}")))?;
    items
        .iter()
        .map(|v| {
            v.to_string()
                .cloned()
                .map_err(|e| LlmError::ModelMissing(format!("{key}: {e}")))
        })
        .collect()
}

fn types(content: &Content, len: usize) -> Result<Vec<bool>, LlmError> {
    let Some(value) = content.metadata.get("tokenizer.ggml.token_type") else {
        return Ok(vec![false; len]);
    };
    let items = value
        .to_vec()
        .map_err(|e| LlmError::ModelMissing(format!("token types: {e}")))?;
    Ok(items
        .iter()
        .map(|v| matches!(v, Value::I32(t) if *t == CONTROL))
        .collect())
}

impl GgufTokenizer {
    /// Builds the tokenizer from the file's metadata.
    pub fn from_gguf(content: &Content) -> Result<Self, LlmError> {
        let kind = content
            .metadata
            .get("tokenizer.ggml.model")
            .and_then(|v| v.to_string().ok());
        if kind.map(String::as_str) != Some("gpt2") {
            return Err(LlmError::ModelMissing(format!(
                "the GGUF tokenizer is {kind:?}; only byte-level BPE (gpt2) is supported"
            )));
        }
        let tokens = strings(content, "tokenizer.ggml.tokens")?;
        let merges = strings(content, "tokenizer.ggml.merges")?;
        let is_control = types(content, tokens.len())?;
        if is_control.len() != tokens.len() {
            return Err(LlmError::ModelMissing(
                "token types and tokens differ in length".into(),
            ));
        }
        let mut vocab = serde_json::Map::new();
        let mut control = HashMap::new();
        for (id, token) in tokens.iter().enumerate() {
            let id = u32::try_from(id)
                .map_err(|_| LlmError::ModelMissing("vocabulary too large".into()))?;
            vocab.insert(token.clone(), json!(id));
            if is_control[id as usize] {
                control.insert(token.clone(), id);
            }
        }
        // The HF tokenizer.json of SmolLM2: digits split one by one, then GPT-2's byte-level
        // pre-tokenizer (no prefix space); the byte-level decoder undoes the byte mapping.
        let spec = json!({
            "version": "1.0",
            "truncation": null,
            "padding": null,
            "added_tokens": [],
            "normalizer": null,
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Digits", "individual_digits": true},
                {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}
            ]},
            "post_processor": null,
            "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
            "model": {
                "type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
                "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false,
                "ignore_merges": false, "vocab": vocab, "merges": merges
            }
        });
        let inner = Tokenizer::from_bytes(spec.to_string().as_bytes())
            .map_err(|e| LlmError::ModelMissing(format!("cannot build the tokenizer: {e}")))?;
        Ok(Self {
            inner,
            control,
            is_control,
        })
    }

    /// The tokens of `text`, always as plain text (control tokens are never matched).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, LlmError> {
        let encoding = self
            .inner
            .encode(text, false)
            .map_err(|e| LlmError::Model(e.to_string()))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// The text of generated tokens.
    pub fn decode(&self, ids: &[u32]) -> Result<String, LlmError> {
        self.inner
            .decode(ids, false)
            .map_err(|e| LlmError::Model(e.to_string()))
    }

    /// The id of a control token, e.g. `<|im_start|>`.
    pub fn control(&self, text: &str) -> Result<u32, LlmError> {
        self.control.get(text).copied().ok_or_else(|| {
            LlmError::ModelMissing(format!("the vocabulary has no control token {text}"))
        })
    }

    /// Whether generating `id` ends the answer.
    pub fn ends(&self, id: u32) -> bool {
        self.is_control.get(id as usize).copied().unwrap_or(true)
    }
}
