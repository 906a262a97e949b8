//! Prometheus metrics of a peer with a protocol role (`join --role R --metrics ADDR`), served
//! next to the overlay's own (libp2p's and `autonet_p2p_*`) from the peer's registry.
//!
//! Everything is read from where it is decided, so the metrics agree with the chain and the
//! supervisor rather than with a second bookkeeping of the role: the epoch and phase of the
//! newest task at the chain head, the role's stake, balance and credited rewards, the reward,
//! slash and claim events of its address, and the restarts of its role actor (each restart is
//! a failed step). Names, all prefixed `autonet_role_`:
//!
//! | metric | kind | meaning |
//! |---|---|---|
//! | `epoch` | gauge | epoch of the newest task (0 before the first) |
//! | `phase{phase}` | gauge | 1 for the newest task's phase at the head (`waiting` before the first task, `commit`, `reveal`, `vote`, `vote-reveal`, `closing`), 0 for the others |
//! | `chain_head` | gauge | the head block |
//! | `stake_atn`, `balance_atn`, `claimable_atn` | gauge | stake, ATN balance, rewards credited and not yet claimed |
//! | `rewards_atn_total{kind}` | counter | ATN of this address's events since the process started: `earned` (solver or coordinator reward), `slashed`, `claimed`, `mint` (mint claimed) |
//! | `restarts_total` | counter | restarts of the role actor after a failed step |
//! | `chain_read_failures_total` | counter | metric updates that could not read the chain |

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy::primitives::{Address, U256};
use autonet_actors::protocol::phase::Deadlines;
use autonet_actors::roles::peer::RunningPeer;
use autonet_contracts::{Chain, ChainError, Contracts, ProtocolView, RewardEvent, RpcChain};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// How often the metrics are brought up to date.
pub const UPDATE_INTERVAL: Duration = Duration::from_secs(1);

/// Label of the phase gauge.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PhaseLabel {
    phase: &'static str,
}

/// Label of the rewards counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

/// Every phase label, so each series exists from the start.
const PHASES: [&str; 6] = [
    "waiting",
    "commit",
    "reveal",
    "vote",
    "vote-reveal",
    "closing",
];

type FloatGauge = Gauge<f64, AtomicU64>;
type FloatCounter = Counter<f64, AtomicU64>;

/// The role metrics of one peer.
#[derive(Debug, Default)]
pub struct RoleMetrics {
    epoch: Gauge,
    phase: Family<PhaseLabel, Gauge>,
    head: Gauge,
    stake: FloatGauge,
    balance: FloatGauge,
    claimable: FloatGauge,
    rewards: Family<KindLabel, FloatCounter>,
    restarts: Counter,
    read_failures: Counter,
}

impl RoleMetrics {
    /// Creates the metrics and registers them under `autonet_role_` in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let m = RoleMetrics::default();
        let r = registry.sub_registry_with_prefix("autonet_role");
        r.register("epoch", "Epoch of the newest task", m.epoch.clone());
        r.register(
            "phase",
            "1 for the newest task's phase at the chain head",
            m.phase.clone(),
        );
        r.register("chain_head", "The chain head block", m.head.clone());
        r.register("stake_atn", "ATN staked by the role", m.stake.clone());
        r.register("balance_atn", "ATN balance of the role", m.balance.clone());
        r.register(
            "claimable_atn",
            "Rewards credited to the role and not claimed yet, in ATN",
            m.claimable.clone(),
        );
        r.register(
            "rewards_atn",
            "ATN of the role's reward, slash and claim events since the process started",
            m.rewards.clone(),
        );
        r.register(
            "restarts",
            "Restarts of the role actor after a failed step",
            m.restarts.clone(),
        );
        r.register(
            "chain_read_failures",
            "Metric updates that could not read the chain",
            m.read_failures.clone(),
        );
        for phase in PHASES {
            m.phase.get_or_create(&PhaseLabel { phase }).set(0);
        }
        for kind in ["earned", "slashed", "claimed", "mint"] {
            m.rewards.get_or_create(&KindLabel { kind }).inc_by(0.0);
        }
        m
    }

    fn set_phase(&self, current: &'static str) {
        for phase in PHASES {
            let on = i64::from(phase == current);
            self.phase.get_or_create(&PhaseLabel { phase }).set(on);
        }
    }

    fn add_reward(&self, kind: &'static str, wei: U256) {
        self.rewards
            .get_or_create(&KindLabel { kind })
            .inc_by(atn(wei));
    }
}

