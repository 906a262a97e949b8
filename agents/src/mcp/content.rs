//! MCP's shapes to the tool interface's and back: a listed tool to a [`ToolSpec`] (checked, as
//! a server may send anything), a tool result to a [`ToolOutput`] (text joined, other content
//! summarized).

use rmcp::model::{CallToolResult, ContentBlock, ResourceContents, Tool};

use crate::tools::{MAX_TOOL_OUTPUT_BYTES, ToolOutput, ToolSpec};

/// The longest tool name (MCP's own limit).
pub const MAX_TOOL_NAME: usize = 128;
/// The longest description kept (longer ones are cut: they go into every prompt).
pub const MAX_DESCRIPTION_BYTES: usize = 4096;
/// The largest input schema accepted, as JSON.
pub const MAX_SCHEMA_BYTES: usize = 64 * 1024;

/// Whether `name` is a tool name MCP allows: 1 to 128 of `[A-Za-z0-9_.-]`.
pub fn valid_tool_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_TOOL_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

fn cut_to(mut text: String, limit: usize) -> String {
    if text.len() > limit {
        let mut end = limit;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// A listed tool as a spec, or why it is refused.
pub fn spec_of(tool: &Tool) -> Result<ToolSpec, String> {
    let name = tool.name.to_string();
    if !valid_tool_name(&name) {
        let shown = cut_to(name, MAX_TOOL_NAME);
        return Err(format!(
            "tool name {shown:?} is not 1 to {MAX_TOOL_NAME} characters of [A-Za-z0-9_.-]"
        ));
    }
    let input_schema = serde_json::Value::Object((*tool.input_schema).clone());
    let size = input_schema.to_string().len();
    if size > MAX_SCHEMA_BYTES {
        return Err(format!(
            "tool {name}: input schema of {size} bytes (limit {MAX_SCHEMA_BYTES})"
        ));
    }
    let description = tool
        .description
        .as_deref()
        .or(tool.title.as_deref())
        .unwrap_or_default()
        .to_string();
    Ok(ToolSpec {
        name,
        description: cut_to(description, MAX_DESCRIPTION_BYTES),
        input_schema,
    })
}

/// One content block as text: text as is, anything else as a bracketed summary (the agent's
/// model reads text only).
fn block_text(block: &ContentBlock) -> String {
    match block {
        ContentBlock::Text(t) => t.text.clone(),
        ContentBlock::Image(i) => format!(
            "[image {}, {} bytes base64]",
            cut_to(i.mime_type.clone(), 100),
            i.data.len()
        ),
        ContentBlock::Audio(a) => format!(
            "[audio {}, {} bytes base64]",
            cut_to(a.mime_type.clone(), 100),
            a.data.len()
        ),
        ContentBlock::Resource(r) => match &r.resource {
            ResourceContents::TextResourceContents { uri, text, .. } => {
                format!("[resource {}]\n{text}", cut_to(uri.clone(), 500))
            }
            ResourceContents::BlobResourceContents {
                uri,
                mime_type,
                blob,
                ..
            } => format!(
                "[resource {} {}, {} bytes base64]",
                cut_to(uri.clone(), 500),
                cut_to(mime_type.clone().unwrap_or_default(), 100),
                blob.len()
            ),
            _ => "[resource of a kind this client does not know]".to_string(),
        },
        ContentBlock::ResourceLink(link) => format!(
            "[resource link {} ({})]",
            cut_to(link.uri.clone(), 500),
            cut_to(link.name.clone(), 200)
        ),
        _ => "[content of a kind this client does not know]".to_string(),
    }
}

/// A tool result as the agent sees it: the blocks' text joined by newlines (structured content
/// as JSON when there are no blocks), an error when the server set `isError`.
pub fn output_of(result: &CallToolResult) -> ToolOutput {
    let mut text = String::new();
    for block in &result.content {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&block_text(block));
        // Stop joining once past the limit: ToolOutput cuts the rest and says so.
        if text.len() > MAX_TOOL_OUTPUT_BYTES {
            break;
        }
    }
    if result.content.is_empty()
        && let Some(structured) = &result.structured_content
    {
        text = structured.to_string();
    }
    if result.is_error == Some(true) {
        ToolOutput::error(text)
    } else {
        ToolOutput::ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_mcp() {
        assert!(valid_tool_name("get-sum"));
        assert!(valid_tool_name("fs.read_file"));
        assert!(!valid_tool_name(""));
        assert!(!valid_tool_name("a b"));
        assert!(!valid_tool_name(&"x".repeat(129)));
    }

    #[test]
    fn output_joins_text_and_summarizes_the_rest() {
        let result: CallToolResult = serde_json::from_value(serde_json::json!({
            "content": [
                {"type": "text", "text": "one"},
                {"type": "image", "data": "AAAA", "mimeType": "image/png"},
                {"type": "text", "text": "two"}
            ],
            "isError": true
        }))
        .unwrap_or_else(|e| unreachable!("{e}"));
        let out = output_of(&result);
        assert!(out.is_error);
        assert_eq!(out.text, "one\n[image image/png, 4 bytes base64]\ntwo");
    }

    #[test]
    fn huge_output_is_cut() {
        let big = "y".repeat(MAX_TOOL_OUTPUT_BYTES * 3);
        let result: CallToolResult = serde_json::from_value(serde_json::json!({
            "content": [{"type": "text", "text": big}, {"type": "text", "text": big}]
        }))
        .unwrap_or_else(|e| unreachable!("{e}"));
        let out = output_of(&result);
        assert!(!out.is_error);
        assert!(out.text.len() <= MAX_TOOL_OUTPUT_BYTES + 10);
        assert!(out.text.ends_with("[cut]"));
    }
}
