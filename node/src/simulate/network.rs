//! Setting up and running a simulated network: chain, project, stakes, PeerId bindings, the
//! bootstrap node, the peers and the block clock.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256, keccak256};
use alloy::signers::local::PrivateKeySigner;
use anyhow::Context;
use autonet_actors::protocol::phase::PhaseBlocks;
use autonet_actors::protocol::score::acceptance_threshold;
use autonet_actors::roles::board::Board;
use autonet_actors::roles::conduct::{Honest, SolverConduct};
use autonet_actors::roles::ctx::NetworkPlan;
use autonet_actors::roles::peer::{PeerParts, PeerSetup, RunningPeer, bind_peer, start_peer};
use autonet_actors::roles::protocol_log::RunLog;
use autonet_contracts::{ATN, Backend, Chain, Contracts, EmbeddedChain, RegisteredModel, Role};
use autonet_p2p::Keypair;
use autonet_p2p::testnet::{Peer, accept_all, local_config};
use tokio::task::JoinHandle;

use super::SimulateArgs;
use crate::conductor::{BlockPacer, Goal, Pace, reached};

/// ATN every peer account starts with.
pub const INITIAL_ATN: u64 = 10_000;
/// How often role actors look at the chain.
pub const TICK: Duration = Duration::from_millis(10);

/// The chain the simulation runs on.
pub type SimChain = Contracts<EmbeddedChain>;

/// One peer as the report sees it.
#[derive(Debug, Clone)]
pub struct PeerInfo {
    /// Roster name, `<role>-<n>` counting from 1 (e.g. `solver-2`).
    pub name: String,
    /// The staked role it plays.
    pub role: Role,
    /// Its EVM account (stakes, signs, receives rewards).
    pub address: Address,
    /// `None` for an honest peer.
    pub byzantine: Option<super::ByzantineKind>,
    /// What it staked at the start (its role's minimum), in ATN wei.
    pub initial_stake: U256,
}

/// A running simulation.
#[derive(Debug)]
pub struct Network {
    /// The embedded chain with the contract suite deployed.
    pub chain: Arc<SimChain>,
    /// Account 0: deployed the suite and owns the project.
    pub deployer: Address,
    /// Id of the funded project every epoch's task is paid from.
    pub project: U256,
    /// Every peer in roster order (proposers, solvers, coordinators, aggregators).
    pub peers: Vec<PeerInfo>,
    /// Live peers (`None` while a peer is down), index-aligned with `peers`.
    pub running: Vec<Option<RunningPeer>>,
    /// How to (re)start each peer.
    blueprints: Vec<(PeerParts<SimChain>, PeerSetup, autonet_p2p::NetworkConfig)>,
    /// Decides the churn and coordinator drop and records every fault acted out.
    pub faults: super::faults::FaultDriver,
    /// This run's protocol events and published epochs.
    pub log: RunLog,
    /// Where role actors report the head they acted on; the block clock mines only when all have.
    pub board: Board,
    /// The plan every peer follows (epochs, proposers, batch sizes, phase lengths, rewards).
    pub plan: Arc<NetworkPlan>,
    bootstrap: Peer,
    clock: JoinHandle<()>,
    /// The rogue aggregator's address and the epochs it attacked already.
    rogue: Option<(Address, std::collections::BTreeSet<u64>)>,
}

/// Protocol secret of peer `i` (roster order) of a run seeded with `seed`; `autonet testnet
/// setup` gives its peers the same, so a multi-process run is comparable with a simulation.
pub fn secret_of(seed: u64, i: usize) -> [u8; 32] {
    keccak256(format!("autonet/simulate/{seed}/peer/{i}")).0
}

/// libp2p identity of peer `i` (roster order).
pub fn keypair_of(seed: u64, i: usize) -> anyhow::Result<Keypair> {
    let mut bytes = keccak256(format!("autonet/simulate/{seed}/p2p/{i}")).0;
    Keypair::ed25519_from_bytes(&mut bytes).context("cannot derive a peer key")
}

