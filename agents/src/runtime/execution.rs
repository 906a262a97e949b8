//! One run of an agent (an "execution"): read the inbox, then either walk the pipeline's steps
//! or let the model call tools turn by turn until it answers; every step is an event, every
//! token and tool call is charged to the ledger before the next one, and the run is recorded as
//! a signed trace. The inbox messages the run read are acknowledged only once it ends, so a
//! crash mid-run hands them to the next run instead of losing them.

use std::collections::BTreeMap;
use std::sync::Arc;

use autonet_llm::{ChatRequest, Message, Piece};
use serde::Serialize;
use serde_json::json;

use super::reply::{self, Reply};
use super::{Shared, Trigger};
use crate::definition::{AgentDefinition, Mode, Step};
use crate::events::EventType;
use crate::message::InboxMessage;
use crate::trace::{self, Trace, TraceOutcome};

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// With an answer.
    Completed,
    /// With an error (provider, tool, limit).
    Failed,
    /// Stopped by a budget (the agent pauses).
    OverBudget,
}

/// What a run produced.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The run's id.
    pub execution: String,
    /// How it ended.
    pub status: RunStatus,
    /// The answer, or the error.
    pub output: String,
    /// Tokens spent.
    pub tokens: u64,
    /// Tool calls made.
    pub tool_calls: u64,
    /// The recorded trace's id, if one was recorded.
    pub trace: Option<String>,
    /// The inbox messages the run read (to reply to delegators).
    #[serde(skip)]
    pub read: Vec<InboxMessage>,
}

/// Why a run stopped early (turned into the outcome).
enum Stop {
    Failed(String),
    OverBudget(String),
}

struct Run<'a> {
    shared: &'a Shared,
    def: &'a AgentDefinition,
    execution: String,
    turns: Vec<String>,
    tokens: u64,
    tool_calls: u64,
    calls_seen: BTreeMap<String, u32>,
    /// The delegation depth of the work this run does (from the messages it read).
    depth: u32,
    /// The request from another peer this run works on: its budget bounds the run, and
    /// further delegation goes onward from it.
    incoming: Option<crate::delegation::DelegationRequest>,
}

/// The most characters of the previous step's output that fill a cognitive step's `{input}`.
pub const MAX_INPUT_CHARS: usize = 1500;

/// The longest preview of an output or error in an event.
const PREVIEW: usize = 120;

fn preview(text: &str) -> String {
    text.chars().take(PREVIEW).collect()
}

