//! Hostile tools and providers: a tool that hangs or panics, a provider that hangs or panics,
//! and messages that must survive all of it.

use std::time::Duration;

use autonet_agents::runtime::RuntimeConfig;
use autonet_agents::{
    AgentDefinition, AgentStatus, EventType, InboxMessage, MessageKind, Priority,
};
use serde_json::json;

use super::{Scripted, is, runtime, runtime_with, wait_for};

#[tokio::test]
async fn a_hanging_tool_times_out_into_the_conversation() {
    let dir = tempfile::tempdir().unwrap();
    let model = Scripted::new(&["CALL sleep {}", "It did not answer."]);
    let rt = runtime(dir.path(), model.clone()).await;
    let mut events = rt.events().subscribe();
    let mut def = AgentDefinition::new("patient", "", "Wait.");
    def.tools = vec!["sleep".into()];
    rt.register(def).await.unwrap();
    rt.run("patient", None).unwrap();
    let (failed_step, _) = wait_for(&mut events, is(EventType::StepFailed, "patient")).await;
    assert!(
        failed_step.data["output_preview"]
            .as_str()
            .unwrap()
            .contains("no answer within"),
        "{failed_step:?}"
    );
    wait_for(&mut events, is(EventType::ExecutionCompleted, "patient")).await;
}

#[tokio::test]
async fn a_hanging_provider_fails_the_run_and_the_message_waits_for_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path(), Scripted::new(&["HANG", "Handled."])).await;
    let mut events = rt.events().subscribe();
    rt.register(AgentDefinition::new("slow", "", "Work."))
        .await
        .unwrap();
    rt.post(&InboxMessage {
        id: "job-1".into(),
        source: "user".into(),
        target: "slow".into(),
        kind: MessageKind::Work,
        priority: Priority::Normal,
        data: json!({"text": "job 1"}),
        timestamp_ms: 1,
    })
    .unwrap();
    rt.run("slow", None).unwrap();
    let (failed, _) = wait_for(&mut events, is(EventType::ExecutionFailed, "slow")).await;
    assert!(
        failed.data["error"]
            .as_str()
            .unwrap()
            .contains("no answer within"),
        "{failed:?}"
    );
    // A failed run has handled what it read: acknowledged, and its record names the message
    // and the error (nothing is lost; the owner sees why).
    assert_eq!(rt.inbox().count("slow").unwrap(), 0);
    let runs = autonet_agents::runtime::history::of(rt.inbox().store(), "slow");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].messages, ["job-1"]);
    assert!(runs[0].output.contains("no answer within"));
}

#[tokio::test]
async fn a_killed_run_leaves_its_messages_in_the_inbox() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime_with(
        dir.path(),
        Scripted::new(&["HANG"]),
        RuntimeConfig {
            idle_timeout: Duration::from_secs(600),
            ..RuntimeConfig::default()
        },
    )
    .await;
    let mut events = rt.events().subscribe();
    rt.register(AgentDefinition::new("stuck", "", "Work."))
        .await
        .unwrap();
    rt.post(&InboxMessage {
        id: "job-2".into(),
        source: "user".into(),
        target: "stuck".into(),
        kind: MessageKind::Work,
        priority: Priority::Normal,
        data: json!({"text": "job 2"}),
        timestamp_ms: 1,
    })
    .unwrap();
    rt.run("stuck", None).unwrap();
    wait_for(&mut events, is(EventType::MessageDrained, "stuck")).await;
    rt.kill("stuck").unwrap();
    wait_for(&mut events, is(EventType::ExecutionKilled, "stuck")).await;
    assert_eq!(rt.info("stuck").unwrap().status, AgentStatus::Stopped);
    assert_eq!(
        rt.inbox().count("stuck").unwrap(),
        1,
        "read, never acknowledged: still there"
    );
}

#[tokio::test]
async fn a_panicking_tool_restarts_the_agent_until_its_budget_then_errors() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path(), Scripted::new(&["CALL boom {}"])).await;
    let mut events = rt.events().subscribe();
    let mut def = AgentDefinition::new("fragile", "", "Go.");
    def.tools = vec!["boom".into()];
    rt.register(def).await.unwrap();
    // Budget 3: three restarts, the fourth failure marks it `error`.
    for n in 1..=3 {
        rt.run("fragile", None).unwrap();
        let (restarted, _) = wait_for(&mut events, is(EventType::AgentRestarted, "fragile")).await;
        assert_eq!(restarted.data["restarts"], n);
        // The new actor is in place before the next run is asked for.
        for _ in 0..100 {
            if rt.run("fragile", None).is_ok() {
                break;
            }
            tokio::task::yield_now().await;
        }
    }
    let (gone, _) = wait_for(&mut events, is(EventType::AgentDeactivated, "fragile")).await;
    assert_eq!(gone.data["status"], "error");
    assert!(
        gone.data["error"].as_str().unwrap().contains("panicked"),
        "{gone:?}"
    );
    assert_eq!(rt.info("fragile").unwrap().status, AgentStatus::Error);
}

#[tokio::test]
async fn a_panicking_provider_does_not_take_the_runtime_down() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path(), Scripted::new(&["PANIC"])).await;
    let mut events = rt.events().subscribe();
    rt.register(AgentDefinition::new("a", "", "Go."))
        .await
        .unwrap();
    rt.register(AgentDefinition::new("b", "", "Go."))
        .await
        .unwrap();
    rt.run("a", None).unwrap();
    wait_for(&mut events, is(EventType::AgentRestarted, "a")).await;
    // The other agent is untouched.
    assert_eq!(rt.info("b").unwrap().status, AgentStatus::Registered);
    assert_eq!(rt.info("b").unwrap().restarts, 0);
}