/// Solver and coordinator pools per task.
pub fn rewards() -> (U256, U256) {
    (ATN * U256::from(30), ATN * U256::from(6))
}

/// The plan every peer of a run with these flags follows (`testnet setup` writes the same).
pub fn plan_for(args: &SimulateArgs, project: U256, proposers: Vec<Address>) -> NetworkPlan {
    let (solver_reward, coordinator_reward) = rewards();
    let (batch_len, slice_len, held_out_len) = args.sizes();
    NetworkPlan {
        project,
        epochs: args.epochs,
        proposers,
        batch_len,
        slice_len,
        held_out_len,
        train_epochs: 1,
        phases: PhaseBlocks::for_roster(args.solvers, args.coordinators, 8),
        solver_reward,
        coordinator_reward,
    }
}

/// Deployment settings for a run with these flags: unbonding lasts at least twice the longest
/// task of this roster (the task contract refuses tasks as long as the unbonding period).
pub fn deploy_config(args: &SimulateArgs) -> autonet_contracts::DeployConfig {
    let p = PhaseBlocks::for_roster(args.solvers, args.coordinators, 8);
    let defaults = autonet_contracts::DeployConfig::default();
    autonet_contracts::DeployConfig {
        unbonding_blocks: defaults
            .unbonding_blocks
            .max(2 * (p.commit + p.reveal + p.vote) + 1),
        ..defaults
    }
}

/// Creates the project tasks are paid from and funds it for every epoch.
pub async fn create_funded_project<B: Backend>(
    chain: &Contracts<B>,
    deployer: Address,
    args: &SimulateArgs,
) -> anyhow::Result<U256> {
    let (solver_reward, coordinator_reward) = rewards();
    let project = chain
        .create_project(deployer, "simulate", acceptance_threshold())
        .await?;
    let budget = (solver_reward + coordinator_reward) * U256::from(args.epochs);
    chain.fund_project(deployer, project, budget).await?;
    Ok(project)
}

/// (name, role) of every peer, in account order.
pub fn roster(args: &SimulateArgs) -> Vec<(String, Role)> {
    let mut out = Vec::new();
    for (n, role) in [
        (args.proposers, Role::Proposer),
        (args.solvers, Role::Solver),
        (args.coordinators, Role::Coordinator),
        (args.aggregators, Role::Aggregator),
    ] {
        let label = match role {
            Role::Proposer => "proposer",
            Role::Solver => "solver",
            Role::Coordinator => "coordinator",
            Role::Aggregator => "aggregator",
        };
        for i in 1..=n {
            out.push((format!("{label}-{i}"), role));
        }
    }
    out
}

/// Stakes `signer` in `role` and binds `key`'s PeerId to it.
async fn stake_and_bind(
    chain: &SimChain,
    deployer: Address,
    signer: &PrivateKeySigner,
    role: Role,
    key: &Keypair,
) -> anyhow::Result<()> {
    chain
        .stake(signer.address(), role, role.min_stake())
        .await?;
    bind_peer(chain, deployer, signer, key).await?;
    Ok(())
}

/// The rogue aggregator (`--rogue-aggregator`): staked as an aggregator and bound to the
/// bootstrap node's PeerId, so its model announcements pass the gate.
async fn stake_rogue(
    chain: &SimChain,
    deployer: Address,
    signer: &PrivateKeySigner,
    boot_keypair: &Keypair,
) -> anyhow::Result<Address> {
    stake_and_bind(chain, deployer, signer, Role::Aggregator, boot_keypair).await?;
    Ok(signer.address())
}