impl Run<'_> {
    fn event(&self, t: EventType, mut data: serde_json::Value) {
        if let Some(map) = data.as_object_mut() {
            map.insert("execution_id".into(), json!(self.execution));
        }
        self.shared.bus.publish(t, &self.def.id, data);
    }

    fn refuse(&self, action: &str, detail: &str) -> Result<(), Stop> {
        if let Some(guard) = &self.shared.guard
            && let Err(reason) = guard.check(&self.def.id, action, detail)
        {
            self.event(
                EventType::ActionRefused,
                json!({"action": action, "rule": reason.rule, "reason": reason.reason}),
            );
            return Err(Stop::Failed(format!(
                "refused by rule {}: {}",
                reason.rule, reason.reason
            )));
        }
        Ok(())
    }

    /// Asks the model, streaming its pieces as `step.output` events.
    async fn ask(&mut self, step: &str, messages: Vec<Message>) -> Result<String, Stop> {
        let prompt_bytes: usize = messages.iter().map(|m| m.content.len()).sum();
        if prompt_bytes > self.def.per_turn_input_max {
            return Err(Stop::Failed(format!(
                "the prompt is {prompt_bytes} bytes; per_turn_input_max is {}",
                self.def.per_turn_input_max
            )));
        }
        let left = self
            .shared
            .ledger
            .lock()
            .map(|l| l.tokens_left(&self.def.id))
            .unwrap_or(0);
        if let Some(req) = &self.incoming
            && self.tokens >= req.budget_tokens
        {
            return Err(Stop::Failed(format!(
                "the {} tokens the delegator {} gave are spent",
                req.budget_tokens, req.delegator
            )));
        }
        let left = match &self.incoming {
            Some(req) => left.min(req.budget_tokens - self.tokens),
            None => left,
        };
        if left == 0 {
            let e = self
                .shared
                .ledger
                .lock()
                .ok()
                .and_then(|l| l.check(&self.def.id, 1, 0).err())
                .map(|e| e.to_string())
                .unwrap_or_else(|| format!("budget of {} exhausted", self.def.id));
            return Err(Stop::OverBudget(e));
        }
        self.refuse(
            "spend",
            &format!(
                "{} model tokens at most",
                left.min(u64::from(self.shared.config.max_tokens_per_turn))
            ),
        )?;
        let max_tokens = self
            .shared
            .config
            .max_tokens_per_turn
            .min(left.min(u64::from(u32::MAX)) as u32);
        let mut request = ChatRequest::new(messages, max_tokens.max(1));
        request.temperature = 0.0;
        let mut provider = self
            .shared
            .providers
            .for_agent(self.def)
            .map_err(Stop::Failed)?;
        if let Some(preamble) = &self.shared.preamble {
            provider = Arc::new(autonet_llm::Preambled::new(
                provider,
                preamble(&self.def.id),
            ));
        }
        let idle = self.shared.config.idle_timeout;
        let hung = || Stop::Failed(format!("provider: no answer within {idle:?}"));
        let mut stream = tokio::time::timeout(idle, provider.chat(request))
            .await
            .map_err(|_| hung())?
            .map_err(|e| Stop::Failed(format!("provider: {e}")))?;
        let mut text = String::new();
        let mut finish = None;
        while let Some(piece) = tokio::time::timeout(idle, stream.next())
            .await
            .map_err(|_| hung())?
        {
            match piece.map_err(|e| Stop::Failed(format!("provider: {e}")))? {
                Piece::Text(t) => {
                    self.event(EventType::StepOutput, json!({"step_name": step, "text": t}));
                    text.push_str(&t);
                }
                Piece::Done(f) => {
                    finish = Some(f);
                    break;
                }
            }
        }
        let finish = finish
            .ok_or_else(|| Stop::Failed("provider: the answer ended without its end".into()))?;
        let spent = u64::from(finish.prompt_tokens) + u64::from(finish.completion_tokens);
        self.tokens += spent;
        if let Ok(mut ledger) = self.shared.ledger.lock() {
            ledger.charge(&self.def.id, spent, 0);
        }
        self.turns.push(trace::message_turn("assistant", &text));
        Ok(text)
    }

    async fn call_tool(
        &mut self,
        step: &str,
        tool: &str,
        arguments: serde_json::Value,
    ) -> Result<(String, bool), Stop> {
        let own = matches!(tool, "delegate" | "post_message");
        if !self.def.tools.iter().any(|t| t == tool) || !(own || self.shared.tools.has(tool)) {
            return Ok((
                format!("error: tool {tool:?} is not available to this agent"),
                true,
            ));
        }
        let key = format!("{tool} {arguments}");
        let seen = self.calls_seen.entry(key).or_insert(0);
        *seen += 1;
        if *seen > self.def.repeat_call_limit {
            return Err(Stop::Failed(format!(
                "tool {tool} called with the same arguments more than {} times",
                self.def.repeat_call_limit
            )));
        }
        if let Err(e) = self
            .shared
            .ledger
            .lock()
            .map_err(|_| String::new())
            .and_then(|l| l.check(&self.def.id, 0, 1).map_err(|e| e.to_string()))
        {
            return Err(Stop::OverBudget(e));
        }
        self.refuse("tool", &format!("call tool {tool} with {arguments}"))?;
        self.turns.push(trace::tool_call_turn(tool, &arguments));
        self.tool_calls += 1;
        if let Ok(mut ledger) = self.shared.ledger.lock() {
            ledger.charge(&self.def.id, 0, 1);
        }
        self.event(
            EventType::StepStarted,
            json!({"step_name": step, "step_type": "tool", "tool": tool}),
        );
        let (text, is_error) = match tool {
            // Done by the runtime itself, on this agent's behalf (the node's tool of the same
            // name does not know who calls it).
            "delegate" | "post_message" => match self.own_tool(tool, &arguments).await {
                Ok(text) => (text, false),
                Err(e) => (format!("error: {e}"), true),
            },
            _ => match self.shared.tools.call(tool, arguments).await {
                Ok(out) => (out.text, out.is_error),
                Err(e) => (format!("error: {e}"), true),
            },
        };
        self.turns
            .push(trace::tool_result_turn(tool, &text, is_error));
        let t = if is_error {
            EventType::StepFailed
        } else {
            EventType::StepCompleted
        };
        self.event(t, json!({"step_name": step, "step_type": "tool", "tool": tool, "output_preview": preview(&text)}));
        Ok((text, is_error))
    }

    /// `delegate {target, task}` and `post_message {to, text, priority?}` as this agent.
    async fn own_tool(&self, tool: &str, arguments: &serde_json::Value) -> Result<String, String> {
        let field = |k: &str| {
            arguments
                .get(k)
                .and_then(|v| v.as_str())
                .ok_or_else(|| format!("missing string argument {k:?}"))
        };
        match tool {
            "delegate" => {
                let depth = self.depth;
                let id = super::delegate::delegate(
                    self.shared,
                    Some(&self.def.id),
                    field("target")?,
                    field("task")?,
                    depth,
                    self.incoming.as_ref(),
                )
                .await?;
                Ok(json!({"task_id": id, "state": "submitted"}).to_string())
            }
            _ => {
                let priority = match arguments.get("priority") {
                    None => crate::message::Priority::Normal,
                    Some(p) => serde_json::from_value(p.clone())
                        .map_err(|_| "priority is one of low, normal, high, urgent".to_string())?,
                };
                let to = field("to")?;
                super::deliver::send(
                    self.shared,
                    &self.def.id,
                    to,
                    crate::message::MessageKind::Trigger,
                    priority,
                    json!({"text": field("text")?}),
                )?;
                Ok(json!({"to": to, "posted": true}).to_string())
            }
        }
    }

    fn system(&self) -> String {
        let mut system = self.def.system_prompt.clone();
        let tools: Vec<_> = self
            .shared
            .tools
            .specs()
            .into_iter()
            .filter(|s| self.def.tools.contains(&s.name))
            .collect();
        if !tools.is_empty() {
            if !system.is_empty() {
                system.push_str("\n\n");
            }
            system.push_str(&reply::tool_instructions(&tools));
        }
        system
    }

    async fn cognitive(&mut self, task: String) -> Result<String, Stop> {
        let mut messages = vec![Message::system(self.system()), Message::user(task)];
        for turn in 0..self.def.max_turns {
            let step = format!("turn-{}", turn + 1);
            self.event(
                EventType::StepStarted,
                json!({"step_name": step, "step_type": "cognitive"}),
            );
            let text = self.ask(&step, messages.clone()).await?;
            self.event(EventType::StepCompleted, json!({"step_name": step, "step_type": "cognitive", "output_preview": preview(&text)}));
            match reply::parse(&text) {
                Reply::Answer(answer) => return Ok(answer),
                Reply::Call { tool, arguments } => {
                    let (result, _) = self.call_tool(&step, &tool, arguments).await?;
                    messages.push(Message::assistant(text));
                    messages.push(Message::user(format!("Result of {tool}:\n{result}")));
                }
                Reply::BadCall(why) => {
                    messages.push(Message::assistant(text));
                    messages.push(Message::user(format!("error: {why}")));
                }
            }
        }
        Err(Stop::Failed(format!(
            "no answer within max_turns ({})",
            self.def.max_turns
        )))
    }

    async fn pipeline(&mut self, task: String) -> Result<String, Stop> {
        let mut input = task;
        for step in &self.def.steps {
            let name = step.name().to_string();
            input = match step {
                Step::Tool {
                    tool, arguments, ..
                } => {
                    let arguments = fill(arguments, &input);
                    let (text, is_error) = self.call_tool(&name, tool, arguments).await?;
                    if is_error {
                        return Err(Stop::Failed(format!("step {name}: {text}")));
                    }
                    text
                }
                Step::Cognitive { prompt, .. } => {
                    self.event(
                        EventType::StepStarted,
                        json!({"step_name": name, "step_type": "cognitive"}),
                    );
                    // The previous output, cut: a tool's whole answer (a JSON document, say)
                    // would make a small model's prompt long and slow to read.
                    let cut: String = input.chars().take(MAX_INPUT_CHARS).collect();
                    let prompt = prompt.replace("{input}", &cut);
                    self.turns.push(trace::message_turn("user", &prompt));
                    let messages = vec![Message::system(self.system()), Message::user(prompt)];
                    let text = self.ask(&name, messages).await?;
                    self.event(EventType::StepCompleted, json!({"step_name": name, "step_type": "cognitive", "output_preview": preview(&text)}));
                    text
                }
                Step::Message { to, .. } => {
                    self.event(
                        EventType::StepStarted,
                        json!({"step_name": name, "step_type": "message", "to": to}),
                    );
                    self.refuse("message", &format!("post a message to {to}"))?;
                    super::deliver::send(
                        self.shared,
                        &self.def.id,
                        to,
                        crate::message::MessageKind::Trigger,
                        crate::message::Priority::Normal,
                        json!({"text": input}),
                    )
                    .map_err(Stop::Failed)?;
                    self.event(
                        EventType::StepCompleted,
                        json!({"step_name": name, "step_type": "message", "to": to}),
                    );
                    input
                }
            };
        }
        Ok(input)
    }
}

