//! The supervisor restarts a panicking child and escalates once its restart budget is spent;
//! the network bridge delivers overlay gossip to actors.

use std::sync::Arc;
use std::time::Duration;

use autonet_actors::{
    BridgeArgs, BridgeMsg, ChildSpec, NetworkBridge, Supervisor, SupervisorConfig, SupervisorMsg,
};
use autonet_p2p::testnet::{local_config, poll_until, tcp_any_port};
use autonet_p2p::{GossipTopic, Keypair, NetworkEvent};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};
use tokio::sync::{Mutex, mpsc};

const POLL: Duration = Duration::from_millis(50);

/// A child that answers pings and panics on request.
struct Flaky;

enum FlakyMsg {
    Ping(RpcReplyPort<()>),
    Panic,
}

impl Actor for Flaky {
    type Msg = FlakyMsg;
    type State = ();
    type Arguments = ();

    async fn pre_start(&self, _: ActorRef<FlakyMsg>, _: ()) -> Result<(), ActorProcessingErr> {
        Ok(())
    }

    async fn handle(
        &self,
        _: ActorRef<FlakyMsg>,
        msg: FlakyMsg,
        _: &mut (),
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            FlakyMsg::Ping(reply) => {
                let _ = reply.send(());
            }
            FlakyMsg::Panic => panic!("flaky child panics on purpose"),
        }
        Ok(())
    }
}

/// Stands above the supervisor and reports its failures.
struct Parent;

impl Actor for Parent {
    type Msg = ();
    type State = mpsc::UnboundedSender<String>;
    type Arguments = mpsc::UnboundedSender<String>;

    async fn pre_start(
        &self,
        _: ActorRef<()>,
        tx: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(tx)
    }

    async fn handle_supervisor_evt(
        &self,
        _: ActorRef<()>,
        event: SupervisionEvent,
        tx: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        if let SupervisionEvent::ActorFailed(_, err) = event {
            let _ = tx.send(err.to_string());
        }
        Ok(())
    }
}

async fn flaky_child(sup: &ActorRef<SupervisorMsg>) -> Option<ActorRef<FlakyMsg>> {
    let cell = ractor::call!(sup, |r| SupervisorMsg::Child("flaky".into(), r)).ok()??;
    Some(cell.into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panicking_child_is_restarted_then_failure_escalates_past_budget() -> anyhow::Result<()> {
    let (tx, mut failures) = mpsc::unbounded_channel();
    let (parent, _) = Actor::spawn(None, Parent, tx).await?;
    let spec = ChildSpec {
        name: "flaky".into(),
        start: Arc::new(|sup| {
            Box::pin(async move {
                Ok(Actor::spawn_linked(None, Flaky, (), sup)
                    .await?
                    .0
                    .get_cell())
            })
        }),
    };
    let config = SupervisorConfig {
        max_restarts: 2,
        window: Duration::from_secs(600),
        children: vec![spec],
    };
    let (sup, sup_handle) =
        Actor::spawn_linked(None, Supervisor, config, parent.get_cell()).await?;

    for round in 1..=2usize {
        let child = flaky_child(&sup).await.unwrap();
        ractor::call!(child, FlakyMsg::Ping)?;
        child.cast(FlakyMsg::Panic)?;
        let restarted = poll_until(Duration::from_secs(30), POLL, || async {
            let n = ractor::call!(sup, SupervisorMsg::Restarts).ok()?;
            let new = flaky_child(&sup).await?;
            (n == round && new.get_id() != child.get_id()).then_some(new)
        })
        .await
        .expect("child was not restarted");
        ractor::call!(restarted, FlakyMsg::Ping)?;
    }

    // A third failure within the window exceeds the budget of 2: the supervisor fails itself.
    flaky_child(&sup).await.unwrap().cast(FlakyMsg::Panic)?;
    let escalated = tokio::time::timeout(Duration::from_secs(30), failures.recv())
        .await?
        .unwrap();
    assert!(
        escalated.contains("restart budget exhausted"),
        "{escalated}"
    );
    tokio::time::timeout(Duration::from_secs(30), sup_handle).await??;
    parent.stop(None);
    Ok(())
}

/// Collects overlay events delivered by the bridge.
struct Collector;

impl Actor for Collector {
    type Msg = NetworkEvent;
    type State = mpsc::UnboundedSender<Vec<u8>>;
    type Arguments = mpsc::UnboundedSender<Vec<u8>>;

    async fn pre_start(
        &self,
        _: ActorRef<NetworkEvent>,
        tx: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(tx)
    }

    async fn handle(
        &self,
        _: ActorRef<NetworkEvent>,
        event: NetworkEvent,
        tx: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        if let NetworkEvent::Message(m) = event {
            let _ = tx.send(m.body);
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bridge_turns_gossip_into_actor_messages() -> anyhow::Result<()> {
    let mut registry = prometheus_client_registry();
    let mut a_config = local_config(Keypair::generate_ed25519(), vec![]);
    a_config.listen = vec![tcp_any_port()];
    let (a, a_events, a_loop) = autonet_p2p::new(a_config, &mut registry)?;
    tokio::spawn(a_loop.run());
    let a_addr = a.listen_addrs().await?.remove(0);
    let (b, b_events, b_loop) = autonet_p2p::new(
        local_config(Keypair::generate_ed25519(), vec![a_addr]),
        &mut registry,
    )?;
    tokio::spawn(b_loop.run());

    let spawn_bridge = |client, events| {
        let args = BridgeArgs {
            client,
            events: Arc::new(Mutex::new(events)),
            validator: None,
        };
        Actor::spawn(None, NetworkBridge, args)
    };
    let (a_bridge, _) = spawn_bridge(a.clone(), a_events).await?;
    let (b_bridge, _) = spawn_bridge(b.clone(), b_events).await?;
    let (tx, mut bodies) = mpsc::unbounded_channel();
    let (collector, _) = Actor::spawn(None, Collector, tx).await?;
    b_bridge.cast(BridgeMsg::Subscribe(collector))?;

    let published = poll_until(
        Duration::from_secs(60),
        Duration::from_millis(250),
        || async {
            let r = ractor::call!(a_bridge, |reply| BridgeMsg::Publish(
                GossipTopic::Tasks,
                b"hi".to_vec(),
                reply
            ));
            matches!(r, Ok(Ok(()))).then_some(())
        },
    )
    .await;
    assert!(published.is_some(), "bridge could not publish");
    let body = tokio::time::timeout(Duration::from_secs(60), bodies.recv())
        .await?
        .unwrap();
    assert_eq!(body, b"hi");
    a.shutdown().await?;
    b.shutdown().await?;
    Ok(())
}

fn prometheus_client_registry() -> prometheus_client::registry::Registry {
    prometheus_client::registry::Registry::default()
}
