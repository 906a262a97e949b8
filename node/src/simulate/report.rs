//! The simulation report, read back from the chain after the run: per peer (role, behaviour,
//! stake, balance, rewards, slashes, mint, novelty) with an accounting check against the chain,
//! per epoch (task, model id, accepted solvers, root scores, held-out loss where the model kind
//! measures it, duration), and the fault schedule.

use std::collections::BTreeMap;

use alloy::primitives::{Address, U256};
use autonet_actors::roles::events::EpochRecord;
use autonet_contracts::{ATN, Atn, Backend, Chain, Contracts, ProtocolView, RewardEvent};
use serde::Serialize;

use super::network::{INITIAL_ATN, Network, PeerInfo};
use super::{ByzantineKind, SimulateArgs};

/// One peer's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct PeerReport {
    /// Roster name, e.g. `solver-2`.
    pub name: String,
    /// Its role, lower case.
    pub role: String,
    /// Its EVM account.
    pub address: Address,
    /// `honest`, or the Byzantine kind it ran with (`garbage`, `copy`, `late`, `silent`).
    pub behaviour: String,
    /// Stake now, in ATN wei (initial stake minus slashes).
    pub stake_wei: U256,
    /// ATN balance now, in wei.
    pub balance_wei: U256,
    /// Consensus rewards credited (solver share or coordinator fee), in wei.
    pub rewards_wei: U256,
    /// Rewards withdrawn with `claim`.
    pub claimed_wei: U256,
    /// Stake taken by slashes, in wei.
    pub slashed_wei: U256,
    /// One line per slash: the task and the chain's reason.
    pub slash_reasons: Vec<String>,
    /// Epoch mint claimed, in wei.
    pub mint_wei: U256,
    /// Novelty attributed by the aggregators' epoch reconciliation.
    pub novelty: f64,
    /// `balance = initial − stake + claimed + mint` and `stake = initial stake − slashes`,
    /// checked against the chain's own numbers.
    pub balances_match_chain: bool,
}

/// One epoch's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct EpochReport {
    /// Epoch number, from 1.
    pub epoch: u64,
    /// Id of the epoch's task on the task contract, decimal.
    pub task: String,
    /// The model the epoch published: BLAKE3 of its bytes, hex (`autonet model fetch` takes it).
    pub model_id: String,
    /// Merkle root of the epoch's mint list as the aggregator posted it, hex.
    pub mint_root: String,
    /// Solvers whose bundles were accepted into the epoch's model.
    pub accepted: Vec<Address>,
    /// Score of each root tendency of the new model, by tendency id.
    pub root_scores: Vec<(String, f64)>,
    /// Held-out loss of the epoch's base model and of the model it published (`--model jepa`:
    /// mean loss on the fixed evaluation images of the held-out digits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_out_loss_before: Option<f64>,
    /// Held-out loss of the model the epoch published (see `held_out_loss_before`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_out_loss_after: Option<f64>,
    /// Seconds from the epoch's first proposal to its publication.
    pub seconds: f64,
}

impl From<EpochRecord> for EpochReport {
    fn from(e: EpochRecord) -> Self {
        EpochReport {
            epoch: e.epoch,
            task: e.task,
            model_id: e.model_id,
            mint_root: e.mint_root,
            accepted: e.accepted,
            root_scores: e.root_scores,
            held_out_loss_before: e.held_out_loss.map(|l| l.0),
            held_out_loss_after: e.held_out_loss.map(|l| l.1),
            seconds: e.published_at - e.started_at,
        }
    }
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// What ran: `simulate` (one process) or `testnet` (one process per peer, on anvil).
    pub run: String,
    /// Every epoch was published, its mint root made final and every payout claimed in time.
    pub complete: bool,
    /// Why the run stopped short (timeout, failed fault injection, chain error); empty when
    /// complete.
    pub incomplete_reason: String,
    /// The run's `--seed`.
    pub seed: u64,
    /// The model kind trained, lower case (`substrate`, `jepa`).
    pub model: String,
    /// Chain head when the report was read.
    pub blocks: u64,
    /// Wall-clock seconds of the run.
    pub seconds: f64,
    /// One entry per peer, in roster order.
    pub peers: Vec<PeerReport>,
    /// One entry per published epoch.
    pub epochs: Vec<EpochReport>,
    /// Faults injected: (peer, what).
    pub faults: Vec<(String, String)>,
    /// No solver was rewarded twice for a task and no agent claimed an epoch's mint twice.
    pub payouts_unique: bool,
    /// Totals over all peers, in wei.
    pub total_rewards_wei: U256,
    /// Sum of `slashed_wei` over all peers.
    pub total_slashed_wei: U256,
    /// Sum of `mint_wei` over all peers.
    pub total_mint_wei: U256,
    /// `--agents`: what the agents did and which epochs trained on their traces.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agents: Option<super::agents::AgentsReport>,
}