/// Replaces `{input}` in every string of `arguments`.
fn fill(arguments: &serde_json::Value, input: &str) -> serde_json::Value {
    match arguments {
        serde_json::Value::Null => json!({}),
        serde_json::Value::String(s) => json!(s.replace("{input}", input)),
        serde_json::Value::Array(a) => a.iter().map(|v| fill(v, input)).collect(),
        serde_json::Value::Object(m) => {
            m.iter().map(|(k, v)| (k.clone(), fill(v, input))).collect()
        }
        other => other.clone(),
    }
}

/// The task of a run: the trigger's text or the task prompt, then what the inbox holds.
fn task_text(def: &AgentDefinition, trigger: &Trigger, read: &[InboxMessage]) -> String {
    let mut task = match trigger {
        Trigger::Manual(Some(text)) => text.clone(),
        _ => def.task_prompt.clone(),
    };
    for m in read {
        let body = m
            .data
            .get("text")
            .and_then(|t| t.as_str())
            .map(str::to_string)
            .or_else(|| {
                m.data
                    .get("input")
                    .and_then(|t| t.as_str())
                    .map(str::to_string)
            })
            .or_else(|| {
                // A delegation request from another peer: its input's text.
                m.data
                    .pointer("/delegation/input/text")
                    .and_then(|t| t.as_str())
                    .map(str::to_string)
            })
            .unwrap_or_else(|| m.data.to_string());
        if !task.is_empty() {
            task.push_str("\n\n");
        }
        let kind = serde_json::to_value(m.kind).unwrap_or_default();
        let kind = kind.as_str().unwrap_or("info");
        task.push_str(&format!("Message from {} ({kind}): {body}", m.source));
    }
    task
}

