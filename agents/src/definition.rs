//! An agent definition (reference §9.3): what an agent is, which model and tools it uses, when it
//! runs and how much it may spend. Read from TOML or JSON (a file, the WebSocket API, a peer),
//! every field checked by [`AgentDefinition::check`] before an agent is started.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How an agent works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// A fixed list of steps (tool calls, model calls, messages), run in order.
    Pipeline,
    /// The model decides, turn by turn, which tool to call, until it answers or `max_turns`.
    #[default]
    Cognitive,
}

/// One step of a pipeline agent (reference `StepDefinition{type, config, name}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum Step {
    /// Calls a tool with fixed arguments; `{input}` in a string argument is replaced by the
    /// previous step's output.
    Tool {
        /// Step name (events, traces).
        name: String,
        /// The tool.
        tool: String,
        /// Its arguments.
        #[serde(default)]
        arguments: serde_json::Value,
    },
    /// Asks the model; `{input}` in the prompt is replaced by the previous step's output.
    Cognitive {
        /// Step name.
        name: String,
        /// The prompt.
        prompt: String,
    },
    /// Posts the previous step's output to another agent's inbox.
    Message {
        /// Step name.
        name: String,
        /// The target agent (local id or `peer/agent` address).
        to: String,
    },
}

impl Step {
    /// The step's name.
    pub fn name(&self) -> &str {
        match self {
            Step::Tool { name, .. } | Step::Cognitive { name, .. } | Step::Message { name, .. } => {
                name
            }
        }
    }
}

/// Spending limits of one agent (its own use plus, rolled up, its descendants').
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budgets {
    /// Model tokens (prompt + completion) over the agent's lifetime.
    #[serde(default = "default_tokens")]
    pub tokens: u64,
    /// Tool calls over the agent's lifetime.
    #[serde(default = "default_tool_calls")]
    pub tool_calls: u64,
}

fn default_tokens() -> u64 {
    200_000
}
fn default_tool_calls() -> u64 {
    1_000
}

impl Default for Budgets {
    fn default() -> Self {
        Budgets {
            tokens: default_tokens(),
            tool_calls: default_tool_calls(),
        }
    }
}

/// The longest name, prompt and tool-list sizes a definition may have.
pub const MAX_PROMPT_BYTES: usize = 16 * 1024;
/// The most steps or tools.
pub const MAX_ITEMS: usize = 64;

/// An agent definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentDefinition {
    /// Unique on its node: `[A-Za-z0-9._:-]`, 1–64 characters (it is an inbox key).
    pub id: String,
    /// For people.
    #[serde(default)]
    pub name: String,
    /// Pipeline or cognitive.
    #[serde(default)]
    pub mode: Mode,
    /// Pipeline steps.
    #[serde(default)]
    pub steps: Vec<Step>,
    /// Provider names, the first preferred, the rest fallbacks (empty: the node's default).
    #[serde(default)]
    pub provider: Vec<String>,
    /// The agent's system prompt (the constitution's preamble is put in front of it).
    #[serde(default)]
    pub system_prompt: String,
    /// What a run does when nothing in the inbox says otherwise.
    #[serde(default)]
    pub task_prompt: String,
    /// Model turns per run (cognitive mode).
    #[serde(default = "default_max_turns")]
    pub max_turns: u32,
    /// Tools it may call (names in the node's tool box; empty: none).
    #[serde(default)]
    pub tools: Vec<String>,
    /// Runs at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: u32,
    /// Runs every interval while active: `"30s"`, `"5m"`, `"1h"`.
    #[serde(default)]
    pub schedule: Option<String>,
    /// Spending limits.
    #[serde(default)]
    pub budgets: Budgets,
    /// Children it may have at once.
    #[serde(default = "default_max_children")]
    pub max_children: u32,
    /// Levels of delegation below it.
    #[serde(default = "default_max_depth_below")]
    pub max_depth_below: u32,
    /// The largest prompt of one turn, in bytes.
    #[serde(default = "default_per_turn_input_max")]
    pub per_turn_input_max: usize,
    /// The same tool with the same arguments at most this many times in one run.
    #[serde(default = "default_repeat_call_limit")]
    pub repeat_call_limit: u32,
    /// Its parent (a delegated child), if any.
    #[serde(default)]
    pub parent_id: Option<String>,
    /// Tell the parent when a run completes.
    #[serde(default = "yes")]
    pub notify_parent: bool,
    /// Run the parent at once when a child completes (else the notice waits in its inbox).
    #[serde(default)]
    pub wake_parent_on_child: bool,
    /// What it offers to others (its agent card's capabilities), e.g. `"summarize"`.
    #[serde(default)]
    pub capabilities: Vec<String>,
}