/// Registers the role metrics in the peer's `registry` and serves it at `addr` (loopback);
/// returns the metrics and the bound address.
pub async fn serve(
    addr: SocketAddr,
    registry: &Arc<Mutex<Registry>>,
) -> anyhow::Result<(RoleMetrics, SocketAddr)> {
    let metrics = {
        let mut r = registry
            .lock()
            .map_err(|_| anyhow::anyhow!("the metrics registry is poisoned"))?;
        RoleMetrics::register(&mut r)
    };
    let bound = crate::overlay::http::spawn_metrics(addr, registry.clone())
        .await
        .map_err(|e| e.context("--metrics (choose a free address)"))?;
    Ok((metrics, bound))
}

/// [`serve`] when `addr` is given, printing the endpoint's URL.
pub async fn serve_if(
    addr: Option<SocketAddr>,
    registry: &Arc<Mutex<Registry>>,
) -> anyhow::Result<Option<RoleMetrics>> {
    let Some(addr) = addr else {
        return Ok(None);
    };
    let (metrics, bound) = serve(addr, registry).await?;
    println!("metrics: http://{bound}/metrics");
    Ok(Some(metrics))
}

/// Keeps `metrics` up to date; never returns (drop the future to stop it).
pub async fn run(
    metrics: RoleMetrics,
    chain: Arc<Contracts<RpcChain>>,
    me: Address,
    peer: &RunningPeer,
) {
    // Events from the head at start on: counters count what happens while the process runs.
    let mut scanned = chain.block_number().await.unwrap_or(0);
    let mut restarts_seen = 0;
    loop {
        match update(&metrics, chain.as_ref(), me, scanned).await {
            Ok(head) => scanned = head,
            Err(err) => {
                metrics.read_failures.inc();
                tracing::debug!(%err, "role metrics: chain read failed");
            }
        }
        if let Some(total) = peer.restarts().await {
            let new = total.saturating_sub(restarts_seen);
            metrics.restarts.inc_by(new as u64);
            restarts_seen = total;
        }
        tokio::time::sleep(UPDATE_INTERVAL).await;
    }
}

/// One update; returns the head whose events are counted now. Every read is made before any
/// metric is set, so a failed read changes nothing and a scrape sees one update or the next;
/// the head is set last, so a scrape that sees it sees the rest of that update.
async fn update<C: ProtocolView>(
    m: &RoleMetrics,
    chain: &C,
    me: Address,
    scanned: u64,
) -> Result<u64, ChainError> {
    let head = chain.block_number().await?;
    let stake = chain.stake_of(me).await?.amount;
    let balance = chain.atn_balance(me).await?;
    let claimable = chain.claimable(me).await?;
    let newest = chain.next_task_id().await?.saturating_sub(U256::from(1));
    let (epoch, phase) = if newest.is_zero() {
        (0, "waiting")
    } else {
        let task = chain.task_info(newest).await?;
        let deadlines = Deadlines {
            commit: task.commit_deadline,
            reveal: task.reveal_deadline,
            vote_commit: task.vote_commit_deadline,
            vote: task.vote_deadline,
        };
        (task.epoch, deadlines.phase_at(head).name())
    };
    let events = if head > scanned {
        chain.reward_events(scanned + 1, head).await?
    } else {
        Vec::new()
    };
    m.stake.set(atn(stake));
    m.balance.set(atn(balance));
    m.claimable.set(atn(claimable));
    m.epoch.set(i64::try_from(epoch).unwrap_or(i64::MAX));
    m.set_phase(phase);
    for event in &events {
        count(m, me, event);
    }
    m.head.set(i64::try_from(head).unwrap_or(i64::MAX));
    Ok(head)
}