/// What a report is made of besides the chain.
#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    /// The roster whose accounts are read from the chain.
    pub peers: &'a [PeerInfo],
    /// Published epochs, with `started_at`/`published_at` on one clock.
    pub epochs: Vec<EpochRecord>,
    /// Faults injected besides Byzantine behaviours: (peer, what).
    pub fault_events: Vec<(String, String)>,
    /// `simulate` or `testnet`, copied to [`Report::run`].
    pub run: &'static str,
    /// The run's seed.
    pub seed: u64,
    /// The model kind, lower case.
    pub model: String,
    /// Wall-clock seconds of the run.
    pub seconds: f64,
}

/// Reads a simulation's outcome back from the chain.
pub async fn build(
    net: &Network,
    args: &SimulateArgs,
    outcome: Result<(), String>,
) -> anyhow::Result<Report> {
    let inputs = Inputs {
        peers: &net.peers,
        epochs: net.log.epochs(),
        fault_events: net
            .faults
            .events
            .iter()
            .map(|f| (f.peer.clone(), format!("block {}: {}", f.block, f.what)))
            .collect(),
        run: "simulate",
        seed: args.seed,
        model: format!("{:?}", args.model).to_lowercase(),
        seconds: net.log.now(),
    };
    build_from(&*net.chain, inputs, outcome).await
}

/// One peer's line of the report: its payouts, slashes and mint from the chain's events, and
/// whether its balance and stake are what those events say.
async fn peer_report<B: Backend>(
    chain: &Contracts<B>,
    p: &PeerInfo,
    events: &[RewardEvent],
    novelty: f64,
) -> anyhow::Result<PeerReport> {
    let (mut rewards, mut claimed, mut slashed, mut mint) =
        (U256::ZERO, U256::ZERO, U256::ZERO, U256::ZERO);
    let mut reasons = Vec::new();
    for e in events {
        match e {
            RewardEvent::SolverRewarded { solver, amount, .. } if *solver == p.address => {
                rewards += *amount
            }
            RewardEvent::CoordinatorRewarded {
                coordinator,
                amount,
                ..
            } if *coordinator == p.address => rewards += *amount,
            RewardEvent::Slashed {
                account,
                amount,
                reason,
                task,
            } if *account == p.address => {
                slashed += *amount;
                reasons.push(format!("task {task}: {reason}"));
            }
            RewardEvent::MintClaimed { agent, amount, .. } if *agent == p.address => {
                mint += *amount
            }
            RewardEvent::Claimed { account, amount } if *account == p.address => claimed += *amount,
            _ => {}
        }
    }
    let stake = chain.stake_of(p.address).await?.amount;
    let balance = chain.atn_balance(p.address).await?;
    let initial = ATN * U256::from(INITIAL_ATN);
    let balances_match_chain =
        initial - p.initial_stake + claimed + mint == balance && p.initial_stake - slashed == stake;
    Ok(PeerReport {
        name: p.name.clone(),
        role: format!("{:?}", p.role).to_lowercase(),
        address: p.address,
        behaviour: p
            .byzantine
            .map_or("honest", ByzantineKind::name)
            .to_string(),
        stake_wei: stake,
        balance_wei: balance,
        rewards_wei: rewards,
        claimed_wei: claimed,
        slashed_wei: slashed,
        slash_reasons: reasons,
        mint_wei: mint,
        novelty,
        balances_match_chain,
    })
}

