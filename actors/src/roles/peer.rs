//! One protocol peer: an overlay node, its durable store, its shard host (every role peer holds
//! and serves model shards), the gossip gate (which files accepted announcements in the role's inbox and wakes it) behind the network bridge, and its role
//! actor under a supervisor with a restart budget.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, Bytes};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use autonet_contracts::{ProtocolView, Role};
use autonet_p2p::{Client, Keypair, Multiaddr, PeerId};
use autonet_store::Store;
use ractor::{Actor, ActorCell, ActorRef};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use super::RoleError;
use super::actor::{RoleActor, RoleArgs};
use super::ctx::Ctx;
use super::fetch::Fetcher;
use super::gate::{Gate, GateArgs};
use super::inbox::Inbox;
use crate::bridge::{BridgeArgs, BridgeMsg, NetworkBridge};
use crate::shards::{ChainAuthority, HoldAuthority, HostConfig, ShardHost};
use crate::supervisor::{ChildSpec, Supervisor, SupervisorConfig, SupervisorMsg};

/// Restarts allowed per window before a peer's supervisor gives up.
pub const MAX_RESTARTS: usize = 5;
/// The window [`MAX_RESTARTS`] counts restarts over.
pub const RESTART_WINDOW: Duration = Duration::from_secs(60);

/// Everything a peer needs besides its context.
#[derive(Debug, Clone)]
pub struct PeerSetup {
    /// The role the peer is staked in and runs.
    pub role: Role,
    /// Holds `state.redb`.
    pub data_dir: PathBuf,
    /// Pause between two steps of the role actor.
    pub tick: Duration,
    /// Models whose shards this peer keeps per project (newest by registration); older ones are
    /// dropped.
    pub keep_models: usize,
    /// Most bytes of shards this peer stores.
    pub shard_quota_bytes: u64,
}

/// A running peer.
#[derive(Debug)]
pub struct RunningPeer {
    /// Peer name for logs and reports (`solver-2`).
    pub name: String,
    /// The role it runs.
    pub role: Role,
    /// The staked account it acts for.
    pub address: Address,
    /// Its overlay identity, bound on chain to `address`.
    pub peer_id: PeerId,
    /// Addresses its overlay listens on (others bootstrap from them).
    pub addrs: Vec<Multiaddr>,
    /// Its overlay client.
    pub client: Client,
    /// The peer's shard host (under `<data dir>/shards`).
    pub shards: ShardHost,
    /// Where its gate files accepted gossip (task specs, models, agents' traces).
    pub announcements: Inbox,
    /// The supervisor of its role actor.
    pub supervisor: ActorRef<SupervisorMsg>,
    /// The peer's Prometheus registry (the overlay's metrics); the node adds its role metrics
    /// and serves it with `--metrics`.
    pub metrics: Arc<std::sync::Mutex<prometheus_client::registry::Registry>>,
    bridge: ActorRef<BridgeMsg>,
    gate: ActorCell,
    loop_task: JoinHandle<()>,
}

/// The context fields a peer is started with (its network client and store are made here).
#[derive(Clone)]
pub struct PeerParts<C> {
    /// Peer name for logs and reports (`solver-2`).
    pub name: String,
    /// The staked account the peer acts for.
    pub address: Address,
    /// Never leaves the peer: salts and task seeds derive from it.
    pub secret: [u8; 32],
    /// Chain access for the role account.
    pub chain: Arc<C>,
    /// The model kind the network trains.
    pub model: Arc<dyn crate::protocol::model::TrainingModel>,
    /// The settings every role of the network agrees on.
    pub plan: Arc<super::ctx::NetworkPlan>,
    /// The block board a simulation's chain clock waits on.
    pub board: super::board::Board,
    /// The protocol-log run the peer's events go to.
    pub run: super::events::RunId,
    /// The solver's choices at the protocol's decision points (honest except in simulations
    /// of Byzantine solvers).
    pub conduct: Arc<dyn super::conduct::SolverConduct>,
}

impl<C> std::fmt::Debug for PeerParts<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerParts")
            .field("name", &self.name)
            .field("address", &self.address)
            .field("conduct", &self.conduct.name())
            .finish_non_exhaustive()
    }
}