fn count(m: &RoleMetrics, me: Address, event: &RewardEvent) {
    match event {
        RewardEvent::SolverRewarded { solver, amount, .. } if *solver == me => {
            m.add_reward("earned", *amount);
        }
        RewardEvent::CoordinatorRewarded {
            coordinator,
            amount,
            ..
        } if *coordinator == me => m.add_reward("earned", *amount),
        RewardEvent::Slashed {
            account, amount, ..
        } if *account == me => m.add_reward("slashed", *amount),
        RewardEvent::Claimed { account, amount } if *account == me => {
            m.add_reward("claimed", *amount);
        }
        RewardEvent::MintClaimed { agent, amount, .. } if *agent == me => {
            m.add_reward("mint", *amount);
        }
        _ => {}
    }
}

/// Wei as ATN for a gauge (`contracts::Atn`, the one home of ATN amounts).
fn atn(wei: U256) -> f64 {
    autonet_contracts::Atn(wei).as_f64()
}

#[cfg(test)]
mod tests {
    use prometheus_client::encoding::text::encode;

    use super::*;

    fn metrics_text(registry: &Registry) -> String {
        let mut text = String::new();
        encode(&mut text, registry).unwrap();
        text
    }

    fn value(text: &str, series: &str) -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {series}:\n{text}"))
    }

    /// Before any task and after a whole protocol round (stakes, a task of epoch 1 through
    /// commit, reveal, vote and finalize, claims) on the embedded chain, from a solver's side.
    #[tokio::test]
    async fn values_follow_a_protocol_round_on_the_chain() {
        use crate::round::fixed;
        use autonet_contracts::embedded::dev_key;
        use autonet_contracts::{Backend, DeployConfig, EmbeddedChain, deploy};

        let n = fixed::ACCOUNTS as u32;
        let c = deploy(
            EmbeddedChain::new(n),
            dev_key(0).address(),
            &DeployConfig::default(),
        )
        .await
        .unwrap();
        fixed::fund(&c).await.unwrap();
        let accounts = c.backend().accounts();
        let solver = accounts[2];
        let mut registry = Registry::default();
        let m = RoleMetrics::register(&mut registry);
        let start = update(&m, &c, solver, 0).await.unwrap();
        let text = metrics_text(&registry);
        assert_eq!(value(&text, "autonet_role_epoch"), 0.0);
        assert_eq!(value(&text, "autonet_role_phase{phase=\"waiting\"}"), 1.0);
        assert_eq!(value(&text, "autonet_role_stake_atn"), 0.0);

        fixed::round(&c, &accounts, 1).await.unwrap();
        let head = update(&m, &c, solver, start).await.unwrap();
        assert!(head > start);
        let text = metrics_text(&registry);
        assert_eq!(value(&text, "autonet_role_epoch"), 1.0, "{text}");
        assert_eq!(value(&text, "autonet_role_phase{phase=\"closing\"}"), 1.0);
        assert_eq!(value(&text, "autonet_role_phase{phase=\"waiting\"}"), 0.0);
        assert_eq!(value(&text, "autonet_role_chain_head"), head as f64);
        assert_eq!(value(&text, "autonet_role_stake_atn"), 50.0, "{text}");
        let earned = value(&text, "autonet_role_rewards_atn_total{kind=\"earned\"}");
        let claimed = value(&text, "autonet_role_rewards_atn_total{kind=\"claimed\"}");
        assert!(earned > 0.0, "{text}");
        // The round's solvers claim what they earned, so nothing is left to claim.
        assert_eq!(claimed, earned, "{text}");
        assert_eq!(value(&text, "autonet_role_claimable_atn"), 0.0, "{text}");
        assert_eq!(
            value(&text, "autonet_role_rewards_atn_total{kind=\"slashed\"}"),
            0.0
        );
    }

    #[test]
    fn every_series_exists_from_the_start_and_phases_are_exclusive() {
        let mut registry = Registry::default();
        let m = RoleMetrics::register(&mut registry);
        m.set_phase("reveal");
        m.add_reward("earned", U256::from(1_500_000_000_000_000_000u128));
        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        for line in [
            "autonet_role_phase{phase=\"reveal\"} 1",
            "autonet_role_phase{phase=\"commit\"} 0",
            "autonet_role_rewards_atn_total{kind=\"earned\"} 1.5",
            "autonet_role_rewards_atn_total{kind=\"slashed\"} 0",
            "autonet_role_restarts_total 0",
            "autonet_role_epoch 0",
        ] {
            assert!(text.contains(line), "{line} missing:\n{text}");
        }
    }
}
