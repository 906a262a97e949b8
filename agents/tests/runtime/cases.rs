//! The runtime's ordinary behaviour.

use std::sync::Arc;

use autonet_agents::definition::{Budgets, Step};
use autonet_agents::runtime::RuntimeError;
use autonet_agents::{
    AgentDefinition, AgentStatus, EventType, InboxMessage, MessageKind, Mode, Priority,
};
use serde_json::json;

use super::{Scripted, is, runtime, wait_for};

fn cognitive(id: &str, tools: &[&str]) -> AgentDefinition {
    let mut def = AgentDefinition::new(id, "You are a careful assistant.", "Add 2 and 3.");
    def.tools = tools.iter().map(|s| s.to_string()).collect();
    def
}

#[tokio::test]
async fn a_cognitive_run_calls_a_tool_then_answers_and_records_a_trace() {
    let dir = tempfile::tempdir().unwrap();
    let model = Scripted::new(&["CALL add {\"a\": 2, \"b\": 3}", "The sum is 5."]);
    let rt = runtime(dir.path(), model.clone()).await;
    let mut events = rt.events().subscribe();
    rt.register(cognitive("adder", &["add"])).await.unwrap();
    rt.run("adder", None).unwrap();
    let (done, before) = wait_for(&mut events, is(EventType::ExecutionCompleted, "adder")).await;
    assert_eq!(done.data["output_preview"], "The sum is 5.");
    assert_eq!(done.data["tool_calls"], 1);
    // Steps in order: model turn, tool, model turn.
    let steps: Vec<_> = before
        .iter()
        .filter(|e| e.event_type == EventType::StepCompleted)
        .map(|e| e.data["step_type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(steps, ["cognitive", "tool", "cognitive"]);
    // The tool's result went back to the model.
    {
        let seen = model.seen.lock().unwrap();
        assert!(
            seen[1]
                .messages
                .last()
                .unwrap()
                .content
                .contains("Result of add:\n5")
        );
        assert!(seen[0].messages[0].content.contains("CALL <tool>"));
    }
    let info = rt.info("adder").unwrap();
    assert_eq!(
        (
            info.status,
            info.runs,
            info.usage.tokens,
            info.usage.tool_calls
        ),
        (AgentStatus::Completed, 1, 30, 1)
    );
    let traces = rt.all_traces();
    assert_eq!(traces.len(), 1);
    traces[0].verify().unwrap();
    assert!(
        traces[0]
            .trace
            .turns
            .iter()
            .any(|t| t.contains("\"tool_call\"") && t.contains("add"))
    );
}

#[tokio::test]
async fn a_tool_the_agent_may_not_use_is_refused_and_repeats_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let model = Scripted::new(&["CALL echo {\"text\": \"hi\"}"]);
    let rt = runtime(dir.path(), model.clone()).await;
    let mut events = rt.events().subscribe();
    // `echo` exists but is not in this agent's list: the model is told, the run goes on, and the
    // same call repeated past repeat_call_limit ends it.
    let mut def = cognitive("limited", &["add"]);
    def.repeat_call_limit = 2;
    def.max_turns = 3;
    rt.register(def).await.unwrap();
    rt.run("limited", None).unwrap();
    let (failed, _) = wait_for(&mut events, is(EventType::ExecutionFailed, "limited")).await;
    assert!(
        failed.data["error"].as_str().unwrap().contains("max_turns"),
        "{failed:?}"
    );
    let told = model.seen.lock().unwrap()[1]
        .messages
        .last()
        .unwrap()
        .content
        .clone();
    assert!(told.contains("not available to this agent"), "{told}");

    let model = Scripted::new(&["CALL add {\"a\": 1, \"b\": 1}"]);
    let dir2 = tempfile::tempdir().unwrap();
    let rt = runtime(dir2.path(), model).await;
    let mut events = rt.events().subscribe();
    let mut def = cognitive("looper", &["add"]);
    def.repeat_call_limit = 2;
    rt.register(def).await.unwrap();
    rt.run("looper", None).unwrap();
    let (failed, _) = wait_for(&mut events, is(EventType::ExecutionFailed, "looper")).await;
    assert!(
        failed.data["error"]
            .as_str()
            .unwrap()
            .contains("more than 2 times"),
        "{failed:?}"
    );
}

#[tokio::test]
async fn a_pipeline_runs_its_steps_and_messages_another_agent_which_wakes() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path(), Scripted::new(&["Noted: 7."])).await;
    let mut events = rt.events().subscribe();
    let mut reader = AgentDefinition::new("reader", "", "");
    reader.mode = Mode::Pipeline;
    reader.tools = vec!["add".into()];
    reader.steps = vec![
        Step::Tool {
            name: "sum".into(),
            tool: "add".into(),
            arguments: json!({"a": 3, "b": 4}),
        },
        Step::Cognitive {
            name: "note".into(),
            prompt: "Write down {input}.".into(),
        },
        Step::Message {
            name: "tell".into(),
            to: "keeper".into(),
        },
    ];
    rt.register(reader).await.unwrap();
    rt.register(AgentDefinition::new(
        "keeper",
        "You keep notes.",
        "Acknowledge.",
    ))
    .await
    .unwrap();
    rt.activate("keeper").unwrap();
    rt.run("reader", None).unwrap();
    // The message (a trigger) wakes the active keeper, whose run reads it; the two runs may
    // end in either order.
    let (_, mut seen) = wait_for(&mut events, is(EventType::ExecutionCompleted, "keeper")).await;
    if !seen
        .iter()
        .any(|e| e.event_type == EventType::ExecutionCompleted && e.source == "reader")
    {
        seen.push(
            wait_for(&mut events, is(EventType::ExecutionCompleted, "reader"))
                .await
                .0,
        );
    }
    let done = seen
        .iter()
        .find(|e| e.event_type == EventType::ExecutionCompleted && e.source == "reader")
        .unwrap();
    assert_eq!(done.data["output_preview"], "Noted: 7.");
    let drained = seen
        .iter()
        .find(|e| e.event_type == EventType::MessageDrained && e.source == "keeper")
        .unwrap();
    assert_eq!(drained.data["count"], 1);
    assert_eq!(
        rt.inbox().count("keeper").unwrap(),
        0,
        "acknowledged after the run"
    );
    assert_eq!(rt.info("keeper").unwrap().status, AgentStatus::Active);
}