/// Starts a peer with the given overlay settings (its key, listen addresses, bootstrap peers, DHT
/// mode and record store); it begins acting on the next tick.
pub async fn start_peer<C: ProtocolView + 'static>(
    parts: PeerParts<C>,
    setup: PeerSetup,
    config: autonet_p2p::NetworkConfig,
) -> Result<RunningPeer, RoleError> {
    std::fs::create_dir_all(&setup.data_dir)
        .map_err(|e| RoleError::Corrupt(format!("{}: {e}", setup.data_dir.display())))?;
    let store = Arc::new(open_store(&setup.data_dir.join("state.redb")).await?);
    // Content is served from the store: kept once, on disk.
    let mut config = config;
    config.content_source = Some(Arc::new(super::ctx::StoredContent(store.clone())));
    let mut registry = prometheus_registry();
    let (client, events, event_loop) = autonet_p2p::new(config, &mut registry)?;
    let loop_task = tokio::spawn(event_loop.run());
    let addrs = client.listen_addrs().await?;
    let authority: Arc<dyn HoldAuthority> = Arc::new(ChainAuthority(parts.chain.clone()));
    let mut host_config = HostConfig::new(&setup.data_dir);
    host_config.keep_versions = setup.keep_models.max(1);
    host_config.quota_bytes = setup.shard_quota_bytes;
    let shards = ShardHost::start_with(client.clone(), host_config, authority.clone())
        .await
        .map_err(|e| RoleError::Actor(format!("shard host: {e}")))?;
    let inbox = Inbox::new(store.clone());
    // The gate judges each gossip message, files what it accepts and wakes the role actor.
    let gate_args = GateArgs {
        chain: parts.chain.clone(),
        inbox: Some(inbox.clone()),
    };
    let (gate, _) = Actor::spawn(None, Gate::<C>::default(), gate_args)
        .await
        .map_err(spawn_err)?;
    let (bridge, _) = Actor::spawn(
        None,
        NetworkBridge,
        BridgeArgs {
            client: client.clone(),
            events: Arc::new(Mutex::new(events)),
            validator: Some(gate.clone()),
        },
    )
    .await
    .map_err(spawn_err)?;
    let ctx = Arc::new(Ctx {
        name: parts.name.clone(),
        address: parts.address,
        secret: parts.secret,
        chain: parts.chain,
        net: client.clone(),
        fetcher: Fetcher::new(client.clone(), store.clone(), authority),
        shards: shards.clone(),
        store,
        inbox: inbox.clone(),
        model: parts.model,
        plan: parts.plan,
        board: parts.board,
        run: parts.run,
        conduct: parts.conduct,
    });
    // Every peer knows the genesis model: epoch 1 starts from it.
    ctx.genesis_model()?;
    let args = RoleArgs {
        role: setup.role,
        ctx,
        tick: setup.tick,
    };
    let start: crate::supervisor::StartFn = Arc::new(move |sup: ActorCell| {
        let args = args.clone();
        Box::pin(async move {
            let (r, _) = Actor::spawn_linked(None, RoleActor::<C>::default(), args, sup).await?;
            Ok(r.get_cell())
        })
    });
    let (supervisor, _) = Actor::spawn(
        None,
        Supervisor,
        SupervisorConfig {
            max_restarts: MAX_RESTARTS,
            window: RESTART_WINDOW,
            children: vec![ChildSpec {
                name: parts.name.clone(),
                start,
            }],
        },
    )
    .await
    .map_err(spawn_err)?;
    Ok(RunningPeer {
        name: parts.name,
        role: setup.role,
        address: parts.address,
        peer_id: client.peer_id(),
        addrs,
        client,
        shards,
        announcements: inbox,
        supervisor,
        metrics: Arc::new(std::sync::Mutex::new(registry)),
        bridge,
        gate: gate.get_cell(),
        loop_task,
    })
}