/// How the peer at `address` behaves: the last `--byzantine-solvers` solvers commit the
/// `--byzantine-kind` fault (a copier copies the first solver), everyone else is honest.
fn conduct_of(
    args: &SimulateArgs,
    solvers: &[Address],
    address: Address,
) -> (Option<super::ByzantineKind>, Arc<dyn SolverConduct>) {
    let honest_solvers = args.solvers - args.byzantine_solvers;
    let byzantine = match solvers.iter().position(|a| *a == address) {
        Some(k) if k >= honest_solvers => Some(args.byzantine_kind),
        _ => None,
    };
    let victim = solvers.first().copied().filter(|v| *v != address);
    let conduct = match byzantine {
        Some(kind) => kind.conduct(victim),
        None => Arc::new(Honest),
    };
    (byzantine, conduct)
}

/// The accounts of the roster's peers in `role` (peer `i` signs with account `i + 1`).
fn accounts_with(
    roster: &[(String, Role)],
    signers: &[alloy::signers::local::PrivateKeySigner],
    role: Role,
) -> Vec<Address> {
    roster
        .iter()
        .enumerate()
        .filter(|(_, (_, r))| *r == role)
        .map(|(i, _)| signers[i + 1].address())
        .collect()
}

impl Network {
    /// Deploys, funds, stakes, binds and starts everything.
    pub async fn start(args: &SimulateArgs, dir: &Path) -> anyhow::Result<Network> {
        let roster = roster(args);
        // Account 0 deploys, 1..=roster the peers, the next one is the rogue aggregator.
        let chain = Arc::new(
            EmbeddedChain::genesis_with(
                roster.len() as u32 + 2,
                ATN * U256::from(INITIAL_ATN),
                &deploy_config(args),
            )
            .await
            .context("cannot deploy the contract suite on the embedded chain")?,
        );
        let signers = chain.backend().signers().to_vec();
        let deployer = signers[0].address();
        let project = create_funded_project(&*chain, deployer, args).await?;
        let plan = Arc::new(plan_for(
            args,
            project,
            accounts_with(&roster, &signers, Role::Proposer),
        ));
        let mut boot_kp = keccak256(format!("autonet/simulate/{}/bootstrap", args.seed)).0;
        let boot_keypair = Keypair::ed25519_from_bytes(&mut boot_kp)?;
        let bootstrap =
            Peer::start(local_config(boot_keypair.clone(), Vec::new()), accept_all()).await?;
        let rogue = match args.rogue_aggregator {
            true => Some(
                stake_rogue(&chain, deployer, &signers[roster.len() + 1], &boot_keypair).await?,
            ),
            false => None,
        };
        let boot_addr = bootstrap
            .tcp_addr()
            .context("the bootstrap node has no TCP address")?;
        let model = args.model.build()?;
        let board = Board::default();
        let log = crate::logging::protocol_log()?.begin_run();
        let solver_addrs = accounts_with(&roster, &signers, Role::Solver);
        let mut peers = Vec::new();
        let mut running = Vec::new();
        let mut blueprints = Vec::new();
        // Stake and bind everyone before any peer starts: setup transactions mine blocks, and a
        // running proposer's first task must not see its commit window eaten by them.
        for (i, (_, role)) in roster.iter().enumerate() {
            let key = keypair_of(args.seed, i)?;
            stake_and_bind(&chain, deployer, &signers[i + 1], *role, &key).await?;
        }
        for (i, (name, role)) in roster.iter().enumerate() {
            let signer = &signers[i + 1];
            let address = signer.address();
            let keypair = keypair_of(args.seed, i)?;
            let (byzantine, conduct) = conduct_of(args, &solver_addrs, address);
            let parts = PeerParts {
                name: name.clone(),
                address,
                secret: secret_of(args.seed, i),
                chain: chain.clone(),
                model: model.clone(),
                plan: plan.clone(),
                board: board.clone(),
                run: log.id(),
                conduct,
            };
            let setup = PeerSetup {
                role: *role,
                data_dir: dir.join(name),
                tick: TICK,
                // Every epoch's model stays fetchable after the run.
                keep_models: usize::try_from(args.epochs).unwrap_or(usize::MAX),
                shard_quota_bytes: autonet_actors::shards::HostConfig::new(dir).quota_bytes,
            };
            // The simulation's overlay: loopback, short timeouts, this peer's key.
            let overlay = local_config(keypair, vec![boot_addr.clone()]);
            running.push(Some(
                start_peer(parts.clone(), setup.clone(), overlay.clone()).await?,
            ));
            blueprints.push((parts, setup, overlay));
            peers.push(PeerInfo {
                name: name.clone(),
                role: *role,
                address,
                byzantine,
                initial_stake: role.min_stake(),
            });
        }
        if args.agents > 0 {
            // Held until the agents' traces reach every proposer (`simulate::agents`).
            board.join(super::agents::AGENTS_SEAT);
        }
        let clock = start_clock(
            chain.clone(),
            board.clone(),
            Duration::from_millis(args.block_ms),
            Duration::from_millis(args.stall_ms),
        );
        let faults = super::faults::FaultDriver::new(args, &peers);
        Ok(Network {
            chain,
            deployer,
            project,
            peers,
            running,
            blueprints,
            faults,
            log,
            board,
            plan,
            bootstrap,
            clock,
            rogue: rogue.map(|a| (a, Default::default())),
        })
    }