/// Reads the outcome of a run (simulated or multi-process) back from the chain.
pub async fn build_from<B: Backend>(
    chain: &Contracts<B>,
    inputs: Inputs<'_>,
    outcome: Result<(), String>,
) -> anyhow::Result<Report> {
    let head = chain.block_number().await?;
    let events = chain.reward_events(0, head).await?;
    let epochs = inputs.epochs;
    let mut novelty: BTreeMap<String, f64> = BTreeMap::new();
    for e in &epochs {
        for (agent, n) in &e.novelty {
            *novelty.entry(agent.clone()).or_default() += n;
        }
    }
    let mut peers = Vec::new();
    for p in inputs.peers {
        let n = novelty.get(&p.address.to_string()).copied().unwrap_or(0.0);
        peers.push(peer_report(chain, p, &events, n).await?);
    }
    let mut faults: Vec<(String, String)> = inputs
        .peers
        .iter()
        .filter_map(|p| {
            let kind = p.byzantine?;
            Some((p.name.clone(), format!("byzantine solver: {}", kind.name())))
        })
        .collect();
    faults.extend(inputs.fault_events);
    // Nobody is paid twice: one reward per (task, solver), one mint claim per (epoch, agent).
    let mut seen = std::collections::BTreeSet::new();
    let payouts_unique = events.iter().all(|e| match e {
        RewardEvent::SolverRewarded { task, solver, .. } => seen.insert((0u8, *task, *solver)),
        RewardEvent::MintClaimed { epoch, agent, .. } => seen.insert((1u8, *epoch, *agent)),
        _ => true,
    });
    let sum = |f: fn(&PeerReport) -> U256| peers.iter().fold(U256::ZERO, |s, p| s + f(p));
    let (complete, incomplete_reason) = match outcome {
        Ok(()) => (true, String::new()),
        Err(e) => (false, e),
    };
    Ok(Report {
        run: inputs.run.to_string(),
        complete,
        incomplete_reason,
        seed: inputs.seed,
        model: inputs.model,
        blocks: head,
        seconds: inputs.seconds,
        total_rewards_wei: sum(|p| p.rewards_wei),
        total_slashed_wei: sum(|p| p.slashed_wei),
        total_mint_wei: sum(|p| p.mint_wei),
        peers,
        epochs: epochs.into_iter().map(EpochReport::from).collect(),
        faults,
        payouts_unique,
        agents: None,
    })
}

impl Report {
    /// The human-readable report.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "\nautonet {}: {} (seed {}, model {}, {} blocks, {:.1}s)\n\n",
            self.run,
            if self.complete {
                "complete"
            } else {
                "INCOMPLETE"
            },
            self.seed,
            self.model,
            self.blocks,
            self.seconds
        );
        if !self.complete {
            s += &format!("  reason: {}\n\n", self.incomplete_reason);
        }
        s += "epochs\n";
        for e in &self.epochs {
            let scores: Vec<String> = e
                .root_scores
                .iter()
                .map(|(k, v)| format!("{k}={v:.3}"))
                .collect();
            s += &format!(
                "  {} task {:>3}  model {}  accepted {}  {:.1}s\n      root scores: {}\n",
                e.epoch,
                e.task,
                &e.model_id[..16.min(e.model_id.len())],
                e.accepted.len(),
                e.seconds,
                scores.join(" ")
            );
            if let (Some(b), Some(a)) = (e.held_out_loss_before, e.held_out_loss_after) {
                s += &format!("      held-out loss: {b:.4} -> {a:.4}\n");
            }
        }
        if let Some(a) = &self.agents {
            s += &agents_text(a);
        }
        s += "\npeers\n";
        s += &peer_table(&self.peers);
        s += "\nfaults\n";
        if self.faults.is_empty() {
            s += "  none\n";
        }
        for (peer, what) in &self.faults {
            s += &format!("  {peer}: {what}\n");
        }
        s += &format!(
            "\ntotals: rewards {}, slashed {}, mint {}\n",
            Atn(self.total_rewards_wei),
            Atn(self.total_slashed_wei),
            Atn(self.total_mint_wei)
        );
        s
    }
}