/// Opens the peer's store; a restarted peer may find its previous incarnation still closing it.
async fn open_store(path: &std::path::Path) -> Result<Store, RoleError> {
    let mut tries = 0;
    loop {
        match Store::open(path) {
            Ok(s) => return Ok(s),
            Err(autonet_store::StoreError::AlreadyOpen { .. }) if tries < 100 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn spawn_err(e: ractor::SpawnErr) -> RoleError {
    RoleError::Actor(e.to_string())
}

fn prometheus_registry() -> prometheus_client::registry::Registry {
    prometheus_client::registry::Registry::default()
}

impl RunningPeer {
    /// Restarts of the role actor so far (each after a failed step); `None` once the supervisor
    /// stopped.
    pub async fn restarts(&self) -> Option<usize> {
        ractor::call!(self.supervisor, SupervisorMsg::Restarts).ok()
    }

    /// The role actor's current cell.
    pub async fn role_actor(&self) -> Option<ActorCell> {
        ractor::call!(self.supervisor, SupervisorMsg::Child, self.name.clone())
            .ok()
            .flatten()
    }

    /// Stops the peer in order: its role actor finishes the step it is in, the overlay says
    /// goodbye to its connections.
    pub async fn stop(self) {
        // Ask the supervisor for the role actor before stopping it: a stopping supervisor no
        // longer answers, and a role actor left running would hold the chain clock forever.
        if let Some(cell) = self.role_actor().await {
            cell.stop(None);
        }
        self.supervisor.stop(None);
        self.bridge.stop(None);
        self.gate.stop(None);
        self.shards.shutdown().await;
        let _ = self.client.shutdown().await;
        self.loop_task.abort();
        let _ = self.loop_task.await;
    }

    /// Kills the peer as SIGKILL would, in process: every actor is killed, which drops the
    /// future it was running at its next await point (a step half done stays half done, and no
    /// `post_stop` runs, so the killed role does not even leave the block board: whoever kills
    /// it must); the supervisor goes first so it restarts nothing; background fetches die with
    /// the role's context; the overlay's event loop is aborted without a shutdown, which drops
    /// the swarm and closes its sockets as the kernel would. What the store acknowledged
    /// (`put` returned) is durable; nothing else is written after this returns, so a restart
    /// sees exactly the acknowledged state (a restart waits in `open_store` for the last handle
    /// on the store, held by aborted fetches, to go).
    pub async fn kill(self) {
        let role = self.role_actor().await;
        let _ = self.supervisor.kill_and_wait(Some(KILL_WAIT)).await;
        if let Some(cell) = role {
            let _ = cell.kill_and_wait(Some(KILL_WAIT)).await;
        }
        for cell in [self.bridge.get_cell(), self.gate] {
            let _ = cell.kill_and_wait(Some(KILL_WAIT)).await;
        }
        self.shards.shutdown().await;
        self.loop_task.abort();
        let _ = self.loop_task.await;
    }
}

/// How long [`RunningPeer::kill`] waits for one killed actor to be gone.
const KILL_WAIT: Duration = Duration::from_secs(5);

/// Binds `keypair`'s PeerId to `agent` on chain (both keys sign the binding digest); `relayer`
/// sends the transaction.
pub async fn bind_peer<C: ProtocolView>(
    chain: &C,
    relayer: Address,
    agent: &PrivateKeySigner,
    keypair: &Keypair,
) -> Result<(), RoleError> {
    let peer = Bytes::from(keypair.public().to_peer_id().to_bytes());
    let digest = chain.binding_digest(agent.address(), peer.clone()).await?;
    let agent_sig = agent
        .sign_message_sync(digest.as_slice())
        .map_err(|e| RoleError::Corrupt(e.to_string()))?;
    let peer_sig = keypair
        .sign(digest.as_slice())
        .map_err(|e| RoleError::Corrupt(e.to_string()))?;
    chain
        .register_agent(
            relayer,
            agent.address(),
            peer,
            Bytes::from(peer_sig),
            Bytes::from(agent_sig.as_bytes().to_vec()),
        )
        .await?;
    Ok(())
}

/// Makes `keypair`'s PeerId resolve to `agent`'s address, `agent` relaying its own
/// transactions; returns whether it had to register. Nothing is done when the PeerId already
/// resolves to `agent`. Otherwise `agent`'s claim of another PeerId (or an older claim of this
/// one) is withdrawn and a fresh claim registered: signed by the PeerId key, it is the newest
/// claim that verifies, so it wins over every squatter's claim, registered before or after it.
pub async fn ensure_bound<C: ProtocolView>(
    chain: &C,
    agent: &PrivateKeySigner,
    keypair: &Keypair,
) -> Result<bool, RoleError> {
    let peer = Bytes::from(keypair.public().to_peer_id().to_bytes());
    if chain.peer_owner(peer.clone()).await? == agent.address() {
        return Ok(false);
    }
    if !chain.agent_peer(agent.address()).await?.is_empty() {
        chain.deregister_agent(agent.address()).await?;
    }
    if let Err(e) = bind_peer(chain, agent.address(), agent, keypair).await {
        // Anyone may relay a registration: if someone sent ours first (copied from the
        // mempool), ours reverts but the binding stands.
        if chain.peer_owner(peer).await? != agent.address() {
            return Err(e);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use alloy::primitives::U256;
    use autonet_contracts::{ATN, EmbeddedChain};

    use super::*;
    use crate::testing::squat;

    /// The node's startup binding: squatters before and after do not stop it, and it moves an
    /// address bound to an old PeerId to the new one.
    #[tokio::test]
    async fn ensure_bound_binds_past_squatters_and_rebinds() {
        let chain = EmbeddedChain::genesis(4, ATN * U256::from(1_000))
            .await
            .unwrap();
        let signers = chain.backend().signers().to_vec();
        let (me, squatter, late) = (&signers[1], &signers[2], &signers[3]);
        let key = Keypair::generate_ed25519();
        let peer_id = key.public().to_peer_id();
        let peer = Bytes::from(peer_id.to_bytes());
        squat(&chain, squatter, peer_id).await.unwrap();
        assert_eq!(chain.peer_owner(peer.clone()).await.unwrap(), Address::ZERO);
        assert!(ensure_bound(&chain, me, &key).await.unwrap());
        assert_eq!(chain.peer_owner(peer.clone()).await.unwrap(), me.address());
        squat(&chain, late, peer_id).await.unwrap();
        assert_eq!(chain.peer_claims(peer.clone()).await.unwrap().len(), 3);
        assert_eq!(chain.peer_owner(peer.clone()).await.unwrap(), me.address());
        assert!(!ensure_bound(&chain, me, &key).await.unwrap());
        // A new node key for the same address: the old claim goes, the new one binds.
        let rotated = Keypair::generate_ed25519();
        assert!(ensure_bound(&chain, me, &rotated).await.unwrap());
        let new_peer = Bytes::from(rotated.public().to_peer_id().to_bytes());
        assert_eq!(chain.peer_owner(new_peer).await.unwrap(), me.address());
        assert_eq!(chain.peer_owner(peer).await.unwrap(), Address::ZERO);
    }
}