    /// Prints progress lines (when `progress`) until every epoch is published, its mint root is
    /// final and every reward and mint is claimed, or until `timeout`.
    pub async fn run_to_completion(
        &mut self,
        timeout: Duration,
        progress: bool,
    ) -> Result<(), String> {
        self.run_with(timeout, progress, None).await
    }

    /// [`Network::run_to_completion`], publishing live snapshots on `dashboard` meanwhile.
    pub async fn run_with(
        &mut self,
        timeout: Duration,
        progress: bool,
        mut dashboard: Option<&mut super::dashboard::SimDashboard>,
    ) -> Result<(), String> {
        let start = Instant::now();
        let mut shown = 0;
        loop {
            if progress {
                for e in self.log.entries_since(shown) {
                    let line = format!("{}\n", e.progress_line());
                    // `println!` panics on a closed stdout (`simulate | head`), which killed this
                    // driver and left the peers waiting forever; stop with an error instead.
                    if let Err(e) = std::io::stdout().write_all(line.as_bytes()) {
                        return Err(format!("cannot print progress: {e}"));
                    }
                    shown += 1;
                }
            }
            if let Some(d) = dashboard.as_deref_mut() {
                d.tick(self).await;
            }
            if let Err(e) = self.drive_faults().await {
                return Err(format!("fault injection failed: {e}"));
            }
            match self.finished().await {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                Err(e) => return Err(format!("reading the chain failed: {e}")),
            }
            if start.elapsed() > timeout {
                let head = self.chain.block_number().await.unwrap_or_default();
                return Err(format!(
                    "timed out after {:.0}s at block {head}; {} of {} epochs published; holding the chain: {:?}",
                    start.elapsed().as_secs_f64(),
                    self.log.epochs().len(),
                    self.plan.epochs,
                    self.board.holding(head)
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn finished(&self) -> anyhow::Result<bool> {
        let epochs = self.log.epochs();
        let goal = Goal {
            epochs: self.plan.epochs,
            epochs_seen: epochs.len(),
            expected_mints: epochs.iter().map(|e| e.mint_agents).sum(),
        };
        // Peers stopped for good cannot claim; every live one must have.
        let live = self
            .peers
            .iter()
            .zip(&self.running)
            .filter(|(_, r)| r.is_some())
            .map(|(p, _)| p.address);
        let Some(models) = reached(&self.chain, goal, live).await? else {
            return Ok(false);
        };
        Ok(models
            .iter()
            .all(|(model, info)| self.shards_held(*model, info)))
    }

    /// Whether each shard of `model` is held by a live peer.
    fn shards_held(&self, model: alloy::primitives::B256, info: &RegisteredModel) -> bool {
        let held: std::collections::BTreeSet<u16> = self
            .running
            .iter()
            .flatten()
            .flat_map(|p| p.shards.held())
            .filter(|h| h.manifest.id().0 == model.0)
            .flat_map(|h| h.indices)
            .collect();
        held.len() >= usize::from(info.k + info.m)
    }

    /// Stops every peer, the bootstrap node and the clock.
    pub async fn stop(self) {
        self.clock.abort();
        for p in self.running.into_iter().flatten() {
            p.stop().await;
        }
        self.bootstrap.stop().await;
    }
}

impl Network {
    /// Kills and restarts peers as the fault plan says; lets the rogue aggregator attack.
    async fn drive_faults(&mut self) -> anyhow::Result<()> {
        let head = self.chain.block_number().await?;
        self.rogue_announcements(head).await?;
        let actions = self.faults.due(&self.log, head);
        for action in actions {
            match action {
                super::faults::Action::Kill(i) => {
                    if let Some(p) = self.running.get_mut(i).and_then(Option::take) {
                        let name = p.name.clone();
                        p.kill().await;
                        // A killed role cannot leave the block board itself.
                        self.board.leave(&name);
                    }
                }
                super::faults::Action::Restart(i) => {
                    let (parts, setup, overlay) = self.blueprints[i].clone();
                    self.running[i] = Some(start_peer(parts, setup, overlay).await?);
                }
            }
        }
        Ok(())
    }
}

impl Network {
    /// For each epoch that just settled (a task, none open), the rogue aggregator posts a mint
    /// root paying itself half the emission for a made-up model, and announces that model on the
    /// `models` topic from the bootstrap node (bound to its address on chain).
    async fn rogue_announcements(&mut self, head: u64) -> anyhow::Result<()> {
        use autonet_actors::protocol::wire::{ModelAnnouncement, WIRE_VERSION, encode};
        use autonet_contracts::bindings::TaskContract;
        let Some((rogue, done)) = self.rogue.as_mut() else {
            return Ok(());
        };
        for epoch in 1..=self.plan.epochs {
            if done.contains(&epoch) {
                continue;
            }
            let e = self
                .chain
                .view(self.chain.addresses.task, TaskContract::epochsCall(epoch))
                .await?;
            if e.tasks == 0 || e.open != 0 {
                continue;
            }
            done.insert(epoch);
            let total = autonet_contracts::DeployConfig::default().epoch_emission / U256::from(2);
            let root = autonet_contracts::merkle::mint_leaf(*rogue, total);
            let model = keccak256(format!("autonet/simulate/rogue-model/{epoch}"));
            let posted = self
                .chain
                .post_mint_root(*rogue, U256::from(epoch), root, total, model)
                .await;
            let announcement = ModelAnnouncement {
                version: WIRE_VERSION,
                epoch,
                model_id: model.0,
                mint_list_id: model.0,
                mint_root: root.0,
            };
            self.bootstrap
                .client
                .publish(autonet_p2p::GossipTopic::Models, encode(&announcement))
                .await
                .ok();
            let what = match posted {
                Ok(_) => "rogue aggregator posted a root for a made-up model and announced it",
                Err(_) => "rogue aggregator's root was refused; announced the model anyway",
            };
            self.faults
                .record_external("rogue-aggregator", epoch, head, what);
        }
        Ok(())
    }
}

/// Mines a block every `interval` at most, once every live role has acted on the head (or after
/// `stall` without a block).
fn start_clock(
    chain: Arc<SimChain>,
    board: Board,
    interval: Duration,
    stall: Duration,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut pacer = BlockPacer::new(interval, stall);
        loop {
            tokio::time::sleep(interval).await;
            let Ok(head) = chain.backend().block_number().await else {
                continue;
            };
            match pacer.decide(head, board.ready_for_next(head), true) {
                Pace::Wait => continue,
                Pace::MineStalled => {
                    tracing::warn!(head, holding = ?board.holding(head), "chain clock: stall timeout");
                }
                Pace::Mine => {}
            }
            tracing::debug!(head, seats = ?board.seats(), "chain clock: mining");
            let _ = chain.backend().mine(1).await;
            pacer.mined();
        }
    })
}
