//! How a cognitive agent's model asks for a tool: one line `CALL <tool> <json object>` in its
//! reply; anything else is its answer. A plain-text convention instead of a provider's native
//! function calling, so every provider (the embedded 135M model, any OpenAI-compatible server,
//! Anthropic) drives tools the same way and a trace records the call as the model wrote it.

/// What a model's reply asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// Call a tool.
    Call {
        /// The tool's name.
        tool: String,
        /// Its arguments (a JSON object).
        arguments: serde_json::Value,
    },
    /// The answer; the run ends.
    Answer(String),
    /// A `CALL` line that cannot be read (told back to the model as an error).
    BadCall(String),
}

/// The instructions put after the system prompt when the agent has tools.
pub fn tool_instructions(tools: &[crate::tools::ToolSpec]) -> String {
    let mut text = String::from(
        "You can use tools. To use one, reply with exactly one line:\nCALL <tool> <JSON arguments>\n\
         You will get its result. When you are done, reply with your answer (no CALL line).\nTools:\n",
    );
    for tool in tools {
        text.push_str(&format!(
            "- {}: {} arguments: {}\n",
            tool.name, tool.description, tool.input_schema
        ));
    }
    text
}

/// Reads a reply: the first line starting with `CALL ` is a call.
pub fn parse(text: &str) -> Reply {
    for line in text.lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("CALL ") else {
            continue;
        };
        let rest = rest.trim();
        let (tool, args) = match rest.find(char::is_whitespace) {
            Some(i) => (&rest[..i], rest[i..].trim()),
            None => (rest, "{}"),
        };
        if !crate::definition::valid_name(tool) {
            return Reply::BadCall(format!("{tool:?} is not a tool name"));
        }
        return match serde_json::from_str::<serde_json::Value>(args) {
            Ok(arguments) if arguments.is_object() => Reply::Call {
                tool: tool.to_string(),
                arguments,
            },
            Ok(_) => Reply::BadCall(format!("the arguments of {tool} must be a JSON object")),
            Err(e) => Reply::BadCall(format!("the arguments of {tool} are not JSON: {e}")),
        };
    }
    Reply::Answer(text.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn calls_answers_and_bad_calls() {
        assert_eq!(
            parse("Let me look.\nCALL read_file {\"path\": \"a.txt\"}\n"),
            Reply::Call {
                tool: "read_file".into(),
                arguments: json!({"path": "a.txt"})
            }
        );
        assert_eq!(
            parse("CALL model_status"),
            Reply::Call {
                tool: "model_status".into(),
                arguments: json!({})
            }
        );
        assert_eq!(
            parse("  The answer is 4. "),
            Reply::Answer("The answer is 4.".into())
        );
        assert!(matches!(parse("CALL x [1]"), Reply::BadCall(_)));
        assert!(matches!(parse("CALL x {oops"), Reply::BadCall(_)));
        assert!(matches!(parse("CALL a/b {}"), Reply::BadCall(_)));
    }
}