fn default_max_turns() -> u32 {
    50
}
fn default_concurrency() -> u32 {
    1
}
fn default_max_children() -> u32 {
    20
}
fn default_max_depth_below() -> u32 {
    6
}
fn default_per_turn_input_max() -> usize {
    200_000
}
fn default_repeat_call_limit() -> u32 {
    5
}
fn yes() -> bool {
    true
}

/// Why a definition is refused.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum DefinitionError {
    /// A field out of its bounds.
    #[error("agent definition: {field}: {reason}")]
    Invalid {
        /// Which field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Not a definition (syntax, unknown field, wrong type).
    #[error("agent definition: {0}")]
    Malformed(String),
}

fn invalid(field: &'static str, reason: impl Into<String>) -> DefinitionError {
    DefinitionError::Invalid {
        field,
        reason: reason.into(),
    }
}

/// Whether `name` is 1–64 characters of `[A-Za-z0-9._:-]` (agent ids, tool names).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
}

/// Parses a schedule: a whole number followed by `s`, `m` or `h` (`"30s"`, `"5m"`, `"1h"`),
/// between one second and one week.
pub fn parse_schedule(text: &str) -> Result<Duration, DefinitionError> {
    let text = text.trim();
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let seconds_per = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => {
            return Err(invalid(
                "schedule",
                format!("{text:?}: expected a number and s, m or h, e.g. \"30s\", \"5m\", \"1h\""),
            ));
        }
    };
    let n: u64 = number.parse().map_err(|_| {
        invalid(
            "schedule",
            format!("{text:?}: not a whole number before the unit"),
        )
    })?;
    let seconds = n.saturating_mul(seconds_per);
    if !(1..=7 * 24 * 3600).contains(&seconds) {
        return Err(invalid(
            "schedule",
            format!("{text:?}: between 1s and 168h"),
        ));
    }
    Ok(Duration::from_secs(seconds))
}

impl AgentDefinition {
    /// A cognitive agent with every default.
    pub fn new(id: &str, system_prompt: &str, task_prompt: &str) -> Self {
        AgentDefinition {
            id: id.to_string(),
            name: id.to_string(),
            mode: Mode::Cognitive,
            steps: Vec::new(),
            provider: Vec::new(),
            system_prompt: system_prompt.to_string(),
            task_prompt: task_prompt.to_string(),
            max_turns: default_max_turns(),
            tools: Vec::new(),
            concurrency: default_concurrency(),
            schedule: None,
            budgets: Budgets::default(),
            max_children: default_max_children(),
            max_depth_below: default_max_depth_below(),
            per_turn_input_max: default_per_turn_input_max(),
            repeat_call_limit: default_repeat_call_limit(),
            parent_id: None,
            notify_parent: true,
            wake_parent_on_child: false,
            capabilities: Vec::new(),
        }
    }

    /// Reads a definition from TOML (a file) and checks it.
    pub fn from_toml(text: &str) -> Result<Self, DefinitionError> {
        if text.len() > 4 * MAX_PROMPT_BYTES {
            return Err(invalid("document", "larger than 64 KiB"));
        }
        let def: Self =
            toml::from_str(text).map_err(|e| DefinitionError::Malformed(e.to_string()))?;
        def.check()?;
        Ok(def)
    }

    /// Reads a definition from JSON (the WebSocket API, a peer) and checks it.
    pub fn from_json(value: serde_json::Value) -> Result<Self, DefinitionError> {
        let def: Self =
            serde_json::from_value(value).map_err(|e| DefinitionError::Malformed(e.to_string()))?;
        def.check()?;
        Ok(def)
    }

    /// The schedule's interval, if it has one.
    pub fn interval(&self) -> Result<Option<Duration>, DefinitionError> {
        self.schedule.as_deref().map(parse_schedule).transpose()
    }