/// Runs `def` once; never panics on bad input (a panic here comes from a tool or provider and
/// is the supervisor's to handle).
pub(crate) async fn execute(
    shared: Arc<Shared>,
    def: AgentDefinition,
    execution: String,
    trigger: Trigger,
) -> Outcome {
    let started_ms = crate::events::now_ms();
    let pending = shared.inbox.pending(&def.id).unwrap_or_default();
    let (seqs, read): (Vec<u64>, Vec<InboxMessage>) = pending.into_iter().unzip();
    if !read.is_empty() {
        shared.bus.publish(
            EventType::MessageDrained,
            &def.id,
            json!({"execution_id": execution, "count": read.len()}),
        );
    }
    let task = task_text(&def, &trigger, &read);
    let incoming = super::remote::incoming(&read);
    let mut run = Run {
        shared: &shared,
        def: &def,
        execution: execution.clone(),
        // A run with no task text (a pipeline started by hand) records none.
        turns: if task.is_empty() {
            Vec::new()
        } else {
            vec![trace::message_turn("user", &task)]
        },
        tokens: 0,
        tool_calls: 0,
        calls_seen: BTreeMap::new(),
        depth: read
            .iter()
            .filter_map(|m| m.data.get("depth").and_then(|d| d.as_u64()))
            .max()
            .unwrap_or(0)
            .max(
                incoming
                    .as_ref()
                    .map_or(0, |r| u64::from(super::remote::depth_of(r))),
            ) as u32,
        incoming,
    };
    let result = match def.mode {
        Mode::Cognitive => run.cognitive(task).await,
        Mode::Pipeline => run.pipeline(task).await,
    };
    let (status, output) = match result {
        Ok(answer) => (RunStatus::Completed, answer),
        Err(Stop::Failed(e)) => (RunStatus::Failed, e),
        Err(Stop::OverBudget(e)) => (RunStatus::OverBudget, e),
    };
    if shared.config.flag_traces {
        flag_answers(&shared, &def, &mut run.turns).await;
    }
    let trace_id = record(&shared, &run, started_ms, status);
    let (tokens, tool_calls) = (run.tokens, run.tool_calls);
    let outcome = Outcome {
        execution,
        status,
        output,
        tokens,
        tool_calls,
        trace: trace_id,
        read,
    };
    super::history::keep(&shared, &def.id, &trigger, started_ms, &outcome);
    // Delegators are answered before the messages are acknowledged: a crash between the two
    // answers twice (the same result message id, kept once), never not at all.
    if status != RunStatus::OverBudget {
        super::handle::answer_delegators(&shared, &def.id, &outcome);
    }
    // Acknowledged only now: a crash or kill before this line leaves them for the next run. A
    // run stopped by its budget leaves them too: they wait until the budget is raised. A failed
    // run has handled them (its error is in its record and went back to any delegator).
    if status != RunStatus::OverBudget
        && let Err(e) = shared.inbox.ack(&def.id, &seqs)
    {
        tracing::warn!(agent = %def.id, error = %e, "cannot acknowledge inbox messages");
    }
    outcome
}

