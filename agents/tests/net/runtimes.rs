//! Two agent runtimes on two overlay peers, mail between them through their mailers: the
//! runtime's own delegation across peers. A delegation that comes back to an agent already in
//! its chain of delegators is refused by the receiving runtime before the agent runs (a loop
//! across peers), answered as a failed result, and the onward request spends one level of depth.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use autonet_agents::definition::Step;
use autonet_agents::runtime::{Outbound, Providers, Runtime, RuntimeConfig, RuntimeDeps};
use autonet_agents::{
    AgentDefinition, DelegationMessage, EventType, InboxError, InboxMessage, LocalDelivery, Mailer,
    Mode, Posted, TaskState, ToolBox,
};
use autonet_p2p::testnet::{Peer, accept_all, local_config, poll_until};
use autonet_p2p::{Keypair, Multiaddr};
use serde_json::json;

use crate::node::{DEADLINE, config};

/// Mail that arrives before the runtime exists is asked to come again.
#[derive(Default)]
struct Late(OnceLock<Runtime>);

impl LocalDelivery for Late {
    fn deliver(&self, message: InboxMessage) -> Result<Posted, InboxError> {
        match self.0.get() {
            Some(rt) => rt.deliver(message),
            None => Err(InboxError::Unavailable("starting".into())),
        }
    }
}

struct Host {
    peer: Peer,
    runtime: Runtime,
    mailer: Mailer,
    _dir: tempfile::TempDir,
}

async fn host(bootstrap: Vec<Multiaddr>) -> anyhow::Result<Host> {
    let dir = tempfile::tempdir()?;
    let peer = Peer::start(
        local_config(Keypair::generate_ed25519(), bootstrap),
        accept_all(),
    )
    .await?;
    let store = Arc::new(autonet_store::Store::open(dir.path().join("db"))?);
    let late = Arc::new(Late::default());
    let mailer = Mailer::start(
        peer.client.clone(),
        peer.keypair.clone(),
        store.clone(),
        late.clone(),
        config(),
    )
    .await?;
    let runtime = Runtime::start(RuntimeDeps {
        store,
        providers: Providers::default(),
        tools: ToolBox::default(),
        key: libp2p_identity::Keypair::generate_ed25519(),
        guard: None,
        outbound: Some(Arc::new(mailer.clone()) as Arc<dyn Outbound>),
        directory: None,
        self_address: Some(peer.peer_id.to_string()),
        preamble: None,
        config: RuntimeConfig::default(),
    })
    .await?;
    let _ = late.0.set(runtime.clone());
    Ok(Host {
        peer,
        runtime,
        mailer,
        _dir: dir,
    })
}

/// A pipeline agent whose one step delegates its input to `target`.
fn relay(id: &str, target: &str) -> AgentDefinition {
    let mut def = AgentDefinition::new(id, &format!("You are {id}."), "");
    def.mode = Mode::Pipeline;
    def.tools = vec!["delegate".into()];
    def.steps = vec![Step::Tool {
        name: "pass".into(),
        tool: "delegate".into(),
        arguments: json!({"target": target, "task": "{input}"}),
    }];
    def
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delegation_loop_across_two_peers_is_refused_by_the_receiver() -> anyhow::Result<()> {
    let a = host(vec![]).await?;
    let b = host(a.peer.addrs.clone()).await?;
    let (pa, pb) = (a.peer.peer_id, b.peer.peer_id);
    a.runtime
        .register(relay("ping", &format!("{pb}/pong")))
        .await?;
    b.runtime
        .register(relay("pong", &format!("{pa}/ping")))
        .await?;
    b.runtime.activate("pong")?;
    let mut a_events = a.runtime.events().subscribe();
    let mut b_events = b.runtime.events().subscribe();

    // ping → pong (admitted: pong is not in the chain) → ping again (a loop: refused at A).
    a.runtime.run("ping", Some("hello".into()))?;

    let refused = poll_event(&mut a_events, EventType::DelegateRefused, "ping").await;
    assert!(
        refused.data["reason"].as_str().unwrap().contains("loop"),
        "{refused:?}"
    );
    // pong's onward request left with one level less than ping's first one.
    let spawned = poll_event(&mut b_events, EventType::DelegateSpawned, "pong").await;
    assert_eq!(spawned.data["depth_left"], 5, "{spawned:?}");
    // The refusal comes back to pong as a failed result (pong is active, so a run of it reads
    // the result at once: the arrival is the event); ping, not active, keeps pong's completed
    // result in its inbox.
    let failed = poll_event(&mut b_events, EventType::DelegateFailed, "pong").await;
    assert_eq!(failed.data["state"], "failed", "{failed:?}");
    let completed = poll_until(DEADLINE, Duration::from_millis(50), || async {
        delegation_results(&a.runtime, "ping")
            .into_iter()
            .find(|(state, _)| *state == TaskState::Completed)
    })
    .await;
    assert!(completed.is_some(), "ping gets pong's result");
    // ping never ran the looping request: one run (the one started by hand).
    assert_eq!(a.runtime.info("ping").unwrap().runs, 1);
    a.mailer.stop().await;
    b.mailer.stop().await;
    a.runtime.shutdown();
    b.runtime.shutdown();
    Ok(())
}

/// The delegation results waiting in `agent`'s inbox: (state, output as text).
fn delegation_results(runtime: &Runtime, agent: &str) -> Vec<(TaskState, String)> {
    runtime
        .inbox()
        .pending(agent)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(_, m)| match DelegationMessage::from_inbox(&m) {
            Some(Ok(DelegationMessage::Result { state, output, .. })) => {
                Some((state, output.to_string()))
            }
            _ => None,
        })
        .collect()
}

async fn poll_event(
    rx: &mut tokio::sync::broadcast::Receiver<autonet_agents::Event>,
    t: EventType,
    source: &str,
) -> autonet_agents::Event {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let e = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("no {t:?} from {source}"))
            .unwrap();
        if e.event_type == t && e.source == source {
            return e;
        }
    }
}