/// The agents' lines: each agent's traces, and each epoch's share of trace turns.
fn agents_text(a: &super::agents::AgentsReport) -> String {
    let mut s = format!("\nagents (on {})\n", a.host);
    for line in &a.agents {
        let output: String = line.last_output.chars().take(60).collect();
        s += &format!(
            "  {}  runs {}  traces {}  turns {}  tokens {}  tool calls {}  {:?}\n",
            line.agent,
            line.runs,
            line.traces.len(),
            line.turns,
            line.tokens,
            line.tool_calls,
            output
        );
    }
    let used: Vec<String> = a
        .epochs
        .iter()
        .filter(|e| e.from_traces > 0)
        .map(|e| format!("{} ({} of {} items)", e.epoch, e.from_traces, e.batch))
        .collect();
    s += &format!(
        "  epochs trained on agent traces: {}\n",
        if used.is_empty() {
            "none".to_string()
        } else {
            used.join(", ")
        }
    );
    s
}

/// The peers as a table whose columns fit their content (amounts in ATN).
fn peer_table(peers: &[PeerReport]) -> String {
    use comfy_table::{CellAlignment, Table, presets};
    let mut t = Table::new();
    t.load_preset(presets::NOTHING).set_header([
        "peer",
        "behaviour",
        "stake",
        "rewards",
        "slashed",
        "mint",
        "novelty",
        "chain",
    ]);
    for p in peers {
        t.add_row([
            p.name.clone(),
            p.behaviour.clone(),
            Atn(p.stake_wei).to_string(),
            Atn(p.rewards_wei).to_string(),
            Atn(p.slashed_wei).to_string(),
            Atn(p.mint_wei).to_string(),
            format!("{:.4}", p.novelty),
            if p.balances_match_chain {
                "ok"
            } else {
                "MISMATCH"
            }
            .to_string(),
        ]);
    }
    for column in 2..7 {
        if let Some(c) = t.column_mut(column) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    let mut s = String::new();
    for line in t.to_string().lines() {
        s += &format!("  {}\n", line.trim_end());
    }
    for p in peers {
        for r in &p.slash_reasons {
            s += &format!("  {}: slashed: {r}\n", p.name);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(name: &str, atn: u64) -> PeerReport {
        let wei = ATN * U256::from(atn);
        PeerReport {
            name: name.into(),
            role: "solver".into(),
            address: Address::ZERO,
            behaviour: "honest".into(),
            stake_wei: wei,
            balance_wei: wei,
            rewards_wei: wei,
            claimed_wei: U256::ZERO,
            slashed_wei: U256::ZERO,
            slash_reasons: vec![],
            mint_wei: wei,
            novelty: 1.5,
            balances_match_chain: true,
        }
    }

    /// The peer table fits its content (#23: the report table overflowed its columns): with a
    /// long name and a huge amount beside short ones, every row's amounts end at the same
    /// columns, right under the end of their header.
    #[test]
    fn peer_table_columns_fit_their_content() {
        let table = peer_table(&[
            peer("s", 1),
            peer("a-very-long-peer-name-1", 123_456_789_000),
        ]);
        let lines: Vec<&str> = table.lines().collect();
        let ends =
            |line: &str| -> Vec<usize> { line.match_indices(" ATN").map(|(i, _)| i + 4).collect() };
        let (first, second) = (ends(lines[1]), ends(lines[2]));
        assert_eq!(first.len(), 4, "{table}");
        assert_eq!(first, second, "amounts out of line:\n{table}");
        let stake_header_end = lines[0].find("stake").unwrap() + "stake".len();
        assert_eq!(stake_header_end, first[0], "{table}");
        assert!(lines[2].contains("123456789000.000000 ATN"), "{table}");
    }
}
