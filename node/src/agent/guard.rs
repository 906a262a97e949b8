//! The constitution as the agent runtime's [`ActionGuard`]: every model spend, tool call,
//! message and delegation an agent is about to make passes the shipped constitution's rule and
//! geometric tiers (`autonet_protocol::constitution`) first; a refusal names the rule, and the
//! runtime turns it into an `action.refused` event and a failed run.

use autonet_actors::protocol::constitution::{Action, ActionKind, Enforcer};
use autonet_agents::runtime::{ActionGuard, Refusal};

/// Checks agents' actions against a constitution.
#[derive(Debug, Clone, Copy)]
pub struct ConstitutionGuard {
    enforcer: &'static Enforcer,
}

impl ConstitutionGuard {
    /// The guard of the shipped constitution.
    pub fn shipped() -> anyhow::Result<Self> {
        Ok(ConstitutionGuard {
            enforcer: crate::constitution::enforcer()?,
        })
    }
}

impl ActionGuard for ConstitutionGuard {
    fn check(&self, agent: &str, action: &str, description: &str) -> Result<(), Refusal> {
        let kind = match action {
            "tool" => ActionKind::UseTool,
            "message" => ActionKind::Message,
            "delegate" => ActionKind::Delegate,
            _ => ActionKind::Spend,
        };
        let mut a = Action::new(kind, description);
        if action == "delegate" {
            // "depth N: …" carries the delegation depth (the runtime writes it so).
            a.delegation_depth = description
                .strip_prefix("depth ")
                .and_then(|rest| rest.split(':').next())
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or(0);
        }
        self.enforcer.check(&a).map_err(|r| {
            tracing::warn!(%agent, rule = %r.rule, reason = %r.reason, "agent action refused by the constitution");
            Refusal {
                rule: r.rule,
                reason: r.reason,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use autonet_agents::runtime::{Providers, Runtime, RuntimeConfig, RuntimeDeps};
    use autonet_agents::{
        AgentDefinition, EventType, ToolBox, ToolError, ToolOutput, ToolSource, ToolSpec,
    };
    use autonet_llm::{BoxFuture, ChatRequest, ChatStream, Finish, LlmError, Piece, Provider};

    use super::*;

    /// Answers every request with one destructive tool call and keeps what it was sent.
    #[derive(Debug, Default)]
    struct Recording(Mutex<Vec<ChatRequest>>);

    impl Provider for Recording {
        fn name(&self) -> &str {
            "recording"
        }

        fn chat(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatStream, LlmError>> {
            if let Ok(mut seen) = self.0.lock() {
                seen.push(request);
            }
            Box::pin(async move {
                let (tx, rx) = tokio::sync::mpsc::channel(4);
                let reply = r#"CALL shell {"command": "rm -rf / on the host"}"#.to_string();
                tokio::spawn(async move {
                    let _ = tx.send(Ok(Piece::Text(reply))).await;
                    let done = Finish {
                        reason: None,
                        prompt_tokens: 10,
                        completion_tokens: 10,
                    };
                    let _ = tx.send(Ok(Piece::Done(done))).await;
                });
                Ok(ChatStream::new("recording", rx))
            })
        }
    }

    /// A `shell` tool that counts its calls (the guard must stop every one).
    #[derive(Debug, Default)]
    struct Shell(Mutex<u32>);

    impl ToolSource for Shell {
        fn specs(&self) -> Vec<ToolSpec> {
            vec![ToolSpec {
                name: "shell".into(),
                description: "runs a command".into(),
                input_schema: serde_json::json!({"type": "object"}),
            }]
        }

        fn call<'a>(
            &'a self,
            _name: &'a str,
            _args: serde_json::Value,
        ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
            if let Ok(mut calls) = self.0.lock() {
                *calls += 1;
            }
            Box::pin(async { Ok(ToolOutput::ok("done")) })
        }
    }

    /// Issue 21: an agent asked to act against a rule is refused with an event naming the rule
    /// (the real constitution as the runtime's guard), and the constitution's preamble is in
    /// every prompt the provider receives.
    #[tokio::test]
    async fn an_agent_acting_against_the_constitution_is_refused_and_every_prompt_has_the_preamble()
    {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(autonet_store::Store::open(dir.path().join("db")).unwrap());
        let provider = Arc::new(Recording::default());
        let shell = Arc::new(Shell::default());
        let mut tools = ToolBox::new(Duration::from_secs(5));
        tools.add(shell.clone());
        let runtime = Runtime::start(RuntimeDeps {
            store,
            providers: Providers::single(provider.clone()),
            tools,
            key: libp2p_identity::Keypair::generate_ed25519(),
            guard: Some(Arc::new(ConstitutionGuard::shipped().unwrap())),
            outbound: None,
            directory: None,
            self_address: None,
            preamble: Some(crate::agent::setup::preamble().unwrap()),
            config: RuntimeConfig::default(),
        })
        .await
        .unwrap();
        let mut def = AgentDefinition::new("ops", "You run commands.", "Clean up the disk.");
        def.tools = vec!["shell".into()];
        let mut events = runtime.events().subscribe();
        runtime.register(def).await.unwrap();
        runtime.run("ops", None).unwrap();
        let refused = loop {
            let e = tokio::time::timeout(Duration::from_secs(30), events.recv())
                .await
                .expect("an action.refused event")
                .unwrap();
            if e.event_type == EventType::ActionRefused {
                break e;
            }
        };
        assert_eq!(refused.source, "ops");
        assert_eq!(
            refused.data["rule"], "charter.self_preservation",
            "{refused:?}"
        );
        assert_eq!(refused.data["action"], "tool");
        loop {
            let e = events.recv().await.unwrap();
            if e.event_type == EventType::ExecutionFailed {
                assert!(
                    e.data["error"]
                        .as_str()
                        .unwrap()
                        .contains("charter.self_preservation")
                );
                break;
            }
        }
        assert_eq!(*shell.0.lock().unwrap(), 0, "the refused call never ran");
        let preamble = crate::agent::setup::preamble().unwrap()("ops");
        assert!(
            preamble.contains("ops") && preamble.len() > 200,
            "{preamble}"
        );
        let seen = provider.0.lock().unwrap();
        assert!(!seen.is_empty());
        for request in seen.iter() {
            let system = &request.messages[0];
            assert!(
                system.content.contains(preamble.trim()),
                "a prompt without the preamble: {:?}",
                system.content
            );
        }
        runtime.shutdown();
    }

    #[test]
    fn destructive_tool_calls_are_refused_by_rule_and_ordinary_ones_pass() {
        let guard = ConstitutionGuard::shipped().unwrap();
        assert!(
            guard
                .check("a", "tool", "call tool echo with {\"text\":\"hello\"}")
                .is_ok()
        );
        let refused = guard
            .check(
                "a",
                "tool",
                "call tool shell with {\"command\":\"rm -rf / on the host\"}",
            )
            .unwrap_err();
        assert_eq!(refused.rule, "charter.self_preservation");
        let deep = guard
            .check("a", "delegate", "depth 99: summarize the notes")
            .unwrap_err();
        assert_eq!(deep.rule, "delegation_depth");
    }
}