#[tokio::test]
async fn budgets_roll_up_to_the_parent_and_pause_the_spender() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path(), Scripted::new(&["ok"])).await;
    let mut events = rt.events().subscribe();
    let mut parent = AgentDefinition::new("parent", "", "Plan.");
    parent.budgets = Budgets {
        tokens: 40,
        tool_calls: 10,
    };
    rt.register(parent).await.unwrap();
    let mut child = AgentDefinition::new("child", "", "Work.");
    child.parent_id = Some("parent".into());
    rt.register(child).await.unwrap();
    // Each run costs 15 tokens: the child's third run would pass the parent's 40.
    for n in 1..=2 {
        rt.run("child", None).unwrap();
        let (e, _) = wait_for(&mut events, |e| {
            e.source == "child" && matches!(e.event_type, EventType::ExecutionCompleted)
        })
        .await;
        assert_eq!(e.data["tokens"], 15, "run {n}");
    }
    assert_eq!(rt.info("parent").unwrap().usage.tokens, 30);
    rt.run("child", None).unwrap();
    wait_for(&mut events, is(EventType::ExecutionCompleted, "child")).await; // 45 > 40 charged after the fact
    rt.run("child", None).unwrap();
    let (failed, _) = wait_for(&mut events, is(EventType::ExecutionFailed, "child")).await;
    assert!(
        failed.data["error"]
            .as_str()
            .unwrap()
            .contains("budget of parent exhausted"),
        "{failed:?}"
    );
    assert_eq!(rt.info("child").unwrap().status, AgentStatus::BudgetPaused);
    assert!(matches!(
        rt.run("child", None),
        Err(RuntimeError::Refused(_))
    ));
    // The completion notices reached the parent's inbox (notify_parent).
    assert_eq!(rt.inbox().count("parent").unwrap(), 4);
}