    /// Checks every field against its bounds.
    pub fn check(&self) -> Result<(), DefinitionError> {
        if !valid_name(&self.id) {
            return Err(invalid(
                "id",
                format!("{:?}: 1 to 64 characters of [A-Za-z0-9._:-]", self.id),
            ));
        }
        if self.name.len() > 256 {
            return Err(invalid("name", "longer than 256 bytes"));
        }
        for (field, text) in [
            ("system_prompt", &self.system_prompt),
            ("task_prompt", &self.task_prompt),
        ] {
            if text.len() > MAX_PROMPT_BYTES {
                return Err(invalid(
                    field,
                    format!("longer than {MAX_PROMPT_BYTES} bytes"),
                ));
            }
        }
        if self.steps.len() > MAX_ITEMS
            || self.tools.len() > MAX_ITEMS
            || self.provider.len() > 8
            || self.capabilities.len() > MAX_ITEMS
        {
            return Err(invalid(
                "steps/tools/provider/capabilities",
                "too many entries",
            ));
        }
        if self.mode == Mode::Pipeline && self.steps.is_empty() {
            return Err(invalid("steps", "a pipeline agent needs at least one step"));
        }
        for step in &self.steps {
            if !valid_name(step.name()) {
                return Err(invalid(
                    "steps",
                    format!("step name {:?} is not a valid name", step.name()),
                ));
            }
            if let Step::Tool {
                tool, arguments, ..
            } = step
            {
                if !valid_name(tool) {
                    return Err(invalid(
                        "steps",
                        format!("tool name {tool:?} is not a valid name"),
                    ));
                }
                if !(arguments.is_object() || arguments.is_null()) {
                    return Err(invalid(
                        "steps",
                        format!("step {}: arguments must be an object", step.name()),
                    ));
                }
            }
        }
        for name in self
            .tools
            .iter()
            .chain(&self.capabilities)
            .chain(&self.provider)
        {
            if !valid_name(name) {
                return Err(invalid(
                    "tools/capabilities/provider",
                    format!("{name:?} is not a valid name"),
                ));
            }
        }
        if !(1..=1000).contains(&self.max_turns) {
            return Err(invalid("max_turns", "between 1 and 1000"));
        }
        if !(1..=16).contains(&self.concurrency) {
            return Err(invalid("concurrency", "between 1 and 16"));
        }
        if self.max_children > 1000 || self.max_depth_below > 32 {
            return Err(invalid(
                "max_children/max_depth_below",
                "at most 1000 children and 32 levels",
            ));
        }
        if !(256..=1_000_000).contains(&self.per_turn_input_max) {
            return Err(invalid(
                "per_turn_input_max",
                "between 256 and 1,000,000 bytes",
            ));
        }
        if self.repeat_call_limit == 0 {
            return Err(invalid("repeat_call_limit", "at least 1"));
        }
        if let Some(parent) = &self.parent_id {
            if !valid_name(parent) || parent == &self.id {
                return Err(invalid(
                    "parent_id",
                    format!("{parent:?} is not a valid parent"),
                ));
            }
        }
        self.interval()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules() {
        assert_eq!(parse_schedule("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_schedule("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_schedule("1h"), Ok(Duration::from_secs(3600)));
        for bad in ["", "s", "0s", "5", "5d", "-1m", "1.5h", "999h", "ab m"] {
            assert!(parse_schedule(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn toml_definitions_are_checked() {
        let ok = r#"
id = "summarizer"
mode = "pipeline"
schedule = "5m"
capabilities = ["summarize"]
[[steps]]
type = "tool"
name = "read"
tool = "read_file"
arguments = { path = "notes.txt" }
[[steps]]
type = "cognitive"
name = "sum"
prompt = "Summarize: {input}"
"#;
        let def = AgentDefinition::from_toml(ok).unwrap();
        assert_eq!(def.steps.len(), 2);
        assert_eq!(def.interval().unwrap(), Some(Duration::from_secs(300)));
        for bad in [
            "id = \"a b\"",
            "id = \"a\"\nunknown = 1",
            "id = \"a\"\nmode = \"pipeline\"",
            "id = \"a\"\nschedule = \"forever\"",
            "id = \"a\"\nmax_turns = 0",
            "id = \"a\"\nparent_id = \"a\"",
            "id = \"a\"\ntools = [\"x y\"]",
        ] {
            assert!(AgentDefinition::from_toml(bad).is_err(), "{bad}");
        }
    }
}
