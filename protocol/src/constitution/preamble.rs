//! The constitutional preamble: the constitution's template filled in for one agent, put in front
//! of every agent and delegated prompt. The agent layer calls [`with_preamble`] for each prompt it
//! sends to a provider; a provider (or a test standing in for one) checks with [`has_preamble`].

use super::document::Constitution;

/// The preamble of `constitution` for `agent` (an address, a name: whatever identifies it).
pub fn preamble(constitution: &Constitution, agent: &str) -> String {
    let principles: Vec<String> = constitution
        .principles
        .iter()
        .map(|p| format!("- {}: {}", p.id, p.text))
        .collect();
    let tendencies: Vec<String> = constitution
        .tendencies
        .iter()
        .map(|t| format!("- {}: {}", t.id, t.thesis))
        .collect();
    // One pass over the template, so a placeholder inside a substituted value (an agent named
    // "{principles}") is never expanded a second time.
    let mut out = String::with_capacity(constitution.preamble.template.len() + 1024);
    let mut rest = constitution.preamble.template.trim();
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            rest = "";
            break;
        };
        let value = match &after[..close] {
            "name" => constitution.name.clone(),
            "version" => constitution.version.to_string(),
            "constitution_id" => constitution.id_hex(),
            "principles" => principles.join("\n"),
            "tendencies" => tendencies.join("\n"),
            "agent" => agent.to_string(),
            other => format!("{{{other}}}"),
        };
        out.push_str(&value);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

/// `prompt` with the preamble in front (separated by a blank line).
pub fn with_preamble(constitution: &Constitution, agent: &str, prompt: &str) -> String {
    format!("{}\n\n{prompt}", preamble(constitution, agent))
}

/// Whether `text` (a prompt as a provider received it) starts with `constitution`'s preamble
/// for `agent`.
pub fn has_preamble(constitution: &Constitution, agent: &str, text: &str) -> bool {
    text.starts_with(&preamble(constitution, agent))
}