#[tokio::test]
async fn children_and_depth_limits_hold() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path(), Scripted::new(&["ok"])).await;
    let mut root = AgentDefinition::new("root", "", "");
    root.max_children = 1;
    root.max_depth_below = 2;
    rt.register(root).await.unwrap();
    let child = |id: &str, parent: &str| {
        let mut d = AgentDefinition::new(id, "", "");
        d.parent_id = Some(parent.into());
        d
    };
    rt.register(child("c1", "root")).await.unwrap();
    let err = rt.register(child("c2", "root")).await.unwrap_err();
    assert!(err.to_string().contains("max_children is 1"), "{err}");
    rt.register(child("g1", "c1")).await.unwrap();
    let err = rt.register(child("gg1", "g1")).await.unwrap_err();
    assert!(err.to_string().contains("max_depth_below is 2"), "{err}");
    assert!(matches!(
        rt.register(child("x", "nobody")).await,
        Err(RuntimeError::UnknownAgent(_))
    ));
    assert!(matches!(
        rt.register(AgentDefinition::new("root", "", "")).await,
        Err(RuntimeError::Exists(_))
    ));
    // Unregistering a child frees its place.
    rt.unregister("g1").unwrap();
    rt.unregister("c1").unwrap();
    rt.register(child("c2", "root")).await.unwrap();
}

#[tokio::test]
async fn an_inbox_trigger_wakes_an_active_agent_and_a_normal_note_waits() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path(), Scripted::new(&["done"])).await;
    let mut events = rt.events().subscribe();
    rt.register(AgentDefinition::new("worker", "", "Work."))
        .await
        .unwrap();
    rt.activate("worker").unwrap();
    let msg = |id: &str, kind, priority| InboxMessage {
        id: id.into(),
        source: "user".into(),
        target: "worker".into(),
        kind,
        priority,
        data: json!({"text": id}),
        timestamp_ms: 1,
    };
    rt.post(&msg("note", MessageKind::Info, Priority::Normal))
        .unwrap();
    rt.post(&msg("go", MessageKind::Trigger, Priority::Normal))
        .unwrap();
    let (drained, _) = wait_for(&mut events, is(EventType::MessageDrained, "worker")).await;
    assert_eq!(
        drained.data["count"], 2,
        "the run reads the note with the trigger"
    );
    wait_for(&mut events, is(EventType::ExecutionCompleted, "worker")).await;
    // Unknown agents and hostile messages are refused.
    let mut bad = msg("x", MessageKind::Trigger, Priority::Normal);
    bad.target = "nobody".into();
    assert!(matches!(rt.post(&bad), Err(RuntimeError::UnknownAgent(_))));
    let mut bad = msg("x y", MessageKind::Trigger, Priority::Normal);
    bad.target = "worker".into();
    assert!(matches!(rt.post(&bad), Err(RuntimeError::Refused(_))));
}

#[tokio::test]
async fn a_schedule_runs_an_active_agent_repeatedly() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path(), Scripted::new(&["tick"])).await;
    let mut events = rt.events().subscribe();
    let mut def = AgentDefinition::new("ticker", "", "Check.");
    def.schedule = Some("1s".into());
    rt.register(def).await.unwrap();
    rt.activate("ticker").unwrap();
    for _ in 0..2 {
        wait_for(&mut events, is(EventType::ScheduleTriggered, "ticker")).await;
        wait_for(&mut events, is(EventType::ExecutionCompleted, "ticker")).await;
    }
    rt.deactivate("ticker").unwrap();
    assert_eq!(rt.info("ticker").unwrap().status, AgentStatus::Stopped);
}

