//! The chat template of SmolLM2-Instruct (ChatML, as its GGUF's `tokenizer.chat_template`):
//! `<|im_start|>{role}\n{content}<|im_end|>\n` per message, a default system message when the
//! conversation has none, then `<|im_start|>assistant\n` for the answer. Built token by token:
//! control tokens by id, message text always as plain text.

use super::tokenizer::GgufTokenizer;
use crate::{LlmError, Message, Role};

/// The system message the model was tuned with, used when the conversation brings none.
pub const DEFAULT_SYSTEM: &str =
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face";

fn role_name(role: Role) -> &'static str {
    match role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
    }
}

/// The prompt's tokens for `messages`, ending where the assistant's answer starts.
pub fn prompt(tokenizer: &GgufTokenizer, messages: &[Message]) -> Result<Vec<u32>, LlmError> {
    let start = tokenizer.control("<|im_start|>")?;
    let end = tokenizer.control("<|im_end|>")?;
    let newline = tokenizer.encode("\n")?;
    let mut ids = Vec::new();
    let turn = |role: Role, content: &str, ids: &mut Vec<u32>| -> Result<(), LlmError> {
        ids.push(start);
        ids.extend(tokenizer.encode(&format!("{}\n", role_name(role)))?);
        ids.extend(tokenizer.encode(content)?);
        ids.push(end);
        ids.extend(&newline);
        Ok(())
    };
    if messages.first().map(|m| m.role) != Some(Role::System) {
        turn(Role::System, DEFAULT_SYSTEM, &mut ids)?;
    }
    for message in messages {
        turn(message.role, &message.content, &mut ids)?;
    }
    ids.push(start);
    ids.extend(tokenizer.encode("assistant\n")?);
    Ok(ids)
}