/// The most answers of one run that are flagged (each costs a short model call).
const MAX_FLAGGED: usize = 4;

/// Flags the run's answers (assistant turns) on the charter's axes with the agent's model.
async fn flag_answers(shared: &Shared, def: &AgentDefinition, turns: &mut [String]) {
    let Ok(provider) = shared.providers.for_agent(def) else {
        return;
    };
    let mut flagged = 0;
    for turn in turns.iter_mut() {
        if flagged == MAX_FLAGGED {
            break;
        }
        let Ok(value) = serde_json::from_str::<serde_json::Value>(turn) else {
            continue;
        };
        if value["type"] != "message" || value["role"] != "assistant" {
            continue;
        }
        let answer = value["content"].as_str().unwrap_or_default();
        flagged += 1;
        let idle = shared.config.idle_timeout;
        let flags = tokio::time::timeout(idle, super::flags::flag(provider.as_ref(), answer))
            .await
            .ok()
            .flatten();
        match flags.and_then(|f| super::flags::annotate(turn, f)) {
            Some(annotated) => *turn = annotated,
            None => tracing::debug!(agent = %def.id, "an answer was not flagged"),
        }
    }
}

/// Signs and keeps the run's trace; hands it to the trace sink (gossip, the proposer's pool).
fn record(shared: &Shared, run: &Run<'_>, started_ms: u64, status: RunStatus) -> Option<String> {
    if run.turns.len() < 2 {
        return None;
    }
    let mut turns = run.turns.clone();
    turns.truncate(crate::trace::MAX_TURNS);
    let trace = Trace {
        version: crate::trace::TRACE_VERSION,
        agent: run.def.id.clone(),
        execution: run.execution.clone(),
        peer: String::new(),
        started_ms,
        turns,
        outcome: if status == RunStatus::Completed {
            TraceOutcome::Completed
        } else {
            TraceOutcome::Failed
        },
        tokens: run.tokens,
    };
    match trace.sign(&shared.key) {
        Ok(signed) => {
            let id = signed.id.clone();
            shared.traces.keep(&signed);
            shared.bus.publish(EventType::TraceRecorded, &run.def.id, json!({"execution_id": run.execution, "trace": id, "turns": signed.trace.turns.len()}));
            Some(id)
        }
        Err(e) => {
            tracing::warn!(agent = %run.def.id, error = %e, "trace not recorded");
            None
        }
    }
}