#[tokio::test]
async fn the_embedded_model_runs_a_pipeline_agent() {
    let Ok(model) = autonet_llm::embedded::Embedded::load_default(autonet_llm::Limits::default())
    else {
        eprintln!("SKIP: the embedded model is not installed");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // The real model on a busy machine: the runtime's default patience, not the tests' 2 s.
    let rt = super::runtime_with(
        dir.path(),
        Arc::new(model),
        autonet_agents::runtime::RuntimeConfig::default(),
    )
    .await;
    let mut events = rt.events().subscribe();
    let mut def = AgentDefinition::new("scribe", "You answer in one short sentence.", "");
    def.mode = Mode::Pipeline;
    def.tools = vec!["echo".into()];
    def.steps = vec![
        Step::Tool {
            name: "read".into(),
            tool: "echo".into(),
            arguments: json!({"text": "The capital of France is Paris."}),
        },
        Step::Cognitive {
            name: "answer".into(),
            prompt: "{input} What is the capital of France?".into(),
        },
    ];
    rt.register(def).await.unwrap();
    rt.run("scribe", None).unwrap();
    let (done, before) = wait_for(&mut events, |e| {
        e.source == "scribe"
            && matches!(
                e.event_type,
                EventType::ExecutionCompleted | EventType::ExecutionFailed
            )
    })
    .await;
    assert_eq!(done.event_type, EventType::ExecutionCompleted, "{done:?}");
    assert!(
        done.data["output_preview"]
            .as_str()
            .unwrap()
            .contains("Paris"),
        "{done:?}"
    );
    assert!(
        before
            .iter()
            .filter(|e| e.event_type == EventType::StepOutput)
            .count()
            > 1,
        "streamed in pieces"
    );
    assert!(done.data["tokens"].as_u64().unwrap() > 10);
}

/// With `flag_traces`, each answer is flagged on the charter's six axes by the agent's model
/// (the seed's binary-flag prompt) and the flags become the turn's impact fields in the signed
/// trace; a reply that is not six flags leaves the answer to the keyword embedder.
#[tokio::test]
async fn answers_are_flagged_on_the_charter_axes_when_asked() {
    use autonet_agents::runtime::RuntimeConfig;
    for (flags_reply, expected) in [
        ("1 1 0 0 1 -1", Some([1.0, 1.0, 0.0, 0.0, 1.0, -1.0])),
        ("It looks fine to me.", None),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let model = Scripted::new(&["I made a backup before deleting anything.", flags_reply]);
        let config = RuntimeConfig {
            flag_traces: true,
            idle_timeout: std::time::Duration::from_secs(2),
            ..RuntimeConfig::default()
        };
        let rt = super::runtime_with(dir.path(), model.clone(), config).await;
        let mut events = rt.events().subscribe();
        rt.register(cognitive("careful", &[])).await.unwrap();
        rt.run("careful", None).unwrap();
        wait_for(&mut events, is(EventType::TraceRecorded, "careful")).await;
        let trace = rt.all_traces().pop().unwrap();
        trace.verify().unwrap();
        let answer: serde_json::Value = trace
            .trace
            .turns
            .iter()
            .map(|t| serde_json::from_str::<serde_json::Value>(t).unwrap())
            .find(|t| t["role"] == "assistant")
            .unwrap();
        let fields = [
            "life_impact",
            "self_pres_impact",
            "intelligence_impact",
            "evolution_impact",
            "correctness_impact",
            "simplicity_impact",
        ];
        match expected {
            Some(values) => {
                for (field, value) in fields.iter().zip(values) {
                    assert_eq!(answer[*field], value, "{field} in {answer}");
                }
            }
            None => assert!(fields.iter().all(|f| answer.get(*f).is_none()), "{answer}"),
        }
        // The flagging prompt showed the model the answer and the six theses.
        let seen = model.seen.lock().unwrap();
        let asked = &seen.last().unwrap().messages.last().unwrap().content;
        assert!(
            asked.contains("I made a backup") && asked.contains("6. Solutions should be minimal")
        );
        rt.shutdown();
    }
}
